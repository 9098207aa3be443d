/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A main() that runs a libFuzzer harness over files, without libFuzzer:
 * the normal test suites use it to replay the committed seed corpora and
 * the regression inputs of every crash found (tests/fuzz/corpus/NAME/),
 * with whatever compiler and sanitizers the build uses.
 *
 * Usage: fuzz-replay-NAME FILE|DIR...  Exits 0 after running every file,
 * 1 if an argument cannot be read or no file was found; a crash in the
 * harness is a crash of this program. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-common.h"

static int run_file(const char *path)
{
        FILE *f = fopen(path, "rb");
        uint8_t *data = NULL;
        size_t len = 0, cap = 0;

        if (!f) {
                dprintf(2, "fuzz-replay: cannot open %s: %s\n", path, strerror(errno));
                return -1;
        }
        for (;;) {
                size_t n;

                if (len == cap) {
                        uint8_t *nd = realloc(data, cap ? 2 * cap : 4096);

                        if (!nd)
                                abort();
                        data = nd;
                        cap = cap ? 2 * cap : 4096;
                }
                n = fread(data + len, 1, cap - len, f);
                if (n == 0)
                        break;
                len += n;
        }
        fclose(f);
        /* An exact-size copy, so that a sanitizer sees any over-read. */
        {
                uint8_t *exact = malloc(len ? len : 1);

                if (!exact)
                        abort();
                memcpy(exact, data, len);
                free(data);
                LLVMFuzzerTestOneInput(exact, len);
                free(exact);
        }
        return 0;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned *count)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        char **names = NULL;
        size_t n = 0;
        int rc = 0;

        if (!d) {
                dprintf(2, "fuzz-replay: cannot open %s: %s\n", dir, strerror(errno));
                return -1;
        }
        while ((e = readdir(d))) {
                char **nn;

                if (e->d_name[0] == '.')
                        continue;
                nn = realloc(names, (n + 1) * sizeof(*names));
                if (!nn)
                        abort();
                names = nn;
                if (asprintf(&names[n++], "%s/%s", dir, e->d_name) < 0)
                        abort();
        }
        closedir(d);
        qsort(names, n, sizeof(*names), cmp_names);
        for (size_t i = 0; i < n; i++) {
                if (run_file(names[i]) < 0)
                        rc = -1;
                else
                        ++*count;
                free(names[i]);
        }
        free(names);
        return rc;
}

int main(int argc, char **argv)
{
        unsigned count = 0;
        int rc = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;

                if (stat(argv[i], &st) < 0) {
                        dprintf(2, "fuzz-replay: %s: %s\n", argv[i], strerror(errno));
                        rc = 1;
                } else if (S_ISDIR(st.st_mode)) {
                        rc |= run_dir(argv[i], &count) < 0;
                } else if (run_file(argv[i]) < 0) {
                        rc = 1;
                } else {
                        count++;
                }
        }
        dprintf(2, "fuzz-replay: %u inputs run\n", count);
        return rc || count == 0 ? 1 : 0;
}
