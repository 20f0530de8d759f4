/*
 * sbc_trace — SIP traces for troubleshooting: while a capture runs for a
 * phone system (optionally one user), the SBC writes the SIP it exchanges
 * with that phone system's phones, decrypted, and the headers of their
 * RTP (RTCP whole), into DATA/traces/<id>.pcap. Each SIP message and media
 * packet becomes one IPv4/IPv6 UDP datagram with the real addresses and
 * ports, whatever carried it (TLS, TCP): Wireshark and tshark dissect it
 * as SIP by its heuristics, and RTP by the SDP in the same file. Media
 * payload is cut off (the stored length says how long it was).
 *
 * Captures come from the supervisor's state (start, stop); each ends by
 * itself at its time limit or size limit. With a user, media is captured
 * for the calls whose SIP named that user.
 */
#ifndef SBC_TRACE_H
#define SBC_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <jansson.h>

#include "../core/core_state.h"

#define SBC_TRACE_MAX 4 /* captures at once */

struct sbc_trace;

struct sbc_trace *sbc_trace_new(void);
void sbc_trace_free(struct sbc_trace *t);
/* The captures that should run now (n of them, from the supervisor's
 * state); others are closed, new ones opened (appended to when the file
 * exists: the SBC was restarted). */
void sbc_trace_sync(struct sbc_trace *t, const struct core_state_trace *list, int n);
/* Is any capture running for this phone system? (cheap; call first) */
bool sbc_trace_wants(struct sbc_trace *t, const char *ps);
/* A SIP message between a phone and us, for phone system ps. */
void sbc_trace_sip(struct sbc_trace *t, const char *ps, const char *buf, size_t len,
		   const struct sockaddr_storage *src, const struct sockaddr_storage *dst);
/* A media packet (plain, after SRTP) of a call leg with this Call-ID. */
void sbc_trace_media(struct sbc_trace *t, const char *ps, const char *call_id,
		     const unsigned char *pkt, size_t len, bool rtcp,
		     const struct sockaddr_storage *src, const struct sockaddr_storage *dst);

#endif
