/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "intellisched/counters.h"
#include "intellisched/version.h"
#include "util.h"

static const char *const arrangement_names[ISCHED_ARR_COUNT] = {
        [ISCHED_ARR_CPU] = "cpu",
        [ISCHED_ARR_CORE] = "core",
        [ISCHED_ARR_SOCKET] = "socket",
        [ISCHED_ARR_NODE] = "node",
        [ISCHED_ARR_ALL] = "all",
};

static isched_log_fn log_fn;
static void *log_userdata;
static enum isched_log_priority log_max_priority = ISCHED_LOG_INFO;
static _Thread_local char last_error[512];

ISCHED_EXPORT const char *isched_arrangement_to_string(enum isched_arrangement a)
{
        if ((unsigned)a >= ISCHED_ARR_COUNT)
                return NULL;
        return arrangement_names[a];
}

ISCHED_EXPORT int isched_arrangement_from_string(const char *name,
                                                 enum isched_arrangement *ret_arrangement)
{
        if (!name || !ret_arrangement)
                return isched__error(-EINVAL, "arrangement name is missing");
        for (unsigned i = 0; i < ISCHED_ARR_COUNT; i++) {
                if (strcmp(name, arrangement_names[i]) == 0) {
                        *ret_arrangement = (enum isched_arrangement)i;
                        return 0;
                }
        }
        return isched__error(-EINVAL, "unknown arrangement '%s': use cpu, core, socket, node or all",
                             name);
}

ISCHED_EXPORT void isched_set_log_fn(isched_log_fn fn, enum isched_log_priority max_priority,
                                     void *userdata)
{
        log_fn = fn;
        log_max_priority = max_priority;
        log_userdata = userdata;
}

static void log_va(enum isched_log_priority prio, const char *fmt, va_list ap)
{
        char buf[1024];

        if (!log_fn || prio > log_max_priority)
                return;
        vsnprintf(buf, sizeof(buf), fmt, ap);
        log_fn(prio, buf, log_userdata);
}

void isched__log(enum isched_log_priority prio, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_va(prio, fmt, ap);
        va_end(ap);
}

int isched__error(int err, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(last_error, sizeof(last_error), fmt, ap);
        va_end(ap);
        isched__log(ISCHED_LOG_DEBUG, "%s", last_error);
        return err;
}

void isched__clear_error(void)
{
        last_error[0] = '\0';
}

ISCHED_EXPORT const char *isched_last_error(void)
{
        return last_error;
}

ISCHED_EXPORT const char *isched_version(void)
{
        return ISCHED_VERSION_STRING;
}

ISCHED_EXPORT unsigned isched_latency_bucket(uint64_t latency_ns)
{
        const unsigned sub = 1u << ISCHED_LATENCY_SUB_BITS;
        unsigned e, b;

        if (latency_ns < sub)
                return (unsigned)latency_ns;
        e = 63u - (unsigned)__builtin_clzll(latency_ns);
        b = sub * (e - ISCHED_LATENCY_SUB_BITS + 1) +
            (unsigned)((latency_ns >> (e - ISCHED_LATENCY_SUB_BITS)) & (sub - 1));
        return b < ISCHED_LATENCY_BUCKETS - 1 ? b : ISCHED_LATENCY_BUCKETS - 1;
}

ISCHED_EXPORT int isched_latency_bucket_range(unsigned bucket, uint64_t *ret_lo_ns, uint64_t *ret_hi_ns)
{
        const unsigned sub = 1u << ISCHED_LATENCY_SUB_BITS;
        unsigned e;

        if (!ret_lo_ns || !ret_hi_ns)
                return isched__error(-EINVAL, "isched_latency_bucket_range: NULL out-parameter");
        if (bucket >= ISCHED_LATENCY_BUCKETS)
                return isched__error(-ERANGE, "latency bucket %u out of range 0..%u", bucket,
                                     ISCHED_LATENCY_BUCKETS - 1);
        if (bucket < sub) {
                *ret_lo_ns = bucket;
                *ret_hi_ns = bucket + 1;
                return 0;
        }
        e = bucket / sub + ISCHED_LATENCY_SUB_BITS - 1;
        *ret_lo_ns = (uint64_t)(sub + bucket % sub) << (e - ISCHED_LATENCY_SUB_BITS);
        *ret_hi_ns = *ret_lo_ns + (UINT64_C(1) << (e - ISCHED_LATENCY_SUB_BITS));
        return 0;
}

#define CHECK_GROWS(field)                                                                  \
        do {                                                                                \
                if (cur->field < prev->field)                                               \
                        return isched__error(-ERANGE,                                      \
                                             "counter " #field " went backwards (%llu -> %llu): " \
                                             "a wrap or a reset; the window is skipped",    \
                                             (unsigned long long)prev->field,               \
                                             (unsigned long long)cur->field);               \
        } while (0)

ISCHED_EXPORT int isched_counters_check_window(const struct isched_counters *prev,
                                               const struct isched_counters *cur)
{
        double elapsed_ns, capacity_ns;

        if (!prev || !cur)
                return isched__error(-EINVAL, "isched_counters_check_window: NULL argument");
        if (prev->version != ISCHED_COUNTERS_VERSION || cur->version != ISCHED_COUNTERS_VERSION)
                return isched__error(-EINVAL, "counter snapshot version %u/%u, expected %u",
                                     prev->version, cur->version, ISCHED_COUNTERS_VERSION);
        if (cur->nr_pcpus == 0)
                return isched__error(-ERANGE, "counter snapshot reports a pool with no pCPUs");
        if (cur->nr_pcpus != prev->nr_pcpus)
                return isched__error(-ESTALE, "the pool changed from %u to %u pCPUs during the window",
                                     prev->nr_pcpus, cur->nr_pcpus);
        if (cur->timestamp_ns <= prev->timestamp_ns)
                return isched__error(-ERANGE, "counter timestamp did not advance (%llu -> %llu)",
                                     (unsigned long long)prev->timestamp_ns,
                                     (unsigned long long)cur->timestamp_ns);
        if ((prev->valid ^ cur->valid) & ISCHED_CNT_GUEST_WORK)
                return isched__error(-ESTALE,
                                     "the observation of guest-published work started or stopped during the window");
        if (cur->work_generation != prev->work_generation)
                return isched__error(-ESTALE,
                                     "a guest's published work left the pool's sum during the window (generation %u -> %u: "
                                     "it stopped publishing, went backwards, jumped or left the pool); the window is skipped",
                                     prev->work_generation, cur->work_generation);
        CHECK_GROWS(busy_ns);
        CHECK_GROWS(idle_ns);
        CHECK_GROWS(guest_ns);
        CHECK_GROWS(runnable_wait_ns);
        CHECK_GROWS(wakeups);
        CHECK_GROWS(context_switches);
        CHECK_GROWS(migrations);
        CHECK_GROWS(balance_checks);
        CHECK_GROWS(balance_moves);
        CHECK_GROWS(work_units);
        for (unsigned i = 0; i < ISCHED_LATENCY_BUCKETS; i++)
                CHECK_GROWS(wake_latency_hist[i]);

        elapsed_ns = (double)(cur->timestamp_ns - prev->timestamp_ns);
        capacity_ns = elapsed_ns * cur->nr_pcpus * 1.01;
        if ((cur->valid & ISCHED_CNT_BUSY) &&
            (double)(cur->busy_ns - prev->busy_ns) + (double)(cur->idle_ns - prev->idle_ns) > capacity_ns)
                return isched__error(-ERANGE,
                                     "busy + idle time (%.0f ns) exceeds elapsed time x pCPUs (%.0f ns)",
                                     (double)(cur->busy_ns - prev->busy_ns) +
                                             (double)(cur->idle_ns - prev->idle_ns),
                                     elapsed_ns * cur->nr_pcpus);
        return 0;
}
