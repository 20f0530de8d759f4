/* HTTP message codec (http_msg). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/http/http_msg.h"

struct sink {
	char body[4096];
	size_t len;
	int heads;
};

static void on_head(void *arg)
{
	((struct sink *)arg)->heads++;
}

static void on_body(void *arg, const char *d, size_t n)
{
	struct sink *s = arg;
	memcpy(s->body + s->len, d, n);
	s->len += n;
}

static struct http_msg *new_msg(int type, struct sink *s)
{
	struct http_msg *m = malloc(sizeof(*m));
	memset(s, 0, sizeof(*s));
	http_msg_init(m, type, on_head, on_body, s);
	return m;
}

static void test_parses_request_head_and_body(void **state)
{
	(void)state;
	struct sink s;
	struct http_msg *m = new_msg(HTTP_REQUEST, &s);
	const char req[] = "POST /acme/api/v1/login?x=1 HTTP/1.1\r\nHost: a\r\n"
			   "Content-Length: 5\r\nX-Empty:\r\n\r\nhello";
	assert_int_equal(http_msg_feed(m, req, sizeof(req) - 1), sizeof(req) - 1);
	assert_true(m->done);
	assert_int_equal(s.heads, 1);
	assert_string_equal(http_msg_method(m), "POST");
	assert_string_equal(m->url, "/acme/api/v1/login?x=1");
	assert_string_equal(http_msg_header(m, "host"), "a");
	assert_string_equal(http_msg_header(m, "X-Empty"), "");
	assert_true(http_msg_has_length(m));
	assert_int_equal(http_msg_content_length(m), 5);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.body, "hello", 5);
	free(m);
}

static void test_head_split_across_reads(void **state)
{
	(void)state;
	struct sink s;
	struct http_msg *m = new_msg(HTTP_REQUEST, &s);
	const char req[] = "GET /a HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n";
	for (size_t i = 0; i < sizeof(req) - 1; i++)
		assert_int_equal(http_msg_feed(m, req + i, 1), 1);
	assert_true(m->done);
	assert_string_equal(http_msg_header(m, "Accept"), "*/*");
	assert_string_equal(http_msg_header(m, "Host"), "example");
	free(m);
}

static void test_chunked_body_is_dechunked(void **state)
{
	(void)state;
	struct sink s;
	struct http_msg *m = new_msg(HTTP_REQUEST, &s);
	const char req[] = "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
			   "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	assert_int_equal(http_msg_feed(m, req, sizeof(req) - 1), sizeof(req) - 1);
	assert_true(m->done);
	assert_false(http_msg_has_length(m));
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.body, "abcde", 5);
	free(m);
}

static void test_stops_after_each_pipelined_message(void **state)
{
	(void)state;
	struct sink s;
	struct http_msg *m = new_msg(HTTP_REQUEST, &s);
	const char reqs[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
	long n = http_msg_feed(m, reqs, sizeof(reqs) - 1);
	assert_int_equal(n, 28);
	assert_string_equal(m->url, "/1");
	assert_int_equal(http_msg_feed(m, reqs + n, sizeof(reqs) - 1 - (size_t)n), 0);
	http_msg_next(m);
	assert_int_equal(http_msg_feed(m, reqs + n, sizeof(reqs) - 1 - (size_t)n),
			 sizeof(reqs) - 1 - (size_t)n);
	assert_string_equal(m->url, "/2");
	free(m);
}

static void test_oversized_head_is_431(void **state)
{
	(void)state;
	struct sink s;
	struct http_msg *m = new_msg(HTTP_REQUEST, &s);
	const char start[] = "GET / HTTP/1.1\r\nX-Big: ";
	assert_int_equal(http_msg_feed(m, start, sizeof(start) - 1), sizeof(start) - 1);
	char big[1024];
	memset(big, 'a', sizeof(big));
	long r = 0;
	for (int i = 0; i < 32 && r >= 0; i++)
		r = http_msg_feed(m, big, sizeof(big));
	assert_int_equal(r, -1);
	assert_int_equal(m->error, 431);
	free(m);
}

static void test_too_many_headers_is_431(void **state)
{
	(void)state;
	struct sink s;
	struct http_msg *m = new_msg(HTTP_REQUEST, &s);
	long r = http_msg_feed(m, "GET / HTTP/1.1\r\n", 16);
	for (int i = 0; i <= HTTP_MAX_HEADERS && r >= 0; i++)
		r = http_msg_feed(m, "A: b\r\n", 6);
	assert_int_equal(r, -1);
	assert_int_equal(m->error, 431);
	free(m);
}

static void test_garbage_is_400(void **state)
{
	(void)state;
	struct sink s;
	struct http_msg *m = new_msg(HTTP_REQUEST, &s);
	const char junk[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage";
	assert_int_equal(http_msg_feed(m, junk, sizeof(junk) - 1), -1);
	assert_int_equal(m->error, 400);
	free(m);
}

static void test_conflicting_lengths_are_rejected(void **state)
{
	(void)state;
	struct sink s;
	struct http_msg *m = new_msg(HTTP_REQUEST, &s);
	/* A request-smuggling classic: both framings at once. */
	const char req[] =
		"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
		"0\r\n\r\n";
	assert_int_equal(http_msg_feed(m, req, sizeof(req) - 1), -1);
	free(m);
}

static void test_response_read_until_close(void **state)
{
	(void)state;
	struct sink s;
	struct http_msg *m = new_msg(HTTP_RESPONSE, &s);
	const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end";
	assert_int_equal(http_msg_feed(m, resp, sizeof(resp) - 1), sizeof(resp) - 1);
	assert_false(m->done);
	assert_false(http_msg_has_length(m));
	assert_int_equal(http_msg_status(m), 200);
	assert_string_equal(m->reason, "OK");
	assert_int_equal(http_msg_finish(m), 0);
	assert_true(m->done);
	assert_int_equal(s.len, 13);
	free(m);
}

static void test_hop_by_hop_headers(void **state)
{
	(void)state;
	assert_true(http_header_is_hop_by_hop("connection"));
	assert_true(http_header_is_hop_by_hop("Transfer-Encoding"));
	assert_false(http_header_is_hop_by_hop("Content-Type"));
}

static void test_cookie_get(void **state)
{
	(void)state;
	char v[16];
	assert_int_equal(
		http_cookie_get("a=1; zentrale_session=tok; b=2", "zentrale_session", v, sizeof(v)),
		0);
	assert_string_equal(v, "tok");
	assert_int_equal(http_cookie_get("a=1;b=2 ", "b", v, sizeof(v)), 0);
	assert_string_equal(v, "2");
	assert_int_equal(http_cookie_get("a=", "a", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	/* a name that only starts like ours, or a value too long: not ours */
	assert_int_equal(http_cookie_get("zentrale_sessionx=1", "zentrale_session", v, sizeof(v)),
			 -1);
	assert_int_equal(http_cookie_get("x=zentrale_session=1", "zentrale_session", v, sizeof(v)),
			 -1);
	assert_int_equal(http_cookie_get("a=0123456789abcdef", "a", v, sizeof(v)), -1);
	assert_int_equal(http_cookie_get("", "a", v, sizeof(v)), -1);
	assert_int_equal(http_cookie_get(";;; ;", "a", v, sizeof(v)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses_request_head_and_body),
		cmocka_unit_test(test_head_split_across_reads),
		cmocka_unit_test(test_chunked_body_is_dechunked),
		cmocka_unit_test(test_stops_after_each_pipelined_message),
		cmocka_unit_test(test_oversized_head_is_431),
		cmocka_unit_test(test_too_many_headers_is_431),
		cmocka_unit_test(test_garbage_is_400),
		cmocka_unit_test(test_conflicting_lengths_are_rejected),
		cmocka_unit_test(test_response_read_until_close),
		cmocka_unit_test(test_hop_by_hop_headers),
		cmocka_unit_test(test_cookie_get),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
