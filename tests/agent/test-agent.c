/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent's loop and guards, driven by a fake backend built here: one
 * pool whose counters grow at rates set by the arrangement in force. */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend-private.h"
#include "intellisched/agent.h"
#include "intellisched/model.h"
#include "util/util.h"

#define NS 1000000000ull

struct fake {
        enum isched_arrangement arr;
        bool can_switch;
        int set_error;           /* returned by set_arrangement if non-zero */
        unsigned set_calls;
        bool gone;
        bool glitch;             /* next read: a counter goes backwards */
        double work_rate[ISCHED_ARR_COUNT]; /* work units per pCPU-second */
        struct isched_counters c;
};

static int fake_list(struct isched_backend *b, struct isched_pool_info **ret, size_t *ret_n)
{
        const struct fake *f = b->priv;
        struct isched_pool_info *p;

        if (f->gone) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        snprintf(p->name, sizeof(p->name), "Pool-F");
        snprintf(p->scheduler, sizeof(p->scheduler), "credit2");
        p->id = 7;
        p->nr_pcpus = 8;
        p->arrangement = f->arr;
        p->can_switch = f->can_switch;
        if (!f->can_switch)
                snprintf(p->reason, sizeof(p->reason), "fake hypervisor without the intellisched patches");
        for (unsigned i = 0; i < ISCHED_ARR_COUNT; i++)
                p->nr_runqueues[i] = 8u >> i ? 8u >> i : 1; /* 8 4 2 1 1: node and all are the same */
        *ret = p;
        *ret_n = 1;
        return 0;
}

static int fake_read(struct isched_backend *b, uint32_t pool, struct isched_counters *ret)
{
        struct fake *f = b->priv;

        if (f->gone || pool != 7)
                return -ENOENT;
        *ret = f->c;
        ret->arrangement = f->arr;
        if (f->glitch) {
                /* A counter reset: the window spanning it is invalid. */
                f->glitch = false;
                f->c.wakeups /= 2;
                ret->wakeups = f->c.wakeups;
        }
        return 0;
}

static int fake_get(struct isched_backend *b, uint32_t pool, enum isched_arrangement *ret)
{
        const struct fake *f = b->priv;

        if (f->gone)
                return -ENOENT;
        *ret = f->arr;
        return 0;
}

static int fake_set(struct isched_backend *b, uint32_t pool, enum isched_arrangement a)
{
        struct fake *f = b->priv;

        f->set_calls++;
        if (f->set_error)
                return isched__error(f->set_error, "fake: cannot switch");
        f->arr = a;
        return 0;
}

/* Time passes: counters grow with the arrangement in force. */
static int fake_wait(struct isched_backend *b, uint64_t interval_ns)
{
        struct fake *f = b->priv;
        const double s = (double)interval_ns / 1e9;
        const uint64_t wakeups = (uint64_t)(2000 * s);

        f->c.timestamp_ns += interval_ns;
        f->c.busy_ns += (uint64_t)(0.6 * interval_ns * 8);
        f->c.idle_ns += (uint64_t)(0.4 * interval_ns * 8);
        f->c.guest_ns += (uint64_t)(0.6 * interval_ns * 8);
        f->c.runnable_wait_ns += interval_ns;
        f->c.wakeups += wakeups;
        f->c.wake_latency_hist[12] += wakeups;
        f->c.context_switches += 3 * wakeups;
        f->c.migrations += wakeups / 10;
        f->c.work_units += (uint64_t)(f->work_rate[f->arr] * s * 8 * 1e6);
        return 0;
}

static void fake_destroy(struct isched_backend *b)
{
        free(b->priv);
}

static const struct isched_backend_ops fake_ops = {
        .name = "fake",
        .list_pools = fake_list,
        .read_counters = fake_read,
        .get_arrangement = fake_get,
        .set_arrangement = fake_set,
        .wait = fake_wait,
        .destroy = fake_destroy,
};

static struct isched_backend *fake_new(struct fake **ret_fake)
{
        struct isched_backend *b = calloc(1, sizeof(*b));
        struct fake *f = calloc(1, sizeof(*f));

        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        f->arr = ISCHED_ARR_SOCKET;
        f->can_switch = true;
        for (unsigned i = 0; i < ISCHED_ARR_COUNT; i++)
                f->work_rate[i] = 1.0;
        f->c.version = ISCHED_COUNTERS_VERSION;
        f->c.valid = ISCHED_CNT_BUSY | ISCHED_CNT_GUEST | ISCHED_CNT_WAIT | ISCHED_CNT_WAKEUPS | ISCHED_CNT_LATENCY |
                     ISCHED_CNT_CSWITCH | ISCHED_CNT_MIGRATIONS | ISCHED_CNT_WORK;
        f->c.timestamp_ns = 1000 * NS;
        f->c.nr_pcpus = 8;
        f->c.nr_vcpus = 16;
        b->ops = &fake_ops;
        b->refcount = 1;
        b->priv = f;
        *ret_fake = f;
        return b;
}

/* Log messages, counted by priority, for the "one clear message" checks. */
static unsigned n_warnings;
static char last_warning[1024];

static void count_log(enum isched_log_priority prio, const char *msg, void *userdata)
{
        if (prio <= ISCHED_LOG_WARNING) {
                n_warnings++;
                snprintf(last_warning, sizeof(last_warning), "%s", msg);
        }
}

static char tmpdir[64];

static int suite_init(void)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/isched-test-agent-XXXXXX");
        if (!mkdtemp(tmpdir))
                return -1;
        isched_set_log_fn(count_log, ISCHED_LOG_WARNING, NULL);
        return 0;
}

static int suite_clean(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

/* A policy that always explores uniformly: it wants to switch 80% of the time. */
static void make_policy(enum isched_policy_kind kind, double epsilon, uint64_t seed, struct isched_policy **ret_p,
                        struct isched_context **ret_c)
{
        struct isched_policy_params pp;
        struct isched_context_params cp;

        CU_ASSERT_EQUAL_FATAL(isched_policy_params_init(&pp, kind, ISCHED_F_COUNT), 0);
        pp.epsilon = epsilon;
        pp.seed = seed;
        pp.feature_schema = ISCHED_FEATURE_SCHEMA;
        CU_ASSERT_EQUAL_FATAL(isched_policy_new(&pp, ret_p), 0);
        CU_ASSERT_EQUAL_FATAL(isched_context_params_init(&cp), 0);
        CU_ASSERT_EQUAL_FATAL(isched_context_new(&cp, ret_c), 0);
}

static struct isched_agent *make_agent(struct isched_backend *b, const struct isched_agent_config *cfg,
                                       enum isched_policy_kind kind, double epsilon)
{
        struct isched_policy *p;
        struct isched_context *c;
        struct isched_agent *a = NULL;
        int r;

        make_policy(kind, epsilon, 42, &p, &c);
        r = isched_agent_new(cfg, b, p, c, &a);
        CU_ASSERT_EQUAL(r, 0);
        if (r)
                fprintf(stderr, "isched_agent_new: %s\n", isched_last_error());
        isched_policy_free(p);
        isched_context_free(c);
        return a;
}

static void base_config(struct isched_agent_config *cfg)
{
        isched_agent_config_init(cfg);
        cfg->pool = "Pool-F";
        cfg->interval_ns = NS;
        cfg->epoch_intervals = 5;
        cfg->settle_intervals = 1;
        cfg->min_dwell_ns = 0;
        cfg->max_switches_per_hour = 0;
        cfg->rollback_windows = 0;
}

struct trace {
        unsigned reasons[ISCHED_AGENT_REASON_COUNT];
        unsigned switches;
        uint64_t switch_times[4096];
        enum isched_arrangement switched_to[4096];
        enum isched_agent_reason switch_reason[4096];
};

/* Run the host loop for n ticks, recording what each epoch decided. */
static int run_ticks(struct isched_backend *b, struct isched_agent *a, unsigned n, struct trace *t)
{
        struct isched_agent_status st;

        for (unsigned i = 0; i < n; i++) {
                int r;

                CU_ASSERT_EQUAL(isched_backend_wait(b, NS), 0);
                r = isched_agent_tick(a);
                if (r < 0)
                        return r;
                CU_ASSERT_EQUAL(isched_agent_get_status(a, &st), 0);
                if (r == 1 && t)
                        t->reasons[st.last_reason]++;
                if (st.last_tick_switched && t && t->switches < 4096) {
                        t->switch_times[t->switches] = st.time_ns;
                        t->switched_to[t->switches] = st.arrangement;
                        t->switch_reason[t->switches] = st.last_reason;
                        t->switches++;
                }
        }
        return 0;
}

static void test_basic_loop(void)
{
        struct isched_agent_config cfg;
        struct isched_agent_status st;
        struct isched_backend *b;
        struct isched_agent *a;
        struct fake *f;
        struct trace t = { 0 };

        b = fake_new(&f);
        base_config(&cfg);
        cfg.no_safety = true; /* the guards alone */
        a = make_agent(b, &cfg, ISCHED_POLICY_EGREEDY, 1.0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(run_ticks(b, a, 200, &t), 0);
        CU_ASSERT_EQUAL(isched_agent_get_status(a, &st), 0);
        /* 200 ticks of 5-tick epochs, with a settling tick after each switch. */
        CU_ASSERT(st.epochs >= 200 / 6 && st.epochs <= 200 / 5);
        CU_ASSERT_EQUAL(st.decisions, st.epochs);
        CU_ASSERT_EQUAL(st.updates + st.unlearned + st.waiting, st.decisions);
        CU_ASSERT(st.waiting <= 1 + 2);            /* the pending one and those being confirmed */
        CU_ASSERT(st.unlearned <= st.switches + 1); /* transients after switches */
        CU_ASSERT_EQUAL(st.switches, t.switches);
        CU_ASSERT(t.switches > 5);                 /* an always-exploring policy switches */
        CU_ASSERT_EQUAL(f->set_calls, st.switches);
        CU_ASSERT_EQUAL(st.arrangement, f->arr);
        /* "node" gives as many runqueues as "all" on this pool: masked out. */
        for (unsigned i = 0; i < t.switches; i++)
                CU_ASSERT_NOT_EQUAL(t.switched_to[i], ISCHED_ARR_ALL);
        CU_ASSERT_EQUAL(t.reasons[ISCHED_AGENT_REASON_DWELL] + t.reasons[ISCHED_AGENT_REASON_BUDGET], 0);
        isched_agent_unref(a);
        isched_backend_unref(b);
}

static void test_dwell(void)
{
        struct isched_agent_config cfg;
        struct isched_backend *b;
        struct isched_agent *a;
        struct fake *f;
        struct trace t = { 0 };

        b = fake_new(&f);
        base_config(&cfg);
        cfg.no_safety = true; /* the guards alone */
        cfg.min_dwell_ns = 60 * NS;
        a = make_agent(b, &cfg, ISCHED_POLICY_EGREEDY, 1.0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(run_ticks(b, a, 600, &t), 0);
        CU_ASSERT(t.switches > 0);
        CU_ASSERT(t.reasons[ISCHED_AGENT_REASON_DWELL] > 0);
        /* No switch before the dwell time from the start (t0 = 1000 s), none
         * closer than the dwell time to the previous one. */
        CU_ASSERT(t.switches == 0 || t.switch_times[0] >= 1060 * NS);
        for (unsigned i = 1; i < t.switches; i++)
                CU_ASSERT(t.switch_times[i] - t.switch_times[i - 1] >= 60 * NS);
        /* 600 s allows at most 600 / 60 switches. */
        CU_ASSERT(t.switches <= 10);
        isched_agent_unref(a);
        isched_backend_unref(b);
}

static void test_budget(void)
{
        struct isched_agent_config cfg;
        struct isched_backend *b;
        struct isched_agent *a;
        struct fake *f;
        struct trace t = { 0 };

        b = fake_new(&f);
        base_config(&cfg);
        cfg.no_safety = true; /* the guards alone */
        cfg.interval_ns = 60 * NS;
        cfg.epoch_intervals = 1;
        cfg.settle_intervals = 0;
        cfg.max_switches_per_hour = 3;
        a = make_agent(b, &cfg, ISCHED_POLICY_EGREEDY, 1.0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        for (unsigned i = 0; i < 300; i++) { /* 5 hours of 1-minute epochs */
                struct isched_agent_status st;

                CU_ASSERT_EQUAL(isched_backend_wait(b, 60 * NS), 0);
                CU_ASSERT(isched_agent_tick(a) >= 0);
                isched_agent_get_status(a, &st);
                t.reasons[st.last_reason]++;
                if (st.last_tick_switched)
                        t.switch_times[t.switches++] = st.time_ns;
        }
        CU_ASSERT(t.reasons[ISCHED_AGENT_REASON_BUDGET] > 0);
        /* In every sliding hour at most 3 switches; over 5 hours more than 3. */
        CU_ASSERT(t.switches > 3 && t.switches <= 5 * 3 + 3);
        for (unsigned i = 3; i < t.switches; i++)
                CU_ASSERT(t.switch_times[i] - t.switch_times[i - 3] >= 3600 * NS);
        isched_agent_unref(a);
        isched_backend_unref(b);
}

static void test_rollback(void)
{
        struct isched_agent_config cfg;
        struct isched_backend *b;
        struct isched_agent *a;
        struct fake *f;
        struct trace t = { 0 };
        unsigned rollbacks = 0;

        b = fake_new(&f);
        /* Socket is good; every other arrangement does 40% of the work. */
        for (unsigned i = 0; i < ISCHED_ARR_COUNT; i++)
                f->work_rate[i] = i == ISCHED_ARR_SOCKET ? 1.0 : 0.4;
        base_config(&cfg);
        cfg.no_safety = true; /* the guards alone */
        cfg.min_dwell_ns = 100 * NS; /* the policy may not switch back by itself for a while */
        cfg.rollback_windows = 3;
        cfg.rollback_margin = 0.1;
        a = make_agent(b, &cfg, ISCHED_POLICY_EGREEDY, 1.0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(run_ticks(b, a, 1500, &t), 0);
        for (unsigned i = 0; i < t.switches; i++) {
                if (t.switch_reason[i] != ISCHED_AGENT_REASON_ROLLBACK)
                        continue;
                rollbacks++;
                /* Back to the good arrangement, soon after the bad switch:
                 * settling tick + 3 bad windows + the decision. */
                CU_ASSERT_EQUAL(t.switched_to[i], ISCHED_ARR_SOCKET);
                CU_ASSERT(i > 0);
                if (i > 0) {
                        CU_ASSERT_NOT_EQUAL(t.switched_to[i - 1], ISCHED_ARR_SOCKET);
                        CU_ASSERT(t.switch_times[i] - t.switch_times[i - 1] <= (1 + 4 * 5) * NS);
                }
        }
        CU_ASSERT(rollbacks > 0);

        /* With equal arrangements nothing is ever rolled back. */
        isched_agent_unref(a);
        isched_backend_unref(b);
        b = fake_new(&f);
        memset(&t, 0, sizeof(t));
        a = make_agent(b, &cfg, ISCHED_POLICY_EGREEDY, 1.0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(run_ticks(b, a, 1500, &t), 0);
        CU_ASSERT(t.switches > 0);
        CU_ASSERT_EQUAL(t.reasons[ISCHED_AGENT_REASON_ROLLBACK], 0);
        isched_agent_unref(a);
        isched_backend_unref(b);
}

static char *path_in_tmp(const char *name)
{
        char *p = NULL;

        CU_ASSERT(asprintf(&p, "%s/%s", tmpdir, name) > 0);
        return p;
}

static cJSON *read_json(const char *path)
{
        char *data = NULL;
        cJSON *doc;

        if (isched__read_file(path, 1 << 22, &data, NULL) < 0)
                return NULL;
        doc = cJSON_Parse(data);
        free(data);
        return doc;
}

static void test_override(void)
{
        struct isched_agent_config cfg;
        struct isched_agent_status st;
        struct isched_backend *b;
        struct isched_agent *a;
        struct fake *f;
        struct trace t = { 0 };
        char *hold = path_in_tmp("Pool-F.hold"), *state = path_in_tmp("Pool-F.state.json");
        cJSON *doc;
        uint64_t switches;
        unsigned warnings;

        b = fake_new(&f);
        base_config(&cfg);
        cfg.state_dir = tmpdir;
        a = make_agent(b, &cfg, ISCHED_POLICY_EGREEDY, 1.0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(run_ticks(b, a, 50, NULL), 0);
        isched_agent_get_status(a, &st);
        switches = st.switches;

        /* The administrator switches to "cpu" behind the agent's back. */
        f->arr = f->arr == ISCHED_ARR_CPU ? ISCHED_ARR_CORE : ISCHED_ARR_CPU;
        const enum isched_arrangement admin = f->arr;
        warnings = n_warnings;
        CU_ASSERT_EQUAL(run_ticks(b, a, 100, &t), 0);
        isched_agent_get_status(a, &st);
        CU_ASSERT_EQUAL(st.mode, ISCHED_AGENT_HELD);
        CU_ASSERT_EQUAL(st.switches, switches);
        CU_ASSERT_EQUAL(f->arr, admin);
        CU_ASSERT(st.skipped_windows >= 1);
        CU_ASSERT(t.reasons[ISCHED_AGENT_REASON_OVERRIDE] > 0);
        CU_ASSERT_EQUAL(n_warnings - warnings, 1); /* said once, not every epoch */
        CU_ASSERT_PTR_NOT_NULL(strstr(last_warning, "did not change it"));
        CU_ASSERT_EQUAL(access(hold, F_OK), 0);
        doc = read_json(state);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "mode")->valuestring, "held");
        CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "guards"), "held")));
        cJSON_Delete(doc);

        /* Removing the hold file resumes it. */
        CU_ASSERT_EQUAL(unlink(hold), 0);
        CU_ASSERT_EQUAL(run_ticks(b, a, 200, &t), 0);
        isched_agent_get_status(a, &st);
        CU_ASSERT_EQUAL(st.mode, ISCHED_AGENT_ACTIVE);
        CU_ASSERT(st.switches > switches);

        /* And the API resumes it too. */
        f->arr = f->arr == ISCHED_ARR_CPU ? ISCHED_ARR_CORE : ISCHED_ARR_CPU;
        CU_ASSERT_EQUAL(run_ticks(b, a, 2, NULL), 0);
        isched_agent_get_status(a, &st);
        CU_ASSERT_EQUAL(st.mode, ISCHED_AGENT_HELD);
        CU_ASSERT_EQUAL(isched_agent_resume(a), 0);
        isched_agent_get_status(a, &st);
        CU_ASSERT_EQUAL(st.mode, ISCHED_AGENT_ACTIVE);
        CU_ASSERT_NOT_EQUAL(access(hold, F_OK), 0);
        CU_ASSERT_EQUAL(isched_agent_resume(a), -EALREADY);

        /* A hold file left behind makes a new agent start held. */
        f->arr = f->arr == ISCHED_ARR_CPU ? ISCHED_ARR_CORE : ISCHED_ARR_CPU;
        CU_ASSERT_EQUAL(run_ticks(b, a, 1, NULL), 0);
        isched_agent_unref(a);
        CU_ASSERT_EQUAL(access(hold, F_OK), 0);
        a = make_agent(b, &cfg, ISCHED_POLICY_EGREEDY, 1.0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        isched_agent_get_status(a, &st);
        CU_ASSERT_EQUAL(st.mode, ISCHED_AGENT_HELD);
        unlink(hold);
        isched_agent_unref(a);
        isched_backend_unref(b);
        free(hold);
        free(state);
}

static void test_advisory(void)
{
        struct isched_agent_config cfg;
        struct isched_agent_status st;
        struct isched_backend *b;
        struct isched_agent *a;
        struct fake *f;
        struct trace t = { 0 };
        unsigned warnings = n_warnings;

        /* A pool that says it cannot be switched. */
        b = fake_new(&f);
        f->can_switch = false;
        base_config(&cfg);
        a = make_agent(b, &cfg, ISCHED_POLICY_EGREEDY, 1.0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(n_warnings - warnings, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(last_warning, "without the intellisched patches"));
        CU_ASSERT_EQUAL(run_ticks(b, a, 200, &t), 0);
        isched_agent_get_status(a, &st);
        CU_ASSERT_EQUAL(st.mode, ISCHED_AGENT_ADVISORY);
        CU_ASSERT_EQUAL(f->set_calls, 0);
        CU_ASSERT_EQUAL(st.switches, 0);
        CU_ASSERT(st.updates > 0); /* it still learns about the arrangement in force */
        CU_ASSERT(t.reasons[ISCHED_AGENT_REASON_ADVISORY] > 0);
        CU_ASSERT_EQUAL(n_warnings - warnings, 1);
        isched_agent_unref(a);
        isched_backend_unref(b);

        /* A pool that says it can, but the hypervisor refuses: one attempt,
         * one message, then advisory. */
        b = fake_new(&f);
        f->set_error = -EOPNOTSUPP;
        warnings = n_warnings;
        /* an agent that tries a switch soon: the default budget affords an
         * unknown arm only after max_loss / budget windows (docs/safety.md) */
        cfg.budget = 0.1;
        a = make_agent(b, &cfg, ISCHED_POLICY_EGREEDY, 1.0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(run_ticks(b, a, 300, NULL), 0);
        isched_agent_get_status(a, &st);
        CU_ASSERT_EQUAL(st.mode, ISCHED_AGENT_ADVISORY);
        CU_ASSERT_EQUAL(f->set_calls, 1);
        CU_ASSERT_EQUAL(n_warnings - warnings, 1);
        isched_agent_unref(a);
        isched_backend_unref(b);

        /* Dry run: never applies. */
        b = fake_new(&f);
        cfg.dry_run = true;
        a = make_agent(b, &cfg, ISCHED_POLICY_EGREEDY, 1.0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(run_ticks(b, a, 200, NULL), 0);
        isched_agent_get_status(a, &st);
        CU_ASSERT_EQUAL(st.mode, ISCHED_AGENT_DRY_RUN);
        CU_ASSERT_EQUAL(f->set_calls, 0);
        CU_ASSERT(st.decisions > 10);
        isched_agent_unref(a);
        isched_backend_unref(b);
}

static unsigned count_lines(const char *path)
{
        FILE *fp = fopen(path, "r");
        unsigned n = 0;
        int c;

        if (!fp)
                return 0;
        while ((c = fgetc(fp)) != EOF)
                n += c == '\n';
        fclose(fp);
        return n;
}

static void test_invalid_window_and_vanish(void)
{
        struct isched_agent_config cfg;
        struct isched_agent_status st, st2;
        struct isched_backend *b;
        struct isched_agent *a;
        struct fake *f;
        char *log = path_in_tmp("vanish.log"), *model = path_in_tmp("vanish.model");
        struct isched_policy *p = NULL;

        b = fake_new(&f);
        base_config(&cfg);
        cfg.log_path = log;
        a = make_agent(b, &cfg, ISCHED_POLICY_LINUCB, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(run_ticks(b, a, 52, NULL), 0);
        isched_agent_get_status(a, &st);
        /* A counter goes backwards: that window is skipped, never learned. */
        f->glitch = true;
        CU_ASSERT_EQUAL(run_ticks(b, a, 1, NULL), 0);
        CU_ASSERT_EQUAL(run_ticks(b, a, 12, NULL), 0);
        isched_agent_get_status(a, &st2);
        CU_ASSERT(st2.skipped_windows >= 1);
        CU_ASSERT_EQUAL(st2.updates + st2.unlearned + st2.waiting, st2.decisions);
        CU_ASSERT(st2.unlearned >= 1);

        /* The pool vanishes: -ENOENT, the agent stops, the model can be saved. */
        f->gone = true;
        CU_ASSERT_EQUAL(run_ticks(b, a, 1, NULL), -ENOENT);
        isched_agent_get_status(a, &st);
        CU_ASSERT_EQUAL(st.mode, ISCHED_AGENT_STOPPED);
        CU_ASSERT_EQUAL(isched_agent_tick(a), -ENOENT);
        CU_ASSERT_EQUAL(isched_agent_save_model(a, model), 0);
        CU_ASSERT_EQUAL(isched_model_load(model, &p, NULL), 0);
        CU_ASSERT_EQUAL(isched_policy_get_rounds(p), st.updates);
        isched_policy_free(p);
        /* One log line per decision: learned ones with a reward, the
         * skipped and the last one without. */
        CU_ASSERT_EQUAL(count_lines(log), st.decisions);
        isched_agent_unref(a);
        isched_backend_unref(b);
        free(log);
        free(model);
}

static void test_lock_and_state(void)
{
        struct isched_agent_config cfg;
        struct isched_backend *b;
        struct isched_agent *a, *a2 = NULL;
        struct isched_policy *p;
        struct isched_context *c;
        struct fake *f;
        char *state = path_in_tmp("Pool-F.state.json"), expect[64], *json = NULL;
        struct stat sb;
        cJSON *doc, *d;

        b = fake_new(&f);
        base_config(&cfg);
        cfg.state_dir = tmpdir;
        a = make_agent(b, &cfg, ISCHED_POLICY_LINUCB, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);

        make_policy(ISCHED_POLICY_LINUCB, 0, 1, &p, &c);
        CU_ASSERT_EQUAL(isched_agent_new(&cfg, b, p, c, &a2), -EBUSY);
        snprintf(expect, sizeof(expect), "pid %ld", (long)getpid());
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), expect));
        CU_ASSERT_PTR_NULL(a2);

        CU_ASSERT_EQUAL(stat(state, &sb), 0);
        CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
        CU_ASSERT_EQUAL(run_ticks(b, a, 30, NULL), 0);
        doc = read_json(state);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "schema")->valuestring, "isched-explain-v2");
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "pool")->valuestring, "Pool-F");
        d = cJSON_GetObjectItem(doc, "decision");
        CU_ASSERT(cJSON_IsObject(d));
        CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(d, "arms")), ISCHED_ARR_COUNT);
        CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "context"), "features")),
                        ISCHED_F_COUNT);
        cJSON_Delete(doc);
        CU_ASSERT_EQUAL(isched_agent_state_json(a, &json), 0);
        free(json);

        /* The lock goes with the agent. */
        isched_agent_unref(a);
        CU_ASSERT_EQUAL(isched_agent_new(&cfg, b, p, c, &a2), 0);
        isched_agent_unref(a2);
        isched_policy_free(p);
        isched_context_free(c);
        isched_backend_unref(b);
        free(state);
}

static void test_bad_arguments(void)
{
        struct isched_agent_config cfg;
        struct isched_backend *b;
        struct isched_agent *a = NULL;
        struct isched_policy *p, *p3;
        struct isched_context *c;
        struct isched_policy_params pp;
        struct fake *f;

        b = fake_new(&f);
        make_policy(ISCHED_POLICY_LINUCB, 0, 1, &p, &c);
        base_config(&cfg);
        CU_ASSERT_EQUAL(isched_agent_new(NULL, b, p, c, &a), -EINVAL);
        cfg.pool = "Pool-Nope";
        CU_ASSERT_EQUAL(isched_agent_new(&cfg, b, p, c, &a), -ENOENT);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "Pool-F"));
        base_config(&cfg);
        cfg.epoch_intervals = 0;
        CU_ASSERT_EQUAL(isched_agent_new(&cfg, b, p, c, &a), -EINVAL);
        base_config(&cfg);
        cfg.state_dir = "/nonexistent/dir";
        CU_ASSERT_EQUAL(isched_agent_new(&cfg, b, p, c, &a), -ENOENT);
        base_config(&cfg);
        CU_ASSERT_EQUAL(isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, 3), 0);
        CU_ASSERT_EQUAL(isched_policy_new(&pp, &p3), 0);
        CU_ASSERT_EQUAL(isched_agent_new(&cfg, b, p3, c, &a), -EINVAL); /* wrong dimension */
        CU_ASSERT_PTR_NULL(a);
        CU_ASSERT_EQUAL(isched_agent_tick(NULL), -EINVAL);
        CU_ASSERT_PTR_NULL(isched_agent_unref(NULL));
        CU_ASSERT_STRING_EQUAL(isched_agent_reason_to_string(ISCHED_AGENT_REASON_DWELL), "dwell");
        CU_ASSERT_PTR_NULL(isched_agent_reason_to_string(ISCHED_AGENT_REASON_COUNT));
        isched_policy_free(p3);
        isched_policy_free(p);
        isched_context_free(c);
        isched_backend_unref(b);
}

/* Saving and loading the model loses nothing: an agent started from the
 * file decides exactly as one started from the same model kept in memory
 * (saved to a second file by the same, never stopped, agent). */
static void test_model_reload(void)
{
        struct isched_agent_config cfg;
        struct isched_backend *b1, *b2;
        struct isched_agent *a, *x, *y;
        struct isched_policy *p;
        struct isched_context *c;
        struct fake *f1, *f2;
        struct trace t1 = { 0 }, t2 = { 0 };
        char *m1 = path_in_tmp("reload1.model"), *m2 = path_in_tmp("reload2.model");
        char *s1 = NULL, *s2 = NULL;

        b1 = fake_new(&f1);
        b2 = fake_new(&f2);
        for (unsigned i = 0; i < ISCHED_ARR_COUNT; i++)
                f1->work_rate[i] = f2->work_rate[i] = 0.5 + 0.1 * i;
        base_config(&cfg);
        a = make_agent(b1, &cfg, ISCHED_POLICY_LINTS, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(run_ticks(b1, a, 300, NULL), 0);
        CU_ASSERT_EQUAL(isched_agent_save_model(a, m1), 0);
        isched_agent_unref(a);
        /* The second backend is brought to the same state. */
        *f2 = *f1;

        CU_ASSERT_EQUAL(isched_model_load(m1, &p, &c), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_EQUAL(isched_agent_new(&cfg, b1, p, c, &x), 0);
        CU_ASSERT_EQUAL(isched_agent_new(&cfg, b2, p, c, &y), 0);
        isched_policy_free(p);
        isched_context_free(c);
        CU_ASSERT_EQUAL(run_ticks(b1, x, 300, &t1), 0);
        CU_ASSERT_EQUAL(run_ticks(b2, y, 300, &t2), 0);
        CU_ASSERT_EQUAL(t1.switches, t2.switches);
        CU_ASSERT(memcmp(t1.switched_to, t2.switched_to, sizeof(t1.switched_to)) == 0);
        CU_ASSERT(memcmp(t1.switch_times, t2.switch_times, sizeof(t1.switch_times)) == 0);
        CU_ASSERT_EQUAL(isched_agent_save_model(x, m1), 0);
        CU_ASSERT_EQUAL(isched_agent_save_model(y, m2), 0);
        CU_ASSERT_EQUAL(isched__read_file(m1, 1 << 22, &s1, NULL), 0);
        CU_ASSERT_EQUAL(isched__read_file(m2, 1 << 22, &s2, NULL), 0);
        CU_ASSERT(s1 && s2 && strcmp(s1, s2) == 0);
        free(s1);
        free(s2);
        isched_agent_unref(x);
        isched_agent_unref(y);
        isched_backend_unref(b1);
        isched_backend_unref(b2);
        free(m1);
        free(m2);
}

/* The safety layer in the loop.  The fake pool's arrangements differ only
 * in work: socket (the baseline) 1, cpu 0.01 (a loss of 4.6 per window,
 * far beyond the 1 the layer assumes possible of an arm it knows nothing
 * of), core 0.6, node 1.05.  An always-exploring policy proposes a random
 * arm every epoch.  Measured against the budget x windows since takeover,
 * the loss never exceeds what the layer allows plus one exposure (the
 * settle and the first interval, before the stop-loss can act) of the
 * catastrophic arm beyond the assumed worst; cpu is tried once at most;
 * without the layer the same policy loses far more. */
static double safety_run(bool bypass, double *ret_worst_excess, unsigned *ret_cpu_visits, double *ret_node_share)
{
        const double rate[ISCHED_ARR_COUNT] = { 0.01, 0.6, 1.0, 1.05, 1.05 };
        struct isched_agent_config cfg;
        struct isched_backend *b;
        struct isched_agent *a;
        struct fake *f;
        double loss = 0.0, worst = 0.0;
        unsigned cpu = 0, node = 0, late = 0;

        b = fake_new(&f);
        memcpy(f->work_rate, rate, sizeof(rate));
        base_config(&cfg);
        cfg.no_safety = bypass;
        a = make_agent(b, &cfg, ISCHED_POLICY_EGREEDY, 1.0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        for (unsigned i = 0; i < 6000; i++) {
                struct isched_agent_status st;
                const enum isched_arrangement in_force = f->arr;

                CU_ASSERT_EQUAL(isched_backend_wait(b, NS), 0);
                CU_ASSERT(isched_agent_tick(a) >= 0);
                CU_ASSERT_EQUAL(isched_agent_get_status(a, &st), 0);
                /* the tick's interval ran under in_force: a fifth of a window */
                loss += log(rate[ISCHED_ARR_SOCKET] / rate[in_force]) / cfg.epoch_intervals;
                worst = fmax(worst, loss - cfg.budget * (double)(i + 1) / cfg.epoch_intervals);
                if (st.last_tick_switched && f->arr == ISCHED_ARR_CPU)
                        cpu++;
                if (getenv("AGENT_TRACE") && st.last_tick_switched)
                        fprintf(stderr, "tick %u: -> %s (%s) changes %lu loss %.3f allowance %.3f spent %.3f\n", i,
                                isched_arrangement_to_string(f->arr), isched_agent_reason_to_string(st.last_reason), (unsigned long)st.changes,
                                loss, cfg.budget * (i + 1) / 5.0, st.budget_spent);
                if (i >= 5000) {
                        late++;
                        node += f->arr == ISCHED_ARR_NODE;
                }
        }
        *ret_worst_excess = worst;
        *ret_cpu_visits = cpu;
        *ret_node_share = (double)node / late;
        isched_agent_unref(a);
        isched_backend_unref(b);
        return loss;
}

static void test_safety_budget(void)
{
        const double exposure = 2.0 / 5.0, beyond = log(1.0 / 0.01) - 1.0;
        double worst, share, loss, loss_off;
        unsigned cpu;

        loss = safety_run(false, &worst, &cpu, &share);
        if (worst > exposure * beyond + 0.05)
                fprintf(stderr, "\n  loss exceeded budget x windows by %g\n", worst);
        CU_ASSERT(worst <= exposure * beyond + 0.05);
        CU_ASSERT(cpu <= 1);
        /* and it still finds the better arrangement */
        CU_ASSERT(share > 0.8);
        loss_off = safety_run(true, &worst, &cpu, &share);
        CU_ASSERT(loss_off > 20.0 * fmax(loss, 1.0));
        CU_ASSERT(cpu > 10);
}

/* A model learned from one kind of throughput is refused on a pool that
 * is observed differently; a new one records the pool's mode. */
static void test_observation_refused(void)
{
        struct isched_agent_config cfg;
        struct isched_policy *p, *p2 = NULL;
        struct isched_context *c, *c2 = NULL;
        struct isched_backend *b;
        struct isched_agent *a = NULL;
        struct fake *f;
        char *model = path_in_tmp("obs.model");

        b = fake_new(&f);
        base_config(&cfg);
        make_policy(ISCHED_POLICY_LINUCB, 0, 1, &p, &c);
        /* the fake counts work and is not the simulator: guest-published work */
        CU_ASSERT_EQUAL(isched_context_set_observation(c, ISCHED_OBS_GROUND_TRUTH), 0);
        CU_ASSERT_EQUAL(isched_agent_new(&cfg, b, p, c, &a), -EINVAL);
        CU_ASSERT_PTR_NULL(a);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "observation mode ground-truth"));
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "xen+guests"));
        isched_context_free(c);
        make_policy(ISCHED_POLICY_LINUCB, 0, 1, &p2, &c);
        CU_ASSERT_EQUAL(isched_agent_new(&cfg, b, p2, c, &a), 0);
        CU_ASSERT_EQUAL(isched_agent_save_model(a, model), 0);
        isched_agent_unref(a);
        isched_policy_free(p);
        isched_policy_free(p2);
        isched_context_free(c);
        p = NULL;
        CU_ASSERT_EQUAL(isched_model_load(model, &p, &c2), 0);
        CU_ASSERT_EQUAL(isched_context_get_observation(c2), ISCHED_OBS_XEN_GUESTS);
        isched_policy_free(p);
        isched_context_free(c2);
        isched_backend_unref(b);
        free(model);
}

/* The decision log carries the reward window's own score and, apart from
 * it, the baseline and switch cost the agent used: reward = window_score
 * - baseline exactly, for every learned line. */
static void test_log_scores(void)
{
        const double rate[ISCHED_ARR_COUNT] = { 0.5, 0.9, 1.0, 1.1, 1.1 };
        struct isched_agent_config cfg;
        struct isched_backend *b;
        struct isched_agent *a;
        struct fake *f;
        char *log = path_in_tmp("scores.log"), *data = NULL, *line, *save = NULL;
        unsigned learned = 0, lines = 0;

        b = fake_new(&f);
        memcpy(f->work_rate, rate, sizeof(rate));
        base_config(&cfg);
        cfg.log_path = log;
        cfg.budget = 0.2;
        cfg.baseline = ISCHED_ARR_CORE;
        a = make_agent(b, &cfg, ISCHED_POLICY_LINUCB, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(run_ticks(b, a, 600, NULL), 0);
        isched_agent_unref(a);
        CU_ASSERT_EQUAL_FATAL(isched__read_file(log, 1 << 24, &data, NULL), 0);
        for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                cJSON *o = cJSON_Parse(line);
                const cJSON *reward, *ws, *base;

                CU_ASSERT_PTR_NOT_NULL_FATAL(o);
                lines++;
                CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "schema")->valuestring, "isched-decision-v3");
                CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "baseline_arm")->valuestring, "core");
                CU_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(o, "switch_cost")));
                reward = cJSON_GetObjectItem(o, "reward");
                ws = cJSON_GetObjectItem(o, "window_score");
                base = cJSON_GetObjectItem(o, "baseline");
                CU_ASSERT(cJSON_IsNumber(ws));
                if (cJSON_IsNumber(reward)) {
                        learned++;
                        CU_ASSERT(cJSON_IsNumber(base));
                        CU_ASSERT_EQUAL(reward->valuedouble, ws->valuedouble - base->valuedouble);
                        /* learned against the baseline (core) measured in the segment */
                        CU_ASSERT_DOUBLE_EQUAL(base->valuedouble, ws->valuedouble - reward->valuedouble, 1e-12);
                } else {
                        CU_ASSERT(cJSON_IsNull(base));
                        CU_ASSERT(cJSON_IsString(cJSON_GetObjectItem(o, "note")));
                }
                cJSON_Delete(o);
        }
        CU_ASSERT(lines > 50);
        CU_ASSERT(learned > lines / 2);
        free(data);
        isched_backend_unref(b);
        free(log);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("agent", suite_init, suite_clean);

        if (!s)
                return -1;
        if (!CU_add_test(s, "loop: epochs, updates, switches, masked arms", test_basic_loop) ||
            !CU_add_test(s, "guard: minimum dwell time", test_dwell) ||
            !CU_add_test(s, "guard: switch budget per sliding hour", test_budget) ||
            !CU_add_test(s, "guard: rollback to last-known-good", test_rollback) ||
            !CU_add_test(s, "safety: the budget holds against a catastrophic arm", test_safety_budget) ||
            !CU_add_test(s, "safety: a model of another observation mode is refused", test_observation_refused) ||
            !CU_add_test(s, "decision log: window score, baseline and switch cost", test_log_scores) ||
            !CU_add_test(s, "guard: override detection, hold and resume", test_override) ||
            !CU_add_test(s, "guard: advisory (cannot switch, refused, dry run)", test_advisory) ||
            !CU_add_test(s, "invalid windows skipped, vanished pool stops", test_invalid_window_and_vanish) ||
            !CU_add_test(s, "lock file and state file", test_lock_and_state) ||
            !CU_add_test(s, "bad arguments", test_bad_arguments) ||
            !CU_add_test(s, "model reload decides identically", test_model_reload))
                return -1;
        return 0;
}
