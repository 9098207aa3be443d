/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the libFuzzer harnesses of tests/fuzz (docs/reliability.md). */
#ifndef ISCHED_FUZZ_COMMON_H
#define ISCHED_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points, defined by each harness. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The path of a file holding exactly data: a memfd, created once and
 * rewritten on every call, reached through /proc/self/fd.  The parsers
 * under test open paths, so this is how an input reaches them without
 * touching the file system.  NULL if it cannot be made. */
const char *fuzz_file(const uint8_t *data, size_t size);

/* A NUL-terminated copy of data; abort()s when out of memory. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Send what stdout and stderr FILE streams print to /dev/null (parsers
 * print an error for every bad input), unless ISCHED_FUZZ_VERBOSE is set.
 * File descriptors 1 and 2 stay open: the sanitizers and libFuzzer write
 * their reports there.  Called once per process, then a no-op. */
void fuzz_quiet(void);

/* A private directory (mode 0700) for files a harness writes, created
 * once per process and never removed while it runs. */
const char *fuzz_tmpdir(void);

/* Forget glibc's getopt state: a parse that stopped in the middle of a
 * cluster of short options leaves a pointer into the argv it was given,
 * which the next input's argv no longer holds. */
void fuzz_reset_getopt(void);

/* Fail loudly (abort) when a harness invariant does not hold. */
#define FUZZ_ASSERT(cond)                                                                          \
        do {                                                                                       \
                if (!(cond))                                                                       \
                        fuzz_fail(__FILE__, __LINE__, #cond);                                      \
        } while (0)
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

#endif
