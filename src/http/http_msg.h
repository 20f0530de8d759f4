/*
 * http_msg — one HTTP/1.1 message read through llhttp: the start line and
 * headers collected into a bounded buffer, the body handed to a callback as
 * it arrives (already de-chunked). A codec: no I/O, no knowledge of who
 * uses it. Parsing stops after each complete message so a caller handles
 * pipelined messages one at a time. Also the pure parsers of a Cookie
 * header's and a query string's values.
 */
#ifndef HTTP_MSG_H
#define HTTP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#define HTTP_MAX_HEAD	 16384 /* start line and all headers */
#define HTTP_MAX_HEADERS 100

struct http_header {
	const char *name; /* NUL-terminated, inside the message's head buffer */
	const char *value;
};

typedef void (*http_head_cb)(void *arg);
typedef void (*http_body_cb)(void *arg, const char *data, size_t len);

struct http_msg {
	llhttp_t parser;
	llhttp_settings_t settings;
	http_head_cb on_head; /* the head is complete; called before any body byte */
	http_body_cb on_body;
	void *arg;
	bool skip_body; /* response to HEAD (204/304 are handled by llhttp) */

	/* Set while parsing. */
	bool begun;	/* first byte of a message seen */
	bool head_done; /* start line and headers complete */
	bool done;	/* message complete */
	int error;	/* HTTP status that describes a parse failure, 0 if none */
	const char *url;
	const char *reason;
	struct http_header headers[HTTP_MAX_HEADERS];
	int nheaders;
	uint64_t body_bytes;

	char head[HTTP_MAX_HEAD + 1];
	size_t headlen;
	size_t cur; /* start of the string being collected */
};

/* type: HTTP_REQUEST or HTTP_RESPONSE; on_head may be NULL. */
void http_msg_init(struct http_msg *m, int type, http_head_cb on_head, http_body_cb on_body,
		   void *arg);
/* Ready for the next message on the same connection. */
void http_msg_next(struct http_msg *m);
/* Feeds bytes; returns how many were consumed. Stops early after a complete
 * message (m->done) or on error (m->error set, -1 returned). */
long http_msg_feed(struct http_msg *m, const char *data, size_t len);
/* The peer closed: completes a message delimited by end of connection. */
int http_msg_finish(struct http_msg *m);

const char *http_msg_header(const struct http_msg *m, const char *name);
const char *http_msg_method(const struct http_msg *m);
int http_msg_status(const struct http_msg *m);
bool http_msg_keep_alive(const struct http_msg *m);
/* Whether the body length is known from the head (Content-Length) or the
 * message has no body; false for chunked or read-until-close bodies. */
bool http_msg_has_length(const struct http_msg *m);
uint64_t http_msg_content_length(const struct http_msg *m);
/* True for headers a proxy must not forward (RFC 9110 §7.6.1). */
bool http_header_is_hop_by_hop(const char *name);
const char *http_status_reason(int status);

/* The value of cookie `name` in a Cookie header value ("a=1; b=2"), copied
 * to out; -1 if absent or longer than outlen - 1. */
int http_cookie_get(const char *header, const char *name, char *out, size_t outlen);
/* The value of parameter `key` in a query string ("a=1&b=x%20y", without
 * the '?'), percent- and '+'-decoded into out; -1 if absent, malformed
 * (a bad escape or %00) or longer than outlen - 1. */
int http_query_get(const char *query, const char *key, char *out, size_t outlen);

#endif
