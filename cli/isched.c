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
                   "Run 'isched COMMAND --help' for a command's options.\n"
                   "\n"
                   "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n");
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
            strcmp(argv[1], "help") == 0) {
                usage(stdout);
                return EXIT_OK;
        }
        if (strcmp(argv[1], "--version") == 0) {
                printf("isched %s\n", isched_version());
                return EXIT_OK;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(argv[1], commands[i].name) == 0)
                        return commands[i].fn(argc - 1, argv + 1);
        cli_error("unknown command '%s'", argv[1]);
        return cli_usage_hint(NULL);
}
