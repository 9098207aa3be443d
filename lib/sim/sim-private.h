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

/* ---- Costs that are not Xen constants: see docs/simulator.md ---- */
#define SIM_CTX_SWITCH_NS      2000  /* save/restore of a vCPU (VMCS, xsave, ...) */
#define SIM_SCHED_NS            600  /* csched2_schedule() path itself */
#define SIM_LOCK_HOLD_NS        250  /* runqueue lock hold, uncontended, 1 CPU */
#define SIM_LOCK_BOUNCE_NS       45  /* extra hold per CPU sharing the lock (cache-line transfers) */
#define SIM_IPI_NS             1500  /* tickle of a remote pCPU: IPI to SCHEDULE_SOFTIRQ */
#define SIM_EVTCHN_NS          3000  /* event-channel notification latency (chain wakeups) */
#define SIM_SMT_GAIN_PCT         25  /* a core with 2 busy threads does 1.25x one thread */
#define SIM_SWITCH_PAUSE_NS  200000  /* pool pause while runqueues are rebuilt, base */
#define SIM_SWITCH_PAUSE_PER_CPU_NS 5000
#define SIM_MAX_CPUS           4096

/* Cache distance classes of a migration, and what each costs per KiB of
 * the working set that has to be refilled (and how much of it is lost). */
enum sim_cache_dist {
        SIM_CACHE_SAME = 0,   /* same pCPU, nobody else ran in between */
        SIM_CACHE_EVICTED,    /* same pCPU, other vCPUs ran in between */
        SIM_CACHE_SIBLING,    /* SMT sibling: L1/L2 shared */
        SIM_CACHE_SOCKET,     /* other core, same socket: LLC shared */
        SIM_CACHE_REMOTE,     /* other socket, same NUMA node */
        SIM_CACHE_NODE,       /* other NUMA node */
        SIM_CACHE_NR
};

enum sim_kind {
        SIM_KIND_IDLE = 0, /* never runnable */
        SIM_KIND_CPU,      /* CPU-bound bursts */
        SIM_KIND_IO,       /* latency-sensitive: short bursts, frequent wakeups */
        SIM_KIND_CHAIN,    /* producer/consumer ring: each burst wakes the next vCPU */
        SIM_KIND_CACHE,    /* CPU-bound with a large working set */
        SIM_KIND_ONOFF,    /* bursty: CPU-bound during on_ms, asleep during off_ms */
        SIM_KIND_NR
};

struct sim_behaviour {
        enum sim_kind kind;
        s_time_t burst_ns;  /* mean CPU work per burst, at full single-thread speed */
        s_time_t sleep_ns;  /* mean time blocked between bursts (0: never blocks) */
        uint32_t wss_kb;    /* working-set size */
        s_time_t on_ns, off_ns;
        uint32_t tokens;    /* chain: items in flight around the ring */
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
        bool publishes;    /* publishes its work to dom0 (observation xen+guests) */
        struct sim_behaviour beh;
};

struct sim_wl_phase {
        s_time_t duration_ns;
        /* per domain: a behaviour override, or NULL (flag) for unchanged */
        struct sim_behaviour *beh; /* nr_domains entries */
        bool *set;                 /* nr_domains entries */
};

struct sim_workload {
        char topology[64];
        struct sim_wl_pool *pools;
        uint32_t nr_pools;
        struct sim_wl_domain *domains;
        uint32_t nr_domains;
        struct sim_wl_phase *phases;
        uint32_t nr_phases;
};

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
enum sim_cache_dist sim_cache_distance(const struct sim_topology *t, uint32_t from, uint32_t to);

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
        uint32_t rate;             /* useful work per ns, /1024 */
        int last_cpu;              /* where its cache is warm, -1 none */
        uint64_t run_ns;           /* total time it ran (tests, debugging) */
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

struct sim_rq {                    /* struct csched2_runqueue_data */
        int id;
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
        s_time_t lock_free_at;     /* lock contention model */
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
        s_time_t pause_start, paused_until; /* the last arrangement switch's pause */
        uint64_t pause_ns_done;      /* pCPU time of earlier pauses */
        struct isched_counters cnt;
        uint64_t work_ns;            /* useful work, ns at full speed */
        uint64_t lock_wait_ns, lock_ops, sched_calls, credit_resets;
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

#define SIM_WHEEL_SHIFT 10     /* 1.024 us buckets */
#define SIM_WHEEL_SIZE  4096   /* 4.2 ms of them */

struct sim_evq {
        uint32_t nr_slots;
        s_time_t *time;      /* slot -> when it fires, if armed */
        uint8_t *where;      /* slot -> SIM_EV_NONE / _WHEEL / _HEAP */
        uint32_t *armed;     /* slot -> times armed, to see a handler re-arm its own slot */
        uint64_t cur;        /* bucket of now (absolute) */
        uint32_t *next, *prev; /* slot -> neighbours on its bucket's list */
        uint32_t head[SIM_WHEEL_SIZE], tail[SIM_WHEEL_SIZE];
        uint64_t bits[SIM_WHEEL_SIZE / 64]; /* non-empty buckets */
        struct sim_ev *heap; /* far timers; children of i are 4i+1 .. 4i+4 */
        uint32_t len;
        uint32_t *pos;       /* slot -> index in heap */
};

#define SIM_EV_NONE UINT32_MAX
enum { SIM_EV_OFF = 0, SIM_EV_WHEEL = 1, SIM_EV_HEAP = 2 };

struct isched_sim {
        struct sim_workload wl;
        struct sim_topology topo;
        uint64_t seed;
        s_time_t now;
        struct sim_pcpu *pcpus;
        uint32_t *core_busy;        /* busy threads per core (global core id) */
        uint32_t smt_rate_tab[9];   /* useful work per ns (/1024) by busy threads of the core */
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

/* pCPU time the pool has spent paused for switches up to now. */
static inline uint64_t sim_pool_pause_ns(const struct sim_pool *pool, s_time_t now)
{
        const s_time_t end = now < pool->paused_until ? now : pool->paused_until;

        return pool->pause_ns_done +
               (end > pool->pause_start ? (uint64_t)(end - pool->pause_start) * pool->nr_cpus : 0);
}

/* sim-engine.c */
void sim_timer_set(struct isched_sim *sim, uint32_t slot, s_time_t when);
void sim_timer_cancel(struct isched_sim *sim, uint32_t slot);
void sim_cpu_kick(struct isched_sim *sim, struct sim_pcpu *pc, s_time_t when);
void sim_cpu_timer_sync(struct isched_sim *sim, struct sim_pcpu *pc);
void sim_unit_progress(struct isched_sim *sim, struct sim_unit *u, s_time_t now);
void sim_unit_start(struct isched_sim *sim, struct sim_unit *u, struct sim_pcpu *pc, s_time_t now,
                    s_time_t overhead);
void sim_unit_stop(struct isched_sim *sim, struct sim_unit *u, s_time_t now);
s_time_t sim_lock_rq(struct isched_sim *sim, struct sim_rq *rqd, s_time_t now);

/* sim-credit2.c */
void csched2_pool_init(struct isched_sim *sim, struct sim_pool *pool);
void csched2_pool_build(struct isched_sim *sim, struct sim_pool *pool, enum isched_arrangement arr);
void csched2_unit_insert(struct isched_sim *sim, struct sim_unit *svc, s_time_t now);
void csched2_unit_wake(struct isched_sim *sim, struct sim_unit *svc, s_time_t now);
void csched2_unit_sleep(struct isched_sim *sim, struct sim_unit *svc, s_time_t now);
void csched2_schedule(struct isched_sim *sim, struct sim_pcpu *pc, s_time_t now);
void csched2_replenish(struct isched_sim *sim, struct sim_dom *sdom, s_time_t now);
int csched2_switch_arrangement(struct isched_sim *sim, struct sim_pool *pool,
                               enum isched_arrangement arr, s_time_t now);

#endif
