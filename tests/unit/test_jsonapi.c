#include "suites.h"
Suite *jsonapi_suite(void) { return suite_create("jsonapi"); }
