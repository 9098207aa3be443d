/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Model files: save, load, compatibility check and merge. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "intellisched/model.h"
#include "model-private.h"
#include "policy/policy-private.h"
#include "util/util.h"

/* The context builder is another module; its JSON form is reached through
 * the two functions of context/context-json.h, and only here. */
#if __has_include("context/context-json.h")
#include "context/context-json.h"
#define HAVE_CONTEXT_JSON 1
#else
#define HAVE_CONTEXT_JSON 0
#endif

static int context_to_json(const struct isched_context *c, cJSON **ret)
{
#if HAVE_CONTEXT_JSON
        return isched__context_to_json(c, ret);
#else
        (void)c;
        (void)ret;
        return isched__error(-EOPNOTSUPP, "this build of libintellisched cannot save a context builder");
#endif
}

static int context_from_json(const cJSON *j, struct isched_context **ret)
{
#if HAVE_CONTEXT_JSON
        return isched__context_from_json(j, ret);
#else
        (void)j;
        (void)ret;
        return isched__error(-EOPNOTSUPP, "this build of libintellisched cannot load a context builder");
#endif
}

int isched__model_read_json(const char *path, cJSON **ret_doc)
{
        const char *end = NULL;
        cJSON *doc;
        char *data;
        size_t len;
        int r;

        r = isched__read_file(path, ISCHED_MODEL_MAX_BYTES, &data, &len);
        if (r < 0)
                return r;
        if (isched__json_nul_escape(data, len) < len) {
                unsigned line, column;

                isched__text_position(data, len, isched__json_nul_escape(data, len), &line, &column);
                free(data);
                return isched__error(-EINVAL,
                                     "%s: a \\u0000 escape (NUL) in a string at line %u, column %u; isched never "
                                     "writes one, so the file was edited or damaged: fix it, or move it away to "
                                     "start a new model",
                                     path, line, column);
        }
        doc = cJSON_ParseWithLengthOpts(data, len, &end, 0);
        if (!doc) {
                size_t at = end && end >= data && end <= data + len ? (size_t)(end - data) : 0;
                unsigned line, column;

                isched__text_position(data, len, at, &line, &column);
                free(data);
                return isched__error(-EINVAL,
                                     "%s: not valid JSON at line %u, column %u (byte %zu); isched writes models "
                                     "whole, so the file was edited or damaged: fix it, or move it away to start "
                                     "a new model",
                                     path, line, column, at);
        }
        free(data);
        *ret_doc = doc;
        return 0;
}

int isched__model_write_json(const char *path, const cJSON *doc)
{
        char *text = cJSON_Print(doc);
        size_t len;
        int r;

        if (!text)
                return isched__error(-ENOMEM, "out of memory printing a model");
        len = strlen(text);
        text[len] = '\n';       /* replaces the NUL: cJSON_Print leaves no newline */
        r = isched__write_file_atomic(path, text, len + 1, 0600);
        free(text);
        return r;
}

ISCHED_EXPORT int isched_model_save(const char *path, const struct isched_policy *policy,
                                    const struct isched_context *context)
{
        cJSON *ctx = NULL, *doc = NULL;
        int r;

        if (!path || !*path || !policy)
                return isched__error(-EINVAL, "isched_model_save: missing path or policy");
        if (context) {
                r = context_to_json(context, &ctx);
                if (r < 0)
                        return r;
        }
        r = isched__model_to_json(policy, ctx, &doc);
        cJSON_Delete(ctx);
        if (r < 0)
                return r;
        r = isched__model_write_json(path, doc);
        cJSON_Delete(doc);
        return r;
}

/* Prefix the detail of the last error with the file name. */
static int in_file(int r, const char *path)
{
        char detail[400];

        snprintf(detail, sizeof(detail), "%s", isched_last_error());
        if (strncmp(detail, path, strlen(path)) == 0)
                return r;
        return isched__error(r, "%s: %s", path, detail);
}

ISCHED_EXPORT int isched_model_load(const char *path, struct isched_policy **ret_policy,
                                    struct isched_context **ret_context)
{
        struct isched_policy *p = NULL;
        struct isched_context *c = NULL;
        const cJSON *cj = NULL;
        cJSON *doc;
        int r;

        if (!path || !ret_policy)
                return isched__error(-EINVAL, "isched_model_load: missing path or ret_policy");
        r = isched__model_read_json(path, &doc);
        if (r < 0)
                return r;
        r = isched__model_from_json(doc, &p, &cj);
        if (r == 0 && cj && ret_context)
                r = context_from_json(cj, &c);
        cJSON_Delete(doc);
        if (r < 0) {
                isched_policy_free(p);
                return in_file(r, path);
        }
        *ret_policy = p;
        if (ret_context)
                *ret_context = c;
        return 0;
}

ISCHED_EXPORT int isched_model_check_compatible(const struct isched_policy *policy, enum isched_policy_kind kind,
                                                const char *feature_schema, uint32_t n_features)
{
        const struct isched_policy_params *pp;

        if (!policy)
                return isched__error(-EINVAL, "isched_model_check_compatible: policy is NULL");
        pp = &policy->params;
        if (pp->kind != kind)
                return isched__error(-EINVAL, "the model is a %s policy, not %s",
                                     isched_policy_kind_to_string(pp->kind),
                                     isched_policy_kind_to_string(kind) ? isched_policy_kind_to_string(kind) : "a valid kind");
        if (strcmp(pp->feature_schema, feature_schema ? feature_schema : "generic") != 0)
                return isched__error(-EINVAL, "the model's feature schema is '%s', not '%s'", pp->feature_schema,
                                     feature_schema ? feature_schema : "generic");
        if (pp->n_features != n_features)
                return isched__error(-EINVAL, "the model has %u features, not %u", pp->n_features, n_features);
        return 0;
}

/* ---- merge ---- */

#define SAME_PARAM(field)                                                                         \
        do {                                                                                      \
                if (a->field != b->field)                                                         \
                        return isched__error(-EINVAL, "cannot merge %s into %s: policy." #field   \
                                             " differs (%g and %g)", path_b, path_a,              \
                                             (double)a->field, (double)b->field);                 \
        } while (0)

static int check_mergeable(const struct isched_policy_params *a, const char *path_a,
                           const struct isched_policy_params *b, const char *path_b)
{
        if (a->kind != b->kind)
                return isched__error(-EINVAL, "cannot merge %s into %s: policy.kind differs (%s and %s)", path_b,
                                     path_a, isched_policy_kind_to_string(a->kind),
                                     isched_policy_kind_to_string(b->kind));
        SAME_PARAM(alpha);
        SAME_PARAM(lambda);
        SAME_PARAM(gamma);
        SAME_PARAM(epsilon);
        SAME_PARAM(epsilon_decay);
        SAME_PARAM(ts_v);
        if (a->arm_mask != b->arm_mask)
                return isched__error(-EINVAL, "cannot merge %s into %s: arms_enabled differs (mask %#x and %#x)",
                                     path_b, path_a, a->arm_mask, b->arm_mask);
        if (strcmp(a->feature_schema, b->feature_schema) != 0)
                return isched__error(-EINVAL, "cannot merge %s into %s: features.schema differs ('%s' and '%s')",
                                     path_b, path_a, a->feature_schema, b->feature_schema);
        if (a->n_features != b->n_features)
                return isched__error(-EINVAL, "cannot merge %s into %s: the number of features differs (%u and %u)",
                                     path_b, path_a, a->n_features, b->n_features);
        for (unsigned i = 0; i < a->n_features; i++)
                if (strcmp(a->feature_names[i], b->feature_names[i]) != 0)
                        return isched__error(-EINVAL, "cannot merge %s into %s: features.names[%u] differs ('%s' and '%s')",
                                             path_b, path_a, i, a->feature_names[i], b->feature_names[i]);
        return 0;
}

/* m += (add - lambda*I) */
static void add_excess(double *m, const double *add, unsigned d, double lambda)
{
        for (unsigned i = 0; i < d; i++)
                for (unsigned j = 0; j < d; j++)
                        m[i * d + j] += add[i * d + j] - (i == j ? lambda : 0.0);
}

/* Add the statistics of src to acc.  Counts add up; the regulariser
 * lambda*I is counted once: A = lambda*I + sum_i (A_i - lambda*I). */
static void merge_into(struct isched_policy *acc, const struct isched_policy *src)
{
        const unsigned d = acc->params.n_features;
        const double lambda = acc->params.lambda;

        acc->rounds += src->rounds;
        acc->decisions += src->decisions;
        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                struct isched__arm_stats *s = &acc->arms[a];
                const struct isched__arm_stats *t = &src->arms[a];

                s->pulls += t->pulls;
                s->reward_sum += t->reward_sum;
                if (!s->A)
                        continue;
                add_excess(s->A, t->A, d, lambda);
                if (s->A_tilde)
                        add_excess(s->A_tilde, t->A_tilde, d, lambda);
                for (unsigned i = 0; i < d; i++)
                        s->b[i] += t->b[i];
        }
}

static int merge_one(struct isched_policy **acc, const cJSON **acc_context, cJSON **docs, const char *const *paths,
                     size_t i)
{
        struct isched_policy *p;
        const cJSON *ctx;
        int r;

        r = isched__model_read_json(paths[i], &docs[i]);
        if (r < 0)
                return r;
        r = isched__model_from_json(docs[i], &p, &ctx);
        if (r < 0)
                return in_file(r, paths[i]);
        if (!*acc) {
                *acc = p;
        } else {
                r = check_mergeable(&(*acc)->params, paths[0], &p->params, paths[i]);
                if (r == 0)
                        merge_into(*acc, p);
                isched_policy_free(p);
                if (r < 0)
                        return r;
        }
        if (ctx && !*acc_context) {
                /* Carried over as it is, but only if it is a valid one. */
                struct isched_context *c = NULL;

                r = context_from_json(ctx, &c);
                if (r < 0)
                        return in_file(r, paths[i]);
                isched_context_free(c);
                *acc_context = ctx;
        }
        return 0;
}

ISCHED_EXPORT int isched_model_merge(const char *const *paths, size_t n_paths, const char *out_path)
{
        struct isched_policy *acc = NULL;
        const cJSON *ctx = NULL;
        cJSON **docs, *out = NULL;
        int r = 0;

        if (!paths || n_paths == 0 || !out_path || !*out_path)
                return isched__error(-EINVAL, "isched_model_merge: give at least one input and an output path");
        for (size_t i = 0; i < n_paths; i++)
                if (!paths[i])
                        return isched__error(-EINVAL, "isched_model_merge: input %zu is NULL", i);
        /* The documents stay alive until the end: the context section of
         * the first file that has one is copied to the output. */
        docs = calloc(n_paths, sizeof(*docs));
        if (!docs)
                return isched__error(-ENOMEM, "out of memory merging models");
        for (size_t i = 0; i < n_paths && r == 0; i++)
                r = merge_one(&acc, &ctx, docs, paths, i);
        for (unsigned a = 0; r == 0 && a < ISCHED_MAX_ARMS; a++) {
                r = isched__policy_refresh_arm(acc, a);
                if (r == 0)
                        isched__policy_arm_loaded(acc, a);
        }
        if (r == 0)
                r = isched__model_to_json(acc, ctx, &out);
        if (r == 0)
                r = isched__model_write_json(out_path, out);
        cJSON_Delete(out);
        for (size_t i = 0; i < n_paths; i++)
                cJSON_Delete(docs[i]);
        free(docs);
        isched_policy_free(acc);
        return r;
}
