/*
 * pbx_trunk — a phone system's trunks to carriers (table trunks of pbx.db,
 * migration 8): an account at a carrier that registers, or a peer known by
 * its addresses. /api/v1/trunks is pbx_trunks_api.c; the checks of what a
 * trunk names (a host, a port) are the pure functions here, unit-tested.
 */
#ifndef PBX_TRUNK_H
#define PBX_TRUNK_H

#include <stdbool.h>

#include "pbx.h"

#define PBX_TRUNKS_MAX	    32	/* trunks per phone system (the SBC's table takes as many) */
#define PBX_TRUNK_PEERS_MAX 8	/* addresses of a peer trunk */
#define PBX_TRUNK_HOST_MAX  253 /* a DNS name's longest text form */

/* host[:port]: a DNS name (letters, digits, '-', '.'; labels 1-63), an IPv4
 * address or an [IPv6] address, with an optional port 1-65535. NULL, or why
 * it is refused (a message for a 400, naming field). */
const char *pbx_trunk_check_host(const char *s, const char *field, char *why, size_t cap);

/* pbx_trunk_auth.c: the header line ("Authorization: …" or
 * "Proxy-Authorization: …", CRLF and NUL) answering resp — a carrier's 401
 * or 407 to our request req over trunk trunk_id — with the trunk's
 * credentials: its length, or -1 (no usable challenge, no credentials, or
 * it does not fit cap). */
struct sip_msg;
int pbx_trunk_auth(struct pbx *p, long long trunk_id, const struct sip_msg *resp,
		   const struct sip_msg *req, char *out, size_t cap);

/* pbx_trunks_api.c: rest "" for the collection, "/ID" for one trunk. */
void pbx_trunks_api_handle(struct pbx *p, struct core_httpd_req *req, const char *rest);

#endif
