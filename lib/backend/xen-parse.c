/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pure helpers of the xen backend, see xen-parse.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "xen-parse.h"
#include "util/util.h"

#define LEAF(n, b, member) { n, b, offsetof(struct isched__xen_stats, member) }

const struct isched__xen_stat_leaf isched__xen_stat_leaves[] = {
        LEAF("nr-runqueues", XSTAT_NR_RUNQUEUES, nr_runqueues),
        LEAF("max-cpus-runqueue", XSTAT_MAX_CPUS_RUNQUEUE, max_cpus_runqueue),
        LEAF("rearrangements", XSTAT_REARRANGEMENTS, rearrangements),
        LEAF("freeze-last-ns", XSTAT_FREEZE, freeze_last_ns),
        LEAF("freeze-max-ns", XSTAT_FREEZE, freeze_max_ns),
        LEAF("freeze-total-ns", XSTAT_FREEZE, freeze_total_ns),
        LEAF("wakeups", XSTAT_WAKEUPS, wakeups),
        LEAF("context-switches", XSTAT_CONTEXT_SWITCHES, context_switches),
        LEAF("migrations", XSTAT_MIGRATIONS, migrations),
        LEAF("balance-checks", XSTAT_BALANCE_CHECKS, balance_checks),
        LEAF("balance-moves", XSTAT_BALANCE_MOVES, balance_moves),
        LEAF("runnable-wait-ns", XSTAT_RUNNABLE_WAIT, runnable_wait_ns),
        LEAF("wake-latency-negative", XSTAT_WAKE_LATENCY_NEGATIVE, wake_latency_negative),
};
const size_t isched__xen_nr_stat_leaves = ARRAY_SIZE(isched__xen_stat_leaves);

int isched__xen_parse_snapshot(bool is_blob, const void *content, size_t size, struct isched__xen_stats *ret)
{
        const unsigned char *p = content;
        struct isched__xen_stats s;
        uint32_t hdr[4];
        uint64_t expect;
        size_t known;

        if (!content || !ret)
                return isched__error(-EINVAL, "isched__xen_parse_snapshot: NULL argument");
        if (!is_blob)
                return isched__error(-EBADMSG, "hypfs node credit2-stats/snapshot is not a blob");
        if (size < ISCHED_XEN_SNAPSHOT_HEADER)
                return isched__error(-EBADMSG,
                                     "hypfs node credit2-stats/snapshot has %zu bytes, less than its %u-byte header",
                                     size, ISCHED_XEN_SNAPSHOT_HEADER);
        memcpy(hdr, p, sizeof(hdr));
        if (hdr[0] != ISCHED_XEN_SNAPSHOT_VERSION)
                return isched__error(-EBADMSG,
                                     "hypfs node credit2-stats/snapshot has format version %" PRIu32
                                     ", isched reads version %u (xen-patches and isched do not match)",
                                     hdr[0], ISCHED_XEN_SNAPSHOT_VERSION);
        expect = ISCHED_XEN_SNAPSHOT_HEADER + ((uint64_t)hdr[1] + hdr[2]) * sizeof(uint64_t);
        if (size != expect)
                return isched__error(-EBADMSG,
                                     "hypfs node credit2-stats/snapshot has %zu bytes, its header says %" PRIu32
                                     " statistics and %" PRIu32 " buckets (%" PRIu64 " bytes)",
                                     size, hdr[1], hdr[2], expect);
        if (hdr[2] != ISCHED_LATENCY_BUCKETS)
                return isched__error(-EBADMSG,
                                     "the hypervisor's wake-latency histogram has %" PRIu32
                                     " buckets, %u expected (xen-patches and isched do not match)",
                                     hdr[2], ISCHED_LATENCY_BUCKETS);

        memset(&s, 0, sizeof(s));
        known = hdr[1] < isched__xen_nr_stat_leaves ? hdr[1] : isched__xen_nr_stat_leaves;
        for (size_t i = 0; i < known; i++) {
                const struct isched__xen_stat_leaf *l = &isched__xen_stat_leaves[i];

                memcpy((char *)&s + l->offset, p + ISCHED_XEN_SNAPSHOT_HEADER + i * sizeof(uint64_t),
                       sizeof(uint64_t));
                s.present |= l->bit;
        }
        /* A bit shared by several statistics (XSTAT_FREEZE) needs them all. */
        for (size_t i = known; i < isched__xen_nr_stat_leaves; i++)
                s.present &= ~isched__xen_stat_leaves[i].bit;
        memcpy(s.wake_latency_hist, p + ISCHED_XEN_SNAPSHOT_HEADER + (size_t)hdr[1] * sizeof(uint64_t),
               sizeof(s.wake_latency_hist));
        s.present |= XSTAT_WAKE_LATENCY;
        *ret = s;
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

int isched__xen_plan_runqueues(const struct isched__xen_cpu_topo *topo, size_t nr_cpus,
                               const bool *in_pool, enum isched_arrangement arrangement,
                               unsigned max_cpus_runq, bool gran_cpu, uint32_t *ret_rq_of,
                               uint32_t *ret_nr)
{
        struct sim_rq *rqs;
        size_t *rq_of, nr_rqs = 0;
        unsigned online = 0, min_rqs, max_q;

        if (!topo || !in_pool || !ret_nr || !nr_cpus || (unsigned)arrangement >= ISCHED_ARR_COUNT ||
            !max_cpus_runq)
                return isched__error(-EINVAL, "isched__xen_plan_runqueues: bad argument");
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
        if (ret_rq_of)
                for (size_t i = 0; i < nr_cpus; i++)
                        ret_rq_of[i] = rq_of[i] == SIZE_MAX ? UINT32_MAX : (uint32_t)rq_of[i];
        free(rqs);
        free(rq_of);
        *ret_nr = (uint32_t)nr_rqs;
        return 0;
}

int isched__xen_count_runqueues(const struct isched__xen_cpu_topo *topo, size_t nr_cpus,
                                const bool *in_pool, enum isched_arrangement arrangement,
                                unsigned max_cpus_runq, bool gran_cpu, uint32_t *ret_nr)
{
        return isched__xen_plan_runqueues(topo, nr_cpus, in_pool, arrangement, max_cpus_runq, gran_cpu,
                                          NULL, ret_nr);
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
