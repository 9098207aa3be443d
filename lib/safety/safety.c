/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safety layer (safety.h, docs/safety.md). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "safety.h"
#include "util/util.h"

enum kind { STEADY = 0, TRANSIENT, STRADDLE };

/* One remembered window. */
struct hist {
        uint64_t id, segment;
        uint32_t arm;
        enum kind kind;
        double score, f;
        double feat[SAFETY_FEATURES];
};

/* What is kept of a closed segment, for windows still waiting to be learned. */
struct closed_segment {
        uint64_t segment;
        bool has_baseline;
        double baseline;
};
#define CLOSED_KEPT 32

/* Per-arm sums over the current segment's steady windows. */
struct arm_sums {
        double w, mean, ss;        /* weight (window-equivalents), weighted mean, weighted squared deviations */
        uint32_t n;
};

struct isched__safety {
        struct isched__safety_params p;
        uint32_t mask, baseline;

        struct hist h[SAFETY_HISTORY];
        uint32_t h_len, h_next;
        uint64_t next_id;

        uint64_t segment, changes;
        /* The current segment's steady windows per arm, as sums about the
         * arm's first score (the history holds only the recent ones). */
        struct seg_sums {
                double w, s1, s2, y0;
                uint32_t n;
        } sums[SAFETY_ARMS];
        /* The latest transient of each arm in the current segment. */
        bool has_transient[SAFETY_ARMS];
        double transient_score[SAFETY_ARMS], transient_f[SAFETY_ARMS];
        struct closed_segment closed[CLOSED_KEPT];
        uint32_t n_closed;

        /* Noise of window scores and features: weighted squared residuals
         * and degrees of freedom of closed segments, plus the prior. */
        double noise_ss, noise_dof;
        double feat_ss[SAFETY_FEATURES], feat_dof;
        double noise_prior_sd, noise_prior_w;

        /* The switch's cost: transient deficits measured, plus the prior. */
        double sw_sum, sw_n, sw_prior, sw_prior_w;
        bool transient_next;
        uint32_t settle_arm;           /* the arm whose transient is the newest window, or SAFETY_ARMS */
        uint32_t transient_arm;
        bool have_pending_transient;
        double pending_transient_score, pending_transient_f;
        uint32_t pending_transient_arm;

        /* The model's error per arm: squared errors of its gain predictions
         * at segment starts, against what the segment measured. */
        double err_ss[SAFETY_ARMS], err_n[SAFETY_ARMS];
        double err_prior[SAFETY_ARMS], err_prior_w[SAFETY_ARMS];
        bool have_pred;
        double pred_gain[SAFETY_ARMS];

        /* The latest prior, for the ledger between decisions. */
        bool have_prior;
        struct isched__safety_prior prior;

        /* After a change: what the arms measured before it says about them now. */
        bool carry[SAFETY_ARMS];
        double carry_mean[SAFETY_ARMS], carry_var[SAFETY_ARMS];

        /* The ledger. */
        double windows, spent;
        double gain_num, gain_var;

        /* Exploration visits. */
        uint32_t explore_target;       /* the arm the latest decision explored, if any */
        uint32_t stint_arm, stint_left;
        uint32_t visits[SAFETY_ARMS];
};

static const char *const reason_names[SAFETY_REASON_COUNT] = {
        [SAFETY_STAY] = "stay",           [SAFETY_ACCEPT] = "accept",   [SAFETY_EXPLOIT] = "exploit",
        [SAFETY_EXPLORE] = "explore",     [SAFETY_STINT] = "stint",     [SAFETY_HYSTERESIS] = "hysteresis",
        [SAFETY_ELIMINATED] = "eliminated", [SAFETY_BUDGET] = "budget", [SAFETY_ROLLBACK] = "rollback",
};

const char *isched__safety_reason_name(enum isched__safety_reason r)
{
        return (unsigned)r < SAFETY_REASON_COUNT ? reason_names[r] : NULL;
}

void isched__safety_params_init(struct isched__safety_params *p)
{
        *p = (struct isched__safety_params){
                .budget = 0.01,
                .z = 2.0,
                .max_loss = 3.0,
                .explore_limit = 1.0,
                .switch_cost = 0.02,
                .payback_windows = 4.0,
                .stint_windows = 2,
                .noise_floor = 0.002,
                .noise_prior = 0.02,
                .change_delta = 0.001,
                .confirm_windows = 2,
                .exposure_windows = 1.0,
                .snapshot_windows = 0.2,
                .detect_changes = true,
                .own_exploration = true,
                .settle_stop = false,
        };
}

static int check_range(const char *name, double v, double lo, double hi)
{
        if (!isched__finite(v) || v < lo || v > hi)
                return isched__error(-EINVAL, "safety: %s must be in [%g, %g], not %g", name, lo, hi, v);
        return 0;
}

int isched__safety_params_check(const struct isched__safety_params *p)
{
        int r;

        if ((r = check_range("budget", p->budget, 0.0, 10.0)) < 0 || (r = check_range("z", p->z, 0.0, 10.0)) < 0 ||
            (r = check_range("max_loss", p->max_loss, 1e-6, 100.0)) < 0 ||
            (r = check_range("explore_limit", p->explore_limit, 0.0, 100.0)) < 0 ||
            (r = check_range("switch_cost", p->switch_cost, 0.0, 10.0)) < 0 ||
            (r = check_range("payback_windows", p->payback_windows, 0.01, 1e6)) < 0 ||
            (r = check_range("noise_floor", p->noise_floor, 1e-9, 10.0)) < 0 ||
            (r = check_range("noise_prior", p->noise_prior, p->noise_floor, 10.0)) < 0 ||
            (r = check_range("change_delta", p->change_delta, 1e-12, 0.5)) < 0 ||
            (r = check_range("exposure_windows", p->exposure_windows, 1e-3, 100.0)) < 0 ||
            (r = check_range("snapshot_windows", p->snapshot_windows, 1e-3, 100.0)) < 0)
                return r;
        if (p->stint_windows < 1 || p->stint_windows > 64)
                return isched__error(-EINVAL, "safety: stint_windows must be 1..64, not %u", p->stint_windows);
        if (p->confirm_windows > 16)
                return isched__error(-EINVAL, "safety: confirm_windows must be 0..16, not %u", p->confirm_windows);
        return 0;
}

int isched__safety_new(const struct isched__safety_params *p, uint32_t arm_mask, uint32_t baseline,
                       struct isched__safety **ret)
{
        struct isched__safety *s;
        int r;

        if (!p || !ret || baseline >= SAFETY_ARMS)
                return isched__error(-EINVAL, "isched__safety_new: bad argument");
        r = isched__safety_params_check(p);
        if (r < 0)
                return r;
        arm_mask &= (1u << SAFETY_ARMS) - 1;
        if (!(arm_mask & (1u << baseline)))
                return isched__error(-EINVAL, "safety: the baseline arm %u is not in the arm mask 0x%x", baseline,
                                     arm_mask);
        s = calloc(1, sizeof(*s));
        if (!s)
                return isched__error(-ENOMEM, "out of memory");
        s->p = *p;
        s->mask = arm_mask;
        s->baseline = baseline;
        s->next_id = 1;
        s->segment = 1;
        s->explore_target = SAFETY_ARMS;
        s->settle_arm = SAFETY_ARMS;
        s->noise_prior_sd = p->noise_prior;
        s->noise_prior_w = 2.0;
        s->sw_prior = p->switch_cost;
        s->sw_prior_w = 1.0;
        for (unsigned a = 0; a < SAFETY_ARMS; a++) {
                s->err_prior[a] = p->max_loss / fmax(p->z, 1.0);
                s->err_prior_w[a] = 1.0;
        }
        *ret = s;
        return 0;
}

struct isched__safety *isched__safety_free(struct isched__safety *s)
{
        free(s);
        return NULL;
}

int isched__safety_set_arm_mask(struct isched__safety *s, uint32_t arm_mask)
{
        arm_mask &= (1u << SAFETY_ARMS) - 1;
        if (!(arm_mask & (1u << s->baseline)))
                return isched__error(-EINVAL, "safety: the arm mask 0x%x leaves out the baseline arm %u", arm_mask,
                                     s->baseline);
        s->mask = arm_mask;
        return 0;
}

static bool enabled(const struct isched__safety *s, uint32_t a)
{
        return a < SAFETY_ARMS && (s->mask & (1u << a));
}

/* ---- calibration ------------------------------------------------------ */

/* A model's calibration counts as at most this many observations, so that
 * what this host measures soon outweighs it. */
#define CALIBRATION_MAX_WEIGHT 4.0

static bool usable(double v, double w)
{
        return isched__finite(v) && v >= 0.0 && isched__finite(w) && w > 0.0;
}

void isched__safety_set_calibration(struct isched__safety *s, const struct isched__safety_calibration *c)
{
        if (usable(c->noise_sd, c->noise_weight)) {
                s->noise_prior_sd = fmax(c->noise_sd, s->p.noise_floor);
                s->noise_prior_w = fmin(c->noise_weight, CALIBRATION_MAX_WEIGHT);
        }
        if (usable(c->switch_cost, c->switch_cost_weight)) {
                s->sw_prior = c->switch_cost;
                s->sw_prior_w = fmin(c->switch_cost_weight, CALIBRATION_MAX_WEIGHT);
        }
        for (unsigned a = 0; a < SAFETY_ARMS; a++)
                if (usable(c->model_error[a], c->model_error_weight[a])) {
                        s->err_prior[a] = c->model_error[a];
                        s->err_prior_w[a] = fmin(c->model_error_weight[a], CALIBRATION_MAX_WEIGHT);
                }
}

static double segment_noise_ss(const struct isched__safety *s, double *ret_dof);

static double noise_sd(const struct isched__safety *s)
{
        double dof, ss = segment_noise_ss(s, &dof);
        double var = (s->noise_prior_w * s->noise_prior_sd * s->noise_prior_sd + s->noise_ss + ss) /
                     (s->noise_prior_w + s->noise_dof + dof);

        return fmax(sqrt(var), s->p.noise_floor);
}

static double switch_cost(const struct isched__safety *s)
{
        return fmax(0.0, (s->sw_prior * s->sw_prior_w + s->sw_sum) / (s->sw_prior_w + s->sw_n));
}

static double model_error(const struct isched__safety *s, uint32_t a)
{
        return sqrt((s->err_prior[a] * s->err_prior[a] * s->err_prior_w[a] + s->err_ss[a]) /
                    (s->err_prior_w[a] + s->err_n[a]));
}

void isched__safety_get_calibration(const struct isched__safety *s, struct isched__safety_calibration *ret)
{
        double dof;

        segment_noise_ss(s, &dof);
        ret->noise_sd = noise_sd(s);
        ret->noise_weight = s->noise_prior_w + s->noise_dof + dof;
        ret->switch_cost = switch_cost(s);
        ret->switch_cost_weight = s->sw_prior_w + s->sw_n;
        for (unsigned a = 0; a < SAFETY_ARMS; a++) {
                ret->model_error[a] = model_error(s, a);
                ret->model_error_weight[a] = s->err_prior_w[a] + s->err_n[a];
        }
}

/* ---- the window history ----------------------------------------------- */

static struct hist *hist_at(struct isched__safety *s, uint32_t k)
{
        /* k = 0 is the oldest remembered window. */
        return &s->h[(s->h_next + SAFETY_HISTORY - s->h_len + k) % SAFETY_HISTORY];
}

static const struct hist *hist_at_c(const struct isched__safety *s, uint32_t k)
{
        return &s->h[(s->h_next + SAFETY_HISTORY - s->h_len + k) % SAFETY_HISTORY];
}

static struct hist *hist_push(struct isched__safety *s)
{
        struct hist *e = &s->h[s->h_next];

        s->h_next = (s->h_next + 1) % SAFETY_HISTORY;
        if (s->h_len < SAFETY_HISTORY)
                s->h_len++;
        memset(e, 0, sizeof(*e));
        return e;
}

static const struct hist *hist_find(const struct isched__safety *s, uint64_t id)
{
        for (uint32_t k = 0; k < s->h_len; k++)
                if (hist_at_c(s, k)->id == id)
                        return hist_at_c(s, k);
        return NULL;
}

static void sums_add(struct isched__safety *s, uint32_t arm, double y, double f, double sign)
{
        struct seg_sums *m = &s->sums[arm];

        if (m->n == 0 && sign > 0) {
                m->y0 = y;
                m->w = m->s1 = m->s2 = 0.0;
        }
        m->w += sign * f;
        m->s1 += sign * f * (y - m->y0);
        m->s2 += sign * f * (y - m->y0) * (y - m->y0);
        m->n = sign > 0 ? m->n + 1 : m->n - 1;
        if (m->n == 0 || m->w <= 1e-12)
                memset(m, 0, sizeof(*m));
}

static void arm_sums(const struct isched__safety *s, uint32_t arm, struct arm_sums *ret)
{
        const struct seg_sums *m = &s->sums[arm];
        struct arm_sums a = { 0 };

        if (m->n > 0 && m->w > 0.0) {
                const double d = m->s1 / m->w;

                a.w = m->w;
                a.n = m->n;
                a.mean = m->y0 + d;
                a.ss = fmax(0.0, m->s2 - m->w * d * d);
        }
        *ret = a;
}

/* Squared residuals of the current segment's windows about their arm's
 * mean, and their degrees of freedom. */
static double segment_noise_ss(const struct isched__safety *s, double *ret_dof)
{
        double ss = 0.0, dof = 0.0;

        for (uint32_t a = 0; a < SAFETY_ARMS; a++) {
                struct arm_sums m;

                arm_sums(s, a, &m);
                if (m.n >= 2) {
                        ss += m.ss;
                        dof += m.w * (double)(m.n - 1) / (double)m.n;
                }
        }
        *ret_dof = dof;
        return ss;
}

/* ---- estimates ---------------------------------------------------------- */

struct estimates {
        double mean[SAFETY_ARMS], var[SAFETY_ARMS], w[SAFETY_ARMS];
        bool known[SAFETY_ARMS];
        double sigma;
};

static double precision_combine(double *mean, double *var, double m2, double v2)
{
        if (!isfinite(*var)) {
                *mean = m2;
                *var = v2;
        } else if (isfinite(v2)) {
                const double p1 = 1.0 / fmax(*var, 1e-300), p2 = 1.0 / fmax(v2, 1e-300);

                *mean = (*mean * p1 + m2 * p2) / (p1 + p2);
                *var = 1.0 / (p1 + p2);
        }
        return *mean;
}

/* An arm seen only in its transient after a switch: the transient's
 * score plus the switch's measured cost is evidence of its steady score,
 * as uncertain as the cost itself.  It can show an arm to be far worse
 * than anything else (and so end its visits) but not make it look good;
 * it is never learned as the arm's steady state. */
static void transient_evidence(const struct isched__safety *s, uint32_t arm, double sigma, double *mean,
                               double *var)
{
        const double cost = fmax(switch_cost(s), s->p.switch_cost);
        double m, v, f;

        if (!s->has_transient[arm])
                return;
        f = s->transient_f[arm];
        m = s->transient_score[arm] + cost / f;
        v = sigma * sigma / f + (cost / f) * (cost / f);
        if (!isfinite(*var) || m < *mean)
                precision_combine(mean, var, m, v);
}

/* Every enabled arm's score in the current segment: measured arms from
 * their windows; the others from the model's predicted gain relative to
 * the best-measured arm (the anchor), combined with what they measured
 * before a change, shifted as the detecting arm shifted. */
static void estimate(const struct isched__safety *s, struct estimates *e)
{
        const struct isched__safety_prior *pr = s->have_prior ? &s->prior : NULL;
        uint32_t anchor = SAFETY_ARMS;
        double best_w = 0.0;

        memset(e, 0, sizeof(*e));
        e->sigma = noise_sd(s);
        for (uint32_t a = 0; a < SAFETY_ARMS; a++) {
                struct arm_sums m;

                e->mean[a] = NAN;
                e->var[a] = INFINITY;
                if (!enabled(s, a))
                        continue;
                arm_sums(s, a, &m);
                e->w[a] = m.w;
                if (m.w > 0.0) {
                        e->mean[a] = m.mean;
                        e->var[a] = e->sigma * e->sigma / m.w;
                        e->known[a] = true;
                        if (m.w > best_w) {
                                best_w = m.w;
                                anchor = a;
                        }
                }
        }
        /* Without a measured arm, the carried estimate with the smallest
         * variance anchors the model's predictions. */
        if (anchor == SAFETY_ARMS)
                for (uint32_t a = 0; a < SAFETY_ARMS; a++)
                        if (enabled(s, a) && s->carry[a] &&
                            (anchor == SAFETY_ARMS || s->carry_var[a] < s->carry_var[anchor]))
                                anchor = a;
        for (uint32_t a = 0; a < SAFETY_ARMS; a++) {
                double mean = NAN, var = INFINITY;

                if (!enabled(s, a) || e->known[a])
                        continue;
                if (pr && anchor < SAFETY_ARMS) {
                        const double am = e->known[anchor] ? e->mean[anchor] : s->carry_mean[anchor];
                        const double av = e->known[anchor] ? e->var[anchor] : s->carry_var[anchor];

                        mean = am + pr->gain[a] - pr->gain[anchor];
                        var = av + pr->sd[a] * pr->sd[a] + pr->sd[anchor] * pr->sd[anchor];
                }
                if (s->carry[a])
                        precision_combine(&mean, &var, s->carry_mean[a], s->carry_var[a]);
                transient_evidence(s, a, e->sigma, &mean, &var);
                e->mean[a] = mean;
                e->var[a] = var;
        }
}

static double lower(const struct isched__safety *s, const struct estimates *e, uint32_t a)
{
        return e->mean[a] - s->p.z * sqrt(e->var[a]);
}

static double upper(const struct isched__safety *s, const struct estimates *e, uint32_t a)
{
        return e->mean[a] + s->p.z * sqrt(e->var[a]);
}

static bool has_estimate(const struct estimates *e, uint32_t a)
{
        return isfinite(e->mean[a]) && isfinite(e->var[a]);
}

/* The baseline's pessimistic (upper) score: what a window elsewhere is
 * charged against.  Unknown: the worst assumed loss above the best thing
 * known. */
static double baseline_upper(const struct isched__safety *s, const struct estimates *e)
{
        if (has_estimate(e, s->baseline))
                return upper(s, e, s->baseline);
        for (uint32_t a = 0; a < SAFETY_ARMS; a++)
                if (has_estimate(e, a))
                        return e->mean[a] + s->p.max_loss;
        return NAN;
}

static double baseline_mean(const struct isched__safety *s, const struct estimates *e)
{
        return has_estimate(e, s->baseline) ? e->mean[s->baseline] : NAN;
}

/* Pessimistic loss rate (per window) of arm a against the baseline. */
static double loss_rate(const struct isched__safety *s, const struct estimates *e, uint32_t a)
{
        double ub;

        if (a == s->baseline)
                return 0.0;
        ub = baseline_upper(s, e);
        if (!isfinite(ub) || !has_estimate(e, a))
                return s->p.max_loss;
        return ub - lower(s, e, a);
}

/* ---- the ledger --------------------------------------------------------- */

static void charge(struct isched__safety *s, const struct estimates *e, uint32_t arm, double score, double f,
                   bool transient)
{
        double loss, bm = baseline_mean(s, e);

        s->windows += f;
        if (arm == s->baseline) {
                /* The baseline's own windows cost nothing, but its transient
                 * after a switch back is a loss against its steady state. */
                loss = transient && isfinite(bm) ? (bm - score) * f : 0.0;
        } else {
                const double ub = baseline_upper(s, e);

                loss = isfinite(ub) ? (ub - score) * f : s->p.max_loss * f;
        }
        /* Gains over the baseline pay for exploration, but never for more
         * than the budget itself again: a catastrophic arm must not be
         * tried on the strength of a long good run (one bad window weighs
         * on the host's tail far more than its mean). */
        s->spent = fmax(s->spent + loss, -s->p.budget * s->windows);
        if (arm != s->baseline || transient) {
                const double ref = isfinite(bm) ? bm : baseline_upper(s, e);

                if (isfinite(ref)) {
                        s->gain_num += (score - ref) * f;
                        s->gain_var += e->sigma * e->sigma * f +
                                       (has_estimate(e, s->baseline) ? e->var[s->baseline] * f * f : 0.0);
                }
        }
}

void isched__safety_unobserved(struct isched__safety *s, uint32_t arm, double fraction)
{
        struct estimates e;

        if (!(fraction > 0.0) || arm >= SAFETY_ARMS)
                return;
        estimate(s, &e);
        s->windows += fraction;
        s->spent = fmax(s->spent + loss_rate(s, &e, arm) * fraction, -s->p.budget * s->windows);
}

void isched__safety_note_switch(struct isched__safety *s, uint32_t from, uint32_t to)
{
        (void)from;
        s->transient_next = true;
        s->transient_arm = to;
        s->stint_left = 0;
        /* A visit starts when the switch the layer asked for happens (a
         * guard may have kept the arm); revisits in a segment are longer. */
        if (to == s->explore_target && to < SAFETY_ARMS) {
                s->stint_arm = to;
                s->stint_left = s->p.stint_windows << (s->visits[to] < 5 ? s->visits[to] : 5);
                s->visits[to]++;
        }
        s->explore_target = SAFETY_ARMS;
}

/* ---- change detection --------------------------------------------------- */

/* Besson et al. 2020's threshold for the Gaussian GLR test after n
 * observations (their experiments' simplification of Theorem 2). */
static double glr_threshold(double n, double delta)
{
        return log(3.0 * pow(fmax(n, 1.0), 1.5) / delta);
}

struct series {
        uint32_t n;
        uint64_t id[SAFETY_HISTORY];
        double f[SAFETY_HISTORY];
        double v[SAFETY_HISTORY];
};

/* The current segment's steady windows of one arm, oldest first, with
 * coordinate c: -1 the score, else feature c. */
static void series_of(const struct isched__safety *s, uint32_t arm, int c, struct series *ret)
{
        ret->n = 0;
        for (uint32_t k = 0; k < s->h_len; k++) {
                const struct hist *e = hist_at_c(s, k);

                if (e->segment != s->segment || e->arm != arm || e->kind != STEADY)
                        continue;
                ret->id[ret->n] = e->id;
                ret->f[ret->n] = e->f;
                ret->v[ret->n] = c < 0 ? e->score : e->feat[c];
                ret->n++;
        }
}

/* Weighted Gaussian GLR for one change of mean: the best split and its
 * statistic, max over s of (W1 W2 / W) (m1 - m2)^2 / (2 sigma^2).  The
 * part after the split must hold at least two windows, or one whose
 * statistic clears twice the threshold (a single outlier must not start
 * a segment). */
static bool glr(const struct series *x, double sigma, double delta, uint32_t *ret_split, double *ret_shift)
{
        double W = 0.0, S = 0.0, w1 = 0.0, s1 = 0.0, best = 0.0;
        uint32_t split = 0;
        bool found = false;

        if (x->n < 2)
                return false;
        for (uint32_t i = 0; i < x->n; i++) {
                W += x->f[i];
                S += x->f[i] * x->v[i];
        }
        for (uint32_t i = 0; i + 1 < x->n; i++) {
                double w2, m1, m2, stat, need;

                w1 += x->f[i];
                s1 += x->f[i] * x->v[i];
                w2 = W - w1;
                m1 = s1 / w1;
                m2 = (S - s1) / w2;
                stat = w1 * w2 / W * (m1 - m2) * (m1 - m2) / (2.0 * sigma * sigma);
                need = glr_threshold((double)x->n, delta) * (i + 2 == x->n ? 2.0 : 1.0);
                if (stat > need && stat - need > best) {
                        best = stat - need;
                        split = i + 1;
                        *ret_shift = m2 - m1;
                        found = true;
                }
        }
        *ret_split = split;
        return found;
}

static int cmp_double(const void *a, const void *b)
{
        const double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* The change detector's noise of coordinate c (-1: the score): robust
 * to the change it is looking for.  The residuals about a segment's mean
 * grow with an undetected shift (a test that scaled by them would never
 * fire), so the current segment contributes the median of its successive
 * differences (scaled for the windows' weights; one shift moves one
 * difference), beside the noise of closed segments and the prior. */
static double detector_sd(const struct isched__safety *s, int c, double prior_sd, double prior_w, double hist_ss,
                          double hist_dof)
{
        double d[SAFETY_HISTORY], mad = 0.0;
        uint32_t m = 0;

        for (uint32_t a = 0; a < SAFETY_ARMS; a++) {
                struct series x;

                series_of(s, a, c, &x);
                for (uint32_t i = 1; i < x.n; i++)
                        d[m++] = fabs(x.v[i] - x.v[i - 1]) / sqrt(1.0 / x.f[i] + 1.0 / x.f[i - 1]);
        }
        if (m) {
                qsort(d, m, sizeof(d[0]), cmp_double);
                mad = (m % 2 ? d[m / 2] : 0.5 * (d[m / 2 - 1] + d[m / 2])) / 0.6745;
        }
        return sqrt((prior_w * prior_sd * prior_sd + hist_ss + (double)m * mad * mad) / (prior_w + hist_dof + m));
}

/* Feature c's: with a floor relative to its size (a change of less than
 * 2% is not a new workload). */
static double feature_sd(const struct isched__safety *s, uint32_t c)
{
        double scale = 0.0, floor_sd;
        uint32_t nscale = 0;

        for (uint32_t a = 0; a < SAFETY_ARMS; a++) {
                struct series x;

                series_of(s, a, (int)c, &x);
                if (x.n) {
                        scale += fabs(x.v[x.n - 1]);
                        nscale++;
                }
        }
        scale = nscale ? scale / nscale : 0.0;
        floor_sd = 0.005 + 0.02 * scale;
        return fmax(floor_sd, detector_sd(s, (int)c, floor_sd, 2.0, s->feat_ss[c], s->feat_dof));
}

static double score_sd(const struct isched__safety *s)
{
        return fmax(s->p.noise_floor,
                    detector_sd(s, -1, s->noise_prior_sd, s->noise_prior_w, s->noise_ss, s->noise_dof));
}

static void close_segment(struct isched__safety *s, const struct estimates *e)
{
        struct closed_segment *c;
        double dof, ss;

        /* Keep the noise its windows showed; older segments count half as
         * much at every change (workloads differ in noise). */
        ss = segment_noise_ss(s, &dof);
        s->noise_ss = 0.5 * s->noise_ss + ss;
        s->noise_dof = 0.5 * s->noise_dof + dof;
        s->feat_dof *= 0.5;
        for (uint32_t f = 0; f < SAFETY_FEATURES; f++) {
                double fss = 0.0, fdof = 0.0;

                for (uint32_t a = 0; a < SAFETY_ARMS; a++) {
                        struct series x;
                        double w = 0.0, m = 0.0;

                        series_of(s, a, (int)f, &x);
                        for (uint32_t i = 0; i < x.n; i++) {
                                const double d = x.v[i] - m;

                                w += x.f[i];
                                m += d * x.f[i] / w;
                                fss += x.f[i] * d * (x.v[i] - m);
                        }
                        if (x.n >= 2)
                                fdof += w * (double)(x.n - 1) / (double)x.n;
                }
                s->feat_ss[f] = 0.5 * s->feat_ss[f] + fss;
                if (f == SAFETY_FEATURES - 1)
                        s->feat_dof += fdof;
        }
        /* The model's error: what it predicted at the segment's start
         * against the gains the segment measured (two windows at least on
         * both sides), less the measurement's own variance. */
        if (s->have_pred && e->w[s->baseline] >= 2.0)
                for (uint32_t a = 0; a < SAFETY_ARMS; a++) {
                        double g, err2;

                        if (a == s->baseline || e->w[a] < 2.0)
                                continue;
                        g = e->mean[a] - e->mean[s->baseline];
                        err2 = (g - s->pred_gain[a]) * (g - s->pred_gain[a]) - e->var[a] - e->var[s->baseline];
                        s->err_ss[a] += fmax(err2, 0.0);
                        s->err_n[a] += 1.0;
                }
        c = &s->closed[s->n_closed % CLOSED_KEPT];
        s->n_closed++;
        c->segment = s->segment;
        c->has_baseline = e->w[s->baseline] >= 1.0;
        c->baseline = e->mean[s->baseline];
}

/* A change was found in arm's series at split (its first window after the
 * change): windows up to the last one before the split stay in the old
 * segment, those after the first one after it go to the new one, and
 * those between (any arm's) may straddle the change and belong to none. */
static void start_segment(struct isched__safety *s, uint32_t arm, const struct series *x, uint32_t split,
                          double shift, bool by_feature)
{
        const uint64_t last_old = x->id[split - 1], first_new = x->id[split];
        bool seen_transient[SAFETY_ARMS];
        struct estimates e;
        double sigma;

        /* The windows after the last one before the change leave the old
         * segment's sums before it is closed. */
        for (uint32_t k = 0; k < s->h_len; k++) {
                const struct hist *h = hist_at_c(s, k);

                if (h->id > last_old && h->segment == s->segment && h->kind == STEADY)
                        sums_add(s, h->arm, h->score, h->f, -1.0);
        }
        estimate(s, &e);
        sigma = e.sigma;
        close_segment(s, &e);
        s->segment++;
        s->changes++;
        memcpy(seen_transient, s->has_transient, sizeof(seen_transient));
        memset(s->sums, 0, sizeof(s->sums));
        memset(s->has_transient, 0, sizeof(s->has_transient));
        for (uint32_t k = 0; k < s->h_len; k++) {
                struct hist *h = hist_at(s, k);

                if (h->id > first_new) {
                        h->segment = s->segment;
                        if (h->kind == STEADY)
                                sums_add(s, h->arm, h->score, h->f, 1.0);
                        if (h->kind == TRANSIENT) {
                                s->has_transient[h->arm] = true;
                                s->transient_score[h->arm] = h->score;
                                s->transient_f[h->arm] = h->f;
                        }
                } else if (h->id > last_old) {
                        h->kind = STRADDLE;
                }
        }
        /* What the old segment measured, shifted as the detecting arm
         * shifted, is a prior for the new one: tight after a small shift
         * (a false alarm costs little), loose after a large one. */
        for (uint32_t a = 0; a < SAFETY_ARMS; a++) {
                const double spread = fabs(shift) + 2.0 * sigma + (by_feature ? 0.05 : 0.0);

                /* measured, or seen in a transient (not a bare prior) */
                s->carry[a] = e.known[a] || (seen_transient[a] && has_estimate(&e, a));
                if (!s->carry[a])
                        continue;
                s->carry_mean[a] = e.mean[a] + shift;
                s->carry_var[a] = e.var[a] + spread * spread;
        }
        (void)arm;
        memset(s->visits, 0, sizeof(s->visits));
        s->stint_left = 0;
        s->have_pred = false;
        s->have_pending_transient = false;
}

static void detect_change(struct isched__safety *s, uint32_t arm, struct isched__safety_event *ev)
{
        const double delta = s->p.change_delta / (1.0 + SAFETY_FEATURES);
        struct series x, y;
        uint32_t split;
        double shift = 0.0;
        struct estimates e;

        estimate(s, &e);
        series_of(s, arm, -1, &x);
        if (glr(&x, score_sd(s), delta, &split, &shift)) {
                start_segment(s, arm, &x, split, shift, false);
                ev->change = true;
                ev->change_feature = -1;
                ev->change_shift = shift;
                return;
        }
        /* The bias is constant: test the workload features. */
        for (uint32_t c = 1; c < SAFETY_FEATURES; c++) {
                double fshift;

                series_of(s, arm, (int)c, &y);
                if (!glr(&y, feature_sd(s, c), delta, &split, &fshift))
                        continue;
                /* The score's shift at the same split. */
                {
                        double w1 = 0, s1 = 0, w2 = 0, s2 = 0;

                        for (uint32_t i = 0; i < x.n; i++) {
                                if (i < split) {
                                        w1 += x.f[i];
                                        s1 += x.f[i] * x.v[i];
                                } else {
                                        w2 += x.f[i];
                                        s2 += x.f[i] * x.v[i];
                                }
                        }
                        shift = w1 > 0 && w2 > 0 ? s2 / w2 - s1 / w1 : 0.0;
                }
                start_segment(s, arm, &x, split, shift, true);
                ev->change = true;
                ev->change_feature = (int)c;
                ev->change_shift = shift;
                return;
        }
}

/* ---- observing ---------------------------------------------------------- */

static void measure_switch_cost(struct isched__safety *s, uint32_t arm, double score, double f)
{
        struct arm_sums m;

        arm_sums(s, arm, &m);
        if (m.w <= 0.0) {
                s->have_pending_transient = true;
                s->pending_transient_arm = arm;
                s->pending_transient_score = score;
                s->pending_transient_f = f;
                return;
        }
        /* The transient's deficit against the arm's steady state, in
         * window-equivalents. */
        s->sw_sum += (m.mean - score) * f;
        s->sw_n += 1.0;
}

int isched__safety_observe(struct isched__safety *s, const struct isched__safety_window *w,
                           struct isched__safety_event *ret_ev)
{
        struct isched__safety_event ev = { .change_feature = -1 };
        struct estimates e;
        struct hist *h;
        bool transient;

        if (!s || !w || w->arm >= SAFETY_ARMS || !isched__finite(w->score) || !(w->fraction > 0.0) ||
            !isched__finite(w->fraction))
                return isched__error(-EINVAL, "isched__safety_observe: bad window");
        for (unsigned c = 0; c < SAFETY_FEATURES; c++)
                if (!isched__finite(w->features[c]))
                        return isched__error(-EINVAL, "isched__safety_observe: feature %u is not finite", c);
        transient = w->transient || (s->transient_next && s->transient_arm == w->arm);
        s->transient_next = false;
        s->settle_arm = transient ? w->arm : SAFETY_ARMS;

        /* The ledger charges the window against the estimates it was made under. */
        estimate(s, &e);
        charge(s, &e, w->arm, w->score, w->fraction, transient);

        h = hist_push(s);
        h->id = ev.id = s->next_id++;
        h->segment = s->segment;
        h->arm = w->arm;
        h->kind = transient ? TRANSIENT : STEADY;
        h->score = w->score;
        h->f = w->fraction;
        memcpy(h->feat, w->features, sizeof(h->feat));

        if (transient) {
                measure_switch_cost(s, w->arm, w->score, w->fraction);
                s->has_transient[w->arm] = true;
                s->transient_score[w->arm] = w->score;
                s->transient_f[w->arm] = w->fraction;
        } else {
                sums_add(s, w->arm, w->score, w->fraction, 1.0);
                if (s->have_pending_transient && s->pending_transient_arm == w->arm) {
                        s->have_pending_transient = false;
                        measure_switch_cost(s, w->arm, s->pending_transient_score, s->pending_transient_f);
                }
                if (s->stint_left && s->stint_arm == w->arm)
                        s->stint_left--;
                if (s->p.detect_changes)
                        detect_change(s, w->arm, &ev);
        }
        if (ret_ev)
                *ret_ev = ev;
        return 0;
}

/* ---- deciding ----------------------------------------------------------- */

static double diff_sd(const struct estimates *e, uint32_t a, uint32_t b)
{
        return sqrt(e->var[a] + e->var[b]);
}

/* May arm a be tried: the ledger with a's pessimistic loss over the
 * exposure (the time before the stop-loss can act: the settle, whose
 * transient it judges) and two switches, there and back, stays within
 * budget? */
static bool affordable(const struct isched__safety *s, const struct estimates *e, uint32_t a)
{
        const double x = s->p.exposure_windows;
        double cost = fmax(0.0, loss_rate(s, e, a)) * x + 2.0 * switch_cost(s);

        /* With the stop-loss at the end of the settle, also the next
         * interval at the rate the settle's check will allow an arm that
         * scores as estimated: so that a visit to such an arm is not
         * stopped at its settle for want of room, only for what its
         * transient shows (else a close arm would be tried and stopped
         * over and over, never measured). */
        if (s->p.settle_stop && a != s->baseline && has_estimate(e, a)) {
                const double c = fmax(switch_cost(s), s->p.switch_cost), n = s->p.snapshot_windows;

                cost += fmax(0.0, baseline_upper(s, e) - e->mean[a] +
                                          s->p.z * sqrt(e->sigma * e->sigma / x + (c / x) * (c / x))) * n;
        }
        return s->spent + cost <= s->p.budget * (s->windows + x);
}

static void fill_arms(const struct isched__safety *s, const struct estimates *e, double best_lower,
                      struct isched__safety_decision *d)
{
        for (uint32_t a = 0; a < SAFETY_ARMS; a++) {
                d->arms[a].mean = e->mean[a];
                d->arms[a].sd = sqrt(e->var[a]);
                d->arms[a].weight = e->w[a];
                d->arms[a].eliminated = enabled(s, a) && has_estimate(e, a) && upper(s, e, a) < best_lower;
        }
}

int isched__safety_decide(struct isched__safety *s, uint32_t current, const struct isched__safety_prior *prior,
                          struct isched__safety_decision *ret)
{
        struct isched__safety_decision d = { .arm = current, .reason = SAFETY_STAY };
        const double h = switch_cost(s) / s->p.payback_windows;
        uint32_t best = SAFETY_ARMS, top = SAFETY_ARMS, pick = SAFETY_ARMS;
        double best_lower = -INFINITY;
        struct estimates e;

        if (!s || !prior || !ret || current >= SAFETY_ARMS || prior->proposal >= SAFETY_ARMS)
                return isched__error(-EINVAL, "isched__safety_decide: bad argument");
        s->explore_target = SAFETY_ARMS;
        s->prior = *prior;
        s->prior.gain[s->baseline] = 0.0;
        s->prior.sd[s->baseline] = 0.0;
        s->have_prior = true;
        if (!s->have_pred) {
                memcpy(s->pred_gain, s->prior.gain, sizeof(s->pred_gain));
                s->have_pred = true;
        }
        estimate(s, &e);

        /* The best-known arm: the highest lower bound among measured arms
         * (among all arms while none is measured). */
        for (uint32_t a = 0; a < SAFETY_ARMS; a++)
                if (enabled(s, a) && e.known[a] && lower(s, &e, a) > best_lower) {
                        best_lower = lower(s, &e, a);
                        best = a;
                }
        if (best == SAFETY_ARMS)
                for (uint32_t a = 0; a < SAFETY_ARMS; a++)
                        if (enabled(s, a) && has_estimate(&e, a) && lower(s, &e, a) > best_lower) {
                                best_lower = lower(s, &e, a);
                                best = a;
                        }
        fill_arms(s, &e, best_lower, &d);
        /* Rollback goes to the best-known arm only if it is confidently no
         * worse than the baseline; else to the baseline. */
        d.fallback = s->baseline;
        if (best < SAFETY_ARMS && best != s->baseline && has_estimate(&e, s->baseline) &&
            e.mean[best] - e.mean[s->baseline] - s->p.z * diff_sd(&e, best, s->baseline) > 0.0)
                d.fallback = best;
        if (!enabled(s, current)) {
                d.arm = d.fallback;
                d.reason = SAFETY_ROLLBACK;
                goto done;
        }

        /* The ledger: one more window here must not overrun the budget.
         * Back to the best-known arm if even its pessimistic bound is no
         * loss against the baseline's (it pays for itself), else to the
         * baseline: an exploration begun from a better arm returns there. */
        if (current != s->baseline &&
            s->spent + fmax(0.0, loss_rate(s, &e, current)) > s->p.budget * (s->windows + 1.0)) {
                d.arm = d.fallback != current && loss_rate(s, &e, d.fallback) <= 0.0 ? d.fallback : s->baseline;
                d.reason = SAFETY_ROLLBACK;
                s->stint_left = 0;
                goto done;
        }
        if (!has_estimate(&e, current))
                goto done;
        /* An exploration visit goes on unless its arm is now known worse. */
        if (s->stint_left && s->stint_arm == current) {
                if (!d.arms[current].eliminated) {
                        d.reason = SAFETY_STINT;
                        goto done;
                }
                s->stint_left = 0;
        }

        /* Exploit: the arm with the best estimate, if it beats the current
         * one by more than the switch's cost per payback period, with
         * confidence. */
        for (uint32_t a = 0; a < SAFETY_ARMS; a++)
                if (enabled(s, a) && has_estimate(&e, a) && !d.arms[a].eliminated &&
                    (top == SAFETY_ARMS || e.mean[a] > e.mean[top]))
                        top = a;
        if (top < SAFETY_ARMS && top != current &&
            e.mean[top] - e.mean[current] - s->p.z * diff_sd(&e, top, current) > h && affordable(s, &e, top)) {
                d.arm = top;
                d.reason = top == prior->proposal ? SAFETY_ACCEPT : SAFETY_EXPLOIT;
                goto done;
        }

        /* Explore: among the arms that are not eliminated, might beat the
         * current one by more than the switch's cost, and are affordable,
         * the one the policy ranks highest.  Also when the policy wants to
         * stay: its widths shrink with the windows its model was fit on
         * (thousands, for a prior trained on other workloads), not with
         * how well it predicts this one; the layer's bounds carry the
         * model's measured error (its calibration), and the ledger pays
         * for the visit.  This is CLUCB's optimism with calibrated widths. */
        for (uint32_t a = 0; (s->p.own_exploration || prior->proposal != current) && a < SAFETY_ARMS; a++) {
                if (!enabled(s, a) || a == current || !has_estimate(&e, a) || d.arms[a].eliminated)
                        continue;
                if (e.mean[a] - e.mean[current] + s->p.z * diff_sd(&e, a, current) <= h)
                        continue;
                if (!affordable(s, &e, a))
                        continue;
                /* An arm the policy did not propose is tried only if its
                 * pessimistic loss is within explore_limit: one that might
                 * be catastrophic is tried only when the policy itself
                 * proposes it (and the budget covers it at max_loss). */
                if (a != prior->proposal && loss_rate(s, &e, a) > s->p.explore_limit)
                        continue;
                if (pick == SAFETY_ARMS || prior->rank[a] > prior->rank[pick])
                        pick = a;
        }
        if (pick < SAFETY_ARMS) {
                d.arm = pick;
                d.reason = pick == prior->proposal ? SAFETY_ACCEPT : SAFETY_EXPLORE;
                s->explore_target = pick;
                goto done;
        }

        /* Nothing to do: say why the policy's proposal does not stand. */
        if (prior->proposal == current) {
                d.reason = SAFETY_ACCEPT;
        } else if (!enabled(s, prior->proposal) || !has_estimate(&e, prior->proposal) ||
                   d.arms[prior->proposal].eliminated) {
                d.reason = SAFETY_ELIMINATED;
        } else if (e.mean[prior->proposal] - e.mean[current] +
                           s->p.z * diff_sd(&e, prior->proposal, current) <= h) {
                d.reason = SAFETY_HYSTERESIS;
        } else {
                d.reason = SAFETY_BUDGET;
        }
done:
        d.gain = NAN;
        d.gain_sd = NAN;
        if (has_estimate(&e, d.arm) && has_estimate(&e, s->baseline)) {
                d.gain = d.arm == s->baseline ? 0.0 : e.mean[d.arm] - e.mean[s->baseline];
                d.gain_sd = d.arm == s->baseline ? 0.0 : diff_sd(&e, d.arm, s->baseline);
        }
        *ret = d;
        return 0;
}

bool isched__safety_may_continue(struct isched__safety *s, uint32_t current, double partial_score, double fraction,
                                 double next_fraction)
{
        struct estimates e;
        double ub, rate, spent;

        if (!s || current >= SAFETY_ARMS || current == s->baseline)
                return true;
        estimate(s, &e);
        ub = baseline_upper(s, &e);
        if (!isfinite(ub))
                return true;
        /* What this window has cost so far, and what one more interval at
         * the rate it showed (pessimistically; before it showed any, the
         * arm's bound) and the way back would. */
        if (!(fraction > 0.0) || !isched__finite(partial_score)) {
                if (!s->p.settle_stop || s->settle_arm != current || !s->has_transient[current]) {
                        /* Nothing of the arm seen yet: the first interval
                         * was paid for when the arm was chosen
                         * (affordable()), so only a ledger already overrun
                         * stops it. */
                        return s->spent <= s->p.budget * s->windows;
                }
                /* After the settle: its transient, corrected by the
                 * switch's cost and as uncertain as that cost, bounds the
                 * rate of the next interval (the estimate already holds it
                 * where it shows the arm worse than predicted; here it may
                 * also show it better, for this decision only). */
                {
                        const double cost = fmax(switch_cost(s), s->p.switch_cost), f = s->transient_f[current];
                        const double tl = s->transient_score[current] + cost / f -
                                          s->p.z * sqrt(e.sigma * e.sigma / f + (cost / f) * (cost / f));

                        rate = fmin(loss_rate(s, &e, current), ub - tl);
                }
                return s->spent + fmax(0.0, rate) * next_fraction + switch_cost(s) <=
                       s->p.budget * (s->windows + next_fraction);
        }
        spent = s->spent + (ub - partial_score) * fraction;
        rate = ub - (partial_score - s->p.z * e.sigma / sqrt(fraction));
        return spent + fmax(0.0, rate) * next_fraction + switch_cost(s) <=
               s->p.budget * (s->windows + fraction + next_fraction);
}

int isched__safety_learnable(const struct isched__safety *s, uint64_t id, bool final, double *ret_baseline,
                             const char **ret_why)
{
        const struct hist *h = hist_find(s, id);
        struct arm_sums m;

        *ret_why = NULL;
        if (!h) {
                *ret_why = "the window is no longer remembered";
                return -1;
        }
        if (h->kind == TRANSIENT) {
                *ret_why = "transient after a switch: measured as the switch's cost, not the arm's steady state";
                return -1;
        }
        if (h->kind == STRADDLE) {
                *ret_why = "the window may straddle a workload change";
                return -1;
        }
        if (h->segment != s->segment) {
                for (uint32_t k = 0; k < CLOSED_KEPT && k < s->n_closed; k++) {
                        const struct closed_segment *c = &s->closed[k];

                        if (c->segment != h->segment)
                                continue;
                        if (!c->has_baseline) {
                                *ret_why = "no baseline window was measured in its workload segment";
                                return -1;
                        }
                        *ret_baseline = c->baseline;
                        return 1;
                }
                *ret_why = "its workload segment is no longer remembered";
                return -1;
        }
        if (!final && id + s->p.confirm_windows >= s->next_id)
                return 0;
        arm_sums(s, s->baseline, &m);
        if (m.w < 1.0) {
                if (!final)
                        return 0;
                *ret_why = "no baseline window was measured in its workload segment";
                return -1;
        }
        *ret_baseline = m.mean;
        return 1;
}

void isched__safety_get_status(const struct isched__safety *s, struct isched__safety_status *ret)
{
        struct estimates e;

        estimate(s, &e);
        *ret = (struct isched__safety_status){
                .segment = s->segment,
                .changes = s->changes,
                .windows = s->windows,
                .spent = s->spent,
                .allowance = s->p.budget * s->windows,
                .noise_sd = e.sigma,
                .switch_cost = switch_cost(s),
                .measured_gain = s->windows > 0 ? s->gain_num / s->windows : NAN,
                .measured_gain_sd = s->windows > 0 ? sqrt(s->gain_var) / s->windows : NAN,
                .baseline = s->baseline,
        };
        for (uint32_t a = 0; a < SAFETY_ARMS; a++)
                ret->model_error[a] = model_error(s, a);
}

uint64_t isched__safety_last_id(const struct isched__safety *s)
{
        return s->next_id - 1;
}
