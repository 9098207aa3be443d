/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The main() of every CUnit suite: each test file defines
 * isched_test_register(), which adds its suites to the registry. */
#include <CUnit/Basic.h>
#include <stdio.h>

int isched_test_register(void);

int main(void)
{
        unsigned failed;

        if (CU_initialize_registry() != CUE_SUCCESS)
                return 1;
        if (isched_test_register() != 0) {
                fprintf(stderr, "test registration failed: %s\n", CU_get_error_msg());
                CU_cleanup_registry();
                return 1;
        }
        CU_basic_set_mode(CU_BRM_VERBOSE);
        CU_basic_run_tests();
        failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
        CU_cleanup_registry();
        return failed ? 1 : 0;
}
