/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policies: choosing an arm, learning from a reward.  Formulas and the
 * reasons behind the numerical guards are in docs/policies.md. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>

#include "policy-private.h"
#include "util/util.h"

/* Half-width, in standard deviations of the arm, of the interval over
 * which Thompson sampling propensities are integrated: the normal mass
 * outside is below 1e-18. */
#define TS_INTEGRATION_HALF_WIDTH 9.0
#define TS_INTEGRATION_LIMIT 200

/* Four partial sums: independent chains the CPU overlaps (a single
 * running sum waits for each addition in turn). */
static double dot(const double *a, const double *b, unsigned d)
{
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        unsigned i = 0;

        for (; i + 4 <= d; i += 4) {
                s0 += a[i] * b[i];
                s1 += a[i + 1] * b[i + 1];
                s2 += a[i + 2] * b[i + 2];
                s3 += a[i + 3] * b[i + 3];
        }
        for (; i < d; i++)
                s0 += a[i] * b[i];
        return (s0 + s1) + (s2 + s3);
}

/* y = M x for a symmetric M, as the sum of M's rows scaled by x_j: the
 * inner loop updates d independent sums and vectorises, where row-times-x
 * dot products would each be one long dependency chain. */
static void symv(const double *m, const double *x, double *y, unsigned d)
{
        for (unsigned i = 0; i < d; i++)
                y[i] = 0.0;
        for (unsigned j = 0; j < d; j++) {
                const double xj = x[j];
                const double *row = m + (size_t)j * d;

                for (unsigned i = 0; i < d; i++)
                        y[i] += row[i] * xj;
        }
}

/*
 * Invert a symmetric positive-definite matrix in place of inv by Cholesky:
 * A = L L^T, then L^-1, then A^-1 = L^-T L^-1.  Written out rather than
 * through gsl_linalg: for the small matrices here (d <= 64) GSL's
 * per-call overhead dominated D-LinUCB, which inverts every arm's V each
 * round.  Each step works in place, in an order that reads every entry
 * before it is overwritten (see the comments).
 */
/* Step 1 alone: the Cholesky factor L of a (A = L L^T) into the lower
 * triangle of m; the upper triangle keeps a's values.  Reads A's lower
 * triangle and the rows of L computed so far. */
static int cholesky(const double *a, double *m, unsigned d)
{
        memcpy(m, a, (size_t)d * d * sizeof(double));
        for (unsigned j = 0; j < d; j++) {
                double s = m[j * d + j];

                for (unsigned k = 0; k < j; k++)
                        s -= m[j * d + k] * m[j * d + k];
                if (!(s > 0.0) || !isched__finite(s))
                        return -EDOM;
                s = sqrt(s);
                m[j * d + j] = s;
                for (unsigned i = j + 1; i < d; i++) {
                        double t = m[i * d + j];

                        for (unsigned k = 0; k < j; k++)
                                t -= m[i * d + k] * m[j * d + k];
                        m[i * d + j] = t / s;
                }
        }
        return 0;
}

/* u = A^-1 x from A's Cholesky factor: L y = x, then L^T u = y. */
static void cholesky_solve(const double *l, const double *x, double *u, unsigned d)
{
        for (unsigned i = 0; i < d; i++) {
                double t = x[i];

                for (unsigned k = 0; k < i; k++)
                        t -= l[i * d + k] * u[k];
                u[i] = t / l[i * d + i];
        }
        for (unsigned i = d; i-- > 0;) {
                double t = u[i];

                for (unsigned k = i + 1; k < d; k++)
                        t -= l[k * d + i] * u[k];
                u[i] = t / l[i * d + i];
        }
}

int isched__spd_invert(const double *a, double *m, unsigned d)
{
        if (cholesky(a, m, d) < 0)
                return -EDOM;
        /* 2. M = L^-1, column by column from the left: column j of M needs
         *    columns > j of L, which are still untouched. */
        for (unsigned j = 0; j < d; j++) {
                m[j * d + j] = 1.0 / m[j * d + j];
                for (unsigned i = j + 1; i < d; i++) {
                        double t = 0.0;

                        for (unsigned k = j; k < i; k++)
                                t += m[i * d + k] * m[k * d + j];
                        m[i * d + j] = -t / m[i * d + i];
                }
        }
        /* 3. A^-1 = M^T M into the upper triangle and the diagonal: entry
         *    (i, j), j >= i, reads M[k][i], M[k][j] for k >= j, which are
         *    strictly below the diagonal or the diagonal entries of rows
         *    not yet written; then mirrored, so exactly symmetric. */
        for (unsigned i = 0; i < d; i++) {
                for (unsigned j = i; j < d; j++) {
                        double t = 0.0;

                        for (unsigned k = j; k < d; k++)
                                t += m[k * d + i] * m[k * d + j];
                        m[i * d + j] = t;
                }
        }
        for (unsigned i = 0; i < d; i++)
                for (unsigned j = 0; j < i; j++)
                        m[i * d + j] = m[j * d + i];
        for (size_t i = 0; i < (size_t)d * d; i++)
                if (!isched__finite(m[i]))
                        return -EDOM;
        return 0;
}

int isched__policy_refresh_arm(struct isched_policy *p, unsigned arm)
{
        struct isched__arm_stats *s = &p->arms[arm];
        const unsigned d = p->params.n_features;
        int r;

        if (!s->A)
                return 0;
        /* D-LinUCB needs V^-1 x and V^-1 b only: its cache is V's Cholesky
         * factor, a third of the work of the inverse. */
        r = s->A_tilde ? cholesky(s->A, s->A_inv, d) : isched__spd_invert(s->A, s->A_inv, d);
        if (r < 0)
                return isched__error(r, "the statistics of arm %u are not positive definite any more", arm);
        s->stale = false;
        return 0;
}

void isched__policy_arm_loaded(struct isched_policy *p, unsigned arm)
{
        struct isched__arm_stats *s = &p->arms[arm];

        /* D-LinUCB's A_inv (V's Cholesky factor) is a cache, recomputed at the next
         * decision; the others keep theirs, saved exactly. */
        if (s->A_tilde)
                s->stale = true;
}

/* y = A^-1 x: from the maintained inverse, or from D-LinUCB's Cholesky factor. */
static void solve(const struct isched__arm_stats *s, const double *x, double *y, unsigned d)
{
        if (s->A_tilde)
                cholesky_solve(s->A_inv, x, y, d);
        else
                symv(s->A_inv, x, y, d);
}

/* u = A^-1 x into the work area, and the quadratic form of the width:
 * x^T A^-1 x = x.u (LinUCB, lingreedy, TS) or x^T V^-1 Vtilde V^-1 x =
 * u^T Vtilde u (D-LinUCB). */
static double quadratic_form(const struct isched_policy *p, const struct isched__arm_stats *s, const double *x)
{
        const unsigned d = p->params.n_features;
        double *u = p->work, *w = p->work + d;

        solve(s, x, u, d);
        if (s->A_tilde) {
                symv(s->A_tilde, u, w, d);
                return dot(u, w, d);
        }
        return dot(x, u, d);
}

/* The estimate theta.x = (A^-1 b).x = b.(A^-1 x) = b.u (A^-1 is
 * symmetric, so theta itself is never needed to decide) and the
 * quadratic form of the width of a linear arm.  A form that comes out
 * negative or non-finite means A^-1 drifted: it is recomputed from A,
 * and what rounding leaves below zero is 0. */
static int linear_eval(struct isched_policy *p, unsigned arm, const double *x, double *ret_est, double *ret_q)
{
        struct isched__arm_stats *s = &p->arms[arm];
        const unsigned d = p->params.n_features;
        double q;
        int r;

        if (s->stale && (r = isched__policy_refresh_arm(p, arm)) < 0)
                return r;
        q = quadratic_form(p, s, x);
        if (!(q >= 0.0) || !isched__finite(q)) {
                r = isched__policy_refresh_arm(p, arm);
                if (r < 0)
                        return r;
                q = quadratic_form(p, s, x);
                if (!isched__finite(q))
                        return isched__error(-EDOM, "the width of arm %u is not finite for this context", arm);
                if (q < 0.0)
                        q = 0.0;
        }
        *ret_est = dot(s->b, p->work, d);
        *ret_q = q;
        return 0;
}

static double current_epsilon(const struct isched_policy *p)
{
        return p->params.epsilon / (1.0 + p->params.epsilon_decay * (double)p->rounds);
}

/* P(sample of arm i is the largest), the samples being independent
 * normals N(m[j], s[j]^2) of the n arms listed in idx.  Ties (only
 * possible between zero-variance arms) go to the lowest arm index. */
struct ts_integrand {
        const double *m, *s;
        const unsigned *idx;
        unsigned n, i;
};

static double below(double y, double m, double s, bool tie_wins)
{
        if (s > 0.0)
                return gsl_cdf_ugaussian_P((y - m) / s);
        return y > m || (y == m && tie_wins) ? 1.0 : 0.0;
}

static double ts_integrand_fn(double t, void *data)
{
        const struct ts_integrand *c = data;
        const unsigned i = c->idx[c->i];
        const double y = c->m[i] + c->s[i] * t;
        double v = gsl_ran_ugaussian_pdf(t);

        for (unsigned k = 0; k < c->n && v > 0.0; k++)
                if (k != c->i)
                        v *= below(y, c->m[c->idx[k]], c->s[c->idx[k]], false);
        return v;
}

static int ts_propensity(const double *m, const double *s, const unsigned *idx, unsigned n, unsigned i,
                         gsl_integration_workspace *ws, double *ret_p)
{
        struct ts_integrand c = { m, s, idx, n, i };
        gsl_function f = { ts_integrand_fn, &c };
        const unsigned a = idx[i];
        double result, abserr, prob = 1.0;

        if (s[a] == 0.0) {
                /* A point mass: the others must all fall below it. */
                for (unsigned k = 0; k < n; k++)
                        if (k != i)
                                prob *= below(m[a], m[idx[k]], s[idx[k]], a < idx[k]);
                *ret_p = prob;
                return 0;
        }
        if (gsl_integration_qag(&f, -TS_INTEGRATION_HALF_WIDTH, TS_INTEGRATION_HALF_WIDTH, 1e-13, 1e-10,
                                TS_INTEGRATION_LIMIT, GSL_INTEG_GAUSS31, ws, &result, &abserr) != GSL_SUCCESS &&
            !isched__finite(result))
                return isched__error(-EDOM, "Thompson sampling propensity of arm %u did not converge", a);
        *ret_p = fmin(fmax(result, 0.0), 1.0);
        return 0;
}

struct evaluation {
        double est[ISCHED_MAX_ARMS];
        double width[ISCHED_MAX_ARMS];
        double score[ISCHED_MAX_ARMS];
        double prop[ISCHED_MAX_ARMS];
        unsigned enabled[ISCHED_MAX_ARMS];
        unsigned n_enabled;
        unsigned greedy;
        unsigned arm;
};

static int evaluate_arms(struct isched_policy *p, const double *x, bool all, struct evaluation *e)
{
        const struct isched_policy_params *pp = &p->params;
        double q = 0.0;
        int r;

        e->n_enabled = 0;
        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                const bool on = pp->arm_mask & (1u << a);

                e->est[a] = e->width[a] = e->score[a] = e->prop[a] = 0.0;
                if (on)
                        e->enabled[e->n_enabled++] = a;
                if (!on && !all)
                        continue;
                if (pp->kind == ISCHED_POLICY_EGREEDY) {
                        const struct isched__arm_stats *s = &p->arms[a];

                        /* An untried arm is estimated at 0. */
                        e->est[a] = s->pulls ? s->reward_sum / (double)s->pulls : 0.0;
                } else {
                        r = linear_eval(p, a, x, &e->est[a], &q);
                        if (r < 0)
                                return r;
                        if (pp->kind == ISCHED_POLICY_LINUCB || pp->kind == ISCHED_POLICY_DLINUCB)
                                e->width[a] = pp->alpha * sqrt(q);
                        else if (pp->kind == ISCHED_POLICY_LINTS)
                                e->width[a] = pp->ts_v * sqrt(q);
                }
                e->score[a] = e->est[a] + (pp->kind == ISCHED_POLICY_LINTS ? 0.0 : e->width[a]);
        }
        e->greedy = e->enabled[0];
        for (unsigned k = 1; k < e->n_enabled; k++)
                if (e->est[e->enabled[k]] > e->est[e->greedy])
                        e->greedy = e->enabled[k];
        return 0;
}

static unsigned argmax_score(const struct evaluation *e)
{
        unsigned best = e->enabled[0];

        for (unsigned k = 1; k < e->n_enabled; k++)
                if (e->score[e->enabled[k]] > e->score[best])
                        best = e->enabled[k];
        return best;
}

static void choose_epsilon_greedy(struct isched_policy *p, bool want_props, struct evaluation *e)
{
        const double eps = current_epsilon(p);
        const double u = gsl_rng_uniform(p->rng);

        e->arm = e->greedy;
        if (u < eps)
                e->arm = e->enabled[gsl_rng_uniform_int(p->rng, e->n_enabled)];
        if (!want_props)
                return;
        for (unsigned k = 0; k < e->n_enabled; k++)
                e->prop[e->enabled[k]] = eps / (double)e->n_enabled;
        e->prop[e->greedy] += 1.0 - eps;
}

static int choose_thompson(struct isched_policy *p, bool want_props, struct evaluation *e)
{
        gsl_integration_workspace *ws;
        int r = 0;

        /* One standard normal per enabled arm, in arm order. */
        for (unsigned k = 0; k < e->n_enabled; k++) {
                const unsigned a = e->enabled[k];

                e->score[a] = e->est[a] + e->width[a] * gsl_ran_gaussian_ziggurat(p->rng, 1.0);
        }
        e->arm = argmax_score(e);
        if (!want_props)
                return 0;
        ws = gsl_integration_workspace_alloc(TS_INTEGRATION_LIMIT);
        if (!ws)
                return isched__error(-ENOMEM, "out of memory computing propensities");
        for (unsigned k = 0; k < e->n_enabled && r == 0; k++)
                r = ts_propensity(e->est, e->width, e->enabled, e->n_enabled, k, ws, &e->prop[e->enabled[k]]);
        gsl_integration_workspace_free(ws);
        return r;
}

static void fill_decision(struct isched_policy *p, const double *x, const struct evaluation *e,
                          struct isched_decision *dec)
{
        const unsigned d = p->params.n_features;

        memset(dec, 0, sizeof(*dec));
        dec->arm = e->arm;
        /* The decision happened, so its probability was not zero: a
         * numerical 0 (an integral's rounding) is reported as the
         * smallest positive double. */
        dec->propensity = fmax(e->prop[e->arm], DBL_MIN);
        dec->reason = e->arm == e->greedy ? ISCHED_CHOICE_EXPLOIT : ISCHED_CHOICE_EXPLORE;
        dec->greedy_arm = e->greedy;
        dec->round = p->decisions;
        dec->n_features = d;
        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                struct isched_arm_explanation *ex = &dec->arms[a];
                struct isched__arm_stats *s = &p->arms[a];

                ex->enabled = (p->params.arm_mask >> a) & 1u;
                ex->estimate = e->est[a];
                ex->width = e->width[a];
                ex->score = e->score[a];
                ex->propensity = e->prop[a];
                ex->pulls = s->pulls;
                if (!s->theta)
                        continue;
                /* Only explanations need theta itself. */
                solve(s, s->b, s->theta, d);
                for (unsigned i = 0; i < d; i++)
                        ex->contributions[i] = s->theta[i] * x[i];
        }
}

static int check_vector(const double *x, unsigned d, const char *what)
{
        for (unsigned i = 0; i < d; i++) {
                if (!isched__finite(x[i]))
                        return isched__error(-EDOM, "%s[%u] is not a finite number", what, i);
                if (fabs(x[i]) > ISCHED_POLICY_VALUE_MAX)
                        return isched__error(-EDOM, "%s[%u] = %g is beyond +-%g", what, i, x[i],
                                             ISCHED_POLICY_VALUE_MAX);
        }
        return 0;
}

ISCHED_EXPORT int isched_policy_choose(struct isched_policy *policy, const double *x, size_t d,
                                       struct isched_decision *ret_decision, uint32_t *ret_arm)
{
        const bool want = ret_decision != NULL;
        struct evaluation e;
        int r;

        if (!policy || !x)
                return isched__error(-EINVAL, "isched_policy_choose: NULL argument");
        if (d != policy->params.n_features)
                return isched__error(-EINVAL, "context has %zu values, the policy expects %u", d,
                                     policy->params.n_features);
        r = check_vector(x, (unsigned)d, "x");
        if (r < 0)
                return r;
        r = evaluate_arms(policy, x, want, &e);
        if (r < 0)
                return r;
        switch (policy->params.kind) {
        case ISCHED_POLICY_EGREEDY:
        case ISCHED_POLICY_LINGREEDY:
                choose_epsilon_greedy(policy, want, &e);
                break;
        case ISCHED_POLICY_LINUCB:
        case ISCHED_POLICY_DLINUCB:
                e.arm = argmax_score(&e);
                e.prop[e.arm] = 1.0;
                break;
        case ISCHED_POLICY_LINTS:
        default:
                r = choose_thompson(policy, want, &e);
                if (r < 0)
                        return r;
                break;
        }
        if (want)
                fill_decision(policy, x, &e, ret_decision);
        policy->decisions++;
        if (ret_arm)
                *ret_arm = e.arm;
        return 0;
}

/* D-LinUCB: every arm forgets a factor gamma of its past each round, and
 * the regulariser is topped up so that it stays lambda*I. */
static void discount_all_arms(struct isched_policy *p)
{
        const unsigned d = p->params.n_features;
        const double g = p->params.gamma, g2 = g * g, lambda = p->params.lambda;

        if (g == 1.0)
                return;
        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                struct isched__arm_stats *s = &p->arms[a];

                for (size_t k = 0; k < (size_t)d * d; k++) {
                        s->A[k] *= g;
                        s->A_tilde[k] *= g2;
                }
                for (unsigned i = 0; i < d; i++) {
                        s->A[i * d + i] += (1.0 - g) * lambda;
                        s->A_tilde[i * d + i] += (1.0 - g2) * lambda;
                        s->b[i] *= g;
                }
                s->stale = true;
        }
}

static void add_outer(double *m, const double *x, unsigned d)
{
        for (unsigned i = 0; i < d; i++)
                for (unsigned j = 0; j < d; j++)
                        m[i * d + j] += x[i] * x[j];
}

static int update_discounted(struct isched_policy *p, struct isched__arm_stats *s, const double *x, double reward)
{
        const unsigned d = p->params.n_features;

        discount_all_arms(p);
        add_outer(s->A, x, d);
        add_outer(s->A_tilde, x, d);
        for (unsigned i = 0; i < d; i++)
                s->b[i] += reward * x[i];
        s->stale = true;
        return 0;
}

/* Ridge statistics with A^-1 kept current in O(d^2) by Sherman-Morrison:
 * with u = A^-1 x and c = 1 + x.u, (A + x x^T)^-1 = A^-1 - u u^T / c.
 * Every ISCHED_POLICY_REFRESH_INTERVAL pulls, or if c is not a sane
 * number (>= 1 for a positive-definite A^-1), A^-1 is recomputed from A. */
static int update_ridge(struct isched_policy *p, unsigned arm, const double *x, double reward)
{
        struct isched__arm_stats *s = &p->arms[arm];
        const unsigned d = p->params.n_features;
        double *u = p->work;
        double c, inv_c;

        symv(s->A_inv, x, u, d);
        c = 1.0 + dot(x, u, d);
        add_outer(s->A, x, d);
        for (unsigned i = 0; i < d; i++)
                s->b[i] += reward * x[i];
        if (!(c >= 1.0) || !isched__finite(c) || s->pulls % ISCHED_POLICY_REFRESH_INTERVAL == 0)
                return isched__policy_refresh_arm(p, arm);
        /* (u_i * u_j) * inv_c is the same double as (u_j * u_i) * inv_c:
         * A^-1 stays exactly symmetric. */
        inv_c = 1.0 / c;
        for (unsigned i = 0; i < d; i++)
                for (unsigned j = 0; j < d; j++)
                        s->A_inv[i * d + j] -= (u[i] * u[j]) * inv_c;
        return 0;
}

ISCHED_EXPORT int isched_policy_update(struct isched_policy *policy, uint32_t arm, const double *x, size_t d,
                                       double reward)
{
        struct isched__arm_stats *s;
        int r;

        if (!policy || !x)
                return isched__error(-EINVAL, "isched_policy_update: NULL argument");
        if (arm >= ISCHED_MAX_ARMS)
                return isched__error(-EINVAL, "arm %u does not exist: arms are 0 to %u", arm, ISCHED_MAX_ARMS - 1);
        if (d != policy->params.n_features)
                return isched__error(-EINVAL, "context has %zu values, the policy expects %u", d,
                                     policy->params.n_features);
        r = check_vector(x, (unsigned)d, "x");
        if (r == 0)
                r = check_vector(&reward, 1, "reward");
        if (r < 0)
                return r;
        s = &policy->arms[arm];
        s->pulls++;
        s->reward_sum += reward;
        policy->rounds++;
        switch (policy->params.kind) {
        case ISCHED_POLICY_EGREEDY:
                return 0;
        case ISCHED_POLICY_DLINUCB:
                return update_discounted(policy, s, x, reward);
        default:
                return update_ridge(policy, arm, x, reward);
        }
}
