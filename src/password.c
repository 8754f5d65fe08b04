/* password: crypt_rn-based verification with scheme policy. */
#include "password.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "encode.h"

/* struct crypt_data is 32 KiB: keep it off the stack, once per process.
 * It is the process's, not a struct app's (a reload keeps it): it is
 * released once, at exit, in every process that made it (a worker
 * inherits the master's, and its exit handler). */
static struct crypt_data *scratch;

static struct crypt_data *
scratch_get(void)
{
	static int registered;

	if (scratch == NULL)
		scratch = calloc(1, sizeof(*scratch));
	if (scratch != NULL && !registered)
		registered = atexit(password_cleanup) == 0;
	return scratch;
}

void
password_cleanup(void)
{
	if (scratch != NULL) {
		explicit_bzero(scratch, sizeof(*scratch));
		free(scratch);
		scratch = NULL;
	}
}

static int
is_bcrypt(const char *h)
{
	return strncmp(h, "$2a$", 4) == 0 || strncmp(h, "$2b$", 4) == 0 ||
	    strncmp(h, "$2y$", 4) == 0;
}

const char *
password_scheme(const char *h)
{
	if (h == NULL || *h == '\0')
		return "empty";
	if (is_bcrypt(h))
		return "bcrypt";
	if (strncmp(h, "$y$", 3) == 0)
		return "yescrypt";
	if (strncmp(h, "$6$", 3) == 0)
		return "sha512crypt";
	if (strncmp(h, "$5$", 3) == 0)
		return "sha256crypt";
	if (strncmp(h, "$1$", 3) == 0)
		return "md5crypt";
	if (h[0] == '*' || h[0] == '!')
		return "disabled";
	if (h[0] != '$')
		return "descrypt";
	return "unknown";
}

enum pw_result
password_verify(const char *password, size_t len, const char *hash)
{
	struct crypt_data *cd;
	const char *scheme = password_scheme(hash);
	enum pw_result r;
	size_t hlen;
	char *out;

	if (strcmp(scheme, "bcrypt") != 0 && strcmp(scheme, "yescrypt") != 0 &&
	    strcmp(scheme, "sha512crypt") != 0)
		return PW_WEAK;
	if (len > PASSWORD_MAX_BYTES || memchr(password, '\0', len) != NULL)
		return PW_MISMATCH;
	cd = scratch_get();
	if (cd == NULL)
		return PW_ERROR;
	out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	hlen = strlen(hash);
	if (out == NULL || out[0] == '*')
		r = PW_ERROR;
	else if (strlen(out) != hlen || CRYPTO_memcmp(out, hash, hlen) != 0)
		r = PW_MISMATCH;
	else if (is_bcrypt(hash) && len > BCRYPT_MAX_BYTES)
		r = PW_MISMATCH;   /* bcrypt saw only a prefix: never a match */
	else
		r = PW_MATCH;
	explicit_bzero(cd, sizeof(*cd));
	return r;
}

char *
password_hash_new(const char *password, size_t len, int cost)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = scratch_get();
	char *out, *copy = NULL;

	if (cd == NULL || len > BCRYPT_MAX_BYTES || memchr(password, '\0', len) != NULL ||
	    password[len] != '\0')
		return NULL;
	if (crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, setting,
	    (int)sizeof(setting)) == NULL)
		return NULL;
	out = crypt_rn(password, setting, cd, (int)sizeof(*cd));
	if (out != NULL && out[0] != '*')
		copy = strdup(out);
	explicit_bzero(cd, sizeof(*cd));
	return copy;
}

char *
password_dummy_hash(int cost)
{
	unsigned char rnd[24];
	char pw[B64URL_LEN(sizeof(rnd)) + 1], *copy;

	if (random_bytes(rnd, sizeof(rnd)) < 0)
		return NULL;
	b64url_encode(pw, rnd, sizeof(rnd));
	copy = password_hash_new(pw, strlen(pw), cost);
	explicit_bzero(pw, sizeof(pw));
	return copy;
}

int
password_needs_rehash(const char *hash, int cost)
{
	if (strncmp(hash, "$2b$", 4) != 0 && strncmp(hash, "$2y$", 4) != 0)
		return 1;
	if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' || hash[6] != '$')
		return 1;
	return (hash[4] - '0') * 10 + (hash[5] - '0') < cost;
}
