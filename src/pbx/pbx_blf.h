/*
 * pbx_blf — busy lamp fields: the dialog event package (RFC 4235 on RFC
 * 6665). A user's device (digest-authenticated like any request) subscribes
 * to the dialogs of an extension of the same phone system; each
 * subscription is a dialog NOTIFYed at once (state full, version counted
 * per subscription), whenever a call of the watched user changes (pbx_call
 * calls pbx_blf_user_changed: its devices' dialogs — trying, proceeding,
 * early, confirmed, then terminated once) and when it ends (expiry,
 * Expires: 0, a 481 to a NOTIFY). Each <dialog> carries the Call-ID and
 * tags of the dialog between the pbx and the watched device, as that
 * device sees it (local-tag its own, remote-tag the pbx's), so a BLF key
 * can pick up a ringing call by INVITE with Replaces: call-id;
 * to-tag=<remote-tag>;from-tag=<local-tag>.
 * A park slot (701-720) may be watched too: what is parked there is one
 * confirmed dialog (pbx_dest_park.c).
 * The subscriptions are a pbx_subs set (pbx_subs.h). Bounded:
 * PBX_BLF_MAX_PER_USER subscriptions per subscribing user (beyond: 403),
 * PBX_BLF_MAX in all (beyond: 503).
 */
#ifndef PBX_BLF_H
#define PBX_BLF_H

#include <stddef.h>

#include <event2/event.h>

#include "../sip/sip_msg.h"
#include "pbx_registrar.h"

#define PBX_BLF_MIN_EXPIRES  10
#define PBX_BLF_MAX_EXPIRES  3600
#define PBX_BLF_MAX_PER_USER 100 /* a desk phone and its expansion modules */
#define PBX_BLF_MAX	     8192
#define PBX_BLF_DIALOGS	     16 /* a watched user's dialogs shown at once */
/* The Via branch of every request of ours starts with this (pbx_sip.c). */
#define PBX_BLF_BRANCH "z9hG4bKblf"

struct pbx;
struct pbx_blf;

struct pbx_blf *pbx_blf_new(struct pbx *p, struct event_base *base,
			    void (*send)(void *ctx, const char *buf, size_t len), void *ctx);
void pbx_blf_free(struct pbx_blf *b);
/* A SUBSCRIBE with Event: dialog, as the SBC passed it on. */
void pbx_blf_subscribe(struct pbx_blf *b, const struct sip_msg *m,
		       const struct pbx_reg_source *src);
/* An answer to one of our NOTIFYs (its branch starts with PBX_BLF_BRANCH). */
void pbx_blf_response(struct pbx_blf *b, const struct sip_msg *m);
/* A call leg of user_id changed state: its watchers are told (when what
 * they were last told differs). user_id -701 ... -720: park slot 701's
 * content changed (pbx_dest_park.c). */
void pbx_blf_user_changed(struct pbx *p, long long user_id);
int pbx_blf_count(const struct pbx_blf *b);

#endif
