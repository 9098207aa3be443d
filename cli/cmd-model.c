/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched model: operations on model files. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <intellisched/intellisched.h>

#include "cli.h"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: isched model merge MODEL.json MODEL.json [MODEL.json...] -o OUT.json [--json]\n"
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
                "          be one of the inputs.  A model given twice (the same file, or\n"
                "          the same contents) is refused: its evidence would count twice.\n"
                "\n"
                "Options:\n"
                "  -o, --output FILE   the merged model (required)\n"
                "  --json              print what was merged as JSON (docs/json.md)\n"
                "  -h, --help, -V, --version\n"
                "\n"
                "See docs/model.md for the file format.\n"
                "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n");
}

/* Two inputs that are one file (the same path twice, a link) or that hold
 * the same bytes (a copy) would count one model's evidence twice. */
static bool same_model(const char *a, const char *b)
{
        struct stat sa, sb;
        FILE *fa, *fb;
        bool same = true;
        int ca, cb;

        if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
                return false; /* the merge names the missing file */
        if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
                return true;
        if (sa.st_size != sb.st_size)
                return false;
        fa = fopen(a, "re");
        fb = fopen(b, "re");
        if (!fa || !fb) {
                same = false;
        } else {
                do {
                        ca = getc(fa);
                        cb = getc(fb);
                        same = ca == cb;
                } while (same && ca != EOF);
        }
        if (fa)
                fclose(fa);
        if (fb)
                fclose(fb);
        return same;
}

static void print_merge_json(const char *out, const char *const *inputs, size_t n)
{
        struct isched_policy_params pp;
        struct isched_policy *p = NULL;
        cJSON *doc = cJSON_CreateObject(), *in = cJSON_AddArrayToObject(doc, "inputs");

        cJSON_AddStringToObject(doc, "schema", "isched-merge-v1");
        cJSON_AddStringToObject(doc, "output", out);
        for (size_t i = 0; i < n; i++)
                cJSON_AddItemToArray(in, cJSON_CreateString(inputs[i]));
        if (isched_model_load(out, &p, NULL) == 0 && isched_policy_get_params(p, &pp) == 0) {
                cJSON_AddStringToObject(doc, "policy", isched_policy_kind_to_string(pp.kind));
                cJSON_AddNumberToObject(doc, "rounds", (double)isched_policy_get_rounds(p));
        } else {
                cJSON_AddNullToObject(doc, "policy");
                cJSON_AddNullToObject(doc, "rounds");
        }
        isched_policy_free(p);
        cli_print_json(doc);
}

static int cmd_model_merge(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "output", required_argument, NULL, 'o' },
                { "json", no_argument, NULL, 'j' },
                CLI_COMMON_LONGOPTS,
                { 0 },
        };
        const char *out = NULL;
        const char *const *inputs;
        struct cli_getopt g;
        bool json = false;
        size_t n;
        int c, r;

        cli_getopt_init(&g, "model merge", longopts, NULL);
        g.shortopts = "o:";
        while ((c = cli_getopt_next(&g, argc, argv)) != -1) {
                switch (c) {
                case 'o':
                        out = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                case 'V':
                        return cli_version();
                default:
                        return EXIT_USAGE;
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
        inputs = (const char *const *)(argv + optind);
        for (size_t i = 0; i < n; i++) {
                for (size_t j = i + 1; j < n; j++) {
                        if (same_model(inputs[i], inputs[j])) {
                                cli_error("model merge: %s and %s are the same model (%s): merging would count its "
                                          "evidence twice; give each model once",
                                          inputs[i], inputs[j], strcmp(inputs[i], inputs[j]) == 0 ? "one file given twice"
                                                                                                : "the same contents");
                                return EXIT_USAGE;
                        }
                }
        }
        r = isched_model_merge(inputs, n, out);
        if (r < 0)
                return cli_fail(r, "model merge");
        if (json)
                print_merge_json(out, inputs, n);
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
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
                return cli_version();
        if (strcmp(argv[1], "merge") == 0)
                return cmd_model_merge(argc - 1, argv + 1);
        cli_error("model: unknown subcommand '%s'; the subcommand is merge", argv[1]);
        return cli_usage_hint("model ");
}
