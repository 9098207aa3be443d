/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `isched run`'s option parsing for the CLI harness (fuzz-cli.h). */
#include "../../cli/cmd-run.c"

#include "fuzz-cli.h"

int fuzz_cli_run(int argc, char **argv)
{
        struct run_opts o;
        int rc = parse(argc, argv, &o);

        if (rc == 0 && o.model) {
                for (size_t i = 0; i < o.n_pools; i++)
                        free(model_path_for(o.model, o.pools[i]));
        }
        return rc < 0 ? EXIT_OK : rc;
}
