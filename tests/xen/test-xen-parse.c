/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The xen backend's parsing and runqueue prediction, without Xen. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/xen-parse.h"
#include "util/util.h"

/* A snapshot as the hypervisor lays it out: header, nr_stats values, then
 * nr_buckets; value i is base + i.  Returns its size. */
static size_t make_snapshot(unsigned char *buf, uint32_t version, uint32_t nr_stats, uint32_t nr_buckets,
                            uint64_t base)
{
        const uint32_t hdr[4] = { version, nr_stats, nr_buckets, 0 };

        memcpy(buf, hdr, sizeof(hdr));
        for (uint32_t i = 0; i < nr_stats + nr_buckets; i++) {
                uint64_t v = base + i;

                memcpy(buf + 16 + 8 * (size_t)i, &v, 8);
        }
        return 16 + 8 * ((size_t)nr_stats + nr_buckets);
}

static void test_parse_snapshot(void)
{
        static unsigned char buf[16 + 8 * 400];
        struct isched__xen_stats s;
        size_t n;

        /* Version 1 as the series makes it: 13 statistics, 256 buckets,
         * 2168 bytes. */
        n = make_snapshot(buf, 1, 13, 256, 1000);
        CU_ASSERT_EQUAL(n, 2168u);
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, buf, n, &s), 0);
        CU_ASSERT_EQUAL(s.nr_runqueues, 1000u);
        CU_ASSERT_EQUAL(s.max_cpus_runqueue, 1001u);
        CU_ASSERT_EQUAL(s.rearrangements, 1002u);
        CU_ASSERT_EQUAL(s.freeze_last_ns, 1003u);
        CU_ASSERT_EQUAL(s.freeze_max_ns, 1004u);
        CU_ASSERT_EQUAL(s.freeze_total_ns, 1005u);
        CU_ASSERT_EQUAL(s.wakeups, 1006u);
        CU_ASSERT_EQUAL(s.context_switches, 1007u);
        CU_ASSERT_EQUAL(s.migrations, 1008u);
        CU_ASSERT_EQUAL(s.balance_checks, 1009u);
        CU_ASSERT_EQUAL(s.balance_moves, 1010u);
        CU_ASSERT_EQUAL(s.runnable_wait_ns, 1011u);
        CU_ASSERT_EQUAL(s.wake_latency_negative, 1012u);
        CU_ASSERT_EQUAL(s.wake_latency_hist[0], 1013u);
        CU_ASSERT_EQUAL(s.wake_latency_hist[255], 1013u + 255);
        CU_ASSERT_EQUAL(s.present, XSTAT_NR_RUNQUEUES | XSTAT_MAX_CPUS_RUNQUEUE | XSTAT_REARRANGEMENTS |
                                           XSTAT_FREEZE | XSTAT_WAKEUPS | XSTAT_CONTEXT_SWITCHES |
                                           XSTAT_MIGRATIONS | XSTAT_BALANCE_CHECKS | XSTAT_BALANCE_MOVES |
                                           XSTAT_RUNNABLE_WAIT | XSTAT_WAKE_LATENCY_NEGATIVE |
                                           XSTAT_WAKE_LATENCY);

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* The bytes themselves, on x86 (little-endian, as Xen writes
         * them there): version 1, 13 statistics, 256 buckets. */
        {
                static const unsigned char header[16] = { 1, 0, 0, 0, 13, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
                static const unsigned char wakeups[8] = { 0x15, 0xcd, 0x5b, 0x07, 0, 0, 0, 0 };

                CU_ASSERT_EQUAL(memcmp(buf, header, 16), 0);
                memcpy(buf + 16 + 8 * 6, wakeups, 8);
                CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, buf, n, &s), 0);
                CU_ASSERT_EQUAL(s.wakeups, 123456789u);
        }
#endif

        /* A newer hypervisor with two more statistics: they are skipped,
         * the histogram is found after them. */
        n = make_snapshot(buf, 1, 15, 256, 7);
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, buf, n, &s), 0);
        CU_ASSERT_EQUAL(s.wake_latency_negative, 7u + 12);
        CU_ASSERT_EQUAL(s.wake_latency_hist[0], 7u + 15);
        CU_ASSERT_EQUAL(s.wake_latency_hist[255], 7u + 15 + 255);

        /* An older one with only 4: those are present, the rest is not;
         * freeze-last-ns alone does not make XSTAT_FREEZE. */
        n = make_snapshot(buf, 1, 4, 256, 50);
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, buf, n, &s), 0);
        CU_ASSERT_EQUAL(s.present, XSTAT_NR_RUNQUEUES | XSTAT_MAX_CPUS_RUNQUEUE | XSTAT_REARRANGEMENTS |
                                           XSTAT_WAKE_LATENCY);
        CU_ASSERT_EQUAL(s.rearrangements, 52u);
        CU_ASSERT_EQUAL(s.freeze_last_ns, 53u);
        CU_ASSERT_EQUAL(s.wakeups, 0u);
        CU_ASSERT_EQUAL(s.wake_latency_hist[0], 54u);

        /* Refused, naming what is wrong, leaving *ret untouched. */
        n = make_snapshot(buf, 1, 13, 256, 0);
        memset(&s, 0xab, sizeof(s));
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(false, buf, n, &s), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "not a blob"));
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, buf, 15, &s), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "15 bytes"));
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, buf, n - 1, &s), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "2167 bytes"));
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, buf, n + 8, &s), -EBADMSG);
        n = make_snapshot(buf, 2, 13, 256, 0);
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, buf, n, &s), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "version 2"));
        n = make_snapshot(buf, 1, 13, 128, 0);
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, buf, n, &s), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "128 buckets"));
        /* A header whose counts overflow 32 bits is a size mismatch. */
        n = make_snapshot(buf, 1, 13, 256, 0);
        memcpy(buf + 4, (const uint32_t[]){ UINT32_MAX }, 4);
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, buf, n, &s), -EBADMSG);
        CU_ASSERT_EQUAL(s.wakeups, 0xababababababababu);
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, NULL, n, &s), -EINVAL);
        CU_ASSERT_EQUAL(isched__xen_parse_snapshot(true, buf, n, NULL), -EINVAL);
}

/* A snapshot the patched hypervisor really returned, under QEMU (dom0's
 * xen-probe snapshot, in the e2e's serial log): "type=T size=N HEX" after
 * '#' comment lines.  Returns the size, 0 if unreadable. */
static size_t read_hex_snapshot(const char *name, unsigned char *buf, size_t cap, unsigned *ret_type)
{
        char path[4096], line[8192];
        size_t size = 0, n = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", ISCHED_XEN_TEST_DATA, name);
        f = fopen(path, "r");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f)) {
                const char *hex;

                if (line[0] == '#')
                        continue;
                if (sscanf(line, "type=%u size=%zu", ret_type, &size) != 2 || size > cap ||
                    !(hex = strchr(strchr(line, ' ') + 1, ' ')))
                        break;
                for (hex++; n < size && sscanf(hex + 2 * n, "%2hhx", &buf[n]) == 1; n++)
                        ;
                break;
        }
        fclose(f);
        return n == size ? size : 0;
}

/* The real bytes: decoded, and what the interface promises holds in them. */
static void test_snapshot_from_qemu(void)
{
        static unsigned char buf[4096];
        struct isched__xen_stats s;
        unsigned type = 0;
        size_t n = read_hex_snapshot("snapshot-qemu.hex", buf, sizeof(buf), &type);
        uint64_t hist = 0;

        CU_ASSERT_EQUAL_FATAL(n, 2168u);
        CU_ASSERT_EQUAL(type, 1u); /* xenhypfs_type_blob */
        CU_ASSERT_EQUAL_FATAL(isched__xen_parse_snapshot(type == 1, buf, n, &s), 0);
        CU_ASSERT_EQUAL(s.present & XSTAT_WAKE_LATENCY, XSTAT_WAKE_LATENCY);
        /* The e2e's machine: Pool-0 has 4 of 8 CPUs (2 sockets x 2 cores x
         * 2 threads), the default cap. */
        CU_ASSERT(s.nr_runqueues >= 1 && s.nr_runqueues <= 4);
        CU_ASSERT_EQUAL(s.max_cpus_runqueue, 16u);
        CU_ASSERT(s.freeze_last_ns <= s.freeze_max_ns);
        CU_ASSERT(s.freeze_max_ns <= s.freeze_total_ns);
        CU_ASSERT(s.rearrangements > 0 ? s.freeze_max_ns > 0 : s.freeze_total_ns == 0);
        for (unsigned b = 0; b < ISCHED_LATENCY_BUCKETS; b++)
                hist += s.wake_latency_hist[b];
        /* Every counted wakeup ends in the histogram or the negative
         * counter, or is still pending: wakeups bounds their sum. */
        CU_ASSERT(hist > 0);
        CU_ASSERT(s.wakeups >= hist + s.wake_latency_negative);
        CU_ASSERT(s.context_switches > 0);
}

/* The patch series as text: every patch that xen-patches/series lists. */
static char *read_series(void)
{
        char path[4096], line[512], *text = NULL;
        size_t len = 0;
        FILE *series;

        snprintf(path, sizeof(path), "%s/series", ISCHED_XEN_PATCHES_DIR);
        series = fopen(path, "r");
        if (!series)
                return NULL;
        while (fgets(line, sizeof(line), series)) {
                FILE *f;
                char buf[8192];
                size_t n;

                line[strcspn(line, "\n#")] = '\0';
                if (!line[0])
                        continue;
                snprintf(path, sizeof(path), "%s/%s", ISCHED_XEN_PATCHES_DIR, line);
                f = fopen(path, "r");
                if (!f)
                        continue;
                while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
                        char *t = realloc(text, len + n + 1);

                        if (!t)
                                break;
                        text = t;
                        memcpy(text + len, buf, n);
                        len += n;
                        text[len] = '\0';
                }
                fclose(f);
        }
        fclose(series);
        return text;
}

/* Every statistic the backend knows is one the hypervisor series creates,
 * in the snapshot's order (a drifted order would silently swap counters),
 * and every statistic the series names is read. */
static void test_stat_leaves_match_series(void)
{
        char *text = read_series(), *p;
        bool seen[64] = { false };
        unsigned in_series = 0;

        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_FATAL(isched__xen_nr_stat_leaves <= 64);
        /* The series' table of names: lines '+    [SCHED_POOL_STAT_X] = "name",'. */
        for (p = text; (p = strstr(p, "\n+    [SCHED_POOL_STAT_")) != NULL; p++) {
                const char *q = strchr(p, '"'), *end = q ? strchr(q + 1, '"') : NULL;
                bool known = false;

                CU_ASSERT_PTR_NOT_NULL_FATAL(end);
                in_series++;
                for (size_t i = 0; i < isched__xen_nr_stat_leaves; i++)
                        if (strlen(isched__xen_stat_leaves[i].name) == (size_t)(end - q - 1) &&
                            !strncmp(isched__xen_stat_leaves[i].name, q + 1, (size_t)(end - q - 1))) {
                                CU_ASSERT(!seen[i]);
                                seen[i] = known = true;
                        }
                if (!known)
                        fprintf(stderr, "the series has a statistic the backend does not read: %.*s\n",
                                (int)(end - q - 1), q + 1);
                CU_ASSERT(known);
        }
        CU_ASSERT_EQUAL(in_series, isched__xen_nr_stat_leaves);
        for (size_t i = 0; i < isched__xen_nr_stat_leaves; i++)
                CU_ASSERT(seen[i]);
        /* The snapshot has the statistics in the order of enum
         * sched_pool_stat ('+    SCHED_POOL_STAT_X,' lines), which must
         * be the order of isched__xen_stat_leaves. */
        {
                unsigned pos = 0;

                for (p = text; (p = strstr(p, "\n+    SCHED_POOL_STAT_")) != NULL; p++) {
                        const char *id = p + strlen("\n+    ");
                        size_t idlen = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
                        char key[80];
                        const char *entry, *q;

                        if (!strncmp(id, "SCHED_POOL_STAT_WAKE_LATENCY,", idlen + 1))
                                break;
                        snprintf(key, sizeof(key), "[%.*s]", (int)idlen, id);
                        entry = strstr(text, key);
                        CU_ASSERT_PTR_NOT_NULL_FATAL(entry);
                        q = entry + strlen(key);
                        q += strspn(q, " ");
                        CU_ASSERT_FATAL(q[0] == '=');
                        q++;
                        q += strspn(q, " ");
                        CU_ASSERT_FATAL(q[0] == '"');
                        q++;
                        CU_ASSERT_FATAL(pos < isched__xen_nr_stat_leaves);
                        if (strncmp(q, isched__xen_stat_leaves[pos].name, strlen(isched__xen_stat_leaves[pos].name)) ||
                            q[strlen(isched__xen_stat_leaves[pos].name)] != '"')
                                fprintf(stderr, "snapshot value %u: the series has %.*s, the backend %s\n", pos,
                                        (int)strcspn(q, "\""), q, isched__xen_stat_leaves[pos].name);
                        CU_ASSERT_EQUAL(strncmp(q, isched__xen_stat_leaves[pos].name,
                                                strlen(isched__xen_stat_leaves[pos].name)), 0);
                        pos++;
                }
                CU_ASSERT_EQUAL(pos, isched__xen_nr_stat_leaves);
        }
        /* The snapshot's header as the backend reads it. */
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "#define CPUPOOL_STATS_SNAPSHOT_VERSION 1\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "+    uint32_t version;\n+    uint32_t nr_stats;\n"
                                            "+    uint32_t nr_buckets;\n+    uint32_t pad;\n"
                                            "+    uint64_t vals[SCHED_POOL_STAT_NR];\n"));
        CU_ASSERT_EQUAL(ISCHED_XEN_SNAPSHOT_VERSION, 1u);
        /* Same histogram: 256 buckets, as counters.h has. */
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "#define SCHED_WAKE_LATENCY_BUCKETS 256"));
        CU_ASSERT_EQUAL(ISCHED_LATENCY_BUCKETS, 256);
        free(text);
}

static void test_stats_to_counters(void)
{
        struct isched__xen_stats s;
        struct isched_counters c;

        memset(&s, 0, sizeof(s));
        s.present = XSTAT_WAKEUPS | XSTAT_CONTEXT_SWITCHES | XSTAT_MIGRATIONS | XSTAT_BALANCE_CHECKS |
                    XSTAT_BALANCE_MOVES | XSTAT_RUNNABLE_WAIT | XSTAT_WAKE_LATENCY | XSTAT_NR_RUNQUEUES;
        s.wakeups = 1234;
        s.context_switches = 567;
        s.migrations = 89;
        s.balance_checks = 10;
        s.balance_moves = 2;
        s.runnable_wait_ns = UINT64_MAX;
        s.nr_runqueues = 4;
        for (unsigned b = 0; b < ISCHED_LATENCY_BUCKETS; b++)
                s.wake_latency_hist[b] = b * 3u;

        memset(&c, 0, sizeof(c));
        c.valid = ISCHED_CNT_BUSY;
        isched__xen_stats_to_counters(&s, &c);
        CU_ASSERT_EQUAL(c.valid, ISCHED_CNT_BUSY | ISCHED_CNT_WAIT | ISCHED_CNT_WAKEUPS | ISCHED_CNT_LATENCY |
                                         ISCHED_CNT_CSWITCH | ISCHED_CNT_MIGRATIONS | ISCHED_CNT_BALANCE);
        CU_ASSERT_EQUAL(c.wakeups, 1234u);
        CU_ASSERT_EQUAL(c.context_switches, 567u);
        CU_ASSERT_EQUAL(c.migrations, 89u);
        CU_ASSERT_EQUAL(c.balance_checks, 10u);
        CU_ASSERT_EQUAL(c.balance_moves, 2u);
        CU_ASSERT_EQUAL(c.runnable_wait_ns, UINT64_MAX);
        /* Bucket for bucket: the hypervisor's buckets are counters.h's. */
        for (unsigned b = 0; b < ISCHED_LATENCY_BUCKETS; b++)
                CU_ASSERT_EQUAL(c.wake_latency_hist[b], b * 3u);

        /* Only what was read becomes valid; balance needs both counters. */
        memset(&s, 0, sizeof(s));
        s.present = XSTAT_WAKEUPS | XSTAT_BALANCE_CHECKS;
        s.wakeups = 5;
        s.balance_checks = 7;
        memset(&c, 0, sizeof(c));
        isched__xen_stats_to_counters(&s, &c);
        CU_ASSERT_EQUAL(c.valid, ISCHED_CNT_WAKEUPS);
        CU_ASSERT_EQUAL(c.wakeups, 5u);
        CU_ASSERT_EQUAL(c.balance_checks, 0u);
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
        {
                /* The runqueue of each CPU, as the 'r' dump lists them:
                 * the end-to-end test's Pool-0, then its pool on node 1. */
                uint32_t rq[8], nr = 0;
                const uint32_t node[8] = { 0, 0, 0, 0, 1, 1, 1, 1 }, core[8] = { 0, 0, 1, 1, 2, 2, 3, 3 };
                const uint32_t p1_core[8] = { UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, 0, 0, 1, 1 };

                CU_ASSERT_EQUAL_FATAL(n, 8u);
                CU_ASSERT_EQUAL(isched__xen_plan_runqueues(t, n, in, ISCHED_ARR_NODE, 16, true, rq, &nr), 0);
                CU_ASSERT_EQUAL(nr, 2u);
                CU_ASSERT_EQUAL(memcmp(rq, node, sizeof(rq)), 0);
                CU_ASSERT_EQUAL(isched__xen_plan_runqueues(t, n, in, ISCHED_ARR_CORE, 16, true, rq, &nr), 0);
                CU_ASSERT_EQUAL(nr, 4u);
                CU_ASSERT_EQUAL(memcmp(rq, core, sizeof(rq)), 0);
                for (size_t i = 0; i < 4; i++)
                        in[i] = false;
                CU_ASSERT_EQUAL(isched__xen_plan_runqueues(t, n, in, ISCHED_ARR_CORE, 16, true, rq, &nr), 0);
                CU_ASSERT_EQUAL(nr, 2u);
                CU_ASSERT_EQUAL(memcmp(rq, p1_core, sizeof(rq)), 0);
                CU_ASSERT_EQUAL(isched__xen_plan_runqueues(t, n, in, ISCHED_ARR_NODE, 16, true, rq, &nr), 0);
                CU_ASSERT_EQUAL(nr, 1u);
                CU_ASSERT_EQUAL(rq[4], 0u);
                CU_ASSERT_EQUAL(rq[0], UINT32_MAX);
        }
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
        if (!CU_add_test(s, "credit2-stats snapshot", test_parse_snapshot) ||
            !CU_add_test(s, "credit2-stats snapshot from the hypervisor", test_snapshot_from_qemu) ||
            !CU_add_test(s, "credit2-stats leaves are the series' names", test_stat_leaves_match_series) ||
            !CU_add_test(s, "credit2-stats to counters", test_stats_to_counters) ||
            !CU_add_test(s, "arrangement text", test_arrangement_text) ||
            !CU_add_test(s, "Xen command line options", test_cmdline) ||
            !CU_add_test(s, "runqueues per arrangement", test_runqueues) ||
            !CU_add_test(s, "pCPU busy/idle accounting", test_cpu_account))
                return -1;
        return 0;
}
