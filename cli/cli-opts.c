/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli-opts.h"
#include "cli.h"

void cli_backend_opts_init(struct cli_backend_opts *o)
{
        *o = (struct cli_backend_opts){ .backend = "sim", .seed = 1 };
}

void cli_policy_opts_init(struct cli_policy_opts *o)
{
        *o = (struct cli_policy_opts){ .kind = ISCHED_POLICY_LINUCB };
}

int cli_backend_opt(struct cli_backend_opts *o, int opt, const char *arg)
{
        switch (opt) {
        case CLI_OPT_BACKEND:
                if (strcmp(arg, "sim") && strcmp(arg, "xen") && strcmp(arg, "replay")) {
                        cli_error("--backend: unknown backend '%s'; use sim, xen or replay", arg);
                        return -1;
                }
                o->backend = arg;
                return 1;
        case CLI_OPT_SCENARIO:
                o->scenario = arg;
                return 1;
        case CLI_OPT_WORKLOAD:
                o->workload = arg;
                return 1;
        case CLI_OPT_TRACE:
                o->trace = arg;
                return 1;
        case CLI_OPT_TOPOLOGY:
                o->topology = arg;
                return 1;
        case CLI_OPT_SEED:
                return cli_parse_u64("--seed", arg, 0, UINT64_MAX, &o->seed) ? 1 : -1;
        case CLI_OPT_OBSERVATION:
                o->observation = arg;
                return 1;
        case CLI_OPT_GUEST_WEIGHTS:
                o->guest_weights = arg;
                return 1;
        case CLI_OPT_GUEST_SHARE_CAP:
                return cli_parse_double("--guest-share-cap", arg, 1e-9, 1, &o->guest_share_cap) ? 1 : -1;
        default:
                return 0;
        }
}

int cli_policy_opt(struct cli_policy_opts *o, int opt, const char *arg)
{
        switch (opt) {
        case CLI_OPT_POLICY:
                if (isched_policy_kind_from_string(arg, &o->kind) < 0) {
                        cli_error("--policy: unknown policy '%s'; use linucb, dlinucb, lints, egreedy or lingreedy",
                                  arg);
                        return -1;
                }
                o->kind_set = true;
                return 1;
        case CLI_OPT_ALPHA:
                o->alpha_set = true;
                return cli_parse_double("--alpha", arg, 0, 1e6, &o->alpha) ? 1 : -1;
        case CLI_OPT_LAMBDA:
                o->lambda_set = true;
                return cli_parse_double("--lambda", arg, 1e-9, 1e9, &o->lambda) ? 1 : -1;
        case CLI_OPT_GAMMA:
                o->gamma_set = true;
                if (!cli_parse_double("--gamma", arg, 1e-9, 1, &o->gamma))
                        return -1;
                return 1;
        case CLI_OPT_EPSILON:
                o->epsilon_set = true;
                return cli_parse_double("--epsilon", arg, 0, 1, &o->epsilon) ? 1 : -1;
        case CLI_OPT_TS_V:
                o->ts_v_set = true;
                return cli_parse_double("--ts-v", arg, 1e-9, 1e6, &o->ts_v) ? 1 : -1;
        default:
                return 0;
        }
}

int cli_open_backend(const struct cli_backend_opts *o, struct isched_backend **ret)
{
        struct isched_backend_config cfg = { .size = sizeof(cfg) };
        char what[96];
        int r;

        if (o->scenario && o->workload) {
                cli_error("--scenario and --workload exclude each other; give one");
                return EXIT_USAGE;
        }
        if (strcmp(o->backend, "sim") != 0 && (o->scenario || o->workload || o->topology)) {
                cli_error("--scenario, --workload and --topology are for the sim backend, not %s", o->backend);
                return EXIT_USAGE;
        }
        if (strcmp(o->backend, "replay") == 0 && !o->trace) {
                cli_error("the replay backend needs --trace FILE (a trace recorded with 'isched sim --trace')");
                return EXIT_USAGE;
        }
        if (strcmp(o->backend, "replay") != 0 && o->trace) {
                cli_error("--trace is for the replay backend; add --backend replay");
                return EXIT_USAGE;
        }
        cfg.scenario = o->scenario;
        cfg.workload_path = o->workload;
        cfg.topology = o->topology;
        cfg.seed = o->seed;
        cfg.trace_path = o->trace;
        cfg.observation = o->observation;
        cfg.guest_weights = o->guest_weights;
        cfg.guest_share_cap = o->guest_share_cap;
        r = isched_backend_open(o->backend, &cfg, ret);
        if (r < 0) {
                snprintf(what, sizeof(what), "cannot open the %s backend", o->backend);
                return cli_fail(r, what);
        }
        return 0;
}

const char *const *cli_feature_names(void)
{
        static const char *names[ISCHED_F_COUNT + 1];

        for (unsigned i = 0; i < ISCHED_F_COUNT; i++)
                names[i] = isched_feature_name(i);
        return names;
}

bool cli_policy_params(const struct cli_policy_opts *o, uint64_t seed, struct isched_policy_params *ret)
{
        struct isched_policy_params p;

        if (isched_policy_params_init(&p, o->kind, ISCHED_F_COUNT) < 0) {
                cli_error("cannot set up policy: %s", isched_last_error());
                return false;
        }
        if (o->alpha_set)
                p.alpha = o->alpha;
        if (o->lambda_set)
                p.lambda = o->lambda;
        if (o->gamma_set)
                p.gamma = o->gamma;
        if (o->epsilon_set)
                p.epsilon = o->epsilon;
        if (o->ts_v_set)
                p.ts_v = o->ts_v;
        p.seed = seed;
        p.feature_schema = ISCHED_FEATURE_SCHEMA;
        p.feature_names = cli_feature_names();
        *ret = p;
        return true;
}

bool cli_stdout_is_tty(void)
{
        return isatty(STDOUT_FILENO) == 1;
}
