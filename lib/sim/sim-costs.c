/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hardware costs of the simulator: one table with each constant's
 * default, unit, range and source (docs/simulator.md prints the same
 * table), the defaults, the JSON object that overrides them ("costs" in a
 * workload, or isched sim --costs FILE), and the integer figures the
 * engine uses, derived once. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sim-private.h"
#include "util/util.h"

#define F(field) offsetof(struct sim_costs, field)

static const struct sim_cost_def cost_defs[] = {
        { "ctx_switch_ns", "ns", 2000, 0, 1e6, F(ctx_switch_ns),
          "estimate: VMCS switch, xsave/xrstor of the FPU state, MSR and segment reloads (cache refills are "
          "charged apart); published: 1.4 us per VM switch with warm caches, 3.9-9 us with cold ones (Whitaker "
          "et al., Denali, OSDI 2002, 2002 hardware); no Xen figure on a current server found" },
        { "sched_ns", "ns", 600, 0, 1e6, F(sched_ns),
          "estimate: csched2_schedule() and core.c's schedule() outside the runqueue lock work, a few "
          "hundred instructions plus misses on per-CPU data; no published measurement found" },
        { "lock_cs_ns", "ns", 250, 0, 1e6, F(lock_cs_ns),
          "estimate: work done with a runqueue lock held when its data is already in this pCPU's cache "
          "(cache-line transfers are added separately); no published measurement found" },
        { "rq_lines", "lines", 4, 0, 64, F(rq_lines),
          "struct csched2_runqueue_data (credit2.c l.495-519) is 232 bytes with NR_CPUS=256 (four "
          "32-byte cpumask_t), 4 cache lines, written by every schedule; the lock's line is the first" },
        { "xfer_smt_ns", "ns", 7.4, 0, 1e5, F(xfer_smt_ns),
          "cache-line transfer between SMT siblings: 7.4 ns, Xeon Gold 6242 (Cascade Lake), "
          "core-to-core-latency README (github.com/nviennot/core-to-core-latency), hyper-threads table" },
        { "xfer_socket_ns", "ns", 49.9, 0, 1e5, F(xfer_socket_ns),
          "cache-line transfer between cores of a socket: 49.9 ns, 2x Xeon Gold 6140 (Skylake-SP), Intel MLC "
          "v3.10 'Local Socket L2->L2 HITM latency' (github.com/hpcleuven/VscDocumentation, "
          "source/leuven/old_hardware/genius/skylake_mlc.txt)" },
        { "xfer_remote_ns", "ns", 114.0, 0, 1e5, F(xfer_remote_ns),
          "cache-line transfer to another socket: 114.0 ns, same host and file, 'Remote Socket L2->L2 HITM "
          "latency (data address homed in writer socket)'" },
        { "xfer_node_ns", "ns", 114.0, 0, 1e5, F(xfer_node_ns),
          "cache-line transfer to another NUMA node: the same 114.0 ns (sockets are the nodes on that host; "
          "2- and 4-socket Skylake-SP hosts link every socket directly, one UPI hop)" },
        { "ipi_ns", "ns", 1500, 0, 1e6, F(ipi_ns),
          "estimate: x2APIC IPI delivery, SCHEDULE_SOFTIRQ on the target and leaving a C1 state; Xen's own "
          "Skylake-SP idle table gives C1 a 2 us exit latency, C1E 10 us (xen/arch/x86/cpu/mwait-idle.c, "
          "skx_cstates), more than this value for an idle target" },
        { "evtchn_ns", "ns", 3000, 0, 1e6, F(evtchn_ns),
          "estimate: event-channel notification between vCPUs (hypercall, upcall into the guest); no Xen "
          "figure on a current server found" },
        { "smt_gain_pct", "%", 25, 0, 100, F(smt_gain_pct),
          "estimate: a core with two busy threads does 1.25x one thread; published gains range from about 0 "
          "(network servers, Ruan et al., SIGMETRICS 2005) to 30% (multithreaded benchmarks, IBM "
          "developerWorks 2003); Linux's scheduler assumed 15% (smt_gain 1178/1024)" },
        { "l2_kb", "KiB", 1024, 0, 1 << 20, F(l2_kb),
          "private L2 per core: 1 MiB, Xeon Gold 6140 (Skylake-SP)" },
        { "llc_kb", "KiB", 25344, 0, 1 << 22, F(llc_kb),
          "last-level cache per socket: 24.75 MiB (1.375 MiB per core x 18), Xeon Gold 6140" },
        { "mem_local_ns", "ns", 90.2, 0, 1e5, F(mem_local_ns),
          "memory latency, own node: 90.2 ns, Intel MLC idle latency node 0 -> node 0 on the host above" },
        { "mem_remote_ns", "ns", 144.3, 0, 1e5, F(mem_remote_ns),
          "memory latency, other node: 144.3 ns, Intel MLC idle latency node 0 -> node 1 on the host above" },
        { "mlp", "misses", 10, 1, 64, F(mlp),
          "misses a core keeps in flight while it refills or streams (10 L1D line fill buffers on Intel "
          "cores since Nehalem, 12 on Skylake): turns a latency into a per-line cost" },
        { "switch_freeze_ns", "ns", 200000, 0, 1e9, F(switch_freeze_ns),
          "estimate: the live switch holds every runqueue lock of the pool while it rebuilds them "
          "(docs/live-switch.md); base time; the patched Xen under QEMU measured a median freeze of 57 us "
          "on 4-pCPU pools (33 us with no vCPU queued; docs/xen-patches.md), on emulated CPUs slower than hardware" },
        { "switch_freeze_per_cpu_ns", "ns", 5000, 0, 1e8, F(switch_freeze_per_cpu_ns),
          "estimate: freeze time per pCPU of the pool; not measured (the QEMU runs had one pool size)" },
};

size_t sim_cost_count(void)
{
        return ARRAY_SIZE(cost_defs);
}

const struct sim_cost_def *sim_cost_def(size_t i)
{
        return i < ARRAY_SIZE(cost_defs) ? &cost_defs[i] : NULL;
}

static double *cost_field(struct sim_costs *c, const struct sim_cost_def *d)
{
        return (double *)((char *)c + d->offset);
}

void sim_costs_default(struct sim_costs *c)
{
        for (size_t i = 0; i < ARRAY_SIZE(cost_defs); i++)
                *cost_field(c, &cost_defs[i]) = cost_defs[i].value;
}

int sim_costs_apply_json(struct sim_costs *c, const cJSON *obj, const char *where)
{
        const cJSON *it;

        if (!cJSON_IsObject(obj))
                return isched__error(-EINVAL, "%s: must be an object of cost names and numbers (isched sim "
                                     "--list-costs names them)", where);
        cJSON_ArrayForEach(it, obj) {
                const struct sim_cost_def *d = NULL;
                double v;

                for (size_t i = 0; i < ARRAY_SIZE(cost_defs); i++)
                        if (it->string && strcmp(it->string, cost_defs[i].name) == 0)
                                d = &cost_defs[i];
                if (!d)
                        return isched__error(-EINVAL, "%s: unknown cost '%s' (isched sim --list-costs names them)",
                                             where, it->string ? it->string : "?");
                if (!cJSON_IsNumber(it))
                        return isched__error(-EINVAL, "%s.%s: must be a number", where, d->name);
                v = it->valuedouble;
                if (!isfinite(v) || v < d->min || v > d->max)
                        return isched__error(-EINVAL, "%s.%s: %g is out of range; give a number from %g to %g (%s)",
                                             where, d->name, v, d->min, d->max, d->unit);
                *cost_field(c, d) = v;
        }
        return 0;
}

int sim_costs_parse(struct sim_costs *c, const char *json, const char *origin)
{
        cJSON *root;
        int r = sim_json_parse(json, origin, origin, &root);

        if (r < 0)
                return r;
        r = sim_costs_apply_json(c, root, origin);
        cJSON_Delete(root);
        return r;
}

static s_time_t ns_round(double ns)
{
        return (s_time_t)llround(ns);
}

void sim_costs_derive(const struct sim_costs *c, struct sim_derived *d)
{
        memset(d, 0, sizeof(*d));
        d->ctx_switch_ns = ns_round(c->ctx_switch_ns);
        d->sched_ns = ns_round(c->sched_ns);
        d->lock_cs_ns = ns_round(c->lock_cs_ns);
        d->rq_lines = (uint32_t)llround(c->rq_lines);
        d->xfer_ns[SIM_DIST_SAME] = 0;
        d->xfer_ns[SIM_DIST_SIBLING] = ns_round(c->xfer_smt_ns);
        d->xfer_ns[SIM_DIST_SOCKET] = ns_round(c->xfer_socket_ns);
        d->xfer_ns[SIM_DIST_REMOTE] = ns_round(c->xfer_remote_ns);
        d->xfer_ns[SIM_DIST_NODE] = ns_round(c->xfer_node_ns);
        for (int i = 0; i < SIM_DIST_NR; i++)
                d->lock_hold_ns[i] = d->lock_cs_ns + d->xfer_ns[i] * (s_time_t)(d->rq_lines > 1 ? d->rq_lines - 1 : 0);
        d->ipi_ns = ns_round(c->ipi_ns);
        d->evtchn_ns = ns_round(c->evtchn_ns);
        d->smt_gain_pct = (uint32_t)llround(c->smt_gain_pct);
        d->l2_kb = (uint32_t)llround(c->l2_kb);
        d->llc_kb = (uint64_t)llround(c->llc_kb);
        /* A refill streams lines at mlp misses in flight: per line, the
         * latency of where the line comes from divided by mlp; in
         * picoseconds so that small figures keep their precision. */
        d->line_ps[SIM_SRC_SOCKET] = llround(c->xfer_socket_ns * 1000.0 / c->mlp);
        d->line_ps[SIM_SRC_REMOTE] = llround(c->xfer_remote_ns * 1000.0 / c->mlp);
        d->line_ps[SIM_SRC_MEM_LOCAL] = llround(c->mem_local_ns * 1000.0 / c->mlp);
        d->line_ps[SIM_SRC_MEM_REMOTE] = llround(c->mem_remote_ns * 1000.0 / c->mlp);
        d->switch_freeze_ns = ns_round(c->switch_freeze_ns);
        d->switch_freeze_per_cpu_ns = ns_round(c->switch_freeze_per_cpu_ns);
}

ISCHED_EXPORT size_t isched_sim_cost_count(void)
{
        return ARRAY_SIZE(cost_defs);
}

ISCHED_EXPORT int isched_sim_cost_get(size_t i, const char **ret_name, double *ret_default, const char **ret_unit,
                                      const char **ret_source)
{
        if (!ret_name || !ret_default || !ret_unit || !ret_source)
                return isched__error(-EINVAL, "isched_sim_cost_get: NULL argument");
        if (i >= ARRAY_SIZE(cost_defs))
                return isched__error(-ERANGE, "cost index %zu is out of range (there are %zu)", i,
                                     ARRAY_SIZE(cost_defs));
        *ret_name = cost_defs[i].name;
        *ret_default = cost_defs[i].value;
        *ret_unit = cost_defs[i].unit;
        *ret_source = cost_defs[i].source;
        return 0;
}
