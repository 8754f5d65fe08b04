#include "suites.h"
Suite *router_suite(void) { return suite_create("router"); }
