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
};

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
        return 0;
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

/* Learn from the window that followed the pending decision, and watch for
 * a switch that made things worse. */
static int reward_pending(struct isched_agent *a, const struct isched_window *w, double score)
{
        double reward;
        int r;

        r = isched_context_reward(a->context, w, a->pending.valid && a->pending.switched, &reward);
        if (r < 0)
                return r;
        /* Rollback watches the first windows after a switch: one that is
         * not significantly worse than before ends the watch. */
        if (a->watching) {
                if (score < a->lkg_score - a->cfg.rollback_margin) {
                        a->bad_windows++;
                } else {
                        a->watching = false;
                        a->bad_windows = 0;
                }
        }
        if (!a->pending.valid)
                return 0;
        r = isched_policy_update(a->policy, (uint32_t)a->pending.arm, a->pending.x, ISCHED_F_COUNT, reward);
        if (r < 0)
                return r;
        a->updates++;
        a->reward_sum += reward;
        a->last_reward = reward;
        agent__log_record(a, &a->pending, &reward, NULL);
        a->pending.valid = false;
        return 0;
}

static bool is_policy_reason(enum isched_agent_reason r)
{
        return r == ISCHED_AGENT_REASON_EXPLOIT || r == ISCHED_AGENT_REASON_EXPLORE;
}

/* The policy proposes; the guards dispose.  Returns the arrangement to be
 * in force and sets *reason. */
static enum isched_arrangement apply_guards(struct isched_agent *a, enum isched_arrangement wanted,
                                            enum isched_agent_reason *reason)
{
        if (a->mode == ISCHED_AGENT_HELD) {
                *reason = ISCHED_AGENT_REASON_OVERRIDE;
                return a->current;
        }
        if (a->mode != ISCHED_AGENT_ACTIVE) {
                *reason = ISCHED_AGENT_REASON_ADVISORY;
                return a->current;
        }
        if (a->watching && a->cfg.rollback_windows && a->bad_windows >= a->cfg.rollback_windows &&
            a->lkg != a->current) {
                *reason = ISCHED_AGENT_REASON_ROLLBACK;
                return a->lkg;
        }
        if (wanted == a->current)
                return wanted;
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
                isched__log(ISCHED_LOG_WARNING, "pool %s: rollback from %s to last-known-good %s after %u worse windows",
                            a->pool, isched_arrangement_to_string(from), isched_arrangement_to_string(target),
                            a->bad_windows);
                a->watching = false;
                a->bad_windows = 0;
        } else if (!a->watching || a->bad_windows == 0) {
                /* A switch away from an arrangement that was doing no worse
                 * than its predecessor makes it the one to come back to. */
                a->lkg = from;
                a->lkg_score = score;
                a->watching = a->cfg.rollback_windows > 0;
                a->bad_windows = 0;
        }
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

/* One decision epoch ends with snapshot c. */
static int end_epoch(struct isched_agent *a, const struct isched_counters *c)
{
        struct agent_record rec = { .valid = true };
        struct isched_window w;
        double score;
        int r;

        a->epochs++;
        r = isched_window_from_counters(&a->start, c, &w);
        if (r == 0)
                r = isched_context_score(&a->cparams, &w, &score);
        if (r == 0)
                r = reward_pending(a, &w, score);
        if (r == 0)
                r = isched_context_features(a->context, &w, rec.x, ISCHED_F_COUNT, rec.raw);
        if (is_window_error(r)) {
                skip_window(a, c, isched_last_error());
                return 0;
        }
        if (r < 0)
                return r;
        a->last_score = score;
        rec.throughput = w.throughput;
        rec.throughput_source = !w.throughput_is_work                 ? "cpu-time"
                                : (w.valid & ISCHED_CNT_GUEST_WORK) ? "guest-work"
                                                                    : "work";
        rec.work_domains = w.work_domains;

        r = isched_policy_choose(a->policy, rec.x, ISCHED_F_COUNT, &rec.decision, NULL);
        if (r < 0)
                return r;
        a->decisions++;
        rec.epoch = a->epochs;
        rec.time_ns = a->now_ns;
        rec.score = score;
        rec.before = a->current;
        rec.mode = a->mode;
        rec.reason = rec.decision.reason == ISCHED_CHOICE_EXPLORE ? ISCHED_AGENT_REASON_EXPLORE
                                                                  : ISCHED_AGENT_REASON_EXPLOIT;
        rec.arm = apply_guards(a, (enum isched_arrangement)rec.decision.arm, &rec.reason);
        if (rec.arm != a->current) {
                r = apply_switch(a, rec.arm, &rec.reason, score);
                if (r < 0)
                        return r;
                rec.switched = r > 0;
                if (!rec.switched)
                        rec.arm = a->current;
        }
        /* The propensity of what was done: the policy's own when its choice
         * stands, 1 when a guard decided (guards are deterministic). */
        rec.propensity = is_policy_reason(rec.reason) ? rec.decision.propensity : 1.0;
        a->pending = rec;
        a->last = rec;
        if (rec.switched) {
                a->settle_left = a->cfg.settle_intervals;
                a->have_start = a->settle_left == 0;
                a->start = *c;
                a->start.arrangement = a->current;
        } else {
                restart_window(a, c);
        }
        a->observed = 0;
        maybe_save_model(a);
        agent__write_state(a);
        return 1;
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
                        restart_window(agent, &c);
                return 0;
        }
        if (!agent->have_start) {
                restart_window(agent, &c);
                return 0;
        }
        if (++agent->observed < agent->cfg.epoch_intervals)
                return 0;
        return end_epoch(agent, &c);
}

ISCHED_EXPORT int isched_agent_get_status(const struct isched_agent *agent, struct isched_agent_status *ret_status)
{
        if (!agent || !ret_status)
                return isched__error(-EINVAL, "isched_agent_get_status: NULL argument");
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
                .takeover_arrangement = agent->takeover,
                .output_errors = agent->output_errors,
        };
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
