/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched model: operations on model files. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <intellisched/intellisched.h>

#include "cli.h"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: isched model merge MODEL.json MODEL.json [MODEL.json...] -o OUT.json\n"
                "\n"
                "Operations on model files (the policy state saved by 'isched run' and\n"
                "'isched learn --model-out').\n"
                "\n"
                "Subcommands:\n"
                "  merge   add up what several models learned (e.g. on several hosts) into one:\n"
                "          A = lambda*I + sum_i (A_i - lambda*I), b = sum_i b_i, pulls and\n"
                "          rounds summed.  Exact for egreedy, lingreedy, linucb and lints;\n"
                "          dlinucb statistics are added the same way, as if every host's\n"
                "          history were equally recent.  The inputs must have the same policy\n"
                "          kind and parameters, arms, feature schema and feature names; the\n"
                "          random generator state and the context section come from the\n"
                "          first input.  OUT.json is written atomically with mode 0600 and may\n"
                "          be one of the inputs.\n"
                "\n"
                "Options:\n"
                "  -o, --output FILE   the merged model (required)\n"
                "  -h, --help          show this help\n"
                "\n"
                "See docs/model.md for the file format.\n"
                "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n");
}

static int cmd_model_merge(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "output", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *out = NULL;
        const char **inputs;
        size_t n;
        int c, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
                switch (c) {
                case 'o': out = optarg; break;
                case 'h': usage(stdout); return EXIT_OK;
                case ':':
                        cli_error("option %s needs a value", argv[optind - 1]);
                        return cli_usage_hint("model ");
                default:
                        cli_error("unknown option '%s'", argv[optind - 1]);
                        return cli_usage_hint("model ");
                }
        }
        n = (size_t)(argc - optind);
        if (!out) {
                cli_error("model merge: -o OUT.json is required");
                return cli_usage_hint("model ");
        }
        if (n < 2) {
                cli_error("model merge: give at least two model files to merge");
                return cli_usage_hint("model ");
        }
        inputs = (const char **)(argv + optind);
        r = isched_model_merge(inputs, n, out);
        if (r < 0)
                return cli_fail(r, "model merge");
        return EXIT_OK;
}

int cmd_model(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
                usage(stdout);
                return EXIT_OK;
        }
        if (strcmp(argv[1], "merge") == 0)
                return cmd_model_merge(argc - 1, argv + 1);
        cli_error("model: unknown subcommand '%s'; the subcommand is merge", argv[1]);
        return cli_usage_hint("model ");
}
