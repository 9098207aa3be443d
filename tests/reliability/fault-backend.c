/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend-private.h"
#include "fault-backend.h"

struct fault {
        struct isched_backend *inner;
        enum fault_read read_kind;
        int read_err;
        unsigned read_count;
        int switch_err;
        uint32_t switch_count;
        bool vanished;
        uint64_t offset;
        uint64_t last_busy; /* as reported, to see the wrap */
        bool have_last;
        struct fault_stats stats;
};

static struct fault *fault_of(const struct isched_backend *b)
{
        return b->priv;
}

static void note_faulty(struct fault *f, uint64_t ts)
{
        f->stats.faulty_reads++;
        if (f->stats.n_faulty_ts < sizeof(f->stats.faulty_ts) / sizeof(f->stats.faulty_ts[0]))
                f->stats.faulty_ts[f->stats.n_faulty_ts++] = ts;
}

static int f_list_pools(struct isched_backend *b, struct isched_pool_info **ret, size_t *ret_n)
{
        struct fault *f = fault_of(b);

        if (f->vanished) {
                *ret = calloc(1, sizeof(**ret));
                *ret_n = 0;
                return *ret ? 0 : -ENOMEM;
        }
        return isched_backend_list_pools(f->inner, ret, ret_n);
}

static void mangle(struct fault *f, struct isched_counters *c)
{
        const uint64_t elapsed_ns = c->timestamp_ns;

        switch (f->read_kind) {
        case FAULT_READ_BACKWARDS:
                c->busy_ns /= 2;
                c->wakeups /= 2;
                c->context_switches /= 2;
                break;
        case FAULT_READ_EVENTS_BACKWARDS:
                c->wakeups /= 2;
                c->context_switches /= 2;
                break;
        case FAULT_READ_GARBAGE:
                c->busy_ns += 10 * elapsed_ns * c->nr_pcpus + 1000000000ull;
                break;
        case FAULT_READ_SHRINK:
                c->nr_pcpus--;
                break;
        default:
                break;
        }
}

static int f_read_counters(struct isched_backend *b, uint32_t pool, struct isched_counters *ret)
{
        struct fault *f = fault_of(b);
        struct isched_counters c;
        int r;

        f->stats.reads++;
        if (f->vanished)
                return -ENOENT;
        if (f->read_count && f->read_kind == FAULT_READ_ERROR) {
                f->read_count--;
                f->stats.faulty_reads++;
                return f->read_err;
        }
        r = isched_backend_read_counters(f->inner, pool, &c);
        if (r < 0)
                return r;
        if (f->read_count) {
                f->read_count--;
                mangle(f, &c);
                note_faulty(f, c.timestamp_ns);
        }
        c.busy_ns += f->offset;
        c.wakeups += f->offset;
        c.context_switches += f->offset;
        if (f->have_last && c.busy_ns < f->last_busy && !f->stats.wrap_ts && f->offset)
                f->stats.wrap_ts = c.timestamp_ns;
        f->last_busy = c.busy_ns;
        f->have_last = true;
        *ret = c;
        return 0;
}

static int f_get_arrangement(struct isched_backend *b, uint32_t pool, enum isched_arrangement *ret)
{
        struct fault *f = fault_of(b);

        if (f->vanished)
                return -ENOENT;
        return isched_backend_get_arrangement(f->inner, pool, ret);
}

static int f_set_arrangement(struct isched_backend *b, uint32_t pool, enum isched_arrangement a)
{
        struct fault *f = fault_of(b);

        f->stats.switch_attempts++;
        if (f->vanished)
                return -ENOENT;
        if (f->switch_count) {
                if (f->switch_count != UINT32_MAX)
                        f->switch_count--;
                f->stats.switch_failures++;
                return f->switch_err;
        }
        return isched_backend_set_arrangement(f->inner, pool, a);
}

static int f_wait(struct isched_backend *b, uint64_t interval_ns)
{
        return isched_backend_wait(fault_of(b)->inner, interval_ns);
}

static void f_destroy(struct isched_backend *b)
{
        struct fault *f = fault_of(b);

        isched_backend_unref(f->inner);
        free(f);
}

static const struct isched_backend_ops fault_ops = {
        .name = "fault",
        .list_pools = f_list_pools,
        .read_counters = f_read_counters,
        .get_arrangement = f_get_arrangement,
        .set_arrangement = f_set_arrangement,
        .wait = f_wait,
        .destroy = f_destroy,
};

int fault_backend_new(struct isched_backend *inner, struct isched_backend **ret)
{
        struct isched_backend *b = calloc(1, sizeof(*b));
        struct fault *f = calloc(1, sizeof(*f));

        if (!b || !f) {
                free(b);
                free(f);
                return -ENOMEM;
        }
        f->inner = isched_backend_ref(inner);
        b->ops = &fault_ops;
        b->refcount = 1;
        b->priv = f;
        *ret = b;
        return 0;
}

void fault_arm_read(struct isched_backend *fb, enum fault_read kind, int err, unsigned count)
{
        struct fault *f = fault_of(fb);

        f->read_kind = kind;
        f->read_err = err;
        f->read_count = count;
}

void fault_arm_switch(struct isched_backend *fb, int err, uint32_t count)
{
        fault_of(fb)->switch_err = err;
        fault_of(fb)->switch_count = count;
}

void fault_vanish(struct isched_backend *fb)
{
        fault_of(fb)->vanished = true;
}

void fault_set_counter_offset(struct isched_backend *fb, uint64_t offset)
{
        fault_of(fb)->offset = offset;
}

bool fault_ts_was_faulty(const struct isched_backend *fb, uint64_t ts)
{
        const struct fault_stats *s = &fault_of(fb)->stats;

        for (unsigned i = 0; i < s->n_faulty_ts; i++)
                if (s->faulty_ts[i] == ts)
                        return true;
        return false;
}

const struct fault_stats *fault_get_stats(const struct isched_backend *fb)
{
        return &fault_of(fb)->stats;
}

struct isched_backend *fault_inner(struct isched_backend *fb)
{
        return fault_of(fb)->inner;
}
