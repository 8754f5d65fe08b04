/* exchange: the request context of the handlers. */
#include "exchange.h"

#include "jsonapi.h"

int
exchange_read_resource(struct exchange *x, const char *type, struct json_object **root_r,
    struct json_object **attributes_r)
{
	switch (jsonapi_parse_resource(x->req->body, x->req->body_len, type, root_r,
	    attributes_r)) {
	case JSONAPI_OK:
		return 0;
	case JSONAPI_BAD_TYPE:
		exchange_fail(x, ERR_INVALID_TYPE);
		return -1;
	default:
		exchange_fail(x, ERR_POST_DATA_INVALID);
		return -1;
	}
}

void
exchange_fail_n(struct exchange *x, enum error_id e, long n)
{
	const struct error_entry *t = errors_get(e);
	char detail[256];

	response_error(x->res, t->status, t->code, errors_detail(e, n, detail, sizeof(detail)));
}

void
exchange_fail(struct exchange *x, enum error_id e)
{
	exchange_fail_n(x, e, 0);
}
