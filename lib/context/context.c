/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Window metrics, features, online normalisation, score and reward.
 * docs/context-and-reward.md explains every definition made here. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "context-private.h"
#include "util/util.h"

#define NS_PER_S 1e9
#define NS_PER_US 1e3

/* A feature whose running standard deviation is below this fraction of
 * max(1, |mean|) is treated as constant and given 0: dividing by a
 * rounding-error deviation would turn noise into +-clip. */
#define MIN_RELATIVE_SD 1e-9

static const char *const feature_names[ISCHED_F_COUNT] = {
        [ISCHED_F_BIAS] = "bias",
        [ISCHED_F_UTILISATION] = "utilisation",
        [ISCHED_F_VCPU_RATIO] = "vcpu_ratio",
        [ISCHED_F_WAKE_RATE] = "wake_rate",
        [ISCHED_F_WAKE_SPREAD] = "wake_spread",
};

ISCHED_EXPORT const char *isched_feature_name(unsigned i)
{
        return i < ISCHED_F_COUNT ? feature_names[i] : NULL;
}

static const char *const observation_names[ISCHED_OBS_COUNT] = {
        [ISCHED_OBS_UNKNOWN] = "unknown",
        [ISCHED_OBS_GROUND_TRUTH] = "ground-truth",
        [ISCHED_OBS_XEN] = "xen",
        [ISCHED_OBS_XEN_GUESTS] = "xen+guests",
};

ISCHED_EXPORT const char *isched_observation_to_string(enum isched_observation mode)
{
        return (unsigned)mode < ISCHED_OBS_COUNT ? observation_names[mode] : NULL;
}

ISCHED_EXPORT int isched_observation_from_string(const char *name, enum isched_observation *ret_mode)
{
        if (!name || !ret_mode)
                return isched__error(-EINVAL, "isched_observation_from_string: NULL argument");
        for (unsigned i = 0; i < ISCHED_OBS_COUNT; i++)
                if (strcmp(name, observation_names[i]) == 0) {
                        *ret_mode = (enum isched_observation)i;
                        return 0;
                }
        return isched__error(-EINVAL, "unknown observation mode \"%s\" (ground-truth, xen, xen+guests)", name);
}

ISCHED_EXPORT enum isched_observation isched_counters_observation(const char *backend_name,
                                                                  const struct isched_counters *counters)
{
        if (!counters)
                return ISCHED_OBS_UNKNOWN;
        /* The one place that maps counters to a mode. */
        if (counters->valid & ISCHED_CNT_GUEST_WORK)
                return ISCHED_OBS_XEN_GUESTS;
        if ((counters->valid & ISCHED_CNT_WORK) && backend_name &&
            (strcmp(backend_name, "sim") == 0 || strcmp(backend_name, "replay") == 0))
                return ISCHED_OBS_GROUND_TRUTH;
        if (counters->valid & ISCHED_CNT_WORK)
                return ISCHED_OBS_XEN_GUESTS;
        return ISCHED_OBS_XEN;
}

/* ---- window metrics ---------------------------------------------------- */

/* Bucket bounds [lo, hi) in ns (counters.h).  The open last bucket is
 * taken to have the width of the one before it. */
static void bucket_bounds_ns(unsigned i, double *lo, double *hi)
{
        uint64_t l = 0, h = 0;

        (void)isched_latency_bucket_range(i, &l, &h);
        *lo = (double)l;
        *hi = (double)h;
}

/* The representative latency of a bucket for the mean.  Buckets 0..7 hold
 * one exact value each; above, a bucket is at most 1/8 of its lower edge
 * wide, so its arithmetic midpoint is within 6% of any sample in it. */
static double bucket_midpoint_ns(unsigned i)
{
        double lo, hi;

        if (i < (1u << ISCHED_LATENCY_SUB_BITS))
                return (double)i;
        bucket_bounds_ns(i, &lo, &hi);
        return 0.5 * (lo + hi);
}

/* Mean and 99th percentile (in us) of the latency histogram difference.
 * An empty histogram (no wakeup was measured) gives 0 for both: nobody
 * waited.  The percentile is interpolated linearly inside its bucket, as
 * Prometheus's histogram_quantile() does. */
static void latency_from_histogram(const struct isched_counters *prev, const struct isched_counters *cur,
                                   double *ret_mean_us, double *ret_p99_us)
{
        double count[ISCHED_LATENCY_BUCKETS], total = 0.0, sum_ns = 0.0, target, cum = 0.0;
        double lo, hi, p99_ns = 0.0;

        for (unsigned i = 0; i < ISCHED_LATENCY_BUCKETS; i++) {
                count[i] = (double)(cur->wake_latency_hist[i] - prev->wake_latency_hist[i]);
                total += count[i];
                sum_ns += count[i] * bucket_midpoint_ns(i);
        }
        if (total <= 0.0) {
                *ret_mean_us = 0.0;
                *ret_p99_us = 0.0;
                return;
        }
        target = 0.99 * total;
        for (unsigned i = 0; i < ISCHED_LATENCY_BUCKETS; i++) {
                if (count[i] <= 0.0)
                        continue;
                if (cum + count[i] >= target) {
                        bucket_bounds_ns(i, &lo, &hi);
                        p99_ns = lo + (hi - lo) * (target - cum) / count[i];
                        break;
                }
                cum += count[i];
        }
        *ret_mean_us = sum_ns / total / NS_PER_US;
        *ret_p99_us = p99_ns / NS_PER_US;
}

/* Difference of a counter per second, or 0 if the counter is not valid. */
static double rate_per_s(uint32_t valid, uint32_t bit, uint64_t prev, uint64_t cur, double duration_s)
{
        return (valid & bit) ? (double)(cur - prev) / duration_s : 0.0;
}

static int check_metric(const char *name, double v)
{
        if (!isched__finite(v))
                return isched__error(-EDOM, "window metric %s is not a finite number; the window is skipped",
                                     name);
        if (v < 0.0)
                return isched__error(-EDOM, "window metric %s is negative (%g); the window is skipped", name, v);
        return 0;
}

/* Every metric of a window is finite and non-negative, utilisation is at
 * most 1 and the pool has pCPUs.  Used on windows we computed and on
 * windows callers hand in. */
static int check_window_metrics(const struct isched_window *w)
{
        const struct {
                const char *name;
                double v;
        } m[] = {
                { "utilisation", w->utilisation },       { "load", w->load },
                { "wakeups_per_s", w->wakeups_per_s },   { "lat_mean_us", w->lat_mean_us },
                { "lat_p99_us", w->lat_p99_us },         { "migrations_per_s", w->migrations_per_s },
                { "cswitches_per_s", w->cswitches_per_s }, { "balance_moves_per_s", w->balance_moves_per_s },
                { "throughput", w->throughput },
        };
        int r;

        if (w->duration_ns == 0 || w->nr_pcpus == 0)
                return isched__error(-EINVAL, "window has %s: not a window of isched_window_from_counters()",
                                     w->duration_ns == 0 ? "zero duration" : "no pCPUs");
        for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
                r = check_metric(m[i].name, m[i].v);
                if (r < 0)
                        return r;
        }
        if (w->utilisation > 1.0)
                return isched__error(-EDOM, "window utilisation %g is above 1; the window is skipped",
                                     w->utilisation);
        return 0;
}

ISCHED_EXPORT int isched_window_from_counters(const struct isched_counters *prev, const struct isched_counters *cur,
                                              struct isched_window *ret_window)
{
        struct isched_window w = { 0 };
        double duration_s, capacity_ns, busy, idle;
        uint32_t valid;
        int r;

        if (!ret_window)
                return isched__error(-EINVAL, "isched_window_from_counters: ret_window is NULL");
        r = isched_counters_check_window(prev, cur);
        if (r < 0)
                return r;
        if ((unsigned)cur->arrangement >= ISCHED_ARR_COUNT)
                return isched__error(-ERANGE, "counter snapshot reports an invalid arrangement %d",
                                     (int)cur->arrangement);

        /* A counter is usable only if both snapshots measured it. */
        valid = prev->valid & cur->valid;
        w.valid = valid;
        w.duration_ns = cur->timestamp_ns - prev->timestamp_ns;
        w.nr_pcpus = cur->nr_pcpus;
        w.nr_vcpus = cur->nr_vcpus;
        w.arrangement = cur->arrangement;
        duration_s = (double)w.duration_ns / NS_PER_S;
        capacity_ns = (double)w.duration_ns * w.nr_pcpus;

        if (valid & ISCHED_CNT_BUSY) {
                busy = (double)(cur->busy_ns - prev->busy_ns);
                idle = (double)(cur->idle_ns - prev->idle_ns);
                w.utilisation = busy + idle > 0.0 ? busy / (busy + idle) : 0.0;
        } else if (valid & ISCHED_CNT_GUEST) {
                /* Without busy/idle time, guest time over capacity is the
                 * closest measure (it misses hypervisor overhead). */
                w.utilisation = fmin(1.0, (double)(cur->guest_ns - prev->guest_ns) / capacity_ns);
        }
        /* Load needs both halves: guest time alone would be a lower bound
         * with another meaning, so it stays 0 ("unknown"). */
        if ((valid & ISCHED_CNT_GUEST) && (valid & ISCHED_CNT_WAIT))
                w.load = ((double)(cur->guest_ns - prev->guest_ns) +
                          (double)(cur->runnable_wait_ns - prev->runnable_wait_ns)) / capacity_ns;
        w.wakeups_per_s = rate_per_s(valid, ISCHED_CNT_WAKEUPS, prev->wakeups, cur->wakeups, duration_s);
        w.migrations_per_s = rate_per_s(valid, ISCHED_CNT_MIGRATIONS, prev->migrations, cur->migrations,
                                        duration_s);
        w.cswitches_per_s = rate_per_s(valid, ISCHED_CNT_CSWITCH, prev->context_switches,
                                       cur->context_switches, duration_s);
        w.balance_moves_per_s = rate_per_s(valid, ISCHED_CNT_BALANCE, prev->balance_moves, cur->balance_moves,
                                           duration_s);
        if (valid & ISCHED_CNT_LATENCY)
                latency_from_histogram(prev, cur, &w.lat_mean_us, &w.lat_p99_us);
        if (valid & ISCHED_CNT_WORK) {
                w.throughput = rate_per_s(valid, ISCHED_CNT_WORK, prev->work_units, cur->work_units,
                                          duration_s) / w.nr_pcpus;
                w.throughput_is_work = true;
                w.work_domains = cur->work_domains;
        } else if (valid & ISCHED_CNT_GUEST_WORK) {
                /* Observed through the guests, but none published valid
                 * work: no throughput, never CPU time in its place (the two
                 * are not comparable), so the window has no score. */
        } else if (valid & ISCHED_CNT_GUEST) {
                w.throughput = (double)(cur->guest_ns - prev->guest_ns) / capacity_ns;
        }

        r = check_window_metrics(&w);
        if (r < 0)
                return r;
        *ret_window = w;
        return 0;
}

/* ---- parameters and the context object ---------------------------------- */

ISCHED_EXPORT int isched_context_params_init(struct isched_context_params *params)
{
        if (!params)
                return isched__error(-EINVAL, "isched_context_params_init: params is NULL");
        *params = (struct isched_context_params){
                .size = sizeof(*params),
                .w_throughput = 1.0,
                .w_lat_mean = 0.25,
                .w_lat_p99 = 0.25,
                .switch_penalty = 0.02,
                .baseline_halflife = 50.0,
                .clip = 5.0,
        };
        return 0;
}

static int check_nonneg(const char *where, const char *field, double v)
{
        if (!isched__finite(v) || v < 0.0)
                return isched__error(-EINVAL, "%s%s must be a finite number >= 0, not %g", where, field, v);
        return 0;
}

int isched__context_params_check(const struct isched_context_params *p, const char *where)
{
        int r;

        if (p->size < sizeof(struct isched_context_params))
                return isched__error(-EINVAL, "%ssize %zu is smaller than this library's %zu: start from isched_context_params_init()",
                                     where, p->size, sizeof(struct isched_context_params));
        if ((r = check_nonneg(where, "w_throughput", p->w_throughput)) < 0 ||
            (r = check_nonneg(where, "w_lat_mean", p->w_lat_mean)) < 0 ||
            (r = check_nonneg(where, "w_lat_p99", p->w_lat_p99)) < 0 ||
            (r = check_nonneg(where, "switch_penalty", p->switch_penalty)) < 0)
                return r;
        if (p->w_throughput + p->w_lat_mean + p->w_lat_p99 <= 0.0)
                return isched__error(-EINVAL, "%sw_throughput, w_lat_mean and w_lat_p99 are all 0: the reward would be constant",
                                     where);
        if (!isched__finite(p->baseline_halflife) || p->baseline_halflife <= 0.0)
                return isched__error(-EINVAL, "%sbaseline_halflife must be a finite number of windows > 0, not %g",
                                     where, p->baseline_halflife);
        if (!isched__finite(p->clip) || p->clip <= 0.0)
                return isched__error(-EINVAL, "%sclip must be a finite number > 0, not %g", where, p->clip);
        return 0;
}

ISCHED_EXPORT int isched_context_new(const struct isched_context_params *params, struct isched_context **ret_context)
{
        struct isched_context *c;
        int r;

        if (!params || !ret_context)
                return isched__error(-EINVAL, "isched_context_new: params and ret_context are required");
        r = isched__context_params_check(params, "context params: ");
        if (r < 0)
                return r;
        c = calloc(1, sizeof(*c));
        if (!c)
                return isched__error(-ENOMEM, "out of memory creating a context builder");
        c->params = *params;
        c->params.size = sizeof(c->params);
        c->baseline = NAN;
        isched_calibration_init(&c->calibration);
        *ret_context = c;
        return 0;
}

ISCHED_EXPORT struct isched_context *isched_context_free(struct isched_context *context)
{
        free(context);
        return NULL;
}

ISCHED_EXPORT int isched_context_clone(const struct isched_context *context, struct isched_context **ret_context)
{
        struct isched_context *c;

        if (!context || !ret_context)
                return isched__error(-EINVAL, "isched_context_clone: NULL argument");
        c = malloc(sizeof(*c));
        if (!c)
                return isched__error(-ENOMEM, "out of memory copying a context builder");
        *c = *context;
        *ret_context = c;
        return 0;
}

ISCHED_EXPORT int isched_context_get_params(const struct isched_context *context,
                                            struct isched_context_params *ret_params)
{
        if (!context || !ret_params)
                return isched__error(-EINVAL, "isched_context_get_params: NULL argument");
        *ret_params = context->params;
        return 0;
}

/* ---- features --------------------------------------------------------- */

/* Only what the workload decides, not the arrangement (context.h): the
 * busy fraction, the overcommitment, and how often vCPUs block per unit of
 * CPU time they use and per pCPU.  Rates enter through log1p, in units
 * that put typical values near 1. */
static void raw_features(const struct isched_window *w, double *x)
{
        const double pcpus = w->nr_pcpus, busy_ms_per_s = w->utilisation * pcpus * 1e3;

        x[ISCHED_F_BIAS] = 1.0;
        x[ISCHED_F_UTILISATION] = w->utilisation;
        x[ISCHED_F_VCPU_RATIO] = (double)w->nr_vcpus / pcpus;
        x[ISCHED_F_WAKE_RATE] = busy_ms_per_s > 0.0 ? log1p(w->wakeups_per_s / busy_ms_per_s) : 0.0;
        x[ISCHED_F_WAKE_SPREAD] = log1p(w->wakeups_per_s / pcpus / 1e3);
}

/* Welford's update of feature i's running mean and squared deviations. */
static void normaliser_update(struct isched_context *c, const double *x)
{
        c->norm_count++;
        for (unsigned i = ISCHED_F_BIAS + 1; i < ISCHED_F_COUNT; i++) {
                const double delta = x[i] - c->norm_mean[i];

                c->norm_mean[i] += delta / (double)c->norm_count;
                c->norm_m2[i] += delta * (x[i] - c->norm_mean[i]);
        }
}

/* Standardise with the sample standard deviation and clip.  Until two
 * windows have been seen, or while a feature has not varied, it is 0:
 * "as usual", which carries no information, rather than a guess. */
static double normalise(const struct isched_context *c, unsigned i, double x)
{
        double sd, z;

        if (c->norm_count < 2)
                return 0.0;
        sd = sqrt(c->norm_m2[i] / (double)(c->norm_count - 1));
        if (!(sd > MIN_RELATIVE_SD * fmax(1.0, fabs(c->norm_mean[i]))))
                return 0.0;
        z = (x - c->norm_mean[i]) / sd;
        return fmax(-c->params.clip, fmin(c->params.clip, z));
}

ISCHED_EXPORT int isched_context_features(struct isched_context *context, const struct isched_window *window,
                                          double *ret_x, size_t d, double *ret_raw)
{
        double raw[ISCHED_F_COUNT], x[ISCHED_F_COUNT];
        int r;

        if (!context || !window || !ret_x)
                return isched__error(-EINVAL, "isched_context_features: NULL argument");
        if (d != ISCHED_F_COUNT)
                return isched__error(-EINVAL, "context dimension %zu requested, schema %s has %d features", d,
                                     ISCHED_FEATURE_SCHEMA, ISCHED_F_COUNT);
        r = check_window_metrics(window);
        if (r < 0)
                return r;
        raw_features(window, raw);
        for (unsigned i = 0; i < ISCHED_F_COUNT; i++)
                if (!isched__finite(raw[i]))
                        return isched__error(-EDOM, "feature %s is not finite; the window is skipped",
                                             feature_names[i]);

        normaliser_update(context, raw);
        x[ISCHED_F_BIAS] = 1.0;
        for (unsigned i = ISCHED_F_BIAS + 1; i < ISCHED_F_COUNT; i++)
                x[i] = normalise(context, i, raw[i]);
        memcpy(ret_x, x, sizeof(x));
        if (ret_raw)
                memcpy(ret_raw, raw, sizeof(raw));
        return 0;
}

/* ---- score and reward --------------------------------------------------- */

ISCHED_EXPORT int isched_context_score(const struct isched_context_params *params, const struct isched_window *window,
                                       double *ret_score)
{
        double s;
        int r;

        if (!params || !window || !ret_score)
                return isched__error(-EINVAL, "isched_context_score: NULL argument");
        r = isched__context_params_check(params, "context params: ");
        if (r < 0)
                return r;
        r = check_window_metrics(window);
        if (r < 0)
                return r;
        if (!(window->throughput > 0.0))
                return isched__error(-EDOM, "window throughput is 0 (%s): no score; the window is skipped",
                                     (window->valid & (ISCHED_CNT_GUEST_WORK | ISCHED_CNT_WORK)) ==
                                                     ISCHED_CNT_GUEST_WORK ?
                                             "no guest of the pool published valid work" :
                                     (window->valid & (ISCHED_CNT_WORK | ISCHED_CNT_GUEST)) ?
                                             "the pool did no work" :
                                             "the backend measures neither work nor guest time");
        s = params->w_throughput * log(window->throughput) - params->w_lat_mean * log1p(window->lat_mean_us) -
            params->w_lat_p99 * log1p(window->lat_p99_us);
        if (!isched__finite(s))
                return isched__error(-EDOM, "window score is not finite; the window is skipped");
        *ret_score = s;
        return 0;
}

ISCHED_EXPORT int isched_context_reward(struct isched_context *context, const struct isched_window *window,
                                        bool switched, double *ret_reward)
{
        double score, alpha, reward;
        int r;

        if (!context || !window || !ret_reward)
                return isched__error(-EINVAL, "isched_context_reward: NULL argument");
        r = isched_context_score(&context->params, window, &score);
        if (r < 0)
                return r;
        if (context->baseline_count == 0)
                context->baseline = score;
        reward = score - context->baseline - (switched ? context->params.switch_penalty : 0.0);
        /* An EWMA with half-life h windows keeps 2^(-1/h) of the old value.
         * Warm start: while 1/(n+1) is larger, the baseline is the plain mean
         * of the n+1 scores so far, so that the first window (often a
         * start-up transient) does not weigh on it for a whole half-life. */
        alpha = 1.0 - exp2(-1.0 / context->params.baseline_halflife);
        alpha = fmax(alpha, 1.0 / ((double)context->baseline_count + 1.0));
        context->baseline += alpha * (score - context->baseline);
        context->baseline_count++;
        *ret_reward = reward;
        return 0;
}

ISCHED_EXPORT double isched_context_get_baseline(const struct isched_context *context)
{
        if (!context || context->baseline_count == 0)
                return NAN;
        return context->baseline;
}

ISCHED_EXPORT int isched_calibration_init(struct isched_calibration *cal)
{
        if (!cal)
                return isched__error(-EINVAL, "isched_calibration_init: NULL argument");
        *cal = (struct isched_calibration){ .size = sizeof(*cal), .noise_sd = NAN, .switch_cost = NAN };
        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                cal->model_error[a] = NAN;
        return 0;
}

ISCHED_EXPORT int isched_context_get_calibration(const struct isched_context *context,
                                                 struct isched_calibration *ret_cal)
{
        if (!context || !ret_cal)
                return isched__error(-EINVAL, "isched_context_get_calibration: NULL argument");
        *ret_cal = context->calibration;
        return 0;
}

/* A calibration value is NaN (unknown) or finite and >= 0; a weight finite and >= 0. */
static int check_calibration_pair(const char *name, double v, double w)
{
        if (!(isnan(v) || (isched__finite(v) && v >= 0.0)) || !isched__finite(w) || w < 0.0)
                return isched__error(-EINVAL, "calibration: %s must be unknown (NaN) or finite and >= 0, "
                                              "with a finite weight >= 0", name);
        return 0;
}

int isched__calibration_check(const struct isched_calibration *cal)
{
        int r;

        if (cal->size < sizeof(*cal))
                return isched__error(-EINVAL, "calibration size %zu is smaller than this library's %zu", cal->size,
                                     sizeof(*cal));
        if ((r = check_calibration_pair("noise_sd", cal->noise_sd, cal->noise_weight)) < 0 ||
            (r = check_calibration_pair("switch_cost", cal->switch_cost, cal->switch_cost_weight)) < 0)
                return r;
        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                if ((r = check_calibration_pair("model_error", cal->model_error[a], cal->model_error_weight[a])) < 0)
                        return r;
        return 0;
}

ISCHED_EXPORT int isched_context_set_calibration(struct isched_context *context, const struct isched_calibration *cal)
{
        int r;

        if (!context || !cal)
                return isched__error(-EINVAL, "isched_context_set_calibration: NULL argument");
        r = isched__calibration_check(cal);
        if (r < 0)
                return r;
        context->calibration = *cal;
        context->calibration.size = sizeof(*cal);
        return 0;
}

ISCHED_EXPORT enum isched_observation isched_context_get_observation(const struct isched_context *context)
{
        return context ? context->observation : ISCHED_OBS_UNKNOWN;
}

ISCHED_EXPORT int isched_context_set_observation(struct isched_context *context, enum isched_observation mode)
{
        if (!context || (unsigned)mode >= ISCHED_OBS_COUNT || mode == ISCHED_OBS_UNKNOWN)
                return isched__error(-EINVAL, "isched_context_set_observation: NULL context or invalid mode");
        if (context->observation != ISCHED_OBS_UNKNOWN && context->observation != mode)
                return isched__error(-EDOM,
                                     "the model was learned from observation mode %s and this pool is observed in mode %s: "
                                     "their scores are not comparable",
                                     observation_names[context->observation], observation_names[mode]);
        context->observation = mode;
        return 0;
}
