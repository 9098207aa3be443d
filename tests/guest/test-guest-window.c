/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Guest-published work in counters, windows and traces: a window across a
 * change of the guests' sum is refused, a window with no valid guest work
 * has no score (never one on CPU time), and traces keep the generation. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intellisched/intellisched.h"

static struct isched_counters snap(uint64_t t_s, uint64_t work, uint32_t generation, bool work_valid)
{
        struct isched_counters c = {
                .version = ISCHED_COUNTERS_VERSION,
                .valid = ISCHED_CNT_BUSY | ISCHED_CNT_GUEST | ISCHED_CNT_GUEST_WORK,
                .timestamp_ns = t_s * 1000000000ull,
                .nr_pcpus = 4,
                .nr_vcpus = 8,
                .arrangement = ISCHED_ARR_CORE,
                .busy_ns = t_s * 3000000000ull,
                .idle_ns = t_s * 1000000000ull,
                .guest_ns = t_s * 2900000000ull,
                .work_units = work,
                .work_generation = generation,
                .work_domains = 3,
        };

        if (work_valid)
                c.valid |= ISCHED_CNT_WORK;
        return c;
}

static void test_window_generation(void)
{
        const struct isched_counters a = snap(10, 1000, 4, true), b = snap(15, 6000, 4, true),
                                     c = snap(15, 6000, 5, true);
        struct isched_window w;
        struct isched_context_params p;
        double score;

        CU_ASSERT_EQUAL_FATAL(isched_counters_check_window(&a, &b), 0);
        CU_ASSERT_EQUAL_FATAL(isched_window_from_counters(&a, &b, &w), 0);
        CU_ASSERT(w.throughput_is_work);
        CU_ASSERT(w.valid & ISCHED_CNT_GUEST_WORK);
        CU_ASSERT_EQUAL(w.work_domains, 3u);
        /* 5000 units in 5 s on 4 pCPUs. */
        CU_ASSERT_DOUBLE_EQUAL(w.throughput, 5000.0 / 5.0 / 4.0, 1e-9);
        /* A domain left the sum between a and c. */
        CU_ASSERT_EQUAL(isched_counters_check_window(&a, &c), -ESTALE);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "generation 4 -> 5"));
        CU_ASSERT_EQUAL(isched_window_from_counters(&a, &c, &w), -ESTALE);
        /* No valid guest work at one end: no throughput, no score, even
         * though guest CPU time is there. */
        const struct isched_counters d = snap(15, 6000, 4, false);

        CU_ASSERT_EQUAL_FATAL(isched_window_from_counters(&a, &d, &w), 0);
        CU_ASSERT(!w.throughput_is_work);
        CU_ASSERT_DOUBLE_EQUAL(w.throughput, 0.0, 0.0);
        CU_ASSERT_EQUAL_FATAL(isched_context_params_init(&p), 0);
        CU_ASSERT_EQUAL(isched_context_score(&p, &w, &score), -EDOM);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "no guest of the pool published valid work"));
        /* The same window observed without guests is scored on CPU time. */
        struct isched_counters a2 = a, d2 = d;

        a2.valid &= ~(uint32_t)(ISCHED_CNT_GUEST_WORK | ISCHED_CNT_WORK);
        d2.valid &= ~(uint32_t)ISCHED_CNT_GUEST_WORK;
        a2.work_generation = d2.work_generation = 0;
        CU_ASSERT_EQUAL_FATAL(isched_window_from_counters(&a2, &d2, &w), 0);
        CU_ASSERT(w.throughput > 0.0);
        CU_ASSERT_EQUAL(isched_context_score(&p, &w, &score), 0);
        /* Switching the observation mid-window is refused. */
        CU_ASSERT_EQUAL(isched_counters_check_window(&a2, &b), -ESTALE);
}

static void test_trace_generation(void)
{
        char path[] = "/tmp/isched-guest-trace-XXXXXX";
        struct isched_pool_info pool = { .id = 3, .nr_pcpus = 4, .arrangement = ISCHED_ARR_CORE };
        struct isched_trace_writer *w = NULL;
        struct isched_trace_reader *r = NULL;
        struct isched_counters in = snap(10, 1234, 7, true), out, plain = snap(11, 0, 0, false);
        uint32_t pool_id;
        int fd = mkstemp(path);
        FILE *f;
        char line[8192];

        CU_ASSERT_FATAL(fd >= 0);
        close(fd);
        strcpy(pool.name, "p");
        strcpy(pool.scheduler, "credit2");
        plain.valid = ISCHED_CNT_BUSY;
        CU_ASSERT_EQUAL_FATAL(isched_trace_writer_new(path, &pool, 1, &w), 0);
        CU_ASSERT_EQUAL(isched_trace_writer_append(w, 3, &in), 0);
        CU_ASSERT_EQUAL(isched_trace_writer_append(w, 3, &plain), 0);
        w = isched_trace_writer_free(w);
        CU_ASSERT_EQUAL_FATAL(isched_trace_reader_open(path, &r), 0);
        CU_ASSERT_EQUAL_FATAL(isched_trace_reader_next(r, &pool_id, &out), 0);
        CU_ASSERT_EQUAL(out.valid, in.valid);
        CU_ASSERT_EQUAL(out.work_generation, 7u);
        CU_ASSERT_EQUAL(out.work_domains, 3u);
        CU_ASSERT_EQUAL(out.work_units, 1234u);
        CU_ASSERT_EQUAL_FATAL(isched_trace_reader_next(r, &pool_id, &out), 0);
        CU_ASSERT_EQUAL(out.work_generation, 0u);
        r = isched_trace_reader_free(r);

        /* A guest-work record without its generation is refused. */
        f = fopen(path, "r");
        CU_ASSERT_FATAL(f != NULL);
        CU_ASSERT_FATAL(fgets(line, sizeof(line), f) != NULL); /* header */
        {
                char header[8192], rec[8192], *g;

                strcpy(header, line);
                CU_ASSERT_FATAL(fgets(rec, sizeof(rec), f) != NULL);
                fclose(f);
                g = strstr(rec, "\"work_generation\":7,");
                CU_ASSERT_FATAL(g != NULL);
                memmove(g, g + strlen("\"work_generation\":7,"), strlen(g + strlen("\"work_generation\":7,")) + 1);
                f = fopen(path, "w");
                CU_ASSERT_FATAL(f != NULL);
                fputs(header, f);
                fputs(rec, f);
                fclose(f);
        }
        CU_ASSERT_EQUAL(isched_trace_reader_open(path, &r), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "work_generation"));
        unlink(path);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("guest-window", NULL, NULL);

        if (!s)
                return -1;
        if (!CU_add_test(s, "windows across a generation, without valid work", test_window_generation) ||
            !CU_add_test(s, "traces keep the generation", test_trace_generation))
                return -1;
        return 0;
}
