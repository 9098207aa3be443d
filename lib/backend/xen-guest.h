/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The xen backend's side of guest-published work: reading what the guests
 * of a pool publish in xenstore (/local/domain/<domid>/data/intellisched/,
 * docs/guest-work.md) and handing it to the guest-work tracker. */
#ifndef ISCHED_XEN_GUEST_H
#define ISCHED_XEN_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "guest-work.h"
#include "intellisched/counters.h"

/* The subtree a guest publishes in, relative to its /local/domain/<domid>. */
#define ISCHED_GUEST_XS_DIR "data/intellisched"

struct isched__xen_guests;

/* A domain of the pool, as the hypervisor lists it. */
struct isched__xen_domain_ref {
        uint32_t domid;
        uint8_t handle[16];
};

/* Connect to xenstored (its socket only: never /dev/xen/xenbus, where
 * requests block when no xenstored runs).  0, -EINVAL (bad parameters),
 * -ENOMEM; without xenstored it succeeds, and every read finds no guest
 * publishing (logged once). */
int isched__xen_guests_new(const struct isched__guest_params *params, struct isched__xen_guests **ret);
struct isched__xen_guests *isched__xen_guests_free(struct isched__xen_guests *g);
struct isched__guest_tracker *isched__xen_guests_tracker(struct isched__xen_guests *g);

/* Read the publications of the pool's domains at dom0 time now_ns and fill
 * c's work_units, work_generation, work_domains and the ISCHED_CNT_WORK and
 * ISCHED_CNT_GUEST_WORK bits.  0, -ENOMEM or -EINVAL. */
int isched__xen_guests_read(struct isched__xen_guests *g, uint32_t pool, uint64_t now_ns,
                            const struct isched__xen_domain_ref *doms, size_t n, struct isched_counters *c);

#endif
