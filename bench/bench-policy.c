/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-policy: nanoseconds per choose + update of every policy kind at
 * d = 8, 16, 32 and K = 5 arms, the median of repeated runs; once with
 * the arm only and once with the full explained decision (propensities,
 * estimates, contributions).
 *
 * Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that a
 * busy machine that deschedules the benchmark does not inflate them.
 *
 *   bench-policy [--quick]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <intellisched/intellisched.h>

#define N_CONTEXTS 4096u
#define WARMUP_ROUNDS 2000u
#define REPEATS 7

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng_state = 1;

static double uniform(void)
{
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void)
{
        return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

struct workload {
        unsigned d;
        double *x;      /* N_CONTEXTS * d */
        double *r;      /* N_CONTEXTS * ISCHED_MAX_ARMS */
};

static void workload_make(struct workload *w, unsigned d)
{
        double theta[ISCHED_MAX_ARMS][ISCHED_MAX_FEATURES];

        w->d = d;
        w->x = malloc(sizeof(double) * N_CONTEXTS * d);
        w->r = malloc(sizeof(double) * N_CONTEXTS * ISCHED_MAX_ARMS);
        if (!w->x || !w->r) {
                fprintf(stderr, "bench-policy: out of memory\n");
                exit(1);
        }
        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++)
                for (unsigned i = 0; i < d; i++)
                        theta[a][i] = normal() / sqrt(d);
        for (unsigned t = 0; t < N_CONTEXTS; t++) {
                double *x = w->x + (size_t)t * d;

                x[0] = 1.0;
                for (unsigned i = 1; i < d; i++)
                        x[i] = normal();
                for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                        double s = 0.1 * normal();

                        for (unsigned i = 0; i < d; i++)
                                s += theta[a][i] * x[i];
                        w->r[t * ISCHED_MAX_ARMS + a] = s;
                }
        }
}

static int rounds(struct isched_policy *p, const struct workload *w, unsigned n, unsigned offset, bool explain)
{
        struct isched_decision dec;

        for (unsigned i = 0; i < n; i++) {
                const unsigned t = (offset + i) % N_CONTEXTS;
                const double *x = w->x + (size_t)t * w->d;
                uint32_t arm;

                if (isched_policy_choose(p, x, w->d, explain ? &dec : NULL, &arm) < 0 ||
                    isched_policy_update(p, arm, x, w->d, w->r[t * ISCHED_MAX_ARMS + arm]) < 0) {
                        fprintf(stderr, "bench-policy: %s\n", isched_last_error());
                        return -1;
                }
        }
        return 0;
}

static int cmp_double(const void *a, const void *b)
{
        const double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* Median ns per choose + update over REPEATS runs of about run_s each. */
static int measure(enum isched_policy_kind kind, const struct workload *w, bool explain, double run_s, double *ret_ns)
{
        struct isched_policy_params pp;
        struct isched_policy *p;
        double ns[REPEATS], t0, per;
        unsigned n, offset = 0;

        if (isched_policy_params_init(&pp, kind, w->d) < 0 || isched_policy_new(&pp, &p) < 0) {
                fprintf(stderr, "bench-policy: %s\n", isched_last_error());
                return -1;
        }
        /* Learned statistics, not the identity matrices of a new policy. */
        if (rounds(p, w, WARMUP_ROUNDS, 0, false) < 0)
                return -1;
        offset += WARMUP_ROUNDS;
        t0 = now_s();
        if (rounds(p, w, 200, offset, explain) < 0)
                return -1;
        per = (now_s() - t0) / 200;
        offset += 200;
        n = (unsigned)fmax(100.0, run_s / fmax(per, 1e-9));
        for (unsigned k = 0; k < REPEATS; k++) {
                t0 = now_s();
                if (rounds(p, w, n, offset, explain) < 0)
                        return -1;
                ns[k] = (now_s() - t0) * 1e9 / n;
                offset += n;
        }
        qsort(ns, REPEATS, sizeof(ns[0]), cmp_double);
        *ret_ns = ns[REPEATS / 2];
        isched_policy_free(p);
        return 0;
}

int main(int argc, char **argv)
{
        static const unsigned dims[] = { 8, 16, 32 };
        const bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
        const double run_s = quick ? 0.005 : 0.05;

        printf("bench-policy: K = %u arms, median of %d runs, ns per choose + update\n", ISCHED_MAX_ARMS, REPEATS);
        printf("%-10s %4s %14s %14s %18s %14s\n", "policy", "d", "ns/round", "decisions/s", "explained ns/round",
               "decisions/s");
        for (unsigned k = 0; k < ISCHED_POLICY_KIND_COUNT; k++) {
                for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
                        struct workload w;
                        double ns, ns_explained;

                        rng_state = 1 + dims[i];
                        workload_make(&w, dims[i]);
                        if (measure((enum isched_policy_kind)k, &w, false, run_s, &ns) < 0 ||
                            measure((enum isched_policy_kind)k, &w, true, run_s, &ns_explained) < 0)
                                return 1;
                        printf("%-10s %4u %14.1f %14.0f %18.1f %14.0f\n",
                               isched_policy_kind_to_string((enum isched_policy_kind)k), dims[i], ns, 1e9 / ns,
                               ns_explained, 1e9 / ns_explained);
                        fflush(stdout);
                        free(w.x);
                        free(w.r);
                }
        }
        return 0;
}
