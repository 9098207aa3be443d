/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safety layer: between the policy's proposal and the guards
 * (/work/shared/STYLE.md, "The agent's layers"; docs/safety.md).
 *
 * It keeps what the policy cannot: the score of every arm measured in the
 * current workload segment, the noise of window scores, a ledger of what
 * exploration has cost against the baseline arrangement (the one the pool
 * had at takeover), the cost of a switch, and a change detector.  From
 * these it decides, each epoch, whether the policy's proposal may stand:
 *
 *  - conservative exploration (Wu et al. 2016; Kazerouni et al. 2017,
 *    CLUCB): an arm is tried only if, with its pessimistic bound, the
 *    ledger stays within budget x windows of the baseline's score;
 *  - elimination: an arm whose upper bound is below the best arm's lower
 *    bound is not tried;
 *  - hysteresis: a switch needs a gain above the switch's cost per
 *    payback period with confidence (or, to explore, the possibility of
 *    one);
 *  - rollback to the baseline or to the best-known arm, never to an
 *    exploratory one; a stop-loss ends a window early when the ledger
 *    would overrun;
 *  - change detection (Gaussian GLR, Besson et al. 2020) on each arm's
 *    scores and workload features, which starts a new segment and
 *    re-explores within the budget;
 *  - credit assignment: transient windows (the first after a switch) are
 *    the switch's cost, not the arm's steady state; a window that may
 *    straddle a change belongs to no segment; a window is learned only
 *    against the baseline measured in its own segment.
 *
 * Scores are window scores (isched_context_score, log units); "windows"
 * are window-equivalents (a window's duration over the epoch's).  The
 * module knows nothing of backends, files or policies' internals: the
 * agent hands it the policy's per-arm predictions as a prior. */
#ifndef ISCHED_SAFETY_H
#define ISCHED_SAFETY_H

#include <stdbool.h>
#include <stdint.h>

#include "intellisched/common.h"
#include "intellisched/context.h"

#define SAFETY_ARMS ISCHED_ARR_COUNT
#define SAFETY_FEATURES ISCHED_F_COUNT
/* Windows remembered (all arms together): the change detector and the
 * per-arm estimates look at the current segment's windows among them. */
#define SAFETY_HISTORY 256

struct isched__safety_params {
        double budget;           /* allowed loss against the baseline per window (0.01) */
        double z;                /* width of every confidence bound, in standard errors (2) */
        double max_loss;         /* loss per window assumed possible for an arm nothing is known of (3):
                                  * above the worst the simulator's library measures (2.3 mean, 2.5 worst window) */
        double explore_limit;    /* own exploration tries an arm the policy did not propose only if its
                                  * pessimistic loss per window is at most this (1) */
        double switch_cost;      /* cost of a switch assumed until one is measured, window-equivalents (0.02) */
        double payback_windows;  /* a switch must pay for itself within this many windows (4) */
        uint32_t stint_windows;  /* steady windows of a first exploration visit; doubles per revisit (2) */
        double noise_floor;      /* smallest noise sd of a window score (0.002) */
        double noise_prior;      /* noise sd assumed before any is measured (0.02) */
        double change_delta;     /* false-alarm probability of one change test (0.001) */
        uint32_t confirm_windows;/* windows a window waits before it is learned (2) */
        double exposure_windows; /* window-equivalents on an arm before the stop-loss can act (1) */
        double snapshot_windows; /* window-equivalents of one snapshot interval (0.2) */
        bool settle_stop;        /* the stop-loss judges the settle's transient, so that it can act at the
                                  * end of the settle (false: measured 2 Dec, docs/results.md) */
        bool detect_changes;     /* run the change detector (true) */
        bool own_exploration;    /* explore on the layer's own bounds when the policy proposes to stay (true) */
};

void isched__safety_params_init(struct isched__safety_params *p);
int isched__safety_params_check(const struct isched__safety_params *p);

/* What the model predicts for each arm in the current context. */
struct isched__safety_prior {
        double gain[SAFETY_ARMS];   /* predicted score minus the baseline's score */
        double sd[SAFETY_ARMS];     /* standard error of that prediction */
        double rank[SAFETY_ARMS];   /* the policy's preference (its scores): higher is preferred */
        uint32_t proposal;          /* the arm the policy chose */
};

/* One observed window. */
struct isched__safety_window {
        uint32_t arm;
        double score;
        double features[SAFETY_FEATURES]; /* raw features (physical units) */
        double fraction;                  /* duration over the epoch's duration, > 0 */
        bool transient;                   /* the first window after a switch */
};

enum isched__safety_reason {
        SAFETY_STAY = 0,       /* nothing worth a switch */
        SAFETY_ACCEPT,         /* the policy's proposal stands */
        SAFETY_EXPLOIT,        /* switch to the arm confidently better by more than the switch's cost */
        SAFETY_EXPLORE,        /* try a plausible, affordable arm (the policy's best-ranked one) */
        SAFETY_STINT,          /* an exploration visit goes on */
        SAFETY_HYSTERESIS,     /* the proposal's possible gain does not pay for the switch */
        SAFETY_ELIMINATED,     /* the proposal is known to be worse */
        SAFETY_BUDGET,         /* the proposal could cost more than the budget left */
        SAFETY_ROLLBACK,       /* back to the baseline or the best-known arm */
        SAFETY_REASON_COUNT
};

const char *isched__safety_reason_name(enum isched__safety_reason r);

/* The estimate of one arm in the current segment. */
struct isched__safety_arm_estimate {
        double mean, sd;        /* score; sd of the mean */
        double weight;          /* steady window-equivalents measured (0: from the prior) */
        bool eliminated;
};

struct isched__safety_decision {
        uint32_t arm;                   /* to be in force */
        enum isched__safety_reason reason;
        uint32_t fallback;              /* the rollback target now: baseline or best-known */
        double gain, gain_sd;           /* estimated score of `arm` minus the baseline's, and its sd */
        struct isched__safety_arm_estimate arms[SAFETY_ARMS];
};

/* What observing a window found. */
struct isched__safety_event {
        uint64_t id;               /* the window's number */
        bool change;               /* a change was detected: a new segment started */
        int change_feature;        /* -1: the score; else the feature that changed */
        double change_shift;       /* the score shift on the detecting arm (0 if a feature) */
};

struct isched__safety_status {
        uint64_t segment;          /* segments started (1 at takeover) */
        uint64_t changes;          /* changes detected */
        double windows;            /* window-equivalents since takeover */
        double spent;              /* pessimistic loss against the baseline so far */
        double allowance;          /* budget x windows */
        double noise_sd;           /* measured noise of a window score */
        double switch_cost;        /* estimated cost of a switch, window-equivalents */
        double measured_gain, measured_gain_sd; /* score gained over the baseline so far, per window, and its sd */
        uint32_t baseline;
        double model_error[SAFETY_ARMS];
};

/* Calibration carried in a model (struct isched_calibration). */
struct isched__safety_calibration {
        double noise_sd, noise_weight;
        double switch_cost, switch_cost_weight;
        double model_error[SAFETY_ARMS], model_error_weight[SAFETY_ARMS];
};

struct isched__safety;

int isched__safety_new(const struct isched__safety_params *p, uint32_t arm_mask, uint32_t baseline,
                       struct isched__safety **ret);
struct isched__safety *isched__safety_free(struct isched__safety *s);
int isched__safety_set_arm_mask(struct isched__safety *s, uint32_t arm_mask);

/* Start from what a model learned about its accuracy (NaN or weight 0: unknown). */
void isched__safety_set_calibration(struct isched__safety *s, const struct isched__safety_calibration *c);
void isched__safety_get_calibration(const struct isched__safety *s, struct isched__safety_calibration *ret);

/* Record one observed window: estimates, noise, ledger, switch cost,
 * change detection.  ret_ev may be NULL. */
int isched__safety_observe(struct isched__safety *s, const struct isched__safety_window *w,
                           struct isched__safety_event *ret_ev);

/* Time spent on `arm` that was not observed (the settle after a switch):
 * charged to the ledger at the arm's pessimistic bound. */
void isched__safety_unobserved(struct isched__safety *s, uint32_t arm, double fraction);

/* A switch from -> to happened: the next window on `to` is transient. */
void isched__safety_note_switch(struct isched__safety *s, uint32_t from, uint32_t to);

/* Decide what is to be in force, given the arm in force and the model's
 * prior and the policy's proposal. */
int isched__safety_decide(struct isched__safety *s, uint32_t current, const struct isched__safety_prior *prior,
                          struct isched__safety_decision *ret);

/* Stop-loss: may a window on `current` that has scored `partial_score`
 * over `fraction` of an epoch go on for `next_fraction` more?  A window
 * on the baseline always may. */
bool isched__safety_may_continue(struct isched__safety *s, uint32_t current, double partial_score,
                                 double fraction, double next_fraction);

/* Is window `id` learnable now?  1: learn `score - *ret_baseline`
 * (the baseline's mean score in its segment); 0: not yet; negative: never
 * (*ret_why says why).  `final`: no more windows will come (the agent
 * stops), so none waits for confirmation. */
int isched__safety_learnable(const struct isched__safety *s, uint64_t id, bool final, double *ret_baseline,
                             const char **ret_why);

void isched__safety_get_status(const struct isched__safety *s, struct isched__safety_status *ret);

/* The newest window's id (0 before the first). */
uint64_t isched__safety_last_id(const struct isched__safety *s);

#endif
