/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the `isched learn` CSV parser (cli/cmd-learn.c
 * compiled in here), on an exact-size buffer so that the sanitizers see
 * any read past the end (the command's sliding buffer is larger than what
 * it holds).  Every number accepted must be finite and equal to
 * what strtod() gives for the same text; small inputs also drive a policy
 * as the command does. */
#include "../../cli/cmd-learn.c"

#include "fuzz-common.h"

static void check_numbers(const uint8_t *data, size_t size)
{
        const char *p = (const char *)data, *end = p + size, *q = NULL;
        double v;

        if (parse_number(p, end, &v, &q) != NUM_OK)
                return;
        FUZZ_ASSERT(q > p && q <= end);
        FUZZ_ASSERT(isfinite(v));
        {
                char *text = fuzz_strndup(data, (size_t)(q - p));

                FUZZ_ASSERT(strtod(text, NULL) == v);
                free(text);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct csv c = { .in = { .path = "fuzz.csv", .fd = -1, .data = (const char *)data, .len = size, .eof = true } };
        struct isched_policy_params pp;
        struct isched_policy *p = NULL;
        double x[ISCHED_MAX_FEATURES], rw[ISCHED_MAX_ARMS];
        unsigned rows = 0;
        int rc;

        fuzz_quiet();
        check_numbers(data, size);
        if (parse_header(&c) != EXIT_OK)
                return 0;
        FUZZ_ASSERT(c.d >= 1 && c.d <= ISCHED_MAX_FEATURES && c.k >= 1 && c.k <= ISCHED_MAX_ARMS);
        isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, c.d);
        pp.arm_mask = (1u << c.k) - 1u;
        if (c.d <= 8 && isched_policy_new(&pp, &p) < 0)
                fuzz_fail(__FILE__, __LINE__, "policy for a valid header");
        while ((rc = next_row(&c, x, rw)) == EXIT_OK) {
                FUZZ_ASSERT(c.p <= c.end);
                for (unsigned i = 0; i < c.d; i++)
                        FUZZ_ASSERT(isfinite(x[i]));
                for (unsigned i = 0; i < c.k; i++)
                        FUZZ_ASSERT(isfinite(rw[i]));
                if (p && rows++ < 64) {
                        uint32_t arm;
                        int r = isched_policy_choose(p, x, c.d, NULL, &arm);

                        if (r == 0)
                                r = isched_policy_update(p, arm, x, c.d, rw[arm]);
                        /* The parser applies the policies' own bound to every value. */
                        FUZZ_ASSERT(r == 0);
                }
        }
        FUZZ_ASSERT(rc == -1 || rc == EXIT_USAGE);
        isched_policy_free(p);
        return 0;
}
