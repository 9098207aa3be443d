/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers of the isched command-line tool.  Only cli/ prints. */
#ifndef ISCHED_CLI_H
#define ISCHED_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <getopt.h>

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
/* The same, where 0 is allowed too ("0", "0.0"): the range message says so. */
bool cli_parse_seconds_ns_or_zero(const char *option, const char *arg, uint64_t *ret_ns);

/* Options every command has: --help (-h) and --version (-V). */
#define CLI_COMMON_LONGOPTS                                                  \
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }

/* Walking a command's options with getopt_long(): the errors every command
 * reports the same way (an unknown option, a missing value, an option given
 * twice) are printed here. */
struct cli_getopt {
        const char *cmd;               /* "run", for messages */
        const struct option *longopts; /* ending with { 0 } */
        const int *repeatable;         /* option values that may be repeated, 0-terminated, or NULL */
        const char *shortopts;         /* short options after ":hV", or NULL */
        unsigned char seen[0x400 / 8];
        const char *name;              /* "--name" of the option just returned */
};

enum { CLI_GETOPT_BAD = -2 };

/* Start walking argv (resets getopt). */
void cli_getopt_init(struct cli_getopt *g, const char *cmd, const struct option *longopts, const int *repeatable);

/* The next option's value (optarg holds its argument), 'h' for --help, 'V'
 * for --version, -1 after the last option, or CLI_GETOPT_BAD after printing
 * what is wrong and the help hint. */
int cli_getopt_next(struct cli_getopt *g, int argc, char **argv);

/* Print "isched VERSION"; returns EXIT_OK. */
int cli_version(void);

/* Refuse operands after the options (commands that take none): prints
 * "CMD: unexpected argument 'X'" and the hint and returns true if there is one. */
bool cli_extra_operand(const char *cmd, int argc, char **argv);

/* A copy of s fit to print on a terminal: control and other non-printable
 * bytes become \xHH, so that a file's or a pool's name cannot move the
 * cursor or change colours.  Returns buf. */
const char *cli_printable(const char *s, char *buf, size_t size);

/* Print a JSON document (indented, newline-terminated) on standard output
 * and delete it.  An out-of-memory is said and is an error; returns
 * EXIT_OK or EXIT_RUNTIME. */
struct cJSON;
int cli_print_json(struct cJSON *doc);

/* Flush standard output; if anything written to it was lost (a full disk,
 * a closed pipe), say so and return EXIT_RUNTIME, else rc. */
int cli_finish_output(int rc);

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
int cmd_status(int argc, char **argv);

#endif
