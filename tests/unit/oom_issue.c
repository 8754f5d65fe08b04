/* Allocation-failure injection for token issue: makes the 1st, 2nd, 3rd, ...
 * allocation fail in turn while issue_access_token (agent token, and
 * impersonation token with act) and jsonapi_token_body run, until a run
 * sees no injected failure.  Each run must fail cleanly (NULL) or give a
 * result identical to the one made without failures: a token that
 * verifies and carries every claim, never one with a claim left out.
 *
 * The same replaced allocator also checks that no freed block still holds
 * a secret: the password of a parsed request body (strict_parse, then
 * jx_put_wiped) and the tokens of a token document.
 *
 * malloc, calloc, realloc, free, strdup and strndup are replaced for the
 * whole program (libc, json-c and OpenSSL included) and forward to the
 * next definition (dlsym(RTLD_NEXT)): libc's, or AddressSanitizer's in a
 * sanitizer build.  Prints TAP; exits 0, or 1 on a failure. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "encode.h"
#include "issue.h"
#include "jsonapi.h"
#include "log.h"
#include "token.h"
#include "verify.h"

/* ---- the allocator ---- */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

/* dlsym itself may allocate while the real functions are looked up:
 * those allocations come from here and are never freed. */
static _Alignas(max_align_t) unsigned char boot[8192];
static size_t boot_used;
static int resolving;

static long alloc_count;   /* allocations seen while armed */
static long fail_at;       /* the allocation to fail, counted from 1 */
static long injected;      /* failures injected while armed */
static int armed;

static const char *watch;  /* a secret that no freed block may hold */
static size_t watch_len;
static long watch_hits;    /* freed blocks that held it */

static void
resolve(void)
{
	if (real_free != NULL || resolving)
		return;
	resolving = 1;
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	resolving = 0;
	if (real_malloc == NULL || real_calloc == NULL || real_realloc == NULL ||
	    real_free == NULL)
		abort();
}

static void *
boot_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(boot) - boot_used)
		return NULL;
	p = boot + boot_used;
	boot_used += n;
	return p;
}

static int
from_boot(const void *p)
{
	return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof(boot);
}

/* Does the live block p hold the watched secret? */
static int
holds_secret(void *p)
{
	return watch != NULL && p != NULL && !from_boot(p) &&
	    memmem(p, malloc_usable_size(p), watch, watch_len) != NULL;
}

/* Should this allocation fail? */
static int
inject(void)
{
	if (!armed || ++alloc_count != fail_at)
		return 0;
	injected++;
	errno = ENOMEM;
	return 1;
}

void *
malloc(size_t n)
{
	resolve();
	if (resolving)
		return boot_alloc(n);
	return inject() ? NULL : real_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	void *p;

	resolve();
	if (resolving) {
		if (size != 0 && n > SIZE_MAX / size)
			return NULL;
		p = boot_alloc(n * size);
		if (p != NULL)
			memset(p, 0, n * size);
		return p;
	}
	return inject() ? NULL : real_calloc(n, size);
}

void *
realloc(void *old, size_t n)
{
	void *p;
	int had;

	resolve();
	if (from_boot(old)) {
		/* never resized in practice; copy what may be there */
		p = malloc(n);
		if (p != NULL)
			memcpy(p, old, n < (size_t)(boot + sizeof(boot) - (unsigned char *)old) ?
			    n : (size_t)(boot + sizeof(boot) - (unsigned char *)old));
		return p;
	}
	if (inject())
		return NULL;
	had = holds_secret(old);
	p = real_realloc(old, n);
	if (had && p != NULL && p != old)
		watch_hits++;
	return p;
}

void
free(void *p)
{
	if (p == NULL || from_boot(p))
		return;
	resolve();
	if (holds_secret(p))
		watch_hits++;
	real_free(p);
}

char *
strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

char *
strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* ---- the tests ---- */

#define IAT 1700000000LL
#define AUD "frontend"
#define ISS "https://issuer.example"

static int test_no;
static int failures;

static void
tap(int ok, const char *what, const char *detail)
{
	printf("%s %d - %s: %s\n", ok ? "ok" : "not ok", ++test_no, what, detail);
	if (!ok)
		failures++;
}

/* The decoded payload of jwt with its "jti" member removed (the only
 * claim that differs between two tokens for the same session and iat), in
 * a malloc'd string; NULL if jwt is not three segments. */
static char *
payload_without_jti(const char *jwt)
{
	const char *p1 = strchr(jwt, '.'), *p2 = p1 != NULL ? strchr(p1 + 1, '.') : NULL;
	char *out, *jti;
	long n;

	if (p2 == NULL)
		return NULL;
	out = malloc((size_t)(p2 - p1));
	if (out == NULL)
		return NULL;
	n = b64url_decode((unsigned char *)out, (size_t)(p2 - p1), p1 + 1, (size_t)(p2 - p1 - 1));
	if (n < 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	jti = strstr(out, "\"jti\":\"");
	if (jti != NULL && strlen(jti) > 7 + JTI_HEX_LEN + 2)
		memmove(jti, jti + 7 + JTI_HEX_LEN + 2, strlen(jti + 7 + JTI_HEX_LEN + 2) + 1);
	return out;
}

/* Does the payload (without jti) carry every claim a token of s needs? */
static int
has_every_claim(const char *payload, const struct session *s)
{
	static const char *const names[] = {
		"\"aud\":\"" AUD "\"", "\"iat\":", "\"nbf\":", "\"exp\":", "\"sub\":\"",
		"\"scopes\":[", "\"iss\":\"" ISS "\"",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strstr(payload, names[i]) == NULL)
			return 0;
	if (s->customer_id > 0)
		return strstr(payload, "\\\"id_customer\\\":21") != NULL &&
		    strstr(payload, "\\\"customer_reference\\\":\\\"DE--21\\\"") != NULL &&
		    strstr(payload, "\"act\":{\"sub\":\"agent:7\"}") != NULL &&
		    strstr(payload, "\"scopes\":[\"customer_impersonation\",\"customer\"]") != NULL;
	return strstr(payload, "\\\"id_agent\\\":7") != NULL &&
	    strstr(payload, "\"scopes\":[\"agent\"]") != NULL &&
	    strstr(payload, "\"act\"") == NULL;
}

/* Does jwt verify with our checks, as a token of the session's kind? */
static int
verifies(const struct keyring *ring, const char *jwt, const struct session *s)
{
	struct verify_params p = {
		.keys = ring, .aud = AUD, .iss = ISS, .skew = 0, .now = IAT + 1,
	};
	struct token_info info;
	const char *why;

	if (token_verify(&p, jwt, strlen(jwt), &info, &why) < 0) {
		printf("# token refused: %s\n", why);
		return 0;
	}
	if (s->customer_id > 0)
		return info.kind == TOKEN_CUSTOMER && info.impersonation &&
		    info.customer_id == s->customer_id && info.agent_id == s->agent_id;
	return info.kind == TOKEN_AGENT && info.agent_id == s->agent_id;
}

/* Fails the 1st, 2nd, ... allocation of issue_access_token for s. */
static void
inject_into_issue(const char *what, const struct config *cfg, const struct signing_key *key,
    const struct keyring *ring, const struct session *s)
{
	char *jwt, *ref, *got, detail[200];
	long clean = 0, whole = 0, broken = 0, n;
	int retries;

	jwt = issue_access_token(cfg, key, s, IAT);
	ref = jwt != NULL ? payload_without_jti(jwt) : NULL;
	if (jwt == NULL || ref == NULL || !verifies(ring, jwt, s) || !has_every_claim(ref, s)) {
		tap(0, what, ref != NULL ? ref : "no complete token without injected failures");
		free(jwt);
		free(ref);
		return;
	}
	free(jwt);
	for (n = 1;; n++) {
		alloc_count = 0;
		injected = 0;
		fail_at = n;
		armed = 1;
		jwt = issue_access_token(cfg, key, s, IAT);
		armed = 0;
		if (injected == 0)
			break;
		ERR_clear_error();
		if (jwt == NULL) {
			clean++;
			continue;
		}
		got = payload_without_jti(jwt);
		if (got != NULL && strcmp(got, ref) == 0 && verifies(ring, jwt, s)) {
			whole++;
		} else {
			broken++;
			printf("# %s: allocation %ld failed, token %s\n", what, n,
			    got != NULL ? got : "undecodable");
		}
		free(got);
		free(jwt);
	}
	/* The run without an injected failure must succeed like the first.
	 * An allocation failure while OpenSSL renews its RSA blinding spoils
	 * the signatures until the next renewal, 32 signatures later: the
	 * self-check in token_issue_access refuses them (NULL), so allow as
	 * many attempts. */
	for (retries = 0; jwt == NULL && retries < 32; retries++)
		jwt = issue_access_token(cfg, key, s, IAT);
	got = jwt != NULL ? payload_without_jti(jwt) : NULL;
	if (got == NULL || strcmp(got, ref) != 0 || !verifies(ring, jwt, s))
		broken++;
	free(got);
	free(jwt);
	snprintf(detail, sizeof(detail), "%ld allocations failed in turn: %ld clean failures, "
	    "%ld complete tokens, %ld incomplete; then %d refused signatures", n - 1, clean,
	    whole, broken, retries);
	tap(broken == 0 && n > 1, what, detail);
	free(ref);
}

/* Fails the 1st, 2nd, ... allocation of jsonapi_token_body. */
static void
inject_into_token_body(void)
{
	static const char jwt[] = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJmIn0.c2ln";
	static const char rt[] = "UVVlm4pE-Zv4kMwRWFahZBC-5RN7cepCEGfX6Be4uoA";
	static const char self[] = "https://shop.example/auth/refresh-tokens?a=%22b%22";
	char *ref, *got, detail[200];
	size_t rlen = 0, glen = 0;
	long clean = 0, whole = 0, broken = 0, n;

	ref = jsonapi_token_body("refresh-tokens", 600, jwt, rt, self, &rlen);
	if (ref == NULL || strstr(ref, jwt) == NULL || strstr(ref, rt) == NULL) {
		tap(0, "token document", "wrong without injected failures");
		free(ref);
		return;
	}
	for (n = 1;; n++) {
		alloc_count = 0;
		injected = 0;
		fail_at = n;
		armed = 1;
		got = jsonapi_token_body("refresh-tokens", 600, jwt, rt, self, &glen);
		armed = 0;
		if (injected == 0)
			break;
		if (got == NULL)
			clean++;
		else if (glen == rlen && strcmp(got, ref) == 0)
			whole++;
		else
			broken++;
		free(got);
	}
	if (got == NULL || strcmp(got, ref) != 0)
		broken++;
	free(got);
	free(ref);
	snprintf(detail, sizeof(detail), "%ld allocations failed in turn: %ld clean failures, "
	    "%ld complete documents, %ld incomplete", n - 1, clean, whole, broken);
	tap(broken == 0 && n > 1, "token document (jsonapi_token_body)", detail);
}

/* A parsed request body leaves the password in no freed block. */
static void
watch_request_body(void)
{
	/* longer than json-c's first buffers, so that they would grow */
	static const char pw[] = "Tr0ub4dor&3-correct-horse-battery-staple-"
	    "a-password-long-enough-to-outgrow-every-first-buffer-of-json-c";
	char body[512], detail[160];
	struct json_object *root;
	long plain, wiped;
	int n;

	n = snprintf(body, sizeof(body), "{\"data\":{\"type\":\"agent-access-tokens\","
	    "\"attributes\":{\"username\":\"agent@example.com\",\"password\":\"%s\"}}}", pw);
	watch = pw;
	watch_len = sizeof(pw) - 1;
	/* a plain put leaves it behind: the check sees it */
	watch_hits = 0;
	root = strict_parse(body, (size_t)n);
	json_object_put(root);
	plain = watch_hits;
	watch_hits = 0;
	root = strict_parse(body, (size_t)n);
	jx_put_wiped(root);
	wiped = watch_hits;
	watch = NULL;
	snprintf(detail, sizeof(detail), "%ld freed blocks held the password (%ld with a plain "
	    "json_object_put)", wiped, plain);
	tap(root != NULL && plain > 0 && wiped == 0,
	    "request body: strict_parse then jx_put_wiped", detail);
}

/* A token document leaves the tokens in no freed block but itself. */
static void
watch_token_body(void)
{
	static const char jwt[] = "eyJ0eXAiOiJKV1QifQ.eyJzZWNyZXQiOiJ5ZXMifQ.c2lnbmF0dXJl";
	char *doc, detail[160];
	size_t len = 0;

	watch = "eyJzZWNyZXQiOiJ5ZXMifQ";
	watch_len = strlen(watch);
	watch_hits = 0;
	doc = jsonapi_token_body("agent-access-tokens", 600, jwt,
	    "UVVlm4pE-Zv4kMwRWFahZBC-5RN7cepCEGfX6Be4uoA", "https://shop.example/auth", &len);
	if (doc != NULL) {
		explicit_bzero(doc, len);   /* as response_free does */
		free(doc);
	}
	watch = NULL;
	snprintf(detail, sizeof(detail), "%ld freed blocks held the access token", watch_hits);
	tap(doc != NULL && watch_hits == 0, "token document: jsonapi_token_body", detail);
}

/* A fresh RSA key for the run. */
static int
make_key(struct signing_key *key)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048);
	BIO *bio = BIO_new(BIO_s_mem());
	char err[160], *pem;
	long len;
	int rc = -1;

	if (pk != NULL && bio != NULL && PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0,
	    NULL, NULL) == 1 && (len = BIO_get_mem_data(bio, &pem)) > 0)
		rc = signing_key_from_pem(key, pem, (size_t)len, err, sizeof(err));
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return rc;
}

int
main(void)
{
	struct signing_key key;
	struct keyring ring = { .n = 1 };
	struct config cfg;
	struct session agent = { .agent_id = 7 };
	struct session imp = {
		.agent_id = 7, .customer_id = 21, .customer_reference = "DE--21",
		.exp_cap = IAT + 300,
	};

	log_set_level(LOG_LVL_ERROR);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (make_key(&key) < 0) {
		printf("not ok 1 - cannot make an RSA key\n");
		return 1;
	}
	ring.keys[0] = &key;
	memset(&cfg, 0, sizeof(cfg));
	cfg.audience = (char *)AUD;
	cfg.issuer = (char *)ISS;
	cfg.access_token_ttl = 600;
	printf("1..5\n");
	inject_into_issue("agent token (issue_access_token)", &cfg, &key, &ring, &agent);
	inject_into_issue("impersonation token with act (issue_access_token)", &cfg, &key,
	    &ring, &imp);
	inject_into_token_body();
	watch_request_body();
	watch_token_body();
	signing_key_free(&key);
	return failures == 0 ? 0 : 1;
}
