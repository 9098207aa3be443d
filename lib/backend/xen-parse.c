/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pure helpers of the xen backend, see xen-parse.h. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xen-parse.h"
#include "util/util.h"

enum stat_kind { STAT_U64, STAT_ARRANGEMENT, STAT_HISTOGRAM };

/* Buckets of the "wake_latency_log2" line of the v1 patch series. */
#define XEN_LOG2_BUCKETS 32

struct stat_field {
        const char *name;
        uint32_t bit;
        enum stat_kind kind;
        size_t offset; /* of the uint64_t in struct isched__xen_stats */
};

#define U64_FIELD(n, b, member) { n, b, STAT_U64, offsetof(struct isched__xen_stats, member) }

static const struct stat_field stat_fields[] = {
        { "arrangement", XSTAT_ARRANGEMENT, STAT_ARRANGEMENT, 0 },
        U64_FIELD("nr_runqueues", XSTAT_NR_RUNQUEUES, nr_runqueues),
        U64_FIELD("max_cpus_runqueue", XSTAT_MAX_CPUS_RUNQUEUE, max_cpus_runqueue),
        U64_FIELD("rearrangements", XSTAT_REARRANGEMENTS, rearrangements),
        U64_FIELD("wakeups", XSTAT_WAKEUPS, wakeups),
        U64_FIELD("context_switches", XSTAT_CONTEXT_SWITCHES, context_switches),
        U64_FIELD("migrations", XSTAT_MIGRATIONS, migrations),
        U64_FIELD("balance_checks", XSTAT_BALANCE_CHECKS, balance_checks),
        U64_FIELD("balance_moves", XSTAT_BALANCE_MOVES, balance_moves),
        U64_FIELD("runnable_wait_ns", XSTAT_RUNNABLE_WAIT, runnable_wait_ns),
        { "wake_latency_log2", XSTAT_WAKE_LATENCY, STAT_HISTOGRAM, 0 },
};

static const char *skip_blanks(const char *p)
{
        while (*p == ' ' || *p == '\t' || *p == '\r')
                p++;
        return p;
}

/* Parse one unsigned decimal 64-bit token at *p (no sign, no overflow) and
 * advance *p past it.  Returns false if there is none or it is bad. */
static bool parse_u64_token(const char **p, uint64_t *ret)
{
        const char *s = skip_blanks(*p);
        uint64_t v = 0;

        if (!isdigit((unsigned char)*s))
                return false;
        for (; isdigit((unsigned char)*s); s++) {
                const unsigned d = (unsigned)(*s - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        if (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
                return false;
        *p = s;
        *ret = v;
        return true;
}

static bool at_line_end(const char *p)
{
        p = skip_blanks(p);
        return *p == '\0' || *p == '\n';
}

static int bad_line(unsigned line, const char *name, const char *what)
{
        return isched__error(-EBADMSG,
                             "malformed credit2-stats from the hypervisor: line %u (%s): %s", line,
                             name, what);
}

static int parse_field(const struct stat_field *f, const char *p, unsigned line,
                       struct isched__xen_stats *s)
{
        char word[16];
        size_t n = 0;

        switch (f->kind) {
        case STAT_U64:
                if (!parse_u64_token(&p, (uint64_t *)((char *)s + f->offset)))
                        return bad_line(line, f->name, "expected one unsigned decimal number");
                break;
        case STAT_HISTOGRAM:
                /* The v1 series reports 32 log2 buckets, [2^i, 2^(i+1)) ns.
                 * Each octave's count goes to the first of its sub-octave
                 * buckets (counters.h), which keeps the counters monotonic
                 * but places every sample at its octave's lower edge. */
                for (unsigned i = 0; i < XEN_LOG2_BUCKETS; i++) {
                        uint64_t count;

                        if (!parse_u64_token(&p, &count))
                                return bad_line(line, f->name, "expected 32 unsigned decimal counts");
                        s->wake_latency_hist[isched_latency_bucket(i ? UINT64_C(1) << i : 0)] += count;
                }
                break;
        case STAT_ARRANGEMENT:
                p = skip_blanks(p);
                while (p[n] && !isspace((unsigned char)p[n]) && n < sizeof(word) - 1) {
                        word[n] = p[n];
                        n++;
                }
                word[n] = '\0';
                if (isched_arrangement_from_string(word, &s->arrangement) < 0)
                        return bad_line(line, f->name, "expected cpu, core, socket, node or all");
                p += n;
                break;
        }
        if (!at_line_end(p))
                return bad_line(line, f->name, "unexpected text after the value");
        return 0;
}

int isched__xen_parse_stats(const char *text, struct isched__xen_stats *ret_stats)
{
        struct isched__xen_stats s;
        unsigned line = 0;
        const char *p = text;

        if (!text || !ret_stats)
                return isched__error(-EINVAL, "isched__xen_parse_stats: NULL argument");
        memset(&s, 0, sizeof(s));
        while (*p) {
                const char *eol = strchr(p, '\n');
                const char *name = skip_blanks(p);
                size_t len = 0;

                line++;
                while (name[len] && !isspace((unsigned char)name[len]))
                        len++;
                for (size_t i = 0; len && i < ARRAY_SIZE(stat_fields); i++) {
                        const struct stat_field *f = &stat_fields[i];
                        int r;

                        if (strlen(f->name) != len || strncmp(name, f->name, len) != 0)
                                continue;
                        if (s.present & f->bit)
                                return bad_line(line, f->name, "repeated");
                        r = parse_field(f, name + len, line, &s);
                        if (r < 0)
                                return r;
                        s.present |= f->bit;
                        break;
                }
                /* Unknown names and empty lines are skipped on purpose:
                 * the interface lets the hypervisor append new lines. */
                if (!eol)
                        break;
                p = eol + 1;
        }
        *ret_stats = s;
        return 0;
}

void isched__xen_stats_to_counters(const struct isched__xen_stats *s, struct isched_counters *c)
{
        if (s->present & XSTAT_WAKEUPS) {
                c->wakeups = s->wakeups;
                c->valid |= ISCHED_CNT_WAKEUPS;
        }
        if (s->present & XSTAT_CONTEXT_SWITCHES) {
                c->context_switches = s->context_switches;
                c->valid |= ISCHED_CNT_CSWITCH;
        }
        if (s->present & XSTAT_MIGRATIONS) {
                c->migrations = s->migrations;
                c->valid |= ISCHED_CNT_MIGRATIONS;
        }
        if ((s->present & (XSTAT_BALANCE_CHECKS | XSTAT_BALANCE_MOVES)) ==
            (XSTAT_BALANCE_CHECKS | XSTAT_BALANCE_MOVES)) {
                c->balance_checks = s->balance_checks;
                c->balance_moves = s->balance_moves;
                c->valid |= ISCHED_CNT_BALANCE;
        }
        if (s->present & XSTAT_RUNNABLE_WAIT) {
                c->runnable_wait_ns = s->runnable_wait_ns;
                c->valid |= ISCHED_CNT_WAIT;
        }
        if (s->present & XSTAT_WAKE_LATENCY) {
                memcpy(c->wake_latency_hist, s->wake_latency_hist, sizeof(c->wake_latency_hist));
                c->valid |= ISCHED_CNT_LATENCY;
        }
}

int isched__xen_parse_arrangement(const char *text, enum isched_arrangement *ret_arrangement)
{
        char word[16];
        size_t start = 0, end;

        if (!text || !ret_arrangement)
                return isched__error(-EINVAL, "isched__xen_parse_arrangement: NULL argument");
        end = strlen(text);
        while (start < end && isspace((unsigned char)text[start]))
                start++;
        while (end > start && isspace((unsigned char)text[end - 1]))
                end--;
        if (end - start >= sizeof(word))
                return isched__error(-EBADMSG, "the hypervisor reported an unknown credit2 arrangement");
        memcpy(word, text + start, end - start);
        word[end - start] = '\0';
        if (isched_arrangement_from_string(word, ret_arrangement) < 0)
                return isched__error(-EBADMSG,
                                     "the hypervisor reported an unknown credit2 arrangement '%s'", word);
        return 0;
}

/* Xen compares option names treating '-' and '_' alike. */
static bool option_name_equal(const char *a, size_t alen, const char *b)
{
        if (strlen(b) != alen)
                return false;
        for (size_t i = 0; i < alen; i++) {
                const char ca = a[i] == '-' ? '_' : a[i], cb = b[i] == '-' ? '_' : b[i];

                if (ca != cb)
                        return false;
        }
        return true;
}

int isched__xen_cmdline_option(const char *cmdline, const char *name, char *ret_value, size_t len)
{
        const char *p = cmdline;
        int found = 0;

        if (!cmdline || !name || !ret_value || !len)
                return isched__error(-EINVAL, "isched__xen_cmdline_option: bad argument");
        while (*p) {
                const char *tok, *eq;
                size_t toklen;

                while (*p == ' ')
                        p++;
                tok = p;
                while (*p && *p != ' ')
                        p++;
                toklen = (size_t)(p - tok);
                if (!toklen)
                        continue;
                /* Xen stops at "--": the rest belongs to dom0. */
                if (toklen == 2 && tok[0] == '-' && tok[1] == '-')
                        break;
                eq = memchr(tok, '=', toklen);
                if (!eq || !option_name_equal(tok, (size_t)(eq - tok), name))
                        continue;
                toklen -= (size_t)(eq + 1 - tok);
                if (toklen >= len)
                        toklen = len - 1;
                memcpy(ret_value, eq + 1, toklen);
                ret_value[toklen] = '\0';
                found = 1;
        }
        return found;
}

static bool cpu_online(const struct isched__xen_cpu_topo *t)
{
        return t->core != ISCHED_XEN_INVALID_ID;
}

/* x86's cpu_sibling_mask: the online threads of the same core. */
static bool siblings(const struct isched__xen_cpu_topo *topo, size_t a, size_t b)
{
        return cpu_online(&topo[a]) && cpu_online(&topo[b]) && topo[a].socket == topo[b].socket &&
               topo[a].core == topo[b].core;
}

static unsigned nr_siblings(const struct isched__xen_cpu_topo *topo, size_t nr_cpus, size_t cpu)
{
        unsigned n = 0;

        for (size_t i = 0; i < nr_cpus; i++)
                n += siblings(topo, cpu, i);
        return n;
}

static bool runqueue_match(const struct isched__xen_cpu_topo *topo, enum isched_arrangement a,
                           size_t peer, size_t cpu)
{
        switch (a) {
        case ISCHED_ARR_ALL:
                return true;
        case ISCHED_ARR_CORE:
                return topo[peer].socket == topo[cpu].socket && topo[peer].core == topo[cpu].core;
        case ISCHED_ARR_SOCKET:
                return topo[peer].socket == topo[cpu].socket;
        case ISCHED_ARR_NODE:
                return topo[peer].node == topo[cpu].node;
        default:
                return false; /* cpu: never an existing runqueue */
        }
}

struct sim_rq {
        size_t pick_bias; /* the runqueue's first CPU */
        unsigned refcnt;
};

/* cpu_runqueue_siblings_match(): room for the CPU and all its siblings,
 * counting every sibling group already represented in the runqueue. */
static bool siblings_fit(const struct isched__xen_cpu_topo *topo, size_t nr_cpus,
                         const size_t *rq_of, size_t rq, size_t cpu, unsigned max_q)
{
        unsigned tot = 0;

        for (size_t r = 0; r < nr_cpus; r++) {
                bool counted = false;

                if (rq_of[r] != rq)
                        continue;
                /* Count a sibling group once: at its first member in the runqueue. */
                for (size_t q = 0; q < r && !counted; q++)
                        counted = rq_of[q] == rq && siblings(topo, q, r);
                if (!counted)
                        tot += nr_siblings(topo, nr_cpus, r);
        }
        return tot + nr_siblings(topo, nr_cpus, cpu) <= max_q;
}

int isched__xen_count_runqueues(const struct isched__xen_cpu_topo *topo, size_t nr_cpus,
                                const bool *in_pool, enum isched_arrangement arrangement,
                                unsigned max_cpus_runq, bool gran_cpu, uint32_t *ret_nr)
{
        struct sim_rq *rqs;
        size_t *rq_of, nr_rqs = 0;
        unsigned online = 0, min_rqs, max_q;

        if (!topo || !in_pool || !ret_nr || !nr_cpus || (unsigned)arrangement >= ISCHED_ARR_COUNT ||
            !max_cpus_runq)
                return isched__error(-EINVAL, "isched__xen_count_runqueues: bad argument");
        for (size_t i = 0; i < nr_cpus; i++)
                online += cpu_online(&topo[i]);
        if (!online)
                return isched__error(-EINVAL, "the topology has no online CPU");
        min_rqs = (online - 1) / max_cpus_runq + 1;
        max_q = online / min_rqs;

        rqs = calloc(nr_cpus, sizeof(*rqs));
        rq_of = malloc(nr_cpus * sizeof(*rq_of));
        if (!rqs || !rq_of) {
                free(rqs);
                free(rq_of);
                return isched__error(-ENOMEM, "out of memory predicting runqueues");
        }
        for (size_t i = 0; i < nr_cpus; i++)
                rq_of[i] = SIZE_MAX;

        for (size_t cpu = 0; cpu < nr_cpus; cpu++) {
                size_t valid = SIZE_MAX;

                if (!in_pool[cpu] || !cpu_online(&topo[cpu]))
                        continue;
                for (size_t r = 0; r < nr_rqs; r++) {
                        bool sibling_inside = false;

                        if (!runqueue_match(topo, arrangement, rqs[r].pick_bias, cpu))
                                continue;
                        for (size_t q = 0; q < nr_cpus && !sibling_inside; q++)
                                sibling_inside = rq_of[q] == r && siblings(topo, q, cpu);
                        if (sibling_inside) {
                                valid = r;
                                break;
                        }
                        if (rqs[r].refcnt < max_q &&
                            (!gran_cpu || arrangement == ISCHED_ARR_ALL ||
                             siblings_fit(topo, nr_cpus, rq_of, r, cpu, max_q)) &&
                            (valid == SIZE_MAX || rqs[r].refcnt < rqs[valid].refcnt))
                                valid = r;
                }
                if (valid == SIZE_MAX) {
                        valid = nr_rqs++;
                        rqs[valid].pick_bias = cpu;
                }
                rqs[valid].refcnt++;
                rq_of[cpu] = valid;
        }
        free(rqs);
        free(rq_of);
        *ret_nr = (uint32_t)nr_rqs;
        return 0;
}

void isched__xen_cpu_account(struct isched__xen_cpu_acct *a, uint64_t now_ns, uint64_t xen_idle_ns)
{
        uint64_t elapsed, idle;

        if (!a->started) {
                a->t0_ns = now_ns;
                a->idle0_ns = xen_idle_ns;
                a->started = true;
        }
        /* A clock going backwards would be a bug elsewhere: never underflow. */
        elapsed = now_ns >= a->t0_ns ? now_ns - a->t0_ns : 0;
        if (elapsed < a->busy_ns + a->idle_ns)
                elapsed = a->busy_ns + a->idle_ns;
        idle = xen_idle_ns >= a->idle0_ns ? xen_idle_ns - a->idle0_ns : 0;
        if (idle > elapsed - a->busy_ns)
                idle = elapsed - a->busy_ns; /* busy never shrinks */
        if (idle < a->idle_ns)
                idle = a->idle_ns;           /* idle never shrinks */
        a->idle_ns = idle;
        a->busy_ns = elapsed - idle;
}
