/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ope-static: the ground truth of the off-policy evaluation check
 * (bench/ope-validate, docs/ope-validation.md).
 *
 * Runs the simulator with one arrangement held fixed and prints, as one
 * JSON document, the score of every window the agent would have measured
 * had it never switched: windows of EPOCH seconds from the first snapshot,
 * scored with the agent's default score (isched_context_score with
 * isched_context_params_init's weights), snapshots every INTERVAL seconds
 * as the agent reads them.  The mean of these scores over seeds is what
 * `isched eval --policy static:ARR` estimates with the score as its label.
 *
 *   ope-static --scenario NAME --arrangement ARR [--seed S] [--duration SEC]
 *              [--interval SEC] [--epoch SEC]
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intellisched/backend.h"
#include "intellisched/context.h"

#define NS_PER_S 1000000000.0

static void usage(FILE *f)
{
        fprintf(f, "Usage: ope-static --scenario NAME --arrangement ARR [--seed S] [--duration SEC]\n"
                   "                  [--interval SEC] [--epoch SEC]\n"
                   "Print the window scores of a fixed-arrangement simulator run (JSON).\n");
}

static int fail(const char *what, int r)
{
        fprintf(stderr, "ope-static: %s: %s\n", what, strerror(-r));
        return 1;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "scenario", required_argument, NULL, 's' },
                { "arrangement", required_argument, NULL, 'a' },
                { "seed", required_argument, NULL, 'S' },
                { "duration", required_argument, NULL, 'd' },
                { "interval", required_argument, NULL, 'i' },
                { "epoch", required_argument, NULL, 'e' },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        struct isched_backend_config bc = { .size = sizeof(bc) };
        struct isched_context_params cp;
        struct isched_backend *b = NULL;
        struct isched_pool_info *pools = NULL;
        struct isched_counters start, cur;
        enum isched_arrangement arr = ISCHED_ARR_SOCKET;
        const char *scenario = NULL, *arr_name = NULL;
        double duration_s = 600, interval_s = 1, epoch_s = 5, sum = 0;
        unsigned long long seed = 1;
        uint64_t interval_ns, ticks_per_epoch, steps;
        size_t n_pools = 0, n = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case 's': scenario = optarg; break;
                case 'a': arr_name = optarg; break;
                case 'S': seed = strtoull(optarg, NULL, 10); break;
                case 'd': duration_s = atof(optarg); break;
                case 'i': interval_s = atof(optarg); break;
                case 'e': epoch_s = atof(optarg); break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (!scenario || !arr_name || isched_arrangement_from_string(arr_name, &arr) < 0 || !(interval_s > 0) ||
            !(epoch_s >= interval_s) || !(duration_s >= epoch_s) ||
            fabs(epoch_s / interval_s - round(epoch_s / interval_s)) > 1e-9) {
                usage(stderr);
                return 2;
        }
        interval_ns = (uint64_t)llround(interval_s * NS_PER_S);
        ticks_per_epoch = (uint64_t)llround(epoch_s / interval_s);
        steps = (uint64_t)floor(duration_s / interval_s + 1e-9);
        bc.scenario = scenario;
        bc.seed = seed;
        r = isched_backend_open("sim", &bc, &b);
        if (r < 0)
                return fail(scenario, r);
        r = isched_backend_list_pools(b, &pools, &n_pools);
        if (r < 0 || n_pools == 0)
                return fail("cannot list the pools", r < 0 ? r : -ENOENT);
        r = isched_backend_set_arrangement(b, pools[0].id, arr);
        if (r == 0)
                r = isched_backend_read_counters(b, pools[0].id, &start);
        if (r < 0)
                return fail("cannot start", r);
        isched_context_params_init(&cp);
        printf("{\"scenario\": \"%s\", \"arm\": \"%s\", \"seed\": %llu, \"duration_s\": %g, \"interval_s\": %g, "
               "\"epoch_s\": %g, \"window_scores\": [",
               scenario, isched_arrangement_to_string(arr), seed, duration_s, interval_s, epoch_s);
        for (uint64_t t = 1; t <= steps; t++) {
                struct isched_window w;
                double s;

                r = isched_backend_wait(b, interval_ns);
                if (r == 0)
                        r = isched_backend_read_counters(b, pools[0].id, &cur);
                if (r < 0)
                        return fail("simulation failed", r);
                if (t % ticks_per_epoch)
                        continue;
                r = isched_window_from_counters(&start, &cur, &w);
                if (r == 0)
                        r = isched_context_score(&cp, &w, &s);
                start = cur;
                if (r < 0)
                        continue; /* the agent skips such a window too */
                printf("%s%.17g", n ? ", " : "", s);
                sum += s;
                n++;
        }
        printf("], \"windows\": %zu, \"mean\": %.17g}\n", n, n ? sum / (double)n : NAN);
        free(pools);
        isched_backend_unref(b);
        return 0;
}
