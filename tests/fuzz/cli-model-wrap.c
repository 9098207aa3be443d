/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `isched model` for the CLI harness: the whole command, but a merge never
 * writes its output (a fuzzed -o could name any file). */
#include <errno.h>
#include <stddef.h>

int fuzz_stub_model_merge(const char *const *paths, size_t n_paths, const char *out_path);

#define isched_model_merge fuzz_stub_model_merge
#include "../../cli/cmd-model.c"
#undef isched_model_merge

#include "fuzz-cli.h"

int fuzz_stub_model_merge(const char *const *paths, size_t n_paths, const char *out_path)
{
        (void)paths;
        (void)n_paths;
        (void)out_path;
        return -ECANCELED;
}
