/*
 * pbx_subs — the notifier side of RFC 6665 for one event package: a set of
 * subscriptions (each a dialog from its SUBSCRIBE, its subscriber
 * digest-authenticated like any request), found by Call-ID in a keyed hash,
 * refreshed, ended by Expires: 0, by expiry (a timer) or by an answer to a
 * NOTIFY that says the device will never take it (481 and the like); a
 * fetch (Expires: 0 on a new one) is one NOTIFY and no state. Bounded:
 * max_expires (shortened to), min_expires (423 below), max_per_user (the
 * oldest makes room, or 403 Too Many Subscriptions), max in all (503).
 * What is the package's own comes by callbacks (struct pbx_subs_conf): which
 * SUBSCRIBEs it takes, what a new subscription watches, the NOTIFY's body.
 * Used by pbx_mwi.c (message-summary) and pbx_blf.c (dialog).
 */
#ifndef PBX_SUBS_H
#define PBX_SUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "../sip/sip_dialog.h"
#include "../sip/sip_msg.h"
#include "pbx_registrar.h"

struct pbx;
struct pbx_subs;

/* One subscription. A package's own starts with this (conf.sub_size). */
struct pbx_sub {
	struct pbx_subs *set;
	struct pbx_sub *hnext;	     /* the set's: in the Call-ID index */
	struct pbx_sub *prev, *next; /* the set's: all, oldest first */
	long long user_id;	     /* the subscriber */
	char ext[72];		     /* the extension subscribed to (logs, bodies) */
	struct sip_dialog d;
	time_t expires;
	struct event *timer;
};

/* What a callback refuses a SUBSCRIBE with. */
struct pbx_subs_refusal {
	int status;
	const char *reason; /* NULL: the usual phrase */
	const char *extra;  /* more header lines, or NULL */
};

struct pbx_subs_conf {
	const char *name;   /* in logs: "mwi" */
	const char *event;  /* the Event of our NOTIFYs */
	const char *ctype;  /* their Content-Type */
	const char *branch; /* the Via branch prefix of our NOTIFYs */
	size_t sub_size;    /* >= sizeof(struct pbx_sub) */
	size_t msg_max;	    /* the largest NOTIFY */
	int64_t min_expires, max_expires;
	int max_per_user, max;
	bool replace_oldest; /* at max_per_user: the oldest ends ("deactivated") */
	/* Any SUBSCRIBE, once authenticated (NULL: all): 0 to go on, else the
	 * status (and r) to refuse it with. */
	int (*screen)(void *ctx, const struct sip_msg *m, struct pbx_subs_refusal *r);
	/* A new subscription s of u (ext and the package's part to fill): 0,
	 * else the status (and r) to refuse it with. */
	int (*open)(void *ctx, struct pbx_sub *s, const struct sip_msg *m,
		    const struct pbx_reg_user *u, struct pbx_subs_refusal *r);
	/* NOTIFY s with Subscription-State state (pbx_subs_send_notify);
	 * force false: only if what it was last told differs. */
	void (*notify)(void *ctx, struct pbx_sub *s, bool force, const char *state);
};

/* send: writes a whole SIP message towards the SBC; ctx is the callbacks'. */
struct pbx_subs *pbx_subs_new(struct pbx *p, struct event_base *base,
			      void (*send)(void *sctx, const char *buf, size_t len), void *sctx,
			      const struct pbx_subs_conf *conf, void *ctx);
/* Ends nothing on the wire: the process is going away. */
void pbx_subs_free(struct pbx_subs *set);
/* A SUBSCRIBE, as the SBC passed it on. */
void pbx_subs_subscribe(struct pbx_subs *set, const struct sip_msg *m,
			const struct pbx_reg_source *src);
/* An answer to one of our NOTIFYs. */
void pbx_subs_response(struct pbx_subs *set, const struct sip_msg *m);
/* All subscriptions, oldest first (then s->next). */
struct pbx_sub *pbx_subs_head(const struct pbx_subs *set);
int pbx_subs_count(const struct pbx_subs *set);
/* conf.notify with "active;expires=<left>". */
void pbx_subs_notify_active(struct pbx_sub *s, bool force);
/* A NOTIFY in dialog d (a subscription's, or one of our own out of any):
 * Event, Subscription-State state (NULL: none), the body. */
void pbx_subs_send_notify(struct pbx_subs *set, struct sip_dialog *d, const char *state,
			  const char *body, size_t bl);

#endif
