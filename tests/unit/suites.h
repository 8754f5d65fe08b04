/* Unit test suites, one per module. */
#ifndef AGENTAUTH_TEST_SUITES_H
#define AGENTAUTH_TEST_SUITES_H

#include <check.h>

Suite *clientip_suite(void);
Suite *config_suite(void);
Suite *encode_suite(void);
Suite *errors_suite(void);
Suite *gate_suite(void);
Suite *http_suite(void);
Suite *jsonapi_suite(void);
Suite *log_suite(void);
Suite *login_suite(void);
Suite *password_suite(void);
Suite *router_suite(void);
Suite *search_suite(void);
Suite *server_suite(void);
Suite *token_suite(void);
Suite *verify_suite(void);

#endif
