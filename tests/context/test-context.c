/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The context module: window metrics, features, normalisation, score,
 * reward and the JSON form of the context builder. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context/context-json.h"
#include "intellisched/context.h"
#include "util/util.h"

#define EPS 1e-9

/* A pool of 4 pCPUs and 10 vCPUs observed for 2 s with every counter valid
 * but work.  The latency histogram of the window holds 100 wakeups: 50 in
 * bucket 10 ([1024, 2048) ns), 49 in bucket 12 ([4096, 8192) ns) and 1 in
 * bucket 20 ([2^20, 2^21) ns). */
static void make_window_pair(struct isched_counters *a, struct isched_counters *b)
{
        memset(a, 0, sizeof(*a));
        a->version = ISCHED_COUNTERS_VERSION;
        a->valid = ISCHED_CNT_BUSY | ISCHED_CNT_GUEST | ISCHED_CNT_WAIT | ISCHED_CNT_WAKEUPS |
                   ISCHED_CNT_LATENCY | ISCHED_CNT_CSWITCH | ISCHED_CNT_MIGRATIONS | ISCHED_CNT_BALANCE;
        a->timestamp_ns = 10000000000ull;
        a->nr_pcpus = 4;
        a->nr_vcpus = 10;
        a->arrangement = ISCHED_ARR_SOCKET;
        a->busy_ns = 123456789;
        a->idle_ns = 987654321;
        a->guest_ns = 55555;
        a->runnable_wait_ns = 777;
        a->wakeups = 1000;
        a->context_switches = 31;
        a->migrations = 7;
        a->balance_moves = 3;
        a->wake_latency_hist[isched_latency_bucket(1024)] = 5; /* history before the window must not count */
        a->work_units = 42;
        *b = *a;
        b->timestamp_ns += 2000000000ull;
        b->busy_ns += 6000000000ull;
        b->idle_ns += 2000000000ull;
        b->guest_ns += 5000000000ull;
        b->runnable_wait_ns += 3000000000ull;
        b->wakeups += 8000;
        b->context_switches += 20000;
        b->migrations += 200;
        b->balance_moves += 10;
        b->wake_latency_hist[isched_latency_bucket(1024)] += 50;     /* [1024, 1152) ns */
        b->wake_latency_hist[isched_latency_bucket(4096)] += 49;     /* [4096, 4608) ns */
        b->wake_latency_hist[isched_latency_bucket(1u << 20)] += 1;  /* [2^20, 2^20 + 2^17) ns */
        b->work_units += 8000;
}

static void test_window_metrics(void)
{
        struct isched_counters a, b;
        struct isched_window w;

        make_window_pair(&a, &b);
        CU_ASSERT_EQUAL_FATAL(isched_window_from_counters(&a, &b, &w), 0);
        CU_ASSERT_EQUAL(w.duration_ns, 2000000000ull);
        CU_ASSERT_EQUAL(w.nr_pcpus, 4u);
        CU_ASSERT_EQUAL(w.nr_vcpus, 10u);
        CU_ASSERT_EQUAL(w.arrangement, ISCHED_ARR_SOCKET);
        /* busy 6 s / (busy 6 s + idle 2 s) */
        CU_ASSERT_DOUBLE_EQUAL(w.utilisation, 0.75, EPS);
        /* (guest 5 s + wait 3 s) / (2 s x 4 pCPUs) */
        CU_ASSERT_DOUBLE_EQUAL(w.load, 1.0, EPS);
        /* 8000 wakeups / 2 s; 200 migrations / 2 s; 20000 switches / 2 s; 10 moves / 2 s */
        CU_ASSERT_DOUBLE_EQUAL(w.wakeups_per_s, 4000.0, EPS);
        CU_ASSERT_DOUBLE_EQUAL(w.migrations_per_s, 100.0, EPS);
        CU_ASSERT_DOUBLE_EQUAL(w.cswitches_per_s, 10000.0, EPS);
        CU_ASSERT_DOUBLE_EQUAL(w.balance_moves_per_s, 5.0, EPS);
        /* Mean at the buckets' midpoints:
         * (50 * 1088 + 49 * 4352 + 1 * (2^20 + 2^16)) / 100 ns
         * = (54400 + 213248 + 1114112) / 100 ns = 13817.6 ns. */
        CU_ASSERT_DOUBLE_EQUAL(w.lat_mean_us, 13.8176, 1e-9);
        /* p99: rank 0.99 x 100 = 99 is reached at the end of the bucket of
         * 4096 ns (50 + 49 = 99), so it is that bucket's upper edge. */
        CU_ASSERT_DOUBLE_EQUAL(w.lat_p99_us, 4.608, 1e-9);
        /* No work counter: guest CPU s per s per pCPU = 5 s / 2 s / 4. */
        CU_ASSERT_FALSE(w.throughput_is_work);
        CU_ASSERT_DOUBLE_EQUAL(w.throughput, 0.625, EPS);

        /* With the work counter: 8000 units / 2 s / 4 pCPUs. */
        a.valid |= ISCHED_CNT_WORK;
        b.valid |= ISCHED_CNT_WORK;
        CU_ASSERT_EQUAL_FATAL(isched_window_from_counters(&a, &b, &w), 0);
        CU_ASSERT_TRUE(w.throughput_is_work);
        CU_ASSERT_DOUBLE_EQUAL(w.throughput, 1000.0, EPS);
}

static void test_window_p99_interpolation(void)
{
        struct isched_counters a, b;
        struct isched_window w;

        make_window_pair(&a, &b);
        memset(b.wake_latency_hist, 0, sizeof(b.wake_latency_hist));
        memset(a.wake_latency_hist, 0, sizeof(a.wake_latency_hist));
        b.wake_latency_hist[isched_latency_bucket(2048)] = 200;
        CU_ASSERT_EQUAL_FATAL(isched_window_from_counters(&a, &b, &w), 0);
        /* All in [2048, 2304): rank 198 of 200 lies 0.99 of the way in:
         * 2048 + 0.99 x 256 = 2301.44 ns.  The mean is the midpoint, 2176 ns. */
        CU_ASSERT_DOUBLE_EQUAL(w.lat_p99_us, 2.30144, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(w.lat_mean_us, 2.176, 1e-9);

        /* Below 8 ns every bucket is one exact value, which the mean uses. */
        memset(b.wake_latency_hist, 0, sizeof(b.wake_latency_hist));
        b.wake_latency_hist[3] = 10;
        b.wake_latency_hist[5] = 10;
        CU_ASSERT_EQUAL_FATAL(isched_window_from_counters(&a, &b, &w), 0);
        CU_ASSERT_DOUBLE_EQUAL(w.lat_mean_us, 0.004, 1e-12);
}

static void test_window_missing_counters(void)
{
        struct isched_counters a, b;
        struct isched_window w;

        /* A counter is used only if both snapshots have its bit. */
        make_window_pair(&a, &b);
        a.valid &= ~(unsigned)(ISCHED_CNT_LATENCY | ISCHED_CNT_WAIT | ISCHED_CNT_BUSY);
        CU_ASSERT_EQUAL_FATAL(isched_window_from_counters(&a, &b, &w), 0);
        CU_ASSERT_EQUAL(w.lat_mean_us, 0.0);
        CU_ASSERT_EQUAL(w.lat_p99_us, 0.0);
        CU_ASSERT_EQUAL(w.load, 0.0);
        CU_ASSERT_FALSE(w.valid & ISCHED_CNT_LATENCY);
        /* Utilisation falls back to guest time over capacity: 5 s / 8 s. */
        CU_ASSERT_DOUBLE_EQUAL(w.utilisation, 0.625, EPS);

        /* Nothing measures throughput: the window exists, the score does not. */
        b.valid &= ~(unsigned)ISCHED_CNT_GUEST;
        CU_ASSERT_EQUAL_FATAL(isched_window_from_counters(&a, &b, &w), 0);
        CU_ASSERT_EQUAL(w.throughput, 0.0);
}

static void test_window_invalid(void)
{
        struct isched_counters a, b;
        struct isched_window w, untouched;

        memset(&untouched, 0xa5, sizeof(untouched));
        w = untouched;
        make_window_pair(&a, &b);
        b.migrations = a.migrations - 1; /* wrapped or reset */
        CU_ASSERT_EQUAL(isched_window_from_counters(&a, &b, &w), -ERANGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "migrations"));
        make_window_pair(&a, &b);
        b.wake_latency_hist[3] = 0;
        a.wake_latency_hist[3] = 1;
        CU_ASSERT_EQUAL(isched_window_from_counters(&a, &b, &w), -ERANGE);
        make_window_pair(&a, &b);
        b.timestamp_ns = a.timestamp_ns;
        CU_ASSERT_EQUAL(isched_window_from_counters(&a, &b, &w), -ERANGE);
        make_window_pair(&a, &b);
        b.busy_ns += 100000000000ull; /* more busy time than 4 pCPUs have */
        CU_ASSERT_EQUAL(isched_window_from_counters(&a, &b, &w), -ERANGE);
        make_window_pair(&a, &b);
        b.arrangement = (enum isched_arrangement)7;
        CU_ASSERT_EQUAL(isched_window_from_counters(&a, &b, &w), -ERANGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "arrangement"));
        make_window_pair(&a, &b);
        b.nr_pcpus = 8;
        CU_ASSERT_EQUAL(isched_window_from_counters(&a, &b, &w), -ESTALE);
        CU_ASSERT_EQUAL(isched_window_from_counters(NULL, &b, &w), -EINVAL);
        CU_ASSERT_EQUAL(isched_window_from_counters(&a, &b, NULL), -EINVAL);
        CU_ASSERT_EQUAL(memcmp(&w, &untouched, sizeof(w)), 0);
}

static struct isched_context *new_context(double clip)
{
        struct isched_context_params p;
        struct isched_context *c = NULL;

        CU_ASSERT_EQUAL(isched_context_params_init(&p), 0);
        p.clip = clip;
        CU_ASSERT_EQUAL(isched_context_new(&p, &c), 0);
        return c;
}

/* A deterministic pseudo-random number in [0, 1). */
static double uniform(uint64_t *state)
{
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        return (double)(*state >> 11) / 9007199254740992.0;
}

/* A window with random metrics (every feature varies). */
static struct isched_window random_window(uint64_t *rng)
{
        struct isched_window w = {
                .duration_ns = 1000000000ull,
                .nr_pcpus = 8,
                .nr_vcpus = 8 + (uint32_t)(uniform(rng) * 16),
                .arrangement = ISCHED_ARR_CORE,
                .utilisation = uniform(rng),
                .load = 2.0 * uniform(rng),
                .wakeups_per_s = 80000.0 * uniform(rng),
                .lat_mean_us = 5.0 + 200.0 * uniform(rng),
                .lat_p99_us = 50.0 + 2000.0 * uniform(rng),
                .migrations_per_s = 500.0 * uniform(rng),
                .cswitches_per_s = 50000.0 * uniform(rng),
                .balance_moves_per_s = 10.0,
                .throughput = 0.1 + uniform(rng),
                .valid = 0x1ff,
        };
        return w;
}

static void test_features_raw_and_warmup(void)
{
        struct isched_context *c = new_context(5.0);
        double x[ISCHED_F_COUNT], raw[ISCHED_F_COUNT];
        struct isched_window w;
        uint64_t rng = 1;

        w = random_window(&rng);
        w.nr_vcpus = 12;
        CU_ASSERT_EQUAL_FATAL(isched_context_features(c, &w, x, ISCHED_F_COUNT, raw), 0);
        /* The raw features follow the schema's definitions. */
        CU_ASSERT_EQUAL(raw[ISCHED_F_BIAS], 1.0);
        CU_ASSERT_DOUBLE_EQUAL(raw[ISCHED_F_UTILISATION], w.utilisation, EPS);
        CU_ASSERT_DOUBLE_EQUAL(raw[ISCHED_F_VCPU_RATIO], 12.0 / 8.0, EPS);
        CU_ASSERT_DOUBLE_EQUAL(raw[ISCHED_F_WAKE_RATE], log1p(w.wakeups_per_s / (w.utilisation * 8 * 1000)), EPS);
        CU_ASSERT_DOUBLE_EQUAL(raw[ISCHED_F_WAKE_SPREAD], log1p(w.wakeups_per_s / 8 / 1000), EPS);
        /* Warm-up: the first window has no variance yet, so every
         * normalised feature but the bias is 0. */
        CU_ASSERT_EQUAL(x[ISCHED_F_BIAS], 1.0);
        for (unsigned i = 1; i < ISCHED_F_COUNT; i++)
                CU_ASSERT_EQUAL(x[i], 0.0);
        /* From the second on, varying features are non-zero; a constant
         * one (vCPU ratio here) stays 0. */
        w = random_window(&rng);
        w.nr_vcpus = 12;
        CU_ASSERT_EQUAL_FATAL(isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL), 0);
        CU_ASSERT_NOT_EQUAL(x[ISCHED_F_UTILISATION], 0.0);
        CU_ASSERT_EQUAL(x[ISCHED_F_VCPU_RATIO], 0.0);
        CU_ASSERT_EQUAL(x[ISCHED_F_BIAS], 1.0);

        CU_ASSERT_STRING_EQUAL(isched_feature_name(ISCHED_F_BIAS), "bias");
        CU_ASSERT_STRING_EQUAL(isched_feature_name(ISCHED_F_WAKE_SPREAD), "wake_spread");
        CU_ASSERT_PTR_NULL(isched_feature_name(ISCHED_F_COUNT));
        isched_context_free(c);
}

/* The context describes the workload: two windows that differ only in
 * what the arrangement changes (latencies, migrations, context switches,
 * balancing, runnable wait, hence load, and the throughput itself) give
 * the same features, so no policy can predict differently from them. */
static void test_features_arm_invariant(void)
{
        struct isched_context *c1 = new_context(5.0), *c2 = new_context(5.0);
        double x1[ISCHED_F_COUNT], x2[ISCHED_F_COUNT], raw1[ISCHED_F_COUNT], raw2[ISCHED_F_COUNT];
        uint64_t rng = 7;

        for (int i = 0; i < 50; i++) {
                struct isched_window a = random_window(&rng), b = a, other = random_window(&rng);

                b.arrangement = (a.arrangement + 1) % ISCHED_ARR_COUNT;
                b.load = other.load;
                b.lat_mean_us = other.lat_mean_us;
                b.lat_p99_us = other.lat_p99_us;
                b.migrations_per_s = other.migrations_per_s;
                b.cswitches_per_s = other.cswitches_per_s;
                b.balance_moves_per_s = other.balance_moves_per_s + 1.0;
                b.throughput = other.throughput;
                CU_ASSERT_EQUAL_FATAL(isched_context_features(c1, &a, x1, ISCHED_F_COUNT, raw1), 0);
                CU_ASSERT_EQUAL_FATAL(isched_context_features(c2, &b, x2, ISCHED_F_COUNT, raw2), 0);
                CU_ASSERT_EQUAL(memcmp(raw1, raw2, sizeof(raw1)), 0);
                CU_ASSERT_EQUAL(memcmp(x1, x2, sizeof(x1)), 0);
        }
        isched_context_free(c1);
        isched_context_free(c2);
}

static void test_observation_mode(void)
{
        struct isched_context *c = new_context(5.0), *copy = NULL;
        struct isched_counters k = { .valid = ISCHED_CNT_BUSY | ISCHED_CNT_GUEST | ISCHED_CNT_WORK };
        enum isched_observation m;

        CU_ASSERT_EQUAL(isched_counters_observation("sim", &k), ISCHED_OBS_GROUND_TRUTH);
        CU_ASSERT_EQUAL(isched_counters_observation("xen", &k), ISCHED_OBS_XEN_GUESTS);
        k.valid |= ISCHED_CNT_GUEST_WORK; /* the simulator in mode xen+guests */
        CU_ASSERT_EQUAL(isched_counters_observation("sim", &k), ISCHED_OBS_XEN_GUESTS);
        k.valid &= ~ISCHED_CNT_WORK;
        CU_ASSERT_EQUAL(isched_counters_observation("sim", &k), ISCHED_OBS_XEN_GUESTS);
        k.valid &= ~ISCHED_CNT_GUEST_WORK;
        CU_ASSERT_EQUAL(isched_counters_observation("sim", &k), ISCHED_OBS_XEN);
        CU_ASSERT_EQUAL(isched_counters_observation("xen", &k), ISCHED_OBS_XEN);
        CU_ASSERT_EQUAL(isched_context_get_observation(c), ISCHED_OBS_UNKNOWN);
        CU_ASSERT_EQUAL(isched_context_set_observation(c, ISCHED_OBS_XEN), 0);
        CU_ASSERT_EQUAL(isched_context_set_observation(c, ISCHED_OBS_XEN), 0);
        /* Another mode is refused and the builder keeps its own. */
        CU_ASSERT_EQUAL(isched_context_set_observation(c, ISCHED_OBS_GROUND_TRUTH), -EDOM);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "ground-truth"));
        CU_ASSERT_EQUAL(isched_context_get_observation(c), ISCHED_OBS_XEN);
        CU_ASSERT_EQUAL(isched_context_set_observation(c, ISCHED_OBS_UNKNOWN), -EINVAL);
        CU_ASSERT_EQUAL(isched_context_clone(c, &copy), 0);
        CU_ASSERT_EQUAL(isched_context_get_observation(copy), ISCHED_OBS_XEN);
        CU_ASSERT_EQUAL(isched_observation_from_string("xen+guests", &m), 0);
        CU_ASSERT_EQUAL(m, ISCHED_OBS_XEN_GUESTS);
        CU_ASSERT_STRING_EQUAL(isched_observation_to_string(ISCHED_OBS_GROUND_TRUTH), "ground-truth");
        CU_ASSERT_EQUAL(isched_observation_from_string("truth", &m), -EINVAL);
        isched_context_free(copy);
        isched_context_free(c);
}

static void test_features_converge(void)
{
        struct isched_context *c = new_context(5.0);
        double x[ISCHED_F_COUNT], sum[ISCHED_F_COUNT] = { 0 }, sum2[ISCHED_F_COUNT] = { 0 };
        const unsigned warm = 20000, n = 20000;
        uint64_t rng = 12345;

        for (unsigned k = 0; k < warm + n; k++) {
                struct isched_window w = random_window(&rng);

                CU_ASSERT_EQUAL_FATAL(isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL), 0);
                if (k < warm)
                        continue;
                for (unsigned i = 0; i < ISCHED_F_COUNT; i++) {
                        sum[i] += x[i];
                        sum2[i] += x[i] * x[i];
                }
        }
        for (unsigned i = 1; i < ISCHED_F_COUNT; i++) {
                const double mean = sum[i] / n, sd = sqrt(sum2[i] / n - mean * mean);

                CU_ASSERT_DOUBLE_EQUAL(mean, 0.0, 0.05);
                CU_ASSERT_DOUBLE_EQUAL(sd, 1.0, 0.05);
        }
        isched_context_free(c);
}

static void test_features_clip(void)
{
        struct isched_context *c = new_context(2.0);
        double x[ISCHED_F_COUNT];
        uint64_t rng = 7;
        struct isched_window w;

        for (unsigned k = 0; k < 200; k++) {
                w = random_window(&rng);
                w.utilisation = 0.5 + 0.01 * (uniform(&rng) - 0.5);
                CU_ASSERT_EQUAL_FATAL(isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL), 0);
                CU_ASSERT(fabs(x[ISCHED_F_UTILISATION]) <= 2.0);
        }
        /* Utilisation 1.0 is ~170 standard deviations above the mean. */
        w.utilisation = 1.0;
        CU_ASSERT_EQUAL_FATAL(isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL), 0);
        CU_ASSERT_EQUAL(x[ISCHED_F_UTILISATION], 2.0);
        w.utilisation = 0.0;
        CU_ASSERT_EQUAL_FATAL(isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL), 0);
        CU_ASSERT_EQUAL(x[ISCHED_F_UTILISATION], -2.0);
        isched_context_free(c);
}

static void test_features_invalid(void)
{
        struct isched_context *c = new_context(5.0), *copy = NULL;
        double x[ISCHED_F_COUNT], y[ISCHED_F_COUNT], before[ISCHED_F_COUNT];
        uint64_t rng = 99;
        struct isched_window w = random_window(&rng), bad;

        CU_ASSERT_EQUAL_FATAL(isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(isched_context_clone(c, &copy), 0);
        memcpy(before, x, sizeof(x));

        bad = w;
        bad.lat_p99_us = NAN;
        CU_ASSERT_EQUAL(isched_context_features(c, &bad, x, ISCHED_F_COUNT, NULL), -EDOM);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "lat_p99_us"));
        bad = w;
        bad.throughput = INFINITY;
        CU_ASSERT_EQUAL(isched_context_features(c, &bad, x, ISCHED_F_COUNT, NULL), -EDOM);
        bad = w;
        bad.load = -1.0;
        CU_ASSERT_EQUAL(isched_context_features(c, &bad, x, ISCHED_F_COUNT, NULL), -EDOM);
        bad = w;
        bad.utilisation = 1.5;
        CU_ASSERT_EQUAL(isched_context_features(c, &bad, x, ISCHED_F_COUNT, NULL), -EDOM);
        bad = w;
        bad.nr_pcpus = 0;
        CU_ASSERT_EQUAL(isched_context_features(c, &bad, x, ISCHED_F_COUNT, NULL), -EINVAL);
        CU_ASSERT_EQUAL(isched_context_features(c, &w, x, ISCHED_F_COUNT - 1, NULL), -EINVAL);
        CU_ASSERT_EQUAL(isched_context_features(NULL, &w, x, ISCHED_F_COUNT, NULL), -EINVAL);
        /* Failures wrote nothing and left the state alone: the next good
         * window gives what a never-failed copy gives. */
        CU_ASSERT_EQUAL(memcmp(x, before, sizeof(x)), 0);
        w = random_window(&rng);
        CU_ASSERT_EQUAL(isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL), 0);
        CU_ASSERT_EQUAL(isched_context_features(copy, &w, y, ISCHED_F_COUNT, NULL), 0);
        CU_ASSERT_EQUAL(memcmp(x, y, sizeof(x)), 0);
        isched_context_free(copy);
        isched_context_free(c);
}

static void test_params(void)
{
        struct isched_context_params p, q;
        struct isched_context *c = NULL;

        CU_ASSERT_EQUAL(isched_context_params_init(NULL), -EINVAL);
        CU_ASSERT_EQUAL_FATAL(isched_context_params_init(&p), 0);
        CU_ASSERT_EQUAL(p.size, sizeof(p));
        p.w_lat_mean = -0.5;
        CU_ASSERT_EQUAL(isched_context_new(&p, &c), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "w_lat_mean"));
        isched_context_params_init(&p);
        p.baseline_halflife = 0.0;
        CU_ASSERT_EQUAL(isched_context_new(&p, &c), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "baseline_halflife"));
        isched_context_params_init(&p);
        p.clip = NAN;
        CU_ASSERT_EQUAL(isched_context_new(&p, &c), -EINVAL);
        isched_context_params_init(&p);
        p.size = 8;
        CU_ASSERT_EQUAL(isched_context_new(&p, &c), -EINVAL);
        CU_ASSERT_PTR_NULL(c);
        isched_context_params_init(&p);
        p.w_throughput = 2.0;
        CU_ASSERT_EQUAL_FATAL(isched_context_new(&p, &c), 0);
        CU_ASSERT_EQUAL(isched_context_get_params(c, &q), 0);
        CU_ASSERT_EQUAL(q.w_throughput, 2.0);
        CU_ASSERT_TRUE(isnan(isched_context_get_baseline(c)));
        CU_ASSERT_PTR_NULL(isched_context_free(c));
        CU_ASSERT_PTR_NULL(isched_context_free(NULL));
}

static void test_score(void)
{
        struct isched_context_params p;
        uint64_t rng = 3;
        struct isched_window w = random_window(&rng), w2;
        double s, s2;

        isched_context_params_init(&p);
        p.w_throughput = 1.0;
        p.w_lat_mean = 0.3;
        p.w_lat_p99 = 0.7;
        CU_ASSERT_EQUAL_FATAL(isched_context_score(&p, &w, &s), 0);
        CU_ASSERT_DOUBLE_EQUAL(s, log(w.throughput) - 0.3 * log(1 + w.lat_mean_us) - 0.7 * log(1 + w.lat_p99_us),
                               1e-12);
        /* Doubling throughput with w_throughput = 1 adds ln 2. */
        w2 = w;
        w2.throughput *= 2.0;
        CU_ASSERT_EQUAL_FATAL(isched_context_score(&p, &w2, &s2), 0);
        CU_ASSERT_DOUBLE_EQUAL(s2 - s, M_LN2, 1e-12);
        /* Zero throughput has no score. */
        w2.throughput = 0.0;
        s2 = 123.0;
        CU_ASSERT_EQUAL(isched_context_score(&p, &w2, &s2), -EDOM);
        CU_ASSERT_EQUAL(s2, 123.0);
        w2 = w;
        w2.lat_mean_us = NAN;
        CU_ASSERT_EQUAL(isched_context_score(&p, &w2, &s2), -EDOM);
        p.w_lat_p99 = INFINITY;
        CU_ASSERT_EQUAL(isched_context_score(&p, &w, &s2), -EINVAL);
}

static void test_reward_and_penalty(void)
{
        struct isched_context *c = new_context(5.0), *d = NULL;
        struct isched_context_params p;
        uint64_t rng = 5;
        struct isched_window w = random_window(&rng);
        double r1, r2, s;

        isched_context_get_params(c, &p);
        CU_ASSERT_EQUAL_FATAL(isched_context_score(&p, &w, &s), 0);
        /* The first window's baseline is its own score. */
        CU_ASSERT_EQUAL_FATAL(isched_context_reward(c, &w, false, &r1), 0);
        CU_ASSERT_DOUBLE_EQUAL(r1, 0.0, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(isched_context_get_baseline(c), s, 1e-12);
        /* Two identical builders, the same window, one after a switch. */
        CU_ASSERT_EQUAL_FATAL(isched_context_clone(c, &d), 0);
        w.throughput *= 1.5;
        CU_ASSERT_EQUAL_FATAL(isched_context_reward(c, &w, false, &r1), 0);
        CU_ASSERT_EQUAL_FATAL(isched_context_reward(d, &w, true, &r2), 0);
        CU_ASSERT_DOUBLE_EQUAL(r1, log(1.5), 1e-12); /* score - baseline */
        CU_ASSERT_DOUBLE_EQUAL(r1 - r2, p.switch_penalty, 1e-12);
        /* The penalty does not enter the baseline. */
        CU_ASSERT_EQUAL(isched_context_get_baseline(c), isched_context_get_baseline(d));
        w.throughput = 0.0;
        CU_ASSERT_EQUAL(isched_context_reward(c, &w, false, &r1), -EDOM);
        isched_context_free(d);
        isched_context_free(c);
}

static void test_baseline_halflife(void)
{
        struct isched_context_params p;
        struct isched_context *c = NULL;
        uint64_t rng = 11;
        struct isched_window w = random_window(&rng);
        double r, s0, s1;

        isched_context_params_init(&p);
        p.baseline_halflife = 10.0;
        CU_ASSERT_EQUAL_FATAL(isched_context_new(&p, &c), 0);
        CU_ASSERT_EQUAL_FATAL(isched_context_score(&p, &w, &s0), 0);
        /* Past the warm start (1/alpha = 1/(1 - 2^(-1/10)) ~ 14.9 windows). */
        for (int k = 0; k < 100; k++)
                CU_ASSERT_EQUAL(isched_context_reward(c, &w, false, &r), 0);
        CU_ASSERT_DOUBLE_EQUAL(isched_context_get_baseline(c), s0, 1e-9);
        /* A step in the score: after one half-life (10 windows) the
         * baseline has covered half the step, after two three quarters. */
        w.throughput *= 4.0;
        CU_ASSERT_EQUAL_FATAL(isched_context_score(&p, &w, &s1), 0);
        for (int k = 0; k < 10; k++)
                CU_ASSERT_EQUAL(isched_context_reward(c, &w, false, &r), 0);
        CU_ASSERT_DOUBLE_EQUAL(isched_context_get_baseline(c), s0 + 0.5 * (s1 - s0), 1e-9);
        for (int k = 0; k < 10; k++)
                CU_ASSERT_EQUAL(isched_context_reward(c, &w, false, &r), 0);
        CU_ASSERT_DOUBLE_EQUAL(isched_context_get_baseline(c), s0 + 0.75 * (s1 - s0), 1e-9);
        /* The reward of the last window was taken against the baseline before it. */
        CU_ASSERT(r > 0.0 && r < s1 - s0);
        isched_context_free(c);
}

static void test_baseline_warm_start(void)
{
        struct isched_context *c = new_context(5.0);
        struct isched_context_params p;
        uint64_t rng = 13;
        struct isched_window w = random_window(&rng);
        double r, s_first, s;

        /* A start-up transient: the first window has 1/8 of the throughput. */
        isched_context_get_params(c, &p);
        w.throughput /= 8.0;
        CU_ASSERT_EQUAL_FATAL(isched_context_score(&p, &w, &s_first), 0);
        CU_ASSERT_EQUAL(isched_context_reward(c, &w, false, &r), 0);
        w.throughput *= 8.0;
        CU_ASSERT_EQUAL_FATAL(isched_context_score(&p, &w, &s), 0);
        for (int k = 0; k < 9; k++)
                CU_ASSERT_EQUAL(isched_context_reward(c, &w, false, &r), 0);
        /* Ten windows, well inside the warm start of the default half-life
         * (50 windows, 1/alpha ~ 72.6): the baseline is their plain mean,
         * and the transient weighs 1/10, not the (1 - alpha)^9 ~ 88% a
         * plain EWMA started at the first score would leave. */
        CU_ASSERT_DOUBLE_EQUAL(isched_context_get_baseline(c), (s_first + 9.0 * s) / 10.0, 1e-9);
        isched_context_free(c);
}

/* Print and re-parse, as a model file does. */
static struct isched_context *json_round_trip(const struct isched_context *c)
{
        struct isched_context *back = NULL;
        cJSON *j = NULL, *parsed;
        char *text;

        CU_ASSERT_EQUAL_FATAL(isched__context_to_json(c, &j), 0);
        text = cJSON_PrintUnformatted(j);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        parsed = cJSON_Parse(text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(parsed);
        CU_ASSERT_EQUAL(isched__context_from_json(parsed, &back), 0);
        cJSON_Delete(parsed);
        cJSON_Delete(j);
        free(text);
        return back;
}

static void test_json_round_trip(void)
{
        struct isched_context *c = new_context(3.0), *back = NULL;
        double x[ISCHED_F_COUNT], y[ISCHED_F_COUNT], r1, r2;
        cJSON *j = NULL;
        uint64_t rng = 2024;

        /* A fresh builder (no baseline yet) survives the trip too. */
        back = json_round_trip(c);
        CU_ASSERT_PTR_NOT_NULL_FATAL(back);
        CU_ASSERT_TRUE(isnan(isched_context_get_baseline(back)));
        isched_context_free(back);

        for (int k = 0; k < 57; k++) {
                struct isched_window w = random_window(&rng);

                CU_ASSERT_EQUAL(isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL), 0);
                CU_ASSERT_EQUAL(isched_context_reward(c, &w, k % 3 == 0, &r1), 0);
        }
        /* The tree is readable before it is printed, too. */
        CU_ASSERT_EQUAL_FATAL(isched__context_to_json(c, &j), 0);
        CU_ASSERT_EQUAL(isched__context_from_json(j, &back), 0);
        cJSON_Delete(j);
        isched_context_free(back);

        back = json_round_trip(c);
        CU_ASSERT_PTR_NOT_NULL_FATAL(back);
        CU_ASSERT_EQUAL(isched_context_get_baseline(back), isched_context_get_baseline(c));
        /* Identical features and rewards afterwards, bit for bit. */
        for (int k = 0; k < 30; k++) {
                struct isched_window w = random_window(&rng);

                CU_ASSERT_EQUAL(isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL), 0);
                CU_ASSERT_EQUAL(isched_context_features(back, &w, y, ISCHED_F_COUNT, NULL), 0);
                CU_ASSERT_EQUAL(memcmp(x, y, sizeof(x)), 0);
                CU_ASSERT_EQUAL(isched_context_reward(c, &w, k % 2 == 0, &r1), 0);
                CU_ASSERT_EQUAL(isched_context_reward(back, &w, k % 2 == 0, &r2), 0);
                CU_ASSERT_EQUAL(r1, r2);
        }
        isched_context_free(back);
        isched_context_free(c);
}

/* Replace the value at a path ("params.clip", "normaliser.m2") of a
 * good context object by the JSON text `value` and expect rejection with
 * the detail naming `expect`. */
static void expect_rejected(const char *object, const char *key, const char *value, const char *expect)
{
        struct isched_context *c = new_context(5.0), *back = NULL;
        cJSON *j = NULL, *parent, *v;
        uint64_t rng = 8;
        double x[ISCHED_F_COUNT], r;

        for (int k = 0; k < 5; k++) {
                struct isched_window w = random_window(&rng);

                isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL);
                isched_context_reward(c, &w, false, &r);
        }
        CU_ASSERT_EQUAL_FATAL(isched__context_to_json(c, &j), 0);
        parent = object ? cJSON_GetObjectItemCaseSensitive(j, object) : j;
        CU_ASSERT_PTR_NOT_NULL_FATAL(parent);
        if (value) {
                v = cJSON_Parse(value);
                CU_ASSERT_PTR_NOT_NULL_FATAL(v);
                CU_ASSERT_TRUE(cJSON_ReplaceItemInObjectCaseSensitive(parent, key, v));
        } else {
                cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
        }
        CU_ASSERT_EQUAL(isched__context_from_json(j, &back), -EINVAL);
        CU_ASSERT_PTR_NULL(back);
        if (!strstr(isched_last_error(), expect))
                fprintf(stderr, "\n  detail \"%s\" does not name %s\n", isched_last_error(), expect);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), expect));
        cJSON_Delete(j);
        isched_context_free(c);
}

static void test_json_rejects_corruption(void)
{
        struct isched_context *back = NULL;
        cJSON *j;

        expect_rejected(NULL, "schema", "\"isched-features-v0\"", "schema");
        expect_rejected(NULL, "schema", "7", "context.schema");
        expect_rejected(NULL, "features", "[\"bias\"]", "context.features");
        expect_rejected(NULL, "features",
                        "[\"bias\",\"vcpu_ratio\",\"utilisation\",\"wake_rate\",\"wake_spread\"]",
                        "context.features[1]");
        expect_rejected(NULL, "params", NULL, "context.params");
        expect_rejected("params", "clip", "-1", "context.params.clip");
        expect_rejected(NULL, "observation", "\"truth\"", "context.observation");
        expect_rejected(NULL, "observation", NULL, "context.observation");
        expect_rejected("params", "w_lat_mean", "\"0.25\"", "context.params.w_lat_mean");
        expect_rejected("params", "baseline_halflife", "0", "baseline_halflife");
        expect_rejected("normaliser", "count", "-1", "context.normaliser.count");
        expect_rejected("normaliser", "count", "1.5", "context.normaliser.count");
        expect_rejected("normaliser", "count", "\"12x\"", "context.normaliser.count");
        expect_rejected("normaliser", "count", "0", "when count is 0");
        expect_rejected("normaliser", "mean", "[0,1,2]", "context.normaliser.mean");
        expect_rejected("normaliser", "m2", "[0,1,2,-3,4]", "context.normaliser.m2[3]");
        expect_rejected("normaliser", "mean", "[0,1,2,3,null]", "context.normaliser.mean[4]");
        expect_rejected("normaliser", "mean", "[1,1,2,3,4]", "bias");
        expect_rejected("baseline", "value", "null", "context.baseline.value");
        expect_rejected("baseline", "value", NULL, "context.baseline.value");
        expect_rejected("baseline", "count", "{}", "context.baseline.count");
        expect_rejected(NULL, "baseline", "[]", "context.baseline");

        j = cJSON_Parse("[1,2,3]");
        CU_ASSERT_EQUAL(isched__context_from_json(j, &back), -EINVAL);
        cJSON_Delete(j);
        CU_ASSERT_EQUAL(isched__context_from_json(NULL, &back), -EINVAL);
        CU_ASSERT_EQUAL(isched__context_to_json(NULL, &j), -EINVAL);
        CU_ASSERT_PTR_NULL(back);
}

/* Random corruptions of a saved context: accepted or refused, never a crash. */
static void test_json_random_corruption(void)
{
        struct isched_context *c = new_context(5.0), *back;
        double x[ISCHED_F_COUNT], r;
        uint64_t rng = 77;
        unsigned refused = 0;
        cJSON *j = NULL;
        char *text;
        size_t len;

        for (int k = 0; k < 10; k++) {
                struct isched_window w = random_window(&rng);

                isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL);
                isched_context_reward(c, &w, false, &r);
        }
        CU_ASSERT_EQUAL_FATAL(isched__context_to_json(c, &j), 0);
        text = cJSON_PrintUnformatted(j);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        len = strlen(text);
        for (int k = 0; k < 5000; k++) {
                char *copy = strdup(text);
                cJSON *parsed;

                CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
                for (int m = 0; m <= k % 3; m++)
                        copy[(size_t)(uniform(&rng) * len)] = "0123456789-.e\"{}[],:nulltrue x"[(int)(uniform(&rng) * 31)];
                parsed = cJSON_Parse(copy);
                back = NULL;
                if (isched__context_from_json(parsed, &back) == 0)
                        isched_context_free(back);
                else
                        refused++;
                cJSON_Delete(parsed);
                free(copy);
        }
        CU_ASSERT(refused > 0);
        free(text);
        cJSON_Delete(j);
        isched_context_free(c);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("context", NULL, NULL);

        if (!s)
                return -1;
        if (!CU_add_test(s, "window metrics", test_window_metrics) ||
            !CU_add_test(s, "window p99 interpolation", test_window_p99_interpolation) ||
            !CU_add_test(s, "window with missing counters", test_window_missing_counters) ||
            !CU_add_test(s, "invalid windows rejected", test_window_invalid) ||
            !CU_add_test(s, "raw features and warm-up", test_features_raw_and_warmup) ||
            !CU_add_test(s, "features do not depend on the arrangement", test_features_arm_invariant) ||
            !CU_add_test(s, "observation mode", test_observation_mode) ||
            !CU_add_test(s, "normalisation converges", test_features_converge) ||
            !CU_add_test(s, "clipping", test_features_clip) ||
            !CU_add_test(s, "invalid windows never reach the state", test_features_invalid) ||
            !CU_add_test(s, "parameters", test_params) ||
            !CU_add_test(s, "score", test_score) ||
            !CU_add_test(s, "reward and switch penalty", test_reward_and_penalty) ||
            !CU_add_test(s, "baseline half-life", test_baseline_halflife) ||
            !CU_add_test(s, "baseline warm start", test_baseline_warm_start) ||
            !CU_add_test(s, "JSON round trip", test_json_round_trip) ||
            !CU_add_test(s, "JSON corruption rejected", test_json_rejects_corruption) ||
            !CU_add_test(s, "JSON random corruption never crashes", test_json_random_corruption))
                return -1;
        return 0;
}
