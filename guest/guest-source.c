/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched-guest's sources of the work counter (guest-source.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest-source.h"

static int fail(char *err, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, ISCHED_GUEST_ERR_MAX, fmt, ap);
        va_end(ap);
        return r;
}

/* ---- numbers ------------------------------------------------------------ */

int isched_guest_parse_counter(const char *text, double scale, uint64_t *ret, char *err)
{
        char token[64], *end;
        size_t len = 0;
        bool digits = true;
        double v;

        while (*text && isspace((unsigned char)*text))
                text++;
        while (text[len] && !isspace((unsigned char)text[len]))
                len++;
        if (len == 0)
                return fail(err, -EINVAL, "no number in the source's output");
        if (len >= sizeof(token))
                return fail(err, -EINVAL, "\"%.20s...\" is too long for a number", text);
        memcpy(token, text, len);
        token[len] = '\0';
        for (size_t i = 0; i < len; i++)
                digits = digits && isdigit((unsigned char)token[i]);
        if (digits && scale == 1.0) {
                uint64_t n = 0;

                /* Exact, to 2^64 - 1. */
                for (size_t i = 0; i < len; i++) {
                        const unsigned d = (unsigned)(token[i] - '0');

                        if (n > (UINT64_MAX - d) / 10)
                                return fail(err, -ERANGE, "%s is larger than 2^64 - 1", token);
                        n = n * 10 + d;
                }
                *ret = n;
                return 0;
        }
        errno = 0;
        v = strtod(token, &end);
        if (*end != '\0' || end == token || errno == ERANGE || !isfinite(v) || token[0] == '-' ||
            strpbrk(token, "xXpP") || strncasecmp(token, "inf", 3) == 0 || strncasecmp(token, "nan", 3) == 0)
                return fail(err, -EINVAL, "\"%s\" is not a non-negative decimal number", token);
        v = floor(v * scale);
        if (!(v >= 0.0) || v >= 18446744073709551616.0)
                return fail(err, -ERANGE, "%s x %g is out of the range of a 64-bit counter", token, scale);
        *ret = (uint64_t)v;
        return 0;
}

/* ---- Prometheus text format ---------------------------------------------- */

#define PROM_LABELS_MAX 16

struct prom_label {
        const char *name, *value; /* value is unescaped into buffer space */
        size_t name_len;
};

struct prom_sample {
        const char *name;
        size_t name_len;
        struct prom_label labels[PROM_LABELS_MAX];
        unsigned nr_labels;
        char values[1024];        /* unescaped label values, NUL-separated */
};

static bool name_start(char c)
{
        return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static bool name_char(char c)
{
        return name_start(c) || isdigit((unsigned char)c);
}

/* Parse "name{l="v",...}" at *p; on success *p is past it. */
static int parse_series(const char **p, struct prom_sample *s, char *err)
{
        const char *q = *p;
        size_t used = 0;

        s->nr_labels = 0;
        if (!name_start(*q))
                return fail(err, -EINVAL, "a metric name must start with a letter, '_' or ':'");
        s->name = q;
        while (name_char(*q))
                q++;
        s->name_len = (size_t)(q - s->name);
        if (*q == '{') {
                q++;
                while (*q == ' ' || *q == '\t')
                        q++;
                while (*q != '}') {
                        struct prom_label *l;

                        if (s->nr_labels == PROM_LABELS_MAX)
                                return fail(err, -EINVAL, "more than %d labels", PROM_LABELS_MAX);
                        l = &s->labels[s->nr_labels++];
                        if (!name_start(*q))
                                return fail(err, -EINVAL, "a label name must start with a letter or '_'");
                        l->name = q;
                        while (name_char(*q))
                                q++;
                        l->name_len = (size_t)(q - l->name);
                        if (q[0] != '=' || q[1] != '"')
                                return fail(err, -EINVAL, "expected =\"value\" after label %.*s", (int)l->name_len,
                                            l->name);
                        q += 2;
                        l->value = &s->values[used];
                        for (; *q != '"'; q++) {
                                char c = *q;

                                if (c == '\0' || c == '\n')
                                        return fail(err, -EINVAL, "unterminated label value");
                                if (c == '\\') {
                                        q++;
                                        c = *q == 'n' ? '\n' : *q;
                                        if (c != '\\' && c != '"' && c != '\n')
                                                return fail(err, -EINVAL, "bad escape in a label value");
                                }
                                if (used + 2 > sizeof(s->values))
                                        return fail(err, -EINVAL, "label values too long");
                                s->values[used++] = c;
                        }
                        s->values[used++] = '\0';
                        q++;
                        while (*q == ' ' || *q == '\t')
                                q++;
                        if (*q == ',') {
                                q++;
                                while (*q == ' ' || *q == '\t')
                                        q++;
                        } else if (*q != '}') {
                                return fail(err, -EINVAL, "expected ',' or '}' in the labels");
                        }
                }
                q++;
        }
        *p = q;
        return 0;
}

static bool labels_include(const struct prom_sample *have, const struct prom_sample *want)
{
        for (unsigned i = 0; i < want->nr_labels; i++) {
                bool found = false;

                for (unsigned j = 0; j < have->nr_labels && !found; j++)
                        found = have->labels[j].name_len == want->labels[i].name_len &&
                                memcmp(have->labels[j].name, want->labels[i].name, want->labels[i].name_len) == 0 &&
                                strcmp(have->labels[j].value, want->labels[i].value) == 0;
                if (!found)
                        return false;
        }
        return true;
}

int isched_guest_prom_check_selector(const char *selector, char *err)
{
        struct prom_sample want;
        const char *p = selector;
        int r = parse_series(&p, &want, err);

        if (r == 0 && *p != '\0')
                return fail(err, -EINVAL, "selector \"%s\": unexpected text after the series", selector);
        if (r < 0) {
                char why[ISCHED_GUEST_ERR_MAX];

                snprintf(why, sizeof(why), "%s", err);
                return fail(err, r, "selector \"%s\": %s", selector, why);
        }
        return 0;
}

int isched_guest_prom_value(const char *text, const char *selector, double *ret, char *err)
{
        struct prom_sample want, have;
        const char *p = selector;
        unsigned matched = 0, line = 0;
        double sum = 0.0;
        int r;

        r = isched_guest_prom_check_selector(selector, err);
        if (r < 0)
                return r;
        parse_series(&p, &want, err);
        for (const char *l = text; *l; ) {
                const char *eol = strchr(l, '\n'), *q = l;
                char num[64], *end;
                size_t n = 0;
                double v;

                line++;
                if (!eol)
                        eol = l + strlen(l);
                while (q < eol && (*q == ' ' || *q == '\t'))
                        q++;
                if (q == eol || *q == '#' || *q == '\r')
                        goto next;
                r = parse_series(&q, &have, err);
                if (r < 0 || (*q != ' ' && *q != '\t')) {
                        char why[ISCHED_GUEST_ERR_MAX];

                        snprintf(why, sizeof(why), "%s", r < 0 ? err : "expected a space before the value");
                        return fail(err, -EBADMSG, "not Prometheus text format at line %u: %s", line, why);
                }
                if (have.name_len != want.name_len || memcmp(have.name, want.name, want.name_len) != 0 ||
                    !labels_include(&have, &want))
                        goto next;
                while (*q == ' ' || *q == '\t')
                        q++;
                while (q + n < eol && !isspace((unsigned char)q[n]) && n < sizeof(num) - 1)
                        n++;
                memcpy(num, q, n);
                num[n] = '\0';
                errno = 0;
                v = strtod(num, &end);
                if (n == 0 || *end != '\0' || !isfinite(v) || v < 0.0)
                        return fail(err, -EBADMSG, "line %u: the value \"%s\" of %.*s is not a finite non-negative number",
                                    line, num, (int)want.name_len, want.name);
                sum += v;
                matched++;
next:
                l = *eol ? eol + 1 : eol;
        }
        if (matched == 0)
                return fail(err, -ENOENT, "no sample of %s in the exposition", selector);
        *ret = sum;
        return 0;
}

/* ---- HTTP ---------------------------------------------------------------- */

int isched_guest_parse_url(const char *url, char *host, size_t host_size, char *port, size_t port_size,
                           const char **ret_path, char *err)
{
        const char *h, *end, *colon;
        size_t hl;

        if (strncmp(url, "http://", 7) != 0)
                return fail(err, -EINVAL, "URL \"%s\": only http:// is supported (the endpoint is inside the guest)",
                            url);
        h = url + 7;
        end = strchr(h, '/');
        if (!end)
                end = h + strlen(h);
        colon = memchr(h, ':', (size_t)(end - h));
        hl = (size_t)((colon ? colon : end) - h);
        if (hl == 0 || hl >= host_size)
                return fail(err, -EINVAL, "URL \"%s\": missing or overlong host", url);
        memcpy(host, h, hl);
        host[hl] = '\0';
        if (colon) {
                const size_t pl = (size_t)(end - colon - 1);

                if (pl == 0 || pl >= port_size || strspn(colon + 1, "0123456789") < pl)
                        return fail(err, -EINVAL, "URL \"%s\": bad port", url);
                memcpy(port, colon + 1, pl);
                port[pl] = '\0';
        } else {
                snprintf(port, port_size, "80");
        }
        *ret_path = *end ? end : "/";
        return 0;
}

/* Decode a chunked body in place; returns its length or -1. */
static long dechunk(char *body, size_t len)
{
        size_t in = 0, out = 0;

        for (;;) {
                char *end;
                unsigned long n;

                if (in >= len)
                        return -1;
                errno = 0;
                n = strtoul(body + in, &end, 16);
                if (end == body + in || errno)
                        return -1;
                end = strstr(end, "\r\n");
                if (!end)
                        return -1;
                in = (size_t)(end - body) + 2;
                if (n == 0)
                        return (long)out;
                if (n > len - in)
                        return -1;
                memmove(body + out, body + in, n);
                out += n;
                in += n;
                if (len - in < 2 || body[in] != '\r' || body[in + 1] != '\n')
                        return -1;
                in += 2;
        }
}

int isched_guest_http_body(const char *resp, size_t len, char **ret_body, char *err)
{
        const char *hdr_end = NULL, *sp;
        bool chunked = false;
        size_t body_len;
        char *body;
        int status;

        for (size_t i = 0; i + 3 < len && !hdr_end; i++)
                if (memcmp(resp + i, "\r\n\r\n", 4) == 0)
                        hdr_end = resp + i;
        if (len < 12 || strncmp(resp, "HTTP/1.", 7) != 0 || !hdr_end)
                return fail(err, -EBADMSG, "not an HTTP/1.x response");
        sp = resp + 8;
        if (*sp != ' ' || sscanf(sp + 1, "%3d", &status) != 1)
                return fail(err, -EBADMSG, "bad HTTP status line");
        if (status != 200)
                return fail(err, -EIO, "the endpoint answered HTTP status %d", status);
        for (const char *l = strstr(resp, "\r\n") + 2; l < hdr_end; l = strstr(l, "\r\n") + 2)
                if (strncasecmp(l, "Transfer-Encoding:", 18) == 0) {
                        const char *v = l + 18;

                        while (*v == ' ')
                                v++;
                        chunked = strncasecmp(v, "chunked", 7) == 0;
                }
        body_len = len - (size_t)(hdr_end + 4 - resp);
        body = malloc(body_len + 1);
        if (!body)
                return fail(err, -ENOMEM, "out of memory");
        memcpy(body, hdr_end + 4, body_len);
        body[body_len] = '\0';
        if (chunked) {
                const long n = dechunk(body, body_len);

                if (n < 0) {
                        free(body);
                        return fail(err, -EBADMSG, "malformed chunked HTTP body");
                }
                body_len = (size_t)n;
                body[body_len] = '\0';
        }
        if (memchr(body, '\0', body_len)) {
                free(body);
                return fail(err, -EBADMSG, "the HTTP body contains a NUL byte");
        }
        *ret_body = body;
        return 0;
}

/* ---- I/O ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read fd to EOF into a malloc'ed buffer, within deadline_ms (monotonic;
 * -1: none).  *ret_len excludes the NUL added. */
static int read_all(int fd, int64_t deadline_ms, char **ret, size_t *ret_len, const char *what, char *err)
{
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);

        if (!buf)
                return fail(err, -ENOMEM, "out of memory");
        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int timeout = -1;
                ssize_t n;

                if (deadline_ms >= 0) {
                        const int64_t left = deadline_ms - now_ms();

                        if (left <= 0) {
                                free(buf);
                                return fail(err, -ETIMEDOUT, "%s: timed out", what);
                        }
                        timeout = (int)left;
                }
                const int ready = poll(&pfd, 1, timeout);

                if (ready < 0 && errno != EINTR) {
                        const int e = errno;

                        free(buf);
                        return fail(err, -e, "%s: %s", what, strerror(e));
                }
                if (ready <= 0)
                        continue; /* interrupted, or the deadline: checked above */
                if (len + 1 == cap) {
                        char *grown;

                        if (cap >= ISCHED_GUEST_INPUT_MAX) {
                                free(buf);
                                return fail(err, -EFBIG, "%s: more than %u bytes", what, ISCHED_GUEST_INPUT_MAX);
                        }
                        grown = realloc(buf, cap * 2);
                        if (!grown) {
                                free(buf);
                                return fail(err, -ENOMEM, "out of memory");
                        }
                        buf = grown;
                        cap *= 2;
                }
                n = read(fd, buf + len, cap - 1 - len);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0) {
                        const int e = errno;

                        free(buf);
                        return fail(err, -e, "%s: %s", what, strerror(e));
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

int isched_guest_read_file(const char *path, char **ret, char *err)
{
        size_t len;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        int r;

        if (fd < 0)
                return fail(err, -errno, "%s: %s", path, strerror(errno));
        r = read_all(fd, -1, ret, &len, path, err);
        close(fd);
        return r;
}

int isched_guest_run_command(const char *cmd, int timeout_ms, char **ret, char *err)
{
        int pipefd[2], status = 0, r;
        size_t len;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return fail(err, -errno, "pipe: %s", strerror(errno));
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return fail(err, r, "fork: %s", strerror(-r));
        }
        if (pid == 0) {
                const int devnull = open("/dev/null", O_RDONLY);

                /* Its own process group, so that a timeout kills all of it. */
                setpgid(0, 0);

                if (devnull >= 0)
                        dup2(devnull, STDIN_FILENO);
                dup2(pipefd[1], STDOUT_FILENO);
                execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
                _exit(127);
        }
        close(pipefd[1]);
        r = read_all(pipefd[0], now_ms() + timeout_ms, ret, &len, "the command", err);
        close(pipefd[0]);
        if (r == -ETIMEDOUT) {
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                free(*ret);
                if (WIFEXITED(status))
                        return fail(err, -EIO, "the command exited with status %d", WEXITSTATUS(status));
                return fail(err, -EIO, "the command was killed by signal %d", WTERMSIG(status));
        }
        return 0;
}

static int connect_within(const char *host, const char *port, int64_t deadline_ms, char *err)
{
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
        int fd = -1, r, e = ECONNREFUSED;

        r = getaddrinfo(host, port, &hints, &res);
        if (r != 0)
                return fail(err, -EHOSTUNREACH, "%s: %s", host, gai_strerror(r));
        for (ai = res; ai; ai = ai->ai_next) {
                struct pollfd pfd;
                socklen_t sl = sizeof(e);
                int left = (int)(deadline_ms - now_ms());

                fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
                if (fd < 0) {
                        e = errno;
                        continue;
                }
                if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
                        break;
                e = errno;
                if (e == EINPROGRESS && left > 0) {
                        pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
                        if (poll(&pfd, 1, left) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 &&
                            e == 0)
                                break;
                        if (e == EINPROGRESS)
                                e = ETIMEDOUT;
                }
                close(fd);
                fd = -1;
        }
        freeaddrinfo(res);
        if (fd < 0)
                return fail(err, -e, "connecting to %s:%s: %s", host, port, strerror(e));
        return fd;
}

int isched_guest_http_get(const char *url, int timeout_ms, char **ret, char *err)
{
        const int64_t deadline = now_ms() + timeout_ms;
        char host[256], port[8], req[1024], *resp = NULL;
        const char *path;
        size_t len, off = 0;
        int fd, r;

        r = isched_guest_parse_url(url, host, sizeof(host), port, sizeof(port), &path, err);
        if (r < 0)
                return r;
        fd = connect_within(host, port, deadline, err);
        if (fd < 0)
                return fd;
        len = (size_t)snprintf(req, sizeof(req),
                               "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: text/plain;version=0.0.4\r\n"
                               "User-Agent: isched-guest\r\nConnection: close\r\n\r\n",
                               path, host);
        if (len >= sizeof(req)) {
                close(fd);
                return fail(err, -EINVAL, "URL \"%s\": path too long", url);
        }
        while (off < len) {
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                ssize_t n;

                if (poll(&pfd, 1, (int)(deadline - now_ms())) != 1) {
                        close(fd);
                        return fail(err, -ETIMEDOUT, "%s: timed out sending the request", url);
                }
                n = send(fd, req + off, len - off, MSG_NOSIGNAL);
                if (n < 0 && errno != EINTR && errno != EAGAIN) {
                        r = -errno;
                        close(fd);
                        return fail(err, r, "%s: %s", url, strerror(-r));
                }
                if (n > 0)
                        off += (size_t)n;
        }
        r = read_all(fd, deadline, &resp, &len, url, err);
        close(fd);
        if (r < 0)
                return r;
        r = isched_guest_http_body(resp, len, ret, err);
        free(resp);
        return r;
}
