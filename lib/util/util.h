/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal helpers shared by every module of libintellisched. */
#ifndef ISCHED_UTIL_H
#define ISCHED_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "intellisched/common.h"

/* Marks a definition as part of the public ABI (the library is built with
 * hidden visibility; libintellisched.map lists the same names). */
#define ISCHED_EXPORT __attribute__((visibility("default")))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ISCHED_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Record the detail of a failure for isched_last_error(), log it at ERROR
 * priority, and return err (a negative errno) so that callers can write
 * `return isched__error(-EINVAL, "...")`. */
int isched__error(int err, const char *fmt, ...) ISCHED_PRINTF(2, 3);

/* Log a message through the host program's log function, if any. */
void isched__log(enum isched_log_priority prio, const char *fmt, ...) ISCHED_PRINTF(2, 3);

/* Forget the last error of this thread (used by functions that succeed
 * after an internal, handled failure). */
void isched__clear_error(void);

/* Write data to path atomically: a temporary file in the same directory
 * (O_EXCL, O_NOFOLLOW, mode), fsync, rename over path, fsync of the
 * directory.  Either the old or the new complete file is there afterwards,
 * whatever happens.  Refuses a path that is a symbolic link and a
 * directory that is writable by others (without the sticky bit). */
int isched__write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Check what isched__write_file_atomic() checks before it writes: path is
 * not a symbolic link (-ELOOP) nor anything but a regular file if it
 * exists (-EISDIR), and its directory exists and is not writable by
 * others without the sticky bit (-EPERM, -ENOTDIR), and this process can
 * write it (-EACCES, -EROFS; other -errno of stat() and access()).
 * Lets a program refuse a bad path when it starts rather than at its
 * first write. */
int isched__check_write_path(const char *path);

/* Remove the temporary files isched__write_file_atomic() left for path
 * when a process was killed in the middle of a write: "<path>.tmp.<pid>.<n>"
 * whose pid no longer runs.  Best effort, never fails. */
void isched__remove_stale_temps(const char *path);

/* Read a whole regular file (at most max_len bytes) into a NUL-terminated
 * buffer the caller frees. */
int isched__read_file(const char *path, size_t max_len, char **ret_data, size_t *ret_len);

/* The 1-based line and column of byte offset off in text (len bytes), for
 * error messages about a file someone can open in an editor. */
void isched__text_position(const char *text, size_t len, size_t off, unsigned *ret_line, unsigned *ret_column);

/* The offset of the first \u0000 escape inside a JSON string in text (len
 * bytes), or len if there is none.  cJSON ends a string at the NUL it
 * decodes, so "a\u0000b" would silently become "a": readers refuse it. */
size_t isched__json_nul_escape(const char *text, size_t len);

/* True if x is finite (not NaN, not infinite). */
static inline bool isched__finite(double x)
{
        return x == x && x - x == 0.0;
}

#endif
