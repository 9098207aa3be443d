/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched eval: off-policy evaluation of a candidate policy on a decision
 * log written by `isched run --log` (docs/agent.md, "Off-policy
 * evaluation"). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli-opts.h"
#include "cli.h"

#define Z95 1.959963984540054

enum { OPT_LOG = CLI_OPT_OWN, OPT_JSON, OPT_MODEL, OPT_POOL };

static const struct option longopts[] = {
        { "log", required_argument, NULL, OPT_LOG },
        { "json", no_argument, NULL, OPT_JSON },
        { "model", required_argument, NULL, OPT_MODEL },
        { "pool", required_argument, NULL, OPT_POOL },
        { "seed", required_argument, NULL, CLI_OPT_SEED },
        CLI_COMMON_LONGOPTS,
        CLI_POLICY_LONGOPTS,
        { 0 },
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: isched eval --log FILE [--policy KIND ...|--model FILE] [--pool NAME] [--json]\n"
                   "\n"
                   "Estimate, from a decision log written by 'isched run --log', the mean reward\n"
                   "a candidate policy would have earned: inverse propensity scoring (IPS),\n"
                   "self-normalised IPS and doubly robust (reward model: per-arm ridge\n"
                   "regression fit on the whole log), each with a 95%% normal-approximation\n"
                   "confidence interval, and the logged policy's own mean reward.  The candidate\n"
                   "replays the log in order: it decides on each logged context, then learns the\n"
                   "logged arm's reward, as it would have online.\n"
                   "\n"
                   "Options:\n"
                   "  --log FILE         the decision log (JSON lines)\n" CLI_POLICY_HELP
                   "  --policy static:ARR  a fixed arrangement instead (cpu, core, socket, node, all)\n"
                   "  --seed S           the candidate's random seed (default 1)\n"
                   "  --model FILE       start the candidate from a model file\n"
                   "  --pool NAME        only the events of this pool\n"
                   "  --json             one JSON document\n"
                   "  --help             this text\n"
                   "\n"
                   "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input\n"
                   "(unreadable or malformed log, no events).\n");
}

struct event {
        double x[ISCHED_MAX_FEATURES];
        uint32_t arm;
        double propensity;
        double epoch;         /* the agent's epoch at the decision (0: not logged) */
        double learned_epoch; /* the epoch at whose end the reward was learned (0: at once, as old logs) */
        double reward;
        bool has_reward;
};

struct events {
        struct event *v;
        size_t n, cap, rewarded;
        uint32_t d;
        uint32_t arm_mask; /* arms the logging policy could choose (0: not logged) */
        bool agent_features; /* the first line's features are this isched's (ISCHED_FEATURE_SCHEMA) */
};

/* A logged propensity below this makes an importance weight of up to its
 * inverse: one event would outweigh a million, and the estimates and their
 * intervals would mean nothing.  No logging policy of intellisched logs one
 * (egreedy's smallest is epsilon / K; a guard logs 1). */
#define EVAL_MIN_PROPENSITY 1e-6

/* The logged arm and the arms the policy could choose: names in an
 * isched-decision-v3 line, a number and a bit mask in an older line (no
 * schema member), docs/json.md. */
static bool parse_arms(const cJSON *o, uint32_t *ret_arm, uint32_t *mask, char *err, size_t err_size)
{
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(o, "schema"), *it;
        enum isched_arrangement a;

        if (!schema) {
                const cJSON *arm = cJSON_GetObjectItemCaseSensitive(o, "arm_index");
                const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "arm_mask");

                if (!cJSON_IsNumber(arm) || arm->valuedouble < 0 || arm->valuedouble >= ISCHED_MAX_ARMS ||
                    arm->valuedouble != (int)arm->valuedouble) {
                        snprintf(err, err_size, "a line without a schema (an older agent's) needs arm_index 0..%d",
                                 ISCHED_MAX_ARMS - 1);
                        return false;
                }
                if (cJSON_IsNumber(m) && m->valuedouble >= 1 && m->valuedouble <= ISCHED_ARM_MASK_ALL)
                        *mask |= (uint32_t)m->valuedouble;
                *ret_arm = (uint32_t)arm->valuedouble;
                return true;
        }
        if (!cJSON_IsString(schema) || strcmp(schema->valuestring, "isched-decision-v3") != 0) {
                snprintf(err, err_size, "schema %.40s%s%s is not isched-decision-v3 (or an older line, without schema): not a "
                         "decision log this isched reads", cJSON_IsString(schema) ? "\"" : "",
                         cJSON_IsString(schema) ? schema->valuestring : "(not a string)",
                         cJSON_IsString(schema) ? "\"" : "");
                return false;
        }
        it = cJSON_GetObjectItemCaseSensitive(o, "arm");
        if (!cJSON_IsString(it) || isched_arrangement_from_string(it->valuestring, &a) < 0) {
                snprintf(err, err_size, "arm must be cpu, core, socket, node or all");
                return false;
        }
        *ret_arm = (uint32_t)a;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "arms_enabled")) {
                if (!cJSON_IsString(it) || isched_arrangement_from_string(it->valuestring, &a) < 0) {
                        snprintf(err, err_size, "arms_enabled must hold arrangement names");
                        return false;
                }
                *mask |= 1u << a;
        }
        return true;
}

static bool parse_event(const cJSON *o, const char *pool, struct event *e, uint32_t *d, uint32_t *mask,
                        bool *skip, char *err, size_t err_size)
{
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "x");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "propensity");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "reward");
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(o, "pool");
        const cJSON *it;
        uint32_t n = 0;

        *skip = pool && !(cJSON_IsString(pl) && strcmp(pl->valuestring, pool) == 0);
        if (*skip)
                return true;
        if (!cJSON_IsArray(x) || !cJSON_IsNumber(p) || !(cJSON_IsNumber(r) || cJSON_IsNull(r))) {
                snprintf(err, err_size, "needs x (array), arm, propensity and reward (number or null)");
                return false;
        }
        if (!parse_arms(o, &e->arm, mask, err, err_size))
                return false;
        cJSON_ArrayForEach(it, x) {
                if (!cJSON_IsNumber(it) || n >= ISCHED_MAX_FEATURES) {
                        snprintf(err, err_size, "x must be 1 to %d numbers", ISCHED_MAX_FEATURES);
                        return false;
                }
                e->x[n++] = it->valuedouble;
        }
        if (n == 0 || (*d && n != *d)) {
                snprintf(err, err_size, "x has %u values, earlier events %u: the agent's features changed (a new "
                         "isched-features version?); evaluate the lines of each version separately", n, *d);
                return false;
        }
        *d = n;
        if (!(p->valuedouble > 0 && p->valuedouble <= 1)) {
                snprintf(err, err_size, "propensity %g is not in (0, 1]", p->valuedouble);
                return false;
        }
        if (p->valuedouble < EVAL_MIN_PROPENSITY) {
                snprintf(err, err_size,
                         "propensity %g is below %g: its importance weight (up to %.3g) would swamp the estimates; "
                         "such a propensity is a fault of the logging policy, not a rare event: remove the line",
                         p->valuedouble, EVAL_MIN_PROPENSITY, 1.0 / p->valuedouble);
                return false;
        }
        e->propensity = p->valuedouble;
        {
                const cJSON *ep = cJSON_GetObjectItemCaseSensitive(o, "epoch");
                const cJSON *le = cJSON_GetObjectItemCaseSensitive(o, "learned_epoch");

                e->epoch = cJSON_IsNumber(ep) ? ep->valuedouble : 0;
                e->learned_epoch = cJSON_IsNumber(le) ? le->valuedouble : 0;
        }
        e->has_reward = cJSON_IsNumber(r) && isfinite(r->valuedouble);
        e->reward = e->has_reward ? r->valuedouble : 0;
        return true;
}

/* Are the line's features this isched's own (the agent wrote the log)? */
static bool has_agent_features(const cJSON *o)
{
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "features"), *it;
        unsigned i = 0;

        if (!cJSON_IsArray(f) || cJSON_GetArraySize(f) != ISCHED_F_COUNT)
                return false;
        cJSON_ArrayForEach(it, f) {
                if (!cJSON_IsString(it) || strcmp(it->valuestring, isched_feature_name(i++)) != 0)
                        return false;
        }
        return true;
}

static int read_log(const char *path, const char *pool, struct events *ev)
{
        FILE *f = fopen(path, "re");
        char *line = NULL, err[400];
        size_t cap = 0, lineno = 0;
        ssize_t len;
        int rc = 0;

        if (!f) {
                cli_error("cannot read decision log %s: %s", path, strerror(errno));
                return EXIT_USAGE;
        }
        while ((len = getline(&line, &cap, f)) >= 0) {
                struct event e;
                cJSON *o;
                bool skip, ok;

                lineno++;
                if (len <= 1)
                        continue;
                o = cJSON_Parse(line);
                if (!o) {
                        cli_error("%s:%zu: not a JSON object; is this a decision log from 'isched run --log'?", path,
                                  lineno);
                        rc = EXIT_USAGE;
                        break;
                }
                ok = parse_event(o, pool, &e, &ev->d, &ev->arm_mask, &skip, err, sizeof(err));
                if (ok && !skip && ev->n == 0)
                        ev->agent_features = has_agent_features(o);
                cJSON_Delete(o);
                if (!ok) {
                        cli_error("%s:%zu: %s", path, lineno, err);
                        rc = EXIT_USAGE;
                        break;
                }
                if (skip)
                        continue;
                if (ev->n == ev->cap) {
                        size_t ncap = ev->cap ? 2 * ev->cap : 256;
                        struct event *nv = realloc(ev->v, ncap * sizeof(*nv));

                        if (!nv) {
                                rc = EXIT_RUNTIME;
                                break;
                        }
                        ev->v = nv;
                        ev->cap = ncap;
                }
                ev->v[ev->n++] = e;
                ev->rewarded += e.has_reward;
        }
        if (rc == 0 && ferror(f)) {
                cli_error("cannot read decision log %s: %s", path, strerror(errno));
                rc = EXIT_USAGE;
        }
        free(line);
        fclose(f);
        if (rc == 0 && ev->rewarded == 0) {
                cli_error("decision log %s has no events with a reward%s%s", path, pool ? " for pool " : "",
                          pool ? pool : "");
                rc = EXIT_USAGE;
        }
        return rc;
}

struct estimate {
        double value, se;
};

static struct estimate mean_se(const double *v, size_t n)
{
        double sum = 0, ss = 0, m;

        for (size_t i = 0; i < n; i++)
                sum += v[i];
        m = sum / (double)n;
        for (size_t i = 0; i < n; i++)
                ss += (v[i] - m) * (v[i] - m);
        return (struct estimate){ m, n > 1 ? sqrt(ss / (double)(n - 1) / (double)n) : NAN };
}

/* The reward model of the doubly robust estimator: per-arm ridge
 * regression on the whole log, which is what lingreedy's estimates are. */
static int fit_reward_model(const struct events *ev, struct isched_policy **ret)
{
        struct isched_policy_params pp;
        struct isched_policy *m;
        int r;

        r = isched_policy_params_init(&pp, ISCHED_POLICY_LINGREEDY, ev->d);
        if (r < 0)
                return r;
        pp.epsilon = 0;
        r = isched_policy_new(&pp, &m);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ev->n && r == 0; i++)
                if (ev->v[i].has_reward)
                        r = isched_policy_update(m, ev->v[i].arm, ev->v[i].x, ev->d, ev->v[i].reward);
        if (r < 0) {
                isched_policy_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

struct results {
        size_t n;
        struct estimate logged, ips, dr;
        double snips, snips_se, ess, match_rate;
};

/* The candidate learns what the logging agent learned, when it learned
 * it: a line with learned_epoch is learned just before the first decision
 * of that epoch or later (the agent learns a window once the safety layer
 * has confirmed it, docs/agent.md); lines without one (older logs) right
 * after their own decision. */
static int learn_due(const struct events *ev, struct isched_policy *cand, size_t *next, size_t upto, double epoch)
{
        int r = 0;

        for (; *next < upto && r == 0; (*next)++) {
                const struct event *e = &ev->v[*next];

                if (e->learned_epoch > 0 && epoch > 0 && e->learned_epoch > epoch)
                        break;
                if (e->has_reward)
                        r = isched_policy_update(cand, e->arm, e->x, ev->d, e->reward);
        }
        return r;
}

/* cand is NULL for a static candidate, which always chooses static_arm. */
static int evaluate(const struct events *ev, struct isched_policy *cand, uint32_t static_arm,
                    struct isched_policy *model, struct results *res)
{
        double *ips = calloc(ev->rewarded, sizeof(double)), *dr = calloc(ev->rewarded, sizeof(double));
        double *logged = calloc(ev->rewarded, sizeof(double)), *w = calloc(ev->rewarded, sizeof(double));
        double sw = 0, sw2 = 0, swr = 0, sdev = 0;
        size_t k = 0, match = 0, next = 0;
        int r = 0;

        if (!ips || !dr || !logged || !w) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < ev->n; i++) {
                const struct event *e = &ev->v[i];
                struct isched_decision cd = { 0 }, md;
                double direct = 0;

                if (cand) {
                        r = learn_due(ev, cand, &next, i, e->epoch);
                        if (r == 0)
                                r = isched_policy_choose(cand, e->x, ev->d, &cd, NULL);
                        if (r < 0)
                                goto out;
                } else {
                        cd.arm = static_arm;
                        cd.arms[static_arm].propensity = 1.0;
                }
                if (!e->has_reward)
                        continue;
                r = isched_policy_choose(model, e->x, ev->d, &md, NULL);
                if (r < 0)
                        goto out;
                for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++)
                        direct += cd.arms[a].propensity * md.arms[a].estimate;
                w[k] = cd.arms[e->arm].propensity / e->propensity;
                logged[k] = e->reward;
                ips[k] = w[k] * e->reward;
                dr[k] = direct + w[k] * (e->reward - md.arms[e->arm].estimate);
                match += cd.arm == e->arm;
                k++;
        }
        res->n = k;
        res->logged = mean_se(logged, k);
        res->ips = mean_se(ips, k);
        res->dr = mean_se(dr, k);
        for (size_t i = 0; i < k; i++) {
                sw += w[i];
                sw2 += w[i] * w[i];
                swr += w[i] * logged[i];
        }
        res->snips = sw > 0 ? swr / sw : NAN;
        /* Delta method: the sum of squared weighted residuals over sum(w)^2. */
        for (size_t i = 0; i < k && sw > 0; i++)
                sdev += w[i] * w[i] * (logged[i] - res->snips) * (logged[i] - res->snips);
        res->snips_se = sw > 0 ? sqrt(sdev) / sw : NAN;
        res->ess = sw2 > 0 ? sw * sw / sw2 : 0;
        res->match_rate = k ? (double)match / (double)k : NAN;
out:
        free(ips);
        free(dr);
        free(logged);
        free(w);
        return r;
}

static cJSON *estimate_json(double value, double se)
{
        cJSON *o = cJSON_CreateObject();

        cJSON_AddItemToObject(o, "value", isfinite(value) ? cJSON_CreateNumber(value) : cJSON_CreateNull());
        cJSON_AddItemToObject(o, "se", isfinite(se) ? cJSON_CreateNumber(se) : cJSON_CreateNull());
        cJSON_AddItemToObject(o, "ci_low", isfinite(se) ? cJSON_CreateNumber(value - Z95 * se) : cJSON_CreateNull());
        cJSON_AddItemToObject(o, "ci_high", isfinite(se) ? cJSON_CreateNumber(value + Z95 * se) : cJSON_CreateNull());
        return o;
}

static void print_results(const char *log, const char *policy, const struct events *ev, const struct results *res,
                          bool json)
{
        if (json) {
                cJSON *doc = cJSON_CreateObject();

                cJSON_AddStringToObject(doc, "schema", "isched-eval-v1");
                cJSON_AddStringToObject(doc, "log", log);
                cJSON_AddNumberToObject(doc, "events", (double)ev->n);
                cJSON_AddNumberToObject(doc, "rewarded_events", (double)res->n);
                cJSON_AddStringToObject(doc, "policy", policy);
                cJSON_AddNumberToObject(doc, "confidence", 0.95);
                cJSON_AddItemToObject(doc, "logged", estimate_json(res->logged.value, res->logged.se));
                cJSON_AddItemToObject(doc, "ips", estimate_json(res->ips.value, res->ips.se));
                cJSON_AddItemToObject(doc, "snips", estimate_json(res->snips, res->snips_se));
                cJSON_AddItemToObject(doc, "dr", estimate_json(res->dr.value, res->dr.se));
                cJSON_AddNumberToObject(doc, "effective_sample_size", res->ess);
                cJSON_AddNumberToObject(doc, "match_rate", res->match_rate);
                cli_print_json(doc);
                return;
        }
        printf("decision log %s: %zu events, %zu with a reward\n", log, ev->n, res->n);
        printf("%-28s %10s   %s\n", "estimate (95% CI)", "value", "interval");
        printf("%-28s %+10.4f   [%+.4f, %+.4f]\n", "logged policy (mean reward)", res->logged.value,
               res->logged.value - Z95 * res->logged.se, res->logged.value + Z95 * res->logged.se);
        printf("%-28s %+10.4f   [%+.4f, %+.4f]\n", "candidate IPS", res->ips.value, res->ips.value - Z95 * res->ips.se,
               res->ips.value + Z95 * res->ips.se);
        printf("%-28s %+10.4f   [%+.4f, %+.4f]\n", "candidate SNIPS", res->snips, res->snips - Z95 * res->snips_se,
               res->snips + Z95 * res->snips_se);
        printf("%-28s %+10.4f   [%+.4f, %+.4f]\n", "candidate doubly robust", res->dr.value,
               res->dr.value - Z95 * res->dr.se, res->dr.value + Z95 * res->dr.se);
        printf("candidate %s agreed with the logged arm in %.0f%% of events; effective sample size %.1f of %zu\n",
               policy, 100 * res->match_rate, res->ess, res->n);
}

static int make_candidate(const struct cli_policy_opts *po, uint64_t seed, const char *model, uint32_t d,
                          uint32_t arm_mask, bool agent_features, struct isched_policy **ret)
{
        struct isched_policy_params pp;
        struct isched_policy *p = NULL;
        int r;

        if (model) {
                struct isched_context *ctx = NULL;

                /* Validated as isched run validates it: the context section
                 * too, and the features of an agent's log. */
                r = isched_model_load(model, &p, &ctx);
                isched_context_free(ctx);
                if (r < 0)
                        return cli_fail(r, "cannot load the candidate model");
                if (isched_policy_get_params(p, &pp) == 0 && pp.n_features != d) {
                        cli_error("the model %s has %u features, the log's contexts %u", model, pp.n_features, d);
                        isched_policy_free(p);
                        return EXIT_USAGE;
                }
                if (agent_features &&
                    (r = isched_model_check_compatible(p, pp.kind, ISCHED_FEATURE_SCHEMA, ISCHED_F_COUNT)) < 0) {
                        isched_policy_free(p);
                        return cli_fail(r == -EINVAL ? r : -EINVAL, "the model does not fit the log's agent");
                }
        } else {
                if (!cli_policy_params(po, seed, &pp))
                        return EXIT_USAGE;
                if (d != ISCHED_F_COUNT) {
                        pp.n_features = d;
                        pp.feature_schema = NULL;
                        pp.feature_names = NULL;
                }
                r = isched_policy_new(&pp, &p);
                if (r < 0)
                        return cli_fail(r, "cannot create the candidate policy");
        }
        /* The candidate may only choose what the logging agent could. */
        if (arm_mask && (r = isched_policy_set_arm_mask(p, arm_mask)) < 0) {
                isched_policy_free(p);
                return cli_fail(r, "the log's arm mask does not fit the candidate");
        }
        *ret = p;
        return 0;
}

int cmd_eval(int argc, char **argv)
{
        struct cli_policy_opts po;
        struct events ev = { 0 };
        struct isched_policy *cand = NULL, *model_fit = NULL;
        struct isched_policy_params pp;
        struct results res = { 0 };
        const char *log = NULL, *model = NULL, *pool = NULL;
        uint64_t seed = 1;
        bool json = false, is_static = false;
        enum isched_arrangement static_arm = ISCHED_ARR_SOCKET;
        char static_name[32];
        int c, h, r, rc;

        struct cli_getopt g;

        cli_policy_opts_init(&po);
        cli_getopt_init(&g, "eval", longopts, NULL);
        while ((c = cli_getopt_next(&g, argc, argv)) != -1) {
                if (c == CLI_GETOPT_BAD)
                        return EXIT_USAGE;
                /* --policy static:ARM: a fixed arrangement, not a bandit. */
                if (c == CLI_OPT_POLICY && optarg && strncmp(optarg, "static:", 7) == 0) {
                        if (isched_arrangement_from_string(optarg + 7, &static_arm) < 0) {
                                cli_error("eval: --policy %s: %s is not an arrangement (cpu, core, socket, node, all)",
                                          optarg, optarg + 7);
                                return cli_usage_hint("eval ");
                        }
                        is_static = true;
                        continue;
                }
                if ((h = cli_policy_opt(&po, c, optarg, NULL)) != 0) {
                        if (h < 0)
                                return cli_usage_hint("eval ");
                        continue;
                }
                switch (c) {
                case OPT_LOG:
                        log = optarg;
                        break;
                case OPT_JSON:
                        json = true;
                        break;
                case OPT_MODEL:
                        model = optarg;
                        break;
                case OPT_POOL:
                        pool = optarg;
                        break;
                case CLI_OPT_SEED:
                        if (!cli_parse_u64("--seed", optarg, 0, UINT64_MAX, &seed))
                                return cli_usage_hint("eval ");
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
        if (cli_extra_operand("eval", argc, argv))
                return EXIT_USAGE;
        if (!log) {
                cli_error("eval: give the decision log with --log FILE");
                return cli_usage_hint("eval ");
        }
        if (model && (po.kind_from[0] || is_static)) {
                cli_error("eval: --model and --policy exclude each other (the model names its policy)");
                return cli_usage_hint("eval ");
        }
        rc = read_log(log, pool, &ev);
        if (rc)
                goto out;
        if (is_static) {
                if (ev.arm_mask && !(ev.arm_mask & (1u << static_arm))) {
                        cli_error("eval: the log's agent could never choose %s (arm mask 0x%x): nothing in the log "
                                  "says what it would have earned",
                                  isched_arrangement_to_string(static_arm), ev.arm_mask);
                        rc = EXIT_USAGE;
                        goto out;
                }
        } else {
                rc = make_candidate(&po, seed, model, ev.d, ev.arm_mask, ev.agent_features, &cand);
                if (rc)
                        goto out;
        }
        r = fit_reward_model(&ev, &model_fit);
        if (r == 0)
                r = evaluate(&ev, cand, (uint32_t)static_arm, model_fit, &res);
        if (r < 0) {
                rc = cli_fail(r, "evaluation failed");
                goto out;
        }
        if (is_static) {
                snprintf(static_name, sizeof(static_name), "static:%s", isched_arrangement_to_string(static_arm));
        } else {
                isched_policy_get_params(cand, &pp);
                snprintf(static_name, sizeof(static_name), "%s", isched_policy_kind_to_string(pp.kind));
        }
        print_results(log, static_name, &ev, &res, json);
out:
        isched_policy_free(cand);
        isched_policy_free(model_fit);
        free(ev.v);
        return rc;
}
