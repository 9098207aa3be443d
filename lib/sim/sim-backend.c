/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "sim" backend: the embedded credit2 simulator behind the backend
 * vtable.  wait(interval) simulates that much time. */
#include <errno.h>
#include <stdlib.h>

#include "backend/backend-private.h"
#include "intellisched/sim.h"
#include "util/util.h"

static struct isched_sim *sim_of(struct isched_backend *b)
{
        return b->priv;
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

static int sim_read_counters(struct isched_backend *b, uint32_t pool, struct isched_counters *ret)
{
        return isched_sim_read_counters(sim_of(b), pool, ret);
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

static void sim_destroy(struct isched_backend *b)
{
        b->priv = isched_sim_free(sim_of(b));
}

static const struct isched_backend_ops sim_ops = {
        .name = "sim",
        .list_pools = sim_list_pools,
        .read_counters = sim_read_counters,
        .get_arrangement = sim_get_arrangement,
        .set_arrangement = sim_set_arrangement,
        .wait = sim_wait,
        .destroy = sim_destroy,
};

/* With neither a scenario nor a workload file, the "phased" scenario runs
 * (isched_sim_new()'s default), at Xen's default arrangement, socket. */
int isched__backend_sim_init(struct isched_backend *b, const struct isched_backend_config *cfg)
{
        struct isched_sim_config sc;
        struct isched_sim *sim;
        int r;

        isched_sim_config_init(&sc);
        sc.scenario = cfg->scenario;
        sc.workload_path = cfg->workload_path;
        sc.topology = cfg->topology;
        sc.seed = cfg->seed;
        r = isched_sim_new(&sc, &sim);
        if (r < 0)
                return r;
        b->ops = &sim_ops;
        b->priv = sim;
        return 0;
}
