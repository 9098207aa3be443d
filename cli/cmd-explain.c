/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched explain: the latest decision of a pool's agent, from its state
 * file (written atomically every epoch, so this works while `isched run`
 * runs), or a model file evaluated at the mean context. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli-opts.h"
#include "cli.h"

#define STATE_MAX_BYTES (4u << 20)

enum { OPT_POOL = CLI_OPT_OWN, OPT_STATE_DIR, OPT_MODEL };

static const struct option longopts[] = {
        { "pool", required_argument, NULL, OPT_POOL },
        { "state-dir", required_argument, NULL, OPT_STATE_DIR },
        { "model", required_argument, NULL, OPT_MODEL },
        CLI_COMMON_LONGOPTS,
        { 0 },
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: isched explain --pool NAME [--state-dir DIR]\n"
                   "       isched explain --model FILE\n"
                   "\n"
                   "Print one JSON document (docs/explain-schema.md) describing the latest\n"
                   "decision of a pool's agent: the context (feature names, raw and normalised\n"
                   "values), every arm's estimate, confidence width, score, pulls and\n"
                   "propensity, the chosen arm and why, the guards and the model's version.\n"
                   "It reads the state file the agent rewrites every epoch, so it works while\n"
                   "'isched run' runs.  With --model it evaluates a model file at the mean\n"
                   "context instead.\n"
                   "\n"
                   "Options:\n"
                   "  --pool NAME        the pool whose agent to explain\n"
                   "  --state-dir DIR    the agent's state directory (default as 'isched run')\n"
                   "  --model FILE       explain a model file instead\n"
                   "  --help             this text\n"
                   "\n"
                   "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input\n"
                   "(no state file for the pool, corrupt state or model file).\n");
}

/* Read a state file; it must be an explain document. */
static int read_state(const char *path, const char *pool, char **ret_json)
{
        FILE *f = fopen(path, "re");
        cJSON *doc, *schema, *p;
        char *buf, *out;
        size_t n;

        if (!f) {
                if (errno == ENOENT)
                        cli_error("no state file for pool %s: %s does not exist; is 'isched run --pool %s' running "
                                  "with this --state-dir?",
                                  pool, path, pool);
                else
                        cli_error("cannot read %s: %s", path, strerror(errno));
                return errno == ENOENT ? EXIT_USAGE : EXIT_RUNTIME;
        }
        buf = malloc(STATE_MAX_BYTES + 1);
        if (!buf) {
                fclose(f);
                return EXIT_RUNTIME;
        }
        n = fread(buf, 1, STATE_MAX_BYTES + 1, f);
        fclose(f);
        if (n > STATE_MAX_BYTES) {
                cli_error("state file %s is larger than %u bytes: not a state file", path, STATE_MAX_BYTES);
                free(buf);
                return EXIT_USAGE;
        }
        buf[n] = '\0';
        doc = cJSON_Parse(buf);
        free(buf);
        schema = cJSON_GetObjectItemCaseSensitive(doc, "schema");
        p = cJSON_GetObjectItemCaseSensitive(doc, "pool");
        /* A state file of an agent of the previous version is printed as it is. */
        if (!doc || !cJSON_IsString(schema) ||
            (strcmp(schema->valuestring, "isched-explain-v2") != 0 &&
             strcmp(schema->valuestring, "isched-explain-v1") != 0) ||
            !cJSON_IsString(p) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "model"))) {
                cli_error("state file %s is corrupt or not an intellisched state file (expected schema "
                          "isched-explain-v2, or v1 of an older agent); the agent rewrites it every epoch",
                          path);
                cJSON_Delete(doc);
                return EXIT_USAGE;
        }
        out = cJSON_Print(doc);
        cJSON_Delete(doc);
        if (!out)
                return EXIT_RUNTIME;
        *ret_json = out;
        return 0;
}

int cmd_explain(int argc, char **argv)
{
        const char *pool = NULL, *state_dir = NULL, *model = NULL;
        char *dir = NULL, *path = NULL, *json = NULL;
        int c, r, rc;

        struct cli_getopt g;

        cli_getopt_init(&g, "explain", longopts, NULL);
        while ((c = cli_getopt_next(&g, argc, argv)) != -1) {
                switch (c) {
                case OPT_POOL:
                        pool = optarg;
                        break;
                case OPT_STATE_DIR:
                        state_dir = optarg;
                        break;
                case OPT_MODEL:
                        model = optarg;
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
        if (cli_extra_operand("explain", argc, argv))
                return EXIT_USAGE;
        if (model && (state_dir || pool)) {
                cli_error("explain: --model and %s exclude each other: --model explains a model file, --pool an "
                          "agent's state file; give one", pool ? "--pool" : "--state-dir");
                return cli_usage_hint("explain ");
        }
        if (!model && !pool) {
                cli_error("explain: give --pool NAME (or --model FILE)");
                return cli_usage_hint("explain ");
        }
        if (model) {
                r = isched_agent_explain_model(model, &json);
                if (r < 0)
                        return cli_fail(r, "cannot explain the model");
                printf("%s\n", json);
                free(json);
                return EXIT_OK;
        }
        if (state_dir) {
                dir = strdup(state_dir);
        } else if ((r = isched_agent_default_state_dir(&dir)) < 0) {
                return cli_fail(r, "no state directory");
        }
        if (!dir)
                return EXIT_RUNTIME;
        r = isched_agent_state_path(dir, pool, &path);
        if (r < 0) {
                rc = cli_fail(r, "bad pool name");
                goto out;
        }
        rc = read_state(path, pool, &json);
        if (rc == 0)
                printf("%s\n", json);
out:
        free(json);
        free(path);
        free(dir);
        return rc;
}
