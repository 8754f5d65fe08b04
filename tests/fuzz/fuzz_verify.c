/* fuzz_verify: access-token verification (token_verify, gate_bearer).
 *
 * Four keys are generated at start-up (never written anywhere) and form
 * the key ring: 0 and 1 RSA 2048 (RS256), 2 EC P-256 (ES256), 3 Ed25519
 * (EdDSA); "now" is fixed, so the outcome depends on the input alone.
 *
 * An input whose first byte is 0x01..0x08 is a "signed" input: the rest
 * is HEADER NUL CLAIMS (JSON texts), with "@KID0@" .. "@KID3@" in HEADER
 * replaced by the keys' ids; the target encodes both, signs them in the
 * JWS form of the key's algorithm and verifies the result.  Bytes 1..4
 * sign with key (byte - 1) & 1, bytes 5..8 with key 2 + ((byte - 5) & 1);
 * the issuer check is on for bytes 3, 4, 7 and 8.  That lets the fuzzer
 * reach the header, claim and "sub" parsing behind a good signature, and
 * checks the algorithm rule: a token that verifies has the alg of the
 * key that signed it.  Any other input is the Authorization header value:
 * "Bearer <token>" or a bare token. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "encode.h"
#include "fuzz.h"
#include "gate.h"
#include "verify.h"

#define NOW 1700000000LL
#define SKEW 30
#define AUD "frontend"
#define ISS "https://glue.example"

#define NKEYS 4

static struct signing_key keys[NKEYS];
static struct keyring ring;

static void
make_key(struct signing_key *key, EVP_PKEY *pk)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char err[160], *pem;
	long len;

	if (pk == NULL || bio == NULL || PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0,
	    NULL, NULL) != 1 || (len = BIO_get_mem_data(bio, &pem)) <= 0 ||
	    signing_key_from_pem(key, pem, (size_t)len, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_verify: cannot make a test key\n");
		abort();
	}
	BIO_free(bio);
	EVP_PKEY_free(pk);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	make_key(&keys[0], EVP_RSA_gen(2048));
	make_key(&keys[1], EVP_RSA_gen(2048));
	make_key(&keys[2], EVP_EC_gen("P-256"));
	make_key(&keys[3], EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	if (keys[0].alg != TOKEN_RS256 || keys[2].alg != TOKEN_ES256 ||
	    keys[3].alg != TOKEN_EDDSA)
		abort();
	for (size_t i = 0; i < NKEYS; i++)
		ring.keys[i] = &keys[i];
	ring.n = NKEYS;
	return 0;
}

/* Returns 0 if token_verify accepted token[0..len), -1 if it refused it. */
static int
check(const char *token, size_t len, int with_iss)
{
	struct verify_params p = {
		.keys = &ring, .aud = AUD, .iss = with_iss ? ISS : "", .skew = SKEW, .now = NOW,
	};
	struct token_info info;
	const char *why = NULL;

	if (token_verify(&p, token, len, &info, &why) < 0) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		FUZZ_CHECK(info.kind == 0 && info.agent_id == 0 && info.customer_id == 0);
		return -1;
	}
	/* what the gate and the handlers rely on */
	FUZZ_CHECK(len > 0 && len <= TOKEN_MAX_BYTES);
	FUZZ_CHECK(info.kind == TOKEN_AGENT || info.kind == TOKEN_CUSTOMER);
	FUZZ_CHECK(info.kind != TOKEN_AGENT || info.agent_id > 0);
	FUZZ_CHECK(info.kind != TOKEN_CUSTOMER || info.customer_id > 0);
	FUZZ_CHECK(!info.impersonation || info.agent_id > 0);
	FUZZ_CHECK(info.exp + SKEW > NOW && info.iat <= NOW + SKEW);
	FUZZ_CHECK(memchr(info.customer_reference, '\0', sizeof(info.customer_reference)));
	FUZZ_CHECK(info.sid[0] == '\0' || strlen(info.sid) == SESSION_ID_LEN);
	return 0;
}

/* Replaces "@KIDn@" in text[0..len) by the key ids; returns a malloc'd
 * string and its length. */
static char *
with_kids(const char *text, size_t len, size_t *len_r)
{
	char *out = malloc(len * (KID_LEN + 1) / 6 + len + 1);
	size_t o = 0;

	if (out == NULL)
		abort();
	for (size_t i = 0; i < len;) {
		if (len - i >= 6 && memcmp(text + i, "@KID", 4) == 0 &&
		    text[i + 4] >= '0' && text[i + 4] < '0' + NKEYS && text[i + 5] == '@') {
			memcpy(out + o, keys[text[i + 4] - '0'].kid, KID_LEN);
			o += KID_LEN;
			i += 6;
		} else {
			out[o++] = text[i++];
		}
	}
	out[o] = '\0';
	*len_r = o;
	return out;
}

/* The JWS signature of data[0..n) by key, in its algorithm's form (for
 * ES256 OpenSSL's DER made into R||S), into sig (room for 512 bytes).
 * Returns its length.  Made here, not with src/token.c. */
static size_t
jws_signature(const struct signing_key *key, const unsigned char *data, size_t n,
    unsigned char *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = key->alg == TOKEN_EDDSA ? NULL : EVP_sha256();
	unsigned char der[128];
	const unsigned char *p = der;
	size_t len = key->alg == TOKEN_ES256 ? sizeof(der) : 512;
	const BIGNUM *r, *s;
	ECDSA_SIG *es;

	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, key->alg == TOKEN_ES256 ? der : sig, &len, data, n) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	if (key->alg != TOKEN_ES256)
		return len;
	es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (es == NULL)
		abort();
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32)
		abort();
	ECDSA_SIG_free(es);
	return 64;
}

/* The algorithm rule: a header that verified with key's signature names
 * key's algorithm (header[0..len) has no NUL; token_verify parsed it
 * strictly, which json-c reads the same way). */
static void
check_alg(const struct signing_key *key, const char *header, size_t len)
{
	struct json_object *h = json_tokener_parse(header), *alg;

	FUZZ_CHECK(strlen(header) == len);
	FUZZ_CHECK(h != NULL && json_object_object_get_ex(h, "alg", &alg));
	FUZZ_CHECK(strcmp(json_object_get_string(alg), token_alg_name(key->alg)) == 0);
	json_object_put(h);
}

static void
signed_input(const struct signing_key *key, int with_iss, const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t hlen = nul != NULL ? (size_t)(nul - data) : size;
	size_t clen = nul != NULL ? size - hlen - 1 : 0, h2len, n, siglen;
	char *header = with_kids((const char *)data, hlen, &h2len), *token;
	unsigned char sig[512];

	token = malloc(B64URL_LEN(h2len) + B64URL_LEN(clen) + B64URL_LEN(sizeof(sig)) + 3);
	if (token == NULL)
		abort();
	n = b64url_encode(token, (const unsigned char *)header, h2len);
	token[n++] = '.';
	n += b64url_encode(token + n, nul != NULL ? nul + 1 : data, clen);
	siglen = jws_signature(key, (unsigned char *)token, n, sig);
	token[n++] = '.';
	n += b64url_encode(token + n, sig, siglen);
	if (check(token, n, with_iss) == 0)
		check_alg(key, header, h2len);
	free(token);
	free(header);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *header;
	const char *token;
	size_t len;

	if (size > 0 && data[0] >= 1 && data[0] <= 8) {
		const struct signing_key *key = data[0] <= 4 ? &keys[(data[0] - 1) & 1] :
		    &keys[2 + ((data[0] - 5) & 1)];
		signed_input(key, (data[0] - 1) % 4 >= 2, data + 1, size - 1);
		return 0;
	}
	/* the bytes as they are (not NUL-terminated: token_verify takes a
	 * length, and ASan sees any read past it) */
	check((const char *)data, size, 0);
	/* the header as the gate sees it */
	header = fuzz_cstr(data, size);
	token = gate_bearer(header, &len);
	if (token != NULL) {
		FUZZ_CHECK(token == header + 7 && len == strlen(token));
		check(token, len, 1);
	}
	free(header);
	return 0;
}
