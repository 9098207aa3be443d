/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `isched learn`'s option parsing for the CLI harness (fuzz-cli.h). */
#include "../../cli/cmd-learn.c"

#include "fuzz-cli.h"

int fuzz_cli_learn(int argc, char **argv)
{
        struct learn_opts o;
        const int rc = parse_options(argc, argv, &o);

        return rc < 0 ? EXIT_OK : rc;
}
