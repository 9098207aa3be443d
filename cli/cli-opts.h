/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Options shared by several commands: choosing a backend (run, pools) and
 * a policy (run, eval). */
#ifndef ISCHED_CLI_OPTS_H
#define ISCHED_CLI_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include <intellisched/intellisched.h>

/* Long option values shared by the commands; each command's own options
 * start at CLI_OPT_OWN. */
enum {
        CLI_OPT_BACKEND = 0x100,
        CLI_OPT_SCENARIO,
        CLI_OPT_WORKLOAD,
        CLI_OPT_TRACE,
        CLI_OPT_TOPOLOGY,
        CLI_OPT_SEED,
        CLI_OPT_OBSERVATION,
        CLI_OPT_GUEST_WEIGHTS,
        CLI_OPT_GUEST_SHARE_CAP,
        CLI_OPT_POLICY,
        CLI_OPT_ALPHA,
        CLI_OPT_LAMBDA,
        CLI_OPT_GAMMA,
        CLI_OPT_EPSILON,
        CLI_OPT_TS_V,
        CLI_OPT_OWN = 0x200,
};

#define CLI_BACKEND_LONGOPTS                                                 \
        { "backend", required_argument, NULL, CLI_OPT_BACKEND },             \
        { "scenario", required_argument, NULL, CLI_OPT_SCENARIO },           \
        { "workload", required_argument, NULL, CLI_OPT_WORKLOAD },           \
        { "trace", required_argument, NULL, CLI_OPT_TRACE },                 \
        { "topology", required_argument, NULL, CLI_OPT_TOPOLOGY },           \
        { "seed", required_argument, NULL, CLI_OPT_SEED },                   \
        { "observation", required_argument, NULL, CLI_OPT_OBSERVATION },     \
        { "guest-weights", required_argument, NULL, CLI_OPT_GUEST_WEIGHTS }, \
        { "guest-share-cap", required_argument, NULL, CLI_OPT_GUEST_SHARE_CAP }

#define CLI_POLICY_LONGOPTS                                                  \
        { "policy", required_argument, NULL, CLI_OPT_POLICY },               \
        { "alpha", required_argument, NULL, CLI_OPT_ALPHA },                 \
        { "lambda", required_argument, NULL, CLI_OPT_LAMBDA },               \
        { "gamma", required_argument, NULL, CLI_OPT_GAMMA },                 \
        { "epsilon", required_argument, NULL, CLI_OPT_EPSILON },             \
        { "ts-v", required_argument, NULL, CLI_OPT_TS_V }

#define CLI_BACKEND_HELP                                                                         \
        "  --backend NAME     sim (default: the embedded credit2 simulator), xen, replay\n"      \
        "  --scenario NAME    sim: built-in scenario (default phased)\n"                         \
        "  --workload FILE    sim: JSON workload file instead of a scenario\n"                   \
        "  --topology T       sim: override the host topology, e.g. 2n2s8c2t\n"                  \
        "  --trace FILE       replay: the counter trace to replay\n"                             \
        "  --seed S           random seed of the simulator and the policy (default 1)\n"             \
        "  --observation M    what the counters show of the work done: ground-truth (sim's\n"      \
        "                     default), xen (xen's default: no work counter) or xen+guests\n"     \
        "                     (the work the guests publish, docs/guest-work.md)\n"                \
        "  --guest-weights L  xen+guests: NAME=WEIGHT,... per domain (others 1, 0 excludes)\n"    \
        "  --guest-share-cap C  xen+guests: largest share of one domain in a pool's work,\n"      \
        "                     0 < C <= 1 (default 0.5)\n"

#define CLI_POLICY_HELP                                                                          \
        "  --policy KIND      linucb (default), dlinucb, lints, egreedy, lingreedy\n"            \
        "  --alpha A          LinUCB/D-LinUCB exploration width (default 1.0)\n"                 \
        "  --lambda L         ridge regularisation (default 1.0)\n"                              \
        "  --gamma G          D-LinUCB forgetting factor, 0 < G <= 1 (default 0.99)\n"           \
        "  --epsilon E        epsilon-greedy exploration rate, 0..1 (default 0.1)\n"             \
        "  --ts-v V           Thompson sampling posterior scale (default 0.5)\n"

struct cli_backend_opts {
        const char *backend;
        const char *scenario;
        const char *workload;
        const char *trace;
        const char *topology;
        uint64_t seed;
        const char *observation;
        const char *guest_weights;
        double guest_share_cap; /* 0: the default */
};

/* One policy parameter: its value and where it was set (the option or
 * config line, for messages), "" if it was not. */
struct cli_policy_param {
        char from[96];
        double value;
};

struct cli_policy_opts {
        char kind_from[96]; /* "": the default kind */
        enum isched_policy_kind kind;
        struct cli_policy_param alpha, lambda, gamma, epsilon, ts_v;
};

void cli_backend_opts_init(struct cli_backend_opts *o);
void cli_policy_opts_init(struct cli_policy_opts *o);

/* Handle one getopt result if it is a backend or policy option: returns 1
 * if handled, 0 if not one of them, -1 after printing a bad value.  label
 * names the option in messages: NULL for "--name", else e.g. "FILE:7: name". */
int cli_backend_opt(struct cli_backend_opts *o, int opt, const char *arg, const char *label);
int cli_policy_opt(struct cli_policy_opts *o, int opt, const char *arg, const char *label);

/* Refuse parameters the chosen kind would ignore (a silent no-op hides a
 * mistake): prints which and returns false. */
bool cli_policy_opts_check(const struct cli_policy_opts *o);

/* Refuse policy options that differ from a loaded model's parameters: the
 * model's are the ones that go on, so a different value would be ignored.
 * Prints what differs and what to do, and returns false. */
bool cli_policy_opts_match_model(const struct cli_policy_opts *o, const struct isched_policy_params *model,
                                 const char *model_path);

/* Open the backend the options name; prints the failure and returns the
 * exit code (0 on success). */
int cli_open_backend(const struct cli_backend_opts *o, struct isched_backend **ret);

/* Fill policy params for the agent's context (d = ISCHED_F_COUNT, feature
 * schema and names) from the options; prints and returns false on a bad
 * combination. */
bool cli_policy_params(const struct cli_policy_opts *o, uint64_t seed, struct isched_policy_params *ret);

/* True if stdout is a terminal. */
bool cli_stdout_is_tty(void);

/* The feature names of ISCHED_FEATURE_SCHEMA, for policy params. */
const char *const *cli_feature_names(void);

#endif
