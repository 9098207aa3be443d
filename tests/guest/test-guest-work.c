/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Guest-published work: validation and aggregation (lib/backend/guest-work.c),
 * without Xen or the simulator.  Every fault case is driven by a scripted
 * guest and checked by its effect on the pool's sum and generation. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/guest-work.h"

#define S_NS 1000000000ull

/* A scripted guest: work done at a constant rate, published with the
 * guest's own clock, which is dom0's shifted by an offset. */
struct fake_guest {
        uint32_t domid;
        const char *name;
        double rate_per_s;
        uint64_t clock_offset_ns;
        struct isched__guest_sample s;
};

static void publish(struct fake_guest *g, uint64_t now_ns)
{
        g->s.domid = g->domid;
        g->s.handle[0] = (uint8_t)g->domid;
        g->s.name = g->name;
        g->s.present = true;
        g->s.malformed = NULL;
        g->s.unsettled = false;
        g->s.time_ns = now_ns + g->clock_offset_ns;
        g->s.work = (uint64_t)llround(g->rate_per_s * (double)now_ns / 1e9);
}

static struct isched__guest_tracker *tracker(double cap, const char *weights)
{
        struct isched__guest_params p = { .share_cap = cap, .jump_factor = ISCHED_GUEST_JUMP_FACTOR_DEFAULT };
        struct isched__guest_weight *w = NULL;
        struct isched__guest_tracker *t = NULL;

        if (weights)
                CU_ASSERT_EQUAL_FATAL(isched__guest_parse_weights(weights, &w, &p.nr_weights), 0);
        p.weights = w;
        CU_ASSERT_EQUAL_FATAL(isched__guest_tracker_new(&p, &t), 0);
        free(w);
        return t;
}

/* Read pool 0 with the guests' current samples. */
static struct isched__guest_pool_result read_pool(struct isched__guest_tracker *t, uint32_t pool,
                                                  struct fake_guest *g, size_t n, uint64_t now_ns)
{
        struct isched__guest_sample s[8];
        struct isched__guest_pool_result res;

        CU_ASSERT_FATAL(n <= 8);
        for (size_t i = 0; i < n; i++)
                s[i] = g[i].s;
        CU_ASSERT_EQUAL_FATAL(isched__guest_update(t, pool, now_ns, s, n, &res), 0);
        return res;
}

static struct isched__guest_domain_status status_of(struct isched__guest_tracker *t, uint32_t pool,
                                                    uint32_t domid)
{
        struct isched__guest_domain_status *st = NULL, found = { 0 };
        size_t n = 0;
        bool seen = false;

        CU_ASSERT_EQUAL_FATAL(isched__guest_pool_status(t, pool, &st, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (st[i].domid == domid) {
                        found = st[i];
                        seen = true;
                }
        free(st);
        CU_ASSERT_FATAL(seen);
        return found;
}

static void test_parse_u64(void)
{
        static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "1x", "0x10", "18446744073709551616",
                                           "000000000000000000001", "1.5" };
        uint64_t v = 7;

        CU_ASSERT_EQUAL(isched__guest_parse_u64("0", &v), 0);
        CU_ASSERT_EQUAL(v, 0u);
        CU_ASSERT_EQUAL(isched__guest_parse_u64("18446744073709551615", &v), 0);
        CU_ASSERT_EQUAL(v, UINT64_MAX);
        CU_ASSERT_EQUAL(isched__guest_parse_u64("00000000000000000042", &v), 0);
        CU_ASSERT_EQUAL(v, 42u);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                v = 7;
                CU_ASSERT_EQUAL(isched__guest_parse_u64(bad[i], &v), -EINVAL);
                CU_ASSERT_EQUAL(v, 7u); /* untouched on failure */
        }
        CU_ASSERT_EQUAL(isched__guest_parse_u64(NULL, &v), -EINVAL);
}

static void test_parse_weights(void)
{
        static const char *const bad[] = { "web", "=2", "web=", "web=-1", "web=x", "web=nan", "web=inf",
                                           "web=1e7", "web=1,web=2", "web=1,", ",web=1" };
        struct isched__guest_weight *w = NULL;
        size_t n = 0;

        CU_ASSERT_EQUAL_FATAL(isched__guest_parse_weights("web=2.5,db=0,batch=1e-3", &w, &n), 0);
        CU_ASSERT_EQUAL_FATAL(n, 3u);
        CU_ASSERT_STRING_EQUAL(w[0].name, "web");
        CU_ASSERT_DOUBLE_EQUAL(w[0].weight, 2.5, 0.0);
        CU_ASSERT_STRING_EQUAL(w[1].name, "db");
        CU_ASSERT_DOUBLE_EQUAL(w[1].weight, 0.0, 0.0);
        CU_ASSERT_DOUBLE_EQUAL(w[2].weight, 1e-3, 0.0);
        free(w);
        CU_ASSERT_EQUAL(isched__guest_parse_weights("", &w, &n), 0);
        CU_ASSERT_EQUAL(n, 0u);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                CU_ASSERT_EQUAL(isched__guest_parse_weights(bad[i], &w, &n), -EINVAL);
}

static void test_params(void)
{
        struct isched__guest_params p = { .share_cap = 0.0, .jump_factor = 10.0 };
        struct isched__guest_tracker *t = NULL;

        CU_ASSERT_EQUAL(isched__guest_tracker_new(&p, &t), -EINVAL);
        p.share_cap = 1.5;
        CU_ASSERT_EQUAL(isched__guest_tracker_new(&p, &t), -EINVAL);
        p.share_cap = 0.5;
        p.jump_factor = 1.0;
        CU_ASSERT_EQUAL(isched__guest_tracker_new(&p, &t), -EINVAL);
        CU_ASSERT_PTR_NULL(t);
        CU_ASSERT_EQUAL(isched__guest_tracker_new(NULL, &t), 0); /* defaults */
        CU_ASSERT_PTR_NOT_NULL(t);
        t = isched__guest_tracker_free(t);
}

/* Two honest guests with weights: the pool's work grows by the weighted
 * sum of their rates, whatever the phase of their publications. */
static void test_weighted_sum(void)
{
        struct isched__guest_tracker *t = tracker(1.0, "a=1,b=2");
        struct fake_guest g[2] = { { .domid = 1, .name = "a", .rate_per_s = 1000.0, .clock_offset_ns = 77 },
                                   { .domid = 2, .name = "b", .rate_per_s = 300.0, .clock_offset_ns = 5 * S_NS } };
        const double per_s = 1.0 * g[0].rate_per_s + 2.0 * g[1].rate_per_s;
        struct isched__guest_pool_result r0, r;
        uint64_t now = 10 * S_NS;

        publish(&g[0], now);
        publish(&g[1], now);
        r0 = read_pool(t, 0, g, 2, now);
        CU_ASSERT_EQUAL(r0.nr_live, 0u); /* both joining: counted from the next read */
        CU_ASSERT_EQUAL(r0.nr_pending, 2u);
        CU_ASSERT_EQUAL(status_of(t, 0, 1).state, ISCHED_GUEST_JOINING);
        for (int i = 1; i <= 10; i++) {
                /* Guest a published 0.3 s before each read, b 0.05 s before. */
                uint64_t read = now + (uint64_t)i * S_NS;

                publish(&g[0], read - 300000000ull);
                publish(&g[1], read - 50000000ull);
                r = read_pool(t, 0, g, 2, read);
                CU_ASSERT_EQUAL(r.nr_live, 2u);
                CU_ASSERT_EQUAL(r.generation, r0.generation);
        }
        /* 10 s of the weighted rate, give or take the rounding of the
         * published integers over each publication interval. */
        CU_ASSERT_DOUBLE_EQUAL((double)(r.work_units - r0.work_units), 10.0 * per_s, 0.01 * per_s);
        CU_ASSERT_EQUAL(status_of(t, 0, 2).state, ISCHED_GUEST_LIVE);
        CU_ASSERT_DOUBLE_EQUAL(status_of(t, 0, 2).rate_per_s, g[1].rate_per_s, 1.0);
        CU_ASSERT_DOUBLE_EQUAL(status_of(t, 0, 2).share, 2.0 * g[1].rate_per_s / per_s, 0.01);
        t = isched__guest_tracker_free(t);
}

/* Drive pool 0 with three honest guests for 5 reads, then let @fault
 * change guest 1's publication at read 6; returns the pool's result after
 * read 6 and the increment of reads 2..5 in *ret_inc. */
typedef void (*fault_fn)(struct fake_guest *g, uint64_t now_ns);

static struct isched__guest_pool_result run_with_fault(struct isched__guest_tracker *t, fault_fn fault,
                                                       struct isched__guest_pool_result *ret_before)
{
        struct fake_guest g[3] = { { .domid = 1, .name = "a", .rate_per_s = 400.0 },
                                   { .domid = 2, .name = "b", .rate_per_s = 500.0 },
                                   { .domid = 3, .name = "c", .rate_per_s = 600.0 } };
        struct isched__guest_pool_result r = { 0 };

        for (int i = 1; i <= 6; i++) {
                const uint64_t now = (uint64_t)i * S_NS;

                for (int k = 0; k < 3; k++)
                        publish(&g[k], now);
                if (i == 6)
                        fault(&g[1], now);
                if (i == 6)
                        *ret_before = r;
                r = read_pool(t, 0, g, 3, now);
        }
        return r;
}

static void fault_none(struct fake_guest *g, uint64_t now_ns)
{
        (void)g, (void)now_ns;
}

static void fault_stale(struct fake_guest *g, uint64_t now_ns)
{
        publish(g, now_ns - S_NS); /* the previous read's publication, again */
}

static void fault_backwards(struct fake_guest *g, uint64_t now_ns)
{
        g->s.work = 10;
        (void)now_ns;
}

static void fault_wrapped(struct fake_guest *g, uint64_t now_ns)
{
        (void)now_ns;
        g->s.work = 3;
}

static void fault_jump(struct fake_guest *g, uint64_t now_ns)
{
        publish(g, now_ns);
        g->s.work += (uint64_t)(g->rate_per_s * 1000.0); /* 1000 s of work in 1 s */
}

static void fault_clock_back(struct fake_guest *g, uint64_t now_ns)
{
        g->s.time_ns = now_ns - 3 * S_NS;
}

static void fault_clock_fast(struct fake_guest *g, uint64_t now_ns)
{
        g->s.time_ns = now_ns + 9 * S_NS; /* 10 s of guest time in 1 s of dom0's */
}

static void fault_malformed(struct fake_guest *g, uint64_t now_ns)
{
        (void)now_ns;
        g->s.malformed = "work \"12a\" is not a decimal number";
}

static void fault_absent(struct fake_guest *g, uint64_t now_ns)
{
        (void)now_ns;
        g->s.present = false;
}

/* Each fault takes guest b out of the pool's sum at read 6 and changes the
 * generation; the same run without the fault does neither. */
static void check_fault(fault_fn fn, enum isched__guest_fault expect_fault, enum isched__guest_state expect_state,
                        const char *expect_reason)
{
        struct isched__guest_tracker *t = tracker(1.0, NULL), *ref = tracker(1.0, NULL);
        struct isched__guest_pool_result before, after, ref_before, ref_after;
        struct isched__guest_domain_status st;

        after = run_with_fault(t, fn, &before);
        ref_after = run_with_fault(ref, fault_none, &ref_before);
        CU_ASSERT_EQUAL(ref_after.generation, ref_before.generation);
        CU_ASSERT_EQUAL(ref_after.nr_live, 3u);
        CU_ASSERT_EQUAL(after.generation, before.generation + 1);
        CU_ASSERT_EQUAL(after.nr_live, 2u);
        /* Read 6 added a and c's second only: 400 + 600. */
        CU_ASSERT_DOUBLE_EQUAL((double)(after.work_units - before.work_units), 1000.0, 1.0);
        CU_ASSERT_DOUBLE_EQUAL((double)(ref_after.work_units - ref_before.work_units), 1500.0, 1.0);
        CU_ASSERT(after.work_units >= before.work_units);
        st = status_of(t, 0, 2);
        CU_ASSERT_EQUAL(st.state, expect_state);
        if (expect_state == ISCHED_GUEST_FAULT) {
                CU_ASSERT_EQUAL(st.fault, expect_fault);
                CU_ASSERT_EQUAL(st.faults, 1u);
                CU_ASSERT_PTR_NOT_NULL(strstr(st.reason, expect_reason));
        }
        t = isched__guest_tracker_free(t);
        ref = isched__guest_tracker_free(ref);
}

static void test_fault_stale(void)
{
        check_fault(fault_stale, ISCHED_GUEST_STALE, ISCHED_GUEST_FAULT, "no new publication");
}

static void test_fault_backwards(void)
{
        check_fault(fault_backwards, ISCHED_GUEST_BACKWARDS, ISCHED_GUEST_FAULT, "a reset, or a lie");
}

static void test_fault_jump(void)
{
        check_fault(fault_jump, ISCHED_GUEST_JUMP, ISCHED_GUEST_FAULT, "highest rate");
}

static void test_fault_clock(void)
{
        check_fault(fault_clock_back, ISCHED_GUEST_CLOCK, ISCHED_GUEST_FAULT, "went backwards");
        check_fault(fault_clock_fast, ISCHED_GUEST_CLOCK, ISCHED_GUEST_FAULT, "while dom0's advanced");
}

static void test_fault_malformed(void)
{
        check_fault(fault_malformed, ISCHED_GUEST_MALFORMED, ISCHED_GUEST_FAULT, "not a decimal");
}

static void test_fault_absent(void)
{
        check_fault(fault_absent, ISCHED_GUEST_OK, ISCHED_GUEST_ABSENT, "");
}

/* A 32-bit counter wrapping is told from a reset. */
static void test_fault_wrapped(void)
{
        struct isched__guest_tracker *t = tracker(1.0, NULL);
        struct fake_guest g = { .domid = 4, .name = "w", .rate_per_s = 100.0 };
        const uint64_t base = (UINT64_C(1) << 32) - 1000;
        struct isched__guest_pool_result r;

        for (int i = 1; i <= 3; i++) {
                publish(&g, (uint64_t)i * S_NS);
                g.s.work += base;
                r = read_pool(t, 0, &g, 1, (uint64_t)i * S_NS);
        }
        CU_ASSERT_EQUAL(status_of(t, 0, 4).state, ISCHED_GUEST_LIVE);
        publish(&g, 4 * S_NS);
        fault_wrapped(&g, 4 * S_NS);
        r = read_pool(t, 0, &g, 1, 4 * S_NS);
        CU_ASSERT_EQUAL(status_of(t, 0, 4).fault, ISCHED_GUEST_WRAPPED);
        CU_ASSERT_EQUAL(r.generation, 1u);
        CU_ASSERT_EQUAL(r.nr_live, 0u);
        t = isched__guest_tracker_free(t);
}

/* After a fault the domain counts again from the next good read, without
 * another change of generation; a stale domain that resumes too. */
static void test_recovery(void)
{
        struct isched__guest_tracker *t = tracker(1.0, NULL);
        struct fake_guest g = { .domid = 5, .name = "r", .rate_per_s = 250.0 };
        struct isched__guest_pool_result r, r2;

        for (int i = 1; i <= 4; i++) {
                publish(&g, (uint64_t)i * S_NS);
                r = read_pool(t, 0, &g, 1, (uint64_t)i * S_NS);
        }
        CU_ASSERT_EQUAL(r.nr_live, 1u);
        /* Stale for three reads (the guest hangs), then publishes again. */
        for (int i = 5; i <= 7; i++)
                r = read_pool(t, 0, &g, 1, (uint64_t)i * S_NS);
        CU_ASSERT_EQUAL(r.generation, 1u);
        CU_ASSERT_EQUAL(r.nr_live, 0u);
        CU_ASSERT_EQUAL(status_of(t, 0, 5).faults, 3u);
        publish(&g, 8 * S_NS);
        r2 = read_pool(t, 0, &g, 1, 8 * S_NS);
        CU_ASSERT_EQUAL(r2.generation, 1u);
        CU_ASSERT_EQUAL(r2.nr_live, 1u);
        /* Only the read's own second is credited, at the rate over the
         * four seconds since its last accepted publication. */
        CU_ASSERT_DOUBLE_EQUAL((double)(r2.work_units - r.work_units), g.rate_per_s, 1.0);
        /* A restart (work back to 0, new clock): refused once, then counted. */
        g.clock_offset_ns = 0;
        publish(&g, 9 * S_NS);
        g.s.work = 0;
        g.s.time_ns = 1000;
        r = read_pool(t, 0, &g, 1, 9 * S_NS);
        CU_ASSERT_EQUAL(r.generation, 2u);
        CU_ASSERT_EQUAL(r.nr_live, 0u);
        g.s.work = 250;
        g.s.time_ns = 1000 + S_NS;
        r2 = read_pool(t, 0, &g, 1, 10 * S_NS);
        CU_ASSERT_EQUAL(r2.generation, 2u);
        CU_ASSERT_EQUAL(r2.nr_live, 1u);
        CU_ASSERT_DOUBLE_EQUAL((double)(r2.work_units - r.work_units), 250.0, 1.0);
        t = isched__guest_tracker_free(t);
}

/* No domain has more than the cap's share of an increment; those below the
 * level keep all their work. */
static void test_share_cap(void)
{
        const double cap = 0.4;
        struct isched__guest_tracker *t = tracker(cap, NULL);
        struct fake_guest g[4] = { { .domid = 1, .name = "big", .rate_per_s = 9000.0 },
                                   { .domid = 2, .name = "s1", .rate_per_s = 100.0 },
                                   { .domid = 3, .name = "s2", .rate_per_s = 200.0 },
                                   { .domid = 4, .name = "s3", .rate_per_s = 300.0 } };
        struct isched__guest_pool_result r0 = { 0 }, r = { 0 };
        double small = 0.0, total;

        for (int i = 1; i <= 2; i++) {
                for (int k = 0; k < 4; k++)
                        publish(&g[k], (uint64_t)i * S_NS);
                r0 = r;
                r = read_pool(t, 0, g, 4, (uint64_t)i * S_NS);
        }
        for (int k = 1; k < 4; k++)
                small += g[k].rate_per_s;
        total = (double)(r.work_units - r0.work_units);
        /* big = cap x total and total = big + small. */
        CU_ASSERT_DOUBLE_EQUAL(total, small / (1.0 - cap), 1.0);
        CU_ASSERT_DOUBLE_EQUAL(status_of(t, 0, 1).share, cap, 1e-9);
        for (uint32_t d = 2; d <= 4; d++)
                CU_ASSERT_DOUBLE_EQUAL(status_of(t, 0, d).share, g[d - 1].rate_per_s / total, 1e-3);
        t = isched__guest_tracker_free(t);

        /* Two big ones and a cap of 0.4: both capped at the same level. */
        g[1].rate_per_s = 8000.0;
        t = tracker(cap, NULL);
        for (int i = 1; i <= 2; i++) {
                for (int k = 0; k < 4; k++)
                        publish(&g[k], (uint64_t)i * S_NS);
                r0 = r;
                r = read_pool(t, 0, g, 4, (uint64_t)i * S_NS);
        }
        CU_ASSERT_DOUBLE_EQUAL(status_of(t, 0, 1).share, cap, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(status_of(t, 0, 2).share, cap, 1e-9);
        total = (double)(r.work_units - r0.work_units);
        CU_ASSERT_DOUBLE_EQUAL(total, (g[2].rate_per_s + g[3].rate_per_s) / (1.0 - 2 * cap), 1.0);
        t = isched__guest_tracker_free(t);

        /* Publishers that did no work cannot be dominated: the one that did
         * keeps all of it. */
        t = tracker(cap, NULL);
        g[1].rate_per_s = g[2].rate_per_s = g[3].rate_per_s = 0.0;
        for (int i = 1; i <= 2; i++) {
                for (int k = 0; k < 4; k++)
                        publish(&g[k], (uint64_t)i * S_NS);
                r0 = r;
                r = read_pool(t, 0, g, 4, (uint64_t)i * S_NS);
        }
        CU_ASSERT_EQUAL(r.nr_live, 4u);
        CU_ASSERT_DOUBLE_EQUAL((double)(r.work_units - r0.work_units), g[0].rate_per_s, 1.0);
        t = isched__guest_tracker_free(t);

        /* A single publisher is the whole signal: the cap cannot apply. */
        t = tracker(cap, NULL);
        for (int i = 1; i <= 2; i++) {
                publish(&g[0], (uint64_t)i * S_NS);
                r0 = r;
                r = read_pool(t, 0, g, 1, (uint64_t)i * S_NS);
        }
        CU_ASSERT_DOUBLE_EQUAL((double)(r.work_units - r0.work_units), g[0].rate_per_s, 1.0);
        t = isched__guest_tracker_free(t);
}

/* Weight 0 excludes a domain; a domain that leaves the pool (dies, moves)
 * changes the generation; a reused domid with another UUID is new. */
static void test_membership(void)
{
        struct isched__guest_tracker *t = tracker(1.0, "off=0");
        struct fake_guest g[2] = { { .domid = 1, .name = "on", .rate_per_s = 100.0 },
                                   { .domid = 2, .name = "off", .rate_per_s = 1e6 } };
        struct isched__guest_pool_result r;

        for (int i = 1; i <= 3; i++) {
                publish(&g[0], (uint64_t)i * S_NS);
                publish(&g[1], (uint64_t)i * S_NS);
                r = read_pool(t, 0, g, 2, (uint64_t)i * S_NS);
        }
        CU_ASSERT_EQUAL(status_of(t, 0, 2).state, ISCHED_GUEST_EXCLUDED);
        CU_ASSERT_EQUAL(r.nr_live, 1u);
        CU_ASSERT_DOUBLE_EQUAL((double)r.work_units, 200.0, 1.0);
        /* Domain 1 dies; a new domain gets its domid. */
        r = read_pool(t, 0, &g[1], 1, 4 * S_NS);
        CU_ASSERT_EQUAL(r.generation, 1u);
        publish(&g[0], 5 * S_NS);
        g[0].s.handle[1] = 0xee;
        r = read_pool(t, 0, g, 1, 5 * S_NS);
        CU_ASSERT_EQUAL(status_of(t, 0, 1).state, ISCHED_GUEST_JOINING);
        CU_ASSERT_EQUAL(r.generation, 1u);
        t = isched__guest_tracker_free(t);
}

/* The threat model: a lying domain changes only its own pool's sum. */
static void test_pools_isolated(void)
{
        struct isched__guest_tracker *t = tracker(0.5, NULL), *ref = tracker(0.5, NULL);
        struct fake_guest honest = { .domid = 1, .name = "h", .rate_per_s = 100.0 };
        struct fake_guest liar = { .domid = 2, .name = "l", .rate_per_s = 100.0 };
        struct isched__guest_pool_result r, rr;

        for (int i = 1; i <= 8; i++) {
                const uint64_t now = (uint64_t)i * S_NS;

                publish(&honest, now);
                publish(&liar, now);
                if (i % 2)
                        liar.s.work = UINT64_MAX - (uint64_t)i; /* garbage every other read */
                r = read_pool(t, 0, &honest, 1, now);
                (void)read_pool(t, 1, &liar, 1, now + 1);
                rr = read_pool(ref, 0, &honest, 1, now);
        }
        CU_ASSERT_EQUAL(r.work_units, rr.work_units);
        CU_ASSERT_EQUAL(r.generation, rr.generation);
        t = isched__guest_tracker_free(t);
        ref = isched__guest_tracker_free(ref);
}

/* Random publications, faults included: the sum never decreases and no
 * domain ever has more than the cap's share of an increment. */
static void test_monotonic_random(void)
{
        struct isched__guest_tracker *t = tracker(0.5, NULL);
        struct fake_guest g[4] = { { .domid = 1, .name = "a" }, { .domid = 2, .name = "b" },
                                   { .domid = 3, .name = "c" }, { .domid = 4, .name = "d" } };
        uint64_t seed = 42, last = 0, done[4] = { 0 };
        uint32_t last_gen = 0;

        for (int i = 1; i <= 2000; i++) {
                const uint64_t now = (uint64_t)i * S_NS;
                struct isched__guest_pool_result r;
                struct isched__guest_domain_status *st;
                size_t n;

                for (int k = 0; k < 4; k++) {
                        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                        done[k] += seed >> 44; /* up to 2^20 units a second */
                        publish(&g[k], now);
                        g[k].s.work = done[k];
                        switch ((seed >> 20) % 16) {
                        case 0: g[k].s.work = seed >> 8; break;
                        case 1: g[k].s.time_ns = seed >> 10; break;
                        case 2: g[k].s.present = false; break;
                        case 3: g[k].s.work = done[k] * 1000; break;
                        default: break;
                        }
                }
                r = read_pool(t, 0, g, 4, now);
                CU_ASSERT(r.work_units >= last);
                CU_ASSERT(r.generation >= last_gen);
                last = r.work_units;
                last_gen = r.generation;
                CU_ASSERT_EQUAL_FATAL(isched__guest_pool_status(t, 0, &st, &n), 0);
                for (size_t k = 0; k < n; k++)
                        CU_ASSERT(st[k].share <= fmax(0.5, r.nr_live ? 1.0 / r.nr_live : 1.0) + 1e-9);
                free(st);
        }
        CU_ASSERT(last_gen > 0);
        t = isched__guest_tracker_free(t);
}

/* A domain none of whose publications was accepted as an interval has no
 * rate (NaN, null in explain): not 0, which would read as a domain that
 * did no work.  Beside it the publisher has the whole share.  Once it had
 * an accepted interval, its last accepted rate stays when it stops. */
static void test_no_rate(void)
{
        struct isched__guest_tracker *t = tracker(0.5, "off=0");
        struct fake_guest g[4] = { { .domid = 1, .name = "pub", .rate_per_s = 40.0 },
                                   { .domid = 2, .name = "silent" },
                                   { .domid = 3, .name = "off", .rate_per_s = 50.0 },
                                   { .domid = 4, .name = "late", .rate_per_s = 30.0 } };
        struct isched__guest_domain_status st;
        struct isched__guest_pool_result r;

        g[1].s = (struct isched__guest_sample){ .domid = 2, .handle = { 2 }, .name = "silent" }; /* never present */
        for (int i = 1; i <= 4; i++) {
                const uint64_t now = (uint64_t)i * S_NS;

                publish(&g[0], now);
                publish(&g[2], now);
                if (i == 4)
                        publish(&g[3], now); /* its first publication: joining */
                r = read_pool(t, 0, g, 4, now);
                st = status_of(t, 0, 2);
                CU_ASSERT_EQUAL(st.state, ISCHED_GUEST_ABSENT);
                CU_ASSERT(isnan(st.rate_per_s));
                CU_ASSERT_EQUAL(st.faults, 0u);
                CU_ASSERT_DOUBLE_EQUAL(st.share, 0.0, 0.0);
                CU_ASSERT(isnan(status_of(t, 0, 3).rate_per_s)); /* excluded */
                st = status_of(t, 0, 1);
                if (i == 1) {
                        CU_ASSERT_EQUAL(st.state, ISCHED_GUEST_JOINING);
                        CU_ASSERT(isnan(st.rate_per_s));
                } else {
                        CU_ASSERT_EQUAL(st.state, ISCHED_GUEST_LIVE);
                        CU_ASSERT_DOUBLE_EQUAL(st.rate_per_s, g[0].rate_per_s, 1e-6);
                        CU_ASSERT_DOUBLE_EQUAL(st.share, 1.0, 1e-12);
                        CU_ASSERT_EQUAL(r.nr_live, 1u);
                }
        }
        st = status_of(t, 0, 4);
        CU_ASSERT_EQUAL(st.state, ISCHED_GUEST_JOINING);
        CU_ASSERT(isnan(st.rate_per_s));
        /* A domain whose only interval did no work has the rate 0. */
        g[3].rate_per_s = 0.0;
        g[3].s.time_ns += S_NS;
        publish(&g[0], 5 * S_NS);
        (void)read_pool(t, 0, g, 4, 5 * S_NS);
        st = status_of(t, 0, 4);
        CU_ASSERT_EQUAL(st.state, ISCHED_GUEST_LIVE);
        CU_ASSERT_DOUBLE_EQUAL(st.rate_per_s, 0.0, 0.0);
        /* The publisher stops: absent, its last accepted rate kept. */
        g[0].s.present = false;
        (void)read_pool(t, 0, g, 4, 6 * S_NS);
        st = status_of(t, 0, 1);
        CU_ASSERT_EQUAL(st.state, ISCHED_GUEST_ABSENT);
        CU_ASSERT_DOUBLE_EQUAL(st.rate_per_s, g[0].rate_per_s, 1e-6);
        t = isched__guest_tracker_free(t);
}

/* A scripted xenstore: the k-th read of a node returns its k-th answer
 * ("-": no such node; no answers: never there), the last one once they
 * run out; every read from read number err_from on fails with err. */
struct script {
        const char *time_ns[8], *work[8];
        unsigned nt, nw, reads;
        int err;
        unsigned err_from;
};

static char *script_read(void *ctx, const char *leaf)
{
        struct script *sc = ctx;
        const bool is_time = strcmp(leaf, "time_ns") == 0;
        const char *const *answers = is_time ? sc->time_ns : sc->work;
        unsigned *k = is_time ? &sc->nt : &sc->nw, n = 0;
        const char *a;

        CU_ASSERT(is_time || strcmp(leaf, "work") == 0);
        if (sc->err && ++sc->reads >= sc->err_from) {
                errno = sc->err;
                return NULL;
        }
        while (n < 8 && answers[n])
                n++;
        a = n ? answers[*k < n ? *k : n - 1] : "-";
        (*k)++;
        if (strcmp(a, "-") == 0) {
                errno = ENOENT;
                return NULL;
        }
        return strdup(a);
}

static int read_script(struct script *sc, struct isched__guest_sample *s, char *why)
{
        memset(s, 0, sizeof(*s));
        return isched__guest_read_publication(script_read, sc, s, why, 128);
}

/* Reading a publication: settled, absent, half of one while the publisher
 * starts or stops, one that keeps changing, garbage, a lost connection. */
static void test_read_publication(void)
{
        struct isched__guest_sample s;
        char why[128];

        {
                struct script sc = { .time_ns = { "5000" }, .work = { "42" } };

                CU_ASSERT_EQUAL(read_script(&sc, &s, why), 0);
                CU_ASSERT(s.present && !s.malformed && !s.unsettled);
                CU_ASSERT_EQUAL(s.work, 42u);
                CU_ASSERT_EQUAL(s.time_ns, 5000u);
        }
        {
                struct script sc = { 0 }; /* neither node */

                CU_ASSERT_EQUAL(read_script(&sc, &s, why), 0);
                CU_ASSERT(!s.present && !s.malformed && !s.unsettled);
        }
        {
                /* The publisher's first transaction commits between the
                 * reads of time_ns and work: read again, not malformed. */
                struct script sc = { .time_ns = { "-", "7000" }, .work = { "3" } };

                CU_ASSERT_EQUAL(read_script(&sc, &s, why), 0);
                CU_ASSERT(s.present && !s.malformed && !s.unsettled);
                CU_ASSERT_EQUAL(s.work, 3u);
                CU_ASSERT_EQUAL(s.time_ns, 7000u);
        }
        {
                /* The publisher removing its nodes (SIGTERM): absent. */
                struct script sc = { .time_ns = { "9000", "-" }, .work = { "-" } };

                CU_ASSERT_EQUAL(read_script(&sc, &s, why), 0);
                CU_ASSERT(!s.present && !s.malformed);
        }
        {
                /* Half a publication that stays so is malformed. */
                struct script sc = { .time_ns = { "-" }, .work = { "3" } };

                CU_ASSERT_EQUAL(read_script(&sc, &s, why), 0);
                CU_ASSERT(s.present);
                CU_ASSERT_PTR_NOT_NULL_FATAL(s.malformed);
                CU_ASSERT_PTR_NOT_NULL(strstr(s.malformed, "work without time_ns"));
        }
        {
                /* Changing during every attempt: unsettled, not malformed. */
                struct script sc = { .time_ns = { "1", "2", "3", "4", "5", "6", "7" }, .work = { "10" } };

                CU_ASSERT_EQUAL(read_script(&sc, &s, why), 0);
                CU_ASSERT(s.present && s.unsettled && !s.malformed);
        }
        {
                /* Changing once, then settled. */
                struct script sc = { .time_ns = { "1", "2", "2" }, .work = { "10", "11" } };

                CU_ASSERT_EQUAL(read_script(&sc, &s, why), 0);
                CU_ASSERT(s.present && !s.unsettled && !s.malformed);
                CU_ASSERT_EQUAL(s.work, 11u);
                CU_ASSERT_EQUAL(s.time_ns, 2u);
        }
        {
                struct script sc = { .time_ns = { "5000" }, .work = { "12a" } };

                CU_ASSERT_EQUAL(read_script(&sc, &s, why), 0);
                CU_ASSERT_PTR_NOT_NULL_FATAL(s.malformed);
                CU_ASSERT_PTR_NOT_NULL(strstr(s.malformed, "not a decimal"));
        }
        {
                /* xenstored goes away in the middle of a read. */
                struct script sc = { .time_ns = { "5000" }, .work = { "42" }, .err = ECONNRESET, .err_from = 2 };

                CU_ASSERT_EQUAL(read_script(&sc, &s, why), ECONNRESET);
                CU_ASSERT(!s.present);
        }
}

/* A read that saw no settled publication is taken as stale: the window
 * is dropped, and the next settled publication is compared with the last
 * accepted one, so that a reset behind the unsettled read is still caught
 * (as malformed it would have been a new start). */
static void test_unsettled(void)
{
        struct isched__guest_tracker *t = tracker(1.0, NULL);
        struct fake_guest g = { .domid = 6, .name = "u", .rate_per_s = 100.0 };
        struct isched__guest_pool_result r, r2;
        struct isched__guest_domain_status st;

        for (int i = 1; i <= 4; i++) {
                publish(&g, (uint64_t)i * S_NS);
                r = read_pool(t, 0, &g, 1, (uint64_t)i * S_NS);
        }
        CU_ASSERT_EQUAL(r.nr_live, 1u);
        publish(&g, 5 * S_NS);
        g.s.unsettled = true;
        r2 = read_pool(t, 0, &g, 1, 5 * S_NS);
        st = status_of(t, 0, 6);
        CU_ASSERT_EQUAL(st.state, ISCHED_GUEST_FAULT);
        CU_ASSERT_EQUAL(st.fault, ISCHED_GUEST_STALE);
        CU_ASSERT_PTR_NOT_NULL(strstr(st.reason, "no settled publication"));
        CU_ASSERT_EQUAL(r2.generation, r.generation + 1);
        CU_ASSERT_EQUAL(r2.nr_live, 0u);
        CU_ASSERT_EQUAL(r2.nr_pending, 0u);
        /* Counted again at the next settled one, at the rate since the
         * last accepted one. */
        publish(&g, 6 * S_NS);
        r = read_pool(t, 0, &g, 1, 6 * S_NS);
        CU_ASSERT_EQUAL(status_of(t, 0, 6).state, ISCHED_GUEST_LIVE);
        CU_ASSERT_EQUAL(r.generation, r2.generation);
        CU_ASSERT_DOUBLE_EQUAL((double)(r.work_units - r2.work_units), g.rate_per_s, 1.0);
        /* Unsettled, then reset to half: went backwards. */
        publish(&g, 7 * S_NS);
        g.s.unsettled = true;
        (void)read_pool(t, 0, &g, 1, 7 * S_NS);
        publish(&g, 8 * S_NS);
        g.s.work /= 2;
        (void)read_pool(t, 0, &g, 1, 8 * S_NS);
        st = status_of(t, 0, 6);
        CU_ASSERT_EQUAL(st.fault, ISCHED_GUEST_BACKWARDS);
        CU_ASSERT_PTR_NOT_NULL(strstr(st.reason, "a reset, or a lie"));
        t = isched__guest_tracker_free(t);
}

static void test_bad_calls(void)
{
        struct isched__guest_tracker *t = tracker(0.5, NULL);
        struct fake_guest g = { .domid = 1, .name = "a", .rate_per_s = 10.0 };
        struct isched__guest_pool_result r = { .work_units = 99 }, r2;

        publish(&g, S_NS);
        CU_ASSERT_EQUAL(isched__guest_update(t, 0, S_NS, &g.s, 1, &r), 0);
        /* A second reader at (almost) the same moment gets the same result,
         * even if the guest published meanwhile: no interval to validate. */
        publish(&g, S_NS + 5);
        g.s.work += 1000000;
        CU_ASSERT_EQUAL(isched__guest_update(t, 0, S_NS + 5, &g.s, 1, &r2), 0);
        CU_ASSERT_EQUAL(memcmp(&r, &r2, sizeof(r)), 0);
        CU_ASSERT_EQUAL(status_of(t, 0, 1).state, ISCHED_GUEST_JOINING);
        /* Time going backwards: refused, nothing written. */
        r.work_units = 99;
        CU_ASSERT_EQUAL(isched__guest_update(t, 0, S_NS / 2, &g.s, 1, &r), -EINVAL);
        CU_ASSERT_EQUAL(r.work_units, 99u);
        g.s.present = false;
        g.s.malformed = "x";
        CU_ASSERT_EQUAL(isched__guest_update(t, 0, 2 * S_NS, &g.s, 1, &r), -EINVAL);
        CU_ASSERT_EQUAL(isched__guest_update(NULL, 0, 2 * S_NS, &g.s, 1, &r), -EINVAL);
        CU_ASSERT_EQUAL(isched__guest_update(t, 0, 2 * S_NS, NULL, 1, &r), -EINVAL);
        CU_ASSERT_EQUAL(isched__guest_update(t, 0, 2 * S_NS, NULL, 0, &r), 0); /* no domains */
        CU_ASSERT_EQUAL(r.nr_domains, 0u);
        CU_ASSERT_STRING_EQUAL(isched__guest_fault_name(ISCHED_GUEST_STALE), "stale");
        CU_ASSERT_PTR_NULL(isched__guest_fault_name(ISCHED_GUEST_FAULT_COUNT));
        t = isched__guest_tracker_free(t);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("guest-work", NULL, NULL);

        if (!s)
                return -1;
        if (!CU_add_test(s, "strict uint64 parsing", test_parse_u64) ||
            !CU_add_test(s, "weights parsing", test_parse_weights) ||
            !CU_add_test(s, "parameters", test_params) ||
            !CU_add_test(s, "weighted sum, publication phase", test_weighted_sum) ||
            !CU_add_test(s, "fault: stale", test_fault_stale) ||
            !CU_add_test(s, "fault: went backwards", test_fault_backwards) ||
            !CU_add_test(s, "fault: wrapped", test_fault_wrapped) ||
            !CU_add_test(s, "fault: implausible jump", test_fault_jump) ||
            !CU_add_test(s, "fault: implausible clock", test_fault_clock) ||
            !CU_add_test(s, "fault: malformed", test_fault_malformed) ||
            !CU_add_test(s, "stops publishing", test_fault_absent) ||
            !CU_add_test(s, "recovery after faults", test_recovery) ||
            !CU_add_test(s, "share cap", test_share_cap) ||
            !CU_add_test(s, "membership: weight 0, leaving, reused domid", test_membership) ||
            !CU_add_test(s, "a liar misleads only its own pool", test_pools_isolated) ||
            !CU_add_test(s, "random faults: monotonic, capped", test_monotonic_random) ||
            !CU_add_test(s, "no accepted interval, no rate", test_no_rate) ||
            !CU_add_test(s, "reading a publication", test_read_publication) ||
            !CU_add_test(s, "unsettled read: as stale", test_unsettled) ||
            !CU_add_test(s, "bad calls", test_bad_calls))
                return -1;
        return 0;
}
