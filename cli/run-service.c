/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched run as a service: its messages (terminal, file or journald), the
 * sd_notify() protocol, and the node_exporter metrics file
 * (docs/service.md). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif

#include "cli.h"
#include "run.h"

static bool journal;      /* standard error is the journal's stream */
static bool verbose_log;
static const char *log_pool, *log_arrangement;

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected; if standard error is still that stream, the native protocol
 * carries priorities and fields (systemd.exec(5), "JOURNAL_STREAM"). */
static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void run_log_init(bool verbose)
{
#if HAVE_LIBSYSTEMD
        journal = stderr_is_journal();
#endif
        verbose_log = verbose;
}

bool run_log_to_journal(void)
{
        return journal;
}

void run_log_set_verbose(bool verbose)
{
        verbose_log = verbose;
}

void run_log_set_pool(const char *pool, const char *arrangement)
{
        log_pool = pool;
        log_arrangement = arrangement;
}

static bool status_line_shown;

void run_status_line_clear(void)
{
        if (status_line_shown) {
                fputs("\r\033[K", stdout);
                fflush(stdout);
                status_line_shown = false;
        }
}

void run_status_line_set_shown(void)
{
        status_line_shown = true;
}

#if HAVE_LIBSYSTEMD
static void journal_send(int prio, const char *pool, const char *arrangement, const char *message)
{
        char shown[2048];

        cli_printable(message, shown, sizeof(shown));
        if (pool && arrangement)
                sd_journal_send("MESSAGE=%s", shown, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=isched",
                                "ISCHED_POOL=%s", pool, "ISCHED_ARRANGEMENT=%s", arrangement, NULL);
        else if (pool)
                sd_journal_send("MESSAGE=%s", shown, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=isched",
                                "ISCHED_POOL=%s", pool, NULL);
        else
                sd_journal_send("MESSAGE=%s", shown, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=isched", NULL);
}
#endif

bool run_report(int prio, const char *pool, const char *arrangement, const char *fmt, ...)
{
        char line[2048], shown[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
#if HAVE_LIBSYSTEMD
        if (journal) {
                journal_send(prio, pool, arrangement, line);
                return true;
        }
#endif
        (void)pool;
        (void)arrangement;
        run_status_line_clear();
        fputs(cli_printable(line, shown, sizeof(shown)), stdout);
        fputc('\n', stdout);
        return fflush(stdout) == 0 && !ferror(stdout);
}

void run_log_fn(enum isched_log_priority prio, const char *message, void *userdata)
{
        char shown[2048];

        (void)userdata;
        if (prio == ISCHED_LOG_DEBUG || (prio == ISCHED_LOG_INFO && !verbose_log))
                return;
#if HAVE_LIBSYSTEMD
        if (journal) {
                journal_send((int)prio, log_pool, log_arrangement, message);
                return;
        }
#endif
        run_status_line_clear();
        fflush(stdout); /* keep the order of the lines when both go to one file */
        fprintf(stderr, "isched: %s%s\n", prio <= ISCHED_LOG_WARNING ? "" : "note: ",
                cli_printable(message, shown, sizeof(shown)));
}

void run_notify(const char *fmt, ...)
{
#if HAVE_LIBSYSTEMD
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        (void)sd_notify(0, msg);
#else
        (void)fmt;
#endif
}

/* ---- metrics ---- */

int run_metrics_check_path(const char *path)
{
        const char *slash = strrchr(path, '/');
        char dir[4096];
        struct stat st;
        size_t n = strlen(path);

        if (n < 6 || strcmp(path + n - 5, ".prom") != 0) {
                cli_error("--metrics %s: node_exporter's textfile collector reads only files ending in .prom", path);
                return EXIT_USAGE;
        }
        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
        if (!dir[0])
                snprintf(dir, sizeof(dir), "/");
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                cli_error("--metrics %s: directory %s does not exist (node_exporter's textfile directory, e.g. "
                          "/var/lib/prometheus/node-exporter)", path, dir);
                return EXIT_USAGE;
        }
        if (access(dir, W_OK | X_OK) < 0) {
                cli_error("--metrics %s: directory %s is not writable: %s", path, dir, strerror(errno));
                return EXIT_RUNTIME;
        }
        if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                cli_error("--metrics %s exists and is not a regular file (a symbolic link?): give the real path", path);
                return EXIT_USAGE;
        }
        return 0;
}

/* Label values escape \, " and newline (Prometheus text format). */
static void label(FILE *f, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\' || *s == '"')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

static void value(FILE *f, double v)
{
        if (isnan(v))
                fputs("NaN", f);
        else
                fprintf(f, "%.17g", v);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *pool, const char *key, const char *val, double v)
{
        fprintf(f, "%s{pool=\"", name);
        label(f, pool);
        if (key) {
                fprintf(f, "\",%s=\"", key);
                label(f, val);
        }
        fputs("\"} ", f);
        value(f, v);
        fputc('\n', f);
}

/* The metrics of each pool, one family a row: a number of the agent's
 * status (a counter or a gauge), or a one-hot gauge over the arrangements
 * (or modes) labelled by name. */
enum metric_kind { M_U64, M_DOUBLE, M_ARRANGEMENT, M_MODE };

struct metric {
        const char *name, *type, *help;
        enum metric_kind kind;
        size_t offset; /* in struct isched_agent_status */
};

#define STATUS_AT(field) offsetof(struct isched_agent_status, field)

static const struct metric metrics[] = {
        { "intellisched_mode", "gauge", "The agent's mode: 1 for the one it is in, 0 for the others.", M_MODE,
          STATUS_AT(mode) },
        { "intellisched_arrangement", "gauge", "The credit2 runqueue arrangement in force: 1 for it, 0 for the others.",
          M_ARRANGEMENT, STATUS_AT(arrangement) },
        { "intellisched_takeover_arrangement", "gauge",
          "The arrangement the pool had when the agent took it over: 1 for it, 0 for the others.", M_ARRANGEMENT,
          STATUS_AT(takeover_arrangement) },
        { "intellisched_baseline_arrangement", "gauge",
          "The arrangement the agent is measured against (the takeover one unless configured): 1 for it.",
          M_ARRANGEMENT, STATUS_AT(baseline) },
        { "intellisched_estimated_gain", "gauge",
          "Estimated score of the arrangement in force minus the baseline's (log scale; NaN if unknown).", M_DOUBLE,
          STATUS_AT(gain) },
        { "intellisched_estimated_gain_sd", "gauge", "Standard error of intellisched_estimated_gain.", M_DOUBLE,
          STATUS_AT(gain_sd) },
        { "intellisched_measured_gain", "gauge",
          "Score gained over the baseline per window since takeover, as measured (NaN before the first).", M_DOUBLE,
          STATUS_AT(measured_gain) },
        { "intellisched_budget_spent", "gauge",
          "Pessimistic score lost against the baseline so far (the safety budget's use).", M_DOUBLE,
          STATUS_AT(budget_spent) },
        { "intellisched_budget_allowance", "gauge", "The safety budget allowed so far (budget x windows).", M_DOUBLE,
          STATUS_AT(budget_allowance) },
        { "intellisched_epochs_total", "counter", "Decision windows ended since the agent started.", M_U64,
          STATUS_AT(epochs) },
        { "intellisched_switches_total", "counter", "Arrangements the agent applied since it started.", M_U64,
          STATUS_AT(switches) },
        { "intellisched_skipped_windows_total", "counter",
          "Windows skipped since the agent started (invalid counters, a foreign change).", M_U64,
          STATUS_AT(skipped_windows) },
        { "intellisched_output_errors_total", "counter",
          "State file and decision log writes that failed since the agent started.", M_U64, STATUS_AT(output_errors) },
        { "intellisched_window_score", "gauge",
          "Score of the latest valid window (log-scale throughput and wake-up latency; NaN before the first).", M_DOUBLE,
          STATUS_AT(last_score) },
        { "intellisched_mean_reward", "gauge", "Mean reward learned since the agent started (NaN before the first).",
          M_DOUBLE, STATUS_AT(mean_reward) },
};

static void write_metric(FILE *f, const struct metric *m, const struct run_metric_pool *p, size_t n)
{
        family(f, m->name, m->type, m->help);
        for (size_t i = 0; i < n; i++) {
                const char *st = (const char *)p[i].status + m->offset;
                unsigned count, which;

                switch (m->kind) {
                case M_U64:
                        sample(f, m->name, p[i].pool, NULL, NULL, (double)*(const uint64_t *)st);
                        break;
                case M_DOUBLE:
                        sample(f, m->name, p[i].pool, NULL, NULL, *(const double *)st);
                        break;
                default:
                        which = m->kind == M_MODE ? (unsigned)*(const enum isched_agent_mode *)st
                                                  : (unsigned)*(const enum isched_arrangement *)st;
                        count = m->kind == M_MODE ? ISCHED_AGENT_MODE_COUNT : ISCHED_ARR_COUNT;
                        for (unsigned v = 0; v < count; v++)
                                sample(f, m->name, p[i].pool, m->kind == M_MODE ? "mode" : "arrangement",
                                       m->kind == M_MODE ? isched_agent_mode_to_string((enum isched_agent_mode)v)
                                                         : isched_arrangement_to_string((enum isched_arrangement)v),
                                       which == v);
                }
        }
}

static void write_metrics(FILE *f, const struct run_metric_pool *p, size_t n)
{
        family(f, "intellisched_up", "gauge", "1 while the pool's agent runs, 0 once it stopped.");
        for (size_t i = 0; i < n; i++)
                sample(f, "intellisched_up", p[i].pool, NULL, NULL, p[i].running);
        family(f, "intellisched_info", "gauge", "The backend and policy of the pool's agent (always 1).");
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "intellisched_info{pool=\"");
                label(f, p[i].pool);
                fprintf(f, "\",backend=\"");
                label(f, p[i].backend);
                fprintf(f, "\",policy=\"");
                label(f, p[i].policy);
                fprintf(f, "\"} 1\n");
        }
        for (size_t m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++)
                write_metric(f, &metrics[m], p, n);
        family(f, "intellisched_last_decision_timestamp_seconds", "gauge",
               "Wall-clock time of the latest decision, seconds since the epoch (NaN before the first).");
        for (size_t i = 0; i < n; i++)
                sample(f, "intellisched_last_decision_timestamp_seconds", p[i].pool, NULL, NULL,
                       p[i].last_decision_wall_s);
}

int run_metrics_write(const char *path, const struct run_metric_pool *pools, size_t n)
{
        char tmp[4200];
        FILE *f;
        int fd, r = 0;

        /* The collector may read at any moment: write aside, then rename. */
        snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        (void)fchmod(fd, 0644); /* whatever the umask: node_exporter runs as another user */
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                unlink(tmp);
                return r;
        }
        write_metrics(f, pools, n);
        if (fflush(f) != 0 || ferror(f))
                r = -(errno ? errno : EIO);
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}
