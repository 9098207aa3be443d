/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file policy.h
 * Bandit policies: each arm is one credit2 arrangement.
 *
 * A policy sees a context vector x of dimension d (usually built by
 * isched_context, see context.h), chooses an arm, and is later told the
 * reward the chosen arm earned.  Every decision comes with the probability
 * the policy had of choosing that arm (its propensity, for off-policy
 * evaluation) and an explanation of every arm's score.
 */
#ifndef INTELLISCHED_POLICY_H
#define INTELLISCHED_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct isched_policy;

/** The largest magnitude a policy accepts for a context value or a reward
 *  (-EDOM beyond it): squares and sums of squares of such values stay far
 *  from overflow.  A program can check its input against it up front. */
#define ISCHED_POLICY_VALUE_MAX 1e100

/** The kinds of policy. */
enum isched_policy_kind {
        /** epsilon-greedy on each arm's running mean reward (ignores the context) */
        ISCHED_POLICY_EGREEDY = 0,
        /** epsilon-greedy on per-arm ridge regression estimates ("lingreedy") */
        ISCHED_POLICY_LINGREEDY = 1,
        /** disjoint LinUCB, Li et al. 2010, Algorithm 1 */
        ISCHED_POLICY_LINUCB = 2,
        /** discounted LinUCB, Russac et al. 2019, per arm */
        ISCHED_POLICY_DLINUCB = 3,
        /** linear Thompson sampling, Agrawal and Goyal 2013, per arm */
        ISCHED_POLICY_LINTS = 4,
        ISCHED_POLICY_KIND_COUNT = 5
};

/** Policy settings.  Start from isched_policy_params_init(). */
struct isched_policy_params {
        size_t size;                  /**< sizeof(struct isched_policy_params) */
        enum isched_policy_kind kind; /**< which policy */
        uint32_t n_features;          /**< d, 1 .. ISCHED_MAX_FEATURES */
        uint32_t arm_mask;            /**< arms that may be chosen (bit i: arm i); non-zero */
        double alpha;                 /**< LinUCB/D-LinUCB exploration width, >= 0 (default 1.0) */
        double lambda;                /**< ridge regularisation, > 0 (default 1.0) */
        double gamma;                 /**< D-LinUCB forgetting factor, 0 < gamma <= 1 (default 0.99) */
        double epsilon;               /**< epsilon-greedy exploration rate, 0 .. 1 (default 0.1) */
        double epsilon_decay;         /**< epsilon_t = epsilon / (1 + epsilon_decay * t); 0 = fixed (default 0) */
        double ts_v;                  /**< Thompson sampling posterior scale v, > 0 (default 0.5) */
        uint64_t seed;                /**< random seed (default 1) */
        /** Identifier of the feature schema, stored in model files and
         *  checked on load and merge; NULL means "generic". */
        const char *feature_schema;
        /** Names of the d features, or NULL for "x0".."x{d-1}". */
        const char *const *feature_names;
};

/**
 * Fill @p params with the defaults above for @p kind and @p n_features,
 * all arms enabled.
 *
 * @return 0, or -EINVAL for a NULL @p params, unknown kind or bad d.
 */
int isched_policy_params_init(struct isched_policy_params *params, enum isched_policy_kind kind,
                              uint32_t n_features);

/** The name of a policy kind: "egreedy", "lingreedy", "linucb", "dlinucb", "lints"; NULL if invalid. */
const char *isched_policy_kind_to_string(enum isched_policy_kind kind);

/** Parse a policy kind name. @return 0 or -EINVAL (detail names the valid names). */
int isched_policy_kind_from_string(const char *name, enum isched_policy_kind *ret_kind);

/** Why an arm was chosen. */
enum isched_choice_reason {
        ISCHED_CHOICE_EXPLOIT = 0, /**< the arm with the best estimate (greedy) */
        ISCHED_CHOICE_EXPLORE = 1, /**< exploration: random arm, optimism (UCB) or a posterior sample beat the greedy arm */
};

/** What the policy knew of one arm when it decided. */
struct isched_arm_explanation {
        uint32_t enabled;       /**< 1 if the arm was in the mask */
        double estimate;        /**< predicted reward: theta . x (or the running mean) */
        double width;           /**< confidence width added to the estimate (UCB), posterior sd (TS), 0 otherwise */
        double score;           /**< the value the arm was ranked by */
        double propensity;      /**< probability the policy had of choosing this arm */
        uint64_t pulls;         /**< times the arm was updated */
        double contributions[ISCHED_MAX_FEATURES]; /**< theta_i * x_i, summing to estimate (all 0 for egreedy, whose estimate ignores x) */
};

/** One decision. */
struct isched_decision {
        uint32_t arm;           /**< the chosen arm */
        double propensity;      /**< probability of choosing that arm, 0 < p <= 1 */
        enum isched_choice_reason reason;
        uint32_t greedy_arm;    /**< the arm with the highest estimate */
        uint64_t round;         /**< decisions made before this one */
        uint32_t n_features;    /**< d */
        struct isched_arm_explanation arms[ISCHED_MAX_ARMS];
};

/**
 * Create a policy.
 *
 * @return 0; -EINVAL for bad parameters (the detail names the field);
 *         -ENOMEM.
 */
int isched_policy_new(const struct isched_policy_params *params, struct isched_policy **ret_policy);

/** Free a policy. NULL-safe. @return NULL. */
struct isched_policy *isched_policy_free(struct isched_policy *policy);

/** A deep copy, including the random generator's state. */
int isched_policy_clone(const struct isched_policy *policy, struct isched_policy **ret_policy);

/**
 * Choose an arm for context @p x.  Ties are broken to the lowest arm index.
 *
 * @param x the context, @p d finite values.
 * @param d must equal the policy's n_features.
 * @param ret_decision written on success (may be NULL if only the arm is wanted).
 * @param ret_arm written on success (may be NULL).
 * @return 0; -EINVAL for NULL/size mismatch; -EDOM for a non-finite x or
 *         a value beyond +-1e100.
 */
int isched_policy_choose(struct isched_policy *policy, const double *x, size_t d,
                         struct isched_decision *ret_decision, uint32_t *ret_arm);

/**
 * Tell the policy the reward @p arm earned in context @p x.  Discounted
 * LinUCB discounts every arm's statistics by gamma on each update.
 *
 * @return 0; -EINVAL for a bad arm or size; -EDOM for a non-finite x or
 *         reward, or one beyond +-1e100.
 */
int isched_policy_update(struct isched_policy *policy, uint32_t arm, const double *x, size_t d,
                         double reward);

/**
 * Change which arms may be chosen (e.g. a pool whose topology makes two
 * arrangements identical).  Statistics of masked arms are kept.
 *
 * @return 0, or -EINVAL for an empty mask or bits beyond the arms.
 */
int isched_policy_set_arm_mask(struct isched_policy *policy, uint32_t arm_mask);

/** Read back the parameters (the string pointers point into the policy). */
int isched_policy_get_params(const struct isched_policy *policy, struct isched_policy_params *ret_params);

/** Number of updates so far (the t of the epsilon schedule). */
uint64_t isched_policy_get_rounds(const struct isched_policy *policy);

#ifdef __cplusplus
}
#endif

#endif
