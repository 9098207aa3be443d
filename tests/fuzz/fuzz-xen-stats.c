/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: what the xen backend reads from the hypervisor: the
 * credit2-stats text, an arrangement name and the Xen command line
 * (lib/backend/xen-parse.c).  The hypervisor is trusted, but a patched or
 * future Xen may print what this parser did not expect. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/xen-parse.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct isched__xen_stats s;
        struct isched_counters c = { .version = ISCHED_COUNTERS_VERSION };
        enum isched_arrangement a;
        char *text = fuzz_strndup(data, size), value[16];
        int r;

        fuzz_quiet();
        r = isched__xen_parse_stats(text, &s);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG);
        if (r == 0)
                isched__xen_stats_to_counters(&s, &c);
        r = isched__xen_parse_arrangement(text, &a);
        FUZZ_ASSERT(r == -EBADMSG || (r == 0 && (unsigned)a < ISCHED_ARR_COUNT));
        r = isched__xen_cmdline_option(text, "credit2_runqueue", value, sizeof(value));
        FUZZ_ASSERT(r == 0 || (r == 1 && strlen(value) < sizeof(value)));
        free(text);
        return 0;
}
