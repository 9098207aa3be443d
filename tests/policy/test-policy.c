/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "bandit-data.h"
#include "intellisched/policy.h"
#include "policy/policy-private.h"

static struct isched_policy *make(enum isched_policy_kind kind, unsigned d, void (*tweak)(struct isched_policy_params *))
{
        struct isched_policy_params pp;
        struct isched_policy *p = NULL;

        CU_ASSERT_EQUAL_FATAL(isched_policy_params_init(&pp, kind, d), 0);
        if (tweak)
                tweak(&pp);
        CU_ASSERT_EQUAL_FATAL(isched_policy_new(&pp, &p), 0);
        return p;
}

/* ---- parameters ---- */

static void test_params(void)
{
        struct isched_policy_params pp, got;
        struct isched_policy *p = (struct isched_policy *)0x1;
        enum isched_policy_kind k;

        CU_ASSERT_EQUAL(isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, 8), 0);
        CU_ASSERT_EQUAL(pp.size, sizeof(pp));
        CU_ASSERT_EQUAL(pp.arm_mask, ISCHED_ARM_MASK_ALL);
        CU_ASSERT_EQUAL(pp.alpha, 1.0);
        CU_ASSERT_EQUAL(pp.lambda, 1.0);
        CU_ASSERT_EQUAL(pp.gamma, 0.99);
        CU_ASSERT_EQUAL(pp.epsilon, 0.1);
        CU_ASSERT_EQUAL(pp.ts_v, 0.5);
        CU_ASSERT_EQUAL(pp.seed, 1u);
        CU_ASSERT_EQUAL(isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, 0), -EINVAL);
        CU_ASSERT_EQUAL(isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, ISCHED_MAX_FEATURES + 1), -EINVAL);
        CU_ASSERT_EQUAL(isched_policy_params_init(&pp, ISCHED_POLICY_KIND_COUNT, 2), -EINVAL);
        CU_ASSERT_EQUAL(isched_policy_params_init(NULL, ISCHED_POLICY_LINUCB, 2), -EINVAL);

        for (unsigned i = 0; i < ISCHED_POLICY_KIND_COUNT; i++) {
                const char *n = isched_policy_kind_to_string((enum isched_policy_kind)i);

                CU_ASSERT_PTR_NOT_NULL_FATAL(n);
                CU_ASSERT_EQUAL(isched_policy_kind_from_string(n, &k), 0);
                CU_ASSERT_EQUAL((unsigned)k, i);
        }
        CU_ASSERT_STRING_EQUAL(isched_policy_kind_to_string(ISCHED_POLICY_DLINUCB), "dlinucb");
        CU_ASSERT_PTR_NULL(isched_policy_kind_to_string(ISCHED_POLICY_KIND_COUNT));
        k = ISCHED_POLICY_LINTS;
        CU_ASSERT_EQUAL(isched_policy_kind_from_string("ucb", &k), -EINVAL);
        CU_ASSERT_EQUAL(k, ISCHED_POLICY_LINTS);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "linucb"));

        /* Each bad field is refused and named; ret_policy stays untouched. */
        static const struct {
                const char *field;
                size_t offset;
                double value;
        } bad[] = {
                { "alpha", offsetof(struct isched_policy_params, alpha), -0.1 },
                { "alpha", offsetof(struct isched_policy_params, alpha), NAN },
                { "lambda", offsetof(struct isched_policy_params, lambda), 0.0 },
                { "gamma", offsetof(struct isched_policy_params, gamma), 0.0 },
                { "gamma", offsetof(struct isched_policy_params, gamma), 1.01 },
                { "epsilon", offsetof(struct isched_policy_params, epsilon), 1.5 },
                { "epsilon_decay", offsetof(struct isched_policy_params, epsilon_decay), -1.0 },
                { "ts_v", offsetof(struct isched_policy_params, ts_v), 0.0 },
                { "ts_v", offsetof(struct isched_policy_params, ts_v), INFINITY },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, 3);
                memcpy((char *)&pp + bad[i].offset, &bad[i].value, sizeof(double));
                CU_ASSERT_EQUAL(isched_policy_new(&pp, &p), -EINVAL);
                CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), bad[i].field));
                CU_ASSERT_PTR_EQUAL(p, (struct isched_policy *)0x1);
        }
        isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, 3);
        pp.arm_mask = 0;
        CU_ASSERT_EQUAL(isched_policy_new(&pp, &p), -EINVAL);
        pp.arm_mask = 1u << ISCHED_MAX_ARMS;
        CU_ASSERT_EQUAL(isched_policy_new(&pp, &p), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "arm_mask"));
        isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, 3);
        pp.size = sizeof(pp) - 8;
        CU_ASSERT_EQUAL(isched_policy_new(&pp, &p), -EINVAL);
        isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, 2);
        const char *names[] = { "good", "bad\nname" };
        pp.feature_names = names;
        CU_ASSERT_EQUAL(isched_policy_new(&pp, &p), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "feature_names[1]"));
        CU_ASSERT_EQUAL(isched_policy_new(NULL, &p), -EINVAL);
        CU_ASSERT_PTR_EQUAL(p, (struct isched_policy *)0x1);

        /* Defaults for the names and schema. */
        isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, 3);
        CU_ASSERT_EQUAL_FATAL(isched_policy_new(&pp, &p), 0);
        CU_ASSERT_EQUAL(isched_policy_get_params(p, &got), 0);
        CU_ASSERT_STRING_EQUAL(got.feature_schema, "generic");
        CU_ASSERT_STRING_EQUAL(got.feature_names[2], "x2");
        CU_ASSERT_EQUAL(isched_policy_get_rounds(p), 0u);
        CU_ASSERT_PTR_NULL(isched_policy_free(p));
        CU_ASSERT_PTR_NULL(isched_policy_free(NULL));
}

/* ---- LinUCB by hand ---- */

static void test_linucb_by_hand(void)
{
        struct isched_policy *p = make(ISCHED_POLICY_LINUCB, 2, NULL);
        struct isched_decision dec;
        const double x1[] = { 1, 0 }, x2[] = { 1, 1 }, x3[] = { 0, 1 };

        /* Round 1, lambda = alpha = 1: every A = I, b = 0, so theta = 0,
         * estimate 0, width sqrt(x.x) = 1, score 1 for every arm: a tie,
         * which goes to the lowest index, arm 0. */
        CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, x1, 2, &dec, NULL), 0);
        CU_ASSERT_EQUAL(dec.arm, 0u);
        CU_ASSERT_EQUAL(dec.round, 0u);
        CU_ASSERT_EQUAL(dec.propensity, 1.0);
        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                CU_ASSERT_DOUBLE_EQUAL(dec.arms[a].estimate, 0.0, 1e-15);
                CU_ASSERT_DOUBLE_EQUAL(dec.arms[a].width, 1.0, 1e-15);
                CU_ASSERT_DOUBLE_EQUAL(dec.arms[a].score, 1.0, 1e-15);
        }
        /* Arm 0 earns 1: A0 = [[2,0],[0,1]], b0 = (1,0), A0^-1 = diag(1/2, 1),
         * theta0 = (1/2, 0). */
        CU_ASSERT_EQUAL(isched_policy_update(p, 0, x1, 2, 1.0), 0);

        /* Round 2, x = (1,1): arm 0: estimate 1/2, x^T A0^-1 x = 1/2 + 1 =
         * 3/2, score 1/2 + sqrt(3/2) = 1.72474; the others: 0 + sqrt(2) =
         * 1.41421.  Arm 0, which is also the greedy arm. */
        CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, x2, 2, &dec, NULL), 0);
        CU_ASSERT_EQUAL(dec.arm, 0u);
        CU_ASSERT_EQUAL(dec.greedy_arm, 0u);
        CU_ASSERT_EQUAL(dec.reason, ISCHED_CHOICE_EXPLOIT);
        CU_ASSERT_DOUBLE_EQUAL(dec.arms[0].estimate, 0.5, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(dec.arms[0].width, sqrt(1.5), 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(dec.arms[0].score, 0.5 + sqrt(1.5), 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(dec.arms[3].score, sqrt(2.0), 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(dec.arms[0].contributions[0], 0.5, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(dec.arms[0].contributions[1], 0.0, 1e-12);
        CU_ASSERT_EQUAL(dec.arms[0].pulls, 1u);

        /* Arm 0 earns 0: A0 = [[3,1],[1,2]] (det 5), A0^-1 = [[2,-1],[-1,3]]/5,
         * b0 = (1,0), theta0 = (2/5, -1/5). */
        CU_ASSERT_EQUAL(isched_policy_update(p, 0, x2, 2, 0.0), 0);
        CU_ASSERT_DOUBLE_EQUAL(p->arms[0].A_inv[0], 0.4, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(p->arms[0].A_inv[1], -0.2, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(p->arms[0].A_inv[3], 0.6, 1e-12);
        CU_ASSERT_EQUAL(p->arms[0].A[1], 1.0);

        /* Round 3, x = (0,1): arm 0: estimate -1/5, width sqrt(3/5) =
         * 0.774597, score 0.574597; arms 1..4: 0 + 1 = 1, tied, so arm 1.
         * The greedy arm is arm 1 too (0 > -1/5, lowest index). */
        CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, x3, 2, &dec, NULL), 0);
        CU_ASSERT_EQUAL(dec.arm, 1u);
        CU_ASSERT_EQUAL(dec.greedy_arm, 1u);
        CU_ASSERT_DOUBLE_EQUAL(dec.arms[0].estimate, -0.2, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(dec.arms[0].width, sqrt(0.6), 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(dec.arms[0].contributions[1], -0.2, 1e-12);
        CU_ASSERT_EQUAL(dec.arms[1].propensity, 1.0);
        CU_ASSERT_EQUAL(dec.arms[0].propensity, 0.0);
        CU_ASSERT_EQUAL(dec.round, 2u);
        CU_ASSERT_EQUAL(isched_policy_get_rounds(p), 2u);

        /* With alpha = 0.1 the same state: arm 0 scores -0.2 + 0.0774597 <
         * 0.1 of the others; alpha = 0 makes it pure greedy. */
        CU_ASSERT_EQUAL(isched_policy_update(p, 1, x3, 2, 2.0), 0);
        /* Arm 1: A1 = [[1,0],[0,2]], b1 = (0,2), theta1 = (0,1). */
        CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, x3, 2, &dec, NULL), 0);
        CU_ASSERT_EQUAL(dec.arm, 1u);
        CU_ASSERT_DOUBLE_EQUAL(dec.arms[1].estimate, 1.0, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(dec.arms[1].width, sqrt(0.5), 1e-12);
        isched_policy_free(p);
}

/* ---- independent reference implementations ---- */

/* Gauss-Jordan inverse with partial pivoting, recomputed from scratch. */
static void gauss_jordan_inverse(const double *a, double *inv, unsigned d)
{
        double m[ISCHED_MAX_FEATURES][2 * ISCHED_MAX_FEATURES];

        for (unsigned i = 0; i < d; i++)
                for (unsigned j = 0; j < 2 * d; j++)
                        m[i][j] = j < d ? a[i * d + j] : (j - d == i ? 1.0 : 0.0);
        for (unsigned c = 0; c < d; c++) {
                unsigned piv = c;

                for (unsigned i = c + 1; i < d; i++)
                        if (fabs(m[i][c]) > fabs(m[piv][c]))
                                piv = i;
                for (unsigned j = 0; j < 2 * d; j++) {
                        double t = m[c][j];

                        m[c][j] = m[piv][j];
                        m[piv][j] = t;
                }
                double pv = m[c][c];

                for (unsigned j = 0; j < 2 * d; j++)
                        m[c][j] /= pv;
                for (unsigned i = 0; i < d; i++) {
                        if (i == c)
                                continue;
                        double f = m[i][c];

                        for (unsigned j = 0; j < 2 * d; j++)
                                m[i][j] -= f * m[c][j];
                }
        }
        for (unsigned i = 0; i < d; i++)
                for (unsigned j = 0; j < d; j++)
                        inv[i * d + j] = m[i][j + d];
}

struct ref_arm {
        double A[ISCHED_MAX_FEATURES * ISCHED_MAX_FEATURES];
        double At[ISCHED_MAX_FEATURES * ISCHED_MAX_FEATURES];
        double b[ISCHED_MAX_FEATURES];
};

struct ref_bandit {
        unsigned d;
        double alpha, lambda, gamma;
        bool discounted;
        struct ref_arm arm[ISCHED_MAX_ARMS];
};

static void ref_init(struct ref_bandit *r, unsigned d, double alpha, double lambda, double gamma, bool discounted)
{
        memset(r, 0, sizeof(*r));
        r->d = d, r->alpha = alpha, r->lambda = lambda, r->gamma = gamma, r->discounted = discounted;
        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++)
                for (unsigned i = 0; i < d; i++)
                        r->arm[a].A[i * d + i] = r->arm[a].At[i * d + i] = lambda;
}

/* Li et al. 2010 Algorithm 1 (or D-LinUCB's width), straight from the
 * formulas: estimate = (A^-1 b).x, width = alpha sqrt(x^T A^-1 x) or
 * alpha sqrt(x^T V^-1 Vtilde V^-1 x). */
static unsigned ref_choose(const struct ref_bandit *r, const double *x, double *est, double *width)
{
        const unsigned d = r->d;
        double inv[ISCHED_MAX_FEATURES * ISCHED_MAX_FEATURES], theta[ISCHED_MAX_FEATURES], y[ISCHED_MAX_FEATURES];
        unsigned best = 0;
        double best_score = -INFINITY;

        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                const struct ref_arm *s = &r->arm[a];
                double q = 0.0;

                gauss_jordan_inverse(s->A, inv, d);
                est[a] = 0.0;
                for (unsigned i = 0; i < d; i++) {
                        theta[i] = y[i] = 0.0;
                        for (unsigned j = 0; j < d; j++) {
                                theta[i] += inv[i * d + j] * s->b[j];
                                y[i] += inv[i * d + j] * x[j];
                        }
                        est[a] += theta[i] * x[i];
                }
                for (unsigned i = 0; i < d; i++)
                        for (unsigned j = 0; j < d; j++)
                                q += y[i] * (r->discounted ? s->At[i * d + j] : s->A[i * d + j]) * y[j];
                width[a] = r->alpha * sqrt(q);
                if (est[a] + width[a] > best_score) {
                        best_score = est[a] + width[a];
                        best = a;
                }
        }
        return best;
}

static void ref_update(struct ref_bandit *r, unsigned arm, const double *x, double reward)
{
        const unsigned d = r->d;
        const double g = r->discounted ? r->gamma : 1.0;

        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                struct ref_arm *s = &r->arm[a];
                const double in = a == arm ? 1.0 : 0.0;

                for (unsigned i = 0; i < d; i++) {
                        for (unsigned j = 0; j < d; j++) {
                                const double id = i == j ? r->lambda : 0.0;

                                s->A[i * d + j] = g * s->A[i * d + j] + in * x[i] * x[j] + (1 - g) * id;
                                s->At[i * d + j] = g * g * s->At[i * d + j] + in * x[i] * x[j] + (1 - g * g) * id;
                        }
                        s->b[i] = g * s->b[i] + in * reward * x[i];
                }
        }
}

static void set_dlinucb_095(struct isched_policy_params *pp)
{
        pp->gamma = 0.95;
        pp->alpha = 0.7;
        pp->lambda = 0.5;
}

static void set_linucb_07(struct isched_policy_params *pp)
{
        pp->alpha = 0.7;
        pp->lambda = 0.5;
}

static void compare_with_reference(enum isched_policy_kind kind, void (*tweak)(struct isched_policy_params *),
                                   unsigned d, unsigned rounds)
{
        struct isched_policy *p = make(kind, d, tweak);
        struct isched_policy_params pp;
        struct ref_bandit ref;
        struct bandit_data data;
        struct isched_decision dec;
        double est[ISCHED_MAX_ARMS], width[ISCHED_MAX_ARMS];
        unsigned mismatches = 0, max_err_round = 0;
        double max_err = 0.0;

        isched_policy_get_params(p, &pp);
        ref_init(&ref, d, pp.alpha, pp.lambda, pp.gamma, kind == ISCHED_POLICY_DLINUCB);
        bandit_data_make(&data, rounds, d, ISCHED_MAX_ARMS, 42 + d, 0.3);
        for (unsigned t = 0; t < rounds; t++) {
                const double *x = bandit_x(&data, t);
                const unsigned want = ref_choose(&ref, x, est, width);

                CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, x, d, &dec, NULL), 0);
                mismatches += dec.arm != want;
                for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                        const double e = fabs(dec.arms[a].estimate - est[a]) + fabs(dec.arms[a].width - width[a]);

                        if (e > max_err)
                                max_err = e, max_err_round = t;
                }
                /* Both learn from the reference's choice, so that one
                 * mismatch does not cascade. */
                CU_ASSERT_EQUAL(isched_policy_update(p, want, x, d, bandit_r(&data, t, want)), 0);
                ref_update(&ref, want, x, bandit_r(&data, t, want));
        }
        CU_ASSERT_EQUAL(mismatches, 0u);
        CU_ASSERT(max_err < 1e-8);
        if (mismatches || max_err >= 1e-8)
                fprintf(stderr, "%s d=%u: %u mismatches, max error %g at round %u\n",
                        isched_policy_kind_to_string(kind), d, mismatches, max_err, max_err_round);
        bandit_data_free(&data);
        isched_policy_free(p);
}

static void test_linucb_reference(void)
{
        /* 3000 rounds pass the A^-1 refresh (every 1024 pulls) of some arms. */
        compare_with_reference(ISCHED_POLICY_LINUCB, NULL, 4, 3000);
        compare_with_reference(ISCHED_POLICY_LINUCB, set_linucb_07, 8, 6000);
}

static void test_dlinucb_reference(void)
{
        compare_with_reference(ISCHED_POLICY_DLINUCB, set_dlinucb_095, 4, 1500);
        compare_with_reference(ISCHED_POLICY_DLINUCB, set_dlinucb_095, 8, 1500);
}

static void set_gamma_1(struct isched_policy_params *pp)
{
        pp->gamma = 1.0;
}

static void test_dlinucb_gamma_one_is_linucb(void)
{
        struct isched_policy *a = make(ISCHED_POLICY_LINUCB, 6, NULL);
        struct isched_policy *b = make(ISCHED_POLICY_DLINUCB, 6, set_gamma_1);
        struct bandit_data data;
        unsigned same = 0, picked[ISCHED_MAX_ARMS] = { 0 };
        const unsigned rounds = 4000;

        bandit_data_make(&data, rounds, 6, ISCHED_MAX_ARMS, 7, 0.5);
        for (unsigned t = 0; t < rounds; t++) {
                const double *x = bandit_x(&data, t);
                uint32_t ua = 99, ub = 98;

                CU_ASSERT_EQUAL(isched_policy_choose(a, x, 6, NULL, &ua), 0);
                CU_ASSERT_EQUAL(isched_policy_choose(b, x, 6, NULL, &ub), 0);
                same += ua == ub;
                picked[ua < ISCHED_MAX_ARMS ? ua : 0]++;
                isched_policy_update(a, ua, x, 6, bandit_r(&data, t, ua));
                isched_policy_update(b, ua, x, 6, bandit_r(&data, t, ua));
        }
        CU_ASSERT_EQUAL(same, rounds);
        /* Not a degenerate run: more than one arm was played. */
        CU_ASSERT(picked[0] < rounds);
        bandit_data_free(&data);
        isched_policy_free(a);
        isched_policy_free(b);
}

/* Lingreedy with epsilon = 0 is greedy ridge regression: the reference
 * with alpha = 0 chooses the same arms. */
static void set_greedy(struct isched_policy_params *pp)
{
        pp->epsilon = 0.0;
        pp->alpha = 0.0;
}

static void test_lingreedy_reference(void)
{
        compare_with_reference(ISCHED_POLICY_LINGREEDY, set_greedy, 5, 2000);
}

/* Thompson sampling and epsilon-greedy against the same formulas computed
 * independently (Gauss-Jordan inverses, running means) and fed by the
 * same generator: GSL's taus2 seeded with seed ^ (seed >> 32), drawing as
 * docs/policies.md says (TS: one ziggurat normal per enabled arm in arm
 * order; epsilon-greedy: a uniform, then a uniform arm index if exploring). */
static void set_ts_ref(struct isched_policy_params *pp)
{
        pp->seed = 0x1234567890ull;
        pp->ts_v = 0.8;
        pp->lambda = 2.0;
        pp->arm_mask = 0x1b;
}

static void test_lints_reference(void)
{
        const unsigned d = 4, rounds = 1500;
        struct isched_policy *p = make(ISCHED_POLICY_LINTS, d, set_ts_ref);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_taus2);
        struct ref_bandit ref;
        struct bandit_data data;
        unsigned mismatches = 0, explored = 0;

        gsl_rng_set(rng, (unsigned long)(0x1234567890ull ^ (0x1234567890ull >> 32)));
        ref_init(&ref, d, 0.8, 2.0, 1.0, false);
        bandit_data_make(&data, rounds, d, ISCHED_MAX_ARMS, 99, 0.5);
        for (unsigned t = 0; t < rounds; t++) {
                const double *x = bandit_x(&data, t);
                double est[ISCHED_MAX_ARMS], width[ISCHED_MAX_ARMS], best = -INFINITY;
                unsigned want = 0;
                struct isched_decision dec;

                ref_choose(&ref, x, est, width);        /* width = v sqrt(x^T B^-1 x) */
                for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                        double score;

                        if (!(0x1b & (1u << a)))
                                continue;
                        score = est[a] + width[a] * gsl_ran_gaussian_ziggurat(rng, 1.0);
                        if (score > best)
                                best = score, want = a;
                }
                uint32_t arm = 99;

                /* Explanations (every 50th round) must not disturb the draws. */
                CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, x, d, t % 50 ? NULL : &dec, &arm), 0);
                mismatches += arm != want;
                if (t % 50 == 0) {
                        CU_ASSERT_DOUBLE_EQUAL(dec.arms[1].width, width[1], 1e-9);
                        CU_ASSERT_DOUBLE_EQUAL(dec.arms[3].estimate, est[3], 1e-9);
                }
                explored += want != 0;
                CU_ASSERT_EQUAL(isched_policy_update(p, want, x, d, bandit_r(&data, t, want)), 0);
                ref_update(&ref, want, x, bandit_r(&data, t, want));
        }
        CU_ASSERT_EQUAL(mismatches, 0u);
        CU_ASSERT(explored > 0);
        gsl_rng_free(rng);
        bandit_data_free(&data);
        isched_policy_free(p);
}

static void set_eg_ref(struct isched_policy_params *pp)
{
        pp->seed = 99;
        pp->epsilon = 0.4;
        pp->epsilon_decay = 0.01;
        pp->arm_mask = 0x1e;
}

static void test_egreedy_reference(void)
{
        const unsigned rounds = 3000;
        struct isched_policy *p = make(ISCHED_POLICY_EGREEDY, 2, set_eg_ref);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_taus2);
        struct bandit_data data;
        double sum[ISCHED_MAX_ARMS] = { 0 };
        unsigned pulls[ISCHED_MAX_ARMS] = { 0 }, mismatches = 0;
        const unsigned enabled[] = { 1, 2, 3, 4 };

        gsl_rng_set(rng, 99);
        bandit_data_make(&data, rounds, 2, ISCHED_MAX_ARMS, 5, 0.5);
        for (unsigned t = 0; t < rounds; t++) {
                const double eps = 0.4 / (1.0 + 0.01 * t);
                unsigned greedy = 1, want;
                uint32_t arm;

                for (unsigned k = 1; k < 4; k++) {
                        const unsigned a = enabled[k];
                        const double ma = pulls[a] ? sum[a] / pulls[a] : 0.0;
                        const double mg = pulls[greedy] ? sum[greedy] / pulls[greedy] : 0.0;

                        if (ma > mg)
                                greedy = a;
                }
                want = greedy;
                if (gsl_rng_uniform(rng) < eps)
                        want = enabled[gsl_rng_uniform_int(rng, 4)];
                CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, bandit_x(&data, t), 2, NULL, &arm), 0);
                mismatches += arm != want;
                pulls[want]++;
                sum[want] += bandit_r(&data, t, want);
                CU_ASSERT_EQUAL(isched_policy_update(p, want, bandit_x(&data, t), 2, bandit_r(&data, t, want)), 0);
        }
        CU_ASSERT_EQUAL(mismatches, 0u);
        gsl_rng_free(rng);
        bandit_data_free(&data);
        isched_policy_free(p);
}

/* ---- propensities, masks, schedules ---- */

static void set_mask_10110(struct isched_policy_params *pp)
{
        pp->arm_mask = 0x16;
        pp->epsilon = 0.2;
}

static void test_propensities_and_mask(void)
{
        struct bandit_data data;

        bandit_data_make(&data, 400, 4, ISCHED_MAX_ARMS, 3, 0.5);
        for (unsigned k = 0; k < ISCHED_POLICY_KIND_COUNT; k++) {
                struct isched_policy *p = make((enum isched_policy_kind)k, 4, set_mask_10110);
                const double tol = k == ISCHED_POLICY_LINTS ? 1e-7 : 1e-12;
                unsigned explored = 0;

                for (unsigned t = 0; t < data.rows; t++) {
                        const double *x = bandit_x(&data, t);
                        struct isched_decision dec;
                        uint32_t arm = 99;
                        double sum = 0.0;

                        CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, x, 4, &dec, &arm), 0);
                        CU_ASSERT_EQUAL(arm, dec.arm);
                        CU_ASSERT(0x16 & (1u << arm));
                        CU_ASSERT(0x16 & (1u << dec.greedy_arm));
                        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                                CU_ASSERT_EQUAL(dec.arms[a].enabled, (0x16u >> a) & 1u);
                                if (!dec.arms[a].enabled) {
                                        CU_ASSERT_EQUAL(dec.arms[a].propensity, 0.0);
                                }
                                CU_ASSERT(dec.arms[a].propensity >= 0.0 && dec.arms[a].propensity <= 1.0);
                                sum += dec.arms[a].propensity;
                        }
                        CU_ASSERT_DOUBLE_EQUAL(sum, 1.0, tol);
                        CU_ASSERT(dec.propensity > 0.0 && dec.propensity <= 1.0);
                        explored += dec.reason == ISCHED_CHOICE_EXPLORE;
                        CU_ASSERT_EQUAL(dec.reason == ISCHED_CHOICE_EXPLORE, dec.arm != dec.greedy_arm);
                        CU_ASSERT_EQUAL(isched_policy_update(p, arm, x, 4, bandit_r(&data, t, arm)), 0);
                }
                /* Every kind explores at some point in 400 rounds. */
                CU_ASSERT(explored > 0);
                isched_policy_free(p);
        }
        bandit_data_free(&data);
}

static void set_decay(struct isched_policy_params *pp)
{
        pp->epsilon = 0.3;
        pp->epsilon_decay = 0.5;
}

static void test_epsilon_schedule(void)
{
        struct isched_policy *p = make(ISCHED_POLICY_EGREEDY, 1, set_decay);
        const double x[] = { 1.0 };
        struct isched_decision dec;

        /* Arm 2 earns most, so it is the greedy arm. */
        for (unsigned t = 0; t < 20; t++) {
                const unsigned arm = t % ISCHED_MAX_ARMS;
                const double eps_t = 0.3 / (1.0 + 0.5 * t);

                CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, x, 1, &dec, NULL), 0);
                if (t >= ISCHED_MAX_ARMS) {
                        CU_ASSERT_EQUAL(dec.greedy_arm, 2u);
                        CU_ASSERT_DOUBLE_EQUAL(dec.arms[2].propensity, 1.0 - eps_t + eps_t / 5, 1e-15);
                        CU_ASSERT_DOUBLE_EQUAL(dec.arms[0].propensity, eps_t / 5, 1e-15);
                        /* Non-contextual: the estimate is the running mean. */
                        CU_ASSERT_DOUBLE_EQUAL(dec.arms[2].estimate, 1.0, 1e-15);
                        CU_ASSERT_DOUBLE_EQUAL(dec.arms[1].estimate, 0.5, 1e-15);
                } else if (t == 0) {
                        /* Untried arms are estimated at 0: a tie, arm 0. */
                        CU_ASSERT_EQUAL(dec.greedy_arm, 0u);
                        CU_ASSERT_EQUAL(dec.arms[3].estimate, 0.0);
                }
                isched_policy_update(p, arm, x, 1, arm == 2 ? 1.0 : 0.5);
        }
        isched_policy_free(p);
}

static void set_eps_one(struct isched_policy_params *pp)
{
        pp->epsilon = 1.0;
        pp->seed = 12345;
}

static void test_epsilon_one_is_uniform(void)
{
        struct isched_policy *p = make(ISCHED_POLICY_LINGREEDY, 2, set_eps_one);
        const double x[] = { 1.0, 0.5 };
        unsigned count[ISCHED_MAX_ARMS] = { 0 };
        const unsigned n = 10000;
        uint32_t arm;

        for (unsigned t = 0; t < n; t++) {
                CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, x, 2, NULL, &arm), 0);
                count[arm]++;
                isched_policy_update(p, arm, x, 2, arm == 0 ? 1.0 : 0.0);
        }
        /* Binomial(10000, 0.2): sd 40; 5 sd from the mean is far out. */
        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++)
                CU_ASSERT(count[a] > 2000 - 200 && count[a] < 2000 + 200);
        isched_policy_free(p);
}

static void set_two_arms(struct isched_policy_params *pp)
{
        pp->arm_mask = 0x9;
        pp->ts_v = 1.0;
}

/* With two arms, P(arm a's sample is larger) has a closed form:
 * Phi((m_a - m_b) / sqrt(s_a^2 + s_b^2)); the integral must agree. */
static void test_thompson_propensity_closed_form(void)
{
        struct isched_policy *p = make(ISCHED_POLICY_LINTS, 3, set_two_arms);
        struct bandit_data data;
        unsigned checked = 0;

        bandit_data_make(&data, 60, 3, ISCHED_MAX_ARMS, 11, 0.5);
        for (unsigned t = 0; t < data.rows; t++) {
                const double *x = bandit_x(&data, t);
                struct isched_decision dec;

                CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, x, 3, &dec, NULL), 0);
                const struct isched_arm_explanation *a = &dec.arms[0], *b = &dec.arms[3];
                const double want = gsl_cdf_ugaussian_P((a->estimate - b->estimate) /
                                                        sqrt(a->width * a->width + b->width * b->width));

                CU_ASSERT_DOUBLE_EQUAL(a->propensity, want, 1e-8);
                CU_ASSERT_DOUBLE_EQUAL(b->propensity, 1.0 - want, 1e-8);
                CU_ASSERT(dec.arm == 0 || dec.arm == 3);
                checked += want > 0.01 && want < 0.99;
                isched_policy_update(p, dec.arm, x, 3, bandit_r(&data, t, dec.arm));
        }
        CU_ASSERT(checked > 5);
        bandit_data_free(&data);
        isched_policy_free(p);
}

static void set_seed_7(struct isched_policy_params *pp)
{
        pp->seed = 7;
}

/* Same seed, same decisions; another seed, other decisions; a clone
 * taken midway continues exactly as the original. */
static void test_seeds_and_clone(void)
{
        const enum isched_policy_kind kinds[] = { ISCHED_POLICY_EGREEDY, ISCHED_POLICY_LINGREEDY, ISCHED_POLICY_LINTS,
                                                  ISCHED_POLICY_DLINUCB };
        struct bandit_data data;

        bandit_data_make(&data, 600, 3, ISCHED_MAX_ARMS, 5, 1.0);
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
                struct isched_policy *a = make(kinds[k], 3, NULL), *b = make(kinds[k], 3, NULL);
                struct isched_policy *c = make(kinds[k], 3, set_seed_7), *clone = NULL;
                unsigned same_ab = 0, same_ac = 0, same_clone = 0;

                for (unsigned t = 0; t < data.rows; t++) {
                        const double *x = bandit_x(&data, t);
                        uint32_t ua, ub, uc, ud = 0;

                        if (t == 300) {
                                CU_ASSERT_EQUAL_FATAL(isched_policy_clone(a, &clone), 0);
                        }
                        isched_policy_choose(a, x, 3, NULL, &ua);
                        isched_policy_choose(b, x, 3, NULL, &ub);
                        isched_policy_choose(c, x, 3, NULL, &uc);
                        if (clone) {
                                isched_policy_choose(clone, x, 3, NULL, &ud);
                                same_clone += ud == ua;
                                isched_policy_update(clone, ud, x, 3, bandit_r(&data, t, ud));
                        }
                        same_ab += ua == ub;
                        same_ac += ua == uc;
                        isched_policy_update(a, ua, x, 3, bandit_r(&data, t, ua));
                        isched_policy_update(b, ub, x, 3, bandit_r(&data, t, ub));
                        isched_policy_update(c, uc, x, 3, bandit_r(&data, t, uc));
                }
                CU_ASSERT_EQUAL(same_ab, data.rows);
                CU_ASSERT_EQUAL(same_clone, 300u);
                /* D-LinUCB draws no random numbers: the seed cannot matter. */
                if (kinds[k] == ISCHED_POLICY_DLINUCB) {
                        CU_ASSERT_EQUAL(same_ac, data.rows);
                } else {
                        CU_ASSERT(same_ac < data.rows);
                }
                isched_policy_free(a);
                isched_policy_free(b);
                isched_policy_free(c);
                isched_policy_free(clone);
        }
        bandit_data_free(&data);
}

static void test_bad_calls(void)
{
        struct isched_policy *p = make(ISCHED_POLICY_LINUCB, 2, NULL);
        const double good[] = { 1, 2 }, nan_x[] = { 1, NAN }, huge[] = { 1, 1e120 };
        struct isched_decision dec;
        uint32_t arm = 77;

        CU_ASSERT_EQUAL(isched_policy_choose(p, nan_x, 2, &dec, &arm), -EDOM);
        CU_ASSERT_EQUAL(arm, 77u);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "x[1]"));
        CU_ASSERT_EQUAL(isched_policy_choose(p, good, 3, NULL, &arm), -EINVAL);
        CU_ASSERT_EQUAL(isched_policy_choose(p, NULL, 2, NULL, &arm), -EINVAL);
        CU_ASSERT_EQUAL(isched_policy_choose(NULL, good, 2, NULL, &arm), -EINVAL);
        CU_ASSERT_EQUAL(isched_policy_update(p, ISCHED_MAX_ARMS, good, 2, 1.0), -EINVAL);
        CU_ASSERT_EQUAL(isched_policy_update(p, 0, good, 2, INFINITY), -EDOM);
        CU_ASSERT_EQUAL(isched_policy_update(p, 0, nan_x, 2, 1.0), -EDOM);
        CU_ASSERT_EQUAL(isched_policy_update(p, 0, huge, 2, 1.0), -EDOM);
        CU_ASSERT_EQUAL(isched_policy_update(p, 0, good, 1, 1.0), -EINVAL);
        /* Failed updates changed nothing. */
        CU_ASSERT_EQUAL(isched_policy_get_rounds(p), 0u);
        CU_ASSERT_EQUAL(p->arms[0].pulls, 0u);
        CU_ASSERT_EQUAL(isched_policy_set_arm_mask(p, 0), -EINVAL);
        CU_ASSERT_EQUAL(isched_policy_set_arm_mask(p, 0x20), -EINVAL);
        CU_ASSERT_EQUAL(isched_policy_set_arm_mask(NULL, 1), -EINVAL);
        CU_ASSERT_EQUAL(isched_policy_get_params(p, NULL), -EINVAL);
        CU_ASSERT_EQUAL(isched_policy_clone(NULL, &p), -EINVAL);

        /* A mask change takes effect at the next decision. */
        CU_ASSERT_EQUAL(isched_policy_set_arm_mask(p, 0x10), 0);
        CU_ASSERT_EQUAL(isched_policy_choose(p, good, 2, &dec, &arm), 0);
        CU_ASSERT_EQUAL(arm, 4u);
        CU_ASSERT_EQUAL(dec.arms[0].enabled, 0u);
        isched_policy_free(p);
}

/* Many updates of nearly collinear contexts on one arm: the maintained
 * A^-1 must stay the inverse of A (the periodic refresh and the guards). */
static void test_inverse_stays_accurate(void)
{
        struct isched_policy *p = make(ISCHED_POLICY_LINUCB, 4, NULL);
        double inv[16], x[4];
        double err = 0.0, norm = 0.0;

        for (unsigned t = 0; t < 5000; t++) {
                x[0] = 1.0;
                x[1] = 1.0 + 1e-6 * sin(t);
                x[2] = 100.0 * cos(0.001 * t);
                x[3] = 1e-3 * t;
                CU_ASSERT_EQUAL_FATAL(isched_policy_update(p, 0, x, 4, sin(0.1 * t)), 0);
        }
        gauss_jordan_inverse(p->arms[0].A, inv, 4);
        for (unsigned i = 0; i < 16; i++) {
                err += (p->arms[0].A_inv[i] - inv[i]) * (p->arms[0].A_inv[i] - inv[i]);
                norm += inv[i] * inv[i];
                CU_ASSERT_EQUAL(p->arms[0].A_inv[i], p->arms[0].A_inv[(i % 4) * 4 + i / 4]);
        }
        CU_ASSERT(sqrt(err) <= 1e-6 * sqrt(norm));
        CU_ASSERT_EQUAL(isched_policy_choose(p, x, 4, NULL, NULL), 0);
        isched_policy_free(p);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("policy", NULL, NULL);

        if (!s || !CU_add_test(s, "parameters", test_params) ||
            !CU_add_test(s, "LinUCB by hand", test_linucb_by_hand) ||
            !CU_add_test(s, "LinUCB vs reference", test_linucb_reference) ||
            !CU_add_test(s, "D-LinUCB vs reference", test_dlinucb_reference) ||
            !CU_add_test(s, "D-LinUCB gamma=1 is LinUCB", test_dlinucb_gamma_one_is_linucb) ||
            !CU_add_test(s, "lingreedy vs reference", test_lingreedy_reference) ||
            !CU_add_test(s, "LinTS vs reference", test_lints_reference) ||
            !CU_add_test(s, "egreedy vs reference", test_egreedy_reference) ||
            !CU_add_test(s, "propensities and masks", test_propensities_and_mask) ||
            !CU_add_test(s, "epsilon schedule", test_epsilon_schedule) ||
            !CU_add_test(s, "epsilon 1 is uniform", test_epsilon_one_is_uniform) ||
            !CU_add_test(s, "TS propensity closed form", test_thompson_propensity_closed_form) ||
            !CU_add_test(s, "seeds and clone", test_seeds_and_clone) ||
            !CU_add_test(s, "bad calls", test_bad_calls) ||
            !CU_add_test(s, "inverse stays accurate", test_inverse_stays_accurate))
                return -1;
        return 0;
}
