/* Unit tests for src/errors.c: the table of every error the API answers
 * against doc/api.md §10 ("Every error of the service"), row for row, so
 * that the two cannot drift apart.  The document is read from the source
 * tree (SRCDIR, set by Makefile.am). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "errors.h"
#include "jsonapi.h"
#include "suites.h"

#ifndef SRCDIR
#error "SRCDIR must name the source tree (Makefile.am sets it)"
#endif

#define CATALOGUE_HEADING "## 10. Every error of the service"

/* The whole of doc/api.md, NUL-terminated; the caller frees it. */
static char *
read_api_md(void)
{
	FILE *f = fopen(SRCDIR "/doc/api.md", "r");
	char *text;
	long len;

	ck_assert_msg(f != NULL, "cannot open %s/doc/api.md", SRCDIR);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	ck_assert_int_gt(len, 0);
	rewind(f);
	text = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
	text[len] = '\0';
	fclose(f);
	return text;
}

/* One row of the catalogue: its first three columns. */
struct row {
	char http[16];      /* "401" */
	char code[16];      /* "4101", or "" for "–" */
	char body[512];     /* the exact body, without its backquotes */
};

/* Copies the cell text between backquotes, or all of it, into out. */
static void
cell(const char *s, size_t n, char *out, size_t cap)
{
	while (n > 0 && s[0] == ' ') {
		s++;
		n--;
	}
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n >= 2 && s[0] == '`' && s[n - 1] == '`') {
		s++;
		n -= 2;
	}
	ck_assert_msg(n < cap, "catalogue cell too long: %.*s", (int)n, s);
	memcpy(out, s, n);
	out[n] = '\0';
	if (strcmp(out, "–") == 0)
		out[0] = '\0';
}

/* Reads the rows of the table in §10 into rows (at most max); returns
 * their number. */
static size_t
catalogue_rows(const char *md, struct row *rows, size_t max)
{
	const char *p = strstr(md, CATALOGUE_HEADING), *end, *line, *bar[4];
	size_t n = 0;

	ck_assert_msg(p != NULL, "doc/api.md has no \"%s\"", CATALOGUE_HEADING);
	end = strstr(p + 1, "\n## ");
	if (end == NULL)
		end = p + strlen(p);
	for (line = p; line != NULL && line < end; line = strchr(line, '\n')) {
		line++;
		if (strncmp(line, "| ", 2) != 0 || strncmp(line, "| HTTP", 6) == 0)
			continue;   /* not a row, or the head */
		bar[0] = line;
		for (int i = 1; i < 4; i++) {
			bar[i] = strchr(bar[i - 1] + 1, '|');
			ck_assert_msg(bar[i] != NULL, "catalogue row with fewer than 3 columns");
		}
		ck_assert_uint_lt(n, max);
		cell(bar[0] + 1, (size_t)(bar[1] - bar[0] - 1), rows[n].http,
		    sizeof(rows[n].http));
		cell(bar[1] + 1, (size_t)(bar[2] - bar[1] - 1), rows[n].code,
		    sizeof(rows[n].code));
		cell(bar[2] + 1, (size_t)(bar[3] - bar[2] - 1), rows[n].body,
		    sizeof(rows[n].body));
		n++;
	}
	return n;
}

/* The number that the catalogue's detail holds where e's detail has
 * "%ld", or -1 if the two details differ elsewhere. */
static long
number_in(enum error_id e, const char *detail)
{
	const char *want = errors_get(e)->detail, *at = strstr(want, "%ld");
	size_t head, tail, len = strlen(detail), digits;

	if (at == NULL)
		return strcmp(want, detail) == 0 ? 0 : -1;
	head = (size_t)(at - want);
	tail = strlen(at + 3);
	if (len < head + tail + 1 || strncmp(detail, want, head) != 0 ||
	    strcmp(detail + len - tail, at + 3) != 0)
		return -1;
	digits = len - head - tail;
	if (strspn(detail + head, "0123456789") != digits || digits > 6)
		return -1;
	return strtol(detail + head, NULL, 10);
}

/* Every row of §10 is an entry of the table, answered byte for byte as the
 * row says; every entry of the table has its row. */
START_TEST(test_table_matches_catalogue)
{
	char *md = read_api_md();
	struct row rows[64];
	int seen[ERR_COUNT] = { 0 };
	size_t nrows = catalogue_rows(md, rows, 64);

	ck_assert_uint_ge(nrows, 10);
	for (size_t i = 0; i < nrows; i++) {
		struct json_object *doc = json_tokener_parse(rows[i].body), *errs, *err, *v;
		const char *code = NULL, *detail;
		char want_detail[256], *body;
		int status, found = 0;
		size_t len = 0;
		long num = 0;

		ck_assert_msg(doc != NULL, "§10 row %zu: the body is not JSON: %s", i + 1,
		    rows[i].body);
		ck_assert(json_object_object_get_ex(doc, "errors", &errs));
		ck_assert_uint_eq(json_object_array_length(errs), 1);
		err = json_object_array_get_idx(errs, 0);
		ck_assert(json_object_object_get_ex(err, "status", &v));
		status = json_object_get_int(v);
		ck_assert(json_object_object_get_ex(err, "detail", &v));
		detail = json_object_get_string(v);
		if (json_object_object_get_ex(err, "code", &v))
			code = json_object_get_string(v);
		/* the row's own columns agree with its body */
		ck_assert_int_eq(atoi(rows[i].http), status);
		ck_assert_str_eq(rows[i].code, code != NULL ? code : "");

		for (int e = 0; e < ERR_COUNT && !found; e++) {
			const struct error_entry *t = errors_get((enum error_id)e);
			if (t->status != status || (t->code == NULL) != (code == NULL) ||
			    (code != NULL && strcmp(t->code, code) != 0) ||
			    (num = number_in((enum error_id)e, detail)) < 0)
				continue;
			found = 1;
			seen[e] = 1;
			errors_detail((enum error_id)e, num, want_detail, sizeof(want_detail));
			body = jsonapi_error_body(t->status, t->code, want_detail, &len);
			ck_assert_ptr_nonnull(body);
			ck_assert_msg(strcmp(body, rows[i].body) == 0,
			    "§10 row %zu: the service answers %s, the catalogue says %s", i + 1,
			    body, rows[i].body);
			free(body);
		}
		ck_assert_msg(found, "§10 row %zu (%s) is no entry of src/errors.c", i + 1,
		    rows[i].body);
		json_object_put(doc);
	}
	for (int e = 0; e < ERR_COUNT; e++)
		ck_assert_msg(seen[e], "src/errors.c entry %d (%d \"%s\") is missing from "
		    "doc/api.md §10", e, errors_get((enum error_id)e)->status,
		    errors_get((enum error_id)e)->detail);
	free(md);
}
END_TEST

START_TEST(test_detail_number)
{
	char buf[256];

	ck_assert_str_eq(errors_detail(ERR_LOCKED_OUT, 6, buf, sizeof(buf)),
	    "Too many log in attempts from your address. Please wait 6 minutes before "
	    "trying again.");
	ck_assert_str_eq(errors_detail(ERR_NOT_FOUND, 6, buf, sizeof(buf)), "Not Found");
	/* a detail is never a printf format: only "%ld" is replaced */
	ck_assert_ptr_null(strchr(errors_detail(ERR_INTERNAL, 0, buf, sizeof(buf)), '%'));
	/* cut to fit, terminated */
	ck_assert_str_eq(errors_detail(ERR_NOT_FOUND, 0, buf, 4), "Not");
}
END_TEST

Suite *
errors_suite(void)
{
	Suite *s = suite_create("errors");
	TCase *tc = tcase_create("catalogue");

	tcase_add_test(tc, test_table_matches_catalogue);
	tcase_add_test(tc, test_detail_number);
	suite_add_tcase(s, tc);
	return s;
}
