/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json-schema.h"

struct ctx {
        const cJSON *root;
        char *err;
        size_t err_size;
};

static bool fail(struct ctx *c, const char *path, const char *what)
{
        snprintf(c->err, c->err_size, "%s: %s", *path ? path : "(root)", what);
        return false;
}

static bool validate(struct ctx *c, const cJSON *schema, const cJSON *doc, const char *path);

static bool type_matches(const char *type, const cJSON *doc)
{
        if (strcmp(type, "object") == 0)
                return cJSON_IsObject(doc);
        if (strcmp(type, "array") == 0)
                return cJSON_IsArray(doc);
        if (strcmp(type, "string") == 0)
                return cJSON_IsString(doc);
        if (strcmp(type, "number") == 0)
                return cJSON_IsNumber(doc);
        if (strcmp(type, "integer") == 0)
                return cJSON_IsNumber(doc) && doc->valuedouble == floor(doc->valuedouble);
        if (strcmp(type, "boolean") == 0)
                return cJSON_IsBool(doc);
        if (strcmp(type, "null") == 0)
                return cJSON_IsNull(doc);
        return false;
}

static bool check_type(struct ctx *c, const cJSON *t, const cJSON *doc, const char *path)
{
        const cJSON *it;

        if (cJSON_IsString(t))
                return type_matches(t->valuestring, doc) ? true : fail(c, path, "wrong type");
        cJSON_ArrayForEach(it, t)
                if (cJSON_IsString(it) && type_matches(it->valuestring, doc))
                        return true;
        return fail(c, path, "wrong type");
}

static bool json_equal(const cJSON *a, const cJSON *b)
{
        return cJSON_Compare(a, b, true);
}

static bool check_object(struct ctx *c, const cJSON *schema, const cJSON *doc, const char *path)
{
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required");
        const cJSON *addl = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
        const cJSON *it;
        char sub[512];

        if (!cJSON_IsObject(doc))
                return true;
        cJSON_ArrayForEach(it, req) {
                if (!cJSON_GetObjectItemCaseSensitive(doc, it->valuestring)) {
                        snprintf(sub, sizeof(sub), "required member '%s' is missing", it->valuestring);
                        return fail(c, path, sub);
                }
        }
        cJSON_ArrayForEach(it, doc) {
                const cJSON *ps = props ? cJSON_GetObjectItemCaseSensitive(props, it->string) : NULL;

                snprintf(sub, sizeof(sub), "%s.%s", path, it->string);
                if (!ps) {
                        if (cJSON_IsFalse(addl))
                                return fail(c, sub, "member not allowed by the schema");
                        continue;
                }
                if (!validate(c, ps, it, sub))
                        return false;
        }
        return true;
}

static bool check_array(struct ctx *c, const cJSON *schema, const cJSON *doc, const char *path)
{
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items");
        const cJSON *min = cJSON_GetObjectItemCaseSensitive(schema, "minItems");
        const cJSON *max = cJSON_GetObjectItemCaseSensitive(schema, "maxItems");
        const int n = cJSON_GetArraySize(doc);
        char sub[512];
        int i = 0;
        const cJSON *it;

        if (!cJSON_IsArray(doc))
                return true;
        if (min && n < min->valueint)
                return fail(c, path, "too few items");
        if (max && n > max->valueint)
                return fail(c, path, "too many items");
        cJSON_ArrayForEach(it, doc) {
                snprintf(sub, sizeof(sub), "%s[%d]", path, i++);
                if (items && !validate(c, items, it, sub))
                        return false;
        }
        return true;
}

static const cJSON *resolve_ref(struct ctx *c, const char *ref)
{
        if (strncmp(ref, "#/$defs/", 8) != 0)
                return NULL;
        return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c->root, "$defs"), ref + 8);
}

static bool known_keyword(const char *k)
{
        static const char *const known[] = { "type", "enum", "properties", "required", "additionalProperties",
                                             "items", "minItems", "maxItems", "minimum", "maximum", "oneOf",
                                             "$ref", "$schema", "$id", "title", "description", "$defs" };

        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                if (strcmp(k, known[i]) == 0)
                        return true;
        return false;
}

static bool validate(struct ctx *c, const cJSON *schema, const cJSON *doc, const char *path)
{
        const cJSON *kw, *it;

        cJSON_ArrayForEach(kw, schema)
                if (!known_keyword(kw->string))
                        return fail(c, path, "the schema uses a keyword this validator does not know");
        if ((kw = cJSON_GetObjectItemCaseSensitive(schema, "$ref"))) {
                const cJSON *target = resolve_ref(c, kw->valuestring);

                if (!target)
                        return fail(c, path, "unresolvable $ref");
                if (!validate(c, target, doc, path))
                        return false;
        }
        if ((kw = cJSON_GetObjectItemCaseSensitive(schema, "type")) && !check_type(c, kw, doc, path))
                return false;
        if ((kw = cJSON_GetObjectItemCaseSensitive(schema, "enum"))) {
                bool found = false;

                cJSON_ArrayForEach(it, kw)
                        found = found || json_equal(it, doc);
                if (!found)
                        return fail(c, path, "value not in the enum");
        }
        if (cJSON_IsNumber(doc)) {
                if ((kw = cJSON_GetObjectItemCaseSensitive(schema, "minimum")) && doc->valuedouble < kw->valuedouble)
                        return fail(c, path, "below the minimum");
                if ((kw = cJSON_GetObjectItemCaseSensitive(schema, "maximum")) && doc->valuedouble > kw->valuedouble)
                        return fail(c, path, "above the maximum");
        }
        if ((kw = cJSON_GetObjectItemCaseSensitive(schema, "oneOf"))) {
                int matches = 0;
                char first_err[512] = "";

                cJSON_ArrayForEach(it, kw) {
                        if (validate(c, it, doc, path))
                                matches++;
                        else if (!first_err[0])
                                snprintf(first_err, sizeof(first_err), "%s", c->err);
                }
                if (matches != 1) {
                        char msg[600];

                        snprintf(msg, sizeof(msg), "matches %d of oneOf (%s)", matches, first_err);
                        return fail(c, path, msg);
                }
        }
        return check_object(c, schema, doc, path) && check_array(c, schema, doc, path);
}

bool json_schema_validate(const cJSON *root, const cJSON *schema, const cJSON *doc, char *err, size_t err_size)
{
        struct ctx c = { root, err, err_size };

        err[0] = '\0';
        return validate(&c, schema, doc, "");
}
