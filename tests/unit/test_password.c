#include "suites.h"
Suite *password_suite(void) { return suite_create("password"); }
