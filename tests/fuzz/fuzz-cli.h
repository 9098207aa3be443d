/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CLI harness's view of the commands (tests/fuzz/cli-*-wrap.c): each
 * wrapper compiles one command's source and exposes its option parsing,
 * with whatever would run for long or write files replaced by a stub. */
#ifndef ISCHED_FUZZ_CLI_H
#define ISCHED_FUZZ_CLI_H

/* `isched run` options: the parse of cli/cmd-run.c and the model file
 * name of each pool; never starts an agent.  Returns its exit code. */
int fuzz_cli_run(int argc, char **argv);

/* `isched learn` options: parse_options() of cli/cmd-learn.c. */
int fuzz_cli_learn(int argc, char **argv);

/* `isched sim` and `isched model`, the whole command with the simulator
 * and the model merge stubbed out (they fail with -ECANCELED). */
int cmd_sim(int argc, char **argv);
int cmd_model(int argc, char **argv);

#endif
