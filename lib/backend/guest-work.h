/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Guest-published work: the validation and per-pool aggregation of the
 * work counters that guests publish (docs/guest-work.md).  It knows nothing
 * of Xen or of the simulator: the xen backend feeds it what it read from
 * xenstore, the sim backend (observation mode xen+guests) the work of the
 * domains its workload marks as publishing, so that both go through the
 * same checks.  Tested without either in tests/guest/. */
#ifndef ISCHED_GUEST_WORK_H
#define ISCHED_GUEST_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intellisched/backend.h"
#include "intellisched/context.h"
#include "intellisched/counters.h"

/* Defaults of struct isched__guest_params (docs/guest-work.md). */
#define ISCHED_GUEST_SHARE_CAP_DEFAULT 0.5
#define ISCHED_GUEST_JUMP_FACTOR_DEFAULT 100.0
#define ISCHED_GUEST_JUMP_HISTORY 3u
#define ISCHED_GUEST_CLOCK_RATIO_MAX 3.0
/* Reads of a pool closer than this to its previous one return that one's
 * result: several readers of one backend at the same moment agree. */
#define ISCHED_GUEST_MIN_READ_NS 10000000ull
/* Longest value accepted for a published counter (20 digits: UINT64_MAX). */
#define ISCHED_GUEST_VALUE_MAX 20u
/* Longest configured domain name (Xen's own limit is 64 with the NUL). */
#define ISCHED_GUEST_NAME_MAX 64u

struct isched__guest_tracker;

/* One configured weight: domain name -> weight (0 excludes the domain). */
struct isched__guest_weight {
        char name[ISCHED_GUEST_NAME_MAX];
        double weight;
};

struct isched__guest_params {
        /* Largest share of one domain in a pool's work increment, (0, 1];
         * with n domains doing work in a read, the cap used is
         * max(share_cap, 1/n). */
        double share_cap;
        /* A domain whose rate exceeds jump_factor x its highest accepted
         * rate (after ISCHED_GUEST_JUMP_HISTORY accepted intervals) jumped
         * implausibly; > 1. */
        double jump_factor;
        /* Weights by domain name; domains not listed weigh 1. */
        const struct isched__guest_weight *weights;
        size_t nr_weights;
};

/* What the tracker thinks of one domain after a read. */
enum isched__guest_state {
        ISCHED_GUEST_ABSENT = 0, /* publishes nothing */
        ISCHED_GUEST_EXCLUDED,   /* weight 0 in the configuration */
        ISCHED_GUEST_JOINING,    /* a first (or first good) publication: counts from the next read */
        ISCHED_GUEST_LIVE,       /* its work is in the pool's increment of this read */
        ISCHED_GUEST_FAULT,      /* this read was refused; fault says why */
};

/* Why a publication was refused. */
enum isched__guest_fault {
        ISCHED_GUEST_OK = 0,
        ISCHED_GUEST_MALFORMED, /* a value that is not a decimal uint64 */
        ISCHED_GUEST_STALE,     /* no new publication since the previous read */
        ISCHED_GUEST_BACKWARDS, /* work went backwards: a reset or a lie */
        ISCHED_GUEST_WRAPPED,   /* work went backwards from near 2^32 or 2^64 */
        ISCHED_GUEST_JUMP,      /* an implausible jump of the rate */
        ISCHED_GUEST_CLOCK,     /* the publication time went backwards or moved unlike dom0's */
        ISCHED_GUEST_FAULT_COUNT
};

/* One domain's publication as a backend read it now. */
struct isched__guest_sample {
        uint32_t domid;
        uint8_t handle[16];      /* the domain's UUID: a reused domid is another domain */
        const char *name;        /* for the weights and the messages */
        bool present;            /* the domain publishes (both values are there) */
        const char *malformed;   /* non-NULL: why the record could not be read (present must be true) */
        bool unsettled;          /* present, but it changed during every read attempt: no settled
                                    publication was seen this time (taken as stale) */
        uint64_t work;           /* cumulative work units */
        uint64_t time_ns;        /* the guest's monotonic time at which work was sampled */
};

/* A pool's guest-published work after a read. */
struct isched__guest_pool_result {
        uint64_t work_units;  /* cumulative, weighted and capped; never decreases */
        uint32_t generation;  /* changes whenever a difference across it would be wrong */
        uint32_t nr_live;     /* domains whose work is in this read's increment */
        uint32_t nr_pending;  /* domains whose work counts from the next read (joining, or after a fault) */
        uint32_t nr_domains;  /* domains of the pool in this read */
};

/* What the tracker knows of one domain of a pool. */
struct isched__guest_domain_status {
        uint32_t domid;
        char name[ISCHED_GUEST_NAME_MAX];
        enum isched__guest_state state;
        enum isched__guest_fault fault;   /* of the last refused read (kept until the next one) */
        double weight;
        double rate_per_s;                /* last accepted rate, work units per second; NaN if none was ever */
        double share;                     /* its part of the pool's last increment, 0..1 */
        uint64_t faults;                  /* refused reads so far */
        char reason[160];                 /* the last fault, in words; "" if none */
};

/* Strict decimal uint64: digits only, no sign, no space, at most 20 of
 * them, no overflow.  0 or -EINVAL. */
int isched__guest_parse_u64(const char *text, uint64_t *ret);

/* Attempts at reading one settled publication. */
#define ISCHED_GUEST_READ_ATTEMPTS 3u

/* Reads the node @leaf ("time_ns" or "work") of one domain's publication:
 * a malloc'ed NUL-terminated string, or NULL with errno set (ENOENT: no
 * such node). */
typedef char *(*isched__guest_read_fn)(void *ctx, const char *leaf);

/* Read one domain's publication into s (present, malformed, unsettled,
 * work, time_ns; the caller sets the rest): time_ns, work and time_ns
 * again, until both times are equal (the publisher writes both nodes in one
 * transaction, so nothing was committed in between) or both nodes are
 * missing, at most ISCHED_GUEST_READ_ATTEMPTS times.  One node without the
 * other (a publisher starting or removing its nodes) is read again; only if
 * it stays so is it malformed.  s->malformed points into @why.  0, or the
 * errno of a read that failed otherwise than for a missing or forbidden
 * node (the connection to xenstored is lost; s is then absent). */
int isched__guest_read_publication(isched__guest_read_fn read, void *ctx, struct isched__guest_sample *s,
                                   char *why, size_t why_size);

/* "name=weight[,name=weight...]" (weights finite, 0 .. 1e6).  On success
 * *ret is a malloc'ed array the caller frees.  0, -EINVAL (the detail
 * names the bad entry) or -ENOMEM. */
int isched__guest_parse_weights(const char *text, struct isched__guest_weight **ret, size_t *ret_n);

/* Checks the parameters; NULL means the defaults.  0, -EINVAL or -ENOMEM. */
int isched__guest_tracker_new(const struct isched__guest_params *params, struct isched__guest_tracker **ret);
struct isched__guest_tracker *isched__guest_tracker_free(struct isched__guest_tracker *t);

/* Update pool @pool from one read at dom0 time @now_ns (not before the
 * pool's previous read; within ISCHED_GUEST_MIN_READ_NS of it, the previous
 * result is returned unchanged) of its domains' publications.  Domains the
 * tracker knew in this pool but that are not among @samples left it.
 * Every change of a domain's state is logged.  0, -EINVAL or -ENOMEM (the
 * tracker is then unchanged). */
int isched__guest_update(struct isched__guest_tracker *t, uint32_t pool, uint64_t now_ns,
                         const struct isched__guest_sample *samples, size_t n,
                         struct isched__guest_pool_result *ret);

/* The status of the domains the tracker knows in @pool: *ret is a
 * malloc'ed array (possibly NULL with *ret_n 0).  0, -EINVAL or -ENOMEM. */
int isched__guest_pool_status(const struct isched__guest_tracker *t, uint32_t pool,
                              struct isched__guest_domain_status **ret, size_t *ret_n);

/* The mode cfg->observation asks @backend for, @dflt when NULL.  0 or
 * -EINVAL (an unknown name, or one the backend cannot give, with
 * @allowed its bit mask of modes). */
int isched__guest_observation(const struct isched_backend_config *cfg, const char *backend,
                              enum isched_observation dflt, unsigned allowed, enum isched_observation *ret);

/* The tracker parameters of cfg (weights and share cap).  *ret_weights is
 * what the caller frees once the tracker is made.  0, -EINVAL, -ENOMEM. */
int isched__guest_params_from_config(const struct isched_backend_config *cfg, struct isched__guest_params *ret,
                                     struct isched__guest_weight **ret_weights);

/* Put a pool's result into a snapshot: work_units, work_generation,
 * work_domains, ISCHED_CNT_GUEST_WORK, and ISCHED_CNT_WORK when at least one
 * domain's work is in the sum or counts from the next read (so that the
 * window from the first read on is valid). */
void isched__guest_result_to_counters(const struct isched__guest_pool_result *res, struct isched_counters *c);

/* isched_backend_list_guests() for a tracker: 0, -ENOMEM. */
int isched__guest_list(const struct isched__guest_tracker *t, uint32_t pool, struct isched_guest_info **ret,
                       size_t *ret_n);

/* "stale", "went backwards", ...; NULL for an invalid fault. */
const char *isched__guest_fault_name(enum isched__guest_fault f);
/* "absent", "excluded", "joining", "live", "fault". */
const char *isched__guest_state_name(enum isched__guest_state s);

#endif
