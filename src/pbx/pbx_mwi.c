/* pbx_mwi — see pbx_mwi.h. RFC 3842's event on pbx_subs (RFC 6665, the notifier side). */
#include "pbx_mwi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../sip/sip_dialog.h"
#include "../sip/sip_hdr.h"
#include "pbx.h"
#include "pbx_subs.h"
#include "pbx_vm.h"

#define MWI_MSG_MAX 8192
#define MWI_CTYPE   "application/simple-message-summary"

struct pbx_mwi {
	struct pbx *p;
	struct pbx_subs *subs; /* each a struct pbx_sub: ext is the mailbox's */
};

static void rnd_hex(char *out, size_t bytes)
{
	unsigned char r[16];
	randombytes_buf(r, bytes);
	sodium_bin2hex(out, bytes * 2 + 1, r, bytes);
}

int pbx_mwi_body(char *out, size_t cap, const char *ext, const char *domain, int new_msgs,
		 int old_msgs)
{
	int n = snprintf(out, cap,
			 "Messages-Waiting: %s\r\nMessage-Account: sip:%s@%s\r\n"
			 "Voice-Message: %d/%d (0/0)\r\n",
			 new_msgs > 0 ? "yes" : "no", ext, domain, new_msgs, old_msgs);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* ---- sending ---- */

static void send_notify(struct pbx_mwi *w, struct sip_dialog *d, const char *ext, long long user_id,
			const char *state)
{
	char body[512];
	int nn = 0, no = 0;
	pbx_vm_count(w->p, user_id, &nn, &no);
	int bl = pbx_mwi_body(body, sizeof(body), ext, w->p->name, nn, no);
	if (bl < 0)
		log_warn("mwi: a NOTIFY for %s does not fit", ext);
	else
		pbx_subs_send_notify(w->subs, d, state, body, (size_t)bl);
}

/* conf.notify: the mailbox now (whatever it was last told). */
static void sub_notify(void *ctx, struct pbx_sub *s, bool force, const char *state)
{
	(void)force;
	send_notify(ctx, &s->d, s->ext, s->user_id, state);
}

/* Has the device at contact a subscription of the user's (then it hears
 * of changes in that dialog, not twice)? */
static bool subscribed(const struct pbx_mwi *w, long long user_id, const char *contact)
{
	for (const struct pbx_sub *s = pbx_subs_head(w->subs); s; s = s->next)
		if (s->user_id == user_id && strcmp(s->d.target, contact) == 0)
			return true;
	return false;
}

/* Out of dialog, to every registered device of the user that has not subscribed. */
static void notify_devices(struct pbx_mwi *w, long long user_id, const char *ext)
{
	sqlite3_stmt *st = core_db_stmt(
		w->p->db, "SELECT contact, path FROM bindings WHERE user_id=? AND expires>? "
			  "ORDER BY id");
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	struct sip_dialog *d = malloc(sizeof(*d)); /* large: not on the stack */
	while (d && sqlite3_step(st) == SQLITE_ROW) {
		const char *contact = (const char *)sqlite3_column_text(st, 0);
		const char *path = (const char *)sqlite3_column_text(st, 1);
		if (!contact || subscribed(w, user_id, contact))
			continue;
		char tag[17], cid[33], from[160], to[160];
		rnd_hex(tag, 8);
		rnd_hex(cid, 16);
		snprintf(from, sizeof(from), "<sip:pbx@%s>", w->p->name);
		snprintf(to, sizeof(to), "<sip:%s@%s>", ext, w->p->name);
		if (sip_dialog_uac(d, cid, from, tag, to, contact ? contact : "", path ? path : "",
				   0) == 0)
			send_notify(w, d, ext, user_id, NULL);
	}
	sqlite3_reset(st);
	free(d);
}

/* ---- subscriptions ---- */

/* Is the Request-URI the user's own address (extension or user name)? */
static bool own_mailbox(const struct sip_msg *m, const struct pbx_reg_user *u)
{
	struct sip_uri ru;
	if (sip_uri_parse(&ru, m->ruri) < 0)
		return false;
	return sip_pl_eq(ru.user, u->extension) || sip_pl_eq(ru.user, u->username);
}

static bool event_is_ours(const struct sip_msg *m)
{
	const struct sip_hdr *e = sip_msg_hdr_named(m, "Event");
	if (!e)
		e = sip_msg_hdr_named(m, "o"); /* compact form */
	if (!e)
		return false;
	/* the event package, without parameters (an id= is kept by nobody here) */
	size_t l = 0;
	while (l < e->value.l && e->value.p[l] != ';' && e->value.p[l] != ' ')
		l++;
	return sip_pl_casecmp((struct sip_pl){e->value.p, l}, "message-summary");
}

/* conf.screen: message-summary, or 489 (pbx_sip.c sends every other event here). */
static int screen(void *ctx, const struct sip_msg *m, struct pbx_subs_refusal *r)
{
	(void)ctx;
	if (event_is_ours(m))
		return 0;
	r->extra = "Allow-Events: message-summary, dialog\r\n";
	return 489;
}

/* conf.open: the user's own mailbox only. */
static int sub_open(void *ctx, struct pbx_sub *s, const struct sip_msg *m,
		    const struct pbx_reg_user *u, struct pbx_subs_refusal *r)
{
	struct pbx_mwi *w = ctx;
	(void)r;
	if (!own_mailbox(m, u))
		return 403; /* another user's mailbox: not for this user's devices */
	struct pbx_mailbox mb;
	if (pbx_vm_mailbox(w->p, u->id, &mb) < 0)
		return 404;
	snprintf(s->ext, sizeof(s->ext), "%s", mb.extension);
	return 0;
}

void pbx_mwi_subscribe(struct pbx_mwi *w, const struct sip_msg *m, const struct pbx_reg_source *src)
{
	pbx_subs_subscribe(w->subs, m, src);
}

void pbx_mwi_response(struct pbx_mwi *w, const struct sip_msg *m)
{
	pbx_subs_response(w ? w->subs : NULL, m);
}

void pbx_mwi_registered(struct pbx_mwi *w, long long user_id)
{
	struct pbx_mailbox mb;
	int nn, no;
	if (!w || pbx_vm_mailbox(w->p, user_id, &mb) < 0 || !mb.enabled ||
	    pbx_vm_count(w->p, user_id, &nn, &no) < 0 || nn + no == 0)
		return;
	notify_devices(w, user_id, mb.extension);
}

void pbx_mwi_changed(struct pbx *p, long long user_id)
{
	struct pbx_mwi *w = p->mwi;
	struct pbx_mailbox mb;
	if (!w || pbx_vm_mailbox(p, user_id, &mb) < 0)
		return;
	for (struct pbx_sub *s = pbx_subs_head(w->subs); s; s = s->next)
		if (s->user_id == user_id)
			pbx_subs_notify_active(s, true);
	notify_devices(w, user_id, mb.extension);
}

int pbx_mwi_count(const struct pbx_mwi *w)
{
	return w ? pbx_subs_count(w->subs) : 0;
}

struct pbx_mwi *pbx_mwi_new(struct pbx *p, struct event_base *base,
			    void (*send)(void *ctx, const char *buf, size_t len), void *ctx)
{
	struct pbx_mwi *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->p = p;
	/* Test-only: ZENTRALE_TEST_MWI_MIN_EXPIRES (s) lowers the shortest
	 * subscription, so a test of one's expiry need not wait a minute. */
	const char *e = getenv("ZENTRALE_TEST_MWI_MIN_EXPIRES");
	struct pbx_subs_conf conf = {
		.name = "mwi",
		.event = "message-summary",
		.ctype = MWI_CTYPE,
		.branch = PBX_MWI_BRANCH,
		.sub_size = sizeof(struct pbx_sub),
		.msg_max = MWI_MSG_MAX,
		.min_expires = e && atoi(e) > 0 && atoi(e) < PBX_MWI_MIN_EXPIRES
				       ? atoi(e)
				       : PBX_MWI_MIN_EXPIRES,
		.max_expires = PBX_MWI_MAX_EXPIRES,
		.max_per_user = PBX_MWI_MAX_PER_USER,
		.max = PBX_MWI_MAX,
		.replace_oldest = true,
		.screen = screen,
		.open = sub_open,
		.notify = sub_notify,
	};
	if (!(w->subs = pbx_subs_new(p, base, send, ctx, &conf, w))) {
		free(w);
		return NULL;
	}
	return w;
}

void pbx_mwi_free(struct pbx_mwi *w)
{
	if (!w)
		return;
	pbx_subs_free(w->subs);
	free(w);
}
