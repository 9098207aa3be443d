/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The estimators of `isched eval` (docs/agent.md, "Off-policy evaluation";
 * docs/ope-validation.md): inverse propensity scoring, its self-normalised
 * form and the doubly robust estimator with a cross-fitted reward model,
 * each with an interval that allows for dependence between consecutive
 * rounds.  Pure arithmetic on rounds that cmd-eval.c has read and replayed:
 * no files, no printing. */
#ifndef ISCHED_EVAL_OPE_H
#define ISCHED_EVAL_OPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intellisched/common.h"

#define OPE_ARMS ISCHED_MAX_ARMS

/* One labelled round of the log, in decision order. */
struct ope_round {
        const double *x;             /* the context, d values */
        uint32_t arm;                /* the arm in force */
        double propensity;           /* its logged probability, (0, 1] */
        double label;                /* what is estimated: the window score or the agent's reward */
        bool deterministic;          /* the safety layer or a guard decided the arm */
        double target[OPE_ARMS];     /* the target policy's probability of each arm */
        /* Rounds with the same id are one stretch of their arm (no
         * switch between them): they share the state the switch into it
         * left (the placement of the vCPUs), which lasts until the next
         * switch. */
        size_t episode;
};

/* What a round the safety layer or a guard decided stands for. */
enum ope_guard_rounds {
        /* The target is the target alone: such a round says nothing about
         * another arm (its arm was not the policy's draw), so it carries
         * no importance weight; the target's mass there is unsupported. */
        OPE_GUARD_EXCLUDE,
        /* The target under the same guards: they would have overruled it
         * the same way, so the round counts with its logged arm, weight 1. */
        OPE_GUARD_REPLAY,
};

enum ope_interval_method {
        OPE_INTERVAL_HAC,       /* Newey-West (Bartlett kernel), Andrews' bandwidth */
        OPE_INTERVAL_BOOTSTRAP, /* circular block bootstrap, percentile interval */
        OPE_INTERVAL_IID,       /* rounds independent (for comparison only) */
        /* hac, plus the variance of the state the target's own switches
         * would have left: a fixed arrangement is held in one state, which
         * the log saw in each of its stretches of that arm (a random
         * effect per stretch, estimated from their spread). */
        OPE_INTERVAL_STATES,
};

struct ope_options {
        enum ope_guard_rounds guard_rounds;
        enum ope_interval_method interval;
        uint32_t folds;         /* cross-fitting folds of consecutive rounds, >= 2 */
        double lambda;          /* ridge penalty of the reward model's slopes (the intercept is free) */
        uint32_t block;         /* rounds per block: HAC lags + 1, the bootstrap's block length; 0: automatic */
        uint32_t resamples;     /* bootstrap resamples */
        uint64_t seed;          /* bootstrap generator */
};

void ope_options_init(struct ope_options *o);

struct ope_interval {
        double value, se, low, high; /* 95% interval [low, high]; NaN when unknown */
        uint32_t block;              /* rounds per block of its interval (1: no dependence allowed for) */
};

struct ope_result {
        size_t rounds;              /* labelled rounds */
        size_t deterministic;       /* of which decided by the safety layer or a guard */
        struct ope_interval logged; /* the logging agent's own mean label */
        struct ope_interval ips, snips, dr;
        struct ope_interval support;/* mean weight: the share of the target's probability on arms the log could show */
        double ess;                 /* effective sample size (sum w)^2 / sum w^2 */
        uint32_t folds;             /* cross-fitting folds used */
        uint32_t model_arms;        /* arms the reward model saw in every fold's training rounds */
        /* The state's share of the variance of the target's value: sum
         * over arms of the between-stretch variance of the arm's
         * residuals times the target's chance that two of its rounds of
         * that arm fall in one stretch (1 for a fixed arm). */
        double state_var;
        double state_sd[OPE_ARMS];  /* each arm's between-stretch sd (0: not measurable, under 2 stretches) */
};

/* Estimate the target's mean label.  d: the context's length; arm_mask:
 * the arms that could be chosen (for the reward model).  0 or -EINVAL
 * (no rounds, bad options), -ENOMEM. */
int ope_estimate(const struct ope_round *rounds, size_t n, uint32_t d, const struct ope_options *o,
                 struct ope_result *ret);

/* The reward model: one ridge regression per arm whose intercept is not
 * penalised (features centred on the arm's training rounds, the slopes
 * penalised by lambda), fit on the rounds whose `use` is true (all if
 * `use` is NULL).  An arm without training rounds predicts the mean label
 * of all of them.  Exposed for the tests. */
struct ope_model {
        uint32_t d;
        double intercept[OPE_ARMS];
        double slope[OPE_ARMS][ISCHED_MAX_FEATURES];
        bool fitted[OPE_ARMS];
};

int ope_model_fit(const struct ope_round *rounds, size_t n, const bool *use, uint32_t d, double lambda,
                  struct ope_model *ret);
double ope_model_predict(const struct ope_model *m, const double *x, uint32_t arm);

/* The long-run variance of the mean of v (n values): Newey-West with
 * `lags` Bartlett lags (0: Andrews' AR(1) plug-in, returned in
 * *ret_lags), over n.  Exposed for the tests. */
double ope_hac_variance(const double *v, size_t n, uint32_t lags, uint32_t *ret_lags);

#endif
