/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checked access to the members of a cJSON object.  Every function names
 * the member in its error detail as "<where>.<key>" (where is e.g.
 * "context" or "line 7: counters") and returns -EINVAL for a missing or
 * ill-typed member; out-parameters are written only on success. */
#ifndef ISCHED_JSON_FIELD_H
#define ISCHED_JSON_FIELD_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* The largest integer a JSON number (an IEEE double) holds exactly. */
#define ISCHED_JSON_MAX_EXACT_INT 9007199254740992ull /* 2^53 */

/* A member that must be an object (or an array, for _array). */
int isched__json_object(const cJSON *obj, const char *where, const char *key, const cJSON **ret);
int isched__json_array(const cJSON *obj, const char *where, const char *key, size_t n, const cJSON **ret);

/* A finite number. */
int isched__json_double(const cJSON *obj, const char *where, const char *key, double *ret);

/* A JSON number (or a raw item from isched__json_create_double()) with a
 * finite value; false otherwise, with nothing written. */
bool isched__json_number_value(const cJSON *item, double *ret);

/* A double as a JSON value that reads back bit for bit (cJSON's own
 * printing does not guarantee it); null for NaN and infinities.  The item
 * is a cJSON raw item holding "%.17g" text.  NULL when out of memory. */
cJSON *isched__json_create_double(double v);

/* An array of n doubles, each made by make_number (e.g.
 * isched__json_create_double); NULL when out of memory. */
cJSON *isched__json_create_double_array(const double *v, size_t n, cJSON *(*make_number)(double));

/* An unsigned integer: a JSON number that is a whole number in
 * [0, 2^53], or a string of decimal digits for any uint64 value (the
 * proto3 JSON mapping's convention for 64-bit integers). */
int isched__json_u64(const cJSON *obj, const char *where, const char *key, uint64_t *ret);
int isched__json_u64_item(const cJSON *item, const char *where, uint64_t *ret);

/* A uint64 as a JSON value: a number up to 2^53, a digit string above.
 * Returns NULL when out of memory. */
cJSON *isched__json_create_u64(uint64_t v);

/* A string; *ret points into the cJSON tree. */
int isched__json_string(const cJSON *obj, const char *where, const char *key, const char **ret);

#endif
