/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file context.h
 * From counter snapshots to what a policy sees: the window metrics, the
 * context vector (feature schema ISCHED_FEATURE_SCHEMA) and the reward.
 *
 * A window is the difference of two counter snapshots of one pool.  The
 * context object keeps the state that makes features and rewards
 * scale-free: running means and variances of every feature (online
 * normalisation) and a running baseline of the window score.  It is
 * saved in model files beside the policy.
 */
#ifndef INTELLISCHED_CONTEXT_H
#define INTELLISCHED_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "counters.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The feature schema this library builds; stored in model files. */
#define ISCHED_FEATURE_SCHEMA "isched-features-v2"

/**
 * The features of ISCHED_FEATURE_SCHEMA, in order.  They describe the
 * workload, not the arrangement that produced the window: each is (close
 * to) the same whichever arrangement is in force, so that what a policy
 * predicts from a window does not depend on the arm that produced it
 * (docs/context-and-reward.md).  Latencies, migrations, context switches
 * and runnable wait are what the arrangements change, so they are in the
 * score and the window, not in the context.
 */
enum isched_feature {
        ISCHED_F_BIAS = 0,        /**< constant 1 */
        ISCHED_F_UTILISATION,     /**< busy / (busy + idle) of the pool's pCPUs */
        ISCHED_F_VCPU_RATIO,      /**< vCPUs per pCPU */
        ISCHED_F_WAKE_RATE,       /**< log1p(wakeups per busy pCPU-millisecond) */
        ISCHED_F_WAKE_SPREAD,     /**< log1p(wakeups per pCPU per ms): how much of the host the wakeups occupy */
        ISCHED_F_COUNT
};

/**
 * What the reward's throughput term is computed from (the observation
 * mode).  A model learned in one mode is refused in another: the scores
 * are not comparable (docs/context-and-reward.md).
 */
enum isched_observation {
        ISCHED_OBS_UNKNOWN = 0,     /**< not known yet (no window seen) */
        ISCHED_OBS_GROUND_TRUTH,    /**< the simulator's work counter: useful work done, which no real host exposes */
        ISCHED_OBS_XEN,             /**< Xen's counters only: guest CPU time */
        ISCHED_OBS_XEN_GUESTS,      /**< Xen's counters plus work the guests publish */
        ISCHED_OBS_COUNT
};

/** "unknown", "ground-truth", "xen", "xen+guests"; NULL if invalid. */
const char *isched_observation_to_string(enum isched_observation mode);

/** The inverse of isched_observation_to_string(). @return 0 or -EINVAL. */
int isched_observation_from_string(const char *name, enum isched_observation *ret_mode);

/**
 * The observation mode of a backend's counters: ground truth when the
 * work counter is valid on the simulator, else Xen's counters alone.
 * (Guest-published work, ISCHED_OBS_XEN_GUESTS, has no counter yet.)
 * @param backend_name "sim", "xen", "replay" (a replayed trace of the
 *        simulator has the work counter too).
 */
enum isched_observation isched_counters_observation(const char *backend_name, const struct isched_counters *counters);

/**
 * What happened in one window, in physical units.  A metric whose counter
 * was not valid in both snapshots is 0 (docs/context-and-reward.md lists
 * the fallbacks); the valid member says which counters were measured.
 */
struct isched_window {
        uint64_t duration_ns;
        uint32_t nr_pcpus;
        uint32_t nr_vcpus;
        enum isched_arrangement arrangement; /**< in force at the end of the window */
        double utilisation;          /**< 0..1; busy/(busy+idle), else guest time over capacity */
        double load;                 /**< runnable vCPUs per pCPU (0 if unknown) */
        double wakeups_per_s;
        double lat_mean_us;          /**< mean wake-to-run latency, from the histogram (bucket geometric midpoints); 0 if no wakeup was measured */
        double lat_p99_us;           /**< 99th percentile, interpolated linearly in its log2 bucket; 0 if no wakeup was measured */
        double migrations_per_s;
        double cswitches_per_s;
        double balance_moves_per_s;
        /** Throughput per pCPU: work units per second when the backend
         *  measures work (ISCHED_CNT_WORK), else guest CPU seconds per
         *  second; 0 if it measures neither (such a window has no score). */
        double throughput;
        bool throughput_is_work;     /**< which of the two throughput is */
        /** Work published by the guests (ISCHED_CNT_GUEST_WORK in valid):
         *  the domains whose work is in it; 0 otherwise. */
        uint32_t work_domains;
        uint32_t valid;              /**< the valid bits both snapshots share */
};

/**
 * Compute a window from two snapshots of the same pool.
 *
 * @return 0; the errors of isched_counters_check_window(); -ERANGE for
 *         an invalid arrangement; -EDOM if a metric comes out non-finite.
 *         A failed window must be skipped, never learned from.
 *         @p ret_window is written only on success.
 */
int isched_window_from_counters(const struct isched_counters *prev, const struct isched_counters *cur,
                                struct isched_window *ret_window);

/** Name of feature @p i of ISCHED_FEATURE_SCHEMA ("bias", "utilisation", ...), NULL if out of range. */
const char *isched_feature_name(unsigned i);

struct isched_context;

/** Reward and normalisation settings.  Start from isched_context_params_init(). */
struct isched_context_params {
        size_t size;               /**< sizeof(struct isched_context_params) */
        double w_throughput;       /**< weight of relative throughput (default 1.0) */
        double w_lat_mean;         /**< weight of relative mean wake latency (default 0.25) */
        double w_lat_p99;          /**< weight of relative p99 wake latency (default 0.25) */
        double switch_penalty;     /**< subtracted from the reward of a window that began with a switch (default 0.02) */
        double baseline_halflife;  /**< half-life of the running baselines, in windows (default 50) */
        double clip;               /**< normalised features are clipped to [-clip, clip] (default 5) */
};

/** Fill @p params with the defaults. @return 0 or -EINVAL. */
int isched_context_params_init(struct isched_context_params *params);

/**
 * Create a context builder.  Weights and the penalty must be finite and
 * >= 0 (not all three weights 0), baseline_halflife and clip finite and > 0.
 *
 * @return 0, -EINVAL (detail names the field), -ENOMEM.
 */
int isched_context_new(const struct isched_context_params *params, struct isched_context **ret_context);

/** Free. NULL-safe. @return NULL. */
struct isched_context *isched_context_free(struct isched_context *context);

/** A deep copy. @return 0, -EINVAL, -ENOMEM. */
int isched_context_clone(const struct isched_context *context, struct isched_context **ret_context);

/** Read back the settings. @return 0 or -EINVAL. */
int isched_context_get_params(const struct isched_context *context, struct isched_context_params *ret_params);

/**
 * Build the context vector of a window: raw features, then the running
 * mean and variance of each (but the bias) are updated and the vector is
 * standardised and clipped.  Warm-up: a feature is 0 until two windows
 * have been seen and while it has not varied (its running standard
 * deviation is 0); the bias is always 1.  A failed call changes nothing.
 *
 * @param ret_x written with ISCHED_F_COUNT values; @p d must be ISCHED_F_COUNT.
 * @param ret_raw if not NULL, written with the raw (unnormalised) features.
 * @return 0; -EINVAL for a NULL argument, a wrong @p d or a window with
 *         no duration or pCPUs; -EDOM for a non-finite or negative metric
 *         or a utilisation above 1.
 */
int isched_context_features(struct isched_context *context, const struct isched_window *window,
                            double *ret_x, size_t d, double *ret_raw);

/**
 * The absolute score of a window, which needs no state:
 * w_throughput * ln(throughput) - w_lat_mean * ln(1 + lat_mean_us)
 * - w_lat_p99 * ln(1 + lat_p99_us).  Differences of scores are relative
 * (log-ratio) changes, so the score is scale-free up to a constant.  This
 * is the "reward" `isched sim` reports and the bench compares.
 *
 * @return 0; -EINVAL for a bad argument or params; -EDOM for a
 *         non-finite or negative metric or zero throughput.
 */
int isched_context_score(const struct isched_context_params *params, const struct isched_window *window,
                         double *ret_score);

/**
 * The reward of a window, what the policy learns from: its score minus the
 * running baseline score (an exponentially weighted mean of past scores
 * with half-life baseline_halflife windows, warm-started as the plain mean
 * of the scores so far while fewer than about 1.44 x baseline_halflife
 * windows have been seen), minus switch_penalty if @p switched.  The baseline is updated afterwards with the score (the
 * penalty does not enter it); the first window's baseline is its own
 * score.  A failed call changes nothing.
 *
 * @return 0, -EINVAL, -EDOM as isched_context_score().
 */
int isched_context_reward(struct isched_context *context, const struct isched_window *window,
                          bool switched, double *ret_reward);

/** The current baseline score (NaN before the first reward, and for NULL). */
double isched_context_get_baseline(const struct isched_context *context);

/**
 * What a model has learned about its own accuracy and the host, carried
 * with the context builder in a model file so that a restarted agent, or
 * an agent started from a shipped prior, knows how far to trust it
 * (docs/safety.md).  A value is unknown when it is NaN or its weight is 0.
 */
struct isched_calibration {
        size_t size;                              /**< sizeof(struct isched_calibration) */
        double noise_sd;                          /**< noise sd of one window's score */
        double noise_weight;                      /**< degrees of freedom it rests on */
        double switch_cost;                       /**< a switch's cost, in window-equivalents of score */
        double switch_cost_weight;                /**< switches it rests on */
        double model_error[ISCHED_ARR_COUNT];     /**< RMS error of the model's predicted gain of each arm over the baseline */
        double model_error_weight[ISCHED_ARR_COUNT]; /**< predictions it rests on */
};

/** Fill @p cal with "nothing known". @return 0 or -EINVAL. */
int isched_calibration_init(struct isched_calibration *cal);

/** The builder's calibration (all unknown for a new builder). @return 0 or -EINVAL. */
int isched_context_get_calibration(const struct isched_context *context, struct isched_calibration *ret_cal);

/**
 * Replace the builder's calibration.
 * @return 0; -EINVAL for a NULL argument, a wrong size, or a value or
 *         weight that is negative or infinite (NaN values are "unknown").
 */
int isched_context_set_calibration(struct isched_context *context, const struct isched_calibration *cal);

/** The observation mode the builder's scores come from (ISCHED_OBS_UNKNOWN until set, and for NULL). */
enum isched_observation isched_context_get_observation(const struct isched_context *context);

/**
 * Record the observation mode of the scores the builder (and a model
 * saved with it) learns from.  A builder that already has a mode keeps it:
 * setting another one is refused, so that a model learned from one kind
 * of throughput is never fed another.
 * @return 0; -EINVAL for a NULL context or an invalid mode; -EDOM if the
 *         builder has another mode (the detail names both).
 */
int isched_context_set_observation(struct isched_context *context, enum isched_observation mode);

#ifdef __cplusplus
}
#endif

#endif
