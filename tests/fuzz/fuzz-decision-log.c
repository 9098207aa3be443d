/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: decision logs, as `isched eval` reads and evaluates
 * them (cli/cmd-eval.c compiled in here): the reader, then the candidate,
 * the reward model and the estimators on whatever numbers the log holds. */
#include "../../cli/cmd-eval.c"

#include "fuzz-common.h"

static void evaluate_log(struct events *ev)
{
        struct cli_policy_opts po;
        struct isched_policy *cand = NULL, *fit = NULL;
        struct results res = { 0 };
        int rc, r;

        cli_policy_opts_init(&po);
        rc = make_candidate(&po, 1, NULL, ev->d, ev->arm_mask, ev->agent_features, &cand);
        FUZZ_ASSERT(rc == EXIT_OK || rc == EXIT_USAGE);
        if (rc != EXIT_OK)
                return;
        r = fit_reward_model(ev, &fit);
        if (r == 0)
                r = evaluate(ev, cand, 0, fit, &res);
        FUZZ_ASSERT(r == 0 || r == -EDOM || r == -EINVAL);
        isched_policy_free(cand);
        isched_policy_free(fit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const pools[] = { NULL, "Pool-0" };
        const char *path;

        fuzz_quiet();
        path = fuzz_file(data, size);
        if (!path)
                return 0;
        for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
                struct events ev = { 0 };
                int rc = read_log(path, pools[i], &ev);

                FUZZ_ASSERT(rc == EXIT_OK || rc == EXIT_USAGE);
                if (rc == EXIT_OK) {
                        FUZZ_ASSERT(ev.n > 0 && ev.rewarded > 0 && ev.d >= 1);
                        evaluate_log(&ev);
                }
                free(ev.v);
        }
        return 0;
}
