/* verify: strict JWT checking for RS256, ES256 and EdDSA tokens. */
#include "verify.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "encode.h"
#include "strict.h"

#define FAIL(msg) do { *why_r = (msg); goto out; } while (0)

/* Decodes a base64url segment and parses it as strict JSON. */
static struct json_object *
segment_json(const char *seg, size_t n)
{
	unsigned char *buf = malloc(n + 1);
	struct json_object *o = NULL;
	long len;

	if (buf == NULL)
		return NULL;
	len = b64url_decode(buf, n, seg, n);
	if (len > 0) {
		buf[len] = '\0';
		o = strict_parse((char *)buf, (size_t)len);
	}
	free(buf);
	return o;
}

static int
is_string(struct json_object *o, const char *want)
{
	return json_object_is_type(o, json_type_string) &&
	    strlen(want) == (size_t)json_object_get_string_len(o) &&
	    strcmp(json_object_get_string(o), want) == 0;
}

/* An integer claim in a sane range (json-c clamps huge numbers). */
static int
int_claim(struct json_object *claims, const char *name, long long *v_r)
{
	struct json_object *v;

	if (!json_object_object_get_ex(claims, name, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	*v_r = json_object_get_int64(v);
	return *v_r > 0 && *v_r < (1LL << 40);
}

/* The algorithm that alg names, exactly: "RS256", "ES256" or "EdDSA";
 * 0 for anything else. */
static enum token_alg
header_alg(struct json_object *alg)
{
	static const enum token_alg algs[] = { TOKEN_RS256, TOKEN_ES256, TOKEN_EDDSA };

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (is_string(alg, token_alg_name(algs[i])))
			return algs[i];
	return 0;
}

/* Checks the header.  Returns its algorithm, which some key of the ring
 * has, and sets *key_r to the key that kid names (which has that
 * algorithm), or to NULL for a header without kid; or returns 0 with
 * *why_r set. */
static enum token_alg
header_check(const struct keyring *ring, struct json_object *h,
    const struct signing_key **key_r, const char **why_r)
{
	struct json_object *v;
	enum token_alg alg;

	*key_r = NULL;
	if (!json_object_is_type(h, json_type_object)) {
		*why_r = "header is not an object";
		return 0;
	}
	json_object_object_foreach(h, key, val) {
		(void)val;
		if (strcmp(key, "alg") != 0 && strcmp(key, "typ") != 0 &&
		    strcmp(key, "kid") != 0) {
			*why_r = "header has a member other than alg, typ and kid";
			return 0;
		}
	}
	if (!json_object_object_get_ex(h, "alg", &v) || (alg = header_alg(v)) == 0) {
		*why_r = "alg is not RS256, ES256 or EdDSA";
		return 0;
	}
	if (!json_object_object_get_ex(h, "typ", &v) || !is_string(v, "JWT")) {
		*why_r = "typ is not JWT";
		return 0;
	}
	if (json_object_object_get_ex(h, "kid", &v)) {
		for (size_t i = 0; i < ring->n && *key_r == NULL; i++)
			if (is_string(v, ring->keys[i]->kid))
				*key_r = ring->keys[i];
		if (*key_r == NULL) {
			*why_r = "unknown kid";
			return 0;
		}
		/* the key decides the algorithm; the header must agree */
		if ((*key_r)->alg != alg) {
			*why_r = "alg is not the algorithm of the kid's key";
			return 0;
		}
		return alg;
	}
	for (size_t i = 0; i < ring->n; i++)
		if (ring->keys[i]->alg == alg)
			return alg;
	*why_r = "no key for alg";
	return 0;
}

static int
has_scope(struct json_object *scopes, const char *want)
{
	size_t n = json_object_array_length(scopes);

	for (size_t i = 0; i < n; i++)
		if (is_string(json_object_array_get_idx(scopes, i), want))
			return 1;
	return 0;
}

/* An agent token's subject: sub.id_agent, an integer above 0. */
static int
agent_subject(struct json_object *doc, struct token_info *info, const char **why_r)
{
	struct json_object *v;

	if (!json_object_object_get_ex(doc, "id_agent", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0) {
		*why_r = "agent token without id_agent";
		return -1;
	}
	info->kind = TOKEN_AGENT;
	info->agent_id = json_object_get_int64(v);
	return 0;
}

/* A customer token's subject: sub.id_customer (an integer above 0) and
 * sub.customer_reference, and the acting agent of an "act" claim
 * ("agent:<id>"), which an impersonation token must have. */
static int
customer_subject(struct json_object *claims, struct json_object *doc,
    struct json_object *scopes, struct token_info *info, const char **why_r)
{
	struct json_object *v, *act;
	const char *a;
	char *end;

	info->kind = TOKEN_CUSTOMER;
	info->impersonation = has_scope(scopes, "customer_impersonation");
	if (!json_object_object_get_ex(doc, "id_customer", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0) {
		*why_r = "customer token without id_customer";
		return -1;
	}
	info->customer_id = json_object_get_int64(v);
	if (json_object_object_get_ex(doc, "customer_reference", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) < sizeof(info->customer_reference))
		memcpy(info->customer_reference, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v) + 1);
	if (json_object_object_get_ex(claims, "act", &act)) {
		if (!json_object_object_get_ex(act, "sub", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    strncmp(a = json_object_get_string(v), "agent:", 6) != 0 ||
		    a[6] < '1' || a[6] > '9' || strlen(a + 6) > 18 ||
		    (info->agent_id = strtoll(a + 6, &end, 10)) <= 0 || *end != '\0') {
			*why_r = "act.sub is not agent:<id>";
			return -1;
		}
	}
	if (info->impersonation && info->agent_id == 0) {
		*why_r = "impersonation token without act";
		return -1;
	}
	return 0;
}

/* Reads the sub claim (a JSON document in a string) and the scopes, and
 * hands them to the subject of the token's kind.  Returns 0 or -1. */
static int
subject(struct json_object *claims, struct token_info *info, const char **why_r)
{
	struct json_object *sub, *scopes, *doc;
	size_t n;
	int rc = -1;

	if (!json_object_object_get_ex(claims, "sub", &sub) ||
	    !json_object_is_type(sub, json_type_string) ||
	    !json_object_object_get_ex(claims, "scopes", &scopes) ||
	    !json_object_is_type(scopes, json_type_array)) {
		*why_r = "sub or scopes missing";
		return -1;
	}
	n = json_object_array_length(scopes);
	for (size_t i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(scopes, i), json_type_string)) {
			*why_r = "scopes is not a list of strings";
			return -1;
		}
	doc = strict_parse(json_object_get_string(sub),
	    (size_t)json_object_get_string_len(sub));
	if (doc == NULL || !json_object_is_type(doc, json_type_object))
		*why_r = "sub is not a JSON object";
	else if (n == 1 && has_scope(scopes, "agent"))
		rc = agent_subject(doc, info, why_r);
	else if (has_scope(scopes, "customer") && !has_scope(scopes, "agent"))
		rc = customer_subject(claims, doc, scopes, info, why_r);
	else
		*why_r = "unknown token kind";
	json_object_put(doc);
	return rc;
}

int
token_verify(const struct verify_params *p, const char *token, size_t len,
    struct token_info *info, const char **why_r)
{
	struct json_object *header = NULL, *claims = NULL, *v;
	const struct signing_key *key;
	const char *d1, *d2;
	unsigned char sig[1024];
	long siglen;
	long long nbf;
	enum token_alg alg;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	*why_r = "invalid";
	if (len == 0 || len > TOKEN_MAX_BYTES)
		FAIL(len == 0 ? "empty token" : "token longer than 8 KiB");
	if (memchr(token, '\0', len) != NULL)
		FAIL("NUL in token");
	d1 = memchr(token, '.', len);
	d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (d1 == NULL || d2 == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
		FAIL("not three segments");
	header = segment_json(token, (size_t)(d1 - token));
	if (header == NULL)
		FAIL("header is not base64url JSON");
	alg = header_check(p->keys, header, &key, why_r);
	if (alg == 0)
		goto out;
	siglen = b64url_decode(sig, sizeof(sig), d2 + 1, len - (size_t)(d2 + 1 - token));
	if (siglen <= 0)
		FAIL("signature is not base64url");
	if (key == NULL) {
		/* no kid: any configured key of the header's algorithm, and only
		 * those, may have signed it */
		size_t i;
		for (i = 0; i < p->keys->n; i++)
			if (p->keys->keys[i]->alg == alg &&
			    signing_key_verify(p->keys->keys[i], token, (size_t)(d2 - token), sig,
			    (size_t)siglen))
				break;
		if (i == p->keys->n)
			FAIL("bad signature");
	} else if (!signing_key_verify(key, token, (size_t)(d2 - token), sig, (size_t)siglen)) {
		FAIL("bad signature");
	}
	claims = segment_json(d1 + 1, (size_t)(d2 - d1 - 1));
	if (claims == NULL || !json_object_is_type(claims, json_type_object))
		FAIL("claims are not a JSON object");
	if (!int_claim(claims, "exp", &info->exp) || !int_claim(claims, "iat", &info->iat))
		FAIL("exp or iat missing or not an integer");
	if (p->now >= info->exp + p->skew)
		FAIL("expired");
	if (info->iat > p->now + p->skew)
		FAIL("issued in the future");
	if (json_object_object_get_ex(claims, "nbf", &v)) {
		if (!int_claim(claims, "nbf", &nbf))
			FAIL("nbf not an integer");
		if (nbf > p->now + p->skew)
			FAIL("not yet valid");
	}
	if (!json_object_object_get_ex(claims, "aud", &v) || !is_string(v, p->aud))
		FAIL("wrong audience");
	if (p->iss != NULL && p->iss[0] != '\0' &&
	    (!json_object_object_get_ex(claims, "iss", &v) || !is_string(v, p->iss)))
		FAIL("wrong issuer");
	if (!json_object_object_get_ex(claims, "jti", &v) ||
	    !json_object_is_type(v, json_type_string))
		FAIL("jti missing");
	if (json_object_object_get_ex(claims, "sid", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) != SESSION_ID_LEN ||
		    strspn(json_object_get_string(v), "0123456789abcdef-") != SESSION_ID_LEN)
			FAIL("sid not a session id");
		memcpy(info->sid, json_object_get_string(v), SESSION_ID_LEN + 1);
	}
	if (subject(claims, info, why_r) < 0)
		goto out;
	rc = 0;
out:
	json_object_put(header);
	json_object_put(claims);
	if (rc < 0)
		memset(info, 0, sizeof(*info));
	return rc;
}
