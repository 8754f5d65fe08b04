/* Unit tests for src/password.c: accepted and refused hash schemes, the
 * bcrypt 72-byte limit, over-long passwords and the dummy hash. */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "password.h"
#include "suites.h"

/* Fixed vectors, computed once with libxcrypt 4.4.33 (crypt_r), so that
 * hashes made elsewhere keep verifying.  The pgcrypto-style hash was also
 * checked against python3's crypt module. */
#define PGCRYPTO_PASSWORD "change123"
#define PGCRYPTO_HASH "$2a$06$Tr3oLZ1bTBmgsDXNvFQR9uAOGzxEzTUyjUrZmg9vleIWNUObK6wR."
#define SPRYKER_PASSWORD "change123"
#define SPRYKER_HASH "$2y$10$Lk2mWq0vZ8yJ7cN5pR3sTeM3sILtuFljRn10Pj4yZxzi1RkbFR7IS"
/* A published crypt_blowfish test vector (Openwall wrapper.c). */
#define OPENWALL_PASSWORD "U*U"
#define OPENWALL_HASH "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
/* Refused schemes, each the right hash of "change123". */
#define MD5CRYPT_HASH "$1$abcdefgh$sn/zNsJsuNWgSlxg0DkQ4/"
#define SHA256CRYPT_HASH "$5$abcdefghijklmnop$WaiUCei9tUCXSgTKPVzbYsMSZ0nZj9V7a0RWzjNz7RB"
#define DES_HASH "abk8c6oyzsnsU"

/* Hashes password[0..len) under a fresh setting for prefix and count. */
static char *
make_hash(const char *prefix, unsigned long count, const char *password)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char *out, *copy;

	ck_assert_ptr_nonnull(cd);
	ck_assert_ptr_nonnull(crypt_gensalt_rn(prefix, count, NULL, 0, setting,
	    (int)sizeof(setting)));
	out = crypt_rn(password, setting, cd, (int)sizeof(*cd));
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(out[0] != '*', "crypt_rn failed for %s", prefix);
	ck_assert_msg(strncmp(out, prefix, strlen(prefix)) == 0, "%s is not a %s hash", out, prefix);
	copy = strdup(out);
	free(cd);
	return copy;
}

static enum pw_result
verify(const char *password, const char *hash)
{
	return password_verify(password, strlen(password), hash);
}

static void
teardown(void)
{
	password_cleanup();
}

/* ---- accepted schemes ---- */

struct scheme {
	const char *prefix;
	unsigned long count;
};

static const struct scheme schemes[] = {
	{ "$2b$", 4 },
	{ "$y$", 0 },
	{ "$6$", 1000 },
};

START_TEST(test_generated_vectors)
{
	char *hash = make_hash(schemes[_i].prefix, schemes[_i].count, "change123");

	ck_assert_int_eq(verify("change123", hash), PW_MATCH);
	ck_assert_int_eq(verify("change124", hash), PW_MISMATCH);
	ck_assert_int_eq(verify("Change123", hash), PW_MISMATCH);
	ck_assert_int_eq(verify("change12", hash), PW_MISMATCH);
	ck_assert_int_eq(verify("change1234", hash), PW_MISMATCH);
	ck_assert_int_eq(verify("", hash), PW_MISMATCH);
	/* twice in a row: the scratch area is reused */
	ck_assert_int_eq(verify("change123", hash), PW_MATCH);
	free(hash);
}
END_TEST

START_TEST(test_utf8_password)
{
	char *hash = make_hash("$2b$", 4, "p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac");

	ck_assert_int_eq(verify("p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac", hash), PW_MATCH);
	/* NFD form of the same text is another byte string */
	ck_assert_int_eq(verify("pa\xcc\x88ssw\xc3\xb6rd \xe2\x82\xac", hash), PW_MISMATCH);
	free(hash);
}
END_TEST

START_TEST(test_pgcrypto_vector)
{
	ck_assert_int_eq(verify(PGCRYPTO_PASSWORD, PGCRYPTO_HASH), PW_MATCH);
	ck_assert_int_eq(verify("change124", PGCRYPTO_HASH), PW_MISMATCH);
	ck_assert_str_eq(password_scheme(PGCRYPTO_HASH), "bcrypt");
}
END_TEST

START_TEST(test_spryker_vector)
{
	ck_assert_int_eq(verify(SPRYKER_PASSWORD, SPRYKER_HASH), PW_MATCH);
	ck_assert_int_eq(verify("change12", SPRYKER_HASH), PW_MISMATCH);
	ck_assert_str_eq(password_scheme(SPRYKER_HASH), "bcrypt");
}
END_TEST

START_TEST(test_openwall_vector)
{
	ck_assert_int_eq(verify(OPENWALL_PASSWORD, OPENWALL_HASH), PW_MATCH);
	ck_assert_int_eq(verify("U*V", OPENWALL_HASH), PW_MISMATCH);
}
END_TEST

START_TEST(test_hash_tampered)
{
	char hash[] = PGCRYPTO_HASH;

	/* last character of the digest changed */
	hash[strlen(hash) - 1] = 'a';
	ck_assert_int_eq(verify(PGCRYPTO_PASSWORD, hash), PW_MISMATCH);
}
END_TEST

/* ---- refused schemes ---- */

static const char *const weak_hashes[] = {
	MD5CRYPT_HASH,
	SHA256CRYPT_HASH,
	DES_HASH,
	"abJnggxhB/yWI",
	"",
	"*",
	"!",
	"!!",
	"*LK*",
	"!" PGCRYPTO_HASH,                 /* a locked bcrypt hash */
	"*" PGCRYPTO_HASH,
	"$2x$06$Tr3oLZ1bTBmgsDXNvFQR9uAOGzxEzTUyjUrZmg9vleIWNUObK6wR.",
	"$7$CU..../....abcdefghijklmnop$0123456789",
	"$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
	"plaintext",
	"change123",
};

START_TEST(test_weak_schemes)
{
	ck_assert_msg(verify("change123", weak_hashes[_i]) == PW_WEAK,
	    "\"%s\" was not refused as weak", weak_hashes[_i]);
	ck_assert_msg(verify("wrong", weak_hashes[_i]) == PW_WEAK,
	    "\"%s\" was not refused as weak", weak_hashes[_i]);
}
END_TEST

START_TEST(test_malformed_accepted_scheme)
{
	ck_assert_int_eq(verify("change123", "$2b$04$tooshort"), PW_ERROR);
	ck_assert_int_eq(verify("change123", "$2b$99$Tr3oLZ1bTBmgsDXNvFQR9uAOGzxEzTUyjUrZmg9vleIWNUObK6wR."),
	    PW_ERROR);
	ck_assert_int_eq(verify("change123", "$2b$"), PW_ERROR);
}
END_TEST

START_TEST(test_scheme_names)
{
	ck_assert_str_eq(password_scheme(NULL), "empty");
	ck_assert_str_eq(password_scheme(""), "empty");
	ck_assert_str_eq(password_scheme("$2a$06$x"), "bcrypt");
	ck_assert_str_eq(password_scheme("$2b$04$x"), "bcrypt");
	ck_assert_str_eq(password_scheme("$2y$10$x"), "bcrypt");
	ck_assert_str_eq(password_scheme("$y$j9T$x"), "yescrypt");
	ck_assert_str_eq(password_scheme("$6$x$y"), "sha512crypt");
	ck_assert_str_eq(password_scheme(SHA256CRYPT_HASH), "sha256crypt");
	ck_assert_str_eq(password_scheme(MD5CRYPT_HASH), "md5crypt");
	ck_assert_str_eq(password_scheme("*"), "disabled");
	ck_assert_str_eq(password_scheme("!"), "disabled");
	ck_assert_str_eq(password_scheme(DES_HASH), "descrypt");
	ck_assert_str_eq(password_scheme("$7$x"), "unknown");
}
END_TEST

/* ---- lengths and NUL ---- */

START_TEST(test_bcrypt_72_bytes)
{
	char pw[81];
	char *hash;

	memset(pw, 'a', 80);
	pw[80] = '\0';
	pw[72] = '\0';
	hash = make_hash("$2b$", 4, pw);            /* hash of the first 72 bytes */
	ck_assert_int_eq(password_verify(pw, 72, hash), PW_MATCH);
	pw[72] = 'b';                               /* 73 bytes, same first 72 */
	pw[73] = '\0';
	ck_assert_int_eq(password_verify(pw, 73, hash), PW_MISMATCH);
	pw[73] = 'c';                               /* 80 bytes */
	ck_assert_int_eq(password_verify(pw, 80, hash), PW_MISMATCH);
	pw[71] = 'z';                               /* 72 bytes, last differs */
	pw[72] = '\0';
	ck_assert_int_eq(password_verify(pw, 72, hash), PW_MISMATCH);
	free(hash);
}
END_TEST

START_TEST(test_bcrypt_long_password_against_its_own_hash)
{
	/* two 80-byte passwords that differ after byte 72: bcrypt alone
	 * verifies both against the hash of either; we verify neither */
	char a[81], b[81];
	char *hash;

	memset(a, 'x', 80);
	a[80] = '\0';
	memcpy(b, a, sizeof(a));
	b[79] = 'y';
	hash = make_hash("$2y$", 4, a);
	ck_assert_int_eq(password_verify(a, 80, hash), PW_MISMATCH);
	ck_assert_int_eq(password_verify(b, 80, hash), PW_MISMATCH);
	free(hash);
	/* a multibyte character cut by the 72-byte boundary */
	memset(a, 'x', 71);
	memcpy(a + 71, "\xc3\xa9", 3);
	hash = make_hash("$2b$", 4, a);
	ck_assert_int_eq(password_verify(a, 73, hash), PW_MISMATCH);
	free(hash);
}
END_TEST

START_TEST(test_long_password_other_schemes)
{
	/* yescrypt and sha512crypt read the whole password: 256 bytes match,
	 * more never do, even against their own hash */
	static const struct scheme long_schemes[] = { { "$y$", 0 }, { "$6$", 1000 } };
	char pw[PASSWORD_MAX_BYTES + 2];
	char *hash;

	for (size_t i = 0; i < 2; i++) {
		memset(pw, 'p', sizeof(pw) - 1);
		pw[PASSWORD_MAX_BYTES] = '\0';
		hash = make_hash(long_schemes[i].prefix, long_schemes[i].count, pw);
		ck_assert_int_eq(password_verify(pw, PASSWORD_MAX_BYTES, hash), PW_MATCH);
		free(hash);

		pw[PASSWORD_MAX_BYTES] = 'p';
		pw[PASSWORD_MAX_BYTES + 1] = '\0';
		hash = make_hash(long_schemes[i].prefix, long_schemes[i].count, pw);
		ck_assert_int_eq(password_verify(pw, PASSWORD_MAX_BYTES + 1, hash), PW_MISMATCH);
		free(hash);
	}
}
END_TEST

START_TEST(test_huge_password)
{
	size_t n = 1 << 20;
	char *pw = malloc(n + 1);

	ck_assert_ptr_nonnull(pw);
	memset(pw, 'a', n);
	pw[n] = '\0';
	ck_assert_int_eq(password_verify(pw, n, PGCRYPTO_HASH), PW_MISMATCH);
	ck_assert_int_eq(password_verify(pw, 513, PGCRYPTO_HASH), PW_MISMATCH);
	free(pw);
}
END_TEST

START_TEST(test_embedded_nul)
{
	static const char pw[] = "change123\0tail";
	char *hash = make_hash(schemes[_i].prefix, schemes[_i].count, "change123");

	/* crypt would only see "change123" */
	ck_assert_int_eq(password_verify(pw, sizeof(pw) - 1, hash), PW_MISMATCH);
	ck_assert_int_eq(password_verify("\0change123", 10, hash), PW_MISMATCH);
	ck_assert_int_eq(password_verify("change123\0", 10, hash), PW_MISMATCH);
	ck_assert_int_eq(password_verify(pw, 9, hash), PW_MATCH);
	free(hash);
}
END_TEST

/* ---- dummy hash ---- */

START_TEST(test_dummy_hash)
{
	static const char *const pws[] = {
		"", "change123", "password", "a", "\xc3\xa9",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	char *h1 = password_dummy_hash(4), *h2 = password_dummy_hash(4);

	ck_assert_ptr_nonnull(h1);
	ck_assert_ptr_nonnull(h2);
	ck_assert_uint_eq(strlen(h1), 60);
	ck_assert_int_eq(strncmp(h1, "$2b$04$", 7), 0);
	ck_assert_int_eq(strncmp(h2, "$2b$04$", 7), 0);
	ck_assert_str_ne(h1, h2);
	ck_assert_str_eq(password_scheme(h1), "bcrypt");
	for (size_t i = 0; i < sizeof(pws) / sizeof(pws[0]); i++)
		ck_assert_int_eq(verify(pws[i], h1), PW_MISMATCH);
	free(h1);
	free(h2);

	h1 = password_dummy_hash(5);
	ck_assert_ptr_nonnull(h1);
	ck_assert_int_eq(strncmp(h1, "$2b$05$", 7), 0);
	free(h1);
}
END_TEST

START_TEST(test_dummy_hash_bad_cost)
{
	ck_assert_ptr_null(password_dummy_hash(3));
	ck_assert_ptr_null(password_dummy_hash(32));
}
END_TEST

Suite *
password_suite(void)
{
	Suite *s = suite_create("password");
	TCase *tc = tcase_create("schemes");
	int nschemes = (int)(sizeof(schemes) / sizeof(schemes[0]));

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, test_generated_vectors, 0, nschemes);
	tcase_add_test(tc, test_utf8_password);
	tcase_add_test(tc, test_pgcrypto_vector);
	tcase_add_test(tc, test_spryker_vector);
	tcase_add_test(tc, test_openwall_vector);
	tcase_add_test(tc, test_hash_tampered);
	tcase_add_loop_test(tc, test_weak_schemes, 0,
	    (int)(sizeof(weak_hashes) / sizeof(weak_hashes[0])));
	tcase_add_test(tc, test_malformed_accepted_scheme);
	tcase_add_test(tc, test_scheme_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("lengths");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_bcrypt_72_bytes);
	tcase_add_test(tc, test_bcrypt_long_password_against_its_own_hash);
	tcase_add_test(tc, test_long_password_other_schemes);
	tcase_add_test(tc, test_huge_password);
	tcase_add_loop_test(tc, test_embedded_nul, 0, nschemes);
	suite_add_tcase(s, tc);

	tc = tcase_create("dummy");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_dummy_hash);
	tcase_add_test(tc, test_dummy_hash_bad_cost);
	suite_add_tcase(s, tc);
	return s;
}
