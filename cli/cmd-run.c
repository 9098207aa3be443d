/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched run: one agent per pool on one backend, until the steps end or a
 * signal comes; the models are saved at the end. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-opts.h"
#include "cli.h"

#define MAX_POOLS 64
#define PROGRESS_EVERY 10 /* epochs between progress lines when not on a terminal */
#define MAX_TICK_FAILURES 30 /* consecutive failed intervals of a pool before giving up */

enum {
        OPT_POOL = CLI_OPT_OWN,
        OPT_INTERVAL,
        OPT_EPOCH,
        OPT_STEPS,
        OPT_DURATION,
        OPT_MODEL,
        OPT_LOG,
        OPT_STATE_DIR,
        OPT_DRY_RUN,
        OPT_RESUME,
        OPT_MIN_DWELL,
        OPT_MAX_SWITCHES,
        OPT_ROLLBACK_WINDOWS,
        OPT_ROLLBACK_MARGIN,
        OPT_SETTLE,
        OPT_VERBOSE,
        OPT_RECORD,
        OPT_BUDGET,
        OPT_BASELINE,
        OPT_NO_SAFETY,
        OPT_HELP,
};

static const struct option longopts[] = {
        { "pool", required_argument, NULL, OPT_POOL },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "epoch", required_argument, NULL, OPT_EPOCH },
        { "steps", required_argument, NULL, OPT_STEPS },
        { "duration", required_argument, NULL, OPT_DURATION },
        { "model", required_argument, NULL, OPT_MODEL },
        { "log", required_argument, NULL, OPT_LOG },
        { "state-dir", required_argument, NULL, OPT_STATE_DIR },
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        { "resume", no_argument, NULL, OPT_RESUME },
        { "min-dwell", required_argument, NULL, OPT_MIN_DWELL },
        { "max-switches-per-hour", required_argument, NULL, OPT_MAX_SWITCHES },
        { "rollback-windows", required_argument, NULL, OPT_ROLLBACK_WINDOWS },
        { "rollback-margin", required_argument, NULL, OPT_ROLLBACK_MARGIN },
        { "settle", required_argument, NULL, OPT_SETTLE },
        { "verbose", no_argument, NULL, OPT_VERBOSE },
        { "record", required_argument, NULL, OPT_RECORD },
        { "budget", required_argument, NULL, OPT_BUDGET },
        { "baseline", required_argument, NULL, OPT_BASELINE },
        { "no-safety", no_argument, NULL, OPT_NO_SAFETY },
        { "help", no_argument, NULL, OPT_HELP },
        CLI_BACKEND_LONGOPTS,
        CLI_POLICY_LONGOPTS,
        { 0 },
};

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: isched run --pool NAME [--pool NAME ...] [OPTIONS]\n"
                "\n"
                "Learn and apply the credit2 runqueue arrangement of each pool: every\n"
                "interval a counter snapshot, every epoch a decision, guarded by a minimum\n"
                "dwell time, a switch budget, rollback and override detection.  Runs until\n"
                "the steps end or SIGINT/SIGTERM, then saves the models and exits 0.\n"
                "\n"
                "Options:\n"
                "  --pool NAME        cpupool to manage (repeat for several)\n"
                CLI_BACKEND_HELP
                CLI_POLICY_HELP
                "  --interval SEC     time between counter snapshots (default 1)\n"
                "  --epoch SEC        decision window, a multiple of the interval (default 5)\n"
                "  --steps N          stop after N decision epochs per pool\n"
                "  --duration SEC     stop after SEC seconds of backend time\n"
                "  --model FILE       load the model if FILE exists, save it at the end and\n"
                "                     every 10 epochs; with several pools FILE must contain %%p,\n"
                "                     replaced by the pool name\n"
                "  --log FILE         append the decision log (JSON lines) to FILE\n"
                "  --record FILE      record every counter snapshot to a trace FILE, to replay\n"
                "                     later with --backend replay --trace FILE\n"
                "  --state-dir DIR    state, lock and hold files (default /var/lib/intellisched\n"
                "                     for root, else $XDG_STATE_HOME/intellisched or\n"
                "                     ~/.local/state/intellisched)\n"
                "  --dry-run          decide and log, never apply\n"
                "  --resume           remove the pools' hold files left by an override first\n"
                "  --min-dwell SEC    minimum time between switches (default 10; 0 = none)\n"
                "  --max-switches-per-hour N  switch budget (default 60; 0 = no limit)\n"
                "  --rollback-windows N       worse windows after a switch before rolling\n"
                "                     back to the last-known-good arrangement (default 3; 0 = off)\n"
                "  --rollback-margin X        how much lower a window score counts as worse (default 0.1)\n"
                "  --settle N         intervals skipped after a switch (default 1)\n"
                "  --budget X         exploration budget: score the agent may lose against the\n"
                "                     baseline per epoch, summed since it started (default 0.01,\n"
                "                     about 1%%; 0 = try only what is known to be no worse)\n"
                "  --baseline ARR     the arrangement judged against and fallen back to\n"
                "                     (default: the one in force when the agent starts)\n"
                "  --no-safety        let the policy's proposals through unchanged (no budget,\n"
                "                     hysteresis or stop-loss): for experiments only\n"
                "  --verbose          also print skipped windows and other notes\n"
                "  --help             this text\n"
                "\n"
                "Exit status: 0 success (also after SIGINT/SIGTERM), 1 runtime failure,\n"
                "2 bad usage or bad input (unknown pool, bad option value, corrupt model).\n");
}

struct pool_run {
        const char *name;
        char *model_path;
        struct isched_agent *agent;
        bool stopped;
        uint64_t epochs_in[ISCHED_ARR_COUNT]; /* epochs ended with each arrangement in force */
        uint64_t last_epochs;
        unsigned failures; /* consecutive failed ticks */
};

struct run_opts {
        const char *pools[MAX_POOLS];
        size_t n_pools;
        struct cli_backend_opts backend;
        struct cli_policy_opts policy;
        struct isched_agent_config agent;
        uint64_t interval_ns, epoch_ns, steps, duration_ns;
        bool epoch_set, steps_set, duration_set, resume, verbose;
        const char *model, *log, *state_dir, *record;
};

static volatile sig_atomic_t stop_signal;
static bool status_line_shown;
static bool verbose_log;

static void on_signal(int sig)
{
        stop_signal = sig;
}

static void clear_status_line(void)
{
        if (status_line_shown) {
                fputs("\r\033[K", stdout);
                fflush(stdout);
                status_line_shown = false;
        }
}

static void log_to_stderr(enum isched_log_priority prio, const char *message, void *userdata)
{
        if (prio == ISCHED_LOG_DEBUG || (prio == ISCHED_LOG_INFO && !verbose_log))
                return;
        clear_status_line();
        fflush(stdout); /* keep the order of the lines when both go to one file */
        fprintf(stderr, "isched: %s%s\n", prio <= ISCHED_LOG_WARNING ? "" : "note: ", message);
}

static int parse(int argc, char **argv, struct run_opts *o)
{
        double margin;
        uint64_t v;
        int c, h;

        memset(o, 0, sizeof(*o));
        cli_backend_opts_init(&o->backend);
        cli_policy_opts_init(&o->policy);
        isched_agent_config_init(&o->agent);
        o->interval_ns = o->agent.interval_ns;
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                const char *arg = optarg;

                if ((h = cli_backend_opt(&o->backend, c, arg)) != 0 || (h = cli_policy_opt(&o->policy, c, arg)) != 0) {
                        if (h < 0)
                                return cli_usage_hint("run ");
                        continue;
                }
                switch (c) {
                case OPT_POOL:
                        if (!*arg || strlen(arg) >= ISCHED_NAME_MAX) {
                                cli_error("--pool: give a cpupool name of 1 to %d characters", ISCHED_NAME_MAX - 1);
                                return cli_usage_hint("run ");
                        }
                        for (size_t i = 0; i < o->n_pools; i++) {
                                if (strcmp(o->pools[i], arg) == 0) {
                                        cli_error("--pool %s is given twice", arg);
                                        return cli_usage_hint("run ");
                                }
                        }
                        if (o->n_pools == MAX_POOLS) {
                                cli_error("at most %d pools per run", MAX_POOLS);
                                return cli_usage_hint("run ");
                        }
                        o->pools[o->n_pools++] = arg;
                        break;
                case OPT_INTERVAL:
                        if (!cli_parse_seconds_ns("--interval", arg, &o->interval_ns))
                                return cli_usage_hint("run ");
                        break;
                case OPT_EPOCH:
                        if (!cli_parse_seconds_ns("--epoch", arg, &o->epoch_ns))
                                return cli_usage_hint("run ");
                        o->epoch_set = true;
                        break;
                case OPT_STEPS:
                        if (!cli_parse_u64("--steps", arg, 1, UINT32_MAX, &o->steps))
                                return cli_usage_hint("run ");
                        o->steps_set = true;
                        break;
                case OPT_DURATION:
                        if (!cli_parse_seconds_ns("--duration", arg, &o->duration_ns))
                                return cli_usage_hint("run ");
                        o->duration_set = true;
                        break;
                case OPT_MODEL:
                        o->model = arg;
                        break;
                case OPT_LOG:
                        o->log = arg;
                        break;
                case OPT_STATE_DIR:
                        o->state_dir = arg;
                        break;
                case OPT_DRY_RUN:
                        o->agent.dry_run = true;
                        break;
                case OPT_RESUME:
                        o->resume = true;
                        break;
                case OPT_MIN_DWELL:
                        if (strcmp(arg, "0") == 0)
                                o->agent.min_dwell_ns = 0;
                        else if (!cli_parse_seconds_ns("--min-dwell", arg, &o->agent.min_dwell_ns))
                                return cli_usage_hint("run ");
                        break;
                case OPT_MAX_SWITCHES:
                        if (!cli_parse_u64("--max-switches-per-hour", arg, 0, 3600, &v))
                                return cli_usage_hint("run ");
                        o->agent.max_switches_per_hour = (uint32_t)v;
                        break;
                case OPT_ROLLBACK_WINDOWS:
                        if (!cli_parse_u64("--rollback-windows", arg, 0, 1000, &v))
                                return cli_usage_hint("run ");
                        o->agent.rollback_windows = (uint32_t)v;
                        break;
                case OPT_ROLLBACK_MARGIN:
                        if (!cli_parse_double("--rollback-margin", arg, 0, 100, &margin))
                                return cli_usage_hint("run ");
                        o->agent.rollback_margin = margin;
                        break;
                case OPT_SETTLE:
                        if (!cli_parse_u64("--settle", arg, 0, 1000, &v))
                                return cli_usage_hint("run ");
                        o->agent.settle_intervals = (uint32_t)v;
                        break;
                case OPT_VERBOSE:
                        o->verbose = true;
                        break;
                case OPT_RECORD:
                        o->record = arg;
                        break;
                case OPT_BUDGET:
                        if (!cli_parse_double("--budget", arg, 0, 1, &margin))
                                return cli_usage_hint("run ");
                        o->agent.budget = margin;
                        break;
                case OPT_BASELINE:
                        if (isched_arrangement_from_string(arg, &o->agent.baseline) < 0) {
                                cli_error("run: --baseline %s is not an arrangement (cpu, core, socket, node, all)", arg);
                                return cli_usage_hint("run ");
                        }
                        break;
                case OPT_NO_SAFETY:
                        o->agent.no_safety = true;
                        break;
                case 'h':
                case OPT_HELP:
                        usage(stdout);
                        return -1;
                default:
                        return cli_bad_option("run", argv);
                }
        }
        if (cli_extra_operand("run", argc, argv))
                return EXIT_USAGE;
        if (o->n_pools == 0) {
                cli_error("run: no pool given; add --pool NAME (see 'isched pools')");
                return cli_usage_hint("run ");
        }
        if (o->steps_set && o->duration_set) {
                cli_error("--steps and --duration exclude each other; give one");
                return cli_usage_hint("run ");
        }
        if (!o->epoch_set)
                o->epoch_ns = o->interval_ns * o->agent.epoch_intervals;
        if (o->epoch_ns < o->interval_ns || o->epoch_ns % o->interval_ns != 0) {
                cli_error("--epoch (%.3f s) must be a whole multiple of --interval (%.3f s)", o->epoch_ns / 1e9,
                          o->interval_ns / 1e9);
                return cli_usage_hint("run ");
        }
        if (o->model && o->n_pools > 1 && !strstr(o->model, "%p")) {
                cli_error("--model: with several pools the file name must contain %%p (replaced by the pool name)");
                return cli_usage_hint("run ");
        }
        o->agent.interval_ns = o->interval_ns;
        o->agent.epoch_intervals = (uint32_t)(o->epoch_ns / o->interval_ns);
        o->agent.log_path = o->log;
        return 0;
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

/* A model file that exists is loaded and must fit; one that does not is
 * created at the end.  Nothing is written here. */
static int load_or_create(const struct run_opts *o, const char *model_path, uint64_t seed,
                          struct isched_policy **ret_policy, struct isched_context **ret_context)
{
        struct isched_context_params cp;
        struct isched_policy_params pp;
        struct isched_policy *policy = NULL;
        struct isched_context *context = NULL;
        struct stat st;
        char what[512];
        int r;

        if (model_path && stat(model_path, &st) == 0) {
                snprintf(what, sizeof(what), "cannot use model %s (it is left as it is)", model_path);
                r = isched_model_load(model_path, &policy, &context);
                if (r < 0)
                        return cli_fail(r, what);
                r = isched_policy_get_params(policy, &pp);
                if (r == 0)
                        r = isched_model_check_compatible(policy, o->policy.kind_set ? o->policy.kind : pp.kind,
                                                          ISCHED_FEATURE_SCHEMA, ISCHED_F_COUNT);
                if (r < 0) {
                        isched_policy_free(policy);
                        isched_context_free(context);
                        return cli_fail(r == -EINVAL ? r : -EINVAL, what);
                }
        } else {
                if (!cli_policy_params(&o->policy, seed, &pp))
                        return EXIT_USAGE;
                r = isched_policy_new(&pp, &policy);
                if (r < 0)
                        return cli_fail(r, "cannot create the policy");
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

static int prepare_state_dir(struct run_opts *o, char **ret_dir)
{
        char *dir = NULL;
        int r;

        if (o->state_dir) {
                dir = strdup(o->state_dir);
        } else {
                r = isched_agent_default_state_dir(&dir);
                if (r < 0)
                        return cli_fail(r, "no state directory");
        }
        if (!dir)
                return EXIT_RUNTIME;
        r = mkdir_p(dir, 0700);
        if (r < 0) {
                cli_error("cannot create state directory %s: %s", dir, strerror(-r));
                free(dir);
                return r == -EACCES || r == -EPERM ? EXIT_RUNTIME : EXIT_USAGE;
        }
        *ret_dir = dir;
        return 0;
}

static void remove_hold_files(const char *state_dir, const struct run_opts *o)
{
        for (size_t i = 0; i < o->n_pools; i++) {
                char *state = NULL, *hold;
                size_t n;

                if (isched_agent_state_path(state_dir, o->pools[i], &state) < 0)
                        continue;
                /* The hold file sits beside the state file: <pool>.hold. */
                n = strlen(state) - strlen(".state.json");
                hold = malloc(n + sizeof(".hold"));
                if (hold) {
                        memcpy(hold, state, n);
                        memcpy(hold + n, ".hold", sizeof(".hold"));
                        if (unlink(hold) == 0)
                                printf("resumed pool %s: removed %s\n", o->pools[i], hold);
                        free(hold);
                }
                free(state);
        }
}

static void print_status_line(const struct pool_run *runs, size_t n)
{
        struct isched_agent_status st;

        fputs("\r\033[K", stdout);
        for (size_t i = 0; i < n; i++) {
                if (isched_agent_get_status(runs[i].agent, &st) < 0)
                        continue;
                printf("%s%s: %s %s, epoch %llu, reward %+.3f, switches %llu", i ? " | " : "", runs[i].name,
                       isched_arrangement_to_string(st.arrangement), isched_agent_mode_to_string(st.mode),
                       (unsigned long long)st.epochs, isfinite(st.last_reward) ? st.last_reward : 0.0,
                       (unsigned long long)st.switches);
        }
        fflush(stdout);
        status_line_shown = true;
}

/* What an epoch did, as a line: switches always, progress now and then. */
static void report_epoch(struct pool_run *pr, const struct isched_agent_status *st, bool tty,
                         enum isched_arrangement before)
{
        const double t = st->time_ns / 1e9;

        if (st->last_tick_switched) {
                clear_status_line();
                printf("[%8.1fs] %s: %s -> %s (%s)\n", t, pr->name, isched_arrangement_to_string(before),
                       isched_arrangement_to_string(st->arrangement), isched_agent_reason_to_string(st->last_reason));
        } else if (!tty && st->epochs % PROGRESS_EVERY == 0) {
                printf("[%8.1fs] %s: epoch %llu, %s (%s), mean reward %+.3f, switches %llu\n", t, pr->name,
                       (unsigned long long)st->epochs, isched_arrangement_to_string(st->arrangement),
                       isched_agent_reason_to_string(st->last_reason),
                       isfinite(st->mean_reward) ? st->mean_reward : 0.0, (unsigned long long)st->switches);
        }
}

static void print_summary(const struct pool_run *runs, size_t n)
{
        struct isched_agent_status st;

        clear_status_line();
        printf("summary:\n");
        for (size_t i = 0; i < n; i++) {
                uint64_t total = 0;

                if (!runs[i].agent || isched_agent_get_status(runs[i].agent, &st) < 0)
                        continue;
                for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                        total += runs[i].epochs_in[a];
                printf("  %s: %s, now %s; %llu epochs, %llu switches, %llu windows skipped, mean reward %+.4f\n",
                       runs[i].name, isched_agent_mode_to_string(st.mode), isched_arrangement_to_string(st.arrangement),
                       (unsigned long long)st.epochs, (unsigned long long)st.switches,
                       (unsigned long long)st.skipped_windows, isfinite(st.mean_reward) ? st.mean_reward : 0.0);
                if (total) {
                        printf("    time in each arrangement:");
                        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                                if (runs[i].epochs_in[a])
                                        printf(" %s %.0f%%", isched_arrangement_to_string((enum isched_arrangement)a),
                                               100.0 * runs[i].epochs_in[a] / total);
                        printf("\n");
                }
        }
}

static int save_models(struct pool_run *runs, size_t n)
{
        int rc = 0;

        for (size_t i = 0; i < n; i++) {
                int r;

                if (!runs[i].agent || !runs[i].model_path)
                        continue;
                r = isched_agent_save_model(runs[i].agent, runs[i].model_path);
                if (r < 0)
                        rc = cli_fail(r, "cannot save the model");
                else
                        printf("  model of %s saved to %s\n", runs[i].name, runs[i].model_path);
        }
        return rc;
}

static bool all_done(const struct run_opts *o, struct pool_run *runs, size_t n, uint64_t elapsed_ns)
{
        struct isched_agent_status st;
        bool any_live = false;

        if (o->duration_set && elapsed_ns >= o->duration_ns)
                return true;
        for (size_t i = 0; i < n; i++) {
                if (runs[i].stopped)
                        continue;
                any_live = true;
                if (!o->steps_set || isched_agent_get_status(runs[i].agent, &st) < 0 || st.epochs < o->steps)
                        return false;
        }
        return any_live ? o->steps_set : true;
}

/* Tick every agent once; returns an exit code, or -1 to go on. */
static int tick_all(struct pool_run *runs, size_t n, bool tty, bool *ended)
{
        struct isched_agent_status before, st;
        bool any = false;

        for (size_t i = 0; i < n; i++) {
                int r;

                if (runs[i].stopped)
                        continue;
                isched_agent_get_status(runs[i].agent, &before);
                r = isched_agent_tick(runs[i].agent);
                if (r == -ENOENT) {
                        clear_status_line();
                        cli_error("pool %s vanished: its agent stopped", runs[i].name);
                        runs[i].stopped = true;
                        continue;
                }
                if (r == -ENODATA) {
                        *ended = true;
                        return -1;
                }
                if (r < 0) {
                        /* A failed counter read is retried at the next
                         * interval: the agent's window goes on from its start
                         * snapshot (docs/reliability.md).  Only a failure that
                         * lasts ends the run. */
                        if (++runs[i].failures >= MAX_TICK_FAILURES)
                                return cli_fail(r, runs[i].name);
                        if (runs[i].failures == 1) {
                                clear_status_line();
                                cli_error("pool %s: %s; retrying every interval", runs[i].name,
                                          *isched_last_error() ? isched_last_error() : strerror(-r));
                        }
                        continue;
                }
                if (runs[i].failures) {
                        clear_status_line();
                        cli_error("pool %s: recovered after %u failed intervals", runs[i].name, runs[i].failures);
                        runs[i].failures = 0;
                }
                if (r == 1 && isched_agent_get_status(runs[i].agent, &st) == 0) {
                        runs[i].epochs_in[st.arrangement]++;
                        report_epoch(&runs[i], &st, tty, before.arrangement);
                        any = true;
                }
        }
        if (tty && any)
                print_status_line(runs, n);
        return -1;
}

static int run_loop(const struct run_opts *o, struct isched_backend *backend, struct pool_run *runs, size_t n)
{
        const bool tty = cli_stdout_is_tty();
        uint64_t elapsed_ns = 0;
        bool ended = false;
        int rc;

        while (!stop_signal && !all_done(o, runs, n, elapsed_ns)) {
                int r = isched_backend_wait(backend, o->interval_ns);

                if (r == -EINTR)
                        continue;
                if (r == -ENODATA) {
                        ended = true;
                        break;
                }
                if (r < 0)
                        return cli_fail(r, "the backend failed");
                elapsed_ns += o->interval_ns;
                rc = tick_all(runs, n, tty, &ended);
                if (rc >= 0)
                        return rc;
                if (ended)
                        break;
        }
        clear_status_line();
        if (stop_signal)
                printf("stopping on %s\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        if (ended)
                printf("the replay trace has ended\n");
        return EXIT_OK;
}

static void print_header(const struct run_opts *o, struct isched_backend *backend, const struct pool_run *runs,
                         size_t n)
{
        struct isched_agent_status st;

        printf("isched run: backend %s, interval %.3g s, epoch %.3g s", isched_backend_get_name(backend),
               o->interval_ns / 1e9, o->epoch_ns / 1e9);
        if (o->steps_set)
                printf(", %llu epochs", (unsigned long long)o->steps);
        else if (o->duration_set)
                printf(", %.3g s", o->duration_ns / 1e9);
        printf("\n");
        for (size_t i = 0; i < n; i++) {
                if (isched_agent_get_status(runs[i].agent, &st) < 0)
                        continue;
                printf("  %s: %s, starting on %s\n", runs[i].name, isched_agent_mode_to_string(st.mode),
                       isched_arrangement_to_string(st.arrangement));
        }
        fflush(stdout);
}

/* The trace lists the pools of this run; an unknown pool is refused
 * before the file is created. */
static int open_trace(const struct run_opts *o, struct isched_backend *backend, struct isched_trace_writer **ret)
{
        struct isched_pool_info pools[MAX_POOLS];
        int r;

        for (size_t i = 0; i < o->n_pools; i++) {
                r = isched_backend_find_pool(backend, o->pools[i], &pools[i]);
                if (r < 0)
                        return cli_fail(r, "unknown pool");
        }
        r = isched_trace_writer_new(o->record, pools, o->n_pools, ret);
        return r < 0 ? cli_fail(r, "cannot create the trace") : 0;
}

static int start_agents(struct run_opts *o, struct isched_backend *backend, const char *state_dir,
                        struct isched_trace_writer *trace, struct pool_run *runs)
{
        for (size_t i = 0; i < o->n_pools; i++) {
                struct isched_policy *policy = NULL;
                struct isched_context *context = NULL;
                struct isched_agent_config cfg = o->agent;
                struct isched_pool_info info;
                char what[128];
                int r;

                runs[i].name = o->pools[i];
                /* An unknown pool is bad input: say so before touching any file. */
                r = isched_backend_find_pool(backend, o->pools[i], &info);
                if (r < 0)
                        return cli_fail(r == -ENOENT ? r : r, "unknown pool");
                if (o->model) {
                        runs[i].model_path = model_path_for(o->model, o->pools[i]);
                        if (!runs[i].model_path)
                                return EXIT_RUNTIME;
                }
                r = load_or_create(o, runs[i].model_path, o->backend.seed + i, &policy, &context);
                if (r)
                        return r;
                cfg.pool = o->pools[i];
                cfg.state_dir = state_dir;
                cfg.model_path = runs[i].model_path;
                cfg.trace = trace;
                r = isched_agent_new(&cfg, backend, policy, context, &runs[i].agent);
                isched_policy_free(policy);
                isched_context_free(context);
                if (r < 0) {
                        snprintf(what, sizeof(what), "cannot start the agent of pool %s", o->pools[i]);
                        return cli_fail(r, what);
                }
        }
        return 0;
}

int cmd_run(int argc, char **argv)
{
        struct pool_run runs[MAX_POOLS] = { 0 };
        struct isched_backend *backend = NULL;
        struct isched_trace_writer *trace = NULL;
        struct sigaction sa = { .sa_handler = on_signal };
        struct run_opts o;
        char *state_dir = NULL;
        int rc, r;

        rc = parse(argc, argv, &o);
        if (rc)
                return rc < 0 ? EXIT_OK : rc;
        verbose_log = o.verbose;
        isched_set_log_fn(log_to_stderr, ISCHED_LOG_INFO, NULL);
        rc = cli_open_backend(&o.backend, &backend);
        if (rc)
                goto out;
        rc = prepare_state_dir(&o, &state_dir);
        if (rc)
                goto out;
        if (o.resume)
                remove_hold_files(state_dir, &o);
        if (o.record && (rc = open_trace(&o, backend, &trace)) != 0)
                goto out;
        rc = start_agents(&o, backend, state_dir, trace, runs);
        if (rc) {
                /* No half-made trace is left behind by a run that never started. */
                if (trace) {
                        trace = isched_trace_writer_free(trace);
                        unlink(o.record);
                }
                goto out;
        }

        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        print_header(&o, backend, runs, o.n_pools);
        rc = run_loop(&o, backend, runs, o.n_pools);
        if (rc == EXIT_OK)
                print_summary(runs, o.n_pools);
        /* What was learned is kept even when the backend failed for good. */
        r = save_models(runs, o.n_pools);
        if (rc == EXIT_OK)
                rc = r;
out:
        for (size_t i = 0; i < o.n_pools; i++) {
                isched_agent_unref(runs[i].agent);
                free(runs[i].model_path);
        }
        isched_trace_writer_free(trace);
        isched_backend_unref(backend);
        free(state_dir);
        isched_set_log_fn(NULL, ISCHED_LOG_ERROR, NULL);
        return rc;
}
