#include "suites.h"
Suite *token_suite(void) { return suite_create("token"); }
