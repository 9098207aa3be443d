/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Write full-feedback CSV data for `isched learn`: a linear bandit with
 * d features (x0 = 1, the rest standard normal) and K arms whose rewards
 * are theta_a . x plus normal noise.
 *
 *   gen-learn-data ROWS D K [SEED] > data.csv
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A small, fast, well-mixed generator (splitmix64); the data need no more. */
static uint64_t state;

static uint64_t next_u64(void)
{
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static double uniform(void)
{
        return ((double)(next_u64() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double normal(void)
{
        return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

int main(int argc, char **argv)
{
        unsigned long rows, d, k;
        double theta[5][64];

        if (argc < 4 || argc > 5) {
                fprintf(stderr, "usage: gen-learn-data ROWS D K [SEED] > data.csv\n");
                return 2;
        }
        rows = strtoul(argv[1], NULL, 10);
        d = strtoul(argv[2], NULL, 10);
        k = strtoul(argv[3], NULL, 10);
        state = argc == 5 ? strtoull(argv[4], NULL, 10) : 1;
        if (d < 1 || d > 64 || k < 1 || k > 5) {
                fprintf(stderr, "gen-learn-data: D must be 1..64 and K 1..5\n");
                return 2;
        }
        for (unsigned long a = 0; a < k; a++)
                for (unsigned long i = 0; i < d; i++)
                        theta[a][i] = normal() / sqrt((double)d);
        for (unsigned long i = 0; i < d; i++)
                printf("x%lu,", i);
        for (unsigned long a = 0; a < k; a++)
                printf("r%lu%c", a, a + 1 < k ? ',' : '\n');
        for (unsigned long t = 0; t < rows; t++) {
                double x[64];

                x[0] = 1.0;
                for (unsigned long i = 1; i < d; i++)
                        x[i] = normal();
                for (unsigned long i = 0; i < d; i++)
                        printf("%.6g,", x[i]);
                for (unsigned long a = 0; a < k; a++) {
                        double r = 0.1 * normal();

                        for (unsigned long i = 0; i < d; i++)
                                r += theta[a][i] * x[i];
                        printf("%.6g%c", r, a + 1 < k ? ',' : '\n');
                }
        }
        return fflush(stdout) == 0 ? 0 : 1;
}
