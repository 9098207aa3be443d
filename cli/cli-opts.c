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

static const char *label_or(const char *label, const char *option, char *buf, size_t size)
{
        if (label)
                return label;
        snprintf(buf, size, "--%s", option);
        return buf;
}

int cli_backend_opt(struct cli_backend_opts *o, int opt, const char *arg, const char *label)
{
        char buf[64];

        switch (opt) {
        case CLI_OPT_BACKEND:
                if (strcmp(arg, "sim") && strcmp(arg, "xen") && strcmp(arg, "replay")) {
                        cli_error("%s: unknown backend '%s'; use sim, xen or replay",
                                  label_or(label, "backend", buf, sizeof(buf)), arg);
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
                return cli_parse_u64(label_or(label, "seed", buf, sizeof(buf)), arg, 0, UINT64_MAX, &o->seed) ? 1
                                                                                                              : -1;
        case CLI_OPT_OBSERVATION:
                o->observation = arg;
                return 1;
        case CLI_OPT_GUEST_WEIGHTS:
                if (isched_backend_check_guest_weights(arg) < 0) {
                        cli_error("%s: %s", label_or(label, "guest-weights", buf, sizeof(buf)),
                                  isched_last_error());
                        return -1;
                }
                o->guest_weights = arg;
                return 1;
        case CLI_OPT_GUEST_SHARE_CAP:
                return cli_parse_double(label_or(label, "guest-share-cap", buf, sizeof(buf)), arg, 1e-9, 1,
                                        &o->guest_share_cap)
                               ? 1
                               : -1;
        default:
                return 0;
        }
}

static int policy_param(struct cli_policy_param *p, const char *name, const char *label, const char *arg,
                        double min, double max)
{
        char l[sizeof(p->from)];

        snprintf(l, sizeof(l), "%s%s", label ? "" : "--", label ? label : name);
        if (!cli_parse_double(l, arg, min, max, &p->value))
                return -1;
        memcpy(p->from, l, sizeof(l));
        return 1;
}

int cli_policy_opt(struct cli_policy_opts *o, int opt, const char *arg, const char *label)
{
        switch (opt) {
        case CLI_OPT_POLICY:
                if (isched_policy_kind_from_string(arg, &o->kind) < 0) {
                        cli_error("%s: unknown policy '%s'; use linucb, dlinucb, lints, egreedy or lingreedy",
                                  label ? label : "--policy", arg);
                        return -1;
                }
                snprintf(o->kind_from, sizeof(o->kind_from), "%s", label ? label : "--policy");
                return 1;
        case CLI_OPT_ALPHA:
                return policy_param(&o->alpha, "alpha", label, arg, 0, 1e6);
        case CLI_OPT_LAMBDA:
                return policy_param(&o->lambda, "lambda", label, arg, 1e-9, 1e9);
        case CLI_OPT_GAMMA:
                return policy_param(&o->gamma, "gamma", label, arg, 1e-9, 1);
        case CLI_OPT_EPSILON:
                return policy_param(&o->epsilon, "epsilon", label, arg, 0, 1);
        case CLI_OPT_TS_V:
                return policy_param(&o->ts_v, "ts-v", label, arg, 1e-9, 1e6);
        default:
                return 0;
        }
}

bool cli_policy_opts_check(const struct cli_policy_opts *o)
{
        const enum isched_policy_kind k = o->kind;
        const struct {
                const struct cli_policy_param *p;
                bool applies;
        } checks[] = {
                { &o->alpha, k == ISCHED_POLICY_LINUCB || k == ISCHED_POLICY_DLINUCB },
                { &o->lambda, k != ISCHED_POLICY_EGREEDY },
                { &o->gamma, k == ISCHED_POLICY_DLINUCB },
                { &o->epsilon, k == ISCHED_POLICY_EGREEDY || k == ISCHED_POLICY_LINGREEDY },
                { &o->ts_v, k == ISCHED_POLICY_LINTS },
        };

        for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
                if (checks[i].p->from[0] && !checks[i].applies) {
                        cli_error("%s does not apply to the %s policy%s%s%s; drop it or choose a policy that uses it",
                                  checks[i].p->from, isched_policy_kind_to_string(k),
                                  o->kind_from[0] ? " (" : " (the default", o->kind_from,
                                  ")");
                        return false;
                }
        }
        return true;
}

bool cli_policy_opts_match_model(const struct cli_policy_opts *o, const struct isched_policy_params *model,
                                 const char *model_path)
{
        const struct {
                const struct cli_policy_param *p;
                double model_value;
        } checks[] = {
                { &o->alpha, model->alpha },   { &o->lambda, model->lambda }, { &o->gamma, model->gamma },
                { &o->epsilon, model->epsilon }, { &o->ts_v, model->ts_v },
        };

        for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
                const struct cli_policy_param *p = checks[i].p;

                if (p->from[0] && p->value != checks[i].model_value) {
                        cli_error("%s %g differs from the model's %g (%s): a loaded model keeps its own settings; "
                                  "drop the option, or start a new model with another --model file",
                                  p->from, p->value, checks[i].model_value, model_path);
                        return false;
                }
        }
        return true;
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
                cli_error("the replay backend needs --trace FILE (a trace recorded with 'isched run --record FILE')");
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
        if (o->alpha.from[0])
                p.alpha = o->alpha.value;
        if (o->lambda.from[0])
                p.lambda = o->lambda.value;
        if (o->gamma.from[0])
                p.gamma = o->gamma.value;
        if (o->epsilon.from[0])
                p.epsilon = o->epsilon.value;
        if (o->ts_v.from[0])
                p.ts_v = o->ts_v.value;
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
