/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder while the simulator is being written. */
#include <errno.h>
#include "backend/backend-private.h"
#include "util/util.h"

int isched__backend_sim_init(struct isched_backend *b, const struct isched_backend_config *cfg)
{
        return isched__error(-EOPNOTSUPP, "the sim backend is not written yet");
}
