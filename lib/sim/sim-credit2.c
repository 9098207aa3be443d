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
        if (now == rqd->load_last_update) { /* delta 0: the averages stay as they are */
                rqd->load += change;
                return;
        }
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
        if (now == svc->load_last_update) /* delta 0: the average stays as it is */
                return;
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

/* Links @p svc into @p rqd's runqueue between @p prev (NULL: at the head)
 * and @p next (NULL: at the tail). */
static void runq_link(struct sim_rq *rqd, struct sim_unit *svc, struct sim_unit *prev, struct sim_unit *next)
{
        svc->runq_prev = prev;
        svc->runq_next = next;
        if (prev)
                prev->runq_next = svc;
        else
                rqd->runq = svc;
        if (next)
                next->runq_prev = svc;
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
        runq_link(rqd, svc, prev, iter);
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

                        for (uint32_t k = rqd->nr_cpus; k-- > 0;)
                                pre = pre * 2 + (now > rqd->preempt_at[k]);
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
        tickle_cpu(sim, PC(sim, (uint32_t)ipid), now + delay + sim->cost.ipi_ns);
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

/* unpark_parked_units(), run on @p cpu: each unit under its runqueue's lock. */
static void unpark_parked_units(struct isched_sim *sim, struct sim_dom *sdom, uint32_t cpu, s_time_t now)
{
        for (uint32_t i = 0; i < sdom->nr_units; i++) {
                struct sim_unit *svc = sdom->units[i];
                s_time_t delay;

                if (!svc->parked)
                        continue;
                delay = sim_lock_rq(sim, svc->rqd, cpu, now);
                svc->parked = false;
                if (svc->is_running) {
                        svc->flags |= CSFLAG_delayed_runq_add;
                } else if (unit_runnable(svc) && !svc->on_runq) {
                        update_load(sdom->pool, svc->rqd, svc, 1, now);
                        runq_insert(svc, now);
                        runq_tickle(sim, svc, now, delay);
                }
        }
}

static void unit_return_budget(struct isched_sim *sim, struct sim_unit *svc, uint32_t cpu, s_time_t now)
{
        struct sim_dom *sdom = svc->sdom;

        sdom->budget += svc->budget;
        svc->budget = 0;
        if (sdom->budget > 0)
                unpark_parked_units(sim, sdom, cpu, now);
}

/* replenish_domain_budget() */
void csched2_replenish(struct isched_sim *sim, struct sim_dom *sdom, s_time_t now)
{
        sdom->budget += sdom->tot_budget;
        if (sdom->budget <= 0)
                return;
        if (sdom->budget > sdom->tot_budget)
                sdom->budget = sdom->tot_budget;
        /* The replenishment timer runs on the pool's first pCPU (cpumask_any()). */
        unpark_parked_units(sim, sdom, sdom->pool->cpus[0], now);
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

/* csched2_res_pick() on @p cpu at @p t: the runqueue with the least
 * b_avgload (our own counted without our load), or the one a
 * balance_load() asked for.  Other runqueues are read under spin_trylock():
 * one whose lock is held is skipped (its load counts as MAX_LOAD); if no
 * runqueue could be read, the unit stays on its pCPU (get_fallback_cpu()).
 * The time the trylocks took is added to *ret_ns. */
static uint32_t csched2_res_pick(struct isched_sim *sim, struct sim_unit *svc, uint32_t cpu, s_time_t t,
                                 s_time_t *ret_ns)
{
        struct sim_pool *pool = svc->sdom->pool;
        struct sim_rq *min_rqd = NULL;
        s_time_t min_avgload = STIME_MAX, spent = 0;
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
                s_time_t rqd_avgload = STIME_MAX, c;

                if (rqd == svc->rqd) {
                        rqd_avgload = rqd->b_avgload - svc->avgload > 0 ? rqd->b_avgload - svc->avgload : 0;
                } else {
                        const bool got = sim_trylock_rq(sim, rqd, cpu, t + spent, &c);

                        spent += c;
                        if (got)
                                rqd_avgload = rqd->b_avgload;
                }
                if (rqd_avgload < min_avgload) {
                        min_avgload = rqd_avgload;
                        min_rqd = rqd;
                }
        }
        *ret_ns += spent;
        if (!min_rqd)
                return svc->processor; /* get_fallback_cpu() */
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
                tickle_cpu(sim, PC(sim, svc->processor), now + sim->cost.ipi_ns);
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

/* sched_unit_migrate_finish() + csched2_unit_migrate() + vcpu_wake() on
 * @p cpu, at @p t, for a unit balance_load() asked to move while it was
 * running.  Returns the time it took (trylocks, the target's lock). */
static s_time_t migrate_finish(struct isched_sim *sim, struct sim_unit *svc, uint32_t cpu, s_time_t now,
                               s_time_t t)
{
        s_time_t spent = 0;
        const uint32_t new_cpu = csched2_res_pick(sim, svc, cpu, t, &spent);
        struct sim_rq *trqd = PC(sim, new_cpu)->rqd;

        if (trqd != svc->rqd) {
                spent += sim_lock_rq(sim, trqd, cpu, t + spent);
                migrate(sim, svc, trqd, now);
        } else {
                svc->processor = new_cpu;
        }
        svc->migrating = false;
        svc->migrate_rqd = NULL;
        if (unit_runnable(svc))
                csched2_unit_wake(sim, svc, cpu, now);
        return spent;
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

/* balance_load(), from csched2_schedule() at a credit reset, on pCPU
 * @p pc with its runqueue locked.  As in Xen, the capacity test after the
 * scan reads st.orqd, which is then the last runqueue of the list, not the
 * one with the largest delta.  Other runqueues are read under
 * spin_trylock() (one that is held is skipped); if the chosen one's lock
 * is taken by the time we try it, the scan starts over ("goto retry"),
 * here at most SIM_BALANCE_RETRIES times, each later by the time the scan
 * took.  Returns the time balance_load() took. */
#define SIM_BALANCE_RETRIES 8

static s_time_t balance_load(struct isched_sim *sim, struct sim_pcpu *pc, s_time_t now)
{
        struct sim_pool *pool = pc->pool;
        const struct sim_derived *k = &sim->cost;
        struct sim_rq *max_delta_rqd = NULL;
        balance_state_t st = { .best_push_svc = NULL, .best_pull_svc = NULL };
        bool inner_load_updated = false;
        s_time_t t = now, c;
        unsigned retries = 0;

        st.lrqd = pc->rqd;
        update_runq_load(pool, st.lrqd, 0, now);
        pool->cnt.balance_checks++;
retry:
        max_delta_rqd = NULL;
        st.load_delta = 0;
        st.orqd = NULL;
        for (uint32_t r = 0; r < pool->nr_rqs; r++) {
                struct sim_rq *rqd = &pool->rqs[r];
                s_time_t delta;
                bool got;

                st.orqd = rqd;
                if (st.orqd == st.lrqd)
                        continue;
                got = sim_trylock_rq(sim, rqd, pc->id, t, &c);
                t += c;
                if (!got)
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
                return t - now;
        {
                s_time_t load_max = st.lrqd->b_avgload;
                uint32_t cpus_max;

                if (st.orqd->b_avgload > load_max)
                        load_max = st.orqd->b_avgload;
                cpus_max = st.lrqd->nr_cpus > st.orqd->nr_cpus ? st.lrqd->nr_cpus : st.orqd->nr_cpus;
                if (load_max < ((s_time_t)cpus_max << pool->load_precision_shift)) {
                        if (st.load_delta <
                            (1LL << (pool->load_precision_shift + OPT_UNDERLOAD_BALANCE_TOLERANCE)))
                                return t - now;
                } else if (st.load_delta <
                           (1LL << (pool->load_precision_shift + OPT_OVERLOAD_BALANCE_TOLERANCE))) {
                        return t - now;
                }
        }
        st.orqd = max_delta_rqd;
        if (!sim_trylock_rq(sim, st.orqd, pc->id, t, &c)) {
                t += c;
                if (++retries <= SIM_BALANCE_RETRIES)
                        goto retry;
                return t - now;
        }
        t += c;

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
        /* The work under the other runqueue's lock (its lock and load lines
         * came with the trylock). */
        t += k->lock_cs_ns;
        sim_hold_rq(st.orqd, t);
        return t - now;
}

/* ---- entry points ---- */

/* csched2_unit_insert(): initial placement by csched2_res_pick(), run on
 * the pool's first pCPU. */
void csched2_unit_insert(struct isched_sim *sim, struct sim_unit *svc, s_time_t now)
{
        s_time_t spent = 0;

        svc->rqd = NULL;
        svc->processor = csched2_res_pick(sim, svc, svc->sdom->pool->cpus[0], now, &spent);
        _runq_assign(svc, PC(sim, svc->processor)->rqd);
}

/* csched2_unit_wake(): the unit stays on its runqueue; only its CPUs are
 * tickled. */
void csched2_unit_wake(struct isched_sim *sim, struct sim_unit *svc, uint32_t waker_cpu, s_time_t now)
{
        struct sim_pool *pool = svc->sdom->pool;
        s_time_t delay;

        if (svc->is_running || svc->on_runq || !unit_runnable(svc))
                return;
        delay = sim_lock_rq(sim, svc->rqd, waker_cpu, now);
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

/* csched2_context_saved() on @p cpu (the runqueue lock is taken again by
 * the caller, csched2_schedule()). */
static void csched2_context_saved(struct isched_sim *sim, struct sim_unit *svc, uint32_t cpu, s_time_t now)
{
        struct sim_pool *pool = svc->sdom->pool;

        svc->flags &= ~CSFLAG_scheduled;
        if (has_cap(svc) && svc->budget > 0)
                unit_return_budget(sim, svc, cpu, now);
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
        const struct sim_derived *k = &sim->cost;
        s_time_t lock_delay, overhead, time;

        pool->sched_calls++;
        lock_delay = sim_lock_rq(sim, rqd, pc->id, now);
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
                        /* balance_load() runs with our runqueue locked. */
                        lock_delay += balance_load(sim, pc, now + lock_delay);
                        sim_hold_rq(rqd, now + lock_delay);
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

        overhead = k->sched_ns + lock_delay;
        if (snext == scurr) {
                if (snext)
                        sim_unit_start(sim, snext, pc, now, overhead);
                else
                        sim_cpu_timer_sync(sim, pc);
                return;
        }
        pool->cnt.context_switches++;
        /* The switch, then csched2_context_saved() for the unit switched
         * from (the idle unit too) takes the runqueue lock again. */
        overhead += k->ctx_switch_ns;
        overhead += sim_lock_rq(sim, rqd, pc->id, now + overhead);
        if (scurr) {
                sim_unit_stop(sim, scurr, now);
                csched2_context_saved(sim, scurr, pc->id, now);
                if (scurr->migrating)
                        overhead += migrate_finish(sim, scurr, pc->id, now, now + overhead);
        }
        if (snext)
                sim_unit_start(sim, snext, pc, now, overhead);
        else
                sim_cpu_timer_sync(sim, pc);
}

/* ---- building runqueues ---- */

static void free_rqs(struct sim_rq *rqs, uint32_t n)
{
        for (uint32_t r = 0; r < n; r++) {
                free(rqs[r].cpus);
                free(rqs[r].preempt_at);
        }
        free(rqs);
}

/* The runqueues cpu_add_to_runqueue() builds for the pool's CPUs in
 * order, with their CPUs attached (rqd, rq_idx, sibling_mask); nothing
 * else of the CPUs is touched.  Their load averages start now. */
static int build_rqs(struct isched_sim *sim, struct sim_pool *pool, enum isched_arrangement arr,
                     struct sim_rq **ret_rqs, uint32_t *ret_n)
{
        uint32_t *rq_of = calloc(pool->nr_cpus, sizeof(*rq_of));
        struct sim_rq *rqs = NULL;
        uint32_t n = 0;

        if (!rq_of)
                return -ENOMEM;
        n = sim_build_runqueues(&sim->topo, arr, pool->cpus, pool->nr_cpus, rq_of);
        rqs = n ? calloc(n, sizeof(*rqs)) : NULL;
        if (!rqs) {
                free(rq_of);
                return -ENOMEM;
        }
        for (uint32_t r = 0; r < n; r++) {
                rqs[r].id = (int)r;
                rqs[r].pool = pool;
                rqs[r].max_weight = 1;
                rqs[r].lock_holder = -1;
                rqs[r].load_last_update = sim->now >> LOADAVG_GRANULARITY_SHIFT;
                rqs[r].cpus = calloc(pool->nr_cpus, sizeof(uint32_t));
                rqs[r].preempt_at = malloc(pool->nr_cpus * sizeof(s_time_t));
                if (!rqs[r].cpus || !rqs[r].preempt_at) {
                        free_rqs(rqs, n);
                        free(rq_of);
                        return -ENOMEM;
                }
        }
        for (uint32_t i = 0; i < pool->nr_cpus; i++) {
                struct sim_rq *rqd = &rqs[rq_of[i]];
                struct sim_pcpu *pc = PC(sim, pool->cpus[i]);

                if (rqd->nr_cpus == 0)
                        rqd->pick_bias = pc->id;
                pc->rq_idx = rqd->nr_cpus;
                rqd->preempt_at[rqd->nr_cpus] = INT64_MAX;
                rqd->cpus[rqd->nr_cpus++] = pc->id;
                pc->rqd = rqd;
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
        *ret_rqs = rqs;
        *ret_n = n;
        return 0;
}

/* csched2_alloc_pdata() + init_pdata() for every CPU of the pool, in
 * order, before any unit is inserted. */
void csched2_pool_build(struct isched_sim *sim, struct sim_pool *pool, enum isched_arrangement arr)
{
        struct sim_rq *rqs;
        uint32_t n;

        free_rqs(pool->rqs, pool->nr_rqs);
        pool->rqs = NULL;
        pool->nr_rqs = 0;
        if (build_rqs(sim, pool, arr, &rqs, &n) < 0) {
                sim->failed = true;
                return;
        }
        pool->rqs = rqs;
        pool->nr_rqs = n;
        pool->arrangement = arr;
        for (uint32_t i = 0; i < pool->nr_cpus; i++) {
                struct sim_pcpu *pc = PC(sim, pool->cpus[i]);

                /* init_cpu_runqueue(): idle and smt_idle set, not tickled. */
                pc->rqd->idle |= BIT(pc);
                pc->rqd->smt_idle |= BIT(pc);
                pc->sched_at = INT64_MAX;
                pc->burst_at = INT64_MAX;
                sim_cpu_timer_sync(sim, pc);
        }
}

void csched2_pool_init(struct isched_sim *sim, struct sim_pool *pool)
{
        (void)sim;
        pool->ratelimit_us = SCHED_DEFAULT_RATELIMIT_US;
        pool->load_precision_shift = LOADAVG_PRECISION_SHIFT;
        pool->load_window_shift = LOADAVG_WINDOW_SHIFT - LOADAVG_GRANULARITY_SHIFT;
}

/* A unit credit2 counts in its runqueue's load: queued or scheduled. */
static bool unit_counted(const struct sim_unit *svc)
{
        return svc->on_runq || svc->is_running || (svc->flags & CSFLAG_scheduled);
}

/* The live switch, as the Xen patch does it (docs/live-switch.md): under
 * all the runqueue locks, the pool's CPUs join the new runqueues as
 * cpu_add_to_runqueue() builds them; each unit goes to the new runqueue of
 * the pCPU it is assigned to (no csched2_res_pick()); each new runqueue's
 * load is that of its counted units, their load averages brought up to
 * now first; a new credit epoch starts as reset_credit() starts one; the
 * queued units are spliced into their new queues in credit order.  The
 * locks are held for the freeze; then every CPU reschedules. */
int csched2_switch_arrangement(struct isched_sim *sim, struct sim_pool *pool,
                               enum isched_arrangement arr, s_time_t now)
{
        const struct sim_derived *k = &sim->cost;
        const s_time_t freeze = k->switch_freeze_ns + k->switch_freeze_per_cpu_ns * (s_time_t)pool->nr_cpus;
        struct sim_rq *old = pool->rqs, *rqs;
        const uint32_t nr_old = pool->nr_rqs;
        struct sim_unit **order = calloc(pool->nr_units ? pool->nr_units : 1, sizeof(*order));
        bool *was_idle = calloc(pool->nr_cpus, sizeof(*was_idle));
        uint32_t n, nr_order = 0;
        int r;

        if (!order || !was_idle) {
                free(order);
                free(was_idle);
                return -ENOMEM;
        }
        for (uint32_t i = 0; i < pool->nr_cpus; i++) {
                struct sim_pcpu *pc = PC(sim, pool->cpus[i]);

                was_idle[i] = (pc->rqd->idle & BIT(pc)) != 0;
                if (pc->curr) {
                        sim_unit_progress(sim, pc->curr, now);
                        burn_credits(pc->rqd, pc->curr, now);
                }
        }
        /* The units in old-runqueue order (ascending id, each in its list
         * order); the queued ones leave their old queues in queue order. */
        for (uint32_t q = 0; q < nr_old; q++)
                for (struct sim_unit *svc = old[q].svc; svc; svc = svc->rqd_next)
                        order[nr_order++] = svc;
        r = build_rqs(sim, pool, arr, &rqs, &n);
        if (r < 0) {
                /* The CPUs point to the old runqueues again. */
                for (uint32_t q = 0; q < nr_old; q++)
                        for (uint32_t i = 0; i < old[q].nr_cpus; i++) {
                                PC(sim, old[q].cpus[i])->rqd = &old[q];
                                PC(sim, old[q].cpus[i])->rq_idx = i;
                        }
                free(order);
                free(was_idle);
                return r;
        }
        for (uint32_t i = 0; i < nr_order; i++) {
                struct sim_unit *svc = order[i];
                struct sim_rq *nrqd = PC(sim, svc->processor)->rqd;
                const bool counted = unit_counted(svc);

                svc->rqd = nrqd;
                svc->rqd_next = NULL;
                if (nrqd->svc_tail)
                        nrqd->svc_tail->rqd_next = svc;
                else
                        nrqd->svc = svc;
                nrqd->svc_tail = svc;
                if (svc->weight > nrqd->max_weight)
                        nrqd->max_weight = svc->weight;
                if (counted) {
                        update_svc_load(pool, svc, 0, now);
                        nrqd->load++;
                        nrqd->avgload += svc->avgload;
                }
                svc->flags &= ~CSFLAG_runq_migrate_request;
                svc->migrate_rqd = NULL;
                svc->tickled_cpu = -1;
                /* reset_credit()'s epoch: relative credit is kept up to the carry-over clip. */
                if (svc->credit > CSCHED2_CARRYOVER_MAX)
                        svc->credit = (int)CSCHED2_CARRYOVER_MAX;
                svc->credit += (int)CSCHED2_CREDIT_INIT;
                svc->start_time = now;
                svc->residual = 0;
        }
        /* The old queues, oldest runqueue first and each in order, are
         * merged into the new ones by descending credit, stably. */
        for (uint32_t q = 0; q < nr_old; q++) {
                for (struct sim_unit *svc = old[q].runq, *next; svc; svc = next) {
                        struct sim_rq *nrqd = svc->rqd;
                        struct sim_unit *iter = nrqd->runq, *prev = NULL;

                        next = svc->runq_next;
                        /* Walk from the tail: units of earlier queues with
                         * equal credit stay ahead. */
                        for (iter = nrqd->runq; iter && iter->credit >= svc->credit; iter = iter->runq_next)
                                prev = iter;
                        runq_link(nrqd, svc, prev, iter);
                }
        }
        for (uint32_t r2 = 0; r2 < n; r2++) {
                rqs[r2].b_avgload = rqs[r2].avgload;
                rqs[r2].lock_free_at = now + freeze;
                rqs[r2].lock_holder = (int32_t)pool->cpus[0];
        }
        free_rqs(old, nr_old);
        pool->rqs = rqs;
        pool->nr_rqs = n;
        pool->arrangement = arr;
        /* The CPUs keep their idle bits, are all tickled and reschedule
         * once the locks are released. */
        pool->paused_until = now + freeze;
        for (uint32_t i = 0; i < pool->nr_cpus; i++) {
                struct sim_pcpu *pc = PC(sim, pool->cpus[i]);

                if (was_idle[i])
                        pc->rqd->idle |= BIT(pc);
                if (pc->curr)
                        pc->rqd->preempt_at[pc->rq_idx] =
                                MICROSECS(pool->ratelimit_us) <= CSCHED2_RATELIMIT_TICKLE_TOLERANCE
                                        ? INT64_MIN
                                        : pc->curr->state_entry_time + MICROSECS(pool->ratelimit_us) -
                                                  CSCHED2_RATELIMIT_TICKLE_TOLERANCE;
                pc->rqd->tickled |= BIT(pc);
                pc->sched_at = INT64_MAX;
                sim_cpu_kick(sim, pc, now + freeze + k->ipi_ns);
        }
        pool->switches++;
        free(order);
        free(was_idle);
        return 0;
}
