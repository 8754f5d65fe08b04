/* fuzz_verify: access-token verification (token_verify, gate_bearer).
 *
 * Two key pairs are generated at start-up (RSA 2048, never written
 * anywhere) and form the key ring; "now" is fixed, so the outcome depends
 * on the input alone.
 *
 * An input whose first byte is 0x01..0x04 is a "signed" input: the rest
 * is HEADER NUL CLAIMS (JSON texts), with "@KID0@" / "@KID1@" in HEADER
 * replaced by the keys' ids; the target encodes both, signs them with key
 * (byte - 1) & 1 and verifies the result, with the issuer check on for
 * bytes 3 and 4.  That lets the fuzzer reach the header, claim and "sub"
 * parsing behind a good signature.  Any other input is the
 * Authorization header value: "Bearer <token>" or a bare token. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

static struct signing_key keys[2];
static struct keyring ring;

static void
make_key(struct signing_key *key)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048);
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
	make_key(&keys[0]);
	make_key(&keys[1]);
	ring.keys[0] = &keys[0];
	ring.keys[1] = &keys[1];
	ring.n = 2;
	return 0;
}

static void
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
		return;
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
		    (text[i + 4] == '0' || text[i + 4] == '1') && text[i + 5] == '@') {
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

static void
signed_input(const struct signing_key *key, int with_iss, const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t hlen = nul != NULL ? (size_t)(nul - data) : size;
	size_t clen = nul != NULL ? size - hlen - 1 : 0, h2len, n, siglen;
	char *header = with_kids((const char *)data, hlen, &h2len), *token;
	unsigned char sig[512];
	EVP_MD_CTX *ctx;

	token = malloc(B64URL_LEN(h2len) + B64URL_LEN(clen) + B64URL_LEN(sizeof(sig)) + 3);
	if (token == NULL)
		abort();
	n = b64url_encode(token, (const unsigned char *)header, h2len);
	token[n++] = '.';
	n += b64url_encode(token + n, nul != NULL ? nul + 1 : data, clen);
	siglen = sizeof(sig);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)token, n) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	token[n++] = '.';
	n += b64url_encode(token + n, sig, siglen);
	check(token, n, with_iss);
	free(token);
	free(header);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *header;
	const char *token;
	size_t len;

	if (size > 0 && data[0] >= 1 && data[0] <= 4) {
		signed_input(&keys[(data[0] - 1) & 1], data[0] >= 3, data + 1, size - 1);
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
