/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the agent's state file, as `isched explain --pool`
 * reads it (read_state() of cli/cmd-explain.c, compiled in here).  Any
 * input is refused with EXIT_USAGE or gives a document, never a crash. */
#include "../../cli/cmd-explain.c"

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *path;
        char *json = NULL;
        int rc;

        fuzz_quiet();
        path = fuzz_file(data, size);
        if (!path)
                return 0;
        rc = read_state(path, "Pool-0", &json);
        FUZZ_ASSERT(rc == EXIT_OK || rc == EXIT_USAGE);
        FUZZ_ASSERT((rc == EXIT_OK) == (json != NULL));
        free(json);
        return 0;
}
