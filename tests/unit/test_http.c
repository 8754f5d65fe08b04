#include "suites.h"
Suite *http_suite(void) { return suite_create("http"); }
