/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched run's settings (run-config.c) and its life as a service
 * (run-service.c): configuration file, command line, journald, sd_notify,
 * the metrics file. */
#ifndef ISCHED_CLI_RUN_H
#define ISCHED_CLI_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli-opts.h"

#define RUN_MAX_POOLS 64

/* Where every setting of isched run comes from, in increasing precedence:
 * the default, the configuration file, the command line. */
struct run_opts {
        const char *pools[RUN_MAX_POOLS];
        size_t n_pools;
        struct cli_backend_opts backend;
        struct cli_policy_opts policy;
        struct isched_agent_config agent;
        enum isched_agent_on_exit on_exit;
        uint64_t interval_ns, epoch_ns, steps, duration_ns, record_max_bytes;
        bool steps_set, duration_set, resume, verbose, json, show_config;
        const char *model, *log, *state_dir, *record, *metrics;
        const char *prior;  /* the prior for pools without a model; NULL for the shipped one */
        bool no_prior;      /* start pools without a model cold */
        bool no_shadow;     /* sim: no shadow run of the baseline */
        char *config_path;  /* the file read, or NULL for none */
        const char **src;   /* per option of the table: where it was set, NULL for the default */
        char **strings;     /* values copied from the configuration file */
        size_t n_strings;
};

/* The compiled-in configuration file: SYSCONFDIR/intellisched/intellisched.conf. */
#define RUN_DEFAULT_CONFIG ISCHED_SYSCONFDIR "/intellisched/intellisched.conf"

/* Fill o from the configuration file (the default one if it exists,
 * --config FILE, none with --no-config) and then the command line.
 * Returns 0; -1 after printing --help or --version (exit 0); or an exit
 * code after printing what is wrong. */
int run_opts_load(struct run_opts *o, int argc, char **argv);
void run_opts_free(struct run_opts *o);

/* Print the settings in force as a configuration file, each with where it
 * came from (--show-config). */
void run_opts_show(const struct run_opts *o, FILE *f);

/* Where the setting of long option `name` came from: "default", "--name"
 * or "FILE:LINE". */
const char *run_opts_source(const struct run_opts *o, const char *name);

/* After SIGHUP: what changed from old to new.  Settings that can change
 * while running (verbose, on-exit, metrics) are copied into *old; the
 * names of the others that differ are written to restart_needed (empty if
 * none). */
void run_opts_reload(struct run_opts *old, const struct run_opts *new_opts, char *restart_needed, size_t size);

/* ---- run-service.c ---- */

/* Messages of isched run: to stdout/stderr on a terminal or in a file, to
 * the journal (with PRIORITY and the ISCHED_POOL, ISCHED_ARRANGEMENT
 * fields) when standard error is connected to it, as under systemd. */
void run_log_init(bool verbose);
bool run_log_to_journal(void);
/* The pool (and its arrangement) the library's next messages are about. */
void run_log_set_pool(const char *pool, const char *arrangement);
/* A report line of the run (stdout, or the journal at priority prio);
 * returns false if it could not be written. */
bool run_report(int prio, const char *pool, const char *arrangement, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* The library's log function. */
void run_log_fn(enum isched_log_priority prio, const char *message, void *userdata);
void run_log_set_verbose(bool verbose);

/* The one-line status shown on a terminal; messages clear it first. */
void run_status_line_clear(void);
void run_status_line_set_shown(void);

/* sd_notify(): READY=1, RELOADING=1, STOPPING=1, STATUS=...; nothing
 * outside systemd. */
void run_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The node_exporter textfile-collector metrics file, rewritten atomically
 * (mode 0644: the collector runs as another user). */
struct run_metric_pool {
        const char *pool, *backend, *policy;
        const struct isched_agent_status *status;
        double last_decision_wall_s; /* NaN before the first */
        bool running;
};
int run_metrics_check_path(const char *path);
int run_metrics_write(const char *path, const struct run_metric_pool *pools, size_t n);

#endif
