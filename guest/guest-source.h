/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched-guest's sources of the work counter: a file, a command's output,
 * or a Prometheus text-format endpoint (docs/guest-work.md).  Pure parsing
 * is separated from I/O so that tests/guest/ can check it alone.  Every
 * function returns 0 or a negative errno and, on failure, a sentence in
 * err[ISCHED_GUEST_ERR_MAX]. */
#ifndef ISCHED_GUEST_SOURCE_H
#define ISCHED_GUEST_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#define ISCHED_GUEST_ERR_MAX 256
/* Largest file, command output or HTTP response read. */
#define ISCHED_GUEST_INPUT_MAX (4u << 20)

/* The counter in @text: its first whitespace-separated token, a
 * non-negative decimal integer (exact to 2^64 - 1) or a finite decimal or
 * exponent number, multiplied by @scale and rounded down. */
int isched_guest_parse_counter(const char *text, double scale, uint64_t *ret, char *err);

/* The value of a Prometheus text-format exposition for @selector,
 * "name" or "name{label="value",...}": the sum of every sample of that
 * name whose labels include the selector's. */
int isched_guest_prom_value(const char *text, const char *selector, double *ret, char *err);

/* Checks a selector's syntax (for option parsing). */
int isched_guest_prom_check_selector(const char *selector, char *err);

/* Splits "http://host[:port]/path"; host is at most 255 characters. */
int isched_guest_parse_url(const char *url, char *host, size_t host_size, char *port, size_t port_size,
                           const char **ret_path, char *err);

/* The body of a complete HTTP/1.x response of @len bytes: status 200 and
 * an identity or chunked body.  *ret_body is malloc'ed and NUL-terminated. */
int isched_guest_http_body(const char *resp, size_t len, char **ret_body, char *err);

/* I/O, each bounded by @timeout_ms: read a file, run "/bin/sh -c cmd" and
 * take its standard output (it must exit 0), GET an http:// URL.  *ret is
 * malloc'ed and NUL-terminated. */
int isched_guest_read_file(const char *path, char **ret, char *err);
int isched_guest_run_command(const char *cmd, int timeout_ms, char **ret, char *err);
int isched_guest_http_get(const char *url, int timeout_ms, char **ret, char *err);

#endif
