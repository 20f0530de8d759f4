/*
 * sip_msg — the SIP message codec (RFC 3261), zero-copy and lazy. Parsing a
 * message frames it (start line, header boundaries, body by Content-Length)
 * and checks only what every element must check before acting on it; a
 * header's value is parsed when someone asks for it (sip_hdr.h). Every
 * string is a (pointer, length) view into the caller's buffer, which must
 * outlive the message. No I/O, no allocation, no knowledge of who uses it.
 */
#ifndef SIP_MSG_H
#define SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIP_MAX_HEADERS 128
#define SIP_MAX_MESSAGE 65535 /* larger messages get 513 */
#define SIP_NEED_MORE	1     /* a stream holds only part of a message yet */

struct sip_pl {
	const char *p;
	size_t l;
};

/* Headers a SIP element looks at; compact forms map to the same id. */
enum sip_hdr_id {
	SIP_HDR_OTHER,
	SIP_HDR_VIA,
	SIP_HDR_FROM,
	SIP_HDR_TO,
	SIP_HDR_CALL_ID,
	SIP_HDR_CSEQ,
	SIP_HDR_CONTACT,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_CONTENT_LENGTH,
	SIP_HDR_CONTENT_TYPE,
	SIP_HDR_EXPIRES,
	SIP_HDR_ROUTE,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_PATH,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_WWW_AUTHENTICATE,
	SIP_HDR_PROXY_AUTHENTICATE,
	SIP_HDR_REQUIRE,
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_SUPPORTED,
	SIP_HDR_USER_AGENT,
	SIP_HDR__COUNT
};

struct sip_hdr {
	enum sip_hdr_id id;
	struct sip_pl name;
	struct sip_pl value; /* trimmed; may contain folded lines (CRLF + WSP) */
};

struct sip_msg {
	struct sip_pl raw; /* the whole message: start line to end of body */
	bool request;
	struct sip_pl method; /* requests */
	struct sip_pl ruri;
	int status; /* responses */
	struct sip_pl reason;
	struct sip_hdr hdr[SIP_MAX_HEADERS];
	int nhdr;
	struct sip_pl body;
};

/*
 * Frames and checks one message at the start of buf. stream: buf is a TCP
 * or TLS byte stream (Content-Length is required, more may follow); else a
 * datagram (bytes after Content-Length are ignored). Returns 0 when m holds
 * a message (m->raw.l bytes of buf), SIP_NEED_MORE for a stream that has
 * only part of one, or the SIP status that describes the fault (400, 413,
 * 505, 513) — for a request, the answer to send.
 */
int sip_msg_parse(struct sip_msg *m, const char *buf, size_t len, bool stream);
/* Why the last parse failed, for the reason phrase of an error answer. */
const char *sip_msg_error(void);

const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id);
int sip_msg_hdr_count(const struct sip_msg *m, enum sip_hdr_id id);
/* The next header with the same id after h, or NULL. */
const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m, const struct sip_hdr *h);
/* A header by name (any case), for headers without an id. */
const struct sip_hdr *sip_msg_hdr_named(const struct sip_msg *m, const char *name);

bool sip_pl_eq(struct sip_pl a, const char *s);	     /* exact */
bool sip_pl_casecmp(struct sip_pl a, const char *s); /* case-insensitive equality */
bool sip_pl_eq_pl(struct sip_pl a, struct sip_pl b);
/* Decimal value; -1 if not all digits or above max. */
int64_t sip_pl_u64(struct sip_pl a, int64_t max);

#endif
