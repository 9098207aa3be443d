/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The context builder's state, shared by context.c and context-json.c. */
#ifndef ISCHED_CONTEXT_PRIVATE_H
#define ISCHED_CONTEXT_PRIVATE_H

#include <stdint.h>

#include "intellisched/context.h"

struct isched_context {
        struct isched_context_params params;
        /* Welford's running statistics of the raw features: windows seen,
         * mean and sum of squared deviations.  Index ISCHED_F_BIAS is
         * never updated (it stays 0). */
        uint64_t norm_count;
        double norm_mean[ISCHED_F_COUNT];
        double norm_m2[ISCHED_F_COUNT];
        /* The running baseline of the window score: rewards computed so
         * far and the exponentially weighted mean (NaN while count is 0). */
        uint64_t baseline_count;
        double baseline;
        /* What the scores are computed from (ISCHED_OBS_UNKNOWN until set). */
        enum isched_observation observation;
        struct isched_calibration calibration;
};

/* Check a parameter set; -EINVAL naming the field (prefixed by where). */
int isched__context_params_check(const struct isched_context_params *params, const char *where);

/* Check a calibration; -EINVAL naming the field. */
int isched__calibration_check(const struct isched_calibration *cal);

#endif
