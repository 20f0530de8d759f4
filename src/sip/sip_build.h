/*
 * sip_build — writing SIP messages: responses to a request (RFC 3261
 * §8.2.6, with RFC 3581 received/rport on the top Via). Header values are
 * copied on one line each (folded lines unfolded). No I/O, no allocation.
 */
#ifndef SIP_BUILD_H
#define SIP_BUILD_H

#include "sip_msg.h"

struct sip_response_opts {
	const char *reason;	   /* NULL: the standard phrase */
	const char *to_tag;	   /* added to To when it has no tag and status > 100 */
	const char *extra_headers; /* "Name: value\r\n..." or NULL */
	const char *body;	   /* NULL for none */
	size_t body_len;
	const char *content_type;
	const char *src_addr; /* where the request came from: sets received= and */
	int src_port;	      /* rport= on the top Via when asked for (0: leave it) */
};

/* A Via value with received= and rport= filled in for a request that came
 * from addr:port (RFC 3261 18.2.1, RFC 3581); -1 if it does not fit or parse. */
int sip_via_with_received(struct sip_pl via, const char *addr, int port, char *out, size_t cap);

/* Returns the length written, or -1 if cap is too small. */
int sip_build_response(const struct sip_msg *req, int status, const struct sip_response_opts *o,
		       char *out, size_t cap);
const char *sip_reason(int status);

#endif
