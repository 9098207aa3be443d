/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The xen backend: a real hypervisor, from dom0.
 *
 * Stock interfaces (libxenctrl) give the pools, their CPUs and scheduler,
 * the topology, pCPU idle time and guest CPU time.  The intellisched
 * hypervisor patches add two hypfs nodes per cpupool (see
 * xen-patches/INTERFACE.md), read and written with libxenhypfs:
 * /cpupool/<id>/credit2-runqueue (the arrangement, writable) and
 * /cpupool/<id>/credit2-stats/ (scheduler counters; the backend reads them
 * all at once from its blob "snapshot").  Whether they exist is found out
 * at run time: without them the backend is advisory (pools cannot be
 * switched).  Pool names come from libxl, which needs xenstored;
 * without it pools are named "Pool-<id>", as xl names pool 0. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xenhypfs.h>
#include <xentoollog.h>

#include "backend-private.h"
#include "util/util.h"
#include "xen-guest.h"
#include "xen-parse.h"

#define XEN_NO_PATCHES_MSG \
        "hypervisor has no runtime credit2 runqueue switching (intellisched xen-patches not applied)"
#define SET_BUSY_RETRIES 5
#define SET_BUSY_WAIT_NS 20000000ull
#define DOMAINS_PER_CALL 256

/* The CPU time of one domain, kept so that a pool's guest_ns never goes
 * backwards when domains die or move to another pool. */
struct xen_domain_acct {
        uint32_t domid;
        uint8_t handle[16];
        uint32_t pool;
        uint64_t base_ns;  /* cpu_time when it moved into this pool, 0 if always there */
        uint64_t last_ns;  /* cpu_time at the last read */
        bool seen;         /* found in the current read */
};

/* Guest time of domains that left a pool (died or moved away). */
struct xen_pool_acct {
        uint32_t pool;
        uint64_t retired_ns;
};

struct xen_backend {
        xc_interface *xch;
        xenhypfs_handle *hypfs;      /* NULL: the hypervisor has no hypfs */
        int hypfs_errno;             /* why it is NULL */
        libxl_ctx *ctx;              /* NULL until names are first needed */
        bool xenstore_checked;
        bool xenstore_ok;
        unsigned nr_cpus;            /* max_cpu_id + 1 */
        struct isched__xen_cpu_topo *topo;
        struct isched__xen_cpu_acct *cpus; /* busy/idle per pCPU since the open */
        uint64_t last_now_ns;        /* time of the last reading */
        xc_cpuinfo_t *cpuinfo;
        enum isched_arrangement boot_arrangement; /* credit2_runqueue= or socket */
        unsigned boot_max_cpus_runq;
        struct xen_domain_acct *doms;
        size_t nr_doms, cap_doms;
        struct xen_pool_acct *pools;
        size_t nr_pools, cap_pools;
        xc_domaininfo_t *dominfo;
        struct isched__xen_guests *guests; /* observation xen+guests only */
        struct isched__xen_domain_ref *refs;
        size_t cap_refs;
};

/* The Xen libraries log through xentoollog; forward their messages to the
 * library's log function instead of stderr (the library never prints). */
static void xtl_forward_vmessage(struct xentoollog_logger *logger, xentoollog_level level,
                                 int errnoval, const char *context, const char *format, va_list al)
        __attribute__((format(printf, 5, 0)));
static void xtl_forward_vmessage(struct xentoollog_logger *logger, xentoollog_level level,
                                 int errnoval, const char *context, const char *format, va_list al)
{
        char msg[512];

        vsnprintf(msg, sizeof(msg), format, al);
        isched__log(level >= XTL_ERROR ? ISCHED_LOG_INFO : ISCHED_LOG_DEBUG, "xen %s: %s%s%s",
                    context ? context : "lib", msg, errnoval > 0 ? ": " : "",
                    errnoval > 0 ? strerror(errnoval) : "");
}

static void xtl_forward_progress(struct xentoollog_logger *logger, const char *context,
                                 const char *doing_what, int percent, unsigned long done,
                                 unsigned long total)
{
}

static void xtl_forward_destroy(struct xentoollog_logger *logger)
{
}

static struct xentoollog_logger xtl_forward = {
        .vmessage = xtl_forward_vmessage,
        .progress = xtl_forward_progress,
        .destroy = xtl_forward_destroy,
};

static uint64_t monotonic_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *sched_name(uint32_t sched_id)
{
        switch (sched_id) {
        case XEN_SCHEDULER_CREDIT:
                return "credit";
        case XEN_SCHEDULER_CREDIT2:
                return "credit2";
        case XEN_SCHEDULER_ARINC653:
                return "arinc653";
        case XEN_SCHEDULER_RTDS:
                return "rtds";
        case XEN_SCHEDULER_NULL:
                return "null";
        default:
                return "unknown";
        }
}

/* A hypercall failure: permission problems get a sentence of their own. */
static int hypercall_error(int err, const char *what)
{
        if (err == EPERM || err == EACCES)
                return isched__error(-err, "%s: %s: only root in the control domain (dom0) may do this",
                                     what, strerror(err));
        return isched__error(-(err ? err : EIO), "%s failed: %s", what, strerror(err ? err : EIO));
}

/* Fail early, with advice, where a Xen control interface cannot work. */
static int check_control_domain(void)
{
        char caps[256] = "";
        FILE *f;

        if (access("/dev/xen/privcmd", F_OK) != 0 && access("/proc/xen/privcmd", F_OK) != 0)
                return isched__error(-ENODEV,
                                     "no /dev/xen/privcmd: this is not a Xen dom0, or the xen-privcmd module is not loaded and xenfs not mounted (modprobe xen-privcmd; mount -t xenfs xenfs /proc/xen)");
        if (access("/dev/xen/privcmd", R_OK | W_OK) != 0 && access("/proc/xen/privcmd", R_OK | W_OK) != 0)
                return isched__error(-EACCES, "/dev/xen/privcmd: %s: run isched as root in dom0",
                                     strerror(errno));
        /* A domU may have privcmd too, but every hypercall used here fails. */
        f = fopen("/proc/xen/capabilities", "re");
        if (f) {
                const size_t n = fread(caps, 1, sizeof(caps) - 1, f);

                fclose(f);
                caps[n] = '\0';
                if (!strstr(caps, "control_d"))
                        return isched__error(-EPERM,
                                             "this Xen domain is not the control domain (no control_d in /proc/xen/capabilities): run isched in dom0");
        }
        isched__clear_error();
        return 0;
}

/* Read the boot-time credit2 settings from the hypervisor's command line:
 * on a stock hypervisor they are the arrangement of every credit2 pool. */
static void read_boot_options(struct xen_backend *x)
{
        xen_commandline_t cmdline;
        char val[32];

        x->boot_arrangement = ISCHED_ARR_SOCKET;
        x->boot_max_cpus_runq = ISCHED_XEN_MAX_CPUS_RUNQ_DEFAULT;
        memset(cmdline, 0, sizeof(cmdline));
        if (xc_version(x->xch, XENVER_commandline, &cmdline) < 0)
                return;
        cmdline[sizeof(cmdline) - 1] = '\0';
        if (isched__xen_cmdline_option(cmdline, "credit2_runqueue", val, sizeof(val)) == 1 &&
            isched_arrangement_from_string(val, &x->boot_arrangement) < 0)
                x->boot_arrangement = ISCHED_ARR_SOCKET; /* Xen ignores bad values too */
        if (isched__xen_cmdline_option(cmdline, "sched_credit2_max_cpus_runqueue", val, sizeof(val)) == 1) {
                const unsigned long v = strtoul(val, NULL, 0);

                if (v > 0 && v < 4096)
                        x->boot_max_cpus_runq = (unsigned)v;
        }
        isched__clear_error();
}

static int read_topology(struct xen_backend *x)
{
        xc_physinfo_t phys = { 0 };
        xc_cputopo_t *ct;
        unsigned n;

        if (xc_physinfo(x->xch, &phys) < 0)
                return hypercall_error(errno, "reading the host's physical information (xc_physinfo)");
        x->nr_cpus = phys.max_cpu_id + 1;
        n = x->nr_cpus;
        ct = calloc(n, sizeof(*ct));
        x->topo = calloc(n, sizeof(*x->topo));
        x->cpus = calloc(n, sizeof(*x->cpus));
        x->cpuinfo = calloc(n, sizeof(*x->cpuinfo));
        if (!ct || !x->topo || !x->cpus || !x->cpuinfo) {
                free(ct);
                return isched__error(-ENOMEM, "out of memory reading the CPU topology");
        }
        if (xc_cputopoinfo(x->xch, &n, ct) < 0) {
                const int err = errno;

                free(ct);
                return hypercall_error(err, "reading the CPU topology (xc_cputopoinfo)");
        }
        for (unsigned i = 0; i < x->nr_cpus; i++) {
                x->topo[i].core = i < n ? ct[i].core : ISCHED_XEN_INVALID_ID;
                x->topo[i].socket = i < n ? ct[i].socket : ISCHED_XEN_INVALID_ID;
                x->topo[i].node = i < n ? ct[i].node : ISCHED_XEN_INVALID_ID;
        }
        free(ct);
        return 0;
}

/* Is xenstored there?  libxl (pool names) talks to it, and falls back to
 * /dev/xen/xenbus when its socket is absent, where requests block forever
 * if no xenstored runs: so only a socket that accepts a connection counts. */
static bool xenstored_reachable(void)
{
        const char *env = getenv("XENSTORED_PATH");
        const char *const paths[] = { env, "/var/run/xenstored/socket", "/run/xenstored/socket" };

        for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int fd, r;

                if (!paths[i] || strlen(paths[i]) >= sizeof(sa.sun_path))
                        continue;
                strcpy(sa.sun_path, paths[i]);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return false;
                r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
                close(fd);
                if (r == 0)
                        return true;
        }
        return false;
}

static libxl_ctx *get_libxl(struct xen_backend *x)
{
        if (x->xenstore_checked)
                return x->ctx;
        x->xenstore_checked = true;
        x->xenstore_ok = xenstored_reachable();
        if (!x->xenstore_ok) {
                isched__log(ISCHED_LOG_WARNING,
                            "xenstored is not reachable: cpupool names are unavailable, pools are named Pool-<id> (start xenstored and xen-init-dom0 for the real names)");
                return NULL;
        }
        if (libxl_ctx_alloc(&x->ctx, LIBXL_VERSION, 0, &xtl_forward) != 0) {
                x->ctx = NULL;
                isched__log(ISCHED_LOG_WARNING,
                            "libxl could not be initialised: cpupool names are unavailable, pools are named Pool-<id>");
        }
        return x->ctx;
}

static void pool_name(struct xen_backend *x, uint32_t id, char *buf, size_t len)
{
        libxl_ctx *ctx = get_libxl(x);
        char *name = ctx ? libxl_cpupoolid_to_name(ctx, id) : NULL;

        if (name && *name)
                snprintf(buf, len, "%s", name);
        else
                snprintf(buf, len, "Pool-%" PRIu32, id);
        free(name);
}

/* Read a hypfs node of a pool into a malloc'ed string; -errno otherwise. */
static int hypfs_read_pool(struct xen_backend *x, uint32_t pool, const char *node, char **ret)
{
        char path[64];
        char *s;

        if (!x->hypfs)
                return -(x->hypfs_errno ? x->hypfs_errno : ENOSYS);
        snprintf(path, sizeof(path), "/cpupool/%" PRIu32 "/%s", pool, node);
        errno = 0;
        s = xenhypfs_read(x->hypfs, path);
        if (!s)
                return -(errno ? errno : EIO);
        *ret = s;
        return 0;
}

/* The statistics of a patched pool, all at once: the blob
 * /cpupool/<id>/credit2-stats/snapshot, one hypercall (xenhypfs_read_raw
 * asks for up to 4 KiB at first; the snapshot is 2168 bytes).  Returns 1 if
 * read, 0 if the pool has no snapshot (a hypervisor without it), -errno. */
static int read_stats(struct xen_backend *x, uint32_t pool, struct isched__xen_stats *s)
{
        struct xenhypfs_dirent *dirent = NULL;
        char path[64];
        void *content;
        int r;

        memset(s, 0, sizeof(*s));
        snprintf(path, sizeof(path), "/cpupool/%" PRIu32 "/credit2-stats/snapshot", pool);
        errno = 0;
        content = xenhypfs_read_raw(x->hypfs, path, &dirent);
        if (!content) {
                r = errno ? errno : EIO;
                if (r == ENOENT || r == ENOTDIR)
                        return 0;
                return hypercall_error(r, "reading /cpupool/<id>/credit2-stats/snapshot (hypfs)");
        }
        r = isched__xen_parse_snapshot(dirent->type == xenhypfs_type_blob, content, dirent->size, s);
        free(dirent);
        free(content);
        return r < 0 ? r : 1;
}

/* The pool's info from the hypervisor; -ENOENT if it does not exist. */
static int get_pool(struct xen_backend *x, uint32_t pool, xc_cpupoolinfo_t **ret)
{
        xc_cpupoolinfo_t *info;

        errno = 0;
        info = xc_cpupool_getinfo(x->xch, pool);
        if (!info && errno && errno != ENOENT)
                return hypercall_error(errno, "reading cpupool information (xc_cpupool_getinfo)");
        if (!info || info->cpupool_id != pool) {
                xc_cpupool_infofree(x->xch, info);
                return isched__error(-ENOENT, "cpupool %" PRIu32 " does not exist (any more)", pool);
        }
        *ret = info;
        return 0;
}

static bool cpu_in_map(const xc_cpupoolinfo_t *info, unsigned cpu)
{
        return info->cpumap[cpu / 8] & (1u << (cpu % 8));
}

/* What the patched interface says about a pool: its arrangement and
 * statistics.  Returns 1 if the pool can be switched, 0 if not (reason
 * written), -errno on a hard error. */
struct pool_dyn {
        bool switchable;
        enum isched_arrangement arrangement;
        struct isched__xen_stats stats;
        bool have_stats;
        char reason[128];
};

static int probe_pool(struct xen_backend *x, const xc_cpupoolinfo_t *info, struct pool_dyn *d)
{
        char *s = NULL;
        int r;

        memset(d, 0, sizeof(*d));
        d->arrangement = x->boot_arrangement;
        if (info->sched_id != XEN_SCHEDULER_CREDIT2) {
                snprintf(d->reason, sizeof(d->reason), "the pool's scheduler is %s, not credit2",
                         sched_name(info->sched_id));
                return 0;
        }
        r = hypfs_read_pool(x, info->cpupool_id, "credit2-runqueue", &s);
        if (r == -ENOENT) {
                /* No node: no patches, or the pool has just been destroyed. */
                xc_cpupoolinfo_t *again = NULL;

                r = get_pool(x, info->cpupool_id, &again);
                if (r < 0)
                        return r;
                xc_cpupool_infofree(x->xch, again);
                r = -ENOENT;
        }
        if (r == -ENOENT || r == -ENOSYS || r == -EOPNOTSUPP) {
                snprintf(d->reason, sizeof(d->reason), "%s",
                         r == -ENOSYS ? "hypervisor without hypfs: " XEN_NO_PATCHES_MSG : XEN_NO_PATCHES_MSG);
                return 0;
        }
        if (r < 0)
                return hypercall_error(-r, "reading /cpupool/<id>/credit2-runqueue (hypfs)");
        r = isched__xen_parse_arrangement(s, &d->arrangement);
        free(s);
        if (r < 0)
                return r;
        d->switchable = true;

        r = read_stats(x, info->cpupool_id, &d->stats);
        if (r < 0)
                return r;
        d->have_stats = r == 1;
        return 1;
}

static bool pool_gran_cpu(struct xen_backend *x, uint32_t pool)
{
        char *s = NULL;
        bool cpu = true;

        if (hypfs_read_pool(x, pool, "sched-gran", &s) == 0) {
                cpu = strncmp(s, "cpu", 3) == 0;
                free(s);
        }
        return cpu;
}

static int fill_pool_info(struct xen_backend *x, const xc_cpupoolinfo_t *info,
                          struct isched_pool_info *p)
{
        struct pool_dyn d;
        bool *in_pool, gran_cpu;
        unsigned cap;
        int r;

        memset(p, 0, sizeof(*p));
        p->id = info->cpupool_id;
        pool_name(x, info->cpupool_id, p->name, sizeof(p->name));
        snprintf(p->scheduler, sizeof(p->scheduler), "%s", sched_name(info->sched_id));
        for (unsigned c = 0; c < x->nr_cpus; c++)
                p->nr_pcpus += cpu_in_map(info, c);

        r = probe_pool(x, info, &d);
        if (r < 0)
                return r;
        p->can_switch = r == 1;
        p->arrangement = d.arrangement;
        snprintf(p->reason, sizeof(p->reason), "%s", d.reason);
        if (info->sched_id != XEN_SCHEDULER_CREDIT2 || !p->nr_pcpus)
                return 0;

        cap = x->boot_max_cpus_runq;
        if (d.have_stats && (d.stats.present & XSTAT_MAX_CPUS_RUNQUEUE) && d.stats.max_cpus_runqueue &&
            d.stats.max_cpus_runqueue < 4096)
                cap = (unsigned)d.stats.max_cpus_runqueue;
        in_pool = calloc(x->nr_cpus, sizeof(*in_pool));
        if (!in_pool)
                return isched__error(-ENOMEM, "out of memory listing pools");
        for (unsigned c = 0; c < x->nr_cpus; c++)
                in_pool[c] = cpu_in_map(info, c);
        gran_cpu = pool_gran_cpu(x, info->cpupool_id);
        for (unsigned a = 0; a < ISCHED_ARR_COUNT && r >= 0; a++)
                r = isched__xen_count_runqueues(x->topo, x->nr_cpus, in_pool, (enum isched_arrangement)a,
                                                cap, gran_cpu, &p->nr_runqueues[a]);
        free(in_pool);
        if (r < 0)
                return r;
        /* The hypervisor's own count of the arrangement in force wins. */
        if (d.have_stats && (d.stats.present & XSTAT_NR_RUNQUEUES))
                p->nr_runqueues[p->arrangement] = (uint32_t)d.stats.nr_runqueues;
        return 0;
}

static int xen_list_pools(struct isched_backend *b, struct isched_pool_info **ret, size_t *ret_n)
{
        struct xen_backend *x = b->priv;
        struct isched_pool_info *pools = NULL;
        size_t n = 0;
        uint32_t next = 0;
        int r = 0;

        for (;;) {
                xc_cpupoolinfo_t *info;
                struct isched_pool_info *grown;

                errno = 0;
                info = xc_cpupool_getinfo(x->xch, next);
                if (!info) {
                        if (errno && errno != ENOENT)
                                r = hypercall_error(errno, "listing cpupools (xc_cpupool_getinfo)");
                        break;
                }
                grown = realloc(pools, (n + 1) * sizeof(*pools));
                if (!grown) {
                        xc_cpupool_infofree(x->xch, info);
                        r = isched__error(-ENOMEM, "out of memory listing pools");
                        break;
                }
                pools = grown;
                r = fill_pool_info(x, info, &pools[n]);
                next = info->cpupool_id + 1;
                xc_cpupool_infofree(x->xch, info);
                if (r == -ENOENT) {
                        /* Destroyed while we looked at it: not a pool any more. */
                        isched__clear_error();
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                n++;
        }
        if (r < 0) {
                free(pools);
                return r;
        }
        *ret = pools;
        *ret_n = n;
        return 0;
}

/* busy/idle of the pool's pCPUs since the backend was opened.  dom0's
 * clock is read after the hypercall (under emulation that can be
 * milliseconds later); isched__xen_cpu_account() keeps busy + idle equal
 * to the elapsed time.  Every pCPU is accounted, in the pool or not, so
 * that a CPU moving between pools keeps a continuous history.  Writes the
 * time of the reading to *ret_now_ns. */
static int read_cpu_time(struct xen_backend *x, const xc_cpupoolinfo_t *info,
                         struct isched_counters *c, uint64_t *ret_now_ns)
{
        uint64_t now;
        int nr = 0;

        if (xc_getcpuinfo(x->xch, (int)x->nr_cpus, x->cpuinfo, &nr) < 0)
                return hypercall_error(errno, "reading pCPU idle time (xc_getcpuinfo)");
        /* Snapshots must be strictly later than the previous one; dom0's
         * clock has been seen to return the same value twice in a row under
         * emulation. */
        now = monotonic_ns();
        if (now <= x->last_now_ns)
                now = x->last_now_ns + 1;
        x->last_now_ns = now;
        for (unsigned cpu = 0; cpu < x->nr_cpus && cpu < (unsigned)nr; cpu++) {
                isched__xen_cpu_account(&x->cpus[cpu], now, x->cpuinfo[cpu].idletime);
                if (!info || !cpu_in_map(info, cpu))
                        continue;
                c->busy_ns += x->cpus[cpu].busy_ns;
                c->idle_ns += x->cpus[cpu].idle_ns;
        }
        c->valid |= ISCHED_CNT_BUSY;
        *ret_now_ns = now;
        return 0;
}

static struct xen_pool_acct *pool_acct(struct xen_backend *x, uint32_t pool)
{
        struct xen_pool_acct *grown;

        for (size_t i = 0; i < x->nr_pools; i++)
                if (x->pools[i].pool == pool)
                        return &x->pools[i];
        if (x->nr_pools == x->cap_pools) {
                const size_t cap = x->cap_pools ? 2 * x->cap_pools : 8;

                grown = realloc(x->pools, cap * sizeof(*grown));
                if (!grown)
                        return NULL;
                x->pools = grown;
                x->cap_pools = cap;
        }
        x->pools[x->nr_pools] = (struct xen_pool_acct){ .pool = pool };
        return &x->pools[x->nr_pools++];
}

static int retire_domain(struct xen_backend *x, const struct xen_domain_acct *d)
{
        struct xen_pool_acct *p = pool_acct(x, d->pool);

        if (!p)
                return isched__error(-ENOMEM, "out of memory accounting guest time");
        p->retired_ns += d->last_ns - d->base_ns;
        return 0;
}

static struct xen_domain_acct *domain_acct(struct xen_backend *x, const xc_domaininfo_t *di)
{
        struct xen_domain_acct *grown;

        for (size_t i = 0; i < x->nr_doms; i++)
                if (x->doms[i].domid == di->domain &&
                    memcmp(x->doms[i].handle, di->handle, sizeof(x->doms[i].handle)) == 0)
                        return &x->doms[i];
        if (x->nr_doms == x->cap_doms) {
                const size_t cap = x->cap_doms ? 2 * x->cap_doms : 16;

                grown = realloc(x->doms, cap * sizeof(*grown));
                if (!grown)
                        return NULL;
                x->doms = grown;
                x->cap_doms = cap;
        }
        grown = &x->doms[x->nr_doms++];
        memset(grown, 0, sizeof(*grown));
        grown->domid = di->domain;
        memcpy(grown->handle, di->handle, sizeof(grown->handle));
        grown->pool = di->cpupool;
        /* First sight: all its time counts (since the domain was created). */
        grown->base_ns = 0;
        grown->last_ns = di->cpu_time;
        return grown;
}

/* Update the per-domain accounting from the hypervisor's domain list and
 * fill the pool's guest_ns and nr_vcpus. */
static int read_guest_time(struct xen_backend *x, uint32_t pool, struct isched_counters *c)
{
        uint32_t first = 0;
        uint64_t guest = 0;
        size_t kept = 0;
        int r;

        for (size_t i = 0; i < x->nr_doms; i++)
                x->doms[i].seen = false;
        for (;;) {
                int n = xc_domain_getinfolist(x->xch, first, DOMAINS_PER_CALL, x->dominfo);

                if (n < 0)
                        return hypercall_error(errno, "listing domains (xc_domain_getinfolist)");
                for (int i = 0; i < n; i++) {
                        const xc_domaininfo_t *di = &x->dominfo[i];
                        struct xen_domain_acct *d = domain_acct(x, di);

                        if (!d)
                                return isched__error(-ENOMEM, "out of memory accounting guest time");
                        if (d->pool != di->cpupool) {
                                r = retire_domain(x, d);
                                if (r < 0)
                                        return r;
                                d->pool = di->cpupool;
                                d->base_ns = di->cpu_time;
                        }
                        if (di->cpu_time >= d->last_ns)
                                d->last_ns = di->cpu_time;
                        d->seen = true;
                        if (di->cpupool == pool)
                                c->nr_vcpus += di->nr_online_vcpus;
                        first = di->domain + 1u;
                }
                if (n < DOMAINS_PER_CALL)
                        break;
        }
        /* Domains that are gone keep their time in their last pool. */
        for (size_t i = 0; i < x->nr_doms; i++) {
                if (!x->doms[i].seen) {
                        r = retire_domain(x, &x->doms[i]);
                        if (r < 0)
                                return r;
                        continue;
                }
                x->doms[kept++] = x->doms[i];
        }
        x->nr_doms = kept;
        for (size_t i = 0; i < x->nr_doms; i++)
                if (x->doms[i].pool == pool)
                        guest += x->doms[i].last_ns - x->doms[i].base_ns;
        for (size_t i = 0; i < x->nr_pools; i++)
                if (x->pools[i].pool == pool)
                        guest += x->pools[i].retired_ns;
        c->guest_ns = guest;
        c->valid |= ISCHED_CNT_GUEST;
        return 0;
}

/* Observation xen+guests: the work the pool's domains publish in xenstore
 * (docs/guest-work.md), read after read_guest_time() listed them. */
static int read_guest_work(struct xen_backend *x, uint32_t pool, struct isched_counters *c)
{
        size_t n = 0;

        if (x->cap_refs < x->nr_doms) {
                struct isched__xen_domain_ref *grown = realloc(x->refs, x->nr_doms * sizeof(*grown));

                if (!grown)
                        return isched__error(-ENOMEM, "out of memory reading guest-published work");
                x->refs = grown;
                x->cap_refs = x->nr_doms;
        }
        for (size_t i = 0; i < x->nr_doms; i++) {
                if (x->doms[i].pool != pool)
                        continue;
                x->refs[n].domid = x->doms[i].domid;
                memcpy(x->refs[n].handle, x->doms[i].handle, sizeof(x->refs[n].handle));
                n++;
        }
        return isched__xen_guests_read(x->guests, pool, c->timestamp_ns, x->refs, n, c);
}

static int xen_read_counters(struct isched_backend *b, uint32_t pool, struct isched_counters *ret)
{
        struct xen_backend *x = b->priv;
        struct isched_counters c;
        xc_cpupoolinfo_t *info = NULL;
        struct pool_dyn d;
        int r;

        r = get_pool(x, pool, &info);
        if (r < 0)
                return r;
        memset(&c, 0, sizeof(c));
        c.version = ISCHED_COUNTERS_VERSION;
        for (unsigned cpu = 0; cpu < x->nr_cpus; cpu++)
                c.nr_pcpus += cpu_in_map(info, cpu);
        r = probe_pool(x, info, &d);
        if (r < 0)
                goto out;
        c.arrangement = d.arrangement;
        r = read_cpu_time(x, info, &c, &c.timestamp_ns);
        if (r < 0)
                goto out;
        r = read_guest_time(x, pool, &c);
        if (r < 0)
                goto out;
        if (d.have_stats)
                isched__xen_stats_to_counters(&d.stats, &c);
        if (x->guests) {
                r = read_guest_work(x, pool, &c);
                if (r < 0)
                        goto out;
        }
        *ret = c;
out:
        xc_cpupool_infofree(x->xch, info);
        return r;
}

static int xen_get_arrangement(struct isched_backend *b, uint32_t pool, enum isched_arrangement *ret)
{
        struct xen_backend *x = b->priv;
        xc_cpupoolinfo_t *info = NULL;
        struct pool_dyn d;
        int r;

        r = get_pool(x, pool, &info);
        if (r < 0)
                return r;
        if (info->sched_id != XEN_SCHEDULER_CREDIT2) {
                r = isched__error(-EOPNOTSUPP, "cpupool %" PRIu32 " uses the %s scheduler, not credit2",
                                  pool, sched_name(info->sched_id));
                goto out;
        }
        r = probe_pool(x, info, &d);
        if (r >= 0) {
                *ret = d.arrangement;
                r = 0;
        }
out:
        xc_cpupool_infofree(x->xch, info);
        return r;
}

static int sleep_ns(uint64_t ns)
{
        struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };

        if (nanosleep(&ts, NULL) < 0)
                return -errno;
        return 0;
}

static int set_error(struct xen_backend *x, uint32_t pool, enum isched_arrangement a, int err)
{
        xc_cpupoolinfo_t *info = NULL;

        switch (err) {
        case ENOENT:
                /* The node is missing: the pool is gone, or no patches. */
                if (get_pool(x, pool, &info) < 0)
                        return isched__error(-ENOENT, "cpupool %" PRIu32 " no longer exists", pool);
                xc_cpupool_infofree(x->xch, info);
                return isched__error(-EOPNOTSUPP, "cpupool %" PRIu32 ": " XEN_NO_PATCHES_MSG, pool);
        case ENOSYS:
                return isched__error(-EOPNOTSUPP, "hypervisor without hypfs: " XEN_NO_PATCHES_MSG);
        case EOPNOTSUPP:
                return isched__error(-EOPNOTSUPP, "cpupool %" PRIu32 " does not use credit2", pool);
        case EBUSY:
                return isched__error(-EBUSY,
                                     "cpupool %" PRIu32 " is busy with CPU moves (cpupool-cpu-add/remove): try again",
                                     pool);
        case EINVAL:
                return isched__error(-EINVAL, "the hypervisor refused arrangement '%s' for cpupool %" PRIu32,
                                     isched_arrangement_to_string(a), pool);
        case ENOMEM:
                return isched__error(-ENOMEM,
                                     "the hypervisor ran out of memory rearranging cpupool %" PRIu32 " (nothing was changed)",
                                     pool);
        default:
                return hypercall_error(err, "writing /cpupool/<id>/credit2-runqueue (hypfs)");
        }
}

static int xen_set_arrangement(struct isched_backend *b, uint32_t pool, enum isched_arrangement a)
{
        struct xen_backend *x = b->priv;
        xc_cpupoolinfo_t *info = NULL;
        char path[64];
        int r, err = 0;

        r = get_pool(x, pool, &info);
        if (r < 0)
                return r;
        if (info->sched_id != XEN_SCHEDULER_CREDIT2) {
                r = isched__error(-EOPNOTSUPP, "cpupool %" PRIu32 " uses the %s scheduler, not credit2",
                                  pool, sched_name(info->sched_id));
                xc_cpupool_infofree(x->xch, info);
                return r;
        }
        xc_cpupool_infofree(x->xch, info);
        if (!x->hypfs)
                return set_error(x, pool, a, x->hypfs_errno ? x->hypfs_errno : ENOSYS);

        snprintf(path, sizeof(path), "/cpupool/%" PRIu32 "/credit2-runqueue", pool);
        /* A pool whose CPUs are being moved answers EBUSY for a moment:
         * retry a few times before giving up. */
        for (int attempt = 0; attempt <= SET_BUSY_RETRIES; attempt++) {
                errno = 0;
                if (xenhypfs_write(x->hypfs, path, isched_arrangement_to_string(a)) == 0)
                        return 0;
                err = errno ? errno : EIO;
                if (err != EBUSY)
                        break;
                sleep_ns(SET_BUSY_WAIT_NS);
        }
        return set_error(x, pool, a, err);
}

static int xen_wait(struct isched_backend *b, uint64_t interval_ns)
{
        const int r = sleep_ns(interval_ns);

        if (r == -EINTR)
                return isched__error(-EINTR, "interrupted by a signal while waiting");
        if (r < 0)
                return isched__error(r, "nanosleep failed: %s", strerror(-r));
        return 0;
}

static void xen_destroy(struct isched_backend *b)
{
        struct xen_backend *x = b->priv;

        if (!x)
                return;
        libxl_ctx_free(x->ctx);
        if (x->hypfs)
                xenhypfs_close(x->hypfs);
        if (x->xch)
                xc_interface_close(x->xch);
        free(x->topo);
        free(x->cpus);
        free(x->cpuinfo);
        free(x->doms);
        free(x->pools);
        free(x->dominfo);
        isched__xen_guests_free(x->guests);
        free(x->refs);
        free(x);
        b->priv = NULL;
}

static struct isched__guest_tracker *xen_guest_tracker(struct isched_backend *b)
{
        return isched__xen_guests_tracker(((struct xen_backend *)b->priv)->guests);
}

static const struct isched_backend_ops xen_ops = {
        .name = "xen",
        .list_pools = xen_list_pools,
        .read_counters = xen_read_counters,
        .get_arrangement = xen_get_arrangement,
        .set_arrangement = xen_set_arrangement,
        .wait = xen_wait,
        .destroy = xen_destroy,
        .guest_tracker = xen_guest_tracker,
};

/* Observation xen+guests: set up the reading of guest-published work
 * (xenstore is connected at the first read).  *ret stays NULL in mode xen. */
static int open_guests(const struct isched_backend_config *cfg, struct isched__xen_guests **ret)
{
        const unsigned allowed = 1u << ISCHED_OBS_XEN | 1u << ISCHED_OBS_XEN_GUESTS;
        struct isched__guest_weight *weights = NULL;
        struct isched__guest_params params;
        enum isched_observation mode;
        int r;

        *ret = NULL;
        r = isched__guest_observation(cfg, "xen", ISCHED_OBS_XEN, allowed, &mode);
        if (r < 0 || mode != ISCHED_OBS_XEN_GUESTS)
                return r;
        r = isched__guest_params_from_config(cfg, &params, &weights);
        if (r == 0)
                r = isched__xen_guests_new(&params, ret);
        free(weights);
        return r;
}

int isched__backend_xen_init(struct isched_backend *b, const struct isched_backend_config *cfg)
{
        struct isched__xen_guests *guests;
        struct xen_backend *x;
        int r;

        /* Configuration errors first: they need no hypervisor. */
        r = open_guests(cfg, &guests);
        if (r < 0)
                return r;
        r = check_control_domain();
        if (r < 0) {
                isched__xen_guests_free(guests);
                return r;
        }
        x = calloc(1, sizeof(*x));
        if (!x) {
                isched__xen_guests_free(guests);
                return isched__error(-ENOMEM, "out of memory opening the xen backend");
        }
        x->guests = guests;
        b->priv = x;
        b->ops = &xen_ops;
        x->dominfo = calloc(DOMAINS_PER_CALL, sizeof(*x->dominfo));
        if (!x->dominfo) {
                r = isched__error(-ENOMEM, "out of memory opening the xen backend");
                goto fail;
        }
        x->xch = xc_interface_open(&xtl_forward, &xtl_forward, 0);
        if (!x->xch) {
                r = errno == EACCES || errno == EPERM
                        ? hypercall_error(errno, "opening the Xen control interface")
                        : isched__error(-(errno ? errno : ENODEV),
                                        "cannot open the Xen control interface (xc_interface_open): %s: is this dom0 with xen-privcmd loaded?",
                                        strerror(errno ? errno : ENODEV));
                goto fail;
        }
        r = read_topology(x);
        if (r < 0)
                goto fail;
        read_boot_options(x);
        /* A hypervisor without hypfs (CONFIG_HYPFS=n) still gives the stock
         * counters: remember why, and run advisory. */
        errno = 0;
        x->hypfs = xenhypfs_open(&xtl_forward, 0);
        if (!x->hypfs)
                x->hypfs_errno = errno ? errno : ENOSYS;
        /* Start the busy/idle origin now, so that the first window is real. */
        r = read_cpu_time(x, NULL, &(struct isched_counters){ 0 }, &(uint64_t){ 0 });
        if (r < 0)
                goto fail;
        isched__clear_error();
        return 0;
fail:
        xen_destroy(b);
        b->ops = NULL;
        return r;
}
