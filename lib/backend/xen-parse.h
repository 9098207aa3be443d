/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The xen backend's pure functions: parsing what the hypervisor reports
 * (the credit2-stats snapshot, arrangement names, the Xen command line) and
 * predicting how many runqueues credit2 builds for each arrangement.  They
 * use no Xen library, so they are compiled and unit-tested on any machine
 * (tests/xen/). */
#ifndef ISCHED_XEN_PARSE_H
#define ISCHED_XEN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intellisched/common.h"
#include "intellisched/counters.h"

/* Xen's own cap of CPUs per runqueue (MAX_CPUS_RUNQ in credit2.c). */
#define ISCHED_XEN_MAX_CPUS_RUNQ_DEFAULT 16u

/* Xen's marker for an offline CPU in xc_cputopoinfo (XEN_INVALID_*_ID). */
#define ISCHED_XEN_INVALID_ID UINT32_MAX

/* Bits of isched__xen_stats::present: which statistics were read. */
enum {
        XSTAT_NR_RUNQUEUES = 1u << 0,
        XSTAT_MAX_CPUS_RUNQUEUE = 1u << 1,
        XSTAT_REARRANGEMENTS = 1u << 2,
        XSTAT_FREEZE = 1u << 3, /* freeze-last-ns, -max-ns, -total-ns */
        XSTAT_WAKEUPS = 1u << 4,
        XSTAT_CONTEXT_SWITCHES = 1u << 5,
        XSTAT_MIGRATIONS = 1u << 6,
        XSTAT_BALANCE_CHECKS = 1u << 7,
        XSTAT_BALANCE_MOVES = 1u << 8,
        XSTAT_RUNNABLE_WAIT = 1u << 9,
        XSTAT_WAKE_LATENCY_NEGATIVE = 1u << 10,
        XSTAT_WAKE_LATENCY = 1u << 11, /* the whole histogram */
};

/* What /cpupool/<id>/credit2-stats/ says (xen-patches/INTERFACE.md). */
struct isched__xen_stats {
        uint32_t present; /* XSTAT_* bits */
        uint64_t nr_runqueues;
        uint64_t max_cpus_runqueue;
        uint64_t rearrangements;
        uint64_t freeze_last_ns;
        uint64_t freeze_max_ns;
        uint64_t freeze_total_ns;
        uint64_t wakeups;
        uint64_t context_switches;
        uint64_t migrations;
        uint64_t balance_checks;
        uint64_t balance_moves;
        uint64_t runnable_wait_ns;
        uint64_t wake_latency_negative;
        /* The snapshot's histogram: the hypervisor's buckets are exactly
         * those of isched_latency_bucket() (same definition, 256 of them). */
        uint64_t wake_latency_hist[ISCHED_LATENCY_BUCKETS];
};

/* One statistic of credit2-stats/ (an integer leaf, and a value of the
 * snapshot blob): its name, the XSTAT_* bit it sets and where its value
 * goes in struct isched__xen_stats. */
struct isched__xen_stat_leaf {
        const char *name;
        uint32_t bit;
        size_t offset;
};
/* All of them, in the order of the snapshot (version 1). */
extern const struct isched__xen_stat_leaf isched__xen_stat_leaves[];
extern const size_t isched__xen_nr_stat_leaves;

/* /cpupool/<id>/credit2-stats/snapshot (xen-patches/INTERFACE.md): a
 * header of four uint32 (version, nr_stats, nr_buckets, 0), then nr_stats
 * and nr_buckets uint64, all in the host's byte order. */
#define ISCHED_XEN_SNAPSHOT_VERSION 1u
#define ISCHED_XEN_SNAPSHOT_HEADER 16u

/* Decode the content of credit2-stats/snapshot into @p ret: @p is_blob
 * says whether hypfs typed it XEN_HYPFS_TYPE_BLOB, @p size is its length.
 * Statistics after the ones isched knows are ignored; ret->present has
 * the bits of those the snapshot has.  -EBADMSG, naming what is wrong (the
 * type, the size against the header, the version, the number of buckets),
 * with *ret untouched; -EINVAL for NULL. */
int isched__xen_parse_snapshot(bool is_blob, const void *content, size_t size, struct isched__xen_stats *ret);

/* Fill the scheduler counters of @p c that the statistics hold and set
 * their bits in c->valid (ISCHED_CNT_BALANCE only when both balance
 * counters were read). */
void isched__xen_stats_to_counters(const struct isched__xen_stats *s, struct isched_counters *c);

/* Parse an arrangement as the hypervisor reports it: surrounding white
 * space (a trailing newline) is accepted.  -EBADMSG for anything else. */
int isched__xen_parse_arrangement(const char *text, enum isched_arrangement *ret_arrangement);

/* Find the value of option @p name in a Xen command line: the last
 * "name=value" wins as in Xen, '-' and '_' in names are equivalent.
 * Returns 1 and writes the NUL-terminated value (truncated to len - 1) if
 * found, 0 if not, -EINVAL for NULL or len 0. */
int isched__xen_cmdline_option(const char *cmdline, const char *name, char *ret_value, size_t len);

/* One CPU of xc_cputopoinfo; ISCHED_XEN_INVALID_ID in core for offline. */
struct isched__xen_cpu_topo {
        uint32_t core;
        uint32_t socket;
        uint32_t node;
};

/* Predict the number of runqueues credit2 builds for a pool when CPUs join
 * it in ascending order, replaying cpu_add_to_runqueue() of Xen 4.17:
 * runqueue match by arrangement (to the runqueue's first CPU), SMT siblings
 * (same socket and core) always kept together, the per-runqueue cap
 * max(1, online / ceil(online / max_cpus_runq)) and its sibling room
 * check when the pool schedules single CPUs (gran_cpu), and the spreading
 * over the least-filled matching runqueue.
 *
 * @param topo the topology of all nr_cpus CPUs of the host.
 * @param in_pool per CPU: true if it is in the pool.
 * @return 0 and *ret_nr; -EINVAL for a bad argument, -ENOMEM. */
int isched__xen_count_runqueues(const struct isched__xen_cpu_topo *topo, size_t nr_cpus,
                                const bool *in_pool, enum isched_arrangement arrangement,
                                unsigned max_cpus_runq, bool gran_cpu, uint32_t *ret_nr);

/* The same prediction, with the runqueue of each CPU: @p ret_rq_of (nr_cpus
 * entries) gets the id Xen gives the runqueue (0, 1, ... in order of
 * creation), or UINT32_MAX for a CPU not in the pool or offline. */
int isched__xen_plan_runqueues(const struct isched__xen_cpu_topo *topo, size_t nr_cpus,
                               const bool *in_pool, enum isched_arrangement arrangement,
                               unsigned max_cpus_runq, bool gran_cpu, uint32_t *ret_rq_of,
                               uint32_t *ret_nr);

/* Busy/idle accounting of one pCPU from the backend's origin: idle time
 * comes from Xen's clock, elapsed time from dom0's, read a moment apart.
 * After every update busy_ns + idle_ns == now_ns - t0_ns and neither has
 * gone backwards; idle time that runs ahead of dom0's clock is reported
 * later. */
struct isched__xen_cpu_acct {
        uint64_t t0_ns;    /* dom0 time of the first update */
        uint64_t idle0_ns; /* Xen idle time at the first update */
        uint64_t busy_ns;  /* since t0 */
        uint64_t idle_ns;  /* since t0 */
        bool started;
};

/* Update @p a with a reading: dom0 monotonic time and Xen's idle time. */
void isched__xen_cpu_account(struct isched__xen_cpu_acct *a, uint64_t now_ns, uint64_t xen_idle_ns);

#endif
