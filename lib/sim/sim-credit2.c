/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Credit2 as in Xen 4.17's xen/common/sched/credit2.c, single-threaded.
 *
 * Each function here carries the name of the Xen function it models and
 * keeps its structure, so that the two can be compared line by line.
 * What differs: cpumasks are per-runqueue 64-bit words, trylocks always
 * succeed (the simulator has one thread), there is no affinity (every vCPU
 * may run on every pCPU of its pool), and the context switch happens
 * inside csched2_schedule()'s caller at once, so CSFLAG_scheduled only
 * has to cover the unit picked by csched2_schedule() until it is
 * descheduled (balance_load() may pick it in between, as in Xen). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim-private.h"
#include "util/util.h"

#define STIME_MAX INT64_MAX

static inline struct sim_pcpu *PC(struct isched_sim *sim, uint32_t cpu)
{
        return &sim->pcpus[cpu];
}

static inline bool unit_runnable(const struct sim_unit *svc)
{
        return !svc->blocked && !svc->migrating && !svc->parked;
}

static inline bool has_cap(const struct sim_unit *svc)
{
        return svc->budget != STIME_MAX;
}

/* ---- cpumask helpers over a runqueue's sorted CPU list ---- */

/* cpumask_cycle(n, active): the next CPU of the runqueue after n, wrapping. */
static uint32_t rq_cycle(const struct sim_rq *rqd, uint32_t n)
{
        for (uint32_t i = 0; i < rqd->nr_cpus; i++)
                if (rqd->cpus[i] > n)
                        return rqd->cpus[i];
        return rqd->cpus[0];
}

static inline uint64_t BIT(const struct sim_pcpu *pc)
{
        return 1ull << pc->rq_idx;
}

/* smt_idle_mask_set(): if cpu and all its siblings (sibling_mask: the
 * SMT siblings in the same runqueue) are in idlers, set all their bits. */
static void smt_idle_mask_set(const struct sim_pcpu *pc, uint64_t idlers, uint64_t *mask)
{
        if ((pc->sibl_mask & ~idlers) == 0)
                *mask |= pc->sibl_mask;
}

/* smt_idle_mask_clear(): if all the siblings are set, clear them all. */
static void smt_idle_mask_clear(const struct sim_pcpu *pc, uint64_t *mask)
{
        if ((pc->sibl_mask & ~*mask) == 0)
                *mask &= ~pc->sibl_mask;
}

/* ---- time to credit ---- */

static void t2c_update(const struct sim_rq *rqd, s_time_t time, struct sim_unit *svc)
{
        int64_t val;

        if (rqd->max_weight == svc->weight) {
                /* The common case, without the divisions: residual < weight is unchanged. */
                val = svc->credit - time;
                svc->credit = val < CSCHED2_CREDIT_MIN ? (int)CSCHED2_CREDIT_MIN : (int)val;
                return;
        }
        val = time * (int64_t)rqd->max_weight + svc->residual;
        svc->residual = (unsigned)(val % svc->weight);
        val /= svc->weight;
        val = svc->credit - val;
        if (val < CSCHED2_CREDIT_MIN)
                svc->credit = (int)CSCHED2_CREDIT_MIN;
        else
                svc->credit = (int)val;
}

static s_time_t c2t(const struct sim_rq *rqd, s_time_t credit, const struct sim_unit *svc)
{
        return svc->weight == rqd->max_weight ? credit : credit * svc->weight / rqd->max_weight;
}

static void burn_credits(struct sim_rq *rqd, struct sim_unit *svc, s_time_t now)
{
        s_time_t delta = now - svc->start_time;

        if (delta <= 0)
                return;
        t2c_update(rqd, delta, svc);
        if (has_cap(svc))
                svc->budget -= delta;
        svc->start_time = now;
}

/* ---- load tracking (update_runq_load / update_svc_load) ---- */

static void update_runq_load(struct sim_pool *pool, struct sim_rq *rqd, int change, s_time_t now)
{
        const unsigned W = pool->load_window_shift, P = pool->load_precision_shift;
        s_time_t delta, load = rqd->load;

        now >>= LOADAVG_GRANULARITY_SHIFT;
        if (rqd->load_last_update + (1LL << W) < now) {
                rqd->avgload = load << P;
                rqd->b_avgload = load << P;
        } else {
                delta = now - rqd->load_last_update;
                if (delta < 0)
                        delta = 0;
                rqd->avgload = rqd->avgload + ((delta * (load << P)) >> W) - ((delta * rqd->avgload) >> W);
                rqd->b_avgload = rqd->b_avgload + ((delta * (load << P)) >> W) -
                                 ((delta * rqd->b_avgload) >> W);
        }
        rqd->load += change;
        rqd->load_last_update = now;
}

static void update_svc_load(struct sim_pool *pool, struct sim_unit *svc, int change, s_time_t now)
{
        const unsigned W = pool->load_window_shift, P = pool->load_precision_shift;
        s_time_t delta, unit_load;

        if (change == -1)
                unit_load = 1;
        else if (change == 1)
                unit_load = 0;
        else
                unit_load = unit_runnable(svc);
        now >>= LOADAVG_GRANULARITY_SHIFT;
        if (svc->load_last_update + (1LL << W) < now) {
                svc->avgload = unit_load << P;
        } else {
                delta = now - svc->load_last_update;
                if (delta < 0)
                        delta = 0;
                svc->avgload = svc->avgload + ((delta * (unit_load << P)) >> W) -
                               ((delta * svc->avgload) >> W);
        }
        svc->load_last_update = now;
}

static void update_load(struct sim_pool *pool, struct sim_rq *rqd, struct sim_unit *svc, int change,
                        s_time_t now)
{
        update_runq_load(pool, rqd, change, now);
        if (svc)
                update_svc_load(pool, svc, change, now);
}

/* ---- runqueue assignment and the ordered runqueue ---- */

static void update_max_weight(struct sim_rq *rqd, unsigned new_weight, unsigned old_weight)
{
        if (new_weight > rqd->max_weight) {
                rqd->max_weight = new_weight;
        } else if (old_weight == rqd->max_weight) {
                unsigned max_weight = 1;

                for (const struct sim_unit *s = rqd->svc; s; s = s->rqd_next)
                        if (s->weight > max_weight)
                                max_weight = s->weight;
                rqd->max_weight = max_weight;
        }
}

static void _runq_assign(struct sim_unit *svc, struct sim_rq *rqd)
{
        svc->rqd = rqd;
        svc->rqd_next = NULL;
        if (rqd->svc_tail)
                rqd->svc_tail->rqd_next = svc;
        else
                rqd->svc = svc;
        rqd->svc_tail = svc;
        update_max_weight(rqd, svc->weight, 0);
        rqd->b_avgload += svc->avgload;
}

static void _runq_deassign(struct sim_unit *svc)
{
        struct sim_rq *rqd = svc->rqd;
        struct sim_unit **pp = &rqd->svc, *prev = NULL;

        while (*pp && *pp != svc) {
                prev = *pp;
                pp = &(*pp)->rqd_next;
        }
        if (*pp)
                *pp = svc->rqd_next;
        if (rqd->svc_tail == svc)
                rqd->svc_tail = prev;
        svc->rqd_next = NULL;
        update_max_weight(rqd, 0, svc->weight);
        rqd->b_avgload = rqd->b_avgload - svc->avgload > 0 ? rqd->b_avgload - svc->avgload : 0;
        svc->rqd = NULL;
}

/* runq_insert(): before the first unit with less credit (FIFO among equals). */
static void runq_insert(struct sim_unit *svc, s_time_t now)
{
        struct sim_rq *rqd = svc->rqd;
        struct sim_unit *iter = rqd->runq, *prev = NULL;

        while (iter && !(svc->credit > iter->credit)) {
                prev = iter;
                iter = iter->runq_next;
        }
        svc->runq_prev = prev;
        svc->runq_next = iter;
        if (prev)
                prev->runq_next = svc;
        else
                rqd->runq = svc;
        if (iter)
                iter->runq_prev = svc;
        svc->on_runq = true;
        svc->runnable_since = now;
}

static void runq_remove(struct sim_pool *pool, struct sim_unit *svc, s_time_t now)
{
        struct sim_rq *rqd = svc->rqd;

        if (svc->runq_prev)
                svc->runq_prev->runq_next = svc->runq_next;
        else
                rqd->runq = svc->runq_next;
        if (svc->runq_next)
                svc->runq_next->runq_prev = svc->runq_prev;
        svc->runq_next = svc->runq_prev = NULL;
        svc->on_runq = false;
        if (now > svc->runnable_since)
                pool->cnt.runnable_wait_ns += (uint64_t)(now - svc->runnable_since);
}

/* ---- tickling ---- */

static void tickle_cpu(struct isched_sim *sim, struct sim_pcpu *pc, s_time_t when)
{
        pc->rqd->tickled |= BIT(pc);
        smt_idle_mask_clear(pc, &pc->rqd->smt_idle);
        sim_cpu_kick(sim, pc, when);
}

/* tickle_score(): without soft affinity every CPU is in everyone's soft
 * affinity, so a positive score gets exactly one CSCHED2_CREDIT_INIT.
 * is_preemptable() is rqd->preempt_at[] (see sim_unit_start()). */
static s_time_t tickle_score(struct isched_sim *sim, s_time_t now, const struct sim_unit *new,
                             uint32_t cpu)
{
        struct sim_pcpu *pc = PC(sim, cpu);
        struct sim_unit *cur = pc->curr;
        s_time_t score;

        if (!cur || now <= pc->rqd->preempt_at[pc->rq_idx])
                return -1;
        burn_credits(pc->rqd, cur, now);
        score = (s_time_t)new->credit - cur->credit;
        if (new->processor != cpu)
                score -= CSCHED2_MIGRATE_RESIST;
        if (score > 0)
                score += CSCHED2_CREDIT_INIT;
        return score;
}

/* cpumask_test_or_cycle(cpu, mask): cpu if it is in mask, else the next
 * CPU of mask after it, wrapping; -1 if mask is empty. */
static int rq_test_or_cycle(const struct isched_sim *sim, const struct sim_rq *rqd, uint32_t cpu,
                            uint64_t mask)
{
        const struct sim_pcpu *pc = &sim->pcpus[cpu];
        uint64_t after;

        if (!mask)
                return -1;
        if (pc->rqd == rqd) {
                if (mask & BIT(pc))
                        return (int)cpu;
                after = pc->rq_idx == 63 ? 0 : mask & ~((2ull << pc->rq_idx) - 1);
                if (after)
                        return (int)rqd->cpus[__builtin_ctzll(after)];
        }
        return (int)rqd->cpus[__builtin_ctzll(mask)];
}

/* runq_tickle(): a fully idle core first, then any idle pCPU, then the
 * busy pCPU whose unit new may preempt with the best score.  @p delay is
 * when, after @p now, the tickler can send the IPI (lock hold). */
static void runq_tickle(struct isched_sim *sim, struct sim_unit *new, s_time_t now, s_time_t delay)
{
        const uint32_t cpu = new->processor;
        struct sim_rq *rqd = new->rqd;
        s_time_t max = 0;
        int ipid;

        ipid = rq_test_or_cycle(sim, rqd, cpu, rqd->smt_idle);
        if (ipid < 0)
                ipid = rq_test_or_cycle(sim, rqd, cpu, rqd->idle & ~rqd->tickled);
        if (ipid < 0) {
                const struct sim_pcpu *own = PC(sim, cpu);
                uint64_t busy = ~rqd->idle & ~rqd->tickled & ((rqd->nr_cpus == 64 ? 0 : 1ull << rqd->nr_cpus) - 1);

                if (own->rqd == rqd && (busy & BIT(own))) {
                        s_time_t score = tickle_score(sim, now, new, cpu);

                        if (score > max) {
                                max = score;
                                ipid = (int)cpu;
                                goto tickle; /* cpu is in new's soft affinity */
                        }
                }
                if (own->rqd == rqd)
                        busy &= ~BIT(own);
                /* tickle_score() is -1 for a pCPU whose unit is not
                 * preemptable (or that has none): find the others first,
                 * without a branch per pCPU. */
                {
                        uint64_t pre = 0;

                        for (uint32_t k = 0; k < rqd->nr_cpus; k++)
                                pre |= (uint64_t)(now > rqd->preempt_at[k]) << k;
                        busy &= pre;
                }
                for (; busy; busy &= busy - 1) {
                        const uint32_t k = (uint32_t)__builtin_ctzll(busy);
                        s_time_t score = tickle_score(sim, now, new, rqd->cpus[k]);

                        if (score > max) {
                                max = score;
                                ipid = (int)rqd->cpus[k];
                        }
                }
                if (ipid < 0)
                        return;
        }
tickle:
        tickle_cpu(sim, PC(sim, (uint32_t)ipid), now + delay + SIM_IPI_NS);
        new->tickled_cpu = ipid;
}

/* ---- caps (budget) ---- */

static void park_unit(struct sim_pool *pool, struct sim_unit *svc, s_time_t now)
{
        svc->parked = true;
        if (svc->on_runq) {
                runq_remove(pool, svc, now);
                update_load(pool, svc->rqd, svc, -1, now);
        }
}

static bool unit_grab_budget(struct sim_pool *pool, struct sim_unit *svc, s_time_t now)
{
        struct sim_dom *sdom = svc->sdom;

        if (svc->budget > 0)
                return true;
        sdom->budget += svc->budget;
        if (sdom->budget > 0) {
                s_time_t budget = sdom->budget >= svc->budget_quota ? svc->budget_quota : sdom->budget;

                svc->budget = budget;
                sdom->budget -= budget;
        } else {
                svc->budget = 0;
                park_unit(pool, svc, now);
        }
        return svc->budget > 0;
}

static void unpark_parked_units(struct isched_sim *sim, struct sim_dom *sdom, s_time_t now)
{
        for (uint32_t i = 0; i < sdom->nr_units; i++) {
                struct sim_unit *svc = sdom->units[i];

                if (!svc->parked)
                        continue;
                svc->parked = false;
                if (svc->is_running) {
                        svc->flags |= CSFLAG_delayed_runq_add;
                } else if (unit_runnable(svc) && !svc->on_runq) {
                        update_load(sdom->pool, svc->rqd, svc, 1, now);
                        runq_insert(svc, now);
                        runq_tickle(sim, svc, now, 0);
                }
        }
}

static void unit_return_budget(struct isched_sim *sim, struct sim_unit *svc, s_time_t now)
{
        struct sim_dom *sdom = svc->sdom;

        sdom->budget += svc->budget;
        svc->budget = 0;
        if (sdom->budget > 0)
                unpark_parked_units(sim, sdom, now);
}

/* replenish_domain_budget() */
void csched2_replenish(struct isched_sim *sim, struct sim_dom *sdom, s_time_t now)
{
        sdom->budget += sdom->tot_budget;
        if (sdom->budget <= 0)
                return;
        if (sdom->budget > sdom->tot_budget)
                sdom->budget = sdom->tot_budget;
        unpark_parked_units(sim, sdom, now);
}

/* ---- credit reset ---- */

static void reset_credit(struct isched_sim *sim, struct sim_pcpu *pc, s_time_t now,
                         const struct sim_unit *snext)
{
        struct sim_rq *rqd = pc->rqd;
        s_time_t reset = CSCHED2_CREDIT_INIT;

        if (snext->credit == CSCHED2_CREDIT_MIN)
                reset += CSCHED2_CREDIT_INIT;
        for (struct sim_unit *svc = rqd->svc; svc; svc = svc->rqd_next) {
                if (svc->is_running) {
                        burn_credits(rqd, svc, now);
                        if (svc->budget <= 0)
                                tickle_cpu(sim, PC(sim, svc->processor), now);
                }
                svc->credit += (int)reset;
                if (svc->credit > CSCHED2_CREDIT_INIT + CSCHED2_CARRYOVER_MAX)
                        svc->credit = (int)(CSCHED2_CREDIT_INIT + CSCHED2_CARRYOVER_MAX);
                svc->start_time = now;
        }
        pc->pool->credit_resets++;
}

/* ---- placement and migration ---- */

/* csched2_res_pick(): the runqueue with the least b_avgload (our own
 * counted without our load), or the one a balance_load() asked for. */
static uint32_t csched2_res_pick(struct sim_pool *pool, struct sim_unit *svc)
{
        struct sim_rq *min_rqd = NULL;
        s_time_t min_avgload = STIME_MAX;
        uint32_t new_cpu;

        if (svc->flags & CSFLAG_runq_migrate_request) {
                svc->flags &= ~CSFLAG_runq_migrate_request;
                if (svc->migrate_rqd) {
                        new_cpu = rq_cycle(svc->migrate_rqd, svc->migrate_rqd->pick_bias);
                        svc->migrate_rqd->pick_bias = new_cpu;
                        return new_cpu;
                }
        }
        for (uint32_t r = 0; r < pool->nr_rqs; r++) {
                struct sim_rq *rqd = &pool->rqs[r];
                s_time_t rqd_avgload;

                if (rqd == svc->rqd)
                        rqd_avgload = rqd->b_avgload - svc->avgload > 0 ? rqd->b_avgload - svc->avgload : 0;
                else
                        rqd_avgload = rqd->b_avgload;
                if (rqd_avgload < min_avgload) {
                        min_avgload = rqd_avgload;
                        min_rqd = rqd;
                }
        }
        new_cpu = rq_cycle(min_rqd, min_rqd->pick_bias);
        min_rqd->pick_bias = new_cpu;
        return new_cpu;
}

static void migrate(struct isched_sim *sim, struct sim_unit *svc, struct sim_rq *trqd, s_time_t now)
{
        struct sim_pool *pool = svc->sdom->pool;

        if (svc->flags & CSFLAG_scheduled) {
                /* It's running (or just picked to run); mark it to migrate. */
                svc->migrate_rqd = trqd;
                svc->migrating = true;
                svc->flags |= CSFLAG_runq_migrate_request;
                tickle_cpu(sim, PC(sim, svc->processor), now + SIM_IPI_NS);
        } else {
                bool on_runq = false;

                if (svc->on_runq) {
                        runq_remove(pool, svc, now);
                        update_load(pool, svc->rqd, NULL, -1, now);
                        on_runq = true;
                }
                _runq_deassign(svc);
                svc->processor = rq_cycle(trqd, trqd->pick_bias);
                trqd->pick_bias = svc->processor;
                _runq_assign(svc, trqd);
                pool->cnt.migrations++;
                if (on_runq) {
                        update_load(pool, svc->rqd, NULL, 1, now);
                        runq_insert(svc, now);
                        runq_tickle(sim, svc, now, 0);
                }
        }
}

/* sched_unit_migrate_finish() + csched2_unit_migrate() + vcpu_wake() for
 * a unit balance_load() asked to move while it was running. */
static void migrate_finish(struct isched_sim *sim, struct sim_unit *svc, s_time_t now)
{
        struct sim_pool *pool = svc->sdom->pool;
        const uint32_t new_cpu = csched2_res_pick(pool, svc);
        struct sim_rq *trqd = PC(sim, new_cpu)->rqd;

        if (trqd != svc->rqd)
                migrate(sim, svc, trqd, now);
        else
                svc->processor = new_cpu;
        svc->migrating = false;
        svc->migrate_rqd = NULL;
        if (unit_runnable(svc))
                csched2_unit_wake(sim, svc, now);
}

typedef struct {
        s_time_t load_delta;
        struct sim_unit *best_push_svc, *best_pull_svc;
        struct sim_rq *lrqd, *orqd;
} balance_state_t;

static void consider(balance_state_t *st, const struct sim_unit *push_svc,
                     const struct sim_unit *pull_svc)
{
        s_time_t l_load = st->lrqd->b_avgload, o_load = st->orqd->b_avgload, delta;

        if (push_svc) {
                l_load -= push_svc->avgload;
                o_load += push_svc->avgload;
        }
        if (pull_svc) {
                l_load += pull_svc->avgload;
                o_load -= pull_svc->avgload;
        }
        delta = l_load - o_load;
        if (delta < 0)
                delta = -delta;
        if (delta < st->load_delta) {
                st->load_delta = delta;
                st->best_push_svc = (struct sim_unit *)push_svc;
                st->best_pull_svc = (struct sim_unit *)pull_svc;
        }
}

static bool unit_is_migrateable(const struct sim_unit *svc)
{
        return !(svc->flags & CSFLAG_runq_migrate_request);
}

/* balance_load(), from csched2_schedule() at a credit reset.  As in Xen,
 * the capacity test after the scan reads st.orqd, which is then the last
 * runqueue of the list, not the one with the largest delta. */
static void balance_load(struct isched_sim *sim, struct sim_pcpu *pc, s_time_t now)
{
        struct sim_pool *pool = pc->pool;
        struct sim_rq *max_delta_rqd = NULL;
        balance_state_t st = { .best_push_svc = NULL, .best_pull_svc = NULL };
        bool inner_load_updated = false;

        st.lrqd = pc->rqd;
        update_runq_load(pool, st.lrqd, 0, now);
        st.load_delta = 0;
        st.orqd = NULL;
        pool->cnt.balance_checks++;
        for (uint32_t r = 0; r < pool->nr_rqs; r++) {
                struct sim_rq *rqd = &pool->rqs[r];
                s_time_t delta;

                st.orqd = rqd;
                if (st.orqd == st.lrqd)
                        continue;
                update_runq_load(pool, st.orqd, 0, now);
                delta = st.lrqd->b_avgload - st.orqd->b_avgload;
                if (delta < 0)
                        delta = -delta;
                if (delta > st.load_delta) {
                        st.load_delta = delta;
                        max_delta_rqd = rqd;
                }
        }
        if (!max_delta_rqd)
                return;
        {
                s_time_t load_max = st.lrqd->b_avgload;
                uint32_t cpus_max;

                if (st.orqd->b_avgload > load_max)
                        load_max = st.orqd->b_avgload;
                cpus_max = st.lrqd->nr_cpus > st.orqd->nr_cpus ? st.lrqd->nr_cpus : st.orqd->nr_cpus;
                if (load_max < ((s_time_t)cpus_max << pool->load_precision_shift)) {
                        if (st.load_delta <
                            (1LL << (pool->load_precision_shift + OPT_UNDERLOAD_BALANCE_TOLERANCE)))
                                return;
                } else if (st.load_delta <
                           (1LL << (pool->load_precision_shift + OPT_OVERLOAD_BALANCE_TOLERANCE))) {
                        return;
                }
        }
        st.orqd = max_delta_rqd;
        sim_lock_rq(sim, st.orqd, now);

        for (struct sim_unit *push_svc = st.lrqd->svc; push_svc; push_svc = push_svc->rqd_next) {
                update_svc_load(pool, push_svc, 0, now);
                if (!unit_is_migrateable(push_svc))
                        continue;
                for (struct sim_unit *pull_svc = st.orqd->svc; pull_svc; pull_svc = pull_svc->rqd_next) {
                        if (!inner_load_updated)
                                update_svc_load(pool, pull_svc, 0, now);
                        if (!unit_is_migrateable(pull_svc))
                                continue;
                        consider(&st, push_svc, pull_svc);
                }
                inner_load_updated = true;
                consider(&st, push_svc, NULL);
        }
        for (struct sim_unit *pull_svc = st.orqd->svc; pull_svc; pull_svc = pull_svc->rqd_next) {
                if (!unit_is_migrateable(pull_svc))
                        continue;
                consider(&st, NULL, pull_svc);
        }
        if (st.best_push_svc) {
                migrate(sim, st.best_push_svc, st.orqd, now);
                pool->cnt.balance_moves++;
        }
        if (st.best_pull_svc) {
                migrate(sim, st.best_pull_svc, st.lrqd, now);
                pool->cnt.balance_moves++;
        }
}

/* ---- entry points ---- */

/* csched2_unit_insert(): initial placement by csched2_res_pick(). */
void csched2_unit_insert(struct isched_sim *sim, struct sim_unit *svc, s_time_t now)
{
        struct sim_pool *pool = svc->sdom->pool;

        svc->rqd = NULL;
        svc->processor = csched2_res_pick(pool, svc);
        _runq_assign(svc, PC(sim, svc->processor)->rqd);
}

/* csched2_unit_wake(): the unit stays on its runqueue; only its CPUs are
 * tickled. */
void csched2_unit_wake(struct isched_sim *sim, struct sim_unit *svc, s_time_t now)
{
        struct sim_pool *pool = svc->sdom->pool;
        s_time_t delay;

        if (svc->is_running || svc->on_runq || !unit_runnable(svc))
                return;
        delay = sim_lock_rq(sim, svc->rqd, now);
        update_load(pool, svc->rqd, svc, 1, now);
        runq_insert(svc, now);
        runq_tickle(sim, svc, now, delay);
}

/* csched2_unit_sleep() for a running unit that blocked: tickle its own CPU. */
void csched2_unit_sleep(struct isched_sim *sim, struct sim_unit *svc, s_time_t now)
{
        struct sim_pool *pool = svc->sdom->pool;

        if (svc->is_running) {
                tickle_cpu(sim, PC(sim, svc->processor), now);
        } else if (svc->on_runq) {
                update_load(pool, svc->rqd, svc, -1, now);
                runq_remove(pool, svc, now);
        } else {
                svc->flags &= ~CSFLAG_delayed_runq_add;
        }
}

static void csched2_context_saved(struct isched_sim *sim, struct sim_unit *svc, s_time_t now)
{
        struct sim_pool *pool = svc->sdom->pool;

        svc->flags &= ~CSFLAG_scheduled;
        if (has_cap(svc) && svc->budget > 0)
                unit_return_budget(sim, svc, now);
        if ((svc->flags & CSFLAG_delayed_runq_add) && unit_runnable(svc)) {
                svc->flags &= ~CSFLAG_delayed_runq_add;
                runq_insert(svc, now);
                runq_tickle(sim, svc, now, 0);
        } else {
                svc->flags &= ~CSFLAG_delayed_runq_add;
                update_load(pool, svc->rqd, svc, -1, now);
        }
}

static struct sim_unit *runq_candidate(struct isched_sim *sim, struct sim_rq *rqd,
                                       struct sim_unit *scurr, uint32_t cpu, s_time_t now)
{
        struct sim_pool *pool = PC(sim, cpu)->pool;
        struct sim_unit *snext;
        int snext_credit;

        if (scurr && pool->ratelimit_us && unit_runnable(scurr) &&
            now - scurr->state_entry_time < MICROSECS(pool->ratelimit_us))
                return scurr;
        snext = scurr && unit_runnable(scurr) ? scurr : NULL;
        snext_credit = snext ? snext->credit : (int)CSCHED2_IDLE_CREDIT;

        for (struct sim_unit *svc = rqd->runq, *next; svc; svc = next) {
                next = svc->runq_next;
                if (svc->credit <= snext_credit)
                        break;
                if (!unit_runnable(svc))
                        continue;
                if (svc->tickled_cpu != -1 && (uint32_t)svc->tickled_cpu != cpu &&
                    (PC(sim, (uint32_t)svc->tickled_cpu)->rqd->tickled & BIT(PC(sim, (uint32_t)svc->tickled_cpu))))
                        continue;
                if (svc->processor != cpu && (s_time_t)snext_credit + CSCHED2_MIGRATE_RESIST > svc->credit)
                        continue;
                if (has_cap(svc) && !unit_grab_budget(pool, svc, now))
                        continue;
                return svc;
        }
        return snext;
}

/* csched2_runtime(): how long snext may run. */
static s_time_t csched2_runtime(const struct sim_pool *pool, const struct sim_rq *rqd,
                                const struct sim_unit *snext, s_time_t now)
{
        s_time_t time, min_time = CSCHED2_MIN_TIMER, rt_credit;

        if (!snext)
                return -1;
        if (pool->ratelimit_us) {
                s_time_t ratelimit_min = MICROSECS(pool->ratelimit_us);

                if (snext->is_running)
                        ratelimit_min = snext->state_entry_time + MICROSECS(pool->ratelimit_us) - now;
                if (ratelimit_min > min_time)
                        min_time = ratelimit_min;
        }
        rt_credit = snext->credit;
        if (rqd->runq && rqd->runq->credit > 0)
                rt_credit = (s_time_t)snext->credit - rqd->runq->credit;
        time = rt_credit > 0 ? c2t(rqd, rt_credit, snext) : 0;
        if (has_cap(snext))
                time = snext->budget < time ? snext->budget : time;
        if (time < min_time)
                time = min_time;
        else if (time > CSCHED2_MAX_TIMER)
                time = CSCHED2_MAX_TIMER;
        return time;
}

/* csched2_schedule() and the context switch of core.c's schedule(). */
void csched2_schedule(struct isched_sim *sim, struct sim_pcpu *pc, s_time_t now)
{
        struct sim_pool *pool = pc->pool;
        struct sim_rq *rqd = pc->rqd;
        struct sim_unit *scurr = pc->curr, *snext;
        s_time_t lock_delay, time;

        pool->sched_calls++;
        lock_delay = sim_lock_rq(sim, rqd, now);
        if (rqd->tickled & BIT(pc)) {
                rqd->tickled &= ~BIT(pc);
                smt_idle_mask_set(pc, rqd->idle & ~rqd->tickled, &rqd->smt_idle);
        }
        if (scurr) {
                sim_unit_progress(sim, scurr, now);
                burn_credits(rqd, scurr, now);
                if (scurr->budget <= 0)
                        unit_grab_budget(pool, scurr, now);
        }
        snext = runq_candidate(sim, rqd, scurr, pc->id, now);
        if (snext != scurr && scurr && unit_runnable(scurr))
                scurr->flags |= CSFLAG_delayed_runq_add;

        if (snext) {
                int top_credit;

                if (snext != scurr) {
                        runq_remove(pool, snext, now);
                        snext->flags |= CSFLAG_scheduled;
                } else
                        update_load(pool, rqd, snext, 0, now);
                if (rqd->idle & BIT(pc)) {
                        rqd->idle &= ~BIT(pc);
                        smt_idle_mask_clear(pc, &rqd->smt_idle);
                }
                top_credit = snext->credit;
                if (rqd->runq && rqd->runq->credit > top_credit)
                        top_credit = rqd->runq->credit;
                if (top_credit <= CSCHED2_CREDIT_RESET) {
                        reset_credit(sim, pc, now, snext);
                        balance_load(sim, pc, now);
                }
                snext->start_time = now;
                snext->tickled_cpu = -1;
                if (snext->processor != pc->id) {
                        snext->credit += (int)CSCHED2_MIGRATE_COMPENSATION;
                        snext->processor = pc->id;
                }
        } else {
                if (!(rqd->idle & BIT(pc))) {
                        rqd->idle |= BIT(pc);
                        smt_idle_mask_set(pc, rqd->idle & ~rqd->tickled, &rqd->smt_idle);
                }
                update_load(pool, rqd, NULL, 0, now);
        }

        time = csched2_runtime(pool, rqd, snext, now);
        /* The pCPU's timer is brought up to date by sim_unit_start() or
         * below, once both the schedule timer and the burst end are known. */
        pc->sched_at = time >= 0 ? now + time : INT64_MAX;
        if (!snext)
                sim_cpu_timer_sync(sim, pc);

        if (snext == scurr) {
                if (snext)
                        sim_unit_start(sim, snext, pc, now, SIM_SCHED_NS + lock_delay);
                return;
        }
        pool->cnt.context_switches++;
        if (scurr) {
                sim_unit_stop(sim, scurr, now);
                csched2_context_saved(sim, scurr, now);
        }
        if (snext)
                sim_unit_start(sim, snext, pc, now, SIM_SCHED_NS + SIM_CTX_SWITCH_NS + lock_delay);
        if (scurr && scurr->migrating)
                migrate_finish(sim, scurr, now);
}

/* ---- building runqueues ---- */

static void free_rqs(struct sim_pool *pool)
{
        for (uint32_t r = 0; r < pool->nr_rqs; r++) {
                free(pool->rqs[r].cpus);
                free(pool->rqs[r].preempt_at);
        }
        free(pool->rqs);
        pool->rqs = NULL;
        pool->nr_rqs = 0;
}

/* csched2_alloc_pdata() + init_pdata() for every CPU of the pool, in order. */
void csched2_pool_build(struct isched_sim *sim, struct sim_pool *pool, enum isched_arrangement arr)
{
        uint32_t *rq_of = calloc(pool->nr_cpus, sizeof(*rq_of));
        uint32_t n;

        free_rqs(pool);
        if (!rq_of) {
                sim->failed = true;
                return;
        }
        n = sim_build_runqueues(&sim->topo, arr, pool->cpus, pool->nr_cpus, rq_of);
        pool->rqs = calloc(n ? n : 1, sizeof(*pool->rqs));
        if (!pool->rqs || !n) {
                free(rq_of);
                sim->failed = true;
                return;
        }
        pool->nr_rqs = n;
        pool->arrangement = arr;
        for (uint32_t r = 0; r < n; r++) {
                pool->rqs[r].id = (int)r;
                pool->rqs[r].max_weight = 1;
                /* The load average of a runqueue built now starts now.
                 * Left at 0 after a live switch (sim->now >> the 1-s
                 * window), the first update_runq_load() would take its
                 * "reset condition" and set b_avgload to the runqueue's
                 * instantaneous load, throwing away the avgload that
                 * _runq_assign() added for the units already placed
                 * there: csched2_res_pick() would then see occupied
                 * runqueues as empty and stack units on the first ones
                 * (10 of 16 per-cpu runqueues used on xenbuild), unlike a
                 * build at time 0, where last update == now. */
                pool->rqs[r].load_last_update = sim->now >> LOADAVG_GRANULARITY_SHIFT;
                pool->rqs[r].cpus = calloc(pool->nr_cpus, sizeof(uint32_t));
                pool->rqs[r].preempt_at = malloc(pool->nr_cpus * sizeof(s_time_t));
                if (!pool->rqs[r].cpus || !pool->rqs[r].preempt_at)
                        sim->failed = true;
        }
        if (sim->failed) {
                free(rq_of);
                return;
        }
        for (uint32_t i = 0; i < pool->nr_cpus; i++) {
                struct sim_rq *rqd = &pool->rqs[rq_of[i]];
                struct sim_pcpu *pc = PC(sim, pool->cpus[i]);

                if (rqd->nr_cpus == 0)
                        rqd->pick_bias = pc->id;
                pc->rq_idx = rqd->nr_cpus;
                rqd->preempt_at[rqd->nr_cpus] = INT64_MAX;
                rqd->cpus[rqd->nr_cpus++] = pc->id;
                pc->rqd = rqd;
                /* init_cpu_runqueue(): idle and smt_idle set, not tickled. */
                rqd->idle |= BIT(pc);
                rqd->smt_idle |= BIT(pc);
                pc->sched_at = INT64_MAX;
                pc->burst_at = INT64_MAX;
                sim_cpu_timer_sync(sim, pc);
        }
        /* init_cpu_runqueue(): sibling_mask holds the siblings in the same runqueue. */
        for (uint32_t i = 0; i < pool->nr_cpus; i++) {
                struct sim_pcpu *pc = PC(sim, pool->cpus[i]);

                pc->sibl_mask = 0;
                for (uint32_t k = 0; k < pc->rqd->nr_cpus; k++)
                        if (PC(sim, pc->rqd->cpus[k])->core == pc->core)
                                pc->sibl_mask |= 1ull << k;
        }
        free(rq_of);
}

void csched2_pool_init(struct isched_sim *sim, struct sim_pool *pool)
{
        pool->ratelimit_us = SCHED_DEFAULT_RATELIMIT_US;
        pool->load_precision_shift = LOADAVG_PRECISION_SHIFT;
        pool->load_window_shift = LOADAVG_WINDOW_SHIFT - LOADAVG_GRANULARITY_SHIFT;
}

/* A live switch of the arrangement, as the runtime-rearrangement series
 * would do it: pause the pool, deschedule everyone, rebuild the runqueues,
 * re-place every unit with csched2_res_pick() on a fresh credit epoch, and
 * resume when the pause is over. */
int csched2_switch_arrangement(struct isched_sim *sim, struct sim_pool *pool,
                               enum isched_arrangement arr, s_time_t now)
{
        const s_time_t pause = SIM_SWITCH_PAUSE_NS + SIM_SWITCH_PAUSE_PER_CPU_NS * (s_time_t)pool->nr_cpus;

        for (uint32_t i = 0; i < pool->nr_cpus; i++) {
                struct sim_pcpu *pc = PC(sim, pool->cpus[i]);

                if (pc->curr) {
                        struct sim_unit *u = pc->curr;

                        sim_unit_progress(sim, u, now);
                        sim_unit_stop(sim, u, now);
                        u->runnable_since = now;
                }
        }
        for (uint32_t d = 0; d < pool->nr_doms; d++) {
                struct sim_dom *sdom = pool->doms[d];

                for (uint32_t i = 0; i < sdom->nr_units; i++) {
                        struct sim_unit *svc = sdom->units[i];

                        if (svc->on_runq)
                                runq_remove(pool, svc, now);
                        svc->runnable_since = now;
                        svc->rqd = NULL;
                        svc->rqd_next = NULL;
                        svc->flags = 0;
                        svc->migrating = false;
                        svc->migrate_rqd = NULL;
                        svc->tickled_cpu = -1;
                }
        }
        csched2_pool_build(sim, pool, arr);
        if (sim->failed)
                return -ENOMEM;
        for (uint32_t d = 0; d < pool->nr_doms; d++) {
                struct sim_dom *sdom = pool->doms[d];

                for (uint32_t i = 0; i < sdom->nr_units; i++) {
                        struct sim_unit *svc = sdom->units[i];

                        svc->credit = (int)CSCHED2_CREDIT_INIT;
                        svc->residual = 0;
                        csched2_unit_insert(sim, svc, now);
                        if (unit_runnable(svc)) {
                                update_load(pool, svc->rqd, svc, 1, now);
                                runq_insert(svc, now);
                        }
                }
        }
        /* The paused pCPUs are busy in the hypervisor, not in guests; the
         * counters see the pause as it elapses (sim_pool_pause_ns()). */
        pool->pause_ns_done = sim_pool_pause_ns(pool, now);
        pool->pause_start = now;
        pool->paused_until = now + pause;
        pool->switches++;
        for (uint32_t i = 0; i < pool->nr_cpus; i++)
                sim_cpu_kick(sim, PC(sim, pool->cpus[i]), pool->paused_until);
        return 0;
}
