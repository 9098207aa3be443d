/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hand-written number parser of `isched learn` gives exactly the
 * double strtod() gives, and refuses what is not a finite decimal number.
 * The command's source is included whole so that its static parser can
 * be called; the cli helpers it uses are linked (cli/cli-util.c). */
#include <CUnit/CUnit.h>
#include <stdarg.h>

#include "../../cli/cmd-learn.c"

static uint64_t rng_state = 12345;

static uint64_t rnd(void)
{
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

/* Parse s whole; true if it was accepted, with the value. */
static bool parse_all(const char *s, double *v)
{
        const char *end = s + strlen(s), *stop;

        return parse_number(s, end, v, &stop) == NUM_OK && stop == end;
}

static unsigned mismatches;

static void check_same(const char *s)
{
        double v = 0.0, want = strtod(s, NULL);

        if (!parse_all(s, &v) || memcmp(&v, &want, sizeof(v)) != 0) {
                if (mismatches++ < 10)
                        fprintf(stderr, "'%s': parsed %.17g, strtod %.17g\n", s, v, want);
        }
}

static void test_same_as_strtod(void)
{
        static const char *const fixed[] = {
                "0", "-0", "+0", "1", "-1", ".5", "5.", "0.1", "0.3", "1e22", "1e23", "9007199254740993",
                "123456789012345678901234567890", "0.000000000000000000000001", "4.9e-324", "2.2250738585072014e-308",
                "1.7976931348623157e308", "00000.000100", "1E5", "1e-22", "1e-23", "3.14159265358979323846",
                "9999999999999999999", "0.1000000000000000055511151231257827", "7.0e-10", "1e-400",
        };
        char buf[64];

        mismatches = 0;
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
                check_same(fixed[i]);
        for (unsigned i = 0; i < 300000; i++) {
                uint64_t bits = rnd();
                double v;

                memcpy(&v, &bits, sizeof(v));
                if (!isfinite(v))
                        continue;
                switch (i % 6) {
                case 0: snprintf(buf, sizeof(buf), "%.17g", v); break;
                case 1: snprintf(buf, sizeof(buf), "%.6g", (double)(int64_t)rnd() / 1e9); break;
                case 2: snprintf(buf, sizeof(buf), "%.9f", (double)(int64_t)(rnd() >> 20) / 1e6); break;
                case 3: snprintf(buf, sizeof(buf), "%.3e", v); break;
                case 4: snprintf(buf, sizeof(buf), "%llu.%llue%d", (unsigned long long)(rnd() % 100000000000ull),
                                 (unsigned long long)(rnd() % 1000000000ull), (int)(rnd() % 60) - 30); break;
                default: snprintf(buf, sizeof(buf), "%.16g", (double)(rnd() % 1000000) / 1000.0); break;
                }
                check_same(buf);
        }
        CU_ASSERT_EQUAL(mismatches, 0u);
}

static void test_refused(void)
{
        static const char *const bad[] = {
                "", "-", "+", ".", "e5", "1e", "1e+", "nan", "NaN", "inf", "-inf", "infinity", "0x10",
                "1.2.3", "1,5", " 1", "1 ", "--1", "1e5.5", "abc",
        };
        double v;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                CU_ASSERT_FALSE(parse_all(bad[i], &v));
                if (parse_all(bad[i], &v))
                        fprintf(stderr, "'%s' was accepted as %g\n", bad[i], v);
        }
        /* Out of range for a double. */
        const char *huge = "1e400";

        CU_ASSERT_EQUAL(parse_number(huge, huge + 5, &v, &huge), NUM_RANGE);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("learn number parser", NULL, NULL);

        if (!s || !CU_add_test(s, "same as strtod", test_same_as_strtod) ||
            !CU_add_test(s, "refused", test_refused))
                return -1;
        return 0;
}
