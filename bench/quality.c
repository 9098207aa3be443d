/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* quality: does the agent pay on the embedded credit2 simulator (issue 11)?
 *
 * For every scenario and seed it runs
 *   - each arrangement held fixed (the statics; socket is Xen's default and the
 *     agent's baseline: the arrangement it takes over),
 *   - the per-phase oracle (the best static of each phase, switched at the phase
 *     boundaries through the backend call the agent uses),
 *   - the agent with its default configuration (one for every scenario), from
 *     a cold start and from a prior trained leave-one-scenario-out: on the
 *     statics of every other scenario, never the one measured,
 * and reports the whole-run score (one pooled latency histogram: what the host
 * experienced), the mean of 5-s window scores, throughput, wake latency,
 * switches, and the goals of issue 11 with 95% t-intervals over seeds.
 * docs/results.md explains every number; bench/run drives this program.
 *
 *   quality [OPTIONS]                    the evaluation (quality --help)
 *   quality train-prior --out FILE ...   the shipped prior, on every scenario
 *   quality overhead [OPTIONS]           CPU time and memory of the agent per epoch
 *
 * Runs are independent processes (fork per run, --jobs at a time), each writing
 * one JSON file under OUT/runs/; the summary is built from those files only.
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
#include <gsl/gsl_sort_double.h>
#include <gsl/gsl_statistics_double.h>

#include <intellisched/intellisched.h>

#define NS_PER_S 1000000000ull
#define MAX_SCENARIOS 32
#define MAX_SEEDS 64
#define MAX_PHASES 16
#define MAX_WINDOWS 8192
#define N_ARMS ISCHED_ARR_COUNT
#define SOCKET ISCHED_ARR_SOCKET

/* Phases shorter than this are a stress case, reported apart (issue 11). */
#define STRESS_PHASE_S 60.0
/* Goals (issue 11). */
#define HARM_PRIOR 0.01
#define HARM_COLD 0.02
#define CAPTURE_MIN_GAIN 0.05
#define CAPTURE_FRACTION 0.8
#define NO_GAIN 0.01
#define CALM_AFTER_S 300.0
#define CALM_PER_S 600.0

/* What the agent learns from (--observation; docs/guest-work.md): every
 * backend is opened in this mode, and every method is still measured on
 * the simulation's ground truth. */
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

static void write_json_or_die(const char *path, const cJSON *json)
{
        char *text = cJSON_Print(json);
        int r = text ? write_text(path, text) : -ENOMEM;

        free(text);
        if (r < 0)
                die(path, r);
}

static cJSON *read_json(const char *path)
{
        char *text = read_text(path);
        cJSON *j = text ? cJSON_Parse(text) : NULL;

        free(text);
        return j;
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

static double num(const cJSON *o, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

        return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static cJSON *number_or_null(double v)
{
        return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static const char *arm_name(unsigned a)
{
        return isched_arrangement_to_string((enum isched_arrangement)a);
}

/* ------------------------------------------------------------------ scenarios */

struct scen {
        const char *name;
        unsigned n_phases;
        double phase_s[MAX_PHASES];
        bool stress;             /* phases shorter than STRESS_PHASE_S */
        unsigned canon[N_ARMS];  /* the lowest arm grouping the pCPUs the same way */
        uint32_t pool_id;
        char pool_name[ISCHED_NAME_MAX];
};

static struct isched_backend *open_sim(const char *scenario, unsigned seed)
{
        struct isched_backend_config bc = { .size = sizeof(bc), .scenario = scenario, .seed = seed,
                                            .observation = observation_mode };
        struct isched_backend *b = NULL;
        int r = isched_backend_open("sim", &bc, &b);

        if (r < 0)
                die(scenario, r);
        return b;
}

/* The ground truth of the simulation behind b, whatever the agent observes. */
static void read_truth(struct isched_backend *b, uint32_t pool, struct isched_counters *ret)
{
        struct isched_sim *sim;
        int r = isched_sim_from_backend(b, &sim);

        if (r == 0)
                r = isched_sim_read_counters(sim, pool, ret);
        if (r < 0)
                die("cannot read counters", r);
}

static void probe(struct scen *sc)
{
        struct isched_backend *b = open_sim(sc->name, 1);
        struct isched_pool_info *pools = NULL;
        double cycle = 0;
        size_t n = 0, np = 0;
        int r;

        r = isched_backend_list_pools(b, &pools, &n);
        if (r < 0 || n == 0)
                die("cannot list the simulator's pools", r < 0 ? r : -ENOENT);
        /* The bench measures pool 0 of every scenario. */
        sc->pool_id = pools[0].id;
        snprintf(sc->pool_name, sizeof(sc->pool_name), "%s", pools[0].name);
        for (unsigned a = 0; a < N_ARMS; a++) {
                sc->canon[a] = a;
                for (unsigned l = 0; l < a; l++)
                        if (pools[0].nr_runqueues[l] && pools[0].nr_runqueues[l] == pools[0].nr_runqueues[a]) {
                                sc->canon[a] = l;
                                break;
                        }
        }
        free(pools);
        isched_backend_unref(b);
        /* The scenario's phase schedule, repeating from time 0; one
         * endless phase for a workload that never changes. */
        r = isched_sim_scenario_phases(sc->name, sc->phase_s, MAX_PHASES, &np);
        if (r < 0)
                die("cannot read the scenario's phases", r);
        sc->n_phases = np ? (unsigned)np : 1;
        if (!np)
                sc->phase_s[0] = INFINITY;
        for (unsigned p = 0; p < sc->n_phases; p++)
                cycle += sc->phase_s[p];
        sc->stress = sc->n_phases > 1 && cycle / sc->n_phases < STRESS_PHASE_S;
}

/* The phase in force at time t (seconds), phases repeating cyclically. */
static unsigned phase_at(const struct scen *sc, double t)
{
        double cycle = 0;

        if (sc->n_phases <= 1)
                return 0;
        for (unsigned i = 0; i < sc->n_phases; i++)
                cycle += sc->phase_s[i];
        t = fmod(t, cycle);
        for (unsigned i = 0; i < sc->n_phases; i++) {
                if (t < sc->phase_s[i] - 1e-9)
                        return i;
                t -= sc->phase_s[i];
        }
        return sc->n_phases - 1;
}

/* A window [t0, t1) within one phase (the window that straddles a change
 * belongs to no phase: -1). */
static int window_phase(const struct scen *sc, double t0, double t1)
{
        const unsigned p = phase_at(sc, t0);

        return phase_at(sc, t1 - 1e-6) == p ? (int)p : -1;
}

/* ------------------------------------------------------------------ jobs */

enum job_kind { JOB_STATIC, JOB_ORACLE, JOB_AGENT };

struct opts {
        const char *out;
        const char *scenarios[MAX_SCENARIOS];
        unsigned n_scenarios;
        unsigned seeds;
        double duration_s, window_s;
        unsigned jobs;
        bool no_cold;                 /* the agent from its prior only */
        bool no_prior;                /* the agent from a cold start only, no priors */
        bool no_agent;                /* statics and oracle only, no summary */
};

struct job {
        enum job_kind kind;
        const struct scen *sc;
        unsigned seed;
        unsigned arm;                 /* static */
        unsigned plan[MAX_PHASES];    /* oracle: arrangement per phase */
        bool prior;                   /* agent: from the leave-one-out prior */
        char method[64];
        char prior_path[4096];
        double cost;
};

static void run_path(char *buf, size_t size, const char *out, const char *method, const char *scenario,
                     unsigned seed)
{
        snprintf(buf, size, "%s/runs/%s--%s--%u.json", out, scenario, method, seed);
}

static double score_of(const struct isched_window *w)
{
        struct isched_context_params cp;
        double s;

        isched_context_params_init(&cp);
        return isched_context_score(&cp, w, &s) == 0 ? s : NAN;
}

/* One run: the simulator for duration_s, read every window_s (windows
 * aligned to multiples of window_s from time 0, whatever the agent does). */
static void run_job(const struct opts *o, const struct job *j)
{
        const uint64_t duration_ns = (uint64_t)llround(o->duration_s * NS_PER_S);
        const uint64_t window_ns = (uint64_t)llround(o->window_s * NS_PER_S);
        struct isched_backend *b = open_sim(j->sc->name, j->seed);
        struct isched_agent *agent = NULL;
        struct isched_agent_config ac;
        struct isched_counters c0, prev, cur, oprev, ocur;
        struct isched_window w, ow;
        cJSON *root = cJSON_CreateObject(), *wins, *sw;
        uint64_t step_ns = window_ns, switches = 0, late = 0;
        unsigned current = SOCKET;
        double agent_cpu = 0, wsum = 0;
        unsigned wn = 0;
        char path[4096];
        int r;

        isched_agent_config_init(&ac);
        ac.pool = j->sc->pool_name;
        if (j->kind == JOB_AGENT) {
                struct isched_policy *p = NULL;
                struct isched_context *ctx = NULL;

                if (j->prior) {
                        r = isched_model_load(j->prior_path, &p, &ctx);
                        if (r < 0)
                                die(j->prior_path, r);
                } else {
                        struct isched_policy_params pp;
                        struct isched_context_params cp;
                        static const char *names[ISCHED_F_COUNT];

                        for (unsigned i = 0; i < ISCHED_F_COUNT; i++)
                                names[i] = isched_feature_name(i);
                        isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, ISCHED_F_COUNT);
                        pp.feature_schema = ISCHED_FEATURE_SCHEMA;
                        pp.feature_names = names;
                        isched_context_params_init(&cp);
                        if ((r = isched_policy_new(&pp, &p)) < 0 || (r = isched_context_new(&cp, &ctx)) < 0)
                                die("cannot create the policy", r);
                }
                r = isched_agent_new(&ac, b, p, ctx, &agent);
                if (r < 0)
                        die("cannot create the agent", r);
                isched_policy_free(p);
                isched_context_free(ctx);
                step_ns = ac.interval_ns;
                if (window_ns % step_ns)
                        die("the window must be a multiple of the agent's interval", -EINVAL);
        } else {
                current = j->kind == JOB_STATIC ? j->arm : j->plan[0];
                r = isched_backend_set_arrangement(b, j->sc->pool_id, (enum isched_arrangement)current);
                if (r < 0)
                        die("cannot set the arrangement", r);
        }
        read_truth(b, j->sc->pool_id, &c0);
        prev = c0;
        r = isched_backend_read_counters(b, j->sc->pool_id, &oprev);
        if (r < 0)
                die("cannot read counters", r);
        cJSON_AddStringToObject(root, "observation",
                                isched_observation_to_string(isched_counters_observation("sim", &oprev)));
        wins = cJSON_AddArrayToObject(root, "windows");
        sw = cJSON_AddArrayToObject(root, "switch_times");
        for (uint64_t t = step_ns; t <= duration_ns; t += step_ns) {
                r = isched_backend_wait(b, step_ns);
                if (r < 0)
                        die("simulation failed", r);
                if (agent) {
                        struct isched_agent_status st;
                        const double t0 = cpu_now_s();

                        r = isched_agent_tick(agent);
                        agent_cpu += cpu_now_s() - t0;
                        if (r < 0)
                                die("agent tick failed", r);
                        isched_agent_get_status(agent, &st);
                        if (st.last_tick_switched) {
                                switches++;
                                late += (double)t / NS_PER_S > CALM_AFTER_S;
                                cJSON_AddItemToArray(sw, cJSON_CreateNumber((double)t / NS_PER_S));
                        }
                } else if (j->kind == JOB_ORACLE) {
                        const unsigned want = j->plan[phase_at(j->sc, (double)t / NS_PER_S)];

                        if (want != current) {
                                r = isched_backend_set_arrangement(b, j->sc->pool_id, (enum isched_arrangement)want);
                                if (r < 0)
                                        die("cannot set the arrangement", r);
                                current = want;
                                switches++;
                                late += (double)t / NS_PER_S > CALM_AFTER_S;
                                cJSON_AddItemToArray(sw, cJSON_CreateNumber((double)t / NS_PER_S));
                        }
                }
                if (t % window_ns)
                        continue;
                read_truth(b, j->sc->pool_id, &cur);
                r = isched_backend_read_counters(b, j->sc->pool_id, &ocur);
                if (r < 0)
                        die("cannot read counters", r);
                {
                        cJSON *x = cJSON_CreateObject();
                        double s = NAN, os = NAN;

                        if (isched_window_from_counters(&prev, &cur, &w) == 0)
                                s = score_of(&w);
                        /* what the agent would have seen: the prior learns from it */
                        if (isched_window_from_counters(&oprev, &ocur, &ow) == 0)
                                os = score_of(&ow);
                        cJSON_AddItemToObject(x, "score", number_or_null(s));
                        cJSON_AddItemToObject(x, "oscore", number_or_null(os));
                        cJSON_AddNumberToObject(x, "arm", cur.arrangement);
                        /* what the workload features are made of (context.c) */
                        cJSON_AddNumberToObject(x, "u", w.utilisation);
                        cJSON_AddNumberToObject(x, "wk", w.wakeups_per_s);
                        cJSON_AddNumberToObject(x, "pc", w.nr_pcpus);
                        cJSON_AddNumberToObject(x, "vc", w.nr_vcpus);
                        cJSON_AddItemToArray(wins, x);
                        if (isfinite(s)) {
                                wsum += s;
                                wn++;
                        }
                }
                prev = cur;
                oprev = ocur;
        }
        if (isched_window_from_counters(&c0, &prev, &w) < 0)
                die("the run's window is invalid", -EINVAL);
        cJSON_AddStringToObject(root, "method", j->method);
        cJSON_AddStringToObject(root, "scenario", j->sc->name);
        cJSON_AddNumberToObject(root, "seed", j->seed);
        cJSON_AddNumberToObject(root, "duration_s", o->duration_s);
        cJSON_AddItemToObject(root, "score", number_or_null(score_of(&w)));
        cJSON_AddItemToObject(root, "window_score", number_or_null(wn ? wsum / wn : NAN));
        cJSON_AddNumberToObject(root, "throughput", w.throughput);
        cJSON_AddNumberToObject(root, "lat_mean_us", w.lat_mean_us);
        cJSON_AddNumberToObject(root, "lat_p99_us", w.lat_p99_us);
        cJSON_AddNumberToObject(root, "switches", (double)switches);
        cJSON_AddNumberToObject(root, "switches_late", (double)late);
        if (agent) {
                struct isched_agent_status st;

                isched_agent_get_status(agent, &st);
                cJSON_AddNumberToObject(root, "epochs", (double)st.epochs);
                cJSON_AddNumberToObject(root, "agent_cpu_s", agent_cpu);
                cJSON_AddNumberToObject(root, "changes", (double)st.changes);
                cJSON_AddNumberToObject(root, "stop_losses", (double)st.stop_losses);
                cJSON_AddItemToObject(root, "estimated_gain", number_or_null(st.measured_gain));
                cJSON_AddItemToObject(root, "estimated_gain_sd", number_or_null(st.measured_gain_sd));
                isched_agent_unref(agent);
        }
        isched_backend_unref(b);
        run_path(path, sizeof(path), o->out, j->method, j->sc->name, j->seed);
        write_json_or_die(path, root);
        cJSON_Delete(root);
}

static enum isched_observation prior_observation(void);

/* A run found in OUT/runs must have been observed in the bench's mode where
 * the bench uses what it observed: an agent learned from it, and the
 * statics' observed window scores are what the leave-one-out priors learn.
 * All else the bench takes from a static or oracle run is its ground truth,
 * the same in every mode (they do not learn; the mode changes only what the
 * backend reports): so with --no-prior, statics and oracle runs of any mode
 * do, e.g. the ground-truth ones of an earlier run. */
static void check_mode(const struct opts *o, const char *path, const cJSON *run)
{
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(run, "method");
        const cJSON *ob = cJSON_GetObjectItemCaseSensitive(run, "observation");
        const char *want = isched_observation_to_string(prior_observation());
        const char *got = cJSON_IsString(ob) ? ob->valuestring : "unknown";
        const bool agent = cJSON_IsString(m) && strncmp(m->valuestring, "agent", 5) == 0;
        const bool is_static = cJSON_IsString(m) && strncmp(m->valuestring, "static-", 7) == 0;

        if (strcmp(got, want) == 0 || (!agent && !(is_static && !o->no_prior)))
                return;
        if (agent)
                fprintf(stderr,
                        "quality: %s is an agent run observed in mode %s, not %s: remove it or use another --out\n",
                        path, got, want);
        else
                fprintf(stderr,
                        "quality: %s was observed in mode %s, and the leave-one-out priors of mode %s learn from the "
                        "statics as observed: run the statics in mode %s (another --out), or give --no-prior (the "
                        "cold agent takes only their ground truth, the same in every mode)\n",
                        path, got, want, want);
        exit(1);
}

static int by_cost_desc(const void *a, const void *b)
{
        const struct job *x = a, *y = b;

        return (x->cost < y->cost) - (x->cost > y->cost);
}

/* Run every job, --jobs at a time, longest first; skip those whose result exists. */
static void run_all(const struct opts *o, struct job *jobs, unsigned n)
{
        unsigned next = 0, running = 0, done = 0;

        qsort(jobs, n, sizeof(*jobs), by_cost_desc);
        while (done < n) {
                while (running < o->jobs && next < n) {
                        char path[4096];
                        pid_t pid;

                        run_path(path, sizeof(path), o->out, jobs[next].method, jobs[next].sc->name, jobs[next].seed);
                        if (access(path, R_OK) == 0) {
                                cJSON *j = read_json(path);

                                /* reused only if observed in the mode the bench needs */
                                if (j)
                                        check_mode(o, path, j);
                                cJSON_Delete(j);
                                next++;
                                done++;
                                continue;
                        }
                        pid = fork();
                        if (pid < 0)
                                die("fork", -errno);
                        if (pid == 0) {
                                run_job(o, &jobs[next]);
                                _exit(0);
                        }
                        next++;
                        running++;
                }
                if (running) {
                        int st;

                        if (wait(&st) < 0)
                                die("wait", -errno);
                        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                                fprintf(stderr, "quality: a run failed\n");
                                exit(1);
                        }
                        running--;
                        done++;
                        if (done % 10 == 0 || done == n)
                                fprintf(stderr, "quality: %u of %u runs done\n", done, n);
                }
        }
}

static double scenario_cost(const struct scen *sc)
{
        /* The large scenario is the slow one. */
        return strcmp(sc->name, "mixed") == 0 ? 4.0 : 1.0;
}

static void add_statics(const struct opts *o, const struct scen *sc, struct job *jobs, unsigned *n)
{
        for (unsigned seed = 1; seed <= o->seeds; seed++)
                for (unsigned a = 0; a < N_ARMS; a++) {
                        struct job *j = &jobs[(*n)++];

                        if (sc->canon[a] != a) {
                                (*n)--;
                                continue;
                        }
                        *j = (struct job){ .kind = JOB_STATIC, .sc = sc, .seed = seed, .arm = a,
                                           .cost = scenario_cost(sc) };
                        snprintf(j->method, sizeof(j->method), "static-%s", arm_name(a));
                }
}

/* ------------------------------------------------------------------ static data */

/* The window scores and features of a scenario's statics, seed by seed. */
struct stat_data {
        unsigned n_win[MAX_SEEDS];
        double *y[MAX_SEEDS][N_ARMS];          /* window score per arm (duplicates share), ground truth */
        double *oy[MAX_SEEDS][N_ARMS];         /* as the agent observes it */
        struct isched_window *w[MAX_SEEDS][N_ARMS];
        double whole[MAX_SEEDS][N_ARMS];       /* whole-run score */
        cJSON *run[MAX_SEEDS][N_ARMS];
};

static cJSON *load_run(const struct opts *o, const char *method, const char *scenario, unsigned seed)
{
        char path[4096];
        cJSON *j;

        run_path(path, sizeof(path), o->out, method, scenario, seed);
        j = read_json(path);
        if (!j) {
                fprintf(stderr, "quality: cannot read %s\n", path);
                exit(1);
        }
        check_mode(o, path, j);
        return j;
}

static void load_statics(const struct opts *o, const struct scen *sc, struct stat_data *d)
{
        memset(d, 0, sizeof(*d));
        for (unsigned k = 0; k < o->seeds; k++)
                for (unsigned a = 0; a < N_ARMS; a++) {
                        char method[64];
                        const cJSON *wins, *x;
                        unsigned i = 0;

                        if (sc->canon[a] != a) {
                                d->y[k][a] = d->y[k][sc->canon[a]];
                                d->oy[k][a] = d->oy[k][sc->canon[a]];
                                d->w[k][a] = d->w[k][sc->canon[a]];
                                d->whole[k][a] = d->whole[k][sc->canon[a]];
                                continue;
                        }
                        snprintf(method, sizeof(method), "static-%s", arm_name(a));
                        d->run[k][a] = load_run(o, method, sc->name, k + 1);
                        d->whole[k][a] = num(d->run[k][a], "score");
                        wins = cJSON_GetObjectItemCaseSensitive(d->run[k][a], "windows");
                        d->n_win[k] = (unsigned)cJSON_GetArraySize(wins);
                        d->y[k][a] = calloc(d->n_win[k] + 1, sizeof(double));
                        d->oy[k][a] = calloc(d->n_win[k] + 1, sizeof(double));
                        d->w[k][a] = calloc(d->n_win[k] + 1, sizeof(struct isched_window));
                        cJSON_ArrayForEach(x, wins) {
                                struct isched_window *w = &d->w[k][a][i];

                                d->y[k][a][i] = num(x, "score");
                                d->oy[k][a][i] = num(x, "oscore");
                                w->duration_ns = (uint64_t)llround(o->window_s * NS_PER_S);
                                w->utilisation = num(x, "u");
                                w->wakeups_per_s = num(x, "wk");
                                w->nr_pcpus = (uint32_t)num(x, "pc");
                                w->nr_vcpus = (uint32_t)num(x, "vc");
                                w->throughput = 1.0;
                                i++;
                        }
                }
}

static void free_statics(struct stat_data *d)
{
        for (unsigned k = 0; k < MAX_SEEDS; k++)
                for (unsigned a = 0; a < N_ARMS; a++)
                        if (d->run[k][a]) {
                                free(d->y[k][a]);
                                free(d->oy[k][a]);
                                free(d->w[k][a]);
                                cJSON_Delete(d->run[k][a]);
                        }
}

/* Mean window score of arm a in phase p, seed k (straddling windows left out). */
static double phase_mean(const struct opts *o, const struct scen *sc, const struct stat_data *d, unsigned k,
                         unsigned a, unsigned p)
{
        double s = 0;
        unsigned n = 0;

        for (unsigned i = 0; i < d->n_win[k]; i++)
                if (window_phase(sc, i * o->window_s, (i + 1) * o->window_s) == (int)p && isfinite(d->y[k][a][i])) {
                        s += d->y[k][a][i];
                        n++;
                }
        return n ? s / n : NAN;
}

/* ------------------------------------------------------------------ the prior */

/* One training example: a window of a scenario, seed and time, with every
 * arm's score and the features every distinct arm showed. */
struct example {
        unsigned scen, seed, window;
        int phase;
        double y[N_ARMS];
        const struct isched_window *w[N_ARMS];
        unsigned n_producers;
        unsigned producer[N_ARMS];
};

struct training {
        struct example *ex;
        size_t n;
};

static void collect(const struct opts *o, const struct scen *sc, unsigned si, const struct stat_data *d,
                    struct training *t)
{
        for (unsigned k = 0; k < o->seeds; k++)
                for (unsigned i = 0; i < d->n_win[k]; i++) {
                        struct example e = { .scen = si, .seed = k, .window = i };
                        bool ok = true;

                        e.phase = window_phase(sc, i * o->window_s, (i + 1) * o->window_s);
                        /* The first window holds the start-up. */
                        if (e.phase < 0 || i == 0)
                                continue;
                        for (unsigned a = 0; a < N_ARMS; a++) {
                                e.y[a] = d->oy[k][a][i];
                                e.w[a] = &d->w[k][a][i];
                                ok = ok && isfinite(e.y[a]);
                                if (sc->canon[a] == a)
                                        e.producer[e.n_producers++] = a;
                        }
                        if (!ok)
                                continue;
                        t->ex = realloc(t->ex, (t->n + 1) * sizeof(*t->ex));
                        if (!t->ex)
                                die("out of memory", -ENOMEM);
                        t->ex[t->n++] = e;
                }
}

struct model {
        struct isched_policy *policy;
        struct isched_context *context;
};

static void features_of(const struct isched_context *ctx, const struct isched_window *w, double *x)
{
        struct isched_context *c = NULL;
        int r = isched_context_clone(ctx, &c);

        if (r == 0)
                r = isched_context_features(c, w, x, ISCHED_F_COUNT, NULL);
        if (r < 0)
                die("features", r);
        isched_context_free(c);
}

/* LinUCB (the agent's default policy, exactly its update) on counterfactual
 * gains: for each example, the features of one producing arm (round robin,
 * so that the model learns from every arm's view of the workload) and, for
 * every arm, its score minus socket's in the same window of the same seed. */
static struct model fit(const struct training *t, uint32_t scen_mask)
{
        static const char *names[ISCHED_F_COUNT];
        struct isched_policy_params pp;
        struct isched_context_params cp;
        struct model m = { 0 };
        double x[ISCHED_F_COUNT];
        unsigned rr = 0;
        int r;

        for (unsigned i = 0; i < ISCHED_F_COUNT; i++)
                names[i] = isched_feature_name(i);
        isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, ISCHED_F_COUNT);
        pp.feature_schema = ISCHED_FEATURE_SCHEMA;
        pp.feature_names = names;
        isched_context_params_init(&cp);
        if ((r = isched_policy_new(&pp, &m.policy)) < 0 || (r = isched_context_new(&cp, &m.context)) < 0)
                die("cannot create the prior", r);
        /* The feature scale of every view of the training workloads. */
        for (size_t i = 0; i < t->n; i++)
                if (scen_mask & (1u << t->ex[i].scen))
                        for (unsigned p = 0; p < t->ex[i].n_producers; p++)
                                if ((r = isched_context_features(m.context, t->ex[i].w[t->ex[i].producer[p]], x,
                                                                 ISCHED_F_COUNT, NULL)) < 0)
                                        die("features", r);
        for (size_t i = 0; i < t->n; i++) {
                const struct example *e = &t->ex[i];

                if (!(scen_mask & (1u << e->scen)))
                        continue;
                features_of(m.context, e->w[e->producer[rr++ % e->n_producers]], x);
                for (unsigned a = 0; a < N_ARMS; a++)
                        if ((r = isched_policy_update(m.policy, a, x, ISCHED_F_COUNT, e->y[a] - e->y[SOCKET])) < 0)
                                die("prior update", r);
        }
        return m;
}

static void model_free(struct model *m)
{
        isched_policy_free(m->policy);
        isched_context_free(m->context);
}

/* The model's predicted gain over socket of every arm, from window w. */
static void predict(const struct model *m, const struct isched_window *w, double *gain)
{
        struct isched_decision d;
        struct isched_policy *p = NULL;
        double x[ISCHED_F_COUNT];
        int r;

        features_of(m->context, w, x);
        r = isched_policy_clone(m->policy, &p);
        if (r == 0)
                r = isched_policy_choose(p, x, ISCHED_F_COUNT, &d, NULL);
        if (r < 0)
                die("prior prediction", r);
        for (unsigned a = 0; a < N_ARMS; a++)
                gain[a] = d.arms[a].estimate - d.arms[SOCKET].estimate;
        isched_policy_free(p);
}

/* The prior's calibration, leave-one-scenario-out within its own training
 * scenarios: each one's phases predicted by a model fit on the others,
 * against the gains its statics measured; and the noise of a window score. */
static void calibrate(const struct training *t, const struct scen *scens, unsigned n_scen, uint32_t scen_mask,
                      struct isched_calibration *cal)
{
        double ss[N_ARMS] = { 0 }, cnt = 0;
        double *sds = NULL;
        size_t n_sds = 0;

        isched_calibration_init(cal);
        for (unsigned s = 0; s < n_scen; s++) {
                struct model m;

                if (!(scen_mask & (1u << s)) || !(scen_mask & ~(1u << s)))
                        continue;
                m = fit(t, scen_mask & ~(1u << s));
                for (unsigned p = 0; p < scens[s].n_phases; p++) {
                        double pred[N_ARMS] = { 0 }, act[N_ARMS] = { 0 }, g[N_ARMS];
                        unsigned n = 0;

                        for (size_t i = 0; i < t->n; i++) {
                                const struct example *e = &t->ex[i];

                                if (e->scen != s || e->phase != (int)p)
                                        continue;
                                predict(&m, e->w[e->producer[n % e->n_producers]], g);
                                for (unsigned a = 0; a < N_ARMS; a++) {
                                        pred[a] += g[a];
                                        act[a] += e->y[a] - e->y[SOCKET];
                                }
                                n++;
                        }
                        if (!n)
                                continue;
                        for (unsigned a = 0; a < N_ARMS; a++)
                                ss[a] += (pred[a] - act[a]) * (pred[a] - act[a]) / ((double)n * n);
                        cnt++;
                }
                model_free(&m);
        }
        for (unsigned a = 0; cnt > 0 && a < N_ARMS; a++) {
                cal->model_error[a] = a == SOCKET ? 0.0 : sqrt(ss[a] / cnt);
                cal->model_error_weight[a] = cnt;
        }
        /* Noise: the median within-phase sd of window scores. */
        for (unsigned s = 0; s < n_scen; s++) {
                if (!(scen_mask & (1u << s)))
                        continue;
                for (unsigned k = 0; k < MAX_SEEDS; k++)
                        for (unsigned p = 0; p < scens[s].n_phases; p++)
                                for (unsigned a = 0; a < N_ARMS; a++) {
                                        double v[MAX_WINDOWS];
                                        size_t n = 0;

                                        if (scens[s].canon[a] != a)
                                                continue;
                                        for (size_t i = 0; i < t->n && n < MAX_WINDOWS; i++)
                                                if (t->ex[i].scen == s && t->ex[i].seed == k &&
                                                    t->ex[i].phase == (int)p)
                                                        v[n++] = t->ex[i].y[a];
                                        if (n < 3)
                                                continue;
                                        sds = realloc(sds, (n_sds + 1) * sizeof(double));
                                        sds[n_sds++] = gsl_stats_sd(v, 1, n);
                                }
        }
        if (n_sds) {
                gsl_sort(sds, 1, n_sds);
                cal->noise_sd = gsl_stats_median_from_sorted_data(sds, 1, n_sds);
                cal->noise_weight = 2;
        }
        free(sds);
}

/* The mode the prior learns in: the bench's (default: ground truth). */
static enum isched_observation prior_observation(void)
{
        enum isched_observation m = ISCHED_OBS_GROUND_TRUTH;

        if (observation_mode && isched_observation_from_string(observation_mode, &m) < 0)
                die(observation_mode, -EINVAL);
        return m;
}

static void write_prior(const struct training *t, const struct scen *scens, unsigned n_scen, uint32_t scen_mask,
                        const char *path)
{
        struct isched_calibration cal;
        struct model m = fit(t, scen_mask);
        int r;

        calibrate(t, scens, n_scen, scen_mask, &cal);
        if ((r = isched_context_set_calibration(m.context, &cal)) < 0 ||
            (r = isched_context_set_observation(m.context, prior_observation())) < 0 ||
            (r = isched_model_save(path, m.policy, m.context)) < 0)
                die(path, r);
        model_free(&m);
}

/* A prior already in OUT/priors is reused only if it learned in the bench's
 * mode (the agent would refuse it in any other). */
static void check_prior_mode(const char *path)
{
        struct isched_policy *p = NULL;
        struct isched_context *c = NULL;
        enum isched_observation m;
        int r = isched_model_load(path, &p, &c);

        if (r < 0)
                die(path, r);
        m = isched_context_get_observation(c);
        isched_policy_free(p);
        isched_context_free(c);
        if (m != prior_observation()) {
                fprintf(stderr, "quality: %s learned in mode %s, not %s: remove it or use another --out\n", path,
                        isched_observation_to_string(m), isched_observation_to_string(prior_observation()));
                exit(1);
        }
}

/* ------------------------------------------------------------------ statistics */

struct stats {
        double mean, half, min, max;
        unsigned n;
        double v[MAX_SEEDS];
};

static struct stats stat_of(const double *v, unsigned n)
{
        struct stats s = { .mean = NAN, .half = NAN, .min = NAN, .max = NAN };
        double ok[MAX_SEEDS];

        for (unsigned i = 0; i < n; i++)
                if (isfinite(v[i]))
                        ok[s.n++] = v[i];
        memcpy(s.v, ok, sizeof(double) * s.n);
        if (!s.n)
                return s;
        s.mean = gsl_stats_mean(ok, 1, s.n);
        s.min = gsl_stats_min(ok, 1, s.n);
        s.max = gsl_stats_max(ok, 1, s.n);
        s.half = s.n > 1 ? gsl_cdf_tdist_Pinv(0.975, s.n - 1) * gsl_stats_sd(ok, 1, s.n) / sqrt(s.n) : NAN;
        return s;
}

static cJSON *stat_json(const struct stats *s)
{
        cJSON *o = cJSON_CreateObject(), *v = cJSON_AddArrayToObject(o, "values");

        cJSON_AddItemToObject(o, "mean", number_or_null(s->mean));
        cJSON_AddItemToObject(o, "ci95", number_or_null(s->half));
        cJSON_AddItemToObject(o, "min", number_or_null(s->min));
        cJSON_AddItemToObject(o, "max", number_or_null(s->max));
        cJSON_AddNumberToObject(o, "n", s->n);
        for (unsigned i = 0; i < s->n; i++)
                cJSON_AddItemToArray(v, cJSON_CreateNumber(s->v[i]));
        return o;
}

static void fmt_stat(char *buf, size_t size, const struct stats *s, int digits)
{
        if (!isfinite(s->mean))
                snprintf(buf, size, "-");
        else if (isfinite(s->half))
                snprintf(buf, size, "%+.*f ± %.*f", digits, s->mean, digits, s->half);
        else
                snprintf(buf, size, "%+.*f", digits, s->mean);
}

/* ------------------------------------------------------------------ the evaluation */

#define N_METHODS (N_ARMS + 3)
static const char *method_name(unsigned m, char *buf, size_t size)
{
        if (m < N_ARMS)
                snprintf(buf, size, "static-%s", arm_name(m));
        else
                snprintf(buf, size, "%s", m == N_ARMS ? "oracle" : m == N_ARMS + 1 ? "agent-prior" : "agent-cold");
        return buf;
}

struct result {
        double score, window_score, throughput, lat_mean_us, lat_p99_us, switches, switches_late, cpu_per_epoch;
        double est_gain;
};

struct scen_result {
        struct result r[N_METHODS][MAX_SEEDS];
        double oracle_gain[MAX_SEEDS];       /* oracle - socket, whole run */
        unsigned plan[MAX_SEEDS][MAX_PHASES];
        double agree;                        /* predicted best arm: fraction agreeing across producing arms */
};

static void oracle_plan(const struct opts *o, const struct scen *sc, const struct stat_data *d, unsigned k,
                        unsigned *plan)
{
        for (unsigned p = 0; p < sc->n_phases; p++) {
                double best = -INFINITY;

                plan[p] = SOCKET;
                for (unsigned a = 0; a < N_ARMS; a++) {
                        const double m = phase_mean(o, sc, d, k, a, p);

                        if (sc->canon[a] == a && m > best) {
                                best = m;
                                plan[p] = a;
                        }
                }
        }
}

static void read_result(const cJSON *j, struct result *r)
{
        *r = (struct result){
                .score = num(j, "score"),
                .window_score = num(j, "window_score"),
                .throughput = num(j, "throughput"),
                .lat_mean_us = num(j, "lat_mean_us"),
                .lat_p99_us = num(j, "lat_p99_us"),
                .switches = num(j, "switches"),
                .switches_late = num(j, "switches_late"),
                .cpu_per_epoch = num(j, "agent_cpu_s") / num(j, "epochs"),
                .est_gain = num(j, "estimated_gain"),
        };
}

/* How often the prior's predicted best arm is the same whichever arrangement
 * produced the window (issue 11: the context describes the workload). */
static unsigned best_arm(const struct scen *sc, const double *g)
{
        unsigned best = SOCKET;

        for (unsigned a = 0; a < N_ARMS; a++)
                if (sc->canon[a] == a && g[a] > g[best])
                        best = a;
        return best;
}

static double invariance(const struct training *t, unsigned s, const struct model *m, const struct scen *sc)
{
        unsigned same = 0, all = 0;

        for (size_t i = 0; i < t->n; i++) {
                const struct example *e = &t->ex[i];
                double g[N_ARMS];
                unsigned ref;

                if (e->scen != s)
                        continue;
                predict(m, e->w[SOCKET], g);
                ref = best_arm(sc, g);
                for (unsigned p = 0; p < e->n_producers; p++) {
                        if (e->producer[p] == SOCKET)
                                continue;
                        predict(m, e->w[e->producer[p]], g);
                        same += best_arm(sc, g) == ref;
                        all++;
                }
        }
        return all ? (double)same / all : NAN;
}

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: quality [--out DIR] [--scenarios A,B,...|all] [--seeds N] [--duration S]\n"
                "               [--window S] [--jobs N] [--summarise-only] [--observation M]\n"
                "               [--no-cold | --no-prior | --no-agent]\n"
                "       quality train-prior --out FILE [--runs DIR] [--scenarios ...] [--seeds N] [--duration S]\n"
                "       quality overhead [--scenario S] [--policy KIND|none] [--epochs N]\n\n"
                "Evaluate the agent (default configuration, cold and from a leave-one-scenario-out\n"
                "prior) on the simulator against the static arrangements and the per-phase oracle;\n"
                "write OUT/quality.json, quality.md, quality-runs.csv, vs-socket.csv and\n"
                "series-SCENARIO.csv (docs/results.md).\n\n"
                "  --out DIR         output directory (default bench/results)\n"
                "  --scenarios LIST  built-in scenarios (default all)\n"
                "  --seeds N         seeds 1..N (default 5)\n"
                "  --duration S      simulated seconds per run (default 900)\n"
                "  --window S        window of the mean-of-window score and of the prior (default 5,\n"
                "                    the agent's epoch)\n"
                "  --jobs N          runs at a time (default 2)\n"
                "  --summarise-only  run nothing: summarise the runs already in OUT/runs\n"
                "  --observation M   what the agent (and its prior) learns from: ground-truth\n"
                "                    (default), xen (no work counter) or xen+guests\n"
                "                    (docs/guest-work.md); every method is measured on the ground truth\n"
                "  --no-cold         run the agent from its prior only, not from a cold start\n"
                "                    (the cold-start columns and goals say \"not run\")\n"
                "  --no-prior        run the agent from a cold start only, and train no prior (the\n"
                "                    prior's columns and goals say \"not run\"); statics and oracle\n"
                "                    runs already in OUT/runs are then reused whatever mode they were\n"
                "                    observed in, since only their ground truth is used\n"
                "  --no-agent        run the statics and the oracle only, and no summary: their runs\n"
                "                    do not depend on the agent's configuration and stay in OUT/runs,\n"
                "                    where a later run without --no-agent finds them\n");
}

static unsigned split_list(char *s, const char **out, unsigned max)
{
        unsigned n = 0;

        for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
                out[n++] = tok;
        return n;
}

static void all_scenarios(struct opts *o)
{
        o->n_scenarios = 0;
        for (size_t i = 0; i < isched_sim_scenario_count() && o->n_scenarios < MAX_SCENARIOS; i++) {
                const char *name, *desc;

                if (isched_sim_scenario_get(i, &name, &desc) == 0)
                        o->scenarios[o->n_scenarios++] = name;
        }
}

static int parse_common(int argc, char **argv, struct opts *o, bool *summarise_only, const char **runs)
{
        static const struct option longopts[] = {
                { "out", required_argument, NULL, 'o' },       { "scenarios", required_argument, NULL, 's' },
                { "seeds", required_argument, NULL, 'n' },     { "duration", required_argument, NULL, 'd' },
                { "window", required_argument, NULL, 'w' },    { "jobs", required_argument, NULL, 'j' },
                { "summarise-only", no_argument, NULL, 'U' },  { "runs", required_argument, NULL, 'r' },
                { "observation", required_argument, NULL, 'O' }, { "no-cold", no_argument, NULL, 'C' },
                { "no-agent", no_argument, NULL, 'A' },        { "no-prior", no_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },            { NULL, 0, NULL, 0 },
        };
        static char scen_buf[4096];
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        o->out = optarg;
                        break;
                case 's':
                        if (strcmp(optarg, "all") == 0) {
                                all_scenarios(o);
                        } else {
                                snprintf(scen_buf, sizeof(scen_buf), "%s", optarg);
                                o->n_scenarios = split_list(scen_buf, o->scenarios, MAX_SCENARIOS);
                        }
                        break;
                case 'n':
                        o->seeds = (unsigned)atoi(optarg);
                        break;
                case 'd':
                        o->duration_s = atof(optarg);
                        break;
                case 'w':
                        o->window_s = atof(optarg);
                        break;
                case 'j':
                        o->jobs = (unsigned)atoi(optarg);
                        break;
                case 'O':
                        observation_mode = optarg;
                        break;
                case 'C':
                        o->no_cold = true;
                        break;
                case 'A':
                        o->no_agent = true;
                        break;
                case 'P':
                        o->no_prior = true;
                        break;
                case 'U':
                        if (summarise_only)
                                *summarise_only = true;
                        break;
                case 'r':
                        if (runs)
                                *runs = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (o->seeds < 1 || o->seeds > MAX_SEEDS || !(o->duration_s >= o->window_s) || !(o->window_s >= 1) ||
            o->jobs < 1 || o->n_scenarios < 1 || o->duration_s / o->window_s > MAX_WINDOWS) {
                fprintf(stderr, "quality: bad --seeds, --duration, --window, --jobs or --scenarios\n");
                return 2;
        }
        if (o->no_prior && o->no_cold) {
                fprintf(stderr, "quality: --no-prior and --no-cold leave no agent to run: give --no-agent for that\n");
                return 2;
        }
        return 0;
}

/* Statics of every scenario, then training examples from them. */
static void statics_and_training(const struct opts *o, struct scen *scens, struct stat_data *sd,
                                 struct training *t, bool summarise_only)
{
        struct job *jobs = calloc((size_t)o->n_scenarios * o->seeds * N_ARMS, sizeof(*jobs));
        unsigned n = 0;
        char dir[4096];

        if (!jobs)
                die("out of memory", -ENOMEM);
        mkdir_or_die(o->out);
        snprintf(dir, sizeof(dir), "%s/runs", o->out);
        mkdir_or_die(dir);
        for (unsigned s = 0; s < o->n_scenarios; s++) {
                scens[s].name = o->scenarios[s];
                probe(&scens[s]);
                add_statics(o, &scens[s], jobs, &n);
        }
        if (!summarise_only)
                run_all(o, jobs, n);
        for (unsigned s = 0; s < o->n_scenarios; s++) {
                load_statics(o, &scens[s], &sd[s]);
                collect(o, &scens[s], s, &sd[s], t);
        }
        free(jobs);
}

static int cmd_train_prior(int argc, char **argv)
{
        struct opts o = { .seeds = 2, .duration_s = 600, .window_s = 5, .jobs = 2 };
        static struct scen scens[MAX_SCENARIOS];
        static struct stat_data sd[MAX_SCENARIOS];
        struct training t = { 0 };
        const char *runs = NULL, *out;
        int r;

        all_scenarios(&o);
        r = parse_common(argc, argv, &o, NULL, &runs);
        if (r)
                return r;
        out = o.out;
        if (!out) {
                fprintf(stderr, "quality train-prior: give --out FILE\n");
                return 2;
        }
        o.out = runs ? runs : "prior-runs";
        statics_and_training(&o, scens, sd, &t, false);
        write_prior(&t, scens, o.n_scenarios, (1u << o.n_scenarios) - 1, out);
        fprintf(stderr, "quality: prior trained on %u scenarios x %u seeds x %.0f s (%zu windows) written to %s\n",
                o.n_scenarios, o.seeds, o.duration_s, t.n, out);
        for (unsigned s = 0; s < o.n_scenarios; s++)
                free_statics(&sd[s]);
        free(t.ex);
        return 0;
}

static int cmd_overhead(int argc, char **argv);

static void add_goal(cJSON *goals, const char *name, bool met, bool run)
{
        if (run)
                cJSON_AddBoolToObject(goals, name, met);
        else
                cJSON_AddNullToObject(goals, name);
}

static const char *verdict(bool met, bool run)
{
        return !run ? "not run" : met ? "met" : "NOT met";
}

/* A table cell: "yes", "**no**", or "not run" for an agent that was not. */
static const char *met_cell(bool met, bool run)
{
        return !run ? "not run" : met ? "yes" : "**no**";
}

/* The markdown tables of docs/results.md. */
static void write_markdown(const struct opts *o, const struct scen *scens, const struct scen_result *res,
                           cJSON *goals)
{
        char path[4096], a[64], b[64], c[64], d[64];
        FILE *f;

        snprintf(path, sizeof(path), "%s/quality.md", o->out);
        f = fopen(path, "w");
        if (!f)
                die(path, -errno);
        fprintf(f, "Whole-run score minus socket's (same seed), mean ± 95%% CI over %u seeds, %.0f simulated s per run.\n\n",
                o->seeds, o->duration_s);
        fprintf(f, "### Do no harm (whole-run score - socket; every seed >= -%.2f with the prior, >= -%.2f cold)\n\n",
                HARM_PRIOR, HARM_COLD);
        fprintf(f, "| scenario | oracle - socket | agent, prior | worst seed | met | agent, cold | worst seed | met |\n");
        fprintf(f, "|---|---|---|---|---|---|---|---|\n");
        for (unsigned s = 0; s < o->n_scenarios; s++) {
                double dp[MAX_SEEDS], dc[MAX_SEEDS];
                struct stats sp, scd, og;

                if (scens[s].stress)
                        continue;
                for (unsigned k = 0; k < o->seeds; k++) {
                        dp[k] = res[s].r[N_ARMS + 1][k].score - res[s].r[SOCKET][k].score;
                        dc[k] = res[s].r[N_ARMS + 2][k].score - res[s].r[SOCKET][k].score;
                }
                sp = stat_of(dp, o->seeds);
                scd = stat_of(dc, o->seeds);
                og = stat_of(res[s].oracle_gain, o->seeds);
                fmt_stat(a, sizeof(a), &og, 3);
                fmt_stat(b, sizeof(b), &sp, 3);
                fmt_stat(c, sizeof(c), &scd, 3);
                if (o->no_cold)
                        snprintf(d, sizeof(d), "-");
                else
                        snprintf(d, sizeof(d), "%+.3f", scd.min);
                fprintf(f, "| %s | %s%s | %s | %+.3f | %s | %s | %s | %s |\n", scens[s].name, a,
                        og.mean < NO_GAIN ? " (no gain)" : "", b, sp.min, met_cell(sp.min >= -HARM_PRIOR, !o->no_prior),
                        c, d, met_cell(scd.min >= -HARM_COLD, !o->no_cold));
        }
        fprintf(f, "\n### Capture (where the oracle beats socket by >= %.2f: >= %.0f%% of that gain, mean over seeds, "
                   "with the prior; phased scenarios: better than every static)\n\n",
                CAPTURE_MIN_GAIN, 100 * CAPTURE_FRACTION);
        fprintf(f, "| scenario | oracle - socket | agent (prior) - socket | fraction of the gain | met | cold: fraction |\n");
        fprintf(f, "|---|---|---|---|---|---|\n");
        for (unsigned s = 0; s < o->n_scenarios; s++) {
                double fp[MAX_SEEDS], fc[MAX_SEEDS], dp[MAX_SEEDS];
                struct stats og = stat_of(res[s].oracle_gain, o->seeds), sfp, sfc, sdp;

                if (scens[s].stress || !(og.mean >= CAPTURE_MIN_GAIN))
                        continue;
                for (unsigned k = 0; k < o->seeds; k++) {
                        dp[k] = res[s].r[N_ARMS + 1][k].score - res[s].r[SOCKET][k].score;
                        fp[k] = dp[k] / res[s].oracle_gain[k];
                        fc[k] = (res[s].r[N_ARMS + 2][k].score - res[s].r[SOCKET][k].score) / res[s].oracle_gain[k];
                }
                sfp = stat_of(fp, o->seeds);
                sfc = stat_of(fc, o->seeds);
                sdp = stat_of(dp, o->seeds);
                fmt_stat(a, sizeof(a), &og, 3);
                fmt_stat(b, sizeof(b), &sdp, 3);
                fmt_stat(c, sizeof(c), &sfp, 2);
                fmt_stat(d, sizeof(d), &sfc, 2);
                fprintf(f, "| %s | %s | %s | %s | %s | %s |\n", scens[s].name, a, b, c,
                        met_cell(sfp.mean >= CAPTURE_FRACTION, !o->no_prior), d);
        }
        fprintf(f, "\n| phased scenario | agent (prior) | best static | beats every static |\n|---|---|---|---|\n");
        for (unsigned s = 0; s < o->n_scenarios; s++) {
                double v[MAX_SEEDS];
                struct stats ag, best = { .mean = -INFINITY };
                unsigned bi = SOCKET;

                if (scens[s].n_phases < 2 || scens[s].stress)
                        continue;
                for (unsigned m = 0; m < N_ARMS; m++) {
                        struct stats st;

                        for (unsigned k = 0; k < o->seeds; k++)
                                v[k] = res[s].r[m][k].score;
                        st = stat_of(v, o->seeds);
                        if (st.mean > best.mean) {
                                best = st;
                                bi = m;
                        }
                }
                for (unsigned k = 0; k < o->seeds; k++)
                        v[k] = res[s].r[N_ARMS + 1][k].score;
                ag = stat_of(v, o->seeds);
                fprintf(f, "| %s | %.3f | %s %.3f | %s |\n", scens[s].name, ag.mean, arm_name(bi), best.mean,
                        met_cell(ag.mean > best.mean, !o->no_prior));
        }
        fprintf(f, "\n### Calm (stationary scenarios: switches after the first %.0f s, at most one per %.0f s)\n\n",
                CALM_AFTER_S, CALM_PER_S);
        fprintf(f, "| scenario | prior: switches after %.0f s (max over seeds) | met | cold: max | met |\n|---|---|---|---|---|\n",
                CALM_AFTER_S);
        for (unsigned s = 0; s < o->n_scenarios; s++) {
                const double allowed = ceil((o->duration_s - CALM_AFTER_S) / CALM_PER_S - 1e-9);
                double mp = 0, mc = 0;

                if (scens[s].n_phases > 1)
                        continue;
                for (unsigned k = 0; k < o->seeds; k++) {
                        mp = fmax(mp, res[s].r[N_ARMS + 1][k].switches_late);
                        mc = fmax(mc, res[s].r[N_ARMS + 2][k].switches_late);
                }
                fprintf(f, "| %s | %.0f | %s | %.0f | %s |\n", scens[s].name, mp, met_cell(mp <= allowed, !o->no_prior),
                        mc, met_cell(mc <= allowed, !o->no_cold));
        }
        fprintf(f, "\n### Every method (whole-run score, mean ± 95%% CI; mean of %.0f-s window scores; switches)\n\n",
                o->window_s);
        for (unsigned s = 0; s < o->n_scenarios; s++) {
                fprintf(f, "\n**%s**%s (phases: %u; predicted best arm the same from every arrangement's windows: %.0f%%)\n\n",
                        scens[s].name, scens[s].stress ? " (stress case)" : "", scens[s].n_phases, 100 * res[s].agree);
                fprintf(f, "| method | whole-run score | - socket | mean window score | throughput | lat mean us | lat p99 us | switches |\n");
                fprintf(f, "|---|---|---|---|---|---|---|---|\n");
                for (unsigned m = 0; m < N_METHODS; m++) {
                        double v[8][MAX_SEEDS];
                        struct stats st[8];
                        char name[32];

                        if (m < N_ARMS && scens[s].canon[m] != m)
                                continue;
                        for (unsigned k = 0; k < o->seeds; k++) {
                                const struct result *r = &res[s].r[m][k];

                                v[0][k] = r->score;
                                v[1][k] = r->score - res[s].r[SOCKET][k].score;
                                v[2][k] = r->window_score;
                                v[3][k] = r->throughput;
                                v[4][k] = r->lat_mean_us;
                                v[5][k] = r->lat_p99_us;
                                v[6][k] = r->switches;
                        }
                        for (unsigned i = 0; i < 7; i++)
                                st[i] = stat_of(v[i], o->seeds);
                        fmt_stat(a, sizeof(a), &st[1], 3);
                        fprintf(f, "| %s | %.3f ± %.3f | %s | %.3f | %.4g | %.2f | %.1f | %.1f |\n",
                                method_name(m, name, sizeof(name)), st[0].mean, isfinite(st[0].half) ? st[0].half : 0,
                                a, st[2].mean, st[3].mean, st[4].mean, st[5].mean, st[6].mean);
                }
        }
        (void)goals;
        fclose(f);
}

int main(int argc, char **argv)
{
        struct opts o = { .out = "bench/results", .seeds = 5, .duration_s = 900, .window_s = 5, .jobs = 2 };
        static struct scen scens[MAX_SCENARIOS];
        static struct stat_data sd[MAX_SCENARIOS];
        static struct scen_result res[MAX_SCENARIOS];
        struct training t = { 0 };
        bool summarise_only = false;
        struct job *jobs;
        unsigned n = 0;
        cJSON *root, *js, *goals;
        char path[4096];
        FILE *csv;
        bool harm_prior = true, harm_cold = true, capture = true, beat = true, calm_prior = true, calm_cold = true;
        int r;

        if (argc > 1 && strcmp(argv[1], "overhead") == 0)
                return cmd_overhead(argc - 1, argv + 1);
        if (argc > 1 && strcmp(argv[1], "train-prior") == 0)
                return cmd_train_prior(argc - 1, argv + 1);
        all_scenarios(&o);
        r = parse_common(argc, argv, &o, &summarise_only, NULL);
        if (r)
                return r;
        if (o.n_scenarios < 2) {
                fprintf(stderr, "quality: the leave-one-out prior needs two scenarios at least\n");
                return 2;
        }
        statics_and_training(&o, scens, sd, &t, summarise_only);

        /* Leave-one-scenario-out priors, oracle plans, and the second stage. */
        snprintf(path, sizeof(path), "%s/priors", o.out);
        mkdir_or_die(path);
        jobs = calloc((size_t)o.n_scenarios * o.seeds * 3, sizeof(*jobs));
        if (!jobs)
                die("out of memory", -ENOMEM);
        for (unsigned s = 0; s < o.n_scenarios; s++) {
                char prior[4096];

                snprintf(prior, sizeof(prior), "%s/priors/loo-%s.model", o.out, scens[s].name);
                if (o.no_prior)
                        ;
                else if (access(prior, R_OK) != 0)
                        write_prior(&t, scens, o.n_scenarios, ((1u << o.n_scenarios) - 1) & ~(1u << s), prior);
                else
                        check_prior_mode(prior);
                for (unsigned k = 0; k < o.seeds; k++) {
                        struct job *j;

                        oracle_plan(&o, &scens[s], &sd[s], k, res[s].plan[k]);
                        if (scens[s].n_phases > 1) {
                                j = &jobs[n++];
                                *j = (struct job){ .kind = JOB_ORACLE, .sc = &scens[s], .seed = k + 1,
                                                   .cost = scenario_cost(&scens[s]) };
                                memcpy(j->plan, res[s].plan[k], sizeof(j->plan));
                                snprintf(j->method, sizeof(j->method), "oracle");
                        }
                        for (int p = o.no_prior ? 1 : 0; p < (o.no_agent ? 0 : o.no_cold ? 1 : 2); p++) {
                                j = &jobs[n++];
                                *j = (struct job){ .kind = JOB_AGENT, .sc = &scens[s], .seed = k + 1, .prior = p == 0,
                                                   .cost = 1.5 * scenario_cost(&scens[s]) };
                                snprintf(j->method, sizeof(j->method), p == 0 ? "agent-prior" : "agent-cold");
                                snprintf(j->prior_path, sizeof(j->prior_path), "%s", prior);
                        }
                }
        }
        if (!summarise_only)
                run_all(&o, jobs, n);
        if (o.no_agent) {
                fprintf(stderr, "quality: --no-agent: statics and oracle runs are in %s/runs; no summary\n", o.out);
                for (unsigned s = 0; s < o.n_scenarios; s++)
                        free_statics(&sd[s]);
                free(t.ex);
                free(jobs);
                return 0;
        }

        /* Collect. */
        root = cJSON_CreateObject();
        js = cJSON_AddObjectToObject(root, "scenarios");
        snprintf(path, sizeof(path), "%s/quality-runs.csv", o.out);
        csv = fopen(path, "w");
        if (!csv)
                die(path, -errno);
        fprintf(csv, "scenario,method,seed,score,window_score,throughput,lat_mean_us,lat_p99_us,switches,switches_late,"
                     "estimated_gain\n");
        for (unsigned s = 0; s < o.n_scenarios; s++) {
                cJSON *jsc = cJSON_AddObjectToObject(js, scens[s].name), *jm = cJSON_AddObjectToObject(jsc, "methods");
                char prior[4096];
                struct model loo = { 0 };

                for (unsigned k = 0; k < o.seeds; k++) {
                        for (unsigned m = 0; m < N_METHODS; m++) {
                                char name[32];
                                cJSON *jr;

                                if (m < N_ARMS) {
                                        jr = sd[s].run[k][scens[s].canon[m]];
                                        read_result(jr, &res[s].r[m][k]);
                                        continue;
                                }
                                if (m == N_ARMS && scens[s].n_phases == 1) {
                                        res[s].r[m][k] = res[s].r[res[s].plan[k][0]][k];
                                        continue;
                                }
                                if ((m == N_ARMS + 2 && o.no_cold) || (m == N_ARMS + 1 && o.no_prior)) {
                                        res[s].r[m][k] = (struct result){ NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN };
                                        continue;
                                }
                                jr = load_run(&o, method_name(m, name, sizeof(name)), scens[s].name, k + 1);
                                read_result(jr, &res[s].r[m][k]);
                                cJSON_Delete(jr);
                        }
                        res[s].oracle_gain[k] = res[s].r[N_ARMS][k].score - res[s].r[SOCKET][k].score;
                        for (unsigned m = 0; m < N_METHODS; m++) {
                                const struct result *x = &res[s].r[m][k];
                                char name[32];

                                fprintf(csv, "%s,%s,%u,%.6f,%.6f,%.6g,%.4f,%.4f,%.0f,%.0f,%.6f\n", scens[s].name,
                                        method_name(m, name, sizeof(name)), k + 1, x->score, x->window_score,
                                        x->throughput, x->lat_mean_us, x->lat_p99_us, x->switches, x->switches_late,
                                        x->est_gain);
                        }
                }
                /* The context describes the workload: the LOO prior's choices. */
                snprintf(prior, sizeof(prior), "%s/priors/loo-%s.model", o.out, scens[s].name);
                if (!o.no_prior && isched_model_load(prior, &loo.policy, &loo.context) == 0) {
                        res[s].agree = invariance(&t, s, &loo, &scens[s]);
                        model_free(&loo);
                }
                cJSON_AddNumberToObject(jsc, "phases", scens[s].n_phases);
                cJSON_AddBoolToObject(jsc, "stress", scens[s].stress);
                cJSON_AddItemToObject(jsc, "predicted_best_arm_agreement", number_or_null(res[s].agree));
                for (unsigned m = 0; m < N_METHODS; m++) {
                        cJSON *mo = cJSON_AddObjectToObject(jm, method_name(m, path, sizeof(path)));
                        double v[MAX_SEEDS];
                        struct stats st;
#define ADD(field, key)                                                  \
        do {                                                             \
                for (unsigned k = 0; k < o.seeds; k++)                   \
                        v[k] = res[s].r[m][k].field;                     \
                st = stat_of(v, o.seeds);                                \
                cJSON_AddItemToObject(mo, key, stat_json(&st));          \
        } while (0)
                        ADD(score, "score");
                        ADD(window_score, "window_score");
                        ADD(throughput, "throughput");
                        ADD(lat_mean_us, "lat_mean_us");
                        ADD(lat_p99_us, "lat_p99_us");
                        ADD(switches, "switches");
                        ADD(switches_late, "switches_late");
                        ADD(cpu_per_epoch, "agent_cpu_s_per_epoch");
                        ADD(est_gain, "estimated_gain");
                        for (unsigned k = 0; k < o.seeds; k++)
                                v[k] = res[s].r[m][k].score - res[s].r[SOCKET][k].score;
                        st = stat_of(v, o.seeds);
                        cJSON_AddItemToObject(mo, "vs_socket", stat_json(&st));
#undef ADD
                }
                /* Goals over the scenarios they apply to. */
                if (!scens[s].stress) {
                        double og = 0;

                        for (unsigned k = 0; k < o.seeds; k++) {
                                const double dp = res[s].r[N_ARMS + 1][k].score - res[s].r[SOCKET][k].score;
                                const double dc = res[s].r[N_ARMS + 2][k].score - res[s].r[SOCKET][k].score;

                                harm_prior = harm_prior && dp >= -HARM_PRIOR;
                                harm_cold = harm_cold && dc >= -HARM_COLD;
                                og += res[s].oracle_gain[k] / o.seeds;
                        }
                        if (og >= CAPTURE_MIN_GAIN) {
                                double fr = 0;

                                for (unsigned k = 0; k < o.seeds; k++)
                                        fr += (res[s].r[N_ARMS + 1][k].score - res[s].r[SOCKET][k].score) /
                                              res[s].oracle_gain[k] / o.seeds;
                                capture = capture && fr >= CAPTURE_FRACTION;
                        }
                        if (scens[s].n_phases > 1) {
                                double ag = 0, best = -INFINITY;

                                for (unsigned k = 0; k < o.seeds; k++)
                                        ag += res[s].r[N_ARMS + 1][k].score / o.seeds;
                                for (unsigned m = 0; m < N_ARMS; m++) {
                                        double ms = 0;

                                        for (unsigned k = 0; k < o.seeds; k++)
                                                ms += res[s].r[m][k].score / o.seeds;
                                        best = fmax(best, ms);
                                }
                                beat = beat && ag > best;
                        } else {
                                const double allowed = ceil((o.duration_s - CALM_AFTER_S) / CALM_PER_S - 1e-9);

                                for (unsigned k = 0; k < o.seeds; k++) {
                                        calm_prior = calm_prior && res[s].r[N_ARMS + 1][k].switches_late <= allowed;
                                        calm_cold = calm_cold && res[s].r[N_ARMS + 2][k].switches_late <= allowed;
                                }
                        }
                }
        }
        fclose(csv);
        goals = cJSON_AddObjectToObject(root, "goals");
        /* a goal of an agent that was not run is null: not judged */
        add_goal(goals, "do_no_harm_prior", harm_prior, !o.no_prior);
        if (o.no_cold)
                cJSON_AddNullToObject(goals, "do_no_harm_cold");
        else
                cJSON_AddBoolToObject(goals, "do_no_harm_cold", harm_cold);
        add_goal(goals, "capture_80pct_with_prior", capture, !o.no_prior);
        add_goal(goals, "phased_beats_every_static", beat, !o.no_prior);
        add_goal(goals, "calm_prior", calm_prior, !o.no_prior);
        if (o.no_cold)
                cJSON_AddNullToObject(goals, "calm_cold");
        else
                cJSON_AddBoolToObject(goals, "calm_cold", calm_cold);
        cJSON_AddNumberToObject(root, "seeds", o.seeds);
        cJSON_AddNumberToObject(root, "duration_s", o.duration_s);
        cJSON_AddNumberToObject(root, "window_s", o.window_s);
        cJSON_AddStringToObject(root, "observation", observation_mode ? observation_mode : "ground-truth");
        snprintf(path, sizeof(path), "%s/quality.json", o.out);
        write_json_or_die(path, root);
        write_markdown(&o, scens, res, goals);

        /* vs-socket.csv: whole-run score minus socket's, per scenario and method. */
        snprintf(path, sizeof(path), "%s/vs-socket.csv", o.out);
        csv = fopen(path, "w");
        if (!csv)
                die(path, -errno);
        fprintf(csv, "scenario");
        /* a method that was not run has no column (gnuplot cannot plot one) */
        for (unsigned m = 0; m < N_METHODS - (o.no_cold ? 1u : 0u); m++)
                if (!(m == N_ARMS + 1 && o.no_prior))
                        fprintf(csv, ",%s", method_name(m, path, sizeof(path)));
        fprintf(csv, "\n");
        for (unsigned s = 0; s < o.n_scenarios; s++) {
                fprintf(csv, "%s", scens[s].name);
                for (unsigned m = 0; m < N_METHODS - (o.no_cold ? 1u : 0u); m++) {
                        double v = 0;

                        if (m == N_ARMS + 1 && o.no_prior)
                                continue;

                        for (unsigned k = 0; k < o.seeds; k++)
                                v += (res[s].r[m][k].score - res[s].r[SOCKET][k].score) / o.seeds;
                        fprintf(csv, ",%.6f", v);
                }
                fprintf(csv, "\n");
        }
        fclose(csv);
        fprintf(stderr, "quality: goals: do no harm %s (prior) %s (cold); capture %s; phased %s; calm %s (prior) %s (cold)\n",
                verdict(harm_prior, !o.no_prior), verdict(harm_cold, !o.no_cold), verdict(capture, !o.no_prior),
                verdict(beat, !o.no_prior), verdict(calm_prior, !o.no_prior), verdict(calm_cold, !o.no_cold));
        cJSON_Delete(root);
        for (unsigned s = 0; s < o.n_scenarios; s++)
                free_statics(&sd[s]);
        free(t.ex);
        free(jobs);
        return 0;
}

/* ------------------------------------------------------------------ overhead */

static int cmd_overhead(int argc, char **argv)
{
        const char *scenario = "mixed", *policy = "linucb";
        unsigned epochs = 200;
        struct isched_backend *b;
        struct isched_agent *agent = NULL;
        struct isched_agent_config ac;
        struct rusage ru;
        struct scen sc = { 0 };
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
        sc.name = scenario;
        probe(&sc);
        b = open_sim(scenario, 1);
        isched_agent_config_init(&ac);
        ac.pool = sc.pool_name;
        if (strcmp(policy, "none") != 0) {
                static const char *names[ISCHED_F_COUNT];
                struct isched_policy_params pp;
                enum isched_policy_kind kind;
                struct isched_context_params cp;
                struct isched_context *ctx = NULL;
                struct isched_policy *p = NULL;
                int r = isched_policy_kind_from_string(policy, &kind);

                if (r < 0) {
                        fprintf(stderr, "quality: %s\n", isched_last_error());
                        return 2;
                }
                for (unsigned i = 0; i < ISCHED_F_COUNT; i++)
                        names[i] = isched_feature_name(i);
                isched_policy_params_init(&pp, kind, ISCHED_F_COUNT);
                pp.feature_schema = ISCHED_FEATURE_SCHEMA;
                pp.feature_names = names;
                isched_context_params_init(&cp);
                if ((r = isched_policy_new(&pp, &p)) < 0 || (r = isched_context_new(&cp, &ctx)) < 0 ||
                    (r = isched_agent_new(&ac, b, p, ctx, &agent)) < 0)
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
