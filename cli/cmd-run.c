/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cli.h"

/* Placeholder while the command is being written. */
int cmd_run(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        cli_error("'run' is not written yet");
        return EXIT_RUNTIME;
}
