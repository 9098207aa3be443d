/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intellisched/counters.h"
#include "util/util.h"

static void test_arrangement_names(void)
{
        enum isched_arrangement a;

        /* The values must be Xen's OPT_RUNQUEUE_* numbers. */
        CU_ASSERT_EQUAL(ISCHED_ARR_CPU, 0);
        CU_ASSERT_EQUAL(ISCHED_ARR_ALL, 4);
        for (unsigned i = 0; i < ISCHED_ARR_COUNT; i++) {
                const char *n = isched_arrangement_to_string((enum isched_arrangement)i);

                CU_ASSERT_PTR_NOT_NULL_FATAL(n);
                CU_ASSERT_EQUAL(isched_arrangement_from_string(n, &a), 0);
                CU_ASSERT_EQUAL((unsigned)a, i);
        }
        CU_ASSERT_STRING_EQUAL(isched_arrangement_to_string(ISCHED_ARR_SOCKET), "socket");
        a = ISCHED_ARR_NODE;
        CU_ASSERT_EQUAL(isched_arrangement_from_string("Socket", &a), -EINVAL);
        CU_ASSERT_EQUAL(a, ISCHED_ARR_NODE); /* untouched on failure */
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "Socket"));
        CU_ASSERT_PTR_NULL(isched_arrangement_to_string(ISCHED_ARR_COUNT));
}

static void test_latency_bucket(void)
{
        uint64_t lo, hi, prev_hi = 0;

        /* Exact below 8 ns. */
        for (unsigned v = 0; v < 8; v++)
                CU_ASSERT_EQUAL(isched_latency_bucket(v), v);
        /* 8 sub-buckets per power of two: [8, 16) ns has width 1, [16, 32)
         * width 2, [1024, 2048) width 128. */
        CU_ASSERT_EQUAL(isched_latency_bucket(8), 8u);
        CU_ASSERT_EQUAL(isched_latency_bucket(15), 15u);
        CU_ASSERT_EQUAL(isched_latency_bucket(16), 16u);
        CU_ASSERT_EQUAL(isched_latency_bucket(17), 16u);
        CU_ASSERT_EQUAL(isched_latency_bucket(18), 17u);
        CU_ASSERT_EQUAL(isched_latency_bucket(1024), 64u);
        CU_ASSERT_EQUAL(isched_latency_bucket(1151), 64u);
        CU_ASSERT_EQUAL(isched_latency_bucket(1152), 65u);
        CU_ASSERT_EQUAL(isched_latency_bucket(2047), 71u);
        CU_ASSERT_EQUAL(isched_latency_bucket(2048), 72u);
        /* The last bucket is open from 15 x 2^30 ns. */
        CU_ASSERT_EQUAL(isched_latency_bucket((15ull << 30) - 1), ISCHED_LATENCY_BUCKETS - 2);
        CU_ASSERT_EQUAL(isched_latency_bucket(15ull << 30), ISCHED_LATENCY_BUCKETS - 1);
        CU_ASSERT_EQUAL(isched_latency_bucket(1ull << 40), ISCHED_LATENCY_BUCKETS - 1);
        CU_ASSERT_EQUAL(isched_latency_bucket(UINT64_MAX), ISCHED_LATENCY_BUCKETS - 1);

        /* The ranges tile [0, 2^34) without gaps, each bucket holds exactly
         * its range, and above 8 ns no bucket is wider than 1/8 of its
         * lower edge. */
        for (unsigned b = 0; b < ISCHED_LATENCY_BUCKETS; b++) {
                CU_ASSERT_EQUAL_FATAL(isched_latency_bucket_range(b, &lo, &hi), 0);
                CU_ASSERT_EQUAL(lo, prev_hi);
                CU_ASSERT_TRUE(hi > lo);
                CU_ASSERT_EQUAL(isched_latency_bucket(lo), b);
                CU_ASSERT_EQUAL(isched_latency_bucket(hi - 1), b);
                if (b >= 8)
                        CU_ASSERT_TRUE(8 * (hi - lo) <= lo);
                prev_hi = hi;
        }
        CU_ASSERT_EQUAL(prev_hi, 1ull << 34);
        CU_ASSERT_EQUAL(isched_latency_bucket_range(ISCHED_LATENCY_BUCKETS, &lo, &hi), -ERANGE);
        CU_ASSERT_EQUAL(isched_latency_bucket_range(0, NULL, &hi), -EINVAL);
}

static void make_pair(struct isched_counters *a, struct isched_counters *b)
{
        memset(a, 0, sizeof(*a));
        a->version = ISCHED_COUNTERS_VERSION;
        a->valid = ISCHED_CNT_BUSY | ISCHED_CNT_WAKEUPS;
        a->nr_pcpus = 4;
        a->timestamp_ns = 1000000000ull;
        a->busy_ns = 100;
        a->wakeups = 10;
        *b = *a;
        b->timestamp_ns += 1000000000ull;
        b->busy_ns += 2000000000ull;
        b->idle_ns += 2000000000ull;
        b->wakeups += 5;
}

static void test_check_window(void)
{
        struct isched_counters a, b;

        make_pair(&a, &b);
        CU_ASSERT_EQUAL(isched_counters_check_window(&a, &b), 0);

        b.wakeups = a.wakeups - 1; /* wrapped or reset */
        CU_ASSERT_EQUAL(isched_counters_check_window(&a, &b), -ERANGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "wakeups"));

        make_pair(&a, &b);
        b.timestamp_ns = a.timestamp_ns;
        CU_ASSERT_EQUAL(isched_counters_check_window(&a, &b), -ERANGE);

        make_pair(&a, &b);
        b.nr_pcpus = 3;
        CU_ASSERT_EQUAL(isched_counters_check_window(&a, &b), -ESTALE);

        make_pair(&a, &b);
        b.idle_ns += 3000000000ull; /* 7 s of pCPU time in 1 s on 4 pCPUs */
        CU_ASSERT_EQUAL(isched_counters_check_window(&a, &b), -ERANGE);

        make_pair(&a, &b);
        b.version = 99;
        CU_ASSERT_EQUAL(isched_counters_check_window(&a, &b), -EINVAL);
        CU_ASSERT_EQUAL(isched_counters_check_window(NULL, &b), -EINVAL);
}

static char tmpdir[64];

static void test_atomic_write(void)
{
        char path[128], link[128], *data = NULL;
        size_t len = 0;
        struct stat st;

        snprintf(tmpdir, sizeof(tmpdir), "/tmp/isched-test-util-XXXXXX");
        CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpdir));
        snprintf(path, sizeof(path), "%s/model.json", tmpdir);
        CU_ASSERT_EQUAL(isched__write_file_atomic(path, "old", 3, 0600), 0);
        CU_ASSERT_EQUAL(isched__write_file_atomic(path, "new!", 4, 0600), 0);
        CU_ASSERT_EQUAL(isched__read_file(path, 100, &data, &len), 0);
        CU_ASSERT_EQUAL(len, 4u);
        CU_ASSERT_STRING_EQUAL(data, "new!");
        free(data);
        CU_ASSERT_EQUAL(stat(path, &st), 0);
        CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);

        /* Never written through a symbolic link. */
        snprintf(link, sizeof(link), "%s/link.json", tmpdir);
        CU_ASSERT_EQUAL(symlink(path, link), 0);
        CU_ASSERT_EQUAL(isched__write_file_atomic(link, "x", 1, 0600), -ELOOP);
        CU_ASSERT_EQUAL(isched__read_file(path, 100, &data, &len), 0);
        CU_ASSERT_STRING_EQUAL(data, "new!");
        free(data);
        unlink(link);

        /* Refused in a world-writable directory without the sticky bit. */
        CU_ASSERT_EQUAL(chmod(tmpdir, 0777), 0);
        CU_ASSERT_EQUAL(isched__write_file_atomic(path, "x", 1, 0600), -EPERM);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "world-writable"));
        CU_ASSERT_EQUAL(chmod(tmpdir, 0700), 0);

        /* Too large a file is refused when read. */
        CU_ASSERT_EQUAL(isched__read_file(path, 2, &data, &len), -EFBIG);
        CU_ASSERT_EQUAL(isched__read_file("/nonexistent/x", 2, &data, &len), -ENOENT);

        unlink(path);
        rmdir(tmpdir);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("util", NULL, NULL);

        if (!s)
                return -1;
        if (!CU_add_test(s, "arrangement names", test_arrangement_names) ||
            !CU_add_test(s, "latency buckets", test_latency_bucket) ||
            !CU_add_test(s, "counter window checks", test_check_window) ||
            !CU_add_test(s, "atomic file write", test_atomic_write))
                return -1;
        return 0;
}
