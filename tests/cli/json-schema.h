/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small JSON Schema validator for the tests: the subset that
 * docs/explain-schema.json uses (type, enum, properties, required,
 * additionalProperties false, items, minItems, maxItems, minimum, maximum,
 * oneOf, $ref to #/$defs/NAME).  A keyword it does not know fails the
 * validation, so the schema cannot silently outgrow it. */
#ifndef ISCHED_TEST_JSON_SCHEMA_H
#define ISCHED_TEST_JSON_SCHEMA_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Validate doc against schema (root is the schema document, for $ref).
 * On failure err gets the JSON path and what was wrong. */
bool json_schema_validate(const cJSON *root, const cJSON *schema, const cJSON *doc, char *err, size_t err_size);

#endif
