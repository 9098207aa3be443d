/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent's files: paths and default directories, the per-pool lock
 * file, the hold file, and the decision log (with its size limit and
 * rotation). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-private.h"
#include "util/util.h"

/* Pool names are chosen by the administrator; keep file names tame. */
static char *pool_file_name(const char *dir, const char *pool, const char *suffix)
{
        size_t n = strlen(pool);
        char *safe = malloc(n + 1), *path = NULL;

        if (!safe)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const char c = pool[i];
                const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';

                safe[i] = ok ? c : '_';
        }
        safe[n] = '\0';
        if (safe[0] == '.')
                safe[0] = '_'; /* no hidden files, no ".." */
        if (asprintf(&path, "%s/%s%s", dir, safe, suffix) < 0)
                path = NULL;
        free(safe);
        return path;
}

ISCHED_EXPORT int isched_agent_state_path(const char *state_dir, const char *pool, char **ret_path)
{
        char *p;

        if (!state_dir || !*state_dir || !pool || !*pool || !ret_path)
                return isched__error(-EINVAL, "isched_agent_state_path: state_dir, pool and ret_path are required");
        p = pool_file_name(state_dir, pool, ".state.json");
        if (!p)
                return isched__error(-ENOMEM, "out of memory");
        *ret_path = p;
        return 0;
}

ISCHED_EXPORT int isched_agent_default_state_dir(char **ret_path)
{
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        char *p = NULL;
        int r;

        if (!ret_path)
                return isched__error(-EINVAL, "isched_agent_default_state_dir: ret_path is required");
        if (geteuid() == 0)
                r = asprintf(&p, "/var/lib/intellisched");
        else if (xdg && xdg[0] == '/')
                r = asprintf(&p, "%s/intellisched", xdg);
        else if (home && home[0] == '/')
                r = asprintf(&p, "%s/.local/state/intellisched", home);
        else
                return isched__error(-ENOENT, "no state directory: neither XDG_STATE_HOME nor HOME is set; give one with --state-dir");
        if (r < 0)
                return isched__error(-ENOMEM, "out of memory");
        *ret_path = p;
        return 0;
}

ISCHED_EXPORT int isched_agent_default_runtime_dir(char **ret_path)
{
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        char *p = NULL;
        int r;

        if (!ret_path)
                return isched__error(-EINVAL, "isched_agent_default_runtime_dir: ret_path is required");
        if (geteuid() == 0)
                r = asprintf(&p, "/run/intellisched");
        else if (xdg && xdg[0] == '/')
                r = asprintf(&p, "%s/intellisched", xdg);
        else
                return isched__error(-ENOENT, "no runtime directory: XDG_RUNTIME_DIR is not set");
        if (r < 0)
                return isched__error(-ENOMEM, "out of memory");
        *ret_path = p;
        return 0;
}

ISCHED_EXPORT int isched_agent_default_state_dir_for(const char *backend, char **ret_path)
{
        char *base = NULL, *p = NULL;
        int r;

        if (!ret_path)
                return isched__error(-EINVAL, "isched_agent_default_state_dir_for: ret_path is required");
        if (!backend || strcmp(backend, "xen") == 0)
                return isched_agent_default_state_dir(ret_path);
        if (strcmp(backend, "sim") != 0 && strcmp(backend, "replay") != 0)
                return isched__error(-EINVAL, "unknown backend '%s'; use sim, xen or replay", backend);
        /* A simulated or replayed pool lives as long as its process: its
         * state is runtime state, never /var/lib's. */
        r = isched_agent_default_runtime_dir(&base);
        if (r == -ENOENT)
                r = isched_agent_default_state_dir(&base);
        if (r < 0)
                return r;
        r = asprintf(&p, "%s/%s", base, backend);
        free(base);
        if (r < 0)
                return isched__error(-ENOMEM, "out of memory");
        *ret_path = p;
        return 0;
}

static int check_dir(const char *what, const char *dir)
{
        struct stat st;

        if (stat(dir, &st) < 0)
                return isched__error(-errno, "%s %s: %s", what, dir, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return isched__error(-ENOTDIR, "%s %s is not a directory", what, dir);
        return 0;
}

int agent__paths(struct isched_agent *a)
{
        int r;

        /* Refuse a symbolic link, a world-writable or a read-only directory
         * now rather than at the first save, which would only log a
         * warning. */
        if (a->model_path && (r = isched__check_write_path(a->model_path)) < 0)
                return r;
        if (a->lock_dir && (r = check_dir("lock directory", a->lock_dir)) < 0)
                return r;
        if (!a->state_dir)
                return 0;
        if ((r = check_dir("state directory", a->state_dir)) < 0)
                return r;
        a->state_path = pool_file_name(a->state_dir, a->pool, ".state.json");
        a->lock_path = pool_file_name(a->lock_dir ? a->lock_dir : a->state_dir, a->pool, ".lock");
        a->hold_path = pool_file_name(a->state_dir, a->pool, ".hold");
        if (!a->state_path || !a->lock_path || !a->hold_path)
                return isched__error(-ENOMEM, "out of memory");
        return isched__check_write_path(a->state_path);
}

/* One agent per pool and lock directory (the state directory, or the
 * host's runtime directory for real pools): an flock()ed lock file holding
 * the owner's pid.  The lock goes with the process, so a crashed agent
 * never leaves a stale lock behind; the file itself stays. */
int agent__lock(struct isched_agent *a)
{
        char buf[32];
        ssize_t n;
        int fd;

        if (!a->lock_path)
                return 0;
        fd = open(a->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return isched__error(-errno, "cannot open lock file %s: %s", a->lock_path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                const int err = errno;
                long pid = 0;

                n = pread(fd, buf, sizeof(buf) - 1, 0);
                if (n > 0) {
                        buf[n] = '\0';
                        pid = strtol(buf, NULL, 10);
                }
                close(fd);
                if (err == EWOULDBLOCK)
                        return isched__error(-EBUSY,
                                             "pool %s is already managed by another agent (pid %ld, lock file %s); stop that one first",
                                             a->pool, pid, a->lock_path);
                return isched__error(-err, "cannot lock %s: %s", a->lock_path, strerror(err));
        }
        n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
                const int err = errno;

                close(fd);
                return isched__error(-err, "cannot write lock file %s: %s", a->lock_path, strerror(err));
        }
        a->lock_fd = fd;
        return 0;
}

void agent__unlock(struct isched_agent *a)
{
        if (a->lock_fd < 0)
                return;
        /* Empty the pid before the lock goes so nobody names a dead owner. */
        (void)ftruncate(a->lock_fd, 0);
        close(a->lock_fd);
        a->lock_fd = -1;
}

bool agent__hold_file_exists(const struct isched_agent *a)
{
        return a->hold_path && access(a->hold_path, F_OK) == 0;
}

void agent__write_hold_file(const struct isched_agent *a)
{
        char text[512];
        int n;

        if (!a->hold_path)
                return;
        n = snprintf(text, sizeof(text), "%s\nRemove this file (or run 'isched run --resume') to let the agent switch again.\n",
                     a->hold_reason);
        if (isched__write_file_atomic(a->hold_path, text, (size_t)n, 0600) < 0)
                isched__log(ISCHED_LOG_WARNING, "pool %s: %s", a->pool, isched_last_error());
}

void agent__remove_hold_file(const struct isched_agent *a)
{
        if (a->hold_path)
                (void)unlink(a->hold_path);
}

static int open_log_fd(const char *path)
{
        return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

int agent__open_log(struct isched_agent *a)
{
        int r;

        if (!a->log_path)
                return 0;
        r = isched__check_write_path(a->log_path);
        if (r < 0)
                return r;
        a->log_fd = open_log_fd(a->log_path);
        if (a->log_fd < 0)
                return isched__error(-errno, "cannot open decision log %s: %s", a->log_path, strerror(errno));
        return 0;
}

ISCHED_EXPORT int isched_agent_reopen_log(struct isched_agent *agent)
{
        int fd;

        if (!agent)
                return isched__error(-EINVAL, "isched_agent_reopen_log: NULL agent");
        if (!agent->log_path)
                return 0;
        fd = open_log_fd(agent->log_path);
        if (fd < 0)
                return isched__error(-errno, "cannot reopen decision log %s: %s", agent->log_path, strerror(errno));
        if (agent->log_fd >= 0)
                close(agent->log_fd);
        agent->log_fd = fd;
        return 0;
}

static bool same_file(const struct stat *x, const struct stat *y)
{
        return x->st_dev == y->st_dev && x->st_ino == y->st_ino;
}

/* Keep the log at its path and under its size limit.  Called holding the
 * log's flock, which serialises rotation between the agents (of this or
 * other processes) that share the file. */
static int keep_log_in_place(struct isched_agent *a, size_t len)
{
        struct stat at_path, open_file;
        char *old = NULL;
        int r;

        if (fstat(a->log_fd, &open_file) < 0)
                return -errno;
        /* Renamed by logrotate or by another agent's rotation: follow the
         * path, as an administrator expects of a log. */
        if (stat(a->log_path, &at_path) < 0 || !same_file(&at_path, &open_file))
                return isched_agent_reopen_log(a);
        if (!a->cfg.log_max_bytes || open_file.st_size == 0 ||
            (uint64_t)open_file.st_size + len <= a->cfg.log_max_bytes)
                return 0;
        if (asprintf(&old, "%s.1", a->log_path) < 0)
                return -ENOMEM;
        r = rename(a->log_path, old) < 0 ? -errno : 0;
        if (r == 0)
                isched__log(ISCHED_LOG_INFO, "decision log %s reached %llu bytes: renamed to %s", a->log_path,
                            (unsigned long long)a->cfg.log_max_bytes, old);
        free(old);
        return r < 0 ? isched__error(r, "cannot rotate decision log %s: %s", a->log_path, strerror(-r))
                     : isched_agent_reopen_log(a);
}

int agent__write_log_line(struct isched_agent *a, const char *line, size_t len)
{
        int r, fd;

        if (a->log_fd < 0 && (r = isched_agent_reopen_log(a)) < 0)
                return r;
        fd = a->log_fd;
        if (flock(fd, LOCK_EX) < 0)
                return isched__error(-errno, "cannot lock decision log %s: %s", a->log_path, strerror(errno));
        r = keep_log_in_place(a, len);
        /* One write() per line: with O_APPEND, lines of several agents
         * sharing a log never interleave. */
        if (r == 0 && write(a->log_fd, line, len) != (ssize_t)len)
                r = isched__error(errno ? -errno : -EIO, "cannot write decision log %s: %s", a->log_path,
                                  strerror(errno ? errno : EIO));
        (void)flock(fd, LOCK_UN);
        return r;
}

/* Output files the agent rewrites (state file, decision log) may fail for
 * a while (a full disk): say so once, again when it recovers, and count. */
void agent__output_result(struct isched_agent *a, bool *failing, const char *what, int r)
{
        if (r < 0) {
                a->output_errors++;
                if (!*failing)
                        isched__log(ISCHED_LOG_WARNING, "pool %s: cannot write the %s: %s; the agent goes on and "
                                    "says when it works again", a->pool, what, isched_last_error());
                *failing = true;
        } else if (*failing) {
                isched__log(ISCHED_LOG_WARNING, "pool %s: writing the %s works again", a->pool, what);
                *failing = false;
        }
}
