/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder while the xen backend is being written. */
#include <errno.h>
#include "backend-private.h"
#include "util/util.h"

int isched__backend_xen_init(struct isched_backend *b, const struct isched_backend_config *cfg)
{
        return isched__error(-EOPNOTSUPP, "the xen backend is not written yet");
}
