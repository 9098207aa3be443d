/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched: the intellisched command-line tool. */
#include <stdio.h>
#include <string.h>

#include <intellisched/intellisched.h>

#include "cli.h"

struct command {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *summary;
};

static const struct command commands[] = {
        { "run", cmd_run, "learn and apply the runqueue arrangement of cpupools" },
        { "explain", cmd_explain, "print the latest decision of a pool's agent as JSON" },
        { "pools", cmd_pools, "list cpupools, their arrangement and whether it can be switched" },
        { "sim", cmd_sim, "run the credit2 simulator with one fixed arrangement" },
        { "learn", cmd_learn, "run a policy on full-feedback CSV data" },
        { "eval", cmd_eval, "off-policy evaluation of a policy on a decision log" },
        { "status", cmd_status, "whether each pool's agent runs, its arrangement and last decision" },
        { "model", cmd_model, "model files: merge" },
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: isched COMMAND [OPTIONS]\n"
                   "\n"
                   "intellisched learns the Xen credit2 runqueue arrangement (cpu, core,\n"
                   "socket, node, all) of each cpupool while the host runs.\n"
                   "\n"
                   "Commands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
        fprintf(f, "\n"
                   "Run 'isched COMMAND --help' (or 'isched help COMMAND') for a command's\n"
                   "options, 'isched --version' for the version.\n"
                   "\n"
                   "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n");
}

static const struct command *find_command(const char *name)
{
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(name, commands[i].name) == 0)
                        return &commands[i];
        return NULL;
}

static int unknown_command(const char *name)
{
        char shown[128];

        cli_error("unknown command '%s'", cli_printable(name, shown, sizeof(shown)));
        return cli_usage_hint(NULL);
}

static int dispatch(int argc, char **argv)
{
        const struct command *cmd;

        if (argc < 2) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
                /* "isched help run" is "isched run --help". */
                if (argc > 2 && strcmp(argv[1], "help") == 0) {
                        char *help_argv[] = { argv[2], (char *)"--help", NULL };

                        cmd = find_command(argv[2]);
                        return cmd ? cmd->fn(2, help_argv) : unknown_command(argv[2]);
                }
                usage(stdout);
                return EXIT_OK;
        }
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "version") == 0)
                return cli_version();
        cmd = find_command(argv[1]);
        return cmd ? cmd->fn(argc - 1, argv + 1) : unknown_command(argv[1]);
}

int main(int argc, char **argv)
{
        /* Output that cannot be written is an error of every command. */
        return cli_finish_output(dispatch(argc, argv));
}
