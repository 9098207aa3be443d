/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent's life as a service, on the real simulator backend: the
 * takeover arrangement and isched_agent_stop() (restore or keep), the
 * takeover inherited from an agent that died, the host-wide lock
 * directory, the decision log's size limit and rotation, the trace's size
 * limit, default directories. */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intellisched/intellisched.h"

#define NS 1000000000ULL

static char tmpdir[64];

static void quiet_log(enum isched_log_priority prio, const char *msg, void *userdata)
{
        unsigned *warnings = userdata;

        if (prio <= ISCHED_LOG_WARNING && warnings)
                (*warnings)++;
        (void)msg;
}

static unsigned warnings;

static int suite_init(void)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/isched-test-agent-files-XXXXXX");
        if (!mkdtemp(tmpdir))
                return -1;
        isched_set_log_fn(quiet_log, ISCHED_LOG_WARNING, &warnings);
        return 0;
}

static int suite_clean(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

static char *dir_in_tmp(const char *name)
{
        char *p = NULL;

        CU_ASSERT_FATAL(asprintf(&p, "%s/%s", tmpdir, name) > 0);
        mkdir(p, 0700);
        return p;
}

static struct isched_backend *sim(void)
{
        struct isched_backend_config bc = { .size = sizeof(bc), .seed = 7 };
        struct isched_backend *b = NULL;

        CU_ASSERT_EQUAL_FATAL(isched_backend_open("sim", &bc, &b), 0);
        return b;
}

/* An epsilon-greedy agent that explores every epoch, without guards: it
 * leaves its takeover arrangement within a few epochs. */
static struct isched_agent *explorer(struct isched_backend *b, const char *state_dir, const char *lock_dir,
                                     const char *log, uint64_t log_max_bytes)
{
        struct isched_agent_config cfg;
        struct isched_policy_params pp;
        struct isched_context_params cp;
        struct isched_policy *p = NULL;
        struct isched_context *c = NULL;
        struct isched_agent *a = NULL;
        int r;

        isched_agent_config_init(&cfg);
        cfg.pool = "Pool-0";
        cfg.interval_ns = NS / 4;
        cfg.epoch_intervals = 2;
        cfg.min_dwell_ns = 0;
        cfg.max_switches_per_hour = 0;
        cfg.rollback_windows = 0;
        /* These tests need an agent that leaves the takeover arrangement
         * soon; the default budget affords an unknown arm only after
         * max_loss / budget windows (docs/safety.md). */
        cfg.budget = 0.1;
        cfg.state_dir = state_dir;
        cfg.lock_dir = lock_dir;
        cfg.log_path = log;
        cfg.log_max_bytes = log_max_bytes;
        CU_ASSERT_EQUAL_FATAL(isched_policy_params_init(&pp, ISCHED_POLICY_EGREEDY, ISCHED_F_COUNT), 0);
        pp.epsilon = 1.0;
        pp.feature_schema = ISCHED_FEATURE_SCHEMA;
        CU_ASSERT_EQUAL_FATAL(isched_policy_new(&pp, &p), 0);
        CU_ASSERT_EQUAL_FATAL(isched_context_params_init(&cp), 0);
        CU_ASSERT_EQUAL_FATAL(isched_context_new(&cp, &c), 0);
        r = isched_agent_new(&cfg, b, p, c, &a);
        if (r < 0)
                a = NULL;
        isched_policy_free(p);
        isched_context_free(c);
        return a;
}

/* Tick until the pool is on another arrangement than its takeover one. */
static bool leave_takeover(struct isched_backend *b, struct isched_agent *a)
{
        struct isched_agent_status st;

        for (int i = 0; i < 400; i++) {
                CU_ASSERT_EQUAL(isched_backend_wait(b, NS / 4), 0);
                CU_ASSERT(isched_agent_tick(a) >= 0);
                CU_ASSERT_EQUAL(isched_agent_get_status(a, &st), 0);
                if (st.epochs >= 2 && st.arrangement != st.takeover_arrangement)
                        return true;
        }
        return false;
}

static enum isched_arrangement in_force(struct isched_backend *b)
{
        struct isched_pool_info info;

        CU_ASSERT_EQUAL(isched_backend_find_pool(b, "Pool-0", &info), 0);
        return info.arrangement;
}

static cJSON *state_doc(const char *state_dir)
{
        char *path = NULL, *text;
        FILE *f;
        cJSON *doc = NULL;

        CU_ASSERT_EQUAL_FATAL(isched_agent_state_path(state_dir, "Pool-0", &path), 0);
        f = fopen(path, "r");
        text = calloc(1, 1 << 20);
        if (f && text) {
                size_t n = fread(text, 1, (1 << 20) - 1, f);

                text[n] = '\0';
                doc = cJSON_Parse(text);
        }
        if (f)
                fclose(f);
        free(text);
        free(path);
        return doc;
}

static const char *doc_string(const cJSON *doc, const char *name)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);

        return cJSON_IsString(v) ? v->valuestring : "";
}

static void test_stop_restores(void)
{
        struct isched_backend *b = sim();
        char *sd = dir_in_tmp("restore");
        struct isched_agent *a = explorer(b, sd, NULL, NULL, 0);
        const enum isched_arrangement takeover = in_force(b);
        struct isched_agent_status st;
        cJSON *doc;

        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(isched_agent_get_status(a, &st), 0);
        CU_ASSERT_EQUAL(st.takeover_arrangement, takeover);
        CU_ASSERT_FATAL(leave_takeover(b, a));
        CU_ASSERT_NOT_EQUAL(in_force(b), takeover);
        CU_ASSERT_EQUAL(isched_agent_stop(a, ISCHED_AGENT_ON_EXIT_RESTORE), 1);
        CU_ASSERT_EQUAL(in_force(b), takeover);
        CU_ASSERT_EQUAL(isched_agent_get_status(a, &st), 0);
        CU_ASSERT_EQUAL(st.mode, ISCHED_AGENT_STOPPED);
        CU_ASSERT_EQUAL(st.arrangement, takeover);
        /* Stopped is stopped: no more ticks, a second stop does nothing. */
        CU_ASSERT_EQUAL(isched_agent_tick(a), -ENOENT);
        CU_ASSERT_EQUAL(isched_agent_stop(a, ISCHED_AGENT_ON_EXIT_RESTORE), 0);
        doc = state_doc(sd);
        CU_ASSERT_STRING_EQUAL(doc_string(doc, "mode"), "stopped");
        CU_ASSERT_STRING_EQUAL(doc_string(doc, "takeover_arrangement"), isched_arrangement_to_string(takeover));
        CU_ASSERT_PTR_NOT_NULL(strstr(doc_string(doc, "stop_reason"), "restored"));
        cJSON_Delete(doc);
        isched_agent_unref(a);
        isched_backend_unref(b);
        free(sd);
}

static void test_stop_keeps(void)
{
        struct isched_backend *b = sim();
        char *sd = dir_in_tmp("keep");
        struct isched_agent *a = explorer(b, sd, NULL, NULL, 0);
        enum isched_arrangement left;

        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_FATAL(leave_takeover(b, a));
        left = in_force(b);
        CU_ASSERT_EQUAL(isched_agent_stop(a, ISCHED_AGENT_ON_EXIT_KEEP), 0);
        CU_ASSERT_EQUAL(in_force(b), left);
        isched_agent_unref(a);
        isched_backend_unref(b);
        free(sd);
}

/* A dry-run agent applied nothing: there is nothing to restore. */
static void test_restore_needs_active(void)
{
        CU_ASSERT_EQUAL(isched_agent_restore(NULL), -EINVAL);
        CU_ASSERT_EQUAL(isched_agent_stop(NULL, ISCHED_AGENT_ON_EXIT_RESTORE), -EINVAL);
        CU_ASSERT_STRING_EQUAL(isched_agent_on_exit_to_string(ISCHED_AGENT_ON_EXIT_KEEP), "keep");
        CU_ASSERT_PTR_NULL(isched_agent_on_exit_to_string((enum isched_agent_on_exit)7));
        {
                enum isched_agent_on_exit e;

                CU_ASSERT_EQUAL(isched_agent_on_exit_from_string("restore", &e), 0);
                CU_ASSERT_EQUAL(e, ISCHED_AGENT_ON_EXIT_RESTORE);
                CU_ASSERT_EQUAL(isched_agent_on_exit_from_string("Restore", &e), -EINVAL);
        }
}

/* An agent that died (never stopped) left another arrangement in force:
 * the next agent keeps the dead one's takeover arrangement as its own. */
static void test_takeover_inherited(void)
{
        struct isched_backend *b = sim();
        char *sd = dir_in_tmp("inherit");
        struct isched_agent *a = explorer(b, sd, NULL, NULL, 0), *next;
        const enum isched_arrangement takeover = in_force(b);
        struct isched_agent_status st;

        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_FATAL(leave_takeover(b, a));
        /* Dropping it without isched_agent_stop() is what a crash leaves. */
        isched_agent_unref(a);
        CU_ASSERT_NOT_EQUAL(in_force(b), takeover);
        warnings = 0;
        next = explorer(b, sd, NULL, NULL, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(next);
        CU_ASSERT(warnings >= 1);
        CU_ASSERT_EQUAL(isched_agent_get_status(next, &st), 0);
        CU_ASSERT_EQUAL(st.takeover_arrangement, takeover);
        CU_ASSERT_NOT_EQUAL(st.arrangement, takeover);
        CU_ASSERT_EQUAL(isched_agent_stop(next, ISCHED_AGENT_ON_EXIT_RESTORE), 1);
        CU_ASSERT_EQUAL(in_force(b), takeover);
        isched_agent_unref(next);

        /* After a clean stop the next agent takes the pool as it finds it. */
        CU_ASSERT_EQUAL(isched_backend_set_arrangement(b, 0, ISCHED_ARR_CPU == takeover ? ISCHED_ARR_CORE
                                                                                        : ISCHED_ARR_CPU),
                        0);
        next = explorer(b, sd, NULL, NULL, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(next);
        CU_ASSERT_EQUAL(isched_agent_get_status(next, &st), 0);
        CU_ASSERT_EQUAL(st.takeover_arrangement, in_force(b));
        isched_agent_unref(next);
        isched_backend_unref(b);
        free(sd);
}

/* Real pools are locked host-wide: two agents with different state
 * directories but one lock directory exclude each other. */
static void test_lock_dir(void)
{
        struct isched_backend *b = sim();
        char *s1 = dir_in_tmp("lock-s1"), *s2 = dir_in_tmp("lock-s2"), *ld = dir_in_tmp("lock-run"), *lock = NULL;
        struct isched_agent *a = explorer(b, s1, ld, NULL, 0), *other;
        struct stat st;

        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_FATAL(asprintf(&lock, "%s/Pool-0.lock", ld) > 0);
        CU_ASSERT_EQUAL(stat(lock, &st), 0);
        other = explorer(b, s2, ld, NULL, 0);
        CU_ASSERT_PTR_NULL(other);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "already managed"));
        /* Without the common lock directory they would both run. */
        other = explorer(b, s2, NULL, NULL, 0);
        CU_ASSERT_PTR_NOT_NULL(other);
        isched_agent_unref(other);
        isched_agent_unref(a);
        other = explorer(b, s2, ld, NULL, 0);
        CU_ASSERT_PTR_NOT_NULL(other);
        isched_agent_unref(other);
        isched_backend_unref(b);
        free(lock);
        free(s1);
        free(s2);
        free(ld);
}

static off_t file_size(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 ? st.st_size : -1;
}

static unsigned lines_of(const char *path)
{
        FILE *f = fopen(path, "r");
        unsigned n = 0;
        int c;

        while (f && (c = fgetc(f)) != EOF)
                n += c == '\n';
        if (f)
                fclose(f);
        return n;
}

/* The decision log stays under its limit: the full one becomes .1. */
static void test_log_rotation(void)
{
        struct isched_backend *b = sim();
        char *sd = dir_in_tmp("log"), *log = NULL, *old = NULL, *moved = NULL;
        const uint64_t limit = 4096;
        struct isched_agent *a;
        unsigned before_move;

        CU_ASSERT_FATAL(asprintf(&log, "%s/decisions.jsonl", sd) > 0);
        CU_ASSERT_FATAL(asprintf(&old, "%s.1", log) > 0);
        CU_ASSERT_FATAL(asprintf(&moved, "%s/renamed.jsonl", sd) > 0);
        a = explorer(b, sd, NULL, log, limit);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        for (int i = 0; i < 120; i++) {
                CU_ASSERT_EQUAL(isched_backend_wait(b, NS / 4), 0);
                CU_ASSERT(isched_agent_tick(a) >= 0);
        }
        CU_ASSERT(file_size(old) > 0);
        CU_ASSERT(file_size(old) <= (off_t)limit);
        CU_ASSERT(file_size(log) > 0);
        CU_ASSERT(file_size(log) <= (off_t)limit);

        /* A log renamed under the agent (logrotate) is followed: the next
         * lines go to a new file at the path. */
        CU_ASSERT_EQUAL(rename(log, moved), 0);
        before_move = lines_of(moved);
        for (int i = 0; i < 8; i++) {
                CU_ASSERT_EQUAL(isched_backend_wait(b, NS / 4), 0);
                CU_ASSERT(isched_agent_tick(a) >= 0);
        }
        CU_ASSERT_EQUAL(lines_of(moved), before_move);
        CU_ASSERT(lines_of(log) >= 1);
        CU_ASSERT_EQUAL(isched_agent_reopen_log(a), 0);
        isched_agent_unref(a);
        isched_backend_unref(b);
        free(log);
        free(old);
        free(moved);
        free(sd);
}

/* A trace at its size limit refuses more lines and stays replayable. */
static void test_trace_limit(void)
{
        struct isched_backend *b = sim();
        struct isched_trace_writer *w = NULL;
        struct isched_trace_reader *rd = NULL;
        struct isched_pool_info info;
        struct isched_counters c;
        char *sd = dir_in_tmp("trace"), *path = NULL;
        int r = 0, appended = 0;
        uint32_t pool;

        CU_ASSERT_FATAL(asprintf(&path, "%s/t.jsonl", sd) > 0);
        CU_ASSERT_EQUAL_FATAL(isched_backend_find_pool(b, "Pool-0", &info), 0);
        CU_ASSERT_EQUAL_FATAL(isched_trace_writer_new(path, &info, 1, &w), 0);
        CU_ASSERT_EQUAL(isched_trace_writer_set_max_bytes(w, 8192), 0);
        CU_ASSERT_EQUAL(isched_trace_writer_set_max_bytes(NULL, 1), -EINVAL);
        for (int i = 0; i < 1000 && r == 0; i++) {
                CU_ASSERT_EQUAL(isched_backend_wait(b, NS / 4), 0);
                CU_ASSERT_EQUAL(isched_backend_read_counters(b, info.id, &c), 0);
                r = isched_trace_writer_append(w, info.id, &c);
                appended += r == 0;
        }
        CU_ASSERT_EQUAL(r, -EFBIG);
        CU_ASSERT(appended > 0);
        isched_trace_writer_free(w);
        CU_ASSERT(file_size(path) <= 8192);
        CU_ASSERT_EQUAL_FATAL(isched_trace_reader_open(path, &rd), 0);
        for (int i = 0; i < appended; i++)
                CU_ASSERT_EQUAL(isched_trace_reader_next(rd, &pool, &c), 0);
        CU_ASSERT_EQUAL(isched_trace_reader_next(rd, &pool, &c), -ENODATA);
        isched_trace_reader_free(rd);
        isched_backend_unref(b);
        free(path);
        free(sd);
}

/* The simulator's state is runtime state, never /var/lib's. */
static void test_default_dirs(void)
{
        char *xen = NULL, *simdir = NULL, *run = NULL;

        CU_ASSERT_EQUAL(isched_agent_default_state_dir_for("nosuch", &xen), -EINVAL);
        CU_ASSERT_EQUAL(isched_agent_default_state_dir_for("xen", &xen), 0);
        CU_ASSERT_EQUAL(isched_agent_default_state_dir_for("sim", &simdir), 0);
        CU_ASSERT(simdir && strstr(simdir, "/sim"));
        CU_ASSERT(!(simdir && strstr(simdir, "/var/lib")));
        if (geteuid() == 0) {
                CU_ASSERT_STRING_EQUAL(xen, "/var/lib/intellisched");
                CU_ASSERT_STRING_EQUAL(simdir, "/run/intellisched/sim");
                CU_ASSERT_EQUAL(isched_agent_default_runtime_dir(&run), 0);
                CU_ASSERT_STRING_EQUAL(run, "/run/intellisched");
        }
        free(xen);
        free(simdir);
        free(run);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("agent files and stopping", suite_init, suite_clean);

        if (!s)
                return -1;
        if (!CU_add_test(s, "stop restores the takeover arrangement", test_stop_restores) ||
            !CU_add_test(s, "stop with keep leaves the arrangement", test_stop_keeps) ||
            !CU_add_test(s, "restore and stop: arguments, on-exit names", test_restore_needs_active) ||
            !CU_add_test(s, "a dead agent's takeover arrangement is inherited", test_takeover_inherited) ||
            !CU_add_test(s, "one lock per pool in a common lock directory", test_lock_dir) ||
            !CU_add_test(s, "decision log: size limit, rotation, renamed log followed", test_log_rotation) ||
            !CU_add_test(s, "trace: size limit keeps it replayable", test_trace_limit) ||
            !CU_add_test(s, "default directories by backend", test_default_dirs))
                return -1;
        return 0;
}
