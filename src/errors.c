/* errors: the table of every error the API answers. */
#include "errors.h"

#include <stdio.h>
#include <string.h>

/* In the order of enum error_id; doc/api.md §10 has the same rows. */
static const struct error_entry table[ERR_COUNT] = {
	[ERR_URL_TOO_LONG] = { 400, NULL, "Request URL is too long." },
	[ERR_POST_DATA_INVALID] = { 400, NULL, "Post data is invalid." },
	[ERR_INVALID_TYPE] = { 400, NULL, "Invalid type." },
	[ERR_ID_NOT_SPECIFIED] = { 400, NULL, "Resource id is not specified." },
	[ERR_PAGINATION_INVALID] = { 400, NULL, "Pagination parameters are invalid." },
	[ERR_LOGIN_FAILED] = { 401, "4101", "Failed to authenticate an agent." },
	[ERR_REFRESH_FAILED] = { 401, "004", "Failed to refresh token." },
	[ERR_TOKEN_INVALID] = { 401, "001", "Invalid access token." },
	[ERR_AGENT_TOKEN_INVALID] = { 401, "4102", "Agent access token is invalid." },
	[ERR_AGENT_TOKEN_TOO_SOON] = { 401, "4102", "Agent access token expires too soon." },
	[ERR_AGENT_ONLY] = { 401, "4103", "Action is available to agent user only." },
	[ERR_IMPERSONATION_FAILED] = { 401, "4104", "Failed to impersonate a customer." },
	[ERR_TOKEN_MISSING] = { 403, "002", "Missing access token." },
	[ERR_NOT_FOUND] = { 404, NULL, "Not Found" },
	[ERR_METHOD_NOT_ALLOWED] = { 405, NULL, "Method Not Allowed" },
	[ERR_NOT_ACCEPTABLE] = { 406, NULL, "Not acceptable." },
	[ERR_BODY_TOO_LARGE] = { 413, NULL, "Request body is too large." },
	[ERR_UNSUPPORTED_MEDIA_TYPE] = { 415, NULL, "Unsupported media type." },
	[ERR_REFRESH_TOKEN_BLANK] = { 422, "901",
	    "refreshToken => This value should not be blank." },
	[ERR_REASON_BLANK] = { 422, "901", "reason => This value should not be blank." },
	[ERR_REASON_INVALID] = { 422, "901", "reason => This value is not valid." },
	[ERR_LOCKED_OUT] = { 429, "4401", "Too many log in attempts from your address. "
	    "Please wait %ld minutes before trying again." },
	[ERR_INTERNAL] = { 500, NULL, "Internal Server Error" },
	[ERR_SERVICE_UNAVAILABLE] = { 503, NULL, "Service temporarily unavailable." },
};

const struct error_entry *
errors_get(enum error_id e)
{
	return &table[e];
}

const char *
errors_detail(enum error_id e, long n, char *buf, size_t cap)
{
	const char *detail = table[e].detail, *at = strstr(detail, "%ld");

	/* the detail is never a format string: only "%ld" is replaced */
	if (at == NULL)
		snprintf(buf, cap, "%s", detail);
	else
		snprintf(buf, cap, "%.*s%ld%s", (int)(at - detail), detail, n, at + 3);
	return buf;
}
