/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched status: per pool, whether its agent runs, and what it last did,
 * from the state files.  An agent runs exactly while it holds its pool's
 * lock, so a dead pid (a killed or crashed agent) shows as stopped. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <intellisched/intellisched.h>

#include "cli.h"

#define STATE_MAX_BYTES (1u << 20)
#define MAX_DIRS 4

enum {
        OPT_POOL = 0x200,
        OPT_STATE_DIR,
        OPT_JSON,
};

static const struct option longopts[] = {
        { "pool", required_argument, NULL, OPT_POOL },
        { "state-dir", required_argument, NULL, OPT_STATE_DIR },
        { "json", no_argument, NULL, OPT_JSON },
        CLI_COMMON_LONGOPTS,
        { 0 },
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: isched status [--pool NAME ...] [--state-dir DIR] [--json]\n"
                   "\n"
                   "For each pool that has a state file: whether its agent is running (it holds\n"
                   "the pool's lock), stopped (it ended cleanly) or died (killed or crashed: the\n"
                   "arrangement it left is still in force), its pid, mode, the arrangement in\n"
                   "force, the takeover arrangement (which it restores at exit), the baseline it\n"
                   "is measured against and the estimated gain over it (+- its standard error),\n"
                   "and the last decision with its time.\n"
                   "\n"
                   "Options:\n"
                   "  --pool NAME        only this pool (repeat for several)\n"
                   "  --state-dir DIR    read this state directory (default: those of 'isched run',\n"
                   "                     /var/lib/intellisched for xen, /run/intellisched/sim and\n"
                   "                     /run/intellisched/replay for the simulator and replays)\n"
                   "  --json             one JSON document (docs/json.md, isched-status-v1)\n"
                   "  --help, --version\n"
                   "\n"
                   "Exit status: 0 success (also when no pool has a state file), 1 runtime\n"
                   "failure, 2 bad usage (a --pool without a state file).\n");
}

struct pool_status {
        cJSON *doc;       /* the state file */
        char *state_file;
        const char *pool, *agent; /* "running", "stopped", "died" */
        double pid;       /* NaN unless running */
};

/* An agent runs while it holds its lock: take a shared lock to find out. */
static bool lock_held(const char *lock_file)
{
        int fd = open(lock_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        bool held;

        if (fd < 0)
                return false;
        held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
        close(fd);
        return held;
}

static const char *str_member(const cJSON *o, const char *name)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

        return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_member(const cJSON *o, const char *name)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

        return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static bool read_state(const char *path, struct pool_status *ret)
{
        char *buf = NULL;
        FILE *f = fopen(path, "re");
        const char *schema, *lock, *mode;
        size_t n;
        cJSON *doc;

        if (!f)
                return false;
        buf = malloc(STATE_MAX_BYTES + 1);
        n = buf ? fread(buf, 1, STATE_MAX_BYTES, f) : 0;
        fclose(f);
        if (!buf)
                return false;
        buf[n] = '\0';
        doc = cJSON_Parse(buf);
        free(buf);
        schema = str_member(doc, "schema");
        if (!schema || strncmp(schema, "isched-explain-v", 16) != 0 || !str_member(doc, "pool")) {
                cJSON_Delete(doc);
                return false;
        }
        ret->doc = doc;
        ret->pool = str_member(doc, "pool");
        lock = str_member(doc, "lock_file");
        mode = str_member(doc, "mode");
        if (lock && lock_held(lock)) {
                ret->agent = "running";
                ret->pid = num_member(doc, "pid");
        } else {
                /* A clean stop writes mode "stopped"; anything else was
                 * written by an agent that is gone without stopping. */
                ret->agent = mode && strcmp(mode, "stopped") == 0 ? "stopped" : "died";
                ret->pid = NAN;
        }
        ret->state_file = strdup(path);
        return ret->state_file != NULL;
}

static bool wanted(const char *pool, const char *const *pools, size_t n_pools)
{
        if (!n_pools)
                return true;
        for (size_t i = 0; i < n_pools; i++)
                if (strcmp(pools[i], pool) == 0)
                        return true;
        return false;
}

static int by_pool(const void *x, const void *y)
{
        const struct pool_status *a = x, *b = y;

        return strcmp(a->pool, b->pool);
}

/* Every state file of a directory (a missing directory has none). */
static size_t scan_dir(const char *dir, const char *const *pools, size_t n_pools, struct pool_status **list,
                       size_t n)
{
        static const char suffix[] = ".state.json";
        struct dirent *e;
        DIR *d = opendir(dir);

        if (!d)
                return n;
        while ((e = readdir(d))) {
                const size_t len = strlen(e->d_name);
                struct pool_status ps = { 0 };
                struct pool_status *grown;
                char *path = NULL;

                if (len <= sizeof(suffix) - 1 || strcmp(e->d_name + len - (sizeof(suffix) - 1), suffix) != 0)
                        continue;
                if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
                        break;
                if (read_state(path, &ps) && wanted(ps.pool, pools, n_pools) &&
                    (grown = realloc(*list, (n + 1) * sizeof(**list)))) {
                        *list = grown;
                        (*list)[n++] = ps;
                } else if (ps.doc) {
                        cJSON_Delete(ps.doc);
                        free(ps.state_file);
                }
                free(path);
        }
        closedir(d);
        return n;
}

static size_t default_dirs(char **dirs)
{
        static const char *const backends[] = { "xen", "sim", "replay" };
        size_t n = 0;

        for (size_t i = 0; i < 3; i++) {
                char *d = NULL;
                bool dup = false;

                if (isched_agent_default_state_dir_for(backends[i], &d) < 0)
                        continue;
                for (size_t j = 0; j < n; j++)
                        dup |= strcmp(dirs[j], d) == 0;
                if (dup)
                        free(d);
                else
                        dirs[n++] = d;
        }
        return n;
}

static cJSON *num_or_null(double v)
{
        return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* The arrangement the agent is measured against: the safety layer's
 * baseline, else (older state files) the takeover arrangement. */
static const char *baseline(const cJSON *doc)
{
        const char *b = str_member(cJSON_GetObjectItemCaseSensitive(doc, "safety"), "baseline");

        return b ? b : str_member(doc, "takeover_arrangement");
}

/* {mean, sd} of the safety layer's estimate, or null when unknown. */
static cJSON *gain(const cJSON *doc, const char *name)
{
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "safety"), name);
        const double mean = num_member(g, "mean"), sd = num_member(g, "sd");
        cJSON *o;

        if (!isfinite(mean))
                return cJSON_CreateNull();
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "mean", mean);
        cJSON_AddItemToObject(o, "sd", num_or_null(sd));
        return o;
}

/* When the state was written: wall_time_s (isched-explain-v2), written_at (v1). */
static double written(const cJSON *doc)
{
        const double t = num_member(doc, "wall_time_s");

        return isfinite(t) ? t : num_member(doc, "written_at");
}

static cJSON *last_decision(const cJSON *doc)
{
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "decision");
        cJSON *o;

        if (!cJSON_IsObject(d))
                return cJSON_CreateNull();
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "epoch", num_member(d, "epoch"));
        cJSON_AddStringToObject(o, "arrangement", str_member(d, "chosen_arm") ?: "?");
        cJSON_AddStringToObject(o, "reason", str_member(d, "reason") ?: "?");
        cJSON_AddBoolToObject(o, "switched", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "switched")));
        cJSON_AddItemToObject(o, "wall_time_s", num_or_null(isfinite(num_member(d, "wall_time_s"))
                                                                    ? num_member(d, "wall_time_s")
                                                                    : written(doc)));
        return o;
}

static cJSON *str_or_null(const char *s)
{
        return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static void print_json(const struct pool_status *ps, size_t n)
{
        cJSON *doc = cJSON_CreateObject(), *pools = cJSON_AddArrayToObject(doc, "pools");

        cJSON_AddStringToObject(doc, "schema", "isched-status-v1");
        for (size_t i = 0; i < n; i++) {
                const bool running = strcmp(ps[i].agent, "running") == 0;
                cJSON *p = cJSON_CreateObject();

                cJSON_AddStringToObject(p, "pool", ps[i].pool);
                cJSON_AddStringToObject(p, "agent", ps[i].agent);
                cJSON_AddItemToObject(p, "pid", num_or_null(ps[i].pid));
                cJSON_AddItemToObject(p, "backend", str_or_null(str_member(ps[i].doc, "backend")));
                cJSON_AddStringToObject(p, "mode", running ? str_member(ps[i].doc, "mode") ?: "?" : "stopped");
                cJSON_AddItemToObject(p, "arrangement", str_or_null(str_member(ps[i].doc, "arrangement")));
                cJSON_AddItemToObject(p, "takeover_arrangement",
                                      str_or_null(str_member(ps[i].doc, "takeover_arrangement")));
                cJSON_AddItemToObject(p, "stop_reason", str_or_null(str_member(ps[i].doc, "stop_reason")));
                cJSON_AddItemToObject(p, "baseline", str_or_null(baseline(ps[i].doc)));
                cJSON_AddItemToObject(p, "estimated_gain", gain(ps[i].doc, "gain"));
                cJSON_AddItemToObject(p, "measured_gain", gain(ps[i].doc, "measured_gain"));
                cJSON_AddItemToObject(p, "last_decision", last_decision(ps[i].doc));
                cJSON_AddItemToObject(p, "wall_time_s", num_or_null(written(ps[i].doc)));
                cJSON_AddStringToObject(p, "state_file", ps[i].state_file);
                cJSON_AddItemToArray(pools, p);
        }
        cli_print_json(doc);
}

static void print_table(const struct pool_status *ps, size_t n)
{
        const double now = (double)time(NULL);

        if (!n) {
                printf("no pool has a state file (is 'isched run' or the intellisched service running?)\n");
                return;
        }
        printf("%-16s %-7s %-8s %-8s %-9s %-11s %-9s %-9s %-15s %s\n", "POOL", "BACKEND", "AGENT", "PID", "MODE",
               "ARRANGEMENT", "TAKEOVER", "BASELINE", "GAIN (+-SE)", "LAST DECISION");
        for (size_t i = 0; i < n; i++) {
                const bool running = strcmp(ps[i].agent, "running") == 0;
                const cJSON *d = cJSON_GetObjectItemCaseSensitive(ps[i].doc, "decision");
                const double t = isfinite(num_member(d, "wall_time_s")) ? num_member(d, "wall_time_s")
                                                                         : written(ps[i].doc);
                char pool[64], pid[16] = "-", last[160] = "none yet";

                if (running)
                        snprintf(pid, sizeof(pid), "%.0f", ps[i].pid);
                if (cJSON_IsObject(d))
                        snprintf(last, sizeof(last), "%s %s (epoch %.0f), %.0f s ago", str_member(d, "reason") ?: "?",
                                 str_member(d, "chosen_arm") ?: "?", num_member(d, "epoch"),
                                 isfinite(t) ? fmax(0, now - t) : NAN);
                const cJSON *g = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ps[i].doc, "safety"),
                                                                  "gain");
                char gain_text[40] = "-";

                if (isfinite(num_member(g, "mean")))
                        snprintf(gain_text, sizeof(gain_text), "%+.3f +-%.3f", num_member(g, "mean"),
                                 isfinite(num_member(g, "sd")) ? num_member(g, "sd") : 0.0);
                printf("%-16s %-7s %-8s %-8s %-9s %-11s %-9s %-9s %-15s %s\n",
                       cli_printable(ps[i].pool, pool, sizeof(pool)), str_member(ps[i].doc, "backend") ?: "?",
                       ps[i].agent, pid, running ? str_member(ps[i].doc, "mode") ?: "?" : "stopped",
                       str_member(ps[i].doc, "arrangement") ?: "?",
                       str_member(ps[i].doc, "takeover_arrangement") ?: "?", baseline(ps[i].doc) ?: "?", gain_text,
                       last);
        }
}

int cmd_status(int argc, char **argv)
{
        static const int repeatable[] = { OPT_POOL, 0 };
        const char *pools[64], *state_dir = NULL;
        struct pool_status *list = NULL;
        char *dirs[MAX_DIRS] = { 0 };
        size_t n_pools = 0, n_dirs, n = 0;
        struct cli_getopt g;
        bool json = false;
        int c, rc = EXIT_OK;

        cli_getopt_init(&g, "status", longopts, repeatable);
        while ((c = cli_getopt_next(&g, argc, argv)) != -1) {
                switch (c) {
                case OPT_POOL:
                        if (n_pools == 64) {
                                cli_error("status: at most 64 --pool");
                                return cli_usage_hint("status ");
                        }
                        pools[n_pools++] = optarg;
                        break;
                case OPT_STATE_DIR:
                        state_dir = optarg;
                        break;
                case OPT_JSON:
                        json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                case 'V':
                        return cli_version();
                default:
                        return EXIT_USAGE;
                }
        }
        if (cli_extra_operand("status", argc, argv))
                return EXIT_USAGE;
        if (state_dir) {
                dirs[0] = strdup(state_dir);
                n_dirs = dirs[0] ? 1 : 0;
        } else {
                n_dirs = default_dirs(dirs);
        }
        for (size_t i = 0; i < n_dirs; i++)
                n = scan_dir(dirs[i], pools, n_pools, &list, n);
        if (n > 1)
                qsort(list, n, sizeof(*list), by_pool);
        for (size_t i = 0; i < n_pools; i++) {
                bool found = false;

                for (size_t j = 0; j < n; j++)
                        found |= strcmp(list[j].pool, pools[i]) == 0;
                if (!found) {
                        char shown[128];

                        cli_error("status: no state file for pool %s in %s%s", cli_printable(pools[i], shown, sizeof(shown)),
                                  state_dir ? state_dir : "the default state directories",
                                  state_dir ? "" : " (give --state-dir if 'isched run' used another)");
                        rc = EXIT_USAGE;
                }
        }
        if (rc == EXIT_OK) {
                if (json)
                        print_json(list, n);
                else
                        print_table(list, n);
        }
        for (size_t i = 0; i < n; i++) {
                cJSON_Delete(list[i].doc);
                free(list[i].state_file);
        }
        free(list);
        for (size_t i = 0; i < n_dirs; i++)
                free(dirs[i]);
        return rc;
}
