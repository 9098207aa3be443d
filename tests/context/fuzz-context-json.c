/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the context builder's JSON, as a model file holds it.
 * Any input is refused with -EINVAL or gives a builder that saves and
 * loads again. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "context/context-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct isched_context *c = NULL, *again = NULL;
        cJSON *j = cJSON_ParseWithLength((const char *)data, size), *out = NULL;
        int r;

        r = isched__context_from_json(j, &c);
        cJSON_Delete(j);
        if (r == 0) {
                /* What was accepted must save and load again. */
                if (isched__context_to_json(c, &out) != 0 || isched__context_from_json(out, &again) != 0)
                        abort();
                isched_context_free(again);
                cJSON_Delete(out);
                isched_context_free(c);
        } else if (r != -EINVAL) {
                abort();
        }
        return 0;
}
