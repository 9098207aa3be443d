/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The estimators of isched eval (cli/eval-ope.c) on rounds whose answer is
 * known: the reward model's free intercept, the dependence-robust
 * variance, the weights of rounds the safety layer or a guard decided, the
 * support, and each estimator against its definition. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../cli/eval-ope.h"

#define N 400
#define D 3

static double xs[N][D];
static struct ope_round rounds[N];

/* A fixed generator, so that every run sees the same rounds. */
static uint64_t rng_state;

static double uniform01(void)
{
        rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
        return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double gauss(void)
{
        const double u = uniform01() + 1e-300, v = uniform01();

        return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Rounds from a uniform logger over arms 0..k-1: x = (1, x1, x2), label =
 * base + arm + slope * x1 + noise. */
static void make_rounds(unsigned k, double base, double slope, double noise)
{
        rng_state = 16;
        for (size_t i = 0; i < N; i++) {
                xs[i][0] = 1;
                xs[i][1] = gauss();
                xs[i][2] = gauss();
                rounds[i] = (struct ope_round){ .x = xs[i], .propensity = 1.0 / k };
                rounds[i].arm = (uint32_t)(uniform01() * k);
                rounds[i].label = base + rounds[i].arm + slope * xs[i][1] + noise * gauss();
        }
}

static void set_target_static(uint32_t arm)
{
        for (size_t i = 0; i < N; i++) {
                memset(rounds[i].target, 0, sizeof(rounds[i].target));
                rounds[i].target[arm] = 1;
        }
}

/* ---- the reward model ------------------------------------------------------ */

/* Uncentred labels far from 0 (window scores are about 10): the intercept
 * is not shrunk, whatever lambda, so an arm's prediction at its rounds'
 * mean context is its mean label exactly.  A penalised intercept (the
 * bias feature inside the ridge penalty) misses it by about
 * lambda / (n + lambda) of the label. */
static void test_model_intercept_free(void)
{
        struct ope_model m;
        double xm[D] = { 0 }, ym = 0;
        size_t n0 = 0;

        make_rounds(2, 11.0, 0.0, 0.01);
        CU_ASSERT_EQUAL_FATAL(ope_model_fit(rounds, 40, NULL, D, 10.0, &m), 0);
        for (size_t i = 0; i < 40; i++)
                if (rounds[i].arm == 0) {
                        for (unsigned j = 0; j < D; j++)
                                xm[j] += xs[i][j];
                        ym += rounds[i].label;
                        n0++;
                }
        CU_ASSERT_FATAL(n0 > 5);
        for (unsigned j = 0; j < D; j++)
                xm[j] /= (double)n0;
        ym /= (double)n0;
        CU_ASSERT(m.fitted[0] && m.fitted[1] && !m.fitted[2]);
        CU_ASSERT_DOUBLE_EQUAL(ope_model_predict(&m, xm, 0), ym, 1e-9);
        /* The labels do not depend on x: the slopes stay small, so the
         * prediction anywhere is near the arm's mean (11), never the
         * shrunk 11 n / (n + lambda) of a penalised intercept. */
        CU_ASSERT_DOUBLE_EQUAL(ope_model_predict(&m, xs[0], 0), 11.0, 0.02);
        CU_ASSERT_DOUBLE_EQUAL(ope_model_predict(&m, xs[0], 1), 12.0, 0.02);
}

/* Slopes are learned, and an arm without training rounds predicts the
 * mean label of all of them. */
static void test_model_slopes_and_unseen_arm(void)
{
        struct ope_model m;
        double sum = 0;

        make_rounds(2, 5.0, 2.0, 0.0);
        CU_ASSERT_EQUAL_FATAL(ope_model_fit(rounds, N, NULL, D, 1.0, &m), 0);
        CU_ASSERT_DOUBLE_EQUAL(m.slope[0][1], 2.0, 0.02);
        CU_ASSERT_DOUBLE_EQUAL(m.slope[1][2], 0.0, 0.02);
        CU_ASSERT_DOUBLE_EQUAL(m.slope[0][0], 0.0, 1e-12); /* the constant column */
        for (size_t i = 0; i < N; i++)
                sum += rounds[i].label;
        CU_ASSERT_FALSE(m.fitted[3]);
        CU_ASSERT_DOUBLE_EQUAL(ope_model_predict(&m, xs[0], 3), sum / N, 1e-9);
        /* Only the rounds marked for use train it. */
        {
                static bool use[N];
                struct ope_model m2;

                for (size_t i = 0; i < N; i++)
                        use[i] = rounds[i].arm == 1;
                CU_ASSERT_EQUAL(ope_model_fit(rounds, N, use, D, 1.0, &m2), 0);
                CU_ASSERT_FALSE(m2.fitted[0]);
                CU_ASSERT_TRUE(m2.fitted[1]);
        }
        CU_ASSERT_EQUAL(ope_model_fit(rounds, N, NULL, D, 0.0, &m), -EINVAL);
}

/* ---- the variance -------------------------------------------------------- */

static void test_hac_by_hand(void)
{
        const double v[4] = { 1, 2, 3, 4 };
        uint32_t lags = 99;

        /* No lags: s^2 / n. */
        CU_ASSERT_DOUBLE_EQUAL(ope_hac_variance(v, 4, 0, &lags), 0, 10); /* automatic: any */
        /* One lag: gamma0 = 1.25, gamma1 = 0.3125, weight 1/2:
         * (1.25 + 0.3125) / (n - 1). */
        CU_ASSERT_DOUBLE_EQUAL(ope_hac_variance(v, 4, 1, &lags), 1.5625 / 3, 1e-12);
        CU_ASSERT_EQUAL(lags, 1);
        CU_ASSERT(isnan(ope_hac_variance(v, 1, 0, NULL)));
}

/* An AR(1) series of rho 0.8: independent-rounds variance is about
 * (1 - rho) / (1 + rho) = 1/9 of the truth; the automatic HAC finds lags
 * and comes within 35% of the long-run variance sigma^2 / (1 - rho)^2. */
static void test_hac_ar1(void)
{
        enum { M = 4000 };
        static double v[M];
        const double rho = 0.8;
        double iid, hac, s = 0;
        uint32_t lags = 0;

        rng_state = 7;
        v[0] = gauss() / sqrt(1 - rho * rho);
        for (size_t i = 1; i < M; i++)
                v[i] = rho * v[i - 1] + gauss();
        for (size_t i = 0; i < M; i++)
                s += v[i];
        iid = ope_hac_variance(v, M, 0, NULL);
        hac = ope_hac_variance(v, M, 0, &lags);
        CU_ASSERT(lags >= 10);
        CU_ASSERT(hac > 5 * (1.0 / (1 - rho * rho)) / M);
        CU_ASSERT_DOUBLE_EQUAL(hac / (1.0 / ((1 - rho) * (1 - rho)) / M), 1.0, 0.35);
        (void)iid;
        (void)s;
}

/* ---- the estimators ------------------------------------------------------ */

/* Replaying the logging policy itself: every weight is 1, IPS and SNIPS
 * are the logged mean, the support 1 and the ESS n. */
static void test_self_replay(void)
{
        struct ope_options o;
        struct ope_result r;
        double mean = 0;

        make_rounds(4, 10.0, 0.3, 0.05);
        for (size_t i = 0; i < N; i++) {
                for (unsigned a = 0; a < 4; a++)
                        rounds[i].target[a] = 0.25;
                mean += rounds[i].label / N;
        }
        ope_options_init(&o);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &r), 0);
        CU_ASSERT_DOUBLE_EQUAL(r.logged.value, mean, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(r.ips.value, mean, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(r.snips.value, mean, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(r.support.value, 1.0, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.ess, N, 1e-6);
        /* DR: the mean of the arms' model predictions corrects the luck of
         * the draws; close to the mean over arms of 10 + arm = 11.5. */
        CU_ASSERT_DOUBLE_EQUAL(r.dr.value, 11.5, 0.02);
        CU_ASSERT(r.dr.low <= r.dr.value && r.dr.value <= r.dr.high);
        CU_ASSERT_EQUAL(r.folds, 5);
}

/* A fixed arm as the target: IPS, SNIPS and the support by their
 * definitions; DR with the unpenalised intercept finds the arm's mean of
 * uncentred labels. */
static void test_static_target(void)
{
        struct ope_options o;
        struct ope_result r;
        double sy = 0, sw = 0, swy = 0, sw2 = 0;

        make_rounds(4, 10.0, 0.3, 0.05);
        set_target_static(2);
        for (size_t i = 0; i < N; i++) {
                const double w = rounds[i].arm == 2 ? 4.0 : 0.0;

                sw += w;
                sw2 += w * w;
                swy += w * rounds[i].label;
                sy += rounds[i].label;
        }
        ope_options_init(&o);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &r), 0);
        CU_ASSERT_DOUBLE_EQUAL(r.ips.value, swy / N, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(r.snips.value, swy / sw, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(r.support.value, sw / N, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.ess, sw * sw / sw2, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(r.logged.value, sy / N, 1e-9);
        /* The truth is 12 + 0.3 E[x1] = 12. */
        CU_ASSERT_DOUBLE_EQUAL(r.dr.value, 12.0, 0.03);
        CU_ASSERT(r.dr.high - r.dr.low < r.snips.high - r.snips.low);
        CU_ASSERT(r.dr.low < 12.0 && 12.0 < r.dr.high);
}

/* Rounds the safety layer or a guard decided: excluded, they weigh 0 and
 * leave SNIPS the mean of the policy's rounds, however extreme their
 * labels; replayed, they count with weight 1 (the target under the same
 * guards). */
static void test_guard_rounds(void)
{
        struct ope_options o;
        struct ope_result ex, rep;
        double sy = 0, sn = 0, sy_all = 0, sn_all = 0;
        size_t det = 0;

        make_rounds(4, 10.0, 0.0, 0.05);
        set_target_static(1);
        for (size_t i = 0; i < N; i++) {
                if (i % 3 == 0) {
                        /* The guard kept arm 1, propensity 1, and it was awful. */
                        rounds[i].deterministic = true;
                        rounds[i].arm = 1;
                        rounds[i].propensity = 1;
                        rounds[i].label = 100;
                        det++;
                }
                if (rounds[i].arm == 1 && !rounds[i].deterministic) {
                        sy += rounds[i].label * 4;
                        sn += 4;
                }
                if (rounds[i].arm == 1) {
                        sy_all += rounds[i].label * (rounds[i].deterministic ? 1 : 4);
                        sn_all += rounds[i].deterministic ? 1 : 4;
                }
        }
        ope_options_init(&o);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &ex), 0);
        CU_ASSERT_EQUAL(ex.deterministic, det);
        CU_ASSERT_DOUBLE_EQUAL(ex.snips.value, sy / sn, 1e-9);
        CU_ASSERT(ex.snips.value < 12);
        /* Their weight is missing from the support: about 2/3. */
        CU_ASSERT_DOUBLE_EQUAL(ex.support.value, sn / N, 1e-12);
        CU_ASSERT(ex.support.high < 0.95);
        o.guard_rounds = OPE_GUARD_REPLAY;
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &rep), 0);
        CU_ASSERT_DOUBLE_EQUAL(rep.snips.value, sy_all / sn_all, 1e-9);
        CU_ASSERT(rep.snips.value > 20);
        CU_ASSERT_DOUBLE_EQUAL(rep.support.value, sn_all / N, 1e-12);
}

/* The intervals: independent labels give about the same width with every
 * method; the bootstrap's interval holds its estimate. */
static void test_interval_methods(void)
{
        struct ope_options o;
        struct ope_result hac, boot, iid;

        make_rounds(4, 10.0, 0.0, 0.1);
        set_target_static(0);
        ope_options_init(&o);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &hac), 0);
        o.interval = OPE_INTERVAL_IID;
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &iid), 0);
        o.interval = OPE_INTERVAL_BOOTSTRAP;
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &boot), 0);
        CU_ASSERT_EQUAL(iid.snips.block, 1);
        CU_ASSERT_DOUBLE_EQUAL(boot.snips.value, hac.snips.value, 1e-12);
        CU_ASSERT(boot.snips.low <= boot.snips.value && boot.snips.value <= boot.snips.high);
        CU_ASSERT_DOUBLE_EQUAL(boot.snips.se / iid.snips.se, 1.0, 0.2);
        CU_ASSERT_DOUBLE_EQUAL(hac.snips.se / iid.snips.se, 1.0, 0.2);
        /* Bad options are refused. */
        o.folds = 1;
        CU_ASSERT_EQUAL(ope_estimate(rounds, N, D, &o, &hac), -EINVAL);
}

/* Dependent rounds: the host's state carries over (AR(1) noise of rho
 * 0.9 on the labels).  For a fixed arm of two, SNIPS's terms are zero in
 * half the rounds, which halves their autocorrelation but not their
 * autocovariances: the lags come from the reward model's residuals, and
 * the interval is about 2.9 times the independent one (with the terms'
 * own AR(1) rule, 9 lags, about 2). */
static void test_interval_dependence(void)
{
        struct ope_options o;
        struct ope_result hac, iid;
        double s = 0;

        make_rounds(2, 10.0, 0.0, 0.0);
        for (size_t i = 0; i < N; i++) {
                s = 0.9 * s + 0.01 * gauss();
                rounds[i].label += s;
        }
        set_target_static(0);
        ope_options_init(&o);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &hac), 0);
        o.interval = OPE_INTERVAL_IID;
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &iid), 0);
        CU_ASSERT(hac.snips.block > 20);
        CU_ASSERT(hac.snips.se > 2.4 * iid.snips.se);
        CU_ASSERT(hac.dr.se > 2.4 * iid.dr.se);
}

/* ---- a case worked by hand ------------------------------------------------ */

/* Six rounds, two arms, the context only the constant (so that each arm's
 * reward model is its mean label on the training folds), two folds of
 * three consecutive rounds, blocks of 2 rounds (one Bartlett lag).  The
 * expected figures were worked out on paper from the definitions in
 * docs/agent.md (and checked with exact fractions), not by this code:
 *
 *   round    0    1    2     3     4    5
 *   arm      0    1    0     1     0    1
 *   p       1/2  1/2  1/4   3/4   1/2  1/2
 *   label   10    4   12     6    16    8
 *
 * Reward model: fold 0 (rounds 0-2) is fit on rounds 3-5: q(0) = 16,
 * q(1) = (6 + 8) / 2 = 7; fold 1 (rounds 3-5) on rounds 0-2: q(0) =
 * (10 + 12) / 2 = 11, q(1) = 4. */
static const double hand_p[6] = { 0.5, 0.5, 0.25, 0.75, 0.5, 0.5 };
static const double hand_y[6] = { 10, 4, 12, 6, 16, 8 };
static const double hand_x[1] = { 1 };

static void hand_rounds(double t0, double t1, int guard_round)
{
        for (size_t i = 0; i < 6; i++) {
                rounds[i] = (struct ope_round){ .x = hand_x, .arm = (uint32_t)(i % 2), .propensity = hand_p[i],
                                                .label = hand_y[i], .deterministic = (int)i == guard_round };
                rounds[i].target[0] = t0;
                rounds[i].target[1] = t1;
        }
}

static void hand_options(struct ope_options *o, enum ope_guard_rounds g)
{
        ope_options_init(o);
        o->folds = 2;
        o->block = 2;
        o->guard_rounds = g;
}

static void test_by_hand(void)
{
        struct ope_options o;
        struct ope_result r;

        /* static:0.  w = 2, 0, 4, 0, 2, 0.  IPS = (20 + 48 + 32) / 6 =
         * 50/3; SNIPS = 100 / 8 = 12.5; support 8/6; ESS 8^2 / 24 = 8/3; the
         * logged mean 56 / 6.
         * DR terms q(0) + w (y - q(arm)): 16 + 2 (10 - 16) = 4, 16,
         * 16 + 4 (12 - 16) = 0, 11, 11 + 2 (16 - 11) = 21, 11: DR = 63 / 6
         * = 10.5.  Their deviations -6.5 5.5 -10.5 0.5 10.5 0.5 give
         * gamma0 = 293.5 / 6 and gamma1 = -88.25 / 6; with one lag of
         * weight 1/2 the variance is (293.5 - 88.25) / 6 / 5 = 821/120.
         * SNIPS's terms w (y - 12.5) / (4/3) = -3.75, 0, -1.5, 0, 5.25, 0
         * have no neighbours both non-zero: variance 43.875 / 6 / 5. */
        hand_rounds(1, 0, -1);
        hand_options(&o, OPE_GUARD_EXCLUDE);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, 6, 1, &o, &r), 0);
        CU_ASSERT_DOUBLE_EQUAL(r.logged.value, 56.0 / 6, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.ips.value, 50.0 / 3, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.snips.value, 12.5, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.dr.value, 10.5, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.support.value, 4.0 / 3, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.ess, 8.0 / 3, 1e-12);
        CU_ASSERT_EQUAL(r.dr.block, 2);
        CU_ASSERT_DOUBLE_EQUAL(r.dr.se, sqrt(821.0 / 120), 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.dr.low, 10.5 - 1.959963984540054 * sqrt(821.0 / 120), 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(r.dr.high, 10.5 + 1.959963984540054 * sqrt(821.0 / 120), 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(r.snips.se, sqrt(43.875 / 30), 1e-12);
        CU_ASSERT_EQUAL(r.folds, 2);

        /* uniform (1/2 each).  w = 1, 1, 2, 2/3, 1, 1: IPS = 66 / 6 = 11,
         * SNIPS = 66 / (20/3) = 9.9.  DR's direct part (q(0) + q(1)) / 2
         * is 11.5 in fold 0 and 7.5 in fold 1; its terms 11.5 - 6,
         * 11.5 - 3, 11.5 - 8, 7.5 + 4/3, 7.5 + 5, 7.5 + 4 sum to 151/3:
         * DR = 151/18. */
        hand_rounds(0.5, 0.5, -1);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, 6, 1, &o, &r), 0);
        CU_ASSERT_DOUBLE_EQUAL(r.ips.value, 11.0, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.snips.value, 9.9, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.dr.value, 151.0 / 18, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.support.value, 10.0 / 9, 1e-12);

        /* Round 3 decided by a guard.  Excluded: its weight is 0 (IPS =
         * SNIPS = 62 / 6, support 1) and its DR term the direct part 7.5
         * alone: DR = (151/3 - 53/6 + 7.5) / 6 = 49/6.  Replayed: weight 1
         * on its logged arm, the target assumed overruled alike: IPS =
         * (62 + 6) / 6, SNIPS = 68 / 7, and its DR term q(1) + (6 - q(1))
         * is its label 6: DR = (151/3 - 53/6 + 6) / 6 = 95/12. */
        hand_rounds(0.5, 0.5, 3);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, 6, 1, &o, &r), 0);
        CU_ASSERT_EQUAL(r.deterministic, 1);
        CU_ASSERT_DOUBLE_EQUAL(r.ips.value, 31.0 / 3, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.snips.value, 31.0 / 3, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.dr.value, 49.0 / 6, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.support.value, 1.0, 1e-12);
        hand_options(&o, OPE_GUARD_REPLAY);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, 6, 1, &o, &r), 0);
        CU_ASSERT_DOUBLE_EQUAL(r.ips.value, 34.0 / 3, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.snips.value, 68.0 / 7, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.dr.value, 95.0 / 12, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(r.support.value, 7.0 / 6, 1e-12);
}

/* The state a switch leaves: stretches of one arm (1 to 6 rounds) each
 * draw an offset of sd 0.5 that lasts the stretch, on top of noise of sd
 * 0.5 per round.  A fixed arm is held in one such state: its states
 * interval adds the between-stretch variance (measured, not the noise
 * within stretches) to hac's; uniform, which switches every other round,
 * adds only its share, 1.5 / n of it with two arms. */
static void make_stretches(double tau, double noise)
{
        size_t i = 0, ep = 0;

        rng_state = 7;
        while (i < N) {
                const uint32_t arm = (uint32_t)(uniform01() * 2);
                const size_t len = 1 + (size_t)(uniform01() * 6);
                const double u = tau * gauss();

                for (size_t k = 0; k < len && i < N; k++, i++) {
                        xs[i][0] = 1;
                        xs[i][1] = gauss();
                        xs[i][2] = gauss();
                        rounds[i] = (struct ope_round){ .x = xs[i], .arm = arm, .propensity = 0.5, .episode = ep };
                        rounds[i].label = 10 + arm + u + noise * gauss();
                }
                ep++;
        }
}

static void test_states(void)
{
        struct ope_options o;
        struct ope_result hac, states;

        make_stretches(0.5, 0.5);
        set_target_static(1);
        ope_options_init(&o);
        CU_ASSERT_EQUAL(o.interval, OPE_INTERVAL_STATES);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &states), 0);
        o.interval = OPE_INTERVAL_HAC;
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &hac), 0);
        CU_ASSERT_DOUBLE_EQUAL(states.state_sd[0], 0.5, 0.15);
        CU_ASSERT_DOUBLE_EQUAL(states.state_sd[1], 0.5, 0.15);
        /* A fixed arm: one state, all of its variance. */
        CU_ASSERT_DOUBLE_EQUAL(states.state_var, states.state_sd[1] * states.state_sd[1], 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(states.dr.se * states.dr.se, hac.dr.se * hac.dr.se + states.state_var, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(states.dr.value, hac.dr.value, 1e-12);
        CU_ASSERT(states.dr.low < hac.dr.low && states.dr.high > hac.dr.high);
        /* The log's own mean is of the log's own states. */
        CU_ASSERT_DOUBLE_EQUAL(states.logged.se, hac.logged.se, 1e-12);

        /* Uniform over two arms: sum over arms of tau_a^2 (2 T_a - n/2)
         * / n^2, T_a = sum_i R_i / 2 with R_i = 2 - 2^-(n-1-i): about
         * 1.5 / n of each arm's. */
        for (size_t i = 0; i < N; i++) {
                rounds[i].target[0] = 0.5;
                rounds[i].target[1] = 0.5;
        }
        o.interval = OPE_INTERVAL_STATES;
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &states), 0);
        CU_ASSERT_DOUBLE_EQUAL(states.state_var,
                               1.5 / N * (states.state_sd[0] * states.state_sd[0] +
                                          states.state_sd[1] * states.state_sd[1]),
                               0.01 * states.state_var);

        /* No state: the spread of stretch means is the noise's alone,
         * which the within-stretch variance accounts for (taking it as
         * the state's would give about 0.5 / sqrt(3.5) = 0.27). */
        make_stretches(0.0, 0.5);
        set_target_static(0);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &states), 0);
        CU_ASSERT(states.state_sd[0] < 0.15);
        CU_ASSERT(states.state_sd[1] < 0.15);
        /* No episode ids (all 0): one stretch per arm, nothing to measure. */
        make_rounds(2, 10.0, 0.0, 0.5);
        set_target_static(0);
        CU_ASSERT_EQUAL_FATAL(ope_estimate(rounds, N, D, &o, &states), 0);
        CU_ASSERT_EQUAL(states.state_var, 0);
}

int isched_test_register(void);

int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("eval-ope", NULL, NULL);

        if (!s || !CU_add_test(s, "reward model: the intercept is not penalised", test_model_intercept_free) ||
            !CU_add_test(s, "reward model: slopes, an arm never seen", test_model_slopes_and_unseen_arm) ||
            !CU_add_test(s, "HAC variance by hand", test_hac_by_hand) ||
            !CU_add_test(s, "HAC variance of an AR(1)", test_hac_ar1) ||
            !CU_add_test(s, "replaying the logging policy", test_self_replay) ||
            !CU_add_test(s, "static target: IPS, SNIPS, DR, support", test_static_target) ||
            !CU_add_test(s, "guard rounds: excluded or replayed", test_guard_rounds) ||
            !CU_add_test(s, "intervals: hac, bootstrap, iid", test_interval_methods) ||
            !CU_add_test(s, "intervals: dependent rounds", test_interval_dependence) ||
            !CU_add_test(s, "a case worked by hand: IPS, SNIPS, DR, HAC, guard rounds", test_by_hand) ||
            !CU_add_test(s, "intervals: the state a switch leaves", test_states))
                return -1;
        return 0;
}
