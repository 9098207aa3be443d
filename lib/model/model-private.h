/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Model files: the policy <-> JSON conversion shared by load, save and merge. */
#ifndef ISCHED_MODEL_PRIVATE_H
#define ISCHED_MODEL_PRIVATE_H

#include <cjson/cJSON.h>

#include "intellisched/context.h"
#include "intellisched/policy.h"

/* The "format" member of every model file. */
#define ISCHED_MODEL_FORMAT_NAME "intellisched-model" /* the format member of version 1 files */
#define ISCHED_MODEL_SCHEMA "isched-model-v2"

/* The largest model file read (d = 64 takes about 1.5 MB). */
#define ISCHED_MODEL_MAX_BYTES (64u << 20)

/* The whole document of a policy (and, if not NULL, a context section
 * already in JSON form, which is duplicated). */
int isched__model_to_json(const struct isched_policy *policy, const cJSON *context_json, cJSON **ret);

/* Validate a document and build its policy; ret_context_json (if not NULL)
 * points into the document at the "context" member, or NULL.  -EPROTO for
 * another format version, -EINVAL naming the field for the rest. */
int isched__model_from_json(const cJSON *doc, struct isched_policy **ret_policy,
                            const cJSON **ret_context_json);

/* Read and parse a file into a document (-ENOENT, -EINVAL for bad JSON). */
int isched__model_read_json(const char *path, cJSON **ret_doc);

/* Print a document and write it atomically with mode 0600. */
int isched__model_write_json(const char *path, const cJSON *doc);

#endif
