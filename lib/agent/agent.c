/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-pool agent loop and its safety guards (docs/agent.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-private.h"
#include "intellisched/model.h"
#include "util/util.h"

#define NS_PER_S 1000000000ull
#define HOUR_NS (3600ull * NS_PER_S)

static void record_snapshot(struct isched_agent *a, const struct isched_counters *c);

static const char *const reason_names[ISCHED_AGENT_REASON_COUNT] = {
        [ISCHED_AGENT_REASON_NONE] = "none",         [ISCHED_AGENT_REASON_EXPLOIT] = "exploit",
        [ISCHED_AGENT_REASON_EXPLORE] = "explore",   [ISCHED_AGENT_REASON_DWELL] = "dwell",
        [ISCHED_AGENT_REASON_BUDGET] = "budget",     [ISCHED_AGENT_REASON_ROLLBACK] = "rollback",
        [ISCHED_AGENT_REASON_OVERRIDE] = "override", [ISCHED_AGENT_REASON_ADVISORY] = "advisory",
        [ISCHED_AGENT_REASON_GAIN] = "gain",         [ISCHED_AGENT_REASON_SAFE_EXPLORE] = "safe-explore",
        [ISCHED_AGENT_REASON_VISIT] = "visit",       [ISCHED_AGENT_REASON_HYSTERESIS] = "hysteresis",
        [ISCHED_AGENT_REASON_KNOWN_WORSE] = "known-worse", [ISCHED_AGENT_REASON_RISK] = "risk",
        [ISCHED_AGENT_REASON_WAIT] = "wait",
};

const char *agent__reason_class(enum isched_agent_reason r)
{
        switch (r) {
        case ISCHED_AGENT_REASON_EXPLOIT:
        case ISCHED_AGENT_REASON_EXPLORE:
                return "policy";
        case ISCHED_AGENT_REASON_GAIN:
        case ISCHED_AGENT_REASON_SAFE_EXPLORE:
        case ISCHED_AGENT_REASON_VISIT:
        case ISCHED_AGENT_REASON_HYSTERESIS:
        case ISCHED_AGENT_REASON_KNOWN_WORSE:
        case ISCHED_AGENT_REASON_RISK:
        case ISCHED_AGENT_REASON_WAIT:
        case ISCHED_AGENT_REASON_ROLLBACK:
                return "safety";
        default:
                return "guard";
        }
}

static const char *const mode_names[ISCHED_AGENT_MODE_COUNT] = {
        [ISCHED_AGENT_ACTIVE] = "active",     [ISCHED_AGENT_DRY_RUN] = "dry-run",
        [ISCHED_AGENT_ADVISORY] = "advisory", [ISCHED_AGENT_HELD] = "held",
        [ISCHED_AGENT_STOPPED] = "stopped",
};

ISCHED_EXPORT const char *isched_agent_reason_to_string(enum isched_agent_reason reason)
{
        return (unsigned)reason < ISCHED_AGENT_REASON_COUNT ? reason_names[reason] : NULL;
}

ISCHED_EXPORT const char *isched_agent_mode_to_string(enum isched_agent_mode mode)
{
        return (unsigned)mode < ISCHED_AGENT_MODE_COUNT ? mode_names[mode] : NULL;
}

ISCHED_EXPORT int isched_agent_config_init(struct isched_agent_config *config)
{
        if (!config)
                return isched__error(-EINVAL, "isched_agent_config_init: NULL config");
        *config = (struct isched_agent_config){
                .size = sizeof(*config),
                .interval_ns = NS_PER_S,
                .epoch_intervals = 5,
                .settle_intervals = 1,
                .min_dwell_ns = 10 * NS_PER_S,
                .max_switches_per_hour = 60,
                .rollback_windows = 3,
                .rollback_margin = 0.1,
                .model_save_epochs = 10,
                .budget = 0.01,
                .baseline = ISCHED_ARR_COUNT,
                .log_max_bytes = 64ULL << 20,
        };
        return 0;
}

static int check_config(const struct isched_agent_config *c)
{
        if (c->size < sizeof(*c))
                return isched__error(-EINVAL, "agent config size %zu is smaller than this library's %zu", c->size,
                                     sizeof(*c));
        if (!c->pool || !*c->pool || strlen(c->pool) >= ISCHED_NAME_MAX)
                return isched__error(-EINVAL, "agent config: a pool name (1 to %d characters) is required",
                                     ISCHED_NAME_MAX - 1);
        if (c->interval_ns == 0)
                return isched__error(-EINVAL, "agent config: interval must be positive");
        if (c->epoch_intervals == 0 || c->epoch_intervals > 100000)
                return isched__error(-EINVAL, "agent config: epoch_intervals %u out of range 1..100000",
                                     c->epoch_intervals);
        if (c->settle_intervals > 100000)
                return isched__error(-EINVAL, "agent config: settle_intervals %u out of range 0..100000",
                                     c->settle_intervals);
        if (c->max_switches_per_hour > 3600)
                return isched__error(-EINVAL, "agent config: max_switches_per_hour %u out of range 0..3600",
                                     c->max_switches_per_hour);
        if (!isched__finite(c->rollback_margin) || c->rollback_margin < 0)
                return isched__error(-EINVAL, "agent config: rollback_margin must be finite and >= 0");
        if (!isched__finite(c->budget) || c->budget < 0 || c->budget > 1)
                return isched__error(-EINVAL, "agent config: budget %g out of range 0..1 (score per window)", c->budget);
        if ((unsigned)c->baseline > ISCHED_ARR_COUNT)
                return isched__error(-EINVAL, "agent config: baseline %d is not an arrangement", (int)c->baseline);
        return 0;
}

static char *dup_or_null(const char *s, bool *oom)
{
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *oom = true;
        return d;
}

/* Arrangements that give as many runqueues as a lower one group the pCPUs
 * the same way on this pool (they are nested), so trying both is waste. */
static uint32_t distinct_arm_mask(const struct isched_pool_info *pool)
{
        uint32_t mask = 0;

        for (unsigned i = 0; i < ISCHED_ARR_COUNT; i++)
                if (pool->nr_runqueues[i] == 0)
                        return ISCHED_ARM_MASK_ALL;
        for (unsigned i = 0; i < ISCHED_ARR_COUNT; i++) {
                bool dup = false;

                for (unsigned j = 0; j < i; j++)
                        dup = dup || pool->nr_runqueues[j] == pool->nr_runqueues[i];
                if (!dup)
                        mask |= 1u << i;
        }
        return mask;
}

static void enter_advisory(struct isched_agent *a, const char *why)
{
        a->mode = ISCHED_AGENT_ADVISORY;
        snprintf(a->advisory_reason, sizeof(a->advisory_reason), "%s", why && *why ? why : "the pool cannot be switched");
        isched__log(ISCHED_LOG_WARNING, "pool %s: advisory mode, decisions are logged but not applied: %s", a->pool,
                    a->advisory_reason);
}

static void enter_hold(struct isched_agent *a, const char *why)
{
        a->mode = ISCHED_AGENT_HELD;
        snprintf(a->hold_reason, sizeof(a->hold_reason), "%s", why);
        agent__write_hold_file(a);
        isched__log(ISCHED_LOG_WARNING, "pool %s: %s; not switching until resumed%s%s%s", a->pool, why,
                    a->hold_path ? " (remove " : "", a->hold_path ? a->hold_path : "", a->hold_path ? ")" : "");
}

static int setup_policy(struct isched_agent *a, const struct isched_policy *policy,
                        const struct isched_context *context, const struct isched_pool_info *pool)
{
        struct isched_policy_params pp;
        uint32_t mask;
        int r;

        r = isched_policy_get_params(policy, &pp);
        if (r < 0)
                return r;
        if (pp.n_features != ISCHED_F_COUNT)
                return isched__error(-EINVAL, "the policy has %u features, the agent's context has %u (%s)",
                                     pp.n_features, (unsigned)ISCHED_F_COUNT, ISCHED_FEATURE_SCHEMA);
        r = isched_policy_clone(policy, &a->policy);
        if (r < 0)
                return r;
        r = isched_context_clone(context, &a->context);
        if (r < 0)
                return r;
        r = isched_context_get_params(a->context, &a->cparams);
        if (r < 0)
                return r;
        mask = distinct_arm_mask(pool) & pp.arm_mask;
        if (mask && mask != pp.arm_mask) {
                r = isched_policy_set_arm_mask(a->policy, mask);
                if (r < 0)
                        return r;
        }
        memcpy(a->nr_runqueues, pool->nr_runqueues, sizeof(a->nr_runqueues));
        return isched_policy_get_params(a->policy, &a->pp);
}

/* The lowest arm that groups the pool's pCPUs as `arm` does (the one the
 * policy's mask keeps of a group of identical arrangements). */
static enum isched_arrangement canonical_arm(const struct isched_agent *a, enum isched_arrangement arm)
{
        if ((unsigned)arm >= ISCHED_ARR_COUNT || a->nr_runqueues[arm] == 0)
                return arm;
        for (unsigned i = 0; i < (unsigned)arm; i++)
                if (a->nr_runqueues[i] == a->nr_runqueues[arm] && (a->pp.arm_mask & (1u << i)))
                        return (enum isched_arrangement)i;
        return arm;
}

/* The safety layer judges against the baseline: the arrangement found at
 * takeover unless the configuration names one.  Its calibration comes
 * from the model the agent starts with. */
static int setup_safety(struct isched_agent *a)
{
        struct isched__safety_params sp;
        struct isched__safety_calibration sc;
        struct isched_calibration cal;
        int r;

        a->baseline = canonical_arm(a, a->cfg.baseline < ISCHED_ARR_COUNT ? a->cfg.baseline : a->takeover);
        if (!(a->pp.arm_mask & (1u << a->baseline)))
                return isched__error(-EINVAL, "pool %s: the baseline arrangement %s is not among the arms the policy may choose",
                                     a->pool, isched_arrangement_to_string(a->baseline));
        isched__safety_params_init(&sp);
        sp.budget = a->cfg.budget;
        sp.switch_cost = a->cparams.switch_penalty;
        /* The stop-loss acts at the first snapshot after the settle; with
         * settle_stop at the end of the settle, on its transient (without a
         * settle, at the first snapshot of the window after the switch,
         * which is then the transient). */
        if (sp.settle_stop)
                sp.exposure_windows = (double)(a->cfg.settle_intervals ? a->cfg.settle_intervals : 1) /
                                      (double)a->cfg.epoch_intervals;
        else
                sp.exposure_windows = (double)(a->cfg.settle_intervals + 1) / (double)a->cfg.epoch_intervals;
        sp.snapshot_windows = 1.0 / (double)a->cfg.epoch_intervals;
        r = isched__safety_new(&sp, a->pp.arm_mask, a->baseline, &a->safety);
        if (r < 0)
                return r;
        r = isched_context_get_calibration(a->context, &cal);
        if (r < 0)
                return r;
        sc = (struct isched__safety_calibration){
                .noise_sd = cal.noise_sd, .noise_weight = cal.noise_weight,
                .switch_cost = cal.switch_cost, .switch_cost_weight = cal.switch_cost_weight,
        };
        memcpy(sc.model_error, cal.model_error, sizeof(sc.model_error));
        memcpy(sc.model_error_weight, cal.model_error_weight, sizeof(sc.model_error_weight));
        isched__safety_set_calibration(a->safety, &sc);
        return 0;
}

/* A model learned from another kind of throughput is refused (context.h). */
static int check_observation(struct isched_agent *a)
{
        const enum isched_observation had = isched_context_get_observation(a->context);
        int r;

        a->observation = isched_counters_observation(isched_backend_get_name(a->backend), &a->start);
        r = isched_context_set_observation(a->context, a->observation);
        if (r == -EDOM)
                return isched__error(-EINVAL,
                                     "pool %s: the model (or prior) was learned in observation mode %s, but this pool "
                                     "is observed in mode %s (%s): their scores are not comparable; use a model "
                                     "learned in mode %s, or start without one",
                                     a->pool, isched_observation_to_string(had),
                                     isched_observation_to_string(a->observation),
                                     a->observation == ISCHED_OBS_GROUND_TRUTH ? "the simulator's work counter"
                                     : a->observation == ISCHED_OBS_XEN        ? "Xen's counters: guest CPU time"
                                                                               : "Xen's counters and guest-published work",
                                     isched_observation_to_string(a->observation));
        return r;
}

ISCHED_EXPORT int isched_agent_new(const struct isched_agent_config *config, struct isched_backend *backend,
                                   const struct isched_policy *policy, const struct isched_context *context,
                                   struct isched_agent **ret_agent)
{
        struct isched_pool_info pool;
        struct isched_agent *a;
        bool oom = false;
        int r;

        if (!config || !backend || !policy || !context || !ret_agent)
                return isched__error(-EINVAL, "isched_agent_new: config, backend, policy, context and ret_agent are required");
        r = check_config(config);
        if (r < 0)
                return r;
        a = calloc(1, sizeof(*a));
        if (!a)
                return isched__error(-ENOMEM, "out of memory");
        a->refcount = 1;
        a->lock_fd = a->log_fd = -1;
        a->cfg = *config;
        a->pool = dup_or_null(config->pool, &oom);
        a->state_dir = dup_or_null(config->state_dir, &oom);
        a->log_path = dup_or_null(config->log_path, &oom);
        a->model_path = dup_or_null(config->model_path, &oom);
        a->lock_dir = dup_or_null(config->lock_dir, &oom);
        a->cfg.pool = a->pool;
        a->cfg.state_dir = a->state_dir;
        a->cfg.log_path = a->log_path;
        a->cfg.model_path = a->model_path;
        a->cfg.lock_dir = a->lock_dir;
        if (config->max_switches_per_hour)
                a->switch_times = calloc(config->max_switches_per_hour, sizeof(*a->switch_times));
        if (oom || (config->max_switches_per_hour && !a->switch_times)) {
                r = isched__error(-ENOMEM, "out of memory");
                goto fail;
        }
        a->backend = isched_backend_ref(backend);
        a->last_reward = a->last_score = NAN;

        r = isched_backend_find_pool(backend, a->pool, &pool);
        if (r < 0)
                goto fail;
        a->pool_id = pool.id;
        a->current = pool.arrangement;
        r = setup_policy(a, policy, context, &pool);
        if (r < 0)
                goto fail;
        r = agent__paths(a);
        if (r < 0)
                goto fail;
        r = agent__lock(a);
        if (r < 0)
                goto fail;
        /* Holding the pool's lock: what a killed predecessor left half
         * written is garbage (docs/reliability.md). */
        if (a->state_path)
                isched__remove_stale_temps(a->state_path);
        if (a->model_path)
                isched__remove_stale_temps(a->model_path);
        r = agent__open_log(a);
        if (r < 0)
                goto fail;

        r = isched_backend_read_counters(backend, a->pool_id, &a->start);
        if (r < 0)
                goto fail;
        a->have_start = true;
        record_snapshot(a, &a->start);
        a->now_ns = a->start.timestamp_ns;
        a->current = a->takeover = a->start.arrangement;
        agent__inherit_takeover(a);
        r = check_observation(a);
        if (r < 0)
                goto fail;
        r = setup_safety(a);
        if (r < 0)
                goto fail;
        /* The arrangement found has been in force for an unknown time: the
         * dwell time counts from the agent's start, so that a restarted
         * agent does not switch at once. */
        a->last_switch_ns = a->now_ns;

        if (config->dry_run) {
                a->mode = ISCHED_AGENT_DRY_RUN;
                snprintf(a->advisory_reason, sizeof(a->advisory_reason), "dry run: decisions are logged, never applied");
        } else if (!pool.can_switch) {
                enter_advisory(a, pool.reason);
        } else if (agent__hold_file_exists(a)) {
                a->mode = ISCHED_AGENT_HELD;
                snprintf(a->hold_reason, sizeof(a->hold_reason),
                         "hold file %s exists (an earlier agent saw the arrangement changed by someone else)",
                         a->hold_path);
                isched__log(ISCHED_LOG_WARNING, "pool %s: %s; not switching until it is removed", a->pool,
                            a->hold_reason);
        }
        agent__write_state(a);
        *ret_agent = a;
        return 0;
fail:
        isched_agent_unref(a);
        return r;
}

ISCHED_EXPORT struct isched_agent *isched_agent_ref(struct isched_agent *agent)
{
        if (agent)
                agent->refcount++;
        return agent;
}

ISCHED_EXPORT struct isched_agent *isched_agent_unref(struct isched_agent *agent)
{
        if (!agent || --agent->refcount > 0)
                return NULL;
        if (agent->log_fd >= 0)
                close(agent->log_fd);
        agent__unlock(agent);
        isched_backend_unref(agent->backend);
        isched_policy_free(agent->policy);
        isched_context_free(agent->context);
        isched__safety_free(agent->safety);
        free(agent->switch_times);
        free(agent->pool);
        free(agent->state_dir);
        free(agent->log_path);
        free(agent->model_path);
        free(agent->lock_dir);
        free(agent->state_path);
        free(agent->lock_path);
        free(agent->hold_path);
        free(agent);
        return NULL;
}

/* A decision that will never get its reward is logged without one. */
void agent__drop_pending(struct isched_agent *a, const char *why)
{
        if (!a->pending.valid)
                return;
        a->unlearned++;
        agent__log_record(a, &a->pending, NULL, why);
        a->pending.valid = false;
}

static void restart_window(struct isched_agent *a, const struct isched_counters *c)
{
        a->start = *c;
        a->have_start = true;
        a->observed = 0;
        a->settle_left = 0;
}

static void stop_agent(struct isched_agent *a)
{
        a->mode = ISCHED_AGENT_STOPPED;
        snprintf(a->stop_reason, sizeof(a->stop_reason), "the pool vanished");
        /* What waited to be confirmed is given up, in decision order. */
        while (a->q_len) {
                a->unlearned++;
                agent__log_record(a, &a->queue[a->q_head], NULL, "pool vanished before the window was confirmed");
                a->q_head = (a->q_head + 1) % AGENT_QUEUE;
                a->q_len--;
        }
        agent__drop_pending(a, "pool vanished");
        isched__log(ISCHED_LOG_WARNING, "pool %s vanished: its agent stops", a->pool);
        agent__write_state(a);
}

static uint32_t switches_last_hour(const struct isched_agent *a)
{
        uint32_t n = 0;

        for (uint32_t i = 0; i < a->n_switch_times; i++)
                if (a->now_ns < HOUR_NS || a->switch_times[i] > a->now_ns - HOUR_NS)
                        n++;
        return n;
}

static void note_switch(struct isched_agent *a)
{
        a->last_switch_ns = a->now_ns;
        a->switches++;
        a->last_tick_switched = true;
        if (!a->cfg.max_switches_per_hour)
                return;
        a->switch_times[a->switch_ring_next] = a->now_ns;
        a->switch_ring_next = (a->switch_ring_next + 1) % a->cfg.max_switches_per_hour;
        if (a->n_switch_times < a->cfg.max_switches_per_hour)
                a->n_switch_times++;
}

static double epoch_ns(const struct isched_agent *a)
{
        return (double)a->cfg.interval_ns * (double)a->cfg.epoch_intervals;
}

/* ---- learning ------------------------------------------------------------ */

/* Learn, in order, the decisions whose reward windows the safety layer
 * has confirmed: the policy learns the window's score minus the baseline's
 * score measured in the same workload segment.  A window that is never to
 * be learned (a transient, one that straddles a change, one whose segment
 * never measured the baseline) is logged with the reason. */
static int learn_windows(struct isched_agent *a, bool final)
{
        while (a->q_len) {
                struct agent_record *rec = &a->queue[a->q_head];
                const char *why = NULL;
                double baseline, reward;
                int r = isched__safety_learnable(a->safety, rec->window_id, final, &baseline, &why);

                if (r == 0)
                        break;
                if (r > 0) {
                        reward = rec->window_score - baseline;
                        rec->baseline = baseline;
                        rec->learned_epoch = a->epochs;
                        r = isched_policy_update(a->policy, (uint32_t)canonical_arm(a, rec->arm), rec->x,
                                                 ISCHED_F_COUNT, reward);
                        if (r < 0)
                                return r;
                        a->updates++;
                        a->reward_sum += reward;
                        a->last_reward = reward;
                        agent__log_record(a, rec, &reward, NULL);
                } else {
                        a->unlearned++;
                        agent__log_record(a, rec, NULL, why);
                }
                a->q_head = (a->q_head + 1) % AGENT_QUEUE;
                a->q_len--;
        }
        return 0;
}

static int learn_confirmed(struct isched_agent *a)
{
        return learn_windows(a, false);
}

int agent__finish_learning(struct isched_agent *a)
{
        return learn_windows(a, true);
}

/* The pending decision's reward window has been observed. */
static void enqueue_pending(struct isched_agent *a, uint64_t window_id, double score)
{
        struct agent_record *slot;

        if (!a->pending.valid)
                return;
        if (a->q_len == AGENT_QUEUE) {
                a->unlearned++;
                agent__log_record(a, &a->queue[a->q_head], NULL,
                                  "waited too long for a baseline window in its workload segment");
                a->q_head = (a->q_head + 1) % AGENT_QUEUE;
                a->q_len--;
        }
        a->pending.window_id = window_id;
        a->pending.window_score = score;
        slot = &a->queue[(a->q_head + a->q_len) % AGENT_QUEUE];
        *slot = a->pending;
        a->q_len++;
        a->pending.valid = false;
}

/* Give a window to the safety layer; its id, or 0 if the layer refused it. */
static uint64_t observe_window(struct isched_agent *a, const struct isched_window *w, double score,
                               const double *raw, bool transient)
{
        struct isched__safety_window sw = {
                .arm = (uint32_t)canonical_arm(a, a->current),
                .score = score,
                .fraction = (double)w->duration_ns / epoch_ns(a),
                .transient = transient,
        };
        struct isched__safety_event ev;

        memcpy(sw.features, raw, sizeof(sw.features));
        if (isched__safety_observe(a->safety, &sw, &ev) < 0)
                return 0;
        if (ev.change)
                isched__log(ISCHED_LOG_INFO, "pool %s: workload change detected (%s%s%s), re-exploring within the budget",
                            a->pool, ev.change_feature < 0 ? "score" : "feature ",
                            ev.change_feature < 0 ? "" : isched_feature_name((unsigned)ev.change_feature),
                            ev.change_feature < 0 ? " shift" : " shift");
        return ev.id;
}

/* The rollback guard watches the first windows after a switch: one that
 * is not significantly worse than before ends the watch. */
static void watch_rollback(struct isched_agent *a, double score)
{
        if (!a->watching)
                return;
        if (score < a->lkg_score - a->cfg.rollback_margin) {
                a->bad_windows++;
        } else {
                a->watching = false;
                a->bad_windows = 0;
        }
}

/* ---- deciding ------------------------------------------------------------ */

/* How uncertain the policy's estimate of arm i is, per unit of noise:
 * sqrt(x' A^-1 x) for the linear kinds (their width without its
 * multiplier), 1/sqrt(pulls + 1) for the others. */
static double unit_width(const struct isched_agent *a, const struct isched_decision *d, unsigned i)
{
        const struct isched_arm_explanation *e = &d->arms[i];

        switch (a->pp.kind) {
        case ISCHED_POLICY_LINUCB:
        case ISCHED_POLICY_DLINUCB:
                if (a->pp.alpha > 0)
                        return e->width / a->pp.alpha;
                break;
        case ISCHED_POLICY_LINTS:
                return e->width / a->pp.ts_v;
        default:
                break;
        }
        return 1.0 / sqrt((double)e->pulls + 1.0);
}

/* The policy's view of every arm, as the safety layer's prior: the
 * predicted gain over the baseline, its standard error (the model's
 * measured error and the noise through the regression), the policy's
 * preference and its proposal. */
static void safety_prior(const struct isched_agent *a, const struct isched_decision *d,
                         struct isched__safety_prior *p)
{
        const unsigned b = (unsigned)a->baseline;
        struct isched__safety_status st;

        isched__safety_get_status(a->safety, &st);
        for (unsigned i = 0; i < ISCHED_ARR_COUNT; i++) {
                const double ui = unit_width(a, d, i), ub = unit_width(a, d, b);

                p->gain[i] = d->arms[i].estimate - d->arms[b].estimate;
                p->sd[i] = sqrt(st.model_error[i] * st.model_error[i] +
                                st.noise_sd * st.noise_sd * (ui * ui + ub * ub));
                p->rank[i] = d->arms[i].enabled ? d->arms[i].score : -INFINITY;
        }
        p->proposal = d->arm;
}

static enum isched_agent_reason agent_reason(const struct isched__safety_decision *sd,
                                             const struct isched_decision *d)
{
        const enum isched_agent_reason policy_reason =
                d->reason == ISCHED_CHOICE_EXPLORE ? ISCHED_AGENT_REASON_EXPLORE : ISCHED_AGENT_REASON_EXPLOIT;

        switch (sd->reason) {
        case SAFETY_ACCEPT:
                return sd->arm == d->arm ? policy_reason : ISCHED_AGENT_REASON_GAIN;
        case SAFETY_STAY:
                return sd->arm == d->arm ? policy_reason : ISCHED_AGENT_REASON_WAIT;
        case SAFETY_EXPLOIT:
                return ISCHED_AGENT_REASON_GAIN;
        case SAFETY_EXPLORE:
                return ISCHED_AGENT_REASON_SAFE_EXPLORE;
        case SAFETY_STINT:
                return sd->arm == d->arm ? policy_reason : ISCHED_AGENT_REASON_VISIT;
        case SAFETY_HYSTERESIS:
                return ISCHED_AGENT_REASON_HYSTERESIS;
        case SAFETY_ELIMINATED:
                return ISCHED_AGENT_REASON_KNOWN_WORSE;
        case SAFETY_BUDGET:
                return ISCHED_AGENT_REASON_RISK;
        default:
                return ISCHED_AGENT_REASON_ROLLBACK;
        }
}

static bool is_policy_reason(enum isched_agent_reason r)
{
        return r == ISCHED_AGENT_REASON_EXPLOIT || r == ISCHED_AGENT_REASON_EXPLORE;
}

/* The policy proposed, the safety layer disposed; now the guards.  Returns
 * the arrangement to be in force and updates *reason. */
static enum isched_arrangement apply_guards(struct isched_agent *a, enum isched_arrangement wanted,
                                            enum isched_arrangement fallback, enum isched_agent_reason *reason)
{
        if (a->mode == ISCHED_AGENT_HELD) {
                *reason = ISCHED_AGENT_REASON_OVERRIDE;
                return a->current;
        }
        if (a->mode != ISCHED_AGENT_ACTIVE) {
                *reason = ISCHED_AGENT_REASON_ADVISORY;
                return a->current;
        }
        /* The safety layer's rollback ignores the dwell time and the
         * switch budget, as the rollback guard does. */
        if (*reason == ISCHED_AGENT_REASON_ROLLBACK)
                return wanted;
        if (a->watching && a->cfg.rollback_windows && a->bad_windows >= a->cfg.rollback_windows &&
            fallback != canonical_arm(a, a->current)) {
                *reason = ISCHED_AGENT_REASON_ROLLBACK;
                return fallback;
        }
        if (wanted == canonical_arm(a, a->current))
                return a->current;
        if (a->now_ns - a->last_switch_ns < a->cfg.min_dwell_ns) {
                *reason = ISCHED_AGENT_REASON_DWELL;
                return a->current;
        }
        if (a->cfg.max_switches_per_hour && switches_last_hour(a) >= a->cfg.max_switches_per_hour) {
                *reason = ISCHED_AGENT_REASON_BUDGET;
                return a->current;
        }
        return wanted;
}

/* Apply a switch; on failure the agent stays where it is, and a pool that
 * turns out not to be switchable goes to advisory mode once. */
static int apply_switch(struct isched_agent *a, enum isched_arrangement target, enum isched_agent_reason *reason,
                        double score)
{
        const enum isched_arrangement from = a->current;
        int r;

        r = isched_backend_set_arrangement(a->backend, a->pool_id, target);
        if (r == -ENOENT)
                return r;
        /* Refusals that will not go away: not allowed, or a hypervisor
         * without the interface (ENOSYS: an unknown sysctl or hypfs op). */
        if (r == -EOPNOTSUPP || r == -ENOSYS || r == -EPERM || r == -EACCES) {
                enter_advisory(a, isched_last_error());
                *reason = ISCHED_AGENT_REASON_ADVISORY;
                return 0;
        }
        if (r < 0) {
                isched__log(ISCHED_LOG_WARNING, "pool %s: switching to %s failed, staying on %s: %s", a->pool,
                            isched_arrangement_to_string(target), isched_arrangement_to_string(from),
                            isched_last_error());
                *reason = ISCHED_AGENT_REASON_ADVISORY;
                return 0;
        }
        if (*reason == ISCHED_AGENT_REASON_ROLLBACK) {
                isched__log(ISCHED_LOG_WARNING, "pool %s: rollback from %s to %s (%s)", a->pool,
                            isched_arrangement_to_string(from), isched_arrangement_to_string(target),
                            target == a->baseline ? "the baseline" : "the best-known arrangement");
                a->watching = false;
                a->bad_windows = 0;
        } else if (!a->watching || a->bad_windows == 0) {
                a->lkg_score = score;
                a->watching = a->cfg.rollback_windows > 0;
                a->bad_windows = 0;
        }
        isched__safety_note_switch(a->safety, (uint32_t)canonical_arm(a, from), (uint32_t)canonical_arm(a, target));
        a->current = target;
        note_switch(a);
        return 1;
}

static void maybe_save_model(struct isched_agent *a)
{
        if (!a->model_path || !a->cfg.model_save_epochs || a->epochs % a->cfg.model_save_epochs)
                return;
        if (isched_model_save(a->model_path, a->policy, a->context) < 0)
                isched__log(ISCHED_LOG_WARNING, "pool %s: periodic model save failed: %s", a->pool,
                            isched_last_error());
}

/* What the safety layer learned about the model and the host goes into
 * the context builder, so that a saved model carries it. */
static void sync_calibration(struct isched_agent *a)
{
        struct isched__safety_calibration sc;
        struct isched_calibration cal;

        isched__safety_get_calibration(a->safety, &sc);
        isched_calibration_init(&cal);
        cal.noise_sd = sc.noise_sd;
        cal.noise_weight = sc.noise_weight;
        cal.switch_cost = sc.switch_cost;
        cal.switch_cost_weight = sc.switch_cost_weight;
        memcpy(cal.model_error, sc.model_error, sizeof(cal.model_error));
        memcpy(cal.model_error_weight, sc.model_error_weight, sizeof(cal.model_error_weight));
        (void)isched_context_set_calibration(a->context, &cal);
}

static bool is_window_error(int r)
{
        return r == -ERANGE || r == -EDOM || r == -ESTALE;
}

static void skip_window(struct isched_agent *a, const struct isched_counters *c, const char *why)
{
        a->skipped++;
        isched__log(ISCHED_LOG_INFO, "pool %s: window skipped, not learned: %s", a->pool, why);
        agent__drop_pending(a, why);
        restart_window(a, c);
        /* The snapshot that broke the window may itself be the lie (event
         * counters that went backwards once, which no time bound catches
         * in the window after it): the next window starts at the next
         * snapshot, not at this one. */
        a->have_start = false;
        agent__write_state(a);
}

/* A window's score and features; window errors are the caller's to skip. */
static int measure(struct isched_agent *a, const struct isched_counters *c, struct isched_window *w,
                   double *score, double *x, double *raw)
{
        int r;

        r = isched_window_from_counters(&a->start, c, w);
        if (r == 0)
                r = isched_context_score(&a->cparams, w, score);
        if (r == 0 && x)
                r = isched_context_features(a->context, w, x, ISCHED_F_COUNT, raw);
        return r;
}

/* Decide on context x (from the window that just ended at c). */
static int decide(struct isched_agent *a, const struct isched_counters *c, const struct isched_window *w,
                  const double *x, const double *raw, double score, bool stopped)
{
        struct agent_record rec = { .valid = true };
        struct isched__safety_prior prior;
        struct isched__safety_status st;
        int r;

        memcpy(rec.x, x, sizeof(rec.x));
        memcpy(rec.raw, raw, sizeof(rec.raw));
        rec.throughput = w->throughput;
        rec.throughput_source = !w->throughput_is_work                 ? "cpu-time"
                                : (w->valid & ISCHED_CNT_GUEST_WORK) ? "guest-work"
                                                                     : "work";
        rec.work_domains = w->work_domains;
        r = isched_policy_choose(a->policy, rec.x, ISCHED_F_COUNT, &rec.decision, NULL);
        if (r < 0)
                return r;
        safety_prior(a, &rec.decision, &prior);
        r = isched__safety_decide(a->safety, (uint32_t)canonical_arm(a, a->current), &prior, &rec.safety);
        if (r < 0)
                return r;
        if (a->cfg.no_safety) {
                rec.safety.arm = rec.decision.arm;
                rec.safety.reason = SAFETY_ACCEPT;
        }
        isched__safety_get_status(a->safety, &st);
        a->decisions++;
        rec.epoch = a->epochs;
        rec.time_ns = a->now_ns;
        rec.wall_time_s = agent__wall_time_s();
        rec.score = score;
        rec.before = a->current;
        rec.mode = a->mode;
        rec.switch_cost = st.switch_cost;
        rec.segment = st.segment;
        rec.window_score = rec.settle_score = rec.baseline = NAN;
        rec.stopped = stopped;
        rec.reason = agent_reason(&rec.safety, &rec.decision);
        rec.arm = apply_guards(a, (enum isched_arrangement)rec.safety.arm,
                               (enum isched_arrangement)rec.safety.fallback, &rec.reason);
        if (rec.arm != a->current) {
                r = apply_switch(a, rec.arm, &rec.reason, score);
                if (r < 0)
                        return r;
                rec.switched = r > 0;
                if (!rec.switched)
                        rec.arm = a->current;
        }
        /* The propensity of what was done: the policy's own when its choice
         * stands, 1 when the safety layer or a guard decided (both are
         * deterministic given the agent's state). */
        rec.propensity = is_policy_reason(rec.reason) ? rec.decision.propensity : 1.0;
        a->pending = rec;
        a->last = rec;
        if (rec.switched) {
                a->settle_left = a->cfg.settle_intervals;
                a->have_start = true;
                a->start = *c;
                a->start.arrangement = a->current;
        } else {
                restart_window(a, c);
        }
        a->observed = 0;
        sync_calibration(a);
        maybe_save_model(a);
        agent__write_state(a);
        return 1;
}

/* One decision epoch ends with snapshot c (early, if the stop-loss said so). */
static int end_epoch(struct isched_agent *a, const struct isched_counters *c, bool stopped)
{
        double x[ISCHED_F_COUNT], raw[ISCHED_F_COUNT], score;
        struct isched_window w;
        uint64_t id;
        int r;

        a->epochs++;
        r = measure(a, c, &w, &score, x, raw);
        if (is_window_error(r)) {
                skip_window(a, c, isched_last_error());
                return 0;
        }
        if (r < 0)
                return r;
        a->last_score = score;
        if (stopped)
                a->stop_losses++;
        watch_rollback(a, score);
        id = observe_window(a, &w, score, raw, false);
        if (a->pending.valid)
                a->pending.stopped = stopped;
        enqueue_pending(a, id, score);
        r = learn_confirmed(a);
        if (r < 0)
                return r;
        return decide(a, c, &w, x, raw, score, stopped);
}

/* The settle after a switch has ended at c: its window is the switch's
 * transient, observed as such.  If the exploration budget cannot even
 * afford the first interval after it, the agent decides again at once. */
static int end_settle(struct isched_agent *a, const struct isched_counters *c)
{
        double x[ISCHED_F_COUNT], raw[ISCHED_F_COUNT], score;
        struct isched_window w;
        uint64_t id;
        int r;

        r = measure(a, c, &w, &score, NULL, NULL);
        if (is_window_error(r)) {
                skip_window(a, c, isched_last_error());
                return 0;
        }
        if (r < 0)
                return r;
        /* The features of a transient are the workload's all the same. */
        r = isched_window_from_counters(&a->start, c, &w);
        if (r == 0)
                r = isched_context_features(a->context, &w, x, ISCHED_F_COUNT, raw);
        if (r < 0) {
                skip_window(a, c, isched_last_error());
                return 0;
        }
        id = observe_window(a, &w, score, raw, true);
        if (a->pending.valid)
                a->pending.settle_score = score;
        if (a->mode == ISCHED_AGENT_ACTIVE && !a->cfg.no_safety &&
            !isched__safety_may_continue(a->safety, (uint32_t)canonical_arm(a, a->current), NAN, 0.0,
                                         (double)a->cfg.interval_ns / epoch_ns(a))) {
                a->epochs++;
                a->stop_losses++;
                a->last_score = score;
                if (a->pending.valid)
                        a->pending.stopped = true;
                enqueue_pending(a, id, score);
                r = learn_confirmed(a);
                if (r < 0)
                        return r;
                return decide(a, c, &w, x, raw, score, true);
        }
        restart_window(a, c);
        return 0;
}

/* Stop-loss: a window away from the baseline ends early when one more
 * interval could overrun the exploration budget. */
static bool stop_loss(struct isched_agent *a, const struct isched_counters *c)
{
        struct isched_window w;
        double score;

        if (a->mode != ISCHED_AGENT_ACTIVE || a->cfg.no_safety || canonical_arm(a, a->current) == a->baseline)
                return false;
        if (isched_window_from_counters(&a->start, c, &w) < 0 || isched_context_score(&a->cparams, &w, &score) < 0)
                return false;
        return !isched__safety_may_continue(a->safety, (uint32_t)canonical_arm(a, a->current), score,
                                            (double)w.duration_ns / epoch_ns(a),
                                            (double)a->cfg.interval_ns / epoch_ns(a));
}

static void check_resume_by_file(struct isched_agent *a)
{
        if (a->mode == ISCHED_AGENT_HELD && a->hold_path && !agent__hold_file_exists(a)) {
                isched__log(ISCHED_LOG_WARNING, "pool %s: hold file removed, the agent switches again", a->pool);
                (void)isched_agent_resume(a);
        }
}

/* Record a snapshot in the trace, if one is set; a failure stops the
 * recording (said once), not the agent. */
static void record_snapshot(struct isched_agent *a, const struct isched_counters *c)
{
        int r;

        if (!a->cfg.trace || a->trace_failed)
                return;
        r = isched_trace_writer_append(a->cfg.trace, a->pool_id, c);
        if (r < 0) {
                a->trace_failed = true;
                isched__log(ISCHED_LOG_WARNING, "pool %s: recording the trace stopped: %s", a->pool,
                            isched_last_error());
        }
}

ISCHED_EXPORT int isched_agent_tick(struct isched_agent *agent)
{
        struct isched_counters c;
        int r;

        if (!agent)
                return isched__error(-EINVAL, "isched_agent_tick: NULL agent");
        if (agent->mode == ISCHED_AGENT_STOPPED)
                return isched__error(-ENOENT, "the agent of pool %s has stopped: %s", agent->pool, agent->stop_reason);
        agent->last_tick_switched = false;
        r = isched_backend_read_counters(agent->backend, agent->pool_id, &c);
        if (r == -ENOENT) {
                stop_agent(agent);
                return isched__error(-ENOENT, "pool %s vanished; its agent stopped", agent->pool);
        }
        if (r < 0)
                return r;
        record_snapshot(agent, &c);
        agent->now_ns = c.timestamp_ns;
        check_resume_by_file(agent);

        if (c.arrangement != agent->current) {
                char why[200];

                snprintf(why, sizeof(why), "the arrangement changed from %s to %s and the agent did not change it",
                         isched_arrangement_to_string(agent->current) ?: "?",
                         isched_arrangement_to_string(c.arrangement) ?: "?");
                isched__safety_note_switch(agent->safety, (uint32_t)canonical_arm(agent, agent->current),
                                           (uint32_t)canonical_arm(agent, c.arrangement));
                agent->current = c.arrangement;
                agent->watching = false;
                if (agent->mode == ISCHED_AGENT_ACTIVE)
                        enter_hold(agent, why);
                else
                        isched__log(ISCHED_LOG_INFO, "pool %s: %s", agent->pool, why);
                /* The window mixes two arrangements: skip it. */
                skip_window(agent, &c, why);
                return 0;
        }
        if (agent->settle_left > 0) {
                if (--agent->settle_left == 0)
                        return end_settle(agent, &c);
                return 0;
        }
        if (!agent->have_start) {
                restart_window(agent, &c);
                return 0;
        }
        if (++agent->observed < agent->cfg.epoch_intervals)
                return stop_loss(agent, &c) ? end_epoch(agent, &c, true) : 0;
        return end_epoch(agent, &c, false);
}

ISCHED_EXPORT int isched_agent_get_status(const struct isched_agent *agent, struct isched_agent_status *ret_status)
{
        struct isched__safety_status st;

        if (!agent || !ret_status)
                return isched__error(-EINVAL, "isched_agent_get_status: NULL argument");
        isched__safety_get_status(agent->safety, &st);
        *ret_status = (struct isched_agent_status){
                .mode = agent->mode,
                .arrangement = agent->current,
                .last_reason = agent->last.valid ? agent->last.reason : ISCHED_AGENT_REASON_NONE,
                .last_policy_arm = agent->last.valid ? (enum isched_arrangement)agent->last.decision.arm
                                                     : agent->current,
                .epochs = agent->epochs,
                .decisions = agent->decisions,
                .updates = agent->updates,
                .switches = agent->switches,
                .skipped_windows = agent->skipped,
                .time_ns = agent->now_ns,
                .last_reward = agent->last_reward,
                .mean_reward = agent->updates ? agent->reward_sum / (double)agent->updates : NAN,
                .last_score = agent->last_score,
                .last_tick_switched = agent->last_tick_switched,
                .baseline = agent->baseline,
                .gain = NAN,
                .gain_sd = NAN,
                .measured_gain = st.measured_gain,
                .measured_gain_sd = st.measured_gain_sd,
                .budget_spent = st.spent,
                .budget_allowance = st.allowance,
                .changes = st.changes,
                .stop_losses = agent->stop_losses,
                .unlearned = agent->unlearned,
                .waiting = agent->q_len + (agent->pending.valid ? 1u : 0u),
                .takeover_arrangement = agent->takeover,
                .output_errors = agent->output_errors,
        };
        if (agent->last.valid) {
                const unsigned cur = (unsigned)canonical_arm(agent, agent->current), b = (unsigned)agent->baseline;
                const struct isched__safety_arm_estimate *e = agent->last.safety.arms;

                ret_status->gain = cur == b ? 0.0 : e[cur].mean - e[b].mean;
                ret_status->gain_sd = cur == b ? 0.0 : sqrt(e[cur].sd * e[cur].sd + e[b].sd * e[b].sd);
        }
        return 0;
}

ISCHED_EXPORT int isched_agent_resume(struct isched_agent *agent)
{
        enum isched_arrangement now;
        int r;

        if (!agent)
                return isched__error(-EINVAL, "isched_agent_resume: NULL agent");
        if (agent->mode != ISCHED_AGENT_HELD)
                return isched__error(-EALREADY, "pool %s is not held", agent->pool);
        r = isched_backend_get_arrangement(agent->backend, agent->pool_id, &now);
        if (r < 0)
                return r;
        agent->current = now;
        agent->mode = ISCHED_AGENT_ACTIVE;
        agent->hold_reason[0] = '\0';
        agent->watching = false;
        agent->bad_windows = 0;
        /* The administrator's arrangement gets its dwell time too. */
        agent->last_switch_ns = agent->now_ns;
        agent__remove_hold_file(agent);
        agent__write_state(agent);
        return 0;
}

ISCHED_EXPORT int isched_agent_save_model(const struct isched_agent *agent, const char *path)
{
        if (!agent || !path)
                return isched__error(-EINVAL, "isched_agent_save_model: agent and path are required");
        return isched_model_save(path, agent->policy, agent->context);
}
