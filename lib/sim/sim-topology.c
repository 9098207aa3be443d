/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host topology and how credit2 groups CPUs into runqueues. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim-private.h"
#include "util/util.h"

/* "2n2s8c2t": 2 NUMA nodes, 2 sockets per node, 8 cores per socket, 2
 * threads per core.  Every part is required, in this order. */
int sim_topology_parse(const char *s, struct sim_topology *ret)
{
        static const char letters[4] = { 'n', 's', 'c', 't' };
        unsigned long v[4];
        const char *p = s;
        char *end;

        if (!s)
                return isched__error(-EINVAL, "topology: missing");
        for (int i = 0; i < 4; i++) {
                if (*p < '0' || *p > '9')
                        goto bad;
                errno = 0;
                v[i] = strtoul(p, &end, 10);
                if (errno || end == p || *end != letters[i] || v[i] < 1 || v[i] > 256)
                        goto bad;
                p = end + 1;
        }
        if (*p)
                goto bad;
        if (v[3] > 8)
                return isched__error(-EINVAL, "topology '%s': at most 8 threads per core", s);
        if (v[0] * v[1] * v[2] * v[3] > SIM_MAX_CPUS)
                return isched__error(-EINVAL, "topology '%s' has more than %d CPUs", s, SIM_MAX_CPUS);
        ret->nodes = (uint32_t)v[0];
        ret->sockets = (uint32_t)v[1];
        ret->cores = (uint32_t)v[2];
        ret->threads = (uint32_t)v[3];
        ret->nr_cpus = ret->nodes * ret->sockets * ret->cores * ret->threads;
        return 0;
bad:
        return isched__error(-EINVAL,
                             "topology '%s' is not of the form <nodes>n<sockets>s<cores>c<threads>t, e.g. 2n2s8c2t (each 1..256)",
                             s);
}

uint32_t sim_cpu_core(const struct sim_topology *t, uint32_t cpu)
{
        return cpu / t->threads;
}

uint32_t sim_cpu_socket(const struct sim_topology *t, uint32_t cpu)
{
        return cpu / (t->threads * t->cores);
}

uint32_t sim_cpu_node(const struct sim_topology *t, uint32_t cpu)
{
        return cpu / (t->threads * t->cores * t->sockets);
}

enum sim_dist sim_cpu_distance(const struct sim_topology *t, uint32_t from, uint32_t to)
{
        if (from == to)
                return SIM_DIST_SAME;
        if (sim_cpu_core(t, from) == sim_cpu_core(t, to))
                return SIM_DIST_SIBLING;
        if (sim_cpu_socket(t, from) == sim_cpu_socket(t, to))
                return SIM_DIST_SOCKET;
        if (sim_cpu_node(t, from) == sim_cpu_node(t, to))
                return SIM_DIST_REMOTE;
        return SIM_DIST_NODE;
}

/* cpu_runqueue_match(): peer_cpu is the runqueue's pick_bias, which at
 * build time is the first CPU put in it. */
static bool cpu_runqueue_match(const struct sim_topology *t, enum isched_arrangement arr,
                               uint32_t peer_cpu, uint32_t cpu)
{
        return arr == ISCHED_ARR_ALL ||
               (arr == ISCHED_ARR_CORE && sim_cpu_core(t, peer_cpu) == sim_cpu_core(t, cpu)) ||
               (arr == ISCHED_ARR_SOCKET && sim_cpu_socket(t, peer_cpu) == sim_cpu_socket(t, cpu)) ||
               (arr == ISCHED_ARR_NODE && sim_cpu_node(t, peer_cpu) == sim_cpu_node(t, cpu));
}

struct build_rq {
        uint32_t id;
        uint32_t pick_bias;
        uint32_t refcnt;
        uint32_t nr_cores; /* cores with a CPU in the runqueue */
};

/* cpu_runqueue_siblings_match(): is there room for cpu and all its
 * siblings?  Each CPU already in the runqueue counts with all its
 * siblings (cpu_nr_siblings()), whether they are in the pool or not: that
 * is, every core present counts with all its threads. */
static bool cpu_runqueue_siblings_match(const struct sim_topology *t, const struct build_rq *rqd,
                                        uint32_t max_cpus_runq)
{
        return rqd->nr_cores * t->threads + t->threads <= max_cpus_runq;
}

uint32_t sim_build_runqueues(const struct sim_topology *t, enum isched_arrangement arr,
                             const uint32_t *cpus, uint32_t n, uint32_t *rq_of)
{
        struct build_rq *rqs = calloc(n ? n : 1, sizeof(*rqs));
        /* core_rq[core]: the runqueue holding this core's CPUs so far, or
         * UINT32_MAX; siblings always end up together, so one suffices. */
        uint32_t *core_rq = malloc((t->nr_cpus / t->threads) * sizeof(*core_rq));
        /* min_rqs and max_cpus_runq use num_online_cpus(), the whole host. */
        const uint32_t online = t->nr_cpus;
        const uint32_t min_rqs = ((online - 1) / MAX_CPUS_RUNQ) + 1;
        const uint32_t max_cpus_runq = online / min_rqs;
        uint32_t nr_rqs = 0;

        if (!rqs || !core_rq) {
                free(rqs);
                free(core_rq);
                return 0;
        }
        for (uint32_t c = 0; c < t->nr_cpus / t->threads; c++)
                core_rq[c] = UINT32_MAX;
        for (uint32_t k = 0; k < n; k++) {
                const uint32_t cpu = cpus[k], core = sim_cpu_core(t, cpu);
                struct build_rq *rqd_valid = NULL;
                uint32_t rqi = 0, ins = 0;
                bool rqi_unused = false;

                /* rqs[] is kept ordered by id, as prv->rql is. */
                for (uint32_t r = 0; r < nr_rqs; r++) {
                        struct build_rq *rqd = &rqs[r];

                        if (!rqi_unused && rqd->id > rqi)
                                rqi_unused = true;
                        if (cpu_runqueue_match(t, arr, rqd->pick_bias, cpu)) {
                                if (core_rq[core] == rqd->id) {
                                        rqd_valid = rqd;
                                        break;
                                }
                                if (rqd->refcnt < max_cpus_runq &&
                                    (cpu_runqueue_siblings_match(t, rqd, max_cpus_runq) ||
                                     arr == ISCHED_ARR_ALL)) {
                                        if (!rqd_valid || rqd->refcnt < rqd_valid->refcnt)
                                                rqd_valid = rqd;
                                }
                        }
                        if (!rqi_unused) {
                                rqi++;
                                ins = r + 1;
                        }
                }
                if (!rqd_valid) {
                        memmove(&rqs[ins + 1], &rqs[ins], (nr_rqs - ins) * sizeof(*rqs));
                        rqd_valid = &rqs[ins];
                        memset(rqd_valid, 0, sizeof(*rqd_valid));
                        rqd_valid->id = rqi;
                        rqd_valid->pick_bias = cpu;
                        nr_rqs++;
                }
                rqd_valid->refcnt++;
                if (core_rq[core] != rqd_valid->id) {
                        rqd_valid->nr_cores++;
                        core_rq[core] = rqd_valid->id;
                }
                rq_of[k] = rqd_valid->id;
        }
        free(core_rq);
        free(rqs);
        return nr_rqs;
}
