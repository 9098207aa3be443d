/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fault injection (docs/reliability.md): the agent on the simulator behind
 * a wrapper that makes counter reads fail, go backwards, wrap or lie,
 * switches fail, and the pool vanish.  Each test checks the behaviour
 * defined for the fault and that no window touched by a fault is ever
 * learned: after every tick that taught the policy or built a context,
 * neither end of the window used may be a snapshot the wrapper lied in,
 * nor may the window span a counter wrap. */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent-private.h"
#include "fault-backend.h"
#include "intellisched/agent.h"
#include "intellisched/model.h"
#include "util/util.h"

#define NS 1000000000ull

struct rig {
        struct isched_backend *sim, *fb;
        struct isched_agent *agent;
        char dir[64], log[128];
        unsigned learned_from_fault;
        unsigned ticks;
};

static void rig_open(struct rig *r, uint64_t offset_busy_s)
{
        struct isched_backend_config bc = { .size = sizeof(bc), .scenario = "hpc-cache", .seed = 3 };
        struct isched_agent_config ac;
        struct isched_policy_params pp;
        struct isched_context_params cp;
        struct isched_policy *p = NULL;
        struct isched_context *c = NULL;

        memset(r, 0, sizeof(*r));
        snprintf(r->dir, sizeof(r->dir), "/tmp/isched-fault-XXXXXX");
        CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(r->dir));
        snprintf(r->log, sizeof(r->log), "%s/decisions.jsonl", r->dir);
        CU_ASSERT_EQUAL_FATAL(isched_backend_open("sim", &bc, &r->sim), 0);
        CU_ASSERT_EQUAL_FATAL(fault_backend_new(r->sim, &r->fb), 0);
        if (offset_busy_s) {
                /* Counters that wrap past 2^64 after about offset_busy_s
                 * seconds: measure how fast busy_ns grows first. */
                struct isched_counters a, b;

                CU_ASSERT_EQUAL_FATAL(isched_backend_read_counters(r->sim, 0, &a), 0);
                CU_ASSERT_EQUAL_FATAL(isched_backend_wait(r->sim, NS), 0);
                CU_ASSERT_EQUAL_FATAL(isched_backend_read_counters(r->sim, 0, &b), 0);
                CU_ASSERT_FATAL(b.busy_ns > a.busy_ns);
                fault_set_counter_offset(r->fb, 0 - (b.busy_ns + offset_busy_s * (b.busy_ns - a.busy_ns)));
        }
        CU_ASSERT_EQUAL_FATAL(isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, ISCHED_F_COUNT), 0);
        pp.feature_schema = ISCHED_FEATURE_SCHEMA;
        pp.alpha = 3.0; /* explore: the switch tests need switches */
        CU_ASSERT_EQUAL_FATAL(isched_policy_new(&pp, &p), 0);
        CU_ASSERT_EQUAL_FATAL(isched_context_params_init(&cp), 0);
        CU_ASSERT_EQUAL_FATAL(isched_context_new(&cp, &c), 0);
        CU_ASSERT_EQUAL_FATAL(isched_agent_config_init(&ac), 0);
        ac.pool = "Pool-0";
        ac.interval_ns = NS;
        ac.epoch_intervals = 2;
        ac.settle_intervals = 0;
        ac.min_dwell_ns = 0;
        ac.max_switches_per_hour = 0;
        ac.rollback_windows = 0;
        ac.state_dir = r->dir;
        /* The faults of switching are tested, not the safety layer: the
         * policy's exploring proposals reach the backend. */
        ac.no_safety = true;
        ac.log_path = r->log;
        CU_ASSERT_EQUAL_FATAL(isched_agent_new(&ac, r->fb, p, c, &r->agent), 0);
        isched_policy_free(p);
        isched_context_free(c);
}

static void rig_close(struct rig *r)
{
        char cmd[128];

        CU_ASSERT_EQUAL(r->learned_from_fault, 0);
        isched_agent_unref(r->agent);
        isched_backend_unref(r->fb);
        isched_backend_unref(r->sim);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
}

/* One interval: wait, tick, and check what was learned, if anything. */
static int rig_tick(struct rig *r)
{
        struct isched_agent_status before, after;
        const uint64_t start_ts = r->agent->start.timestamp_ns;
        const struct fault_stats *fs = fault_get_stats(r->fb);
        int rc;

        CU_ASSERT_EQUAL(isched_agent_get_status(r->agent, &before), 0);
        CU_ASSERT_EQUAL(isched_backend_wait(r->fb, NS), 0);
        rc = isched_agent_tick(r->agent);
        CU_ASSERT_EQUAL(isched_agent_get_status(r->agent, &after), 0);
        r->ticks++;
        /* A decision's context comes from the window that just ended, and
         * so does the reward of the decision before: neither may be a lie. */
        if (after.updates > before.updates || after.decisions > before.decisions) {
                const uint64_t end_ts = after.time_ns;

                if (fault_ts_was_faulty(r->fb, start_ts) || fault_ts_was_faulty(r->fb, end_ts) ||
                    (fs->wrap_ts && start_ts < fs->wrap_ts && fs->wrap_ts <= end_ts)) {
                        fprintf(stderr, "learned a faulty window [%llu, %llu]\n", (unsigned long long)start_ts,
                                (unsigned long long)end_ts);
                        r->learned_from_fault++;
                }
        }
        return rc;
}

static void rig_run(struct rig *r, unsigned n)
{
        for (unsigned i = 0; i < n; i++)
                CU_ASSERT(rig_tick(r) >= 0);
}

static struct isched_agent_status status_of(const struct rig *r)
{
        struct isched_agent_status s;

        CU_ASSERT_EQUAL(isched_agent_get_status(r->agent, &s), 0);
        return s;
}

/* A failed read returns its error to the host and changes nothing: the
 * window goes on from its start snapshot and the next read continues it. */
static void test_read_error(void)
{
        struct rig r;
        struct isched_agent_status s0, s1;

        rig_open(&r, 0);
        rig_run(&r, 6);
        for (unsigned burst = 1; burst <= 5; burst += 4) {
                s0 = status_of(&r);
                fault_arm_read(r.fb, FAULT_READ_ERROR, -EIO, burst);
                for (unsigned i = 0; i < burst; i++)
                        CU_ASSERT_EQUAL(rig_tick(&r), -EIO);
                s1 = status_of(&r);
                CU_ASSERT_EQUAL(s1.updates, s0.updates);
                CU_ASSERT_EQUAL(s1.epochs, s0.epochs);
                CU_ASSERT_EQUAL(s1.mode, ISCHED_AGENT_ACTIVE);
                rig_run(&r, 8);
                s1 = status_of(&r);
                CU_ASSERT(s1.updates > s0.updates);
        }
        rig_close(&r);
}

/* Counter snapshots that lie once, at every position of the epoch: the
 * window is skipped (not learned), and so is any window starting from the
 * lie; the agent learns again afterwards. */
static void check_one_shot_lie(enum fault_read kind)
{
        struct rig r;
        struct isched_agent_status s0, s1;

        rig_open(&r, 0);
        rig_run(&r, 5);
        s0 = status_of(&r);
        for (unsigned pos = 0; pos < 4; pos++) {
                rig_run(&r, pos);
                fault_arm_read(r.fb, kind, 0, 1);
                rig_run(&r, 7);
        }
        s1 = status_of(&r);
        CU_ASSERT(s1.skipped_windows > s0.skipped_windows);
        CU_ASSERT(s1.updates > s0.updates);
        CU_ASSERT_EQUAL(s1.mode, ISCHED_AGENT_ACTIVE);
        CU_ASSERT_EQUAL(fault_get_stats(r.fb)->faulty_reads, 4);
        rig_close(&r);
}

static void test_backwards(void)
{
        check_one_shot_lie(FAULT_READ_BACKWARDS);
}

static void test_events_backwards(void)
{
        check_one_shot_lie(FAULT_READ_EVENTS_BACKWARDS);
}

static void test_garbage(void)
{
        check_one_shot_lie(FAULT_READ_GARBAGE);
}

static void test_pool_resized(void)
{
        check_one_shot_lie(FAULT_READ_SHRINK);
}

/* Counters that wrap past 2^64 (a hypervisor counter that started high):
 * the window over the wrap is skipped, learning goes on. */
static void test_wrap(void)
{
        struct rig r;
        struct isched_agent_status s;

        rig_open(&r, 5);
        rig_run(&r, 20);
        s = status_of(&r);
        CU_ASSERT(fault_get_stats(r.fb)->wrap_ts != 0);
        CU_ASSERT(s.skipped_windows >= 1);
        /* every decision's window learned, given up (transient, skipped)
         * or waiting; learning goes on after the wrap */
        CU_ASSERT_EQUAL(s.updates + s.unlearned + s.waiting, s.decisions);
        CU_ASSERT(s.updates >= 3);
        rig_close(&r);
}

/* Every reward learned in the decision log is of the arrangement that was
 * in force: with all switches failing, the one the pool started with. */
static void check_log_arms(const char *log, enum isched_arrangement in_force, unsigned *ret_rewarded)
{
        FILE *f = fopen(log, "r");
        char line[8192];
        unsigned n = 0;

        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        while (fgets(line, sizeof(line), f)) {
                cJSON *o = cJSON_Parse(line);
                const cJSON *arm = cJSON_GetObjectItem(o, "arm"), *reward = cJSON_GetObjectItem(o, "reward");

                CU_ASSERT_PTR_NOT_NULL(o);
                if (cJSON_IsNumber(reward)) {
                        n++;
                        CU_ASSERT(cJSON_IsString(arm) &&
                                  strcmp(arm->valuestring, isched_arrangement_to_string(in_force)) == 0);
                }
                cJSON_Delete(o);
        }
        fclose(f);
        *ret_rewarded = n;
}

/* A switch refused for good (EPERM, ENOSYS: not allowed, or a hypervisor
 * without the interface): advisory mode at the first refusal, never
 * another attempt; decisions and learning of the arrangement in force go on. */
static void check_switch_refused(int err)
{
        struct rig r;
        struct isched_agent_status s;
        enum isched_arrangement start;
        unsigned rewarded = 0;

        rig_open(&r, 0);
        CU_ASSERT_EQUAL(isched_backend_get_arrangement(r.sim, 0, &start), 0);
        fault_arm_switch(r.fb, err, UINT32_MAX);
        rig_run(&r, 40);
        s = status_of(&r);
        CU_ASSERT_EQUAL(fault_get_stats(r.fb)->switch_attempts, 1);
        CU_ASSERT_EQUAL(s.mode, ISCHED_AGENT_ADVISORY);
        CU_ASSERT_EQUAL(s.switches, 0);
        CU_ASSERT_EQUAL(s.arrangement, start);
        CU_ASSERT(s.decisions >= 15);
        check_log_arms(r.log, start, &rewarded);
        CU_ASSERT_EQUAL(rewarded, s.updates);
        CU_ASSERT(rewarded >= 15);
        rig_close(&r);
}

static void test_switch_eperm(void)
{
        check_switch_refused(-EPERM);
}

static void test_switch_enosys(void)
{
        check_switch_refused(-ENOSYS);
}

/* A switch that fails for now (EBUSY): the agent stays where it is, stays
 * active and switches at a later epoch. */
static void test_switch_ebusy(void)
{
        struct rig r;
        struct isched_agent_status s;
        const struct fault_stats *fs;

        rig_open(&r, 0);
        fault_arm_switch(r.fb, -EBUSY, 1);
        rig_run(&r, 40);
        s = status_of(&r);
        fs = fault_get_stats(r.fb);
        CU_ASSERT_EQUAL(fs->switch_failures, 1);
        CU_ASSERT(fs->switch_attempts >= 2);
        CU_ASSERT(s.switches >= 1);
        CU_ASSERT_EQUAL(s.mode, ISCHED_AGENT_ACTIVE);
        rig_close(&r);
}

/* A pool that vanishes: the agent stops, drops the decision waiting for
 * its reward (logged without one) and learns nothing more. */
static void test_vanish(void)
{
        struct rig r;
        struct isched_agent_status s0, s1;
        char line[8192], last[8192] = "";
        FILE *f;
        cJSON *o;

        rig_open(&r, 0);
        rig_run(&r, 7);
        s0 = status_of(&r);
        CU_ASSERT(s0.decisions >= 1);
        fault_vanish(r.fb);
        CU_ASSERT_EQUAL(rig_tick(&r), -ENOENT);
        CU_ASSERT_EQUAL(rig_tick(&r), -ENOENT);
        s1 = status_of(&r);
        CU_ASSERT_EQUAL(s1.mode, ISCHED_AGENT_STOPPED);
        CU_ASSERT_EQUAL(s1.updates, s0.updates);
        f = fopen(r.log, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        while (fgets(line, sizeof(line), f))
                snprintf(last, sizeof(last), "%s", line);
        fclose(f);
        o = cJSON_Parse(last);
        CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "reward")));
        cJSON_Delete(o);
        rig_close(&r);
}

/* NaN cannot be in a snapshot (the counters are integers), but a trace
 * is text: a NaN, an infinity, a negative or a fractional counter in a
 * recorded trace is refused when the replay backend opens it. */
static void test_trace_not_a_number(void)
{
        static const char *const bad[] = { "NaN", "1e400", "-5", "1.5", "\"nan\"" };
        const char *srcdir = getenv("SRCDIR");
        char *text = NULL, path[160], good_path[256];
        size_t len;

        CU_ASSERT_PTR_NOT_NULL_FATAL(srcdir);
        snprintf(good_path, sizeof(good_path), "%s/tests/fuzz/corpus/replay/trace.jsonl", srcdir);
        CU_ASSERT_EQUAL_FATAL(isched__read_file(good_path, 1 << 20, &text, &len), 0);
        snprintf(path, sizeof(path), "/tmp/isched-nan-%d.jsonl", (int)getpid());
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct isched_backend_config cfg = { .size = sizeof(cfg), .trace_path = path };
                struct isched_backend *b = NULL;
                char *at = strstr(text, "\"busy_ns\":700000000");
                FILE *f = fopen(path, "w");

                CU_ASSERT_PTR_NOT_NULL_FATAL(at);
                CU_ASSERT_PTR_NOT_NULL_FATAL(f);
                fprintf(f, "%.*s\"busy_ns\":%s%s", (int)(at - text), text, bad[i],
                        at + strlen("\"busy_ns\":700000000"));
                fclose(f);
                CU_ASSERT_EQUAL(isched_backend_open("replay", &cfg, &b), -EINVAL);
                isched_backend_unref(b);
        }
        unlink(path);
        free(text);
}

int isched_test_register(void);

int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("fault injection", NULL, NULL);

        if (!s)
                return -1;
        if (!CU_add_test(s, "counter read fails: error returned, window continues", test_read_error) ||
            !CU_add_test(s, "counters go backwards once: skipped, not learned", test_backwards) ||
            !CU_add_test(s, "event counters go backwards once: skipped, not learned", test_events_backwards) ||
            !CU_add_test(s, "impossible counters once: skipped, not learned", test_garbage) ||
            !CU_add_test(s, "pool changes size once: skipped, not learned", test_pool_resized) ||
            !CU_add_test(s, "counters wrap past 2^64: skipped, not learned", test_wrap) ||
            !CU_add_test(s, "trace with a NaN or infinite counter: refused", test_trace_not_a_number) ||
            !CU_add_test(s, "switch EPERM: advisory, no retry", test_switch_eperm) ||
            !CU_add_test(s, "switch ENOSYS: advisory, no retry", test_switch_enosys) ||
            !CU_add_test(s, "switch EBUSY: stays, retries later", test_switch_ebusy) ||
            !CU_add_test(s, "pool vanishes: agent stops, nothing learned", test_vanish))
                return -1;
        return 0;
}
