/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <intellisched/intellisched.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
        va_list ap;

        fputs("isched: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

int cli_fail(int r, const char *what)
{
        const char *detail = isched_last_error();

        if (!detail || !*detail)
                detail = strerror(-r);
        cli_error("%s: %s", what, detail);
        switch (-r) {
        case EINVAL:
        case ENOENT:
        case EPROTO:
        case ERANGE:
        case EDOM:
        case ELOOP:
        case EISDIR:
        case ENOTDIR:
        case EFBIG:
        case EBADMSG:
        case ENAMETOOLONG:
                return EXIT_USAGE;
        default:
                return EXIT_RUNTIME;
        }
}

int cli_usage_hint(const char *cmd)
{
        fprintf(stderr, "Try 'isched %s--help'.\n", cmd ? cmd : "");
        return EXIT_USAGE;
}

bool cli_parse_double(const char *option, const char *arg, double min, double max, double *ret)
{
        char *end;
        double v;

        errno = 0;
        v = arg ? strtod(arg, &end) : NAN;
        if (!arg || end == arg || *end || errno || !isfinite(v)) {
                cli_error("%s: '%s' is not a number; give a value from %g to %g", option,
                          arg ? arg : "", min, max);
                return false;
        }
        if (v < min || v > max) {
                cli_error("%s: %g is out of range; give a value from %g to %g", option, v, min, max);
                return false;
        }
        *ret = v;
        return true;
}

bool cli_parse_u64(const char *option, const char *arg, uint64_t min, uint64_t max, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        errno = 0;
        if (!arg || !*arg || *arg == '-') {
                cli_error("%s: '%s' is not a whole number; give one from %" PRIu64 " to %" PRIu64,
                          option, arg ? arg : "", min, max);
                return false;
        }
        v = strtoull(arg, &end, 10);
        if (*end || errno) {
                cli_error("%s: '%s' is not a whole number; give one from %" PRIu64 " to %" PRIu64,
                          option, arg, min, max);
                return false;
        }
        if (v < min || v > max) {
                cli_error("%s: %llu is out of range; give a number from %" PRIu64 " to %" PRIu64,
                          option, v, min, max);
                return false;
        }
        *ret = v;
        return true;
}

/* From 1 ms to 30 days: anything else is a typo. */
#define SECONDS_MIN 0.001
#define SECONDS_MAX (30.0 * 86400.0)

bool cli_parse_seconds_ns(const char *option, const char *arg, uint64_t *ret_ns)
{
        double s;

        if (!cli_parse_double(option, arg, SECONDS_MIN, SECONDS_MAX, &s))
                return false;
        *ret_ns = (uint64_t)llround(s * 1e9);
        return true;
}

bool cli_parse_seconds_ns_or_zero(const char *option, const char *arg, uint64_t *ret_ns)
{
        double s;

        if (!cli_parse_double(option, arg, 0, SECONDS_MAX, &s))
                return false;
        if (s > 0 && s < SECONDS_MIN) {
                cli_error("%s: %g is out of range; give 0 or a value from %g to %g", option, s, SECONDS_MIN,
                          SECONDS_MAX);
                return false;
        }
        *ret_ns = (uint64_t)llround(s * 1e9);
        return true;
}

static int usage_hint_for(const char *cmd)
{
        fprintf(stderr, "Try 'isched %s --help'.\n", cmd);
        return EXIT_USAGE;
}

void cli_getopt_init(struct cli_getopt *g, const char *cmd, const struct option *longopts, const int *repeatable)
{
        *g = (struct cli_getopt){ .cmd = cmd, .longopts = longopts, .repeatable = repeatable };
        optind = 1;
        opterr = 0;
}

static bool is_repeatable(const struct cli_getopt *g, int c)
{
        for (const int *r = g->repeatable; r && *r; r++)
                if (*r == c)
                        return true;
        return false;
}

/* The option as the user wrote it, without "=value". */
static const char *option_token(char **argv, int index, char *buf, size_t size)
{
        const char *t = argv[index], *eq = strchr(t, '=');

        if (strncmp(t, "--", 2) == 0 && eq)
                snprintf(buf, size, "%.*s", (int)(eq - t), t);
        else
                snprintf(buf, size, "%s", t);
        return buf;
}

int cli_getopt_next(struct cli_getopt *g, int argc, char **argv)
{
        static char name[96], shown[128];
        char shortopts[64];
        int c, index = -1, before = optind;

        snprintf(shortopts, sizeof(shortopts), ":hV%s", g->shortopts ? g->shortopts : "");
        c = getopt_long(argc, argv, shortopts, g->longopts, &index);
        if (c == -1)
                return -1;
        if (index >= 0) {
                snprintf(name, sizeof(name), "--%s", g->longopts[index].name);
        } else if (c != '?' && c != ':') {
                snprintf(name, sizeof(name), "-%c", c);
        } else {
                /* getopt has moved past the faulty word (or not, inside a
                 * cluster of short options). */
                const int at = optind > before ? optind - 1 : before;

                if (at < argc && strncmp(argv[at], "--", 2) == 0)
                        option_token(argv, at, name, sizeof(name));
                else
                        snprintf(name, sizeof(name), "-%c", optopt);
        }
        g->name = name;
        if (c == ':') {
                cli_error("%s: %s needs a value", g->cmd, cli_printable(name, shown, sizeof(shown)));
                usage_hint_for(g->cmd);
                return CLI_GETOPT_BAD;
        }
        if (c == '?') {
                cli_error("%s: unknown option '%s'", g->cmd, cli_printable(name, shown, sizeof(shown)));
                usage_hint_for(g->cmd);
                return CLI_GETOPT_BAD;
        }
        if (c >= 0 && c < (int)(8 * sizeof(g->seen)) && !is_repeatable(g, c)) {
                if (g->seen[c / 8] & (1u << (c % 8))) {
                        cli_error("%s: %s is given twice; give it once", g->cmd, name);
                        usage_hint_for(g->cmd);
                        return CLI_GETOPT_BAD;
                }
                g->seen[c / 8] |= (unsigned char)(1u << (c % 8));
        }
        return c;
}

int cli_version(void)
{
        printf("isched %s\n", isched_version());
        return EXIT_OK;
}

bool cli_extra_operand(const char *cmd, int argc, char **argv)
{
        char shown[256];

        if (optind >= argc)
                return false;
        cli_error("%s: unexpected argument '%s'", cmd, cli_printable(argv[optind], shown, sizeof(shown)));
        usage_hint_for(cmd);
        return true;
}

const char *cli_printable(const char *s, char *buf, size_t size)
{
        size_t o = 0;

        if (!size)
                return "";
        for (; s && *s && o + 5 < size; s++) {
                const unsigned char ch = (unsigned char)*s;

                /* C0 controls, DEL, and the C1 controls (U+0080..U+009F,
                 * UTF-8 0xc2 0x80..0x9f) that some terminals obey. */
                if (ch < 0x20 || ch == 0x7f) {
                        o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
                } else if (ch == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f) {
                        if (o + 9 >= size)
                                break;
                        o += (size_t)snprintf(buf + o, size - o, "\\x%02x\\x%02x", ch, (unsigned char)s[1]);
                        s++;
                } else
                        buf[o++] = (char)ch;
        }
        buf[o] = '\0';
        return buf;
}

int cli_print_json(cJSON *doc)
{
        char *s = doc ? cJSON_Print(doc) : NULL;

        cJSON_Delete(doc);
        if (!s) {
                cli_error("out of memory printing the JSON output");
                return EXIT_RUNTIME;
        }
        printf("%s\n", s);
        free(s);
        return EXIT_OK;
}

int cli_finish_output(int rc)
{
        /* A write error may show only at the flush, or may have been seen
         * (and cleared by nothing) earlier: check both. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                const int err = errno;

                cli_error("cannot write the output: %s", strerror(err ? err : EIO));
                return rc == EXIT_OK ? EXIT_RUNTIME : rc;
        }
        return rc;
}
