/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The isched command line, end to end: run on the phased simulator
 * scenario against static runs of every arrangement, model reload,
 * explain against its schema, eval, bad input, the lock, signals. */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "intellisched/intellisched.h"
#include "json-schema.h"

static const char *isched_bin, *srcdir;
static char tmp[64];

/* ---- running isched ---------------------------------------------------- */

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf = NULL;
        size_t n = 0;
        long len;

        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)len + 1);
        if (buf) {
                n = fread(buf, 1, (size_t)len, f);
                buf[n] = '\0';
        }
        fclose(f);
        return buf;
}

static char *tmp_path(const char *name)
{
        char *p = NULL;

        if (asprintf(&p, "%s/%s", tmp, name) < 0)
                return NULL;
        return p;
}

static pid_t spawn(const char *const *args, const char *out_path, const char *err_path)
{
        pid_t pid = fork();

        if (pid == 0) {
                const char *argv[64];
                size_t n = 0;
                int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

                argv[n++] = isched_bin;
                for (; args[n - 1] && n < 63; n++)
                        argv[n] = args[n - 1];
                argv[n] = NULL;
                dup2(fo, 1);
                dup2(fe, 2);
                execv(isched_bin, (char *const *)argv);
                _exit(127);
        }
        return pid;
}

static int wait_exit(pid_t pid)
{
        int status;

        if (waitpid(pid, &status, 0) != pid)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run isched with the arguments (NULL-terminated); *out and *err, if not
 * NULL, get what it printed.  Returns its exit code. */
static int isched(char **out, char **err, ...)
{
        const char *args[64];
        char *o = tmp_path("out.txt"), *e = tmp_path("err.txt");
        size_t n = 0;
        va_list ap;
        int rc;

        va_start(ap, err);
        while (n < 63 && (args[n] = va_arg(ap, const char *)))
                n++;
        va_end(ap);
        args[n] = NULL;
        rc = wait_exit(spawn(args, o, e));
        if (out)
                *out = slurp(o);
        if (err)
                *err = slurp(e);
        free(o);
        free(e);
        return rc;
}

static cJSON *parse_json_file(const char *path)
{
        char *s = slurp(path);
        cJSON *doc = s ? cJSON_Parse(s) : NULL;

        free(s);
        return doc;
}

static double num(const cJSON *o, const char *name)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

        return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int suite_init(void)
{
        isched_bin = getenv("ISCHED");
        srcdir = getenv("SRCDIR");
        if (!isched_bin || !srcdir || access(isched_bin, X_OK) != 0) {
                fprintf(stderr, "ISCHED and SRCDIR must be set (meson test sets them)\n");
                return -1;
        }
        snprintf(tmp, sizeof(tmp), "/tmp/isched-test-cli-XXXXXX");
        return mkdtemp(tmp) ? 0 : -1;
}

static int suite_clean(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        return system(cmd) == 0 ? 0 : -1;
}

/* ---- help and bad input ------------------------------------------------- */

static void test_help(void)
{
        static const char *const cmds[] = { "run", "explain", "pools", "eval" };

        for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
                char *out = NULL, expect[64];

                CU_ASSERT_EQUAL(isched(&out, NULL, cmds[i], "--help", NULL), 0);
                snprintf(expect, sizeof(expect), "Usage: isched %s", cmds[i]);
                CU_ASSERT(out && strstr(out, expect));
                CU_ASSERT(out && strstr(out, "Exit status"));
                free(out);
        }
}

/* Each case: the arguments, and a word the message must contain. */
static void expect_usage_error(const char *word, const char *const *args)
{
        char *o = tmp_path("out.txt"), *e = tmp_path("err.txt"), *err;
        int rc = wait_exit(spawn(args, o, e));

        err = slurp(e);
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT(err && strstr(err, word));
        if (rc != 2 || !err || !strstr(err, word))
                fprintf(stderr, "\n  %s %s...: exit %d, stderr: %s", args[0], args[1] ? args[1] : "", rc,
                        err ? err : "(none)");
        free(err);
        free(o);
        free(e);
}

static void test_bad_input(void)
{
        char *sd = tmp_path("bad-state"), *corrupt_dir = tmp_path("corrupt-state"), *corrupt_state,
             *garbage = tmp_path("garbage.log"), *corrupt_model = tmp_path("corrupt.model");
        FILE *f;

        mkdir(sd, 0700);
        mkdir(corrupt_dir, 0700);
        corrupt_state = NULL;
        CU_ASSERT_EQUAL(isched_agent_state_path(corrupt_dir, "Pool-0", &corrupt_state), 0);
        f = fopen(corrupt_state, "w");
        fputs("{\"schema\": \"isched-explain-v1\", \"pool\": ", f);
        fclose(f);
        f = fopen(garbage, "w");
        fputs("this is not a decision log\n", f);
        fclose(f);
        f = fopen(corrupt_model, "w");
        fputs("{\"format\": \"intellisched-model\", \"ver", f);
        fclose(f);

#define BAD(word, ...) expect_usage_error(word, (const char *const[]){ __VA_ARGS__, NULL })
        BAD("Nope", "run", "--pool", "Nope", "--state-dir", sd, "--steps", "1");
        BAD("Pool-0", "run", "--pool", "Nope", "--state-dir", sd, "--steps", "1"); /* names the pools there are */
        BAD("--pool", "run", "--steps", "3");
        BAD("--interval", "run", "--pool", "Pool-0", "--interval", "abc");
        BAD("--interval", "run", "--pool", "Pool-0", "--interval", "0");
        BAD("--epoch", "run", "--pool", "Pool-0", "--epoch", "1.5");
        BAD("foo", "run", "--pool", "Pool-0", "--policy", "foo");
        BAD("--steps", "run", "--pool", "Pool-0", "--steps", "0");
        BAD("--steps", "run", "--pool", "Pool-0", "--steps", "-4");
        BAD("foo", "run", "--pool", "Pool-0", "--backend", "foo");
        BAD("nope", "run", "--pool", "Pool-0", "--scenario", "nope", "--state-dir", sd);
        BAD("--bogus", "run", "--pool", "Pool-0", "--bogus");
        BAD("%p", "run", "--pool", "A", "--pool", "B", "--model", "x.json");
        BAD("twice", "run", "--pool", "A", "--pool", "A");
        BAD("--trace", "run", "--pool", "Pool-0", "--backend", "replay");
        BAD("corrupt.model", "run", "--pool", "Pool-0", "--model", corrupt_model, "--state-dir", sd, "--steps", "2");
        BAD("no state file", "explain", "--pool", "Pool-0", "--state-dir", sd);
        BAD("corrupt", "explain", "--pool", "Pool-0", "--state-dir", corrupt_dir);
        BAD("corrupt.model", "explain", "--model", corrupt_model);
        BAD("--pool", "explain");
        BAD("/nonexistent/decisions.log", "eval", "--log", "/nonexistent/decisions.log");
        BAD("garbage.log:1", "eval", "--log", garbage);
        BAD("--log", "eval", "--policy", "linucb");
        BAD("foo", "eval", "--log", garbage, "--policy", "foo");
        BAD("foo", "pools", "--backend", "foo");
        BAD("nope", "pools", "--scenario", "nope");
#undef BAD
        free(sd);
        free(corrupt_dir);
        free(corrupt_state);
        free(garbage);
        free(corrupt_model);
}

/* ---- a model file is never overwritten by a failed run ------------------ */

static void expect_unchanged_after(const char *model, const char *const *args)
{
        char *before = slurp(model), *after, *o = tmp_path("out.txt"), *e = tmp_path("err.txt");
        struct stat st1, st2;
        int rc;

        CU_ASSERT_EQUAL_FATAL(stat(model, &st1), 0);
        rc = wait_exit(spawn(args, o, e));
        CU_ASSERT_EQUAL(rc, 2);
        after = slurp(model);
        CU_ASSERT_PTR_NOT_NULL_FATAL(before);
        CU_ASSERT_PTR_NOT_NULL_FATAL(after);
        CU_ASSERT_STRING_EQUAL(before, after);
        CU_ASSERT_EQUAL(stat(model, &st2), 0);
        CU_ASSERT_EQUAL(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
        CU_ASSERT_EQUAL(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
        CU_ASSERT_EQUAL(st1.st_ino, st2.st_ino);
        free(before);
        free(after);
        free(o);
        free(e);
}

static void test_model_never_overwritten(void)
{
        char *sd = tmp_path("keep-state"), *model = tmp_path("keep.model"), *corrupt = tmp_path("keep-corrupt.model");
        FILE *f;

        CU_ASSERT_EQUAL(isched(NULL, NULL, "run", "--pool", "Pool-0", "--steps", "5", "--model", model, "--state-dir",
                               sd, NULL),
                        0);
        CU_ASSERT_EQUAL_FATAL(access(model, R_OK), 0);
        /* Another policy than the model's, an unknown pool, a bad option. */
        expect_unchanged_after(model, (const char *const[]){ "run", "--pool", "Pool-0", "--steps", "5", "--model", model,
                                                              "--policy", "egreedy", "--state-dir", sd, NULL });
        expect_unchanged_after(model, (const char *const[]){ "run", "--pool", "Nope", "--steps", "5", "--model", model,
                                                              "--state-dir", sd, NULL });
        expect_unchanged_after(model, (const char *const[]){ "run", "--pool", "Pool-0", "--steps", "5", "--model", model,
                                                              "--interval", "x", NULL });
        /* A corrupt model is left as it is. */
        f = fopen(corrupt, "w");
        fputs("{\"format\": 3", f);
        fclose(f);
        expect_unchanged_after(corrupt, (const char *const[]){ "run", "--pool", "Pool-0", "--steps", "5", "--model",
                                                                corrupt, "--state-dir", sd, NULL });
        free(sd);
        free(model);
        free(corrupt);
}

/* ---- the phased scenario, end to end ------------------------------------ */

/* The phased scenario: "every 5 s the workload changes", four phases,
 * repeating (lib/sim/sim-scenarios.c). */
#define PHASES 4
#define PHASE_S 5.0

/* Static runs, as the issue asks: `isched sim --arrangement X` of each
 * phase (its last 4 s, after the change has settled: --warmup to the
 * phase's second 1, --duration 4) in the second cycle, when the start
 * has been forgotten (the simulator is deterministic: one cycle is as good
 * as three, and a third of the time under the sanitizers). */
static void static_phase_scores(double score[ISCHED_ARR_COUNT][PHASES])
{
        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                for (unsigned p = 0; p < PHASES; p++) {
                        unsigned n = 0;

                        score[a][p] = 0;
                        for (unsigned cycle = 1; cycle <= 1; cycle++) {
                                char warmup[32], *out = NULL;
                                cJSON *doc;
                                double s;

                                snprintf(warmup, sizeof(warmup), "%g", cycle * PHASE_S * PHASES + p * PHASE_S + 1);
                                CU_ASSERT_EQUAL(isched(&out, NULL, "sim", "--scenario", "phased", "--arrangement",
                                                       isched_arrangement_to_string((enum isched_arrangement)a),
                                                       "--warmup", warmup, "--duration", "4", "--json", NULL),
                                                0);
                                doc = out ? cJSON_Parse(out) : NULL;
                                s = num(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "pools"), 0),
                                                            "metrics"),
                                        "score");
                                CU_ASSERT(isfinite(s));
                                if (isfinite(s)) {
                                        score[a][p] += s;
                                        n++;
                                }
                                cJSON_Delete(doc);
                                free(out);
                        }
                        score[a][p] /= n ? n : 1;
                }
        }
}

struct log_event {
        double time_s;
        unsigned arm;
        bool switched;
        bool has_reward;
        double reward, propensity;
        double window_score; /* NaN: none */
        double x[ISCHED_MAX_FEATURES];
        unsigned d;
        char *line_without_time;
};

static size_t read_log(const char *path, struct log_event *ev, size_t max)
{
        FILE *f = fopen(path, "r");
        char *line = NULL;
        size_t cap = 0, n = 0;

        if (!f)
                return 0;
        while (n < max && getline(&line, &cap, f) > 0) {
                cJSON *o = cJSON_Parse(line);
                const cJSON *r;

                if (!o)
                        continue;
                ev[n].time_s = num(o, "time_s");
                {
                        const cJSON *arm = cJSON_GetObjectItem(o, "arm");
                        enum isched_arrangement a = ISCHED_ARR_CPU;

                        CU_ASSERT(cJSON_IsString(arm) && isched_arrangement_from_string(arm->valuestring, &a) == 0);
                        ev[n].arm = (unsigned)a;
                }
                ev[n].switched = cJSON_IsTrue(cJSON_GetObjectItem(o, "switched"));
                r = cJSON_GetObjectItem(o, "reward");
                ev[n].has_reward = cJSON_IsNumber(r);
                ev[n].reward = ev[n].has_reward ? r->valuedouble : NAN;
                ev[n].propensity = num(o, "propensity");
                ev[n].window_score = num(o, "window_score");
                ev[n].d = 0;
                cJSON_ArrayForEach(r, cJSON_GetObjectItem(o, "x")) if (ev[n].d < ISCHED_MAX_FEATURES)
                        ev[n].x[ev[n].d++] = r->valuedouble;
                /* Wall-clock time differs between runs; everything else must not. */
                cJSON_DeleteItemFromObject(o, "wall_time_s");
                ev[n].line_without_time = cJSON_PrintUnformatted(o);
                cJSON_Delete(o);
                n++;
        }
        free(line);
        fclose(f);
        return n;
}

static void free_log(struct log_event *ev, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(ev[i].line_without_time);
}

/* Scores are logarithmic: arrangements closer than 0.05 (5%) in a phase
 * are ties, below what a one-second window can tell apart. */
#define TIE_SCORE 0.05
#define E2E_STEPS 400
#define E2E_INTERVAL_S 0.25
#define E2E_EPOCH_S 1.0

static void test_phased_end_to_end(void)
{
        double score[ISCHED_ARR_COUNT][PHASES], best[PHASES];
        unsigned best_arm[PHASES], count[PHASES][ISCHED_ARR_COUNT] = { { 0 } };
        char *sd = tmp_path("e2e-state"), *log = tmp_path("e2e.log"), *out = NULL;
        static struct log_event ev[E2E_STEPS + 8];
        double regret = 0, regret_random = 0, regret_socket = 0;
        size_t n, used = 0;

        static_phase_scores(score);
        for (unsigned p = 0; p < PHASES; p++) {
                best[p] = -INFINITY;
                for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                        if (score[a][p] > best[p]) {
                                best[p] = score[a][p];
                                best_arm[p] = a;
                        }
                }
                for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                        regret_random += (best[p] - score[a][p]) / ISCHED_ARR_COUNT / PHASES;
                regret_socket += (best[p] - score[ISCHED_ARR_SOCKET][p]) / PHASES;
        }

        CU_ASSERT_EQUAL_FATAL(isched(&out, NULL, "run", "--pool", "Pool-0", "--scenario", "phased", "--interval", "0.25",
                                     "--epoch", "1", "--steps", "400", "--min-dwell", "0", "--max-switches-per-hour",
                                     "0", "--seed", "1", "--log", log, "--state-dir", sd, NULL),
                              0);
        CU_ASSERT(out && strstr(out, "summary ("));
        free(out);
        n = read_log(log, ev, E2E_STEPS + 8);
        CU_ASSERT(n >= E2E_STEPS - 1);

        /* The second half, after learning: which arrangement was in force
         * in each phase, and what it cost against the best one. */
        for (size_t i = n / 2; i < n; i++) {
                const double mid = ev[i].time_s + (ev[i].switched ? E2E_INTERVAL_S : 0) + E2E_EPOCH_S / 2;
                const unsigned p = (unsigned)(fmod(mid, PHASE_S * PHASES) / PHASE_S) % PHASES;

                count[p][ev[i].arm]++;
                regret += best[p] - score[ev[i].arm][p];
                used++;
        }
        regret /= used ? used : 1;
        printf("\n    static scores per phase (isched sim):\n");
        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                printf("      %-6s %7.3f %7.3f %7.3f %7.3f\n", isched_arrangement_to_string((enum isched_arrangement)a),
                       score[a][0], score[a][1], score[a][2], score[a][3]);
        printf("    phase  best(static)  agent's arrangement (second half)\n");
        for (unsigned p = 0; p < PHASES; p++) {
                unsigned mode = 0;

                for (unsigned a = 1; a < ISCHED_ARR_COUNT; a++)
                        if (count[p][a] > count[p][mode])
                                mode = a;
                printf("    %u      %-6s %6.3f  %-6s %6.3f (%u of %u epochs)\n", p,
                       isched_arrangement_to_string(best_arm[p]), best[p], isched_arrangement_to_string(mode),
                       score[mode][p], count[p][mode],
                       count[p][0] + count[p][1] + count[p][2] + count[p][3] + count[p][4]);
        }
        printf("    mean regret per epoch: agent %.4f, Xen's default (socket) %.4f, uniform random %.4f\n", regret,
               regret_socket, regret_random);
        /* Phases of 5 s are a stress case the conservative agent does not
         * chase (docs/agent.md): from a cold start it must do no harm, no
         * more than its budget (0.01 per window) worse than the baseline
         * it started on, with 0.01 for the noise of the static scores. */
        CU_ASSERT(regret <= regret_socket + 0.02);
        free_log(ev, n);
        free(sd);
        free(log);
}

/* ---- reload ------------------------------------------------------------- */

static double model_rounds(const char *model)
{
        char *out = NULL;
        cJSON *doc;
        double r = NAN;

        CU_ASSERT_EQUAL(isched(&out, NULL, "explain", "--model", model, NULL), 0);
        doc = out ? cJSON_Parse(out) : NULL;
        if (doc)
                r = num(cJSON_GetObjectItem(doc, "model"), "rounds");
        cJSON_Delete(doc);
        free(out);
        return r;
}

static void test_reload_continues(void)
{
        char *sd = tmp_path("reload-state"), *m = tmp_path("reload.model"), *m2 = tmp_path("reload2.model"),
             *la = tmp_path("reload-a.log"), *lb = tmp_path("reload-b.log"), *l0 = tmp_path("reload-0.log"),
             *cmd = NULL;
        static struct log_event a[128], b[128];
        size_t na, nb, n0, rewarded = 0;
        double r1, r2;

        CU_ASSERT_EQUAL_FATAL(isched(NULL, NULL, "run", "--pool", "Pool-0", "--steps", "40", "--interval", "0.25",
                                     "--epoch", "1", "--min-dwell", "0", "--model", m, "--log", l0, "--state-dir", sd,
                                     "--seed", "3", NULL),
                              0);
        r1 = model_rounds(m);
        /* Every rewarded line of the log was learned: all but the pending
         * decision and the windows that straddle a change of the 5-s
         * phases (one in five). */
        n0 = read_log(l0, a, 128);
        for (size_t i = 0; i < n0; i++)
                rewarded += a[i].has_reward;
        CU_ASSERT_EQUAL(r1, (double)rewarded);
        CU_ASSERT(r1 >= 30);
        free_log(a, n0);
        rewarded = 0;
        CU_ASSERT(asprintf(&cmd, "cp '%s' '%s'", m, m2) > 0);
        CU_ASSERT_EQUAL(system(cmd), 0);

        /* Two continuations of the same model decide identically... */
        CU_ASSERT_EQUAL(isched(NULL, NULL, "run", "--pool", "Pool-0", "--steps", "40", "--interval", "0.25", "--epoch",
                               "1", "--min-dwell", "0", "--model", m, "--log", la, "--state-dir", sd, "--seed", "3",
                               NULL),
                        0);
        CU_ASSERT_EQUAL(isched(NULL, NULL, "run", "--pool", "Pool-0", "--steps", "40", "--interval", "0.25", "--epoch",
                               "1", "--min-dwell", "0", "--model", m2, "--log", lb, "--state-dir", sd, "--seed", "3",
                               NULL),
                        0);
        na = read_log(la, a, 128);
        nb = read_log(lb, b, 128);
        CU_ASSERT(na >= 39);
        CU_ASSERT_EQUAL(na, nb);
        for (size_t i = 0; i < na && i < nb; i++) {
                CU_ASSERT_STRING_EQUAL(a[i].line_without_time, b[i].line_without_time);
                rewarded += a[i].has_reward;
        }
        /* ...and go on learning from where the first run stopped. */
        r2 = model_rounds(m);
        CU_ASSERT_EQUAL(r2, r1 + (double)rewarded);
        CU_ASSERT_EQUAL(model_rounds(m2), r2);
        free_log(a, na);
        free_log(b, nb);
        free(cmd);
        free(sd);
        free(m);
        free(m2);
        free(la);
        free(lb);
        free(l0);
}

/* ---- explain against its schema ----------------------------------------- */

static cJSON *schema_doc(void)
{
        char path[512];

        snprintf(path, sizeof(path), "%s/docs/explain-schema.json", srcdir);
        return parse_json_file(path);
}

static void expect_valid_explain(const char *json, const char *what)
{
        cJSON *schema = schema_doc(), *doc = json ? cJSON_Parse(json) : NULL;
        char err[1024];
        bool ok;

        CU_ASSERT_PTR_NOT_NULL_FATAL(schema);
        CU_ASSERT_PTR_NOT_NULL(doc);
        ok = doc && json_schema_validate(schema, schema, doc, err, sizeof(err));
        CU_ASSERT(ok);
        if (!ok)
                fprintf(stderr, "\n  %s: not valid against docs/explain-schema.json: %s\n", what, doc ? err : "not JSON");
        cJSON_Delete(schema);
        cJSON_Delete(doc);
}

static void test_explain_schema(void)
{
        char *sd = tmp_path("explain-state"), *m = tmp_path("explain.model"), *out = NULL;
        cJSON *doc, *d, *arms, *schema, *bad;
        char err[256];

        CU_ASSERT_EQUAL_FATAL(isched(NULL, NULL, "run", "--pool", "Pool-0", "--steps", "12", "--model", m,
                                     "--state-dir", sd, NULL),
                              0);
        CU_ASSERT_EQUAL(isched(&out, NULL, "explain", "--pool", "Pool-0", "--state-dir", sd, NULL), 0);
        expect_valid_explain(out, "explain --pool");
        doc = out ? cJSON_Parse(out) : NULL;
        d = cJSON_GetObjectItem(doc, "decision");
        CU_ASSERT(cJSON_IsObject(d));
        arms = cJSON_GetObjectItem(d, "arms");
        CU_ASSERT_EQUAL(cJSON_GetArraySize(arms), ISCHED_ARR_COUNT);
        CU_ASSERT_EQUAL(num(cJSON_GetObjectItem(doc, "stats"), "epochs"), 12);
        CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "context"), "features")),
                        ISCHED_F_COUNT);
        cJSON_Delete(doc);
        free(out);

        CU_ASSERT_EQUAL(isched(&out, NULL, "explain", "--model", m, NULL), 0);
        expect_valid_explain(out, "explain --model");
        free(out);

        /* Observed through the guests: the window says so, and the guests
         * are listed (docs/guest-work.md). */
        {
                char *sg = tmp_path("explain-state-guests");
                cJSON *g, *wt;

                CU_ASSERT_EQUAL_FATAL(isched(NULL, NULL, "run", "--pool", "Pool-0", "--steps", "6", "--observation",
                                             "xen+guests", "--state-dir", sg, NULL),
                                      0);
                CU_ASSERT_EQUAL(isched(&out, NULL, "explain", "--pool", "Pool-0", "--state-dir", sg, NULL), 0);
                expect_valid_explain(out, "explain --pool, observation xen+guests");
                doc = out ? cJSON_Parse(out) : NULL;
                g = cJSON_GetObjectItem(doc, "guests");
                CU_ASSERT(cJSON_GetArraySize(g) >= 1);
                wt = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "context"), "window_throughput");
                CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(wt, "source")) ?: "", "guest-work");
                cJSON_Delete(doc);
                free(out);
                free(sg);
        }

        /* The validator does catch what the schema forbids. */
        schema = schema_doc();
        bad = cJSON_Parse("{\"schema\": \"isched-explain-v1\"}");
        CU_ASSERT_FALSE(json_schema_validate(schema, schema, bad, err, sizeof(err)));
        cJSON_Delete(bad);
        cJSON_Delete(schema);
        free(sd);
        free(m);
}

/* ---- eval --------------------------------------------------------------- */

static void test_eval(void)
{
        char *sd = tmp_path("eval-state"), *log = tmp_path("eval.log"), *model = tmp_path("eval.model"), *out = NULL;
        static struct log_event ev[256];
        cJSON *doc;
        double mean = 0, mean_score = 0;
        size_t n, k = 0, ks = 0;

        /* No guards and no safety layer, so every logged propensity is the
         * policy's own. */
        CU_ASSERT_EQUAL_FATAL(isched(NULL, NULL, "run", "--pool", "Pool-0", "--steps", "200", "--interval", "0.25",
                                     "--epoch", "1", "--min-dwell", "0", "--max-switches-per-hour", "0",
                                     "--rollback-windows", "0", "--no-safety", "--policy", "egreedy", "--epsilon", "0.3", "--seed",
                                     "5", "--log", log, "--state-dir", sd, "--model", model, NULL),
                              0);
        n = read_log(log, ev, 256);
        for (size_t i = 0; i < n; i++) {
                if (ev[i].has_reward) {
                        mean += ev[i].reward;
                        k++;
                }
                if (isfinite(ev[i].window_score)) {
                        mean_score += ev[i].window_score;
                        ks++;
                }
                CU_ASSERT(ev[i].propensity > 0 && ev[i].propensity <= 1);
        }
        CU_ASSERT_FATAL(k > 100 && ks >= k);
        mean /= (double)k;
        mean_score /= (double)ks;

        /* The logging policy itself, replayed: IPS is its mean reward,
         * and with the default label its mean window score. */
        CU_ASSERT_EQUAL(isched(&out, NULL, "eval", "--log", log, "--policy", "egreedy", "--epsilon", "0.3", "--seed",
                               "5", "--json", NULL),
                        0);
        doc = out ? cJSON_Parse(out) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "label")->valuestring, "score");
        CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "ips"), "value"), mean_score, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "snips"), "value"), mean_score, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "support"), "value"), 1.0, 1e-12);
        CU_ASSERT_EQUAL(num(doc, "rounds"), (double)ks);
        cJSON_Delete(doc);
        free(out);
        CU_ASSERT_EQUAL(isched(&out, NULL, "eval", "--log", log, "--policy", "egreedy", "--epsilon", "0.3", "--seed",
                               "5", "--label", "reward", "--json", NULL),
                        0);
        doc = out ? cJSON_Parse(out) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "logged"), "value"), mean, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "ips"), "value"), mean, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "snips"), "value"), mean, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(num(doc, "match_rate"), 1.0, 1e-12);
        CU_ASSERT_EQUAL(num(doc, "rewarded_events"), (double)k);
        cJSON_Delete(doc);
        free(out);

        /* Another candidate: estimates finite, intervals around them. */
        CU_ASSERT_EQUAL(isched(&out, NULL, "eval", "--log", log, "--policy", "linucb", "--alpha", "0.5", "--json", NULL),
                        0);
        doc = out ? cJSON_Parse(out) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        for (const char *const *e = (const char *const[]){ "ips", "snips", "dr", NULL }; *e; e++) {
                const cJSON *o = cJSON_GetObjectItem(doc, *e);

                CU_ASSERT(isfinite(num(o, "value")));
                CU_ASSERT(num(o, "ci_low") <= num(o, "value") && num(o, "value") <= num(o, "ci_high"));
        }
        CU_ASSERT(num(doc, "effective_sample_size") > 0 && num(doc, "effective_sample_size") <= (double)k + 1e-9);
        cJSON_Delete(doc);
        free(out);

        /* A fixed arrangement as the candidate: IPS weighs the logged
         * windows of that arrangement by 1/propensity. */
        {
                double sum = 0;

                for (size_t i = 0; i < n; i++)
                        if (ev[i].has_reward && ev[i].arm == ISCHED_ARR_SOCKET)
                                sum += ev[i].reward / ev[i].propensity;
                CU_ASSERT_EQUAL(isched(&out, NULL, "eval", "--log", log, "--policy", "static:socket", "--label",
                                       "reward", "--json", NULL),
                                0);
                doc = out ? cJSON_Parse(out) : NULL;
                CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
                CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "policy")->valuestring, "static:socket");
                CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "ips"), "value"), sum / (double)k, 1e-9);
                cJSON_Delete(doc);
                free(out);
        }
        /* on this host all is node (masked): the log says nothing of it */
        CU_ASSERT_EQUAL(isched(NULL, &out, "eval", "--log", log, "--policy", "static:all", NULL), 2);
        CU_ASSERT(out && strstr(out, "never choose all"));
        free(out);
        CU_ASSERT_EQUAL(isched(NULL, NULL, "eval", "--log", log, "--policy", "static:xyz", NULL), 2);

        /* The run's model file as the target, frozen: its probability of
         * each logged arm is what the model itself gives on that context
         * (egreedy's does not depend on its random draws). */
        {
                struct isched_policy *m = NULL;
                struct isched_decision dec;
                double sum = 0;

                CU_ASSERT_EQUAL_FATAL(isched_model_load(model, &m, NULL), 0);
                for (size_t i = 0; i < n; i++) {
                        if (!isfinite(ev[i].window_score))
                                continue;
                        CU_ASSERT_EQUAL_FATAL(isched_policy_choose(m, ev[i].x, ev[i].d, &dec, NULL), 0);
                        sum += dec.arms[ev[i].arm].propensity / ev[i].propensity * ev[i].window_score;
                }
                isched_policy_free(m);
                CU_ASSERT_EQUAL(isched(&out, NULL, "eval", "--log", log, "--model", model, "--frozen", "--json", NULL),
                                0);
                doc = out ? cJSON_Parse(out) : NULL;
                CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
                CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "ips"), "value"), sum / (double)ks, 1e-9);
                CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "policy")->valuestring, "egreedy (frozen)");
                cJSON_Delete(doc);
                free(out);
        }
        free_log(ev, n);
        free(sd);
        free(log);
        free(model);
}

/* A decision log written here, whose answers are known: lines of a uniform
 * logger over cpu..node (reason explore, propensity 1/4) scoring
 * 10 + arm without noise (like window scores, far from 0), whatever the
 * context (1, u); every guard_every-th line the dwell guard decided
 * (propensity 1, core) and scores 20; lines of log_version 1 (no
 * window_score) if `old`. */
static void write_eval_log(const char *path, unsigned n, unsigned guard_every, bool old, unsigned cpu_every)
{
        FILE *f = fopen(path, "w");
        uint64_t s = 3;

        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        for (unsigned i = 0; i < n; i++) {
                const bool guard = guard_every && i % guard_every == guard_every - 1;
                unsigned arm;
                double u, score;
                char ws[64];

                s = s * 6364136223846793005ull + 1442695040888963407ull;
                u = (double)(s >> 11) / 9007199254740992.0;
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                arm = guard ? 1 : (unsigned)((s >> 33) % 4);
                /* cpu_every: cpu only in every cpu_every-th line (the
                 * propensity lies: a thin log for cpu). */
                if (cpu_every)
                        arm = i % cpu_every == 0 ? 0 : 1 + (unsigned)((s >> 33) % 3);
                score = guard ? 20.0 : 10.0 + arm;
                snprintf(ws, sizeof(ws), "\"window_score\":%.17g,", score);
                fprintf(f,
                        "{%s\"pool\":\"Pool-0\",\"epoch\":%u,\"x\":[1,%.17g],\"arm\":\"%s\",\"arm_index\":%u,"
                        "\"propensity\":%g,\"arm_mask\":15,\"reward\":%.17g,%s\"reason\":\"%s\","
                        "\"learned_epoch\":%u}\n",
                        old ? "" : "\"log_version\":2,", i + 1, u, isched_arrangement_to_string(arm), arm,
                        guard ? 1.0 : 0.25, score - 11, old ? "" : ws, guard ? "dwell" : "explore", i + 2);
        }
        fclose(f);
}

static void test_eval_targets(void)
{
        char *log = tmp_path("synthetic.log"), *out = NULL, *err = NULL;
        cJSON *doc;

        /* A log of an agent older than log_version 2 has no window
         * score: refused with the score as label, read with the reward. */
        write_eval_log(log, 200, 0, true, 0);
        CU_ASSERT_EQUAL(isched(NULL, &err, "eval", "--log", log, "--policy", "static:core", NULL), 2);
        CU_ASSERT(err && strstr(err, "no window_score") && strstr(err, "--label reward"));
        free(err);
        CU_ASSERT_EQUAL(isched(NULL, NULL, "eval", "--log", log, "--policy", "static:core", "--label", "reward", NULL),
                        0);

        /* The reward model's intercept is free: on uncentred labels
         * without noise, DR is exact for a fixed arm (socket: 12),
         * whatever the luck of the weights; a penalised intercept shrinks
         * the scores toward 0 and misses by the shrinkage times that luck. */
        write_eval_log(log, 300, 0, false, 0);
        CU_ASSERT_EQUAL(isched(&out, NULL, "eval", "--log", log, "--policy", "static:socket", "--json", NULL), 0);
        doc = out ? cJSON_Parse(out) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "dr"), "value"), 12, 1e-9);
        CU_ASSERT_STRING_EQUAL(
                cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "reward_model"), "intercept")->valuestring,
                "unpenalised");
        CU_ASSERT_EQUAL(num(doc, "deterministic_rounds"), 0);
        cJSON_Delete(doc);
        free(out);

        /* uniform over the log's arms is the logging policy: weights 1. */
        CU_ASSERT_EQUAL(isched(&out, NULL, "eval", "--log", log, "--policy", "uniform", "--json", NULL), 0);
        doc = out ? cJSON_Parse(out) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "ips"), "value"),
                               num(cJSON_GetObjectItem(doc, "logged"), "value"), 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(num(doc, "effective_sample_size"), 300, 1e-6);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "policy")->valuestring, "uniform");
        cJSON_Delete(doc);
        free(out);

        /* Guard rounds (a third: dwell, propensity 1, core scoring 20):
         * excluded by default, said so, and missing from the support (2/3
         * of the target's probability); replayed, they pull core's
         * estimate toward 20 (14 expected). */
        write_eval_log(log, 300, 3, false, 0);
        CU_ASSERT_EQUAL(isched(&out, NULL, "eval", "--log", log, "--policy", "static:core", "--json", NULL), 0);
        doc = out ? cJSON_Parse(out) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        CU_ASSERT_EQUAL(num(doc, "deterministic_rounds"), 100);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "guard_rounds")->valuestring, "exclude");
        CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "snips"), "value"), 11, 1e-9);
        CU_ASSERT(num(cJSON_GetObjectItem(doc, "support"), "ci_high") < 0.95);
        CU_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "warnings")) >= 1);
        cJSON_Delete(doc);
        free(out);
        CU_ASSERT_EQUAL(isched(&out, NULL, "eval", "--log", log, "--policy", "static:core", "--guard-rounds", "replay",
                               "--json", NULL),
                        0);
        doc = out ? cJSON_Parse(out) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        CU_ASSERT_DOUBLE_EQUAL(num(cJSON_GetObjectItem(doc, "snips"), "value"), 14, 1.5);
        cJSON_Delete(doc);
        free(out);

        /* Too thin a support: cpu in 4 of 300 rounds (ESS 4) is refused. */
        write_eval_log(log, 300, 0, false, 75);
        CU_ASSERT_EQUAL(isched(NULL, &err, "eval", "--log", log, "--policy", "static:cpu", NULL), 2);
        CU_ASSERT(err && strstr(err, "refused") && strstr(err, "effective sample size"));
        free(err);
        CU_ASSERT_EQUAL(isched(NULL, NULL, "eval", "--log", log, "--policy", "static:cpu", "--guard-rounds", "bad",
                               NULL),
                        2);
        free(log);
}

/* ---- the lock, explain while running, SIGTERM --------------------------- */

static void test_running_agent(void)
{
        char *sd = tmp_path("live-state"), *m = tmp_path("live.model"), *o = tmp_path("live.out"),
             *e = tmp_path("live.err"), *state = NULL, *out = NULL, *err = NULL, expect[64];
        const struct timespec tick = { 0, 50 * 1000 * 1000 };
        cJSON *doc = NULL;
        pid_t pid;
        int rc;

        mkdir(sd, 0700);
        CU_ASSERT_EQUAL(isched_agent_state_path(sd, "Pool-0", &state), 0);
        pid = spawn((const char *const[]){ "run", "--pool", "Pool-0", "--model", m, "--state-dir", sd, NULL }, o, e);
        CU_ASSERT_FATAL(pid > 0);
        /* Wait until it has decided and learned once (bounded by attempts,
         * not by time). */
        for (int i = 0; i < 2400 && !doc; i++) {
                nanosleep(&tick, NULL);
                doc = parse_json_file(state);
                if (doc && !(cJSON_IsObject(cJSON_GetObjectItem(doc, "decision")) &&
                             num(cJSON_GetObjectItem(doc, "stats"), "updates") >= 1)) {
                        cJSON_Delete(doc);
                        doc = NULL;
                }
        }
        CU_ASSERT_PTR_NOT_NULL(doc);
        cJSON_Delete(doc);

        CU_ASSERT_EQUAL(isched(&out, NULL, "explain", "--pool", "Pool-0", "--state-dir", sd, NULL), 0);
        expect_valid_explain(out, "explain while running");
        free(out);

        /* A second agent on the same pool is refused, naming the first. */
        rc = isched(NULL, &err, "run", "--pool", "Pool-0", "--steps", "2", "--state-dir", sd, NULL);
        CU_ASSERT_EQUAL(rc, 1);
        snprintf(expect, sizeof(expect), "pid %ld", (long)pid);
        CU_ASSERT(err && strstr(err, expect));
        free(err);

        /* SIGTERM: the model is saved, exit 0. */
        kill(pid, SIGTERM);
        CU_ASSERT_EQUAL(wait_exit(pid), 0);
        out = slurp(o);
        CU_ASSERT(out && strstr(out, "SIGTERM") && strstr(out, "saved"));
        free(out);
        CU_ASSERT(model_rounds(m) > 0);
        free(state);
        free(sd);
        free(m);
        free(o);
        free(e);
}

/* A recorded run replays: the agent runs in advisory mode on the
 * recorded counters until the trace ends. */
static void test_record_replay(void)
{
        char *sd = tmp_path("replay-state"), *trace = tmp_path("run.trace"), *log = tmp_path("replay.log"),
             *out = NULL;
        static struct log_event ev[64];
        size_t n;

        CU_ASSERT_EQUAL_FATAL(isched(NULL, NULL, "run", "--pool", "Pool-0", "--steps", "20", "--record", trace,
                                     "--state-dir", sd, NULL),
                              0);
        /* A run that fails to start leaves no trace behind. */
        CU_ASSERT_EQUAL(isched(NULL, NULL, "run", "--pool", "Nope", "--steps", "20", "--record", log, "--state-dir",
                               sd, NULL),
                        2);
        CU_ASSERT_NOT_EQUAL(access(log, F_OK), 0);

        CU_ASSERT_EQUAL(isched(&out, NULL, "run", "--pool", "Pool-0", "--backend", "replay", "--trace", trace,
                               "--log", log, "--state-dir", sd, NULL),
                        0);
        CU_ASSERT(out && strstr(out, "advisory") && strstr(out, "trace has ended"));
        free(out);
        n = read_log(log, ev, 64);
        CU_ASSERT(n >= 10);
        for (size_t i = 0; i < n; i++) {
                CU_ASSERT_FALSE(ev[i].switched);
                CU_ASSERT_EQUAL(ev[i].propensity, 1.0);
        }
        free_log(ev, n);
        CU_ASSERT_EQUAL(isched(&out, NULL, "explain", "--pool", "Pool-0", "--state-dir", sd, NULL), 0);
        expect_valid_explain(out, "explain after replay");
        CU_ASSERT(out && strstr(out, "\"advisory\""));
        free(out);
        free(sd);
        free(trace);
        free(log);
}

/* Two pools in one run: one agent each, models by %p, one shared log. */
static void test_two_pools(void)
{
        char *sd = tmp_path("two-state"), *wl = tmp_path("two.json"), *log = tmp_path("two.log"),
             *pattern = tmp_path("two-%p.model"), *m0 = tmp_path("two-Pool-0.model"),
             *m1 = tmp_path("two-web_pool.model"), *out = NULL;
        FILE *f = fopen(wl, "w");
        unsigned lines[2] = { 0 };
        char *line = NULL;
        size_t cap = 0;

        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fputs("{\"topology\": \"1n2s4c2t\",\n"
              " \"pools\": [{\"name\": \"Pool-0\", \"cpus\": 8}, {\"name\": \"web pool\", \"cpus\": 8}],\n"
              " \"domains\": [\n"
              "  {\"name\": \"a\", \"pool\": \"Pool-0\", \"vcpus\": 8,"
              " \"behaviour\": {\"kind\": \"cpu\", \"burst_us\": 3000, \"sleep_us\": 800}},\n"
              "  {\"name\": \"b\", \"pool\": \"web pool\", \"vcpus\": 8,"
              " \"behaviour\": {\"kind\": \"io\", \"burst_us\": 60, \"sleep_us\": 400}}]}\n",
              f);
        fclose(f);
        CU_ASSERT_EQUAL(isched(&out, NULL, "run", "--workload", wl, "--pool", "Pool-0", "--pool", "web pool",
                               "--steps", "15", "--model", pattern, "--log", log, "--state-dir", sd, NULL),
                        0);
        CU_ASSERT(out && strstr(out, "web pool:"));
        free(out);
        CU_ASSERT_EQUAL(access(m0, R_OK), 0);
        CU_ASSERT_EQUAL(access(m1, R_OK), 0);
        f = fopen(log, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        while (getline(&line, &cap, f) > 0) {
                lines[0] += strstr(line, "\"pool\":\"Pool-0\"") != NULL;
                lines[1] += strstr(line, "\"pool\":\"web pool\"") != NULL;
        }
        free(line);
        fclose(f);
        CU_ASSERT(lines[0] >= 14 && lines[1] >= 14);
        CU_ASSERT_EQUAL(isched(&out, NULL, "explain", "--pool", "web pool", "--state-dir", sd, NULL), 0);
        expect_valid_explain(out, "explain of the second pool");
        free(out);
        /* 15 guarded epochs: the safety layer decided most, so only the
         * target under the same guards has support enough. */
        CU_ASSERT_EQUAL(isched(&out, NULL, "eval", "--log", log, "--pool", "web pool", "--guard-rounds", "replay",
                               "--json", NULL),
                        0);
        CU_ASSERT(out && strstr(out, "\"rewarded_events\""));
        free(out);
        free(sd);
        free(wl);
        free(log);
        free(pattern);
        free(m0);
        free(m1);
}

static void test_pools(void)
{
        char *out = NULL;
        cJSON *doc, *p;

        CU_ASSERT_EQUAL(isched(&out, NULL, "pools", "--json", NULL), 0);
        doc = out ? cJSON_Parse(out) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        p = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "pools"), 0);
        CU_ASSERT(cJSON_IsString(cJSON_GetObjectItem(p, "pool")) &&
                  strcmp(cJSON_GetObjectItem(p, "pool")->valuestring, "Pool-0") == 0);
        CU_ASSERT(num(p, "nr_pcpus") > 0);
        CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(p, "can_switch")));
        CU_ASSERT_PTR_NOT_NULL(isched_arrangement_to_string(0)); /* library linked */
        cJSON_Delete(doc);
        free(out);
        CU_ASSERT_EQUAL(isched(&out, NULL, "pools", NULL), 0);
        CU_ASSERT(out && strstr(out, "Pool-0") && strstr(out, "credit2"));
        free(out);
}

/* ---- the prior and the shadow run ---------------------------------------- */

static cJSON *run_json(const char *const *extra, int *ret_rc, char **ret_err)
{
        const char *args[40] = { "run", "--pool", "Pool-0", "--scenario", "xenbuild", "--json" };
        char *out = NULL;
        size_t n = 6;
        cJSON *doc;

        for (; *extra && n < 38; extra++)
                args[n++] = *extra;
        args[n] = NULL;
        *ret_rc = isched(&out, ret_err, args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7],
                         args[8], args[9], args[10], args[11], args[12], args[13], args[14], args[15], NULL);
        doc = out ? cJSON_Parse(out) : NULL;
        free(out);
        return doc;
}

static const cJSON *pool0(const cJSON *doc)
{
        return cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "pools"), 0);
}

static void test_prior_and_shadow(void)
{
        char *sd = tmp_path("prior-state"), *prior = tmp_path("prior.model"), *err = NULL, *sim = NULL;
        const cJSON *p, *sh;
        cJSON *doc, *simdoc;
        int rc;

        /* A model learned on the simulator stands in for the shipped prior. */
        CU_ASSERT_EQUAL_FATAL(isched(NULL, NULL, "run", "--pool", "Pool-0", "--scenario", "xenbuild", "--steps", "12",
                                     "--model", prior, "--state-dir", sd, "--no-shadow", NULL),
                              0);
        /* The default prior ($ISCHED_PRIOR here) starts a pool without a model. */
        setenv("ISCHED_PRIOR", prior, 1);
        doc = run_json((const char *const[]){ "--steps", "20", "--state-dir", sd, NULL }, &rc, NULL);
        CU_ASSERT_EQUAL(rc, 0);
        p = pool0(doc);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT(cJSON_IsString(cJSON_GetObjectItem(p, "prior")) &&
                  strcmp(cJSON_GetObjectItem(p, "prior")->valuestring, prior) == 0);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(p, "baseline")->valuestring, "socket");
        CU_ASSERT(isfinite(num(cJSON_GetObjectItem(p, "gain"), "mean")));
        /* The shadow run: the baseline simulated with the same workload and
         * seed is exactly what isched sim measures for socket. */
        sh = cJSON_GetObjectItem(p, "shadow");
        CU_ASSERT_PTR_NOT_NULL_FATAL(sh);
        CU_ASSERT_EQUAL_FATAL(isched(&sim, NULL, "sim", "--scenario", "xenbuild", "--arrangement", "socket",
                                     "--duration", "100", "--json", NULL),
                              0);
        simdoc = sim ? cJSON_Parse(sim) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(simdoc);
        CU_ASSERT_EQUAL(num(sh, "duration_s"), 100);
        CU_ASSERT_EQUAL(num(cJSON_GetObjectItem(sh, "baseline"), "score"),
                        num(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(simdoc, "pools"), 0), "metrics"),
                            "score"));
        CU_ASSERT_EQUAL(num(sh, "score_difference"),
                        num(cJSON_GetObjectItem(sh, "agent"), "score") - num(cJSON_GetObjectItem(sh, "baseline"), "score"));
        cJSON_Delete(simdoc);
        free(sim);
        cJSON_Delete(doc);

        /* A prior learned from the simulator's ground truth is not used on a
         * pool observed as Xen would be: the shipped one is skipped... */
        doc = run_json((const char *const[]){ "--steps", "3", "--state-dir", sd, "--observation", "xen", NULL }, &rc,
                       NULL);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(pool0(doc), "prior")));
        cJSON_Delete(doc);
        /* ...and one asked for by name is refused, naming both modes. */
        doc = run_json((const char *const[]){ "--steps", "3", "--state-dir", sd, "--observation", "xen", "--prior",
                                              prior, NULL },
                       &rc, &err);
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT(err && strstr(err, "ground-truth") && strstr(err, "mode xen"));
        free(err);
        cJSON_Delete(doc);
        /* --no-prior and --no-shadow */
        doc = run_json((const char *const[]){ "--steps", "3", "--state-dir", sd, "--no-prior", "--no-shadow", NULL },
                       &rc, NULL);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(pool0(doc), "prior")));
        CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(pool0(doc), "shadow")));
        cJSON_Delete(doc);
        setenv("ISCHED_PRIOR", "none", 1);
        free(sd);
        free(prior);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("cli", suite_init, suite_clean);

        if (!s)
                return -1;
        if (!CU_add_test(s, "--help of run, explain, pools, eval", test_help) ||
            !CU_add_test(s, "bad input: clear message, exit 2", test_bad_input) ||
            !CU_add_test(s, "a failed run never overwrites a model", test_model_never_overwritten) ||
            !CU_add_test(s, "pools", test_pools) ||
            !CU_add_test(s, "phased scenario: the agent finds each phase's best arrangement", test_phased_end_to_end) ||
            !CU_add_test(s, "model reload continues identically", test_reload_continues) ||
            !CU_add_test(s, "explain output matches docs/explain-schema.json", test_explain_schema) ||
            !CU_add_test(s, "eval: IPS of the logging policy is its mean reward", test_eval) ||
            !CU_add_test(s, "eval: old logs, the free intercept, uniform, guard rounds, thin support",
                         test_eval_targets) ||
            !CU_add_test(s, "run: the prior, its observation mode, the shadow run of the baseline", test_prior_and_shadow) ||
            !CU_add_test(s, "record a run, replay it in advisory mode", test_record_replay) ||
            !CU_add_test(s, "two pools in one run", test_two_pools) ||
            !CU_add_test(s, "running agent: explain, lock, SIGTERM", test_running_agent))
                return -1;
        return 0;
}
