/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: counter traces through the replay backend (`isched
 * run --backend replay --trace FILE`), driven as `isched run` drives it:
 * list the pools, then wait, read and switch until the trace ends.  (The
 * trace reader alone is fuzzed by tests/context/fuzz-trace.c.) */
#include <errno.h>
#include <stdlib.h>

#include "fuzz-common.h"
#include "intellisched/backend.h"

#define MAX_STEPS 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct isched_backend_config cfg = { .size = sizeof(cfg) };
        struct isched_backend *b = NULL;
        struct isched_pool_info *pools = NULL;
        size_t n = 0;
        int r;

        fuzz_quiet();
        cfg.trace_path = fuzz_file(data, size);
        if (!cfg.trace_path)
                return 0;
        r = isched_backend_open("replay", &cfg, &b);
        if (r < 0) {
                FUZZ_ASSERT(r == -EINVAL || r == -EPROTO || r == -ENODATA);
                return 0;
        }
        FUZZ_ASSERT(isched_backend_list_pools(b, &pools, &n) == 0 && n >= 1);
        for (unsigned step = 0; step < MAX_STEPS; step++) {
                for (size_t i = 0; i < n; i++) {
                        struct isched_counters c;
                        enum isched_arrangement a;

                        r = isched_backend_read_counters(b, pools[i].id, &c);
                        if (r == 0)
                                r = isched_backend_get_arrangement(b, pools[i].id, &a);
                        if (r == 0)
                                (void)isched_backend_set_arrangement(b, pools[i].id, (a + 1) % ISCHED_ARR_COUNT);
                }
                r = isched_backend_wait(b, 1000000000ull);
                if (r < 0) {
                        FUZZ_ASSERT(r == -ENODATA || r == -EINVAL || r == -EPROTO);
                        break;
                }
        }
        free(pools);
        isched_backend_unref(b);
        return 0;
}
