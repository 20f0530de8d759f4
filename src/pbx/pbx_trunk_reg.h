/*
 * pbx_trunk_reg — the phone system's client side towards its carriers
 * (docs/architecture.md, "Trunks"): per enabled trunk of kind register with
 * register on, a REGISTER client (digest answered once per challenge,
 * refreshed before the binding runs out, retried with backoff on failure,
 * un-REGISTERed when the trunk goes away and on shutdown), and per enabled
 * trunk an OPTIONS keep-alive every PBX_TRUNK_OPTIONS_INTERVAL seconds with
 * its round trip. Requests go to the SBC on pbx_sip's connection with
 * `Route: <sip:trunk.ID@sbc.invalid;lr>`; the SBC sends them from the
 * trunk's socket and brings the answers back with our Via (branch prefix
 * PBX_TRUNK_BRANCH, by which pbx_sip.c hands them here).
 *
 * Owns its trunk list (copies of pbx.db's rows, re-read on every change
 * through the API: pbx_trunk_reg_reload) and the status of each, in
 * memory only. Time is whole seconds (time()); the round trip is measured
 * on the monotonic clock. The pure decisions (what an answer means, when
 * to refresh, how long to back off, what a 200 granted) are functions of
 * their own below, unit-tested.
 */
#ifndef PBX_TRUNK_REG_H
#define PBX_TRUNK_REG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "../sip/sip_msg.h"

#define PBX_TRUNK_BRANCH	   "z9hG4bKtrk"
#define PBX_TRUNK_OPTIONS_INTERVAL 30 /* s between two keep-alives of a trunk */
#define PBX_TRUNK_TIMEOUT	   32 /* s without a final answer: no answer (64*T1) */
#define PBX_TRUNK_BACKOFF_MAX	   300

struct pbx;
struct pbx_trunk_reg;

/* send: writes a whole SIP message on the SBC's connection (pbx_sip). */
struct pbx_trunk_reg *pbx_trunk_reg_new(struct pbx *p, struct event_base *base,
					void (*send)(void *ctx, const char *buf, size_t len),
					void *ctx);
/* Un-REGISTERs what is registered (one last request each, not waited for). */
void pbx_trunk_reg_free(struct pbx_trunk_reg *r);
/* pbx_sip: the SBC has a connection now (up) or none any more. */
void pbx_trunk_reg_link(struct pbx_trunk_reg *r, bool up);
/* Sends what is due at now (REGISTERs, OPTIONS) and gives up on requests
 * unanswered since PBX_TRUNK_TIMEOUT; a 1 s timer calls it with time(). */
void pbx_trunk_reg_run(struct pbx_trunk_reg *r, time_t now);
/* An answer whose top Via branch starts with PBX_TRUNK_BRANCH. */
void pbx_trunk_reg_response(struct pbx_trunk_reg *r, const struct sip_msg *m);
/* Re-reads table trunks (p->trunk_reg; nothing without one): new trunks
 * start, changed ones register anew, gone or disabled ones un-REGISTER. */
void pbx_trunk_reg_reload(struct pbx *p);
/* {"state", "code", "reason", "since", "expires", "options_rtt_ms",
 * "options_at"} of trunk id (a new object), or JSON null if unknown. */
json_t *pbx_trunk_reg_status(struct pbx *p, long long id);
/* [{"name", "registers", "registered", "options_rtt_ms"}, …] for
 * monitoring (pbx_stats), a new array. */
json_t *pbx_trunk_reg_stats(struct pbx *p);

/* ---- the pure part ---- */

enum pbx_trunk_verdict {
	PBX_TRUNK_WAIT,	       /* provisional: the final answer is still to come */
	PBX_TRUNK_OK,	       /* 2xx */
	PBX_TRUNK_AUTH,	       /* send again with credentials for this challenge */
	PBX_TRUNK_MIN_EXPIRES, /* 423: send again asking Min-Expires */
	PBX_TRUNK_FAIL,	       /* anything else: back off and retry */
};
/* What an answer to a REGISTER means. answered: the request already
 * carried credentials for a challenge to the one before (a second 401/407
 * is then a failure, unless stale); min_expires: the 423's Min-Expires
 * (usable when 1-3600 and above what was asked). */
enum pbx_trunk_verdict pbx_trunk_reg_verdict(int status, bool answered, bool stale, int min_expires,
					     int asked);
/* Seconds until the refresh of a binding granted for granted seconds:
 * 80 % of it, or 30 s before its end when that is sooner, never sooner
 * than half of it (and at least 1 s). */
int pbx_trunk_reg_refresh(int granted);
/* Seconds before retry n (1, 2, …) after failures: 30, 60, 120, 240, then
 * PBX_TRUNK_BACKOFF_MAX. */
int pbx_trunk_reg_backoff(int failures);
/* The lifetime a 200 to our REGISTER granted: the expires= of the Contact
 * whose user part is contact_user (the SBC's trunk key), else of the only
 * Contact, else the Expires header, else asked. */
int pbx_trunk_reg_granted(const struct sip_msg *m, const char *contact_user, int asked);
/* The user part the SBC puts into the trunk's Contact: "z" and the first
 * 16 hex digits of SHA-256 of "zentrale-trunk:<ps>/<id>" (sbc_trunk.c's key). */
void pbx_trunk_reg_key(const char *ps, long long id, char out[18]);

#endif
