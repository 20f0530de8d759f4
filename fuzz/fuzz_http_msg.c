/*
 * libFuzzer target for the HTTP message codec (src/http/http_msg.c): the
 * first input byte chooses request or response parsing and how the rest is
 * split into reads; every message found is walked as a server would.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../src/http/http_msg.h"

static size_t body_total;

static void on_body(void *arg, const char *d, size_t n)
{
	(void)arg;
	(void)d;
	body_total += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_msg m;
	if (size < 1)
		return 0;
	int type = data[0] & 1 ? HTTP_RESPONSE : HTTP_REQUEST;
	size_t step = ((data[0] >> 1) & 0x3f) + 1; /* bytes per read, 1..64 */
	bool skip_body = (data[0] & 0x80) != 0;	   /* a response to HEAD */
	data++;
	size--;
	http_msg_init(&m, type, NULL, on_body, NULL);
	m.skip_body = skip_body && type == HTTP_RESPONSE;
	size_t off = 0;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		long r = http_msg_feed(&m, (const char *)data + off, n);
		if (r < 0)
			break;
		off += (size_t)r;
		if (m.done) {
			/* what a server reads of each message */
			(void)http_msg_method(&m);
			(void)http_msg_header(&m, "Content-Length");
			(void)http_msg_has_length(&m);
			(void)http_msg_keep_alive(&m);
			const char *cookie = http_msg_header(&m, "Cookie");
			char v[128];
			if (cookie &&
			    http_cookie_get(cookie, "zentrale_session", v, sizeof(v)) == 0)
				body_total += strlen(v);
			for (int i = 0; i < m.nheaders; i++)
				body_total +=
					strlen(m.headers[i].name) + strlen(m.headers[i].value);
			http_msg_next(&m);
		} else if (r == 0) {
			break;
		}
	}
	if (off >= size)
		http_msg_finish(&m);
	return 0;
}
