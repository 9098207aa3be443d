/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The xen backend's parsing and runqueue prediction, without Xen. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/xen-parse.h"
#include "util/util.h"

/* A credit2-stats text as xen-patches/INTERFACE.md specifies it. */
static void make_stats_text(char *buf, size_t len, const char *extra_line)
{
        int n = snprintf(buf, len,
                         "arrangement core\n"
                         "nr_runqueues 4\n"
                         "max_cpus_runqueue 16\n"
                         "rearrangements 3\n"
                         "wakeups 1234\n"
                         "context_switches 567\n"
                         "migrations 89\n"
                         "balance_checks 10\n"
                         "balance_moves 2\n"
                         "runnable_wait_ns 18446744073709551615\n"
                         "wake_latency_log2");

        for (unsigned i = 0; i < 32; i++) /* the v1 series' 32 log2 buckets */
                n += snprintf(buf + n, len - (size_t)n, " %u", i * 7);
        snprintf(buf + n, len - (size_t)n, "\n%s", extra_line ? extra_line : "");
}

static void test_stats_full(void)
{
        struct isched__xen_stats s;
        struct isched_counters c;
        char text[1024];

        make_stats_text(text, sizeof(text), "future_counter 1 2 3\n");
        CU_ASSERT_EQUAL_FATAL(isched__xen_parse_stats(text, &s), 0);
        CU_ASSERT_EQUAL(s.arrangement, ISCHED_ARR_CORE);
        CU_ASSERT_EQUAL(s.nr_runqueues, 4u);
        CU_ASSERT_EQUAL(s.max_cpus_runqueue, 16u);
        CU_ASSERT_EQUAL(s.rearrangements, 3u);
        CU_ASSERT_EQUAL(s.wakeups, 1234u);
        CU_ASSERT_EQUAL(s.runnable_wait_ns, UINT64_MAX);
        /* Log2 bucket i, [2^i, 2^(i+1)) ns, lands in the sub-octave bucket
         * of 2^i ns; nothing else is counted. */
        for (unsigned i = 0, total = 0; i < 32; i++) {
                CU_ASSERT_EQUAL(s.wake_latency_hist[isched_latency_bucket(i ? 1ull << i : 0)], i * 7u);
                total += i * 7u;
                if (i == 31) {
                        uint64_t sum = 0;

                        for (unsigned b = 0; b < ISCHED_LATENCY_BUCKETS; b++)
                                sum += s.wake_latency_hist[b];
                        CU_ASSERT_EQUAL(sum, total);
                }
        }
        CU_ASSERT_EQUAL(s.present, (1u << 11) - 1);

        memset(&c, 0, sizeof(c));
        c.valid = ISCHED_CNT_BUSY;
        isched__xen_stats_to_counters(&s, &c);
        CU_ASSERT_EQUAL(c.valid, ISCHED_CNT_BUSY | ISCHED_CNT_WAIT | ISCHED_CNT_WAKEUPS | ISCHED_CNT_LATENCY |
                                         ISCHED_CNT_CSWITCH | ISCHED_CNT_MIGRATIONS | ISCHED_CNT_BALANCE);
        CU_ASSERT_EQUAL(c.context_switches, 567u);
        CU_ASSERT_EQUAL(c.migrations, 89u);
        CU_ASSERT_EQUAL(c.balance_checks, 10u);
        CU_ASSERT_EQUAL(c.balance_moves, 2u);
        CU_ASSERT_EQUAL(c.wake_latency_hist[isched_latency_bucket(32)], 35u);
}

static void test_stats_partial(void)
{
        struct isched__xen_stats s;
        struct isched_counters c;

        /* Only what is there becomes valid; no trailing newline; CRLF. */
        CU_ASSERT_EQUAL_FATAL(isched__xen_parse_stats("\n  wakeups 5\r\nbalance_checks 7", &s), 0);
        CU_ASSERT_EQUAL(s.present, XSTAT_WAKEUPS | XSTAT_BALANCE_CHECKS);
        memset(&c, 0, sizeof(c));
        isched__xen_stats_to_counters(&s, &c);
        CU_ASSERT_EQUAL(c.valid, ISCHED_CNT_WAKEUPS); /* balance needs both lines */
        CU_ASSERT_EQUAL(c.wakeups, 5u);
        CU_ASSERT_EQUAL(c.balance_checks, 0u);

        CU_ASSERT_EQUAL(isched__xen_parse_stats("", &s), 0);
        CU_ASSERT_EQUAL(s.present, 0u);
        /* A name that only starts like a known one is unknown. */
        CU_ASSERT_EQUAL(isched__xen_parse_stats("wakeups_total x y\n", &s), 0);
        CU_ASSERT_EQUAL(s.present, 0u);
}

static void expect_bad(const char *text, const char *name_in_error)
{
        struct isched__xen_stats s;

        s.present = 0xdead;
        CU_ASSERT_EQUAL(isched__xen_parse_stats(text, &s), -EBADMSG);
        CU_ASSERT_EQUAL(s.present, 0xdeadu); /* untouched on failure */
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), name_in_error));
}

static void test_stats_malformed(void)
{
        char text[1024], *p;

        expect_bad("wakeups\n", "wakeups");
        expect_bad("wakeups -1\n", "wakeups");
        expect_bad("wakeups 12abc\n", "wakeups");
        expect_bad("wakeups 1 2\n", "wakeups");
        expect_bad("wakeups 18446744073709551616\n", "wakeups"); /* 2^64 */
        expect_bad("migrations 1\nmigrations 2\n", "repeated");
        expect_bad("arrangement sockets\n", "arrangement");
        expect_bad("wakeups 1\narrangement\n", "line 2");
        expect_bad("wake_latency_log2 1 2 3\n", "wake_latency_log2");

        /* 33 histogram counts: one too many. */
        make_stats_text(text, sizeof(text), NULL);
        p = strstr(text, "wake_latency_log2");
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        p = strchr(p, '\n');
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        memmove(p + 2, p, strlen(p) + 1);
        p[0] = ' ';
        p[1] = '9';
        expect_bad(text, "wake_latency_log2");
        expect_bad(text, "line 11");

        CU_ASSERT_EQUAL(isched__xen_parse_stats(NULL, NULL), -EINVAL);
}

static void test_arrangement_text(void)
{
        enum isched_arrangement a = ISCHED_ARR_CPU;

        CU_ASSERT_EQUAL(isched__xen_parse_arrangement("socket\n", &a), 0);
        CU_ASSERT_EQUAL(a, ISCHED_ARR_SOCKET);
        CU_ASSERT_EQUAL(isched__xen_parse_arrangement("  all ", &a), 0);
        CU_ASSERT_EQUAL(a, ISCHED_ARR_ALL);
        CU_ASSERT_EQUAL(isched__xen_parse_arrangement("numa", &a), -EBADMSG);
        CU_ASSERT_EQUAL(a, ISCHED_ARR_ALL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "numa"));
        CU_ASSERT_EQUAL(isched__xen_parse_arrangement("", &a), -EBADMSG);
        CU_ASSERT_EQUAL(isched__xen_parse_arrangement("a-very-long-arrangement-name", &a), -EBADMSG);
}

static void test_cmdline(void)
{
        char v[16];

        CU_ASSERT_EQUAL(isched__xen_cmdline_option("console=com1 credit2_runqueue=core loglvl=all",
                                                   "credit2_runqueue", v, sizeof(v)), 1);
        CU_ASSERT_STRING_EQUAL(v, "core");
        /* The last one wins, '-' equals '_'. */
        CU_ASSERT_EQUAL(isched__xen_cmdline_option("credit2_runqueue=core credit2-runqueue=all",
                                                   "credit2_runqueue", v, sizeof(v)), 1);
        CU_ASSERT_STRING_EQUAL(v, "all");
        CU_ASSERT_EQUAL(isched__xen_cmdline_option("xcredit2_runqueue=core", "credit2_runqueue", v, sizeof(v)), 0);
        CU_ASSERT_EQUAL(isched__xen_cmdline_option("a=1 -- credit2_runqueue=cpu", "credit2_runqueue", v,
                                                   sizeof(v)), 0);
        CU_ASSERT_EQUAL(isched__xen_cmdline_option("", "credit2_runqueue", v, sizeof(v)), 0);
        CU_ASSERT_EQUAL(isched__xen_cmdline_option("x=123456789", "x", v, 4), 1);
        CU_ASSERT_STRING_EQUAL(v, "123");
        CU_ASSERT_EQUAL(isched__xen_cmdline_option("x=1", "x", v, 0), -EINVAL);
}

/* Build sockets x cores x threads CPUs numbered as Xen does on QEMU:
 * threads of a core consecutive. */
static struct isched__xen_cpu_topo *make_topo(unsigned sockets, unsigned cores, unsigned threads,
                                              unsigned nodes, size_t *ret_n)
{
        const size_t n = (size_t)sockets * cores * threads;
        struct isched__xen_cpu_topo *t = calloc(n, sizeof(*t));

        for (size_t i = 0; t && i < n; i++) {
                t[i].socket = (uint32_t)(i / (cores * threads));
                t[i].core = (uint32_t)((i / threads) % cores);
                t[i].node = (uint32_t)(t[i].socket * nodes / sockets);
        }
        *ret_n = n;
        return t;
}

static void count_all(const struct isched__xen_cpu_topo *t, size_t n, const bool *in, unsigned cap,
                      const uint32_t expect[ISCHED_ARR_COUNT])
{
        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                uint32_t nr = 0;

                CU_ASSERT_EQUAL(isched__xen_count_runqueues(t, n, in, (enum isched_arrangement)a, cap, true,
                                                            &nr), 0);
                if (nr != expect[a])
                        printf("\n  arrangement %s: %u runqueues, expected %u\n",
                               isched_arrangement_to_string((enum isched_arrangement)a), nr, expect[a]);
                CU_ASSERT_EQUAL(nr, expect[a]);
        }
}

static void test_runqueues(void)
{
        struct isched__xen_cpu_topo *t;
        bool in[64];
        size_t n;

        /* The end-to-end test's QEMU topology: 2 sockets x 2 cores x 2 threads, one node. */
        t = make_topo(2, 2, 2, 1, &n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        for (size_t i = 0; i < n; i++)
                in[i] = true;
        count_all(t, n, in, 16, (const uint32_t[]){ 8, 4, 2, 1, 1 });

        /* Pool without CPUs 6,7 (one core of socket 1). */
        in[6] = in[7] = false;
        count_all(t, n, in, 16, (const uint32_t[]){ 6, 3, 2, 1, 1 });

        /* An offline CPU is never placed. */
        in[6] = in[7] = true;
        t[5].core = ISCHED_XEN_INVALID_ID;
        count_all(t, n, in, 16, (const uint32_t[]){ 7, 4, 2, 1, 1 });
        free(t);

        /* 2 sockets in 2 nodes. */
        t = make_topo(2, 2, 2, 2, &n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        for (size_t i = 0; i < n; i++)
                in[i] = true;
        count_all(t, n, in, 16, (const uint32_t[]){ 8, 4, 2, 2, 1 });
        free(t);

        /* 32 CPUs in one socket: the 16-CPU cap splits socket/node/all in two. */
        t = make_topo(1, 16, 2, 1, &n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        for (size_t i = 0; i < n; i++)
                in[i] = true;
        count_all(t, n, in, 16, (const uint32_t[]){ 32, 16, 2, 2, 2 });

        /* A cap of 3 with 2-thread cores: siblings stay together, so
         * runqueues hold one core (two CPUs) each. */
        count_all(t, n, in, 3, (const uint32_t[]){ 32, 16, 16, 16, 16 });
        free(t);

        CU_ASSERT_EQUAL(isched__xen_count_runqueues(NULL, 1, in, ISCHED_ARR_CPU, 16, true, &(uint32_t){ 0 }),
                        -EINVAL);
        CU_ASSERT_EQUAL(isched__xen_count_runqueues(&(struct isched__xen_cpu_topo){ 0 }, 1, in,
                                                    ISCHED_ARR_COUNT, 16, true, &(uint32_t){ 0 }),
                        -EINVAL);
}

static void check_acct(const struct isched__xen_cpu_acct *a, uint64_t now, uint64_t prev_busy,
                       uint64_t prev_idle)
{
        CU_ASSERT_EQUAL(a->busy_ns + a->idle_ns, now - a->t0_ns);
        CU_ASSERT(a->busy_ns >= prev_busy);
        CU_ASSERT(a->idle_ns >= prev_idle);
}

static void test_cpu_account(void)
{
        struct isched__xen_cpu_acct a = { 0 };
        /* (dom0 time, Xen idle time) readings of one pCPU, in ns. */
        static const uint64_t readings[][2] = {
                { 1000, 50000 },   /* origin */
                { 2000, 50400 },   /* 1000 elapsed, 400 idle */
                { 2100, 50600 },   /* idle ran ahead of dom0's clock: 200 idle in 100 */
                { 2200, 50600 },   /* no idle: busy grows */
                { 5200, 53500 },   /* idle catches up */
                { 5200, 53500 },   /* same instant */
                { 6200, 49000 },   /* Xen's idle time going backwards: ignored */
        };
        uint64_t busy = 0, idle = 0;

        for (size_t i = 0; i < ARRAY_SIZE(readings); i++) {
                isched__xen_cpu_account(&a, readings[i][0], readings[i][1]);
                check_acct(&a, readings[i][0], busy, idle);
                busy = a.busy_ns;
                idle = a.idle_ns;
        }
        CU_ASSERT_EQUAL(a.t0_ns, 1000u);

        /* The same readings, values checked: idle running ahead of
         * dom0's clock is capped, then reported in the next snapshot. */
        {
                struct isched__xen_cpu_acct b = { 0 };

                isched__xen_cpu_account(&b, 1000, 50000);
                isched__xen_cpu_account(&b, 2000, 50400);
                CU_ASSERT_EQUAL(b.busy_ns, 600u);
                CU_ASSERT_EQUAL(b.idle_ns, 400u);
                isched__xen_cpu_account(&b, 2100, 50600);
                CU_ASSERT_EQUAL(b.busy_ns, 600u);
                CU_ASSERT_EQUAL(b.idle_ns, 500u);
                isched__xen_cpu_account(&b, 2200, 50600);
                CU_ASSERT_EQUAL(b.busy_ns, 600u);
                CU_ASSERT_EQUAL(b.idle_ns, 600u); /* the 100 carried over */
                isched__xen_cpu_account(&b, 5200, 53500);
                CU_ASSERT_EQUAL(b.idle_ns, 3500u);
                CU_ASSERT_EQUAL(b.busy_ns, 700u);
        }
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("xen-parse", NULL, NULL);

        if (!s)
                return -1;
        if (!CU_add_test(s, "credit2-stats, all lines", test_stats_full) ||
            !CU_add_test(s, "credit2-stats, some lines", test_stats_partial) ||
            !CU_add_test(s, "credit2-stats, malformed", test_stats_malformed) ||
            !CU_add_test(s, "arrangement text", test_arrangement_text) ||
            !CU_add_test(s, "Xen command line options", test_cmdline) ||
            !CU_add_test(s, "runqueues per arrangement", test_runqueues) ||
            !CU_add_test(s, "pCPU busy/idle accounting", test_cpu_account))
                return -1;
        return 0;
}
