/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the command line.  The input is split at newlines
 * into argv (the first word names the command, as argv[1] of isched); the
 * command's option parsing runs in-process.  `run` and `learn` stop after
 * parsing; `sim` and `model merge` run with the simulator and the merge
 * stubbed; `eval`, `explain` and `pools` run whole (they only read).  Any
 * argv must end in an exit code 0, 1 or 2, never in a crash or an exit().
 * Arguments that are absolute paths or contain ".." are not run, so that
 * a read of a device (/dev/zero, /dev/stdin) cannot hang the harness. */
#include <stdlib.h>
#include <string.h>

#include "../../cli/cli.h"
#include "fuzz-cli.h"
#include "fuzz-common.h"

#define MAX_ARGS 64

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
} commands[] = {
        { "run", fuzz_cli_run },   { "learn", fuzz_cli_learn }, { "sim", cmd_sim },
        { "model", cmd_model },    { "eval", cmd_eval },        { "explain", cmd_explain },
        { "pools", cmd_pools },
};

static bool safe_arg(const char *s)
{
        return s[0] != '/' && !strstr(s, "..");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text, *argv[MAX_ARGS + 1], *p;
        int argc = 0, rc = EXIT_OK;
        bool known = false;

        fuzz_quiet();
        text = fuzz_strndup(data, size);
        for (p = text; argc < MAX_ARGS;) {
                char *nl = strchr(p, '\n');

                if (nl)
                        *nl = '\0';
                if (!safe_arg(p))
                        goto out;
                argv[argc++] = p;
                if (!nl)
                        break;
                p = nl + 1;
        }
        argv[argc] = NULL;
        if (argc < 1)
                goto out;
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(argv[0], commands[i].name) == 0) {
                        rc = commands[i].fn(argc, argv);
                        known = true;
                        break;
                }
        }
        fuzz_reset_getopt();
        FUZZ_ASSERT(!known || rc == EXIT_OK || rc == EXIT_RUNTIME || rc == EXIT_USAGE);
out:
        free(text);
        return 0;
}
