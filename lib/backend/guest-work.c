/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Guest-published work: validation and per-pool aggregation
 * (guest-work.h, docs/guest-work.md). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-work.h"
#include "util/util.h"

#define WEIGHT_MAX 1e6
#define NS_PER_S 1e9

/* What the tracker remembers of one domain of one pool. */
struct guest_entry {
        uint32_t pool;
        uint32_t domid;
        uint8_t handle[16];
        char name[ISCHED_GUEST_NAME_MAX];
        enum isched__guest_state state;
        enum isched__guest_fault fault;
        double weight;
        bool have_last;        /* last_work/last_time hold an accepted publication */
        uint64_t last_work;
        uint64_t last_time_ns;
        uint64_t last_now_ns;  /* dom0 time of that publication's read */
        double inc;            /* weighted work of this read, -1 for none */
        unsigned intervals;    /* accepted intervals since it (re)joined */
        double peak_rate;      /* highest accepted rate since it (re)joined, per ns */
        double rate;           /* last accepted rate, per ns (if have_rate) */
        bool have_rate;        /* an interval was ever accepted: without one it has no rate */
        double share;
        uint64_t faults;
        char reason[160];
        bool seen;             /* in the current read */
};

struct guest_pool {
        uint32_t pool;
        uint64_t last_now_ns;  /* 0: never read */
        uint64_t work_units;
        double frac;           /* the fraction of a work unit not yet in work_units */
        uint32_t generation;
        struct isched__guest_pool_result last; /* of the last read */
};

struct isched__guest_tracker {
        struct isched__guest_params params;
        struct isched__guest_weight *weights; /* own copy */
        struct guest_entry *entries;
        size_t nr_entries, cap_entries;
        struct guest_pool *pools;
        size_t nr_pools, cap_pools;
        double *scratch;       /* increments of one read */
        size_t cap_scratch;
};

static const char *const fault_names[ISCHED_GUEST_FAULT_COUNT] = {
        [ISCHED_GUEST_OK] = "ok",
        [ISCHED_GUEST_MALFORMED] = "malformed",
        [ISCHED_GUEST_STALE] = "stale",
        [ISCHED_GUEST_BACKWARDS] = "went backwards",
        [ISCHED_GUEST_WRAPPED] = "wrapped",
        [ISCHED_GUEST_JUMP] = "implausible jump",
        [ISCHED_GUEST_CLOCK] = "implausible clock",
};

static const char *const state_names[] = {
        [ISCHED_GUEST_ABSENT] = "absent",
        [ISCHED_GUEST_EXCLUDED] = "excluded",
        [ISCHED_GUEST_JOINING] = "joining",
        [ISCHED_GUEST_LIVE] = "live",
        [ISCHED_GUEST_FAULT] = "fault",
};

const char *isched__guest_fault_name(enum isched__guest_fault f)
{
        return (unsigned)f < ISCHED_GUEST_FAULT_COUNT ? fault_names[f] : NULL;
}

const char *isched__guest_state_name(enum isched__guest_state s)
{
        return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : NULL;
}

int isched__guest_parse_u64(const char *text, uint64_t *ret)
{
        uint64_t v = 0;
        size_t len;

        if (!text || !ret)
                return -EINVAL;
        len = strlen(text);
        if (len == 0 || len > ISCHED_GUEST_VALUE_MAX)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                const unsigned d = (unsigned char)text[i] - '0';

                if (d > 9)
                        return -EINVAL;
                if (v > (UINT64_MAX - d) / 10)
                        return -EINVAL;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

static bool lost_connection(int err)
{
        return err != 0 && err != ENOENT && err != EACCES && err != EPERM && err != EINVAL && err != E2BIG;
}

int isched__guest_read_publication(isched__guest_read_fn read, void *ctx, struct isched__guest_sample *s,
                                   char *why, size_t why_size)
{
        char *t1 = NULL, *w = NULL, *t2 = NULL;
        int err = 0;

        s->present = false;
        s->malformed = NULL;
        s->unsettled = false;
        for (unsigned attempt = 0; attempt < ISCHED_GUEST_READ_ATTEMPTS; attempt++) {
                free(t1);
                free(w);
                free(t2);
                t2 = NULL;
                errno = 0;
                t1 = read(ctx, "time_ns");
                err = t1 ? 0 : errno;
                if (lost_connection(err))
                        break;
                errno = 0;
                w = read(ctx, "work");
                if (!w && !err)
                        err = errno;
                if ((!t1 && !w) || lost_connection(err))
                        break;
                if (!t1 || !w)
                        continue; /* half a publication: appearing or going */
                t2 = read(ctx, "time_ns");
                if (t2 && strcmp(t1, t2) == 0)
                        break;
        }
        if (lost_connection(err) || (!t1 && !w))
                goto out;
        s->present = true;
        if (!t1 || !w) {
                snprintf(why, why_size, "it publishes %s without %s", t1 ? "time_ns" : "work",
                         t1 ? "work" : "time_ns");
                s->malformed = why;
        } else if (!t2 || strcmp(t1, t2) != 0) {
                s->unsettled = true;
        } else if (isched__guest_parse_u64(w, &s->work) < 0) {
                snprintf(why, why_size, "work \"%.24s\" is not a decimal number of at most 20 digits", w);
                s->malformed = why;
        } else if (isched__guest_parse_u64(t1, &s->time_ns) < 0) {
                snprintf(why, why_size, "time_ns \"%.24s\" is not a decimal number of at most 20 digits", t1);
                s->malformed = why;
        }
out:
        free(t1);
        free(w);
        free(t2);
        return lost_connection(err) ? err : 0;
}

static int parse_weight_entry(const char *entry, size_t len, struct isched__guest_weight *w)
{
        const char *eq = memchr(entry, '=', len);
        char num[32], *end;
        size_t name_len;

        if (!eq)
                return isched__error(-EINVAL, "entry \"%.*s\": expected NAME=WEIGHT", (int)len,
                                     entry);
        name_len = (size_t)(eq - entry);
        if (name_len == 0 || name_len >= sizeof(w->name))
                return isched__error(-EINVAL,
                                     "entry \"%.*s\": the domain name must be 1 to %u characters",
                                     (int)len, entry, ISCHED_GUEST_NAME_MAX - 1);
        if (len - name_len - 1 == 0 || len - name_len - 1 >= sizeof(num))
                return isched__error(-EINVAL, "entry \"%.*s\": missing or overlong weight", (int)len,
                                     entry);
        memcpy(w->name, entry, name_len);
        w->name[name_len] = '\0';
        memcpy(num, eq + 1, len - name_len - 1);
        num[len - name_len - 1] = '\0';
        errno = 0;
        w->weight = strtod(num, &end);
        if (errno != 0 || *end != '\0' || end == num || !isched__finite(w->weight) || w->weight < 0.0 ||
            w->weight > WEIGHT_MAX)
                return isched__error(-EINVAL, "entry \"%.*s\": the weight must be a number from 0 to %g",
                                     (int)len, entry, WEIGHT_MAX);
        return 0;
}

int isched__guest_parse_weights(const char *text, struct isched__guest_weight **ret, size_t *ret_n)
{
        struct isched__guest_weight *w;
        size_t n = 1, i = 0;
        const char *p;
        int r;

        if (!text || !ret || !ret_n)
                return isched__error(-EINVAL, "isched__guest_parse_weights: NULL argument");
        if (*text == '\0') {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        for (p = text; *p; p++)
                n += *p == ',';
        w = calloc(n, sizeof(*w));
        if (!w)
                return isched__error(-ENOMEM, "out of memory parsing guest weights");
        for (p = text;; i++) {
                const char *comma = strchr(p, ',');
                const size_t len = comma ? (size_t)(comma - p) : strlen(p);

                r = parse_weight_entry(p, len, &w[i]);
                if (r < 0)
                        goto fail;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(w[j].name, w[i].name) == 0) {
                                r = isched__error(-EINVAL, "domain \"%s\" given twice",
                                                  w[i].name);
                                goto fail;
                        }
                if (!comma)
                        break;
                p = comma + 1;
        }
        *ret = w;
        *ret_n = n;
        return 0;
fail:
        free(w);
        return r;
}

ISCHED_EXPORT int isched_backend_check_guest_weights(const char *guest_weights)
{
        struct isched__guest_weight *w = NULL;
        size_t n = 0;
        int r;

        if (!guest_weights)
                return 0;
        r = isched__guest_parse_weights(guest_weights, &w, &n);
        free(w);
        return r;
}

int isched__guest_tracker_new(const struct isched__guest_params *params, struct isched__guest_tracker **ret)
{
        struct isched__guest_params p = {
                .share_cap = ISCHED_GUEST_SHARE_CAP_DEFAULT,
                .jump_factor = ISCHED_GUEST_JUMP_FACTOR_DEFAULT,
        };
        struct isched__guest_tracker *t;

        if (!ret)
                return isched__error(-EINVAL, "isched__guest_tracker_new: NULL argument");
        if (params)
                p = *params;
        if (!isched__finite(p.share_cap) || p.share_cap <= 0.0 || p.share_cap > 1.0)
                return isched__error(-EINVAL, "guest share cap %g: must be in (0, 1]", p.share_cap);
        if (!isched__finite(p.jump_factor) || p.jump_factor <= 1.0)
                return isched__error(-EINVAL, "guest jump factor %g: must be above 1", p.jump_factor);
        if (p.nr_weights && !p.weights)
                return isched__error(-EINVAL, "isched__guest_tracker_new: weights is NULL");
        t = calloc(1, sizeof(*t));
        if (!t)
                return isched__error(-ENOMEM, "out of memory for the guest work tracker");
        if (p.nr_weights) {
                t->weights = malloc(p.nr_weights * sizeof(*t->weights));
                if (!t->weights) {
                        free(t);
                        return isched__error(-ENOMEM, "out of memory for the guest work tracker");
                }
                memcpy(t->weights, p.weights, p.nr_weights * sizeof(*t->weights));
        }
        p.weights = t->weights;
        t->params = p;
        *ret = t;
        return 0;
}

struct isched__guest_tracker *isched__guest_tracker_free(struct isched__guest_tracker *t)
{
        if (t) {
                free(t->weights);
                free(t->entries);
                free(t->pools);
                free(t->scratch);
                free(t);
        }
        return NULL;
}

static double weight_of(const struct isched__guest_tracker *t, const char *name)
{
        for (size_t i = 0; name && i < t->params.nr_weights; i++)
                if (strcmp(t->params.weights[i].name, name) == 0)
                        return t->params.weights[i].weight;
        return 1.0;
}

static int reserve(void **array, size_t *cap, size_t need, size_t size)
{
        void *grown;
        size_t n;

        if (need <= *cap)
                return 0;
        n = *cap ? *cap : 8;
        while (n < need)
                n *= 2;
        grown = realloc(*array, n * size);
        if (!grown)
                return isched__error(-ENOMEM, "out of memory tracking guest work");
        *array = grown;
        *cap = n;
        return 0;
}

static struct guest_pool *find_pool(struct isched__guest_tracker *t, uint32_t pool)
{
        for (size_t i = 0; i < t->nr_pools; i++)
                if (t->pools[i].pool == pool)
                        return &t->pools[i];
        return NULL;
}

static struct guest_entry *find_entry(struct isched__guest_tracker *t, uint32_t pool,
                                      const struct isched__guest_sample *s)
{
        for (size_t i = 0; i < t->nr_entries; i++) {
                struct guest_entry *e = &t->entries[i];

                if (e->pool == pool && e->domid == s->domid && memcmp(e->handle, s->handle, sizeof(e->handle)) == 0)
                        return e;
        }
        return NULL;
}

/* A change into or out of the pool's sum is logged. */
static void enter(struct guest_entry *e, enum isched__guest_state state)
{
        if (state != e->state && (state == ISCHED_GUEST_LIVE || e->state == ISCHED_GUEST_LIVE))
                isched__log(ISCHED_LOG_INFO, "pool %" PRIu32 ": domain %s (%" PRIu32 ") is %s", e->pool, e->name,
                            e->domid, state_names[state]);
        e->state = state;
}

static void refuse(struct guest_entry *e, enum isched__guest_fault fault, const char *fmt, ...) ISCHED_PRINTF(3, 4);

/* A refused publication is counted and remembered; logged when the
 * domain was not already refused for the same reason. */
static void refuse(struct guest_entry *e, enum isched__guest_fault fault, const char *fmt, ...)
{
        const bool repeated = e->state == ISCHED_GUEST_FAULT && e->fault == fault;
        va_list ap;

        e->fault = fault;
        e->faults++;
        va_start(ap, fmt);
        vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
        va_end(ap);
        if (!repeated)
                isched__log(ISCHED_LOG_WARNING, "pool %" PRIu32 ": domain %s (%" PRIu32 ") %s: %s; %s", e->pool,
                    e->name, e->domid, fault_names[fault], e->reason,
                    e->state == ISCHED_GUEST_LIVE ? "its work leaves the pool's sum and the window is skipped"
                                                  : "its work is not counted");
        e->state = ISCHED_GUEST_FAULT;
}

/* Remember an accepted publication, read at dom0 time now_ns, as the start
 * of the domain's next interval. */
static void rebase(struct guest_entry *e, const struct isched__guest_sample *s, uint64_t now_ns, bool keep_history)
{
        e->have_last = true;
        e->last_work = s->work;
        e->last_time_ns = s->time_ns;
        e->last_now_ns = now_ns;
        if (!keep_history) {
                e->intervals = 0;
                e->peak_rate = 0.0;
        }
}

/* A counter that went backwards from just below 2^32 or 2^64 to a small
 * value wrapped; anything else going backwards is a reset (or a lie). */
static bool looks_wrapped(uint64_t prev, uint64_t cur)
{
        const uint64_t q32 = UINT64_C(1) << 30, q64 = UINT64_C(1) << 62;

        if (prev < (UINT64_C(1) << 32) && prev >= (UINT64_C(1) << 32) - q32 && cur < q32)
                return true;
        return prev >= UINT64_MAX - q64 && cur < q64;
}

/* Validate a domain's new publication, read at now_ns, against its last
 * accepted one.  Returns its rate in work units per ns, or a negative value
 * when the publication is refused (the entry says why). */
static double check_interval(const struct isched__guest_tracker *t, struct guest_entry *e,
                             const struct isched__guest_sample *s, uint64_t now_ns)
{
        const double dt = (double)(now_ns - e->last_now_ns);
        double dg, ratio, rate;

        if (s->time_ns == e->last_time_ns) {
                refuse(e, ISCHED_GUEST_STALE, "no new publication for %.3f s (time_ns still %" PRIu64 ")",
                       dt / NS_PER_S, s->time_ns);
                return -1.0;
        }
        if (s->time_ns < e->last_time_ns) {
                refuse(e, ISCHED_GUEST_CLOCK,
                       "its publication time went backwards (%" PRIu64 " -> %" PRIu64 " ns): the publisher or the guest restarted",
                       e->last_time_ns, s->time_ns);
                return -1.0;
        }
        if (s->work < e->last_work) {
                const bool wrapped = looks_wrapped(e->last_work, s->work);

                refuse(e, wrapped ? ISCHED_GUEST_WRAPPED : ISCHED_GUEST_BACKWARDS, "work %" PRIu64 " -> %" PRIu64 "%s",
                       e->last_work, s->work,
                       wrapped ? " (a counter narrower than 64 bits wrapped)" : " (a reset, or a lie)");
                return -1.0;
        }
        dg = (double)(s->time_ns - e->last_time_ns);
        ratio = dt / dg;
        if (ratio > ISCHED_GUEST_CLOCK_RATIO_MAX || ratio < 1.0 / ISCHED_GUEST_CLOCK_RATIO_MAX) {
                refuse(e, ISCHED_GUEST_CLOCK, "its publication time advanced %.3f s while dom0's advanced %.3f s",
                       dg / NS_PER_S, dt / NS_PER_S);
                return -1.0;
        }
        rate = (double)(s->work - e->last_work) / dg;
        if (e->intervals >= ISCHED_GUEST_JUMP_HISTORY && e->peak_rate > 0.0 &&
            rate > t->params.jump_factor * e->peak_rate) {
                refuse(e, ISCHED_GUEST_JUMP, "%.6g work units/s, more than %g x its highest rate so far (%.6g/s)",
                       rate * NS_PER_S, t->params.jump_factor, e->peak_rate * NS_PER_S);
                return -1.0;
        }
        return rate;
}

static int cmp_desc(const void *a, const void *b)
{
        const double x = *(const double *)a, y = *(const double *)b;

        return (x < y) - (x > y);
}

/* Water-filling: with c = max(cap, 1/n), n the domains that did work in
 * this read (one that did none cannot be dominated), find the level L with
 * x_i' = min(x_i, L) and L = c sum(x'), so that no domain has more than the
 * share c of the pool's increment.  With the k largest capped, L = c R /
 * (1 - k c), R the sum of the others.  x is overwritten with x'; sorted is
 * scratch space of n; returns sum(x'). */
static double cap_shares(double *x, double *sorted, size_t n, double cap)
{
        double c, rest = 0.0, level = 0.0, total = 0.0;
        size_t active = 0;

        for (size_t i = 0; i < n; i++)
                active += x[i] > 0.0;
        if (active == 0)
                return 0.0;
        c = fmax(cap, 1.0 / (double)active);
        memcpy(sorted, x, n * sizeof(*x));
        qsort(sorted, n, sizeof(*sorted), cmp_desc);
        for (size_t k = 0; k < n; k++) {
                /* Summed from the smallest: no cancellation against a huge one. */
                rest = 0.0;
                for (size_t i = n; i-- > k;)
                        rest += sorted[i];
                level = c * rest / (1.0 - (double)k * c);
                if (sorted[k] <= level)
                        break;
        }
        for (size_t i = 0; i < n; i++) {
                x[i] = fmin(x[i], level);
                total += x[i];
        }
        return total;
}

static int prepare(struct isched__guest_tracker *t, uint32_t pool, size_t n, struct guest_pool **ret)
{
        struct guest_pool *p = find_pool(t, pool);
        int r;

        r = reserve((void **)&t->entries, &t->cap_entries, t->nr_entries + n, sizeof(*t->entries));
        if (r == 0)
                r = reserve((void **)&t->scratch, &t->cap_scratch, 2 * n, sizeof(*t->scratch));
        if (r == 0 && !p) {
                r = reserve((void **)&t->pools, &t->cap_pools, t->nr_pools + 1, sizeof(*t->pools));
                if (r == 0) {
                        p = &t->pools[t->nr_pools++];
                        *p = (struct guest_pool){ .pool = pool };
                }
        }
        *ret = p;
        return r;
}

static struct guest_entry *add_entry(struct isched__guest_tracker *t, uint32_t pool,
                                     const struct isched__guest_sample *s)
{
        struct guest_entry *e = &t->entries[t->nr_entries++];

        memset(e, 0, sizeof(*e));
        e->pool = pool;
        e->domid = s->domid;
        memcpy(e->handle, s->handle, sizeof(e->handle));
        snprintf(e->name, sizeof(e->name), "%s", s->name ? s->name : "?");
        e->weight = weight_of(t, e->name);
        e->state = ISCHED_GUEST_ABSENT;
        return e;
}

/* One domain's read at now_ns: sets e->inc to its weighted work over the
 * pool's interval dt_ns, or to -1 if it adds nothing this time. */
static void update_entry(struct isched__guest_tracker *t, struct guest_entry *e,
                         const struct isched__guest_sample *s, uint64_t now_ns, uint64_t dt_ns)
{
        double rate;

        e->seen = true;
        e->inc = -1.0;
        e->share = 0.0;
        if (e->weight == 0.0) {
                enter(e, ISCHED_GUEST_EXCLUDED);
                e->have_last = false;
        } else if (!s->present) {
                enter(e, ISCHED_GUEST_ABSENT);
                e->have_last = false;
        } else if (s->malformed) {
                refuse(e, ISCHED_GUEST_MALFORMED, "%s", s->malformed);
                e->have_last = false;
        } else if (s->unsettled) {
                /* A read that met the publisher writing every time saw
                 * nothing wrong: as stale, the domain counts again at its
                 * next settled publication, compared with its last
                 * accepted one (so that a reset behind it is still seen). */
                refuse(e, ISCHED_GUEST_STALE, "no settled publication: it changed during all %u attempts to read it",
                       ISCHED_GUEST_READ_ATTEMPTS);
        } else if (!e->have_last || dt_ns == 0) {
                enter(e, ISCHED_GUEST_JOINING);
                rebase(e, s, now_ns, false);
        } else if ((rate = check_interval(t, e, s, now_ns)) >= 0.0) {
                enter(e, ISCHED_GUEST_LIVE);
                e->intervals++;
                e->rate = rate;
                e->have_rate = true;
                e->peak_rate = fmax(e->peak_rate, rate);
                rebase(e, s, now_ns, true);
                /* The rate over the guest's own publication interval,
                 * applied to dom0's interval: the phase of the publications
                 * adds no noise. */
                e->inc = e->weight * rate * (double)dt_ns;
        } else if (e->fault != ISCHED_GUEST_STALE) {
                /* Start again from the refused value: after a restart the
                 * domain counts again from the next read. */
                rebase(e, s, now_ns, false);
        }
}

int isched__guest_update(struct isched__guest_tracker *t, uint32_t pool, uint64_t now_ns,
                         const struct isched__guest_sample *samples, size_t n,
                         struct isched__guest_pool_result *ret)
{
        struct guest_pool *p;
        bool broke = false;
        size_t nr_live = 0, nr_pending = 0, kept = 0;
        uint64_t dt_ns;
        double total;
        int r;

        if (!t || (n && !samples) || !ret)
                return isched__error(-EINVAL, "isched__guest_update: NULL argument");
        for (size_t i = 0; i < n; i++)
                if ((samples[i].malformed || samples[i].unsettled) && !samples[i].present)
                        return isched__error(-EINVAL,
                                             "isched__guest_update: a malformed or unsettled sample must be present");
        r = prepare(t, pool, n, &p);
        if (r < 0)
                return r;
        if (p->last_now_ns && now_ns < p->last_now_ns)
                return isched__error(-EINVAL, "guest work of pool %" PRIu32 ": read at %" PRIu64
                                     " ns, before the previous read at %" PRIu64 " ns",
                                     pool, now_ns, p->last_now_ns);
        /* Another reader of the pool at (almost) the same moment sees what
         * the first one saw: no interval has passed to validate. */
        if (p->last_now_ns && now_ns - p->last_now_ns < ISCHED_GUEST_MIN_READ_NS) {
                *ret = p->last;
                return 0;
        }
        dt_ns = p->last_now_ns ? now_ns - p->last_now_ns : 0;

        for (size_t i = 0; i < t->nr_entries; i++)
                t->entries[i].seen = false;
        for (size_t i = 0; i < n; i++) {
                struct guest_entry *e = find_entry(t, pool, &samples[i]);
                const bool was_live = e && e->state == ISCHED_GUEST_LIVE;

                if (!e)
                        e = add_entry(t, pool, &samples[i]);
                update_entry(t, e, &samples[i], now_ns, dt_ns);
                broke |= was_live && e->state != ISCHED_GUEST_LIVE;
        }
        /* Domains that died or moved to another pool leave this one; the
         * others' increments are capped. */
        for (size_t i = 0; i < t->nr_entries; i++) {
                struct guest_entry *e = &t->entries[i];

                if (e->pool != pool) {
                        t->entries[kept++] = *e;
                } else if (!e->seen) {
                        if (e->state == ISCHED_GUEST_LIVE) {
                                broke = true;
                                isched__log(ISCHED_LOG_INFO,
                                            "pool %" PRIu32 ": domain %s (%" PRIu32 ") left the pool: its work leaves the pool's sum and the window is skipped",
                                            pool, e->name, e->domid);
                        }
                } else {
                        if (e->inc >= 0.0)
                                t->scratch[nr_live++] = e->inc;
                        else if (e->have_last && e->state != ISCHED_GUEST_FAULT)
                                nr_pending++;
                        else if (e->have_last && e->fault != ISCHED_GUEST_STALE)
                                nr_pending++;
                        t->entries[kept++] = *e;
                }
        }
        t->nr_entries = kept;
        total = cap_shares(t->scratch, t->scratch + nr_live, nr_live, t->params.share_cap);
        for (size_t i = 0, j = 0; i < t->nr_entries; i++) {
                struct guest_entry *e = &t->entries[i];

                if (e->pool == pool && e->inc >= 0.0) {
                        e->share = total > 0.0 ? t->scratch[j] / total : 1.0 / (double)nr_live;
                        j++;
                }
        }
        /* The pool's sum only ever grows: whole units go into work_units,
         * the fraction is carried to the next read. */
        total += p->frac;
        p->work_units += (uint64_t)total;
        p->frac = total - floor(total);
        if (broke)
                p->generation++;
        p->last_now_ns = now_ns;
        *ret = p->last = (struct isched__guest_pool_result){
                .work_units = p->work_units,
                .generation = p->generation,
                .nr_live = (uint32_t)nr_live,
                .nr_pending = (uint32_t)nr_pending,
                .nr_domains = (uint32_t)n,
        };
        return 0;
}

int isched__guest_pool_status(const struct isched__guest_tracker *t, uint32_t pool,
                              struct isched__guest_domain_status **ret, size_t *ret_n)
{
        struct isched__guest_domain_status *st;
        size_t n = 0, k = 0;

        if (!t || !ret || !ret_n)
                return isched__error(-EINVAL, "isched__guest_pool_status: NULL argument");
        for (size_t i = 0; i < t->nr_entries; i++)
                n += t->entries[i].pool == pool;
        st = n ? calloc(n, sizeof(*st)) : NULL;
        if (n && !st)
                return isched__error(-ENOMEM, "out of memory reporting guest work");
        for (size_t i = 0; i < t->nr_entries; i++) {
                const struct guest_entry *e = &t->entries[i];

                if (e->pool != pool)
                        continue;
                st[k] = (struct isched__guest_domain_status){
                        .domid = e->domid,
                        .state = e->state,
                        .fault = e->fault,
                        .weight = e->weight,
                        .rate_per_s = e->have_rate ? e->rate * NS_PER_S : NAN,
                        .share = e->share,
                        .faults = e->faults,
                };
                snprintf(st[k].name, sizeof(st[k].name), "%s", e->name);
                snprintf(st[k].reason, sizeof(st[k].reason), "%s", e->reason);
                k++;
        }
        *ret = st;
        *ret_n = n;
        return 0;
}

void isched__guest_result_to_counters(const struct isched__guest_pool_result *res, struct isched_counters *c)
{
        c->work_units = res->work_units;
        c->work_generation = res->generation;
        c->work_domains = res->nr_live;
        c->valid |= ISCHED_CNT_GUEST_WORK;
        if (res->nr_live + res->nr_pending > 0)
                c->valid |= ISCHED_CNT_WORK;
        else
                c->valid &= ~(uint32_t)ISCHED_CNT_WORK;
}

int isched__guest_observation(const struct isched_backend_config *cfg, const char *backend,
                              enum isched_observation dflt, unsigned allowed, enum isched_observation *ret)
{
        const char *name = cfg ? cfg->observation : NULL;
        enum isched_observation mode;

        if (!name) {
                *ret = dflt;
                return 0;
        }
        if (isched_observation_from_string(name, &mode) < 0 || mode == ISCHED_OBS_UNKNOWN)
                return isched__error(-EINVAL, "unknown observation mode \"%.40s\": use ground-truth, xen or xen+guests",
                                     name);
        if (!(allowed & (1u << mode)))
                return isched__error(-EINVAL, "the %s backend cannot observe in mode %s%s", backend, name,
                                     mode == ISCHED_OBS_GROUND_TRUTH
                                             ? ": no real host shows the work its vCPUs really did (use xen or xen+guests)"
                                             : "");
        *ret = mode;
        return 0;
}

int isched__guest_params_from_config(const struct isched_backend_config *cfg, struct isched__guest_params *ret,
                                     struct isched__guest_weight **ret_weights)
{
        struct isched__guest_params p = {
                .share_cap = ISCHED_GUEST_SHARE_CAP_DEFAULT,
                .jump_factor = ISCHED_GUEST_JUMP_FACTOR_DEFAULT,
        };
        int r;

        *ret_weights = NULL;
        if (cfg && cfg->guest_share_cap != 0.0) {
                if (!isched__finite(cfg->guest_share_cap) || cfg->guest_share_cap <= 0.0 ||
                    cfg->guest_share_cap > 1.0)
                        return isched__error(-EINVAL, "guest-share-cap %g: must be above 0 and at most 1",
                                             cfg->guest_share_cap);
                p.share_cap = cfg->guest_share_cap;
        }
        if (cfg && cfg->guest_weights) {
                r = isched__guest_parse_weights(cfg->guest_weights, ret_weights, &p.nr_weights);
                if (r < 0) {
                        char why[256];

                        snprintf(why, sizeof(why), "%s", isched_last_error());
                        return isched__error(r, "guest-weights: %s", why);
                }
                p.weights = *ret_weights;
        }
        *ret = p;
        return 0;
}

int isched__guest_list(const struct isched__guest_tracker *t, uint32_t pool, struct isched_guest_info **ret,
                       size_t *ret_n)
{
        struct isched__guest_domain_status *st;
        struct isched_guest_info *g = NULL;
        size_t n;
        int r;

        r = isched__guest_pool_status(t, pool, &st, &n);
        if (r < 0)
                return r;
        if (n) {
                g = calloc(n, sizeof(*g));
                if (!g) {
                        free(st);
                        return isched__error(-ENOMEM, "out of memory listing guests");
                }
        }
        for (size_t i = 0; i < n; i++) {
                g[i] = (struct isched_guest_info){
                        .domid = st[i].domid,
                        .state = state_names[st[i].state],
                        .fault = fault_names[st[i].fault],
                        .weight = st[i].weight,
                        .rate_per_s = st[i].rate_per_s,
                        .share = st[i].share,
                        .faults = st[i].faults,
                };
                snprintf(g[i].name, sizeof(g[i].name), "%s", st[i].name);
                snprintf(g[i].reason, sizeof(g[i].reason), "%s", st[i].reason);
        }
        free(st);
        *ret = g;
        *ret_n = n;
        return 0;
}
