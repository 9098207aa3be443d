/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-field.h"
#include "util/util.h"

static int member(const cJSON *obj, const char *where, const char *key, const cJSON **ret)
{
        const cJSON *item;

        if (!cJSON_IsObject(obj))
                return isched__error(-EINVAL, "%s: not a JSON object", where);
        item = cJSON_GetObjectItemCaseSensitive(obj, key);
        if (!item)
                return isched__error(-EINVAL, "%s.%s is missing", where, key);
        *ret = item;
        return 0;
}

int isched__json_object(const cJSON *obj, const char *where, const char *key, const cJSON **ret)
{
        const cJSON *item;
        int r = member(obj, where, key, &item);

        if (r < 0)
                return r;
        if (!cJSON_IsObject(item))
                return isched__error(-EINVAL, "%s.%s must be a JSON object", where, key);
        *ret = item;
        return 0;
}

int isched__json_array(const cJSON *obj, const char *where, const char *key, size_t n, const cJSON **ret)
{
        const cJSON *item;
        int r = member(obj, where, key, &item);

        if (r < 0)
                return r;
        if (!cJSON_IsArray(item))
                return isched__error(-EINVAL, "%s.%s must be an array", where, key);
        if ((size_t)cJSON_GetArraySize(item) != n)
                return isched__error(-EINVAL, "%s.%s must have %zu elements, not %d", where, key, n,
                                     cJSON_GetArraySize(item));
        *ret = item;
        return 0;
}

bool isched__json_number_value(const cJSON *item, double *ret)
{
        double d;
        char *end;

        if (cJSON_IsNumber(item)) {
                d = item->valuedouble;
        } else if (cJSON_IsRaw(item) && item->valuestring) {
                /* A tree built by isched__json_create_double() and not yet
                 * printed; the raw text is ours, but check it all the same. */
                errno = 0;
                d = strtod(item->valuestring, &end);
                if (errno != 0 || end == item->valuestring || *end != '\0')
                        return false;
        } else {
                return false;
        }
        if (!isched__finite(d))
                return false;
        *ret = d;
        return true;
}

cJSON *isched__json_create_double(double v)
{
        char buf[32];

        /* cJSON prints 15 significant digits whenever they read back within
         * an epsilon, which loses the last bit of many doubles; 17 digits
         * always read back exactly. */
        if (!isched__finite(v))
                return cJSON_CreateNull();
        snprintf(buf, sizeof(buf), "%.17g", v);
        return cJSON_CreateRaw(buf);
}

int isched__json_double(const cJSON *obj, const char *where, const char *key, double *ret)
{
        const cJSON *item;
        int r = member(obj, where, key, &item);

        if (r < 0)
                return r;
        if (!isched__json_number_value(item, ret))
                return isched__error(-EINVAL, "%s.%s must be a finite number", where, key);
        return 0;
}

int isched__json_u64_item(const cJSON *item, const char *where, uint64_t *ret)
{
        if (cJSON_IsNumber(item)) {
                const double d = item->valuedouble;

                if (!(d >= 0.0 && d <= (double)ISCHED_JSON_MAX_EXACT_INT) || d != (double)(uint64_t)d)
                        return isched__error(-EINVAL,
                                             "%s must be a whole number from 0 to 2^53 (write larger values as a string of digits)",
                                             where);
                *ret = (uint64_t)d;
                return 0;
        }
        if (cJSON_IsString(item) && item->valuestring) {
                const char *s = item->valuestring;
                unsigned long long v;
                char *end;

                /* strtoull accepts signs and spaces; a counter is digits only. */
                if (*s < '0' || *s > '9' || strlen(s) > 20)
                        return isched__error(-EINVAL, "%s must be an unsigned integer, not \"%.32s\"", where, s);
                errno = 0;
                v = strtoull(s, &end, 10);
                if (errno != 0 || *end != '\0')
                        return isched__error(-EINVAL, "%s must be an unsigned 64-bit integer, not \"%.32s\"", where,
                                             s);
                *ret = v;
                return 0;
        }
        return isched__error(-EINVAL, "%s must be an unsigned integer", where);
}

int isched__json_u64(const cJSON *obj, const char *where, const char *key, uint64_t *ret)
{
        char path[160];
        const cJSON *item;
        int r = member(obj, where, key, &item);

        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s.%s", where, key);
        return isched__json_u64_item(item, path, ret);
}

cJSON *isched__json_create_u64(uint64_t v)
{
        char buf[24];

        /* A double holds every integer up to 2^53 exactly, and cJSON
         * prints up to 17 digits when fewer would not read back. */
        if (v <= ISCHED_JSON_MAX_EXACT_INT)
                return cJSON_CreateNumber((double)v);
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return cJSON_CreateString(buf);
}

int isched__json_string(const cJSON *obj, const char *where, const char *key, const char **ret)
{
        const cJSON *item;
        int r = member(obj, where, key, &item);

        if (r < 0)
                return r;
        if (!cJSON_IsString(item) || !item->valuestring)
                return isched__error(-EINVAL, "%s.%s must be a string", where, key);
        *ret = item->valuestring;
        return 0;
}

cJSON *isched__json_create_double_array(const double *v, size_t n, cJSON *(*make_number)(double))
{
        cJSON *a = cJSON_CreateArray();

        for (size_t i = 0; a && i < n; i++) {
                cJSON *e = make_number(v[i]);

                if (!e || !cJSON_AddItemToArray(a, e)) {
                        cJSON_Delete(e);
                        cJSON_Delete(a);
                        return NULL;
                }
        }
        return a;
}
