/* Unit tests for src/verify.c (token_verify), the base64url decoder of
 * src/encode.c, gate_bearer (src/gate.c) and the public side of
 * src/token.c (signing_key_load_public, jwks_document).
 *
 * Forged tokens are built here from raw JSON text and signed with OpenSSL
 * (RSA, RSA-PSS, or HMAC keyed with our public PEM as libjwt 1.10 would
 * accept), so the verifier sees exactly what an attacker could send
 * (SECURITY.md §2 C and §3 "Tokens"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "encode.h"
#include "gate.h"
#include "suites.h"
#include "token.h"
#include "verify.h"

#define NOW 1700000000LL
#define AUD "frontend"

/* ---- base64 helpers independent of src/encode.c ---- */

static const char b64url_tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64std_tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Returns a malloc'd base64 text of in[0..n) in alphabet tab, padded with
 * '=' when pad is set. */
static char *
b64_with(const char *tab, int pad, const void *data, size_t n)
{
	const unsigned char *in = data;
	char *out = malloc(n / 3 * 4 + 8), *o = out;
	size_t i;

	ck_assert_ptr_nonnull(out);
	for (i = 0; i + 3 <= n; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 |
		    (unsigned long)in[i + 1] << 8 | in[i + 2];
		for (int k = 3; k >= 0; k--)
			*o++ = tab[v >> (6 * k) & 63];
	}
	if (n - i == 1) {
		unsigned long v = (unsigned long)in[i] << 16;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
	}
	while (pad && (o - out) % 4 != 0)
		*o++ = '=';
	*o = '\0';
	return out;
}

static char *
b64u(const void *data, size_t n)
{
	return b64_with(b64url_tab, 0, data, n);
}

static char *
b64u_str(const char *s)
{
	return b64u(s, strlen(s));
}

/* malloc'd concatenation of a, ".", b (and ".", c when c is not NULL). */
static char *
join(const char *a, const char *b, const char *c)
{
	size_t len = strlen(a) + strlen(b) + (c != NULL ? strlen(c) : 0) + 3;
	char *out = malloc(len);

	ck_assert_ptr_nonnull(out);
	if (c != NULL)
		snprintf(out, len, "%s.%s.%s", a, b, c);
	else
		snprintf(out, len, "%s.%s", a, b);
	return out;
}

/* ---- keys: two 2048-bit keys, made once for the whole run ---- */

static EVP_PKEY *pk_a, *pk_b;
static char *pem_a, *pem_a_pub, *pem_b;
static size_t pem_a_len, pem_a_pub_len, pem_b_len;
static struct signing_key sk_a, sk_b;
static int keys_made;


static void
keys_free(void)
{
	if (!keys_made)
		return;
	signing_key_free(&sk_a);
	signing_key_free(&sk_b);
	EVP_PKEY_free(pk_a);
	EVP_PKEY_free(pk_b);
	free(pem_a);
	free(pem_a_pub);
	free(pem_b);
	pk_a = pk_b = NULL;
	pem_a = pem_a_pub = pem_b = NULL;
	keys_made = 0;
}

/* Unchecked fixture: runs in the runner, so the keys are made once and
 * inherited by every forked test.  Freed at exit. */
static void
keys_setup(void)
{
	static int registered;
	char err[256] = "";

	if (keys_made)
		return;
	pk_a = EVP_RSA_gen(2048);
	pk_b = EVP_RSA_gen(2048);
	ck_assert_ptr_nonnull(pk_a);
	ck_assert_ptr_nonnull(pk_b);
	pem_a = test_pem_of(pk_a, 1, &pem_a_len);
	pem_a_pub = test_pem_of(pk_a, 0, &pem_a_pub_len);
	pem_b = test_pem_of(pk_b, 1, &pem_b_len);
	ck_assert_msg(signing_key_from_pem(&sk_a, pem_a, pem_a_len, err, sizeof(err)) == 0,
	    "key A: %s", err);
	ck_assert_msg(signing_key_from_pem(&sk_b, pem_b, pem_b_len, err, sizeof(err)) == 0,
	    "key B: %s", err);
	ck_assert_str_ne(sk_a.kid, sk_b.kid);
	keys_made = 1;
	if (!registered) {
		registered = 1;
		atexit(keys_free);
	}
}

/* ---- signing ---- */

enum signer {
	SIG_EMPTY,       /* no signature bytes */
	SIG_JUNK,        /* 256 bytes that are not a signature */
	SIG_ZERO,        /* 256 zero bytes */
	SIG_RS256_A,
	SIG_RS256_B,     /* the second (or a foreign) key */
	SIG_RS512_A,
	SIG_PS256_A,
	SIG_HS256_PUB,   /* HMAC keyed with key A's public PEM text */
	SIG_HS384_PUB,
	SIG_HS512_PUB,
};

static unsigned char *
rsa_sign(EVP_PKEY *pk, const EVP_MD *md, int pss, const void *data, size_t n, size_t *len_r)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = (size_t)EVP_PKEY_get_size(pk);
	unsigned char *sig = malloc(len);

	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_nonnull(sig);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, &pctx, md, NULL, pk), 1);
	if (pss) {
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
	}
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &len, data, n), 1);
	EVP_MD_CTX_free(ctx);
	*len_r = len;
	return sig;
}

static unsigned char *
hmac_pub(const EVP_MD *md, const void *data, size_t n, size_t *len_r)
{
	unsigned char *mac = malloc(EVP_MAX_MD_SIZE);
	unsigned int len = 0;

	ck_assert_ptr_nonnull(mac);
	ck_assert_ptr_nonnull(HMAC(md, pem_a_pub, (int)pem_a_pub_len, data, n, mac, &len));
	*len_r = len;
	return mac;
}

/* The signature of data[0..n) made by s (malloc'd, *len_r bytes). */
static unsigned char *
sign_with(enum signer s, const void *data, size_t n, size_t *len_r)
{
	unsigned char *sig;

	switch (s) {
	case SIG_EMPTY:
		*len_r = 0;
		return calloc(1, 1);
	case SIG_JUNK:
	case SIG_ZERO:
		sig = malloc(256);
		ck_assert_ptr_nonnull(sig);
		for (int i = 0; i < 256; i++)
			sig[i] = s == SIG_ZERO ? 0 : (unsigned char)(i * 37 + 11);
		*len_r = 256;
		return sig;
	case SIG_RS256_A:
		return rsa_sign(pk_a, EVP_sha256(), 0, data, n, len_r);
	case SIG_RS256_B:
		return rsa_sign(pk_b, EVP_sha256(), 0, data, n, len_r);
	case SIG_RS512_A:
		return rsa_sign(pk_a, EVP_sha512(), 0, data, n, len_r);
	case SIG_PS256_A:
		return rsa_sign(pk_a, EVP_sha256(), 1, data, n, len_r);
	case SIG_HS256_PUB:
		return hmac_pub(EVP_sha256(), data, n, len_r);
	case SIG_HS384_PUB:
		return hmac_pub(EVP_sha384(), data, n, len_r);
	case SIG_HS512_PUB:
		return hmac_pub(EVP_sha512(), data, n, len_r);
	}
	ck_abort_msg("unknown signer %d", (int)s);
	return NULL;
}

/* "h64.p64.<signature of 'h64.p64' by s>", with the two first segments
 * taken verbatim (they may be deliberately malformed). */
static char *
sign_segments(const char *h64, const char *p64, enum signer s)
{
	char *input = join(h64, p64, NULL), *sig64, *tok;
	size_t siglen;
	unsigned char *sig = sign_with(s, input, strlen(input), &siglen);

	sig64 = b64u(sig, siglen);
	tok = join(h64, p64, sig64);
	free(sig64);
	free(sig);
	free(input);
	return tok;
}

/* Replaces "$A" and "$B" in tmpl by the kids of keys A and B. */
static char *
with_kids(const char *tmpl)
{
	size_t cap = strlen(tmpl) + 1, o = 0;
	char *out;

	for (const char *p = tmpl; *p != '\0'; p++)
		if (*p == '$')
			cap += KID_LEN;
	out = malloc(cap);
	ck_assert_ptr_nonnull(out);
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (p[0] == '$' && (p[1] == 'A' || p[1] == 'B')) {
			memcpy(out + o, p[1] == 'A' ? sk_a.kid : sk_b.kid, KID_LEN);
			o += KID_LEN;
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return out;
}

/* A token from header and payload JSON text ("$A"/"$B" in the header
 * become the kids), signed by s. */
static char *
make_token(const char *header_tmpl, const char *payload, enum signer s)
{
	char *header = with_kids(header_tmpl);
	char *h64 = b64u_str(header), *p64 = b64u_str(payload);
	char *tok = sign_segments(h64, p64, s);

	free(header);
	free(h64);
	free(p64);
	return tok;
}

#define HDR_A "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\"}"
#define HDR_B "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$B\"}"
#define HDR_NOKID "{\"typ\":\"JWT\",\"alg\":\"RS256\"}"

/* ---- claims as raw JSON text ---- */

/* Each member is raw JSON; NULL omits it.  extra is appended verbatim as
 * more members. */
struct claims {
	const char *aud, *iss, *jti, *iat, *nbf, *exp, *sub, *scopes, *act, *extra;
};

#define AGENT_SUB_JSON "\"{\\\"id_company_user\\\":null,\\\"id_agent\\\":5," \
	"\\\"customer_reference\\\":null,\\\"id_customer\\\":null,\\\"permissions\\\":null}\""
#define CUSTOMER_SUB "{\"id_company_user\":null,\"id_agent\":null," \
	"\"customer_reference\":\"DE--21\",\"id_customer\":21,\"permissions\":null}"

static struct claims
default_claims(void)
{
	struct claims c = {
		.aud = "\"" AUD "\"", .iss = NULL, .jti = "\"0123456789abcdef\"",
		.iat = "1700000000", .nbf = "1700000000", .exp = "1700000900",
		.sub = AGENT_SUB_JSON, .scopes = "[\"agent\"]", .act = NULL, .extra = NULL,
	};
	return c;
}

static char *
claims_text(const struct claims *c)
{
	const char *names[] = { "aud", "iss", "jti", "iat", "nbf", "exp", "sub", "scopes", "act" };
	const char *vals[] = { c->aud, c->iss, c->jti, c->iat, c->nbf, c->exp, c->sub,
		c->scopes, c->act };
	size_t cap = 4 + (c->extra != NULL ? strlen(c->extra) + 1 : 0), o = 0;
	char *out;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (vals[i] != NULL)
			cap += strlen(names[i]) + strlen(vals[i]) + 4;
	out = malloc(cap);
	ck_assert_ptr_nonnull(out);
	out[o++] = '{';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (vals[i] == NULL)
			continue;
		o += (size_t)snprintf(out + o, cap - o, "%s\"%s\":%s", o > 1 ? "," : "",
		    names[i], vals[i]);
	}
	if (c->extra != NULL)
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o > 1 ? "," : "", c->extra);
	out[o++] = '}';
	out[o] = '\0';
	ck_assert_uint_lt(o, cap);
	return out;
}

/* A token with claims c and header tmpl, signed by s. */
static char *
make_claims_token(const char *header_tmpl, const struct claims *c, enum signer s)
{
	char *payload = claims_text(c), *tok = make_token(header_tmpl, payload, s);

	free(payload);
	return tok;
}

/* ---- verifying ---- */

static struct verify_params
params_for(const struct keyring *ring, long skew, const char *iss)
{
	struct verify_params p = {
		.keys = ring, .aud = AUD, .iss = iss, .skew = skew, .now = NOW,
	};
	return p;
}

#define REFUSED(p, tok, len, label) expect_refused((p), (tok), (len), (label), __LINE__)
#define ACCEPTED(p, tok, len, info, label) \
	expect_accepted((p), (tok), (len), (info), (label), __LINE__)

static void
expect_refused(const struct verify_params *p, const char *tok, size_t len, const char *label,
    int line)
{
	struct token_info info;
	const char *why = NULL;
	int rc;

	memset(&info, 0x5a, sizeof(info));
	rc = token_verify(p, tok, len, &info, &why);
	ck_assert_msg(rc == -1, "line %d, %s: token accepted (rc %d, kind %d)", line, label, rc,
	    (int)info.kind);
	ck_assert_msg(why != NULL && why[0] != '\0', "line %d, %s: refused without a reason",
	    line, label);
	/* the reason never contains the token */
	if (len >= 16 && why != NULL)
		ck_assert_msg(strstr(why, "eyJ") == NULL, "line %d, %s: reason quotes the token: %s",
		    line, label, why);
}

static void
expect_accepted(const struct verify_params *p, const char *tok, size_t len,
    struct token_info *info, const char *label, int line)
{
	const char *why = NULL;
	int rc;

	memset(info, 0x5a, sizeof(*info));
	rc = token_verify(p, tok, len, info, &why);
	ck_assert_msg(rc == 0, "line %d, %s: refused (%s)", line, label, why ? why : "(null)");
}

/* ====================================================================== */
/* b64url_decode */

START_TEST(test_b64_round_trip)
{
	unsigned char in[70];
	char enc[B64URL_LEN(70) + 1];

	for (size_t n = 0; n <= 70; n++) {
		unsigned char *buf = malloc(n > 0 ? n : 1);   /* exact size: ASan */
		char *indep;
		size_t elen;

		ck_assert_ptr_nonnull(buf);
		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)(0xfb + i * 131 + n * 7);
		elen = b64url_encode(enc, in, n);
		ck_assert_uint_eq(elen, B64URL_LEN(n));
		ck_assert_uint_eq(strlen(enc), elen);
		indep = b64u(in, n);
		ck_assert_str_eq(enc, indep);
		free(indep);
		ck_assert_msg(b64url_decode(buf, n, enc, elen) == (long)n,
		    "length %zu: %s does not decode", n, enc);
		ck_assert_msg(n == 0 || memcmp(buf, in, n) == 0, "length %zu: bytes differ", n);
		/* the exact capacity is enough, one byte less is not */
		if (n > 0)
			ck_assert_msg(b64url_decode(buf, n - 1, enc, elen) == -1,
			    "length %zu: decoded into %zu bytes", n, n - 1);
		free(buf);
	}
}
END_TEST

START_TEST(test_b64_all_bytes)
{
	for (int b = 0; b < 256; b++) {
		unsigned char in[2] = { (unsigned char)b, (unsigned char)(255 - b) }, out[2];
		char enc[B64URL_LEN(2) + 1];
		size_t elen;

		elen = b64url_encode(enc, in, 1);
		ck_assert_int_eq(b64url_decode(out, 1, enc, elen), 1);
		ck_assert_int_eq(out[0], b);
		elen = b64url_encode(enc, in, 2);
		ck_assert_int_eq(b64url_decode(out, 2, enc, elen), 2);
		ck_assert_int_eq(out[0], in[0]);
		ck_assert_int_eq(out[1], in[1]);
	}
}
END_TEST

/* Every two- and three-character text decodes iff its unused bits are 0,
 * so each byte string has exactly one encoding. */
START_TEST(test_b64_unused_bits_exhaustive)
{
	unsigned char out[3];
	char in[4];

	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 64; j++) {
			long r;
			in[0] = b64url_tab[i];
			in[1] = b64url_tab[j];
			r = b64url_decode(out, sizeof(out), in, 2);
			if ((j & 15) == 0) {
				ck_assert_msg(r == 1, "%.2s refused", in);
				ck_assert_int_eq(out[0], i << 2 | j >> 4);
			} else {
				ck_assert_msg(r == -1, "%.2s (unused bits set) accepted", in);
			}
		}
	for (int k = 0; k < 64; k++) {
		long r;
		memcpy(in, "QU", 2);
		in[2] = b64url_tab[k];
		r = b64url_decode(out, sizeof(out), in, 3);
		ck_assert_msg(r == ((k & 3) == 0 ? 2 : -1), "%.3s gave %ld", in, r);
	}
}
END_TEST

START_TEST(test_b64_refusals)
{
	static const struct {
		const char *in;
		size_t n;
	} bad[] = {
		{ "QQ==", 4 }, { "QQ=", 3 }, { "QUI=", 4 }, { "QUJD====", 8 }, { "=", 1 },
		{ "====", 4 }, { "+/+/", 4 }, { "QUJ+", 4 }, { "QUJ/", 4 }, { "a+b/", 4 },
		{ "QQ ", 3 }, { " QQ", 3 }, { "Q Q", 3 }, { "QUJD ", 5 }, { "QU JD", 5 },
		{ "QUJD\n", 5 }, { "QUJ\t", 4 }, { "QUJ.", 4 }, { "QUJ@", 4 }, { "QUJ[", 4 },
		{ "QUJ`", 4 }, { "QUJ{", 4 }, { "QUJ:", 4 }, { "QUJ\x80", 4 }, { "QUJ\xff", 4 },
		{ "QU\0D", 4 },
		{ "Q", 1 }, { "QUJDR", 5 }, { "QUJDRUZHS", 9 },  /* 4k+1 */
		{ "A", 1 }, { "QUJDA", 5 }, { "AAAAA", 5 },       /* 4k+1, no bits set */
		{ "QR", 2 }, { "QUJ", 3 },                           /* unused bits */
	};
	unsigned char out[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(b64url_decode(out, sizeof(out), bad[i].in, bad[i].n) == -1,
		    "case %zu (\"%.*s\") accepted", i, (int)bad[i].n, bad[i].in);

	/* the canonical forms of the same bytes are accepted */
	ck_assert_int_eq(b64url_decode(out, sizeof(out), "QQ", 2), 1);
	ck_assert_int_eq(out[0], 0x41);
	ck_assert_int_eq(b64url_decode(out, sizeof(out), "QUI", 3), 2);
	ck_assert(memcmp(out, "AB", 2) == 0);
	ck_assert_int_eq(b64url_decode(out, sizeof(out), "QUJD", 4), 3);
	ck_assert(memcmp(out, "ABC", 3) == 0);
	ck_assert_int_eq(b64url_decode(out, sizeof(out), "-_-_", 4), 3);
	ck_assert(memcmp(out, "\xfb\xff\xbf", 3) == 0);
	ck_assert_int_eq(b64url_decode(out, sizeof(out), "", 0), 0);
	ck_assert_int_eq(b64url_decode(out, 0, "", 0), 0);
}
END_TEST

START_TEST(test_b64_capacity)
{
	unsigned char *out;

	/* heap buffers of exactly cap bytes: ASan reports any write past them */
	for (size_t cap = 0; cap <= 3; cap++) {
		out = malloc(cap > 0 ? cap : 1);
		ck_assert_ptr_nonnull(out);
		ck_assert_int_eq(b64url_decode(out, cap, "QUJD", 4), cap >= 3 ? 3 : -1);
		ck_assert_int_eq(b64url_decode(out, cap, "QUI", 3), cap >= 2 ? 2 : -1);
		ck_assert_int_eq(b64url_decode(out, cap, "QQ", 2), cap >= 1 ? 1 : -1);
		free(out);
	}
	out = malloc(5);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(b64url_decode(out, 5, "QUJDREVG", 8), -1);
	ck_assert_int_eq(b64url_decode(out, 5, "QUJDREU", 7), 5);
	ck_assert(memcmp(out, "ABCDE", 5) == 0);
	free(out);
}
END_TEST

/* ====================================================================== */
/* gate_bearer */

static const struct {
	const char *header;
	const char *token;   /* NULL: refused */
} bearer_cases[] = {
	{ "Bearer abc", "abc" },
	{ "bearer abc", "abc" },
	{ "BEARER abc", "abc" },
	{ "bEaReR abc", "abc" },
	{ "Bearer  abc", " abc" },        /* the extra space stays in the token */
	{ "Bearer a.b.c", "a.b.c" },
	{ "Bearer", NULL },
	{ "Bearer ", NULL },
	{ "Basic abc", NULL },
	{ "Bearerabc", NULL },
	{ "Bearer\tabc", NULL },
	{ "Bearer:abc", NULL },
	{ " Bearer abc", NULL },
	{ "Bear abc", NULL },
	{ "", NULL },
};

START_TEST(test_bearer)
{
	const char *header = bearer_cases[_i].header, *want = bearer_cases[_i].token, *got;
	size_t len = 12345;

	got = gate_bearer(header, &len);
	if (want == NULL) {
		ck_assert_msg(got == NULL, "\"%s\" gave \"%s\"", header, got);
	} else {
		ck_assert_msg(got != NULL, "\"%s\" refused", header);
		ck_assert_uint_eq(len, strlen(want));
		ck_assert_str_eq(got, want);
		ck_assert_ptr_eq(got, header + 7);
	}
}
END_TEST

START_TEST(test_bearer_null)
{
	size_t len = 0;

	ck_assert_ptr_null(gate_bearer(NULL, &len));
}
END_TEST

/* "Bearer  <token>" yields " <token>", which the verifier refuses. */
START_TEST(test_bearer_double_space_fails_verification)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	struct token_info info;
	char *tok = make_claims_token(HDR_A, &c, SIG_RS256_A), *header;
	const char *t;
	size_t hlen = strlen(tok) + 9, len = 0;

	header = malloc(hlen);
	ck_assert_ptr_nonnull(header);
	snprintf(header, hlen, "Bearer %s", tok);
	t = gate_bearer(header, &len);
	ck_assert_ptr_nonnull(t);
	ACCEPTED(&p, t, len, &info, "one space");

	snprintf(header, hlen, "Bearer  %s", tok);
	t = gate_bearer(header, &len);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t[0], ' ');
	ck_assert_uint_eq(len, strlen(tok) + 1);
	REFUSED(&p, t, len, "two spaces");
	free(header);
	free(tok);
}
END_TEST

/* ====================================================================== */
/* token_verify: valid tokens */

static const char *const agent_scopes[] = { "agent" };
static const char *const impersonation_scopes[] = { "customer_impersonation", "customer" };
static const char *const customer_scopes[] = { "customer" };

START_TEST(test_valid_agent_token)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	char *sub = token_agent_sub(5);
	struct access_claims c = {
		.aud = AUD, .iss = NULL, .iat = NOW, .ttl = 900, .sub = sub,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	struct token_info info;
	char *tok = token_issue_access(&sk_a, &c);

	ck_assert_ptr_nonnull(tok);
	ACCEPTED(&p, tok, strlen(tok), &info, "agent token");
	ck_assert_int_eq(info.kind, TOKEN_AGENT);
	ck_assert_int_eq(info.agent_id, 5);
	ck_assert_int_eq(info.customer_id, 0);
	ck_assert_str_eq(info.customer_reference, "");
	ck_assert_int_eq(info.impersonation, 0);
	ck_assert_int_eq(info.iat, NOW);
	ck_assert_int_eq(info.exp, NOW + 900);

	/* verified as-is at the last second of its life, not a second later */
	p.skew = 0;
	p.now = NOW + 899;
	ACCEPTED(&p, tok, strlen(tok), &info, "last second");
	p.now = NOW + 900;
	REFUSED(&p, tok, strlen(tok), "expired at exp");

	/* the length is honoured: a buffer without a terminating NUL */
	{
		size_t len = strlen(tok);
		char *exact = malloc(len);
		ck_assert_ptr_nonnull(exact);
		memcpy(exact, tok, len);
		p.now = NOW;
		ACCEPTED(&p, exact, len, &info, "unterminated buffer");
		REFUSED(&p, exact, len - 1, "one byte short");
		free(exact);
	}
	free(tok);
	free(sub);
}
END_TEST

START_TEST(test_valid_customer_token)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "https://issuer.example");
	struct access_claims c = {
		.aud = AUD, .iss = "https://issuer.example", .iat = NOW, .ttl = 600,
		.sub = CUSTOMER_SUB, .scopes = impersonation_scopes, .nscopes = 2,
		.act_sub = "agent:7",
	};
	struct token_info info;
	char *tok = token_issue_access(&sk_a, &c);

	ck_assert_ptr_nonnull(tok);
	ACCEPTED(&p, tok, strlen(tok), &info, "impersonation token");
	ck_assert_int_eq(info.kind, TOKEN_CUSTOMER);
	ck_assert_int_eq(info.impersonation, 1);
	ck_assert_int_eq(info.customer_id, 21);
	ck_assert_str_eq(info.customer_reference, "DE--21");
	ck_assert_int_eq(info.agent_id, 7);
	ck_assert_int_eq(info.iat, NOW);
	ck_assert_int_eq(info.exp, NOW + 600);
	free(tok);

	/* a plain customer token */
	c.scopes = customer_scopes;
	c.nscopes = 1;
	c.act_sub = NULL;
	tok = token_issue_access(&sk_a, &c);
	ck_assert_ptr_nonnull(tok);
	ACCEPTED(&p, tok, strlen(tok), &info, "customer token");
	ck_assert_int_eq(info.kind, TOKEN_CUSTOMER);
	ck_assert_int_eq(info.impersonation, 0);
	ck_assert_int_eq(info.customer_id, 21);
	ck_assert_str_eq(info.customer_reference, "DE--21");
	ck_assert_int_eq(info.agent_id, 0);
	free(tok);
}
END_TEST

/* The forging machinery itself: a hand-made token signed by key A passes,
 * so every refusal below is due to the one thing changed. */
START_TEST(test_crafted_baseline)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 0, "");
	struct claims c = default_claims();
	struct token_info info;
	char *tok = make_claims_token(HDR_A, &c, SIG_RS256_A);

	ACCEPTED(&p, tok, strlen(tok), &info, "crafted, kid A");
	ck_assert_int_eq(info.kind, TOKEN_AGENT);
	ck_assert_int_eq(info.agent_id, 5);
	free(tok);
	tok = make_claims_token(HDR_NOKID, &c, SIG_RS256_A);
	ACCEPTED(&p, tok, strlen(tok), &info, "crafted, no kid");
	free(tok);
	tok = make_claims_token("{\"alg\":\"RS256\",\"kid\":\"$A\",\"typ\":\"JWT\"}", &c,
	    SIG_RS256_A);
	ACCEPTED(&p, tok, strlen(tok), &info, "crafted, other member order");
	free(tok);
}
END_TEST

/* ====================================================================== */
/* token_verify: forged headers and signatures (payload valid) */

static const struct {
	const char *label;
	const char *header;   /* "$A"/"$B" = kid of key A/B */
	enum signer signer;
} header_cases[] = {
	{ "alg none, empty signature", "{\"alg\":\"none\",\"typ\":\"JWT\"}", SIG_EMPTY },
	{ "alg none, RS256 signature", "{\"alg\":\"none\",\"typ\":\"JWT\"}", SIG_RS256_A },
	{ "alg none, junk signature", "{\"typ\":\"JWT\",\"alg\":\"none\",\"kid\":\"$A\"}", SIG_JUNK },
	{ "alg None, empty signature", "{\"alg\":\"None\",\"typ\":\"JWT\"}", SIG_EMPTY },
	{ "alg None, RS256 signature", "{\"alg\":\"None\",\"typ\":\"JWT\"}", SIG_RS256_A },
	{ "alg NONE, empty signature", "{\"alg\":\"NONE\",\"typ\":\"JWT\"}", SIG_EMPTY },
	{ "alg NONE, RS256 signature", "{\"alg\":\"NONE\",\"typ\":\"JWT\"}", SIG_RS256_A },
	{ "alg none only", "{\"alg\":\"none\"}", SIG_EMPTY },
	{ "HS256 keyed with the public PEM", "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"$A\"}",
		SIG_HS256_PUB },
	{ "HS256 keyed with the public PEM, no kid", "{\"typ\":\"JWT\",\"alg\":\"HS256\"}",
		SIG_HS256_PUB },
	{ "HS384 keyed with the public PEM", "{\"typ\":\"JWT\",\"alg\":\"HS384\",\"kid\":\"$A\"}",
		SIG_HS384_PUB },
	{ "HS512 keyed with the public PEM", "{\"typ\":\"JWT\",\"alg\":\"HS512\",\"kid\":\"$A\"}",
		SIG_HS512_PUB },
	{ "alg RS256 but an HS256 MAC", HDR_A, SIG_HS256_PUB },
	{ "alg RS256 but an HS512 MAC", HDR_NOKID, SIG_HS512_PUB },
	{ "RS512 with our key", "{\"typ\":\"JWT\",\"alg\":\"RS512\",\"kid\":\"$A\"}", SIG_RS512_A },
	{ "PS256 with our key", "{\"typ\":\"JWT\",\"alg\":\"PS256\",\"kid\":\"$A\"}", SIG_PS256_A },
	{ "alg RS256 but an RS512 signature", HDR_A, SIG_RS512_A },
	{ "alg RS256 but a PS256 signature", HDR_A, SIG_PS256_A },
	{ "ES256 header with our key", "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"$A\"}",
		SIG_RS256_A },
	{ "alg rs256 (lowercase)", "{\"typ\":\"JWT\",\"alg\":\"rs256\",\"kid\":\"$A\"}",
		SIG_RS256_A },
	{ "alg \"RS256 \"", "{\"typ\":\"JWT\",\"alg\":\"RS256 \",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "alg \"RS256\\u0000\"", "{\"typ\":\"JWT\",\"alg\":\"RS256\\u0000\",\"kid\":\"$A\"}",
		SIG_RS256_A },
	{ "alg as an array", "{\"typ\":\"JWT\",\"alg\":[\"RS256\"],\"kid\":\"$A\"}", SIG_RS256_A },
	{ "alg null", "{\"typ\":\"JWT\",\"alg\":null,\"kid\":\"$A\"}", SIG_RS256_A },
	{ "alg missing", "{\"typ\":\"JWT\",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "zero-filled signature", HDR_A, SIG_ZERO },
	{ "junk signature", HDR_A, SIG_JUNK },
	{ "foreign key, our kid", HDR_A, SIG_RS256_B },
	{ "foreign key, no kid", HDR_NOKID, SIG_RS256_B },
	{ "foreign key, its own kid", HDR_B, SIG_RS256_B },
	{ "unknown kid", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"unknown\"}", SIG_RS256_A },
	{ "kid ../../dev/null", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"../../dev/null\"}",
		SIG_RS256_A },
	{ "kid ' OR 1=1", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"' OR 1=1\"}", SIG_RS256_A },
	{ "kid empty", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"\"}", SIG_RS256_A },
	{ "kid our kid plus a character", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$Ax\"}",
		SIG_RS256_A },
	{ "kid our kid with a NUL", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\\u0000\"}",
		SIG_RS256_A },
	{ "kid a number", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":1}", SIG_RS256_A },
	{ "kid null", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":null}", SIG_RS256_A },
	{ "kid an array", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":[\"$A\"]}", SIG_RS256_A },
	{ "jku", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\","
		"\"jku\":\"https://evil.example/jwks.json\"}", SIG_RS256_A },
	{ "x5u", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\","
		"\"x5u\":\"https://evil.example/cert.pem\"}", SIG_RS256_A },
	{ "jwk", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\","
		"\"jwk\":{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"AQAB\"}}", SIG_RS256_A },
	{ "x5c", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\",\"x5c\":[\"MIIB\"]}",
		SIG_RS256_A },
	{ "crit", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\",\"crit\":[\"exp\"]}",
		SIG_RS256_A },
	{ "cty", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\",\"cty\":\"JWT\"}", SIG_RS256_A },
	{ "nested alg none", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\","
		"\"x\":{\"alg\":\"none\"}}", SIG_RS256_A },
	{ "duplicate alg, RS256 last", "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"alg\":\"RS256\","
		"\"kid\":\"$A\"}", SIG_RS256_A },
	{ "duplicate alg, RS256 first", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"alg\":\"none\","
		"\"kid\":\"$A\"}", SIG_RS256_A },
	{ "duplicate alg, both RS256", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"alg\":\"RS256\","
		"\"kid\":\"$A\"}", SIG_RS256_A },
	{ "duplicate kid", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"unknown\","
		"\"kid\":\"$A\"}", SIG_RS256_A },
	{ "duplicate typ", "{\"typ\":\"at+jwt\",\"typ\":\"JWT\",\"alg\":\"RS256\","
		"\"kid\":\"$A\"}", SIG_RS256_A },
	{ "typ at+jwt", "{\"typ\":\"at+jwt\",\"alg\":\"RS256\",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "typ missing", "{\"alg\":\"RS256\",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "typ null", "{\"typ\":null,\"alg\":\"RS256\",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "typ JWS", "{\"typ\":\"JWS\",\"alg\":\"RS256\",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "header {}", "{}", SIG_RS256_A },
	{ "header an array", "[\"RS256\",\"JWT\"]", SIG_RS256_A },
	{ "header a string", "\"RS256\"", SIG_RS256_A },
	{ "header null", "null", SIG_RS256_A },
	{ "header not JSON", "alg=RS256", SIG_RS256_A },
	{ "header with trailing garbage", HDR_A "x", SIG_RS256_A },
	{ "header followed by a second object", HDR_A "{}", SIG_RS256_A },
	{ "header with a trailing comma", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\",}",
		SIG_RS256_A },
	{ "header in single quotes", "{'typ':'JWT','alg':'RS256','kid':'$A'}", SIG_RS256_A },
	{ "header empty", "", SIG_RS256_A },
};

START_TEST(test_forged_header)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	char *tok = make_claims_token(header_cases[_i].header, &c, header_cases[_i].signer);

	REFUSED(&p, tok, strlen(tok), header_cases[_i].label);
	free(tok);
}
END_TEST

/* "alg":"none" with no third segment at all ("h.p"). */
START_TEST(test_alg_none_two_segments)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	static const char *const algs[] = { "none", "None", "NONE" };
	struct claims c = default_claims();
	char *payload = claims_text(&c), *p64 = b64u_str(payload);

	for (size_t i = 0; i < 3; i++) {
		char header[64], *h64, *tok;
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", algs[i]);
		h64 = b64u_str(header);
		tok = join(h64, p64, NULL);
		REFUSED(&p, tok, strlen(tok), algs[i]);
		free(tok);
		tok = join(h64, p64, "");
		REFUSED(&p, tok, strlen(tok), algs[i]);
		free(tok);
		free(h64);
	}
	free(p64);
	free(payload);
}
END_TEST

/* ====================================================================== */
/* token_verify: claims (header and signature valid) */

static const struct {
	const char *label;
	const char *name;     /* the claim changed; NULL none; "extra"; "*" whole payload */
	const char *value;    /* raw JSON; NULL removes the claim */
	long skew;
	const char *iss;      /* configured issuer */
	int accept;
} claim_cases[] = {
	{ "unchanged, skew 60", NULL, NULL, 60, "", 1 },
	{ "unchanged, skew 0", NULL, NULL, 0, "", 1 },
	/* exp */
	{ "exp now-1", "exp", "1699999999", 0, "", 0 },
	{ "exp now", "exp", "1700000000", 0, "", 0 },
	{ "exp now+1", "exp", "1700000001", 0, "", 1 },
	{ "exp now-1 within skew 60", "exp", "1699999999", 60, "", 1 },
	{ "exp now-59 within skew 60", "exp", "1699999941", 60, "", 1 },
	{ "exp now-60 at the skew edge", "exp", "1699999940", 60, "", 0 },
	{ "exp now-61 beyond skew 60", "exp", "1699999939", 60, "", 0 },
	{ "exp missing", "exp", NULL, 60, "", 0 },
	{ "exp a string", "exp", "\"1700000900\"", 60, "", 0 },
	{ "exp a float 1e10", "exp", "1e10", 60, "", 0 },
	{ "exp a float 1700000900.0", "exp", "1700000900.0", 60, "", 0 },
	{ "exp 99999999999999999999", "exp", "99999999999999999999", 60, "", 0 },
	{ "exp 2^63-1", "exp", "9223372036854775807", 60, "", 0 },
	{ "exp 2^63", "exp", "9223372036854775808", 60, "", 0 },
	{ "exp -1", "exp", "-1", 60, "", 0 },
	{ "exp 0", "exp", "0", 60, "", 0 },
	{ "exp null", "exp", "null", 60, "", 0 },
	{ "exp true", "exp", "true", 60, "", 0 },
	{ "exp an array", "exp", "[1700000900]", 60, "", 0 },
	{ "exp NaN", "exp", "NaN", 60, "", 0 },
	/* nbf */
	{ "nbf now+1, skew 0", "nbf", "1700000001", 0, "", 0 },
	{ "nbf now+61, skew 60", "nbf", "1700000061", 60, "", 0 },
	{ "nbf now+60, skew 60", "nbf", "1700000060", 60, "", 1 },
	{ "nbf now+30, skew 60", "nbf", "1700000030", 60, "", 1 },
	{ "nbf missing", "nbf", NULL, 60, "", 1 },
	{ "nbf a string", "nbf", "\"1700000000\"", 60, "", 0 },
	{ "nbf a float", "nbf", "1.7e9", 60, "", 0 },
	{ "nbf null", "nbf", "null", 60, "", 0 },
	/* iat */
	{ "iat now+1, skew 0", "iat", "1700000001", 0, "", 0 },
	{ "iat now+61, skew 60", "iat", "1700000061", 60, "", 0 },
	{ "iat now+30, skew 60", "iat", "1700000030", 60, "", 1 },
	{ "iat missing", "iat", NULL, 60, "", 0 },
	{ "iat a string", "iat", "\"1700000000\"", 60, "", 0 },
	{ "iat a float", "iat", "1700000000.5", 60, "", 0 },
	/* aud */
	{ "aud wrong", "aud", "\"backend\"", 60, "", 0 },
	{ "aud another case", "aud", "\"Frontend\"", 60, "", 0 },
	{ "aud with a suffix", "aud", "\"frontendx\"", 60, "", 0 },
	{ "aud a prefix", "aud", "\"front\"", 60, "", 0 },
	{ "aud with a NUL", "aud", "\"frontend\\u0000x\"", 60, "", 0 },
	{ "aud an array", "aud", "[\"frontend\"]", 60, "", 0 },
	{ "aud missing", "aud", NULL, 60, "", 0 },
	{ "aud null", "aud", "null", 60, "", 0 },
	{ "aud duplicate, right one last", "extra", "\"aud\":\"frontend\"", 60, "", 0 },
	/* iss */
	{ "iss required and missing", NULL, NULL, 60, "https://issuer.example", 0 },
	{ "iss required and wrong", "iss", "\"https://evil.example\"", 60,
		"https://issuer.example", 0 },
	{ "iss required, a prefix", "iss", "\"https://issuer.exampl\"", 60,
		"https://issuer.example", 0 },
	{ "iss required, an array", "iss", "[\"https://issuer.example\"]", 60,
		"https://issuer.example", 0 },
	{ "iss required and right", "iss", "\"https://issuer.example\"", 60,
		"https://issuer.example", 1 },
	{ "iss not configured, present", "iss", "\"https://issuer.example\"", 60, "", 1 },
	/* jti */
	{ "jti missing", "jti", NULL, 60, "", 0 },
	{ "jti a number", "jti", "12345", 60, "", 0 },
	{ "jti null", "jti", "null", 60, "", 0 },
	/* sub */
	{ "sub missing", "sub", NULL, 60, "", 0 },
	{ "sub an object, not a string", "sub",
		"{\"id_company_user\":null,\"id_agent\":5,\"customer_reference\":null,"
		"\"id_customer\":null,\"permissions\":null}", 60, "", 0 },
	{ "sub numeric", "sub", "5", 60, "", 0 },
	{ "sub a numeric string", "sub", "\"5\"", 60, "", 0 },
	{ "sub not JSON", "sub", "\"agent:5\"", 60, "", 0 },
	{ "sub null", "sub", "null", 60, "", 0 },
	{ "sub without id_agent", "sub", "\"{\\\"id_customer\\\":21}\"", 60, "", 0 },
	{ "sub id_agent a string", "sub", "\"{\\\"id_agent\\\":\\\"5\\\"}\"", 60, "", 0 },
	{ "sub id_agent 0", "sub", "\"{\\\"id_agent\\\":0}\"", 60, "", 0 },
	{ "sub id_agent -5", "sub", "\"{\\\"id_agent\\\":-5}\"", 60, "", 0 },
	{ "sub id_agent a float", "sub", "\"{\\\"id_agent\\\":5.0}\"", 60, "", 0 },
	{ "sub with duplicate id_agent", "sub",
		"\"{\\\"id_agent\\\":5,\\\"id_agent\\\":6}\"", 60, "", 0 },
	/* scopes */
	{ "scopes missing", "scopes", NULL, 60, "", 0 },
	{ "scopes a string", "scopes", "\"agent\"", 60, "", 0 },
	{ "scopes empty", "scopes", "[]", 60, "", 0 },
	{ "scopes agent and customer", "scopes", "[\"agent\",\"customer\"]", 60, "", 0 },
	{ "scopes customer and agent", "scopes", "[\"customer\",\"agent\"]", 60, "", 0 },
	{ "scopes agent twice", "scopes", "[\"agent\",\"agent\"]", 60, "", 0 },
	{ "scopes Agent", "scopes", "[\"Agent\"]", 60, "", 0 },
	{ "scopes refresh", "scopes", "[\"refresh\"]", 60, "", 0 },
	{ "scopes a number", "scopes", "[1]", 60, "", 0 },
	{ "scopes agent and a number", "scopes", "[\"agent\",1]", 60, "", 0 },
	{ "scopes null", "scopes", "null", 60, "", 0 },
	/* the payload as a whole */
	{ "payload an array", "*", "[{\"aud\":\"frontend\"}]", 60, "", 0 },
	{ "payload a string", "*", "\"frontend\"", 60, "", 0 },
	{ "payload a number", "*", "1", 60, "", 0 },
	{ "payload null", "*", "null", 60, "", 0 },
	{ "payload {}", "*", "{}", 60, "", 0 },
	{ "payload empty", "*", "", 60, "", 0 },
	{ "payload with trailing garbage", "extra", "\"x\":1}x", 60, "", 0 },
	{ "duplicate exp", "extra", "\"exp\":1800000000", 60, "", 0 },
	{ "duplicate scopes", "extra", "\"scopes\":[\"customer\"]", 60, "", 0 },
};

static void
set_claim(struct claims *c, const char *name, const char *value)
{
	if (strcmp(name, "aud") == 0)
		c->aud = value;
	else if (strcmp(name, "iss") == 0)
		c->iss = value;
	else if (strcmp(name, "jti") == 0)
		c->jti = value;
	else if (strcmp(name, "iat") == 0)
		c->iat = value;
	else if (strcmp(name, "nbf") == 0)
		c->nbf = value;
	else if (strcmp(name, "exp") == 0)
		c->exp = value;
	else if (strcmp(name, "sub") == 0)
		c->sub = value;
	else if (strcmp(name, "scopes") == 0)
		c->scopes = value;
	else if (strcmp(name, "extra") == 0)
		c->extra = value;
	else
		ck_abort_msg("unknown claim %s", name);
}

START_TEST(test_claims)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, claim_cases[_i].skew, claim_cases[_i].iss);
	struct claims c = default_claims();
	struct token_info info;
	const char *name = claim_cases[_i].name;
	char *tok;

	if (name != NULL && strcmp(name, "*") == 0) {
		tok = make_token(HDR_A, claim_cases[_i].value, SIG_RS256_A);
	} else {
		if (name != NULL)
			set_claim(&c, name, claim_cases[_i].value);
		tok = make_claims_token(HDR_A, &c, SIG_RS256_A);
	}
	if (claim_cases[_i].accept) {
		ACCEPTED(&p, tok, strlen(tok), &info, claim_cases[_i].label);
		ck_assert_int_eq(info.kind, TOKEN_AGENT);
		ck_assert_int_eq(info.agent_id, 5);
	} else {
		REFUSED(&p, tok, strlen(tok), claim_cases[_i].label);
	}
	free(tok);
}
END_TEST

/* ====================================================================== */
/* token_verify: structure, encoding and size */

START_TEST(test_segments)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	char *tok = make_claims_token(HDR_A, &c, SIG_RS256_A), *t;
	const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
	size_t len = strlen(tok);
	static const char *const junk[] = { "", ".", "..", "...", "a", "a.b", "a.b.c",
		"a.b.c.d", "eyJ.eyJ.", ".eyJ.eyJ" };

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		REFUSED(&p, junk[i], strlen(junk[i]), junk[i]);

	/* two segments: header.payload */
	REFUSED(&p, tok, (size_t)(d2 - tok), "two segments");
	REFUSED(&p, tok, (size_t)(d2 - tok) + 1, "two segments and a dot (empty signature)");
	/* four segments */
	t = malloc(len + 8);
	ck_assert_ptr_nonnull(t);
	snprintf(t, len + 8, "%s.", tok);
	REFUSED(&p, t, strlen(t), "trailing dot");
	snprintf(t, len + 8, "%s.eyJ9", tok);
	REFUSED(&p, t, strlen(t), "four segments");
	snprintf(t, len + 8, "%.*s.%s", (int)(d1 - tok), tok, d1);
	REFUSED(&p, t, strlen(t), "empty second segment inserted");
	/* the signature segment empty, the header or payload empty */
	snprintf(t, len + 8, "%.*s", (int)(d2 - tok + 1), tok);
	REFUSED(&p, t, strlen(t), "empty signature");
	snprintf(t, len + 8, "%s", d1);
	REFUSED(&p, t, strlen(t), "empty header");
	snprintf(t, len + 8, "%.*s.%s", (int)(d1 - tok), tok, d2);
	REFUSED(&p, t, strlen(t), "empty payload");
	/* white space and line breaks around or inside */
	snprintf(t, len + 8, " %s", tok);
	REFUSED(&p, t, strlen(t), "leading space");
	snprintf(t, len + 8, "%s ", tok);
	REFUSED(&p, t, strlen(t), "trailing space");
	snprintf(t, len + 8, "%s\r\n", tok);
	REFUSED(&p, t, strlen(t), "trailing CRLF");
	snprintf(t, len + 8, "%.*s\r\n%s", (int)(d2 - tok), tok, d2);
	REFUSED(&p, t, strlen(t), "CRLF inside");
	free(t);
	free(tok);
}
END_TEST

/* Signature bytes of the wrong length, around a valid signature. */
START_TEST(test_signature_length)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	char *payload = claims_text(&c), *header = with_kids(HDR_A);
	char *h64 = b64u_str(header), *p64 = b64u_str(payload), *input = join(h64, p64, NULL);
	size_t siglen;
	unsigned char *sig = sign_with(SIG_RS256_A, input, strlen(input), &siglen);
	unsigned char big[1100];
	static const size_t lens[] = { 1, 2, 128, 255, 257, 512, 768, 1024, 1025, 1100 };
	char *s64, *tok;
	struct token_info info;

	ck_assert_uint_eq(siglen, 256);
	s64 = b64u(sig, siglen);
	tok = join(h64, p64, s64);
	ACCEPTED(&p, tok, strlen(tok), &info, "256 bytes");
	free(tok);
	free(s64);

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = i < siglen ? sig[i] : 0;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char label[64];
		s64 = b64u(big, lens[i]);
		tok = join(h64, p64, s64);
		snprintf(label, sizeof(label), "signature of %zu bytes", lens[i]);
		REFUSED(&p, tok, strlen(tok), label);
		free(tok);
		free(s64);
	}
	/* a leading zero byte before a valid signature */
	big[0] = 0;
	memcpy(big + 1, sig, siglen);
	s64 = b64u(big, siglen + 1);
	tok = join(h64, p64, s64);
	REFUSED(&p, tok, strlen(tok), "signature with a leading zero byte");
	free(tok);
	free(s64);

	free(sig);
	free(input);
	free(h64);
	free(p64);
	free(header);
	free(payload);
}
END_TEST

/* Converts base64url text to the standard alphabet in place. */
static int
to_std_alphabet(char *s)
{
	int changed = 0;

	for (; *s != '\0'; s++)
		if (*s == '-' || *s == '_') {
			*s = *s == '-' ? '+' : '/';
			changed = 1;
		}
	return changed;
}

/* Standard base64 (+, / and = padding) in a segment.  The header and payload
 * variants are signed with our key over the exact text, so only the
 * decoder's strictness can refuse them. */
START_TEST(test_standard_base64_refused)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct token_info info;
	char *header = with_kids(HDR_A), *h64 = b64u_str(header);
	int found_sig = 0, found_payload = 0;

	for (int attempt = 0; attempt < 200 && !(found_sig && found_payload); attempt++) {
		struct claims c = default_claims();
		char jti[48], *payload, *p64, *p64std, *input, *sig64, *tok, *tmp;
		unsigned char *sig;
		size_t siglen;

		/* '~' and '?' bytes make '-' and '_' likely in the payload text */
		snprintf(jti, sizeof(jti), "\"%.*s%d\"", attempt % 3 + 1, "~?~", attempt);
		c.jti = jti;
		payload = claims_text(&c);
		p64 = b64u_str(payload);
		input = join(h64, p64, NULL);
		sig = sign_with(SIG_RS256_A, input, strlen(input), &siglen);
		sig64 = b64u(sig, siglen);

		tok = join(h64, p64, sig64);
		ACCEPTED(&p, tok, strlen(tok), &info, "canonical form");
		free(tok);

		/* the signature in the standard alphabet, and padded */
		tmp = b64_with(b64std_tab, 1, sig, siglen);
		ck_assert_uint_eq(strlen(tmp), 344);   /* 342 + "==" */
		tok = join(h64, p64, tmp);
		REFUSED(&p, tok, strlen(tok), "signature padded with ==");
		tmp[342] = '\0';
		if (strcmp(tmp, sig64) != 0) {
			found_sig = 1;
			free(tok);
			tok = join(h64, p64, tmp);
			REFUSED(&p, tok, strlen(tok), "signature with + or /");
		}
		free(tok);
		free(tmp);

		/* the payload with + or /, or padded, signed by our key as such */
		p64std = strdup(p64);
		ck_assert_ptr_nonnull(p64std);
		if (to_std_alphabet(p64std)) {
			found_payload = 1;
			tok = sign_segments(h64, p64std, SIG_RS256_A);
			REFUSED(&p, tok, strlen(tok), "payload with + or /");
			free(tok);
		}
		free(p64std);
		if (strlen(p64) % 4 != 0) {
			tmp = b64_with(b64url_tab, 1, payload, strlen(payload));
			tok = sign_segments(h64, tmp, SIG_RS256_A);
			REFUSED(&p, tok, strlen(tok), "payload padded with =");
			free(tok);
			free(tmp);
		}
		free(sig64);
		free(sig);
		free(input);
		free(p64);
		free(payload);
	}
	ck_assert_msg(found_sig && found_payload, "no segment with '-' or '_' was produced");

	/* the header padded: {"typ":"JWT","alg":"RS256","kid":"<43>"} is 79 bytes */
	{
		struct claims c = default_claims();
		char *payload = claims_text(&c), *p64 = b64u_str(payload);
		char *hpad = b64_with(b64url_tab, 1, header, strlen(header)), *tok;

		ck_assert_uint_eq(strlen(header) % 3, 1);
		tok = sign_segments(hpad, p64, SIG_RS256_A);
		REFUSED(&p, tok, strlen(tok), "header padded with ==");
		free(tok);
		free(hpad);
		free(p64);
		free(payload);
	}
	free(h64);
	free(header);
}
END_TEST

START_TEST(test_embedded_nul)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	struct token_info info;
	char *tok = make_claims_token(HDR_A, &c, SIG_RS256_A), *t;
	size_t len = strlen(tok);

	t = malloc(len + 2);
	ck_assert_ptr_nonnull(t);
	memcpy(t, tok, len + 1);
	ACCEPTED(&p, t, len, &info, "copy");
	/* a NUL after a valid token, counted in the length */
	t[len] = '\0';
	t[len + 1] = '\0';
	REFUSED(&p, t, len + 1, "valid token followed by a NUL");
	/* a NUL inside the signature, the payload, the header */
	t[len - 3] = '\0';
	REFUSED(&p, t, len, "NUL in the signature");
	memcpy(t, tok, len + 1);
	t[strchr(tok, '.') - tok + 5] = '\0';
	REFUSED(&p, t, len, "NUL in the payload");
	memcpy(t, tok, len + 1);
	t[3] = '\0';
	REFUSED(&p, t, len, "NUL in the header");
	memcpy(t, tok, len + 1);
	t[0] = '\0';
	REFUSED(&p, t, len, "NUL first");
	free(t);
	free(tok);
}
END_TEST

/* A valid token signed by key A whose text is exactly total bytes long. */
static char *
token_of_length(size_t total)
{
	static const char *const headers[] = { HDR_A, HDR_NOKID };

	for (size_t h = 0; h < 2; h++) {
		char *header = with_kids(headers[h]), *h64 = b64u_str(header), *base, *pad, *tok;
		struct claims c = default_claims();
		size_t plen, p64len, k;

		p64len = total - strlen(h64) - 2 - B64URL_LEN(256);
		free(h64);
		free(header);
		if (p64len % 4 == 1)
			continue;
		plen = p64len / 4 * 3 + (p64len % 4 == 0 ? 0 : p64len % 4 - 1);
		base = claims_text(&c);
		k = plen - strlen(base) - strlen(",\"pad\":\"\"");
		free(base);
		pad = malloc(k + 16);
		ck_assert_ptr_nonnull(pad);
		memcpy(pad, "\"pad\":\"", 7);
		memset(pad + 7, 'x', k);
		memcpy(pad + 7 + k, "\"", 2);
		c.extra = pad;
		tok = make_claims_token(headers[h], &c, SIG_RS256_A);
		free(pad);
		ck_assert_uint_eq(strlen(tok), total);
		return tok;
	}
	ck_abort_msg("no token of %zu bytes", total);
	return NULL;
}

START_TEST(test_size_limit)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct token_info info;
	char *tok;

	ck_assert_int_eq(TOKEN_MAX_BYTES, 8192);
	tok = token_of_length(TOKEN_MAX_BYTES);
	ACCEPTED(&p, tok, strlen(tok), &info, "8192 bytes");
	ck_assert_int_eq(info.agent_id, 5);
	free(tok);
	tok = token_of_length(TOKEN_MAX_BYTES + 1);
	REFUSED(&p, tok, strlen(tok), "8193 bytes, validly signed");
	free(tok);
	tok = token_of_length(TOKEN_MAX_BYTES - 1);
	ACCEPTED(&p, tok, strlen(tok), &info, "8191 bytes");
	free(tok);
}
END_TEST

/* Tokens over 8 KiB are refused before a single byte is read: the bytes
 * here are unreadable (PROT_NONE), so any access kills the test. */
START_TEST(test_oversize_not_read)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	static const size_t sizes[] = { TOKEN_MAX_BYTES + 1, 65536, 16u << 20 };
	size_t maplen = (16u << 20) + 4096;
	char *m = mmap(NULL, maplen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert(m != MAP_FAILED);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		REFUSED(&p, m, sizes[i], "unreadable oversize token");
	ck_assert_int_eq(munmap(m, maplen), 0);
	REFUSED(&p, "", 0, "empty token");
}
END_TEST

/* A signature that verifies, moved onto a changed payload or header. */
START_TEST(test_modified_after_signing)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	struct token_info info;
	char *tok = make_claims_token(HDR_A, &c, SIG_RS256_A), *payload, *p64, *h64, *t;
	char *header, *sig64 = strrchr(tok, '.') + 1;
	char *issued, *sub = token_agent_sub(5);
	struct access_claims ac = {
		.aud = AUD, .iss = NULL, .iat = NOW, .ttl = 900, .sub = sub,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};

	ACCEPTED(&p, tok, strlen(tok), &info, "original");
	header = with_kids(HDR_A);
	h64 = b64u_str(header);

	/* id_agent 5 -> 1 */
	c.sub = "\"{\\\"id_company_user\\\":null,\\\"id_agent\\\":1,"
	    "\\\"customer_reference\\\":null,\\\"id_customer\\\":null,\\\"permissions\\\":null}\"";
	payload = claims_text(&c);
	p64 = b64u_str(payload);
	t = join(h64, p64, sig64);
	REFUSED(&p, t, strlen(t), "id_agent changed after signing");
	free(t);
	free(p64);
	free(payload);

	/* exp extended */
	c = default_claims();
	c.exp = "1800000000";
	payload = claims_text(&c);
	p64 = b64u_str(payload);
	t = join(h64, p64, sig64);
	REFUSED(&p, t, strlen(t), "exp changed after signing");
	free(t);
	free(p64);
	free(payload);

	/* the header changed (kid removed), payload and signature kept */
	free(h64);
	h64 = b64u_str(HDR_NOKID);
	p64 = strndup(strchr(tok, '.') + 1, (size_t)(strrchr(tok, '.') - strchr(tok, '.') - 1));
	t = join(h64, p64, sig64);
	REFUSED(&p, t, strlen(t), "header changed after signing");
	free(t);

	/* an issued token with its payload replaced */
	issued = token_issue_access(&sk_a, &ac);
	ck_assert_ptr_nonnull(issued);
	ACCEPTED(&p, issued, strlen(issued), &info, "issued");
	{
		char *ih = strndup(issued, (size_t)(strchr(issued, '.') - issued));
		t = join(ih, p64, strrchr(issued, '.') + 1);
		REFUSED(&p, t, strlen(t), "issued token with another payload");
		free(t);
		free(ih);
	}
	/* one signature character changed */
	t = strdup(issued);
	ck_assert_ptr_nonnull(t);
	{
		char *s = strrchr(t, '.') + 100;
		*s = *s == 'A' ? 'B' : 'A';
	}
	REFUSED(&p, t, strlen(t), "signature character changed");
	free(t);

	free(issued);
	free(sub);
	free(p64);
	free(h64);
	free(header);
	free(tok);
}
END_TEST

/* ====================================================================== */
/* token_verify: key rotation */

START_TEST(test_rotation)
{
	struct keyring ab = { .keys = { &sk_a, &sk_b }, .n = 2 };
	struct keyring ba = { .keys = { &sk_b, &sk_a }, .n = 2 };
	struct keyring a = { .keys = { &sk_a }, .n = 1 };
	struct keyring none = { .n = 0 };
	struct verify_params p = params_for(&ab, 60, "");
	struct claims c = default_claims();
	struct token_info info;
	char *sub = token_agent_sub(9), *issued, *nokid, *mixed, *nokid_a;
	struct access_claims ac = {
		.aud = AUD, .iss = NULL, .iat = NOW, .ttl = 900, .sub = sub,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};

	/* issued by the second key of the ring (its kid in the header) */
	issued = token_issue_access(&sk_b, &ac);
	ck_assert_ptr_nonnull(issued);
	ACCEPTED(&p, issued, strlen(issued), &info, "second key, with kid");
	ck_assert_int_eq(info.kind, TOKEN_AGENT);
	ck_assert_int_eq(info.agent_id, 9);

	/* no kid: any key of the ring may have signed */
	nokid = make_claims_token(HDR_NOKID, &c, SIG_RS256_B);
	ACCEPTED(&p, nokid, strlen(nokid), &info, "second key, no kid");
	ck_assert_int_eq(info.agent_id, 5);
	nokid_a = make_claims_token(HDR_NOKID, &c, SIG_RS256_A);
	p.keys = &ba;
	ACCEPTED(&p, nokid_a, strlen(nokid_a), &info, "first key after the second, no kid");
	ACCEPTED(&p, issued, strlen(issued), &info, "ring order B, A, with kid");

	/* no kid and two keys: a bad signature still fails against every key */
	{
		static const enum signer bad[] = { SIG_JUNK, SIG_ZERO, SIG_HS256_PUB, SIG_RS512_A,
			SIG_PS256_A, SIG_EMPTY };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char label[64], *t = make_claims_token(HDR_NOKID, &c, bad[i]);
			snprintf(label, sizeof(label), "two keys, no kid, bad signature %zu", i);
			p.keys = &ab;
			REFUSED(&p, t, strlen(t), label);
			p.keys = &ba;
			REFUSED(&p, t, strlen(t), label);
			free(t);
		}
	}

	/* the kid binds the key: kid A over a signature by B */
	mixed = make_claims_token(HDR_A, &c, SIG_RS256_B);
	p.keys = &ab;
	REFUSED(&p, mixed, strlen(mixed), "kid A, signed by B");

	/* B removed from the ring */
	p.keys = &a;
	REFUSED(&p, issued, strlen(issued), "B removed, with kid");
	REFUSED(&p, nokid, strlen(nokid), "B removed, no kid");
	ACCEPTED(&p, nokid_a, strlen(nokid_a), &info, "A still there");

	/* an empty ring accepts nothing */
	p.keys = &none;
	REFUSED(&p, issued, strlen(issued), "empty ring, with kid");
	REFUSED(&p, nokid_a, strlen(nokid_a), "empty ring, no kid");

	free(mixed);
	free(nokid_a);
	free(nokid);
	free(issued);
	free(sub);
}
END_TEST

/* ====================================================================== */
/* jwks_document, signing_key_load_public */

static char *
bn_param_b64url(EVP_PKEY *pk, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char *bin;
	char *out;
	int n;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, name, &bn), 1);
	n = BN_num_bytes(bn);
	bin = malloc((size_t)n);
	ck_assert_ptr_nonnull(bin);
	ck_assert_int_eq(BN_bn2bin(bn, bin), n);
	out = b64u(bin, (size_t)n);
	free(bin);
	BN_free(bn);
	return out;
}

static int
has_private_d(EVP_PKEY *pk)
{
	BIGNUM *d = NULL;
	int has = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_D, &d) == 1 && d != NULL;

	BN_free(d);
	return has;
}

START_TEST(test_jwks_exact)
{
	const struct signing_key *keys[] = { &sk_a, &sk_b };
	char *n_a = bn_param_b64url(pk_a, OSSL_PKEY_PARAM_RSA_N);
	char *n_b = bn_param_b64url(pk_b, OSSL_PKEY_PARAM_RSA_N);
	char *e_a = bn_param_b64url(pk_a, OSSL_PKEY_PARAM_RSA_E);
	size_t cap = strlen(n_a) + strlen(n_b) + 512, len = 0;
	char *want = malloc(cap), *doc;
	static const char *const private_members[] = { "\"d\"", "\"p\"", "\"q\"", "\"dp\"",
		"\"dq\"", "\"qi\"", "\"oth\"", "\"k\"" };
	struct json_object *root, *arr;

	ck_assert_ptr_nonnull(want);
	ck_assert_str_eq(e_a, "AQAB");
	ck_assert_uint_eq(strlen(n_a), 342);
	snprintf(want, cap, "{\"keys\":["
	    "{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"},"
	    "{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"}]}", sk_a.kid, n_a, sk_b.kid, n_b);
	doc = jwks_document(keys, 2, &len);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(doc, want);
	ck_assert_uint_eq(len, strlen(want));
	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		ck_assert_msg(strstr(doc, private_members[i]) == NULL, "%s in the JWKS",
		    private_members[i]);

	/* parsed: two objects of exactly six members, distinct kids */
	root = json_tokener_parse(doc);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(json_object_object_length(root), 1);
	ck_assert(json_object_object_get_ex(root, "keys", &arr));
	ck_assert_uint_eq(json_object_array_length(arr), 2);
	for (size_t i = 0; i < 2; i++)
		ck_assert_int_eq(json_object_object_length(json_object_array_get_idx(arr, i)), 6);
	json_object_put(root);
	free(doc);

	/* order follows the array */
	{
		const struct signing_key *rev[] = { &sk_b, &sk_a };
		char *d2 = jwks_document(rev, 2, NULL);
		ck_assert_ptr_nonnull(d2);
		ck_assert_ptr_nonnull(strstr(d2, sk_a.kid));
		ck_assert_int_lt(strstr(d2, sk_b.kid) - d2, strstr(d2, sk_a.kid) - d2);
		free(d2);
	}
	/* one key */
	doc = jwks_document(keys, 1, &len);
	ck_assert_ptr_nonnull(doc);
	snprintf(want, cap, "{\"keys\":["
	    "{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"}]}", sk_a.kid, n_a);
	ck_assert_str_eq(doc, want);
	free(doc);

	free(want);
	free(n_a);
	free(n_b);
	free(e_a);
}
END_TEST

/* Writes data to a new temporary file; returns its malloc'd path. */
static char *
temp_file(const void *data, size_t len)
{
	char tmpl[] = "/tmp/agentauth-verify-XXXXXX";
	int fd = mkstemp(tmpl);
	char *path;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	path = strdup(tmpl);
	ck_assert_ptr_nonnull(path);
	return path;
}

/* Loads data through a temporary file, which is removed at once. */
static int
load_public_data(struct signing_key *key, const void *data, size_t len, char *err,
    size_t errlen)
{
	char *path = temp_file(data, len);
	int rc = signing_key_load_public(key, path, err, errlen);

	unlink(path);
	free(path);
	return rc;
}

START_TEST(test_load_public_pem)
{
	struct signing_key key;
	char err[256] = "";
	struct keyring ring = { .keys = { &key }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	struct token_info info;
	char *tok;

	ck_assert_msg(load_public_data(&key, pem_a_pub, pem_a_pub_len, err, sizeof(err)) == 0,
	    "public PEM refused: %s", err);
	ck_assert_str_eq(key.kid, sk_a.kid);
	ck_assert_str_eq(key.n_b64, sk_a.n_b64);
	ck_assert_str_eq(key.e_b64, "AQAB");
	ck_assert_msg(!has_private_d(key.pkey), "a public key with a private exponent?");

	/* a ring of the public key alone verifies tokens signed by A */
	tok = make_claims_token(HDR_A, &c, SIG_RS256_A);
	ACCEPTED(&p, tok, strlen(tok), &info, "public-only key, kid");
	free(tok);
	tok = make_claims_token(HDR_NOKID, &c, SIG_RS256_A);
	ACCEPTED(&p, tok, strlen(tok), &info, "public-only key, no kid");
	free(tok);
	tok = make_claims_token(HDR_NOKID, &c, SIG_RS256_B);
	REFUSED(&p, tok, strlen(tok), "public-only key, signed by B");
	free(tok);

	/* and the JWKS of it is the same as of the private key */
	{
		const struct signing_key *k1[] = { &key }, *k2[] = { &sk_a };
		char *d1 = jwks_document(k1, 1, NULL), *d2 = jwks_document(k2, 1, NULL);
		ck_assert_ptr_nonnull(d1);
		ck_assert_ptr_nonnull(d2);
		ck_assert_str_eq(d1, d2);
		free(d1);
		free(d2);
	}
	signing_key_free(&key);
}
END_TEST

START_TEST(test_load_public_from_private_pem)
{
	struct signing_key key;
	char err[256] = "";

	ck_assert_msg(load_public_data(&key, pem_a, pem_a_len, err, sizeof(err)) == 0,
	    "private PEM refused: %s", err);
	ck_assert_str_eq(key.kid, sk_a.kid);
	ck_assert_str_eq(key.n_b64, sk_a.n_b64);
	signing_key_free(&key);

	ck_assert_msg(load_public_data(&key, pem_b, pem_b_len, err, sizeof(err)) == 0,
	    "private PEM refused: %s", err);
	ck_assert_str_eq(key.kid, sk_b.kid);
	signing_key_free(&key);
}
END_TEST

/* token.h: a verification-only key "holds only the public part", also when
 * its file is a private key. */
START_TEST(test_load_public_keeps_no_private_part)
{
	struct signing_key key;
	char err[256] = "";
	int has;

	ck_assert_int_eq(load_public_data(&key, pem_a, pem_a_len, err, sizeof(err)), 0);
	has = has_private_d(key.pkey);
	signing_key_free(&key);
	ck_assert_msg(!has, "signing_key_load_public on a private-key file keeps the "
	    "private exponent in key->pkey");
}
END_TEST

START_TEST(test_load_public_refusals)
{
	EVP_PKEY *small = EVP_RSA_gen(1024), *ec = EVP_EC_gen("P-256");
	struct signing_key key;
	char err[256], *pem;
	size_t len;
	static const char garbage[] = "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n"
	    "-----END PUBLIC KEY-----\n";

	ck_assert_ptr_nonnull(small);
	ck_assert_ptr_nonnull(ec);

	pem = test_pem_of(small, 0, &len);
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, pem, len, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "1024") != NULL, "err: %s", err);
	ck_assert_ptr_null(key.pkey);
	free(pem);
	pem = test_pem_of(small, 1, &len);
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, pem, len, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "1024") != NULL, "err: %s", err);
	ck_assert_ptr_null(key.pkey);
	free(pem);

	pem = test_pem_of(ec, 0, &len);
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, pem, len, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not an RSA key") != NULL, "err: %s", err);
	ck_assert_ptr_null(key.pkey);
	free(pem);

	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, "garbage\n", 8, err, sizeof(err)), -1);
	ck_assert_str_ne(err, "");
	ck_assert_ptr_null(key.pkey);
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, garbage, strlen(garbage), err, sizeof(err)), -1);
	ck_assert_str_ne(err, "");
	ck_assert_ptr_null(key.pkey);
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, "", 0, err, sizeof(err)), -1);
	ck_assert_str_ne(err, "");
	/* a truncated public key */
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, pem_a_pub, pem_a_pub_len / 2, err, sizeof(err)),
	    -1);
	ck_assert_ptr_null(key.pkey);

	strcpy(err, "");
	ck_assert_int_eq(signing_key_load_public(&key, "/nonexistent/pub.pem", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/pub.pem"));
	ck_assert_ptr_null(key.pkey);

	EVP_PKEY_free(small);
	EVP_PKEY_free(ec);
}
END_TEST

Suite *
verify_suite(void)
{
	Suite *s = suite_create("verify");
	TCase *tc;

	tc = tcase_create("b64url_decode");
	tcase_add_test(tc, test_b64_round_trip);
	tcase_add_test(tc, test_b64_all_bytes);
	tcase_add_test(tc, test_b64_unused_bits_exhaustive);
	tcase_add_test(tc, test_b64_refusals);
	tcase_add_test(tc, test_b64_capacity);
	suite_add_tcase(s, tc);

	tc = tcase_create("gate_bearer");
	tcase_add_loop_test(tc, test_bearer, 0,
	    (int)(sizeof(bearer_cases) / sizeof(bearer_cases[0])));
	tcase_add_test(tc, test_bearer_null);
	suite_add_tcase(s, tc);

	/* the RSA keys are made once (lazily, in the runner) and freed at exit */
	tc = tcase_create("token_verify");
	tcase_add_unchecked_fixture(tc, keys_setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bearer_double_space_fails_verification);
	tcase_add_test(tc, test_valid_agent_token);
	tcase_add_test(tc, test_valid_customer_token);
	tcase_add_test(tc, test_crafted_baseline);
	tcase_add_loop_test(tc, test_forged_header, 0,
	    (int)(sizeof(header_cases) / sizeof(header_cases[0])));
	tcase_add_test(tc, test_alg_none_two_segments);
	tcase_add_loop_test(tc, test_claims, 0,
	    (int)(sizeof(claim_cases) / sizeof(claim_cases[0])));
	tcase_add_test(tc, test_segments);
	tcase_add_test(tc, test_signature_length);
	tcase_add_test(tc, test_standard_base64_refused);
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_size_limit);
	tcase_add_test(tc, test_oversize_not_read);
	tcase_add_test(tc, test_modified_after_signing);
	tcase_add_test(tc, test_rotation);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_unchecked_fixture(tc, keys_setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_jwks_exact);
	tcase_add_test(tc, test_load_public_pem);
	tcase_add_test(tc, test_load_public_from_private_pem);
	tcase_add_test(tc, test_load_public_keeps_no_private_part);
	tcase_add_test(tc, test_load_public_refusals);
	suite_add_tcase(s, tc);
	return s;
}
