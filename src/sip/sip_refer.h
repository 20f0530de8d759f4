/*
 * sip_refer — what a transfer names, as pure code: the Refer-To of a
 * REFER (RFC 3515 §2.1; its URI may carry an escaped Replaces header,
 * RFC 3891 §5, as an attended transfer sends it) and the Replaces header
 * of an INVITE (RFC 3891 §6.1: call-id, to-tag, from-tag, early-only),
 * and the message/sipfrag body of the NOTIFYs telling a transfer's
 * progress (RFC 3515 §2.4.5). Values are copied out unescaped; no I/O.
 */
#ifndef SIP_REFER_H
#define SIP_REFER_H

#include <stdbool.h>
#include <stddef.h>

#include "sip_msg.h"

#define SIP_REFER_ID 256 /* Call-IDs and tags longer than this are refused */

/* The dialog a Replaces names, as its sender knows it: to-tag is the tag
 * of the side that receives the INVITE with Replaces (RFC 3891 §6.1). */
struct sip_replaces {
	char call_id[SIP_REFER_ID];
	char to_tag[SIP_REFER_ID];
	char from_tag[SIP_REFER_ID];
	bool early_only;
};

/* A Replaces header value: 0, or -1 (no Call-ID, a tag missing, a value
 * too long or with control characters). */
int sip_replaces_parse(struct sip_pl value, struct sip_replaces *out);

struct sip_refer_to {
	char user[72]; /* the URI's user part, unescaped ("203", "*8"); "" none */
	char host[256];
	bool has_replaces;
	struct sip_replaces replaces;
};

/* A Refer-To header value (name-addr or addr-spec, a sip or sips URI):
 * 0, or -1 (another scheme, no user part, over-long or bad escapes, a
 * Replaces in it that does not parse). */
int sip_refer_to_parse(struct sip_pl value, struct sip_refer_to *out);

/* The message/sipfrag body "SIP/2.0 <status> <reason>\r\n" for a NOTIFY
 * of a transfer's progress: its length, or -1 if cap is too small. */
int sip_sipfrag(int status, const char *reason, char *out, size_t cap);

#endif
