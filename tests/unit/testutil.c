/* testutil: helpers shared by the unit test suites. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

/* ---- text ---- */

const char test_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const char test_b64std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
test_b64(const char *tab, int pad, const void *data, size_t n)
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

char *
test_b64url(const void *data, size_t n)
{
	return test_b64(test_b64url_alphabet, 0, data, n);
}

char *
test_b64url_str(const char *s)
{
	return test_b64url(s, strlen(s));
}

char *
test_join(const char *a, const char *b, const char *c)
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

/* ---- files ---- */

char *
test_temp_file(const void *data, size_t len)
{
	char tmpl[] = "/tmp/agentauth-test-XXXXXX";
	int fd = mkstemp(tmpl);
	char *path;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	path = strdup(tmpl);
	ck_assert_ptr_nonnull(path);
	return path;
}

void
test_temp_remove(char *path)
{
	unlink(path);
	free(path);
}

/* ---- keys ---- */

char *
test_pem_of(EVP_PKEY *pk, int private, size_t *len_r)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *copy;
	long len;

	ck_assert_ptr_nonnull(bio);
	if (private)
		ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	else
		ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pk), 1);
	len = BIO_get_mem_data(bio, &data);
	ck_assert_int_gt(len, 0);
	copy = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, data, (size_t)len);
	copy[len] = '\0';
	BIO_free(bio);
	*len_r = (size_t)len;
	return copy;
}

char *
test_bn_b64url(EVP_PKEY *pk, const char *name)
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
	out = test_b64url(bin, (size_t)n);
	free(bin);
	BN_free(bn);
	return out;
}

void
test_signing_key(struct signing_key *key, const char *pem, size_t len)
{
	char err[256] = "";

	ck_assert_msg(signing_key_from_pem(key, pem, len, err, sizeof(err)) == 0,
	    "signing_key_from_pem: %s", err);
	ck_assert_str_eq(err, "");
	ck_assert_ptr_nonnull(key->pkey);
}

/* ---- forged JWTs ---- */

EVP_PKEY *pk_a, *pk_b;
char *pem_a, *pem_a_pub, *pem_b;
size_t pem_a_len, pem_a_pub_len, pem_b_len;
struct signing_key sk_a, sk_b;
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

void
test_keys_setup(void)
{
	static int registered;

	if (keys_made)
		return;
	pk_a = EVP_RSA_gen(2048);
	pk_b = EVP_RSA_gen(2048);
	ck_assert_ptr_nonnull(pk_a);
	ck_assert_ptr_nonnull(pk_b);
	pem_a = test_pem_of(pk_a, 1, &pem_a_len);
	pem_a_pub = test_pem_of(pk_a, 0, &pem_a_pub_len);
	pem_b = test_pem_of(pk_b, 1, &pem_b_len);
	test_signing_key(&sk_a, pem_a, pem_a_len);
	test_signing_key(&sk_b, pem_b, pem_b_len);
	ck_assert_str_ne(sk_a.kid, sk_b.kid);
	keys_made = 1;
	if (!registered) {
		registered = 1;
		atexit(keys_free);
	}
}

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
unsigned char *
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
char *
sign_segments(const char *h64, const char *p64, enum signer s)
{
	char *input = test_join(h64, p64, NULL), *sig64, *tok;
	size_t siglen;
	unsigned char *sig = sign_with(s, input, strlen(input), &siglen);

	sig64 = test_b64url(sig, siglen);
	tok = test_join(h64, p64, sig64);
	free(sig64);
	free(sig);
	free(input);
	return tok;
}

/* Replaces "$A" and "$B" in tmpl by the kids of keys A and B. */
char *
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
char *
make_token(const char *header_tmpl, const char *payload, enum signer s)
{
	char *header = with_kids(header_tmpl);
	char *h64 = test_b64url_str(header), *p64 = test_b64url_str(payload);
	char *tok = sign_segments(h64, p64, s);

	free(header);
	free(h64);
	free(p64);
	return tok;
}

struct claims
default_claims(void)
{
	struct claims c = {
		.aud = "\"" AUD "\"", .iss = NULL, .jti = "\"0123456789abcdef\"",
		.iat = "1700000000", .nbf = "1700000000", .exp = "1700000900",
		.sub = AGENT_SUB_JSON, .scopes = "[\"agent\"]", .act = NULL, .extra = NULL,
	};
	return c;
}

char *
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
char *
make_claims_token(const char *header_tmpl, const struct claims *c, enum signer s)
{
	char *payload = claims_text(c), *tok = make_token(header_tmpl, payload, s);

	free(payload);
	return tok;
}

/* ---- verifying ---- */

struct verify_params
params_for(const struct keyring *ring, long skew, const char *iss)
{
	struct verify_params p = {
		.keys = ring, .aud = AUD, .iss = iss, .skew = skew, .now = NOW,
	};
	return p;
}

void
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

void
expect_accepted(const struct verify_params *p, const char *tok, size_t len,
    struct token_info *info, const char *label, int line)
{
	const char *why = NULL;
	int rc;

	memset(info, 0x5a, sizeof(*info));
	rc = token_verify(p, tok, len, info, &why);
	ck_assert_msg(rc == 0, "line %d, %s: refused (%s)", line, label, why ? why : "(null)");
}
