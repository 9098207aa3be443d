/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-sim: how fast the embedded credit2 simulator runs.
 *
 * Reports events and simulated seconds per CPU second for the "mixed"
 * scenario (32 pCPUs, 128 vCPUs) under every arrangement, then how the
 * speed scales with the host: the same mix at 4 vCPUs per pCPU from 8 to
 * 256 pCPUs.  CPU time is this process's (CLOCK_PROCESS_CPUTIME_ID): what
 * one otherwise idle core gives per wall-clock second; on a loaded machine
 * the process gets less than a core and the wall-clock time is longer.
 * The goal is at least 100 simulated seconds per CPU second for every
 * arrangement of "mixed".  Measure a release
 * build:
 *   meson setup build-sim-rel --buildtype=release && ninja -C build-sim-rel
 *   build-sim-rel/bench/bench-sim [SIMULATED_SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <intellisched/intellisched.h>

static double cpu_seconds(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The mix of the "mixed" scenario, with vCPU counts scaled to the host. */
static void mixed_json(char *buf, size_t size, const char *topology, unsigned pcpus)
{
        const unsigned k = pcpus;

        snprintf(buf, size,
                 "{\"topology\": \"%s\", \"domains\": ["
                 "{\"name\": \"web\", \"vcpus\": %u, \"behaviour\": {\"kind\": \"io\", \"burst_us\": 80, \"sleep_us\": 1500}},"
                 "{\"name\": \"batch\", \"vcpus\": %u, \"weight\": 128, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 5000, \"sleep_us\": 5000}},"
                 "{\"name\": \"hpc\", \"vcpus\": %u, \"behaviour\": {\"kind\": \"cache\", \"burst_us\": 2000, \"sleep_us\": 2000, \"wss_kb\": 8192}},"
                 "{\"name\": \"pipe\", \"vcpus\": %u, \"behaviour\": {\"kind\": \"chain\", \"burst_us\": 100, \"tokens\": %u}},"
                 "{\"name\": \"bursty\", \"vcpus\": %u, \"cap\": %u, \"behaviour\": {\"kind\": \"onoff\", \"on_ms\": 50, \"off_ms\": 150}}]}",
                 topology, k, k * 3 / 4, k / 2, k * 3 / 4, (k * 3 / 4 + 3) / 4, k, k * 25);
}

static int measure(const struct isched_sim_config *cfg, double seconds, double *ret_events_per_s,
                   double *ret_speedup)
{
        struct isched_sim_stats st = { .size = sizeof(st) };
        struct isched_sim *sim;
        double t0, t1;
        int r;

        r = isched_sim_new(cfg, &sim);
        if (r < 0)
                return r;
        t0 = cpu_seconds();
        r = isched_sim_run(sim, (uint64_t)(seconds * 1e9));
        t1 = cpu_seconds();
        if (r == 0)
                r = isched_sim_get_stats(sim, 0, &st);
        isched_sim_free(sim);
        if (r < 0)
                return r;
        if (t1 <= t0)
                t1 = t0 + 1e-9;
        *ret_events_per_s = (double)st.events / (t1 - t0);
        *ret_speedup = seconds / (t1 - t0);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct {
                const char *topology;
                unsigned pcpus;
        } hosts[] = {
                { "1n1s4c2t", 8 },   { "1n2s4c2t", 16 },  { "2n1s8c2t", 32 },
                { "2n2s8c2t", 64 },  { "2n4s8c2t", 128 }, { "4n4s8c2t", 256 },
        };
        const double seconds = argc > 1 ? atof(argv[1]) : 20.0;
        struct isched_sim_config cfg;
        char json[4096];
        double ev, speed;

        if (seconds <= 0) {
                fprintf(stderr, "usage: bench-sim [SIMULATED_SECONDS > 0]\n");
                return 2;
        }
        printf("bench-sim: scenario \"mixed\" (32 pCPUs, 128 vCPUs), %g simulated s per run, CPU time of one core\n",
               seconds);
        printf("%-8s %14s %14s\n", "arrangement", "events/CPU s", "sim s/CPU s");
        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                isched_sim_config_init(&cfg);
                cfg.scenario = "mixed";
                cfg.set_arrangement = true;
                cfg.arrangement = (enum isched_arrangement)a;
                if (measure(&cfg, seconds, &ev, &speed) < 0) {
                        fprintf(stderr, "bench-sim: %s\n", isched_last_error());
                        return 1;
                }
                printf("%-11s %14.0f %14.1f\n", isched_arrangement_to_string((enum isched_arrangement)a), ev, speed);
        }
        printf("\nscaling (the same mix, 4 vCPUs per pCPU, arrangement socket):\n");
        printf("%-9s %6s %6s %14s %14s\n", "topology", "pCPUs", "vCPUs", "events/CPU s", "sim s/CPU s");
        for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
                const unsigned k = hosts[i].pcpus;
                const unsigned vcpus = k + k * 3 / 4 + k / 2 + k * 3 / 4 + k;

                mixed_json(json, sizeof(json), hosts[i].topology, k);
                isched_sim_config_init(&cfg);
                cfg.workload_json = json;
                if (measure(&cfg, seconds / 2, &ev, &speed) < 0) {
                        fprintf(stderr, "bench-sim: %s: %s\n", hosts[i].topology, isched_last_error());
                        return 1;
                }
                printf("%-9s %6u %6u %14.0f %14.1f\n", hosts[i].topology, k, vcpus, ev, speed);
        }
        return 0;
}
