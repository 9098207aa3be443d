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

static const struct scenario scenarios[] = {
{
        "phased",
        "16 pCPUs (1n2s4c2t); every 5 s the workload changes: packet I/O, SMT-sensitive I/O, cache-heavy, bursty mix",
        "{\"topology\": \"1n2s4c2t\","
        " \"domains\": ["
        "  {\"name\": \"net\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 25, \"sleep_us\": 30, \"wss_kb\": 512}},"
        "  {\"name\": \"edge\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"idle\"}},"
        "  {\"name\": \"hpc\", \"vcpus\": 12, \"behaviour\": {\"kind\": \"idle\"}},"
        "  {\"name\": \"web\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"idle\"}},"
        "  {\"name\": \"batch\", \"vcpus\": 12, \"behaviour\": {\"kind\": \"idle\"}},"
        "  {\"name\": \"pipe\", \"vcpus\": 4, \"behaviour\": {\"kind\": \"idle\"}}],"
        " \"phases\": ["
        "  {\"duration_s\": 5, \"domains\": {"
        "    \"net\": {\"kind\": \"io\", \"burst_us\": 25, \"sleep_us\": 30, \"wss_kb\": 512},"
        "    \"web\": {\"kind\": \"idle\"}, \"batch\": {\"kind\": \"idle\"}, \"pipe\": {\"kind\": \"idle\"}}},"
        "  {\"duration_s\": 5, \"domains\": {"
        "    \"net\": {\"kind\": \"idle\"},"
        "    \"edge\": {\"kind\": \"io\", \"burst_us\": 30, \"sleep_us\": 10, \"wss_kb\": 512}}},"
        "  {\"duration_s\": 5, \"domains\": {"
        "    \"edge\": {\"kind\": \"idle\"},"
        "    \"hpc\": {\"kind\": \"cache\", \"burst_us\": 3000, \"sleep_us\": 500, \"wss_kb\": 16384}}},"
        "  {\"duration_s\": 5, \"domains\": {"
        "    \"hpc\": {\"kind\": \"idle\"},"
        "    \"web\": {\"kind\": \"io\", \"burst_us\": 60, \"sleep_us\": 600},"
        "    \"batch\": {\"kind\": \"onoff\", \"on_ms\": 40, \"off_ms\": 60},"
        "    \"pipe\": {\"kind\": \"chain\", \"burst_us\": 80, \"tokens\": 2}}}]}"
},
{
        "xenbuild",
        "after Faggioli's 2016 Xen-build benchmark, low load without noise: a 16-vCPU build VM on 16 pCPUs at about half load",
        "{\"topology\": \"1n2s4c2t\","
        " \"domains\": ["
        "  {\"name\": \"build\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 4000, \"sleep_us\": 5000, \"wss_kb\": 2048}}]}"
},
{
        "xenbuild-high",
        "after Faggioli's 2016 Xen-build benchmark, high load without noise: the build VM keeps all 16 pCPUs busy",
        "{\"topology\": \"1n2s4c2t\","
        " \"domains\": ["
        "  {\"name\": \"build\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 8000, \"sleep_us\": 600, \"wss_kb\": 2048}}]}"
},
{
        "xenbuild-low-noise",
        "after Faggioli's 2016 Xen-build benchmark, low load with noise: the half-loaded build VM plus CPU-hog and I/O noise VMs",
        "{\"topology\": \"1n2s4c2t\","
        " \"domains\": ["
        "  {\"name\": \"build\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 4000, \"sleep_us\": 5000, \"wss_kb\": 2048}},"
        "  {\"name\": \"noise-cpu\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 20000, \"wss_kb\": 4096}},"
        "  {\"name\": \"noise-io\", \"vcpus\": 4, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 200, \"sleep_us\": 2000}}]}"
},
{
        "xenbuild-noise",
        "after Faggioli's 2016 Xen-build benchmark, high load with noise: build VM plus CPU-hog and I/O noise VMs, overcommitted",
        "{\"topology\": \"1n2s4c2t\","
        " \"domains\": ["
        "  {\"name\": \"build\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 6000, \"sleep_us\": 1500, \"wss_kb\": 2048}},"
        "  {\"name\": \"noise-cpu\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 20000, \"wss_kb\": 4096}},"
        "  {\"name\": \"noise-io\", \"vcpus\": 4, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 200, \"sleep_us\": 2000}}]}"
},
{
        "nfv",
        "16 dedicated-style I/O vCPUs on 16 pCPUs waking 20000 times a second: scheduler and lock overhead dominate",
        "{\"topology\": \"1n1s8c2t\","
        " \"domains\": ["
        "  {\"name\": \"router\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 25, \"sleep_us\": 30, \"wss_kb\": 512}}]}"
},
{
        "smt-pairs",
        "8 busy I/O vCPUs on 8 cores x 2 threads: placement that sees SMT siblings matters",
        "{\"topology\": \"1n1s8c2t\","
        " \"domains\": ["
        "  {\"name\": \"router\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 60, \"sleep_us\": 20, \"wss_kb\": 512}}]}"
},
{
        "io-latency",
        "8 pCPUs on 2 nodes (2n1s2c2t); 24 latency-sensitive I/O vCPUs with small working sets and random bursts",
        "{\"topology\": \"2n1s2c2t\","
        " \"domains\": ["
        "  {\"name\": \"db\", \"vcpus\": 12, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 150, \"sleep_us\": 900, \"wss_kb\": 64}},"
        "  {\"name\": \"web\", \"vcpus\": 12, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 80, \"sleep_us\": 500, \"wss_kb\": 64}}]}"
},
{
        "hpc-cache",
        "16 pCPUs on 2 nodes (2n2s2c2t); 14 cache-heavy vCPUs (8 MiB working sets) that block for I/O every 3 ms",
        "{\"topology\": \"2n2s2c2t\","
        " \"domains\": ["
        "  {\"name\": \"solver\", \"vcpus\": 14, \"behaviour\": {\"kind\": \"cache\", \"burst_us\": 3000, \"sleep_us\": 1000, \"wss_kb\": 8192}}]}"
},
{
        "pipeline",
        "16 pCPUs; producer/consumer chains that wake each other, plus a background batch domain",
        "{\"topology\": \"1n2s4c2t\","
        " \"domains\": ["
        "  {\"name\": \"pipe-a\", \"vcpus\": 4, \"behaviour\": {\"kind\": \"chain\", \"burst_us\": 100, \"tokens\": 2}},"
        "  {\"name\": \"pipe-b\", \"vcpus\": 4, \"behaviour\": {\"kind\": \"chain\", \"burst_us\": 100, \"tokens\": 2}},"
        "  {\"name\": \"pipe-c\", \"vcpus\": 4, \"behaviour\": {\"kind\": \"chain\", \"burst_us\": 100, \"tokens\": 2}},"
        "  {\"name\": \"batch\", \"vcpus\": 8, \"weight\": 128, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 5000, \"sleep_us\": 2000}}]}"
},
{
        "bursty",
        "16 pCPUs on 2 nodes (2n2s2c2t); on/off domains out of phase, load moves around the host",
        "{\"topology\": \"2n2s2c2t\","
        " \"domains\": ["
        "  {\"name\": \"a\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 30, \"off_ms\": 90, \"wss_kb\": 1024}},"
        "  {\"name\": \"b\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 30, \"off_ms\": 90, \"wss_kb\": 1024}},"
        "  {\"name\": \"c\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 30, \"off_ms\": 90, \"wss_kb\": 1024}},"
        "  {\"name\": \"svc\", \"vcpus\": 8, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 100, \"sleep_us\": 700, \"wss_kb\": 256}}]}"
},
{
        "mixed",
        "32 pCPUs (2n1s8c2t), 128 vCPUs: I/O, batch, cache-heavy, chains and on/off; the benchmark's scenario",
        "{\"topology\": \"2n1s8c2t\","
        " \"domains\": ["
        "  {\"name\": \"web\", \"vcpus\": 32, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 80, \"sleep_us\": 1500}},"
        "  {\"name\": \"batch\", \"vcpus\": 24, \"weight\": 128, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 5000, \"sleep_us\": 5000}},"
        "  {\"name\": \"hpc\", \"vcpus\": 16, \"behaviour\": {\"kind\": \"cache\", \"burst_us\": 2000, \"sleep_us\": 2000, \"wss_kb\": 8192}},"
        "  {\"name\": \"pipe\", \"vcpus\": 24, \"behaviour\": {\"kind\": \"chain\", \"burst_us\": 100, \"tokens\": 6}},"
        "  {\"name\": \"bursty\", \"vcpus\": 32, \"cap\": 800, \"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 50, \"off_ms\": 150}}]}"
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
