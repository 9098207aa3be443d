/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Counter traces (writer and reader) and the replay backend. */
#include <CUnit/CUnit.h>
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intellisched/backend.h"
#include "intellisched/context.h"
#include "intellisched/trace.h"
#include "util/util.h"

static char tmpdir[] = "/tmp/isched-test-trace-XXXXXX";
static char path[512];

static int setup(void)
{
        if (!mkdtemp(tmpdir))
                return -1;
        snprintf(path, sizeof(path), "%s/trace.jsonl", tmpdir);
        return 0;
}

static int teardown(void)
{
        char p[600];

        unlink(path);
        snprintf(p, sizeof(p), "%s/link.jsonl", tmpdir);
        unlink(p);
        return rmdir(tmpdir);
}

static void make_pools(struct isched_pool_info pools[2])
{
        memset(pools, 0, 2 * sizeof(pools[0]));
        pools[0].id = 0;
        snprintf(pools[0].name, sizeof(pools[0].name), "Pool-0");
        snprintf(pools[0].scheduler, sizeof(pools[0].scheduler), "credit2");
        pools[0].nr_pcpus = 8;
        pools[0].arrangement = ISCHED_ARR_SOCKET;
        pools[0].can_switch = true;
        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                pools[0].nr_runqueues[a] = 8u >> a;
        pools[1] = pools[0];
        pools[1].id = 7;
        snprintf(pools[1].name, sizeof(pools[1].name), "batch");
        pools[1].nr_pcpus = 4;
        pools[1].arrangement = ISCHED_ARR_CORE;
        pools[1].can_switch = false;
        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                pools[1].nr_runqueues[a] = 4u >> a;
}

/* Snapshot k of a pool: every field different, some beyond 2^53 (kept
 * exact as digit strings), counters growing with k. */
static struct isched_counters snapshot(uint32_t pool, unsigned k)
{
        struct isched_counters c;

        memset(&c, 0, sizeof(c));
        c.version = ISCHED_COUNTERS_VERSION;
        c.valid = ISCHED_CNT_BUSY | ISCHED_CNT_GUEST | ISCHED_CNT_LATENCY | (pool ? ISCHED_CNT_WORK : 0);
        c.timestamp_ns = (1ull << 60) + 1 + k * 1000000000ull; /* a host up for decades */
        c.nr_pcpus = pool ? 4 : 8;
        c.nr_vcpus = 12 + pool;
        c.arrangement = k % 2 ? ISCHED_ARR_CORE : ISCHED_ARR_SOCKET;
        c.busy_ns = 3ull * k * 1000000000ull + pool;
        c.idle_ns = 1ull * k * 1000000000ull;
        c.guest_ns = 2ull * k * 1000000000ull;
        c.runnable_wait_ns = 17 * k;
        c.wakeups = 1000 * k + 1;
        c.context_switches = 2000 * k + 2;
        c.migrations = 10 * k + 3;
        c.balance_checks = 5 * k + 4;
        c.balance_moves = k;
        for (unsigned i = 0; i < ISCHED_LATENCY_BUCKETS; i++)
                c.wake_latency_hist[i] = (uint64_t)(i + 1) * k;
        c.wake_latency_hist[ISCHED_LATENCY_BUCKETS - 1] = UINT64_MAX - 100 + k;
        c.work_units = (9007199254740993ull) + k; /* 2^53 + 1: not a double */
        return c;
}

/* Field by field: the struct has padding that need not match. */
static void assert_counters_equal(const struct isched_counters *a, const struct isched_counters *b)
{
        CU_ASSERT_EQUAL(a->version, b->version);
        CU_ASSERT_EQUAL(a->valid, b->valid);
        CU_ASSERT_EQUAL(a->timestamp_ns, b->timestamp_ns);
        CU_ASSERT_EQUAL(a->nr_pcpus, b->nr_pcpus);
        CU_ASSERT_EQUAL(a->nr_vcpus, b->nr_vcpus);
        CU_ASSERT_EQUAL(a->arrangement, b->arrangement);
        CU_ASSERT_EQUAL(a->busy_ns, b->busy_ns);
        CU_ASSERT_EQUAL(a->idle_ns, b->idle_ns);
        CU_ASSERT_EQUAL(a->guest_ns, b->guest_ns);
        CU_ASSERT_EQUAL(a->runnable_wait_ns, b->runnable_wait_ns);
        CU_ASSERT_EQUAL(a->wakeups, b->wakeups);
        CU_ASSERT_EQUAL(a->context_switches, b->context_switches);
        CU_ASSERT_EQUAL(a->migrations, b->migrations);
        CU_ASSERT_EQUAL(a->balance_checks, b->balance_checks);
        CU_ASSERT_EQUAL(a->balance_moves, b->balance_moves);
        CU_ASSERT_EQUAL(memcmp(a->wake_latency_hist, b->wake_latency_hist, sizeof(a->wake_latency_hist)), 0);
        CU_ASSERT_EQUAL(a->work_units, b->work_units);
}

/* A trace of both pools with n snapshots each, interleaved as an agent
 * writes them. */
static void write_trace(unsigned n)
{
        struct isched_pool_info pools[2];
        struct isched_trace_writer *w = NULL;

        make_pools(pools);
        CU_ASSERT_EQUAL_FATAL(isched_trace_writer_new(path, pools, 2, &w), 0);
        for (unsigned k = 0; k < n; k++) {
                struct isched_counters a = snapshot(0, k), b = snapshot(7, k);

                CU_ASSERT_EQUAL(isched_trace_writer_append(w, 0, &a), 0);
                CU_ASSERT_EQUAL(isched_trace_writer_append(w, 7, &b), 0);
        }
        CU_ASSERT_PTR_NULL(isched_trace_writer_free(w));
}

static void test_round_trip(void)
{
        struct isched_pool_info want[2];
        const struct isched_pool_info *pools;
        struct isched_trace_reader *r = NULL;
        struct isched_counters c, expect;
        uint32_t id;
        size_t n;

        write_trace(5);
        make_pools(want);
        CU_ASSERT_EQUAL_FATAL(isched_trace_reader_open(path, &r), 0);
        CU_ASSERT_EQUAL_FATAL(isched_trace_reader_get_pools(r, &pools, &n), 0);
        CU_ASSERT_EQUAL_FATAL(n, 2u);
        for (size_t i = 0; i < 2; i++) {
                CU_ASSERT_EQUAL(pools[i].id, want[i].id);
                CU_ASSERT_STRING_EQUAL(pools[i].name, want[i].name);
                CU_ASSERT_STRING_EQUAL(pools[i].scheduler, want[i].scheduler);
                CU_ASSERT_EQUAL(pools[i].nr_pcpus, want[i].nr_pcpus);
                CU_ASSERT_EQUAL(pools[i].arrangement, want[i].arrangement);
                CU_ASSERT_EQUAL(pools[i].can_switch, want[i].can_switch);
                CU_ASSERT_EQUAL(memcmp(pools[i].nr_runqueues, want[i].nr_runqueues, sizeof(want[i].nr_runqueues)), 0);
        }
        CU_ASSERT_EQUAL(isched_trace_reader_get_line(r), 1ul);
        for (unsigned k = 0; k < 10; k++) {
                CU_ASSERT_EQUAL_FATAL(isched_trace_reader_next(r, &id, &c), 0);
                CU_ASSERT_EQUAL(id, k % 2 ? 7u : 0u);
                expect = snapshot(id, k / 2);
                assert_counters_equal(&c, &expect);
                CU_ASSERT_EQUAL(isched_trace_reader_get_line(r), 2ul + k);
        }
        CU_ASSERT_EQUAL(isched_trace_reader_next(r, &id, &c), -ENODATA);
        CU_ASSERT_EQUAL(isched_trace_reader_next(r, &id, &c), -ENODATA);
        isched_trace_reader_free(r);
}

static void append_text(const char *text)
{
        FILE *f = fopen(path, "a");

        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fputs(text, f);
        fclose(f);
}

static unsigned count_records(void)
{
        struct isched_trace_reader *r = NULL;
        struct isched_counters c;
        unsigned n = 0;
        uint32_t id;

        if (isched_trace_reader_open(path, &r) < 0)
                return 1000;
        while (isched_trace_reader_next(r, &id, &c) == 0)
                n++;
        isched_trace_reader_free(r);
        return n;
}

static void test_torn_last_line(void)
{
        char *data = NULL, *last;
        size_t len;

        /* A crash in the middle of a line: the torn line is dropped quietly. */
        write_trace(2);
        append_text("{\"pool\":0,\"counters\":{\"version\":1,\"val");
        CU_ASSERT_EQUAL(count_records(), 4u);
        /* Blank lines are skipped. */
        write_trace(2);
        append_text("\n\r\n");
        CU_ASSERT_EQUAL(count_records(), 4u);
        /* A complete last record without its newline (a hand-edited file)
         * is kept: a torn line never parses, as it lacks at least its
         * closing brace. */
        write_trace(2);
        CU_ASSERT_EQUAL_FATAL(isched__read_file(path, 1 << 20, &data, &len), 0);
        CU_ASSERT_FATAL(len > 2 && data[len - 1] == '\n');
        data[len - 1] = '\0';
        last = strrchr(data, '\n') + 1;
        append_text(last);
        CU_ASSERT_EQUAL(count_records(), 5u);
        /* The same line cut short by one byte is dropped. */
        write_trace(2);
        last[strlen(last) - 1] = '\0';
        append_text(last);
        CU_ASSERT_EQUAL(count_records(), 4u);
        free(data);
}

static void test_writer_arguments(void)
{
        struct isched_pool_info pools[2];
        struct isched_trace_writer *w = NULL;
        struct isched_counters c = snapshot(0, 1);
        char link[600];

        make_pools(pools);
        pools[1].id = pools[0].id;
        CU_ASSERT_EQUAL(isched_trace_writer_new(path, pools, 2, &w), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "twice"));
        make_pools(pools);
        pools[1].nr_runqueues[0] = 5; /* more runqueues than pCPUs: the reader would refuse it */
        CU_ASSERT_EQUAL(isched_trace_writer_new(path, pools, 2, &w), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "runqueues"));
        make_pools(pools);
        CU_ASSERT_EQUAL(isched_trace_writer_new(path, pools, 0, &w), -EINVAL);
        pools[0].name[0] = '\0';
        CU_ASSERT_EQUAL(isched_trace_writer_new(path, pools, 2, &w), -EINVAL);
        CU_ASSERT_PTR_NULL(w);
        make_pools(pools);
        snprintf(link, sizeof(link), "%s/link.jsonl", tmpdir);
        CU_ASSERT_EQUAL_FATAL(symlink(path, link), 0);
        CU_ASSERT_EQUAL(isched_trace_writer_new(link, pools, 2, &w), -ELOOP);
        CU_ASSERT_EQUAL_FATAL(isched_trace_writer_new(path, pools, 2, &w), 0);
        CU_ASSERT_EQUAL(isched_trace_writer_append(w, 3, &c), -ENOENT);
        c.version = 99;
        CU_ASSERT_EQUAL(isched_trace_writer_append(w, 0, &c), -EINVAL);
        c = snapshot(0, 1);
        c.arrangement = ISCHED_ARR_COUNT;
        CU_ASSERT_EQUAL(isched_trace_writer_append(w, 0, &c), -EINVAL);
        CU_ASSERT_EQUAL(isched_trace_writer_append(NULL, 0, &c), -EINVAL);
        isched_trace_writer_free(w);
        /* Rejected appends wrote nothing. */
        CU_ASSERT_EQUAL(count_records(), 0u);
}

static struct isched_backend *open_replay(int *ret)
{
        struct isched_backend_config cfg = { .size = sizeof(cfg), .trace_path = path };
        struct isched_backend *b = NULL;

        *ret = isched_backend_open("replay", &cfg, &b);
        return b;
}

static void test_replay_walk(void)
{
        struct isched_pool_info *pools = NULL;
        struct isched_counters c, expect, prev;
        struct isched_backend *b;
        enum isched_arrangement a;
        struct isched_window w;
        size_t n = 0;
        int r;

        write_trace(3);
        b = open_replay(&r);
        CU_ASSERT_EQUAL_FATAL(r, 0);
        CU_ASSERT_STRING_EQUAL(isched_backend_get_name(b), "replay");
        CU_ASSERT_EQUAL_FATAL(isched_backend_list_pools(b, &pools, &n), 0);
        CU_ASSERT_EQUAL_FATAL(n, 2u);
        CU_ASSERT_FALSE(pools[0].can_switch);
        CU_ASSERT_FALSE(pools[1].can_switch);
        CU_ASSERT_STRING_EQUAL(pools[1].reason, "replay: recorded counters cannot change");
        CU_ASSERT_STRING_EQUAL(pools[1].name, "batch");
        free(pools);

        for (unsigned k = 0; k < 3; k++) {
                if (k > 0)
                        CU_ASSERT_EQUAL_FATAL(isched_backend_wait(b, 1000000000ull), 0);
                for (uint32_t id = 0; id <= 7; id += 7) {
                        CU_ASSERT_EQUAL_FATAL(isched_backend_read_counters(b, id, &c), 0);
                        expect = snapshot(id, k);
                        assert_counters_equal(&c, &expect);
                        CU_ASSERT_EQUAL(isched_backend_get_arrangement(b, id, &a), 0);
                        CU_ASSERT_EQUAL(a, expect.arrangement);
                }
                /* Consecutive records make windows. */
                if (k > 0) {
                        CU_ASSERT_EQUAL(isched_window_from_counters(&prev, &c, &w), 0);
                        CU_ASSERT_DOUBLE_EQUAL(w.utilisation, 0.75, 1e-12);
                }
                prev = c;
        }
        /* Switching: a no-op to the arrangement in force, else refused. */
        CU_ASSERT_EQUAL(isched_backend_set_arrangement(b, 0, expect.arrangement), 0);
        CU_ASSERT_EQUAL(isched_backend_set_arrangement(b, 0, ISCHED_ARR_ALL), -EOPNOTSUPP);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "recorded counters cannot change"));
        CU_ASSERT_EQUAL(isched_backend_read_counters(b, 3, &c), -ENOENT);

        CU_ASSERT_EQUAL(isched_backend_wait(b, 1000000000ull), -ENODATA);
        CU_ASSERT_EQUAL(isched_backend_wait(b, 1000000000ull), -ENODATA);
        CU_ASSERT_EQUAL(isched_backend_read_counters(b, 0, &c), -ENODATA);
        CU_ASSERT_EQUAL(isched_backend_get_arrangement(b, 7, &a), -ENODATA);
        isched_backend_unref(b);
}

/* Records of one pool may run ahead of the other's: each pool still
 * sees its own records in order. */
static void test_replay_uneven_interleaving(void)
{
        struct isched_pool_info pools[2];
        struct isched_trace_writer *w = NULL;
        struct isched_counters c, expect;
        struct isched_backend *b;
        int r;

        make_pools(pools);
        CU_ASSERT_EQUAL_FATAL(isched_trace_writer_new(path, pools, 2, &w), 0);
        for (unsigned k = 0; k < 4; k++) {
                c = snapshot(7, k);
                CU_ASSERT_EQUAL(isched_trace_writer_append(w, 7, &c), 0);
        }
        for (unsigned k = 0; k < 3; k++) {
                c = snapshot(0, k);
                CU_ASSERT_EQUAL(isched_trace_writer_append(w, 0, &c), 0);
        }
        isched_trace_writer_free(w);

        b = open_replay(&r);
        CU_ASSERT_EQUAL_FATAL(r, 0);
        for (unsigned k = 0; k < 3; k++) {
                if (k > 0)
                        CU_ASSERT_EQUAL_FATAL(isched_backend_wait(b, 1), 0);
                for (uint32_t id = 0; id <= 7; id += 7) {
                        CU_ASSERT_EQUAL_FATAL(isched_backend_read_counters(b, id, &c), 0);
                        expect = snapshot(id, k);
                        assert_counters_equal(&c, &expect);
                }
        }
        /* Pool 0 has no fourth record: the replay ends for every pool. */
        CU_ASSERT_EQUAL(isched_backend_wait(b, 1), -ENODATA);
        CU_ASSERT_EQUAL(isched_backend_read_counters(b, 7, &c), -ENODATA);
        isched_backend_unref(b);

        /* A trace with a header and no records opens and has ended. */
        CU_ASSERT_EQUAL_FATAL(isched_trace_writer_new(path, pools, 2, &w), 0);
        isched_trace_writer_free(w);
        b = open_replay(&r);
        CU_ASSERT_EQUAL_FATAL(r, 0);
        CU_ASSERT_EQUAL(isched_backend_read_counters(b, 0, &c), -ENODATA);
        CU_ASSERT_EQUAL(isched_backend_wait(b, 1), -ENODATA);
        isched_backend_unref(b);
}

/* ---- malformed traces ------------------------------------------------- */

static void write_file(const char *data, size_t len)
{
        FILE *f = fopen(path, "w");

        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
        fclose(f);
}

/* The lines of a good trace of one snapshot per pool: header, pool 0, pool 7. */
static char *good_line(unsigned i)
{
        char *data = NULL, *p, *line;
        size_t len;

        write_trace(1);
        if (isched__read_file(path, 1 << 20, &data, &len) < 0)
                return NULL;
        p = data;
        for (unsigned k = 0; k < i && p; k++) {
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        line = p ? strndup(p, strcspn(p, "\n")) : NULL;
        free(data);
        return line;
}

/* Line `i` of the good trace with member `key` of the object at `object`
 * ("counters", "pools.0" or NULL for the top) replaced by the JSON text
 * `value` (or removed if value is NULL). */
static char *mutated_line(unsigned i, const char *object, const char *key, const char *value)
{
        char *text = good_line(i), *out;
        cJSON *j = cJSON_Parse(text), *o = j;

        free(text);
        if (object && strcmp(object, "pools.0") == 0)
                o = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "pools"), 0);
        else if (object)
                o = cJSON_GetObjectItem(j, object);
        if (value)
                cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_Parse(value));
        else
                cJSON_DeleteItemFromObjectCaseSensitive(o, key);
        out = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        return out;
}

/* Write header, record, record with line `bad_line` (1-3) replaced by
 * `bad`, and expect reader and replay backend to refuse with `err` and
 * a detail holding `expect` and the line number. */
static void expect_malformed(unsigned bad_line, char *bad, int err, const char *expect)
{
        char buf[1 << 14] = "", where[32];
        struct isched_trace_reader *r = NULL;
        struct isched_backend *b;
        int ret;

        CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
        for (unsigned i = 1; i <= 3; i++) {
                char *line = i == bad_line ? bad : good_line(i - 1);

                strncat(buf, line, sizeof(buf) - strlen(buf) - 2);
                strcat(buf, "\n");
                if (line != bad)
                        free(line);
        }
        write_file(buf, strlen(buf));
        CU_ASSERT_EQUAL(isched_trace_reader_open(path, &r), err);
        CU_ASSERT_PTR_NULL(r);
        snprintf(where, sizeof(where), "line %u", bad_line);
        if (!strstr(isched_last_error(), expect) || !strstr(isched_last_error(), where))
                fprintf(stderr, "\n  detail \"%s\" lacks \"%s\" or \"%s\"\n", isched_last_error(), expect, where);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), expect));
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), where));
        b = open_replay(&ret);
        CU_ASSERT_EQUAL(ret, err);
        CU_ASSERT_PTR_NULL(b);
        free(bad);
}

static void test_malformed(void)
{
        struct isched_trace_reader *r = NULL;
        struct isched_backend *b;
        char *big;
        int ret;

        expect_malformed(1, strdup("{\"format\":"), -EINVAL, "header is not valid JSON");
        expect_malformed(1, strdup("[]"), -EINVAL, "header must be a JSON object");
        expect_malformed(1, mutated_line(0, NULL, "schema", "\"pcap\""), -EINVAL, "header.schema");
        expect_malformed(1, mutated_line(0, NULL, "schema", "\"isched-trace-v9\""), -EPROTO, "isched-trace-v3");
        expect_malformed(1, mutated_line(0, NULL, "schema", NULL), -EINVAL, "header.format");
        /* The first formats: version 2 is read (tests/cli/test-json.sh), version 1 is refused. */
        expect_malformed(1, strdup("{\"format\":\"intellisched-trace\",\"version\":1,\"pools\":[]}"), -EPROTO,
                         "log2 latency histogram");
        expect_malformed(1, strdup("{\"format\":\"intellisched-trace\",\"version\":7,\"pools\":[]}"), -EPROTO,
                         "header.version");
        expect_malformed(1, mutated_line(0, NULL, "pools", "[]"), -EINVAL, "header.pools");
        expect_malformed(1, mutated_line(0, "pools.0", "pool", NULL), -EINVAL, "header.pools[0].pool");
        expect_malformed(1, mutated_line(0, "pools.0", "nr_pcpus", "0"), -EINVAL, "header.pools[0].nr_pcpus");
        expect_malformed(1, mutated_line(0, "pools.0", "pool_id", "7"), -EINVAL, "twice");
        expect_malformed(1, mutated_line(0, "pools.0", "nr_runqueues", "[1,2]"), -EINVAL, "nr_runqueues");
        expect_malformed(2, strdup("{\"pool_id\":0,\"counters\":"), -EINVAL, "not valid JSON");
        expect_malformed(3, strdup("{\"pool_id\":0} trailing"), -EINVAL, "not valid JSON");
        expect_malformed(2, mutated_line(1, NULL, "pool_id", "3"), -EINVAL, "record.pool_id");
        expect_malformed(3, mutated_line(2, NULL, "pool_id", "-1"), -EINVAL, "record.pool_id");
        expect_malformed(3, mutated_line(2, NULL, "pool_id", NULL), -EINVAL, "record.pool_id");
        expect_malformed(2, mutated_line(1, NULL, "counters", "[]"), -EINVAL, "record.counters");
        expect_malformed(2, mutated_line(1, "counters", "busy_ns", NULL), -EINVAL, "record.counters.busy_ns is missing");
        expect_malformed(3, mutated_line(2, "counters", "idle_ns", "\"12a\""), -EINVAL, "record.counters.idle_ns");
        expect_malformed(3, mutated_line(2, "counters", "idle_ns", "\"99999999999999999999\""), -EINVAL,
                         "record.counters.idle_ns");
        expect_malformed(2, mutated_line(1, "counters", "wakeups", "1e300"), -EINVAL, "record.counters.wakeups");
        expect_malformed(2, mutated_line(1, "counters", "wakeups", "2.5"), -EINVAL, "record.counters.wakeups");
        expect_malformed(2, mutated_line(1, "counters", "version", "1"), -EINVAL, "record.counters.version");
        expect_malformed(2, mutated_line(1, "counters", "valid", "1024"), -EINVAL, "record.counters.valid");
        expect_malformed(2, mutated_line(1, "counters", "arrangement", "\"sockets\""), -EINVAL,
                         "record.counters.arrangement");
        expect_malformed(2, mutated_line(1, "counters", "nr_pcpus", "4294967296"), -EINVAL, "record.counters.nr_pcpus");
        expect_malformed(3, mutated_line(2, "counters", "wake_latency_hist", "[1,2,3]"), -EINVAL,
                         "record.counters.wake_latency_hist");
        {
                /* The right length with one negative count. */
                char hist[4 * ISCHED_LATENCY_BUCKETS] = "[";

                for (unsigned i = 0; i < ISCHED_LATENCY_BUCKETS; i++)
                        strcat(hist, i == 5 ? "-1," : "0,");
                hist[strlen(hist) - 1] = ']';
                expect_malformed(3, mutated_line(2, "counters", "wake_latency_hist", hist), -EINVAL,
                                 "record.counters.wake_latency_hist[5]");
        }
        /* The 32 log2 buckets of a version-1 record. */
        expect_malformed(3,
                         mutated_line(2, "counters", "wake_latency_hist",
                                      "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]"),
                         -EINVAL, "record.counters.wake_latency_hist");

        /* An empty file, a NUL byte, an endless line. */
        write_file("", 0);
        CU_ASSERT_EQUAL(isched_trace_reader_open(path, &r), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "empty"));
        write_file("{\"format\"\0:1}\n", 14);
        CU_ASSERT_EQUAL(isched_trace_reader_open(path, &r), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "NUL"));
        big = malloc(2 * ISCHED_TRACE_MAX_LINE);
        CU_ASSERT_PTR_NOT_NULL_FATAL(big);
        memset(big, ' ', 2 * ISCHED_TRACE_MAX_LINE);
        big[0] = '[';
        write_file(big, 2 * ISCHED_TRACE_MAX_LINE);
        free(big);
        CU_ASSERT_EQUAL(isched_trace_reader_open(path, &r), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "longer than"));
        CU_ASSERT_PTR_NULL(r);

        /* Missing file and missing trace_path. */
        unlink(path);
        b = open_replay(&ret);
        CU_ASSERT_EQUAL(ret, -ENOENT);
        CU_ASSERT_PTR_NULL(b);
        CU_ASSERT_EQUAL(isched_backend_open("replay", NULL, &b), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "trace_path"));
}

/* Random corruptions of a good trace: the reader accepts or refuses,
 * never crashes, and refuses only with its documented errors. */
static void test_random_corruption(void)
{
        struct isched_trace_reader *r = NULL;
        uint64_t rng = 42;
        char *data = NULL;
        size_t len;
        unsigned refused = 0;

        write_trace(3);
        CU_ASSERT_EQUAL_FATAL(isched__read_file(path, 1 << 20, &data, &len), 0);
        for (unsigned k = 0; k < 2000; k++) {
                char *copy = malloc(len);
                int ret;

                CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
                memcpy(copy, data, len);
                for (unsigned m = 0; m < 1 + k % 4; m++) {
                        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                        copy[(rng >> 33) % len] = (char)(rng >> 20);
                }
                write_file(copy, k % 7 ? len : (rng >> 40) % len);
                free(copy);
                ret = isched_trace_reader_open(path, &r);
                CU_ASSERT(ret == 0 || ret == -EINVAL || ret == -EPROTO);
                if (ret == 0) {
                        struct isched_counters c;
                        uint32_t id;

                        while (isched_trace_reader_next(r, &id, &c) == 0)
                                ;
                        r = isched_trace_reader_free(r);
                } else {
                        refused++;
                }
        }
        CU_ASSERT(refused > 1000);
        free(data);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("trace", setup, teardown);

        if (!s)
                return -1;
        if (!CU_add_test(s, "writer and reader round trip", test_round_trip) ||
            !CU_add_test(s, "torn last line and blank lines", test_torn_last_line) ||
            !CU_add_test(s, "writer arguments", test_writer_arguments) ||
            !CU_add_test(s, "replay walks a trace to -ENODATA", test_replay_walk) ||
            !CU_add_test(s, "replay with uneven interleaving", test_replay_uneven_interleaving) ||
            !CU_add_test(s, "malformed traces name line and field", test_malformed) ||
            !CU_add_test(s, "random corruption never crashes", test_random_corruption))
                return -1;
        return 0;
}
