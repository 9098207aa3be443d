/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched run's settings: one table of options serves the command line and
 * the configuration file (INI, read with libinih; docs/configuration.md).
 * The command line overrides the file, which overrides the defaults. */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"

enum {
        OPT_POOL = CLI_OPT_OWN,
        OPT_INTERVAL,
        OPT_EPOCH,
        OPT_SETTLE,
        OPT_STEPS,
        OPT_DURATION,
        OPT_DRY_RUN,
        OPT_ON_EXIT,
        OPT_VERBOSE,
        OPT_MIN_DWELL,
        OPT_MAX_SWITCHES,
        OPT_ROLLBACK_WINDOWS,
        OPT_ROLLBACK_MARGIN,
        OPT_BUDGET,
        OPT_BASELINE,
        OPT_NO_SAFETY,
        OPT_STATE_DIR,
        OPT_MODEL,
        OPT_PRIOR,
        OPT_NO_PRIOR,
        OPT_NO_SHADOW,
        OPT_LOG,
        OPT_LOG_MAX_SIZE,
        OPT_RECORD,
        OPT_RECORD_MAX_SIZE,
        OPT_METRICS,
        OPT_CONFIG,
        OPT_NO_CONFIG,
        OPT_SHOW_CONFIG,
        OPT_RESUME,
        OPT_JSON,
};

/* Every option of isched run.  key: its name in the configuration file
 * (NULL: command line only); reload: a running agent takes a new value at
 * SIGHUP (the others need a restart). */
struct run_option {
        const char *name, *key, *section;
        int has_arg, id;
        bool reload;
};

static const struct run_option table[] = {
        { "pool", "pools", "agent", required_argument, OPT_POOL, false },
        { "interval", "interval", "agent", required_argument, OPT_INTERVAL, false },
        { "epoch", "epoch", "agent", required_argument, OPT_EPOCH, false },
        { "settle", "settle", "agent", required_argument, OPT_SETTLE, false },
        { "steps", "steps", "agent", required_argument, OPT_STEPS, false },
        { "duration", "duration", "agent", required_argument, OPT_DURATION, false },
        { "dry-run", "dry-run", "agent", optional_argument, OPT_DRY_RUN, false },
        { "on-exit", "on-exit", "agent", required_argument, OPT_ON_EXIT, true },
        { "verbose", "verbose", "agent", optional_argument, OPT_VERBOSE, true },
        { "backend", "backend", "backend", required_argument, CLI_OPT_BACKEND, false },
        { "scenario", "scenario", "backend", required_argument, CLI_OPT_SCENARIO, false },
        { "workload", "workload", "backend", required_argument, CLI_OPT_WORKLOAD, false },
        { "topology", "topology", "backend", required_argument, CLI_OPT_TOPOLOGY, false },
        { "trace", "trace", "backend", required_argument, CLI_OPT_TRACE, false },
        { "seed", "seed", "backend", required_argument, CLI_OPT_SEED, false },
        { "observation", "observation", "backend", required_argument, CLI_OPT_OBSERVATION, false },
        { "guest-weights", "guest-weights", "backend", required_argument, CLI_OPT_GUEST_WEIGHTS, false },
        { "guest-share-cap", "guest-share-cap", "backend", required_argument, CLI_OPT_GUEST_SHARE_CAP, false },
        { "policy", "kind", "policy", required_argument, CLI_OPT_POLICY, false },
        { "alpha", "alpha", "policy", required_argument, CLI_OPT_ALPHA, false },
        { "lambda", "lambda", "policy", required_argument, CLI_OPT_LAMBDA, false },
        { "gamma", "gamma", "policy", required_argument, CLI_OPT_GAMMA, false },
        { "epsilon", "epsilon", "policy", required_argument, CLI_OPT_EPSILON, false },
        { "ts-v", "ts-v", "policy", required_argument, CLI_OPT_TS_V, false },
        { "min-dwell", "min-dwell", "guards", required_argument, OPT_MIN_DWELL, false },
        { "max-switches-per-hour", "max-switches-per-hour", "guards", required_argument, OPT_MAX_SWITCHES, false },
        { "rollback-windows", "rollback-windows", "guards", required_argument, OPT_ROLLBACK_WINDOWS, false },
        { "rollback-margin", "rollback-margin", "guards", required_argument, OPT_ROLLBACK_MARGIN, false },
        { "budget", "budget", "guards", required_argument, OPT_BUDGET, false },
        { "baseline", "baseline", "guards", required_argument, OPT_BASELINE, false },
        { "no-safety", "no-safety", "guards", optional_argument, OPT_NO_SAFETY, false },
        { "state-dir", "state-dir", "files", required_argument, OPT_STATE_DIR, false },
        { "model", "model", "files", required_argument, OPT_MODEL, false },
        { "prior", "prior", "files", required_argument, OPT_PRIOR, false },
        { "no-prior", NULL, NULL, no_argument, OPT_NO_PRIOR, false },
        { "no-shadow", NULL, NULL, no_argument, OPT_NO_SHADOW, false },
        { "log", "log", "files", required_argument, OPT_LOG, false },
        { "log-max-size", "log-max-size", "files", required_argument, OPT_LOG_MAX_SIZE, false },
        { "record", "record", "files", required_argument, OPT_RECORD, false },
        { "record-max-size", "record-max-size", "files", required_argument, OPT_RECORD_MAX_SIZE, false },
        { "metrics", "metrics", "files", required_argument, OPT_METRICS, true },
        { "config", NULL, NULL, required_argument, OPT_CONFIG, false },
        { "no-config", NULL, NULL, no_argument, OPT_NO_CONFIG, false },
        { "show-config", NULL, NULL, no_argument, OPT_SHOW_CONFIG, false },
        { "resume", NULL, NULL, no_argument, OPT_RESUME, false },
        { "json", NULL, NULL, no_argument, OPT_JSON, false },
};

#define N_OPTIONS (sizeof(table) / sizeof(table[0]))

static const char *const sections[] = { "agent", "backend", "policy", "guards", "files" };

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: isched run [--pool NAME ...] [OPTIONS]\n"
                "\n"
                "Learn and apply the credit2 runqueue arrangement of each pool: every\n"
                "interval a counter snapshot, every epoch a decision, guarded by a minimum\n"
                "dwell time, a switch budget, rollback and override detection.  Runs until\n"
                "the steps end or SIGINT/SIGTERM; then the pools go back to the arrangement\n"
                "they had when the agent took them over (--on-exit restore), the models are\n"
                "saved and it exits 0.  SIGHUP reopens the log files and rereads the\n"
                "configuration.\n"
                "\n"
                "Settings come from the configuration file (" RUN_DEFAULT_CONFIG ",\n"
                "if it exists), then the command line, which overrides it; every option\n"
                "below except the last group is also a key of that file (docs/configuration.md).\n"
                "\n"
                "Agent:\n"
                "  --pool NAME        cpupool to manage (repeat for several; replaces the\n"
                "                     file's pools)\n"
                "  --interval SEC     time between counter snapshots (default 1)\n"
                "  --epoch SEC        decision window, a multiple of the interval (default 5)\n"
                "  --settle N         intervals skipped after a switch (default 1)\n"
                "  --steps N          stop after N decision epochs per pool\n"
                "  --duration SEC     stop after SEC seconds of backend time\n"
                "  --dry-run[=yes|no] decide and log, never apply\n"
                "  --on-exit restore|keep  at the end, return each pool to its takeover\n"
                "                     arrangement (restore, the default) or leave it (keep)\n"
                "  --verbose[=yes|no] also print skipped windows and other notes\n"
                "Backend:\n"
                CLI_BACKEND_HELP
                "Policy:\n"
                CLI_POLICY_HELP
                "Guards:\n"
                "  --min-dwell SEC    minimum time between switches (default 10; 0 = none)\n"
                "  --max-switches-per-hour N  switch budget (default 60; 0 = no limit)\n"
                "  --rollback-windows N       worse windows after a switch before rolling\n"
                "                     back to the last-known-good arrangement (default 3; 0 = off)\n"
                "  --rollback-margin X        how much lower a window score counts as worse (default 0.1)\n"
                "  --budget X         exploration budget: score the agent may lose against the\n"
                "                     baseline per epoch, summed since it started (default 0.01,\n"
                "                     about 1%%; 0 = try only what is known to be no worse)\n"
                "  --baseline ARR     the arrangement judged against and fallen back to\n"
                "                     (default: the one in force when the agent took the pool over)\n"
                "  --no-safety        let the policy's proposals through the safety layer unchanged\n"
                "                     (no budget, hysteresis or stop-loss): for experiments only\n"
                "Files:\n"
                "  --state-dir DIR    state and hold files (default /var/lib/intellisched for\n"
                "                     the xen backend as root, /run/intellisched/sim for the\n"
                "                     simulator; see 'isched status')\n"
                "  --prior FILE       the model a pool without one starts from (default: the\n"
                "                     shipped prior, trained on the simulator, " ISCHED_DATADIR "/prior.model,\n"
                "                     or $ISCHED_PRIOR); --no-prior starts it cold\n"
                "  --no-shadow        sim: do not simulate the baseline beside the agent\n"
                "  --model FILE       load the model if FILE exists, save it at the end and\n"
                "                     every 10 epochs; with several pools FILE must contain %%p,\n"
                "                     replaced by the pool name\n"
                "  --log FILE         append the decision log (JSON lines) to FILE\n"
                "  --log-max-size N   rename the log to FILE.1 when it would pass N bytes\n"
                "                     (suffix K, M, G; default 64M; 0 = no limit)\n"
                "  --record FILE      record every counter snapshot to a trace FILE, to replay\n"
                "                     later with --backend replay --trace FILE\n"
                "  --record-max-size N  stop recording at N bytes (default 1G; 0 = no limit)\n"
                "  --metrics FILE     node_exporter textfile-collector metrics, every epoch\n"
                "Command line only:\n"
                "  --config FILE      read FILE instead of " RUN_DEFAULT_CONFIG "\n"
                "  --no-config        read no configuration file\n"
                "  --show-config      print the settings in force, and where each comes from\n"
                "  --resume           remove the pools' hold files left by an override first\n"
                "  --json             print the summary as JSON (docs/json.md), nothing else\n"
                "  --help, --version\n"
                "\n"
                "Exit status: 0 success (also after SIGINT/SIGTERM), 1 runtime failure\n"
                "(also output that could not be written), 2 bad usage or bad input (unknown\n"
                "pool, bad option value or configuration, corrupt model).\n");
}

static const struct run_option *option_by_id(int id)
{
        for (size_t i = 0; i < N_OPTIONS; i++)
                if (table[i].id == id)
                        return &table[i];
        return NULL;
}

static const struct run_option *option_by_name(const char *name)
{
        for (size_t i = 0; i < N_OPTIONS; i++)
                if (strcmp(table[i].name, name) == 0)
                        return &table[i];
        return NULL;
}

static const struct run_option *option_by_key(const char *key)
{
        for (size_t i = 0; i < N_OPTIONS; i++)
                if (table[i].key && strcmp(table[i].key, key) == 0)
                        return &table[i];
        return NULL;
}

static char *keep_string(struct run_opts *o, const char *s)
{
        char **grown, *copy = strdup(s);

        if (!copy)
                return NULL;
        grown = realloc(o->strings, (o->n_strings + 1) * sizeof(*grown));
        if (!grown) {
                free(copy);
                return NULL;
        }
        o->strings = grown;
        o->strings[o->n_strings++] = copy;
        return copy;
}

static bool parse_bool(const char *label, const char *arg, bool *ret)
{
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < 4; i++) {
                if (strcasecmp(arg, yes[i]) == 0 || strcasecmp(arg, no[i]) == 0) {
                        *ret = strcasecmp(arg, yes[i]) == 0;
                        return true;
                }
        }
        cli_error("%s: '%s' is not yes or no", label, arg);
        return false;
}

/* Sizes: a whole number of bytes with an optional binary suffix. */
static bool parse_size(const char *label, const char *arg, uint64_t *ret)
{
        static const char suffixes[] = "KMGT";
        char *end;
        unsigned long long v;
        const char *p;

        errno = 0;
        v = strtoull(arg, &end, 10);
        if (end == arg || *arg == '-' || errno)
                goto bad;
        if (*end) {
                p = strchr(suffixes, *end == 'k' ? 'K' : *end);
                if (!p || !*p || (end[1] && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0))
                        goto bad;
                for (int shift = 10 * (int)(p - suffixes + 1); shift > 0; shift -= 10) {
                        if (v > (UINT64_MAX >> 10))
                                goto bad;
                        v <<= 10;
                }
        }
        *ret = v;
        return true;
bad:
        cli_error("%s: '%s' is not a size; give bytes, or a number with K, M, G or T (e.g. 64M; 0 = no limit)",
                  label, arg);
        return false;
}

static bool parse_pool(struct run_opts *o, const char *label, const char *name)
{
        char shown[128];

        if (!*name || strlen(name) >= ISCHED_NAME_MAX) {
                cli_error("%s: give a cpupool name of 1 to %d characters", label, ISCHED_NAME_MAX - 1);
                return false;
        }
        for (size_t i = 0; i < o->n_pools; i++) {
                if (strcmp(o->pools[i], name) == 0) {
                        cli_error("%s: pool %s is given twice", label, cli_printable(name, shown, sizeof(shown)));
                        return false;
                }
        }
        if (o->n_pools == RUN_MAX_POOLS) {
                cli_error("%s: at most %d pools per run", label, RUN_MAX_POOLS);
                return false;
        }
        o->pools[o->n_pools++] = name;
        return true;
}

/* A configuration file lists its pools on one line. */
static bool parse_pool_list(struct run_opts *o, const char *label, char *list)
{
        char *save = NULL;

        for (char *tok = strtok_r(list, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save))
                if (!parse_pool(o, label, tok))
                        return false;
        if (o->n_pools == 0 && !o->show_config) {
                cli_error("%s: give at least one pool name", label);
                return false;
        }
        return true;
}

/* Set one option from the command line (label "--name") or the file
 * (label "FILE:LINE: key"); arg is owned by the caller and outlives o. */
static bool apply_option(struct run_opts *o, const struct run_option *opt, char *arg, const char *label)
{
        uint64_t v;
        bool b;
        int h;

        if ((h = cli_backend_opt(&o->backend, opt->id, arg, label)) != 0 ||
            (h = cli_policy_opt(&o->policy, opt->id, arg, label)) != 0)
                return h > 0;
        switch (opt->id) {
        case OPT_POOL:
                return label[0] == '-' ? parse_pool(o, label, arg) : parse_pool_list(o, label, arg);
        case OPT_INTERVAL:
                return cli_parse_seconds_ns(label, arg, &o->interval_ns);
        case OPT_EPOCH:
                return cli_parse_seconds_ns(label, arg, &o->epoch_ns);
        case OPT_SETTLE:
                if (!cli_parse_u64(label, arg, 0, 1000, &v))
                        return false;
                o->agent.settle_intervals = (uint32_t)v;
                return true;
        case OPT_STEPS:
                o->steps_set = true;
                return cli_parse_u64(label, arg, 1, UINT32_MAX, &o->steps);
        case OPT_DURATION:
                o->duration_set = true;
                return cli_parse_seconds_ns(label, arg, &o->duration_ns);
        case OPT_DRY_RUN:
                b = true;
                if (arg && !parse_bool(label, arg, &b))
                        return false;
                o->agent.dry_run = b;
                return true;
        case OPT_VERBOSE:
                b = true;
                if (arg && !parse_bool(label, arg, &b))
                        return false;
                o->verbose = b;
                return true;
        case OPT_ON_EXIT:
                if (isched_agent_on_exit_from_string(arg, &o->on_exit) < 0) {
                        cli_error("%s: '%s' is not restore or keep", label, arg);
                        return false;
                }
                return true;
        case OPT_MIN_DWELL:
                /* 0 turns the guard off. */
                return cli_parse_seconds_ns_or_zero(label, arg, &o->agent.min_dwell_ns);
        case OPT_MAX_SWITCHES:
                if (!cli_parse_u64(label, arg, 0, 3600, &v))
                        return false;
                o->agent.max_switches_per_hour = (uint32_t)v;
                return true;
        case OPT_ROLLBACK_WINDOWS:
                if (!cli_parse_u64(label, arg, 0, 1000, &v))
                        return false;
                o->agent.rollback_windows = (uint32_t)v;
                return true;
        case OPT_ROLLBACK_MARGIN:
                return cli_parse_double(label, arg, 0, 100, &o->agent.rollback_margin);
        case OPT_BUDGET:
                return cli_parse_double(label, arg, 0, 1, &o->agent.budget);
        case OPT_BASELINE:
                if (isched_arrangement_from_string(arg, &o->agent.baseline) < 0) {
                        cli_error("%s: %s is not an arrangement (cpu, core, socket, node, all)", label, arg);
                        return false;
                }
                return true;
        case OPT_NO_SAFETY:
                b = true;
                if (arg && !parse_bool(label, arg, &b))
                        return false;
                o->agent.no_safety = b;
                return true;
        case OPT_STATE_DIR:
                o->state_dir = arg;
                return true;
        case OPT_MODEL:
                o->model = arg;
                return true;
        case OPT_PRIOR:
                /* "none" in a configuration file is --no-prior */
                if (strcmp(arg, "none") == 0) {
                        o->no_prior = true;
                        o->prior = NULL;
                } else {
                        o->prior = arg;
                        o->no_prior = false;
                }
                return true;
        case OPT_NO_PRIOR:
                o->no_prior = true;
                return true;
        case OPT_NO_SHADOW:
                o->no_shadow = true;
                return true;
        case OPT_LOG:
                o->log = arg;
                return true;
        case OPT_LOG_MAX_SIZE:
                return parse_size(label, arg, &o->agent.log_max_bytes);
        case OPT_RECORD:
                o->record = arg;
                return true;
        case OPT_RECORD_MAX_SIZE:
                return parse_size(label, arg, &o->record_max_bytes);
        case OPT_METRICS:
                o->metrics = arg;
                return true;
        case OPT_RESUME:
                o->resume = true;
                return true;
        case OPT_JSON:
                o->json = true;
                return true;
        case OPT_SHOW_CONFIG:
                o->show_config = true;
                return true;
        default:
                return true; /* --config, --no-config: read before */
        }
}

static void set_source(struct run_opts *o, const struct run_option *opt, const char *where)
{
        o->src[opt - table] = where;
}

/* ---- the configuration file ---- */

struct config_reader {
        struct run_opts *o;
        FILE *f;
        const char *path;
        unsigned line;
        bool failed, line_too_long, cr_only;
};

static char *read_line(char *str, int num, void *stream)
{
        struct config_reader *cr = stream;
        char *s = fgets(str, num, cr->f);
        size_t n;

        if (!s)
                return NULL;
        cr->line++;
        n = strlen(s);
        /* A CR anywhere but before the newline: lines that end in CR only. */
        if (memchr(s, '\r', n) && !(n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n' && !memchr(s, '\r', n - 2))) {
                cr->cr_only = true;
                return NULL;
        }
        if (n && s[n - 1] != '\n' && !feof(cr->f)) {
                /* inih would read the rest as a line of its own. */
                cr->line_too_long = true;
                return NULL;
        }
        return s;
}

static int config_entry(void *user, const char *section, const char *key, const char *value)
{
        struct config_reader *cr = user;
        struct run_opts *o = cr->o;
        const struct run_option *opt = option_by_key(key);
        char label[PATH_MAX + 96], *where, *arg;
        bool known_section = false;

        snprintf(label, sizeof(label), "%s:%u: %s", cr->path, cr->line, key);
        for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
                known_section |= strcmp(section, sections[i]) == 0;
        if (!*section) {
                cli_error("%s: a setting before any [section]; put it under [%s]", label, opt ? opt->section : "agent");
                goto fail;
        }
        if (!known_section) {
                cli_error("%s:%u: unknown section [%s]; use [agent], [backend], [policy], [guards] or [files]", cr->path,
                          cr->line, section);
                goto fail;
        }
        if (!opt) {
                cli_error("%s: unknown setting in [%s] (docs/configuration.md lists them)", label, section);
                goto fail;
        }
        if (strcmp(opt->section, section) != 0) {
                cli_error("%s: belongs in [%s], not [%s]", label, opt->section, section);
                goto fail;
        }
        if (o->src[opt - table]) {
                cli_error("%s: set twice (first at %s); keep one", label, o->src[opt - table]);
                goto fail;
        }
        if (!*value) {
                cli_error("%s: no value; give one or remove the line to keep the default", label);
                goto fail;
        }
        where = keep_string(o, label);
        arg = keep_string(o, value);
        if (!where || !arg)
                goto fail;
        /* The source is "FILE:LINE", the label adds the key for messages. */
        where[strlen(where) - strlen(key) - 2] = '\0';
        if (!apply_option(o, opt, arg, label))
                goto fail;
        set_source(o, opt, where);
        return 1;
fail:
        cr->failed = true;
        return 0;
}

static int read_config(struct run_opts *o, const char *path, bool required)
{
        struct config_reader cr = { .o = o, .path = path };
        int r;

        cr.f = fopen(path, "re");
        if (!cr.f) {
                if (errno == ENOENT && !required)
                        return 0;
                cli_error("cannot read the configuration file %s: %s", path, strerror(errno));
                return errno == ENOENT || errno == EISDIR ? EXIT_USAGE : EXIT_RUNTIME;
        }
        o->config_path = strdup(path);
        r = ini_parse_stream(read_line, &cr, config_entry, &cr);
        fclose(cr.f);
        if (cr.failed)
                return EXIT_USAGE;
        if (cr.cr_only) {
                cli_error("%s:%u: the lines end in CR only (old Mac style); convert them with \"tr '\\r' '\\n'\"",
                          path, cr.line);
                return EXIT_USAGE;
        }
        if (cr.line_too_long) {
                cli_error("%s:%u: line longer than %d characters", path, cr.line, INI_MAX_LINE - 2);
                return EXIT_USAGE;
        }
        if (r > 0) {
                cli_error("%s:%d: not a setting: write 'key = value' under a [section] (# starts a comment)", path, r);
                return EXIT_USAGE;
        }
        if (r < 0) {
                cli_error("cannot read the configuration file %s", path);
                return EXIT_RUNTIME;
        }
        return 0;
}

/* ---- the command line ---- */

static void build_longopts(struct option *lo)
{
        size_t i;

        for (i = 0; i < N_OPTIONS; i++)
                lo[i] = (struct option){ table[i].name, table[i].has_arg, NULL, table[i].id };
        lo[i++] = (struct option){ "help", no_argument, NULL, 'h' };
        lo[i++] = (struct option){ "version", no_argument, NULL, 'V' };
        lo[i] = (struct option){ 0 };
}

/* First pass: --help, --version and which configuration file to read. */
static int find_config(int argc, char **argv, const struct option *lo, const char **ret_path, bool *ret_required)
{
        static const int repeatable[] = { OPT_POOL, 0 };
        struct cli_getopt g;
        bool none = false;
        int c;

        *ret_path = RUN_DEFAULT_CONFIG;
        *ret_required = false;
        cli_getopt_init(&g, "run", lo, repeatable);
        while ((c = cli_getopt_next(&g, argc, argv)) != -1) {
                if (c == CLI_GETOPT_BAD)
                        return EXIT_USAGE;
                if (c == 'h') {
                        usage(stdout);
                        return -1;
                }
                if (c == 'V') {
                        cli_version();
                        return -1;
                }
                if (c == OPT_CONFIG) {
                        *ret_path = optarg;
                        *ret_required = true;
                } else if (c == OPT_NO_CONFIG) {
                        none = true;
                }
        }
        if (cli_extra_operand("run", argc, argv))
                return EXIT_USAGE;
        if (none && *ret_required) {
                cli_error("run: --config and --no-config exclude each other; give one");
                return cli_usage_hint("run ");
        }
        if (none)
                *ret_path = NULL;
        return 0;
}

static int apply_command_line(struct run_opts *o, int argc, char **argv, const struct option *lo)
{
        bool pools_from_file = o->n_pools > 0;
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hV", lo, NULL)) != -1) {
                const struct run_option *opt = option_by_id(c);
                char label[64];

                if (!opt)
                        continue;
                /* The command line's pools replace the file's. */
                if (c == OPT_POOL && pools_from_file) {
                        o->n_pools = 0;
                        pools_from_file = false;
                }
                snprintf(label, sizeof(label), "--%s", opt->name);
                if (!apply_option(o, opt, optarg, label))
                        return cli_usage_hint("run ");
                set_source(o, opt, "command line");
        }
        return 0;
}

static const char *describe(const struct run_opts *o, const char *name, char *buf, size_t size)
{
        const char *src = run_opts_source(o, name);

        if (strcmp(src, "command line") == 0)
                snprintf(buf, size, "--%s", name);
        else if (strcmp(src, "default") == 0)
                snprintf(buf, size, "%s (default)", name);
        else
                snprintf(buf, size, "%s (%s)", name, src);
        return buf;
}

/* Rules between settings, checked once all are known. */
static int check_combination(struct run_opts *o)
{
        char a[PATH_MAX + 64], b[PATH_MAX + 64];

        if (o->n_pools == 0 && !o->show_config) {
                cli_error("run: no pool given; add --pool NAME, or pools = NAME under [agent] in %s (see 'isched "
                          "pools')",
                          o->config_path ? o->config_path : RUN_DEFAULT_CONFIG);
                return cli_usage_hint("run ");
        }
        if (o->steps_set && o->duration_set) {
                cli_error("%s and %s exclude each other; give one", describe(o, "steps", a, sizeof(a)),
                          describe(o, "duration", b, sizeof(b)));
                return cli_usage_hint("run ");
        }
        if (strcmp(run_opts_source(o, "epoch"), "default") == 0)
                o->epoch_ns = o->interval_ns * o->agent.epoch_intervals;
        if (o->epoch_ns < o->interval_ns || o->epoch_ns % o->interval_ns != 0) {
                cli_error("%s = %.3f s must be a whole multiple of %s = %.3f s", describe(o, "epoch", a, sizeof(a)),
                          o->epoch_ns / 1e9, describe(o, "interval", b, sizeof(b)), o->interval_ns / 1e9);
                return cli_usage_hint("run ");
        }
        if (o->model && o->n_pools > 1 && !strstr(o->model, "%p")) {
                cli_error("%s: with several pools the file name must contain %%p (replaced by the pool name)",
                          describe(o, "model", a, sizeof(a)));
                return cli_usage_hint("run ");
        }
        if (!cli_policy_opts_check(&o->policy))
                return cli_usage_hint("run ");
        if (o->json && o->show_config) {
                cli_error("run: --json and --show-config exclude each other; give one");
                return cli_usage_hint("run ");
        }
        o->agent.interval_ns = o->interval_ns;
        o->agent.epoch_intervals = (uint32_t)(o->epoch_ns / o->interval_ns);
        o->agent.log_path = o->log;
        return 0;
}

int run_opts_load(struct run_opts *o, int argc, char **argv)
{
        struct option lo[N_OPTIONS + 3];
        const char *config;
        bool required;
        int rc;

        memset(o, 0, sizeof(*o));
        cli_backend_opts_init(&o->backend);
        cli_policy_opts_init(&o->policy);
        isched_agent_config_init(&o->agent);
        o->interval_ns = o->agent.interval_ns;
        o->record_max_bytes = 1ULL << 30;
        o->on_exit = ISCHED_AGENT_ON_EXIT_RESTORE;
        o->src = calloc(N_OPTIONS, sizeof(*o->src));
        if (!o->src)
                return EXIT_RUNTIME;
        build_longopts(lo);
        rc = find_config(argc, argv, lo, &config, &required);
        if (rc)
                return rc;
        if (config && (rc = read_config(o, config, required)) != 0)
                return rc;
        rc = apply_command_line(o, argc, argv, lo);
        if (rc)
                return rc;
        return check_combination(o);
}

void run_opts_free(struct run_opts *o)
{
        for (size_t i = 0; i < o->n_strings; i++)
                free(o->strings[i]);
        free(o->strings);
        free(o->src);
        free(o->config_path);
        o->strings = NULL;
        o->src = NULL;
        o->config_path = NULL;
        o->n_strings = 0;
}

const char *run_opts_source(const struct run_opts *o, const char *name)
{
        const struct run_option *opt = option_by_name(name);
        const char *src = opt && o->src ? o->src[opt - table] : NULL;

        return src ? src : "default";
}

/* ---- what is in force ---- */

static const char *seconds(uint64_t ns, char *buf, size_t size)
{
        snprintf(buf, size, "%.9g", ns / 1e9);
        return buf;
}

static const char *size_text(uint64_t bytes, char *buf, size_t size)
{
        static const char suffixes[] = "KMGT";
        int i = -1;

        while (bytes && bytes % 1024 == 0 && i < 3) {
                bytes /= 1024;
                i++;
        }
        if (i < 0)
                snprintf(buf, size, "%" PRIu64, bytes);
        else
                snprintf(buf, size, "%" PRIu64 "%c", bytes, suffixes[i]);
        return buf;
}

/* The value of one setting as the configuration file would write it, or
 * NULL when it is unset (no default value). */
static const char *value_text(const struct run_opts *o, const struct run_option *opt, char *buf, size_t size)
{
        const struct cli_policy_param *p = NULL;

        switch (opt->id) {
        case OPT_POOL: {
                size_t n = 0;

                buf[0] = '\0';
                for (size_t i = 0; i < o->n_pools && n < size; i++)
                        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? " " : "", o->pools[i]);
                return o->n_pools ? buf : NULL;
        }
        case OPT_INTERVAL:
                return seconds(o->interval_ns, buf, size);
        case OPT_EPOCH:
                return seconds(o->epoch_ns, buf, size);
        case OPT_SETTLE:
                snprintf(buf, size, "%u", o->agent.settle_intervals);
                return buf;
        case OPT_STEPS:
                if (!o->steps_set)
                        return NULL;
                snprintf(buf, size, "%" PRIu64, o->steps);
                return buf;
        case OPT_DURATION:
                return o->duration_set ? seconds(o->duration_ns, buf, size) : NULL;
        case OPT_DRY_RUN:
                return o->agent.dry_run ? "yes" : "no";
        case OPT_VERBOSE:
                return o->verbose ? "yes" : "no";
        case OPT_ON_EXIT:
                return isched_agent_on_exit_to_string(o->on_exit);
        case CLI_OPT_BACKEND:
                return o->backend.backend;
        case CLI_OPT_SCENARIO:
                return o->backend.scenario;
        case CLI_OPT_WORKLOAD:
                return o->backend.workload;
        case CLI_OPT_TOPOLOGY:
                return o->backend.topology;
        case CLI_OPT_TRACE:
                return o->backend.trace;
        case CLI_OPT_SEED:
                snprintf(buf, size, "%" PRIu64, o->backend.seed);
                return buf;
        case CLI_OPT_OBSERVATION:
                return o->backend.observation;
        case CLI_OPT_GUEST_WEIGHTS:
                return o->backend.guest_weights;
        case CLI_OPT_GUEST_SHARE_CAP:
                if (!o->backend.guest_share_cap)
                        return NULL;
                snprintf(buf, size, "%.9g", o->backend.guest_share_cap);
                return buf;
        case CLI_OPT_POLICY:
                return isched_policy_kind_to_string(o->policy.kind);
        case CLI_OPT_ALPHA:
                p = &o->policy.alpha;
                break;
        case CLI_OPT_LAMBDA:
                p = &o->policy.lambda;
                break;
        case CLI_OPT_GAMMA:
                p = &o->policy.gamma;
                break;
        case CLI_OPT_EPSILON:
                p = &o->policy.epsilon;
                break;
        case CLI_OPT_TS_V:
                p = &o->policy.ts_v;
                break;
        case OPT_MIN_DWELL:
                return seconds(o->agent.min_dwell_ns, buf, size);
        case OPT_MAX_SWITCHES:
                snprintf(buf, size, "%u", o->agent.max_switches_per_hour);
                return buf;
        case OPT_ROLLBACK_WINDOWS:
                snprintf(buf, size, "%u", o->agent.rollback_windows);
                return buf;
        case OPT_ROLLBACK_MARGIN:
                snprintf(buf, size, "%.9g", o->agent.rollback_margin);
                return buf;
        case OPT_BUDGET:
                snprintf(buf, size, "%.9g", o->agent.budget);
                return buf;
        case OPT_BASELINE:
                return (unsigned)o->agent.baseline < ISCHED_ARR_COUNT ? isched_arrangement_to_string(o->agent.baseline)
                                                                        : NULL;
        case OPT_NO_SAFETY:
                return o->agent.no_safety ? "yes" : "no";
        case OPT_STATE_DIR:
                return o->state_dir;
        case OPT_MODEL:
                return o->model;
        case OPT_PRIOR:
                return o->no_prior ? "none" : o->prior;
        case OPT_LOG:
                return o->log;
        case OPT_LOG_MAX_SIZE:
                return size_text(o->agent.log_max_bytes, buf, size);
        case OPT_RECORD:
                return o->record;
        case OPT_RECORD_MAX_SIZE:
                return size_text(o->record_max_bytes, buf, size);
        case OPT_METRICS:
                return o->metrics;
        default:
                return NULL;
        }
        /* Policy parameters: the kind's default when not set. */
        if (!p->from[0])
                return NULL;
        snprintf(buf, size, "%.17g", p->value);
        return buf;
}

void run_opts_show(const struct run_opts *o, FILE *f)
{
        fprintf(f, "# isched run: the settings in force.  Precedence: the command line, then the\n"
                   "# configuration file (%s), then the defaults.\n",
                o->config_path ? o->config_path : "none read");
        for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
                fprintf(f, "\n[%s]\n", sections[s]);
                for (size_t i = 0; i < N_OPTIONS; i++) {
                        const struct run_option *opt = &table[i];
                        char buf[4096], line[4200];
                        const char *v;

                        if (!opt->key || strcmp(opt->section, sections[s]) != 0)
                                continue;
                        v = value_text(o, opt, buf, sizeof(buf));
                        if (v)
                                snprintf(line, sizeof(line), "%s = %s", opt->key, v);
                        else
                                snprintf(line, sizeof(line), "# %s (not set)", opt->key);
                        fprintf(f, "%-40s # %s\n", line, run_opts_source(o, opt->name));
                }
        }
}

void run_opts_reload(struct run_opts *old, const struct run_opts *n, char *restart_needed, size_t size)
{
        size_t used = 0;

        restart_needed[0] = '\0';
        for (size_t i = 0; i < N_OPTIONS; i++) {
                char a[4096], b[4096];
                const char *va, *vb;

                if (!table[i].key)
                        continue;
                va = value_text(old, &table[i], a, sizeof(a));
                vb = value_text(n, &table[i], b, sizeof(b));
                if ((!va && !vb) || (va && vb && strcmp(va, vb) == 0))
                        continue;
                if (!table[i].reload) {
                        used += (size_t)snprintf(restart_needed + used, used < size ? size - used : 0, "%s%s",
                                                 used ? ", " : "", table[i].key);
                        continue;
                }
                switch (table[i].id) {
                case OPT_VERBOSE:
                        old->verbose = n->verbose;
                        break;
                case OPT_ON_EXIT:
                        old->on_exit = n->on_exit;
                        break;
                case OPT_METRICS:
                        old->metrics = n->metrics ? keep_string(old, n->metrics) : NULL;
                        break;
                }
        }
}
