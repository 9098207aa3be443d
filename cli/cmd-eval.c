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
#include "eval-ope.h"

/* Below this effective sample size an estimate is refused, below the
 * second it is flagged (docs/agent.md, "Off-policy evaluation"). */
#define MIN_ESS 10.0
#define LOW_ESS 30.0
/* A support whose interval lies below this is flagged. */
#define LOW_SUPPORT 0.95

enum {
        OPT_LOG = CLI_OPT_OWN,
        OPT_JSON,
        OPT_MODEL,
        OPT_POOL,
        OPT_LABEL,
        OPT_GUARD_ROUNDS,
        OPT_INTERVAL,
        OPT_BLOCK,
        OPT_FOLDS,
        OPT_FROZEN,
};

static const struct option longopts[] = {
        { "log", required_argument, NULL, OPT_LOG },
        { "json", no_argument, NULL, OPT_JSON },
        { "model", required_argument, NULL, OPT_MODEL },
        { "pool", required_argument, NULL, OPT_POOL },
        { "label", required_argument, NULL, OPT_LABEL },
        { "guard-rounds", required_argument, NULL, OPT_GUARD_ROUNDS },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "block", required_argument, NULL, OPT_BLOCK },
        { "folds", required_argument, NULL, OPT_FOLDS },
        { "frozen", no_argument, NULL, OPT_FROZEN },
        { "seed", required_argument, NULL, CLI_OPT_SEED },
        CLI_COMMON_LONGOPTS,
        CLI_POLICY_LONGOPTS,
        { 0 },
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: isched eval --log FILE [--policy KIND ...|--policy static:ARR|--policy uniform|\n"
                   "                   --model FILE] [--label score|reward] [--guard-rounds exclude|replay]\n"
                   "                   [--interval states|hac|bootstrap|iid] [--pool NAME] [--json]\n"
                   "\n"
                   "Estimate, from a decision log written by 'isched run --log', what a target\n"
                   "policy would have got on the logged windows: their mean window score (the\n"
                   "default label) or the agent's reward.  Estimators: inverse propensity\n"
                   "scoring (IPS), self-normalised IPS (SNIPS) and doubly robust (DR, the\n"
                   "recommended one; its reward model is a per-arm ridge regression with an\n"
                   "unpenalised intercept, cross-fitted over folds of consecutive rounds), each\n"
                   "with a 95%% interval that allows for dependence between consecutive windows,\n"
                   "and the logging agent's own mean.  A learning target replays the log in\n"
                   "order: it decides on each logged context and learns the logged rewards when\n"
                   "the agent did.  Rounds decided by the safety layer or a guard carry no\n"
                   "importance weight (--guard-rounds exclude) or stand for the target under the\n"
                   "same guards (replay).  The support (the share of the target's probability on\n"
                   "arms the log could show) and the effective sample size are reported; an\n"
                   "estimate on an effective sample size below %g is refused.\n"
                   "\n"
                   "Options:\n"
                   "  --log FILE         the decision log (JSON lines)\n" CLI_POLICY_HELP
                   "  --policy static:ARR  always the arrangement ARR (cpu, core, socket, node, all)\n"
                   "  --policy uniform   every arrangement the log's agent could choose, equally likely\n"
                   "  --seed S           the target's random seed (default 1)\n"
                   "  --model FILE       the target is this model (it goes on learning from the log)\n"
                   "  --frozen           the target does not learn from the log\n"
                   "  --label L          score (default: the reward window's score) or reward\n"
                   "                     (what the agent learned: the score minus the baseline's)\n"
                   "  --guard-rounds G   exclude (default) or replay (see above)\n"
                   "  --interval M       states (default: hac plus the variance of the state the\n"
                   "                     target's own switches would leave, e.g. the one state a\n"
                   "                     fixed arrangement is held in), hac (Newey-West: the mean\n"
                   "                     over the states the log saw), bootstrap (circular block\n"
                   "                     bootstrap) or iid (rounds independent, for comparison)\n"
                   "  --block N          rounds per block of the interval (default: automatic)\n"
                   "  --folds K          cross-fitting folds of the reward model (default 5)\n"
                   "  --pool NAME        only the events of this pool\n"
                   "  --json             one JSON document\n"
                   "  --help             this text\n"
                   "\n"
                   "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input\n"
                   "(unreadable or malformed log, no events, a target the log cannot support).\n",
                MIN_ESS);
}

struct event {
        double x[ISCHED_MAX_FEATURES];
        uint32_t arm;
        double propensity;
        double epoch;         /* the agent's epoch at the decision (0: not logged) */
        double learned_epoch; /* the epoch at whose end the reward was learned (0: at once, as old logs) */
        double reward;
        bool has_reward;
        double window_score;  /* the reward window's score (NaN: none) */
        bool deterministic;   /* the safety layer or a guard decided the arm */
        size_t episode;       /* its stretch of one arm in its pool (a new one at every change of arm) */
};

/* The pools of a log: each one's decisions are one history. */
#define EVAL_MAX_POOLS 64

struct events {
        struct event *v;
        size_t n, cap, rewarded, scored;
        size_t unscored_lines;  /* lines without window_score at all: an older agent's (log_version 1) */
        size_t first_unscored;  /* the first of them (line number) */
        size_t unclassified;    /* lines without reason: which rounds the guards decided is unknown */
        uint32_t d;
        uint32_t arm_mask; /* arms the logging policy could choose (0: not logged) */
        char *pools[EVAL_MAX_POOLS];      /* the pools seen */
        uint32_t pool_arm[EVAL_MAX_POOLS]; /* each one's arm in force, and its stretch */
        size_t pool_episode[EVAL_MAX_POOLS];
        unsigned n_pools;
        size_t episodes;
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

/* What log_version 2 added for off-policy evaluation: the reward window's
 * own score, and who decided the arm (docs/agent.md, "Reasons": only
 * exploit and explore are the policy's own draw). */
static bool parse_outcome(const cJSON *o, struct event *e, bool *has_score_member, bool *has_reason, char *err,
                          size_t err_size)
{
        const cJSON *ws = cJSON_GetObjectItemCaseSensitive(o, "window_score");
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(o, "reason");

        *has_score_member = ws != NULL;
        if (ws && !cJSON_IsNumber(ws) && !cJSON_IsNull(ws)) {
                snprintf(err, err_size, "window_score must be a number or null");
                return false;
        }
        e->window_score = cJSON_IsNumber(ws) && isfinite(ws->valuedouble) ? ws->valuedouble : NAN;
        *has_reason = cJSON_IsString(why);
        e->deterministic = *has_reason && strcmp(why->valuestring, "exploit") != 0 &&
                           strcmp(why->valuestring, "explore") != 0;
        return true;
}

static bool parse_event(const cJSON *o, const char *pool, struct event *e, uint32_t *d, uint32_t *mask,
                        bool *skip, bool *has_score_member, bool *has_reason, char *err, size_t err_size)
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
        return parse_outcome(o, e, has_score_member, has_reason, err, err_size);
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

/* The stretch of e's arm in its pool (lines without a pool member are
 * one pool): a new one whenever the pool's arm changes.  False if there
 * are too many pools to follow. */
static bool stretch_of(struct events *ev, const cJSON *pool, struct event *e)
{
        const char *name = cJSON_IsString(pool) ? pool->valuestring : "";
        unsigned k;

        for (k = 0; k < ev->n_pools; k++)
                if (strcmp(ev->pools[k], name) == 0)
                        break;
        if (k == ev->n_pools) {
                if (k == EVAL_MAX_POOLS || !(ev->pools[k] = strdup(name)))
                        return false;
                ev->n_pools++;
                ev->pool_arm[k] = e->arm;
                ev->pool_episode[k] = ev->episodes++;
        } else if (ev->pool_arm[k] != e->arm) {
                ev->pool_arm[k] = e->arm;
                ev->pool_episode[k] = ev->episodes++;
        }
        e->episode = ev->pool_episode[k];
        return true;
}

/* What read_log() allocated. */
static void events_free(struct events *ev)
{
        for (unsigned k = 0; k < ev->n_pools; k++)
                free(ev->pools[k]);
        free(ev->v);
        *ev = (struct events){ 0 };
}

/* label_score: the window score is what will be estimated, so a log
 * without it (an older agent's) is refused. */
static int read_log(const char *path, const char *pool, bool label_score, struct events *ev)
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
                bool skip, ok, has_score_member = false, has_reason = false;

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
                ok = parse_event(o, pool, &e, &ev->d, &ev->arm_mask, &skip, &has_score_member, &has_reason, err,
                                 sizeof(err));
                if (ok && !skip && ev->n == 0)
                        ev->agent_features = has_agent_features(o);
                if (ok && !skip && !stretch_of(ev, cJSON_GetObjectItemCaseSensitive(o, "pool"), &e)) {
                        snprintf(err, sizeof(err), "more than %d pools in one log: evaluate one at a time with "
                                 "--pool NAME", EVAL_MAX_POOLS);
                        ok = false;
                }
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
                ev->scored += isfinite(e.window_score);
                ev->unclassified += !has_reason;
                if (!has_score_member && !ev->unscored_lines++)
                        ev->first_unscored = lineno;
        }
        if (rc == 0 && ferror(f)) {
                cli_error("cannot read decision log %s: %s", path, strerror(errno));
                rc = EXIT_USAGE;
        }
        free(line);
        fclose(f);
        if (rc == 0 && label_score && ev->unscored_lines) {
                cli_error("%s:%zu: no window_score: %zu line%s of this log come from an agent older than "
                          "log_version 2, which logged only its reward; evaluate them with --label reward",
                          path, ev->first_unscored, ev->unscored_lines, ev->unscored_lines > 1 ? "s" : "");
                rc = EXIT_USAGE;
        }
        if (rc == 0 && (label_score ? ev->scored : ev->rewarded) == 0) {
                cli_error("decision log %s has no events with a %s%s%s", path,
                          label_score ? "window score" : "reward", pool ? " for pool " : "", pool ? pool : "");
                rc = EXIT_USAGE;
        }
        return rc;
}

/* What the target is. */
enum target_kind { TARGET_POLICY, TARGET_STATIC, TARGET_UNIFORM };

struct target {
        enum target_kind kind;
        struct isched_policy *policy; /* TARGET_POLICY */
        bool frozen;                  /* TARGET_POLICY: it does not learn from the log */
        uint32_t arm;                 /* TARGET_STATIC */
        uint32_t arm_mask;            /* TARGET_UNIFORM: the arms it spreads over */
        char name[64];
};

struct results {
        struct ope_result ope;
        double match_rate;  /* the target's choice was the logged arm */
        bool label_score;
};

/* The target learns what the logging agent learned, when it learned it:
 * a line with learned_epoch is learned just before the first decision of
 * that epoch or later (the agent learns a window once the safety layer
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

/* The target's probability of each arm at event i, and its choice. */
static int target_decide(const struct events *ev, struct target *t, size_t i, size_t *next, double *ret_p,
                         uint32_t *ret_choice)
{
        const struct event *e = &ev->v[i];
        struct isched_decision cd;
        int r;

        memset(ret_p, 0, sizeof(double) * OPE_ARMS);
        switch (t->kind) {
        case TARGET_STATIC:
                ret_p[t->arm] = 1.0;
                *ret_choice = t->arm;
                return 0;
        case TARGET_UNIFORM: {
                const unsigned k = (unsigned)__builtin_popcount(t->arm_mask);

                for (uint32_t a = 0; a < OPE_ARMS; a++)
                        if (t->arm_mask & (1u << a))
                                ret_p[a] = 1.0 / k;
                *ret_choice = OPE_ARMS; /* no one choice */
                return 0;
        }
        case TARGET_POLICY:
                break;
        }
        r = t->frozen ? 0 : learn_due(ev, t->policy, next, i, e->epoch);
        if (r == 0)
                r = isched_policy_choose(t->policy, e->x, ev->d, &cd, NULL);
        if (r < 0)
                return r;
        for (uint32_t a = 0; a < OPE_ARMS; a++)
                ret_p[a] = cd.arms[a].propensity;
        *ret_choice = cd.arm;
        return 0;
}

/* Replay the log through the target (every event, labelled or not, so
 * that a random target stays in step with the logging agent), then
 * estimate on the labelled rounds. */
static int evaluate(const struct events *ev, struct target *t, bool label_score, const struct ope_options *o,
                    struct results *res)
{
        struct ope_round *rounds = calloc(ev->n, sizeof(*rounds));
        size_t k = 0, match = 0, next = 0;
        int r = 0;

        if (!rounds)
                return -ENOMEM;
        for (size_t i = 0; i < ev->n; i++) {
                const struct event *e = &ev->v[i];
                const double label = label_score ? e->window_score : e->has_reward ? e->reward : NAN;
                struct ope_round *rd = &rounds[k];
                uint32_t choice;

                r = target_decide(ev, t, i, &next, rd->target, &choice);
                if (r < 0)
                        goto out;
                if (!isfinite(label))
                        continue;
                rd->x = e->x;
                rd->arm = e->arm;
                rd->propensity = e->propensity;
                rd->label = label;
                rd->deterministic = e->deterministic;
                rd->episode = e->episode;
                match += choice == e->arm;
                k++;
        }
        r = ope_estimate(rounds, k, ev->d, o, &res->ope);
        res->match_rate = k && t->kind != TARGET_UNIFORM ? (double)match / (double)k : NAN;
        res->label_score = label_score;
out:
        free(rounds);
        return r;
}

static cJSON *num_json(double v)
{
        return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *estimate_json(const struct ope_interval *e)
{
        cJSON *o = cJSON_CreateObject();

        cJSON_AddItemToObject(o, "value", num_json(e->value));
        cJSON_AddItemToObject(o, "se", num_json(e->se));
        cJSON_AddItemToObject(o, "ci_low", num_json(e->low));
        cJSON_AddItemToObject(o, "ci_high", num_json(e->high));
        cJSON_AddNumberToObject(o, "block_rounds", e->block);
        return o;
}

static const char *const interval_names[] = { "hac", "bootstrap", "iid", "states" };
static const char *const guard_round_names[] = { "exclude", "replay" };

/* What deserves a warning; NULL-terminated, at most 4. */
static void warnings(const struct events *ev, const struct results *res, const struct ope_options *o,
                     char w[4][200])
{
        const struct ope_result *p = &res->ope;
        unsigned n = 0;

        memset(w, 0, 4 * 200);
        if (isfinite(p->support.high) && p->support.high < LOW_SUPPORT)
                snprintf(w[n++], 200,
                         "thin support: only %.0f%% of the target's probability is on arms the log could show "
                         "(IPS and DR miss the rest, SNIPS leaves it out)",
                         100 * p->support.value);
        if (p->ess < LOW_ESS)
                snprintf(w[n++], 200, "effective sample size %.1f: the intervals are rough", p->ess);
        if (p->deterministic && o->guard_rounds == OPE_GUARD_EXCLUDE)
                snprintf(w[n++], 200,
                         "%zu of %zu rounds were decided by the safety layer or a guard and carry no weight; "
                         "a log for evaluation is best made with --no-safety and no guards",
                         p->deterministic, p->rounds);
        if (ev->unclassified)
                snprintf(w[n++], 200,
                         "%zu lines do not say who decided (no reason member): they count as the policy's own",
                         ev->unclassified);
}

static void print_results(const char *log, const struct target *t, const struct events *ev,
                          const struct results *res, const struct ope_options *o, bool json)
{
        const struct ope_result *p = &res->ope;
        const char *label = res->label_score ? "score" : "reward";
        char w[4][200];

        warnings(ev, res, o, w);
        if (json) {
                cJSON *doc = cJSON_CreateObject(), *m, *arr;

                cJSON_AddStringToObject(doc, "schema", "isched-eval-v2");
                cJSON_AddStringToObject(doc, "log", log);
                cJSON_AddNumberToObject(doc, "events", (double)ev->n);
                cJSON_AddNumberToObject(doc, "rewarded_events", (double)ev->rewarded);
                cJSON_AddStringToObject(doc, "policy", t->name);
                cJSON_AddStringToObject(doc, "label", label);
                cJSON_AddNumberToObject(doc, "rounds", (double)p->rounds);
                cJSON_AddNumberToObject(doc, "deterministic_rounds", (double)p->deterministic);
                cJSON_AddStringToObject(doc, "guard_rounds", guard_round_names[o->guard_rounds]);
                cJSON_AddNumberToObject(doc, "confidence", 0.95);
                cJSON_AddStringToObject(doc, "interval", interval_names[o->interval]);
                cJSON_AddItemToObject(doc, "logged", estimate_json(&p->logged));
                cJSON_AddItemToObject(doc, "ips", estimate_json(&p->ips));
                cJSON_AddItemToObject(doc, "snips", estimate_json(&p->snips));
                cJSON_AddItemToObject(doc, "dr", estimate_json(&p->dr));
                cJSON_AddStringToObject(doc, "recommended", "dr");
                cJSON_AddItemToObject(doc, "support", estimate_json(&p->support));
                cJSON_AddNumberToObject(doc, "effective_sample_size", p->ess);
                cJSON_AddNumberToObject(doc, "state_sd", sqrt(p->state_var));
                cJSON_AddItemToObject(doc, "match_rate", num_json(res->match_rate));
                m = cJSON_AddObjectToObject(doc, "reward_model");
                cJSON_AddStringToObject(m, "kind", "ridge-per-arm");
                cJSON_AddStringToObject(m, "intercept", "unpenalised");
                cJSON_AddNumberToObject(m, "lambda", o->lambda);
                cJSON_AddNumberToObject(m, "folds", p->folds);
                arr = cJSON_AddArrayToObject(m, "arms_fitted");
                for (uint32_t a = 0; a < OPE_ARMS; a++)
                        if (p->model_arms & (1u << a))
                                cJSON_AddItemToArray(arr, cJSON_CreateString(isched_arrangement_to_string(a)));
                arr = cJSON_AddArrayToObject(doc, "warnings");
                for (unsigned i = 0; i < 4 && w[i][0]; i++)
                        cJSON_AddItemToArray(arr, cJSON_CreateString(w[i]));
                cli_print_json(doc);
                return;
        }
        printf("decision log %s: %zu events, %zu with a reward, %zu with a window score\n", log, ev->n, ev->rewarded,
               ev->scored);
        printf("target %s, label: the %s; %zu rounds, %zu of them decided by the safety layer or a guard (%s)\n",
               t->name, res->label_score ? "reward window's score" : "agent's reward (score minus baseline)",
               p->rounds, p->deterministic,
               o->guard_rounds == OPE_GUARD_EXCLUDE ? "no weight" : "replayed: the target under the same guards");
        printf("%-30s %10s   95%% interval (%s, blocks of %u rounds)\n", "estimate of the mean label", "value",
               interval_names[o->interval], p->dr.block);
        printf("%-30s %+10.4f   [%+.4f, %+.4f]\n", "logged agent's own", p->logged.value, p->logged.low,
               p->logged.high);
        printf("%-30s %+10.4f   [%+.4f, %+.4f]\n", "target, IPS", p->ips.value, p->ips.low, p->ips.high);
        printf("%-30s %+10.4f   [%+.4f, %+.4f]\n", "target, SNIPS", p->snips.value, p->snips.low, p->snips.high);
        printf("%-30s %+10.4f   [%+.4f, %+.4f]\n", "target, doubly robust (best)", p->dr.value, p->dr.low,
               p->dr.high);
        printf("reward model: per-arm ridge regression, unpenalised intercept, lambda %g, cross-fitted over %u "
               "folds of consecutive rounds\n",
               o->lambda, p->folds);
        printf("state: sd %.4f of the target's value from the state its own switches would leave (%s)\n",
               sqrt(p->state_var), o->interval == OPE_INTERVAL_STATES ? "in the intervals" : "not in the intervals");
        printf("support %.3f [%.3f, %.3f] of the target's probability; effective sample size %.1f of %zu",
               p->support.value, p->support.low, p->support.high, p->ess, p->rounds);
        if (isfinite(res->match_rate))
                printf("; the target chose the logged arm in %.0f%%", 100 * res->match_rate);
        printf("\n");
        for (unsigned i = 0; i < 4 && w[i][0]; i++)
                printf("warning: %s\n", w[i]);
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

static bool parse_choice(const char *option, const char *arg, const char *const *names, unsigned n, int *ret)
{
        for (unsigned i = 0; i < n; i++)
                if (strcmp(arg, names[i]) == 0) {
                        *ret = (int)i;
                        return true;
                }
        cli_error("eval: %s %s: not one of %s%s%s%s%s%s%s", option, arg, names[0], n > 1 ? ", " : "",
                  n > 1 ? names[1] : "", n > 2 ? ", " : "", n > 2 ? names[2] : "", n > 3 ? ", " : "",
                  n > 3 ? names[3] : "");
        return false;
}

/* A fixed target the log cannot say anything about is refused before
 * anything is estimated. */
static bool check_target(const struct target *t, const struct events *ev)
{
        if (t->kind == TARGET_STATIC && ev->arm_mask && !(ev->arm_mask & (1u << t->arm))) {
                cli_error("eval: the log's agent could never choose %s (arm mask 0x%x): nothing in the log "
                          "says what it would have earned",
                          isched_arrangement_to_string(t->arm), ev->arm_mask);
                return false;
        }
        return true;
}

/* An estimate the log cannot support is refused (exit 2). */
static bool check_support(const struct results *res)
{
        const struct ope_result *p = &res->ope;

        if (!(p->ess >= MIN_ESS)) {
                cli_error("eval: refused: the effective sample size is %.1f (below %g): the log's %zu rounds "
                          "support too little of the target (support %.2f of its probability); log with more "
                          "exploration (e.g. --policy egreedy --epsilon 0.5 --no-safety, no guards)",
                          p->ess, MIN_ESS, p->rounds, p->support.value);
                return false;
        }
        return true;
}

int cmd_eval(int argc, char **argv)
{
        struct cli_policy_opts po;
        struct events ev = { 0 };
        struct target t = { .kind = TARGET_POLICY };
        struct ope_options oo;
        struct results res = { 0 };
        const char *log = NULL, *model = NULL, *pool = NULL;
        uint64_t seed = 1, u;
        bool json = false, label_score = true;
        enum isched_arrangement static_arm;
        struct cli_getopt g;
        int c, h, r, rc, choice;

        cli_policy_opts_init(&po);
        ope_options_init(&oo);
        cli_getopt_init(&g, "eval", longopts, NULL);
        while ((c = cli_getopt_next(&g, argc, argv)) != -1) {
                if (c == CLI_GETOPT_BAD)
                        return EXIT_USAGE;
                /* --policy static:ARR and uniform: fixed targets, not bandits. */
                if (c == CLI_OPT_POLICY && optarg && strncmp(optarg, "static:", 7) == 0) {
                        if (isched_arrangement_from_string(optarg + 7, &static_arm) < 0) {
                                cli_error("eval: --policy %s: %s is not an arrangement (cpu, core, socket, node, all)",
                                          optarg, optarg + 7);
                                return cli_usage_hint("eval ");
                        }
                        t.kind = TARGET_STATIC;
                        t.arm = (uint32_t)static_arm;
                        continue;
                }
                if (c == CLI_OPT_POLICY && optarg && strcmp(optarg, "uniform") == 0) {
                        t.kind = TARGET_UNIFORM;
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
                case OPT_FROZEN:
                        t.frozen = true;
                        break;
                case OPT_LABEL:
                        if (!parse_choice("--label", optarg, (const char *const[]){ "reward", "score" }, 2, &choice))
                                return cli_usage_hint("eval ");
                        label_score = choice == 1;
                        break;
                case OPT_GUARD_ROUNDS:
                        if (!parse_choice("--guard-rounds", optarg, guard_round_names, 2, &choice))
                                return cli_usage_hint("eval ");
                        oo.guard_rounds = (enum ope_guard_rounds)choice;
                        break;
                case OPT_INTERVAL:
                        if (!parse_choice("--interval", optarg, interval_names, 4, &choice))
                                return cli_usage_hint("eval ");
                        oo.interval = (enum ope_interval_method)choice;
                        break;
                case OPT_BLOCK:
                        if (!cli_parse_u64("--block", optarg, 1, 100000, &u))
                                return cli_usage_hint("eval ");
                        oo.block = (uint32_t)u;
                        break;
                case OPT_FOLDS:
                        if (!cli_parse_u64("--folds", optarg, 2, 100, &u))
                                return cli_usage_hint("eval ");
                        oo.folds = (uint32_t)u;
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
        if (model && (po.kind_from[0] || t.kind != TARGET_POLICY)) {
                cli_error("eval: --model and --policy exclude each other (the model names its policy)");
                return cli_usage_hint("eval ");
        }
        if (t.kind != TARGET_POLICY && (t.frozen || po.alpha.from[0] || po.lambda.from[0] || po.gamma.from[0] ||
                                        po.epsilon.from[0] || po.ts_v.from[0])) {
                cli_error("eval: --policy static:ARR and uniform take no policy parameters nor --frozen");
                return cli_usage_hint("eval ");
        }
        rc = read_log(log, pool, label_score, &ev);
        if (rc)
                goto out;
        if (!check_target(&t, &ev)) {
                rc = EXIT_USAGE;
                goto out;
        }
        switch (t.kind) {
        case TARGET_STATIC:
                snprintf(t.name, sizeof(t.name), "static:%s", isched_arrangement_to_string(t.arm));
                break;
        case TARGET_UNIFORM:
                /* Without a logged arm mask (older logs), the arms the log shows. */
                t.arm_mask = ev.arm_mask;
                for (size_t i = 0; i < ev.n && !ev.arm_mask; i++)
                        t.arm_mask |= 1u << ev.v[i].arm;
                snprintf(t.name, sizeof(t.name), "uniform");
                break;
        case TARGET_POLICY: {
                struct isched_policy_params pp;

                rc = make_candidate(&po, seed, model, ev.d, ev.arm_mask, ev.agent_features, &t.policy);
                if (rc)
                        goto out;
                isched_policy_get_params(t.policy, &pp);
                snprintf(t.name, sizeof(t.name), "%s%s", isched_policy_kind_to_string(pp.kind),
                         t.frozen ? " (frozen)" : "");
                break;
        }
        }
        r = evaluate(&ev, &t, label_score, &oo, &res);
        if (r < 0) {
                rc = cli_fail(r, "evaluation failed");
                goto out;
        }
        if (!check_support(&res)) {
                rc = EXIT_USAGE;
                goto out;
        }
        print_results(log, &t, &ev, &res, &oo, json);
out:
        isched_policy_free(t.policy);
        events_free(&ev);
        return rc;
}
