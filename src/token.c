/* token: key loading (RSA, EC P-256, Ed25519), JWS signing and checking,
 * the JWKS document and refresh token generation. */
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "encode.h"
#include "jx.h"

/* Encrypted keys are not supported: never prompt on a terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static char *
bn_b64url(const EVP_PKEY *pkey, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char *bin = NULL;
	char *out = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		return NULL;
	n = BN_num_bytes(bn);
	bin = malloc((size_t)n + 1);
	if (bin != NULL && BN_bn2bin(bn, bin) == n &&
	    (out = malloc(B64URL_LEN((size_t)n) + 1)) != NULL)
		b64url_encode(out, bin, (size_t)n);
	free(bin);
	BN_free(bn);
	return out;
}

/* The unpadded base64url of in[0..n) in a new string, or NULL. */
static char *
b64url_dup(const unsigned char *in, size_t n)
{
	char *out = malloc(B64URL_LEN(n) + 1);

	if (out != NULL)
		b64url_encode(out, in, n);
	return out;
}

/* An EC public coordinate (OSSL_PKEY_PARAM_EC_PUB_X or _Y) as 32 bytes,
 * leading zeros kept (RFC 7518 §6.2.1.2), in base64url; or NULL. */
static char *
ec_coordinate(const EVP_PKEY *pkey, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char bin[32];
	char *out = NULL;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) == 1 &&
	    BN_bn2binpad(bn, bin, (int)sizeof(bin)) == (int)sizeof(bin))
		out = b64url_dup(bin, sizeof(bin));
	BN_free(bn);
	return out;
}

/* Checks the kind of key->pkey, sets key->alg and fills the JWK members
 * of its kind.  Returns 0, 1 when memory ran out, or -1 with err. */
static int
key_kind(struct signing_key *key, char *err, size_t errlen)
{
	unsigned char raw[32];
	char curve[64];
	size_t rawlen = sizeof(raw);
	int bits;

	switch (EVP_PKEY_get_base_id(key->pkey)) {
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(key->pkey);
		if (bits < 2048) {
			snprintf(err, errlen, "the RSA key has %d bits; at least 2048 are needed",
			    bits);
			return -1;
		}
		key->alg = TOKEN_RS256;
		key->n_b64 = bn_b64url(key->pkey, OSSL_PKEY_PARAM_RSA_N);
		key->e_b64 = bn_b64url(key->pkey, OSSL_PKEY_PARAM_RSA_E);
		return key->n_b64 == NULL || key->e_b64 == NULL;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(key->pkey, curve, sizeof(curve), NULL) != 1)
			snprintf(curve, sizeof(curve), "(unnamed)");
		if (strcmp(curve, "prime256v1") != 0) {
			snprintf(err, errlen, "the EC key is on curve %s; only P-256 (ES256) is "
			    "supported", curve);
			return -1;
		}
		key->alg = TOKEN_ES256;
		key->x_b64 = ec_coordinate(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X);
		key->y_b64 = ec_coordinate(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y);
		return key->x_b64 == NULL || key->y_b64 == NULL;
	case EVP_PKEY_ED25519:
		if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &rawlen) != 1 ||
		    rawlen != sizeof(raw))
			return 1;
		key->alg = TOKEN_EDDSA;
		key->x_b64 = b64url_dup(raw, rawlen);
		return key->x_b64 == NULL;
	default:
		snprintf(err, errlen, "the key is not an RSA, EC P-256 or Ed25519 key");
		return -1;
	}
}

const char *
token_alg_name(enum token_alg alg)
{
	switch (alg) {
	case TOKEN_RS256:
		return "RS256";
	case TOKEN_ES256:
		return "ES256";
	case TOKEN_EDDSA:
		return "EdDSA";
	}
	return "?";
}

/* The digest of key's algorithm: SHA-256, or none for EdDSA (Ed25519 is
 * one-shot: EVP_DigestSign and EVP_DigestVerify with a NULL digest). */
static const EVP_MD *
alg_md(enum token_alg alg)
{
	return alg == TOKEN_EDDSA ? NULL : EVP_sha256();
}

/* Initialises the contexts that each signature and verification copies
 * (an initialisation looks the algorithm up in OpenSSL's provider tables:
 * about 6 us, against 4 us saved per RS256 verification and 8 us per
 * ES256 signature by a copy).  A key without a private part gets no
 * signing context.  Returns 0, or -1 when the verification context cannot
 * be made. */
static int
key_contexts(struct signing_key *key)
{
	key->verify_ctx = EVP_MD_CTX_new();
	if (key->verify_ctx == NULL ||
	    EVP_DigestVerifyInit(key->verify_ctx, NULL, alg_md(key->alg), NULL, key->pkey) != 1)
		return -1;
	key->sign_ctx = EVP_MD_CTX_new();
	if (key->sign_ctx != NULL &&
	    EVP_DigestSignInit(key->sign_ctx, NULL, alg_md(key->alg), NULL, key->pkey) != 1) {
		EVP_MD_CTX_free(key->sign_ctx);
		key->sign_ctx = NULL;
	}
	ERR_clear_error();
	return 0;
}

static int
key_finish(struct signing_key *key, char *err, size_t errlen)
{
	unsigned char digest[32];
	char thumb_input[160], header[128];
	char *rsa_input;
	size_t tlen, hlen;
	int rc;

	if ((rc = key_kind(key, err, errlen)) < 0)
		return -1;
	if (rc > 0)
		goto oom;
	/* RFC 7638: the required members in lexicographic order, no white
	 * space (RFC 8037 §2 for OKP) */
	switch (key->alg) {
	case TOKEN_RS256:
		/* the modulus makes this one long: on the heap */
		tlen = strlen(key->n_b64) + strlen(key->e_b64) + 32;
		rsa_input = malloc(tlen);
		if (rsa_input == NULL)
			goto oom;
		snprintf(rsa_input, tlen, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
		    key->e_b64, key->n_b64);
		rc = sha256(digest, rsa_input, strlen(rsa_input));
		free(rsa_input);
		break;
	case TOKEN_ES256:
		snprintf(thumb_input, sizeof(thumb_input),
		    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		    key->x_b64, key->y_b64);
		rc = sha256(digest, thumb_input, strlen(thumb_input));
		break;
	case TOKEN_EDDSA:
		snprintf(thumb_input, sizeof(thumb_input),
		    "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", key->x_b64);
		rc = sha256(digest, thumb_input, strlen(thumb_input));
		break;
	}
	if (rc < 0)
		goto oom;
	b64url_encode(key->kid, digest, sizeof(digest));

	hlen = (size_t)snprintf(header, sizeof(header),
	    "{\"typ\":\"JWT\",\"alg\":\"%s\",\"kid\":\"%s\"}", token_alg_name(key->alg),
	    key->kid);
	key->header_b64 = b64url_dup((unsigned char *)header, hlen);
	if (key->header_b64 == NULL || key_contexts(key) < 0)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "cannot prepare the key (out of memory)");
	return -1;
}

int
signing_key_from_pem(struct signing_key *key, const char *pem, size_t len,
    char *err, size_t errlen)
{
	BIO *bio;

	memset(key, 0, sizeof(*key));
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	key->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (key->pkey == NULL) {
		snprintf(err, errlen, "not a PEM private key");
		return -1;
	}
	if (key_finish(key, err, errlen) < 0) {
		signing_key_free(key);
		return -1;
	}
	return 0;
}

/* Reads the key in an open PEM file: the private key, or with public_only
 * the public key (from a public or a private key file, keeping only the
 * public part).  Returns the key or NULL. */
static EVP_PKEY *
read_pem(FILE *f, int public_only)
{
	EVP_PKEY *priv, *pub = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	int n;

	if (public_only && (pub = PEM_read_PUBKEY(f, NULL, no_passphrase, NULL)) != NULL)
		return pub;
	rewind(f);
	priv = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	if (priv == NULL || !public_only)
		return priv;
	if ((n = i2d_PUBKEY(priv, &der)) > 0) {
		p = der;
		pub = d2i_PUBKEY(NULL, &p, n);
	}
	OPENSSL_free(der);
	EVP_PKEY_free(priv);
	return pub;
}

static int
load_file(struct signing_key *key, const char *path, int public_only, char *err,
    size_t errlen)
{
	char why[160];
	FILE *f;

	memset(key, 0, sizeof(*key));
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %m", path);
		return -1;
	}
	key->pkey = read_pem(f, public_only);
	fclose(f);
	if (key->pkey == NULL) {
		snprintf(err, errlen, public_only ? "%s: not a PEM public or private key" :
		    "%s: not a PEM private key (or an encrypted one: not supported)", path);
		return -1;
	}
	if (key_finish(key, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		signing_key_free(key);
		return -1;
	}
	return 0;
}

int
signing_key_load(struct signing_key *key, const char *path, char *err, size_t errlen)
{
	return load_file(key, path, 0, err, errlen);
}

int
signing_key_load_public(struct signing_key *key, const char *path, char *err, size_t errlen)
{
	return load_file(key, path, 1, err, errlen);
}

/* Adds the members of key's JWK to the object k, in the order of
 * doc/api.md §6.  Returns 0 or -1 (k is then for the caller to put). */
static int
jwk_members(struct json_object *k, const struct signing_key *key)
{
	static const char *const kty[] = {
		[TOKEN_RS256] = "RSA", [TOKEN_ES256] = "EC", [TOKEN_EDDSA] = "OKP",
	};

	if (jx_set(k, "kty", json_object_new_string(kty[key->alg])) < 0 ||
	    jx_set(k, "use", json_object_new_string("sig")) < 0 ||
	    jx_set(k, "alg", json_object_new_string(token_alg_name(key->alg))) < 0 ||
	    jx_set(k, "kid", json_object_new_string(key->kid)) < 0)
		return -1;
	switch (key->alg) {
	case TOKEN_RS256:
		return jx_set(k, "n", json_object_new_string(key->n_b64)) < 0 ||
		    jx_set(k, "e", json_object_new_string(key->e_b64)) < 0 ? -1 : 0;
	case TOKEN_ES256:
		return jx_set(k, "crv", json_object_new_string("P-256")) < 0 ||
		    jx_set(k, "x", json_object_new_string(key->x_b64)) < 0 ||
		    jx_set(k, "y", json_object_new_string(key->y_b64)) < 0 ? -1 : 0;
	case TOKEN_EDDSA:
		return jx_set(k, "crv", json_object_new_string("Ed25519")) < 0 ||
		    jx_set(k, "x", json_object_new_string(key->x_b64)) < 0 ? -1 : 0;
	}
	return -1;
}

char *
jwks_document(const struct signing_key *const *keys, size_t n, size_t *len_r)
{
	struct json_object *root = json_object_new_object(), *arr, *k;

	/* each container is attached first, so that putting root frees all */
	if (jx_set(root, "keys", arr = json_object_new_array()) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (jx_append(arr, k = json_object_new_object()) < 0 ||
		    jwk_members(k, keys[i]) < 0) {
			json_object_put(root);
			return NULL;
		}
	}
	return jx_render(root, len_r);
}

void
signing_key_free(struct signing_key *key)
{
	EVP_MD_CTX_free(key->verify_ctx);
	EVP_MD_CTX_free(key->sign_ctx);
	EVP_PKEY_free(key->pkey);
	free(key->n_b64);
	free(key->e_b64);
	free(key->x_b64);
	free(key->y_b64);
	free(key->header_b64);
	memset(key, 0, sizeof(*key));
}

/* ES256 (RFC 7518 §3.4): OpenSSL signs and verifies a DER ECDSA-Sig-Value,
 * JWS carries R||S, each 32 bytes big-endian. */

/* DER der[0..len) to R||S in out[64].  Returns 0 or -1. */
static int
es256_from_der(unsigned char out[TOKEN_ES256_SIG_LEN], const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int rc = -1;

	if (es == NULL)
		return -1;
	ECDSA_SIG_get0(es, &r, &s);
	if (p == der + len && BN_bn2binpad(r, out, 32) == 32 &&
	    BN_bn2binpad(s, out + 32, 32) == 32)
		rc = 0;
	ECDSA_SIG_free(es);
	return rc;
}

/* R||S sig[0..64) to DER in a new buffer (OPENSSL_free).  Returns its
 * length, or -1. */
static int
es256_to_der(const unsigned char *sig, unsigned char **der_r)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	int len = -1;

	*der_r = NULL;
	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
	} else {
		len = i2d_ECDSA_SIG(es, der_r);
	}
	ECDSA_SIG_free(es);
	return len;
}

int
signing_key_verify(const struct signing_key *key, const void *data, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	unsigned char *der = NULL;
	int derlen, ok = 0;

	switch (key->alg) {
	case TOKEN_RS256:
		if (siglen != (size_t)EVP_PKEY_get_size(key->pkey))
			return 0;
		break;
	case TOKEN_ES256:
		if (siglen != TOKEN_ES256_SIG_LEN || (derlen = es256_to_der(sig, &der)) <= 0) {
			OPENSSL_free(der);
			return 0;
		}
		sig = der;
		siglen = (size_t)derlen;
		break;
	case TOKEN_EDDSA:
		if (siglen != TOKEN_EDDSA_SIG_LEN)
			return 0;
		break;
	default:
		return 0;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx != NULL)
		ok = EVP_MD_CTX_copy_ex(ctx, key->verify_ctx) == 1 &&
		    EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return ok;
}

/* The JWS signature of data[0..len) by key into sig (capacity *siglen_r,
 * at least sig_capacity(key)); *siglen_r gets its length.  Returns 0 or
 * -1. */
static int
jws_sign(const struct signing_key *key, const unsigned char *data, size_t len,
    unsigned char *sig, size_t *siglen_r)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[80];
	size_t derlen = sizeof(der);
	int rc = -1;

	if (ctx == NULL || key->sign_ctx == NULL ||
	    EVP_MD_CTX_copy_ex(ctx, key->sign_ctx) != 1)
		goto out;
	if (key->alg == TOKEN_ES256) {
		/* DER of P-256: at most 72 bytes */
		if ((size_t)EVP_PKEY_get_size(key->pkey) > sizeof(der) ||
		    EVP_DigestSign(ctx, der, &derlen, data, len) != 1 ||
		    es256_from_der(sig, der, derlen) < 0)
			goto out;
		*siglen_r = TOKEN_ES256_SIG_LEN;
	} else if (EVP_DigestSign(ctx, sig, siglen_r, data, len) != 1) {
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	explicit_bzero(der, sizeof(der));   /* a signature is part of a bearer token */
	return rc;
}

/* Room for key's signature: the RSA modulus, OpenSSL's DER form of ECDSA
 * (which EVP_PKEY_get_size gives), and at least 64 bytes. */
static size_t
sig_capacity(const struct signing_key *key)
{
	size_t n = (size_t)EVP_PKEY_get_size(key->pkey);

	return n > 64 ? n : 64;
}

static char *
claims_json(const struct access_claims *c, size_t *len_r)
{
	struct json_object *root, *scopes, *act;
	unsigned char rnd[JTI_HEX_LEN / 2];
	char jti[JTI_HEX_LEN + 1];
	int failed;

	if (random_bytes(rnd, sizeof(rnd)) < 0)
		return NULL;
	hex_encode(jti, rnd, sizeof(rnd));
	/* every claim or no token: a failed allocation ends here, never in a
	 * token without the claim (doc/STYLE.md "Out of memory") */
	root = json_object_new_object();
	failed = jx_set(root, "aud", json_object_new_string(c->aud)) < 0 ||
	    jx_set(root, "jti", json_object_new_string(jti)) < 0 ||
	    jx_set(root, "iat", json_object_new_int64(c->iat)) < 0 ||
	    jx_set(root, "nbf", json_object_new_int64(c->iat)) < 0 ||
	    jx_set(root, "exp", json_object_new_int64(c->iat + c->ttl)) < 0 ||
	    jx_set(root, "sub", json_object_new_string(c->sub)) < 0 ||
	    jx_set(root, "scopes", scopes = json_object_new_array()) < 0;
	for (size_t i = 0; !failed && i < c->nscopes; i++)
		failed = jx_append(scopes, json_object_new_string(c->scopes[i])) < 0;
	if (!failed && c->act_sub != NULL)
		failed = jx_set(root, "act", act = json_object_new_object()) < 0 ||
		    jx_set(act, "sub", json_object_new_string(c->act_sub)) < 0;
	if (!failed && c->sid != NULL)
		failed = jx_set(root, "sid", json_object_new_string(c->sid)) < 0;
	if (!failed && c->reason != NULL)
		failed = jx_set(root, "reason", json_object_new_string(c->reason)) < 0;
	if (!failed && c->iss != NULL && c->iss[0] != '\0')
		failed = jx_set(root, "iss", json_object_new_string(c->iss)) < 0;
	if (failed) {
		json_object_put(root);
		return NULL;
	}
	return jx_render(root, len_r);
}

char *
token_issue_access(const struct signing_key *key, const struct access_claims *c)
{
	unsigned char *sig = NULL;
	size_t plen = 0, cap = sig_capacity(key), siglen = cap, hlen, olen, pos;
	char *payload, *out = NULL;

	payload = claims_json(c, &plen);
	if (payload == NULL)
		return NULL;
	hlen = strlen(key->header_b64);
	olen = hlen + 1 + B64URL_LEN(plen) + 1 + B64URL_LEN(cap) + 1;
	out = malloc(olen);
	sig = malloc(cap);
	if (out == NULL || sig == NULL)
		goto fail;
	memcpy(out, key->header_b64, hlen);
	out[hlen] = '.';
	pos = hlen + 1 + b64url_encode(out + hlen + 1, (unsigned char *)payload, plen);
	/* The signature is checked, in the form it is published, before it
	 * leaves.  OpenSSL 3.0 reports success with a wrong RSA signature when
	 * memory runs out while it renews the RSA blinding, and keeps signing
	 * wrongly until the next renewal (tests/unit/oom_issue.c); a faulty
	 * ECDSA or Ed25519 signature can give the private key away.  Nothing
	 * unchecked is published; the check costs a public-key operation. */
	if (jws_sign(key, (unsigned char *)out, pos, sig, &siglen) < 0 ||
	    !signing_key_verify(key, out, pos, sig, siglen))
		goto fail;
	out[pos++] = '.';
	b64url_encode(out + pos, sig, siglen);
	goto done;
fail:
	free(out);
	out = NULL;
done:
	if (sig != NULL)
		explicit_bzero(sig, cap);
	free(sig);
	free(payload);
	return out;
}

int
token_hash_refresh(const char *token, size_t len, char *hash_hex_r)
{
	unsigned char digest[32];

	if (sha256(digest, token, len) < 0)
		return -1;
	hex_encode(hash_hex_r, digest, sizeof(digest));
	return 0;
}

int
token_new_refresh(char *token_r, char *hash_hex_r)
{
	unsigned char rnd[32];

	if (random_bytes(rnd, sizeof(rnd)) < 0)
		return -1;
	b64url_encode(token_r, rnd, sizeof(rnd));
	explicit_bzero(rnd, sizeof(rnd));
	return token_hash_refresh(token_r, REFRESH_TOKEN_LEN, hash_hex_r);
}

char *
token_agent_sub(long long agent_id)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "{\"id_company_user\":null,\"id_agent\":%lld,"
	    "\"customer_reference\":null,\"id_customer\":null,\"permissions\":null}",
	    agent_id);
	return strdup(buf);
}
