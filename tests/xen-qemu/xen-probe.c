/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xen-probe: drives the xen backend through libintellisched's public API,
 * inside the dom0 of the end-to-end test (tests/xen-qemu/).  Every result
 * is one line starting with "PROBE" that dom0-test.sh checks.
 *
 *   xen-probe pools                   list pools, one line each
 *   xen-probe counters POOL [SECS]    one counter snapshot, or a window
 *   xen-probe set POOL ARR            set an arrangement and read it back
 *   xen-probe advisory POOL           expect set to be refused (-EOPNOTSUPP)
 *   xen-probe cycle POOL N            N switches through all arrangements,
 *                                     each read back, counters checked
 *   xen-probe plan POOL ARR           the runqueues the backend predicts for
 *                                     ARR, with their CPUs, as the 'r' debug
 *                                     key prints them ("0:0-3 1:4-7")
 *   xen-probe snapshot POOL           the raw credit2-stats/snapshot blob in
 *                                     hex, decoded, and checked against the
 *                                     integer leaves read right after it
 *   xen-probe runstate DOMID          Xen's runstate accounting of a domain:
 *                                     each vCPU's running time, then the
 *                                     domain's CPU time (what the backend
 *                                     sums per pool), on dom0's monotonic
 *                                     clock, read back to back
 * POOL is a cpupool name.  Exit status 0 on success, 1 on failure. */
#include <errno.h>
#include <inttypes.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>
#include <xenhypfs.h>

#include "backend/xen-parse.h"
#include "intellisched/intellisched.h"

static void log_to_stderr(enum isched_log_priority prio, const char *msg, void *userdata)
{
        fprintf(stderr, "xen-probe: log %d: %s\n", (int)prio, msg);
}

static int fail(const char *what, int r)
{
        printf("PROBE FAIL %s: %s (%s)\n", what, strerror(-r), isched_last_error());
        return 1;
}

static void print_pool(const struct isched_pool_info *p)
{
        printf("PROBE POOL id=%" PRIu32 " name=%s sched=%s pcpus=%" PRIu32 " arrangement=%s can_switch=%d rq=%u,%u,%u,%u,%u reason=\"%s\"\n",
               p->id, p->name, p->scheduler, p->nr_pcpus, isched_arrangement_to_string(p->arrangement),
               p->can_switch, p->nr_runqueues[0], p->nr_runqueues[1], p->nr_runqueues[2],
               p->nr_runqueues[3], p->nr_runqueues[4], p->reason);
}

static void print_counters(const struct isched_counters *c)
{
        uint64_t hist = 0;

        for (unsigned i = 0; i < ISCHED_LATENCY_BUCKETS; i++)
                hist += c->wake_latency_hist[i];
        printf("PROBE COUNTERS valid=0x%x pcpus=%" PRIu32 " vcpus=%" PRIu32 " arrangement=%s busy_ns=%" PRIu64
               " idle_ns=%" PRIu64 " guest_ns=%" PRIu64 " wait_ns=%" PRIu64 " wakeups=%" PRIu64
               " cswitch=%" PRIu64 " migrations=%" PRIu64 " balance=%" PRIu64 "/%" PRIu64 " hist_total=%" PRIu64 "\n",
               c->valid, c->nr_pcpus, c->nr_vcpus, isched_arrangement_to_string(c->arrangement), c->busy_ns,
               c->idle_ns, c->guest_ns, c->runnable_wait_ns, c->wakeups, c->context_switches, c->migrations,
               c->balance_checks, c->balance_moves, hist);
}

static int cmd_pools(struct isched_backend *b)
{
        struct isched_pool_info *pools = NULL;
        size_t n = 0;
        int r = isched_backend_list_pools(b, &pools, &n);

        if (r < 0)
                return fail("list_pools", r);
        for (size_t i = 0; i < n; i++)
                print_pool(&pools[i]);
        printf("PROBE OK pools=%zu\n", n);
        free(pools);
        return 0;
}

/* One snapshot, or a window of @p seconds: two snapshots that must pass
 * isched_counters_check_window(), and their differences. */
static int cmd_counters(struct isched_backend *b, const struct isched_pool_info *p, double seconds)
{
        struct isched_counters c0, c1;
        uint64_t h0 = 0, h1 = 0;
        int r = isched_backend_read_counters(b, p->id, &c0);

        if (r < 0)
                return fail("read_counters", r);
        print_counters(&c0);
        if (seconds <= 0) {
                printf("PROBE OK counters\n");
                return 0;
        }
        r = isched_backend_wait(b, (uint64_t)(seconds * 1e9));
        if (r < 0)
                return fail("wait", r);
        r = isched_backend_read_counters(b, p->id, &c1);
        if (r < 0)
                return fail("read_counters", r);
        print_counters(&c1);
        r = isched_counters_check_window(&c0, &c1);
        if (r < 0)
                return fail("counters_check_window", r);
        for (unsigned i = 0; i < ISCHED_LATENCY_BUCKETS; i++) {
                h0 += c0.wake_latency_hist[i];
                h1 += c1.wake_latency_hist[i];
        }
        printf("PROBE OK window valid=0x%x elapsed_ns=%" PRIu64 " busy_ns=%" PRIu64 " idle_ns=%" PRIu64
               " guest_ns=%" PRIu64 " wait_ns=%" PRIu64 " wakeups=%" PRIu64 " cswitch=%" PRIu64
               " migrations=%" PRIu64 " balance_checks=%" PRIu64 " hist=%" PRIu64 "\n",
               c1.valid, c1.timestamp_ns - c0.timestamp_ns, c1.busy_ns - c0.busy_ns, c1.idle_ns - c0.idle_ns,
               c1.guest_ns - c0.guest_ns, c1.runnable_wait_ns - c0.runnable_wait_ns, c1.wakeups - c0.wakeups,
               c1.context_switches - c0.context_switches, c1.migrations - c0.migrations,
               c1.balance_checks - c0.balance_checks, h1 - h0);
        return 0;
}

static int set_and_check(struct isched_backend *b, uint32_t pool, enum isched_arrangement a)
{
        enum isched_arrangement got;
        int r = isched_backend_set_arrangement(b, pool, a);

        if (r < 0)
                return fail("set_arrangement", r);
        r = isched_backend_get_arrangement(b, pool, &got);
        if (r < 0)
                return fail("get_arrangement", r);
        if (got != a) {
                printf("PROBE FAIL set %s but the hypervisor reports %s\n", isched_arrangement_to_string(a),
                       isched_arrangement_to_string(got));
                return 1;
        }
        return 0;
}

static int cmd_set(struct isched_backend *b, const struct isched_pool_info *p, const char *name)
{
        enum isched_arrangement a;
        struct isched_pool_info now;
        int r = isched_arrangement_from_string(name, &a);

        if (r < 0)
                return fail("arrangement", r);
        if (set_and_check(b, p->id, a))
                return 1;
        r = isched_backend_find_pool(b, p->name, &now);
        if (r < 0)
                return fail("find_pool", r);
        printf("PROBE OK set %s nr_runqueues=%u\n", name, now.nr_runqueues[a]);
        return 0;
}

static int cmd_advisory(struct isched_backend *b, const struct isched_pool_info *p)
{
        int r;

        if (p->can_switch) {
                printf("PROBE FAIL pool %s claims it can be switched\n", p->name);
                return 1;
        }
        r = isched_backend_set_arrangement(b, p->id, ISCHED_ARR_CORE);
        if (r != -EOPNOTSUPP) {
                printf("PROBE FAIL set_arrangement returned %d, expected -EOPNOTSUPP\n", r);
                return 1;
        }
        printf("PROBE OK advisory reason=\"%s\" set_error=\"%s\"\n", p->reason, isched_last_error());
        return 0;
}

static int cmd_cycle(struct isched_backend *b, const struct isched_pool_info *p, unsigned long n)
{
        struct isched_counters prev, cur;
        unsigned long done = 0, busy = 0, stale = 0;
        int r = isched_backend_read_counters(b, p->id, &prev);

        if (r < 0)
                return fail("read_counters", r);
        for (unsigned long i = 0; i < n; i++) {
                const enum isched_arrangement a = (enum isched_arrangement)(i % ISCHED_ARR_COUNT);

                r = isched_backend_set_arrangement(b, p->id, a);
                if (r == -EBUSY) {
                        /* A concurrent cpupool-cpu-add/remove: allowed. */
                        busy++;
                        continue;
                }
                if (r < 0)
                        return fail("set_arrangement (cycle)", r);
                done++;
                r = isched_backend_read_counters(b, p->id, &cur);
                if (r < 0)
                        return fail("read_counters (cycle)", r);
                r = isched_counters_check_window(&prev, &cur);
                if (r == -ESTALE) {
                        stale++; /* the pool changed size under us */
                } else if (r < 0) {
                        print_counters(&prev);
                        print_counters(&cur);
                        return fail("counters_check_window (cycle)", r);
                }
                if (cur.arrangement != a) {
                        printf("PROBE FAIL cycle %lu: set %s, counters say %s\n", i,
                               isched_arrangement_to_string(a), isched_arrangement_to_string(cur.arrangement));
                        return 1;
                }
                prev = cur;
        }
        print_counters(&prev);
        printf("PROBE OK cycle switches=%lu busy=%lu stale=%lu\n", done, busy, stale);
        return 0;
}

/* Append the CPUs of runqueue @p rq as Xen prints a cpumask: "0-3,6". */
static void print_cpus(const uint32_t *rq_of, size_t n, uint32_t rq)
{
        const char *sep = "";

        for (size_t c = 0; c < n; c++) {
                size_t end = c;

                if (rq_of[c] != rq)
                        continue;
                while (end + 1 < n && rq_of[end + 1] == rq)
                        end++;
                if (end > c)
                        printf("%s%zu-%zu", sep, c, end);
                else
                        printf("%s%zu", sep, c);
                sep = ",";
                c = end;
        }
}

/* The backend's prediction (the function its nr_runqueues[] comes from),
 * with the members of each runqueue, for the topology and the CPUs of the
 * pool as the hypervisor reports them now. */
static int cmd_plan(const struct isched_pool_info *p, const char *name)
{
        xc_interface *xch = xc_interface_open(NULL, NULL, 0);
        struct isched__xen_cpu_topo *topo = NULL;
        xc_cpupoolinfo_t *info = NULL;
        xc_physinfo_t phys = { 0 };
        xc_cputopo_t *ct = NULL;
        enum isched_arrangement a;
        uint32_t *rq_of = NULL, nr = 0;
        bool *in_pool = NULL;
        unsigned n = 0;
        int rc = 1, r;

        if (isched_arrangement_from_string(name, &a) < 0) {
                printf("PROBE FAIL plan: unknown arrangement %s\n", name);
                goto out;
        }
        if (!xch || xc_physinfo(xch, &phys) < 0) {
                printf("PROBE FAIL plan: xc_physinfo: %s\n", strerror(errno));
                goto out;
        }
        n = phys.max_cpu_id + 1;
        ct = calloc(n, sizeof(*ct));
        topo = calloc(n, sizeof(*topo));
        in_pool = calloc(n, sizeof(*in_pool));
        rq_of = calloc(n, sizeof(*rq_of));
        if (!ct || !topo || !in_pool || !rq_of || xc_cputopoinfo(xch, &n, ct) < 0 ||
            !(info = xc_cpupool_getinfo(xch, p->id)) || info->cpupool_id != p->id) {
                printf("PROBE FAIL plan: reading the topology or the pool: %s\n", strerror(errno));
                goto out;
        }
        for (unsigned c = 0; c < n; c++) {
                topo[c].core = ct[c].core;
                topo[c].socket = ct[c].socket;
                topo[c].node = ct[c].node;
                in_pool[c] = info->cpumap[c / 8] & (1u << (c % 8));
        }
        r = isched__xen_plan_runqueues(topo, n, in_pool, a, ISCHED_XEN_MAX_CPUS_RUNQ_DEFAULT, true, rq_of, &nr);
        if (r < 0) {
                rc = fail("plan_runqueues", r);
                goto out;
        }
        printf("PROBE OK plan pool=%s arrangement=%s nr_runqueues=%" PRIu32 " map=", p->name, name, nr);
        for (uint32_t q = 0; q < nr; q++) {
                printf("%s%" PRIu32 ":", q ? "_" : "", q);
                print_cpus(rq_of, n, q);
        }
        printf("\n");
        rc = 0;
out:
        if (xch) {
                xc_cpupool_infofree(xch, info);
                xc_interface_close(xch);
        }
        free(ct);
        free(topo);
        free(in_pool);
        free(rq_of);
        return rc;
}

/* The snapshot blob as the backend reads it, printed as hex (the bytes
 * tests/xen/ checks the parser with), then each integer leaf of
 * credit2-stats/: constants equal, counters no smaller (they only grow). */
static int cmd_snapshot(const struct isched_pool_info *p)
{
        xenhypfs_handle *h = xenhypfs_open(NULL, 0);
        struct xenhypfs_dirent *dirent = NULL;
        struct isched__xen_stats s;
        char path[96];
        unsigned char *buf;
        int r, bad = 0;

        if (!h)
                return fail("xenhypfs_open", -errno);
        snprintf(path, sizeof(path), "/cpupool/%" PRIu32 "/credit2-stats/snapshot", p->id);
        buf = xenhypfs_read_raw(h, path, &dirent);
        if (!buf) {
                r = -errno;
                xenhypfs_close(h);
                return fail(path, r);
        }
        printf("PROBE SNAPSHOT-HEX pool=%s type=%u size=%zu ", p->name, dirent->type, dirent->size);
        for (size_t i = 0; i < dirent->size; i++)
                printf("%02x", buf[i]);
        printf("\n");
        r = isched__xen_parse_snapshot(dirent->type == xenhypfs_type_blob, buf, dirent->size, &s);
        free(buf);
        free(dirent);
        if (r < 0) {
                xenhypfs_close(h);
                return fail("parse_snapshot", r);
        }
        for (size_t i = 0; i < isched__xen_nr_stat_leaves; i++) {
                const struct isched__xen_stat_leaf *l = &isched__xen_stat_leaves[i];
                uint64_t snap = *(const uint64_t *)((const char *)&s + l->offset), leaf;
                bool constant = l->bit == XSTAT_NR_RUNQUEUES || l->bit == XSTAT_MAX_CPUS_RUNQUEUE;
                char *text;

                snprintf(path, sizeof(path), "/cpupool/%" PRIu32 "/credit2-stats/%s", p->id, l->name);
                text = xenhypfs_read(h, path);
                if (!text) {
                        printf("PROBE FAIL %s: %s\n", path, strerror(errno));
                        bad = 1;
                        continue;
                }
                leaf = strtoull(text, NULL, 10);
                free(text);
                printf("PROBE SNAPSHOT %s=%" PRIu64 " leaf=%" PRIu64 "\n", l->name, snap, leaf);
                if (constant ? leaf != snap : leaf < snap) {
                        printf("PROBE FAIL %s: snapshot %" PRIu64 ", leaf %" PRIu64 "\n", l->name, snap, leaf);
                        bad = 1;
                }
        }
        xenhypfs_close(h);
        if (bad)
                return 1;
        printf("PROBE OK snapshot\n");
        return 0;
}

static uint64_t monotonic_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One line: "PROBE RUNSTATE domid=D pool=P t_ns=T gap_ns=G dom_cpu_ns=C
 * vcpus=N run_ns=R0,R1,... state=S0,S1,..." where R is each vCPU's running
 * time (XEN_DOMCTL_getvcpuinfo: the runstate's RUNSTATE_running time), C
 * the domain's CPU time (XEN_DOMCTL_getdomaininfo: the sum of its vCPUs'
 * running times, read after them), T dom0's CLOCK_MONOTONIC at the first
 * read, G the time the reads took (so C is at least the sum of R and at
 * most that plus N * G), S r (running), b (blocked), - (runnable), o
 * (offline). */
static int cmd_runstate(unsigned long domid)
{
        xc_interface *xch = xc_interface_open(NULL, NULL, 0);
        xc_domaininfo_t di = { 0 };
        uint64_t t0, t1, run[64];
        char state[64];
        unsigned int n;

        if (!xch)
                return fail("xc_interface_open", -errno);
        if (xc_domain_getinfolist(xch, domid, 1, &di) != 1 || di.domain != domid) {
                printf("PROBE FAIL runstate: no domain %lu\n", domid);
                xc_interface_close(xch);
                return 1;
        }
        n = di.max_vcpu_id + 1 < 64 ? di.max_vcpu_id + 1 : 64;
        t0 = monotonic_ns();
        for (unsigned int v = 0; v < n; v++) {
                xc_vcpuinfo_t vi = { 0 };

                if (xc_vcpu_getinfo(xch, domid, v, &vi) < 0) {
                        printf("PROBE FAIL runstate: xc_vcpu_getinfo %lu/%u: %s\n", domid, v, strerror(errno));
                        xc_interface_close(xch);
                        return 1;
                }
                run[v] = vi.cpu_time;
                state[v] = !vi.online ? 'o' : vi.running ? 'r' : vi.blocked ? 'b' : '-';
        }
        if (xc_domain_getinfolist(xch, domid, 1, &di) != 1 || di.domain != domid) {
                printf("PROBE FAIL runstate: domain %lu vanished\n", domid);
                xc_interface_close(xch);
                return 1;
        }
        t1 = monotonic_ns();
        xc_interface_close(xch);
        printf("PROBE RUNSTATE domid=%lu pool=%" PRIu32 " t_ns=%" PRIu64 " gap_ns=%" PRIu64 " dom_cpu_ns=%" PRIu64
               " vcpus=%u run_ns=", domid, di.cpupool, t0, t1 - t0, (uint64_t)di.cpu_time, n);
        for (unsigned int v = 0; v < n; v++)
                printf("%s%" PRIu64, v ? "," : "", run[v]);
        printf(" state=");
        for (unsigned int v = 0; v < n; v++)
                printf("%s%c", v ? "," : "", state[v]);
        printf("\n");
        return 0;
}

int main(int argc, char **argv)
{
        struct isched_backend *b = NULL;
        struct isched_pool_info pool;
        int r, rc = 1;

        if (argc < 2) {
                fprintf(stderr, "usage: xen-probe pools|counters|set|advisory|cycle|plan|snapshot [POOL [ARG]]\n"
                                "       xen-probe runstate DOMID\n");
                return 2;
        }
        if (strcmp(argv[1], "runstate") == 0)   /* Xen only: no backend needed */
                return argc > 2 ? cmd_runstate(strtoul(argv[2], NULL, 10)) : 2;
        if (getenv("XEN_PROBE_DEBUG"))
                isched_set_log_fn(log_to_stderr, ISCHED_LOG_DEBUG, NULL);
        else
                isched_set_log_fn(log_to_stderr, ISCHED_LOG_WARNING, NULL);
        r = isched_backend_open("xen", NULL, &b);
        if (r < 0)
                return fail("backend_open", r);
        if (strcmp(argv[1], "pools") == 0) {
                rc = cmd_pools(b);
                goto out;
        }
        if (argc < 3) {
                fprintf(stderr, "xen-probe %s: a pool name is required\n", argv[1]);
                rc = 2;
                goto out;
        }
        r = isched_backend_find_pool(b, argv[2], &pool);
        if (r < 0) {
                rc = fail("find_pool", r);
                goto out;
        }
        if (strcmp(argv[1], "counters") == 0)
                rc = cmd_counters(b, &pool, argc > 3 ? strtod(argv[3], NULL) : 0);
        else if (strcmp(argv[1], "set") == 0 && argc > 3)
                rc = cmd_set(b, &pool, argv[3]);
        else if (strcmp(argv[1], "advisory") == 0)
                rc = cmd_advisory(b, &pool);
        else if (strcmp(argv[1], "cycle") == 0 && argc > 3)
                rc = cmd_cycle(b, &pool, strtoul(argv[3], NULL, 10));
        else if (strcmp(argv[1], "plan") == 0 && argc > 3)
                rc = cmd_plan(&pool, argv[3]);
        else if (strcmp(argv[1], "snapshot") == 0)
                rc = cmd_snapshot(&pool);
        else {
                fprintf(stderr, "xen-probe: unknown command or missing argument\n");
                rc = 2;
        }
out:
        isched_backend_unref(b);
        return rc;
}
