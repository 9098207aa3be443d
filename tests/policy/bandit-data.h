/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Synthetic linear-bandit data shared by the policy and model tests. */
#ifndef ISCHED_TEST_BANDIT_DATA_H
#define ISCHED_TEST_BANDIT_DATA_H

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>

#include "intellisched/policy.h"

/* rows x (d contexts, K rewards): x[0] = 1 (a bias), the rest N(0, 1);
 * reward of arm a = theta_a . x + N(0, noise^2) with theta_a drawn N(0, 1). */
struct bandit_data {
        unsigned rows, d, k;
        double *x;      /* rows * d */
        double *r;      /* rows * k */
};

static inline void bandit_data_make(struct bandit_data *b, unsigned rows, unsigned d, unsigned k,
                                    unsigned long seed, double noise)
{
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        double theta[ISCHED_MAX_ARMS][ISCHED_MAX_FEATURES];

        gsl_rng_set(rng, seed);
        b->rows = rows, b->d = d, b->k = k;
        b->x = malloc(sizeof(double) * rows * d);
        b->r = malloc(sizeof(double) * rows * k);
        for (unsigned a = 0; a < k; a++)
                for (unsigned i = 0; i < d; i++)
                        theta[a][i] = gsl_ran_gaussian(rng, 1.0);
        for (unsigned t = 0; t < rows; t++) {
                double *x = b->x + (size_t)t * d;

                x[0] = 1.0;
                for (unsigned i = 1; i < d; i++)
                        x[i] = gsl_ran_gaussian(rng, 1.0);
                for (unsigned a = 0; a < k; a++) {
                        double s = 0.0;

                        for (unsigned i = 0; i < d; i++)
                                s += theta[a][i] * x[i];
                        b->r[(size_t)t * k + a] = s + gsl_ran_gaussian(rng, noise);
                }
        }
        gsl_rng_free(rng);
}

static inline void bandit_data_free(struct bandit_data *b)
{
        free(b->x);
        free(b->r);
}

static inline const double *bandit_x(const struct bandit_data *b, unsigned t)
{
        return b->x + (size_t)t * b->d;
}

static inline double bandit_r(const struct bandit_data *b, unsigned t, unsigned arm)
{
        return b->r[(size_t)t * b->k + arm];
}

#endif
