/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: what the xen backend reads from the hypervisor: the
 * credit2-stats snapshot blob (its hypfs type and bytes), an arrangement
 * name and the Xen command line, and the runqueue prediction on the
 * topology it reads (lib/backend/xen-parse.c).  The hypervisor is trusted, but a
 * patched or future Xen may report what this code did not expect. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/xen-parse.h"
#include "fuzz-common.h"

/* A topology of up to 16 CPUs from the input: 3 bytes per CPU (core,
 * socket, node; 0xff = offline), then the pool membership and the cap. */
static void fuzz_runqueues(const uint8_t *data, size_t size)
{
        struct isched__xen_cpu_topo topo[16];
        bool in_pool[16];
        uint32_t rq_of[16], nr = 0, nr2 = 0;
        size_t n;
        int r;

        if (size < 5)
                return;
        n = data[0] % 16 + 1;
        if (size < 3 + 3 * n)
                return;
        for (size_t i = 0; i < n; i++) {
                const uint8_t *t = data + 3 + 3 * i;

                topo[i].core = t[0] == 0xff ? ISCHED_XEN_INVALID_ID : t[0] % 4;
                topo[i].socket = t[1] % 3;
                topo[i].node = t[2] % 3;
                in_pool[i] = (data[1] >> (i % 8)) & 1;
        }
        r = isched__xen_plan_runqueues(topo, n, in_pool, (enum isched_arrangement)(data[2] % ISCHED_ARR_COUNT),
                                       data[2] / ISCHED_ARR_COUNT % 17, data[0] & 0x80, rq_of, &nr);
        FUZZ_ASSERT(r == 0 || r == -EINVAL);
        if (r < 0)
                return;
        for (size_t i = 0; i < n; i++)
                FUZZ_ASSERT(rq_of[i] == UINT32_MAX ? !in_pool[i] || topo[i].core == ISCHED_XEN_INVALID_ID
                                                   : rq_of[i] < nr);
        r = isched__xen_count_runqueues(topo, n, in_pool, (enum isched_arrangement)(data[2] % ISCHED_ARR_COUNT),
                                        data[2] / ISCHED_ARR_COUNT % 17, data[0] & 0x80, &nr2);
        FUZZ_ASSERT(r == 0 && nr2 == nr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct isched__xen_stats s = { 0 };
        struct isched_counters c = { .version = ISCHED_COUNTERS_VERSION };
        enum isched_arrangement a;
        char *text = fuzz_strndup(data, size), value[16];
        int r;

        fuzz_quiet();
        /* The input as a snapshot: the first byte says whether hypfs typed
         * it a blob, the rest is its content. */
        if (size >= 1) {
                memset(&s, 0x5a, sizeof(s));
                r = isched__xen_parse_snapshot(data[0] & 1, data + 1, size - 1, &s);
                FUZZ_ASSERT(r == 0 || r == -EBADMSG);
                if (r == 0) {
                        FUZZ_ASSERT(size - 1 >= ISCHED_XEN_SNAPSHOT_HEADER + 8 * ISCHED_LATENCY_BUCKETS);
                        FUZZ_ASSERT(s.present & XSTAT_WAKE_LATENCY);
                        isched__xen_stats_to_counters(&s, &c);
                        FUZZ_ASSERT(c.valid & ISCHED_CNT_LATENCY);
                } else {
                        FUZZ_ASSERT(s.present == 0x5a5a5a5au); /* untouched */
                }
        }
        r = isched__xen_parse_arrangement(text, &a);
        FUZZ_ASSERT(r == -EBADMSG || (r == 0 && (unsigned)a < ISCHED_ARR_COUNT));
        r = isched__xen_cmdline_option(text, "credit2_runqueue", value, sizeof(value));
        FUZZ_ASSERT(r == 0 || (r == 1 && strlen(value) < sizeof(value)));
        fuzz_runqueues(data, size);
        free(text);
        return 0;
}
