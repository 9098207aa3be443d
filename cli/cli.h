/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers of the isched command-line tool.  Only cli/ prints. */
#ifndef ISCHED_CLI_H
#define ISCHED_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Exit codes, documented in docs/isched.1 and `isched --help`. */
enum {
        EXIT_OK = 0,      /* success */
        EXIT_RUNTIME = 1, /* a runtime failure: backend, hypervisor, file system */
        EXIT_USAGE = 2,   /* bad usage or bad input: options, files, names */
};

/* Print "isched: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "isched: <what>: <library detail>" and return the exit code that
 * fits the library error r: EXIT_USAGE for errors caused by the input
 * (EINVAL, ENOENT, EPROTO, ERANGE, EDOM, ELOOP, EISDIR, ENOTDIR, EFBIG,
 * EBADMSG), EXIT_RUNTIME for the rest. */
int cli_fail(int r, const char *what);

/* Option value parsers: on a bad value they print a message naming the
 * option, the value and what is expected, and return false. */
bool cli_parse_double(const char *option, const char *arg, double min, double max, double *ret);
bool cli_parse_u64(const char *option, const char *arg, uint64_t min, uint64_t max, uint64_t *ret);
bool cli_parse_seconds_ns(const char *option, const char *arg, uint64_t *ret_ns);

/* getopt_long() returned an unknown option or one missing its value:
 * print "CMD: unknown or incomplete option 'X'" and the help hint; returns
 * EXIT_USAGE. */
int cli_bad_option(const char *cmd, char **argv);

/* Refuse operands after the options (commands that take none): prints
 * "CMD: unexpected argument 'X'" and the hint and returns true if there is one. */
bool cli_extra_operand(const char *cmd, int argc, char **argv);

/* Print "Try 'isched CMD --help'." after a usage error; returns EXIT_USAGE. */
int cli_usage_hint(const char *cmd);

/* Commands: argv[0] is the command's name. */
int cmd_learn(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_pools(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif
