/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent's JSON: the state file (what `isched explain` prints, schema
 * in docs/explain-schema.md) and the decision log (docs/agent.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent-private.h"
#include "intellisched/model.h"
#include "util/util.h"

#define EXPLAIN_SCHEMA "isched-explain-v2"
#define DECISION_SCHEMA "isched-decision-v3"

/* JSON has no NaN: unknown numbers are null. */
static cJSON *num_or_null(double v)
{
        return isched__finite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *str_or_null(const char *s)
{
        return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static double ns_to_s(uint64_t ns)
{
        return (double)ns / 1e9;
}

double agent__wall_time_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *arm_name(uint32_t arm)
{
        return isched_arrangement_to_string((enum isched_arrangement)arm);
}

cJSON *agent__arms_json(const struct isched_decision *d)
{
        cJSON *arms = cJSON_CreateArray();

        for (unsigned i = 0; arms && i < ISCHED_MAX_ARMS; i++) {
                const struct isched_arm_explanation *e = &d->arms[i];
                cJSON *o = cJSON_CreateObject();

                cJSON_AddStringToObject(o, "arm", arm_name(i));
                cJSON_AddBoolToObject(o, "enabled", e->enabled != 0);
                cJSON_AddItemToObject(o, "estimate", num_or_null(e->estimate));
                cJSON_AddItemToObject(o, "width", num_or_null(e->width));
                cJSON_AddItemToObject(o, "score", num_or_null(e->score));
                cJSON_AddNumberToObject(o, "pulls", (double)e->pulls);
                cJSON_AddItemToObject(o, "propensity", num_or_null(e->propensity));
                cJSON_AddItemToArray(arms, o);
        }
        return arms;
}

static const char *feature_name(const struct isched_policy_params *pp, unsigned i, char *buf, size_t size)
{
        if (pp->feature_names && pp->feature_names[i])
                return pp->feature_names[i];
        if (pp->n_features == ISCHED_F_COUNT && isched_feature_name(i))
                return isched_feature_name(i);
        snprintf(buf, size, "x%u", i);
        return buf;
}

/* Where the window's throughput came from (docs/guest-work.md). */
static cJSON *throughput_json(const struct agent_record *rec)
{
        cJSON *t = cJSON_CreateObject();

        cJSON_AddItemToObject(t, "value", num_or_null(rec->throughput));
        cJSON_AddStringToObject(t, "source", rec->throughput_source);
        cJSON_AddNumberToObject(t, "work_domains", rec->work_domains);
        return t;
}

static cJSON *context_json(const struct isched_policy_params *pp, const double *x, const double *raw, double score)
{
        cJSON *ctx = cJSON_CreateObject(), *features = cJSON_AddArrayToObject(ctx, "features");
        char buf[16];

        for (unsigned i = 0; i < pp->n_features; i++) {
                cJSON *f = cJSON_CreateObject();

                cJSON_AddStringToObject(f, "name", feature_name(pp, i, buf, sizeof(buf)));
                cJSON_AddItemToObject(f, "raw", raw ? num_or_null(raw[i]) : cJSON_CreateNull());
                cJSON_AddItemToObject(f, "normalised", num_or_null(x[i]));
                cJSON_AddItemToArray(features, f);
        }
        cJSON_AddItemToObject(ctx, "window_score", num_or_null(score));
        return ctx;
}

/* A set of arms is an array of their names (docs/json.md). */
static cJSON *arms_enabled_json(uint32_t mask)
{
        cJSON *arr = cJSON_CreateArray();

        for (unsigned i = 0; arr && i < ISCHED_MAX_ARMS; i++)
                if (mask & (1u << i))
                        cJSON_AddItemToArray(arr, cJSON_CreateString(arm_name(i)));
        return arr;
}

static cJSON *model_json(const struct isched_policy *policy, const struct isched_context *context)
{
        struct isched_policy_params pp;
        cJSON *m = cJSON_CreateObject();

        if (isched_policy_get_params(policy, &pp) < 0)
                return m;
        cJSON_AddStringToObject(m, "policy", isched_policy_kind_to_string(pp.kind));
        cJSON_AddNumberToObject(m, "rounds", (double)isched_policy_get_rounds(policy));
        cJSON_AddItemToObject(m, "feature_schema", str_or_null(pp.feature_schema));
        cJSON_AddNumberToObject(m, "nr_features", pp.n_features);
        cJSON_AddItemToObject(m, "arms_enabled", arms_enabled_json(pp.arm_mask));
        cJSON_AddItemToObject(m, "baseline", context ? num_or_null(isched_context_get_baseline(context))
                                                     : cJSON_CreateNull());
        return m;
}

static const char *policy_reason_name(const struct isched_decision *d)
{
        return d->reason == ISCHED_CHOICE_EXPLORE ? "explore" : "exploit";
}

static cJSON *decision_json(const struct agent_record *rec)
{
        const enum isched_agent_reason reason = rec->reason;
        cJSON *d = cJSON_CreateObject();

        cJSON_AddNumberToObject(d, "epoch", (double)rec->epoch);
        cJSON_AddNumberToObject(d, "time_s", ns_to_s(rec->time_ns));
        cJSON_AddNumberToObject(d, "wall_time_s", rec->wall_time_s);
        cJSON_AddStringToObject(d, "arrangement_before", isched_arrangement_to_string(rec->before));
        cJSON_AddStringToObject(d, "policy_arm", arm_name(rec->decision.arm));
        cJSON_AddStringToObject(d, "policy_reason", policy_reason_name(&rec->decision));
        cJSON_AddNumberToObject(d, "policy_propensity", rec->decision.propensity);
        cJSON_AddStringToObject(d, "greedy_arm", arm_name(rec->decision.greedy_arm));
        cJSON_AddStringToObject(d, "chosen_arm", isched_arrangement_to_string(rec->arm));
        cJSON_AddStringToObject(d, "reason", isched_agent_reason_to_string(reason));
        cJSON_AddStringToObject(d, "reason_class", agent__reason_class(reason));
        cJSON_AddStringToObject(d, "safety_reason", isched__safety_reason_name(rec->safety.reason));
        cJSON_AddNumberToObject(d, "propensity", rec->propensity);
        cJSON_AddBoolToObject(d, "switched", rec->switched);
        cJSON_AddItemToObject(d, "arms", agent__arms_json(&rec->decision));
        return d;
}

static uint32_t count_recent_switches(const struct isched_agent *a)
{
        const uint64_t hour_ns = 3600ull * 1000000000ull;
        uint32_t n = 0;

        for (uint32_t i = 0; i < a->n_switch_times; i++)
                if (a->now_ns < hour_ns || a->switch_times[i] > a->now_ns - hour_ns)
                        n++;
        return n;
}

static cJSON *guards_json(const struct isched_agent *a)
{
        cJSON *g = cJSON_CreateObject(), *rb;

        cJSON_AddNumberToObject(g, "min_dwell_s", ns_to_s(a->cfg.min_dwell_ns));
        cJSON_AddNumberToObject(g, "since_last_switch_s", ns_to_s(a->now_ns - a->last_switch_ns));
        cJSON_AddNumberToObject(g, "max_switches_per_hour", a->cfg.max_switches_per_hour);
        cJSON_AddNumberToObject(g, "switches_last_hour", count_recent_switches(a));
        rb = cJSON_AddObjectToObject(g, "rollback");
        cJSON_AddNumberToObject(rb, "windows", a->cfg.rollback_windows);
        cJSON_AddNumberToObject(rb, "margin", a->cfg.rollback_margin);
        cJSON_AddBoolToObject(rb, "watching", a->watching);
        cJSON_AddNumberToObject(rb, "bad_windows", a->bad_windows);
        cJSON_AddItemToObject(rb, "target", a->last.valid ? cJSON_CreateString(arm_name(a->last.safety.fallback))
                                                          : cJSON_CreateString(arm_name(a->baseline)));
        cJSON_AddBoolToObject(g, "held", a->mode == ISCHED_AGENT_HELD);
        cJSON_AddItemToObject(g, "hold_reason", str_or_null(a->mode == ISCHED_AGENT_HELD ? a->hold_reason : NULL));
        cJSON_AddItemToObject(g, "hold_file", str_or_null(a->hold_path));
        cJSON_AddBoolToObject(g, "dry_run", a->cfg.dry_run);
        cJSON_AddItemToObject(g, "advisory_reason",
                              str_or_null(a->mode == ISCHED_AGENT_ADVISORY || a->mode == ISCHED_AGENT_DRY_RUN
                                                  ? a->advisory_reason
                                                  : NULL));
        return g;
}

static cJSON *mean_sd_json(double mean, double sd)
{
        cJSON *o = cJSON_CreateObject();

        cJSON_AddItemToObject(o, "mean", num_or_null(mean));
        cJSON_AddItemToObject(o, "sd", num_or_null(sd));
        return o;
}

/* The safety layer's view: what the agent is judged against, what it has
 * spent, what it believes of every arm now (docs/safety.md). */
static cJSON *safety_json(const struct isched_agent *a)
{
        struct isched_agent_status st;
        struct isched__safety_status ss;
        cJSON *o = cJSON_CreateObject(), *arms, *budget;

        isched_agent_get_status(a, &st);
        isched__safety_get_status(a->safety, &ss);
        cJSON_AddStringToObject(o, "baseline", arm_name(a->baseline));
        cJSON_AddStringToObject(o, "observation", isched_observation_to_string(a->observation));
        cJSON_AddItemToObject(o, "gain", mean_sd_json(st.gain, st.gain_sd));
        cJSON_AddItemToObject(o, "measured_gain", mean_sd_json(st.measured_gain, st.measured_gain_sd));
        budget = cJSON_AddObjectToObject(o, "budget");
        cJSON_AddNumberToObject(budget, "per_window", a->cfg.budget);
        cJSON_AddNumberToObject(budget, "windows", ss.windows);
        cJSON_AddNumberToObject(budget, "spent", ss.spent);
        cJSON_AddNumberToObject(budget, "allowance", ss.allowance);
        cJSON_AddItemToObject(o, "noise_sd", num_or_null(ss.noise_sd));
        cJSON_AddItemToObject(o, "switch_cost", num_or_null(ss.switch_cost));
        cJSON_AddNumberToObject(o, "segment", (double)ss.segment);
        cJSON_AddNumberToObject(o, "changes", (double)ss.changes);
        cJSON_AddNumberToObject(o, "stop_losses", (double)a->stop_losses);
        cJSON_AddItemToObject(o, "reason", a->last.valid ? cJSON_CreateString(isched__safety_reason_name(a->last.safety.reason))
                                                         : cJSON_CreateNull());
        cJSON_AddStringToObject(o, "fallback", arm_name(a->last.valid ? a->last.safety.fallback : a->baseline));
        arms = cJSON_AddArrayToObject(o, "arms");
        for (unsigned i = 0; i < ISCHED_ARR_COUNT; i++) {
                const struct isched__safety_arm_estimate *e = &a->last.safety.arms[i];
                cJSON *arm = cJSON_CreateObject();

                cJSON_AddStringToObject(arm, "arm", arm_name(i));
                cJSON_AddBoolToObject(arm, "enabled", (a->pp.arm_mask >> i) & 1);
                cJSON_AddItemToObject(arm, "score", num_or_null(a->last.valid ? e->mean : NAN));
                cJSON_AddItemToObject(arm, "sd", num_or_null(a->last.valid ? e->sd : NAN));
                cJSON_AddNumberToObject(arm, "windows", a->last.valid ? e->weight : 0.0);
                cJSON_AddBoolToObject(arm, "known_worse", a->last.valid && e->eliminated);
                cJSON_AddItemToObject(arm, "model_error", num_or_null(ss.model_error[i]));
                cJSON_AddItemToArray(arms, arm);
        }
        return o;
}

static cJSON *stats_json(const struct isched_agent *a)
{
        cJSON *s = cJSON_CreateObject();

        cJSON_AddNumberToObject(s, "epochs", (double)a->epochs);
        cJSON_AddNumberToObject(s, "decisions", (double)a->decisions);
        cJSON_AddNumberToObject(s, "updates", (double)a->updates);
        cJSON_AddNumberToObject(s, "switches", (double)a->switches);
        cJSON_AddNumberToObject(s, "skipped_windows", (double)a->skipped);
        cJSON_AddItemToObject(s, "last_reward", num_or_null(a->last_reward));
        cJSON_AddItemToObject(s, "mean_reward", num_or_null(a->updates ? a->reward_sum / (double)a->updates : NAN));
        return s;
}

static cJSON *doc_header(const char *source)
{
        cJSON *doc = cJSON_CreateObject();

        cJSON_AddStringToObject(doc, "schema", EXPLAIN_SCHEMA);
        cJSON_AddStringToObject(doc, "source", source);
        cJSON_AddStringToObject(doc, "version", isched_version());
        cJSON_AddNumberToObject(doc, "wall_time_s", agent__wall_time_s());
        return doc;
}

/* Observation mode xen+guests: what the backend knows of each domain's
 * published work (docs/guest-work.md); NULL in the other modes. */
static cJSON *guests_json(const struct isched_agent *a)
{
        struct isched_guest_info *g = NULL;
        cJSON *arr;
        size_t n = 0;

        if (isched_backend_list_guests(a->backend, a->pool_id, &g, &n) < 0)
                return NULL;
        arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < n; i++) {
                cJSON *o = cJSON_CreateObject();

                cJSON_AddNumberToObject(o, "domid", g[i].domid);
                cJSON_AddStringToObject(o, "name", g[i].name);
                cJSON_AddStringToObject(o, "state", g[i].state);
                cJSON_AddStringToObject(o, "fault", g[i].fault);
                cJSON_AddNumberToObject(o, "faults", (double)g[i].faults);
                cJSON_AddNumberToObject(o, "weight", g[i].weight);
                cJSON_AddItemToObject(o, "rate_per_s", num_or_null(g[i].rate_per_s));
                cJSON_AddItemToObject(o, "share", num_or_null(g[i].share));
                cJSON_AddStringToObject(o, "reason", g[i].reason);
                cJSON_AddItemToArray(arr, o);
        }
        free(g);
        return arr;
}

cJSON *agent__state_doc(const struct isched_agent *a)
{
        cJSON *doc = doc_header("agent");
        struct isched_policy_params pp;

        cJSON_AddStringToObject(doc, "pool", a->pool);
        cJSON_AddNumberToObject(doc, "pid", (double)getpid());
        cJSON_AddStringToObject(doc, "backend", isched_backend_get_name(a->backend));
        cJSON_AddStringToObject(doc, "mode", isched_agent_mode_to_string(a->mode));
        cJSON_AddStringToObject(doc, "arrangement", isched_arrangement_to_string(a->current));
        cJSON_AddStringToObject(doc, "takeover_arrangement", isched_arrangement_to_string(a->takeover));
        cJSON_AddItemToObject(doc, "stop_reason", str_or_null(a->mode == ISCHED_AGENT_STOPPED ? a->stop_reason : NULL));
        cJSON_AddItemToObject(doc, "lock_file", str_or_null(a->lock_path));
        cJSON_AddNumberToObject(doc, "time_s", ns_to_s(a->now_ns));
        cJSON_AddItemToObject(doc, "model", model_json(a->policy, a->context));
        {
                cJSON *guests = guests_json(a);

                if (guests)
                        cJSON_AddItemToObject(doc, "guests", guests);
        }
        if (a->last.valid && isched_policy_get_params(a->policy, &pp) == 0) {
                cJSON *ctx = context_json(&pp, a->last.x, a->last.raw, a->last.score);

                if (ctx && a->last.throughput_source)
                        cJSON_AddItemToObject(ctx, "window_throughput", throughput_json(&a->last));
                cJSON_AddItemToObject(doc, "context", ctx);
                cJSON_AddItemToObject(doc, "decision", decision_json(&a->last));
        } else {
                cJSON_AddNullToObject(doc, "context");
                cJSON_AddNullToObject(doc, "decision");
        }
        cJSON_AddItemToObject(doc, "safety", safety_json(a));
        cJSON_AddItemToObject(doc, "guards", guards_json(a));
        cJSON_AddItemToObject(doc, "stats", stats_json(a));
        return doc;
}

ISCHED_EXPORT int isched_agent_state_json(const struct isched_agent *agent, char **ret_json)
{
        cJSON *doc;
        char *s;

        if (!agent || !ret_json)
                return isched__error(-EINVAL, "isched_agent_state_json: NULL argument");
        doc = agent__state_doc(agent);
        s = doc ? cJSON_Print(doc) : NULL;
        cJSON_Delete(doc);
        if (!s)
                return isched__error(-ENOMEM, "out of memory");
        *ret_json = s;
        return 0;
}

void agent__write_state(struct isched_agent *a)
{
        char *s = NULL;
        size_t len;
        int r;

        if (!a->state_path)
                return;
        r = isched_agent_state_json(a, &s);
        if (r == 0) {
                len = strlen(s);
                s[len] = '\n'; /* cJSON's terminator becomes the final newline */
                r = isched__write_file_atomic(a->state_path, s, len + 1, 0600);
        }
        agent__output_result(a, &a->state_failing, "state file", r);
        free(s);
}

/* An agent that follows one which did not stop cleanly (its state file
 * is not "stopped": killed, crashed, the host rebooted) keeps that one's
 * takeover arrangement: the pool's own arrangement is the baseline, not
 * whatever the dead agent had switched to. */
void agent__inherit_takeover(struct isched_agent *a)
{
        const cJSON *mode, *arr, *pid;
        enum isched_arrangement prev;
        char *text = NULL;
        cJSON *doc;

        if (!a->state_path || isched__read_file(a->state_path, 1 << 20, &text, NULL) < 0)
                return;
        doc = cJSON_Parse(text);
        free(text);
        mode = cJSON_GetObjectItemCaseSensitive(doc, "mode");
        arr = cJSON_GetObjectItemCaseSensitive(doc, "takeover_arrangement");
        pid = cJSON_GetObjectItemCaseSensitive(doc, "pid");
        if (cJSON_IsString(mode) && strcmp(mode->valuestring, "stopped") != 0 && cJSON_IsString(arr) &&
            isched_arrangement_from_string(arr->valuestring, &prev) == 0 && prev != a->takeover) {
                isched__log(ISCHED_LOG_WARNING,
                            "pool %s: the previous agent (pid %.0f) did not stop cleanly and left %s; its takeover "
                            "arrangement %s stays the baseline and is restored at exit",
                            a->pool, cJSON_IsNumber(pid) ? pid->valuedouble : 0.0,
                            isched_arrangement_to_string(a->takeover), arr->valuestring);
                a->takeover = prev;
        }
        isched__clear_error();
        cJSON_Delete(doc);
}

static cJSON *double_array(const double *v, size_t n)
{
        cJSON *arr = cJSON_CreateArray();

        for (size_t i = 0; arr && i < n; i++)
                cJSON_AddItemToArray(arr, num_or_null(v[i]));
        return arr;
}

/* One line of the decision log, written when the decision's reward is
 * known (or will never be: reward null and a note). */
void agent__log_record(struct isched_agent *a, const struct agent_record *rec, const double *reward,
                       const char *note)
{
        struct isched_policy_params pp;
        cJSON *o, *names;
        char *line, buf[16];
        size_t len;

        if (!a->log_path || isched_policy_get_params(a->policy, &pp) < 0)
                return;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "schema", DECISION_SCHEMA);
        cJSON_AddNumberToObject(o, "wall_time_s", agent__wall_time_s());
        cJSON_AddNumberToObject(o, "time_s", ns_to_s(rec->time_ns));
        cJSON_AddStringToObject(o, "pool", a->pool);
        cJSON_AddNumberToObject(o, "epoch", (double)rec->epoch);
        cJSON_AddStringToObject(o, "policy", isched_policy_kind_to_string(pp.kind));
        cJSON_AddStringToObject(o, "mode", isched_agent_mode_to_string(rec->mode));
        names = cJSON_AddArrayToObject(o, "features");
        for (unsigned i = 0; i < ISCHED_F_COUNT; i++)
                cJSON_AddItemToArray(names, cJSON_CreateString(feature_name(&pp, i, buf, sizeof(buf))));
        cJSON_AddItemToObject(o, "raw", double_array(rec->raw, ISCHED_F_COUNT));
        cJSON_AddItemToObject(o, "x", double_array(rec->x, ISCHED_F_COUNT));
        cJSON_AddStringToObject(o, "arm", isched_arrangement_to_string(rec->arm));
        cJSON_AddNumberToObject(o, "propensity", rec->propensity);
        cJSON_AddItemToObject(o, "arms_enabled", arms_enabled_json(pp.arm_mask));
        cJSON_AddItemToObject(o, "reward", reward ? num_or_null(*reward) : cJSON_CreateNull());
        cJSON_AddItemToObject(o, "score", num_or_null(rec->score));
        /* What off-policy evaluation of the score needs: the reward
         * window's own score, and apart from it what the agent subtracted. */
        cJSON_AddItemToObject(o, "window_score", num_or_null(rec->window_score));
        cJSON_AddItemToObject(o, "settle_score", num_or_null(rec->settle_score));
        cJSON_AddItemToObject(o, "baseline", num_or_null(rec->baseline));
        cJSON_AddStringToObject(o, "baseline_arm", arm_name(a->baseline));
        cJSON_AddItemToObject(o, "switch_cost", num_or_null(rec->switch_cost));
        cJSON_AddStringToObject(o, "observation", isched_observation_to_string(a->observation));
        cJSON_AddNumberToObject(o, "segment", (double)rec->segment);
        cJSON_AddStringToObject(o, "safety_reason", isched__safety_reason_name(rec->safety.reason));
        cJSON_AddItemToObject(o, "gain", num_or_null(rec->safety.gain));
        cJSON_AddItemToObject(o, "gain_sd", num_or_null(rec->safety.gain_sd));
        cJSON_AddBoolToObject(o, "stopped", rec->stopped);
        /* The candidate of isched eval learns it when the agent did. */
        cJSON_AddItemToObject(o, "learned_epoch",
                              rec->learned_epoch ? cJSON_CreateNumber((double)rec->learned_epoch) : cJSON_CreateNull());
        cJSON_AddStringToObject(o, "reason", isched_agent_reason_to_string(rec->reason));
        cJSON_AddStringToObject(o, "policy_arm", arm_name(rec->decision.arm));
        cJSON_AddStringToObject(o, "policy_reason", policy_reason_name(&rec->decision));
        cJSON_AddNumberToObject(o, "policy_propensity", rec->decision.propensity);
        cJSON_AddBoolToObject(o, "switched", rec->switched);
        if (note)
                cJSON_AddStringToObject(o, "note", note);
        line = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!line)
                return;
        len = strlen(line);
        line[len] = '\n';
        agent__output_result(a, &a->log_failing, "decision log", agent__write_log_line(a, line, len + 1));
        free(line);
}

ISCHED_EXPORT int isched_agent_explain_model(const char *model_path, char **ret_json)
{
        struct isched_policy *policy = NULL, *probe = NULL;
        struct isched_context *context = NULL;
        struct isched_policy_params pp;
        struct isched_decision dec;
        double x[ISCHED_MAX_FEATURES] = { 0 };
        cJSON *doc = NULL, *d;
        char *s = NULL;
        int r;

        if (!model_path || !ret_json)
                return isched__error(-EINVAL, "isched_agent_explain_model: model_path and ret_json are required");
        r = isched_model_load(model_path, &policy, &context);
        if (r < 0)
                return r;
        r = isched_policy_get_params(policy, &pp);
        if (r < 0)
                goto out;
        /* Normalised features are standardised: the mean context is the
         * bias alone.  A clone decides, so the model is left as it was. */
        x[0] = 1.0;
        r = isched_policy_clone(policy, &probe);
        if (r == 0)
                r = isched_policy_choose(probe, x, pp.n_features, &dec, NULL);
        if (r < 0)
                goto out;
        doc = doc_header("model");
        cJSON_AddStringToObject(doc, "model_file", model_path);
        cJSON_AddNullToObject(doc, "pool");
        cJSON_AddNullToObject(doc, "pid");
        cJSON_AddNullToObject(doc, "backend");
        cJSON_AddStringToObject(doc, "mode", "model");
        cJSON_AddNullToObject(doc, "arrangement");
        cJSON_AddNullToObject(doc, "takeover_arrangement");
        cJSON_AddNullToObject(doc, "stop_reason");
        cJSON_AddNullToObject(doc, "lock_file");
        cJSON_AddNullToObject(doc, "time_s");
        cJSON_AddItemToObject(doc, "model", model_json(policy, context));
        cJSON_AddItemToObject(doc, "context", context_json(&pp, x, NULL, NAN));
        d = cJSON_AddObjectToObject(doc, "decision");
        cJSON_AddNullToObject(d, "epoch");
        cJSON_AddNullToObject(d, "time_s");
        cJSON_AddNullToObject(d, "wall_time_s");
        cJSON_AddNullToObject(d, "arrangement_before");
        cJSON_AddStringToObject(d, "policy_arm", arm_name(dec.arm));
        cJSON_AddStringToObject(d, "policy_reason", policy_reason_name(&dec));
        cJSON_AddNumberToObject(d, "policy_propensity", dec.propensity);
        cJSON_AddStringToObject(d, "greedy_arm", arm_name(dec.greedy_arm));
        cJSON_AddStringToObject(d, "chosen_arm", arm_name(dec.arm));
        cJSON_AddStringToObject(d, "reason", policy_reason_name(&dec));
        cJSON_AddStringToObject(d, "reason_class", "policy");
        cJSON_AddNumberToObject(d, "propensity", dec.propensity);
        cJSON_AddBoolToObject(d, "switched", false);
        cJSON_AddNullToObject(d, "safety_reason");
        cJSON_AddItemToObject(d, "arms", agent__arms_json(&dec));
        cJSON_AddNullToObject(doc, "safety");
        cJSON_AddNullToObject(doc, "guards");
        cJSON_AddNullToObject(doc, "stats");
        s = cJSON_Print(doc);
        if (!s)
                r = isched__error(-ENOMEM, "out of memory");
        else
                *ret_json = s;
out:
        cJSON_Delete(doc);
        isched_policy_free(probe);
        isched_policy_free(policy);
        isched_context_free(context);
        return r;
}
