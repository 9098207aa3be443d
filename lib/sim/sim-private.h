/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The embedded credit2 simulator: internal state shared by the files of
 * lib/sim/.  Names of scheduler fields and constants follow Xen 4.17's
 * xen/common/sched/credit2.c so that the two can be read side by side. */
#ifndef ISCHED_SIM_PRIVATE_H
#define ISCHED_SIM_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "intellisched/backend.h"
#include "intellisched/counters.h"
#include "intellisched/sim.h"

typedef int64_t s_time_t;

#define MICROSECS(us) ((s_time_t)(us) * 1000LL)
#define MILLISECS(ms) ((s_time_t)(ms) * 1000000LL)

/* ---- credit2.c constants (line numbers of Xen 4.17's credit2.c) ---- */
#define CSCHED2_DEFAULT_WEIGHT       256                      /* l.222 */
#define CSCHED2_MIN_TIMER            MICROSECS(500)           /* l.227 */
#define CSCHED2_CREDIT_INIT          MILLISECS(10)            /* l.233 */
#define CSCHED2_CREDIT_MIN           (-CSCHED2_CREDIT_INIT)   /* l.243 */
#define CSCHED2_IDLE_CREDIT          (CSCHED2_CREDIT_MIN - 1) /* l.249 */
#define CSCHED2_CARRYOVER_MAX        CSCHED2_MIN_TIMER        /* l.254 */
#define CSCHED2_MIGRATE_RESIST       MICROSECS(500)           /* l.259, opt_migrate_resist = 500 (l.317) */
#define CSCHED2_MIGRATE_COMPENSATION MICROSECS(50)            /* l.261 */
#define CSCHED2_RATELIMIT_TICKLE_TOLERANCE MICROSECS(50)      /* l.263 */
#define CSCHED2_CREDIT_RESET         0                        /* l.265 */
#define CSCHED2_MAX_TIMER            CSCHED2_CREDIT_INIT      /* l.267 */
#define CSCHED2_BDGT_REPL_PERIOD     MILLISECS(10)            /* l.269, opt_cap_period = 10 (l.411) */
#define LOADAVG_GRANULARITY_SHIFT    10                       /* l.382 */
#define LOADAVG_WINDOW_SHIFT         30                       /* l.384 */
#define LOADAVG_PRECISION_SHIFT      18                       /* l.386 */
#define MAX_CPUS_RUNQ                16                       /* l.488, sched_credit2_max_cpus_runqueue */
#define SCHED_DEFAULT_RATELIMIT_US   1000                     /* sched/private.h, sched_ratelimit_us */
/* opt_underload_balance_tolerance (l.401) and opt_overload_balance_tolerance (l.403). */
#define OPT_UNDERLOAD_BALANCE_TOLERANCE 0
#define OPT_OVERLOAD_BALANCE_TOLERANCE  (-3)

/* ---- Costs that are not Xen constants (sim-costs.c, docs/simulator.md) ---- */
#define SIM_MAX_CPUS           4096
#define SIM_DIST_TABLE_CPUS    256  /* up to this many pCPUs, distances come from a table */

/* Distance between two pCPUs, for cache-line transfers. */
enum sim_dist {
        SIM_DIST_SAME = 0,    /* the same pCPU */
        SIM_DIST_SIBLING,     /* SMT sibling: L1/L2 shared */
        SIM_DIST_SOCKET,      /* other core, same socket: LLC shared */
        SIM_DIST_REMOTE,      /* other socket, same NUMA node */
        SIM_DIST_NODE,        /* other NUMA node */
        SIM_DIST_NR
};

/* Where refilled cache lines come from. */
enum sim_src {
        SIM_SRC_SOCKET = 0,   /* another core's L2 or the LLC of the socket */
        SIM_SRC_REMOTE,       /* another socket's caches */
        SIM_SRC_MEM_LOCAL,    /* memory of the pCPU's node */
        SIM_SRC_MEM_REMOTE,   /* memory of another node */
        SIM_SRC_NR
};

/* The cost constants, as a workload's "costs" or --costs FILE give them. */
struct sim_costs {
        double ctx_switch_ns, sched_ns, lock_cs_ns, rq_lines;
        double xfer_smt_ns, xfer_socket_ns, xfer_remote_ns, xfer_node_ns;
        double ipi_ns, evtchn_ns, smt_gain_pct;
        double l2_kb, llc_kb, mem_local_ns, mem_remote_ns, mlp;
        double switch_freeze_ns, switch_freeze_per_cpu_ns;
};

struct sim_cost_def {
        const char *name, *unit;
        double value, min, max;
        size_t offset;
        const char *source;
};

/* What the engine uses, derived from struct sim_costs once. */
struct sim_derived {
        s_time_t ctx_switch_ns, sched_ns, lock_cs_ns;
        uint32_t rq_lines;
        s_time_t xfer_ns[SIM_DIST_NR];
        s_time_t lock_hold_ns[SIM_DIST_NR]; /* lock_cs_ns and the other rq_lines - 1 lines, by the holder's distance */
        s_time_t ipi_ns, evtchn_ns;
        uint32_t smt_gain_pct;
        uint32_t l2_kb;
        uint64_t llc_kb;
        int64_t line_ps[SIM_SRC_NR]; /* per refilled or missed line, picoseconds */
        s_time_t switch_freeze_ns, switch_freeze_per_cpu_ns;
};

struct cJSON;
size_t sim_cost_count(void);
const struct sim_cost_def *sim_cost_def(size_t i);
void sim_costs_default(struct sim_costs *c);
int sim_costs_apply_json(struct sim_costs *c, const struct cJSON *obj, const char *where);
int sim_costs_parse(struct sim_costs *c, const char *json, const char *origin);
void sim_costs_derive(const struct sim_costs *c, struct sim_derived *d);

enum sim_kind {
        SIM_KIND_IDLE = 0, /* never runnable */
        SIM_KIND_CPU,      /* CPU-bound bursts */
        SIM_KIND_IO,       /* latency-sensitive: short bursts, frequent wakeups */
        SIM_KIND_CHAIN,    /* producer/consumer ring: each burst wakes the next vCPU */
        SIM_KIND_CACHE,    /* CPU-bound with a large working set */
        SIM_KIND_ONOFF,    /* bursty: CPU-bound during on_ms, asleep during off_ms */
        SIM_KIND_FORKJOIN, /* make -j: steps of parallel jobs, a serial part, the next step */
        SIM_KIND_NR
};

struct sim_behaviour {
        enum sim_kind kind;
        s_time_t burst_ns;  /* mean CPU work per burst, at full single-thread speed */
        s_time_t sleep_ns;  /* mean time blocked between bursts (0: never blocks) */
        uint32_t wss_kb;    /* working-set size */
        s_time_t on_ns, off_ns;
        uint32_t tokens;    /* chain: items in flight around the ring */
        int32_t next_dom;   /* chain: domain the items go to next (-1: the next vCPU of this one) */
        uint32_t jobs;      /* forkjoin: jobs per step (0: one per vCPU) */
        uint32_t parallel;  /* forkjoin: jobs running at most at once, make -j (0: one per vCPU) */
        s_time_t serial_ns; /* forkjoin: serial work between steps */
        double mem_access_per_us; /* accesses per us of work that miss L2 (to the working set beyond it) */
};

/* Workload description, as parsed from JSON (built-in or file). */
struct sim_wl_pool {
        char name[ISCHED_NAME_MAX];
        uint32_t nr_cpus; /* taken in CPU order; 0 in the last pool: the rest */
};

struct sim_wl_domain {
        char name[ISCHED_NAME_MAX];
        uint32_t pool;     /* index into pools */
        uint32_t nr_vcpus;
        uint32_t weight;
        uint32_t cap;      /* percent of one pCPU, 0 = none */
        int32_t memory;    /* SIM_MEMORY_AUTO, SIM_MEMORY_INTERLEAVE or a node */
        bool publishes;    /* publishes its work to dom0 (observation xen+guests) */
        struct sim_behaviour beh;
};

#define SIM_MEMORY_AUTO       (-1) /* libxl's automatic NUMA placement */
#define SIM_MEMORY_INTERLEAVE (-2) /* striped over the pool's nodes */

struct sim_wl_phase {
        s_time_t duration_ns;
        /* every domain's behaviour in the phase, "inherit" resolved */
        struct sim_behaviour *beh; /* nr_domains entries */
};

struct sim_workload {
        char topology[64];
        struct sim_wl_pool *pools;
        uint32_t nr_pools;
        struct sim_wl_domain *domains;
        uint32_t nr_domains;
        struct sim_wl_phase *phases;
        uint32_t nr_phases;
        struct sim_costs costs;    /* defaults, with the workload's "costs" applied */
};

/* Parses @p json as one JSON value with nothing after it and no key given
 * twice in any object (errors name @p origin, or the object's path from
 * @p root). */
int sim_json_parse(const char *json, const char *origin, const char *root, struct cJSON **ret);
int sim_workload_parse(const char *json, const char *origin, struct sim_workload *ret);
void sim_workload_clear(struct sim_workload *wl);
const char *sim_builtin_json(const char *name);

/* Topology: nodes x sockets per node x cores per socket x threads per core. */
struct sim_topology {
        uint32_t nodes, sockets, cores, threads;
        uint32_t nr_cpus;
};

int sim_topology_parse(const char *s, struct sim_topology *ret);
/* Location of a CPU: CPUs are numbered with SMT siblings adjacent, as x86
 * hosts enumerate them. */
uint32_t sim_cpu_node(const struct sim_topology *t, uint32_t cpu);
uint32_t sim_cpu_socket(const struct sim_topology *t, uint32_t cpu);  /* global socket id */
uint32_t sim_cpu_core(const struct sim_topology *t, uint32_t cpu);    /* global core id */
enum sim_dist sim_cpu_distance(const struct sim_topology *t, uint32_t from, uint32_t to);

/* cpu_add_to_runqueue(): assign each CPU of cpus[] (in order) to a
 * runqueue; rq_of[i] receives the runqueue id of cpus[i].
 * @return the number of runqueues. */
uint32_t sim_build_runqueues(const struct sim_topology *t, enum isched_arrangement arr,
                             const uint32_t *cpus, uint32_t n, uint32_t *rq_of);

/* ---- Runtime state ---- */

struct sim_rq;
struct sim_pool;
struct sim_dom;

#define CSFLAG_scheduled            (1u << 1)
#define CSFLAG_delayed_runq_add     (1u << 2)
#define CSFLAG_runq_migrate_request (1u << 3)

struct sim_unit {                  /* struct csched2_unit + what sched_unit holds */
        uint32_t id;               /* global index */
        uint32_t vcpu_id;          /* index within the domain */
        struct sim_dom *sdom;
        struct sim_rq *rqd;
        uint32_t processor;        /* sched_unit_master() */
        int credit;
        unsigned weight;
        unsigned residual;
        unsigned flags;
        s_time_t budget, budget_quota;
        s_time_t start_time;
        s_time_t state_entry_time;
        s_time_t load_last_update;
        s_time_t avgload;
        struct sim_unit *runq_next, *runq_prev;
        bool on_runq;
        struct sim_unit *rqd_next;  /* rqd->svc list */
        struct sim_rq *migrate_rqd;
        int tickled_cpu;
        bool is_running;
        bool blocked;              /* guest has nothing to do (not runnable) */
        bool migrating;            /* _VPF_migrating */
        bool parked;               /* _VPF_parked (cap) */

        /* workload */
        struct sim_behaviour beh;
        s_time_t work_left;        /* of the current burst, ns at full speed */
        uint32_t tokens;           /* chain */
        uint64_t rng;
        s_time_t wake_time;        /* when it last woke, -1 if not pending */
        s_time_t runnable_since;   /* on the runqueue since */
        bool wake_pending;         /* its wake-up timer is armed */

        /* while running */
        s_time_t progress_at;
        s_time_t stall_left;       /* overhead before useful work resumes */
        uint32_t rate;             /* useful work per ns (/1024): SMT share x memory stalls */
        uint32_t mem_rate;         /* the memory-stall factor (/1024), fixed when it starts running */
        uint32_t waker_cpu;        /* pCPU that takes the runqueue lock for its next wake-up */
        int last_cpu;              /* where its cache is warm, -1 none */
        uint64_t run_ns;           /* total time it ran (tests, debugging) */
        bool has_job;              /* forkjoin: its burst is a job (or the serial part) */
};

struct sim_pcpu {
        uint32_t id;
        uint32_t core, socket, node;  /* global ids */
        uint32_t rq_idx;              /* bit of this CPU in its runqueue's masks */
        uint64_t sibl_mask;           /* sibling_mask: SMT siblings in the same runqueue, itself included */
        struct sim_pool *pool;
        struct sim_rq *rqd;
        struct sim_unit *curr;     /* NULL: idle */
        struct sim_unit *last_unit;/* last unit that ran here, for cache state */
        s_time_t sched_at;         /* next schedule event, INT64_MAX none */
        s_time_t burst_at;         /* when curr's burst ends at its current rate, INT64_MAX none */
        s_time_t busy_since;       /* accounting */
        uint64_t busy_ns;
        s_time_t overhead_until;   /* scheduler work on an idle CPU */
};

#define SIM_LOCK_QUEUE 16

struct sim_rq {                    /* struct csched2_runqueue_data */
        int id;
        struct sim_pool *pool;
        uint32_t *cpus;            /* active, sorted; bit i of the masks is cpus[i] */
        uint32_t nr_cpus;
        s_time_t *preempt_at;      /* by CPU index: curr is_preemptable() after this time (INT64_MAX: idle) */
        uint64_t idle, tickled, smt_idle; /* cpumasks, at most 64 CPUs per runqueue */
        int load;
        s_time_t load_last_update;
        s_time_t avgload, b_avgload;
        struct sim_unit *runq;     /* ordered by credit, highest first */
        struct sim_unit *svc;      /* units assigned, in assignment order */
        struct sim_unit *svc_tail;
        unsigned max_weight;
        uint32_t pick_bias;
        /* The runqueue lock, a ticket lock (xen/common/spinlock.c): when it
         * is free, which pCPU held it last (its lines are in that pCPU's
         * cache), and when the acquirers queued on it get it. */
        s_time_t lock_free_at;
        int32_t lock_holder;
        s_time_t lock_queue[SIM_LOCK_QUEUE];
        uint32_t lock_qhead, lock_qlen;
};

struct sim_dom {
        uint32_t id;
        struct sim_pool *pool;
        const struct sim_wl_domain *wl;
        struct sim_unit **units;
        uint32_t nr_units;
        unsigned weight;
        unsigned cap;
        s_time_t tot_budget, budget;
        uint64_t work_ns;          /* useful work of its units */
        int64_t *mem_line_ps;      /* per node: cost of a line from its memory, ps (placement) */
        uint64_t *lat_hist;        /* its units' wake-to-run latencies, ISCHED_LATENCY_BUCKETS */
        uint64_t wakeups;
        uint32_t rr;               /* chain: next vCPU to hand an item to, from another domain */
        uint32_t fj_left, fj_running; /* forkjoin: jobs of the step not taken, taken and not done */
        bool fj_serial;            /* forkjoin: the serial part between steps is running */
};

struct sim_pool {
        uint32_t id;
        char name[ISCHED_NAME_MAX];
        uint32_t *cpus;
        uint32_t nr_cpus;
        enum isched_arrangement arrangement;
        struct sim_rq *rqs;
        uint32_t nr_rqs;
        unsigned ratelimit_us;
        unsigned load_precision_shift, load_window_shift;
        struct sim_dom **doms;
        uint32_t nr_doms;
        uint32_t nr_units;
        s_time_t paused_until;       /* a live switch's freeze: no schedule before */
        struct isched_counters cnt;
        uint64_t work_ns;            /* useful work, ns at full speed */
        uint64_t lock_wait_ns, lock_ops, sched_calls, credit_resets;
        uint64_t trylocks, trylock_fails; /* csched2_res_pick() and balance_load() */
        uint32_t nr_rqs_by_arr[ISCHED_ARR_COUNT];
        uint32_t switches;
};

/* The event queue (sim-engine.c): every timer of the model has one slot
 * (a pCPU's timer, a unit's wake-up, a domain's budget replenishment, the
 * phase change), so re-arming a timer moves it instead of leaving a stale
 * one behind.  Near timers sit in a timer wheel, far ones in a heap. */
struct sim_ev {
        s_time_t time;
        uint32_t slot;
};

#define SIM_WHEEL_SHIFT 12     /* 4.096 us buckets */
#define SIM_WHEEL_SIZE  1024   /* 4.2 ms of them */

/* A timer slot: when it fires, its neighbours on its bucket's list,
 * how often it was armed (to see a handler re-arm its own slot), and
 * where it is (SIM_EV_OFF / _WHEEL / _HEAP). */
struct sim_tslot {
        s_time_t time;
        uint32_t next, prev;
        uint32_t armed;
        uint16_t bucket;     /* its wheel bucket, while in the wheel */
        uint8_t where;
};

struct sim_evq {
        uint32_t nr_slots;
        struct sim_tslot *ts;
        uint64_t cur;        /* bucket of now (absolute) */
        struct { uint32_t head, tail; } bucket[SIM_WHEEL_SIZE]; /* each bucket's list */
        uint64_t bits[SIM_WHEEL_SIZE / 64]; /* non-empty buckets */
        struct sim_ev *heap; /* far timers; children of i are 4i+1 .. 4i+4 */
        uint32_t len;
        uint32_t *pos;       /* slot -> index in heap */
};

#define SIM_EV_NONE UINT32_MAX
enum { SIM_EV_OFF = 0, SIM_EV_WHEEL = 1, SIM_EV_HEAP = 2 };

struct sim_zig {                    /* ziggurat tables for exponential variates */
        uint64_t ke[256];
        double we[256], fe[256];
};

struct isched_sim {
        struct sim_workload wl;
        struct sim_topology topo;
        uint64_t seed;
        s_time_t now;
        struct sim_costs costs;
        struct sim_derived cost;    /* what the engine uses, from costs */
        struct sim_pcpu *pcpus;
        uint8_t *dist;              /* enum sim_dist from pCPU a to b at [a * nr_cpus + b]; NULL: computed */
        uint64_t *llc_occ_kb;       /* per socket: working sets of the units whose caches are there */
        uint32_t *core_busy;        /* busy threads per core (global core id) */
        uint32_t smt_rate_tab[9];   /* useful work per ns (/1024) by busy threads of the core */
        struct sim_zig zig;
        struct sim_pool *pools;
        uint32_t nr_pools;
        struct sim_dom *doms;
        uint32_t nr_doms;
        struct sim_unit *units;
        uint32_t nr_units;
        struct sim_evq evq;
        uint64_t events;
        uint32_t phase;
        bool failed;                /* out of memory inside the event loop */
};

/* Timer slots: [0, cpus) one per pCPU (the earlier of its schedule
 * timer and the end of its current unit's burst), then units' wake-ups,
 * domains' replenishments, and the phase timer. */
static inline uint32_t sim_slot_cpu(const struct isched_sim *sim, uint32_t cpu)
{
        (void)sim;
        return cpu;
}

static inline uint32_t sim_slot_wake(const struct isched_sim *sim, uint32_t unit)
{
        return sim->topo.nr_cpus + unit;
}

static inline uint32_t sim_slot_repl(const struct isched_sim *sim, uint32_t dom)
{
        return sim->topo.nr_cpus + sim->nr_units + dom;
}

static inline uint32_t sim_slot_phase(const struct isched_sim *sim)
{
        return sim->topo.nr_cpus + sim->nr_units + sim->nr_doms;
}

/* sim-engine.c */
void sim_timer_set(struct isched_sim *sim, uint32_t slot, s_time_t when);
void sim_timer_cancel(struct isched_sim *sim, uint32_t slot);

/* When the slot's timer fires, or INT64_MAX if it is not armed. */
static inline s_time_t timer_when(const struct sim_evq *q, uint32_t slot)
{
        return q->ts[slot].where == SIM_EV_OFF ? INT64_MAX : q->ts[slot].time;
}

/* The pCPU's timer: the earlier of its schedule timer and its unit's
 * burst end, moved only if that changed. */
static inline void sim_cpu_timer_sync(struct isched_sim *sim, struct sim_pcpu *pc)
{
        const uint32_t slot = sim_slot_cpu(sim, pc->id);
        const s_time_t t = pc->sched_at < pc->burst_at ? pc->sched_at : pc->burst_at;

        if (t == INT64_MAX)
                sim_timer_cancel(sim, slot);
        else if (timer_when(&sim->evq, slot) != t)
                sim_timer_set(sim, slot, t);
}

/* Ask pCPU @p pc to run the scheduler at @p when (not before a live
 * switch's freeze ends), unless it runs it earlier anyway. */
static inline void sim_cpu_kick(struct isched_sim *sim, struct sim_pcpu *pc, s_time_t when)
{
        if (when < pc->pool->paused_until)
                when = pc->pool->paused_until;
        if (when >= pc->sched_at)
                return;
        pc->sched_at = when;
        sim_cpu_timer_sync(sim, pc);
}
void sim_unit_progress(struct isched_sim *sim, struct sim_unit *u, s_time_t now);
void sim_unit_start(struct isched_sim *sim, struct sim_unit *u, struct sim_pcpu *pc, s_time_t now,
                    s_time_t overhead);
void sim_unit_stop(struct isched_sim *sim, struct sim_unit *u, s_time_t now);

/* ---- costs of pCPU distance and of runqueue locks ---- */

static inline enum sim_dist pcpu_dist_slow(const struct isched_sim *sim, uint32_t a, uint32_t b)
{
        const struct sim_pcpu *x = &sim->pcpus[a], *y = &sim->pcpus[b];

        return a == b ? SIM_DIST_SAME
               : x->core == y->core ? SIM_DIST_SIBLING
               : x->socket == y->socket ? SIM_DIST_SOCKET
               : x->node == y->node ? SIM_DIST_REMOTE : SIM_DIST_NODE;
}

/* The distance from pCPU a to b: from the table up to SIM_DIST_TABLE_CPUS. */
static inline enum sim_dist pcpu_dist(const struct isched_sim *sim, uint32_t a, uint32_t b)
{
        return sim->dist ? (enum sim_dist)sim->dist[a * sim->topo.nr_cpus + b] : pcpu_dist_slow(sim, a, b);
}

/* The distance of the lock's last holder from @p cpu (SAME if none:
 * nothing to transfer). */
static inline enum sim_dist lock_dist(const struct isched_sim *sim, const struct sim_rq *rqd, uint32_t cpu)
{
        return rqd->lock_holder < 0 ? SIM_DIST_SAME : pcpu_dist(sim, (uint32_t)rqd->lock_holder, cpu);
}

/* The lock's line and the runqueue data come from the pCPU that held the
 * lock last: what one line costs to get here. */
static inline s_time_t lock_line_ns(const struct isched_sim *sim, const struct sim_rq *rqd, uint32_t cpu)
{
        return sim->cost.xfer_ns[lock_dist(sim, rqd, cpu)];
}

/* Ticket lock (xen/common/spinlock.c): an acquisition that finds the lock
 * held waits in FIFO order.  When it is released to us, the releasing
 * store has invalidated the copy of every spinning waiter and their reads
 * of the line are served one at a time, so the next holder sees it after
 * (waiters + 1) / 2 transfers on average: handing the lock over costs more
 * the more pCPUs wait (Boyd-Wickizer et al., "Non-scalable locks are
 * dangerous", 2012).  Holding it costs the work done under it plus the
 * transfer of the runqueue's other lines from the last holder.  Returns
 * the time from @p now until the critical section is done. */
static inline s_time_t sim_lock_rq(struct isched_sim *sim, struct sim_rq *rqd, uint32_t cpu, s_time_t now)
{
        struct sim_pool *pool = rqd->pool;
        const struct sim_derived *k = &sim->cost;
        const enum sim_dist d = lock_dist(sim, rqd, cpu);
        const s_time_t x = k->xfer_ns[d];
        const s_time_t start = rqd->lock_free_at > now ? rqd->lock_free_at : now;
        s_time_t handoff = x, hold;

        while (rqd->lock_qlen && rqd->lock_queue[rqd->lock_qhead] <= now) {
                rqd->lock_qhead = (rqd->lock_qhead + 1) % SIM_LOCK_QUEUE;
                rqd->lock_qlen--;
        }
        if (start > now) {
                /* lock_qlen acquirers are queued ahead of us. */
                handoff = x * (s_time_t)(rqd->lock_qlen + 2) / 2;
                if (rqd->lock_qlen < SIM_LOCK_QUEUE) {
                        rqd->lock_queue[(rqd->lock_qhead + rqd->lock_qlen) % SIM_LOCK_QUEUE] = start;
                        rqd->lock_qlen++;
                }
        }
        hold = k->lock_hold_ns[d];
        rqd->lock_free_at = start + handoff + hold;
        rqd->lock_holder = (int32_t)cpu;
        pool->lock_ops++;
        pool->lock_wait_ns += (uint64_t)(start - now + handoff - x);
        return start - now + handoff + hold;
}

/* spin_trylock() to read a runqueue's load (csched2_res_pick(),
 * balance_load()'s scan): fails if the lock is held at @p t, having read
 * its line; else holds it for the lock's and the load's lines.  The time
 * spent either way is in *ret_ns. */
static inline bool sim_trylock_rq(struct isched_sim *sim, struct sim_rq *rqd, uint32_t cpu, s_time_t t, s_time_t *ret_ns)
{
        struct sim_pool *pool = rqd->pool;
        const s_time_t x = lock_line_ns(sim, rqd, cpu);

        pool->trylocks++;
        if (rqd->lock_free_at > t) {
                pool->trylock_fails++;
                *ret_ns = x;
                return false;
        }
        rqd->lock_free_at = t + 2 * x;
        rqd->lock_holder = (int32_t)cpu;
        *ret_ns = 2 * x;
        return true;
}

/* The lock stays held until @p until (work done under it). */
static inline void sim_hold_rq(struct sim_rq *rqd, s_time_t until)
{
        if (until > rqd->lock_free_at)
                rqd->lock_free_at = until;
}

/* sim-credit2.c */
void csched2_pool_init(struct isched_sim *sim, struct sim_pool *pool);
void csched2_pool_build(struct isched_sim *sim, struct sim_pool *pool, enum isched_arrangement arr);
void csched2_unit_insert(struct isched_sim *sim, struct sim_unit *svc, s_time_t now);
void csched2_unit_wake(struct isched_sim *sim, struct sim_unit *svc, uint32_t waker_cpu, s_time_t now);
void csched2_unit_sleep(struct isched_sim *sim, struct sim_unit *svc, s_time_t now);
void csched2_schedule(struct isched_sim *sim, struct sim_pcpu *pc, s_time_t now);
void csched2_replenish(struct isched_sim *sim, struct sim_dom *sdom, s_time_t now);
int csched2_switch_arrangement(struct isched_sim *sim, struct sim_pool *pool,
                               enum isched_arrangement arr, s_time_t now);

#endif
