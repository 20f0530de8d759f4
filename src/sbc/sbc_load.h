/*
 * sbc_load — when the SBC sheds load: a pure state machine (no I/O, the
 * time passed in) that sbc_sip.c feeds with what it measures and asks
 * about each new request.
 *
 * Two measures, as the field does (Asterisk's taskprocessor high-water
 * mark, Kamailio's pike/ratelimit + sl_send_reply("503")):
 * - our own backlog: how long each UDP datagram waited in the socket's
 *   receive queue before we read it (the kernel's receive time stamp). Only
 *   a standing queue counts, not a burst: the smallest wait seen within a
 *   window (SBC_LOAD_WINDOW_MS), as CoDel judges a queue;
 * - the phone systems' backlog: requests passed on to them that they have
 *   not answered at all yet (not even 100 Trying).
 * Above a high-water mark of either, shedding starts: new requests outside
 * a dialog (INVITE, REGISTER, OPTIONS, SUBSCRIBE, ...) are answered 503
 * with a short Retry-After (jittered) before any work is done for them;
 * requests within a dialog, ACK, CANCEL, answers and retransmissions of
 * requests already passed on keep flowing. Shedding ends once both are
 * below their low-water marks (hysteresis) and it has lasted hold_ms.
 */
#ifndef SBC_LOAD_H
#define SBC_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "../sip/sip_msg.h"

#define SBC_LOAD_WINDOW_MS 100 /* the window of the smallest receive-queue wait */

struct sbc_load_limits {
	int64_t wait_high_ms, wait_low_ms; /* the smallest receive-queue wait in a window */
	int pending_high, pending_low;	   /* requests the phone systems have not answered */
	int64_t hold_ms;		   /* shedding lasts at least this long */
	int retry_min, retry_max;	   /* Retry-After, seconds (uniform between) */
};

/* The limits measured on the reference machine (docs/architecture.md). */
extern const struct sbc_load_limits sbc_load_default_limits;

struct sbc_load {
	struct sbc_load_limits lim;
	bool shedding;
	int64_t since;	   /* ms: when shedding started */
	int64_t win_start; /* ms: the window's start */
	int64_t win_min;   /* the smallest wait in it (-1: none yet) */
	int64_t last_wait; /* the smallest wait of the last window that ended */
	uint64_t shed;	   /* requests answered 503 */
	uint64_t episodes; /* times shedding started */
};

void sbc_load_init(struct sbc_load *l, const struct sbc_load_limits *lim, int64_t now);
/* A datagram waited wait_ms in the receive queue (-1: not known, a stream);
 * pending: requests the phone systems have not answered yet. Returns
 * whether the SBC sheds now. */
bool sbc_load_sample(struct sbc_load *l, int64_t wait_ms, int pending, int64_t now);
/* Whether a request of this method (in_dialog: with a To tag) is shed now. */
bool sbc_load_sheds(const struct sbc_load *l, struct sip_pl method, bool in_dialog);
/* The Retry-After of a shed request (rnd: a random number), counted as shed. */
int sbc_load_shed(struct sbc_load *l, uint32_t rnd);

#endif
