/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON form of a context builder, for model files (lib/model).  The
 * object written and accepted is documented in docs/context-and-reward.md
 * ("Saved state"). */
#ifndef ISCHED_CONTEXT_JSON_H
#define ISCHED_CONTEXT_JSON_H

#include <cJSON.h>

#include "intellisched/context.h"

/* Build the JSON object of @c: schema, parameters, normaliser and
 * baseline.  *ret is a new cJSON tree the caller deletes with
 * cJSON_Delete(); written only on success.
 * Returns 0, -EINVAL (NULL argument), -ENOMEM. */
int isched__context_to_json(const struct isched_context *c, cJSON **ret);

/* Rebuild a context builder from the object isched__context_to_json()
 * wrote.  Everything is checked: the schema and feature names must be this
 * library's, every number finite and in range; unknown keys are ignored.
 * Never crashes, whatever j holds.  *ret is written only on success;
 * release it with isched_context_free().
 * Returns 0, -EINVAL (the detail names the bad field, e.g.
 * "context.normaliser.m2[3]"), -ENOMEM. */
int isched__context_from_json(const cJSON *j, struct isched_context **ret);

#endif
