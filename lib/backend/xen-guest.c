/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading guest-published work from xenstore (xen-guest.h,
 * docs/guest-work.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "util/util.h"
#include "xen-guest.h"

/* A publication is read as time_ns, work, time_ns again: equal times mean
 * that no publication was committed in between (the publisher writes both in
 * one transaction).  Retried a few times, then taken as malformed. */
#define READ_ATTEMPTS 3

struct isched__xen_guests {
        struct isched__guest_tracker *tracker;
        struct xs_handle *xsh;       /* NULL: not connected */
        bool warned;                 /* the missing xenstored was logged */
        struct isched__guest_sample *samples;
        char (*names)[ISCHED_GUEST_NAME_MAX];
        char (*why)[128];
        size_t cap;
};

int isched__xen_guests_new(const struct isched__guest_params *params, struct isched__xen_guests **ret)
{
        struct isched__xen_guests *g = calloc(1, sizeof(*g));
        int r;

        if (!g)
                return isched__error(-ENOMEM, "out of memory for guest-published work");
        r = isched__guest_tracker_new(params, &g->tracker);
        if (r < 0) {
                free(g);
                return r;
        }
        *ret = g;
        return 0;
}

struct isched__xen_guests *isched__xen_guests_free(struct isched__xen_guests *g)
{
        if (g) {
                if (g->xsh)
                        xs_close(g->xsh);
                isched__guest_tracker_free(g->tracker);
                free(g->samples);
                free(g->names);
                free(g->why);
                free(g);
        }
        return NULL;
}

struct isched__guest_tracker *isched__xen_guests_tracker(struct isched__xen_guests *g)
{
        return g ? g->tracker : NULL;
}

static bool connect_xenstore(struct isched__xen_guests *g)
{
        if (g->xsh)
                return true;
        /* The socket only: /dev/xen/xenbus blocks when no xenstored runs. */
        g->xsh = xs_open(XS_OPEN_SOCKETONLY);
        if (!g->xsh && !g->warned) {
                g->warned = true;
                isched__log(ISCHED_LOG_WARNING,
                            "xenstored is not reachable (%s): no guest-published work can be read, every window of observation mode xen+guests is skipped until it is",
                            strerror(errno ? errno : ECONNREFUSED));
        }
        if (g->xsh && g->warned) {
                g->warned = false;
                isched__log(ISCHED_LOG_INFO, "xenstored is reachable: reading guest-published work");
        }
        return g->xsh != NULL;
}

/* xs_read into a malloc'ed NUL-terminated string; NULL with errno set. */
static char *read_node(struct isched__xen_guests *g, uint32_t domid, const char *leaf)
{
        char path[96];
        unsigned len = 0;

        snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/%s", domid, leaf);
        return xs_read(g->xsh, XBT_NULL, path, &len);
}

static void read_name(struct isched__xen_guests *g, uint32_t domid, char *buf, size_t size)
{
        char *name = read_node(g, domid, "name");

        if (name && *name)
                snprintf(buf, size, "%s", name);
        else
                snprintf(buf, size, "domain-%" PRIu32, domid);
        free(name);
}

static bool lost_connection(int err)
{
        return err != ENOENT && err != EACCES && err != EPERM && err != EINVAL && err != E2BIG;
}

/* One domain's publication into s; false if the connection was lost. */
static bool read_publication(struct isched__xen_guests *g, uint32_t domid, struct isched__guest_sample *s,
                             char *why, size_t why_size)
{
        char *t1 = NULL, *w = NULL, *t2 = NULL;
        bool ok = true;
        int err = 0;

        s->present = false;
        s->malformed = NULL;
        for (unsigned attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
                free(t1);
                free(w);
                free(t2);
                t2 = NULL;
                errno = 0;
                t1 = read_node(g, domid, ISCHED_GUEST_XS_DIR "/time_ns");
                err = t1 ? 0 : errno;
                w = read_node(g, domid, ISCHED_GUEST_XS_DIR "/work");
                if (!w && !err)
                        err = errno;
                if (!t1 || !w)
                        break;
                t2 = read_node(g, domid, ISCHED_GUEST_XS_DIR "/time_ns");
                if (t2 && strcmp(t1, t2) == 0)
                        break;
        }
        if (!t1 && !w) {
                ok = !lost_connection(err);
                goto out;
        }
        s->present = true;
        if (!t1 || !w) {
                snprintf(why, why_size, "it publishes %s without %s", t1 ? "time_ns" : "work",
                         t1 ? "work" : "time_ns");
                s->malformed = why;
        } else if (!t2 || strcmp(t1, t2) != 0) {
                snprintf(why, why_size, "its publication changed during %u consecutive reads", READ_ATTEMPTS);
                s->malformed = why;
        } else if (isched__guest_parse_u64(w, &s->work) < 0) {
                snprintf(why, why_size, "work \"%.24s\" is not a decimal number of at most 20 digits", w);
                s->malformed = why;
        } else if (isched__guest_parse_u64(t1, &s->time_ns) < 0) {
                snprintf(why, why_size, "time_ns \"%.24s\" is not a decimal number of at most 20 digits", t1);
                s->malformed = why;
        }
out:
        free(t1);
        free(w);
        free(t2);
        return ok;
}

static int reserve(struct isched__xen_guests *g, size_t n)
{
        void *a, *b, *c;

        if (n <= g->cap)
                return 0;
        a = realloc(g->samples, n * sizeof(*g->samples));
        if (a)
                g->samples = a;
        b = realloc(g->names, n * sizeof(*g->names));
        if (b)
                g->names = b;
        c = realloc(g->why, n * sizeof(*g->why));
        if (c)
                g->why = c;
        if (!a || !b || !c)
                return isched__error(-ENOMEM, "out of memory reading guest-published work");
        g->cap = n;
        return 0;
}

int isched__xen_guests_read(struct isched__xen_guests *g, uint32_t pool, uint64_t now_ns,
                            const struct isched__xen_domain_ref *doms, size_t n, struct isched_counters *c)
{
        struct isched__guest_pool_result res;
        bool connected;
        int r;

        if (!g || (n && !doms) || !c)
                return isched__error(-EINVAL, "isched__xen_guests_read: NULL argument");
        r = reserve(g, n);
        if (r < 0)
                return r;
        connected = connect_xenstore(g);
        for (size_t i = 0; i < n; i++) {
                struct isched__guest_sample *s = &g->samples[i];

                memset(s, 0, sizeof(*s));
                s->domid = doms[i].domid;
                memcpy(s->handle, doms[i].handle, sizeof(s->handle));
                s->name = g->names[i];
                snprintf(g->names[i], sizeof(g->names[i]), "domain-%" PRIu32, s->domid);
                if (!connected)
                        continue;
                read_name(g, s->domid, g->names[i], sizeof(g->names[i]));
                if (!read_publication(g, s->domid, s, g->why[i], sizeof(g->why[i]))) {
                        isched__log(ISCHED_LOG_WARNING,
                                    "lost the connection to xenstored (%s): guest-published work is unavailable until it is back",
                                    strerror(errno ? errno : EIO));
                        xs_close(g->xsh);
                        g->xsh = NULL;
                        g->warned = true;
                        connected = false;
                }
        }
        r = isched__guest_update(g->tracker, pool, now_ns, g->samples, n, &res);
        if (r < 0)
                return r;
        isched__guest_result_to_counters(&res, c);
        return 0;
}
