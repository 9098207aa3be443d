/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: decision logs, as `isched eval` reads and evaluates
 * them (cli/cmd-eval.c compiled in here, cli/eval-ope.c linked): the
 * reader with either label, then each kind of target, the reward model and
 * the estimators with each interval on whatever numbers the log holds. */
#include "../../cli/cmd-eval.c"

#include "fuzz-common.h"

static void evaluate_log(struct events *ev, bool label_score)
{
        struct cli_policy_opts po;
        struct target t[3] = { { .kind = TARGET_POLICY }, { .kind = TARGET_STATIC }, { .kind = TARGET_UNIFORM } };
        struct ope_options oo;
        int rc, r;

        cli_policy_opts_init(&po);
        ope_options_init(&oo);
        oo.resamples = 20;
        rc = make_candidate(&po, 1, NULL, ev->d, ev->arm_mask, ev->agent_features, &t[0].policy);
        FUZZ_ASSERT(rc == EXIT_OK || rc == EXIT_USAGE);
        if (rc != EXIT_OK)
                return;
        t[1].arm = ev->v[0].arm;
        t[2].arm_mask = ev->arm_mask ? ev->arm_mask : ISCHED_ARM_MASK_ALL;
        for (unsigned k = 0; k < 3; k++) {
                struct results res = { 0 };

                oo.interval = (enum ope_interval_method)k;
                oo.guard_rounds = k == 1 ? OPE_GUARD_REPLAY : OPE_GUARD_EXCLUDE;
                r = evaluate(ev, &t[k], label_score, &oo, &res);
                FUZZ_ASSERT(r == 0 || r == -EDOM || r == -EINVAL);
                if (r == 0) {
                        FUZZ_ASSERT(res.ope.rounds > 0 && res.ope.rounds <= ev->n);
                        FUZZ_ASSERT(!(res.ope.ess < 0));
                }
        }
        isched_policy_free(t[0].policy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const pools[] = { NULL, "Pool-0" };
        const char *path;

        fuzz_quiet();
        path = fuzz_file(data, size);
        if (!path)
                return 0;
        for (size_t i = 0; i < 2 * sizeof(pools) / sizeof(pools[0]); i++) {
                const bool label_score = i & 1;
                struct events ev = { 0 };
                int rc = read_log(path, pools[i / 2], label_score, &ev);

                FUZZ_ASSERT(rc == EXIT_OK || rc == EXIT_USAGE);
                if (rc == EXIT_OK) {
                        FUZZ_ASSERT(ev.n > 0 && (label_score ? ev.scored : ev.rewarded) > 0 && ev.d >= 1);
                        evaluate_log(&ev, label_score);
                }
                events_free(&ev);
        }
        return 0;
}
