/* Runs every unit test suite. */
#include <stdlib.h>

#include "log.h"
#include "suites.h"

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	log_set_level(LOG_LVL_ERROR);
	srunner_add_suite(sr, clientip_suite());
	srunner_add_suite(sr, encode_suite());
	srunner_add_suite(sr, errors_suite());
	srunner_add_suite(sr, gate_suite());
	srunner_add_suite(sr, http_suite());
	srunner_add_suite(sr, jsonapi_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, login_suite());
	srunner_add_suite(sr, password_suite());
	srunner_add_suite(sr, router_suite());
	srunner_add_suite(sr, search_suite());
	srunner_add_suite(sr, server_suite());
	srunner_add_suite(sr, token_suite());
	srunner_add_suite(sr, verify_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
