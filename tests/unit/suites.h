/* Unit test suites, one per module. */
#ifndef AGENTAUTH_TEST_SUITES_H
#define AGENTAUTH_TEST_SUITES_H

#include <stddef.h>

#include <check.h>
#include <openssl/evp.h>

Suite *clientip_suite(void);
Suite *config_suite(void);
Suite *http_suite(void);
Suite *jsonapi_suite(void);
Suite *password_suite(void);
Suite *router_suite(void);
Suite *search_suite(void);
Suite *server_suite(void);
Suite *token_suite(void);
Suite *verify_suite(void);

/* Writes pk as PEM (private or public) into a malloc'd string; *len_r gets
 * its length.  The caller frees it.  Fails the test on error. */
char *test_pem_of(EVP_PKEY *pk, int private, size_t *len_r);

#endif
