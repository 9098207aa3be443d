/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file model.h
 * Model files: a policy's whole state (and optionally the context
 * builder's normalisation and baseline) as versioned JSON.
 *
 * Files are written atomically (temporary file, fsync, rename) with mode
 * 0600 and loaded with full validation: a file of another format version,
 * arm set or feature schema is refused with a clear error, never silently
 * reset.  A policy saved and loaded again decides exactly as if it had
 * never stopped.
 */
#ifndef INTELLISCHED_MODEL_H
#define INTELLISCHED_MODEL_H

#include <stddef.h>

#include "common.h"
#include "context.h"
#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The model file format version this library writes ("schema":
 *  "isched-model-v2", docs/json.md); it also reads version 1. */
#define ISCHED_MODEL_FORMAT_VERSION 2

/**
 * Save a policy, and optionally a context builder, to @p path atomically.
 *
 * @param context may be NULL (e.g. `isched learn`, whose contexts come from a file).
 * @return 0; -EINVAL; -ELOOP if @p path is a symbolic link; -EPERM for a
 *         world-writable directory; other -errno from the file system.
 */
int isched_model_save(const char *path, const struct isched_policy *policy,
                      const struct isched_context *context);

/**
 * Load a model file.
 *
 * @param ret_policy written on success.
 * @param ret_context if not NULL, written on success with the saved context
 *        builder, or NULL if the file has none.
 * @return 0; -ENOENT; -EINVAL for a malformed or inconsistent file (the
 *         detail names the field); -EPROTO for another format version;
 *         -EFBIG for a file over 64 MiB; other -errno from the file system.
 */
int isched_model_load(const char *path, struct isched_policy **ret_policy,
                      struct isched_context **ret_context);

/**
 * Check that a loaded policy fits what the caller will feed it.
 *
 * @return 0, or -EINVAL naming the mismatch (kind, feature schema, d).
 */
int isched_model_check_compatible(const struct isched_policy *policy, enum isched_policy_kind kind,
                                  const char *feature_schema, uint32_t n_features);

/**
 * Merge the sufficient statistics of several model files of the same
 * policy kind, arm set and feature schema (e.g. from several hosts) and
 * write the result to @p out_path.  For LinUCB, lingreedy and Thompson
 * sampling the merge is exact: A = lambda*I + sum_i (A_i - lambda*I),
 * b = sum_i b_i.  Discounted LinUCB statistics are merged the same way,
 * which treats every host's history as equally recent (docs/model.md).
 *
 * @return 0; -EINVAL for incompatible inputs (detail names the file and field).
 */
int isched_model_merge(const char *const *paths, size_t n_paths, const char *out_path);

#ifdef __cplusplus
}
#endif

#endif
