/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Observation modes of the sim backend: ground-truth, xen (no work
 * counter) and xen+guests (work only from the publishing domains, through
 * the guest-work tracker); and the modes the other backends refuse. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intellisched/intellisched.h"
#include "intellisched/sim.h"

/* Two busy domains in one pool; "quiet" does not publish. */
static const char workload[] =
        "{\"topology\": \"1n1s4c1t\", \"domains\": ["
        " {\"name\": \"app\", \"vcpus\": 2, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 2000, \"sleep_us\": 500}},"
        " {\"name\": \"other\", \"vcpus\": 2, \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 1000, \"sleep_us\": 1000}},"
        " {\"name\": \"quiet\", \"vcpus\": 2, \"publishes\": false,"
        "  \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 3000, \"sleep_us\": 100}}]}";

static char path[64];

static int suite_init(void)
{
        FILE *f;
        int fd;

        strcpy(path, "/tmp/isched-guest-sim-XXXXXX");
        fd = mkstemp(path);
        if (fd < 0)
                return -1;
        f = fdopen(fd, "w");
        if (!f)
                return -1;
        fputs(workload, f);
        return fclose(f) == 0 ? 0 : -1;
}

static int suite_clean(void)
{
        unlink(path);
        return 0;
}

static struct isched_backend *open_sim(const char *observation, double cap, const char *weights)
{
        struct isched_backend_config cfg = {
                .size = sizeof(cfg), .workload_path = path, .seed = 7,
                .observation = observation, .guest_share_cap = cap, .guest_weights = weights,
        };
        struct isched_backend *b = NULL;

        CU_ASSERT_EQUAL_FATAL(isched_backend_open("sim", &cfg, &b), 0);
        return b;
}

/* Two snapshots 1 s apart after 1 s of warm-up. */
static void window(struct isched_backend *b, struct isched_counters *c0, struct isched_counters *c1)
{
        CU_ASSERT_EQUAL_FATAL(isched_backend_wait(b, 1000000000ull), 0);
        CU_ASSERT_EQUAL_FATAL(isched_backend_read_counters(b, 0, c0), 0);
        CU_ASSERT_EQUAL_FATAL(isched_backend_wait(b, 1000000000ull), 0);
        CU_ASSERT_EQUAL_FATAL(isched_backend_read_counters(b, 0, c1), 0);
}

static void test_ground_truth_and_xen(void)
{
        struct isched_backend *gt = open_sim(NULL, 0.0, NULL), *xen = open_sim("xen", 0.0, NULL);
        struct isched_counters g0, g1, x0, x1;

        window(gt, &g0, &g1);
        window(xen, &x0, &x1);
        CU_ASSERT(g1.valid & ISCHED_CNT_WORK);
        CU_ASSERT(!(g1.valid & ISCHED_CNT_GUEST_WORK));
        CU_ASSERT(g1.work_units > g0.work_units);
        /* xen: the same simulation, every counter but the work. */
        CU_ASSERT_EQUAL(x1.valid, g1.valid & ~(uint32_t)ISCHED_CNT_WORK);
        CU_ASSERT_EQUAL(x1.work_units, 0u);
        CU_ASSERT_EQUAL(x1.guest_ns, g1.guest_ns);
        CU_ASSERT_EQUAL(x1.wakeups, g1.wakeups);
        CU_ASSERT_EQUAL(memcmp(x1.wake_latency_hist, g1.wake_latency_hist, sizeof(x1.wake_latency_hist)), 0);
        isched_backend_unref(gt);
        isched_backend_unref(xen);
}

/* The work of one domain over the window, from the simulator's ground truth. */
static double domain_work(const char *name, double seconds_from, double seconds_to)
{
        struct isched_sim_config sc;
        struct isched_sim *sim = NULL;
        struct isched_sim_domain_info a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
        uint32_t n, idx = UINT32_MAX;

        isched_sim_config_init(&sc);
        sc.workload_path = path;
        sc.seed = 7;
        CU_ASSERT_EQUAL_FATAL(isched_sim_new(&sc, &sim), 0);
        CU_ASSERT_EQUAL_FATAL(isched_sim_domain_count(sim, &n), 0);
        for (uint32_t i = 0; i < n; i++) {
                CU_ASSERT_EQUAL_FATAL(isched_sim_domain_info(sim, i, &a), 0);
                if (strcmp(a.name, name) == 0)
                        idx = i;
        }
        CU_ASSERT_FATAL(idx != UINT32_MAX);
        CU_ASSERT_EQUAL_FATAL(isched_sim_run(sim, (uint64_t)(seconds_from * 1e9)), 0);
        CU_ASSERT_EQUAL_FATAL(isched_sim_domain_info(sim, idx, &a), 0);
        CU_ASSERT_EQUAL_FATAL(isched_sim_run(sim, (uint64_t)((seconds_to - seconds_from) * 1e9)), 0);
        CU_ASSERT_EQUAL_FATAL(isched_sim_domain_info(sim, idx, &b), 0);
        CU_ASSERT(!strcmp(name, "quiet") ? !b.publishes : b.publishes);
        isched_sim_free(sim);
        return (double)(b.work_units - a.work_units);
}

static void test_xen_guests(void)
{
        struct isched_backend *b = open_sim("xen+guests", 1.0, "other=0.5");
        const double app = domain_work("app", 1.0, 2.0), other = domain_work("other", 1.0, 2.0),
                     quiet = domain_work("quiet", 1.0, 2.0);
        struct isched_counters c0, c1;
        struct isched_window w;

        window(b, &c0, &c1);
        CU_ASSERT(quiet > 0.0);
        CU_ASSERT((c1.valid & (ISCHED_CNT_WORK | ISCHED_CNT_GUEST_WORK)) ==
                  (ISCHED_CNT_WORK | ISCHED_CNT_GUEST_WORK));
        CU_ASSERT_EQUAL(c1.work_domains, 2u);
        CU_ASSERT_EQUAL(c1.work_generation, c0.work_generation);
        /* The publishing domains' work, weighted; not the quiet one's. */
        CU_ASSERT_DOUBLE_EQUAL((double)(c1.work_units - c0.work_units), app + 0.5 * other, 2.0);
        CU_ASSERT_EQUAL_FATAL(isched_window_from_counters(&c0, &c1, &w), 0);
        CU_ASSERT(w.throughput_is_work);
        CU_ASSERT_EQUAL(w.work_domains, 2u);
        isched_backend_unref(b);

        /* With the default cap of 0.5, the larger one is cut to the other's. */
        b = open_sim("xen+guests", 0.0, NULL);
        window(b, &c0, &c1);
        CU_ASSERT_DOUBLE_EQUAL((double)(c1.work_units - c0.work_units), 2.0 * (app < other ? app : other), 2.0);
        isched_backend_unref(b);
}

/* The mode changes what the backend reports, never the simulation: the
 * ground truth behind the three modes is the same at every read, switches
 * included.  bench/quality --no-prior rests on it (it reuses the statics and
 * oracle runs of one mode, which do not learn, in the others). */
static void test_same_simulation(void)
{
        static const char *const modes[] = { "ground-truth", "xen", "xen+guests" };
        struct isched_backend *b[3];
        struct isched_sim *sim[3];

        for (unsigned m = 0; m < 3; m++) {
                b[m] = open_sim(modes[m], 0.0, NULL);
                CU_ASSERT_EQUAL_FATAL(isched_sim_from_backend(b[m], &sim[m]), 0);
        }
        for (unsigned step = 0; step < 12; step++) {
                struct isched_counters g[3], o[3];

                for (unsigned m = 0; m < 3; m++) {
                        if (step == 4 || step == 8)
                                CU_ASSERT_EQUAL(isched_backend_set_arrangement(
                                                        b[m], 0, step == 4 ? ISCHED_ARR_CPU : ISCHED_ARR_SOCKET), 0);
                        CU_ASSERT_EQUAL_FATAL(isched_backend_wait(b[m], 500000000ull), 0);
                        /* the observed read first: xen+guests runs its tracker on it */
                        CU_ASSERT_EQUAL_FATAL(isched_backend_read_counters(b[m], 0, &o[m]), 0);
                        CU_ASSERT_EQUAL_FATAL(isched_sim_read_counters(sim[m], 0, &g[m]), 0);
                }
                CU_ASSERT(o[0].valid & ISCHED_CNT_WORK);
                CU_ASSERT(!(o[1].valid & ISCHED_CNT_WORK));
                CU_ASSERT(o[2].valid & ISCHED_CNT_GUEST_WORK);
                CU_ASSERT(g[0].work_units > 0);
                for (unsigned m = 1; m < 3; m++) {
                        CU_ASSERT_EQUAL(g[m].timestamp_ns, g[0].timestamp_ns);
                        CU_ASSERT_EQUAL(g[m].arrangement, g[0].arrangement);
                        CU_ASSERT_EQUAL(g[m].busy_ns, g[0].busy_ns);
                        CU_ASSERT_EQUAL(g[m].idle_ns, g[0].idle_ns);
                        CU_ASSERT_EQUAL(g[m].guest_ns, g[0].guest_ns);
                        CU_ASSERT_EQUAL(g[m].runnable_wait_ns, g[0].runnable_wait_ns);
                        CU_ASSERT_EQUAL(g[m].wakeups, g[0].wakeups);
                        CU_ASSERT_EQUAL(g[m].context_switches, g[0].context_switches);
                        CU_ASSERT_EQUAL(g[m].migrations, g[0].migrations);
                        CU_ASSERT_EQUAL(g[m].balance_moves, g[0].balance_moves);
                        CU_ASSERT_EQUAL(g[m].work_units, g[0].work_units);
                        CU_ASSERT_EQUAL(memcmp(g[m].wake_latency_hist, g[0].wake_latency_hist,
                                               sizeof(g[0].wake_latency_hist)), 0);
                }
        }
        for (unsigned m = 0; m < 3; m++)
                isched_backend_unref(b[m]);
}

/* What the backend knows of each domain, as explain shows it. */
static void test_list_guests(void)
{
        struct isched_backend *b = open_sim("xen+guests", 0.0, "other=0"), *gt = open_sim(NULL, 0.0, NULL);
        struct isched_guest_info *g = NULL;
        struct isched_counters c0, c1;
        size_t n = 0;

        window(b, &c0, &c1);
        CU_ASSERT_EQUAL_FATAL(isched_backend_list_guests(b, 0, &g, &n), 0);
        CU_ASSERT_EQUAL_FATAL(n, 3u);
        for (size_t i = 0; i < n; i++) {
                if (!strcmp(g[i].name, "app")) {
                        CU_ASSERT_STRING_EQUAL(g[i].state, "live");
                        CU_ASSERT(g[i].rate_per_s > 0.0);
                        CU_ASSERT_DOUBLE_EQUAL(g[i].share, 1.0, 1e-9); /* "other" is excluded */
                } else if (!strcmp(g[i].name, "other")) {
                        CU_ASSERT_STRING_EQUAL(g[i].state, "excluded");
                        CU_ASSERT(isnan(g[i].rate_per_s)); /* no accepted interval: no rate */
                } else {
                        CU_ASSERT_STRING_EQUAL(g[i].state, "absent"); /* "publishes": false */
                        CU_ASSERT(isnan(g[i].rate_per_s));
                        CU_ASSERT_DOUBLE_EQUAL(g[i].share, 0.0, 0.0);
                }
                CU_ASSERT_STRING_EQUAL(g[i].fault, "ok");
        }
        free(g);
        CU_ASSERT_EQUAL(isched_backend_list_guests(gt, 0, &g, &n), -EOPNOTSUPP);
        isched_backend_unref(b);
        isched_backend_unref(gt);
}

static void test_bad_modes(void)
{
        struct isched_backend_config cfg = { .size = sizeof(cfg), .workload_path = path };
        struct isched_backend *b = NULL;

        cfg.observation = "truth";
        CU_ASSERT_EQUAL(isched_backend_open("sim", &cfg, &b), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "ground-truth, xen or xen+guests"));
        cfg.observation = "xen+guests";
        cfg.guest_weights = "app";
        CU_ASSERT_EQUAL(isched_backend_open("sim", &cfg, &b), -EINVAL);
        cfg.guest_weights = NULL;
        cfg.guest_share_cap = 1.5;
        CU_ASSERT_EQUAL(isched_backend_open("sim", &cfg, &b), -EINVAL);
        cfg.guest_share_cap = 0.0;
        cfg.trace_path = path;
        CU_ASSERT_EQUAL(isched_backend_open("replay", &cfg, &b), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "no observation mode"));
        cfg.observation = "ground-truth";
        /* Refused before any hypercall, with or without Xen support. */
        CU_ASSERT_EQUAL(isched_backend_open("xen", &cfg, &b), -EINVAL);
        CU_ASSERT_PTR_NULL(b);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("guest-sim", suite_init, suite_clean);

        if (!s)
                return -1;
        if (!CU_add_test(s, "ground-truth and xen", test_ground_truth_and_xen) ||
            !CU_add_test(s, "xen+guests: publishing domains only", test_xen_guests) ||
            !CU_add_test(s, "the mode does not change the simulation", test_same_simulation) ||
            !CU_add_test(s, "the guests as the backend knows them", test_list_guests) ||
            !CU_add_test(s, "modes refused", test_bad_modes))
                return -1;
        return 0;
}
