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
/* Room enough for any answer to a request: it echoes at most the request's
 * headers, plus ours. */
#define SIP_ANSWER_MAX (SIP_MAX_MESSAGE + 8192)

/* A To tag of ours: 16 random hex digits, alike wherever the SBC or a phone
 * system makes one (scanners tell nothing by its shape). */
#define SIP_TAG_LEN 16
void sip_build_tag(char out[SIP_TAG_LEN + 1]);

/* What a phone system says of itself in its answer to OPTIONS; the SBC
 * says the same for a domain that is none. */
#define SIP_OPTIONS_HEADERS                                                                        \
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE\r\n"                           \
	"Accept: application/sdp\r\nSupported: path, outbound\r\n"
const char *sip_reason(int status);

#endif
