/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "sim" backend: the embedded credit2 simulator behind the backend
 * vtable.  wait(interval) simulates that much time.  Its observation mode
 * (docs/guest-work.md) decides what the counters show of the work done:
 * all of it (ground-truth), none (xen), or what the publishing domains
 * publish, through the xen backend's tracker (xen+guests). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend-private.h"
#include "backend/guest-work.h"
#include "intellisched/sim.h"
#include "util/util.h"

struct sim_backend {
        struct isched_sim *sim;
        enum isched_observation observation;
        struct isched__guest_tracker *guests; /* xen+guests only */
        struct isched__guest_sample *samples;
        char (*names)[ISCHED_NAME_MAX];
        uint32_t nr_domains;
};

static struct isched_sim *sim_of(struct isched_backend *b)
{
        return ((struct sim_backend *)b->priv)->sim;
}

static int sim_list_pools(struct isched_backend *b, struct isched_pool_info **ret, size_t *ret_n)
{
        struct isched_pool_info *pools;
        uint32_t n;
        int r;

        r = isched_sim_pool_count(sim_of(b), &n);
        if (r < 0)
                return r;
        pools = calloc(n, sizeof(*pools));
        if (!pools)
                return isched__error(-ENOMEM, "out of memory listing pools");
        for (uint32_t i = 0; i < n; i++) {
                r = isched_sim_pool_info(sim_of(b), i, &pools[i]);
                if (r < 0) {
                        free(pools);
                        return r;
                }
        }
        *ret = pools;
        *ret_n = n;
        return 0;
}

/* xen+guests: each publishing domain of the pool publishes its work at
 * the time of the read (a real guest's publisher lags by up to its
 * interval, which the tracker's rates absorb); the others publish nothing. */
static int read_guest_work(struct sim_backend *sb, uint32_t pool, struct isched_counters *c)
{
        struct isched__guest_pool_result res;
        size_t n = 0;
        int r;

        for (uint32_t i = 0; i < sb->nr_domains; i++) {
                struct isched_sim_domain_info info = { .size = sizeof(info) };
                struct isched__guest_sample *s = &sb->samples[n];

                r = isched_sim_domain_info(sb->sim, i, &info);
                if (r < 0)
                        return r;
                if (info.pool_id != pool)
                        continue;
                memset(s, 0, sizeof(*s));
                s->domid = i + 1;
                snprintf(sb->names[n], sizeof(sb->names[n]), "%s", info.name);
                s->name = sb->names[n];
                s->present = info.publishes;
                s->work = info.work_units;
                s->time_ns = c->timestamp_ns;
                n++;
        }
        r = isched__guest_update(sb->guests, pool, c->timestamp_ns, sb->samples, n, &res);
        if (r < 0)
                return r;
        isched__guest_result_to_counters(&res, c);
        return 0;
}

static int sim_read_counters(struct isched_backend *b, uint32_t pool, struct isched_counters *ret)
{
        struct sim_backend *sb = b->priv;
        struct isched_counters c;
        int r;

        r = isched_sim_read_counters(sb->sim, pool, &c);
        if (r < 0 || sb->observation == ISCHED_OBS_GROUND_TRUTH) {
                if (r == 0)
                        *ret = c;
                return r;
        }
        /* What a patched Xen host shows: everything but the work done. */
        c.valid &= ~(uint32_t)ISCHED_CNT_WORK;
        c.work_units = 0;
        if (sb->observation == ISCHED_OBS_XEN_GUESTS) {
                r = read_guest_work(sb, pool, &c);
                if (r < 0)
                        return r;
        }
        *ret = c;
        return 0;
}

static int sim_get_arrangement(struct isched_backend *b, uint32_t pool, enum isched_arrangement *ret)
{
        return isched_sim_get_arrangement(sim_of(b), pool, ret);
}

static int sim_set_arrangement(struct isched_backend *b, uint32_t pool, enum isched_arrangement a)
{
        return isched_sim_set_arrangement(sim_of(b), pool, a);
}

static int sim_wait(struct isched_backend *b, uint64_t interval_ns)
{
        return isched_sim_run(sim_of(b), interval_ns);
}

static struct sim_backend *sim_backend_free(struct sim_backend *sb)
{
        if (sb) {
                isched_sim_free(sb->sim);
                isched__guest_tracker_free(sb->guests);
                free(sb->samples);
                free(sb->names);
                free(sb);
        }
        return NULL;
}

static void sim_destroy(struct isched_backend *b)
{
        b->priv = sim_backend_free(b->priv);
}

static const struct isched_backend_ops sim_ops;

static struct isched__guest_tracker *sim_guest_tracker(struct isched_backend *b)
{
        return ((struct sim_backend *)b->priv)->guests;
}

ISCHED_EXPORT int isched_sim_from_backend(struct isched_backend *backend, struct isched_sim **ret_sim)
{
        if (!backend || !ret_sim)
                return isched__error(-EINVAL, "isched_sim_from_backend: NULL argument");
        if (backend->ops != &sim_ops)
                return isched__error(-EOPNOTSUPP, "the %s backend has no simulation", backend->ops->name);
        *ret_sim = sim_of(backend);
        return 0;
}

static const struct isched_backend_ops sim_ops = {
        .name = "sim",
        .list_pools = sim_list_pools,
        .read_counters = sim_read_counters,
        .get_arrangement = sim_get_arrangement,
        .set_arrangement = sim_set_arrangement,
        .wait = sim_wait,
        .destroy = sim_destroy,
        .guest_tracker = sim_guest_tracker,
};

/* With neither a scenario nor a workload file, the "phased" scenario runs
 * (isched_sim_new()'s default), at Xen's default arrangement, socket. */
int isched__backend_sim_init(struct isched_backend *b, const struct isched_backend_config *cfg)
{
        const unsigned all = 1u << ISCHED_OBS_GROUND_TRUTH | 1u << ISCHED_OBS_XEN | 1u << ISCHED_OBS_XEN_GUESTS;
        struct isched__guest_weight *weights = NULL;
        struct isched__guest_params params;
        struct isched_sim_config sc;
        struct sim_backend *sb;
        int r;

        sb = calloc(1, sizeof(*sb));
        if (!sb)
                return isched__error(-ENOMEM, "out of memory opening the sim backend");
        r = isched__guest_observation(cfg, "sim", ISCHED_OBS_GROUND_TRUTH, all, &sb->observation);
        if (r == 0 && sb->observation == ISCHED_OBS_XEN_GUESTS) {
                r = isched__guest_params_from_config(cfg, &params, &weights);
                if (r == 0)
                        r = isched__guest_tracker_new(&params, &sb->guests);
                free(weights);
        }
        if (r < 0)
                goto fail;
        isched_sim_config_init(&sc);
        sc.scenario = cfg->scenario;
        sc.workload_path = cfg->workload_path;
        sc.topology = cfg->topology;
        sc.seed = cfg->seed;
        r = isched_sim_new(&sc, &sb->sim);
        if (r == 0)
                r = isched_sim_domain_count(sb->sim, &sb->nr_domains);
        if (r < 0)
                goto fail;
        if (sb->guests) {
                sb->samples = calloc(sb->nr_domains, sizeof(*sb->samples));
                sb->names = calloc(sb->nr_domains, sizeof(*sb->names));
                if (!sb->samples || !sb->names) {
                        r = isched__error(-ENOMEM, "out of memory opening the sim backend");
                        goto fail;
                }
        }
        b->ops = &sim_ops;
        b->priv = sb;
        return 0;
fail:
        sim_backend_free(sb);
        return r;
}
