/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched-guest: publish an application's work counter from inside a Xen
 * guest to dom0 through xenstore, for intellisched's observation mode
 * xen+guests (docs/guest-work.md). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenstore.h>

#include "guest-source.h"

#define EXIT_USAGE 2
#define DEFAULT_DIR "data/intellisched"
#define DEFAULT_INTERVAL_NS 250000000ull
#define MAX_TIMEOUT_MS 10000
#define XS_RETRIES 5

enum source_kind { SRC_NONE, SRC_FILE, SRC_COMMAND, SRC_PROMETHEUS };

struct options {
        enum source_kind kind;
        const char *source;
        const char *metric;
        double scale;
        uint64_t interval_ns;
        int timeout_ms;
        const char *dir;
        bool once, dry_run, keep;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
        stop_signal = sig;
}

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: isched-guest SOURCE [OPTIONS]\n"
                "\n"
                "Publish a monotonically increasing work counter of this Xen guest in its\n"
                "xenstore subtree, where intellisched in dom0 reads it (observation mode\n"
                "xen+guests).  Every interval it reads the counter and writes\n"
                "<dir>/work and <dir>/time_ns (this guest's monotonic time in ns) in one\n"
                "transaction.  On SIGTERM or SIGINT it removes them and exits.\n"
                "\n"
                "SOURCE (exactly one):\n"
                "  --file PATH          the first number in a file\n"
                "  --command CMD        the first number /bin/sh -c CMD prints (exit status 0)\n"
                "  --prometheus URL     a Prometheus text-format endpoint (http://...) or file,\n"
                "                       with --metric\n"
                "  --metric SEL         the series to sum: name or name{label=\"value\",...}\n"
                "\n"
                "OPTIONS:\n"
                "  --interval SEC       time between publications (default 0.25); keep it at\n"
                "                       most half of the agent's --interval in dom0\n"
                "  --scale K            multiply the value by K before publishing (default 1),\n"
                "                       e.g. 1000 for a counter of seconds\n"
                "  --timeout SEC        limit for a command or an HTTP request (default: the\n"
                "                       interval, at most 10)\n"
                "  --dir DIR            xenstore subtree, relative to this domain's\n"
                "                       /local/domain/<domid> (default " DEFAULT_DIR ")\n"
                "  --once               publish once and exit\n"
                "  --dry-run            print what would be written instead of writing it\n"
                "  --keep               leave the last publication in xenstore on exit\n"
                "  --help               this text\n"
                "\n"
                "Exit status: 0 on a signal or after --once; 1 when publishing failed\n"
                "(--once) or xenstore cannot be opened; 2 for bad options.\n");
}

static bool parse_seconds(const char *opt, const char *arg, double min_s, double max_s, double *ret)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(arg, &end);
        if (errno || end == arg || *end || !isfinite(v) || v < min_s || v > max_s) {
                fprintf(stderr, "isched-guest: %s \"%s\": expected a number of seconds from %g to %g\n", opt, arg,
                        min_s, max_s);
                return false;
        }
        *ret = v;
        return true;
}

static int set_source(struct options *o, enum source_kind kind, const char *arg)
{
        if (o->kind != SRC_NONE) {
                fprintf(stderr, "isched-guest: give exactly one of --file, --command and --prometheus\n");
                return -1;
        }
        o->kind = kind;
        o->source = arg;
        return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
        enum { OPT_FILE = 0x100, OPT_COMMAND, OPT_PROM, OPT_METRIC, OPT_INTERVAL, OPT_SCALE, OPT_TIMEOUT,
               OPT_DIR, OPT_ONCE, OPT_DRY_RUN, OPT_KEEP, OPT_HELP };
        static const struct option longopts[] = {
                { "file", required_argument, NULL, OPT_FILE },
                { "command", required_argument, NULL, OPT_COMMAND },
                { "prometheus", required_argument, NULL, OPT_PROM },
                { "metric", required_argument, NULL, OPT_METRIC },
                { "interval", required_argument, NULL, OPT_INTERVAL },
                { "scale", required_argument, NULL, OPT_SCALE },
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                { "dir", required_argument, NULL, OPT_DIR },
                { "once", no_argument, NULL, OPT_ONCE },
                { "dry-run", no_argument, NULL, OPT_DRY_RUN },
                { "keep", no_argument, NULL, OPT_KEEP },
                { "help", no_argument, NULL, OPT_HELP },
                { NULL, 0, NULL, 0 },
        };
        char err[ISCHED_GUEST_ERR_MAX];
        double v, timeout_s = -1.0;
        int c;

        *o = (struct options){ .scale = 1.0, .interval_ns = DEFAULT_INTERVAL_NS, .dir = DEFAULT_DIR };
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_FILE:
                        if (set_source(o, SRC_FILE, optarg) < 0)
                                return -1;
                        break;
                case OPT_COMMAND:
                        if (set_source(o, SRC_COMMAND, optarg) < 0)
                                return -1;
                        break;
                case OPT_PROM:
                        if (set_source(o, SRC_PROMETHEUS, optarg) < 0)
                                return -1;
                        break;
                case OPT_METRIC:
                        if (isched_guest_prom_check_selector(optarg, err) < 0) {
                                fprintf(stderr, "isched-guest: --metric: %s\n", err);
                                return -1;
                        }
                        o->metric = optarg;
                        break;
                case OPT_INTERVAL:
                        if (!parse_seconds("--interval", optarg, 0.01, 3600.0, &v))
                                return -1;
                        o->interval_ns = (uint64_t)llround(v * 1e9);
                        break;
                case OPT_SCALE:
                        if (!parse_seconds("--scale", optarg, 1e-9, 1e9, &o->scale))
                                return -1;
                        break;
                case OPT_TIMEOUT:
                        if (!parse_seconds("--timeout", optarg, 0.01, MAX_TIMEOUT_MS / 1000.0, &timeout_s))
                                return -1;
                        break;
                case OPT_DIR:
                        if (!*optarg || optarg[0] == '/' || strlen(optarg) > 200 || strstr(optarg, "//")) {
                                fprintf(stderr, "isched-guest: --dir \"%s\": expected a relative xenstore path such as " DEFAULT_DIR "\n",
                                        optarg);
                                return -1;
                        }
                        o->dir = optarg;
                        break;
                case OPT_ONCE:
                        o->once = true;
                        break;
                case OPT_DRY_RUN:
                        o->dry_run = true;
                        break;
                case OPT_KEEP:
                        o->keep = true;
                        break;
                case OPT_HELP:
                        usage(stdout);
                        exit(0);
                default:
                        fprintf(stderr, "isched-guest: unknown option or missing value: %s\nTry 'isched-guest --help'.\n",
                                argv[optind - 1]);
                        return -1;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "isched-guest: unexpected argument \"%s\"\n", argv[optind]);
                return -1;
        }
        if (o->kind == SRC_NONE) {
                fprintf(stderr, "isched-guest: no source: give --file, --command or --prometheus\nTry 'isched-guest --help'.\n");
                return -1;
        }
        if ((o->kind == SRC_PROMETHEUS) != (o->metric != NULL)) {
                fprintf(stderr, "isched-guest: --metric goes with --prometheus, and --prometheus needs it\n");
                return -1;
        }
        if (timeout_s < 0.0)
                timeout_s = fmin((double)o->interval_ns / 1e9, MAX_TIMEOUT_MS / 1000.0);
        o->timeout_ms = (int)fmax(10.0, timeout_s * 1000.0);
        return 0;
}

static uint64_t monotonic_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Read the counter; *ret_time_ns is the middle of the read, when the value
 * was (on average) sampled. */
static int read_counter(const struct options *o, uint64_t *ret_work, uint64_t *ret_time_ns, char *err)
{
        const uint64_t t0 = monotonic_ns();
        char *text = NULL;
        double v;
        int r;

        switch (o->kind) {
        case SRC_FILE:
                r = isched_guest_read_file(o->source, &text, err);
                break;
        case SRC_COMMAND:
                r = isched_guest_run_command(o->source, o->timeout_ms, &text, err);
                break;
        default:
                r = strncmp(o->source, "http://", 7) == 0 ? isched_guest_http_get(o->source, o->timeout_ms, &text, err)
                                                          : isched_guest_read_file(o->source, &text, err);
                break;
        }
        *ret_time_ns = t0 + (monotonic_ns() - t0) / 2;
        if (r < 0)
                return r;
        if (o->kind == SRC_PROMETHEUS) {
                r = isched_guest_prom_value(text, o->metric, &v, err);
                if (r == 0) {
                        char num[64];

                        snprintf(num, sizeof(num), "%.17g", v);
                        r = isched_guest_parse_counter(num, o->scale, ret_work, err);
                }
        } else {
                r = isched_guest_parse_counter(text, o->scale, ret_work, err);
        }
        free(text);
        return r;
}

static bool write_node(struct xs_handle *xsh, xs_transaction_t t, const char *dir, const char *leaf,
                       const char *value)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", dir, leaf);
        return xs_write(xsh, t, path, value, (unsigned)strlen(value));
}

/* Both values in one transaction, so that dom0 never reads a work of one
 * publication with the time of another. */
static int publish(struct xs_handle *xsh, const struct options *o, uint64_t work, uint64_t time_ns, char *err)
{
        char w[24], t[24];

        snprintf(w, sizeof(w), "%" PRIu64, work);
        snprintf(t, sizeof(t), "%" PRIu64, time_ns);
        if (o->dry_run) {
                printf("%s/work=%s %s/time_ns=%s\n", o->dir, w, o->dir, t);
                return fflush(stdout) == 0 ? 0 : -EIO;
        }
        for (int attempt = 0; attempt < XS_RETRIES; attempt++) {
                xs_transaction_t tx = xs_transaction_start(xsh);
                bool ok;

                if (tx == XBT_NULL)
                        break;
                ok = write_node(xsh, tx, o->dir, "work", w) && write_node(xsh, tx, o->dir, "time_ns", t);
                if (!ok) {
                        const int e = errno;

                        xs_transaction_end(xsh, tx, true);
                        errno = e;
                        break;
                }
                if (xs_transaction_end(xsh, tx, false))
                        return 0;
                if (errno != EAGAIN)
                        break;
        }
        snprintf(err, ISCHED_GUEST_ERR_MAX, "writing %s/work in xenstore: %s%s", o->dir, strerror(errno),
                 errno == EACCES ? " (is this a Xen guest, and does its data/ subtree exist?)" : "");
        return -EIO;
}

static void unpublish(struct xs_handle *xsh, const struct options *o)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/work", o->dir);
        xs_rm(xsh, XBT_NULL, path);
        snprintf(path, sizeof(path), "%s/time_ns", o->dir);
        xs_rm(xsh, XBT_NULL, path);
}

/* Report an error once, and its end once. */
static void report(const char *err, char *last, size_t size)
{
        if (err && strcmp(err, last) != 0)
                fprintf(stderr, "isched-guest: %s; not published (dom0 sees the guest as stale)\n", err);
        else if (!err && last[0])
                fprintf(stderr, "isched-guest: publishing again\n");
        snprintf(last, size, "%s", err ? err : "");
}

int main(int argc, char **argv)
{
        struct sigaction sa = { .sa_handler = on_signal };
        char err[ISCHED_GUEST_ERR_MAX], last[ISCHED_GUEST_ERR_MAX] = "";
        struct xs_handle *xsh = NULL;
        struct timespec next;
        struct options o;
        int status = 0;

        if (parse_options(argc, argv, &o) < 0)
                return EXIT_USAGE;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        if (!o.dry_run) {
                xsh = xs_open(0);
                if (!xsh) {
                        fprintf(stderr, "isched-guest: cannot open xenstore: %s (run it as root in a Xen guest with /dev/xen/xenbus, or use --dry-run)\n",
                                strerror(errno));
                        return 1;
                }
        }
        clock_gettime(CLOCK_MONOTONIC, &next);
        while (!stop_signal) {
                uint64_t work, time_ns;
                int r = read_counter(&o, &work, &time_ns, err);

                if (r == 0)
                        r = publish(xsh, &o, work, time_ns, err);
                report(r < 0 ? err : NULL, last, sizeof(last));
                if (o.once) {
                        status = r < 0;
                        break;
                }
                next.tv_nsec += (long)(o.interval_ns % 1000000000ull);
                next.tv_sec += (time_t)(o.interval_ns / 1000000000ull) + next.tv_nsec / 1000000000L;
                next.tv_nsec %= 1000000000L;
                while (!stop_signal && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
                        ;
        }
        if (xsh) {
                if (!o.keep && !o.once)
                        unpublish(xsh, &o);
                xs_close(xsh);
        }
        return status;
}
