/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The replay backend: a recorded counter trace (docs/trace-format.md)
 * played back one record per pool and wait().  Nothing can be switched:
 * the recorded counters cannot respond to an arrangement, so an agent on a
 * replay runs in advisory mode.
 *
 * Records are streamed: each pool has the record in force and a queue of
 * records read ahead while looking for another pool's next record, so
 * memory stays small when the pools' records interleave, as a recording
 * agent writes them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend-private.h"
#include "intellisched/trace.h"
#include "util/util.h"

#define REPLAY_REASON "replay: recorded counters cannot change"

struct replay_pool {
        struct isched_pool_info info;
        struct isched_counters current;
        struct isched_counters *queue; /* records read ahead, oldest first from head */
        size_t head, len, cap;
};

struct replay {
        struct isched_trace_reader *reader;
        char *path;
        struct replay_pool *pools;
        size_t n_pools;
        bool ended; /* a pool ran out of records: every pool is at its end */
};

static struct replay *replay_of(struct isched_backend *b)
{
        return b->priv;
}

static struct replay_pool *find_pool(struct replay *rp, uint32_t id)
{
        for (size_t i = 0; i < rp->n_pools; i++)
                if (rp->pools[i].info.id == id)
                        return &rp->pools[i];
        return NULL;
}

static int queue_push(struct replay_pool *p, const struct isched_counters *c)
{
        if (p->head > 0 && p->head == p->len) {
                p->head = p->len = 0;
        }
        if (p->len == p->cap) {
                const size_t cap = p->cap ? 2 * p->cap : 4;
                struct isched_counters *q = realloc(p->queue, cap * sizeof(*q));

                if (!q)
                        return isched__error(-ENOMEM, "out of memory replaying a trace");
                p->queue = q;
                p->cap = cap;
        }
        p->queue[p->len++] = *c;
        return 0;
}

/* Move pool p to its next record: the oldest one read ahead, else the next
 * one in the file, queueing the other pools' records met on the way. */
static int advance_pool(struct replay *rp, struct replay_pool *p)
{
        struct isched_counters c;
        struct replay_pool *other;
        uint32_t id;
        int r;

        if (p->head < p->len) {
                p->current = p->queue[p->head++];
                return 0;
        }
        for (;;) {
                r = isched_trace_reader_next(rp->reader, &id, &c);
                if (r < 0)
                        return r;
                other = find_pool(rp, id);
                if (!other) /* the reader checked this at open; be safe anyway */
                        return isched__error(-EINVAL, "trace %s line %lu: pool %u is not in the header", rp->path,
                                             isched_trace_reader_get_line(rp->reader), id);
                if (other == p) {
                        p->current = c;
                        return 0;
                }
                r = queue_push(other, &c);
                if (r < 0)
                        return r;
        }
}

static int advance_all(struct replay *rp)
{
        int r;

        if (rp->ended)
                return isched__error(-ENODATA, "replay: the trace %s has ended", rp->path);
        for (size_t i = 0; i < rp->n_pools; i++) {
                r = advance_pool(rp, &rp->pools[i]);
                if (r == -ENODATA) {
                        rp->ended = true;
                        return isched__error(-ENODATA, "replay: the trace %s has ended (no more records of pool %s)",
                                             rp->path, rp->pools[i].info.name);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The pool, if it exists and the trace has not ended. */
static int current_pool(struct isched_backend *b, uint32_t pool_id, struct replay_pool **ret)
{
        struct replay *rp = replay_of(b);
        struct replay_pool *p = find_pool(rp, pool_id);

        if (!p)
                return isched__error(-ENOENT, "replay: trace %s has no pool with id %u", rp->path, pool_id);
        if (rp->ended)
                return isched__error(-ENODATA, "replay: the trace %s has ended", rp->path);
        *ret = p;
        return 0;
}

static int replay_list_pools(struct isched_backend *b, struct isched_pool_info **ret, size_t *ret_n)
{
        struct replay *rp = replay_of(b);
        struct isched_pool_info *pools = calloc(rp->n_pools, sizeof(*pools));

        if (!pools)
                return isched__error(-ENOMEM, "out of memory listing pools");
        for (size_t i = 0; i < rp->n_pools; i++) {
                pools[i] = rp->pools[i].info;
                if (!rp->ended)
                        pools[i].arrangement = rp->pools[i].current.arrangement;
        }
        *ret = pools;
        *ret_n = rp->n_pools;
        return 0;
}

static int replay_read_counters(struct isched_backend *b, uint32_t pool_id, struct isched_counters *ret)
{
        struct replay_pool *p;
        int r = current_pool(b, pool_id, &p);

        if (r < 0)
                return r;
        *ret = p->current;
        return 0;
}

static int replay_get_arrangement(struct isched_backend *b, uint32_t pool_id, enum isched_arrangement *ret)
{
        struct replay_pool *p;
        int r = current_pool(b, pool_id, &p);

        if (r < 0)
                return r;
        *ret = p->current.arrangement;
        return 0;
}

static int replay_set_arrangement(struct isched_backend *b, uint32_t pool_id, enum isched_arrangement a)
{
        struct replay_pool *p;
        int r = current_pool(b, pool_id, &p);

        if (r < 0)
                return r;
        /* backend.h: applying the arrangement in force is a no-op. */
        if (a == p->current.arrangement)
                return 0;
        return isched__error(-EOPNOTSUPP, "%s: pool %s ran with %s when it was recorded", REPLAY_REASON,
                             p->info.name, isched_arrangement_to_string(p->current.arrangement));
}

/* The interval is not used: the recorded timestamps give each window its length. */
static int replay_wait(struct isched_backend *b, uint64_t interval_ns)
{
        return advance_all(replay_of(b));
}

static void replay_destroy(struct isched_backend *b)
{
        struct replay *rp = replay_of(b);

        if (!rp)
                return;
        for (size_t i = 0; i < rp->n_pools; i++)
                free(rp->pools[i].queue);
        free(rp->pools);
        free(rp->path);
        isched_trace_reader_free(rp->reader);
        free(rp);
        b->priv = NULL;
}

static const struct isched_backend_ops replay_ops = {
        .name = "replay",
        .list_pools = replay_list_pools,
        .read_counters = replay_read_counters,
        .get_arrangement = replay_get_arrangement,
        .set_arrangement = replay_set_arrangement,
        .wait = replay_wait,
        .destroy = replay_destroy,
};

int isched__backend_replay_init(struct isched_backend *b, const struct isched_backend_config *cfg)
{
        const struct isched_pool_info *pools;
        struct replay *rp;
        int r;

        if (!cfg->trace_path || !*cfg->trace_path)
                return isched__error(-EINVAL, "the replay backend needs a trace file (config field trace_path)");
        if (cfg->observation)
                return isched__error(-EINVAL,
                                     "the replay backend has no observation mode: a trace replays what its backend observed");
        rp = calloc(1, sizeof(*rp));
        if (!rp || !(rp->path = strdup(cfg->trace_path))) {
                free(rp);
                return isched__error(-ENOMEM, "out of memory opening the replay backend");
        }
        b->ops = &replay_ops;
        b->priv = rp;
        r = isched_trace_reader_open(cfg->trace_path, &rp->reader);
        if (r < 0)
                goto fail;
        r = isched_trace_reader_get_pools(rp->reader, &pools, &rp->n_pools);
        if (r < 0)
                goto fail;
        rp->pools = calloc(rp->n_pools, sizeof(*rp->pools));
        if (!rp->pools) {
                r = isched__error(-ENOMEM, "out of memory opening the replay backend");
                goto fail;
        }
        for (size_t i = 0; i < rp->n_pools; i++) {
                rp->pools[i].info = pools[i];
                rp->pools[i].info.can_switch = false;
                snprintf(rp->pools[i].info.reason, sizeof(rp->pools[i].info.reason), "%s", REPLAY_REASON);
        }
        /* Every pool starts at its first record.  A trace with no records
         * opens (the pools are known) and then reads as ended. */
        r = advance_all(rp);
        if (r < 0 && r != -ENODATA)
                goto fail;
        isched__clear_error();
        return 0;
fail:
        replay_destroy(b);
        b->ops = NULL;
        return r;
}
