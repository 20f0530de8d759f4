/* pbx_blf — see pbx_blf.h. RFC 4235's event on pbx_subs (RFC 6665, the notifier side). */
#include "pbx_blf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../sip/sip_dialog.h"
#include "../sip/sip_dialoginfo.h"
#include "../sip/sip_hdr.h"
#include "pbx.h"
#include "pbx_call.h"
#include "pbx_route.h"
#include "pbx_subs.h"

#define BLF_BODY_MAX 131072
#define BLF_MSG_MAX  (BLF_BODY_MAX + 8192)

struct shown {
	uint64_t id;
	int state;
};

struct sub {
	struct pbx_sub base;   /* base.ext: the watched user's extension */
	long long watched;     /* the user whose dialogs it sees; -701: park slot 701 */
	char name[128];	       /* the watched user's */
	unsigned long version; /* of the next NOTIFY's document */
	int nshown;	       /* the dialogs last reported, not terminated */
	struct shown shown[PBX_BLF_DIALOGS];
};

struct pbx_blf {
	struct pbx *p;
	struct pbx_subs *subs;			      /* each a struct sub */
	unsigned char key[crypto_shorthash_KEYBYTES]; /* for dialog ids */
};

/* A dialog's id in documents: stable for its Call-ID and our tag, short,
 * and nothing of the wire in it. */
static uint64_t dialog_id(const struct pbx_blf *b, const struct pbx_call_dialog *d)
{
	uint64_t h;
	size_t cl = strlen(d->call_id), tl = strlen(d->pbx_tag);
	unsigned char buf[SIP_DIALOG_HDR + 64];
	if (cl + tl + 1 > sizeof(buf))
		cl = sizeof(buf) - tl - 1;
	memcpy(buf, d->call_id, cl);
	buf[cl] = '/';
	memcpy(buf + cl + 1, d->pbx_tag, tl);
	crypto_shorthash((unsigned char *)&h, buf, cl + 1 + tl, b->key);
	return h;
}

/* ---- sending ---- */

static int shown_state(const struct sub *s, uint64_t id)
{
	for (int i = 0; i < s->nshown; i++)
		if (s->shown[i].id == id)
			return s->shown[i].state;
	return -1;
}

/* The watched user's dialogs now, to the subscriber — unless nothing
 * differs from the last NOTIFY and force is false. state: the
 * Subscription-State value. */
static void sub_notify(void *ctx, struct pbx_sub *ps, bool force, const char *state)
{
	static char body[BLF_BODY_MAX];
	static struct pbx_call_dialog cd[PBX_BLF_DIALOGS];
	static struct sip_dinfo_dialog dd[PBX_BLF_DIALOGS * 2];
	static char ids[PBX_BLF_DIALOGS * 2][17], peers[PBX_BLF_DIALOGS][160];
	struct pbx_blf *b = ctx;
	struct sub *s = (struct sub *)ps;
	char entity[160];
	snprintf(entity, sizeof(entity), "sip:%s@%s", ps->ext, b->p->name);
	int n = s->watched < 0 ? pbx_park_dialogs(b->p, (int)-s->watched, cd, PBX_BLF_DIALOGS)
		: b->p->calls ? pbx_calls_user_dialogs(b->p->calls, s->watched, cd, PBX_BLF_DIALOGS)
			      : 0;
	struct shown now[PBX_BLF_DIALOGS];
	int nnow = 0, nd = 0;
	bool changed = force;
	for (int i = 0; i < n; i++) {
		uint64_t id = dialog_id(b, &cd[i]);
		int before = shown_state(s, id);
		if (cd[i].state == SIP_DINFO_TERMINATED && before < 0)
			continue; /* never shown: nothing to end */
		if (cd[i].state != SIP_DINFO_TERMINATED)
			now[nnow++] = (struct shown){id, cd[i].state};
		changed = changed || before != cd[i].state;
		int k = nd++;
		sodium_bin2hex(ids[k], sizeof(ids[k]), (const unsigned char *)&id, sizeof(id));
		snprintf(peers[i], sizeof(peers[i]), "sip:%s@%s", cd[i].peer, b->p->name);
		bool peer = cd[i].peer && cd[i].peer[0];
		dd[k] = (struct sip_dinfo_dialog){
			.id = ids[k],
			.call_id = cd[i].call_id,
			.local_tag = cd[i].device_tag,
			.remote_tag = cd[i].pbx_tag,
			.direction = cd[i].outgoing ? SIP_DINFO_INITIATOR : SIP_DINFO_RECIPIENT,
			.state = cd[i].state,
			.local = {entity, s->name, NULL},
			.remote = {peer ? peers[i] : NULL, peer ? cd[i].peer_name : NULL,
				   peer ? peers[i] : NULL}};
	}
	/* dialogs shown before and gone since (their call freed): terminated */
	for (int i = 0; i < s->nshown; i++) {
		bool still = false;
		for (int k = 0; k < n && !still; k++)
			still = dialog_id(b, &cd[k]) == s->shown[i].id;
		if (still)
			continue;
		changed = true;
		int k = nd++;
		sodium_bin2hex(ids[k], sizeof(ids[k]), (const unsigned char *)&s->shown[i].id,
			       sizeof(s->shown[i].id));
		dd[k] = (struct sip_dinfo_dialog){.id = ids[k],
						  .state = SIP_DINFO_TERMINATED,
						  .local = {entity, s->name, NULL}};
	}
	if (!changed)
		return;
	int bl = sip_dialoginfo_build(body, sizeof(body), s->version, 1, entity, dd, (size_t)nd);
	if (bl < 0) { /* only with Call-IDs at their limit: the lamps without ids */
		for (int i = 0; i < nd; i++)
			dd[i].call_id = NULL;
		bl = sip_dialoginfo_build(body, sizeof(body), s->version, 1, entity, dd,
					  (size_t)nd);
	}
	if (bl < 0) {
		log_warn("blf: the dialogs of %s do not fit a NOTIFY", ps->ext);
		return;
	}
	s->version++;
	memcpy(s->shown, now, sizeof(now[0]) * (size_t)nnow);
	s->nshown = nnow;
	pbx_subs_send_notify(b->subs, &ps->d, state, body, (size_t)bl);
}

/* ---- subscriptions ---- */

/* The watched user: an enabled user of this phone system by extension or
 * SIP user name (the Request-URI's user part). 0, or -1: none such. */
static int watched_user(struct pbx *p, const struct sip_msg *m, long long *id, char *ext,
			size_t ecap, char *name, size_t ncap)
{
	struct sip_uri ru;
	if (sip_uri_parse(&ru, m->ruri) < 0 || !ru.user.l || ru.user.l > 64)
		return -1;
	int slot = pbx_park_slot_of(ru.user);
	if (slot > 0) { /* a park slot: what is parked there */
		*id = -slot;
		snprintf(ext, ecap, "%d", slot);
		snprintf(name, ncap, "Park %d", slot);
		return 0;
	}
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT id, extension, display_name FROM users "
					       "WHERE (extension=?1 OR sip_username=?1) AND "
					       "enabled=1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, ru.user.p, (int)ru.user.l, SQLITE_STATIC);
	int r = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		snprintf(ext, ecap, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(name, ncap, "%s", (const char *)sqlite3_column_text(st, 2));
		r = 0;
	}
	sqlite3_reset(st);
	return r;
}

/* Accept (RFC 6665 4.2.1): absent, or naming dialog-info+xml (or a wildcard). */
static bool accepts_dialog_info(const struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr_named(m, "Accept");
	if (!h)
		return true;
	for (; h; h = sip_msg_hdr_next(m, h))
		for (size_t i = 0; i + 3 <= h->value.l; i++)
			if ((i + 15 <= h->value.l &&
			     strncasecmp(h->value.p + i, "dialog-info+xml", 15) == 0) ||
			    strncmp(h->value.p + i, "*/*", 3) == 0)
				return true;
	return false;
}

/* conf.open: what the subscription watches. */
static int sub_open(void *ctx, struct pbx_sub *ps, const struct sip_msg *m,
		    const struct pbx_reg_user *u, struct pbx_subs_refusal *r)
{
	struct pbx_blf *b = ctx;
	struct sub *s = (struct sub *)ps;
	(void)u;
	if (!accepts_dialog_info(m)) {
		r->extra = "Accept: " SIP_DIALOGINFO_CTYPE "\r\n";
		return 406;
	}
	if (watched_user(b->p, m, &s->watched, ps->ext, sizeof(ps->ext), s->name, sizeof(s->name)) <
	    0)
		return 404;
	return 0;
}

void pbx_blf_subscribe(struct pbx_blf *b, const struct sip_msg *m, const struct pbx_reg_source *src)
{
	pbx_subs_subscribe(b->subs, m, src);
}

void pbx_blf_response(struct pbx_blf *b, const struct sip_msg *m)
{
	pbx_subs_response(b ? b->subs : NULL, m);
}

void pbx_blf_user_changed(struct pbx *p, long long user_id)
{
	struct pbx_blf *b = p->blf;
	if (!b)
		return;
	/* park slots (negative) hear of every user's change: a parked party
	 * hanging up ends what is parked (and NOTIFYs only if it did) */
	for (struct pbx_sub *ps = pbx_subs_head(b->subs); ps; ps = ps->next) {
		const struct sub *s = (const struct sub *)ps;
		if (s->watched == user_id || (user_id >= 0 && s->watched < 0))
			pbx_subs_notify_active(ps, false);
	}
}

int pbx_blf_count(const struct pbx_blf *b)
{
	return b ? pbx_subs_count(b->subs) : 0;
}

struct pbx_blf *pbx_blf_new(struct pbx *p, struct event_base *base,
			    void (*send)(void *ctx, const char *buf, size_t len), void *ctx)
{
	struct pbx_blf *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->p = p;
	crypto_shorthash_keygen(b->key);
	static const struct pbx_subs_conf conf = {
		.name = "blf",
		.event = "dialog",
		.ctype = SIP_DIALOGINFO_CTYPE,
		.branch = PBX_BLF_BRANCH,
		.sub_size = sizeof(struct sub),
		.msg_max = BLF_MSG_MAX,
		.min_expires = PBX_BLF_MIN_EXPIRES,
		.max_expires = PBX_BLF_MAX_EXPIRES,
		.max_per_user = PBX_BLF_MAX_PER_USER,
		.max = PBX_BLF_MAX,
		.open = sub_open,
		.notify = sub_notify,
	};
	if (!(b->subs = pbx_subs_new(p, base, send, ctx, &conf, b))) {
		free(b);
		return NULL;
	}
	return b;
}

void pbx_blf_free(struct pbx_blf *b)
{
	if (!b)
		return;
	pbx_subs_free(b->subs);
	free(b);
}
