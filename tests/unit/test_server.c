/* Unit tests for src/server.c: wiping secrets in libfcgi's buffers, with
 * the real libfcgi serving a real FastCGI request over a Unix socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "server.h"
#include "suites.h"

#define BEARER "Bearer eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl"
#define BODY1 "{\"data\":{\"attributes\":{\"password\":"
#define BODY2 "\"correct horse battery staple\"}}}"

struct conn {
	char dir[64];
	char path[128];
	int listen_fd;
	int client_fd;
	FCGX_Request fr;
};

/* Appends a FastCGI record of type with content[0..n), padded to 8. */
static size_t
record(unsigned char *out, size_t pos, int type, const void *content, size_t n)
{
	size_t pad = (8 - n % 8) % 8;
	unsigned char h[8] = { 1, (unsigned char)type, 0, 1, (unsigned char)(n >> 8),
	    (unsigned char)(n & 255), (unsigned char)pad, 0 };

	memcpy(out + pos, h, 8);
	memcpy(out + pos + 8, content, n);
	memset(out + pos + 8 + n, 0, pad);
	return pos + 8 + n + pad;
}

/* Appends a name-value pair (both shorter than 128 bytes). */
static size_t
pair(unsigned char *out, size_t pos, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	out[pos] = (unsigned char)nl;
	out[pos + 1] = (unsigned char)vl;
	memcpy(out + pos + 2, name, nl);
	memcpy(out + pos + 2 + nl, value, vl);
	return pos + 2 + nl + vl;
}

/* Sends a POST with an Authorization header and the body in nparts stdin
 * records (BODY1, BODY2), then accepts it with libfcgi. */
static void
conn_open(struct conn *c, int nparts)
{
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	struct sockaddr_un sa;
	unsigned char params[512], msg[2048];
	char len[16];
	size_t np = 0, n = 0;

	strcpy(c->dir, "/tmp/agentauth-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(c->dir));
	snprintf(c->path, sizeof(c->path), "%s/s", c->dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, c->path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(c->listen_fd, 0);
	ck_assert_int_eq(bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(c->listen_fd, 4), 0);
	c->client_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(c->client_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);

	snprintf(len, sizeof(len), "%zu", strlen(BODY1 BODY2));
	np = pair(params, np, "REQUEST_METHOD", "POST");
	np = pair(params, np, "CONTENT_LENGTH", len);
	np = pair(params, np, "HTTP_AUTHORIZATION", BEARER);
	n = record(msg, n, 1, begin, sizeof(begin));
	n = record(msg, n, 4, params, np);
	n = record(msg, n, 4, "", 0);
	if (nparts == 1) {
		n = record(msg, n, 5, BODY1 BODY2, strlen(BODY1 BODY2));
	} else {
		n = record(msg, n, 5, BODY1, strlen(BODY1));
		n = record(msg, n, 5, BODY2, strlen(BODY2));
	}
	n = record(msg, n, 5, "", 0);
	ck_assert_int_eq(write(c->client_fd, msg, n), (ssize_t)n);

	ck_assert_int_eq(FCGX_Init(), 0);
	ck_assert_int_eq(FCGX_InitRequest(&c->fr, c->listen_fd, 0), 0);
	ck_assert_int_eq(FCGX_Accept_r(&c->fr), 0);
}

static void
conn_close(struct conn *c)
{
	FCGX_Finish_r(&c->fr);
	FCGX_Free(&c->fr, 1);
	close(c->client_fd);
	close(c->listen_fd);
	unlink(c->path);
	rmdir(c->dir);
}

static int
all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

START_TEST(test_read_stdin_wipes_libfcgi_buffer)
{
	struct conn c;
	char buf[256];
	size_t n = strlen(BODY1 BODY2);

	conn_open(&c, 1);
	/* exactly the body: the bytes just before rdNext are its copy */
	ck_assert_uint_eq(server_read_stdin(c.fr.in, buf, n), n);
	ck_assert_mem_eq(buf, BODY1 BODY2, n);
	ck_assert_msg(all_zero(c.fr.in->rdNext - n, n), "the body is still in libfcgi's buffer");
	ck_assert_uint_eq(server_read_stdin(c.fr.in, buf, sizeof(buf)), 0);
	conn_close(&c);
}
END_TEST

START_TEST(test_read_stdin_across_records)
{
	struct conn c;
	char buf[256];
	size_t n = strlen(BODY1 BODY2), n2 = strlen(BODY2);

	conn_open(&c, 2);
	/* the second record is reached through FCGX_GetChar's refill */
	ck_assert_uint_eq(server_read_stdin(c.fr.in, buf, n), n);
	ck_assert_mem_eq(buf, BODY1 BODY2, n);
	ck_assert_msg(all_zero(c.fr.in->rdNext - n2, n2), "the second record is not wiped");
	ck_assert_uint_eq(server_read_stdin(c.fr.in, buf, sizeof(buf)), 0);
	conn_close(&c);
}
END_TEST

START_TEST(test_flush_wiped_leaves_no_response_in_buffer)
{
	static const char secret1[] = "refreshToken-UVVlm4pE-Zv4kMwRWFahZBC";
	static const char secret2[] = "accessToken-eyJhbGciOiJSUzI1NiJ9.x.y";
	struct conn c;
	unsigned char in[4096];
	size_t got = 0;
	ssize_t r;

	conn_open(&c, 1);
	/* a plain flush leaves the bytes sent in the buffer's free space */
	FCGX_PutStr(secret1, (int)strlen(secret1), c.fr.out);
	ck_assert_int_eq(FCGX_FFlush(c.fr.out), 0);
	ck_assert_ptr_nonnull(memmem(c.fr.out->wrNext, (size_t)(c.fr.out->stop - c.fr.out->wrNext),
	    secret1, strlen(secret1)));
	FCGX_PutStr(secret2, (int)strlen(secret2), c.fr.out);
	ck_assert_int_eq(server_flush_wiped(c.fr.out), 0);
	ck_assert(all_zero(c.fr.out->wrNext, (size_t)(c.fr.out->stop - c.fr.out->wrNext)));
	/* both were sent */
	while (got < sizeof(in) && (r = recv(c.client_fd, in + got, sizeof(in) - got,
	    MSG_DONTWAIT)) > 0)
		got += (size_t)r;
	ck_assert_ptr_nonnull(memmem(in, got, secret1, strlen(secret1)));
	ck_assert_ptr_nonnull(memmem(in, got, secret2, strlen(secret2)));
	conn_close(&c);
}
END_TEST

START_TEST(test_wipe_params)
{
	struct conn c;
	size_t lens[16], n = 0;
	int seen = 0;

	conn_open(&c, 1);
	for (char **e = c.fr.envp; *e != NULL && n < 16; e++, n++) {
		lens[n] = strlen(*e);
		seen |= strcmp(*e, "HTTP_AUTHORIZATION=" BEARER) == 0;
	}
	ck_assert_msg(seen, "no Authorization parameter");
	server_wipe_params(c.fr.envp);
	n = 0;
	for (char **e = c.fr.envp; *e != NULL && n < 16; e++, n++)
		ck_assert(all_zero((unsigned char *)*e, lens[n]));
	/* libfcgi frees them as usual */
	conn_close(&c);
}
END_TEST

Suite *
server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("libfcgi buffers");

	tcase_add_test(tc, test_read_stdin_wipes_libfcgi_buffer);
	tcase_add_test(tc, test_read_stdin_across_records);
	tcase_add_test(tc, test_flush_wiped_leaves_no_response_in_buffer);
	tcase_add_test(tc, test_wipe_params);
	suite_add_tcase(s, tc);
	return s;
}
