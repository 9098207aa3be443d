/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bandit-data.h"
#include "intellisched/model.h"
#include "policy/policy-private.h"
#include "util/util.h"

static char dir[] = "/tmp/isched-test-model-XXXXXX";

static int suite_init(void)
{
        return mkdtemp(dir) ? 0 : -1;
}

static int suite_clean(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name)
{
        static char buf[8][256];
        static unsigned n;
        char *p = buf[n++ % 8];

        snprintf(p, 256, "%s/%s", dir, name);
        return p;
}

static struct isched_policy *make(enum isched_policy_kind kind, unsigned d, uint32_t mask)
{
        static const char *const names[] = { "bias", "utilisation", "load", "wake", "lat", "p99" };
        struct isched_policy_params pp;
        struct isched_policy *p = NULL;

        CU_ASSERT_EQUAL_FATAL(isched_policy_params_init(&pp, kind, d), 0);
        pp.arm_mask = mask;
        pp.gamma = kind == ISCHED_POLICY_DLINUCB ? 0.97 : pp.gamma;
        pp.epsilon = 0.25;
        pp.epsilon_decay = 0.01;
        pp.seed = 0x123456789abcdefull;
        pp.feature_schema = "test-schema";
        pp.feature_names = d <= 6 ? names : NULL;
        CU_ASSERT_EQUAL_FATAL(isched_policy_new(&pp, &p), 0);
        return p;
}

/* Online rounds with the policy's own choices. */
static void play(struct isched_policy *p, const struct bandit_data *data, unsigned from, unsigned to)
{
        for (unsigned t = from; t < to; t++) {
                uint32_t arm;

                CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, bandit_x(data, t), data->d, NULL, &arm), 0);
                CU_ASSERT_EQUAL_FATAL(isched_policy_update(p, arm, bandit_x(data, t), data->d,
                                                           bandit_r(data, t, arm)), 0);
        }
}

/* ---- save, load, continue ---- */

static void test_round_trip(void)
{
        struct bandit_data data;

        bandit_data_make(&data, 700, 6, ISCHED_MAX_ARMS, 17, 0.5);
        for (unsigned k = 0; k < ISCHED_POLICY_KIND_COUNT; k++) {
                struct isched_policy *p = make((enum isched_policy_kind)k, 6, 0x1d), *q = NULL;
                struct isched_policy_params a, b;
                struct isched_context *ctx = (struct isched_context *)0x1;
                unsigned identical = 0;
                struct stat st;

                play(p, &data, 0, 300);
                CU_ASSERT_EQUAL_FATAL(isched_model_save(tmp_path("rt.json"), p, NULL), 0);
                CU_ASSERT_EQUAL(stat(tmp_path("rt.json"), &st), 0);
                CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
                CU_ASSERT_EQUAL_FATAL(isched_model_load(tmp_path("rt.json"), &q, &ctx), 0);
                CU_ASSERT_PTR_NULL(ctx);
                isched_policy_get_params(p, &a);
                isched_policy_get_params(q, &b);
                CU_ASSERT_EQUAL(a.kind, b.kind);
                CU_ASSERT_EQUAL(a.seed, b.seed);
                CU_ASSERT_EQUAL(a.arm_mask, b.arm_mask);
                CU_ASSERT_EQUAL(a.gamma, b.gamma);
                CU_ASSERT_STRING_EQUAL(b.feature_schema, "test-schema");
                CU_ASSERT_STRING_EQUAL(b.feature_names[3], "wake");
                CU_ASSERT_EQUAL(isched_policy_get_rounds(q), 300u);
                /* Every later decision, explanation included, is the same
                 * to the last bit, as if the policy had never stopped. */
                for (unsigned t = 300; t < data.rows; t++) {
                        struct isched_decision dp, dq;
                        const double *x = bandit_x(&data, t);

                        CU_ASSERT_EQUAL_FATAL(isched_policy_choose(p, x, 6, &dp, NULL), 0);
                        CU_ASSERT_EQUAL_FATAL(isched_policy_choose(q, x, 6, &dq, NULL), 0);
                        identical += memcmp(&dp, &dq, sizeof(dp)) == 0;
                        if (memcmp(&dp, &dq, sizeof(dp)) != 0 && identical == t - 300)
                                fprintf(stderr, "round %u: arm %u/%u p %g/%g round %llu/%llu score0 %.17g/%.17g w0 %.17g/%.17g\n", t,
                                        dp.arm, dq.arm, dp.propensity, dq.propensity, (unsigned long long)dp.round,
                                        (unsigned long long)dq.round, dp.arms[0].score, dq.arms[0].score,
                                        dp.arms[0].width, dq.arms[0].width);
                        isched_policy_update(p, dp.arm, x, 6, bandit_r(&data, t, dp.arm));
                        isched_policy_update(q, dq.arm, x, 6, bandit_r(&data, t, dq.arm));
                }
                CU_ASSERT_EQUAL(identical, data.rows - 300);
                if (identical != data.rows - 300)
                        fprintf(stderr, "%s: %u of %u decisions identical after reload\n",
                                isched_policy_kind_to_string((enum isched_policy_kind)k), identical, data.rows - 300);
                isched_policy_free(p);
                isched_policy_free(q);
        }
        bandit_data_free(&data);
}

/* ---- corrupted and mismatched files ---- */

static cJSON *read_doc(const char *path)
{
        char *text;
        cJSON *doc;

        CU_ASSERT_EQUAL_FATAL(isched__read_file(path, 1 << 24, &text, NULL), 0);
        doc = cJSON_Parse(text);
        free(text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        return doc;
}

static void write_text(const char *path, const char *text, size_t len)
{
        FILE *f = fopen(path, "w");

        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(fwrite(text, 1, len, f), len);
        fclose(f);
}

static void write_doc(const char *path, const cJSON *doc)
{
        char *text = cJSON_Print(doc);

        write_text(path, text, strlen(text));
        free(text);
}

/* Follow "a.b[2].c[0][1]" into a document. */
static cJSON *at(cJSON *doc, const char *path)
{
        char buf[128], *save = NULL;
        cJSON *it = doc;

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *tok = strtok_r(buf, ".", &save); tok && it; tok = strtok_r(NULL, ".", &save)) {
                char *br = strchr(tok, '[');

                if (br)
                        *br = '\0';
                if (*tok)
                        it = cJSON_GetObjectItemCaseSensitive(it, tok);
                for (; br && it; br = strchr(br + 1, '['))
                        it = cJSON_GetArrayItem(it, atoi(br + 1));
        }
        return it;
}

struct corruption {
        const char *field;      /* where */
        const char *value;      /* JSON text put there; NULL deletes the member */
        int err;
        const char *detail;     /* expected in isched_last_error() */
};

static void expect_rejected(const cJSON *good, const struct corruption *c)
{
        cJSON *doc = cJSON_Duplicate(good, 1);
        cJSON *target = at(doc, c->field);
        struct isched_policy *p = (struct isched_policy *)0x1;
        const char *path = tmp_path("bad.json");
        int r;

        /* Only a member that is added may be missing ("context"). */
        CU_ASSERT_FATAL(target || (c->value && !strchr(c->field, '.')));
        {
                char parent[128], *dot, *br, *key;
                cJSON *holder;
                cJSON *v = c->value ? cJSON_Parse(c->value) : NULL;

                CU_ASSERT_FATAL(!c->value || v);
                snprintf(parent, sizeof(parent), "%s", c->field);
                dot = strrchr(parent, '.');
                br = strrchr(parent, '[');
                if (br && (!dot || br > dot)) {
                        /* An array element: replace it where it is. */
                        *br = '\0';
                        holder = at(doc, parent);
                        CU_ASSERT_FATAL(v != NULL);
                        cJSON_ReplaceItemViaPointer(holder, target, v);
                } else {
                        /* An object member: replace or delete it by name. */
                        key = dot ? dot + 1 : parent;
                        if (dot)
                                *dot = '\0';
                        holder = dot ? at(doc, parent) : doc;
                        if (v && !target)
                                cJSON_AddItemToObject(holder, key, v);
                        else if (v)
                                cJSON_ReplaceItemInObjectCaseSensitive(holder, key, v);
                        else
                                cJSON_DeleteItemFromObjectCaseSensitive(holder, key);
                }
        }
        write_doc(path, doc);
        cJSON_Delete(doc);
        r = isched_model_load(path, &p, NULL);
        CU_ASSERT_EQUAL(r, c->err);
        CU_ASSERT_PTR_EQUAL(p, (struct isched_policy *)0x1);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), c->detail));
        if (r != c->err || !strstr(isched_last_error(), c->detail))
                fprintf(stderr, "%s = %s: got %d '%s'\n", c->field, c->value ? c->value : "(deleted)", r,
                        isched_last_error());
        if (r == 0)
                isched_policy_free(p);
}

static void test_corrupted_files(void)
{
        static const struct corruption cases[] = {
                { "schema", "\"isched-model-v9\"", -EPROTO, "reads isched-model-v2" },
                { "schema", "\"something-else\"", -EINVAL, "not a model file" },
                { "schema", "7", -EINVAL, "not a model file" },
                { "schema", NULL, -EINVAL, "not a model file" },
                { "policy.kind", "\"ucb\"", -EINVAL, "policy.kind" },
                { "policy.alpha", "\"x\"", -EINVAL, "policy.alpha must be a number" },
                { "policy.gamma", "2", -EINVAL, "gamma" },
                { "policy.lambda", NULL, -EINVAL, "policy.lambda is missing" },
                { "policy.seed", "\"12a\"", -EINVAL, "policy.seed" },
                { "policy.seed", "12", -EINVAL, "policy.seed" },
                { "features.names", "[]", -EINVAL, "features.names is empty" },
                { "features.names", "[\"a\", 3, \"c\"]", -EINVAL, "features.names" },
                { "features.names", "[\"a\", \"b\"]", -EINVAL, "arm_stats[0].A[0] has too many elements" },
                { "features.schema", "7", -EINVAL, "features.schema must be a string" },
                { "arms_enabled", "[]", -EINVAL, "arms_enabled enables no arm" },
                { "arms_enabled", "[\"cpu\", \"sockets\"]", -EINVAL, "arms_enabled" },
                { "arms_enabled", "[\"cpu\", \"cpu\"]", -EINVAL, "names an arm twice" },
                { "arms_enabled", "[0, 1]", -EINVAL, "arms_enabled" },
                { "arms_enabled", "31", -EINVAL, "arms_enabled" },
                { "rounds", "299", -EINVAL, "rounds differs" },
                { "rounds", "-1", -EINVAL, "rounds must be a whole number" },
                { "rng.state", "[0, 0, 0]", -EINVAL, "rng.state" },
                { "rng.state", "[100, 100]", -EINVAL, "rng.state" },
                { "rng.type", "\"mt19937\"", -EINVAL, "rng.type" },
                { "arm_stats", "[]", -EINVAL, "arm_stats must have 5 elements" },
                { "arm_stats[2].arm", "\"cpu\"", -EINVAL, "arm_stats[2].arm" },
                { "arm_stats[1].pulls", "1e300", -EINVAL, "arm_stats[1].pulls" },
                { "arm_stats[1].A[0][1]", "12345", -EINVAL, "arm_stats[1].A is not symmetric" },
                { "arm_stats[1].A", "[[-1,0,0],[0,1,0],[0,0,1]]", -EINVAL, "arm_stats[1].A is not positive definite" },
                { "arm_stats[1].A[1]", "[0, 1]", -EINVAL, "arm_stats[1].A[1] has too few elements" },
                { "arm_stats[3].A_inv[2][2]", "17", -EINVAL, "arm_stats[3].A_inv is not the inverse of A" },
                { "arm_stats[3].b", "[1, 2]", -EINVAL, "arm_stats[3].b" },
                { "arm_stats[3].b[0]", "null", -EINVAL, "arm_stats[3].b[0] must be a number" },
                { "arm_stats[4].reward_sum", "true", -EINVAL, "arm_stats[4].reward_sum" },
                { "context", "[1]", -EINVAL, "context must be an object" },
        };
        struct isched_policy *p = make(ISCHED_POLICY_LINUCB, 3, ISCHED_ARM_MASK_ALL), *q = NULL;
        struct bandit_data data;
        cJSON *good;

        bandit_data_make(&data, 300, 3, ISCHED_MAX_ARMS, 23, 0.5);
        play(p, &data, 0, 300);
        CU_ASSERT_EQUAL_FATAL(isched_model_save(tmp_path("good.json"), p, NULL), 0);
        good = read_doc(tmp_path("good.json"));
        /* The unchanged document loads (so each failure below is the corruption's). */
        write_doc(tmp_path("bad.json"), good);
        CU_ASSERT_EQUAL(isched_model_load(tmp_path("bad.json"), &q, NULL), 0);
        isched_policy_free(q);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                expect_rejected(good, &cases[i]);
        cJSON_Delete(good);

        /* A number too large for a double reads as infinity. */
        {
                char *text, *hit;
                size_t len;

                CU_ASSERT_EQUAL_FATAL(isched__read_file(tmp_path("good.json"), 1 << 24, &text, &len), 0);
                char *big = malloc(len + 16);

                hit = strstr(text, "\"lambda\":\t1,");
                CU_ASSERT_PTR_NOT_NULL_FATAL(hit);
                *hit = '\0';
                snprintf(big, len + 16, "%s\"lambda\": 1e999,%s", text, hit + strlen("\"lambda\":\t1,"));
                write_text(tmp_path("bad.json"), big, strlen(big));
                free(big);
                free(text);
                CU_ASSERT_EQUAL(isched_model_load(tmp_path("bad.json"), &q, NULL), -EINVAL);
                CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "policy.lambda must be a finite number"));
        }
        CU_ASSERT_EQUAL(isched_model_load(tmp_path("does-not-exist.json"), &q, NULL), -ENOENT);
        write_text(tmp_path("bad.json"), "{\"format\": ", 11);
        CU_ASSERT_EQUAL(isched_model_load(tmp_path("bad.json"), &q, NULL), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "not valid JSON"));
        /* Where, as an editor counts, and what to do. */
        {
                const char *bad = "{\n  \"format\": 1,\n  \"x\": ]\n}\n";

                write_text(tmp_path("bad.json"), bad, strlen(bad));
        }
        CU_ASSERT_EQUAL(isched_model_load(tmp_path("bad.json"), &q, NULL), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "at line 3, column 8"));
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "move it away to start a new model"));
        write_text(tmp_path("bad.json"), "{\"format\": \"a\\u0000\"}", 21);
        CU_ASSERT_EQUAL(isched_model_load(tmp_path("bad.json"), &q, NULL), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "\\u0000 escape (NUL) in a string at line 1, column 14"));
        write_text(tmp_path("bad.json"), "", 0);
        CU_ASSERT_EQUAL(isched_model_load(tmp_path("bad.json"), &q, NULL), -EINVAL);
        write_text(tmp_path("bad.json"), "[1,2]", 5);
        CU_ASSERT_EQUAL(isched_model_load(tmp_path("bad.json"), &q, NULL), -EINVAL);
        CU_ASSERT_EQUAL(isched_model_load(NULL, &q, NULL), -EINVAL);
        CU_ASSERT_EQUAL(isched_model_save(tmp_path("x.json"), NULL, NULL), -EINVAL);
        /* A symbolic link is not written through. */
        CU_ASSERT_EQUAL(symlink(tmp_path("good.json"), tmp_path("link.json")), 0);
        CU_ASSERT_EQUAL(isched_model_save(tmp_path("link.json"), p, NULL), -ELOOP);
        bandit_data_free(&data);
        isched_policy_free(p);
}

/* Every truncation and many random byte changes of a valid file: the
 * loader returns an error or a working policy, never crashes. */
static void test_mangled_files(void)
{
        struct isched_policy *p = make(ISCHED_POLICY_DLINUCB, 2, ISCHED_ARM_MASK_ALL), *q;
        struct bandit_data data;
        char *text, *copy;
        size_t len, refused = 0;
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

        bandit_data_make(&data, 50, 2, ISCHED_MAX_ARMS, 29, 0.5);
        play(p, &data, 0, 50);
        CU_ASSERT_EQUAL_FATAL(isched_model_save(tmp_path("m.json"), p, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(isched__read_file(tmp_path("m.json"), 1 << 24, &text, &len), 0);
        copy = malloc(len);
        for (size_t cut = 0; cut < len; cut += 1 + cut / 64) {
                write_text(tmp_path("cut.json"), text, cut);
                q = NULL;
                /* Only whitespace may be cut off a file that still loads. */
                if (isched_model_load(tmp_path("cut.json"), &q, NULL) == 0) {
                        CU_ASSERT(len - cut <= 2);
                        isched_policy_free(q);
                } else {
                        refused++;
                }
        }
        CU_ASSERT(refused > 0);
        for (unsigned i = 0; i < 1500; i++) {
                const double x[] = { 1.0, -0.5 };

                memcpy(copy, text, len);
                for (unsigned k = 0; k < 1 + i % 4; k++)
                        copy[gsl_rng_uniform_int(rng, len)] = (char)gsl_rng_uniform_int(rng, 256);
                write_text(tmp_path("mut.json"), copy, len);
                q = NULL;
                if (isched_model_load(tmp_path("mut.json"), &q, NULL) == 0) {
                        uint32_t arm;

                        CU_ASSERT_EQUAL(isched_policy_choose(q, x, 2, NULL, &arm), 0);
                        isched_policy_free(q);
                }
        }
        gsl_rng_free(rng);
        free(copy);
        free(text);
        bandit_data_free(&data);
        isched_policy_free(p);
}

/* ---- merge ---- */

/* Learn from logged rows (arm t % 5), so that several models see exactly
 * the rows of their share. */
static void learn_logged(struct isched_policy *p, const struct bandit_data *data, unsigned from, unsigned to)
{
        for (unsigned t = from; t < to; t++) {
                const unsigned arm = (t * 7 + t / 3) % ISCHED_MAX_ARMS;

                CU_ASSERT_EQUAL_FATAL(isched_policy_update(p, arm, bandit_x(data, t), data->d,
                                                           bandit_r(data, t, arm)), 0);
        }
}

static double max_diff(const double *a, const double *b, size_t n)
{
        double m = 0.0;

        for (size_t i = 0; i < n; i++)
                m = fmax(m, fabs(a[i] - b[i]));
        return m;
}

static void test_merge_exact(void)
{
        const enum isched_policy_kind kinds[] = { ISCHED_POLICY_EGREEDY, ISCHED_POLICY_LINGREEDY,
                                                  ISCHED_POLICY_LINUCB, ISCHED_POLICY_LINTS };
        struct bandit_data data;

        bandit_data_make(&data, 900, 4, ISCHED_MAX_ARMS, 31, 0.5);
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
                struct isched_policy *m1 = make(kinds[k], 4, ISCHED_ARM_MASK_ALL);
                struct isched_policy *m2 = make(kinds[k], 4, ISCHED_ARM_MASK_ALL);
                struct isched_policy *m3 = make(kinds[k], 4, ISCHED_ARM_MASK_ALL);
                struct isched_policy *all = make(kinds[k], 4, ISCHED_ARM_MASK_ALL), *merged = NULL;
                const char *paths[] = { tmp_path("m1.json"), tmp_path("m2.json"), tmp_path("m3.json") };
                const unsigned d = 4;

                learn_logged(m1, &data, 0, 400);
                learn_logged(m2, &data, 400, 450);
                learn_logged(m3, &data, 450, 900);
                learn_logged(all, &data, 0, 900);
                CU_ASSERT_EQUAL(isched_model_save(paths[0], m1, NULL), 0);
                CU_ASSERT_EQUAL(isched_model_save(paths[1], m2, NULL), 0);
                CU_ASSERT_EQUAL(isched_model_save(paths[2], m3, NULL), 0);
                CU_ASSERT_EQUAL_FATAL(isched_model_merge(paths, 3, tmp_path("merged.json")), 0);
                CU_ASSERT_EQUAL_FATAL(isched_model_load(tmp_path("merged.json"), &merged, NULL), 0);
                CU_ASSERT_EQUAL(isched_policy_get_rounds(merged), 900u);
                for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                        const struct isched__arm_stats *s = &merged->arms[a], *t = &all->arms[a];

                        CU_ASSERT_EQUAL(s->pulls, t->pulls);
                        CU_ASSERT_DOUBLE_EQUAL(s->reward_sum, t->reward_sum, 1e-9);
                        if (!t->A)
                                continue;
                        CU_ASSERT(max_diff(s->A, t->A, d * d) < 1e-9);
                        CU_ASSERT(max_diff(s->b, t->b, d) < 1e-9);
                        CU_ASSERT(max_diff(s->A_inv, t->A_inv, d * d) < 1e-9);
                        /* Not trivially equal: the arm learned something. */
                        CU_ASSERT(t->A[0] > 100.0);
                }
                isched_policy_free(m1);
                isched_policy_free(m2);
                isched_policy_free(m3);
                isched_policy_free(all);
                isched_policy_free(merged);
        }
        bandit_data_free(&data);
}

/* D-LinUCB: V = lambda*I + sum_i (V_i - lambda*I), the same for Vtilde. */
static void test_merge_discounted(void)
{
        struct isched_policy *m1 = make(ISCHED_POLICY_DLINUCB, 3, ISCHED_ARM_MASK_ALL);
        struct isched_policy *m2 = make(ISCHED_POLICY_DLINUCB, 3, ISCHED_ARM_MASK_ALL), *merged = NULL;
        const char *paths[] = { tmp_path("d1.json"), tmp_path("d2.json") };
        struct bandit_data data;

        bandit_data_make(&data, 200, 3, ISCHED_MAX_ARMS, 37, 0.5);
        learn_logged(m1, &data, 0, 120);
        learn_logged(m2, &data, 120, 200);
        CU_ASSERT_EQUAL(isched_model_save(paths[0], m1, NULL), 0);
        CU_ASSERT_EQUAL(isched_model_save(paths[1], m2, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(isched_model_merge(paths, 2, tmp_path("dm.json")), 0);
        CU_ASSERT_EQUAL_FATAL(isched_model_load(tmp_path("dm.json"), &merged, NULL), 0);
        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++)
                for (unsigned i = 0; i < 9; i++) {
                        const double id = i % 4 == 0 ? 1.0 : 0.0; /* lambda = 1 */

                        CU_ASSERT_DOUBLE_EQUAL(merged->arms[a].A[i], m1->arms[a].A[i] + m2->arms[a].A[i] - id, 1e-12);
                        CU_ASSERT_DOUBLE_EQUAL(merged->arms[a].A_tilde[i],
                                               m1->arms[a].A_tilde[i] + m2->arms[a].A_tilde[i] - id, 1e-12);
                }
        CU_ASSERT_EQUAL(isched_policy_get_rounds(merged), 200u);
        bandit_data_free(&data);
        isched_policy_free(m1);
        isched_policy_free(m2);
        isched_policy_free(merged);
}

static void expect_merge_refused(struct isched_policy *other, int err, const char *detail)
{
        const char *paths[] = { tmp_path("base.json"), tmp_path("other.json") };
        struct stat st;

        CU_ASSERT_EQUAL(isched_model_save(paths[1], other, NULL), 0);
        unlink(tmp_path("never.json"));
        CU_ASSERT_EQUAL(isched_model_merge(paths, 2, tmp_path("never.json")), err);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), detail));
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "other.json"));
        if (!strstr(isched_last_error(), detail))
                fprintf(stderr, "merge refusal: '%s' lacks '%s'\n", isched_last_error(), detail);
        /* Nothing was written. */
        CU_ASSERT_NOT_EQUAL(stat(tmp_path("never.json"), &st), 0);
        isched_policy_free(other);
}

static void test_merge_refused(void)
{
        struct isched_policy *base = make(ISCHED_POLICY_LINUCB, 3, ISCHED_ARM_MASK_ALL), *o;
        struct isched_policy_params pp;
        cJSON *doc;

        CU_ASSERT_EQUAL_FATAL(isched_model_save(tmp_path("base.json"), base, NULL), 0);
        expect_merge_refused(make(ISCHED_POLICY_LINTS, 3, ISCHED_ARM_MASK_ALL), -EINVAL, "policy.kind differs");
        expect_merge_refused(make(ISCHED_POLICY_LINUCB, 2, ISCHED_ARM_MASK_ALL), -EINVAL, "number of features");
        expect_merge_refused(make(ISCHED_POLICY_LINUCB, 3, 0x3), -EINVAL, "arms_enabled differs");

        isched_policy_get_params(base, &pp);
        pp.alpha = 2.0;
        CU_ASSERT_EQUAL_FATAL(isched_policy_new(&pp, &o), 0);
        expect_merge_refused(o, -EINVAL, "policy.alpha differs");
        isched_policy_get_params(base, &pp);
        pp.feature_schema = "isched-features-v0";
        CU_ASSERT_EQUAL_FATAL(isched_policy_new(&pp, &o), 0);
        expect_merge_refused(o, -EINVAL, "features.schema differs");
        isched_policy_get_params(base, &pp);
        const char *names[] = { "bias", "utilisation", "other" };
        pp.feature_names = names;
        CU_ASSERT_EQUAL_FATAL(isched_policy_new(&pp, &o), 0);
        expect_merge_refused(o, -EINVAL, "features.names[2] differs");

        /* A file of another format version. */
        doc = read_doc(tmp_path("base.json"));
        cJSON_ReplaceItemInObjectCaseSensitive(doc, "schema", cJSON_CreateString("isched-model-v99"));
        write_doc(tmp_path("v99.json"), doc);
        cJSON_Delete(doc);
        const char *paths[] = { tmp_path("base.json"), tmp_path("v99.json") };
        CU_ASSERT_EQUAL(isched_model_merge(paths, 2, tmp_path("never.json")), -EPROTO);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "v99.json"));
        CU_ASSERT_EQUAL(isched_model_merge(paths, 0, tmp_path("never.json")), -EINVAL);
        CU_ASSERT_EQUAL(isched_model_merge(NULL, 2, tmp_path("never.json")), -EINVAL);
        CU_ASSERT_EQUAL(isched_model_merge(paths, 1, NULL), -EINVAL);
        isched_policy_free(base);
}

/* The context builder travels with the policy, exactly; a merge keeps the
 * first file's; a broken context section is refused. */
static struct isched_context *make_context(double w_throughput, double throughput)
{
        struct isched_context_params cp;
        struct isched_context *c = NULL;
        struct isched_window w = {
                .duration_ns = 1000000000ull, .nr_pcpus = 4, .nr_vcpus = 8, .utilisation = 0.5, .load = 1.1,
                .wakeups_per_s = 3000.0, .lat_mean_us = 41.3, .lat_p99_us = 310.7, .migrations_per_s = 12.0,
                .cswitches_per_s = 4000.0, .throughput = throughput,
        };
        double reward, x[ISCHED_F_COUNT];

        CU_ASSERT_EQUAL_FATAL(isched_context_params_init(&cp), 0);
        cp.w_throughput = w_throughput;
        CU_ASSERT_EQUAL_FATAL(isched_context_new(&cp, &c), 0);
        for (unsigned i = 0; i < 7; i++) {
                w.throughput *= 1.1;
                w.utilisation = 0.3 + 0.0731 * i;
                w.lat_mean_us *= 1.37;
                w.wakeups_per_s += 1234.567;
                CU_ASSERT_EQUAL(isched_context_reward(c, &w, i == 1, &reward), 0);
                CU_ASSERT_EQUAL(isched_context_features(c, &w, x, ISCHED_F_COUNT, NULL), 0);
        }
        return c;
}

/* Same tree, same numbers to the bit; returns how many numbers it compared. */
static unsigned same_tree(const cJSON *a, const cJSON *b, bool *same)
{
        unsigned n = 0;

        for (; a && b; a = a->next, b = b->next) {
                if ((a->type & 0xff) != (b->type & 0xff))
                        *same = false;
                else if (cJSON_IsNumber(a))
                        n++, *same = *same && memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) == 0;
                else
                        n += same_tree(a->child, b->child, same);
        }
        if (a || b)
                *same = false;
        return n;
}

static void test_context_section(void)
{
        struct isched_policy *p = make(ISCHED_POLICY_LINUCB, 3, ISCHED_ARM_MASK_ALL), *q = NULL;
        struct isched_context *c1 = make_context(0.7, 1.2345), *c2 = make_context(0.7, 2.5), *back = NULL;
        struct isched_context_params cp;
        const char *paths[] = { tmp_path("c1.json"), tmp_path("c2.json") };
        cJSON *doc;

        CU_ASSERT_EQUAL_FATAL(isched_model_save(paths[0], p, c1), 0);
        CU_ASSERT_EQUAL_FATAL(isched_model_save(paths[1], p, c2), 0);
        CU_ASSERT_EQUAL_FATAL(isched_model_load(paths[0], &q, &back), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(back);
        CU_ASSERT_EQUAL(isched_context_get_params(back, &cp), 0);
        CU_ASSERT_EQUAL(cp.w_throughput, 0.7);
        CU_ASSERT_EQUAL(isched_context_get_baseline(back), isched_context_get_baseline(c1));
        CU_ASSERT(isfinite(isched_context_get_baseline(back)));
        isched_policy_free(q);
        isched_context_free(back);
        back = NULL;

        /* The merged file carries the first file's context, to the bit. */
        CU_ASSERT_EQUAL_FATAL(isched_model_merge(paths, 2, tmp_path("cm.json")), 0);
        CU_ASSERT_EQUAL_FATAL(isched_model_load(tmp_path("cm.json"), &q, &back), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(back);
        CU_ASSERT_EQUAL(isched_context_get_baseline(back), isched_context_get_baseline(c1));
        CU_ASSERT_NOT_EQUAL(isched_context_get_baseline(back), isched_context_get_baseline(c2));
        isched_policy_free(q);
        isched_context_free(back);
        {
                cJSON *orig = read_doc(paths[0]), *merged = read_doc(tmp_path("cm.json"));
                bool same = true;
                unsigned n = same_tree(cJSON_GetObjectItemCaseSensitive(orig, "context")->child,
                                       cJSON_GetObjectItemCaseSensitive(merged, "context")->child, &same);

                CU_ASSERT(same);
                CU_ASSERT(n > 10);
                cJSON_Delete(orig);
                cJSON_Delete(merged);
        }

        /* A broken context section is refused, by load and by merge. */
        doc = read_doc(paths[0]);
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "context"), "baseline");
        cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "context"), "params",
                                               cJSON_CreateString("broken"));
        write_doc(tmp_path("c3.json"), doc);
        cJSON_Delete(doc);
        back = (struct isched_context *)0x1;
        CU_ASSERT_EQUAL(isched_model_load(tmp_path("c3.json"), &q, &back), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "context"));
        CU_ASSERT_PTR_EQUAL(back, (struct isched_context *)0x1);
        const char *bad_paths[] = { tmp_path("c3.json"), paths[1] };
        CU_ASSERT_EQUAL(isched_model_merge(bad_paths, 2, tmp_path("never.json")), -EINVAL);
        /* Without ret_context the policy alone is loaded. */
        CU_ASSERT_EQUAL(isched_model_load(paths[1], &q, NULL), 0);
        isched_policy_free(q);
        isched_context_free(c1);
        isched_context_free(c2);
        isched_policy_free(p);
}

static void test_check_compatible(void)
{
        struct isched_policy *p = make(ISCHED_POLICY_LINTS, 4, ISCHED_ARM_MASK_ALL);

        CU_ASSERT_EQUAL(isched_model_check_compatible(p, ISCHED_POLICY_LINTS, "test-schema", 4), 0);
        CU_ASSERT_EQUAL(isched_model_check_compatible(p, ISCHED_POLICY_LINUCB, "test-schema", 4), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "lints"));
        CU_ASSERT_EQUAL(isched_model_check_compatible(p, ISCHED_POLICY_LINTS, NULL, 4), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(isched_last_error(), "generic"));
        CU_ASSERT_EQUAL(isched_model_check_compatible(p, ISCHED_POLICY_LINTS, "test-schema", 5), -EINVAL);
        CU_ASSERT_EQUAL(isched_model_check_compatible(NULL, ISCHED_POLICY_LINTS, "test-schema", 4), -EINVAL);
        isched_policy_free(p);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("model", suite_init, suite_clean);

        if (!s || !CU_add_test(s, "save, load, continue", test_round_trip) ||
            !CU_add_test(s, "corrupted files", test_corrupted_files) ||
            !CU_add_test(s, "mangled files", test_mangled_files) ||
            !CU_add_test(s, "merge is exact", test_merge_exact) ||
            !CU_add_test(s, "merge of discounted models", test_merge_discounted) ||
            !CU_add_test(s, "merge refuses mismatches", test_merge_refused) ||
            !CU_add_test(s, "context section", test_context_section) ||
            !CU_add_test(s, "check compatible", test_check_compatible))
                return -1;
        return 0;
}
