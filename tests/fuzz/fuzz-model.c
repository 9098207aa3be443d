/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: model files, as `isched run --model`, `isched eval
 * --model` and `isched explain --model` load them.  Any input is refused
 * with -EINVAL or -EPROTO, or gives a policy that decides on a context,
 * saves, and loads again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz-common.h"
#include "intellisched/agent.h"
#include "intellisched/model.h"

static void exercise(struct isched_policy *p, struct isched_context *c)
{
        struct isched_policy_params pp;
        struct isched_policy *again = NULL;
        struct isched_context *again_c = NULL;
        struct isched_decision d;
        double x[ISCHED_MAX_FEATURES] = { 1.0 };
        char path[128];
        int r;

        FUZZ_ASSERT(isched_policy_get_params(p, &pp) == 0);
        FUZZ_ASSERT(pp.n_features >= 1 && pp.n_features <= ISCHED_MAX_FEATURES);
        /* What loaded must save and load again, context included. */
        snprintf(path, sizeof(path), "%s/model.json", fuzz_tmpdir());
        FUZZ_ASSERT(isched_model_save(path, p, c) == 0);
        r = isched_model_load(path, &again, &again_c);
        FUZZ_ASSERT(r == 0);
        FUZZ_ASSERT((c == NULL) == (again_c == NULL));
        isched_policy_free(again);
        isched_context_free(again_c);
        /* A decision and an update on the loaded statistics: the numbers
         * were validated on load, so neither may fail on a finite context. */
        r = isched_policy_choose(p, x, pp.n_features, &d, NULL);
        FUZZ_ASSERT(r == 0);
        r = isched_policy_update(p, d.arm, x, pp.n_features, 0.5);
        FUZZ_ASSERT(r == 0 || r == -EDOM);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct isched_policy *p = NULL;
        struct isched_context *c = NULL;
        const char *path;
        char *json = NULL;
        int r;

        fuzz_quiet();
        path = fuzz_file(data, size);
        if (!path)
                return 0;
        r = isched_model_load(path, &p, &c);
        if (r < 0) {
                FUZZ_ASSERT(r == -EINVAL || r == -EPROTO);
                FUZZ_ASSERT(p == NULL && c == NULL);
        } else {
                exercise(p, c);
                isched_policy_free(p);
                isched_context_free(c);
        }
        /* `isched explain --model`: the same file through the agent. */
        r = isched_agent_explain_model(path, &json);
        FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -EPROTO);
        free(json);
        return 0;
}
