/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `isched run`'s settings (command line and configuration file) for the
 * CLI harness (fuzz-cli.h). */
#include "../../cli/run-config.c"

#include "fuzz-cli.h"

int fuzz_cli_run(int argc, char **argv)
{
        struct run_opts o;
        int rc = run_opts_load(&o, argc, argv);

        if (rc == 0 && o.show_config) {
                FILE *null = fopen("/dev/null", "w");

                if (null) {
                        run_opts_show(&o, null);
                        fclose(null);
                }
        }
        run_opts_free(&o);
        return rc < 0 ? EXIT_OK : rc;
}
