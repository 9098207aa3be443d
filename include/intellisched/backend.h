/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file backend.h
 * Backends: where counters come from and where arrangements are applied.
 *
 * A backend is chosen by name: "sim" (the embedded credit2 simulator, the
 * default), "xen" (a real hypervisor, when built with Xen support) and
 * "replay" (a recorded counter trace).  Pools are addressed by their
 * cpupool id.
 */
#ifndef INTELLISCHED_BACKEND_H
#define INTELLISCHED_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "counters.h"

#ifdef __cplusplus
extern "C" {
#endif

struct isched_backend;

/** Version of struct isched_backend_config; set its size field to sizeof. */
struct isched_backend_config {
        size_t size;               /**< sizeof(struct isched_backend_config) */
        const char *scenario;      /**< sim: built-in scenario name, or NULL */
        const char *workload_path; /**< sim: JSON workload file, or NULL */
        const char *topology;      /**< sim: override topology, e.g. "2n2s8c2t", or NULL */
        uint64_t seed;             /**< sim: random seed */
        const char *trace_path;    /**< replay: counter trace file */
        /**
         * What the counters may show (docs/guest-work.md): "ground-truth"
         * (sim only, its default: the work its vCPUs really did), "xen" (the
         * xen backend's default: what a patched Xen host gives, no work
         * counter) or "xen+guests" (work only as the pool's guests publish
         * it); NULL for the backend's default.  replay takes none.
         */
        const char *observation;
        /** xen+guests: "name=weight,..." by domain name (others weigh 1, 0 excludes one); NULL for none. */
        const char *guest_weights;
        /** xen+guests: the largest share of one domain in its pool's work, (0, 1]; 0 for the default 0.5. */
        double guest_share_cap;
};

/** Maximum length of a pool or scheduler name, with the terminating NUL. */
#define ISCHED_NAME_MAX 64

/** What a backend knows of one cpupool. */
struct isched_pool_info {
        uint32_t id;                          /**< cpupool id */
        char name[ISCHED_NAME_MAX];           /**< cpupool name, e.g. "Pool-0" */
        char scheduler[ISCHED_NAME_MAX];      /**< scheduler name, e.g. "credit2" */
        uint32_t nr_pcpus;                    /**< pCPUs in the pool */
        enum isched_arrangement arrangement;  /**< arrangement in force */
        bool can_switch;                      /**< the arrangement can be changed at run time */
        uint32_t nr_runqueues[ISCHED_ARR_COUNT]; /**< runqueues each arrangement gives (0: unknown) */
        char reason[128];                     /**< why it cannot be switched, "" if it can */
};

/**
 * Check a guest_weights string ("name=weight,...") as the backends parse
 * it, so that a caller can report a bad one where it was given (a command
 * line option, a configuration file's line) before opening a backend.
 *
 * @return 0 if it is valid (NULL and "" are: no weights); -EINVAL, with
 *         isched_last_error() naming the bad entry and what is allowed.
 */
int isched_backend_check_guest_weights(const char *guest_weights);

/**
 * Open a backend by name.
 *
 * @param name "sim", "xen" or "replay".
 * @param config backend settings; NULL for defaults.
 * @param ret_backend written on success; release with isched_backend_unref().
 * @return 0; -EINVAL for a bad argument or config; -ENOENT for an unknown
 *         backend name or a missing file; -EOPNOTSUPP for "xen" in a build
 *         without Xen support; other -errno from the backend.
 */
int isched_backend_open(const char *name, const struct isched_backend_config *config,
                        struct isched_backend **ret_backend);

/**
 * Drop a reference; frees the backend when the last one goes.
 *
 * @return NULL, always, so that callers can write b = isched_backend_unref(b).
 */
struct isched_backend *isched_backend_unref(struct isched_backend *backend);

/** Take a reference. @return @p backend. */
struct isched_backend *isched_backend_ref(struct isched_backend *backend);

/** The backend's name ("sim", "xen", "replay"), or NULL for NULL. */
const char *isched_backend_get_name(const struct isched_backend *backend);

/**
 * List the pools.
 *
 * @param ret_pools written on success with an array the caller frees with free().
 * @param ret_n written on success with the array's length.
 * @return 0, or -errno.
 */
int isched_backend_list_pools(struct isched_backend *backend, struct isched_pool_info **ret_pools,
                              size_t *ret_n);

/**
 * Find a pool by name.
 *
 * @return 0; -ENOENT if no pool has that name (the detail names the pools
 *         there are); other -errno.
 */
int isched_backend_find_pool(struct isched_backend *backend, const char *name,
                             struct isched_pool_info *ret_pool);

/**
 * Read a pool's counters now.
 *
 * @return 0; -ENOENT if the pool is gone; -ENODATA when a replay trace has
 *         ended; other -errno.
 */
int isched_backend_read_counters(struct isched_backend *backend, uint32_t pool_id,
                                 struct isched_counters *ret_counters);

/**
 * Read the arrangement in force in a pool.
 *
 * @return 0, or -errno as isched_backend_read_counters().
 */
int isched_backend_get_arrangement(struct isched_backend *backend, uint32_t pool_id,
                                   enum isched_arrangement *ret_arrangement);

/**
 * Apply an arrangement to a pool.  Applying the arrangement in force is a
 * successful no-op.
 *
 * @return 0; -EOPNOTSUPP if this pool cannot be switched (e.g. a hypervisor
 *         without the intellisched patches); -EINVAL for an invalid
 *         arrangement; -ENOENT if the pool is gone; -EBUSY, -EPERM or
 *         other -errno from the hypervisor.
 */
int isched_backend_set_arrangement(struct isched_backend *backend, uint32_t pool_id,
                                   enum isched_arrangement arrangement);

/**
 * Let @p interval_ns of time pass: the simulator simulates it, the Xen
 * backend sleeps, the replay backend moves to the next record.
 *
 * @return 0; -EINTR if a signal interrupted a real sleep; -ENODATA when a
 *         replay trace has ended; other -errno.
 */
int isched_backend_wait(struct isched_backend *backend, uint64_t interval_ns);

/** What a backend observing in mode xen+guests knows of one domain's published work (docs/guest-work.md). */
struct isched_guest_info {
        uint32_t domid;
        char name[ISCHED_NAME_MAX];
        const char *state;   /**< "absent", "excluded", "joining", "live" or "fault" (static) */
        const char *fault;   /**< the last refused publication: "stale", "went backwards", "wrapped",
                                  "implausible jump", "implausible clock", "malformed"; "ok" if none (static) */
        double weight;       /**< configured weight (guest_weights), 1 by default */
        double rate_per_s;   /**< last accepted rate, work units per second; NaN (null in JSON) for a domain
                                  none of whose publications was ever accepted as an interval */
        double share;        /**< its part of the pool's last increment, 0..1, after the cap */
        uint64_t faults;     /**< refused publications so far */
        char reason[160];    /**< the last fault in words, "" if none */
};

/**
 * The domains of a pool whose published work the backend follows, as of
 * its last read of the pool's counters.
 *
 * @param ret_guests written on success with an array the caller frees with
 *        free() (NULL when *ret_n is 0).
 * @return 0; -EINVAL for a NULL argument; -EOPNOTSUPP if the backend does
 *         not observe in mode xen+guests; -ENOMEM.
 */
int isched_backend_list_guests(struct isched_backend *backend, uint32_t pool_id,
                               struct isched_guest_info **ret_guests, size_t *ret_n);

#ifdef __cplusplus
}
#endif

#endif
