/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: counter trace files, read as the replay backend
 * reads them.  Any input must give a reader or -EINVAL/-EPROTO, never a
 * crash, a leak or undefined behaviour.  Built with -Dfuzzing=true and
 * CC=clang (tests/context/meson.build). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "intellisched/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

/* libFuzzer ends its runs with exit(): leave nothing behind in /tmp. */
static void remove_trace(void)
{
        if (path[0])
                (void)unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct isched_trace_reader *r = NULL;
        struct isched_counters c;
        uint32_t id;
        FILE *f;
        int ret;

        if (!path[0]) {
                snprintf(path, sizeof(path), "/tmp/isched-fuzz-trace-%d.jsonl", (int)getpid());
                atexit(remove_trace);
        }
        f = fopen(path, "w");
        if (!f)
                return 0;
        fwrite(data, 1, size, f);
        fclose(f);
        ret = isched_trace_reader_open(path, &r);
        if (ret == 0) {
                while (isched_trace_reader_next(r, &id, &c) == 0)
                        ;
                isched_trace_reader_free(r);
        } else if (ret != -EINVAL && ret != -EPROTO) {
                abort();
        }
        return 0;
}
