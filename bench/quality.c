/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* quality: how well the agent learns on the embedded credit2 simulator.
 *
 * For every scenario and seed it runs
 *   - each arrangement held fixed (the static baselines, socket is Xen's default),
 *   - the per-phase oracle: the best static arrangement of each phase, switched
 *     at the phase boundaries through the same backend call, so it pays the
 *     same switch cost as the agent,
 *   - the agent with each policy, cold (a fresh policy) and warm (the merged
 *     models the cold runs of the other scenarios left behind), under one or
 *     more agent configurations,
 * and reports throughput, mean and p99 wake latency, the score
 * (isched_context_score, default weights), the switches and the fraction of
 * the oracle's score reached, with 95% t-intervals over seeds.
 * docs/results.md defines every number; bench/run drives this program.
 *
 *   quality [OPTIONS]            the evaluation (quality --help)
 *   quality overhead [OPTIONS]   CPU time and memory of the agent per epoch
 *
 * Runs are independent processes (fork per run, --jobs at a time): each
 * writes one JSON file under OUT/runs/, and the summary is built from those
 * files only.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sort_double.h>
#include <gsl/gsl_statistics_double.h>

#include <intellisched/intellisched.h>

#define NS_PER_S 1000000000ull
#define MAX_SCENARIOS 32
#define MAX_SEEDS 64
#define MAX_SAMPLES 100000
#define MAX_PHASES 16

/* A score spread (best minus worst static) below this, about 1%, means the
 * arrangement does not matter in that scenario: the fraction of the oracle
 * is then not defined (docs/results.md). */
#define MIN_SPREAD 0.01

/* The phase schedules of the built-in scenarios.  sim.h has no call that
 * returns them, so they are written here from lib/sim/sim-scenarios.c;
 * phases repeat cyclically.  A scenario not listed has one phase. */
static const struct {
        const char *scenario;
        unsigned n;
        double duration_s[MAX_PHASES];
} phase_table[] = {
        { "phased", 4, { 5, 5, 5, 5 } },
};

/* The policies the issue asks for; lingreedy can be added with --policies. */
static const enum isched_policy_kind default_policies[] = {
        ISCHED_POLICY_EGREEDY, ISCHED_POLICY_LINUCB, ISCHED_POLICY_DLINUCB, ISCHED_POLICY_LINTS,
};

/* Agent configurations.  "default" is isched_agent_config_init().  "fast"
 * is the same loop with every time divided by 5 (interval 0.2 s, 1-s decision
 * windows, 2-s dwell, 5 x the switch budget): the simulator's phases last
 * 5 s where a real host's last minutes, so this is the default scaled to
 * the simulated workload's time scale (docs/results.md). */
struct agent_cfg {
        const char *name;
        double interval_s;
        unsigned epoch_intervals;
        unsigned settle_intervals;
        double min_dwell_s;
        unsigned max_switches_per_hour;
};

static const struct agent_cfg agent_cfgs[] = {
        { "default", 0, 0, 0, 0, 0 },   /* zeros: keep isched_agent_config_init()'s values */
        { "fast", 0.2, 5, 1, 2.0, 300 },
};
#define N_AGENT_CFGS (sizeof(agent_cfgs) / sizeof(agent_cfgs[0]))

enum job_kind { JOB_STATIC, JOB_ORACLE, JOB_AGENT };

struct job {
        enum job_kind kind;
        const char *scenario;
        unsigned seed;
        enum isched_arrangement arrangement;   /* JOB_STATIC */
        enum isched_policy_kind policy;        /* JOB_AGENT */
        bool warm;                             /* JOB_AGENT */
        unsigned cfg;                          /* JOB_AGENT: index in agent_cfgs */
        enum isched_arrangement plan[MAX_PHASES]; /* JOB_ORACLE: arrangement per phase */
        char method[64];
        double cost;                           /* expected cost, to start long runs first */
};

struct opts {
        const char *out;
        const char *scenarios[MAX_SCENARIOS];
        unsigned n_scenarios;
        unsigned seeds;
        double duration_s;
        double sample_s;
        unsigned jobs;
        enum isched_policy_kind policies[ISCHED_POLICY_KIND_COUNT];
        unsigned n_policies;
        bool cfg_enabled[N_AGENT_CFGS];
        bool warm;
        const char *series_scenario;
        const char *observation;    /* what the agent learns from (docs/guest-work.md); NULL: ground-truth */
};

/* The observation mode of every backend opened (--observation): the agent
 * learns from what it shows, the bench always measures the ground truth. */
static const char *observation_mode;

/* ------------------------------------------------------------------ utilities */

static void die(const char *what, int r)
{
        fprintf(stderr, "quality: %s: %s (%s)\n", what, strerror(r < 0 ? -r : r), isched_last_error());
        exit(1);
}

static char *read_text(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf = NULL;
        long n;

        if (!f)
                return NULL;
        if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
                buf = malloc((size_t)n + 1);
                if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
                        buf[n] = '\0';
                } else {
                        free(buf);
                        buf = NULL;
                }
        }
        fclose(f);
        return buf;
}

static int write_text(const char *path, const char *text)
{
        char tmp[4096];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        f = fopen(tmp, "w");
        if (!f)
                return -errno;
        fputs(text, f);
        if (fclose(f) != 0)
                return -EIO;
        return rename(tmp, path) == 0 ? 0 : -errno;
}

static int write_json(const char *path, const cJSON *json)
{
        char *text = cJSON_Print(json);
        int r;

        if (!text)
                return -ENOMEM;
        r = write_text(path, text);
        free(text);
        return r;
}

static void mkdir_or_die(const char *path)
{
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "quality: cannot create %s: %s\n", path, strerror(errno));
                exit(1);
        }
}

static double cpu_now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static unsigned scenario_phases(const char *scenario, double *ret_duration_s)
{
        for (size_t i = 0; i < sizeof(phase_table) / sizeof(phase_table[0]); i++) {
                if (strcmp(phase_table[i].scenario, scenario) != 0)
                        continue;
                memcpy(ret_duration_s, phase_table[i].duration_s, sizeof(double) * phase_table[i].n);
                return phase_table[i].n;
        }
        return 1;
}

/* The phase in force at time t (seconds), phases repeating cyclically. */
static unsigned phase_at(const double *duration_s, unsigned n, double t)
{
        double cycle = 0;

        if (n <= 1)
                return 0;
        for (unsigned i = 0; i < n; i++)
                cycle += duration_s[i];
        t = fmod(t, cycle);
        for (unsigned i = 0; i < n; i++) {
                if (t < duration_s[i] - 1e-9)
                        return i;
                t -= duration_s[i];
        }
        return n - 1;
}

static void run_path(char *buf, size_t size, const struct opts *o, const char *method, const char *scenario,
                     unsigned seed)
{
        snprintf(buf, size, "%s/runs/%s--%s--%u.json", o->out, scenario, method, seed);
}

static void model_path(char *buf, size_t size, const struct opts *o, const char *what, const char *scenario,
                       const char *method, unsigned seed)
{
        snprintf(buf, size, "%s/models/%s--%s--%s--%u.json", o->out, what, scenario, method, seed);
}

/* ------------------------------------------------------------------ one run */

struct run_result {
        double score, throughput, lat_mean_us, lat_p99_us;
        uint64_t switches, epochs;
        double agent_cpu_s;
        unsigned n_samples;
        double *sample_score;       /* score of each sample window, NaN if it has none */
        int *sample_arrangement;    /* arrangement in force at the end of the window */
};

static double window_score(const struct isched_counters *a, const struct isched_counters *b,
                           struct isched_window *ret_w)
{
        struct isched_context_params cp;
        struct isched_window w;
        double s;

        isched_context_params_init(&cp);
        if (isched_window_from_counters(a, b, &w) < 0 || isched_context_score(&cp, &w, &s) < 0)
                return NAN;
        if (ret_w)
                *ret_w = w;
        return s;
}

static struct isched_backend *open_sim(const char *scenario, unsigned seed, struct isched_pool_info *ret_pool)
{
        struct isched_backend_config bc = { .size = sizeof(bc), .scenario = scenario, .seed = seed,
                                            .observation = observation_mode };
        struct isched_backend *b = NULL;
        struct isched_pool_info *pools = NULL;
        size_t n = 0;
        int r;

        r = isched_backend_open("sim", &bc, &b);
        if (r < 0)
                die(scenario, r);
        r = isched_backend_list_pools(b, &pools, &n);
        if (r < 0 || n == 0)
                die("cannot list the simulator's pools", r < 0 ? r : -ENOENT);
        /* Every built-in scenario has one pool; the bench measures pool 0. */
        *ret_pool = pools[0];
        free(pools);
        return b;
}

/* The ground truth of the simulation behind b, whatever the agent observes:
 * every method is judged on the work really done. */
static void read_truth(struct isched_backend *b, uint32_t pool, struct isched_counters *ret)
{
        struct isched_sim *sim;
        int r = isched_sim_from_backend(b, &sim);

        if (r == 0)
                r = isched_sim_read_counters(sim, pool, ret);
        if (r < 0)
                die("cannot read counters", r);
}

static struct isched_policy *new_policy(enum isched_policy_kind kind, unsigned seed)
{
        static const char *names[ISCHED_F_COUNT];
        struct isched_policy_params pp;
        struct isched_policy *p = NULL;
        int r;

        for (unsigned i = 0; i < ISCHED_F_COUNT; i++)
                names[i] = isched_feature_name(i);
        isched_policy_params_init(&pp, kind, ISCHED_F_COUNT);
        pp.seed = 1000003ull * seed + (uint64_t)kind;
        pp.feature_schema = ISCHED_FEATURE_SCHEMA;
        pp.feature_names = names;
        r = isched_policy_new(&pp, &p);
        if (r < 0)
                die("cannot create the policy", r);
        return p;
}

/* Merge the cold models of every other scenario (same seed, policy and
 * configuration) into one warm-start model.  The agent masks arms that are
 * duplicates on its host, and model files keep that mask, which
 * isched_model_merge() refuses to mix: each model is widened to all arms
 * first (an arm's statistics are kept, the mask only restricts choice). */
static struct isched_policy *warm_policy(const struct opts *o, const struct job *j, const char *cold_method)
{
        const char *paths[MAX_SCENARIOS];
        char bufs[MAX_SCENARIOS][4096], merged[4096];
        struct isched_policy *p = NULL;
        unsigned n = 0;
        int r;

        for (unsigned i = 0; i < o->n_scenarios; i++) {
                char cold[4096];

                if (strcmp(o->scenarios[i], j->scenario) == 0)
                        continue;
                model_path(cold, sizeof(cold), o, "cold", o->scenarios[i], cold_method, j->seed);
                r = isched_model_load(cold, &p, NULL);
                if (r < 0)
                        die(cold, r);
                r = isched_policy_set_arm_mask(p, ISCHED_ARM_MASK_ALL);
                if (r < 0)
                        die("cannot widen the arm mask", r);
                model_path(bufs[n], sizeof(bufs[n]), o, "wide", o->scenarios[i], cold_method, j->seed);
                /* Each warm run writes its own widened copies: runs are parallel. */
                strcat(bufs[n], ".");
                strcat(bufs[n], j->scenario);
                r = isched_model_save(bufs[n], p, NULL);
                if (r < 0)
                        die(bufs[n], r);
                p = isched_policy_free(p);
                paths[n] = bufs[n];
                n++;
        }
        if (n == 0) {
                fprintf(stderr, "quality: a warm start needs at least two scenarios\n");
                exit(1);
        }
        model_path(merged, sizeof(merged), o, "warm", j->scenario, cold_method, j->seed);
        r = isched_model_merge(paths, n, merged);
        if (r < 0)
                die("cannot merge the cold models", r);
        for (unsigned i = 0; i < n; i++)
                unlink(paths[i]);
        r = isched_model_load(merged, &p, NULL);
        if (r < 0)
                die(merged, r);
        return p;
}

static void agent_config(const struct agent_cfg *c, const char *pool, struct isched_agent_config *ret)
{
        isched_agent_config_init(ret);
        ret->pool = pool;
        if (c->interval_s > 0) {
                ret->interval_ns = (uint64_t)llround(c->interval_s * NS_PER_S);
                ret->epoch_intervals = c->epoch_intervals;
                ret->settle_intervals = c->settle_intervals;
                ret->min_dwell_ns = (uint64_t)llround(c->min_dwell_s * NS_PER_S);
                ret->max_switches_per_hour = c->max_switches_per_hour;
        }
}

static void run_job(const struct opts *o, const struct job *j, struct run_result *res)
{
        const uint64_t duration_ns = (uint64_t)llround(o->duration_s * NS_PER_S);
        const uint64_t sample_ns = (uint64_t)llround(o->sample_s * NS_PER_S);
        double phase_s[MAX_PHASES];
        const unsigned n_phases = scenario_phases(j->scenario, phase_s);
        struct isched_pool_info pool;
        struct isched_backend *b = open_sim(j->scenario, j->seed, &pool);
        struct isched_agent *agent = NULL;
        struct isched_agent_config ac;
        struct isched_counters c0, prev, cur;
        struct isched_window w = { .throughput = NAN, .lat_mean_us = NAN, .lat_p99_us = NAN };
        uint64_t step_ns = sample_ns, t;
        enum isched_arrangement current = ISCHED_ARR_SOCKET;
        int r;

        memset(res, 0, sizeof(*res));
        res->sample_score = calloc(duration_ns / sample_ns + 1, sizeof(double));
        res->sample_arrangement = calloc(duration_ns / sample_ns + 1, sizeof(int));
        if (!res->sample_score || !res->sample_arrangement)
                die("out of memory", -ENOMEM);
        if (j->kind == JOB_AGENT) {
                struct isched_policy *p;
                struct isched_context_params cp;
                struct isched_context *ctx = NULL;
                char cold_method[64];

                agent_config(&agent_cfgs[j->cfg], pool.name, &ac);
                step_ns = ac.interval_ns;
                if (sample_ns % step_ns != 0) {
                        fprintf(stderr, "quality: the sample window must be a multiple of the agent interval\n");
                        exit(2);
                }
                snprintf(cold_method, sizeof(cold_method), "%s-cold-%s", isched_policy_kind_to_string(j->policy),
                         agent_cfgs[j->cfg].name);
                p = j->warm ? warm_policy(o, j, cold_method) : new_policy(j->policy, j->seed);
                isched_context_params_init(&cp);
                r = isched_context_new(&cp, &ctx);
                if (r < 0)
                        die("cannot create the context", r);
                r = isched_agent_new(&ac, b, p, ctx, &agent);
                if (r < 0)
                        die("cannot create the agent", r);
                isched_policy_free(p);
                isched_context_free(ctx);
        } else {
                current = j->kind == JOB_STATIC ? j->arrangement : j->plan[0];
                r = isched_backend_set_arrangement(b, pool.id, current);
                if (r < 0)
                        die("cannot set the arrangement", r);
        }
        read_truth(b, pool.id, &c0);
        prev = c0;
        for (t = step_ns; t <= duration_ns; t += step_ns) {
                r = isched_backend_wait(b, step_ns);
                if (r < 0)
                        die("simulation failed", r);
                if (agent) {
                        const double t0 = cpu_now_s();

                        r = isched_agent_tick(agent);
                        res->agent_cpu_s += cpu_now_s() - t0;
                        if (r < 0)
                                die("agent tick failed", r);
                } else if (j->kind == JOB_ORACLE) {
                        const enum isched_arrangement want =
                                j->plan[phase_at(phase_s, n_phases, (double)t / NS_PER_S)];

                        if (want != current) {
                                r = isched_backend_set_arrangement(b, pool.id, want);
                                if (r < 0)
                                        die("cannot set the arrangement", r);
                                current = want;
                                res->switches++;
                        }
                }
                if (t % sample_ns == 0) {
                        read_truth(b, pool.id, &cur);
                        res->sample_score[res->n_samples] = window_score(&prev, &cur, NULL);
                        res->sample_arrangement[res->n_samples] = (int)cur.arrangement;
                        res->n_samples++;
                        prev = cur;
                }
        }
        res->score = window_score(&c0, &prev, &w);
        res->throughput = w.throughput;
        res->lat_mean_us = w.lat_mean_us;
        res->lat_p99_us = w.lat_p99_us;
        if (agent) {
                struct isched_agent_status st;

                isched_agent_get_status(agent, &st);
                res->switches = st.switches;
                res->epochs = st.epochs;
                if (!j->warm) {
                        char path[4096];

                        model_path(path, sizeof(path), o, "cold", j->scenario, j->method, j->seed);
                        r = isched_agent_save_model(agent, path);
                        if (r < 0)
                                die(path, r);
                }
                isched_agent_unref(agent);
        }
        isched_backend_unref(b);
}

static void save_result(const struct opts *o, const struct job *j, const struct run_result *res)
{
        cJSON *root = cJSON_CreateObject();
        cJSON *scores = cJSON_AddArrayToObject(root, "sample_score");
        cJSON *arrs = cJSON_AddArrayToObject(root, "sample_arrangement");
        char path[4096];
        int r;

        cJSON_AddStringToObject(root, "scenario", j->scenario);
        cJSON_AddNumberToObject(root, "seed", j->seed);
        cJSON_AddStringToObject(root, "method", j->method);
        cJSON_AddNumberToObject(root, "score", res->score);
        cJSON_AddNumberToObject(root, "throughput", res->throughput);
        cJSON_AddNumberToObject(root, "lat_mean_us", res->lat_mean_us);
        cJSON_AddNumberToObject(root, "lat_p99_us", res->lat_p99_us);
        cJSON_AddNumberToObject(root, "switches", (double)res->switches);
        cJSON_AddNumberToObject(root, "epochs", (double)res->epochs);
        cJSON_AddNumberToObject(root, "agent_cpu_s", res->agent_cpu_s);
        cJSON_AddNumberToObject(root, "sample_s", o->sample_s);
        for (unsigned i = 0; i < res->n_samples; i++) {
                /* cJSON writes NaN as null, which is what a window without a score is. */
                cJSON_AddItemToArray(scores, cJSON_CreateNumber(res->sample_score[i]));
                cJSON_AddItemToArray(arrs, cJSON_CreateNumber(res->sample_arrangement[i]));
        }
        run_path(path, sizeof(path), o, j->method, j->scenario, j->seed);
        r = write_json(path, root);
        cJSON_Delete(root);
        if (r < 0)
                die(path, r);
}

/* ------------------------------------------------------------------ running jobs in parallel */

static int by_cost_desc(const void *a, const void *b)
{
        const struct job *x = a, *y = b;

        return (x->cost < y->cost) - (x->cost > y->cost);
}

/* One process per run, at most o->jobs at a time, longest first. */
static void run_all(const struct opts *o, struct job *jobs, unsigned n)
{
        unsigned running = 0, next = 0, failed = 0;

        qsort(jobs, n, sizeof(*jobs), by_cost_desc);
        fflush(NULL);
        while (next < n || running > 0) {
                int status;

                if (next < n && running < o->jobs) {
                        const pid_t pid = fork();

                        if (pid < 0)
                                die("fork", -errno);
                        if (pid == 0) {
                                struct run_result res;

                                run_job(o, &jobs[next], &res);
                                save_result(o, &jobs[next], &res);
                                _exit(0);
                        }
                        running++;
                        next++;
                        continue;
                }
                if (wait(&status) > 0) {
                        running--;
                        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                                failed++;
                }
        }
        if (failed) {
                fprintf(stderr, "quality: %u run(s) failed\n", failed);
                exit(1);
        }
}

/* ------------------------------------------------------------------ the plan */

static double scenario_cost(const char *scenario)
{
        /* Relative wall time per simulated second, measured once; only the order of runs depends on it. */
        if (strcmp(scenario, "nfv") == 0)
                return 10;
        if (strcmp(scenario, "mixed") == 0)
                return 4;
        return 1;
}

/* Arrangement a gives the same runqueues as a lower one on this host: the
 * agent masks it and its static run would repeat the lower one's. */
static int duplicate_of(const struct isched_pool_info *pool, unsigned a)
{
        for (unsigned b = 0; b < a; b++)
                if (pool->nr_runqueues[a] && pool->nr_runqueues[a] == pool->nr_runqueues[b])
                        return (int)b;
        return -1;
}

static void agent_method(char *buf, size_t size, enum isched_policy_kind k, bool warm, unsigned cfg)
{
        snprintf(buf, size, "%s-%s-%s", isched_policy_kind_to_string(k), warm ? "warm" : "cold",
                 agent_cfgs[cfg].name);
}

struct scen_info {
        struct isched_pool_info pool;
        double phase_s[MAX_PHASES];
        unsigned n_phases;
};

static void stage_one(const struct opts *o, const struct scen_info *si, struct job *jobs, unsigned *n)
{
        for (unsigned s = 0; s < o->n_scenarios; s++) {
                for (unsigned seed = 1; seed <= o->seeds; seed++) {
                        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                                struct job *j = &jobs[(*n)++];

                                if (duplicate_of(&si[s].pool, a) >= 0) {
                                        (*n)--;
                                        continue;
                                }
                                memset(j, 0, sizeof(*j));
                                j->kind = JOB_STATIC;
                                j->scenario = o->scenarios[s];
                                j->seed = seed;
                                j->arrangement = (enum isched_arrangement)a;
                                j->cost = scenario_cost(j->scenario);
                                snprintf(j->method, sizeof(j->method), "static-%s",
                                         isched_arrangement_to_string(j->arrangement));
                        }
                        for (unsigned c = 0; c < N_AGENT_CFGS; c++) {
                                if (!o->cfg_enabled[c])
                                        continue;
                                for (unsigned p = 0; p < o->n_policies; p++) {
                                        struct job *j = &jobs[(*n)++];

                                        memset(j, 0, sizeof(*j));
                                        j->kind = JOB_AGENT;
                                        j->scenario = o->scenarios[s];
                                        j->seed = seed;
                                        j->policy = o->policies[p];
                                        j->cfg = c;
                                        j->cost = scenario_cost(j->scenario) * 1.05;
                                        agent_method(j->method, sizeof(j->method), j->policy, false, c);
                                }
                        }
                }
        }
}

static double load_number(const cJSON *root, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

        return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static cJSON *load_run(const struct opts *o, const char *method, const char *scenario, unsigned seed)
{
        char path[4096];
        char *text;
        cJSON *root;

        run_path(path, sizeof(path), o, method, scenario, seed);
        text = read_text(path);
        if (!text) {
                fprintf(stderr, "quality: cannot read %s\n", path);
                exit(1);
        }
        root = cJSON_Parse(text);
        free(text);
        if (!root) {
                fprintf(stderr, "quality: %s is not JSON\n", path);
                exit(1);
        }
        return root;
}

/* The oracle's plan: for each phase, the static arrangement whose sample
 * windows in that phase scored best on average (same scenario and seed). */
static void oracle_plan(const struct opts *o, const struct scen_info *si, const char *scenario, unsigned seed,
                        enum isched_arrangement *plan)
{
        double best[MAX_PHASES];

        for (unsigned p = 0; p < si->n_phases; p++) {
                best[p] = -INFINITY;
                plan[p] = ISCHED_ARR_SOCKET;
        }
        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                double sum[MAX_PHASES] = { 0 };
                unsigned cnt[MAX_PHASES] = { 0 };
                char method[64];
                const cJSON *arr, *v;
                cJSON *root;
                unsigned i = 0;

                if (duplicate_of(&si->pool, a) >= 0)
                        continue;
                snprintf(method, sizeof(method), "static-%s", isched_arrangement_to_string(a));
                root = load_run(o, method, scenario, seed);
                arr = cJSON_GetObjectItemCaseSensitive(root, "sample_score");
                cJSON_ArrayForEach(v, arr) {
                        /* A sample window ending at (i + 1) * sample_s lies in the phase of its midpoint. */
                        const unsigned ph = phase_at(si->phase_s, si->n_phases, (i + 0.5) * o->sample_s);

                        if (cJSON_IsNumber(v)) {
                                sum[ph] += v->valuedouble;
                                cnt[ph]++;
                        }
                        i++;
                }
                cJSON_Delete(root);
                for (unsigned p = 0; p < si->n_phases; p++) {
                        if (cnt[p] && sum[p] / cnt[p] > best[p]) {
                                best[p] = sum[p] / cnt[p];
                                plan[p] = (enum isched_arrangement)a;
                        }
                }
        }
}

static void stage_two(const struct opts *o, const struct scen_info *si, struct job *jobs, unsigned *n)
{
        for (unsigned s = 0; s < o->n_scenarios; s++) {
                for (unsigned seed = 1; seed <= o->seeds; seed++) {
                        struct job *j;

                        if (si[s].n_phases > 1) {
                                j = &jobs[(*n)++];
                                memset(j, 0, sizeof(*j));
                                j->kind = JOB_ORACLE;
                                j->scenario = o->scenarios[s];
                                j->seed = seed;
                                j->cost = scenario_cost(j->scenario);
                                oracle_plan(o, &si[s], j->scenario, seed, j->plan);
                                snprintf(j->method, sizeof(j->method), "oracle");
                        }
                        if (!o->warm || o->n_scenarios < 2)
                                continue;
                        for (unsigned c = 0; c < N_AGENT_CFGS; c++) {
                                if (!o->cfg_enabled[c])
                                        continue;
                                for (unsigned p = 0; p < o->n_policies; p++) {
                                        j = &jobs[(*n)++];
                                        memset(j, 0, sizeof(*j));
                                        j->kind = JOB_AGENT;
                                        j->scenario = o->scenarios[s];
                                        j->seed = seed;
                                        j->policy = o->policies[p];
                                        j->warm = true;
                                        j->cfg = c;
                                        j->cost = scenario_cost(j->scenario) * 1.05;
                                        agent_method(j->method, sizeof(j->method), j->policy, true, c);
                                }
                        }
                }
        }
}

/* ------------------------------------------------------------------ the summary */

#define N_METRICS 7
static const char *const metric_names[N_METRICS] = {
        "score", "throughput", "lat_mean_us", "lat_p99_us", "switches", "frac_oracle", "gap_oracle",
};

struct method_list {
        char names[64][64];
        unsigned n;
};

static void method_add(struct method_list *m, const char *name)
{
        for (unsigned i = 0; i < m->n; i++)
                if (strcmp(m->names[i], name) == 0)
                        return;
        snprintf(m->names[m->n++], sizeof(m->names[0]), "%s", name);
}

/* Mean and the half-width of the 95% t-interval of the finite values. */
static void mean_ci(const double *v, unsigned n, double *ret_mean, double *ret_half, unsigned *ret_n)
{
        double x[MAX_SEEDS];
        unsigned k = 0;

        for (unsigned i = 0; i < n; i++)
                if (isfinite(v[i]))
                        x[k++] = v[i];
        *ret_n = k;
        *ret_mean = k ? gsl_stats_mean(x, 1, k) : NAN;
        *ret_half = k > 1 ? gsl_cdf_tdist_Pinv(0.975, k - 1) * gsl_stats_sd(x, 1, k) / sqrt(k) : NAN;
}

static cJSON *number_or_null(double v)
{
        return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static void fprint_num(FILE *f, double v)
{
        if (isfinite(v))
                fprintf(f, ",%.6g", v);
        else
                fprintf(f, ",");
}

/* The per-seed value of every metric of one method. */
struct cell {
        double v[N_METRICS][MAX_SEEDS];
        double *series[MAX_SEEDS];
        unsigned n_samples;
};

static void load_cell(const struct opts *o, const struct scen_info *si, const char *scenario, const char *method,
                      struct cell *c, FILE *runs_csv)
{
        memset(c, 0, sizeof(*c));
        for (unsigned seed = 1; seed <= o->seeds; seed++) {
                cJSON *root;
                const char *file_method = method;
                char alias[64];
                const cJSON *arr, *v;
                unsigned i = 0;

                /* A duplicate arrangement's run is its lower twin's (same runqueues). */
                if (strncmp(method, "static-", 7) == 0) {
                        enum isched_arrangement a;
                        int d;

                        if (isched_arrangement_from_string(method + 7, &a) == 0 &&
                            (d = duplicate_of(&si->pool, a)) >= 0) {
                                snprintf(alias, sizeof(alias), "static-%s",
                                         isched_arrangement_to_string((enum isched_arrangement)d));
                                file_method = alias;
                        }
                }
                /* Without phases the oracle is the best static arrangement, filled in by the caller. */
                if (strcmp(method, "oracle") == 0 && si->n_phases <= 1)
                        continue;
                root = load_run(o, file_method, scenario, seed);
                c->v[0][seed - 1] = load_number(root, "score");
                c->v[1][seed - 1] = load_number(root, "throughput");
                c->v[2][seed - 1] = load_number(root, "lat_mean_us");
                c->v[3][seed - 1] = load_number(root, "lat_p99_us");
                c->v[4][seed - 1] = load_number(root, "switches");
                arr = cJSON_GetObjectItemCaseSensitive(root, "sample_score");
                c->n_samples = (unsigned)cJSON_GetArraySize(arr);
                c->series[seed - 1] = calloc(c->n_samples ? c->n_samples : 1, sizeof(double));
                cJSON_ArrayForEach(v, arr)
                        c->series[seed - 1][i++] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
                cJSON_Delete(root);
                (void)runs_csv;
        }
}

static void free_cell(struct cell *c)
{
        for (unsigned i = 0; i < MAX_SEEDS; i++)
                free(c->series[i]);
}

struct goal_state {
        bool frac_ok, beats_static_ok, vs_default_ok;
        double worst_frac, worst_vs_default;
        char worst_frac_scenario[64], worst_default_scenario[64];
};

static void summarise(const struct opts *o, const struct scen_info *si)
{
        struct method_list methods = { .n = 0 };
        cJSON *root = cJSON_CreateObject(), *jscen = cJSON_AddObjectToObject(root, "scenarios");
        char path[4096];
        FILE *csv, *runs;
        /* mean score minus the oracle's per agent method over scenarios, to pick one method for the goals */
        double gap_sum[64] = { 0 };
        unsigned gap_cnt[64] = { 0 };
        static struct cell cells[64];
        double gap_default[MAX_SCENARIOS][64], frac_mean[MAX_SCENARIOS][64], score_mean[MAX_SCENARIOS][64];
        bool beats_static[MAX_SCENARIOS][64];

        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                char m[64];

                snprintf(m, sizeof(m), "static-%s", isched_arrangement_to_string(a));
                method_add(&methods, m);
        }
        method_add(&methods, "oracle");
        for (unsigned c = 0; c < N_AGENT_CFGS; c++) {
                if (!o->cfg_enabled[c])
                        continue;
                for (int w = 0; w <= (o->warm && o->n_scenarios > 1); w++) {
                        for (unsigned p = 0; p < o->n_policies; p++) {
                                char m[64];

                                agent_method(m, sizeof(m), o->policies[p], w, c);
                                method_add(&methods, m);
                        }
                }
        }

        snprintf(path, sizeof(path), "%s/quality.csv", o->out);
        csv = fopen(path, "w");
        snprintf(path, sizeof(path), "%s/quality-runs.csv", o->out);
        runs = fopen(path, "w");
        if (!csv || !runs)
                die(path, -errno);
        fprintf(csv, "scenario,method,seeds");
        for (unsigned k = 0; k < N_METRICS; k++)
                fprintf(csv, ",%s,%s_ci95", metric_names[k], metric_names[k]);
        fprintf(csv, "\n");
        fprintf(runs, "scenario,method,seed");
        for (unsigned k = 0; k < N_METRICS; k++)
                fprintf(runs, ",%s", metric_names[k]);
        fprintf(runs, "\n");

        for (unsigned s = 0; s < o->n_scenarios; s++) {
                const char *scen = o->scenarios[s];
                cJSON *js = cJSON_AddObjectToObject(jscen, scen);
                cJSON *jm = cJSON_AddObjectToObject(js, "methods");
                double worst[MAX_SEEDS], oracle[MAX_SEEDS], best_static_mean = -INFINITY;
                const unsigned i_socket = ISCHED_ARR_SOCKET, i_oracle = ISCHED_ARR_COUNT;

                for (unsigned m = 0; m < methods.n; m++)
                        load_cell(o, &si[s], scen, methods.names[m], &cells[m], runs);
                /* Per seed: the worst static score and the oracle's (the best static without phases). */
                for (unsigned seed = 0; seed < o->seeds; seed++) {
                        double lo = INFINITY, hi = -INFINITY;
                        unsigned best = 0;

                        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                                const double v = cells[a].v[0][seed];

                                lo = fmin(lo, v);
                                if (v > hi) {
                                        hi = v;
                                        best = a;
                                }
                        }
                        worst[seed] = lo;
                        if (si[s].n_phases <= 1) {
                                for (unsigned k = 0; k < 5; k++)
                                        cells[i_oracle].v[k][seed] = cells[best].v[k][seed];
                                cells[i_oracle].n_samples = cells[best].n_samples;
                                free(cells[i_oracle].series[seed]);
                                cells[i_oracle].series[seed] = calloc(cells[best].n_samples + 1, sizeof(double));
                                memcpy(cells[i_oracle].series[seed], cells[best].series[seed],
                                       sizeof(double) * cells[best].n_samples);
                        }
                        oracle[seed] = cells[i_oracle].v[0][seed];
                }
                for (unsigned m = 0; m < methods.n; m++) {
                        struct cell *c = &cells[m];

                        for (unsigned seed = 0; seed < o->seeds; seed++) {
                                const double spread = oracle[seed] - worst[seed];

                                c->v[5][seed] = spread >= MIN_SPREAD ?
                                        (c->v[0][seed] - worst[seed]) / spread : NAN;
                                c->v[6][seed] = c->v[0][seed] - oracle[seed];
                                fprintf(runs, "%s,%s,%u", scen, methods.names[m], seed + 1);
                                for (unsigned k = 0; k < N_METRICS; k++)
                                        fprint_num(runs, c->v[k][seed]);
                                fprintf(runs, "\n");
                        }
                }
                {
                        double spread[MAX_SEEDS], mean, half;
                        unsigned k;

                        for (unsigned seed = 0; seed < o->seeds; seed++)
                                spread[seed] = oracle[seed] - worst[seed];
                        mean_ci(spread, o->seeds, &mean, &half, &k);
                        cJSON_AddItemToObject(js, "oracle_minus_worst_static", number_or_null(mean));
                        cJSON_AddNumberToObject(js, "phases", si[s].n_phases);
                }
                for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                        double mean, half;
                        unsigned k;

                        mean_ci(cells[a].v[0], o->seeds, &mean, &half, &k);
                        best_static_mean = fmax(best_static_mean, mean);
                }
                for (unsigned m = 0; m < methods.n; m++) {
                        cJSON *jx = cJSON_AddObjectToObject(jm, methods.names[m]);
                        double mean, half, socket_mean, socket_half;
                        unsigned k;

                        fprintf(csv, "%s,%s,%u", scen, methods.names[m], o->seeds);
                        for (unsigned q = 0; q < N_METRICS; q++) {
                                cJSON *jq = cJSON_AddObjectToObject(jx, metric_names[q]);

                                mean_ci(cells[m].v[q], o->seeds, &mean, &half, &k);
                                fprint_num(csv, mean);
                                fprint_num(csv, half);
                                cJSON_AddItemToObject(jq, "mean", number_or_null(mean));
                                cJSON_AddItemToObject(jq, "ci95", number_or_null(half));
                                cJSON_AddNumberToObject(jq, "n", k);
                        }
                        fprintf(csv, "\n");
                        mean_ci(cells[m].v[0], o->seeds, &mean, &half, &k);
                        mean_ci(cells[i_socket].v[0], o->seeds, &socket_mean, &socket_half, &k);
                        score_mean[s][m] = mean;
                        gap_default[s][m] = mean - socket_mean;
                        beats_static[s][m] = mean > best_static_mean;
                        mean_ci(cells[m].v[5], o->seeds, &mean, &half, &k);
                        frac_mean[s][m] = mean;
                        mean_ci(cells[m].v[6], o->seeds, &mean, &half, &k);
                        if (isfinite(mean)) {
                                gap_sum[m] += mean;
                                gap_cnt[m]++;
                        }
                }
                /* The series of the phased (or chosen) scenario: mean over seeds per sample window,
                 * and cumulative regret against the oracle in score-seconds. */
                if (o->series_scenario && strcmp(scen, o->series_scenario) == 0) {
                        FILE *ser, *reg;
                        const unsigned ns = cells[i_oracle].n_samples;

                        snprintf(path, sizeof(path), "%s/series-%s.csv", o->out, scen);
                        ser = fopen(path, "w");
                        snprintf(path, sizeof(path), "%s/regret-%s.csv", o->out, scen);
                        reg = fopen(path, "w");
                        if (!ser || !reg)
                                die(path, -errno);
                        fprintf(ser, "time_s");
                        fprintf(reg, "time_s");
                        for (unsigned m = 0; m < methods.n; m++) {
                                if (m < ISCHED_ARR_COUNT && duplicate_of(&si[s].pool, m) >= 0)
                                        continue;
                                fprintf(ser, ",%s", methods.names[m]);
                                fprintf(reg, ",%s", methods.names[m]);
                        }
                        fprintf(ser, "\n");
                        fprintf(reg, "\n");
                        double cum[64] = { 0 };
                        for (unsigned i = 0; i < ns; i++) {
                                fprintf(ser, "%g", (i + 1) * o->sample_s);
                                fprintf(reg, "%g", (i + 1) * o->sample_s);
                                for (unsigned m = 0; m < methods.n; m++) {
                                        double v[MAX_SEEDS], r[MAX_SEEDS], mean, half, rm;
                                        unsigned k;

                                        if (m < ISCHED_ARR_COUNT && duplicate_of(&si[s].pool, m) >= 0)
                                                continue;
                                        for (unsigned seed = 0; seed < o->seeds; seed++) {
                                                const double *x = cells[m].series[seed];
                                                const double *y = cells[i_oracle].series[seed];

                                                v[seed] = x && i < cells[m].n_samples ? x[i] : NAN;
                                                r[seed] = y ? y[i] - v[seed] : NAN;
                                        }
                                        mean_ci(v, o->seeds, &mean, &half, &k);
                                        mean_ci(r, o->seeds, &rm, &half, &k);
                                        if (isfinite(rm))
                                                cum[m] += rm * o->sample_s;
                                        fprint_num(ser, mean);
                                        fprint_num(reg, cum[m]);
                                }
                                fprintf(ser, "\n");
                                fprintf(reg, "\n");
                        }
                        fclose(ser);
                        fclose(reg);
                }
                for (unsigned m = 0; m < methods.n; m++)
                        free_cell(&cells[m]);
        }
        fclose(csv);
        fclose(runs);
        /* Every method against Xen's default per scenario: mean score minus the
         * socket arrangement's, a log-ratio (0.01 is about 1% better). */
        snprintf(path, sizeof(path), "%s/vs-socket.csv", o->out);
        csv = fopen(path, "w");
        if (!csv)
                die(path, -errno);
        fprintf(csv, "scenario");
        for (unsigned m = 0; m < methods.n; m++)
                fprintf(csv, ",%s", methods.names[m]);
        fprintf(csv, "\n");
        for (unsigned s = 0; s < o->n_scenarios; s++) {
                fprintf(csv, "%s", o->scenarios[s]);
                for (unsigned m = 0; m < methods.n; m++)
                        fprint_num(csv, gap_default[s][m]);
                fprintf(csv, "\n");
        }
        fclose(csv);

        /* The goals, judged for one method chosen over all scenarios: the agent
         * method with the highest mean of (score - oracle score), a log-ratio,
         * i.e. the best geometric mean against the oracle.  Not the best per
         * scenario, which would pick winners after the fact, and not the mean
         * fraction, which a scenario with a small spread can swing without bound. */
        {
                cJSON *jg = cJSON_AddObjectToObject(root, "goals");
                int best = -1;
                double best_gap = -INFINITY;
                bool g1 = true, g2 = true, g3 = true;
                bool any_phased = false;
                cJSON *per = cJSON_AddObjectToObject(jg, "per_scenario");

                for (unsigned m = ISCHED_ARR_COUNT + 1; m < methods.n; m++) {
                        if (gap_cnt[m] && gap_sum[m] / gap_cnt[m] > best_gap) {
                                best_gap = gap_sum[m] / gap_cnt[m];
                                best = (int)m;
                        }
                }
                if (best < 0) {
                        cJSON_AddNullToObject(jg, "best_method");
                } else {
                        cJSON_AddStringToObject(jg, "best_method", methods.names[best]);
                        cJSON_AddNumberToObject(jg, "best_method_mean_gap_oracle", best_gap);
                        for (unsigned s = 0; s < o->n_scenarios; s++) {
                                cJSON *jx = cJSON_AddObjectToObject(per, o->scenarios[s]);
                                const double f = frac_mean[s][best];
                                /* Without a spread the arrangement does not matter: within 1% of the oracle passes. */
                                const bool ok1 = isfinite(f) ? f >= 0.95 :
                                        score_mean[s][best] - score_mean[s][ISCHED_ARR_COUNT] >= log(0.99);
                                const bool ok3 = gap_default[s][best] >= log(0.99);

                                cJSON_AddItemToObject(jx, "frac_oracle", number_or_null(f));
                                cJSON_AddBoolToObject(jx, "reaches_95pct_oracle", ok1);
                                cJSON_AddItemToObject(jx, "score_minus_socket", number_or_null(gap_default[s][best]));
                                cJSON_AddBoolToObject(jx, "within_1pct_of_socket", ok3);
                                g1 = g1 && ok1;
                                g3 = g3 && ok3;
                                if (si[s].n_phases > 1) {
                                        any_phased = true;
                                        cJSON_AddBoolToObject(jx, "beats_every_static", beats_static[s][best]);
                                        g2 = g2 && beats_static[s][best];
                                }
                        }
                }
                cJSON_AddBoolToObject(jg, "reaches_95pct_oracle_everywhere", best >= 0 && g1);
                if (any_phased)
                        cJSON_AddBoolToObject(jg, "beats_every_static_on_phased", best >= 0 && g2);
                else
                        cJSON_AddNullToObject(jg, "beats_every_static_on_phased");
                cJSON_AddBoolToObject(jg, "never_1pct_below_socket", best >= 0 && g3);
        }
        {
                cJSON *cfg = cJSON_AddObjectToObject(root, "config");
                cJSON *sc = cJSON_AddArrayToObject(cfg, "scenarios");

                for (unsigned s = 0; s < o->n_scenarios; s++)
                        cJSON_AddItemToArray(sc, cJSON_CreateString(o->scenarios[s]));
                cJSON_AddNumberToObject(cfg, "seeds", o->seeds);
                cJSON_AddNumberToObject(cfg, "duration_s", o->duration_s);
                cJSON_AddNumberToObject(cfg, "sample_s", o->sample_s);
                cJSON_AddStringToObject(cfg, "observation", o->observation ? o->observation : "ground-truth");
                cJSON_AddStringToObject(cfg, "score", "isched_context_score, default weights");
                cJSON_AddStringToObject(cfg, "version", isched_version());
        }
        snprintf(path, sizeof(path), "%s/quality.json", o->out);
        if (write_json(path, root) < 0)
                die(path, -errno);
        cJSON_Delete(root);
}

/* ------------------------------------------------------------------ overhead */

/* The agent's own cost: CPU time of isched_agent_tick() per decision epoch
 * (counter read, window, features, reward, choose, update, apply), median
 * over epochs, and the peak resident set of this process.  With --policy
 * none no agent runs, which gives the simulator's own memory to subtract. */
static int cmd_overhead(int argc, char **argv)
{
        const char *scenario = "mixed", *policy = "linucb";
        unsigned epochs = 200;
        struct isched_pool_info pool;
        struct isched_backend *b;
        struct isched_agent *agent = NULL;
        struct isched_agent_config ac;
        struct rusage ru;
        double *per_epoch;
        unsigned n = 0;
        int c;

        static const struct option longopts[] = {
                { "scenario", required_argument, NULL, 's' },
                { "policy", required_argument, NULL, 'p' },
                { "epochs", required_argument, NULL, 'e' },
                { NULL, 0, NULL, 0 },
        };
        optind = 1;
        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                if (c == 's')
                        scenario = optarg;
                else if (c == 'p')
                        policy = optarg;
                else if (c == 'e' && atoi(optarg) > 0)
                        epochs = (unsigned)atoi(optarg);
                else {
                        fprintf(stderr, "usage: quality overhead [--scenario S] [--policy KIND|none] [--epochs N]\n");
                        return 2;
                }
        }
        per_epoch = calloc(epochs, sizeof(double));
        if (!per_epoch)
                die("out of memory", -ENOMEM);
        b = open_sim(scenario, 1, &pool);
        isched_agent_config_init(&ac);
        ac.pool = pool.name;
        if (strcmp(policy, "none") != 0) {
                enum isched_policy_kind kind;
                struct isched_context_params cp;
                struct isched_context *ctx = NULL;
                struct isched_policy *p;
                int r = isched_policy_kind_from_string(policy, &kind);

                if (r < 0) {
                        fprintf(stderr, "quality: %s\n", isched_last_error());
                        return 2;
                }
                p = new_policy(kind, 1);
                isched_context_params_init(&cp);
                if ((r = isched_context_new(&cp, &ctx)) < 0 || (r = isched_agent_new(&ac, b, p, ctx, &agent)) < 0)
                        die("cannot create the agent", r);
                isched_policy_free(p);
                isched_context_free(ctx);
        }
        while (n < epochs) {
                double spent = 0;
                int r = 0;

                for (unsigned i = 0; i < ac.epoch_intervals && r == 0; i++) {
                        double t0;

                        if ((r = isched_backend_wait(b, ac.interval_ns)) < 0)
                                die("simulation failed", r);
                        if (!agent)
                                continue;
                        t0 = cpu_now_s();
                        r = isched_agent_tick(agent);
                        spent += cpu_now_s() - t0;
                        if (r < 0)
                                die("agent tick failed", r);
                }
                per_epoch[n++] = spent;
        }
        getrusage(RUSAGE_SELF, &ru);
        {
                cJSON *root = cJSON_CreateObject();
                char *text;

                gsl_sort(per_epoch, 1, n);
                cJSON_AddStringToObject(root, "scenario", scenario);
                cJSON_AddStringToObject(root, "policy", policy);
                cJSON_AddNumberToObject(root, "epochs", n);
                cJSON_AddNumberToObject(root, "interval_s", (double)ac.interval_ns / NS_PER_S);
                cJSON_AddNumberToObject(root, "epoch_intervals", ac.epoch_intervals);
                cJSON_AddNumberToObject(root, "cpu_us_per_epoch_median",
                                        1e6 * gsl_stats_median_from_sorted_data(per_epoch, 1, n));
                cJSON_AddNumberToObject(root, "cpu_us_per_epoch_p90",
                                        1e6 * gsl_stats_quantile_from_sorted_data(per_epoch, 1, n, 0.9));
                cJSON_AddNumberToObject(root, "max_rss_kib", (double)ru.ru_maxrss);
                text = cJSON_PrintUnformatted(root);
                puts(text);
                free(text);
                cJSON_Delete(root);
        }
        free(per_epoch);
        isched_agent_unref(agent);
        isched_backend_unref(b);
        return 0;
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: quality [--out DIR] [--scenarios A,B,...|all] [--seeds N] [--duration S]\n"
                "               [--sample S] [--jobs N] [--policies K,...] [--configs C,...] [--no-warm]\n"
                "               [--series SCENARIO] [--summarise-only] [--observation M]\n"
                "       quality overhead [--scenario S] [--policy KIND|none] [--epochs N]\n\n"
                "Evaluate the agent on the simulator against the static arrangements and the\n"
                "per-phase oracle; write OUT/quality.json, quality.csv, quality-runs.csv,\n"
                "series-SCENARIO.csv and regret-SCENARIO.csv (docs/results.md).\n\n"
                "  --out DIR         output directory (default bench/results)\n"
                "  --scenarios LIST  built-in scenarios (default all)\n"
                "  --seeds N         seeds 1..N (default 3)\n"
                "  --duration S      simulated seconds per run (default 80)\n"
                "  --sample S        sample window of the series, a multiple of the agent interval (default 1)\n"
                "  --jobs N          runs at a time (default 2)\n"
                "  --policies LIST   egreedy,linucb,dlinucb,lints (default), lingreedy\n"
                "  --configs LIST    agent configurations: default, fast (default both)\n"
                "  --no-warm         skip the warm starts\n"
                "  --series S        scenario of the time series (default phased)\n"
                "  --summarise-only  run nothing: summarise the runs already in OUT/runs\n"
                "  --observation M   what the agent learns from: ground-truth (default), xen\n"
                "                    (no work counter) or xen+guests (docs/guest-work.md); every\n"
                "                    method is still measured on the ground truth\n");
}

static unsigned split_list(char *s, const char **out, unsigned max)
{
        unsigned n = 0;

        for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
                out[n++] = tok;
        return n;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "out", required_argument, NULL, 'o' },
                { "scenarios", required_argument, NULL, 's' },
                { "seeds", required_argument, NULL, 'n' },
                { "duration", required_argument, NULL, 'd' },
                { "sample", required_argument, NULL, 'S' },
                { "jobs", required_argument, NULL, 'j' },
                { "policies", required_argument, NULL, 'p' },
                { "configs", required_argument, NULL, 'c' },
                { "no-warm", no_argument, NULL, 'W' },
                { "series", required_argument, NULL, 'r' },
                { "summarise-only", no_argument, NULL, 'U' },
                { "observation", required_argument, NULL, 'O' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct opts o = { .out = "bench/results", .seeds = 3, .duration_s = 80, .sample_s = 1, .jobs = 2,
                          .warm = true, .series_scenario = "phased" };
        static struct scen_info si[MAX_SCENARIOS];
        struct job *jobs;
        unsigned n_jobs = 0;
        bool summarise_only = false;
        char dir[4096];
        int c;

        gsl_set_error_handler_off();
        if (argc > 1 && strcmp(argv[1], "overhead") == 0)
                return cmd_overhead(argc - 1, argv + 1);
        for (unsigned i = 0; i < sizeof(default_policies) / sizeof(default_policies[0]); i++)
                o.policies[o.n_policies++] = default_policies[i];
        for (unsigned i = 0; i < N_AGENT_CFGS; i++)
                o.cfg_enabled[i] = true;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        o.out = optarg;
                        break;
                case 'O':
                        o.observation = observation_mode = optarg;
                        break;
                case 's':
                        if (strcmp(optarg, "all") != 0)
                                o.n_scenarios = split_list(optarg, o.scenarios, MAX_SCENARIOS);
                        break;
                case 'n':
                        o.seeds = (unsigned)atoi(optarg);
                        if (o.seeds < 1 || o.seeds > MAX_SEEDS) {
                                fprintf(stderr, "quality: --seeds must be 1..%d\n", MAX_SEEDS);
                                return 2;
                        }
                        break;
                case 'd':
                        o.duration_s = atof(optarg);
                        break;
                case 'S':
                        o.sample_s = atof(optarg);
                        break;
                case 'j':
                        o.jobs = (unsigned)atoi(optarg);
                        if (o.jobs < 1) {
                                fprintf(stderr, "quality: --jobs must be at least 1\n");
                                return 2;
                        }
                        break;
                case 'p': {
                        const char *names[ISCHED_POLICY_KIND_COUNT];
                        const unsigned k = split_list(optarg, names, ISCHED_POLICY_KIND_COUNT);

                        o.n_policies = 0;
                        for (unsigned i = 0; i < k; i++) {
                                if (isched_policy_kind_from_string(names[i], &o.policies[o.n_policies++]) < 0) {
                                        fprintf(stderr, "quality: --policies: %s\n", isched_last_error());
                                        return 2;
                                }
                        }
                        break;
                }
                case 'c': {
                        const char *names[N_AGENT_CFGS];
                        const unsigned k = split_list(optarg, names, N_AGENT_CFGS);

                        memset(o.cfg_enabled, 0, sizeof(o.cfg_enabled));
                        for (unsigned i = 0; i < k; i++) {
                                bool found = false;

                                for (unsigned q = 0; q < N_AGENT_CFGS; q++) {
                                        if (strcmp(names[i], agent_cfgs[q].name) == 0) {
                                                o.cfg_enabled[q] = true;
                                                found = true;
                                        }
                                }
                                if (!found) {
                                        fprintf(stderr, "quality: --configs: unknown configuration '%s' "
                                                "(default, fast)\n", names[i]);
                                        return 2;
                                }
                        }
                        break;
                }
                case 'W':
                        o.warm = false;
                        break;
                case 'r':
                        o.series_scenario = optarg;
                        break;
                case 'U':
                        summarise_only = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc || o.duration_s <= 0 || o.sample_s <= 0 || o.duration_s / o.sample_s > MAX_SAMPLES) {
                usage(stderr);
                return 2;
        }
        if (o.n_scenarios == 0) {
                const size_t n = isched_sim_scenario_count();

                for (size_t i = 0; i < n && o.n_scenarios < MAX_SCENARIOS; i++) {
                        const char *name, *desc;

                        if (isched_sim_scenario_get(i, &name, &desc) == 0)
                                o.scenarios[o.n_scenarios++] = name;
                }
        }
        for (unsigned s = 0; s < o.n_scenarios; s++) {
                struct isched_backend *b = open_sim(o.scenarios[s], 1, &si[s].pool);

                isched_backend_unref(b);
                si[s].n_phases = scenario_phases(o.scenarios[s], si[s].phase_s);
        }
        mkdir_or_die(o.out);
        snprintf(dir, sizeof(dir), "%s/runs", o.out);
        mkdir_or_die(dir);
        snprintf(dir, sizeof(dir), "%s/models", o.out);
        mkdir_or_die(dir);

        jobs = calloc((size_t)o.n_scenarios * o.seeds * (ISCHED_ARR_COUNT + 1 + 2 * N_AGENT_CFGS * o.n_policies),
                      sizeof(*jobs));
        if (!jobs)
                die("out of memory", -ENOMEM);
        if (summarise_only)
                goto summary;
        stage_one(&o, si, jobs, &n_jobs);
        fprintf(stderr, "quality: stage 1: %u runs (static arrangements, cold agents)\n", n_jobs);
        run_all(&o, jobs, n_jobs);
        n_jobs = 0;
        stage_two(&o, si, jobs, &n_jobs);
        fprintf(stderr, "quality: stage 2: %u runs (oracles, warm agents)\n", n_jobs);
        run_all(&o, jobs, n_jobs);
summary:
        free(jobs);
        summarise(&o, si);
        fprintf(stderr, "quality: wrote %s/quality.json\n", o.out);
        return 0;
}
