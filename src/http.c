/* http: request parameters, negotiation and response framing. */
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encode.h"
#include "jsonapi.h"

const char *
http_param(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* The HTTP_X_FORWARDED_FOR values of envp into req, bounded as
 * request_init says. */
static void
request_forwarded_for(struct request *req, char *const *envp)
{
	static const char name[] = "HTTP_X_FORWARDED_FOR=";
	const size_t nlen = sizeof(name) - 1;
	size_t total = 0, skip, n = 0, first, budget = REQUEST_FORWARDED_BYTES;

	for (char *const *e = envp; e != NULL && *e != NULL; e++)
		if (strncmp(*e, name, nlen) == 0)
			total++;
	skip = total > REQUEST_FORWARDED_MAX ? total - REQUEST_FORWARDED_MAX : 0;
	for (char *const *e = envp; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, name, nlen) != 0)
			continue;
		if (skip > 0)
			skip--;
		else
			req->forwarded_for[n++] = *e + nlen;
	}
	/* from the right, whole values while they fit, then the whole hops of
	 * the last bytes of the value that does not */
	for (first = n; first > 0; first--) {
		const char *v = req->forwarded_for[first - 1], *p;
		size_t len = strlen(v);

		if (len <= budget) {
			budget -= len;
			continue;
		}
		p = v + len - budget;   /* budget < len: p > v */
		if (p[-1] != ',' && (p = strchr(p, ',')) != NULL)
			p++;
		if (p != NULL && *p != '\0') {
			req->forwarded_for[first - 1] = p;
			first--;
		}
		break;
	}
	if (first > 0)
		memmove(req->forwarded_for, req->forwarded_for + first,
		    (n - first) * sizeof(req->forwarded_for[0]));
	req->forwarded_for_n = n - first;
}

void
request_init(struct request *req, char *const *envp)
{
	memset(req, 0, sizeof(*req));
	req->method = http_param(envp, "REQUEST_METHOD");
	if (req->method == NULL)
		req->method = "GET";
	req->script_name = http_param(envp, "SCRIPT_NAME");
	req->path_info = http_param(envp, "PATH_INFO");
	req->document_uri = http_param(envp, "DOCUMENT_URI");
	req->query = http_param(envp, "QUERY_STRING");
	if (req->query == NULL)
		req->query = "";
	req->content_type = http_param(envp, "CONTENT_TYPE");
	req->content_length = http_param(envp, "CONTENT_LENGTH");
	req->accept = http_param(envp, "HTTP_ACCEPT");
	req->authorization = http_param(envp, "HTTP_AUTHORIZATION");
	req->agent_authorization = http_param(envp, "HTTP_X_AGENT_AUTHORIZATION");
	req->remote_addr = http_param(envp, "REMOTE_ADDR");
	request_forwarded_for(req, envp);
	req->https = http_param(envp, "HTTPS");
	req->request_scheme = http_param(envp, "REQUEST_SCHEME");
	req->http_host = http_param(envp, "HTTP_HOST");
	req->server_name = http_param(envp, "SERVER_NAME");
	req->server_port = http_param(envp, "SERVER_PORT");
}

void
request_free(struct request *req)
{
	if (req->body != NULL) {
		explicit_bzero(req->body, req->body_len);
		free(req->body);
	}
	req->body = NULL;
	req->body_len = 0;
}

int
http_body_status(const char *content_length, size_t received, size_t max)
{
	unsigned long long v = 0;

	if (received > max)
		return 413;
	if (content_length == NULL || content_length[0] == '\0')
		return received == 0 ? 0 : 400;
	for (const char *p = content_length; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return 400;
		if (v > max)  /* keeps v small; the exact value no longer matters */
			return 413;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > max)
		return 413;
	return v == received ? 0 : 400;
}

/* Skips optional white space. */
static const char *
ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Compares the media type at p (up to ';', ',' or end, trailing space
 * ignored) with want, ignoring case.  *end_r gets the end of the type. */
static int
media_is(const char *p, const char *want, const char **end_r)
{
	const char *e = p;
	size_t n;

	while (*e != '\0' && *e != ';' && *e != ',')
		e++;
	*end_r = e;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - p);
	return n == strlen(want) && strncasecmp(p, want, n) == 0;
}

int
http_content_type_ok(const char *ct)
{
	const char *p, *end;

	/* Debian's fastcgi_params sends CONTENT_TYPE empty when the header is
	 * absent, so empty means absent. */
	if (ct == NULL || *ows(ct) == '\0')
		return 1;
	p = ows(ct);
	if (!media_is(p, MEDIA_JSON, &end) && !media_is(p, MEDIA_JSONAPI, &end))
		return 0;
	p = end;
	while (*p == ';') {
		const char *v;
		p = ows(p + 1);
		if (strncasecmp(p, "charset", 7) != 0)
			return 0;
		v = ows(p + 7);
		if (*v != '=')
			return 0;
		v = ows(v + 1);
		if (*v == '"') {
			if (strncasecmp(v, "\"utf-8\"", 7) != 0)
				return 0;
			v += 7;
		} else {
			if (strncasecmp(v, "utf-8", 5) != 0)
				return 0;
			v += 5;
		}
		p = ows(v);
	}
	return *p == '\0';
}

/* Checks one media range of an Accept header, range[0..len). */
static int
accept_range_ok(const char *range, size_t len)
{
	static const char *const ok[] = {
		"*/*", "application/*", MEDIA_JSON, MEDIA_JSONAPI,
	};
	char buf[256], *type, *param, *save = NULL;
	int is_jsonapi, match = 0;

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, range, len);
	buf[len] = '\0';
	type = strtok_r(buf, ";", &save);
	if (type == NULL)
		return 0;
	type = (char *)ows(type);
	for (char *e = type + strlen(type); e > type && (e[-1] == ' ' || e[-1] == '\t');)
		*--e = '\0';
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcasecmp(type, ok[i]) == 0)
			match = 1;
	if (!match)
		return 0;
	is_jsonapi = strcasecmp(type, MEDIA_JSONAPI) == 0;
	while ((param = strtok_r(NULL, ";", &save)) != NULL) {
		param = (char *)ows(param);
		if (strncasecmp(param, "q=", 2) == 0) {
			if (strtod(param + 2, NULL) <= 0.0)
				return 0;
		} else if (is_jsonapi) {
			/* JSON:API: a media type with parameters is not ours */
			return 0;
		}
	}
	return 1;
}

int
http_accept_ok(const char *accept)
{
	const char *p = accept;

	if (accept == NULL || *ows(accept) == '\0')
		return 1;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if (accept_range_ok(p, len))
			return 1;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/* Host names we are willing to echo into links: letters, digits, '.', '-',
 * ':' and IPv6 brackets.  Anything else falls back to SERVER_NAME. */
static int
host_ok(const char *h)
{
	if (h == NULL || *h == '\0' || strlen(h) > 255)
		return 0;
	for (; *h != '\0'; h++)
		if (!isalnum((unsigned char)*h) && strchr(".-:[]", *h) == NULL)
			return 0;
	return 1;
}

static int
host_has_port(const char *host)
{
	const char *close = strchr(host, ']');

	if (host[0] == '[')
		return close != NULL && close[1] == ':';
	return strchr(host, ':') != NULL;
}

int
http_base_url(const struct request *req, const char *base_url,
    const char *mount, size_t mount_len, char *out, size_t outlen)
{
	const char *scheme, *host, *port = req->server_port;
	char portpart[16] = "";
	int n;

	if (base_url != NULL && base_url[0] != '\0') {
		size_t bl = strlen(base_url);
		while (bl > 0 && base_url[bl - 1] == '/')
			bl--;
		n = snprintf(out, outlen, "%.*s%.*s", (int)bl, base_url, (int)mount_len, mount);
		return n < 0 || (size_t)n >= outlen ? -1 : 0;
	}
	if (req->https != NULL && (strcasecmp(req->https, "on") == 0 ||
	    strcmp(req->https, "1") == 0))
		scheme = "https";
	else if (req->request_scheme != NULL && strcasecmp(req->request_scheme, "https") == 0)
		scheme = "https";
	else
		scheme = "http";
	host = host_ok(req->http_host) ? req->http_host :
	    host_ok(req->server_name) ? req->server_name : "localhost";
	/* Debian's nginx passes the host without its port: add a non-default
	 * port unless the host already names one. */
	if (port != NULL && *port != '\0' && strspn(port, "0123456789") == strlen(port) &&
	    strcmp(port, strcmp(scheme, "https") == 0 ? "443" : "80") != 0 &&
	    !host_has_port(host))
		snprintf(portpart, sizeof(portpart), ":%.6s", port);
	n = snprintf(out, outlen, "%s://%s%s%.*s", scheme, host, portpart,
	    (int)mount_len, mount);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
http_append_query(char *url, size_t outlen, const char *query)
{
	size_t start = strlen(url);

	if (query == NULL || *query == '\0')
		return 0;
	if (start + 1 >= outlen)
		return -1;
	url[start] = '?';
	url[start + 1] = '\0';
	if (http_append_encoded(url, outlen, query) < 0) {
		url[start] = '\0';
		return -1;
	}
	return 0;
}

int
http_append_encoded(char *url, size_t outlen, const char *text)
{
	size_t start = strlen(url), o = start;

	for (const unsigned char *q = (const unsigned char *)text; *q != '\0'; q++) {
		if (*q > 0x20 && *q < 0x7f && *q != '"' && *q != '\\') {
			if (o + 1 >= outlen)
				goto too_long;
			url[o++] = (char)*q;
		} else {
			if (o + 3 >= outlen)
				goto too_long;
			url[o++] = '%';
			hex_byte(url + o, *q, 1);
			o += 2;
		}
	}
	url[o] = '\0';
	return 0;
too_long:
	url[start] = '\0';
	return -1;
}

/* Percent-decodes s[0..n) ('+' as space) into out.  Returns the length, or
 * -1 if it does not fit or holds a NUL. */
static long
url_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n &&
		    hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
			c = (char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]));
			i += 2;
		}
		if (c == '\0' || o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

/* Calls fn for each "k=v" pair of query with its decoded name. */
static int
query_each(const char *query, int (*fn)(const char *pair, size_t len, const char *name,
    void *arg), void *arg)
{
	const char *p = query;

	while (p != NULL && *p != '\0') {
		const char *amp = strchr(p, '&');
		size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		char name[256];
		int r;

		if (len > 0) {
			/* a name too long or undecodable is nobody's parameter */
			if (url_decode(p, eq != NULL ? (size_t)(eq - p) : len, name,
			    sizeof(name)) < 0)
				name[0] = '\0';
			r = fn(p, len, name, arg);
			if (r != 0)
				return r;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return 0;
}

struct query_get {
	const char *name;
	char *out;
	size_t outlen;
};

static int
query_get_one(const char *pair, size_t len, const char *name, void *arg)
{
	struct query_get *q = arg;
	const char *eq = memchr(pair, '=', len);

	if (strcmp(name, q->name) != 0)
		return 0;
	if (eq == NULL) {
		q->out[0] = '\0';
		return 1;
	}
	return url_decode(eq + 1, len - (size_t)(eq + 1 - pair), q->out, q->outlen) < 0 ? -1 : 1;
}

int
http_query_get(const char *query, const char *name, char *out, size_t outlen)
{
	struct query_get q = { name, out, outlen };
	int r;

	out[0] = '\0';
	r = query_each(query, query_get_one, &q);
	if (r < 0)
		out[0] = '\0';   /* not a half-decoded value without its NUL */
	return r;
}

struct query_without {
	const char *const *skip;
	size_t nskip;
	char *out;
	size_t outlen, o;
};

static int
query_keep(const char *pair, size_t len, const char *name, void *arg)
{
	struct query_without *q = arg;

	for (size_t i = 0; i < q->nskip; i++)
		if (strcmp(name, q->skip[i]) == 0)
			return 0;
	if (q->o + (q->o > 0) + len + 1 > q->outlen)
		return -1;
	if (q->o > 0)
		q->out[q->o++] = '&';
	memcpy(q->out + q->o, pair, len);
	q->o += len;
	q->out[q->o] = '\0';
	return 0;
}

int
http_query_without(const char *query, const char *const *skip, size_t nskip,
    char *out, size_t outlen)
{
	struct query_without q = { skip, nskip, out, outlen, 0 };

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	return query_each(query, query_keep, &q) < 0 ? -1 : 0;
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

void
response_init(struct response *res)
{
	memset(res, 0, sizeof(*res));
	res->status = 500;
}

void
response_free(struct response *res)
{
	/* token responses carry bearer secrets */
	if (res->body != NULL)
		explicit_bzero(res->body, res->body_len);
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
}

int
response_add_header(struct response *res, const char *name, const char *value)
{
	size_t room = sizeof(res->headers) - res->headers_len;
	int n;

	/* a value with CR or LF would split the response */
	if (strpbrk(value, "\r\n") != NULL)
		return -1;
	n = snprintf(res->headers + res->headers_len, room, "%s: %s\r\n", name, value);
	if (n < 0 || (size_t)n >= room) {
		res->headers[res->headers_len] = '\0';
		return -1;
	}
	res->headers_len += (size_t)n;
	return 0;
}

void
response_set_json(struct response *res, int status, const char *content_type,
    char *body, size_t len)
{
	free(res->body);
	if (body == NULL) {
		res->status = 500;
		res->content_type = NULL;
		res->body = NULL;
		res->body_len = 0;
		return;
	}
	res->status = status;
	res->content_type = content_type;
	res->body = body;
	res->body_len = len;
}

void
response_error(struct response *res, int status, const char *code, const char *detail)
{
	size_t len = 0;
	char *body = jsonapi_error_body(status, code, detail, &len);

	response_set_json(res, status, MEDIA_JSONAPI, body, len);
}

int
response_head(const struct response *res, char *buf, size_t buflen)
{
	int n;

	if (res->content_type != NULL)
		n = snprintf(buf, buflen,
		    "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %lu\r\n%s\r\n",
		    res->status, http_status_text(res->status), res->content_type,
		    (unsigned long)res->body_len, res->headers);
	else
		n = snprintf(buf, buflen, "Status: %d %s\r\nContent-Length: 0\r\n%s\r\n",
		    res->status, http_status_text(res->status), res->headers);
	return n < 0 || (size_t)n >= buflen ? -1 : n;
}
