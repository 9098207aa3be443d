/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched learn: run a policy online on full-feedback CSV data.
 *
 * The loop parses a row, lets the policy choose, reveals only the chosen
 * arm's reward, and updates.  It is meant to run at well over a million
 * rows a second in constant memory, so the file is read through one
 * sliding buffer and numbers are parsed by hand: an integer mantissa scaled by an exact power of ten
 * when that is exact (Clinger's fast path), strtod() otherwise, so that
 * every value is the correctly rounded double strtod would give. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <intellisched/intellisched.h>

#include "cli.h"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: isched learn --data FILE.csv --policy KIND [OPTIONS]\n"
                "\n"
                "Run a bandit policy online on full-feedback data: for each row it chooses\n"
                "an arm, sees only that arm's reward and learns from it.  Prints the mean\n"
                "reward, the mean reward of the best arm of each row (the oracle), the\n"
                "regret and the speed.\n"
                "\n"
                "The CSV file has a header x0,...,x{d-1},r0,...,r{K-1} (1 to 64 features,\n"
                "1 to 5 arms, arm i being arrangement i: cpu, core, socket, node, all) and\n"
                "one row per round with d + K finite numbers of magnitude at most 1e100;\n"
                "empty lines at the end are ignored.  The file is read as a stream: any\n"
                "number of rows in constant memory (also from a pipe).\n"
                "\n"
                "Options:\n"
                "  --data FILE           the CSV file (required)\n"
                "  --policy KIND         egreedy, lingreedy, linucb, dlinucb or lints (required)\n"
                "  --alpha A             exploration width of linucb and dlinucb (default 1)\n"
                "  --lambda L            ridge regularisation of the linear policies (default 1)\n"
                "  --gamma G             forgetting factor of dlinucb, 0 < G <= 1 (default 0.99)\n"
                "  --epsilon E           exploration rate of egreedy and lingreedy (default 0.1)\n"
                "  --epsilon-decay D     epsilon_t = E / (1 + D t) (default 0: fixed)\n"
                "  --ts-v V              posterior scale of lints (default 0.5)\n"
                "  --seed S              random seed of egreedy, lingreedy and lints (default 1)\n"
                "  --arms-out FILE       write the chosen arm of each row, one per line\n"
                "  --model-out FILE      save the learned model (see 'isched model')\n"
                "  --json                print the results as one JSON object\n"
                "  -h, --help, -V, --version\n"
                "\n"
                "Options that do not apply to the chosen policy are refused.\n"
                "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad data.\n");
}

/* ---- the input file ---- */

/* The file is read through one buffer of fixed size, a window that slides
 * over it: memory does not grow with the number of rows (a row is at most
 * INPUT_BUF_SIZE bytes).  A buffer filled by the caller (fd -1, eof) is
 * parsed in place, as the fuzzing harness does. */
#define INPUT_BUF_SIZE (4u << 20)

struct input {
        const char *path;
        int fd;             /* -1: data is all there is */
        char *buf;          /* owned, INPUT_BUF_SIZE bytes, when fd >= 0 */
        const char *data;   /* the window: [data, data + len) */
        size_t len;
        bool eof;
};

static int input_open(struct input *in, const char *path)
{
        struct stat st;

        *in = (struct input){ .path = path, .fd = -1 };
        in->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (in->fd < 0) {
                const int err = errno;

                cli_error("--data %s: %s", path, strerror(err));
                return err == ENOENT || err == EACCES ? EXIT_USAGE : EXIT_RUNTIME;
        }
        if (fstat(in->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                cli_error("--data %s: is a directory; give a CSV file", path);
                return EXIT_USAGE;
        }
        (void)posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        in->buf = malloc(INPUT_BUF_SIZE);
        if (!in->buf) {
                cli_error("--data %s: out of memory", path);
                return EXIT_RUNTIME;
        }
        in->data = in->buf;
        return EXIT_OK;
}

static void input_close(struct input *in)
{
        if (in->fd >= 0)
                close(in->fd);
        free(in->buf);
        in->fd = -1;
        in->buf = NULL;
}

/* Keep the bytes from `from` on (moved to the start of the buffer) and read
 * more after them.  Returns the new position of `from`, or NULL after
 * printing a read error. */
static const char *input_fill(struct input *in, const char *from)
{
        const size_t keep = (size_t)(in->data + in->len - from);

        if (in->fd < 0 || in->eof)
                return from;
        memmove(in->buf, from, keep);
        in->data = in->buf;
        in->len = keep;
        while (in->len < INPUT_BUF_SIZE) {
                const ssize_t n = read(in->fd, in->buf + in->len, INPUT_BUF_SIZE - in->len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        cli_error("--data %s: %s", in->path, strerror(errno));
                        return NULL;
                }
                if (n == 0) {
                        in->eof = true;
                        break;
                }
                in->len += (size_t)n;
                /* A whole line is all the parser needs. */
                if (memchr(in->buf + in->len - (size_t)n, '\n', (size_t)n))
                        break;
        }
        return in->buf;
}

/* ---- numbers ---- */

static const double pow10_exact[] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static inline bool is_digit(char c)
{
        return (unsigned char)(c - '0') < 10;
}

enum num_status { NUM_OK, NUM_SYNTAX, NUM_RANGE };

/* Parse one decimal number starting at p, not beyond end: [+-]digits[.digits][(e|E)[+-]digits],
 * with digits on at least one side of the point.  *ret_end is where it stopped. */
static enum num_status parse_number(const char *p, const char *end, double *ret, const char **ret_end)
{
        const char *s = p;
        uint64_t m = 0;
        int exp10 = 0, e = 0;
        bool neg = false, any = false, exact = true, eneg = false;
        char buf[400];
        size_t len;
        double v;

        if (p < end && (*p == '-' || *p == '+'))
                neg = *p++ == '-';
        for (; p < end && is_digit(*p); p++, any = true) {
                if (m < 100000000000000000ull)
                        m = m * 10 + (uint64_t)(*p - '0');
                else
                        exp10++, exact = exact && *p == '0';
        }
        if (p < end && *p == '.') {
                for (p++; p < end && is_digit(*p); p++, any = true) {
                        if (m < 100000000000000000ull)
                                m = m * 10 + (uint64_t)(*p - '0'), exp10--;
                        else
                                exact = exact && *p == '0';
                }
        }
        if (!any)
                return NUM_SYNTAX;
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                if (p < end && (*p == '-' || *p == '+'))
                        eneg = *p++ == '-';
                if (p >= end || !is_digit(*p))
                        return NUM_SYNTAX;
                for (; p < end && is_digit(*p); p++)
                        if (e < 100000)
                                e = e * 10 + (*p - '0');
                exp10 += eneg ? -e : e;
        }
        *ret_end = p;
        if (exact && m <= (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
                v = (double)m;
                v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
                *ret = neg ? -v : v;
                return NUM_OK;
        }
        /* The hard cases: many digits or a large exponent. */
        len = (size_t)(p - s);
        if (len >= sizeof(buf))
                return NUM_RANGE;
        memcpy(buf, s, len);
        buf[len] = '\0';
        v = strtod(buf, NULL);
        if (!isfinite(v))
                return NUM_RANGE;
        *ret = v;
        return NUM_OK;
}

/* ---- the CSV file ---- */

struct csv {
        struct input in;
        const char *p;          /* the next unread byte */
        const char *end;        /* of the bytes read so far */
        uint64_t line;          /* of the row being read */
        uint64_t blank_line;    /* the first of the empty lines just read, 0 if none */
        unsigned d, k;
};

/* The end of the line at c->p (its '\n', or the end of the file), reading
 * more of the file as needed.  EXIT_OK, or an exit code after printing why. */
static int next_line(struct csv *c, const char **ret_eol)
{
        for (;;) {
                const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
                const char *np;

                if (nl || c->in.eof || c->in.fd < 0) {
                        *ret_eol = nl ? nl : c->end;
                        return EXIT_OK;
                }
                if (c->p == c->in.data && c->in.len == INPUT_BUF_SIZE) {
                        if (memchr(c->p, '\r', (size_t)(c->end - c->p)))
                                cli_error("%s:%" PRIu64 ": the lines end in CR only (old Mac style); convert them "
                                          "with \"tr '\\r' '\\n'\"", c->in.path, c->line + 1);
                        else
                                cli_error("%s:%" PRIu64 ": line longer than %u bytes", c->in.path, c->line + 1,
                                          INPUT_BUF_SIZE);
                        return EXIT_USAGE;
                }
                np = input_fill(&c->in, c->p);
                if (!np)
                        return EXIT_RUNTIME;
                c->p = np;
                c->end = c->in.data + c->in.len;
        }
}

static int header_error(const struct csv *c, unsigned col, const char *name, size_t len, const char *expected)
{
        char raw[48], shown[200];

        snprintf(raw, sizeof(raw), "%.*s", (int)(len > 40 ? 40 : len), name);
        cli_error("%s:1: header column %u is '%s', expected %s; the header must be "
                  "x0,...,x{d-1},r0,...,r{K-1}", c->in.path, col, cli_printable(raw, shown, sizeof(shown)), expected);
        return EXIT_USAGE;
}

/* Is [s, s+len) the name prefix followed by the decimal number want? */
static bool column_is(const char *s, size_t len, char prefix, unsigned want)
{
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%c%u", prefix, want);

        return (size_t)n == len && memcmp(s, buf, len) == 0;
}

static int parse_header(struct csv *c)
{
        const char *p, *eol, *stop;
        unsigned col = 1;
        char expected[64];
        int rc;

        c->p = c->in.data;
        c->end = c->in.data + c->in.len;
        c->line = 0;
        if ((rc = next_line(c, &eol)) != EXIT_OK)
                return rc;
        p = c->p;
        if (eol == p && eol == c->end) {
                cli_error("%s: the file is empty; it needs a header x0,...,r0,... and data rows", c->in.path);
                return EXIT_USAGE;
        }
        stop = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (memchr(p, '\r', (size_t)(stop - p))) {
                cli_error("%s:1: the lines end in CR only (old Mac style); convert them with \"tr '\\r' '\\n'\"",
                          c->in.path);
                return EXIT_USAGE;
        }
        c->d = c->k = 0;
        while (p <= stop) {
                const char *comma = memchr(p, ',', (size_t)(stop - p));
                const char *fe = comma ? comma : stop;
                const size_t len = (size_t)(fe - p);

                if (c->k == 0 && column_is(p, len, 'x', c->d)) {
                        if (++c->d > ISCHED_MAX_FEATURES) {
                                cli_error("%s:1: more than %u feature columns", c->in.path, ISCHED_MAX_FEATURES);
                                return EXIT_USAGE;
                        }
                } else if (c->d > 0 && column_is(p, len, 'r', c->k)) {
                        if (++c->k > ISCHED_MAX_ARMS) {
                                cli_error("%s:1: more than %u reward columns (one per arrangement)", c->in.path,
                                          ISCHED_MAX_ARMS);
                                return EXIT_USAGE;
                        }
                } else {
                        if (c->d == 0)
                                snprintf(expected, sizeof(expected), "'x0'");
                        else if (c->k == 0)
                                snprintf(expected, sizeof(expected), "'x%u' or 'r0'", c->d);
                        else
                                snprintf(expected, sizeof(expected), "'r%u' or the end of the line", c->k);
                        return header_error(c, col, p, len, expected);
                }
                col++;
                if (!comma)
                        break;
                p = comma + 1;
        }
        if (c->k == 0) {
                cli_error("%s:1: the header has no reward columns r0,...; it must be x0,...,x{d-1},r0,...,r{K-1}",
                          c->in.path);
                return EXIT_USAGE;
        }
        c->p = eol < c->end ? eol + 1 : eol;
        c->line = 1;
        return EXIT_OK;
}

static void column_name(const struct csv *c, unsigned i, char *buf, size_t size)
{
        if (i < c->d)
                snprintf(buf, size, "x%u", i);
        else
                snprintf(buf, size, "r%u", i - c->d);
}

static int field_error(const struct csv *c, unsigned i, const char *field, const char *eol, enum num_status st)
{
        const char *stop = field;
        char name[16], raw[48], shown[200];

        while (stop < eol && *stop != ',' && *stop != '\r' && stop - field < 40)
                stop++;
        column_name(c, i, name, sizeof(name));
        snprintf(raw, sizeof(raw), "%.*s", (int)(stop - field), field);
        cli_printable(raw, shown, sizeof(shown));
        if (stop == field)
                cli_error("%s:%" PRIu64 ": column %u (%s) is empty", c->in.path, c->line, i + 1, name);
        else if (st == NUM_RANGE)
                cli_error("%s:%" PRIu64 ": column %u (%s): '%s' is out of the range of a double", c->in.path,
                          c->line, i + 1, name, shown);
        else
                cli_error("%s:%" PRIu64 ": column %u (%s): '%s' is not a finite decimal number", c->in.path, c->line,
                          i + 1, name, shown);
        return EXIT_USAGE;
}

static bool is_blank(const char *p, const char *eol)
{
        return p == eol || (p + 1 == eol && *p == '\r');
}

/* Read the next row into x (d values) and r (k values).  Empty lines at the
 * end of the file are accepted, as numpy and pandas accept them; one that
 * data follows is an error.  Every value, feature or reward, obeys the same
 * rule: a finite number no larger in magnitude than a policy accepts.
 * Returns EXIT_OK, -1 at the end of the file, or an exit code. */
static int next_row(struct csv *c, double *x, double *r)
{
        const unsigned n = c->d + c->k;
        const char *p, *eol;
        int rc;

        for (;;) {
                if ((rc = next_line(c, &eol)) != EXIT_OK)
                        return rc;
                if (c->p >= c->end)
                        return -1;
                c->line++;
                if (!is_blank(c->p, eol))
                        break;
                if (!c->blank_line)
                        c->blank_line = c->line;
                c->p = eol < c->end ? eol + 1 : eol;
        }
        if (c->blank_line) {
                cli_error("%s:%" PRIu64 ": empty line, and data follows it at line %" PRIu64 "; every row needs %u "
                          "values (only empty lines at the end of the file are ignored)",
                          c->in.path, c->blank_line, c->line, n);
                return EXIT_USAGE;
        }
        p = c->p;
        for (unsigned i = 0; i < n; i++) {
                double v;
                const char *q;
                enum num_status st = parse_number(p, eol, &v, &q);

                if (st == NUM_OK && q < eol && *q != ',' && *q != '\r')
                        st = NUM_SYNTAX;
                if (st != NUM_OK)
                        return field_error(c, i, p, eol, st);
                if (fabs(v) > ISCHED_POLICY_VALUE_MAX) {
                        char name[16];

                        column_name(c, i, name, sizeof(name));
                        cli_error("%s:%" PRIu64 ": column %u (%s): %g is beyond +-%g, the largest magnitude a policy "
                                  "accepts; scale the column", c->in.path, c->line, i + 1, name, v,
                                  ISCHED_POLICY_VALUE_MAX);
                        return EXIT_USAGE;
                }
                if (i < c->d)
                        x[i] = v;
                else
                        r[i - c->d] = v;
                if (i + 1 < n) {
                        if (q >= eol || *q != ',') {
                                cli_error("%s:%" PRIu64 ": %u values, expected %u (d = %u features, K = %u rewards)",
                                          c->in.path, c->line, i + 1, n, c->d, c->k);
                                return EXIT_USAGE;
                        }
                        p = q + 1;
                } else {
                        if (q < eol && *q == '\r')
                                q++;
                        if (q < eol) {
                                cli_error("%s:%" PRIu64 ": more than %u values (d = %u features, K = %u rewards)",
                                          c->in.path, c->line, n, c->d, c->k);
                                return EXIT_USAGE;
                        }
                }
        }
        c->p = eol < c->end ? eol + 1 : eol;
        return EXIT_OK;
}

/* ---- options ---- */

struct learn_opts {
        const char *data, *arms_out, *model_out;
        struct isched_policy_params params;
        bool have_kind, json;
        bool set_alpha, set_lambda, set_gamma, set_epsilon, set_decay, set_ts_v;
};

enum {
        OPT_DATA = 256, OPT_POLICY, OPT_ALPHA, OPT_LAMBDA, OPT_GAMMA, OPT_EPSILON, OPT_DECAY, OPT_TS_V,
        OPT_SEED, OPT_ARMS_OUT, OPT_MODEL_OUT, OPT_JSON,
};

/* Refuse options the chosen policy would ignore: a silent no-op hides typos. */
static bool check_applicable(const struct learn_opts *o)
{
        const enum isched_policy_kind k = o->params.kind;
        const char *name = isched_policy_kind_to_string(k);
        const struct {
                bool set;
                const char *opt;
                bool applies;
        } checks[] = {
                { o->set_alpha, "--alpha", k == ISCHED_POLICY_LINUCB || k == ISCHED_POLICY_DLINUCB },
                { o->set_lambda, "--lambda", k != ISCHED_POLICY_EGREEDY },
                { o->set_gamma, "--gamma", k == ISCHED_POLICY_DLINUCB },
                { o->set_epsilon, "--epsilon", k == ISCHED_POLICY_EGREEDY || k == ISCHED_POLICY_LINGREEDY },
                { o->set_decay, "--epsilon-decay", k == ISCHED_POLICY_EGREEDY || k == ISCHED_POLICY_LINGREEDY },
                { o->set_ts_v, "--ts-v", k == ISCHED_POLICY_LINTS },
        };

        for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
                if (checks[i].set && !checks[i].applies) {
                        cli_error("%s does not apply to the %s policy", checks[i].opt, name);
                        return false;
                }
        }
        return true;
}

static int parse_options(int argc, char **argv, struct learn_opts *o)
{
        static const struct option longopts[] = {
                { "data", required_argument, NULL, OPT_DATA },
                { "policy", required_argument, NULL, OPT_POLICY },
                { "alpha", required_argument, NULL, OPT_ALPHA },
                { "lambda", required_argument, NULL, OPT_LAMBDA },
                { "gamma", required_argument, NULL, OPT_GAMMA },
                { "epsilon", required_argument, NULL, OPT_EPSILON },
                { "epsilon-decay", required_argument, NULL, OPT_DECAY },
                { "ts-v", required_argument, NULL, OPT_TS_V },
                { "seed", required_argument, NULL, OPT_SEED },
                { "arms-out", required_argument, NULL, OPT_ARMS_OUT },
                { "model-out", required_argument, NULL, OPT_MODEL_OUT },
                { "json", no_argument, NULL, OPT_JSON },
                CLI_COMMON_LONGOPTS,
                {},
        };
        struct learn_opts def = {};
        struct isched_policy_params *pp = &o->params;
        enum isched_policy_kind kind;
        struct cli_getopt g;
        int c;

        *o = def;
        /* The real kind and d are known later; the defaults do not depend on them. */
        isched_policy_params_init(pp, ISCHED_POLICY_LINUCB, 1);
        cli_getopt_init(&g, "learn", longopts, NULL);
        while ((c = cli_getopt_next(&g, argc, argv)) != -1) {
                bool ok = true;

                switch (c) {
                case OPT_DATA: o->data = optarg; break;
                case OPT_POLICY:
                        if (isched_policy_kind_from_string(optarg, &kind) < 0) {
                                cli_error("--policy: unknown policy '%s'; use egreedy, lingreedy, linucb, dlinucb or lints",
                                          optarg);
                                return cli_usage_hint("learn ");
                        }
                        pp->kind = kind;
                        o->have_kind = true;
                        break;
                case OPT_ALPHA: ok = cli_parse_double("--alpha", optarg, 0, 1e6, &pp->alpha); o->set_alpha = true; break;
                case OPT_LAMBDA: ok = cli_parse_double("--lambda", optarg, 1e-12, 1e12, &pp->lambda); o->set_lambda = true; break;
                case OPT_GAMMA: ok = cli_parse_double("--gamma", optarg, 1e-12, 1, &pp->gamma); o->set_gamma = true; break;
                case OPT_EPSILON: ok = cli_parse_double("--epsilon", optarg, 0, 1, &pp->epsilon); o->set_epsilon = true; break;
                case OPT_DECAY: ok = cli_parse_double("--epsilon-decay", optarg, 0, 1e12, &pp->epsilon_decay); o->set_decay = true; break;
                case OPT_TS_V: ok = cli_parse_double("--ts-v", optarg, 1e-12, 1e6, &pp->ts_v); o->set_ts_v = true; break;
                case OPT_SEED: ok = cli_parse_u64("--seed", optarg, 0, UINT64_MAX, &pp->seed); break;
                case OPT_ARMS_OUT: o->arms_out = optarg; break;
                case OPT_MODEL_OUT: o->model_out = optarg; break;
                case OPT_JSON: o->json = true; break;
                case 'h': usage(stdout); return -1;
                case 'V': cli_version(); return -1;
                default: return EXIT_USAGE;
                }
                if (!ok)
                        return cli_usage_hint("learn ");
        }
        if (cli_extra_operand("learn", argc, argv))
                return EXIT_USAGE;
        if (!o->data || !o->have_kind) {
                cli_error("%s is required", !o->data ? "--data FILE" : "--policy KIND");
                return cli_usage_hint("learn ");
        }
        if (!check_applicable(o))
                return cli_usage_hint("learn ");
        return EXIT_OK;
}

/* ---- output ---- */

struct results {
        uint64_t rounds;
        double reward, oracle;
        double elapsed_s;
        double cpu_s;           /* CPU time of the process: the speed on an idle machine */
};

/* --arms-out: the chosen arm of each row, written as the rows go (constant
 * memory).  A regular file (or a new one) is written aside and renamed at
 * the end, so it never holds half a run (a symbolic link there is replaced,
 * not followed); a device or a pipe (/dev/stdout) is written directly.  Opened before the first row: a bad path is said at
 * once. */
struct arms_out {
        const char *path;
        char *tmp; /* renamed over path at the end; NULL when writing path itself */
        FILE *f;
};

static int arms_out_open(struct arms_out *o, const char *path)
{
        struct stat st;
        int fd;

        *o = (struct arms_out){ .path = path };
        /* A symbolic link is replaced by the rename, never followed. */
        if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
                if (S_ISDIR(st.st_mode)) {
                        cli_error("--arms-out %s is a directory; give a file", path);
                        return EXIT_USAGE;
                }
                fd = open(path, O_WRONLY | O_CLOEXEC);
        } else {
                if (asprintf(&o->tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
                        o->tmp = NULL;
                        return EXIT_RUNTIME;
                }
                fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        }
        if (fd < 0) {
                const int err = errno;

                cli_error("--arms-out %s: cannot write it: %s", path, strerror(err));
                free(o->tmp);
                o->tmp = NULL;
                return err == ENOENT || err == ENOTDIR ? EXIT_USAGE : EXIT_RUNTIME;
        }
        o->f = fdopen(fd, "w");
        if (!o->f) {
                close(fd);
                return EXIT_RUNTIME;
        }
        return EXIT_OK;
}

static bool arms_out_add(struct arms_out *o, uint32_t arm)
{
        return putc('0' + (int)arm, o->f) != EOF && putc('\n', o->f) != EOF;
}

/* Finish the file: keep it (flushed, synced, renamed into place) or drop
 * it.  Returns EXIT_OK or, after printing why, EXIT_RUNTIME. */
static int arms_out_close(struct arms_out *o, bool keep)
{
        int err = 0;

        if (!o->f)
                return EXIT_OK;
        if (fflush(o->f) != 0 || ferror(o->f))
                err = errno ? errno : EIO;
        if (!err && o->tmp && fsync(fileno(o->f)) < 0)
                err = errno;
        if (fclose(o->f) != 0 && !err)
                err = errno;
        o->f = NULL;
        if (keep && !err && o->tmp && rename(o->tmp, o->path) < 0)
                err = errno;
        if (o->tmp && (!keep || err))
                unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        if (keep && err) {
                cli_error("--arms-out %s: cannot write it: %s", o->path, strerror(err));
                return EXIT_RUNTIME;
        }
        return EXIT_OK;
}

/* --model-out: the model is saved at the end; its directory is checked
 * before the first row. */
static int check_model_out(const char *path)
{
        const char *slash = strrchr(path, '/');
        char dir[4096];
        struct stat st;

        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
        if (!dir[0])
                snprintf(dir, sizeof(dir), "/");
        if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                cli_error("--model-out %s exists and is not a regular file; give a file name", path);
                return EXIT_USAGE;
        }
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                cli_error("--model-out %s: directory %s does not exist", path, dir);
                return EXIT_USAGE;
        }
        if (access(dir, W_OK | X_OK) < 0) {
                cli_error("--model-out %s: directory %s is not writable: %s", path, dir, strerror(errno));
                return EXIT_RUNTIME;
        }
        return EXIT_OK;
}

static int print_results(const struct learn_opts *o, const struct csv *c, const struct results *res)
{
        const double n = (double)res->rounds;
        const double regret = res->oracle - res->reward;
        const double rate = res->elapsed_s > 0 ? n / res->elapsed_s : 0.0;
        const char *kind = isched_policy_kind_to_string(o->params.kind);

        if (o->json) {
                cJSON *j = cJSON_CreateObject();
                char *text;

                cJSON_AddStringToObject(j, "schema", "isched-learn-v1");
                cJSON_AddStringToObject(j, "policy", kind);
                cJSON_AddNumberToObject(j, "nr_features", c->d);
                cJSON_AddNumberToObject(j, "nr_arms", c->k);
                cJSON_AddNumberToObject(j, "rounds", n);
                cJSON_AddNumberToObject(j, "mean_reward", res->reward / n);
                cJSON_AddNumberToObject(j, "mean_oracle_reward", res->oracle / n);
                cJSON_AddNumberToObject(j, "regret", regret);
                cJSON_AddNumberToObject(j, "regret_per_round", regret / n);
                cJSON_AddNumberToObject(j, "elapsed_s", res->elapsed_s);
                cJSON_AddNumberToObject(j, "cpu_s", res->cpu_s);
                cJSON_AddNumberToObject(j, "decisions_per_second", rate);
                text = cJSON_PrintUnformatted(j);
                cJSON_Delete(j);
                if (!text) {
                        cli_error("out of memory");
                        return EXIT_RUNTIME;
                }
                printf("%s\n", text);
                free(text);
        } else {
                printf("policy:               %s (d = %u features, K = %u arms)\n", kind, c->d, c->k);
                printf("rounds:               %" PRIu64 "\n", res->rounds);
                printf("mean reward:          %.6g\n", res->reward / n);
                printf("mean oracle reward:   %.6g\n", res->oracle / n);
                printf("regret:               %.6g total, %.6g per round\n", regret, regret / n);
                printf("decisions per second: %.0f (%.3f s, %.3f s of CPU, parsing included)\n", rate,
                       res->elapsed_s, res->cpu_s);
        }
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}

/* ---- the loop ---- */

static double clock_s(clockid_t id)
{
        struct timespec ts;

        clock_gettime(id, &ts);
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run(struct csv *c, struct isched_policy *p, struct arms_out *out, struct results *res)
{
        double x[ISCHED_MAX_FEATURES], rw[ISCHED_MAX_ARMS];
        int rc;

        while ((rc = next_row(c, x, rw)) == EXIT_OK) {
                uint32_t arm;
                double best = rw[0];
                int r = isched_policy_choose(p, x, c->d, NULL, &arm);

                if (r == 0)
                        r = isched_policy_update(p, arm, x, c->d, rw[arm]);
                if (r < 0) {
                        char what[64];

                        snprintf(what, sizeof(what), "%s:%" PRIu64, c->in.path, c->line);
                        return cli_fail(r, what);
                }
                for (unsigned a = 1; a < c->k; a++)
                        best = rw[a] > best ? rw[a] : best;
                res->reward += rw[arm];
                res->oracle += best;
                res->rounds++;
                if (out->f && !arms_out_add(out, arm)) {
                        cli_error("--arms-out %s: cannot write it: %s", out->path, strerror(errno ? errno : EIO));
                        return EXIT_RUNTIME;
                }
        }
        if (rc != -1)
                return rc;
        if (res->rounds == 0) {
                cli_error("%s: no data rows after the header", c->in.path);
                return EXIT_USAGE;
        }
        return EXIT_OK;
}

int cmd_learn(int argc, char **argv)
{
        struct learn_opts o;
        struct csv c = {};
        struct results res = {};
        struct arms_out out = {};
        struct isched_policy *p = NULL;
        double t0, cpu0;
        int rc, r;

        rc = parse_options(argc, argv, &o);
        if (rc != EXIT_OK)
                return rc < 0 ? EXIT_OK : rc;
        t0 = clock_s(CLOCK_MONOTONIC);
        cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        /* Every output is checked before the first row is read. */
        if (o.model_out && (rc = check_model_out(o.model_out)) != EXIT_OK)
                return rc;
        rc = input_open(&c.in, o.data);
        if (rc == EXIT_OK && o.arms_out)
                rc = arms_out_open(&out, o.arms_out);
        if (rc == EXIT_OK)
                rc = parse_header(&c);
        if (rc == EXIT_OK) {
                o.params.n_features = c.d;
                o.params.arm_mask = (1u << c.k) - 1u;
                r = isched_policy_new(&o.params, &p);
                if (r < 0)
                        rc = cli_fail(r, "policy");
        }
        if (rc == EXIT_OK)
                rc = run(&c, p, &out, &res);
        res.elapsed_s = clock_s(CLOCK_MONOTONIC) - t0;
        res.cpu_s = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
        input_close(&c.in);
        r = arms_out_close(&out, rc == EXIT_OK);
        if (rc == EXIT_OK)
                rc = r;
        if (rc == EXIT_OK && o.model_out) {
                r = isched_model_save(o.model_out, p, NULL);
                if (r < 0)
                        rc = cli_fail(r, "--model-out");
        }
        if (rc == EXIT_OK)
                rc = print_results(&o, &c, &res);
        isched_policy_free(p);
        return rc;
}
