/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `isched sim` for the CLI harness: the whole command, but the simulator
 * is never built, so that a fuzzed --duration cannot run for days. */
#include <errno.h>

#include "intellisched/sim.h"

int fuzz_stub_sim_new(const struct isched_sim_config *config, struct isched_sim **ret_sim);

#define isched_sim_new fuzz_stub_sim_new
#include "../../cli/cmd-sim.c"
#undef isched_sim_new

#include "fuzz-cli.h"

int fuzz_stub_sim_new(const struct isched_sim_config *config, struct isched_sim **ret_sim)
{
        (void)config;
        (void)ret_sim;
        return -ECANCELED;
}
