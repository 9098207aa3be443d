/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The estimators of `isched eval` (eval-ope.h; docs/agent.md, "Off-policy
 * evaluation", says what each estimates and how its interval is made). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval-ope.h"

#define Z95 1.959963984540054

void ope_options_init(struct ope_options *o)
{
        *o = (struct ope_options){
                .guard_rounds = OPE_GUARD_EXCLUDE,
                .interval = OPE_INTERVAL_STATES,
                .folds = 5,
                .lambda = 1.0,
                .block = 0,
                .resamples = 2000,
                .seed = 1,
        };
}

/* ---- the reward model ---------------------------------------------------- */

/* Solve A x = b for a symmetric positive definite A (n x n, row-major,
 * overwritten by its Cholesky factor). */
static int cholesky_solve(double *A, double *b, uint32_t n)
{
        for (uint32_t j = 0; j < n; j++) {
                double s = A[j * n + j];

                for (uint32_t k = 0; k < j; k++)
                        s -= A[j * n + k] * A[j * n + k];
                if (!(s > 0))
                        return -EDOM;
                A[j * n + j] = sqrt(s);
                for (uint32_t i = j + 1; i < n; i++) {
                        double t = A[i * n + j];

                        for (uint32_t k = 0; k < j; k++)
                                t -= A[i * n + k] * A[j * n + k];
                        A[i * n + j] = t / A[j * n + j];
                }
        }
        for (uint32_t i = 0; i < n; i++) {
                for (uint32_t k = 0; k < i; k++)
                        b[i] -= A[i * n + k] * b[k];
                b[i] /= A[i * n + i];
        }
        for (uint32_t i = n; i-- > 0;) {
                for (uint32_t k = i + 1; k < n; k++)
                        b[i] -= A[k * n + i] * b[k];
                b[i] /= A[i * n + i];
        }
        return 0;
}

int ope_model_fit(const struct ope_round *rounds, size_t n, const bool *use, uint32_t d, double lambda,
                  struct ope_model *ret)
{
        double A[ISCHED_MAX_FEATURES * ISCHED_MAX_FEATURES];
        struct ope_model m = { .d = d };
        double all_sum = 0;
        size_t all_n = 0;

        if (!rounds || d == 0 || d > ISCHED_MAX_FEATURES || !(lambda > 0) || !ret)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!use || use[i]) {
                        all_sum += rounds[i].label;
                        all_n++;
                }
        if (all_n == 0)
                return -EINVAL;
        for (uint32_t a = 0; a < OPE_ARMS; a++) {
                double xm[ISCHED_MAX_FEATURES] = { 0 }, b[ISCHED_MAX_FEATURES] = { 0 }, ym = 0;
                size_t na = 0;
                int r;

                for (size_t i = 0; i < n; i++) {
                        if ((use && !use[i]) || rounds[i].arm != a)
                                continue;
                        for (uint32_t j = 0; j < d; j++)
                                xm[j] += rounds[i].x[j];
                        ym += rounds[i].label;
                        na++;
                }
                m.intercept[a] = all_sum / (double)all_n;
                if (na == 0)
                        continue;
                for (uint32_t j = 0; j < d; j++)
                        xm[j] /= (double)na;
                ym /= (double)na;
                /* Centred on the arm's own rounds, the intercept is the
                 * arm's mean label whatever lambda is: only the slopes
                 * are shrunk.  A constant column (the bias feature)
                 * centres to zero and gets no weight. */
                memset(A, 0, sizeof(double) * d * d);
                for (uint32_t j = 0; j < d; j++)
                        A[j * d + j] = lambda;
                for (size_t i = 0; i < n; i++) {
                        if ((use && !use[i]) || rounds[i].arm != a)
                                continue;
                        for (uint32_t j = 0; j < d; j++) {
                                const double cj = rounds[i].x[j] - xm[j];

                                b[j] += cj * (rounds[i].label - ym);
                                for (uint32_t k = 0; k <= j; k++)
                                        A[j * d + k] += cj * (rounds[i].x[k] - xm[k]);
                        }
                }
                for (uint32_t j = 0; j < d; j++)
                        for (uint32_t k = j + 1; k < d; k++)
                                A[j * d + k] = A[k * d + j];
                r = cholesky_solve(A, b, d);
                if (r < 0)
                        return r;
                m.intercept[a] = ym;
                for (uint32_t j = 0; j < d; j++) {
                        m.slope[a][j] = b[j];
                        m.intercept[a] -= b[j] * xm[j];
                }
                m.fitted[a] = true;
        }
        *ret = m;
        return 0;
}

double ope_model_predict(const struct ope_model *m, const double *x, uint32_t arm)
{
        double v;

        if (arm >= OPE_ARMS)
                return NAN;
        v = m->intercept[arm];
        for (uint32_t j = 0; j < m->d; j++)
                v += m->slope[arm][j] * x[j];
        return v;
}

/* ---- intervals ------------------------------------------------------------ */

static double mean_of(const double *v, size_t n)
{
        double s = 0;

        for (size_t i = 0; i < n; i++)
                s += v[i];
        return n ? s / (double)n : NAN;
}

static double autocov(const double *v, size_t n, double m, size_t lag)
{
        double s = 0;

        for (size_t i = 0; i + lag < n; i++)
                s += (v[i] - m) * (v[i + lag] - m);
        return s / (double)n;
}

/* Andrews (1991), the Bartlett kernel's bandwidth for an AR(1) of the
 * series' first autocorrelation: 1.1447 (alpha n)^(1/3) with
 * alpha = 4 rho^2 / ((1 - rho)^2 (1 + rho)^2). */
static uint32_t auto_bandwidth(const double *v, size_t n)
{
        const double m = mean_of(v, n), g0 = autocov(v, n, m, 0);
        double rho, alpha, s;

        if (n < 3 || !(g0 > 0))
                return 0;
        rho = autocov(v, n, m, 1) / g0;
        rho = fmax(-0.97, fmin(0.97, rho));
        alpha = 4 * rho * rho / ((1 - rho) * (1 - rho) * (1 + rho) * (1 + rho));
        s = floor(1.1447 * cbrt(alpha * (double)n));
        return (uint32_t)fmin(s, (double)(n - 1) / 2);
}

/* The Bartlett-weighted long-run variance of the mean of v, `lags` lags. */
static double long_run_variance(const double *v, size_t n, uint32_t lags)
{
        const double m = mean_of(v, n);
        double lrv = autocov(v, n, m, 0);

        for (uint32_t l = 1; l <= lags && l < n; l++)
                lrv += 2 * (1 - (double)l / (lags + 1)) * autocov(v, n, m, l);
        /* n / (n - 1): the sample variance's correction, so that with no
         * lags this is the usual s^2 / n. */
        return fmax(lrv, 0) / (double)(n - 1);
}

double ope_hac_variance(const double *v, size_t n, uint32_t lags, uint32_t *ret_lags)
{
        if (!v || n < 2)
                return NAN;
        if (lags == 0)
                lags = auto_bandwidth(v, n);
        if (ret_lags)
                *ret_lags = lags;
        return long_run_variance(v, n, lags);
}

static uint64_t splitmix64(uint64_t *s)
{
        uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
        const double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* An estimate that is a ratio of means, sum(num) / sum(den) (den NULL: a
 * mean of num); psi is its linearisation, whose long-run variance gives
 * the HAC interval and whose autocorrelation the block length. */
struct series {
        const double *num, *den, *psi;
};

static double ratio(const struct series *s, const size_t *idx, size_t n)
{
        double a = 0, b = 0;

        for (size_t i = 0; i < n; i++) {
                const size_t k = idx ? idx[i] : i;

                a += s->num[k];
                b += s->den ? s->den[k] : 1.0;
        }
        return b != 0 ? a / b : NAN;
}

/* state_lags: the automatic lags of the host's state (see
 * ope_estimate), a floor for the estimate's own; state_var: what the
 * states interval adds to hac's variance. */
static int interval(const struct series *s, size_t n, const struct ope_options *o, uint32_t state_lags,
                    double state_var, struct ope_interval *ret)
{
        const double value = ratio(s, NULL, n);
        const uint32_t own = auto_bandwidth(s->psi, n);
        const uint32_t block = o->interval == OPE_INTERVAL_IID ? 1
                               : o->block                       ? o->block
                                                                : (own > state_lags ? own : state_lags) + 1;
        double var;

        *ret = (struct ope_interval){ value, NAN, NAN, NAN, block };
        if (!isfinite(value) || n < 2)
                return 0;
        if (o->interval == OPE_INTERVAL_BOOTSTRAP) {
                const uint32_t b = block;
                double *est = malloc(o->resamples * sizeof(double)), sum = 0, ss = 0;
                size_t *idx = malloc(n * sizeof(size_t)), m = 0;
                uint64_t rng = o->seed;

                if (!est || !idx) {
                        free(est);
                        free(idx);
                        return -ENOMEM;
                }
                /* Circular blocks of b consecutive rounds (Politis and
                 * Romano 1992): the resample keeps each block's
                 * dependence; its variance is the Bartlett estimate of
                 * bandwidth b (Kuensch 1989). */
                for (uint32_t r = 0; r < o->resamples; r++) {
                        double e;

                        for (size_t i = 0; i < n;) {
                                const size_t start = (size_t)(splitmix64(&rng) % n);

                                for (uint32_t j = 0; j < b && i < n; j++, i++)
                                        idx[i] = (start + j) % n;
                        }
                        e = ratio(s, idx, n);
                        if (isfinite(e)) {
                                est[m++] = e;
                                sum += e;
                                ss += e * e;
                        }
                }
                free(idx);
                if (m >= 2) {
                        qsort(est, m, sizeof(double), cmp_double);
                        ret->se = sqrt(fmax(0, (ss - sum * sum / (double)m) / (double)(m - 1)));
                        ret->low = est[(size_t)floor(0.025 * (double)(m - 1))];
                        ret->high = est[(size_t)ceil(0.975 * (double)(m - 1))];
                }
                free(est);
                return 0;
        }
        /* Blocks of b rounds: b - 1 Bartlett lags (Newey and West 1987). */
        var = long_run_variance(s->psi, n, block - 1);
        if (o->interval == OPE_INTERVAL_STATES)
                var += state_var;
        ret->se = sqrt(var);
        ret->low = value - Z95 * ret->se;
        ret->high = value + Z95 * ret->se;
        return 0;
}

/* ---- the state a switch leaves ------------------------------------------- */

/* The between-stretch variance of arm a's residuals (method of moments,
 * one-way random effects with unequal stretches): tau^2 = (Q - (G - 1)
 * s_w^2) / (N - sum n_g^2 / N), Q the stretches' weighted spread around
 * the arm's mean, s_w^2 the pooled variance within stretches (the
 * pooled_within of all arms where the arm's stretches are single rounds).
 * 0 under 2 stretches.  Stretches are runs of one episode id. */
static double between_stretches(const struct ope_round *rounds, const double *resid, size_t n, uint32_t a,
                                double pooled_within)
{
        double sum = 0, within = 0, q = 0, sq_sizes = 0, mean, sw2, t;
        size_t na = 0, g = 0;

        for (size_t i = 0; i < n; i++)
                if (rounds[i].arm == a) {
                        sum += resid[i];
                        na++;
                }
        if (na < 2)
                return 0;
        mean = sum / (double)na;
        for (size_t i = 0; i < n;) {
                double s1 = 0, s2 = 0;
                size_t k = 0, j;

                if (rounds[i].arm != a) {
                        i++;
                        continue;
                }
                for (j = i; j < n; j++) {
                        if (rounds[j].arm != a)
                                continue;
                        if (rounds[j].episode != rounds[i].episode)
                                break;
                        s1 += resid[j];
                        s2 += resid[j] * resid[j];
                        k++;
                }
                within += s2 - s1 * s1 / (double)k;
                q += (double)k * (s1 / (double)k - mean) * (s1 / (double)k - mean);
                sq_sizes += (double)k * (double)k;
                g++;
                i = j;
        }
        if (g < 2)
                return 0;
        sw2 = na > g ? within / (double)(na - g) : pooled_within;
        t = (q - (double)(g - 1) * sw2) / ((double)na - sq_sizes / (double)na);
        return t > 0 ? t : 0;
}

/* The pooled variance within stretches over all arms (NaN: no stretch of
 * more than one round). */
static double within_stretches(const struct ope_round *rounds, const double *resid, size_t n)
{
        double within = 0;
        size_t df = 0;

        for (size_t i = 0; i < n;) {
                double s1 = 0, s2 = 0;
                size_t j = i;

                for (; j < n && rounds[j].episode == rounds[i].episode && rounds[j].arm == rounds[i].arm; j++) {
                        s1 += resid[j];
                        s2 += resid[j] * resid[j];
                }
                within += s2 - s1 * s1 / (double)(j - i);
                df += j - i - 1;
                i = j;
        }
        return df ? within / (double)df : NAN;
}

/* The target's chance, over pairs of rounds (i, j), that it plays arm a
 * at i and holds it through j, as a share of n^2: (2 T - sum_i pi_i(a))
 * / n^2 with T = sum_i pi_i(a) R_i, R_i = 1 + pi_{i+1}(a) R_{i+1} (a
 * target that chooses afresh each round, as every intellisched policy
 * does given its context).  1 for a fixed arm, about (K + 1) / ((K - 1) n)
 * for uniform over K arms. */
static double same_stretch_share(const double *const *pi, size_t n, uint32_t a)
{
        double r = 0, t = 0, mass = 0;

        for (size_t i = n; i-- > 0;) {
                r = 1 + (i + 1 < n ? pi[i + 1][a] * r : 0);
                t += pi[i][a] * r;
                mass += pi[i][a];
        }
        return (2 * t - mass) / ((double)n * (double)n);
}

/* ---- the estimators ------------------------------------------------------- */

int ope_estimate(const struct ope_round *rounds, size_t n, uint32_t d, const struct ope_options *o,
                 struct ope_result *ret)
{
        double *w = NULL, *wy = NULL, *y = NULL, *dr = NULL, *psi = NULL, *resid = NULL;
        bool *use = NULL;
        struct ope_result res = { .rounds = n };
        uint32_t folds, fitted_all = ISCHED_ARM_MASK_ALL, state_lags;
        double sw = 0, sw2 = 0, swy = 0, snips;
        int r = 0;

        if (!rounds || n == 0 || d == 0 || !o || o->folds < 2 || !(o->lambda > 0) || !ret ||
            (o->interval == OPE_INTERVAL_BOOTSTRAP && o->resamples < 2))
                return -EINVAL;
        w = calloc(n, sizeof(double));
        wy = calloc(n, sizeof(double));
        y = calloc(n, sizeof(double));
        dr = calloc(n, sizeof(double));
        psi = calloc(n, sizeof(double));
        resid = calloc(n, sizeof(double));
        use = calloc(n, sizeof(bool));
        if (!w || !wy || !y || !dr || !psi || !resid || !use) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                const struct ope_round *e = &rounds[i];

                if (e->arm >= OPE_ARMS || !(e->propensity > 0 && e->propensity <= 1) || !isfinite(e->label)) {
                        r = -EINVAL;
                        goto out;
                }
                if (e->deterministic)
                        res.deterministic++;
                if (e->deterministic)
                        w[i] = o->guard_rounds == OPE_GUARD_REPLAY ? 1.0 : 0.0;
                else
                        w[i] = e->target[e->arm] / e->propensity;
                y[i] = e->label;
                wy[i] = w[i] * y[i];
                sw += w[i];
                sw2 += w[i] * w[i];
                swy += wy[i];
        }
        /* Cross-fitting over folds of consecutive rounds: a round's
         * reward model never saw the round, nor (but at a fold's edge)
         * its neighbours, with which it shares the host's state. */
        folds = n < o->folds ? (uint32_t)n : o->folds;
        for (uint32_t f = 0; f < folds; f++) {
                const size_t lo = n * f / folds, hi = n * (f + 1) / folds;
                struct ope_model m;
                uint32_t fitted = 0;

                for (size_t i = 0; i < n; i++)
                        use[i] = folds < 2 || i < lo || i >= hi;
                r = ope_model_fit(rounds, n, use, d, o->lambda, &m);
                if (r < 0)
                        goto out;
                for (uint32_t a = 0; a < OPE_ARMS; a++)
                        fitted |= m.fitted[a] ? 1u << a : 0;
                fitted_all &= fitted;
                for (size_t i = lo; i < hi; i++) {
                        const struct ope_round *e = &rounds[i];
                        const bool replayed = e->deterministic && o->guard_rounds == OPE_GUARD_REPLAY;
                        double direct = 0;

                        for (uint32_t a = 0; a < OPE_ARMS; a++) {
                                const double p = replayed ? (a == e->arm) : e->target[a];

                                if (p > 0)
                                        direct += p * ope_model_predict(&m, e->x, a);
                        }
                        resid[i] = y[i] - ope_model_predict(&m, e->x, e->arm);
                        dr[i] = direct + w[i] * resid[i];
                }
        }
        /* How long the host's state carries over: from the reward model's
         * residuals, what neither the arm nor the context explains.  An
         * importance-weighted series (w y, mostly zeros for a fixed arm)
         * hides it: its autocorrelation is diluted by the zeros while its
         * autocovariances are not, so its own AR(1) rule picks too few
         * lags.  Each interval takes the larger of the two. */
        state_lags = auto_bandwidth(resid, n);
        /* The state a held arrangement would be in is one draw of what a
         * switch into it leaves; the log saw one per stretch. */
        {
                const double pooled = within_stretches(rounds, resid, n);
                const double **pi = malloc(n * sizeof(*pi));
                double (*replayed)[OPE_ARMS] = calloc(n, sizeof(*replayed));

                if (!pi || !replayed) {
                        free(pi);
                        free(replayed);
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t i = 0; i < n; i++) {
                        pi[i] = rounds[i].target;
                        if (rounds[i].deterministic && o->guard_rounds == OPE_GUARD_REPLAY) {
                                replayed[i][rounds[i].arm] = 1;
                                pi[i] = replayed[i];
                        }
                }
                for (uint32_t a = 0; a < OPE_ARMS; a++) {
                        const double tau2 = between_stretches(rounds, resid, n, a, isfinite(pooled) ? pooled : 0);

                        res.state_sd[a] = sqrt(tau2);
                        if (tau2 > 0)
                                res.state_var += tau2 * same_stretch_share(pi, n, a);
                }
                free(pi);
                free(replayed);
        }
        res.folds = folds;
        res.model_arms = fitted_all;
        res.ess = sw2 > 0 ? sw * sw / sw2 : 0;

        /* The log's own mean and the support are of the log's own states. */
        r = interval(&(struct series){ y, NULL, y }, n, o, state_lags, 0, &res.logged);
        if (r == 0)
                r = interval(&(struct series){ wy, NULL, wy }, n, o, state_lags, res.state_var, &res.ips);
        if (r == 0)
                r = interval(&(struct series){ dr, NULL, dr }, n, o, state_lags, res.state_var, &res.dr);
        if (r == 0)
                r = interval(&(struct series){ w, NULL, w }, n, o, state_lags, 0, &res.support);
        if (r < 0)
                goto out;
        /* SNIPS = sum(w y) / sum(w); linearised, w (y - SNIPS) / mean(w). */
        snips = sw > 0 ? swy / sw : NAN;
        for (size_t i = 0; i < n && sw > 0; i++)
                psi[i] = w[i] * (y[i] - snips) / (sw / (double)n);
        if (sw > 0)
                r = interval(&(struct series){ wy, w, psi }, n, o, state_lags, res.state_var, &res.snips);
        else
                res.snips = (struct ope_interval){ NAN, NAN, NAN, NAN, 0 };
        if (r == 0)
                *ret = res;
out:
        free(w);
        free(wy);
        free(y);
        free(dr);
        free(psi);
        free(resid);
        free(use);
        return r;
}
