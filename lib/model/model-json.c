/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A policy as a JSON document and back, with full validation of every
 * field (the loader is meant to survive any input: see docs/model.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intellisched/model.h"
#include "intellisched/version.h"
#include "context/json-field.h"
#include "model-private.h"
#include "policy/policy-private.h"
#include "util/util.h"

/* Counts are stored as JSON numbers, exact up to 2^53. */
#define MAX_COUNT 9007199254740992.0

/* How far a stored A^-1 may be from the inverse of the stored A (relative,
 * Frobenius norm): far more than Sherman-Morrison drift between two
 * refreshes, far less than any corruption worth the name. */
#define INVERSE_TOLERANCE 1e-3

/* ---- writing ---- */

/* A number written so that it reads back as the same double: cJSON's own
 * printer accepts 15 digits when they come within an epsilon, which is
 * not exact, and a reloaded model must decide exactly as before.  The
 * shortest of 15, 16 or 17 significant digits that reads back exactly. */
static cJSON *number(double v)
{
        char buf[40];

        if (!isched__finite(v))
                return NULL;
        for (int digits = 15; digits <= 17; digits++) {
                snprintf(buf, sizeof(buf), "%.*g", digits, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        return cJSON_CreateRaw(buf);
}

/* Turn every number of a parsed tree into raw text that reads back as the
 * same double (a context section carried over by a merge). */
static bool numbers_exact(cJSON *item)
{
        for (; item; item = item->next) {
                if (cJSON_IsNumber(item)) {
                        cJSON *raw = number(item->valuedouble);

                        if (!raw)
                                return false;
                        item->type = cJSON_Raw;
                        item->valuestring = raw->valuestring;
                        raw->valuestring = NULL;
                        cJSON_Delete(raw);
                } else if (item->child && !numbers_exact(item->child)) {
                        return false;
                }
        }
        return true;
}

static cJSON *vector_to_json(const double *v, unsigned n)
{
        return isched__json_create_double_array(v, n, number);
}

static cJSON *matrix_to_json(const double *m, unsigned d)
{
        cJSON *rows = cJSON_CreateArray();

        for (unsigned i = 0; rows && i < d; i++) {
                cJSON *row = vector_to_json(m + (size_t)i * d, d);

                if (!row || !cJSON_AddItemToArray(rows, row)) {
                        cJSON_Delete(row);
                        cJSON_Delete(rows);
                        return NULL;
                }
        }
        return rows;
}

/* Add item to obj under key; false (and item freed) on failure. */
static bool add(cJSON *obj, const char *key, cJSON *item)
{
        if (!item)
                return false;
        if (!cJSON_AddItemToObject(obj, key, item)) {
                cJSON_Delete(item);
                return false;
        }
        return true;
}

static cJSON *arm_to_json(const struct isched_policy *p, unsigned a)
{
        const struct isched__arm_stats *s = &p->arms[a];
        const unsigned d = p->params.n_features;
        cJSON *o = cJSON_CreateObject();
        bool ok = o != NULL;

        ok = ok && add(o, "arm", cJSON_CreateString(isched_arrangement_to_string((enum isched_arrangement)a)));
        ok = ok && add(o, "pulls", number((double)s->pulls));
        ok = ok && add(o, "reward_sum", number(s->reward_sum));
        if (ok && s->A) {
                ok = add(o, "A", matrix_to_json(s->A, d));
                if (s->A_tilde)
                        ok = ok && add(o, "A_tilde", matrix_to_json(s->A_tilde, d));
                else
                        ok = ok && add(o, "A_inv", matrix_to_json(s->A_inv, d));
                ok = ok && add(o, "b", vector_to_json(s->b, d));
        }
        if (!ok) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

static cJSON *policy_params_to_json(const struct isched_policy_params *pp)
{
        cJSON *o = cJSON_CreateObject();
        char seed[32];
        bool ok = o != NULL;

        snprintf(seed, sizeof(seed), "%llu", (unsigned long long)pp->seed);
        ok = ok && add(o, "kind", cJSON_CreateString(isched_policy_kind_to_string(pp->kind)));
        ok = ok && add(o, "alpha", number(pp->alpha));
        ok = ok && add(o, "lambda", number(pp->lambda));
        ok = ok && add(o, "gamma", number(pp->gamma));
        ok = ok && add(o, "epsilon", number(pp->epsilon));
        ok = ok && add(o, "epsilon_decay", number(pp->epsilon_decay));
        ok = ok && add(o, "ts_v", number(pp->ts_v));
        /* A string: a 64-bit seed does not fit a JSON number exactly. */
        ok = ok && add(o, "seed", cJSON_CreateString(seed));
        if (!ok) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

static cJSON *names_to_json(const char *const *names, unsigned n)
{
        return cJSON_CreateStringArray(names, (int)n);
}

/* The enabled arms by name, in Xen's order (docs/json.md). */
static cJSON *arms_to_json(uint32_t mask)
{
        const char *names[ISCHED_MAX_ARMS];
        unsigned n = 0;

        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++)
                if (mask & (1u << a))
                        names[n++] = isched_arrangement_to_string((enum isched_arrangement)a);
        return names_to_json(names, n);
}

static cJSON *features_to_json(const struct isched_policy_params *pp)
{
        cJSON *o = cJSON_CreateObject();
        bool ok = o != NULL;

        ok = ok && add(o, "schema", cJSON_CreateString(pp->feature_schema));
        ok = ok && add(o, "names", names_to_json(pp->feature_names, pp->n_features));
        if (!ok) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

static cJSON *rng_to_json(const struct isched_policy *p)
{
        uint32_t state[ISCHED_POLICY_RNG_WORDS];
        double v[ISCHED_POLICY_RNG_WORDS];
        cJSON *o = cJSON_CreateObject();
        bool ok = o != NULL;

        isched__policy_rng_get(p, state);
        for (unsigned i = 0; i < ISCHED_POLICY_RNG_WORDS; i++)
                v[i] = state[i];
        ok = ok && add(o, "type", cJSON_CreateString("taus2"));
        ok = ok && add(o, "state", vector_to_json(v, ISCHED_POLICY_RNG_WORDS));
        if (!ok) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

int isched__model_to_json(const struct isched_policy *p, const cJSON *context_json, cJSON **ret)
{
        cJSON *doc = cJSON_CreateObject(), *stats = cJSON_CreateArray();
        bool ok = doc && stats;

        ok = ok && add(doc, "schema", cJSON_CreateString(ISCHED_MODEL_SCHEMA));
        ok = ok && add(doc, "generator", cJSON_CreateString("libintellisched " ISCHED_VERSION_STRING));
        ok = ok && add(doc, "policy", policy_params_to_json(&p->params));
        ok = ok && add(doc, "features", features_to_json(&p->params));
        ok = ok && add(doc, "arms_enabled", arms_to_json(p->params.arm_mask));
        ok = ok && add(doc, "rounds", number((double)p->rounds));
        ok = ok && add(doc, "decisions", number((double)p->decisions));
        ok = ok && add(doc, "rng", rng_to_json(p));
        for (unsigned a = 0; ok && a < ISCHED_MAX_ARMS; a++) {
                cJSON *arm = arm_to_json(p, a);

                ok = arm && cJSON_AddItemToArray(stats, arm);
                if (!ok)
                        cJSON_Delete(arm);
        }
        ok = ok && add(doc, "arm_stats", stats);
        stats = NULL;
        if (ok && context_json) {
                cJSON *ctx = cJSON_Duplicate(context_json, 1);

                if (!ctx || !numbers_exact(ctx->child)) {
                        cJSON_Delete(ctx);
                        ok = false;
                } else {
                        ok = add(doc, "context", ctx);
                }
        }
        if (!ok) {
                cJSON_Delete(stats);
                cJSON_Delete(doc);
                return isched__error(-ENOMEM, "out of memory building a model document");
        }
        *ret = doc;
        return 0;
}

/* ---- reading ---- */

/* Every error names the field as a path: policy.alpha, arm_stats[2].A[1][0]. */
static int bad(const char *path, const char *what)
{
        return isched__error(-EINVAL, "model file: field %s %s", path, what);
}

static void join(char *buf, size_t size, const char *path, const char *key)
{
        snprintf(buf, size, "%s%s%s", path, *path ? "." : "", key);
}

static int get(const cJSON *obj, const char *path, const char *key, const cJSON **ret)
{
        char full[96];
        const cJSON *it = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

        if (!it) {
                join(full, sizeof(full), path, key);
                return bad(full, "is missing");
        }
        *ret = it;
        return 0;
}

static int get_typed(const cJSON *obj, const char *path, const char *key, cJSON_bool (*is)(const cJSON *),
                     const char *type, const cJSON **ret)
{
        char full[96], what[48];
        int r = get(obj, path, key, ret);

        if (r < 0)
                return r;
        if (!is(*ret)) {
                join(full, sizeof(full), path, key);
                snprintf(what, sizeof(what), "must be %s", type);
                return bad(full, what);
        }
        return 0;
}

static int number_value(const cJSON *it, const char *full, double *ret)
{
        if (!cJSON_IsNumber(it))
                return bad(full, "must be a number");
        if (!isched__finite(it->valuedouble))
                return bad(full, "must be a finite number");
        *ret = it->valuedouble;
        return 0;
}

static int get_number(const cJSON *obj, const char *path, const char *key, double *ret)
{
        char full[96];
        const cJSON *it = NULL;
        int r = get(obj, path, key, &it);

        if (r < 0)
                return r;
        join(full, sizeof(full), path, key);
        return number_value(it, full, ret);
}

static int count_value(const cJSON *it, const char *full, double max, uint64_t *ret)
{
        double v = 0.0;
        int r = number_value(it, full, &v);

        if (r < 0)
                return r;
        if (v < 0 || v > max || floor(v) != v)
                return bad(full, "must be a whole number in range");
        *ret = (uint64_t)v;
        return 0;
}

static int get_count(const cJSON *obj, const char *path, const char *key, double max, uint64_t *ret)
{
        char full[96];
        const cJSON *it = NULL;
        int r = get(obj, path, key, &it);

        if (r < 0)
                return r;
        join(full, sizeof(full), path, key);
        return count_value(it, full, max, ret);
}

static int get_string(const cJSON *obj, const char *path, const char *key, const char **ret)
{
        const cJSON *it = NULL;
        int r = get_typed(obj, path, key, cJSON_IsString, "a string", &it);

        if (r < 0)
                return r;
        *ret = it->valuestring;
        return 0;
}

/* An array of exactly n numbers (n = 0: any length from 1 to max_n). */
static int vector_value(const cJSON *arr, const char *full, unsigned n, double *out)
{
        char elem[128];
        unsigned i = 0;
        const cJSON *it = NULL;
        int r;

        if (!cJSON_IsArray(arr))
                return bad(full, "must be an array");
        cJSON_ArrayForEach(it, arr) {
                if (i >= n)
                        return bad(full, "has too many elements");
                snprintf(elem, sizeof(elem), "%s[%u]", full, i);
                r = number_value(it, elem, &out[i]);
                if (r < 0)
                        return r;
                i++;
        }
        if (i != n)
                return bad(full, "has too few elements");
        return 0;
}

static int matrix_value(const cJSON *arr, const char *full, unsigned d, double *out)
{
        char row_path[112];
        unsigned i = 0;
        const cJSON *row;
        int r;

        if (!cJSON_IsArray(arr))
                return bad(full, "must be an array of rows");
        cJSON_ArrayForEach(row, arr) {
                if (i >= d)
                        return bad(full, "has too many rows");
                snprintf(row_path, sizeof(row_path), "%s[%u]", full, i);
                r = vector_value(row, row_path, d, out + (size_t)i * d);
                if (r < 0)
                        return r;
                i++;
        }
        if (i != d)
                return bad(full, "has too few rows");
        for (unsigned a = 0; a < d; a++)
                for (unsigned b = 0; b < a; b++)
                        if (out[a * d + b] != out[b * d + a])
                                return bad(full, "is not symmetric");
        return 0;
}

static int get_matrix(const cJSON *obj, const char *path, const char *key, unsigned d, double *out)
{
        char full[96];
        const cJSON *it = NULL;
        int r = get(obj, path, key, &it);

        if (r < 0)
                return r;
        join(full, sizeof(full), path, key);
        return matrix_value(it, full, d, out);
}

/* isched-model-v2, or the first format ("format": "intellisched-model",
 * "version": 1), which differs only in how it names the enabled arms.
 * Returns the version, or -errno. */
static int check_format(const cJSON *doc)
{
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(doc, "schema");
        const char *format = NULL;
        double version;
        int r;

        if (!cJSON_IsObject(doc))
                return isched__error(-EINVAL, "model file: not a JSON object");
        if (schema) {
                if (!cJSON_IsString(schema) || strncmp(schema->valuestring, "isched-model-v", 14) != 0)
                        return isched__error(-EINVAL, "model file: schema is not \"%s\": not a model file",
                                             ISCHED_MODEL_SCHEMA);
                if (strcmp(schema->valuestring, ISCHED_MODEL_SCHEMA) != 0)
                        return isched__error(-EPROTO,
                                             "model file: schema %.32s; this library reads %s and version 1: "
                                             "retrain, or use the isched release that wrote it",
                                             schema->valuestring, ISCHED_MODEL_SCHEMA);
                return ISCHED_MODEL_FORMAT_VERSION;
        }
        r = get_string(doc, "", "format", &format);
        if (r < 0)
                return isched__error(r, "model file: neither schema (\"%s\") nor format: not a model file",
                                     ISCHED_MODEL_SCHEMA);
        if (strcmp(format, ISCHED_MODEL_FORMAT_NAME) != 0)
                return isched__error(-EINVAL, "model file: field format is '%.64s', not '%s': not a model file",
                                     format, ISCHED_MODEL_FORMAT_NAME);
        r = get_number(doc, "", "version", &version);
        if (r < 0)
                return r;
        if (version != 1)
                return isched__error(-EPROTO,
                                     "model file: format version %g; this library reads %s and version 1: "
                                     "retrain, or use the isched release that wrote it",
                                     version, ISCHED_MODEL_SCHEMA);
        return 1;
}

static int parse_seed(const cJSON *pol, uint64_t *ret)
{
        const char *s;
        char *end;
        unsigned long long v;
        int r = get_string(pol, "policy", "seed", &s);

        if (r < 0)
                return r;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (!*s || *s < '0' || *s > '9' || *end || errno)
                return bad("policy.seed", "must be a decimal whole number in a string");
        *ret = v;
        return 0;
}

/* Version 1 files: "arms": {"names": [the five], "mask": bits}. */
static int parse_arms_v1(const cJSON *doc, uint64_t *mask)
{
        const cJSON *arms = NULL, *anames = NULL, *it = NULL;
        unsigned i = 0;
        int r;

        if ((r = get_typed(doc, "", "arms", cJSON_IsObject, "an object", &arms)) < 0 ||
            (r = get_typed(arms, "arms", "names", cJSON_IsArray, "an array", &anames)) < 0)
                return r;
        cJSON_ArrayForEach(it, anames) {
                const char *want = isched_arrangement_to_string((enum isched_arrangement)i);

                if (!want || !cJSON_IsString(it) || strcmp(it->valuestring, want) != 0)
                        return bad("arms.names", "must be [\"cpu\", \"core\", \"socket\", \"node\", \"all\"]");
                i++;
        }
        if (i != ISCHED_MAX_ARMS)
                return bad("arms.names", "must be [\"cpu\", \"core\", \"socket\", \"node\", \"all\"]");
        if ((r = get(arms, "arms", "mask", &it)) < 0)
                return r;
        return count_value(it, "arms.mask", ISCHED_ARM_MASK_ALL, mask);
}

static int parse_arms_enabled(const cJSON *doc, uint64_t *mask)
{
        const cJSON *list = NULL, *it = NULL;
        enum isched_arrangement a;
        int r;

        if ((r = get_typed(doc, "", "arms_enabled", cJSON_IsArray, "an array", &list)) < 0)
                return r;
        *mask = 0;
        cJSON_ArrayForEach(it, list) {
                if (!cJSON_IsString(it) || isched_arrangement_from_string(it->valuestring, &a) < 0)
                        return bad("arms_enabled", "must hold the names cpu, core, socket, node or all");
                if (*mask & (1u << a))
                        return bad("arms_enabled", "names an arm twice");
                *mask |= 1u << a;
        }
        return 0;
}

static int parse_params(const cJSON *doc, int version, struct isched_policy_params *pp, const char **names)
{
        const cJSON *pol = NULL, *feat = NULL, *fnames = NULL, *it = NULL;
        const char *kind_name;
        uint64_t mask;
        unsigned i = 0;
        int r;

        if ((r = get_typed(doc, "", "policy", cJSON_IsObject, "an object", &pol)) < 0 ||
            (r = get_string(pol, "policy", "kind", &kind_name)) < 0)
                return r;
        memset(pp, 0, sizeof(*pp));
        pp->size = sizeof(*pp);
        if (isched_policy_kind_from_string(kind_name, &pp->kind) < 0)
                return bad("policy.kind", "is not egreedy, lingreedy, linucb, dlinucb or lints");
        if ((r = get_number(pol, "policy", "alpha", &pp->alpha)) < 0 ||
            (r = get_number(pol, "policy", "lambda", &pp->lambda)) < 0 ||
            (r = get_number(pol, "policy", "gamma", &pp->gamma)) < 0 ||
            (r = get_number(pol, "policy", "epsilon", &pp->epsilon)) < 0 ||
            (r = get_number(pol, "policy", "epsilon_decay", &pp->epsilon_decay)) < 0 ||
            (r = get_number(pol, "policy", "ts_v", &pp->ts_v)) < 0 ||
            (r = parse_seed(pol, &pp->seed)) < 0)
                return r;

        if ((r = get_typed(doc, "", "features", cJSON_IsObject, "an object", &feat)) < 0 ||
            (r = get_string(feat, "features", "schema", &pp->feature_schema)) < 0 ||
            (r = get_typed(feat, "features", "names", cJSON_IsArray, "an array", &fnames)) < 0)
                return r;
        cJSON_ArrayForEach(it, fnames) {
                if (i >= ISCHED_MAX_FEATURES)
                        return bad("features.names", "has more than 64 names");
                if (!cJSON_IsString(it))
                        return bad("features.names", "must hold strings only");
                names[i++] = it->valuestring;
        }
        if (i == 0)
                return bad("features.names", "is empty");
        pp->n_features = i;
        pp->feature_names = names;

        r = version == 1 ? parse_arms_v1(doc, &mask) : parse_arms_enabled(doc, &mask);
        if (r < 0)
                return r;
        if (mask == 0)
                return bad(version == 1 ? "arms.mask" : "arms_enabled", "enables no arm");
        pp->arm_mask = (uint32_t)mask;
        /* Range checks of every parameter; the detail names the field. */
        return isched__policy_params_check(pp);
}

static int parse_rng(const cJSON *doc, struct isched_policy *p)
{
        const cJSON *rng = NULL, *state = NULL, *it = NULL;
        const char *type = NULL;
        uint32_t words[ISCHED_POLICY_RNG_WORDS];
        char path[32];
        unsigned i = 0;
        uint64_t v;
        int r;

        if ((r = get_typed(doc, "", "rng", cJSON_IsObject, "an object", &rng)) < 0 ||
            (r = get_string(rng, "rng", "type", &type)) < 0)
                return r;
        if (strcmp(type, "taus2") != 0)
                return bad("rng.type", "must be \"taus2\"");
        if ((r = get_typed(rng, "rng", "state", cJSON_IsArray, "an array", &state)) < 0)
                return r;
        cJSON_ArrayForEach(it, state) {
                if (i >= ISCHED_POLICY_RNG_WORDS)
                        return bad("rng.state", "must have 3 elements");
                snprintf(path, sizeof(path), "rng.state[%u]", i);
                r = count_value(it, path, 4294967295.0, &v);
                if (r < 0)
                        return r;
                words[i++] = (uint32_t)v;
        }
        if (i != ISCHED_POLICY_RNG_WORDS)
                return bad("rng.state", "must have 3 elements");
        r = isched__policy_rng_set(p, words);
        return r < 0 ? bad("rng.state", "is not a taus2 state") : 0;
}

static double frobenius(const double *m, size_t n)
{
        double s = 0.0;

        for (size_t i = 0; i < n; i++)
                s += m[i] * m[i];
        return sqrt(s);
}

/* A (and Vtilde) must be symmetric positive definite; a stored A^-1 must
 * be the inverse of A up to rounding. */
static int check_arm_matrices(struct isched_policy *p, unsigned a, const char *path)
{
        const struct isched__arm_stats *s = &p->arms[a];
        const unsigned d = p->params.n_features;
        const size_t n = (size_t)d * d;
        double *inv = p->work, *diff = p->work + n;
        char full[96];

        if (s->A_tilde) {
                join(full, sizeof(full), path, "A_tilde");
                if (isched__spd_invert(s->A_tilde, inv, d) < 0)
                        return bad(full, "is not positive definite");
        }
        join(full, sizeof(full), path, "A");
        if (isched__spd_invert(s->A, inv, d) < 0)
                return bad(full, "is not positive definite");
        if (s->A_tilde)
                return 0;
        for (size_t i = 0; i < n; i++)
                diff[i] = s->A_inv[i] - inv[i];
        if (!(frobenius(diff, n) <= INVERSE_TOLERANCE * frobenius(inv, n))) {
                join(full, sizeof(full), path, "A_inv");
                return bad(full, "is not the inverse of A");
        }
        return 0;
}

static int parse_arm(const cJSON *o, struct isched_policy *p, unsigned a)
{
        struct isched__arm_stats *s = &p->arms[a];
        const unsigned d = p->params.n_features;
        const char *name;
        char path[32], full[96];
        const cJSON *it = NULL;
        int r;

        snprintf(path, sizeof(path), "arm_stats[%u]", a);
        if (!cJSON_IsObject(o))
                return bad(path, "must be an object");
        if ((r = get_string(o, path, "arm", &name)) < 0)
                return r;
        if (strcmp(name, isched_arrangement_to_string((enum isched_arrangement)a)) != 0) {
                join(full, sizeof(full), path, "arm");
                return bad(full, "names another arm than its position");
        }
        if ((r = get_count(o, path, "pulls", MAX_COUNT, &s->pulls)) < 0 ||
            (r = get_number(o, path, "reward_sum", &s->reward_sum)) < 0)
                return r;
        if (!s->A)
                return 0;
        if ((r = get_matrix(o, path, "A", d, s->A)) < 0)
                return r;
        if (s->A_tilde)
                r = get_matrix(o, path, "A_tilde", d, s->A_tilde);
        else
                r = get_matrix(o, path, "A_inv", d, s->A_inv);
        if (r < 0)
                return r;
        if ((r = get(o, path, "b", &it)) < 0)
                return r;
        join(full, sizeof(full), path, "b");
        if ((r = vector_value(it, full, d, s->b)) < 0 || (r = check_arm_matrices(p, a, path)) < 0)
                return r;
        isched__policy_arm_loaded(p, a);
        return 0;
}

static int parse_state(const cJSON *doc, struct isched_policy *p)
{
        const cJSON *stats = NULL, *it = NULL;
        uint64_t pulls = 0;
        unsigned a = 0;
        int r;

        if ((r = get_count(doc, "", "rounds", MAX_COUNT, &p->rounds)) < 0 ||
            (r = get_count(doc, "", "decisions", MAX_COUNT, &p->decisions)) < 0 ||
            (r = parse_rng(doc, p)) < 0 ||
            (r = get_typed(doc, "", "arm_stats", cJSON_IsArray, "an array", &stats)) < 0)
                return r;
        cJSON_ArrayForEach(it, stats) {
                if (a >= ISCHED_MAX_ARMS)
                        return bad("arm_stats", "must have 5 elements");
                r = parse_arm(it, p, a);
                if (r < 0)
                        return r;
                pulls += p->arms[a].pulls;
                a++;
        }
        if (a != ISCHED_MAX_ARMS)
                return bad("arm_stats", "must have 5 elements");
        if (pulls != p->rounds)
                return bad("rounds", "differs from the sum of the arms' pulls");
        return 0;
}

int isched__model_from_json(const cJSON *doc, struct isched_policy **ret_policy,
                            const cJSON **ret_context_json)
{
        struct isched_policy_params pp;
        const char *names[ISCHED_MAX_FEATURES];
        struct isched_policy *p;
        const cJSON *context;
        int r, version;

        version = check_format(doc);
        if (version < 0)
                return version;
        r = parse_params(doc, version, &pp, names);
        if (r < 0)
                return r;
        r = isched_policy_new(&pp, &p);
        if (r < 0)
                return r;
        r = parse_state(doc, p);
        if (r < 0) {
                isched_policy_free(p);
                return r;
        }
        context = cJSON_GetObjectItemCaseSensitive(doc, "context");
        if (context && !cJSON_IsObject(context) && !cJSON_IsNull(context)) {
                isched_policy_free(p);
                return bad("context", "must be an object");
        }
        if (ret_context_json)
                *ret_context_json = cJSON_IsObject(context) ? context : NULL;
        *ret_policy = p;
        return 0;
}
