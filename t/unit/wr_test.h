/*
 * Shared glue for warren's Check unit tests. Each t/unit/<dir>/test_<unit>.c
 * builds one program that runs one suite; t/run.sh runs them all.
 */
#ifndef WR_TEST_H
#define WR_TEST_H

#include <check.h>
#include <stdlib.h>

#define WR_TEST_MAIN(suite_fn)                                                                     \
    int main(void)                                                                                 \
    {                                                                                              \
        SRunner *sr = srunner_create(suite_fn());                                                  \
        srunner_run_all(sr, CK_NORMAL);                                                            \
        int failed = srunner_ntests_failed(sr);                                                    \
        srunner_free(sr);                                                                          \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                                          \
    }

#endif
