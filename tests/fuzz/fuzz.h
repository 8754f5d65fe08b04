/* fuzz: helpers shared by the libFuzzer targets in tests/fuzz. */
#ifndef AGENTAUTH_FUZZ_H
#define AGENTAUTH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A malloc'd copy of data[0..size) with a NUL after it (the functions under
 * test take C strings).  The exact size makes ASan see any over-read.
 * Aborts when memory runs out: that is not a finding. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A failed property: prints what broke and aborts, which libFuzzer reports
 * as a crash with the input saved. */
#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#endif
