/* errors: every error the API answers, in one table (status, code,
 * detail).  doc/api.md §10 lists the same rows; tests/unit/test_errors.c
 * holds the two together.  Handlers answer with exchange_fail(). */
#ifndef AGENTAUTH_ERRORS_H
#define AGENTAUTH_ERRORS_H

#include <stddef.h>

enum error_id {
	ERR_URL_TOO_LONG = 0,       /* 400 */
	ERR_POST_DATA_INVALID,      /* 400 */
	ERR_INVALID_TYPE,           /* 400 */
	ERR_ID_NOT_SPECIFIED,       /* 400 */
	ERR_PAGINATION_INVALID,     /* 400 */
	ERR_LOGIN_FAILED,           /* 401 4101 */
	ERR_REFRESH_FAILED,         /* 401 004 */
	ERR_TOKEN_INVALID,          /* 401 001 */
	ERR_AGENT_TOKEN_INVALID,    /* 401 4102 */
	ERR_AGENT_TOKEN_TOO_SOON,   /* 401 4102 */
	ERR_AGENT_ONLY,             /* 401 4103 */
	ERR_IMPERSONATION_FAILED,   /* 401 4104 */
	ERR_TOKEN_MISSING,          /* 403 002 */
	ERR_NOT_FOUND,              /* 404 */
	ERR_METHOD_NOT_ALLOWED,     /* 405 */
	ERR_NOT_ACCEPTABLE,         /* 406 */
	ERR_BODY_TOO_LARGE,         /* 413 */
	ERR_UNSUPPORTED_MEDIA_TYPE, /* 415 */
	ERR_REFRESH_TOKEN_BLANK,    /* 422 901 */
	ERR_REASON_BLANK,           /* 422 901 */
	ERR_REASON_INVALID,         /* 422 901 */
	ERR_LOCKED_OUT,             /* 429 4401, with the minutes of the block */
	ERR_INTERNAL,               /* 500 */
	ERR_SERVICE_UNAVAILABLE,    /* 503 */
	ERR_COUNT
};

struct error_entry {
	int status;
	const char *code;        /* NULL: the error object has no "code" */
	const char *detail;      /* at most one "%ld": a number the caller gives */
};

/* The entry of e (which must be below ERR_COUNT).  Borrowed (static). */
const struct error_entry *errors_get(enum error_id e);

/* e's detail into buf (cap bytes, always terminated), with n written in
 * place of its "%ld" if it has one.  Returns buf. */
const char *errors_detail(enum error_id e, long n, char *buf, size_t cap);

#endif
