/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-common.h"

void fuzz_fail(const char *file, int line, const char *what)
{
        dprintf(2, "%s:%d: harness invariant failed: %s\n", file, line, what);
        abort();
}

const char *fuzz_file(const uint8_t *data, size_t size)
{
        static char path[64];
        static int fd = -1;
        size_t done = 0;

        if (fd < 0) {
                fd = memfd_create("isched-fuzz", MFD_CLOEXEC);
                if (fd < 0)
                        return NULL;
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        }
        if (ftruncate(fd, 0) < 0)
                return NULL;
        while (done < size) {
                ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);

                if (n <= 0)
                        return NULL;
                done += (size_t)n;
        }
        return path;
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

void fuzz_quiet(void)
{
        static int done;
        FILE *null;

        if (done++ || getenv("ISCHED_FUZZ_VERBOSE"))
                return;
        null = fopen("/dev/null", "w");
        if (!null)
                return;
        /* libFuzzer captured the original stderr FILE at start-up and keeps
         * printing there; only what the code under test prints is lost. */
        stdout = null;
        stderr = null;
}

static char tmpdir[4096];

/* At exit (libFuzzer ends its runs with exit()), remove what the
 * harnesses wrote: without this every run left a directory in /tmp. */
static void fuzz_tmpdir_remove(void)
{
        DIR *d = opendir(tmpdir);
        struct dirent *e;

        if (!d)
                return;
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                        (void)unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
        (void)rmdir(tmpdir);
}

const char *fuzz_tmpdir(void)
{
        if (!tmpdir[0]) {
                const char *base = getenv("TMPDIR");

                if (!base || !*base)
                        base = "/tmp";
                if (snprintf(tmpdir, sizeof(tmpdir), "%s/isched-fuzz-XXXXXX", base) >=
                    (int)sizeof(tmpdir))
                        fuzz_fail(__FILE__, __LINE__, "TMPDIR too long");
                if (!mkdtemp(tmpdir))
                        fuzz_fail(__FILE__, __LINE__, "mkdtemp");
                atexit(fuzz_tmpdir_remove);
        }
        return tmpdir;
}

void fuzz_reset_getopt(void)
{
        char arg0[] = "isched";
        char *argv[] = { arg0, NULL };

        optind = 0; /* 0 makes glibc initialise its state afresh */
        opterr = 0;
        (void)getopt(1, argv, "");
        optind = 1;
}
