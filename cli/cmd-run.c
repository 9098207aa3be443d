/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched run: one agent per pool on one backend, until the steps end or a
 * signal comes; then the pools are restored (or kept) and the models saved.
 * Settings: run-config.c; journald, sd_notify and metrics: run-service.c. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"

#define PROGRESS_EVERY 10    /* epochs between progress lines when not on a terminal */
#define MAX_TICK_FAILURES 30 /* consecutive failed intervals of a pool before giving up */

struct pool_run {
        const char *name;
        char *model_path;
        struct isched_agent *agent;
        bool vanished;
        bool model_loaded;
        uint64_t model_rounds; /* rounds of the model at start */
        uint64_t epochs_in[ISCHED_ARR_COUNT]; /* epochs ended with each arrangement in force */
        unsigned failures;     /* consecutive failed ticks */
        int restored;          /* isched_agent_stop()'s result */
        bool model_saved;
        double last_decision_wall_s;
        const char *prior_path; /* the prior the pool started from, or NULL */
        char prior_note[256];   /* why it started without the shipped prior, or "" */
        struct isched_counters first, last; /* the pool at start and at the end, for the shadow run */
        bool have_first, have_last;
        bool have_shadow;
        struct isched_window run_w, shadow_w;   /* the whole run, the agent's and the baseline's */
        double run_score, shadow_score;
};

/* Why the run ended. */
enum run_end {
        END_NONE,
        END_SIGNAL,
        END_STEPS,
        END_DURATION,
        END_TRACE,
        END_NO_POOLS,
        END_OUTPUT,
        END_BACKEND,
};

static const char *const end_names[] = {
        [END_NONE] = "none",         [END_SIGNAL] = "signal",          [END_STEPS] = "steps",
        [END_DURATION] = "duration", [END_TRACE] = "trace-ended",      [END_NO_POOLS] = "pools-vanished",
        [END_OUTPUT] = "output-error", [END_BACKEND] = "backend-failure",
};

struct run {
        struct run_opts o;
        struct isched_backend *backend;
        struct isched_trace_writer *trace;
        char *state_dir, *lock_dir;
        struct pool_run pools[RUN_MAX_POOLS];
        size_t n;
        bool tty;
        enum run_end end;
        int end_signal;
        int output_errno;
        int argc;
        char **argv;
};

static volatile sig_atomic_t stop_signal, reload_signal;

static void on_stop_signal(int sig)
{
        stop_signal = sig;
}

static void on_reload_signal(int sig)
{
        (void)sig;
        reload_signal = 1;
}

static void install_signals(void)
{
        struct sigaction stop = { .sa_handler = on_stop_signal }, reload = { .sa_handler = on_reload_signal },
                         ignore = { .sa_handler = SIG_IGN };

        sigemptyset(&stop.sa_mask);
        sigemptyset(&reload.sa_mask);
        sigemptyset(&ignore.sa_mask);
        sigaction(SIGINT, &stop, NULL);
        sigaction(SIGTERM, &stop, NULL);
        sigaction(SIGHUP, &reload, NULL);
        /* A closed pipe is a write error that ends the run cleanly, with
         * the models saved, not a death by signal. */
        sigaction(SIGPIPE, &ignore, NULL);
}

static double wall_time_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *arr(enum isched_arrangement a)
{
        return isched_arrangement_to_string(a) ?: "?";
}

/* A report line; when it cannot be written the run ends. */
#define REPORT(run, prio, pool, arrangement, ...)                                                  \
        do {                                                                                       \
                if (!(run)->o.json && !run_report(prio, pool, arrangement, __VA_ARGS__) &&         \
                    (run)->end == END_NONE) {                                                      \
                        (run)->end = END_OUTPUT;                                                   \
                        (run)->output_errno = errno;                                               \
                }                                                                                  \
        } while (0)

/* ---- files and directories ---- */

static int mkdir_p(const char *path, mode_t mode)
{
        char buf[4096];
        size_t n = strlen(path);

        if (n >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int make_dir(const char *what, const char *dir, mode_t mode)
{
        const int r = mkdir_p(dir, mode);

        if (r < 0) {
                cli_error("cannot create %s %s: %s", what, dir, strerror(-r));
                return r == -EACCES || r == -EPERM || r == -EROFS ? EXIT_RUNTIME : EXIT_USAGE;
        }
        return 0;
}

/* The state directory (backend-dependent default) and, for real pools, the
 * host's lock directory, so that one agent runs per pool whatever the
 * state directory. */
static int prepare_dirs(struct run *run)
{
        int r;

        if (run->o.state_dir)
                run->state_dir = strdup(run->o.state_dir);
        else if ((r = isched_agent_default_state_dir_for(run->o.backend.backend, &run->state_dir)) < 0)
                return cli_fail(r, "no state directory");
        if (!run->state_dir)
                return EXIT_RUNTIME;
        if ((r = make_dir("state directory", run->state_dir, 0700)) != 0)
                return r;
        if (strcmp(run->o.backend.backend, "xen") != 0)
                return 0;
        if ((r = isched_agent_default_runtime_dir(&run->lock_dir)) < 0)
                return cli_fail(r, "no runtime directory for the pools' locks");
        return make_dir("lock directory", run->lock_dir, 0755);
}

/* Output files that isched run itself writes are checked before any work:
 * a run must not learn for an hour and then fail to save. */
static int check_outputs(const struct run *run)
{
        const struct run_opts *o = &run->o;
        struct stat st;
        int rc;

        if (o->metrics && (rc = run_metrics_check_path(o->metrics)) != 0)
                return rc;
        if (o->record && lstat(o->record, &st) == 0 && S_ISDIR(st.st_mode)) {
                cli_error("--record %s is a directory; give a file name", o->record);
                return EXIT_USAGE;
        }
        return 0;
}

static void remove_hold_files(struct run *run)
{
        for (size_t i = 0; i < run->o.n_pools; i++) {
                char *state = NULL, *hold;
                size_t n;

                if (isched_agent_state_path(run->state_dir, run->o.pools[i], &state) < 0)
                        continue;
                /* The hold file sits beside the state file: <pool>.hold. */
                n = strlen(state) - strlen(".state.json");
                hold = malloc(n + sizeof(".hold"));
                if (hold) {
                        memcpy(hold, state, n);
                        memcpy(hold + n, ".hold", sizeof(".hold"));
                        if (unlink(hold) == 0)
                                REPORT(run, LOG_NOTICE, run->o.pools[i], NULL, "resumed pool %s: removed %s",
                                       run->o.pools[i], hold);
                        free(hold);
                }
                free(state);
        }
}

/* "%p" becomes the pool name, tamed as in the state directory: a pool
 * name never makes a path go elsewhere. */
static char *model_path_for(const char *pattern, const char *pool)
{
        const char *p = strstr(pattern, "%p");
        char safe[ISCHED_NAME_MAX], *s = NULL;
        size_t i;

        if (!p)
                return strdup(pattern);
        for (i = 0; pool[i] && i < sizeof(safe) - 1; i++) {
                const char c = pool[i];

                safe[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                                          c == '_' || c == '-'
                                  ? c
                                  : '_';
        }
        safe[i] = '\0';
        if (safe[0] == '.')
                safe[0] = '_';
        if (asprintf(&s, "%.*s%s%s", (int)(p - pattern), pattern, safe, p + 2) < 0)
                return NULL;
        return s;
}

/* A model file that exists is loaded and must fit, options included; one
 * that does not is created at the end.  Nothing is written here. */
/* The prior a pool without a model starts from: --prior FILE, else
 * $ISCHED_PRIOR, else the shipped one.  An explicit prior that does not fit
 * is an error; the shipped one that does not fit (not installed, another
 * policy kind or policy options given, another observation mode) is skipped
 * with a note.  Returns 0 with *ret_policy set or NULL, or an exit code. */
static int load_prior(const struct run_opts *o, struct isched_backend *backend, const struct isched_pool_info *info,
                      struct pool_run *pr, struct isched_policy **ret_policy, struct isched_context **ret_context)
{
        const char *env = getenv("ISCHED_PRIOR");
        const char *path = o->prior ? o->prior : env && *env ? env : ISCHED_DATADIR "/prior.model";
        const bool explicit_prior = o->prior != NULL;
        struct isched_policy *policy = NULL;
        struct isched_context *context = NULL;
        struct isched_policy_params pp;
        struct isched_counters c;
        enum isched_observation mode, had;
        struct stat st;
        char what[600];
        int r;

        *ret_policy = NULL;
        *ret_context = NULL;
        if (o->no_prior || (!explicit_prior && env && strcmp(env, "none") == 0)) {
                snprintf(pr->prior_note, sizeof(pr->prior_note), "%s", o->no_prior ? "--no-prior" : "ISCHED_PRIOR=none");
                return 0;
        }
        if (!explicit_prior && stat(path, &st) < 0) {
                snprintf(pr->prior_note, sizeof(pr->prior_note), "no prior at %s (not installed?)", path);
                return 0;
        }
        snprintf(what, sizeof(what), "cannot use the prior %s", path);
        r = isched_model_load(path, &policy, &context);
        if (r < 0) {
                if (explicit_prior)
                        return cli_fail(r, what);
                snprintf(pr->prior_note, sizeof(pr->prior_note), "the prior %s cannot be loaded: %s", path,
                         isched_last_error());
                return 0;
        }
        isched_policy_get_params(policy, &pp);
        r = isched_model_check_compatible(policy, o->policy.kind_from[0] ? o->policy.kind : pp.kind,
                                          ISCHED_FEATURE_SCHEMA, ISCHED_F_COUNT);
        if (r < 0 || (explicit_prior && !cli_policy_opts_match_model(&o->policy, &pp, path))) {
                isched_policy_free(policy);
                isched_context_free(context);
                return r < 0 ? cli_fail(-EINVAL, what) : EXIT_USAGE;
        }
        if (!explicit_prior && (o->policy.alpha.from[0] || o->policy.lambda.from[0] || o->policy.gamma.from[0] ||
                                o->policy.epsilon.from[0] || o->policy.ts_v.from[0])) {
                snprintf(pr->prior_note, sizeof(pr->prior_note),
                         "policy parameters were given, the shipped prior has its own");
                goto skip;
        }
        /* A prior learned from another kind of throughput would mislead. */
        had = isched_context_get_observation(context);
        r = isched_backend_read_counters(backend, info->id, &c);
        mode = r == 0 ? isched_counters_observation(isched_backend_get_name(backend), &c) : ISCHED_OBS_UNKNOWN;
        if (had != ISCHED_OBS_UNKNOWN && mode != ISCHED_OBS_UNKNOWN && had != mode) {
                if (explicit_prior) {
                        cli_error("the prior %s was learned in observation mode %s; pool %s is observed in mode %s: "
                                  "its scores are not comparable (use --no-prior, or a prior of mode %s)",
                                  path, isched_observation_to_string(had), pr->name, isched_observation_to_string(mode),
                                  isched_observation_to_string(mode));
                        isched_policy_free(policy);
                        isched_context_free(context);
                        return EXIT_USAGE;
                }
                snprintf(pr->prior_note, sizeof(pr->prior_note),
                         "the shipped prior was learned in observation mode %s, this pool is observed in mode %s",
                         isched_observation_to_string(had), isched_observation_to_string(mode));
                goto skip;
        }
        pr->prior_path = path;
        *ret_policy = policy;
        *ret_context = context;
        return 0;
skip:
        isched_policy_free(policy);
        isched_context_free(context);
        return 0;
}

static int load_or_create(const struct run_opts *o, struct isched_backend *backend, const struct isched_pool_info *info,
                          struct pool_run *pr, uint64_t seed, struct isched_policy **ret_policy,
                          struct isched_context **ret_context)
{
        struct isched_context_params cp;
        struct isched_policy_params pp;
        struct isched_policy *policy = NULL;
        struct isched_context *context = NULL;
        struct stat st;
        char what[512];
        int r;

        if (pr->model_path && stat(pr->model_path, &st) == 0) {
                snprintf(what, sizeof(what), "cannot use model %s (it is left as it is)", pr->model_path);
                r = isched_model_load(pr->model_path, &policy, &context);
                if (r < 0)
                        return cli_fail(r, what);
                r = isched_policy_get_params(policy, &pp);
                if (r == 0)
                        r = isched_model_check_compatible(policy, o->policy.kind_from[0] ? o->policy.kind : pp.kind,
                                                          ISCHED_FEATURE_SCHEMA, ISCHED_F_COUNT);
                if (r < 0 || !cli_policy_opts_match_model(&o->policy, &pp, pr->model_path)) {
                        isched_policy_free(policy);
                        isched_context_free(context);
                        return r < 0 ? cli_fail(r == -EINVAL ? r : -EINVAL, what) : EXIT_USAGE;
                }
                pr->model_loaded = true;
                pr->model_rounds = isched_policy_get_rounds(policy);
        } else {
                r = load_prior(o, backend, info, pr, &policy, &context);
                if (r)
                        return r;
                if (policy) {
                        pr->model_rounds = isched_policy_get_rounds(policy);
                } else {
                        if (!cli_policy_params(&o->policy, seed, &pp))
                                return EXIT_USAGE;
                        r = isched_policy_new(&pp, &policy);
                        if (r < 0)
                                return cli_fail(r, "cannot create the policy");
                }
        }
        if (!context) {
                isched_context_params_init(&cp);
                r = isched_context_new(&cp, &context);
                if (r < 0) {
                        isched_policy_free(policy);
                        return cli_fail(r, "cannot create the context builder");
                }
        }
        *ret_policy = policy;
        *ret_context = context;
        return 0;
}

/* The trace lists the pools of this run; an unknown pool is refused
 * before the file is created. */
static int open_trace(struct run *run)
{
        struct isched_pool_info pools[RUN_MAX_POOLS];
        int r;

        for (size_t i = 0; i < run->o.n_pools; i++) {
                r = isched_backend_find_pool(run->backend, run->o.pools[i], &pools[i]);
                if (r < 0)
                        return cli_fail(r, "unknown pool");
        }
        r = isched_trace_writer_new(run->o.record, pools, run->o.n_pools, &run->trace);
        if (r < 0)
                return cli_fail(r, "cannot create the trace");
        isched_trace_writer_set_max_bytes(run->trace, run->o.record_max_bytes);
        return 0;
}

static int start_agents(struct run *run)
{
        const struct run_opts *o = &run->o;

        for (size_t i = 0; i < o->n_pools; i++) {
                struct pool_run *pr = &run->pools[i];
                struct isched_policy *policy = NULL;
                struct isched_context *context = NULL;
                struct isched_agent_config cfg = o->agent;
                struct isched_pool_info info;
                char what[128], shown[64];
                int r;

                pr->name = o->pools[i];
                pr->last_decision_wall_s = NAN;
                run->n = i + 1;
                /* An unknown pool is bad input: say so before touching any file. */
                r = isched_backend_find_pool(run->backend, o->pools[i], &info);
                if (r < 0)
                        return cli_fail(r, "unknown pool");
                if (o->model) {
                        pr->model_path = model_path_for(o->model, o->pools[i]);
                        if (!pr->model_path)
                                return EXIT_RUNTIME;
                }
                r = load_or_create(o, run->backend, &info, pr, o->backend.seed + i, &policy, &context);
                if (r)
                        return r;
                cfg.pool = o->pools[i];
                cfg.state_dir = run->state_dir;
                cfg.lock_dir = run->lock_dir;
                cfg.model_path = pr->model_path;
                cfg.trace = run->trace;
                r = isched_agent_new(&cfg, run->backend, policy, context, &pr->agent);
                isched_policy_free(policy);
                isched_context_free(context);
                if (r < 0) {
                        snprintf(what, sizeof(what), "cannot start the agent of pool %s",
                                 cli_printable(o->pools[i], shown, sizeof(shown)));
                        return cli_fail(r, what);
                }
                /* Where the pool started, for the shadow run of the baseline. */
                pr->have_first = isched_backend_read_counters(run->backend, info.id, &pr->first) == 0;
        }
        return 0;
}

/* ---- reporting ---- */

static void print_header(struct run *run)
{
        const struct run_opts *o = &run->o;
        struct isched_agent_status st;
        char limit[64] = "";

        if (o->steps_set)
                snprintf(limit, sizeof(limit), ", %llu epochs", (unsigned long long)o->steps);
        else if (o->duration_set)
                snprintf(limit, sizeof(limit), ", %.3g s", o->duration_ns / 1e9);
        REPORT(run, LOG_INFO, NULL, NULL, "isched run: backend %s, interval %.3g s, epoch %.3g s%s; config %s; on exit %s",
               isched_backend_get_name(run->backend), o->interval_ns / 1e9, o->epoch_ns / 1e9, limit,
               o->config_path ? o->config_path : "none", isched_agent_on_exit_to_string(o->on_exit));
        for (size_t i = 0; i < run->n; i++) {
                const struct pool_run *pr = &run->pools[i];
                char model[600];

                if (isched_agent_get_status(pr->agent, &st) < 0)
                        continue;
                if (pr->model_loaded)
                        snprintf(model, sizeof(model), "model %s loaded (%llu rounds)", pr->model_path,
                                 (unsigned long long)pr->model_rounds);
                else if (pr->prior_path)
                        snprintf(model, sizeof(model), "new model from the prior %s (%llu rounds), %s%s",
                                 pr->prior_path, (unsigned long long)pr->model_rounds,
                                 pr->model_path ? "saved to " : "not saved (no --model)",
                                 pr->model_path ? pr->model_path : "");
                else if (pr->model_path)
                        snprintf(model, sizeof(model), "new model, cold (%s), saved to %s",
                                 pr->prior_note[0] ? pr->prior_note : "--no-prior", pr->model_path);
                else
                        snprintf(model, sizeof(model), "new model, cold (%s), not saved (no --model)",
                                 pr->prior_note[0] ? pr->prior_note : "--no-prior");
                REPORT(run, LOG_INFO, pr->name, arr(st.arrangement), "  %s: %s, starting on %s (the baseline: %s); %s",
                       pr->name, isched_agent_mode_to_string(st.mode), arr(st.arrangement), arr(st.baseline), model);
        }
}

/* An estimated gain with its 95% interval, "+0.012 +- 0.004", or "n/a". */
static const char *gain_text(double mean, double sd, char *buf, size_t size)
{
        if (!isfinite(mean))
                return "n/a";
        snprintf(buf, size, "%+.3f ± %.3f", mean, isfinite(sd) ? 1.96 * sd : 0.0);
        return buf;
}

static void print_status_line(struct run *run)
{
        struct isched_agent_status st;
        char gain[64];

        fputs("\r\033[K", stdout);
        for (size_t i = 0; i < run->n; i++) {
                if (isched_agent_get_status(run->pools[i].agent, &st) < 0)
                        continue;
                printf("%s%s: %s %s, epoch %llu, gain vs %s %s, switches %llu", i ? " | " : "", run->pools[i].name,
                       arr(st.arrangement), isched_agent_mode_to_string(st.mode), (unsigned long long)st.epochs,
                       arr(st.baseline), gain_text(st.measured_gain, st.measured_gain_sd, gain, sizeof(gain)),
                       (unsigned long long)st.switches);
        }
        if ((fflush(stdout) != 0 || ferror(stdout)) && run->end == END_NONE) {
                run->end = END_OUTPUT;
                run->output_errno = errno;
        }
        run_status_line_set_shown();
}

/* What an epoch did, as a line: switches always, progress now and then. */
static void report_epoch(struct run *run, struct pool_run *pr, const struct isched_agent_status *st,
                         enum isched_arrangement before)
{
        const double t = st->time_ns / 1e9;
        char gain[64];

        if (st->last_tick_switched) {
                REPORT(run, LOG_NOTICE, pr->name, arr(st->arrangement), "[%8.1fs] %s: %s -> %s (%s)", t, pr->name,
                       arr(before), arr(st->arrangement), isched_agent_reason_to_string(st->last_reason));
        } else if (!run->tty && st->epochs % PROGRESS_EVERY == 0) {
                REPORT(run, LOG_INFO, pr->name, arr(st->arrangement),
                       "[%8.1fs] %s: epoch %llu, %s (%s), gain vs %s %s per window (estimated, 95%%), switches %llu",
                       t, pr->name, (unsigned long long)st->epochs, arr(st->arrangement),
                       isched_agent_reason_to_string(st->last_reason), arr(st->baseline),
                       gain_text(st->measured_gain, st->measured_gain_sd, gain, sizeof(gain)),
                       (unsigned long long)st->switches);
        }
}

static void write_metrics(struct run *run)
{
        struct run_metric_pool mp[RUN_MAX_POOLS];
        struct isched_agent_status st[RUN_MAX_POOLS];
        static bool failing;
        size_t n = 0;
        int r;

        if (!run->o.metrics)
                return;
        for (size_t i = 0; i < run->n; i++) {
                if (!run->pools[i].agent || isched_agent_get_status(run->pools[i].agent, &st[n]) < 0)
                        continue;
                mp[n] = (struct run_metric_pool){
                        .pool = run->pools[i].name,
                        .backend = isched_backend_get_name(run->backend),
                        .policy = isched_policy_kind_to_string(run->o.policy.kind),
                        .status = &st[n],
                        .last_decision_wall_s = run->pools[i].last_decision_wall_s,
                        .running = st[n].mode != ISCHED_AGENT_STOPPED,
                };
                n++;
        }
        r = run_metrics_write(run->o.metrics, mp, n);
        if (r < 0 && !failing)
                run_log_fn(ISCHED_LOG_WARNING, "cannot write the metrics file; trying again every epoch", NULL);
        else if (r == 0 && failing)
                run_log_fn(ISCHED_LOG_WARNING, "writing the metrics file works again", NULL);
        failing = r < 0;
}

static void notify_status(struct run *run)
{
        struct isched_agent_status st;
        char text[400];
        size_t used = 0;

        for (size_t i = 0; i < run->n && used < sizeof(text); i++) {
                if (isched_agent_get_status(run->pools[i].agent, &st) < 0)
                        continue;
                used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s: %s %s, %llu epochs, %llu switches",
                                         i ? "; " : "", run->pools[i].name, isched_agent_mode_to_string(st.mode),
                                         arr(st.arrangement), (unsigned long long)st.epochs,
                                         (unsigned long long)st.switches);
        }
        run_notify("STATUS=%s", text);
}

/* ---- the loop ---- */

static bool all_done(struct run *run, uint64_t elapsed_ns)
{
        struct isched_agent_status st;
        bool any_live = false;

        if (run->o.duration_set && elapsed_ns >= run->o.duration_ns) {
                run->end = END_DURATION;
                return true;
        }
        for (size_t i = 0; i < run->n; i++) {
                if (run->pools[i].vanished)
                        continue;
                any_live = true;
                if (!run->o.steps_set || isched_agent_get_status(run->pools[i].agent, &st) < 0 ||
                    st.epochs < run->o.steps)
                        return false;
        }
        run->end = any_live ? END_STEPS : END_NO_POOLS;
        return true;
}

/* Tick every agent once; returns an exit code, or -1 to go on. */
static int tick_all(struct run *run)
{
        struct isched_agent_status before, st;
        bool any = false;

        for (size_t i = 0; i < run->n; i++) {
                struct pool_run *pr = &run->pools[i];
                int r;

                if (pr->vanished)
                        continue;
                isched_agent_get_status(pr->agent, &before);
                run_log_set_pool(pr->name, arr(before.arrangement));
                r = isched_agent_tick(pr->agent);
                run_log_set_pool(NULL, NULL);
                if (r == -ENOENT) {
                        run_status_line_clear();
                        cli_error("pool %s vanished: its agent stopped", pr->name);
                        pr->vanished = true;
                        continue;
                }
                if (r == -ENODATA) {
                        run->end = END_TRACE;
                        return -1;
                }
                if (r < 0) {
                        /* A failed counter read is retried at the next
                         * interval: the agent's window goes on from its start
                         * snapshot (docs/reliability.md).  Only a failure that
                         * lasts ends the run. */
                        if (++pr->failures >= MAX_TICK_FAILURES) {
                                run->end = END_BACKEND;
                                return cli_fail(r, pr->name);
                        }
                        if (pr->failures == 1) {
                                run_status_line_clear();
                                cli_error("pool %s: %s; retrying every interval", pr->name,
                                          *isched_last_error() ? isched_last_error() : strerror(-r));
                        }
                        continue;
                }
                if (pr->failures) {
                        run_status_line_clear();
                        cli_error("pool %s: recovered after %u failed intervals", pr->name, pr->failures);
                        pr->failures = 0;
                }
                if (r == 1 && isched_agent_get_status(pr->agent, &st) == 0) {
                        pr->epochs_in[st.arrangement]++;
                        pr->last_decision_wall_s = wall_time_s();
                        report_epoch(run, pr, &st, before.arrangement);
                        any = true;
                }
        }
        if (any) {
                write_metrics(run);
                notify_status(run);
                if (run->tty && !run->o.json && !run_log_to_journal())
                        print_status_line(run);
        }
        return -1;
}

/* SIGHUP: reopen the logs (logrotate renamed them), reread the
 * configuration; what cannot change while running is named. */
static void reload(struct run *run)
{
        struct run_opts fresh;
        char restart[512];
        int rc;

        run_notify("RELOADING=1");
        for (size_t i = 0; i < run->n; i++)
                if (run->pools[i].agent && isched_agent_reopen_log(run->pools[i].agent) < 0)
                        run_log_fn(ISCHED_LOG_WARNING, isched_last_error(), NULL);
        rc = run_opts_load(&fresh, run->argc, run->argv);
        if (rc != 0) {
                run_log_fn(ISCHED_LOG_ERROR, "SIGHUP: the configuration has an error (above); the settings in force "
                                             "stay", NULL);
        } else {
                run_opts_reload(&run->o, &fresh, restart, sizeof(restart));
                run_log_set_verbose(run->o.verbose);
                if (restart[0]) {
                        char msg[700];

                        snprintf(msg, sizeof(msg), "SIGHUP: changed settings that need a restart to apply: %s (e.g. "
                                                   "systemctl restart intellisched); the others are applied", restart);
                        run_log_fn(ISCHED_LOG_WARNING, msg, NULL);
                }
                if (run->o.metrics && run_metrics_check_path(run->o.metrics) != 0)
                        run->o.metrics = NULL;
        }
        run_opts_free(&fresh);
        REPORT(run, LOG_NOTICE, NULL, NULL, "reloaded: logs reopened, configuration %s reread",
               run->o.config_path ? run->o.config_path : "(none)");
        run_notify("READY=1");
}

static int run_loop(struct run *run)
{
        uint64_t elapsed_ns = 0;
        int rc;

        while (!stop_signal && run->end == END_NONE && !all_done(run, elapsed_ns)) {
                int r;

                if (reload_signal) {
                        reload_signal = 0;
                        reload(run);
                        continue;
                }
                r = isched_backend_wait(run->backend, run->o.interval_ns);
                if (r == -EINTR)
                        continue;
                if (r == -ENODATA) {
                        run->end = END_TRACE;
                        break;
                }
                if (r < 0) {
                        run->end = END_BACKEND;
                        return cli_fail(r, "the backend failed");
                }
                elapsed_ns += run->o.interval_ns;
                rc = tick_all(run);
                if (rc >= 0)
                        return rc;
        }
        if (stop_signal && run->end == END_NONE) {
                run->end = END_SIGNAL;
                run->end_signal = stop_signal;
        }
        if (run->end == END_OUTPUT) {
                cli_error("cannot write the output: %s; stopping (the models are saved)",
                          strerror(run->output_errno ? run->output_errno : EIO));
                /* Said once: what is left to print has nowhere to go. */
                if (!freopen("/dev/null", "w", stdout))
                        clearerr(stdout);
                return EXIT_RUNTIME;
        }
        return EXIT_OK;
}

/* ---- the shadow run ---- */

/* On the simulator a counterfactual is cheap: the same workload and seed
 * simulated again with each pool's baseline held, to the time the run
 * ended, gives the measured difference the agent made (docs/agent.md). */
static void run_shadow(struct run *run)
{
        struct isched_context_params cp;
        struct isched_backend *sh = NULL;
        struct isched_counters sfirst[RUN_MAX_POOLS], c;
        uint32_t sid[RUN_MAX_POOLS];
        uint64_t end_ns = 0, now_ns = 0;
        bool any = false;

        if (run->o.no_shadow || strcmp(isched_backend_get_name(run->backend), "sim") != 0)
                return;
        for (size_t i = 0; i < run->n; i++) {
                struct pool_run *pr = &run->pools[i];
                struct isched_pool_info info;

                pr->have_last = pr->have_first && !pr->vanished &&
                                isched_backend_find_pool(run->backend, pr->name, &info) == 0 &&
                                isched_backend_read_counters(run->backend, info.id, &pr->last) == 0 &&
                                pr->last.timestamp_ns > pr->first.timestamp_ns;
                if (pr->have_last && pr->last.timestamp_ns > end_ns)
                        end_ns = pr->last.timestamp_ns;
                any = any || pr->have_last;
        }
        if (!any || cli_open_backend(&run->o.backend, &sh) != 0)
                return;
        REPORT(run, LOG_INFO, NULL, NULL, "shadow run: the same workload and seed with the baseline held, to %.0f s",
               end_ns / 1e9);
        for (size_t i = 0; i < run->n; i++) {
                struct pool_run *pr = &run->pools[i];
                struct isched_agent_status st;
                struct isched_pool_info info;

                if (!pr->have_last || isched_agent_get_status(pr->agent, &st) < 0 ||
                    isched_backend_find_pool(sh, pr->name, &info) < 0 ||
                    isched_backend_set_arrangement(sh, info.id, st.baseline) < 0 ||
                    isched_backend_read_counters(sh, info.id, &sfirst[i]) < 0) {
                        pr->have_last = false;
                        continue;
                }
                sid[i] = info.id;
                now_ns = sfirst[i].timestamp_ns;
        }
        /* Snapshots at the run's own times: its interval from the start. */
        while (now_ns < end_ns && stop_signal == 0) {
                const uint64_t step = end_ns - now_ns < run->o.interval_ns ? end_ns - now_ns : run->o.interval_ns;

                if (isched_backend_wait(sh, step) < 0)
                        break;
                now_ns += step;
        }
        isched_context_params_init(&cp);
        for (size_t i = 0; i < run->n; i++) {
                struct pool_run *pr = &run->pools[i];

                if (!pr->have_last || now_ns < pr->last.timestamp_ns ||
                    isched_backend_read_counters(sh, sid[i], &c) < 0)
                        continue;
                pr->have_shadow =
                        isched_window_from_counters(&pr->first, &pr->last, &pr->run_w) == 0 &&
                        isched_window_from_counters(&sfirst[i], &c, &pr->shadow_w) == 0 &&
                        isched_context_score(&cp, &pr->run_w, &pr->run_score) == 0 &&
                        isched_context_score(&cp, &pr->shadow_w, &pr->shadow_score) == 0;
        }
        isched_backend_unref(sh);
}

static double pct(double agent, double base)
{
        return base > 0 ? 100.0 * (agent - base) / base : NAN;
}

static void print_shadow(struct run *run, const struct pool_run *pr, const struct isched_agent_status *st)
{
        const struct isched_window *a = &pr->run_w, *b = &pr->shadow_w;

        if (!pr->have_shadow)
                return;
        REPORT(run, LOG_INFO, pr->name, NULL,
               "    measured against a shadow run of the baseline %s (same workload and seed, %.0f s):",
               arr(st->baseline), a->duration_ns / 1e9);
        REPORT(run, LOG_INFO, pr->name, NULL, "      throughput %+.2f%% (agent %.4g, baseline %.4g per pCPU-second)",
               pct(a->throughput, b->throughput), a->throughput, b->throughput);
        REPORT(run, LOG_INFO, pr->name, NULL, "      mean wake latency %+.1f%% (%.2f against %.2f us)",
               pct(a->lat_mean_us, b->lat_mean_us), a->lat_mean_us, b->lat_mean_us);
        REPORT(run, LOG_INFO, pr->name, NULL, "      p99 wake latency %+.1f%% (%.1f against %.1f us)",
               pct(a->lat_p99_us, b->lat_p99_us), a->lat_p99_us, b->lat_p99_us);
        REPORT(run, LOG_INFO, pr->name, NULL, "      whole-run score %+.4f (%.4f against %.4f)", pr->run_score - pr->shadow_score,
               pr->run_score, pr->shadow_score);
}

static cJSON *shadow_side_json(const struct isched_window *w, double score)
{
        cJSON *o = cJSON_CreateObject();

        cJSON_AddNumberToObject(o, "throughput", w->throughput);
        cJSON_AddNumberToObject(o, "lat_mean_us", w->lat_mean_us);
        cJSON_AddNumberToObject(o, "lat_p99_us", w->lat_p99_us);
        cJSON_AddNumberToObject(o, "score", score);
        return o;
}

/* ---- the end ---- */

static int save_models(struct run *run)
{
        int rc = 0;

        for (size_t i = 0; i < run->n; i++) {
                struct pool_run *pr = &run->pools[i];
                int r;

                if (!pr->agent || !pr->model_path)
                        continue;
                r = isched_agent_save_model(pr->agent, pr->model_path);
                if (r < 0)
                        rc = cli_fail(r, "cannot save the model");
                pr->model_saved = r == 0;
        }
        return rc;
}

static int stop_agents(struct run *run)
{
        int rc = 0;

        for (size_t i = 0; i < run->n; i++) {
                struct pool_run *pr = &run->pools[i];

                if (!pr->agent)
                        continue;
                pr->restored = isched_agent_stop(pr->agent, run->o.on_exit);
                if (pr->restored < 0)
                        rc = cli_fail(pr->restored, "cannot restore the pool");
        }
        return rc;
}

/* A state file or decision log that could not be written for a while is
 * an output lost: the run ends in failure even if the agents went on. */
static int check_output_errors(struct run *run)
{
        struct isched_agent_status st;
        int rc = EXIT_OK;

        for (size_t i = 0; i < run->n; i++) {
                if (!run->pools[i].agent || isched_agent_get_status(run->pools[i].agent, &st) < 0 ||
                    !st.output_errors)
                        continue;
                cli_error("pool %s: %llu writes of the state file or the decision log failed (see the warnings "
                          "above)", run->pools[i].name, (unsigned long long)st.output_errors);
                rc = EXIT_RUNTIME;
        }
        return rc;
}

static const char *end_text(const struct run *run, char *buf, size_t size)
{
        switch (run->end) {
        case END_SIGNAL:
                snprintf(buf, size, "stopped by SIG%s", sigabbrev_np(run->end_signal) ?: "?");
                break;
        case END_STEPS:
                snprintf(buf, size, "the steps are done");
                break;
        case END_DURATION:
                snprintf(buf, size, "the duration has passed");
                break;
        case END_TRACE:
                snprintf(buf, size, "the replay trace has ended");
                break;
        case END_NO_POOLS:
                snprintf(buf, size, "every pool vanished");
                break;
        case END_OUTPUT:
                snprintf(buf, size, "the output could not be written");
                break;
        case END_BACKEND:
                snprintf(buf, size, "the backend failed");
                break;
        default:
                snprintf(buf, size, "stopped");
        }
        return buf;
}

static const char *restore_text(const struct run *run, const struct pool_run *pr, const struct isched_agent_status *st)
{
        if (pr->restored > 0)
                return "restored";
        if (pr->restored < 0)
                return "restore failed";
        if (run->o.on_exit == ISCHED_AGENT_ON_EXIT_KEEP)
                return "kept";
        return st->arrangement == st->takeover_arrangement ? "takeover arrangement in force" : "kept";
}

static void print_summary(struct run *run)
{
        struct isched_agent_status st;
        char why[64], gain[64];

        run_status_line_clear();
        REPORT(run, LOG_INFO, NULL, NULL, "summary (%s):", end_text(run, why, sizeof(why)));
        for (size_t i = 0; i < run->n; i++) {
                const struct pool_run *pr = &run->pools[i];
                char shares[160] = "";
                size_t used = 0;
                uint64_t total = 0;

                if (!pr->agent || isched_agent_get_status(pr->agent, &st) < 0)
                        continue;
                for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                        total += pr->epochs_in[a];
                for (unsigned a = 0; total && a < ISCHED_ARR_COUNT; a++)
                        if (pr->epochs_in[a])
                                used += (size_t)snprintf(shares + used, sizeof(shares) - used, " %s %.0f%%",
                                                         arr((enum isched_arrangement)a),
                                                         100.0 * pr->epochs_in[a] / total);
                REPORT(run, LOG_INFO, pr->name, arr(st.arrangement),
                       "  %s: now %s (%s; takeover %s); %llu epochs, %llu switches, %llu windows skipped",
                       pr->name, arr(st.arrangement), restore_text(run, pr, &st), arr(st.takeover_arrangement),
                       (unsigned long long)st.epochs, (unsigned long long)st.switches,
                       (unsigned long long)st.skipped_windows);
                REPORT(run, LOG_INFO, pr->name, NULL,
                       "    estimated gain against the baseline %s: %s per window (95%%); exploration budget spent "
                       "%.3f of %.3f%s; %llu workload changes",
                       arr(st.baseline), gain_text(st.measured_gain, st.measured_gain_sd, gain, sizeof(gain)),
                       st.budget_spent, st.budget_allowance,
                       st.budget_spent > st.budget_allowance + 1e-9
                               ? " (OVER the allowance: a visit cost more than its budgeted exposure; "
                                 "docs/safety.md, \"What it does not guarantee\")"
                               : "",
                       (unsigned long long)st.changes);
                print_shadow(run, pr, &st);
                if (total)
                        REPORT(run, LOG_INFO, pr->name, NULL, "    time in each arrangement:%s", shares);
                if (pr->model_saved)
                        REPORT(run, LOG_INFO, pr->name, NULL, "    model saved to %s (%llu rounds)", pr->model_path,
                               (unsigned long long)st.updates + pr->model_rounds);
                if (st.output_errors)
                        REPORT(run, LOG_WARNING, pr->name, NULL, "    %llu writes of the state file or decision log failed",
                               (unsigned long long)st.output_errors);
        }
}

static cJSON *num_or_null(double v)
{
        return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* The summary as one JSON document (docs/json.md, isched-run-v1). */
static void print_summary_json(struct run *run)
{
        cJSON *doc = cJSON_CreateObject(), *pools = cJSON_AddArrayToObject(doc, "pools");
        struct isched_agent_status st;

        cJSON_AddStringToObject(doc, "schema", "isched-run-v1");
        cJSON_AddStringToObject(doc, "backend", isched_backend_get_name(run->backend));
        cJSON_AddStringToObject(doc, "end", end_names[run->end]);
        if (run->end == END_SIGNAL) {
                char name[16];

                snprintf(name, sizeof(name), "SIG%s", sigabbrev_np(run->end_signal) ?: "?");
                cJSON_AddStringToObject(doc, "signal", name);
        } else {
                cJSON_AddNullToObject(doc, "signal");
        }
        cJSON_AddStringToObject(doc, "on_exit", isched_agent_on_exit_to_string(run->o.on_exit));
        for (size_t i = 0; i < run->n; i++) {
                const struct pool_run *pr = &run->pools[i];
                cJSON *p, *share;
                uint64_t total = 0;

                if (!pr->agent || isched_agent_get_status(pr->agent, &st) < 0)
                        continue;
                p = cJSON_CreateObject();
                cJSON_AddStringToObject(p, "pool", pr->name);
                cJSON_AddStringToObject(p, "mode", isched_agent_mode_to_string(st.mode));
                cJSON_AddStringToObject(p, "arrangement", arr(st.arrangement));
                cJSON_AddStringToObject(p, "takeover_arrangement", arr(st.takeover_arrangement));
                cJSON_AddBoolToObject(p, "restored", pr->restored > 0);
                cJSON_AddNumberToObject(p, "epochs", (double)st.epochs);
                cJSON_AddNumberToObject(p, "switches", (double)st.switches);
                cJSON_AddNumberToObject(p, "skipped_windows", (double)st.skipped_windows);
                cJSON_AddNumberToObject(p, "decisions", (double)st.decisions);
                cJSON_AddNumberToObject(p, "updates", (double)st.updates);
                cJSON_AddNumberToObject(p, "unlearned", (double)st.unlearned);
                cJSON_AddNumberToObject(p, "waiting", (double)st.waiting);
                cJSON_AddNumberToObject(p, "output_errors", (double)st.output_errors);
                cJSON_AddItemToObject(p, "mean_reward", num_or_null(st.mean_reward));
                cJSON_AddStringToObject(p, "baseline", arr(st.baseline));
                {
                        cJSON *g = cJSON_AddObjectToObject(p, "gain");

                        cJSON_AddItemToObject(g, "mean", num_or_null(st.measured_gain));
                        cJSON_AddItemToObject(g, "sd", num_or_null(st.measured_gain_sd));
                        cJSON_AddItemToObject(g, "ci_low", num_or_null(st.measured_gain - 1.96 * st.measured_gain_sd));
                        cJSON_AddItemToObject(g, "ci_high", num_or_null(st.measured_gain + 1.96 * st.measured_gain_sd));
                }
                cJSON_AddNumberToObject(p, "budget_spent", st.budget_spent);
                cJSON_AddNumberToObject(p, "budget_allowance", st.budget_allowance);
                cJSON_AddNumberToObject(p, "changes", (double)st.changes);
                if (pr->have_shadow) {
                        cJSON *sh = cJSON_AddObjectToObject(p, "shadow");

                        cJSON_AddStringToObject(sh, "arrangement", arr(st.baseline));
                        cJSON_AddNumberToObject(sh, "duration_s", pr->run_w.duration_ns / 1e9);
                        cJSON_AddItemToObject(sh, "agent", shadow_side_json(&pr->run_w, pr->run_score));
                        cJSON_AddItemToObject(sh, "baseline", shadow_side_json(&pr->shadow_w, pr->shadow_score));
                        cJSON_AddNumberToObject(sh, "score_difference", pr->run_score - pr->shadow_score);
                } else {
                        cJSON_AddNullToObject(p, "shadow");
                }
                cJSON_AddItemToObject(p, "prior", pr->prior_path ? cJSON_CreateString(pr->prior_path) : cJSON_CreateNull());
                for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                        total += pr->epochs_in[a];
                share = cJSON_AddObjectToObject(p, "epoch_share");
                for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                        cJSON_AddItemToObject(share, arr((enum isched_arrangement)a),
                                              total ? cJSON_CreateNumber((double)pr->epochs_in[a] / (double)total)
                                                    : cJSON_CreateNull());
                cJSON_AddItemToObject(p, "model_file", pr->model_path ? cJSON_CreateString(pr->model_path)
                                                                      : cJSON_CreateNull());
                cJSON_AddBoolToObject(p, "model_loaded", pr->model_loaded);
                cJSON_AddBoolToObject(p, "model_saved", pr->model_saved);
                cJSON_AddItemToArray(pools, p);
        }
        cli_print_json(doc);
}

static void run_free(struct run *run)
{
        for (size_t i = 0; i < run->n; i++) {
                isched_agent_unref(run->pools[i].agent);
                free(run->pools[i].model_path);
        }
        isched_trace_writer_free(run->trace);
        isched_backend_unref(run->backend);
        free(run->state_dir);
        free(run->lock_dir);
        run_opts_free(&run->o);
}

int cmd_run(int argc, char **argv)
{
        static struct run run;
        int rc, r;

        memset(&run, 0, sizeof(run));
        run.argc = argc;
        run.argv = argv;
        rc = run_opts_load(&run.o, argc, argv);
        if (rc) {
                run_opts_free(&run.o);
                return rc < 0 ? EXIT_OK : rc;
        }
        if (run.o.show_config) {
                run_opts_show(&run.o, stdout);
                run_opts_free(&run.o);
                return EXIT_OK;
        }
        run.tty = cli_stdout_is_tty();
        run_log_init(run.o.verbose);
        isched_set_log_fn(run_log_fn, ISCHED_LOG_INFO, NULL);
        install_signals();
        rc = check_outputs(&run);
        if (rc == 0)
                rc = cli_open_backend(&run.o.backend, &run.backend);
        if (rc == 0)
                rc = prepare_dirs(&run);
        if (rc)
                goto out;
        if (run.o.resume)
                remove_hold_files(&run);
        if (run.o.record && (rc = open_trace(&run)) != 0)
                goto out;
        rc = start_agents(&run);
        if (rc) {
                /* No half-made trace is left behind by a run that never started. */
                if (run.trace) {
                        run.trace = isched_trace_writer_free(run.trace);
                        unlink(run.o.record);
                }
                goto out;
        }
        print_header(&run);
        write_metrics(&run);
        run_notify("READY=1");
        notify_status(&run);
        rc = run_loop(&run);
        run_notify("STOPPING=1");
        run_shadow(&run);
        /* The pools go back to where they were (stopping also learns the
         * windows that waited for the change detector's confirmation);
         * then what was learned is kept, whatever ended the run and even
         * if a restore failed. */
        r = stop_agents(&run);
        if (rc == EXIT_OK)
                rc = r;
        r = save_models(&run);
        if (rc == EXIT_OK)
                rc = r;
        r = check_output_errors(&run);
        if (rc == EXIT_OK)
                rc = r;
        write_metrics(&run);
        if (run.o.json)
                print_summary_json(&run);
        else
                print_summary(&run);
out:
        run_free(&run);
        isched_set_log_fn(NULL, ISCHED_LOG_ERROR, NULL);
        return rc;
}
