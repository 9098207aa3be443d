/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Built-in scenarios.  Each is a workload in the documented JSON format,
 * parsed by the same code as a user's file; docs/simulator.md explains
 * what each models. */
#include <errno.h>
#include <string.h>

#include "sim-private.h"
#include "util/util.h"

struct scenario {
        const char *name;
        const char *description;
        const char *json;
};

/* The domains of "mixed", which "mixed-1n2s" runs on another host. */
#define MIXED_DOMAINS                                                                                                      \
        "\"domains\": [{\"name\": \"web\", \"vcpus\": 32, \"behaviour\": {\"kind\": \"io\", "                              \
        "\"burst_us\": 80, \"sleep_us\": 1500}}, {\"name\": \"batch\", \"vcpus\": 24, \"weight\": 128, "                   \
        "\"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 5000, \"sleep_us\": 5000}}, {\"name\": \"hpc\", \"vcpus\": 16, " \
        "\"behaviour\": {\"kind\": \"cache\", \"burst_us\": 2000, \"sleep_us\": 2000, \"wss_kb\": 8192}}, "                \
        "{\"name\": \"pipe\", \"vcpus\": 24, \"behaviour\": {\"kind\": \"chain\", \"burst_us\": 100, \"tokens\": 6}}, "    \
        "{\"name\": \"bursty\", \"vcpus\": 32, \"cap\": 800, \"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 50, "         \
        "\"off_ms\": 150}}]}"

static const struct scenario scenarios[] = {
{
        "phased",
        "stress case, 16 pCPUs (1n2s4c2t): the workload changes every 5 s: packet I/O, SMT-sensitive I/O, cache-heavy, a bursty mix",
        "{\"topology\": \"1n2s4c2t\", \"domains\": [{\"name\": \"net\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"io\", "
        "\"burst_us\": 25, \"sleep_us\": 30, \"wss_kb\": 512}}, {\"name\": \"edge\", \"vcpus\": 8, "
        "\"behaviour\": {\"kind\": \"idle\"}}, {\"name\": \"hpc\", \"vcpus\": 12, \"behaviour\": {\"kind\": \"idle\"}}, "
        "{\"name\": \"web\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"idle\"}}, {\"name\": \"batch\", \"vcpus\": 12, "
        "\"behaviour\": {\"kind\": \"idle\"}}, {\"name\": \"pipe\", \"vcpus\": 4, \"behaviour\": {\"kind\": \"idle\"}}], "
        "\"phases\": [{\"duration_s\": 5, \"domains\": {\"net\": {\"kind\": \"io\", \"burst_us\": 25, \"sleep_us\": 30, "
        "\"wss_kb\": 512}, \"edge\": \"inherit\", \"hpc\": \"inherit\", \"web\": \"inherit\", \"batch\": \"inherit\", "
        "\"pipe\": \"inherit\"}}, {\"duration_s\": 5, \"domains\": {\"net\": {\"kind\": \"idle\"}, \"edge\": {\"kind\": \"io\", "
        "\"burst_us\": 30, \"sleep_us\": 10, \"wss_kb\": 512}, \"hpc\": \"inherit\", \"web\": \"inherit\", "
        "\"batch\": \"inherit\", \"pipe\": \"inherit\"}}, {\"duration_s\": 5, \"domains\": {\"net\": \"inherit\", "
        "\"edge\": {\"kind\": \"idle\"}, \"hpc\": {\"kind\": \"cache\", \"burst_us\": 3000, \"sleep_us\": 500, "
        "\"wss_kb\": 16384}, \"web\": \"inherit\", \"batch\": \"inherit\", \"pipe\": \"inherit\"}}, {\"duration_s\": 5, "
        "\"domains\": {\"net\": \"inherit\", \"edge\": \"inherit\", \"hpc\": {\"kind\": \"idle\"}, \"web\": {\"kind\": \"io\", "
        "\"burst_us\": 60, \"sleep_us\": 600}, \"batch\": {\"kind\": \"onoff\", \"on_ms\": 40, \"off_ms\": 60}, "
        "\"pipe\": {\"kind\": \"chain\", \"burst_us\": 80, \"tokens\": 2}}}]}"
},
{
        "xenbuild",
        "Faggioli 2016, low load without noise: a 16-vCPU VM building Xen with make -j8 (16 pCPUs, 1n2s4c2t)",
        "{\"topology\": \"1n2s4c2t\", \"domains\": [{\"name\": \"build\", \"vcpus\": 16, "
        "\"behaviour\": {\"kind\": \"forkjoin\", \"burst_us\": 250000, \"jobs\": 40, \"parallel\": 8, "
        "\"serial_us\": 30000, \"sleep_us\": 2000, \"wss_kb\": 8192}}]}"
},
{
        "xenbuild-high",
        "Faggioli 2016, high load without noise: the build VM with make -j16",
        "{\"topology\": \"1n2s4c2t\", \"domains\": [{\"name\": \"build\", \"vcpus\": 16, "
        "\"behaviour\": {\"kind\": \"forkjoin\", \"burst_us\": 250000, \"jobs\": 40, \"parallel\": 16, "
        "\"serial_us\": 30000, \"sleep_us\": 2000, \"wss_kb\": 8192}}]}"
},
{
        "xenbuild-low-noise",
        "Faggioli 2016, low load with noise: make -j8 next to 8 CPU hogs and 4 I/O vCPUs",
        "{\"topology\": \"1n2s4c2t\", \"domains\": [{\"name\": \"build\", \"vcpus\": 16, "
        "\"behaviour\": {\"kind\": \"forkjoin\", \"burst_us\": 250000, \"jobs\": 40, \"parallel\": 8, "
        "\"serial_us\": 30000, \"sleep_us\": 2000, \"wss_kb\": 8192}}, {\"name\": \"noise-cpu\", \"vcpus\": 8, "
        "\"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 20000, \"wss_kb\": 4096}}, {\"name\": \"noise-io\", \"vcpus\": 4, "
        "\"behaviour\": {\"kind\": \"io\", \"burst_us\": 200, \"sleep_us\": 2000}}]}"
},
{
        "xenbuild-noise",
        "Faggioli 2016, high load with noise: make -j16 next to 8 CPU hogs and 4 I/O vCPUs, overcommitted",
        "{\"topology\": \"1n2s4c2t\", \"domains\": [{\"name\": \"build\", \"vcpus\": 16, "
        "\"behaviour\": {\"kind\": \"forkjoin\", \"burst_us\": 250000, \"jobs\": 40, \"parallel\": 16, "
        "\"serial_us\": 30000, \"sleep_us\": 2000, \"wss_kb\": 8192}}, {\"name\": \"noise-cpu\", \"vcpus\": 8, "
        "\"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 20000, \"wss_kb\": 4096}}, {\"name\": \"noise-io\", \"vcpus\": 4, "
        "\"behaviour\": {\"kind\": \"io\", \"burst_us\": 200, \"sleep_us\": 2000}}]}"
},
{
        "nfv",
        "16 dedicated-style I/O vCPUs on 16 pCPUs (1n1s8c2t) waking 20000 times a second: scheduler and lock overhead dominate",
        "{\"topology\": \"1n1s8c2t\", \"domains\": [{\"name\": \"router\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"io\", "
        "\"burst_us\": 25, \"sleep_us\": 30, \"wss_kb\": 512}}]}"
},
{
        "smt-pairs",
        "8 busy I/O vCPUs on 8 cores x 2 threads (1n1s8c2t): placement that sees SMT siblings matters",
        "{\"topology\": \"1n1s8c2t\", \"domains\": [{\"name\": \"router\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"io\", "
        "\"burst_us\": 60, \"sleep_us\": 20, \"wss_kb\": 512}}]}"
},
{
        "io-latency",
        "8 pCPUs on 2 nodes (2n1s2c2t, one node per socket); 24 latency-sensitive I/O vCPUs with small working sets",
        "{\"topology\": \"2n1s2c2t\", \"domains\": [{\"name\": \"db\", \"vcpus\": 12, \"behaviour\": {\"kind\": \"io\", "
        "\"burst_us\": 150, \"sleep_us\": 900, \"wss_kb\": 64}}, {\"name\": \"web\", \"vcpus\": 12, "
        "\"behaviour\": {\"kind\": \"io\", \"burst_us\": 80, \"sleep_us\": 500, \"wss_kb\": 64}}]}"
},
{
        "hpc-cache",
        "16 pCPUs on 2 nodes of 2 sockets (2n2s2c2t); 14 cache-heavy vCPUs (8 MiB working sets) that block for I/O every 3 ms",
        "{\"topology\": \"2n2s2c2t\", \"domains\": [{\"name\": \"solver\", \"vcpus\": 14, \"behaviour\": {\"kind\": \"cache\", "
        "\"burst_us\": 3000, \"sleep_us\": 1000, \"wss_kb\": 8192}}]}"
},
{
        "pipeline",
        "16 pCPUs (1n2s4c2t); three producer/consumer rings plus a low-weight batch domain",
        "{\"topology\": \"1n2s4c2t\", \"domains\": [{\"name\": \"pipe-a\", \"vcpus\": 4, \"behaviour\": {\"kind\": \"chain\", "
        "\"burst_us\": 100, \"tokens\": 2}}, {\"name\": \"pipe-b\", \"vcpus\": 4, \"behaviour\": {\"kind\": \"chain\", "
        "\"burst_us\": 100, \"tokens\": 2}}, {\"name\": \"pipe-c\", \"vcpus\": 4, \"behaviour\": {\"kind\": \"chain\", "
        "\"burst_us\": 100, \"tokens\": 2}}, {\"name\": \"batch\", \"vcpus\": 8, \"weight\": 128, "
        "\"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 5000, \"sleep_us\": 2000}}]}"
},
{
        "bursty",
        "16 pCPUs on 2 nodes of 2 sockets (2n2s2c2t); on/off domains out of phase, load moves around the host",
        "{\"topology\": \"2n2s2c2t\", \"domains\": [{\"name\": \"a\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"onoff\", "
        "\"on_ms\": 30, \"off_ms\": 90, \"wss_kb\": 1024}}, {\"name\": \"b\", \"vcpus\": 8, "
        "\"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 30, \"off_ms\": 90, \"wss_kb\": 1024}}, {\"name\": \"c\", "
        "\"vcpus\": 8, \"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 30, \"off_ms\": 90, \"wss_kb\": 1024}}, "
        "{\"name\": \"svc\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 100, \"sleep_us\": 700, "
        "\"wss_kb\": 256}}]}"
},
{
        "mixed",
        "32 pCPUs on 2 nodes, one per socket (2n1s8c2t); 128 vCPUs of every kind, one domain capped; the benchmark's scenario",
        "{\"topology\": \"2n1s8c2t\", " MIXED_DOMAINS
},
{
        "mixed-1n2s",
        "the mixed workload on a two-socket host configured as one node (1n2s8c2t): memory interleaved over both sockets",
        "{\"topology\": \"1n2s8c2t\", " MIXED_DOMAINS
},
{
        "multitier",
        "32 pCPUs (2n1s8c2t); a web / application / database stack passing 16 requests in flight between its tiers, next to batch and logging VMs",
        "{\"topology\": \"2n1s8c2t\", \"domains\": [{\"name\": \"web\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"chain\", "
        "\"burst_us\": 100, \"tokens\": 16, \"next\": \"app\", \"wss_kb\": 1024}}, {\"name\": \"app\", \"vcpus\": 8, "
        "\"behaviour\": {\"kind\": \"chain\", \"burst_us\": 200, \"tokens\": 1, \"next\": \"db\", \"wss_kb\": 4096, "
        "\"mem_access_per_us\": 5}}, {\"name\": \"db\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"chain\", "
        "\"burst_us\": 150, \"tokens\": 1, \"next\": \"web\", \"wss_kb\": 16384, \"mem_access_per_us\": 10}}, "
        "{\"name\": \"batch\", \"vcpus\": 16, \"weight\": 128, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 10000, "
        "\"wss_kb\": 8192}}, {\"name\": \"log\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 100, "
        "\"sleep_us\": 2000}}]}"
},
{
        "cloud-caps",
        "32 pCPUs (2n1s8c2t); 12 capped tenant VMs of 4 vCPUs (150% each): burstable, interactive and steady tenants",
        "{\"topology\": \"2n1s8c2t\", \"domains\": [{\"name\": \"burst-0\", \"vcpus\": 4, \"cap\": 150, "
        "\"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 200, \"off_ms\": 400}}, {\"name\": \"burst-1\", \"vcpus\": 4, "
        "\"cap\": 150, \"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 200, \"off_ms\": 400}}, {\"name\": \"burst-2\", "
        "\"vcpus\": 4, \"cap\": 150, \"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 200, \"off_ms\": 400}}, "
        "{\"name\": \"burst-3\", \"vcpus\": 4, \"cap\": 150, \"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 200, "
        "\"off_ms\": 400}}, {\"name\": \"burst-4\", \"vcpus\": 4, \"cap\": 150, \"behaviour\": {\"kind\": \"onoff\", "
        "\"on_ms\": 200, \"off_ms\": 400}}, {\"name\": \"burst-5\", \"vcpus\": 4, \"cap\": 150, "
        "\"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 200, \"off_ms\": 400}}, {\"name\": \"shop-0\", \"vcpus\": 4, "
        "\"cap\": 150, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 100, \"sleep_us\": 800}}, {\"name\": \"shop-1\", "
        "\"vcpus\": 4, \"cap\": 150, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 100, \"sleep_us\": 800}}, "
        "{\"name\": \"shop-2\", \"vcpus\": 4, \"cap\": 150, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 100, "
        "\"sleep_us\": 800}}, {\"name\": \"shop-3\", \"vcpus\": 4, \"cap\": 150, \"behaviour\": {\"kind\": \"io\", "
        "\"burst_us\": 100, \"sleep_us\": 800}}, {\"name\": \"steady-0\", \"vcpus\": 4, \"cap\": 150, "
        "\"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 5000, \"sleep_us\": 5000}}, {\"name\": \"steady-1\", \"vcpus\": 4, "
        "\"cap\": 150, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 5000, \"sleep_us\": 5000}}]}"
},
{
        "day-cycle",
        "32 pCPUs (2n1s8c2t); a consolidated server's day in 17 min: morning web (300 s), midday web + analytics (240 s), evening analytics + builds (300 s), night backups + batch (180 s)",
        "{\"topology\": \"2n1s8c2t\", \"domains\": [{\"name\": \"web\", \"vcpus\": 32, \"behaviour\": {\"kind\": \"io\", "
        "\"burst_us\": 80, \"sleep_us\": 1500}}, {\"name\": \"analytics\", \"vcpus\": 16, "
        "\"behaviour\": {\"kind\": \"idle\"}}, {\"name\": \"build\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"idle\"}}, "
        "{\"name\": \"backup\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"idle\"}}, {\"name\": \"batch\", \"vcpus\": 16, "
        "\"weight\": 128, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 5000, \"sleep_us\": 5000}}], "
        "\"phases\": [{\"duration_s\": 300, \"domains\": {\"web\": {\"kind\": \"io\", \"burst_us\": 80, \"sleep_us\": 1500}, "
        "\"analytics\": \"inherit\", \"build\": \"inherit\", \"backup\": \"inherit\", \"batch\": \"inherit\"}}, "
        "{\"duration_s\": 240, \"domains\": {\"web\": {\"kind\": \"io\", \"burst_us\": 80, \"sleep_us\": 800}, "
        "\"analytics\": {\"kind\": \"cache\", \"burst_us\": 2000, \"sleep_us\": 2000, \"wss_kb\": 8192}, "
        "\"build\": \"inherit\", \"backup\": \"inherit\", \"batch\": \"inherit\"}}, {\"duration_s\": 300, "
        "\"domains\": {\"web\": {\"kind\": \"io\", \"burst_us\": 80, \"sleep_us\": 3000}, \"analytics\": {\"kind\": \"cache\", "
        "\"burst_us\": 5000, \"sleep_us\": 500, \"wss_kb\": 16384}, \"build\": {\"kind\": \"forkjoin\", "
        "\"burst_us\": 250000, \"jobs\": 40, \"parallel\": 16, \"serial_us\": 30000, \"sleep_us\": 2000, "
        "\"wss_kb\": 8192}, \"backup\": \"inherit\", \"batch\": {\"kind\": \"idle\"}}}, {\"duration_s\": 180, "
        "\"domains\": {\"web\": {\"kind\": \"io\", \"burst_us\": 80, \"sleep_us\": 10000}, "
        "\"analytics\": {\"kind\": \"idle\"}, \"build\": {\"kind\": \"idle\"}, \"backup\": {\"kind\": \"io\", "
        "\"burst_us\": 2000, \"sleep_us\": 3000, \"wss_kb\": 4096}, \"batch\": {\"kind\": \"cpu\", \"burst_us\": 10000}}}]}"
},
{
        "ci-cycle",
        "32 pCPUs on one node of two sockets (1n2s8c2t); a CI host: build (make -j32, 120 s), test run (90 s), quiet (60 s), packaging (90 s)",
        "{\"topology\": \"1n2s8c2t\", \"domains\": [{\"name\": \"build\", \"vcpus\": 32, \"behaviour\": {\"kind\": \"idle\"}}, "
        "{\"name\": \"tests\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"idle\"}}, {\"name\": \"svc\", \"vcpus\": 8, "
        "\"behaviour\": {\"kind\": \"io\", \"burst_us\": 100, \"sleep_us\": 2000}}, {\"name\": \"pkg\", \"vcpus\": 8, "
        "\"behaviour\": {\"kind\": \"idle\"}}], \"phases\": [{\"duration_s\": 120, "
        "\"domains\": {\"build\": {\"kind\": \"forkjoin\", \"burst_us\": 200000, \"jobs\": 64, \"parallel\": 32, "
        "\"serial_us\": 50000, \"sleep_us\": 2000, \"wss_kb\": 8192}, \"tests\": \"inherit\", \"svc\": \"inherit\", "
        "\"pkg\": \"inherit\"}}, {\"duration_s\": 90, \"domains\": {\"build\": {\"kind\": \"idle\"}, "
        "\"tests\": {\"kind\": \"chain\", \"burst_us\": 200, \"tokens\": 8}, \"svc\": \"inherit\", \"pkg\": \"inherit\"}}, "
        "{\"duration_s\": 60, \"domains\": {\"build\": \"inherit\", \"tests\": {\"kind\": \"idle\"}, \"svc\": {\"kind\": \"io\", "
        "\"burst_us\": 100, \"sleep_us\": 5000}, \"pkg\": \"inherit\"}}, {\"duration_s\": 90, "
        "\"domains\": {\"build\": \"inherit\", \"tests\": \"inherit\", \"svc\": {\"kind\": \"io\", \"burst_us\": 100, "
        "\"sleep_us\": 2000}, \"pkg\": {\"kind\": \"cpu\", \"burst_us\": 20000, \"sleep_us\": 2000, \"wss_kb\": 8192}}}]}"
},
{
        "nfv-diurnal",
        "16 pCPUs (1n1s8c2t); a virtual router through its traffic day: peak (180 s), off-peak with batch filling the idle time (240 s), ramp (120 s)",
        "{\"topology\": \"1n1s8c2t\", \"domains\": [{\"name\": \"router\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"io\", "
        "\"burst_us\": 25, \"sleep_us\": 30, \"wss_kb\": 512}}, {\"name\": \"batch\", \"vcpus\": 8, \"weight\": 64, "
        "\"behaviour\": {\"kind\": \"idle\"}}], \"phases\": [{\"duration_s\": 180, "
        "\"domains\": {\"router\": {\"kind\": \"io\", \"burst_us\": 25, \"sleep_us\": 30, \"wss_kb\": 512}, "
        "\"batch\": {\"kind\": \"idle\"}}}, {\"duration_s\": 240, \"domains\": {\"router\": {\"kind\": \"io\", "
        "\"burst_us\": 25, \"sleep_us\": 300, \"wss_kb\": 512}, \"batch\": {\"kind\": \"cpu\", \"burst_us\": 10000}}}, "
        "{\"duration_s\": 120, \"domains\": {\"router\": {\"kind\": \"io\", \"burst_us\": 25, \"sleep_us\": 100, "
        "\"wss_kb\": 512}, \"batch\": \"inherit\"}}]}"
},
{
        "hpc-campaign",
        "32 pCPUs on 2 nodes of 2 sockets (2n2s4c2t); a simulation campaign: solver (300 s), post-processing jobs (120 s), visualisation I/O (180 s)",
        "{\"topology\": \"2n2s4c2t\", \"domains\": [{\"name\": \"solver\", \"vcpus\": 24, "
        "\"behaviour\": {\"kind\": \"idle\"}}, {\"name\": \"post\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"idle\"}}, "
        "{\"name\": \"viz\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"idle\"}}], \"phases\": [{\"duration_s\": 300, "
        "\"domains\": {\"solver\": {\"kind\": \"cache\", \"burst_us\": 3000, \"sleep_us\": 500, \"wss_kb\": 8192}, "
        "\"post\": \"inherit\", \"viz\": \"inherit\"}}, {\"duration_s\": 120, \"domains\": {\"solver\": {\"kind\": \"idle\"}, "
        "\"post\": {\"kind\": \"forkjoin\", \"burst_us\": 50000, \"jobs\": 32, \"parallel\": 16, \"serial_us\": 20000, "
        "\"sleep_us\": 1000, \"wss_kb\": 4096}, \"viz\": {\"kind\": \"io\", \"burst_us\": 200, \"sleep_us\": 2000}}}, "
        "{\"duration_s\": 180, \"domains\": {\"solver\": \"inherit\", \"post\": {\"kind\": \"idle\"}, "
        "\"viz\": {\"kind\": \"io\", \"burst_us\": 500, \"sleep_us\": 1000, \"wss_kb\": 2048}}}]}"
},
};

const char *sim_builtin_json(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++)
                if (strcmp(scenarios[i].name, name) == 0)
                        return scenarios[i].json;
        return NULL;
}

ISCHED_EXPORT size_t isched_sim_scenario_count(void)
{
        return ARRAY_SIZE(scenarios);
}

ISCHED_EXPORT int isched_sim_scenario_get(size_t i, const char **ret_name, const char **ret_description)
{
        if (!ret_name || !ret_description)
                return isched__error(-EINVAL, "isched_sim_scenario_get: NULL argument");
        if (i >= ARRAY_SIZE(scenarios))
                return isched__error(-ERANGE, "scenario index %zu is out of range (there are %zu)", i,
                                     ARRAY_SIZE(scenarios));
        *ret_name = scenarios[i].name;
        *ret_description = scenarios[i].description;
        return 0;
}

static int copy_phases(const struct sim_workload *wl, double *ret_duration_s, size_t max, size_t *ret_n)
{
        *ret_n = wl->nr_phases;
        if (wl->nr_phases > max)
                return isched__error(-ERANGE, "the workload has %u phases, more than the %zu asked for",
                                     wl->nr_phases, max);
        for (uint32_t i = 0; i < wl->nr_phases; i++)
                ret_duration_s[i] = (double)wl->phases[i].duration_ns / 1e9;
        return 0;
}

ISCHED_EXPORT int isched_sim_scenario_phases(const char *name, double *ret_duration_s, size_t max, size_t *ret_n)
{
        struct sim_workload wl;
        const char *json;
        size_t n = 0;
        int r;

        if (!name || !ret_n || (!ret_duration_s && max))
                return isched__error(-EINVAL, "isched_sim_scenario_phases: NULL argument");
        json = sim_builtin_json(name);
        if (!json)
                return isched__error(-ENOENT, "unknown scenario '%s' (isched sim --list names them)", name);
        r = sim_workload_parse(json, name, &wl);
        if (r < 0)
                return r;
        r = copy_phases(&wl, ret_duration_s, max, &n);
        sim_workload_clear(&wl);
        *ret_n = n;
        return r;
}

ISCHED_EXPORT int isched_sim_phases(const struct isched_sim *sim, double *ret_duration_s, size_t max, size_t *ret_n)
{
        if (!sim || !ret_n || (!ret_duration_s && max))
                return isched__error(-EINVAL, "isched_sim_phases: NULL argument");
        return copy_phases(&sim->wl, ret_duration_s, max, ret_n);
}
