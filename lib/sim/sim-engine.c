/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The discrete-event engine of the simulator: the event queue, what vCPUs
 * do (bursts, sleeps, chains, phases), what running costs (context
 * switches, cache refills, SMT sharing, runqueue lock contention), the
 * counters, and the public isched_sim_* API. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim-private.h"
#include "util/util.h"

#define NEVER INT64_MAX

/* ---- event queue: a timer wheel, with a heap for far timers ----
 *
 * Every timer of the model has one slot.  A timer due within
 * SIM_WHEEL_SIZE buckets of SIM_WHEEL_SHIFT ns (4.2 ms) of now sits in the
 * bucket of its time, on a list in the order the timers were set; a
 * later one waits in a 4-ary min-heap.  The next timer is the earlier of
 * the first one in the first non-empty bucket from now on (found through
 * a bitmap) and the heap's top; equal times go in bucket-list order, the
 * wheel before the heap: deterministic. */

static void sift_up(struct sim_evq *q, uint32_t i)
{
        const struct sim_ev ev = q->heap[i];

        while (i > 0) {
                const uint32_t parent = (i - 1) / 4;

                if (!(ev.time < q->heap[parent].time))
                        break;
                q->heap[i] = q->heap[parent];
                q->pos[q->heap[i].slot] = i;
                i = parent;
        }
        q->heap[i] = ev;
        q->pos[ev.slot] = i;
}

static void sift_down(struct sim_evq *q, uint32_t i)
{
        const struct sim_ev ev = q->heap[i];
        struct sim_ev *const h = q->heap;
        const uint32_t len = q->len;

        for (;;) {
                const uint32_t first = 4 * i + 1;
                uint32_t c = first;

                if (first >= len)
                        break;
                for (uint32_t k = first + 1; k < len && k < first + 4; k++)
                        c = h[k].time < h[c].time ? k : c;
                if (!(h[c].time < ev.time))
                        break;
                h[i] = h[c];
                q->pos[h[i].slot] = i;
                i = c;
        }
        h[i] = ev;
        q->pos[ev.slot] = i;
}

/* The heap's paths are out of line: most timers are in the wheel. */
static __attribute__((noinline)) void heap_remove(struct sim_evq *q, uint32_t slot)
{
        const uint32_t i = q->pos[slot];

        if (i != --q->len) {
                q->heap[i] = q->heap[q->len];
                q->pos[q->heap[i].slot] = i;
                if (i > 0 && q->heap[i].time < q->heap[(i - 1) / 4].time)
                        sift_up(q, i);
                else
                        sift_down(q, i);
        }
}

static inline void wheel_unlink(struct sim_evq *q, uint32_t slot)
{
        const uint32_t b = q->ts[slot].bucket;
        const uint32_t n = q->ts[slot].next, p = q->ts[slot].prev;

        if (p == SIM_EV_NONE)
                q->bucket[b].head = n;
        else
                q->ts[p].next = n;
        if (n == SIM_EV_NONE)
                q->bucket[b].tail = p;
        else
                q->ts[n].prev = p;
        if (q->bucket[b].head == SIM_EV_NONE)
                q->bits[b >> 6] &= ~(1ull << (b & 63));
}

static inline void evq_remove(struct sim_evq *q, uint32_t slot)
{
        if (q->ts[slot].where == SIM_EV_WHEEL)
                wheel_unlink(q, slot);
        else
                heap_remove(q, slot);
        q->ts[slot].where = SIM_EV_OFF;
}

static __attribute__((noinline)) void heap_insert(struct sim_evq *q, uint32_t slot, s_time_t when)
{
        const uint32_t i = q->len++;

        q->heap[i].time = when;
        q->heap[i].slot = slot;
        sift_up(q, i);
        q->ts[slot].where = SIM_EV_HEAP;
}

void sim_timer_set(struct isched_sim *sim, uint32_t slot, s_time_t when)
{
        struct sim_evq *q = &sim->evq;
        const uint64_t bucket = (uint64_t)when >> SIM_WHEEL_SHIFT;

        q->ts[slot].armed++;
        if (q->ts[slot].where != SIM_EV_OFF)
                evq_remove(q, slot);
        q->ts[slot].time = when;
        if (bucket - q->cur < SIM_WHEEL_SIZE) {
                const uint32_t b = (uint32_t)bucket & (SIM_WHEEL_SIZE - 1), t = q->bucket[b].tail;

                q->ts[slot].next = SIM_EV_NONE;
                q->ts[slot].prev = t;
                if (t == SIM_EV_NONE) {
                        q->bucket[b].head = slot;
                        q->bits[b >> 6] |= 1ull << (b & 63);
                } else {
                        q->ts[t].next = slot;
                }
                q->bucket[b].tail = slot;
                q->ts[slot].bucket = (uint16_t)b;
                q->ts[slot].where = SIM_EV_WHEEL;
        } else {
                heap_insert(q, slot, when);
        }
}

void sim_timer_cancel(struct isched_sim *sim, uint32_t slot)
{
        struct sim_evq *q = &sim->evq;

        if (q->ts[slot].where != SIM_EV_OFF)
                evq_remove(q, slot);
}

/* The next timer due, or false if there is none. */
static bool evq_first(const struct sim_evq *q, uint32_t *ret_slot)
{
        const uint32_t start = (uint32_t)q->cur & (SIM_WHEEL_SIZE - 1);
        uint32_t w = start >> 6, best = SIM_EV_NONE;
        uint64_t word = q->bits[w] & (~0ull << (start & 63));

        for (uint32_t n = 0; n <= SIM_WHEEL_SIZE / 64; n++) {
                if (word) {
                        const uint32_t b = (w << 6) | (uint32_t)__builtin_ctzll(word);

                        best = q->bucket[b].head;
                        for (uint32_t k = q->ts[best].next; k != SIM_EV_NONE; k = q->ts[k].next)
                                if (q->ts[k].time < q->ts[best].time)
                                        best = k;
                        break;
                }
                w = (w + 1) & (SIM_WHEEL_SIZE / 64 - 1);
                word = q->bits[w];
                if (w == start >> 6)
                        word &= ~(~0ull << (start & 63)); /* back at the start: only what is before it */
        }
        if (q->len && (best == SIM_EV_NONE || q->heap[0].time < q->ts[best].time))
                best = q->heap[0].slot;
        *ret_slot = best;
        return best != SIM_EV_NONE;
}

static int evq_init(struct sim_evq *q, uint32_t nr_slots)
{
        q->nr_slots = nr_slots;
        q->heap = calloc(nr_slots, sizeof(*q->heap));
        q->pos = calloc(nr_slots, sizeof(*q->pos));
        q->ts = calloc(nr_slots, sizeof(*q->ts));
        if (!q->heap || !q->pos || !q->ts)
                return -ENOMEM;
        for (uint32_t b = 0; b < SIM_WHEEL_SIZE; b++)
                q->bucket[b].head = q->bucket[b].tail = SIM_EV_NONE;
        q->cur = 0;
        return 0;
}

static void evq_free(struct sim_evq *q)
{
        free(q->heap);
        free(q->pos);
        free(q->ts);
}

/* ---- random numbers: one splitmix64 stream per vCPU ---- */

static uint64_t rng_next(uint64_t *s)
{
        uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static double rng_uniform(uint64_t *s)
{
        return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Exponential variates by Marsaglia and Tsang's ziggurat ("The Ziggurat
 * Method for Generating Random Variables", J. Stat. Software 5(8), 2000)
 * with 256 layers and 53-bit uniforms: one random number and one
 * multiplication 99% of the time, exact in distribution. */
#define ZIG_R 7.69711747013104972  /* start of the tail */
#define ZIG_V 3.949659822581572e-3 /* area of each layer */

static void zig_init(struct sim_zig *z)
{
        const double m = 9007199254740992.0; /* 2^53 */
        double de = ZIG_R, te = de;
        const double q = ZIG_V / exp(-de);

        z->ke[0] = (uint64_t)((de / q) * m);
        z->ke[1] = 0;
        z->we[0] = q / m;
        z->we[255] = de / m;
        z->fe[0] = 1.0;
        z->fe[255] = exp(-de);
        for (int i = 254; i >= 1; i--) {
                de = -log(ZIG_V / de + exp(-de));
                z->ke[i + 1] = (uint64_t)((de / te) * m);
                te = de;
                z->fe[i] = exp(-de);
                z->we[i] = de / m;
        }
}

static __attribute__((noinline)) double zig_exp_slow(const struct sim_zig *z, uint64_t *s, uint64_t r)
{
        for (;;) {
                const unsigned i = (unsigned)(r & 255);
                double x;

                r >>= 8;
                x = (double)r * z->we[i];
                if (r < z->ke[i])
                        return x;
                if (i == 0)
                        return ZIG_R - log(1.0 - rng_uniform(s));
                if ((z->fe[i - 1] - z->fe[i]) * rng_uniform(s) + z->fe[i] < exp(-x))
                        return x;
                r = rng_next(s) >> 3;
        }
}

/* The first try inline (99% of draws end there), the rest out of line. */
static inline double zig_exp(const struct sim_zig *z, uint64_t *s)
{
        const uint64_t r0 = rng_next(s) >> 3, r = r0 >> 8;
        const unsigned i = (unsigned)(r0 & 255);

        if (r < z->ke[i])
                return (double)r * z->we[i];
        return zig_exp_slow(z, s, r0);
}

/* An exponential time of mean @p mean, at most 20 means. */
static s_time_t rng_exp(const struct isched_sim *sim, uint64_t *s, s_time_t mean)
{
        double v = (double)mean * zig_exp(&sim->zig, s);

        if (v > (double)mean * 20.0)
                v = (double)mean * 20.0;
        return (s_time_t)v;
}

/* ---- costs ---- */

/* LLC residency of a unit whose cache lines are on @p socket: the LLC is
 * shared in proportion to the working sets of the units whose caches are
 * there (the units that ran there last, running or not), /1024. */
static inline uint64_t llc_share(const struct isched_sim *sim, uint32_t socket)
{
        const uint64_t occ = sim->llc_occ_kb[socket], llc = sim->cost.llc_kb;

        return occ <= llc ? 1024 : llc * 1024 / occ;
}

/* Where a unit's cache lines live moves to @p socket (or its working set
 * changed: @p old_wss, @p new_wss). */
static void llc_move(struct isched_sim *sim, int from_socket, int to_socket, uint32_t old_wss, uint32_t new_wss)
{
        if (from_socket >= 0)
                sim->llc_occ_kb[from_socket] -= old_wss;
        if (to_socket >= 0)
                sim->llc_occ_kb[to_socket] += new_wss;
}

/* What a unit must refill when it starts on @p pc, from where its lines
 * are, at a line's latency over the misses in flight (sim-costs.c):
 * - same pCPU after others ran there: the L2 part, from the LLC for its
 *   share of it, else from memory;
 * - SMT sibling: nothing (L1 and L2 are the core's);
 * - another core of the socket: the L2 part, from that core's L2;
 * - another socket: the L2 part and what the old LLC held of the rest,
 *   from the old socket's caches. */
static s_time_t cache_refill_ns(const struct isched_sim *sim, const struct sim_unit *u,
                                const struct sim_pcpu *pc)
{
        const struct sim_derived *k = &sim->cost;
        const uint64_t wss = u->beh.wss_kb, l2 = wss < k->l2_kb ? wss : k->l2_kb;
        const struct sim_pcpu *from;
        uint64_t share;
        int64_t ps;

        if (u->last_cpu < 0)
                return 0;
        from = &sim->pcpus[u->last_cpu];
        switch (pcpu_dist(sim, from->id, pc->id)) {
        case SIM_DIST_SAME:
                if (pc->last_unit == u)
                        return 0;
                share = llc_share(sim, from->socket);
                ps = (int64_t)(l2 * 16) *
                     (((int64_t)share * k->line_ps[SIM_SRC_SOCKET] +
                       (1024 - (int64_t)share) * u->sdom->mem_line_ps[pc->node]) >> 10);
                break;
        case SIM_DIST_SIBLING:
                return 0;
        case SIM_DIST_SOCKET:
                ps = (int64_t)(l2 * 16) * k->line_ps[SIM_SRC_SOCKET];
                break;
        default:
                share = llc_share(sim, from->socket);
                ps = (int64_t)((l2 + (((wss - l2) * share) >> 10)) * 16) * k->line_ps[SIM_SRC_REMOTE];
                break;
        }
        return (s_time_t)(ps / 1000);
}

/* The memory-stall factor of a unit that starts on @p pc (/1024): its
 * accesses that miss L2 go to the working set beyond L2; the part the LLC
 * holds costs an LLC access, the rest a memory access from where the
 * domain's memory is (remote memory is charged per access). */
static uint32_t mem_rate(const struct isched_sim *sim, const struct sim_unit *u, const struct sim_pcpu *pc)
{
        const struct sim_derived *k = &sim->cost;
        const double a = u->beh.mem_access_per_us;
        const uint32_t wss = u->beh.wss_kb;
        double beyond, share, stall_ps;

        if (a <= 0 || wss <= k->l2_kb)
                return 1024;
        beyond = (double)(wss - k->l2_kb) / wss;
        share = (double)llc_share(sim, pc->socket) / 1024.0;
        stall_ps = a * beyond *
                   (share * (double)k->line_ps[SIM_SRC_SOCKET] + (1.0 - share) * (double)u->sdom->mem_line_ps[pc->node]);
        return (uint32_t)(1024.0 * 1e6 / (1e6 + stall_ps));
}

/* Useful work per ns (/1024) of a thread: SMT siblings that are both busy
 * share the core, which then does (1 + smt_gain_pct%) of one thread.
 * sim->core_busy[] counts the busy threads of each core. */
static void smt_rate_init(struct isched_sim *sim)
{
        const uint32_t gain = sim->cost.smt_gain_pct;

        for (uint32_t busy = 0; busy <= 8; busy++)
                sim->smt_rate_tab[busy] = busy <= 1 ? 1024 : (uint32_t)((1024 * (100 + gain * (busy - 1))) / (100 * busy));
}

static inline uint32_t unit_rate(const struct isched_sim *sim, const struct sim_unit *u, uint32_t cpu)
{
        return (sim->smt_rate_tab[sim->core_busy[sim->pcpus[cpu].core]] * u->mem_rate) >> 10;
}

/* ---- progress of running units ---- */

/* Work a running unit has done since its last progress update, and the
 * stall it has served, without changing anything. */
static s_time_t pending_work(const struct sim_unit *u, s_time_t now, s_time_t *ret_stall)
{
        s_time_t dt = now - u->progress_at, s, done;

        *ret_stall = 0;
        if (!u->is_running || dt <= 0)
                return 0;
        s = dt < u->stall_left ? dt : u->stall_left;
        dt -= s;
        done = (dt * u->rate) >> 10;
        *ret_stall = s;
        return done > u->work_left ? u->work_left : done;
}

void sim_unit_progress(struct isched_sim *sim, struct sim_unit *u, s_time_t now)
{
        s_time_t stall, done = pending_work(u, now, &stall);

        if (!u->is_running || now <= u->progress_at)
                return;
        u->progress_at = now;
        u->stall_left -= stall;
        u->work_left -= done;
        u->sdom->pool->work_ns += (uint64_t)done;
        u->sdom->work_ns += (uint64_t)done;
}

/* When the burst of a running unit ends at its current rate and stall. */
static inline s_time_t burst_end_time(const struct sim_unit *u, s_time_t now)
{
        if (u->rate == 1024) /* full speed: no division */
                return now + u->stall_left + u->work_left;
        return now + u->stall_left + ((u->work_left << 10) + u->rate - 1) / u->rate;
}

/* The burst end of a running unit changed (new burst, rate, stall). */
static void schedule_burst_end(struct isched_sim *sim, struct sim_unit *u, s_time_t now)
{
        struct sim_pcpu *pc = &sim->pcpus[u->processor];

        pc->burst_at = burst_end_time(u, now);
        sim_cpu_timer_sync(sim, pc);
}

/* The SMT share of every unit running on the core of @p cpu changed. */
static void refresh_core(struct isched_sim *sim, uint32_t cpu, s_time_t now)
{
        const uint32_t T = sim->topo.threads, first = sim->pcpus[cpu].core * T;

        if (T == 1)
                return;
        if (T == 2) { /* the sibling: cores start at even pCPUs */
                const uint32_t c = cpu ^ 1;
                struct sim_unit *u = sim->pcpus[c].curr;
                uint32_t rate;

                if (!u)
                        return;
                rate = unit_rate(sim, u, c);
                if (rate == u->rate)
                        return;
                sim_unit_progress(sim, u, now);
                u->rate = rate;
                schedule_burst_end(sim, u, now);
                return;
        }
        for (uint32_t c = first; c < first + T; c++) {
                struct sim_unit *u = sim->pcpus[c].curr;
                uint32_t rate;

                if (!u || c == cpu) /* cpu's own unit is up to date (sim_unit_start()) or gone */
                        continue;
                rate = unit_rate(sim, u, c);
                if (rate == u->rate)
                        continue;
                sim_unit_progress(sim, u, now);
                u->rate = rate;
                schedule_burst_end(sim, u, now);
        }
}

void sim_unit_start(struct isched_sim *sim, struct sim_unit *u, struct sim_pcpu *pc, s_time_t now,
                    s_time_t overhead)
{
        struct sim_pool *pool = pc->pool;

        if (u->is_running) {
                sim_unit_progress(sim, u, now);
                u->stall_left += overhead;
                schedule_burst_end(sim, u, now);
                return;
        }
        if (u->wake_time >= 0) {
                const unsigned b = isched_latency_bucket((uint64_t)(now + overhead - u->wake_time));

                pool->cnt.wake_latency_hist[b]++;
                u->sdom->lat_hist[b]++;
                u->sdom->wakeups++;
                u->wake_time = -1;
        }
        u->stall_left = overhead + cache_refill_ns(sim, u, pc);
        if (u->last_cpu < 0 || sim->pcpus[u->last_cpu].socket != pc->socket)
                llc_move(sim, u->last_cpu < 0 ? -1 : (int)sim->pcpus[u->last_cpu].socket, (int)pc->socket,
                         u->beh.wss_kb, u->beh.wss_kb);
        u->last_cpu = (int)pc->id;
        pc->last_unit = u;
        u->is_running = true;
        u->state_entry_time = now;
        u->progress_at = now;
        pc->curr = u;
        sim->core_busy[pc->core]++;
        /* is_preemptable(): now - state_entry_time > ratelimit - CSCHED2_RATELIMIT_TICKLE_TOLERANCE */
        pc->rqd->preempt_at[pc->rq_idx] =
                MICROSECS(pool->ratelimit_us) <= CSCHED2_RATELIMIT_TICKLE_TOLERANCE
                        ? INT64_MIN
                        : now + MICROSECS(pool->ratelimit_us) - CSCHED2_RATELIMIT_TICKLE_TOLERANCE;
        pc->busy_since = now;
        u->mem_rate = mem_rate(sim, u, pc);
        u->rate = unit_rate(sim, u, pc->id);
        schedule_burst_end(sim, u, now);
        refresh_core(sim, pc->id, now);
}

void sim_unit_stop(struct isched_sim *sim, struct sim_unit *u, s_time_t now)
{
        struct sim_pcpu *pc = &sim->pcpus[u->processor];
        struct sim_pool *pool = pc->pool;

        sim_unit_progress(sim, u, now);
        u->run_ns += (uint64_t)(now - u->state_entry_time);
        u->is_running = false;
        u->state_entry_time = now;
        if (pc->curr == u) {
                pc->burst_at = NEVER; /* the caller brings the pCPU's timer up to date */
                pool->cnt.busy_ns += (uint64_t)(now - pc->busy_since);
                pc->curr = NULL;
                sim->core_busy[pc->core]--;
                pc->rqd->preempt_at[pc->rq_idx] = INT64_MAX;
                refresh_core(sim, pc->id, now);
        }
}

/* ---- behaviours ---- */

static s_time_t sample_burst(const struct isched_sim *sim, struct sim_unit *u)
{
        const struct sim_behaviour *b = &u->beh;
        s_time_t w;

        switch (b->kind) {
        case SIM_KIND_IO:
        case SIM_KIND_CHAIN:
                w = rng_exp(sim, &u->rng, b->burst_ns);
                break;
        case SIM_KIND_CPU:
        case SIM_KIND_CACHE:
                w = b->sleep_ns ? (s_time_t)((0.5 + rng_uniform(&u->rng)) * (double)b->burst_ns)
                                : b->burst_ns;
                break;
        case SIM_KIND_FORKJOIN: /* a job: uniform in 0.5-1.5x the mean */
                w = (s_time_t)((0.5 + rng_uniform(&u->rng)) * (double)b->burst_ns);
                break;
        default:
                w = b->burst_ns;
                break;
        }
        return w < 1000 ? 1000 : w;
}

static s_time_t onoff_offset(const struct sim_unit *u)
{
        const s_time_t period = u->beh.on_ns + u->beh.off_ns;

        /* Domains are out of phase with each other; vCPUs of a domain are in phase. */
        return (s_time_t)((u->sdom->id * 0x9e3779b97f4a7c15ull) % (uint64_t)period);
}

/* For on/off units: 0 if on now, else how long until the next on period. */
static s_time_t onoff_wait(const struct sim_unit *u, s_time_t now)
{
        const s_time_t period = u->beh.on_ns + u->beh.off_ns;
        const s_time_t pos = (now + onoff_offset(u)) % period;

        return pos < u->beh.on_ns ? 0 : period - pos;
}

/* Arm a blocked unit's wake-up; @p waker is the pCPU whose interrupt or
 * event-channel send wakes it (it takes the runqueue lock). */
static void schedule_wake(struct isched_sim *sim, struct sim_unit *u, s_time_t when, uint32_t waker)
{
        u->wake_pending = true;
        u->waker_cpu = waker;
        sim_timer_set(sim, sim_slot_wake(sim, u->id), when);
}

/* When a blocked unit should next wake given its behaviour, or NEVER
 * (idle, a chain unit waiting for a token, a forkjoin unit waiting for
 * the next step). */
static s_time_t next_wake(const struct isched_sim *sim, struct sim_unit *u, s_time_t now)
{
        switch (u->beh.kind) {
        case SIM_KIND_IDLE:
                return NEVER;
        case SIM_KIND_CHAIN:
                return u->tokens ? now + sim->cost.evtchn_ns : NEVER;
        case SIM_KIND_FORKJOIN: /* a job's I/O, else woken by the next step */
                return u->has_job ? now + rng_exp(sim, &u->rng, u->beh.sleep_ns) : NEVER;
        case SIM_KIND_ONOFF: {
                s_time_t w = onoff_wait(u, now);

                return now + (w ? w : rng_exp(sim, &u->rng, u->beh.sleep_ns ? u->beh.sleep_ns : 1000));
        }
        default:
                return now + rng_exp(sim, &u->rng, u->beh.sleep_ns);
        }
}

static void block_unit(struct isched_sim *sim, struct sim_unit *u, s_time_t now)
{
        s_time_t w = next_wake(sim, u, now);

        u->blocked = true;
        csched2_unit_sleep(sim, u, now);
        if (w != NEVER)
                schedule_wake(sim, u, w, u->processor);
}

/* A chain unit hands an item on, through an event channel sent from
 * @p from_cpu: to the next vCPU of its domain, or to the domain "next"
 * names (its vCPUs in turn). */
static void give_token(struct isched_sim *sim, struct sim_unit *from, uint32_t from_cpu, s_time_t now)
{
        struct sim_dom *d = from->sdom;
        struct sim_unit *to;

        if (from->beh.next_dom >= 0) {
                struct sim_dom *nd = &sim->doms[from->beh.next_dom];

                to = nd->units[nd->rr++ % nd->nr_units];
        } else {
                to = d->units[(from->vcpu_id + 1) % d->nr_units];
        }
        to->tokens++;
        if (to->blocked && !to->wake_pending && to->beh.kind == SIM_KIND_CHAIN)
                schedule_wake(sim, to, now + sim->cost.evtchn_ns, from_cpu);
}

/* forkjoin: a step of jobs starts; its vCPUs waiting for one are woken
 * from @p cpu (the one that finished the step). */
static void forkjoin_step(struct isched_sim *sim, struct sim_dom *d, uint32_t cpu, s_time_t now)
{
        d->fj_left = d->units[0]->beh.jobs ? d->units[0]->beh.jobs : d->nr_units;
        d->fj_running = 0;
        for (uint32_t i = 0; i < d->nr_units; i++) {
                struct sim_unit *u = d->units[i];

                if (u->beh.kind == SIM_KIND_FORKJOIN && u->blocked && !u->wake_pending)
                        schedule_wake(sim, u, now + sim->cost.evtchn_ns, cpu);
        }
}

/* forkjoin: take the next job of the step, if any is left and fewer than
 * "parallel" run (make -j). */
static bool forkjoin_take(const struct isched_sim *sim, struct sim_unit *u)
{
        struct sim_dom *d = u->sdom;
        const uint32_t parallel = u->beh.parallel ? u->beh.parallel : d->nr_units;

        if (!d->fj_left || d->fj_running >= parallel)
                return false;
        d->fj_left--;
        d->fj_running++;
        u->has_job = true;
        u->work_left = sample_burst(sim, u);
        return true;
}

/* forkjoin: a job (or the serial part) is done.  The last job of a step
 * is followed by the serial part (on the vCPU that finished it), and that
 * by the next step.  A vCPU goes on with the next job of the step; a job
 * with I/O (sleep_us) blocks for it before it computes.  Returns whether
 * the unit computes at once. */
static bool forkjoin_done(struct isched_sim *sim, struct sim_unit *u, s_time_t now)
{
        struct sim_dom *d = u->sdom;

        if (u->has_job) {
                u->has_job = false;
                d->fj_running--;
                if (d->fj_serial) {
                        d->fj_serial = false;
                        forkjoin_step(sim, d, u->processor, now);
                } else if (!d->fj_left && !d->fj_running) {
                        if (u->beh.serial_ns) {
                                d->fj_serial = true;
                                d->fj_running = 1;
                                u->has_job = true;
                                u->work_left = u->beh.serial_ns;
                                return true;
                        }
                        forkjoin_step(sim, d, u->processor, now);
                }
        }
        if (!forkjoin_take(sim, u))
                return false;
        return u->beh.sleep_ns == 0;
}

static void burst_end(struct isched_sim *sim, struct sim_unit *u, s_time_t now)
{
        bool again;

        sim_unit_progress(sim, u, now);
        if (u->work_left > 0 || u->stall_left > 0) { /* rounding: a few ns left */
                schedule_burst_end(sim, u, now);
                return;
        }
        switch (u->beh.kind) {
        case SIM_KIND_CHAIN:
                give_token(sim, u, u->processor, now);
                if (u->tokens)
                        u->tokens--;
                again = u->tokens > 0;
                break;
        case SIM_KIND_FORKJOIN:
                again = forkjoin_done(sim, u, now);
                break;
        case SIM_KIND_ONOFF:
                again = u->beh.sleep_ns == 0 && onoff_wait(u, now) == 0;
                break;
        case SIM_KIND_IDLE:
                again = false;
                break;
        default:
                again = u->beh.sleep_ns == 0;
                break;
        }
        if (again) {
                if (u->beh.kind != SIM_KIND_FORKJOIN)
                        u->work_left = sample_burst(sim, u);
                schedule_burst_end(sim, u, now);
        } else {
                struct sim_pcpu *pc = &sim->pcpus[u->processor];
                block_unit(sim, u, now);
                /* csched2_unit_sleep() tickled this pCPU for now: its
                 * SCHEDULE_SOFTIRQ runs at once, before anything else. */
                if (pc->sched_at == now) {
                        pc->sched_at = NEVER;
                        sim->events++;
                        csched2_schedule(sim, pc, now);
                }
        }
}

static void wake_unit(struct isched_sim *sim, struct sim_unit *u, s_time_t now)
{
        struct sim_pool *pool = u->sdom->pool;

        u->wake_pending = false;
        if (!u->blocked)
                return;
        if (u->beh.kind == SIM_KIND_IDLE || (u->beh.kind == SIM_KIND_CHAIN && !u->tokens))
                return;
        if (u->beh.kind == SIM_KIND_ONOFF && onoff_wait(u, now)) {
                schedule_wake(sim, u, now + onoff_wait(u, now), u->processor);
                return;
        }
        if (u->beh.kind == SIM_KIND_FORKJOIN) {
                if (!u->has_job && !forkjoin_take(sim, u))
                        return; /* nothing for it in this step: wait for the next */
        } else {
                u->work_left = sample_burst(sim, u);
        }
        u->blocked = false;
        u->wake_time = now;
        pool->cnt.wakeups++;
        csched2_unit_wake(sim, u, u->waker_cpu, now);
}

static void apply_behaviour(struct isched_sim *sim, struct sim_unit *u, const struct sim_behaviour *b,
                            s_time_t now)
{
        const bool was_chain = u->beh.kind == SIM_KIND_CHAIN;

        if (u->last_cpu >= 0 && b->wss_kb != u->beh.wss_kb) {
                const int sock = (int)sim->pcpus[u->last_cpu].socket;

                llc_move(sim, sock, sock, u->beh.wss_kb, b->wss_kb);
        }
        if (u->has_job && b->kind != SIM_KIND_FORKJOIN) {
                u->has_job = false;
                u->sdom->fj_running--;
        }
        u->beh = *b;
        if (b->kind == SIM_KIND_CHAIN && !was_chain)
                u->tokens = u->vcpu_id == 0 ? b->tokens : 0;
        if (u->blocked && !u->wake_pending) {
                s_time_t w = next_wake(sim, u, now);

                if (w != NEVER)
                        schedule_wake(sim, u, w, u->processor);
        }
}

/* A phase gives every domain its behaviour ("inherit" was resolved when
 * the workload was read); a domain whose behaviour is the same goes on
 * undisturbed. */
static void start_phase(struct isched_sim *sim, s_time_t now)
{
        const struct sim_wl_phase *ph = &sim->wl.phases[sim->phase];

        for (uint32_t d = 0; d < sim->nr_doms; d++) {
                struct sim_dom *sdom = &sim->doms[d];
                const bool was_fj = sdom->units[0]->beh.kind == SIM_KIND_FORKJOIN;

                if (memcmp(&sdom->units[0]->beh, &ph->beh[d], sizeof(ph->beh[d])) == 0)
                        continue;
                for (uint32_t i = 0; i < sdom->nr_units; i++)
                        apply_behaviour(sim, sdom->units[i], &ph->beh[d], now);
                if (ph->beh[d].kind == SIM_KIND_FORKJOIN && !was_fj)
                        forkjoin_step(sim, sdom, sdom->units[0]->processor, now);
        }
        sim_timer_set(sim, sim_slot_phase(sim), now + ph->duration_ns);
}

/* ---- the event loop ---- */

static void dispatch(struct isched_sim *sim, uint32_t slot)
{
        const uint32_t nc = sim->topo.nr_cpus, nu = sim->nr_units;

        if (slot < nc) {
                struct sim_pcpu *pc = &sim->pcpus[slot];
                const s_time_t now = sim->now;

                /* The unit's burst first, then the scheduler: a burst
                 * that ends as the timeslice does blocks first. */
                if (pc->burst_at <= now && pc->curr) {
                        pc->burst_at = NEVER;
                        burst_end(sim, pc->curr, now);
                }
                if (pc->sched_at <= now) {
                        pc->sched_at = NEVER;
                        csched2_schedule(sim, pc, now);
                }
                /* The slot now holds what is due next (it is left in the
                 * heap at time now if something is due at once). */
                sim_cpu_timer_sync(sim, pc);
        } else if (slot < nc + nu) {
                wake_unit(sim, &sim->units[slot - nc], sim->now);
        } else if (slot < nc + nu + sim->nr_doms) {
                const uint32_t d = slot - nc - nu;

                csched2_replenish(sim, &sim->doms[d], sim->now);
                sim_timer_set(sim, slot, sim->now + CSCHED2_BDGT_REPL_PERIOD);
        } else {
                sim->phase = (sim->phase + 1) % sim->wl.nr_phases;
                start_phase(sim, sim->now);
        }
}

ISCHED_EXPORT int isched_sim_run(struct isched_sim *sim, uint64_t duration_ns)
{
        s_time_t end;

        if (!sim)
                return isched__error(-EINVAL, "isched_sim_run: NULL simulation");
        if (sim->failed)
                return isched__error(-ENOMEM, "the simulation ran out of memory earlier and cannot continue");
        if (duration_ns > (uint64_t)(INT64_MAX / 4) - (uint64_t)sim->now)
                return isched__error(-EINVAL, "isched_sim_run: duration %llu ns is too long",
                                     (unsigned long long)duration_ns);
        end = sim->now + (s_time_t)duration_ns;
        for (;;) {
                uint32_t slot, armed;

                if (!evq_first(&sim->evq, &slot) || sim->evq.ts[slot].time > end)
                        break;
                armed = sim->evq.ts[slot].armed;
                sim->now = sim->evq.ts[slot].time;
                sim->evq.cur = (uint64_t)sim->now >> SIM_WHEEL_SHIFT;
                sim->events++;
                /* The slot stays armed while it fires: most handlers
                 * re-arm their own timer. */
                dispatch(sim, slot);
                /* A pCPU's slot is always in sync (sim_cpu_timer_sync());
                 * any other slot that its handler did not re-arm is done. */
                if (slot >= sim->topo.nr_cpus && sim->evq.ts[slot].armed == armed)
                        sim_timer_cancel(sim, slot);
                if (sim->failed)
                        return isched__error(-ENOMEM, "out of memory growing the simulator's event queue");
        }
        sim->now = end;
        return 0;
}

/* ---- construction ---- */

/* Reads a JSON file of at most @p max_len bytes.  A NUL byte would end the
 * text the parser sees early, and what follows it would be ignored: refused. */
static int read_json_file(const char *path, size_t max_len, const char *what, char **ret_text)
{
        char *text = NULL;
        size_t len = 0;
        int r = isched__read_file(path, max_len, &text, &len);

        if (r < 0)
                return r == -EFBIG ? isched__error(r, "%s file %s is larger than %zu MiB", what, path, max_len >> 20)
                                   : r;
        if (strlen(text) != len) {
                r = isched__error(-EINVAL, "%s: not valid JSON: a NUL byte at byte %zu", path, strlen(text));
                free(text);
                return r;
        }
        *ret_text = text;
        return 0;
}

static int load_workload(const struct isched_sim_config *cfg, struct sim_workload *wl)
{
        char *text = NULL;
        int given = !!cfg->scenario + !!cfg->workload_path + !!cfg->workload_json;
        int r;

        if (given > 1)
                return isched__error(-EINVAL, "give at most one of a scenario, a workload file and workload JSON");
        if (cfg->workload_path) {
                r = read_json_file(cfg->workload_path, 4u << 20, "workload", &text);
                if (r < 0)
                        return r;
                r = sim_workload_parse(text, cfg->workload_path, wl);
                free(text);
                return r;
        }
        if (cfg->workload_json)
                return sim_workload_parse(cfg->workload_json, "workload", wl);
        {
                const char *name = cfg->scenario ? cfg->scenario : "phased";
                const char *json = sim_builtin_json(name);

                if (!json)
                        return isched__error(-ENOENT, "unknown scenario '%s' (isched sim --list names them)", name);
                return sim_workload_parse(json, name, wl);
        }
}

/* The costs: the defaults with the workload's "costs", then the
 * configuration's costs file or JSON on top. */
static int load_costs(const struct isched_sim_config *cfg, const struct sim_workload *wl, struct sim_costs *ret)
{
        struct sim_costs c = wl->costs;
        int r = 0;

        if (cfg->costs_path && cfg->costs_json)
                return isched__error(-EINVAL, "give at most one of a costs file and costs JSON");
        if (cfg->costs_path) {
                char *text = NULL;

                r = read_json_file(cfg->costs_path, 1u << 20, "costs", &text);
                if (r < 0)
                        return r;
                r = sim_costs_parse(&c, text, cfg->costs_path);
                free(text);
        } else if (cfg->costs_json) {
                r = sim_costs_parse(&c, cfg->costs_json, "costs");
        }
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

/* Where each domain's memory is, and what a line of it costs from each
 * node.  "auto" is libxl's automatic placement (numa_place_domain() in
 * tools/libs/light/libxl_dom.c): the fewest nodes of the pool whose pCPUs
 * are at least the domain's vCPUs, among them those with the fewest vCPUs
 * placed already (numa_cmpf()), memory spread over them; "interleave"
 * spreads it over all the pool's nodes; a number puts it on that node.
 * Within a node of several sockets, memory is spread over the sockets'
 * controllers: a line is local only if it is on the pCPU's socket. */
static int place_memory(struct isched_sim *sim)
{
        const uint32_t nodes = sim->topo.nodes, S = sim->topo.sockets;
        const struct sim_derived *k = &sim->cost;
        uint32_t *vcpus_on = calloc(nodes, sizeof(*vcpus_on)), *cpus_on = calloc(nodes, sizeof(*cpus_on));
        bool *on = calloc(nodes, sizeof(*on));
        int r = 0;

        if (!vcpus_on || !cpus_on || !on) {
                r = -ENOMEM;
                goto out;
        }
        for (uint32_t d = 0; d < sim->nr_doms; d++) {
                struct sim_dom *sdom = &sim->doms[d];
                const struct sim_pool *pool = sdom->pool;
                uint32_t pool_nodes = 0, want = 0, chosen = 0, per_node = 0;

                memset(cpus_on, 0, nodes * sizeof(*cpus_on));
                for (uint32_t i = 0; i < pool->nr_cpus; i++)
                        cpus_on[sim->pcpus[pool->cpus[i]].node]++;
                for (uint32_t n = 0; n < nodes; n++) {
                        on[n] = false;
                        if (cpus_on[n]) {
                                pool_nodes++;
                                per_node = cpus_on[n] > per_node ? cpus_on[n] : per_node;
                        }
                }
                if (sdom->wl->memory >= 0) {
                        if ((uint32_t)sdom->wl->memory >= nodes) {
                                r = isched__error(-EINVAL, "domains[%u].memory: node %d does not exist (the topology has %u)",
                                                  d, sdom->wl->memory, nodes);
                                goto out;
                        }
                        on[sdom->wl->memory] = true;
                        chosen = 1;
                } else {
                        want = sdom->wl->memory == SIM_MEMORY_INTERLEAVE ? pool_nodes
                                                                         : (sdom->nr_units + per_node - 1) / per_node;
                        if (want > pool_nodes)
                                want = pool_nodes;
                        /* The nodes with the fewest vCPUs placed, lowest first on ties. */
                        for (; chosen < want; chosen++) {
                                int best = -1;

                                for (uint32_t n = 0; n < nodes; n++)
                                        if (cpus_on[n] && !on[n] && (best < 0 || vcpus_on[n] < vcpus_on[best]))
                                                best = (int)n;
                                on[best] = true;
                        }
                }
                for (uint32_t n = 0; n < nodes; n++)
                        if (on[n])
                                vcpus_on[n] += sdom->nr_units / chosen;
                /* From node n, a fraction 1/(chosen*S) of the lines is on its own socket's controller when n holds memory. */
                for (uint32_t n = 0; n < nodes; n++) {
                        const double local = on[n] ? 1.0 / ((double)chosen * S) : 0.0;

                        sdom->mem_line_ps[n] = llround(local * (double)k->line_ps[SIM_SRC_MEM_LOCAL] +
                                                       (1.0 - local) * (double)k->line_ps[SIM_SRC_MEM_REMOTE]);
                }
        }
out:
        free(vcpus_on);
        free(cpus_on);
        free(on);
        return r == -ENOMEM ? isched__error(r, "out of memory placing memory") : r;
}

static int build_pools(struct isched_sim *sim)
{
        uint32_t next = 0;

        sim->nr_pools = sim->wl.nr_pools;
        sim->pools = calloc(sim->nr_pools, sizeof(*sim->pools));
        if (!sim->pools)
                return -ENOMEM;
        for (uint32_t p = 0; p < sim->nr_pools; p++) {
                struct sim_pool *pool = &sim->pools[p];
                uint32_t n = sim->wl.pools[p].nr_cpus;

                if (n == 0)
                        n = sim->topo.nr_cpus > next ? sim->topo.nr_cpus - next : 0;
                if (n == 0 || next + n > sim->topo.nr_cpus)
                        return isched__error(-EINVAL,
                                             "pools[%u].cpus: pool '%s' wants %u CPUs but only %u of the topology's %u are left",
                                             p, sim->wl.pools[p].name, n, sim->topo.nr_cpus - next,
                                             sim->topo.nr_cpus);
                pool->id = p;
                snprintf(pool->name, sizeof(pool->name), "%s", sim->wl.pools[p].name);
                pool->cpus = calloc(n, sizeof(uint32_t));
                if (!pool->cpus)
                        return -ENOMEM;
                for (uint32_t i = 0; i < n; i++) {
                        pool->cpus[i] = next + i;
                        sim->pcpus[next + i].pool = pool;
                }
                pool->nr_cpus = n;
                next += n;
                csched2_pool_init(sim, pool);
                for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                        uint32_t *tmp = calloc(n, sizeof(uint32_t));

                        if (!tmp)
                                return -ENOMEM;
                        pool->nr_rqs_by_arr[a] = sim_build_runqueues(&sim->topo, (enum isched_arrangement)a,
                                                                     pool->cpus, n, tmp);
                        free(tmp);
                }
        }
        return 0;
}

static int build_domains(struct isched_sim *sim)
{
        uint32_t total = 0, k = 0;

        for (uint32_t d = 0; d < sim->wl.nr_domains; d++)
                total += sim->wl.domains[d].nr_vcpus;
        sim->nr_doms = sim->wl.nr_domains;
        sim->doms = calloc(sim->nr_doms ? sim->nr_doms : 1, sizeof(*sim->doms));
        sim->units = calloc(total ? total : 1, sizeof(*sim->units));
        if (!sim->doms || !sim->units)
                return -ENOMEM;
        sim->nr_units = total;
        for (uint32_t p = 0; p < sim->nr_pools; p++) {
                sim->pools[p].doms = calloc(sim->nr_doms ? sim->nr_doms : 1, sizeof(struct sim_dom *));
                if (!sim->pools[p].doms)
                        return -ENOMEM;
        }
        for (uint32_t d = 0; d < sim->nr_doms; d++) {
                const struct sim_wl_domain *wd = &sim->wl.domains[d];
                struct sim_dom *sdom = &sim->doms[d];
                struct sim_pool *pool = &sim->pools[wd->pool];

                sdom->id = d;
                sdom->pool = pool;
                sdom->wl = wd;
                sdom->weight = wd->weight;
                sdom->cap = wd->cap;
                sdom->units = calloc(wd->nr_vcpus, sizeof(struct sim_unit *));
                sdom->lat_hist = calloc(ISCHED_LATENCY_BUCKETS, sizeof(*sdom->lat_hist));
                sdom->mem_line_ps = calloc(sim->topo.nodes, sizeof(*sdom->mem_line_ps));
                if (!sdom->units || !sdom->lat_hist || !sdom->mem_line_ps)
                        return -ENOMEM;
                sdom->nr_units = wd->nr_vcpus;
                if (sdom->cap) {
                        sdom->tot_budget = CSCHED2_BDGT_REPL_PERIOD * (s_time_t)sdom->cap / 100;
                        sdom->budget = sdom->tot_budget;
                }
                pool->doms[pool->nr_doms++] = sdom;
                pool->nr_units += wd->nr_vcpus;
                for (uint32_t i = 0; i < wd->nr_vcpus; i++, k++) {
                        struct sim_unit *u = &sim->units[k];

                        u->id = k;
                        u->vcpu_id = i;
                        u->sdom = sdom;
                        u->credit = (int)CSCHED2_CREDIT_INIT;
                        u->weight = sdom->weight;
                        u->budget = INT64_MAX;
                        if (sdom->cap) {
                                s_time_t q = sdom->tot_budget / (s_time_t)wd->nr_vcpus;

                                u->budget = 0;
                                u->budget_quota = q > CSCHED2_MIN_TIMER ? q : CSCHED2_MIN_TIMER;
                        }
                        /* csched2_alloc_udata(): "Starting load of 50%" */
                        u->avgload = 1LL << (LOADAVG_PRECISION_SHIFT - 1);
                        u->tickled_cpu = -1;
                        u->blocked = true;
                        u->wake_time = -1;
                        u->last_cpu = -1;
                        u->rng = sim->seed ^ (0x9e3779b97f4a7c15ull * (k + 1));
                        u->beh = wd->beh;
                        u->mem_rate = 1024;
                        if (u->beh.kind == SIM_KIND_CHAIN)
                                u->tokens = i == 0 ? u->beh.tokens : 0;
                        sdom->units[i] = u;
                }
        }
        return 0;
}

ISCHED_EXPORT int isched_sim_config_init(struct isched_sim_config *config)
{
        if (!config)
                return isched__error(-EINVAL, "isched_sim_config_init: NULL config");
        memset(config, 0, sizeof(*config));
        config->size = sizeof(*config);
        config->seed = 1;
        config->arrangement = ISCHED_ARR_SOCKET;
        return 0;
}

ISCHED_EXPORT int isched_sim_new(const struct isched_sim_config *config, struct isched_sim **ret_sim)
{
        struct isched_sim *sim;
        int r;

        if (!config || !ret_sim)
                return isched__error(-EINVAL, "isched_sim_new: config and ret_sim are required");
        if (config->size < sizeof(struct isched_sim_config))
                return isched__error(-EINVAL, "sim config size %zu is smaller than this library's %zu",
                                     config->size, sizeof(struct isched_sim_config));
        if (config->set_arrangement && (unsigned)config->arrangement >= ISCHED_ARR_COUNT)
                return isched__error(-EINVAL, "invalid arrangement %d: use cpu, core, socket, node or all",
                                     (int)config->arrangement);
        sim = calloc(1, sizeof(*sim));
        if (!sim)
                return isched__error(-ENOMEM, "out of memory creating the simulator");
        sim->seed = config->seed;
        r = load_workload(config, &sim->wl);
        if (r < 0)
                goto fail;
        r = load_costs(config, &sim->wl, &sim->costs);
        if (r < 0)
                goto fail;
        sim_costs_derive(&sim->costs, &sim->cost);
        smt_rate_init(sim);
        zig_init(&sim->zig);
        r = sim_topology_parse(config->topology ? config->topology : sim->wl.topology, &sim->topo);
        if (r < 0)
                goto fail;
        sim->pcpus = calloc(sim->topo.nr_cpus, sizeof(*sim->pcpus));
        sim->core_busy = calloc(sim->topo.nr_cpus, sizeof(*sim->core_busy));
        sim->llc_occ_kb = calloc(sim->topo.nodes * sim->topo.sockets, sizeof(*sim->llc_occ_kb));
        if (!sim->pcpus || !sim->core_busy || !sim->llc_occ_kb) {
                r = -ENOMEM;
                goto fail;
        }
        for (uint32_t c = 0; c < sim->topo.nr_cpus; c++) {
                sim->pcpus[c].id = c;
                sim->pcpus[c].core = sim_cpu_core(&sim->topo, c);
                sim->pcpus[c].socket = sim_cpu_socket(&sim->topo, c);
                sim->pcpus[c].node = sim_cpu_node(&sim->topo, c);
                sim->pcpus[c].sched_at = NEVER;
                sim->pcpus[c].burst_at = NEVER;
        }
        if (sim->topo.nr_cpus <= SIM_DIST_TABLE_CPUS) {
                const uint32_t n = sim->topo.nr_cpus;

                sim->dist = malloc((size_t)n * n);
                if (!sim->dist) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (uint32_t a = 0; a < n; a++)
                        for (uint32_t b = 0; b < n; b++)
                                sim->dist[a * n + b] = (uint8_t)pcpu_dist_slow(sim, a, b);
        }
        r = build_pools(sim);
        if (r < 0)
                goto fail;
        r = build_domains(sim);
        if (r < 0)
                goto fail;
        r = place_memory(sim);
        if (r < 0)
                goto fail;
        r = evq_init(&sim->evq, sim->topo.nr_cpus + sim->nr_units + sim->nr_doms + 1);
        if (r < 0)
                goto fail;
        for (uint32_t p = 0; p < sim->nr_pools; p++) {
                csched2_pool_build(sim, &sim->pools[p],
                                   config->set_arrangement ? config->arrangement : ISCHED_ARR_SOCKET);
                if (sim->failed) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        /* Domains are created (csched2_unit_insert) and then unpaused:
         * every vCPU wakes within the first millisecond. */
        for (uint32_t k = 0; k < sim->nr_units; k++) {
                struct sim_unit *u = &sim->units[k];

                csched2_unit_insert(sim, u, 0);
                if (u->beh.kind != SIM_KIND_IDLE && (u->beh.kind != SIM_KIND_CHAIN || u->tokens))
                        schedule_wake(sim, u, (s_time_t)(rng_uniform(&u->rng) * 1e6), u->processor);
        }
        for (uint32_t d = 0; d < sim->nr_doms; d++) {
                struct sim_dom *sdom = &sim->doms[d];

                /* forkjoin: the first step's jobs wait for the vCPUs. */
                if (sdom->units[0]->beh.kind == SIM_KIND_FORKJOIN)
                        sdom->fj_left = sdom->units[0]->beh.jobs ? sdom->units[0]->beh.jobs : sdom->nr_units;
                /* A cap's budget period starts when the cap is set
                 * (csched2_dom_cntl(): next_repl = NOW() + period): at a
                 * random time of the first period, different per domain. */
                if (sdom->cap) {
                        uint64_t rs = sim->seed ^ (0xc2b2ae3d27d4eb4full * (d + 1));
                        const s_time_t phase = (s_time_t)(rng_uniform(&rs) * (double)CSCHED2_BDGT_REPL_PERIOD);

                        sim_timer_set(sim, sim_slot_repl(sim, d), phase > 0 ? phase : 1);
                }
        }
        if (sim->wl.nr_phases) {
                sim->phase = 0;
                start_phase(sim, 0);
        }
        if (sim->failed) {
                r = -ENOMEM;
                goto fail;
        }
        *ret_sim = sim;
        return 0;
fail:
        isched_sim_free(sim);
        if (r == -ENOMEM)
                return isched__error(r, "out of memory building the simulation");
        return r;
}

ISCHED_EXPORT struct isched_sim *isched_sim_free(struct isched_sim *sim)
{
        if (!sim)
                return NULL;
        for (uint32_t p = 0; p < sim->nr_pools; p++) {
                struct sim_pool *pool = &sim->pools[p];

                for (uint32_t r = 0; r < pool->nr_rqs; r++) {
                        free(pool->rqs[r].cpus);
                        free(pool->rqs[r].preempt_at);
                }
                free(pool->rqs);
                free(pool->cpus);
                free(pool->doms);
        }
        for (uint32_t d = 0; d < sim->nr_doms; d++) {
                free(sim->doms[d].units);
                free(sim->doms[d].lat_hist);
                free(sim->doms[d].mem_line_ps);
        }
        free(sim->pools);
        free(sim->doms);
        free(sim->units);
        free(sim->pcpus);
        free(sim->dist);
        free(sim->core_busy);
        free(sim->llc_occ_kb);
        evq_free(&sim->evq);
        sim_workload_clear(&sim->wl);
        free(sim);
        return NULL;
}

/* ---- queries ---- */

static struct sim_pool *find_pool(const struct isched_sim *sim, uint32_t pool_id)
{
        if (pool_id >= sim->nr_pools) {
                isched__error(-ENOENT, "no cpupool with id %u in the simulation (it has %u)", pool_id,
                              sim->nr_pools);
                return NULL;
        }
        return &sim->pools[pool_id];
}

ISCHED_EXPORT int isched_sim_get_time(const struct isched_sim *sim, uint64_t *ret_now_ns)
{
        if (!sim || !ret_now_ns)
                return isched__error(-EINVAL, "isched_sim_get_time: NULL argument");
        *ret_now_ns = (uint64_t)sim->now;
        return 0;
}

ISCHED_EXPORT int isched_sim_pool_count(const struct isched_sim *sim, uint32_t *ret_n)
{
        if (!sim || !ret_n)
                return isched__error(-EINVAL, "isched_sim_pool_count: NULL argument");
        *ret_n = sim->nr_pools;
        return 0;
}

ISCHED_EXPORT int isched_sim_pool_info(const struct isched_sim *sim, uint32_t pool_id,
                                       struct isched_pool_info *ret_info)
{
        const struct sim_pool *pool;
        struct isched_pool_info info;

        if (!sim || !ret_info)
                return isched__error(-EINVAL, "isched_sim_pool_info: NULL argument");
        pool = find_pool(sim, pool_id);
        if (!pool)
                return -ENOENT;
        memset(&info, 0, sizeof(info));
        info.id = pool->id;
        snprintf(info.name, sizeof(info.name), "%s", pool->name);
        snprintf(info.scheduler, sizeof(info.scheduler), "credit2");
        info.nr_pcpus = pool->nr_cpus;
        info.arrangement = pool->arrangement;
        info.can_switch = true;
        memcpy(info.nr_runqueues, pool->nr_rqs_by_arr, sizeof(info.nr_runqueues));
        *ret_info = info;
        return 0;
}

ISCHED_EXPORT int isched_sim_read_counters(struct isched_sim *sim, uint32_t pool_id,
                                           struct isched_counters *ret_counters)
{
        struct sim_pool *pool;
        struct isched_counters c;
        uint64_t busy = 0, capacity;

        if (!sim || !ret_counters)
                return isched__error(-EINVAL, "isched_sim_read_counters: NULL argument");
        pool = find_pool(sim, pool_id);
        if (!pool)
                return -ENOENT;
        uint64_t work_ns = pool->work_ns;

        c = pool->cnt;
        /* Reading must not change the simulation: what running units did
         * since their last update is added here, not recorded. */
        for (uint32_t i = 0; i < pool->nr_cpus; i++) {
                const struct sim_pcpu *pc = &sim->pcpus[pool->cpus[i]];
                s_time_t stall;

                if (pc->curr) {
                        work_ns += (uint64_t)pending_work(pc->curr, sim->now, &stall);
                        busy += (uint64_t)(sim->now - pc->busy_since);
                }
        }
        /* Runnable units waiting on a runqueue right now count too. */
        for (uint32_t r = 0; r < pool->nr_rqs; r++)
                for (const struct sim_unit *u = pool->rqs[r].runq; u; u = u->runq_next)
                        if (sim->now > u->runnable_since)
                                c.runnable_wait_ns += (uint64_t)(sim->now - u->runnable_since);
        c.version = ISCHED_COUNTERS_VERSION;
        c.valid = ISCHED_CNT_BUSY | ISCHED_CNT_GUEST | ISCHED_CNT_WAIT | ISCHED_CNT_WAKEUPS |
                  ISCHED_CNT_LATENCY | ISCHED_CNT_CSWITCH | ISCHED_CNT_MIGRATIONS | ISCHED_CNT_BALANCE |
                  ISCHED_CNT_WORK;
        c.timestamp_ns = (uint64_t)sim->now;
        c.nr_pcpus = pool->nr_cpus;
        c.nr_vcpus = pool->nr_units;
        c.arrangement = pool->arrangement;
        /* Guest time is the time vCPUs ran (Xen's runstate "running",
         * which contains the scheduling overhead on their pCPU); busy is
         * the same (a live switch does not stop the guests). */
        c.guest_ns = c.busy_ns + busy;
        c.busy_ns = c.guest_ns;
        capacity = (uint64_t)sim->now * pool->nr_cpus;
        if (c.busy_ns > capacity)
                c.busy_ns = capacity;
        c.idle_ns = capacity - c.busy_ns;
        c.work_units = work_ns / 1000;
        *ret_counters = c;
        return 0;
}

ISCHED_EXPORT int isched_sim_get_arrangement(const struct isched_sim *sim, uint32_t pool_id,
                                             enum isched_arrangement *ret_arrangement)
{
        const struct sim_pool *pool;

        if (!sim || !ret_arrangement)
                return isched__error(-EINVAL, "isched_sim_get_arrangement: NULL argument");
        pool = find_pool(sim, pool_id);
        if (!pool)
                return -ENOENT;
        *ret_arrangement = pool->arrangement;
        return 0;
}

ISCHED_EXPORT int isched_sim_set_arrangement(struct isched_sim *sim, uint32_t pool_id,
                                             enum isched_arrangement arrangement)
{
        struct sim_pool *pool;

        if (!sim)
                return isched__error(-EINVAL, "isched_sim_set_arrangement: NULL simulation");
        if ((unsigned)arrangement >= ISCHED_ARR_COUNT)
                return isched__error(-EINVAL, "invalid arrangement %d: use cpu, core, socket, node or all",
                                     (int)arrangement);
        if (sim->failed)
                return isched__error(-ENOMEM, "the simulation ran out of memory earlier and cannot continue");
        pool = find_pool(sim, pool_id);
        if (!pool)
                return -ENOENT;
        if (pool->arrangement == arrangement)
                return 0;
        return csched2_switch_arrangement(sim, pool, arrangement, sim->now);
}

ISCHED_EXPORT int isched_sim_get_stats(const struct isched_sim *sim, uint32_t pool_id,
                                       struct isched_sim_stats *ret_stats)
{
        const struct sim_pool *pool;
        struct isched_sim_stats s;

        if (!sim || !ret_stats)
                return isched__error(-EINVAL, "isched_sim_get_stats: NULL argument");
        if (ret_stats->size < sizeof(s))
                return isched__error(-EINVAL, "isched_sim_get_stats: stats size %zu is smaller than this library's %zu",
                                     ret_stats->size, sizeof(s));
        pool = find_pool(sim, pool_id);
        if (!pool)
                return -ENOENT;
        memset(&s, 0, sizeof(s));
        s.size = sizeof(s);
        s.events = sim->events;
        s.nr_runqueues = pool->nr_rqs;
        s.sched_calls = pool->sched_calls;
        s.credit_resets = pool->credit_resets;
        s.lock_ops = pool->lock_ops;
        s.lock_wait_ns = pool->lock_wait_ns;
        s.switches = pool->switches;
        s.trylocks = pool->trylocks;
        s.trylock_fails = pool->trylock_fails;
        *ret_stats = s;
        return 0;
}

ISCHED_EXPORT int isched_sim_domain_count(const struct isched_sim *sim, uint32_t *ret_n)
{
        if (!sim || !ret_n)
                return isched__error(-EINVAL, "isched_sim_domain_count: NULL argument");
        *ret_n = sim->nr_doms;
        return 0;
}

ISCHED_EXPORT int isched_sim_domain_info(const struct isched_sim *sim, uint32_t index,
                                         struct isched_sim_domain_info *ret_info)
{
        struct isched_sim_domain_info info;
        const struct sim_dom *d;
        uint64_t work_ns, run_ns = 0;

        if (!sim || !ret_info)
                return isched__error(-EINVAL, "isched_sim_domain_info: NULL argument");
        if (ret_info->size < sizeof(info))
                return isched__error(-EINVAL, "isched_sim_domain_info: info size %zu is smaller than this library's %zu",
                                     ret_info->size, sizeof(info));
        if (index >= sim->nr_doms)
                return isched__error(-ENOENT, "no domain %u in the simulation (it has %u)", index, sim->nr_doms);
        d = &sim->doms[index];
        work_ns = d->work_ns;
        for (uint32_t i = 0; i < d->nr_units; i++) {
                const struct sim_unit *u = d->units[i];
                s_time_t stall;

                run_ns += u->run_ns;
                if (u->is_running) {
                        work_ns += (uint64_t)pending_work(u, sim->now, &stall);
                        run_ns += (uint64_t)(sim->now - u->state_entry_time);
                }
        }
        memset(&info, 0, sizeof(info));
        info.size = sizeof(info);
        snprintf(info.name, sizeof(info.name), "%s", d->wl->name);
        info.pool_id = d->pool->id;
        info.nr_vcpus = d->nr_units;
        info.weight = d->weight;
        info.cap = d->cap;
        info.work_units = work_ns / 1000;
        info.run_ns = run_ns;
        info.wakeups = d->wakeups;
        memcpy(info.wake_latency_hist, d->lat_hist, sizeof(info.wake_latency_hist));
        info.publishes = d->wl->publishes;
        *ret_info = info;
        return 0;
}

ISCHED_EXPORT int isched_sim_count_runqueues(const char *topology, uint32_t nr_cpus,
                                             enum isched_arrangement arrangement, uint32_t *ret_nr)
{
        struct sim_topology t;
        uint32_t *cpus, *rq_of, n;
        int r;

        if (!topology || !ret_nr || (unsigned)arrangement >= ISCHED_ARR_COUNT)
                return isched__error(-EINVAL, "isched_sim_count_runqueues: bad argument");
        r = sim_topology_parse(topology, &t);
        if (r < 0)
                return r;
        if (nr_cpus == 0)
                nr_cpus = t.nr_cpus;
        if (nr_cpus > t.nr_cpus)
                return isched__error(-EINVAL, "topology %s has %u CPUs, not %u", topology, t.nr_cpus, nr_cpus);
        cpus = calloc(nr_cpus, sizeof(*cpus));
        rq_of = calloc(nr_cpus, sizeof(*rq_of));
        if (!cpus || !rq_of) {
                free(cpus);
                free(rq_of);
                return isched__error(-ENOMEM, "out of memory");
        }
        for (uint32_t i = 0; i < nr_cpus; i++)
                cpus[i] = i;
        n = sim_build_runqueues(&t, arrangement, cpus, nr_cpus, rq_of);
        free(cpus);
        free(rq_of);
        if (!n)
                return isched__error(-ENOMEM, "out of memory");
        *ret_nr = n;
        return 0;
}
