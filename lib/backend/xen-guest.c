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

/* The reader of isched__guest_read_publication(): one node of the domain
 * being read. */
struct node_reader {
        struct isched__xen_guests *g;
        uint32_t domid;
};

static char *read_leaf(void *ctx, const char *leaf)
{
        const struct node_reader *nr = ctx;
        char path[64];

        snprintf(path, sizeof(path), ISCHED_GUEST_XS_DIR "/%s", leaf);
        return read_node(nr->g, nr->domid, path);
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
                r = isched__guest_read_publication(read_leaf, &(struct node_reader){ g, s->domid }, s, g->why[i],
                                                   sizeof(g->why[i]));
                if (r != 0) {
                        isched__log(ISCHED_LOG_WARNING,
                                    "lost the connection to xenstored (%s): guest-published work is unavailable until it is back",
                                    strerror(r));
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
