/*
 * sip_dtmf — DTMF digits in SIP INFO bodies, as phones send them when they
 * do not send RFC 4733 events: application/dtmf-relay ("Signal=5\r\n
 * Duration=160", the de-facto format of Cisco and most phones) and
 * application/dtmf (the digit alone). Pure: no I/O.
 */
#ifndef SIP_DTMF_H
#define SIP_DTMF_H

#include "sip_msg.h"

/* The digit (0-9, *, #, A-D; letters upper-case) an INFO with this
 * Content-Type value and body carries, or 0 (another type, or no digit). */
char sip_dtmf_info(struct sip_pl ctype, struct sip_pl body);
/* The Duration= of an application/dtmf-relay body in ms (0-65535), or -1
 * if it has none that is a number. */
int sip_dtmf_info_duration(struct sip_pl body);

#endif
