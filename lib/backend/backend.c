/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend-private.h"
#include "guest-work.h"
#include "util/util.h"

struct backend_entry {
        const char *name;
        int (*init)(struct isched_backend *b, const struct isched_backend_config *cfg);
};

static const struct backend_entry backends[] = {
        { "sim", isched__backend_sim_init },
        { "replay", isched__backend_replay_init },
#if HAVE_XEN_BACKEND
        { "xen", isched__backend_xen_init },
#endif
};

ISCHED_EXPORT int isched_backend_open(const char *name, const struct isched_backend_config *config,
                                      struct isched_backend **ret_backend)
{
        struct isched_backend_config defaults = { .size = sizeof(defaults) };
        struct isched_backend *b;
        int r;

        if (!name || !ret_backend)
                return isched__error(-EINVAL, "isched_backend_open: name and ret_backend are required");
        if (!config)
                config = &defaults;
        if (config->size < sizeof(struct isched_backend_config))
                return isched__error(-EINVAL, "backend config size %zu is smaller than this library's %zu",
                                     config->size, sizeof(struct isched_backend_config));

        for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
                if (strcmp(backends[i].name, name) != 0)
                        continue;
                b = calloc(1, sizeof(*b));
                if (!b)
                        return isched__error(-ENOMEM, "out of memory opening backend %s", name);
                b->refcount = 1;
                r = backends[i].init(b, config);
                if (r < 0) {
                        free(b);
                        return r;
                }
                *ret_backend = b;
                return 0;
        }
        if (strcmp(name, "xen") == 0)
                return isched__error(-EOPNOTSUPP,
                                     "this build of intellisched has no xen backend: rebuild with libxen-dev installed (meson option -Dxen=enabled)");
        return isched__error(-ENOENT, "unknown backend '%s': use sim, replay or xen", name);
}

ISCHED_EXPORT struct isched_backend *isched_backend_ref(struct isched_backend *backend)
{
        if (backend)
                backend->refcount++;
        return backend;
}

ISCHED_EXPORT struct isched_backend *isched_backend_unref(struct isched_backend *backend)
{
        if (!backend)
                return NULL;
        if (--backend->refcount > 0)
                return NULL;
        if (backend->ops && backend->ops->destroy)
                backend->ops->destroy(backend);
        free(backend);
        return NULL;
}

ISCHED_EXPORT const char *isched_backend_get_name(const struct isched_backend *backend)
{
        return backend ? backend->ops->name : NULL;
}

ISCHED_EXPORT int isched_backend_list_pools(struct isched_backend *backend,
                                            struct isched_pool_info **ret_pools, size_t *ret_n)
{
        if (!backend || !ret_pools || !ret_n)
                return isched__error(-EINVAL, "isched_backend_list_pools: NULL argument");
        return backend->ops->list_pools(backend, ret_pools, ret_n);
}

ISCHED_EXPORT int isched_backend_find_pool(struct isched_backend *backend, const char *name,
                                           struct isched_pool_info *ret_pool)
{
        struct isched_pool_info *pools = NULL;
        char names[256] = "";
        size_t n = 0, used = 0;
        int r;

        if (!backend || !name || !ret_pool)
                return isched__error(-EINVAL, "isched_backend_find_pool: NULL argument");
        r = isched_backend_list_pools(backend, &pools, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (strcmp(pools[i].name, name) == 0) {
                        *ret_pool = pools[i];
                        free(pools);
                        return 0;
                }
                if (used < sizeof(names))
                        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
                                                 i ? ", " : "", pools[i].name);
        }
        free(pools);
        return isched__error(-ENOENT, "no cpupool named '%s' on backend %s (pools: %s)", name,
                             backend->ops->name, n ? names : "none");
}

ISCHED_EXPORT int isched_backend_read_counters(struct isched_backend *backend, uint32_t pool_id,
                                               struct isched_counters *ret_counters)
{
        if (!backend || !ret_counters)
                return isched__error(-EINVAL, "isched_backend_read_counters: NULL argument");
        return backend->ops->read_counters(backend, pool_id, ret_counters);
}

ISCHED_EXPORT int isched_backend_get_arrangement(struct isched_backend *backend, uint32_t pool_id,
                                                 enum isched_arrangement *ret_arrangement)
{
        if (!backend || !ret_arrangement)
                return isched__error(-EINVAL, "isched_backend_get_arrangement: NULL argument");
        return backend->ops->get_arrangement(backend, pool_id, ret_arrangement);
}

ISCHED_EXPORT int isched_backend_set_arrangement(struct isched_backend *backend, uint32_t pool_id,
                                                 enum isched_arrangement arrangement)
{
        if (!backend)
                return isched__error(-EINVAL, "isched_backend_set_arrangement: NULL backend");
        if ((unsigned)arrangement >= ISCHED_ARR_COUNT)
                return isched__error(-EINVAL, "invalid arrangement %d: use cpu, core, socket, node or all",
                                     (int)arrangement);
        return backend->ops->set_arrangement(backend, pool_id, arrangement);
}

ISCHED_EXPORT int isched_backend_list_guests(struct isched_backend *backend, uint32_t pool_id,
                                            struct isched_guest_info **ret_guests, size_t *ret_n)
{
        struct isched__guest_tracker *t;

        if (!backend || !ret_guests || !ret_n)
                return isched__error(-EINVAL, "isched_backend_list_guests: NULL argument");
        t = backend->ops->guest_tracker ? backend->ops->guest_tracker(backend) : NULL;
        if (!t)
                return isched__error(-EOPNOTSUPP,
                                     "the %s backend does not observe guest-published work (observation mode xen+guests)",
                                     backend->ops->name);
        return isched__guest_list(t, pool_id, ret_guests, ret_n);
}

ISCHED_EXPORT int isched_backend_wait(struct isched_backend *backend, uint64_t interval_ns)
{
        if (!backend)
                return isched__error(-EINVAL, "isched_backend_wait: NULL backend");
        return backend->ops->wait(backend, interval_ns);
}
