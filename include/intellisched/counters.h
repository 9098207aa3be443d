/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file counters.h
 * The counter snapshot every backend fills for a cpupool.
 *
 * All counters are cumulative since a backend-defined origin and only ever
 * grow; a window is the difference of two snapshots of the same pool.  A
 * backend that cannot measure a counter leaves it 0 and clears its bit in
 * isched_counters::valid.
 */
#ifndef INTELLISCHED_COUNTERS_H
#define INTELLISCHED_COUNTERS_H

#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Sub-bucket bits of the wake-to-run latency histogram: 2^3 = 8 buckets per
 * power of two, in the manner of HdrHistogram.
 */
#define ISCHED_LATENCY_SUB_BITS 3

/**
 * Number of buckets of the wake-to-run latency histogram (version 2 of the
 * counters).  Buckets 0 .. 7 count latencies of exactly 0 .. 7 ns.  Above,
 * every power of two is cut into 8 equal sub-buckets: a latency v >= 8 ns
 * with e = floor(log2 v) falls into bucket 8 (e - 2) + ((v >> (e - 3)) & 7),
 * whose width is at most 1/8 of its lower edge.  The last bucket (255) is
 * open-ended: it counts everything from 15 x 2^30 ns (about 16.1 s) up.
 * The Xen patches' credit2 statistics use the same buckets
 * (docs/context-and-reward.md, xen-patches/INTERFACE.md).
 */
#define ISCHED_LATENCY_BUCKETS 256

/** Bits of isched_counters::valid: which counters the backend measured. */
enum isched_counter_bit {
        ISCHED_CNT_BUSY = 1u << 0,         /**< busy_ns and idle_ns */
        ISCHED_CNT_GUEST = 1u << 1,        /**< guest_ns */
        ISCHED_CNT_WAIT = 1u << 2,         /**< runnable_wait_ns */
        ISCHED_CNT_WAKEUPS = 1u << 3,      /**< wakeups */
        ISCHED_CNT_LATENCY = 1u << 4,      /**< wake_latency_hist */
        ISCHED_CNT_CSWITCH = 1u << 5,      /**< context_switches */
        ISCHED_CNT_MIGRATIONS = 1u << 6,   /**< migrations */
        ISCHED_CNT_BALANCE = 1u << 7,      /**< balance_checks and balance_moves */
        ISCHED_CNT_WORK = 1u << 8,         /**< work_units */
        /**
         * The backend observes guest-published work (observation mode
         * xen+guests, docs/guest-work.md): work_units is the weighted, capped
         * sum of the work the pool's domains publish, valid (ISCHED_CNT_WORK)
         * only while at least one of them does.  Set in every snapshot of
         * that mode, so that a window without valid work is refused rather
         * than scored on CPU time.
         */
        ISCHED_CNT_GUEST_WORK = 1u << 9
};

/** Version of struct isched_counters; set isched_counters::version to it. */
#define ISCHED_COUNTERS_VERSION 2

/** One snapshot of a cpupool's scheduler counters. */
struct isched_counters {
        uint32_t version;          /**< ISCHED_COUNTERS_VERSION */
        uint32_t valid;            /**< isched_counter_bit flags */
        uint64_t timestamp_ns;     /**< monotonic time of the snapshot (simulated time for sim) */
        uint32_t nr_pcpus;         /**< pCPUs in the pool */
        uint32_t nr_vcpus;         /**< vCPUs of the domains in the pool */
        enum isched_arrangement arrangement; /**< arrangement in force at the snapshot */
        uint64_t busy_ns;          /**< sum over the pool's pCPUs of non-idle time */
        uint64_t idle_ns;          /**< sum over the pool's pCPUs of idle time */
        uint64_t guest_ns;         /**< sum over the pool's vCPUs of running time */
        uint64_t runnable_wait_ns; /**< sum over vCPUs of time runnable but not running */
        uint64_t wakeups;          /**< vCPU wakeups */
        uint64_t context_switches; /**< switches between different units on a pCPU */
        uint64_t migrations;       /**< units moved from one runqueue to another */
        uint64_t balance_checks;   /**< load-balancing attempts (credit2 balance_load) */
        uint64_t balance_moves;    /**< units moved (or swapped) by load balancing */
        uint64_t wake_latency_hist[ISCHED_LATENCY_BUCKETS]; /**< wake-to-run latency histogram, see ISCHED_LATENCY_BUCKETS */
        /**
         * Application-level progress (abstract work units).  The simulator
         * fills it with the useful work its vCPUs really completed: ground
         * truth that no real host offers.  With ISCHED_CNT_GUEST_WORK it is
         * the work the pool's guests publish (docs/guest-work.md).
         */
        uint64_t work_units;
        /**
         * Guest-published work only: changes whenever a domain's work left
         * the sum (it stopped publishing, published a counter that went
         * backwards, jumped or was malformed, died or left the pool), so
         * that a window across the change, which would miss part of that
         * domain's work, is refused.  0 otherwise.
         */
        uint32_t work_generation;
        /** Guest-published work only: domains whose work is in the last increment. */
        uint32_t work_domains;
};

/**
 * The histogram bucket a wake-to-run latency falls into.
 *
 * @param latency_ns the latency in nanoseconds.
 * @return the bucket index, 0 .. ISCHED_LATENCY_BUCKETS - 1 (see
 *         ISCHED_LATENCY_BUCKETS).
 */
unsigned isched_latency_bucket(uint64_t latency_ns);

/**
 * The latencies a histogram bucket counts: [*ret_lo_ns, *ret_hi_ns).  For the
 * open last bucket, *ret_hi_ns is where it would end if it had the width of
 * the bucket before it (2^34 ns); treat it as a lower bound.
 *
 * @param bucket 0 .. ISCHED_LATENCY_BUCKETS - 1.
 * @return 0; -EINVAL for a NULL out-parameter; -ERANGE for a bucket out of
 *         range.
 */
int isched_latency_bucket_range(unsigned bucket, uint64_t *ret_lo_ns, uint64_t *ret_hi_ns);

/**
 * Check that @p cur can follow @p prev: same version, same pool size, time
 * strictly later, no counter going backwards (a wrap or a reset), no
 * impossible value (busy + idle more than elapsed time x pCPUs, with 1%
 * tolerance), and for guest-published work the same observation and
 * work_generation in both.
 *
 * @return 0 if the window is usable; -EINVAL for a NULL argument or a bad
 *         version; -ERANGE for a counter that went backwards or is
 *         impossible; -ESTALE if the pool changed size or the guests whose
 *         work is summed changed.  The detail is in isched_last_error().
 */
int isched_counters_check_window(const struct isched_counters *prev,
                                 const struct isched_counters *cur);

#ifdef __cplusplus
}
#endif

#endif
