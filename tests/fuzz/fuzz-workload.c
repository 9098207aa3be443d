/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: simulator workload files (`--workload FILE`).  Any
 * input is refused with -EINVAL or gives a simulation that runs a little
 * simulated time, reads counters and switches arrangements. */
#include <errno.h>
#include <stdlib.h>

#include "fuzz-common.h"
#include "intellisched/sim.h"

#define RUN_NS 20000000ull /* 20 ms of simulated time */

static void exercise(struct isched_sim *sim)
{
        uint32_t n = 0;

        FUZZ_ASSERT(isched_sim_pool_count(sim, &n) == 0 && n >= 1);
        FUZZ_ASSERT(isched_sim_run(sim, RUN_NS) == 0);
        for (uint32_t i = 0; i < n; i++) {
                struct isched_pool_info info;
                struct isched_counters c;

                FUZZ_ASSERT(isched_sim_pool_info(sim, i, &info) == 0);
                FUZZ_ASSERT(isched_sim_read_counters(sim, info.id, &c) == 0);
                if (info.can_switch)
                        FUZZ_ASSERT(isched_sim_set_arrangement(sim, info.id, ISCHED_ARR_CPU) == 0);
        }
        FUZZ_ASSERT(isched_sim_run(sim, RUN_NS) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct isched_sim_config cfg;
        struct isched_sim *sim = NULL;
        char *json = fuzz_strndup(data, size);
        int r;

        fuzz_quiet();
        isched_sim_config_init(&cfg);
        cfg.workload_json = json;
        r = isched_sim_new(&cfg, &sim);
        if (r == 0) {
                exercise(sim);
                isched_sim_free(sim);
        } else {
                FUZZ_ASSERT(r == -EINVAL || r == -EFBIG);
        }
        free(json);
        return 0;
}
