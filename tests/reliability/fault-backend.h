/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fault-injecting backend for tests: it wraps another backend (the
 * simulator) and, when armed, makes counter reads fail or lie, makes
 * switches fail, or makes the pool vanish (docs/reliability.md).  It is
 * built only into the tests: a production binary has no way to ask for
 * faults. */
#ifndef ISCHED_FAULT_BACKEND_H
#define ISCHED_FAULT_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "intellisched/backend.h"

enum fault_read {
        FAULT_READ_NONE = 0,
        FAULT_READ_ERROR,     /* the read fails with the armed -errno */
        FAULT_READ_BACKWARDS, /* busy_ns, wakeups and context_switches go backwards */
        FAULT_READ_EVENTS_BACKWARDS, /* only wakeups and context_switches: no time bound catches the next window */
        FAULT_READ_GARBAGE,   /* busy_ns jumps by ten times what the pool could do */
        FAULT_READ_SHRINK,    /* the pool reports one pCPU less */
};

/* What the wrapper did, for the tests' assertions. */
struct fault_stats {
        unsigned reads, faulty_reads;
        unsigned switch_attempts, switch_failures;
        /* Timestamps of the snapshots served with a lie in them. */
        uint64_t faulty_ts[256];
        unsigned n_faulty_ts;
        /* Set when a counter offset makes the counters wrap past 2^64:
         * the timestamp of the first snapshot after the wrap. */
        uint64_t wrap_ts;
};

/* Wrap inner (a reference is taken). */
int fault_backend_new(struct isched_backend *inner, struct isched_backend **ret);

/* The next count reads are faulty in the given way (err for FAULT_READ_ERROR). */
void fault_arm_read(struct isched_backend *fb, enum fault_read kind, int err, unsigned count);

/* The next count switches fail with err (UINT32_MAX: all of them). */
void fault_arm_switch(struct isched_backend *fb, int err, uint32_t count);

/* From now on the pool is gone: not listed, -ENOENT for everything. */
void fault_vanish(struct isched_backend *fb);

/* Add offset (mod 2^64) to busy_ns, wakeups and context_switches of every
 * later read, as a hypervisor whose counters started near their maximum:
 * they wrap past 2^64 when the true value crosses 2^64 - offset. */
void fault_set_counter_offset(struct isched_backend *fb, uint64_t offset);

/* True if a snapshot with this timestamp was served with a lie in it. */
bool fault_ts_was_faulty(const struct isched_backend *fb, uint64_t ts);

const struct fault_stats *fault_get_stats(const struct isched_backend *fb);

/* The wrapped backend (no new reference). */
struct isched_backend *fault_inner(struct isched_backend *fb);

#endif
