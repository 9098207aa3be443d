/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

bool cli_parse_seconds_ns(const char *option, const char *arg, uint64_t *ret_ns)
{
        double s;

        /* From 1 ms to 30 days: anything else is a typo. */
        if (!cli_parse_double(option, arg, 0.001, 30.0 * 86400.0, &s))
                return false;
        *ret_ns = (uint64_t)llround(s * 1e9);
        return true;
}

static int usage_hint_for(const char *cmd)
{
        fprintf(stderr, "Try 'isched %s --help'.\n", cmd);
        return EXIT_USAGE;
}

int cli_bad_option(const char *cmd, char **argv)
{
        cli_error("%s: unknown or incomplete option '%s'", cmd, argv[optind - 1]);
        return usage_hint_for(cmd);
}

bool cli_extra_operand(const char *cmd, int argc, char **argv)
{
        if (optind >= argc)
                return false;
        cli_error("%s: unexpected argument '%s'", cmd, argv[optind]);
        usage_hint_for(cmd);
        return true;
}
