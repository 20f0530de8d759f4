/*
 * sip_divert — the headers that tell a callee a call was forwarded to it,
 * built from the hops of a route: Diversion (RFC 5806), most recent first,
 * one entry per forwarding party with its reason, and History-Info (RFC
 * 7044), one entry per target in order with the cause (RFC 4458) of the
 * retargeting as a URI parameter of the target it went to. Pure: no I/O.
 */
#ifndef SIP_DIVERT_H
#define SIP_DIVERT_H

#include <stddef.h>

enum sip_divert_reason {
	SIP_DIVERT_UNCONDITIONAL, /* cause 302 */
	SIP_DIVERT_BUSY,	  /* user-busy, 486 */
	SIP_DIVERT_NOANSWER,	  /* no-answer, 408 */
	SIP_DIVERT_UNAVAILABLE,	  /* unavailable, 503 */
	SIP_DIVERT_DND,		  /* do-not-disturb, 480 */
};

/* A target the call reached: user the user part of sip:<user>@<domain>
 * (unreserved characters only, RFC 3261 25.1), display its name or "", why
 * it was left for the next hop (unused for the last). */
struct sip_divert_hop {
	const char *user, *display;
	enum sip_divert_reason reason;
};

/* The token of RFC 5806 ("unconditional", "user-busy", ...) and the RFC
 * 4458 cause (302, 486, ...) of a reason. */
const char *sip_divert_reason_token(enum sip_divert_reason r);
int sip_divert_reason_cause(enum sip_divert_reason r);

/* For hops[0..n-1] (oldest first, hops[n-1] the target now rung), writes
 * into out the header lines (each with CRLF, NUL-terminated)
 *   Diversion: "B" <sip:202@d>;reason=no-answer;counter=1,"A" <sip:201@d>;reason=...
 *   History-Info: <sip:201@d>;index=1,"B" <sip:202@d;cause=302>;index=1.1;mp=1,...
 * "" for n < 2 (not forwarded). The length, or -1 when it does not fit or
 * a user part is not one we would write, or n > 12 (never a cut header). */
int sip_divert_build(const struct sip_divert_hop *hops, int n, const char *domain, char *out,
		     size_t cap);

#endif
