/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The backend vtable.  Each backend (sim, xen, replay) provides one const
 * struct isched_backend_ops and a constructor listed in backend.c. */
#ifndef ISCHED_BACKEND_PRIVATE_H
#define ISCHED_BACKEND_PRIVATE_H

#include "intellisched/backend.h"

struct isched__guest_tracker;

struct isched_backend_ops {
        const char *name;
        int (*list_pools)(struct isched_backend *b, struct isched_pool_info **ret, size_t *ret_n);
        int (*read_counters)(struct isched_backend *b, uint32_t pool, struct isched_counters *ret);
        int (*get_arrangement)(struct isched_backend *b, uint32_t pool, enum isched_arrangement *ret);
        int (*set_arrangement)(struct isched_backend *b, uint32_t pool, enum isched_arrangement a);
        int (*wait)(struct isched_backend *b, uint64_t interval_ns);
        /* NULL, or the backend's guest-work tracker (mode xen+guests) */
        struct isched__guest_tracker *(*guest_tracker)(struct isched_backend *b);
        void (*destroy)(struct isched_backend *b);
};

struct isched_backend {
        const struct isched_backend_ops *ops;
        unsigned refcount;
        void *priv; /* the backend's own state */
};

/* Constructors: set b->ops and b->priv, or return -errno (detail set with
 * isched__error()).  b is zeroed and owned by backend.c. */
int isched__backend_sim_init(struct isched_backend *b, const struct isched_backend_config *cfg);
int isched__backend_replay_init(struct isched_backend *b, const struct isched_backend_config *cfg);
#if HAVE_XEN_BACKEND
int isched__backend_xen_init(struct isched_backend *b, const struct isched_backend_config *cfg);
#endif

#endif
