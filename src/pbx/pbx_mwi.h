/*
 * pbx_mwi — message waiting (RFC 3842 on RFC 6665): subscriptions to the
 * message-summary event of a user's own mailbox, from the user's devices
 * (digest-authenticated like any request), each a dialog NOTIFYed at once,
 * on every change of the mailbox (pbx_mwi_changed, pbx_vm.h), and when it
 * ends (expiry, Expires: 0, a 481 to a NOTIFY). Also unsolicited NOTIFYs
 * (out of dialog) to each registered device of a user that has no
 * subscription (its Contact no subscription's) on every change and when a
 * device registers anew, sent on the path it registered with.
 * The subscriptions are a pbx_subs set (pbx_subs.h). Bounded: PBX_MWI_MAX_PER_USER subscriptions
 * per user (a new one replaces the oldest), PBX_MWI_MAX in all (beyond: 503).
 */
#ifndef PBX_MWI_H
#define PBX_MWI_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "../sip/sip_msg.h"
#include "pbx_registrar.h"

#define PBX_MWI_MIN_EXPIRES  60
#define PBX_MWI_MAX_EXPIRES  3600
#define PBX_MWI_MAX_PER_USER 10
#define PBX_MWI_MAX	     4096
/* The Via branch of every request of ours starts with this: answers with it
 * are ours (pbx_mwi_response), not the calls'. */
#define PBX_MWI_BRANCH "z9hG4bKmwi"

struct pbx;
struct pbx_mwi;

/* send: writes a whole SIP message towards the SBC. */
struct pbx_mwi *pbx_mwi_new(struct pbx *p, struct event_base *base,
			    void (*send)(void *ctx, const char *buf, size_t len), void *ctx);
/* Ends nothing on the wire: the process is going away. */
void pbx_mwi_free(struct pbx_mwi *w);
/* A SUBSCRIBE, as the SBC passed it on. */
void pbx_mwi_subscribe(struct pbx_mwi *w, const struct sip_msg *m,
		       const struct pbx_reg_source *src);
/* An answer to one of our NOTIFYs (its branch starts with PBX_MWI_BRANCH). */
void pbx_mwi_response(struct pbx_mwi *w, const struct sip_msg *m);
/* A device of user_id registered anew: unsolicited NOTIFY to its devices
 * (only when the mailbox holds messages: nothing to say otherwise). */
void pbx_mwi_registered(struct pbx_mwi *w, long long user_id);
/* Subscriptions now. */
int pbx_mwi_count(const struct pbx_mwi *w);
/* The body of a message-summary for ext@domain: its length, -1 if cap is too small. */
int pbx_mwi_body(char *out, size_t cap, const char *ext, const char *domain, int new_msgs,
		 int old_msgs);

#endif
