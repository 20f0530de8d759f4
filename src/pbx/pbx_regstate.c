/* pbx_regstate — see pbx_regstate.h. */
#include "pbx_regstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../core/core_hash.h"
#include "../core/core_log.h"
#include "../sip/sip_hdr.h"

#define REGSTATE_PROBE 8

static const char hint_sha256[] =
	"never answers the SHA-256 challenge; its software may not support SHA-256 digest: "
	"offer MD5 only on the Settings page";

/* A user's state; the name is the key (sip_username). */
struct rs_user {
	uint64_t key;
	bool used;
	char name[72];
	int64_t seen; /* ms, for giving way */
	time_t registered, failed;
	enum core_authlog_reason reason;
	char source[72], user_agent[104];
	bool hint;
};

/* A client (address, user as named in To or From) that was challenged. */
struct rs_client {
	uint64_t key;
	bool used;
	int64_t seen;	 /* ms */
	int64_t waiting; /* ms: a challenge without an answer since then; 0: none */
	bool sha256;	 /* that challenge offered SHA-256 */
	char user[72], address[48], user_agent[104], method[20];
};

struct pbx_regstate {
	unsigned char key[crypto_generichash_KEYBYTES];
	sqlite3 *db;
	const char *name;
	struct core_authlog *log;
	struct event *sweep;
	int64_t wait; /* ms */
	struct rs_user users[PBX_REGSTATE_USERS];
	struct rs_client clients[PBX_REGSTATE_CLIENTS];
};

/* A checked copy for display: what does not fit ends in "..." (never a key). */
static void rs_copy(char *dst, size_t cap, const char *p, size_t n)
{
	if (n < cap) {
		memcpy(dst, p, n);
		dst[n] = '\0';
	} else {
		memcpy(dst, p, cap - 4);
		memcpy(dst + cap - 4, "...", 4);
	}
}

static uint64_t rs_hash(const struct pbx_regstate *s, struct sip_pl a, struct sip_pl b)
{
	/* a keyed hash of both parts, the first one's length in front */
	crypto_generichash_state st;
	uint64_t h, la = a.l;
	unsigned char out[crypto_generichash_BYTES_MIN];
	crypto_generichash_init(&st, s->key, sizeof(s->key), sizeof(out));
	crypto_generichash_update(&st, (const unsigned char *)&la, sizeof(la));
	if (a.l)
		crypto_generichash_update(&st, (const unsigned char *)a.p, a.l);
	if (b.l)
		crypto_generichash_update(&st, (const unsigned char *)b.p, b.l);
	crypto_generichash_final(&st, out, sizeof(out));
	memcpy(&h, out, sizeof(h));
	return h;
}

static struct rs_user *user_find(struct pbx_regstate *s, struct sip_pl name, bool create)
{
	if (name.l == 0 || name.l >= sizeof(((struct rs_user *)0)->name))
		return NULL; /* no user has such a name */
	uint64_t k = rs_hash(s, name, (struct sip_pl){NULL, 0});
	size_t base = (size_t)(k % PBX_REGSTATE_USERS);
	struct rs_user *u = NULL, *old = NULL;
	for (size_t i = 0; i < REGSTATE_PROBE && !u; i++) {
		struct rs_user *c = &s->users[(base + i) % PBX_REGSTATE_USERS];
		if (c->used && c->key == k)
			u = c;
		else if (!old || !c->used || (old->used && c->seen < old->seen))
			old = c;
	}
	if (!u && create) { /* a free slot, else the least recently seen gives way */
		u = old;
		memset(u, 0, sizeof(*u));
		u->used = true;
		u->key = k;
	}
	if (u) {
		if (!u->name[0])
			rs_copy(u->name, sizeof(u->name), name.p, name.l);
		u->seen = core_now_ms();
	}
	return u;
}

/* The address in "tls 192.0.2.7:5061" or "udp [2001:db8::1]:5060". */
static struct sip_pl source_address(const char *source)
{
	const char *sp = source ? strchr(source, ' ') : NULL;
	const char *colon = sp ? strrchr(sp, ':') : NULL;
	if (!colon)
		return (struct sip_pl){source ? source : "", source ? strlen(source) : 0};
	const char *a = sp + 1;
	size_t n = (size_t)(colon - a);
	if (n >= 2 && a[0] == '[' && a[n - 1] == ']')
		a++, n -= 2;
	return (struct sip_pl){a, n};
}

static struct sip_pl header_value(const struct sip_msg *m, enum sip_hdr_id id)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);
	return h ? h->value : (struct sip_pl){"", 0};
}

/* The user the request speaks for: To's of a REGISTER, else From's. */
static struct sip_pl request_user(const struct sip_msg *m)
{
	struct sip_addr a;
	struct sip_pl rest;
	bool reg = sip_pl_eq(m->method, "REGISTER");
	const struct sip_hdr *h = sip_msg_hdr(m, reg ? SIP_HDR_TO : SIP_HDR_FROM);
	if (h && sip_addr_parse(&a, h->value, &rest) == 0)
		return a.uri.user;
	return (struct sip_pl){"", 0};
}

static struct rs_client *client_find(struct pbx_regstate *s, const struct pbx_regstate_req *q,
				     struct sip_pl user, bool create)
{
	struct sip_pl addr = source_address(q->source);
	uint64_t k = rs_hash(s, addr, user);
	size_t base = (size_t)(k % PBX_REGSTATE_CLIENTS);
	struct rs_client *c = NULL, *old = NULL;
	for (size_t i = 0; i < REGSTATE_PROBE && !c; i++) {
		struct rs_client *x = &s->clients[(base + i) % PBX_REGSTATE_CLIENTS];
		if (x->used && x->key == k)
			c = x;
		else if (!old || !x->used || (old->used && x->seen < old->seen))
			old = x;
	}
	if (!c && create) {
		c = old;
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->key = k;
	}
	if (c)
		c->seen = core_now_ms();
	return c;
}

static void log_event(struct pbx_regstate *s, enum core_authlog_reason why, struct sip_pl user,
		      struct sip_pl addr, struct sip_pl ua, struct sip_pl method,
		      const char *detail)
{
	struct core_authlog_event e = {.reason = why,
				       .phone_system = s->name,
				       .phone_system_len = strlen(s->name),
				       .user = user.p,
				       .user_len = user.l,
				       .address = addr.p,
				       .address_len = addr.l,
				       .user_agent = ua.p,
				       .user_agent_len = ua.l,
				       .method = method.p,
				       .method_len = method.l,
				       .detail = detail};
	core_authlog_failed(s->log, &e, core_now_ms());
}

void pbx_regstate_challenged(struct pbx_regstate *s, const struct pbx_regstate_req *q)
{
	struct sip_pl user = request_user(q->msg);
	struct rs_client *c = client_find(s, q, user, true);
	if (!c || c->waiting)
		return; /* the first unanswered challenge counts from its time */
	c->waiting = core_now_ms();
	c->sha256 = (q->algorithms & 2) != 0;
	struct sip_pl addr = source_address(q->source),
		      ua = header_value(q->msg, SIP_HDR_USER_AGENT);
	rs_copy(c->user, sizeof(c->user), user.p, user.l);
	rs_copy(c->address, sizeof(c->address), addr.p, addr.l);
	rs_copy(c->user_agent, sizeof(c->user_agent), ua.p, ua.l);
	rs_copy(c->method, sizeof(c->method), q->msg->method.p, q->msg->method.l);
}

void pbx_regstate_answered(struct pbx_regstate *s, const struct pbx_regstate_req *q)
{
	struct rs_client *c = client_find(s, q, request_user(q->msg), false);
	if (c)
		c->waiting = 0;
}

static void user_failed(struct rs_user *u, enum core_authlog_reason why, struct sip_pl addr,
			struct sip_pl ua, time_t now)
{
	u->failed = now;
	u->reason = why;
	rs_copy(u->source, sizeof(u->source), addr.p, addr.l);
	rs_copy(u->user_agent, sizeof(u->user_agent), ua.p, ua.l);
}

void pbx_regstate_failed(struct pbx_regstate *s, const struct pbx_regstate_req *q,
			 enum core_authlog_reason why, struct sip_pl user, bool known)
{
	struct sip_pl addr = source_address(q->source),
		      ua = header_value(q->msg, SIP_HDR_USER_AGENT);
	log_event(s, why, user, addr, ua, q->msg->method, NULL);
	struct rs_user *u = known ? user_find(s, user, true) : NULL;
	if (u)
		user_failed(u, why, addr, ua, time(NULL));
}

void pbx_regstate_registered(struct pbx_regstate *s, const char *user, time_t now)
{
	struct rs_user *u = user_find(s, (struct sip_pl){user, strlen(user)}, true);
	if (u) {
		u->registered = now;
		u->hint = false; /* it answers now */
	}
}

/* The sip_username of the user named (by username or extension), or "". */
static void user_named(struct pbx_regstate *s, const char *name, char *out, size_t cap)
{
	sqlite3_stmt *st;
	out[0] = '\0';
	if (sqlite3_prepare_v2(s->db,
			       "SELECT sip_username FROM users WHERE sip_username=?1 OR "
			       "extension=?1 ORDER BY sip_username<>?1 LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* A challenge that offered SHA-256 and had no answer in time. */
static void unanswered(struct pbx_regstate *s, struct rs_client *c)
{
	struct sip_pl user = {c->user, strlen(c->user)}, addr = {c->address, strlen(c->address)};
	struct sip_pl ua = {c->user_agent, strlen(c->user_agent)};
	log_event(s, CORE_AUTHLOG_UNANSWERED_CHALLENGE, user, addr, ua,
		  (struct sip_pl){c->method, strlen(c->method)}, hint_sha256);
	char name[72];
	user_named(s, c->user, name, sizeof(name));
	struct rs_user *u =
		name[0] ? user_find(s, (struct sip_pl){name, strlen(name)}, true) : NULL;
	if (u) {
		user_failed(u, CORE_AUTHLOG_UNANSWERED_CHALLENGE, addr, ua, time(NULL));
		u->hint = true;
	}
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct pbx_regstate *s = arg;
	(void)fd;
	(void)what;
	int64_t now = core_now_ms();
	for (size_t i = 0; i < PBX_REGSTATE_CLIENTS; i++) {
		struct rs_client *c = &s->clients[i];
		if (!c->used || !c->waiting || now - c->waiting < s->wait)
			continue;
		c->waiting = 0;
		if (c->sha256) /* with MD5 alone, nothing to suggest */
			unanswered(s, c);
	}
	core_authlog_sweep(s->log, now);
}

struct pbx_regstate *pbx_regstate_new(struct event_base *base, sqlite3 *db, const char *name)
{
	struct pbx_regstate *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	randombytes_buf(s->key, sizeof(s->key));
	s->db = db;
	s->name = name;
	s->wait = PBX_REGSTATE_ANSWER_WAIT;
	/* test-only: how long a challenge may go unanswered (ms) */
	const char *w = getenv("ZENTRALE_TEST_CHALLENGE_WAIT_MS");
	if (w && atoi(w) > 0)
		s->wait = atoi(w);
	s->log = core_authlog_new();
	s->sweep = base ? event_new(base, -1, EV_PERSIST, on_sweep, s) : NULL;
	if (!s->log || (base && !s->sweep)) {
		pbx_regstate_free(s);
		return NULL;
	}
	if (s->sweep) {
		struct timeval tv = {1, 0};
		event_add(s->sweep, &tv);
	}
	return s;
}

void pbx_regstate_free(struct pbx_regstate *s)
{
	if (!s)
		return;
	if (s->sweep)
		event_free(s->sweep);
	core_authlog_free(s->log);
	free(s);
}

static json_t *devices_json(struct pbx_regstate *s, long long user_id, time_t now)
{
	json_t *out = json_array();
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT contact, expires, user_agent, source FROM bindings "
			       "WHERE user_id=? AND expires>? ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return out;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(out,
				      json_pack("{s:s, s:I, s:s, s:s}", "contact",
						sqlite3_column_text(st, 0), "expires_in",
						(json_int_t)(sqlite3_column_int64(st, 1) - now),
						"user_agent", sqlite3_column_text(st, 2), "source",
						sqlite3_column_text(st, 3)));
	sqlite3_finalize(st);
	return out;
}

json_t *pbx_regstate_json(struct pbx_regstate *s, long long user_id, const char *user, time_t now)
{
	json_t *devs = devices_json(s, user_id, now);
	struct rs_user *u = user_find(s, (struct sip_pl){user, strlen(user)}, false);
	json_t *fail = json_null();
	if (u && u->failed)
		fail = json_pack("{s:I, s:s, s:s, s:s}", "at", (json_int_t)u->failed, "reason",
				 core_authlog_reason_name(u->reason), "address", u->source,
				 "user_agent", u->user_agent);
	return json_pack("{s:i, s:o, s:o, s:o, s:o}", "online", (int)json_array_size(devs),
			 "devices", devs, "last_registration",
			 u && u->registered ? json_integer((json_int_t)u->registered) : json_null(),
			 "last_failure", fail, "hint",
			 u && u->hint ? json_string(hint_sha256) : json_null());
}

json_t *pbx_regstate_attach(struct pbx_regstate *s, json_t *user, time_t now)
{
	const char *name = json_string_value(json_object_get(user, "sip_username"));
	json_int_t id = json_integer_value(json_object_get(user, "id"));
	if (s && name)
		json_object_set_new(user, "registration", pbx_regstate_json(s, id, name, now));
	return user;
}
