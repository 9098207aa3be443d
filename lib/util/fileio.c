/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static int write_all(int fd, const char *data, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, data, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

static void split_dir(const char *path, char *dir, size_t dir_size)
{
        const char *slash = strrchr(path, '/');

        if (!slash) {
                snprintf(dir, dir_size, ".");
        } else if (slash == path) {
                snprintf(dir, dir_size, "/");
        } else {
                snprintf(dir, dir_size, "%.*s", (int)(slash - path), path);
        }
}

static int check_dir(const char *path, const char *dir)
{
        struct stat st;

        if (stat(dir, &st) < 0)
                return isched__error(-errno, "cannot write %s: directory %s: %s", path, dir, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return isched__error(-ENOTDIR, "cannot write %s: %s is not a directory", path, dir);
        if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
                return isched__error(-EPERM,
                                     "refusing to write %s: directory %s is world-writable; use a private directory (chmod o-w)",
                                     path, dir);
        /* A read-only directory (or file system) would fail every save:
         * say so before any work is done. */
        if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
                return isched__error(-errno, "cannot write %s: directory %s is not writable: %s", path, dir,
                                     strerror(errno));
        return 0;
}

int isched__check_write_path(const char *path)
{
        char dir[PATH_MAX];
        struct stat st;

        if (!path || !*path)
                return isched__error(-EINVAL, "no file name given to write");
        if (strlen(path) >= PATH_MAX)
                return isched__error(-ENAMETOOLONG, "file name too long: %.64s...", path);
        if (lstat(path, &st) == 0) {
                if (S_ISLNK(st.st_mode))
                        return isched__error(-ELOOP, "%s is a symbolic link: refusing to write through it; give the real path", path);
                if (!S_ISREG(st.st_mode))
                        return isched__error(-EISDIR, "%s exists and is not a regular file", path);
        }
        split_dir(path, dir, sizeof(dir));
        return check_dir(path, dir);
}

int isched__write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        char dir[PATH_MAX], tmp[PATH_MAX + 32];
        int fd, dfd, r;

        if (!data && len)
                return isched__error(-EINVAL, "no data given to write");
        r = isched__check_write_path(path);
        if (r < 0)
                return r;
        split_dir(path, dir, sizeof(dir));

        for (unsigned attempt = 0;; attempt++) {
                snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", path, (long)getpid(), attempt);
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
                if (fd >= 0)
                        break;
                if (errno != EEXIST || attempt > 100)
                        return isched__error(-errno, "cannot create %s: %s", tmp, strerror(errno));
        }
        r = write_all(fd, data, len);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return isched__error(r, "cannot write %s: %s", path, strerror(-r));
        }
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                (void)fsync(dfd);
                close(dfd);
        }
        return 0;
}

/* Is name "<base>.tmp.<pid>.<n>" with a pid that no longer runs? */
static bool is_stale_temp(const char *name, const char *base, size_t base_len)
{
        char *end;
        long pid;

        if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, ".tmp.", 5) != 0)
                return false;
        errno = 0;
        pid = strtol(name + base_len + 5, &end, 10);
        if (errno || pid <= 0 || *end != '.' || pid == (long)getpid())
                return false;
        return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

void isched__remove_stale_temps(const char *path)
{
        char dir[PATH_MAX];
        const char *base;
        struct dirent *e;
        DIR *d;
        int dfd;

        if (!path || !*path || strlen(path) >= PATH_MAX)
                return;
        base = strrchr(path, '/');
        base = base ? base + 1 : path;
        split_dir(path, dir, sizeof(dir));
        d = opendir(dir);
        if (!d)
                return;
        dfd = dirfd(d);
        while ((e = readdir(d)))
                if (is_stale_temp(e->d_name, base, strlen(base)))
                        (void)unlinkat(dfd, e->d_name, 0);
        closedir(d);
}

int isched__read_file(const char *path, size_t max_len, char **ret_data, size_t *ret_len)
{
        struct stat st;
        char *buf;
        size_t used = 0;
        int fd;

        if (!path || !ret_data)
                return isched__error(-EINVAL, "no file name given to read");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return isched__error(-errno, "cannot open %s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return isched__error(-EINVAL, "%s is not a regular file", path);
        }
        if ((uint64_t)st.st_size > max_len) {
                close(fd);
                return isched__error(-EFBIG, "%s is too large (%lld bytes, limit %zu)", path,
                                     (long long)st.st_size, max_len);
        }
        buf = malloc((size_t)st.st_size + 1);
        if (!buf) {
                close(fd);
                return isched__error(-ENOMEM, "out of memory reading %s", path);
        }
        while (used < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + used, (size_t)st.st_size - used);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                used += (size_t)n;
        }
        close(fd);
        buf[used] = '\0';
        *ret_data = buf;
        if (ret_len)
                *ret_len = used;
        return 0;
}

void isched__text_position(const char *text, size_t len, size_t off, unsigned *ret_line, unsigned *ret_column)
{
        unsigned line = 1, column = 1;

        if (off > len)
                off = len;
        for (size_t i = 0; i < off; i++) {
                if (text[i] == '\n') {
                        line++;
                        column = 1;
                } else {
                        column++;
                }
        }
        *ret_line = line;
        *ret_column = column;
}

size_t isched__json_nul_escape(const char *text, size_t len)
{
        bool in_string = false;

        for (size_t i = 0; i < len; i++) {
                if (!in_string) {
                        in_string = text[i] == '"';
                        continue;
                }
                if (text[i] == '"') {
                        in_string = false;
                } else if (text[i] == '\\' && i + 1 < len) {
                        if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
                                return i;
                        i++; /* the escaped character, a quote or a backslash included */
                }
        }
        return len;
}
