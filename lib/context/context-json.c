/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The context builder as JSON, for model files.  Doubles round-trip
 * exactly: cJSON prints 17 significant digits when 15 do not read back. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "context-json.h"
#include "context-private.h"
#include "json-field.h"
#include "util/util.h"

#define WHERE "context"

static const struct {
        const char *key;
        size_t offset;
} param_fields[] = {
        { "w_throughput", offsetof(struct isched_context_params, w_throughput) },
        { "w_lat_mean", offsetof(struct isched_context_params, w_lat_mean) },
        { "w_lat_p99", offsetof(struct isched_context_params, w_lat_p99) },
        { "switch_penalty", offsetof(struct isched_context_params, switch_penalty) },
        { "baseline_halflife", offsetof(struct isched_context_params, baseline_halflife) },
        { "clip", offsetof(struct isched_context_params, clip) },
};

static double *param_field(struct isched_context_params *p, size_t i)
{
        return (double *)((char *)p + param_fields[i].offset);
}

/* Adds item to obj under key, or deletes it; false when out of memory. */
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

static cJSON *params_to_json(const struct isched_context_params *params)
{
        struct isched_context_params p = *params;
        cJSON *o = cJSON_CreateObject();

        if (!o)
                return NULL;
        for (size_t i = 0; i < ARRAY_SIZE(param_fields); i++) {
                if (!add(o, param_fields[i].key, isched__json_create_double(*param_field(&p, i)))) {
                        cJSON_Delete(o);
                        return NULL;
                }
        }
        return o;
}

static cJSON *vector_to_json(const double *v)
{
        return isched__json_create_double_array(v, ISCHED_F_COUNT, isched__json_create_double);
}

static cJSON *normaliser_to_json(const struct isched_context *c)
{
        cJSON *o = cJSON_CreateObject();

        if (!o)
                return NULL;
        if (!add(o, "count", isched__json_create_u64(c->norm_count)) ||
            !add(o, "mean", vector_to_json(c->norm_mean)) || !add(o, "m2", vector_to_json(c->norm_m2))) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

static cJSON *baseline_to_json(const struct isched_context *c)
{
        cJSON *o = cJSON_CreateObject();

        if (!o)
                return NULL;
        if (!add(o, "count", isched__json_create_u64(c->baseline_count)) ||
            !add(o, "value", c->baseline_count ? isched__json_create_double(c->baseline) : cJSON_CreateNull())) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

static cJSON *unknown_or_double(double v)
{
        return isnan(v) ? cJSON_CreateNull() : isched__json_create_double(v);
}

static cJSON *calibration_to_json(const struct isched_calibration *cal)
{
        cJSON *o = cJSON_CreateObject(), *err, *w;

        if (!o || !add(o, "noise_sd", unknown_or_double(cal->noise_sd)) ||
            !add(o, "noise_weight", isched__json_create_double(cal->noise_weight)) ||
            !add(o, "switch_cost", unknown_or_double(cal->switch_cost)) ||
            !add(o, "switch_cost_weight", isched__json_create_double(cal->switch_cost_weight)) ||
            !add(o, "model_error", err = cJSON_CreateArray()) || !add(o, "model_error_weight", w = cJSON_CreateArray())) {
                cJSON_Delete(o);
                return NULL;
        }
        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                cJSON_AddItemToArray(err, unknown_or_double(cal->model_error[a]));
                cJSON_AddItemToArray(w, isched__json_create_double(cal->model_error_weight[a]));
        }
        return o;
}

int isched__context_to_json(const struct isched_context *c, cJSON **ret)
{
        const char *names[ISCHED_F_COUNT];
        cJSON *o;

        if (!c || !ret)
                return isched__error(-EINVAL, "isched__context_to_json: NULL argument");
        for (unsigned i = 0; i < ISCHED_F_COUNT; i++)
                names[i] = isched_feature_name(i);
        o = cJSON_CreateObject();
        if (!o || !add(o, "schema", cJSON_CreateString(ISCHED_FEATURE_SCHEMA)) ||
            !add(o, "features", cJSON_CreateStringArray(names, ISCHED_F_COUNT)) ||
            !add(o, "params", params_to_json(&c->params)) || !add(o, "normaliser", normaliser_to_json(c)) ||
            !add(o, "baseline", baseline_to_json(c)) ||
            !add(o, "observation", cJSON_CreateString(isched_observation_to_string(c->observation))) ||
            !add(o, "calibration", calibration_to_json(&c->calibration))) {
                cJSON_Delete(o);
                return isched__error(-ENOMEM, "out of memory writing the context builder as JSON");
        }
        *ret = o;
        return 0;
}

static int schema_from_json(const cJSON *j)
{
        const cJSON *features, *name;
        const char *schema;
        unsigned i = 0;
        int r;

        r = isched__json_string(j, WHERE, "schema", &schema);
        if (r < 0)
                return r;
        if (strcmp(schema, ISCHED_FEATURE_SCHEMA) != 0)
                return isched__error(-EINVAL, WHERE ".schema is \"%.64s\"; this library builds \"%s\": retrain the model",
                                     schema, ISCHED_FEATURE_SCHEMA);
        r = isched__json_array(j, WHERE, "features", ISCHED_F_COUNT, &features);
        if (r < 0)
                return r;
        cJSON_ArrayForEach(name, features) {
                if (!cJSON_IsString(name) || !name->valuestring || strcmp(name->valuestring, isched_feature_name(i)) != 0)
                        return isched__error(-EINVAL, WHERE ".features[%u] must be \"%s\" in schema %s", i,
                                             isched_feature_name(i), ISCHED_FEATURE_SCHEMA);
                i++;
        }
        return 0;
}

static int params_from_json(const cJSON *j, struct isched_context_params *ret)
{
        struct isched_context_params p;
        const cJSON *o;
        int r;

        r = isched__json_object(j, WHERE, "params", &o);
        if (r < 0)
                return r;
        isched_context_params_init(&p);
        for (size_t i = 0; i < ARRAY_SIZE(param_fields); i++) {
                r = isched__json_double(o, WHERE ".params", param_fields[i].key, param_field(&p, i));
                if (r < 0)
                        return r;
        }
        r = isched__context_params_check(&p, WHERE ".params.");
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

/* A finite number array of ISCHED_F_COUNT elements. */
static int vector_from_json(const cJSON *o, const char *key, double *v)
{
        const cJSON *a, *e;
        unsigned i = 0;
        int r;

        r = isched__json_array(o, WHERE ".normaliser", key, ISCHED_F_COUNT, &a);
        if (r < 0)
                return r;
        cJSON_ArrayForEach(e, a) {
                if (!isched__json_number_value(e, &v[i]))
                        return isched__error(-EINVAL, WHERE ".normaliser.%s[%u] must be a finite number", key, i);
                i++;
        }
        return 0;
}

static int normaliser_from_json(const cJSON *j, struct isched_context *c)
{
        const cJSON *o;
        int r;

        r = isched__json_object(j, WHERE, "normaliser", &o);
        if (r < 0)
                return r;
        if ((r = isched__json_u64(o, WHERE ".normaliser", "count", &c->norm_count)) < 0 ||
            (r = vector_from_json(o, "mean", c->norm_mean)) < 0 ||
            (r = vector_from_json(o, "m2", c->norm_m2)) < 0)
                return r;
        /* The state must be one the running update can produce. */
        for (unsigned i = 0; i < ISCHED_F_COUNT; i++) {
                if (c->norm_m2[i] < 0.0)
                        return isched__error(-EINVAL, WHERE ".normaliser.m2[%u] is negative", i);
                if ((i == ISCHED_F_BIAS || c->norm_count == 0) && (c->norm_mean[i] != 0.0 || c->norm_m2[i] != 0.0))
                        return isched__error(-EINVAL, WHERE ".normaliser: mean[%u] and m2[%u] must be 0 %s", i, i,
                                             i == ISCHED_F_BIAS ? "for the bias" : "when count is 0");
                if (c->norm_count == 1 && c->norm_m2[i] != 0.0)
                        return isched__error(-EINVAL, WHERE ".normaliser.m2[%u] must be 0 when count is 1", i);
        }
        return 0;
}

static int baseline_from_json(const cJSON *j, struct isched_context *c)
{
        const cJSON *o, *value;
        int r;

        r = isched__json_object(j, WHERE, "baseline", &o);
        if (r < 0)
                return r;
        r = isched__json_u64(o, WHERE ".baseline", "count", &c->baseline_count);
        if (r < 0)
                return r;
        value = cJSON_GetObjectItemCaseSensitive(o, "value");
        if (c->baseline_count == 0) {
                if (!cJSON_IsNull(value))
                        return isched__error(-EINVAL, WHERE ".baseline.value must be null when count is 0");
                c->baseline = NAN;
                return 0;
        }
        return isched__json_double(o, WHERE ".baseline", "value", &c->baseline);
}

/* What the scores were computed from; "unknown" for a builder that never
 * saw a window. */
static int observation_from_json(const cJSON *j, struct isched_context *c)
{
        const char *name;
        int r;

        r = isched__json_string(j, WHERE, "observation", &name);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < ISCHED_OBS_COUNT; i++)
                if (strcmp(name, isched_observation_to_string((enum isched_observation)i)) == 0) {
                        c->observation = (enum isched_observation)i;
                        return 0;
                }
        return isched__error(-EINVAL, WHERE ".observation is \"%.64s\"; one of unknown, ground-truth, xen, xen+guests",
                             name);
}

/* A number, or null for "unknown". */
static int unknown_or_number(const cJSON *o, const char *where, const char *key, double *ret)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

        if (cJSON_IsNull(v)) {
                *ret = NAN;
                return 0;
        }
        return isched__json_double(o, where, key, ret);
}

static int calibration_array(const cJSON *o, const char *key, bool nullable, double *v)
{
        const cJSON *a, *e;
        unsigned i = 0;
        int r;

        r = isched__json_array(o, WHERE ".calibration", key, ISCHED_ARR_COUNT, &a);
        if (r < 0)
                return r;
        cJSON_ArrayForEach(e, a) {
                if (nullable && cJSON_IsNull(e))
                        v[i] = NAN;
                else if (!isched__json_number_value(e, &v[i]))
                        return isched__error(-EINVAL, WHERE ".calibration.%s[%u] must be a finite number%s", key, i,
                                             nullable ? " or null" : "");
                i++;
        }
        return 0;
}

static int calibration_from_json(const cJSON *j, struct isched_context *c)
{
        struct isched_calibration cal;
        const cJSON *o;
        int r;

        isched_calibration_init(&cal);
        r = isched__json_object(j, WHERE, "calibration", &o);
        if (r < 0)
                return r;
        if ((r = unknown_or_number(o, WHERE ".calibration", "noise_sd", &cal.noise_sd)) < 0 ||
            (r = isched__json_double(o, WHERE ".calibration", "noise_weight", &cal.noise_weight)) < 0 ||
            (r = unknown_or_number(o, WHERE ".calibration", "switch_cost", &cal.switch_cost)) < 0 ||
            (r = isched__json_double(o, WHERE ".calibration", "switch_cost_weight", &cal.switch_cost_weight)) < 0 ||
            (r = calibration_array(o, "model_error", true, cal.model_error)) < 0 ||
            (r = calibration_array(o, "model_error_weight", false, cal.model_error_weight)) < 0)
                return r;
        r = isched__calibration_check(&cal);
        if (r < 0)
                return isched__error(r, WHERE ".%s", isched_last_error());
        c->calibration = cal;
        return 0;
}

int isched__context_from_json(const cJSON *j, struct isched_context **ret)
{
        struct isched_context_params params;
        struct isched_context *c;
        int r;

        if (!j || !ret)
                return isched__error(-EINVAL, "isched__context_from_json: NULL argument");
        if (!cJSON_IsObject(j))
                return isched__error(-EINVAL, WHERE " must be a JSON object");
        r = schema_from_json(j);
        if (r < 0)
                return r;
        r = params_from_json(j, &params);
        if (r < 0)
                return r;
        r = isched_context_new(&params, &c);
        if (r < 0)
                return r;
        r = normaliser_from_json(j, c);
        if (r >= 0)
                r = baseline_from_json(j, c);
        if (r >= 0)
                r = observation_from_json(j, c);
        if (r >= 0)
                r = calibration_from_json(j, c);
        if (r < 0) {
                isched_context_free(c);
                return r;
        }
        *ret = c;
        return 0;
}
