/* token: key loading, JWT signing and refresh token generation. */
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
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

static int
key_finish(struct signing_key *key, char *err, size_t errlen)
{
	unsigned char digest[32];
	char *thumb_input = NULL, *header;
	size_t tlen, hlen;
	int bits;

	if (EVP_PKEY_base_id(key->pkey) != EVP_PKEY_RSA) {
		snprintf(err, errlen, "the key is not an RSA key");
		return -1;
	}
	bits = EVP_PKEY_get_bits(key->pkey);
	if (bits < 2048) {
		snprintf(err, errlen, "the RSA key has %d bits; at least 2048 are needed", bits);
		return -1;
	}
	key->n_b64 = bn_b64url(key->pkey, OSSL_PKEY_PARAM_RSA_N);
	key->e_b64 = bn_b64url(key->pkey, OSSL_PKEY_PARAM_RSA_E);
	if (key->n_b64 == NULL || key->e_b64 == NULL)
		goto oom;
	/* RFC 7638: required members in lexicographic order, no white space */
	tlen = strlen(key->n_b64) + strlen(key->e_b64) + 32;
	thumb_input = malloc(tlen);
	if (thumb_input == NULL)
		goto oom;
	snprintf(thumb_input, tlen, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
	    key->e_b64, key->n_b64);
	if (sha256(digest, thumb_input, strlen(thumb_input)) < 0)
		goto oom;
	free(thumb_input);
	thumb_input = NULL;
	b64url_encode(key->kid, digest, sizeof(digest));

	header = malloc(128);
	if (header == NULL)
		goto oom;
	hlen = (size_t)snprintf(header, 128, "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"%s\"}",
	    key->kid);
	key->header_b64 = malloc(B64URL_LEN(hlen) + 1);
	if (key->header_b64 != NULL)
		b64url_encode(key->header_b64, (unsigned char *)header, hlen);
	free(header);
	if (key->header_b64 == NULL)
		goto oom;
	return 0;
oom:
	free(thumb_input);
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

char *
jwks_document(const struct signing_key *const *keys, size_t n, size_t *len_r)
{
	struct json_object *root = json_object_new_object(), *arr, *k;

	/* each container is attached first, so that putting root frees all */
	if (jx_set(root, "keys", arr = json_object_new_array()) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (jx_append(arr, k = json_object_new_object()) < 0 ||
		    jx_set(k, "kty", json_object_new_string("RSA")) < 0 ||
		    jx_set(k, "use", json_object_new_string("sig")) < 0 ||
		    jx_set(k, "alg", json_object_new_string("RS256")) < 0 ||
		    jx_set(k, "kid", json_object_new_string(keys[i]->kid)) < 0 ||
		    jx_set(k, "n", json_object_new_string(keys[i]->n_b64)) < 0 ||
		    jx_set(k, "e", json_object_new_string(keys[i]->e_b64)) < 0) {
			json_object_put(root);
			return NULL;
		}
	}
	return jx_render(root, len_r);
}

void
signing_key_free(struct signing_key *key)
{
	EVP_PKEY_free(key->pkey);
	free(key->n_b64);
	free(key->e_b64);
	free(key->header_b64);
	memset(key, 0, sizeof(*key));
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
	EVP_MD_CTX *ctx = NULL;
	unsigned char *sig = NULL;
	size_t plen = 0, siglen = 0, hlen, olen, pos;
	char *payload, *out = NULL;

	payload = claims_json(c, &plen);
	if (payload == NULL)
		return NULL;
	hlen = strlen(key->header_b64);
	siglen = (size_t)EVP_PKEY_get_size(key->pkey);
	olen = hlen + 1 + B64URL_LEN(plen) + 1 + B64URL_LEN(siglen) + 1;
	out = malloc(olen);
	sig = malloc(siglen);
	ctx = EVP_MD_CTX_new();
	if (out == NULL || sig == NULL || ctx == NULL)
		goto fail;
	memcpy(out, key->header_b64, hlen);
	out[hlen] = '.';
	pos = hlen + 1 + b64url_encode(out + hlen + 1, (unsigned char *)payload, plen);
	/* The signature is checked before it leaves: OpenSSL 3.0 reports
	 * success with a wrong signature when memory runs out while it renews
	 * the RSA blinding, and keeps signing wrongly until the next renewal
	 * (tests/unit/oom_issue.c).  A faulty RSA signature must never be
	 * published; the check costs a public-key operation. */
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)out, pos) != 1 ||
	    EVP_MD_CTX_reset(ctx) != 1 ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
	    EVP_DigestVerify(ctx, sig, siglen, (unsigned char *)out, pos) != 1)
		goto fail;
	out[pos++] = '.';
	b64url_encode(out + pos, sig, siglen);
	goto done;
fail:
	free(out);
	out = NULL;
done:
	EVP_MD_CTX_free(ctx);
	if (sig != NULL)
		explicit_bzero(sig, (size_t)EVP_PKEY_get_size(key->pkey));
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
