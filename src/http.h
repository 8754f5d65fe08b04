/* http: the request as the web server describes it (CGI/FastCGI params),
 * content negotiation, and the response we send back.
 *
 * A request borrows every string from the parameter array it was built
 * from; the body is owned by the request.  A response owns its body. */
#ifndef AGENTAUTH_HTTP_H
#define AGENTAUTH_HTTP_H

#include <stddef.h>

#define MEDIA_JSONAPI "application/vnd.api+json"
#define MEDIA_JSON "application/json"

/* X-Forwarded-For values kept by request_init: the last ones, and of them
 * only the right-most bytes (the left part is what clients write). */
#define REQUEST_FORWARDED_MAX 16
#define REQUEST_FORWARDED_BYTES 8192

struct request {
	const char *method;
	const char *script_name;
	const char *path_info;
	const char *document_uri;
	const char *query;              /* "" when absent */
	const char *content_type;       /* NULL when absent */
	const char *content_length;     /* NULL when absent */
	const char *accept;             /* NULL when absent */
	const char *authorization;      /* HTTP_AUTHORIZATION or NULL */
	const char *agent_authorization;/* HTTP_X_AGENT_AUTHORIZATION or NULL */
	const char *remote_addr;
	const char *forwarded_for[REQUEST_FORWARDED_MAX]; /* HTTP_X_FORWARDED_FOR
	                                   values in the order passed, bounded
	                                   (request_init) */
	size_t forwarded_for_n;
	const char *https;
	const char *request_scheme;
	const char *http_host;
	const char *server_name;
	const char *server_port;
	char *body;                     /* owned, NUL-terminated; NULL if none */
	size_t body_len;
	int body_status;                /* 0, 400/413 from http_body_status(),
	                                   or 503 when it could not be read */
};

#define RESPONSE_HEADERS_MAX 1024

struct response {
	int status;
	const char *content_type;       /* static string, or NULL for no body */
	char headers[RESPONSE_HEADERS_MAX]; /* extra "Name: value\r\n" lines */
	size_t headers_len;
	char *body;                     /* owned, malloc'd */
	size_t body_len;
	int secret;                     /* the body carries bearer tokens: the
	                                   server wipes it from libfcgi's buffer */
};

/* Looks name up in a NULL-terminated "NAME=value" array.  Borrowed. */
const char *http_param(char *const *envp, const char *name);

/* Fills req from FastCGI params; no body yet.  Every HTTP_X_FORWARDED_FOR
 * param is kept, in order: nginx passes one per header line, Apache one
 * with the lines joined by ", ".  Bounded from the left, which only the
 * client writes: the last REQUEST_FORWARDED_MAX values, and of those the
 * right-most REQUEST_FORWARDED_BYTES bytes, cut after a ',' so that no
 * part of an address is left (a value is dropped when no whole hop of it
 * fits). */
void request_init(struct request *req, char *const *envp);

/* Frees the body (wiping it first: it may hold a password). */
void request_free(struct request *req);

/* Checks the declared CONTENT_LENGTH against the bytes received (received
 * may be max + 1 when more arrived than allowed).  Returns 0 if they agree,
 * 413 if the body is over max, 400 for a bad or mismatching length. */
int http_body_status(const char *content_length, size_t received, size_t max);

/* 1 if a request with this Content-Type may carry a JSON body (absent or
 * empty, application/json or application/vnd.api+json, optional
 * charset=utf-8), else 0. */
int http_content_type_ok(const char *content_type);

/* 1 if the Accept header admits a JSON response, else 0. */
int http_accept_ok(const char *accept);

/* Writes the absolute URL prefix for links into out: the origin (base_url
 * if set, else scheme://host[:port] of the request) followed by the mount
 * point.  Returns 0, or -1 if out is too small. */
int http_base_url(const struct request *req, const char *base_url,
    const char *mount, size_t mount_len, char *out, size_t outlen);

/* Appends text to url (size outlen) with bytes that are not printable
 * ASCII, '"' and '\\' percent-encoded.  Returns 0, or -1 with url
 * unchanged when the result would not fit. */
int http_append_encoded(char *url, size_t outlen, const char *text);

/* Appends "?query" to url (size outlen) if the request had a query string,
 * percent-encoding bytes that are not printable ASCII.  Returns 0, or -1
 * with url unchanged when the result would not fit. */
int http_append_query(char *url, size_t outlen, const char *query);

/* Looks up the query parameter name (compared after percent-decoding) and
 * writes its decoded value ('+' as space) into out.  Returns 1 if present,
 * 0 if absent, -1 if the value does not fit or decodes to a NUL byte.  out
 * is "" unless 1 is returned. */
int http_query_get(const char *query, const char *name, char *out, size_t outlen);

/* Appends to out (size outlen) the raw "k=v" pairs of query whose decoded
 * name is not one of skip[0..nskip), joined by '&'.  Returns 0 or -1. */
int http_query_without(const char *query, const char *const *skip, size_t nskip,
    char *out, size_t outlen);

const char *http_status_text(int status);

void response_init(struct response *res);
void response_free(struct response *res);

/* Adds a header line.  Returns 0, or -1 if it does not fit. */
int response_add_header(struct response *res, const char *name, const char *value);

/* Sets status and a JSON body; takes ownership of body (NULL = out of
 * memory, turned into a 500 without body). */
void response_set_json(struct response *res, int status, const char *content_type,
    char *body, size_t len);

/* Sets a JSON:API error document; code may be NULL. */
void response_error(struct response *res, int status, const char *code,
    const char *detail);

/* Writes the CGI response head (Status, Content-Type, Content-Length, extra
 * headers, blank line) into buf.  Returns its length, or -1 if too long. */
int response_head(const struct response *res, char *buf, size_t buflen);

#endif
