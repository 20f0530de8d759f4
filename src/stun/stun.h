/*
 * stun — the STUN codec of RFC 5389 for the Binding method only: build a
 * Binding request into the caller's buffer, and parse the answer to it
 * (success → the mapped address, error → the ERROR-CODE). Pure: no I/O,
 * no logging, no allocation; the caller owns every buffer.
 *
 * MESSAGE-INTEGRITY and FINGERPRINT are skipped, not checked (Binding is
 * used here without credentials); attributes after MESSAGE-INTEGRITY other
 * than FINGERPRINT are ignored as §15.4 asks.
 */
#ifndef STUN_H
#define STUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HDR_LEN 20
#define STUN_TID_LEN 12
#define STUN_MAGIC   0x2112A442u
/* SOFTWARE: fewer than 128 characters, at most 763 bytes (§15.10). */
#define STUN_SOFTWARE_MAX 763
/* Unknown comprehension-required attributes remembered per message. */
#define STUN_MAX_UNKNOWN 8

enum stun_kind { STUN_BINDING_SUCCESS = 1, STUN_BINDING_ERROR = 2 };

/* A view into the parsed buffer: valid while that buffer is. */
struct stun_view {
	const char *p;
	size_t len;
};

struct stun_answer {
	enum stun_kind kind;
	/* Success: XOR-MAPPED-ADDRESS if present, else MAPPED-ADDRESS;
	 * AF_INET or AF_INET6, port and address in network order. */
	struct sockaddr_storage mapped;
	/* Error: class * 100 + number (300..699) and the reason phrase. */
	int error_code;
	struct stun_view reason;
	/* Unknown attributes in 0x0000-0x7FFF, as the message carries them
	 * (the first STUN_MAX_UNKNOWN); n_unknown counts them all. */
	uint16_t unknown[STUN_MAX_UNKNOWN];
	size_t n_unknown;
};

/* Writes a Binding request with transaction id tid and, if software is not
 * NULL, a SOFTWARE attribute into buf. Returns its length, or -1 (*why
 * set) if it does not fit in cap or software is too long. */
int stun_binding_request(uint8_t *buf, size_t cap, const uint8_t tid[STUN_TID_LEN],
			 const char *software, const char **why);

/* Parses buf as the answer to the Binding request with transaction id tid.
 * Returns 0 with *out filled for a usable Binding success or error
 * response; -1 with *why set for anything else: malformed (every length is
 * checked), not STUN, another transaction, not a Binding response, no
 * mapped address or ERROR-CODE, or an unknown comprehension-required
 * attribute (§7.3.3: the transaction failed; out->unknown lists them). */
int stun_parse_answer(const uint8_t *buf, size_t len, const uint8_t tid[STUN_TID_LEN],
		      struct stun_answer *out, const char **why);

/* buf looks like a STUN message (first two bits zero, the magic cookie,
 * a length that matches): for telling STUN from RTP on one socket. */
int stun_is_message(const uint8_t *buf, size_t len);
#endif
