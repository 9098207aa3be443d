/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The inside of a policy, shared by the policy and model modules. */
#ifndef ISCHED_POLICY_PRIVATE_H
#define ISCHED_POLICY_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "intellisched/policy.h"

/* Updates of one arm between two recomputations of A^-1 from A (by
 * Cholesky), which bound the drift of the Sherman-Morrison updates. */
#define ISCHED_POLICY_REFRESH_INTERVAL 1024u

/* Longest feature name or schema, in bytes. */
#define ISCHED_POLICY_NAME_MAX 127u

/* The number of words of gsl_rng_taus2's state (s1, s2, s3). */
#define ISCHED_POLICY_RNG_WORDS 3u

/*
 * Statistics of one arm.  Which fields are used depends on the kind:
 *   egreedy:                  pulls, reward_sum
 *   lingreedy, linucb, lints: + A = lambda*I + sum x x^T, b = sum r x,
 *                             A_inv (maintained by Sherman-Morrison)
 *   dlinucb:                  + A = V, A_tilde = Vtilde, b; A_inv holds
 *                             the Cholesky factor of V (lower triangle), a
 *                             cache recomputed whenever A changed (stale),
 *                             because discounting every arm is not a
 *                             rank-one change.
 * theta = A_inv b is computed only to explain a decision: estimates are
 * b . (A_inv x).
 * Matrices are d x d, row-major.
 */
struct isched__arm_stats {
        uint64_t pulls;
        double reward_sum;
        double *A;
        double *A_inv;
        double *b;
        double *theta;
        double *A_tilde;
        bool stale;
};

struct isched_policy {
        /* The strings of params point into schema and names. */
        struct isched_policy_params params;
        char *schema;
        char **names;
        uint64_t rounds;     /* updates */
        uint64_t decisions;  /* choices */
        gsl_rng *rng;
        struct isched__arm_stats arms[ISCHED_MAX_ARMS];
        double *block;       /* all vectors and matrices of the arms */
        double *work;        /* scratch: 2 d x d matrices and 4 vectors */
};

/* True for the kinds that keep per-arm regression statistics. */
static inline bool isched__policy_is_linear(enum isched_policy_kind kind)
{
        return kind != ISCHED_POLICY_EGREEDY;
}

/* Check a complete parameter set; the error detail names the field. */
int isched__policy_params_check(const struct isched_policy_params *params);

/* Recompute A_inv and theta of one arm from A and b (Cholesky).
 * -EDOM if A is not numerically positive definite. */
int isched__policy_refresh_arm(struct isched_policy *p, unsigned arm);

/* After the statistics of an arm were filled in from outside (a model
 * file, a merge): bring theta (and D-LinUCB's cache) in line with them
 * exactly as the policy itself would. */
void isched__policy_arm_loaded(struct isched_policy *p, unsigned arm);

/* Invert a symmetric positive-definite d x d matrix (row-major) into inv
 * (may not alias a).  -EDOM if a is not numerically positive definite. */
int isched__spd_invert(const double *a, double *inv, unsigned d);

/* The random generator's state as ISCHED_POLICY_RNG_WORDS 32-bit words,
 * and back (-EINVAL for a state taus2 cannot be in). */
void isched__policy_rng_get(const struct isched_policy *p, uint32_t state[ISCHED_POLICY_RNG_WORDS]);
int isched__policy_rng_set(struct isched_policy *p, const uint32_t state[ISCHED_POLICY_RNG_WORDS]);

#endif
