/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file sim.h
 * The embedded credit2 simulator: a discrete-event model of a Xen host
 * running the credit2 scheduler of Xen 4.17, with cpupools, runqueue
 * arrangements that can be switched at run time, and workloads of domains
 * whose vCPUs burn CPU, wait for I/O, wake each other and fill caches.
 * It is also the "sim" backend (see backend.h).  docs/simulator.md
 * describes the model, its constants and the JSON workload format.
 *
 * A simulation is deterministic: the same workload, topology, arrangement
 * and seed give the same counters, bit for bit.
 */
#ifndef INTELLISCHED_SIM_H
#define INTELLISCHED_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "counters.h"
#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

struct isched_sim;

/** Settings of a simulation.  Start from isched_sim_config_init(). */
struct isched_sim_config {
        size_t size;               /**< sizeof(struct isched_sim_config) */
        const char *scenario;      /**< built-in scenario name, or NULL */
        const char *workload_path; /**< JSON workload file, or NULL */
        const char *workload_json; /**< JSON workload text, or NULL */
        const char *topology;      /**< overrides the workload's topology, e.g. "2n2s8c2t", or NULL */
        uint64_t seed;             /**< random seed */
        bool set_arrangement;      /**< apply @ref arrangement to every pool at start */
        enum isched_arrangement arrangement; /**< initial arrangement if set_arrangement (else socket, Xen's default) */
        const char *costs_path;    /**< JSON object of cost constants overriding the defaults and the workload's, or NULL */
        const char *costs_json;    /**< the same as text, or NULL (at most one of the two) */
};

/**
 * Fill @p config with the defaults: no workload chosen (which means the
 * "phased" scenario), seed 1, Xen's default arrangement (socket).
 *
 * @return 0, or -EINVAL if @p config is NULL.
 */
int isched_sim_config_init(struct isched_sim_config *config);

/**
 * Create a simulation at time 0.  At most one of scenario, workload_path
 * and workload_json may be set; with none, the "phased" scenario is used.
 *
 * @param config the settings.
 * @param ret_sim written on success; free with isched_sim_free().
 * @return 0; -EINVAL for a bad config, topology or workload (the detail,
 *         from isched_last_error(), names the offending field); -ENOENT
 *         for an unknown scenario or a missing file; -EFBIG for a workload
 *         file over 4 MiB; -ENOMEM.
 */
int isched_sim_new(const struct isched_sim_config *config, struct isched_sim **ret_sim);

/** Free a simulation.  NULL-safe.  @return NULL. */
struct isched_sim *isched_sim_free(struct isched_sim *sim);

/**
 * The simulation behind a "sim" backend, owned by the backend: for reading
 * its ground truth (isched_sim_read_counters()) while the backend observes
 * in another mode (docs/guest-work.md), as the bench does to judge an agent
 * that learns from what a Xen host would show.
 *
 * @return 0; -EINVAL for a NULL argument; -EOPNOTSUPP for another backend.
 */
int isched_sim_from_backend(struct isched_backend *backend, struct isched_sim **ret_sim);

/**
 * Simulate @p duration_ns nanoseconds more.
 *
 * @return 0; -EINVAL for a NULL @p sim; -ENOMEM if the event queue could
 *         not grow (the simulation is then unusable).
 */
int isched_sim_run(struct isched_sim *sim, uint64_t duration_ns);

/**
 * The simulated time.
 *
 * @return 0, or -EINVAL for a NULL argument.
 */
int isched_sim_get_time(const struct isched_sim *sim, uint64_t *ret_now_ns);

/**
 * Number of cpupools.  Pools are numbered 0 .. n-1 and the id is also the
 * cpupool id; pool 0 is "Pool-0".
 *
 * @return 0, or -EINVAL for a NULL argument.
 */
int isched_sim_pool_count(const struct isched_sim *sim, uint32_t *ret_n);

/**
 * What the simulator knows of a pool: name, pCPUs, arrangement and the
 * runqueues every arrangement gives (can_switch is always true).
 *
 * @return 0; -EINVAL for a NULL argument; -ENOENT for no such pool.
 */
int isched_sim_pool_info(const struct isched_sim *sim, uint32_t pool_id,
                         struct isched_pool_info *ret_info);

/**
 * A pool's counters now.  ISCHED_CNT_WORK is set: work_units is the useful
 * work its vCPUs completed (in microseconds of work at full single-thread
 * speed), ground truth no real host offers.
 *
 * @return 0; -EINVAL for a NULL argument; -ENOENT for no such pool.
 */
int isched_sim_read_counters(struct isched_sim *sim, uint32_t pool_id,
                             struct isched_counters *ret_counters);

/**
 * The arrangement in force in a pool.
 *
 * @return 0; -EINVAL; -ENOENT for no such pool.
 */
int isched_sim_get_arrangement(const struct isched_sim *sim, uint32_t pool_id,
                               enum isched_arrangement *ret_arrangement);

/**
 * Switch a pool's arrangement now, paying what a live switch costs: the
 * pool pauses briefly, runqueues are rebuilt as Xen builds them, a new
 * credit epoch starts, and vCPUs that land on other pCPUs refill their
 * caches.  Applying the arrangement in force is a successful no-op.
 *
 * @return 0; -EINVAL for a NULL @p sim or an invalid arrangement;
 *         -ENOENT for no such pool; -ENOMEM.
 */
int isched_sim_set_arrangement(struct isched_sim *sim, uint32_t pool_id,
                               enum isched_arrangement arrangement);

/** Simulator-internal statistics of one pool, for tools and tests. */
struct isched_sim_stats {
        size_t size;               /**< set to sizeof(struct isched_sim_stats) by the caller */
        uint64_t events;           /**< events processed (whole simulation) */
        uint32_t nr_runqueues;     /**< runqueues in force */
        uint64_t sched_calls;      /**< csched2_schedule() invocations */
        uint64_t credit_resets;    /**< reset_credit() invocations */
        uint64_t lock_ops;         /**< runqueue lock acquisitions */
        uint64_t lock_wait_ns;     /**< total time spent waiting for runqueue locks */
        uint64_t switches;         /**< arrangement switches done */
        uint64_t trylocks;         /**< runqueue trylocks (csched2_res_pick(), balance_load()) */
        uint64_t trylock_fails;    /**< of which found the lock held */
};

/**
 * Statistics of one pool.
 *
 * @return 0; -EINVAL for a NULL argument or a @p ret_stats whose size is
 *         smaller than the library's; -ENOENT for no such pool.
 */
int isched_sim_get_stats(const struct isched_sim *sim, uint32_t pool_id,
                         struct isched_sim_stats *ret_stats);

/** What one domain did (ground truth of the simulator). */
struct isched_sim_domain_info {
        size_t size;               /**< set to sizeof(struct isched_sim_domain_info) by the caller */
        char name[ISCHED_NAME_MAX];/**< the domain's name in the workload */
        uint32_t pool_id;          /**< the cpupool it belongs to */
        uint32_t nr_vcpus;
        uint32_t weight;
        uint32_t cap;              /**< percent of one pCPU, 0 for none */
        uint64_t work_units;       /**< useful work done, microseconds at full single-thread speed */
        uint64_t run_ns;           /**< time its vCPUs ran */
        uint64_t wakeups;          /**< wake-ups of its vCPUs that have run since */
        uint64_t wake_latency_hist[ISCHED_LATENCY_BUCKETS]; /**< their wake-to-run latencies (counters.h buckets) */
        bool publishes;            /**< it publishes its work (the workload's "publishes", default true; observation xen+guests) */
};

/**
 * Number of domains in the simulation.
 *
 * @return 0, or -EINVAL for a NULL argument.
 */
int isched_sim_domain_count(const struct isched_sim *sim, uint32_t *ret_n);

/**
 * What domain @p index (0 .. count-1, in workload order) did so far.
 *
 * @return 0; -EINVAL for a NULL argument or a @p ret_info whose size is
 *         smaller than the library's; -ENOENT for no such domain.
 */
int isched_sim_domain_info(const struct isched_sim *sim, uint32_t index,
                           struct isched_sim_domain_info *ret_info);

/**
 * The phase schedule of a built-in scenario: the durations of its phases
 * in order, which repeat from time 0 for as long as it runs.  A scenario
 * without phases has none (*ret_n = 0): its workload never changes.
 *
 * @param name the scenario.
 * @param ret_duration_s receives up to @p max durations, in seconds.
 * @param max entries of @p ret_duration_s.
 * @param ret_n receives the number of phases.
 * @return 0; -EINVAL for a NULL argument; -ENOENT for an unknown scenario;
 *         -ERANGE if the scenario has more than @p max phases (*ret_n is
 *         set, the durations are not).
 */
int isched_sim_scenario_phases(const char *name, double *ret_duration_s, size_t max, size_t *ret_n);

/**
 * The phase schedule of a simulation's workload, as
 * isched_sim_scenario_phases() gives a scenario's.
 *
 * @return 0; -EINVAL for a NULL argument; -ERANGE if it has more than @p max.
 */
int isched_sim_phases(const struct isched_sim *sim, double *ret_duration_s, size_t max, size_t *ret_n);

/**
 * Number of cost constants of the simulator (docs/simulator.md lists them
 * with their sources).  A workload's "costs" object and
 * isched_sim_config.costs_path / costs_json override them by name.
 */
size_t isched_sim_cost_count(void);

/**
 * Cost constant @p i: its name, default value, unit and source.
 *
 * @return 0; -EINVAL for a NULL out-parameter; -ERANGE if @p i is out of range.
 */
int isched_sim_cost_get(size_t i, const char **ret_name, double *ret_default, const char **ret_unit,
                        const char **ret_source);

/** Number of built-in scenarios. */
size_t isched_sim_scenario_count(void);

/**
 * Name and one-line description of built-in scenario @p i.
 *
 * @return 0; -EINVAL for a NULL out-parameter; -ERANGE if @p i is out of range.
 */
int isched_sim_scenario_get(size_t i, const char **ret_name, const char **ret_description);

/**
 * The number of runqueues credit2 builds for @p nr_cpus CPUs (the first
 * ones of the host) of a topology under an arrangement, as Xen's
 * cpu_add_to_runqueue() does (SMT siblings together, at most
 * sched_credit2_max_cpus_runqueue = 16 CPUs per runqueue where the
 * topology allows).
 *
 * @param topology e.g. "1n2s2c2t" (nodes, sockets per node, cores per
 *        socket, threads per core).
 * @param nr_cpus CPUs in the pool, 0 for all.
 * @return 0; -EINVAL for a bad topology, arrangement or CPU count.
 */
int isched_sim_count_runqueues(const char *topology, uint32_t nr_cpus,
                               enum isched_arrangement arrangement, uint32_t *ret_nr);

#ifdef __cplusplus
}
#endif

#endif
