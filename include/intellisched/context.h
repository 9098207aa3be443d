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
#define ISCHED_FEATURE_SCHEMA "isched-features-v1"

/** The features of ISCHED_FEATURE_SCHEMA, in order. */
enum isched_feature {
        ISCHED_F_BIAS = 0,        /**< constant 1 */
        ISCHED_F_UTILISATION,     /**< busy / (busy + idle) of the pool's pCPUs */
        ISCHED_F_LOAD,            /**< (guest + runnable wait) time per pCPU: runnable vCPUs per pCPU */
        ISCHED_F_VCPU_RATIO,      /**< vCPUs per pCPU */
        ISCHED_F_WAKE_RATE,       /**< log1p(wakeups per pCPU per ms) */
        ISCHED_F_LAT_MEAN,        /**< log1p(mean wake-to-run latency in us) */
        ISCHED_F_LAT_P99,         /**< log1p(99th percentile wake-to-run latency in us) */
        ISCHED_F_MIGRATION_RATE,  /**< log1p(runqueue migrations per pCPU per s) */
        ISCHED_F_CSWITCH_RATE,    /**< log1p(context switches per pCPU per ms) */
        ISCHED_F_COUNT
};

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

#ifdef __cplusplus
}
#endif

#endif
