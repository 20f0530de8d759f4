/* pbx_trunk_reg — see pbx_trunk_reg.h. */
#include "pbx_trunk_reg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/sys/queue.h>
#include <sodium.h>

#include "../core/core_log.h"
#include "../sip/sip_auth.h"
#include "../sip/sip_build.h"
#include "../sip/sip_hdr.h"
#include "pbx.h"
#include "pbx_trunk.h"

#define TRUNK_MSG_MAX	 8192 /* a REGISTER of ours: values are bounded (API, sip_auth) */
#define TRUNK_HOST_MAX	 (PBX_TRUNK_HOST_MAX + 16)
#define TRUNK_START	 2 /* s: the SBC learns a new trunk by way of the supervisor */
#define TRUNK_REASON_MAX 64

enum trunk_state { ST_UNREGISTERED, ST_REGISTERING, ST_REGISTERED, ST_FAILED, ST_PEER };
static const char *const state_names[] = {"unregistered", "registering", "registered", "failed",
					  "peer"};

/* A trunk as pbx.db had it at the last reload: what a change is compared on. */
struct trunk_conf {
	char name[128], kind[16], transport[8], domain[TRUNK_HOST_MAX], proxy[TRUNK_HOST_MAX];
	char peer0[TRUNK_HOST_MAX], username[72], auth_username[72], password[136];
	int interval;
	bool registers; /* kind register, register on, enabled */
	bool enabled;
};

struct trunk {
	TAILQ_ENTRY(trunk) link;
	long long id;
	struct trunk_conf c;
	char key[18];		   /* the SBC's Contact user part for it */
	char call_id[33], tag[17]; /* constant for the process */
	uint32_t cseq;
	int interval; /* register_interval, or the carrier's Min-Expires */
	/* registration */
	bool want;	 /* to be bound; false: un-REGISTER, then stop */
	bool gone;	 /* replaced or deleted: freed once un-REGISTERed */
	bool bound;	 /* the carrier holds our binding, as far as we know */
	bool in_flight;	 /* a REGISTER waits for its final answer */
	bool answered;	 /* … and it answers a challenge to the one before */
	time_t deadline; /* of the one in flight */
	time_t next;	 /* when the next REGISTER is due; 0: none */
	int asked;	 /* Expires of the one in flight */
	int failures;	 /* in a row */
	char branch[40];
	struct sip_auth_chal chal;
	bool have_chal, chal_proxy;
	uint32_t nc;
	/* status */
	enum trunk_state st;
	int code;
	char reason[TRUNK_REASON_MAX];
	time_t since, expires;
	/* keep-alive */
	char obranch[40], ocall_id[33];
	uint32_t ocseq;
	bool o_in_flight;
	struct timespec o_sent;
	time_t o_next, options_at;
	int rtt_ms; /* -1: none yet, or the last one went unanswered */
};

TAILQ_HEAD(trunkq, trunk);

struct pbx_trunk_reg {
	struct pbx *p;
	struct event *tick;
	void (*send)(void *ctx, const char *buf, size_t len);
	void *ctx;
	bool link;
	struct trunkq trunks; /* owned; at most PBX_TRUNKS_MAX and those leaving */
};

/* ---- the pure part ---- */

enum pbx_trunk_verdict pbx_trunk_reg_verdict(int status, bool answered, bool stale, int min_expires,
					     int asked)
{
	if (status < 200)
		return PBX_TRUNK_WAIT;
	if (status < 300)
		return PBX_TRUNK_OK;
	if ((status == 401 || status == 407) && (!answered || stale))
		return PBX_TRUNK_AUTH;
	if (status == 423 && min_expires > asked && min_expires <= 3600)
		return PBX_TRUNK_MIN_EXPIRES;
	return PBX_TRUNK_FAIL;
}

int pbx_trunk_reg_refresh(int granted)
{
	int at = granted * 4 / 5;
	if (granted - 30 < at)
		at = granted - 30;
	if (at < granted / 2)
		at = granted / 2;
	return at < 1 ? 1 : at;
}

int pbx_trunk_reg_backoff(int failures)
{
	int s = 30;
	for (int i = 1; i < failures && s < PBX_TRUNK_BACKOFF_MAX; i++)
		s *= 2;
	return s > PBX_TRUNK_BACKOFF_MAX ? PBX_TRUNK_BACKOFF_MAX : s;
}

/* expires= of a Contact's parameters: its value, or -1. */
static int contact_expires(const struct sip_addr *a)
{
	struct sip_pl v;
	if (!sip_param_get(a->params, "expires", &v))
		return -1;
	int64_t n = sip_pl_u64(v, 86400 * 7);
	return n < 0 ? -1 : (int)n;
}

int pbx_trunk_reg_granted(const struct sip_msg *m, const char *contact_user, int asked)
{
	int ours = -1, only = -1, contacts = 0;
	for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTACT); h;
	     h = sip_msg_hdr_next(m, h)) {
		struct sip_pl rest = h->value;
		struct sip_addr a;
		while (rest.l && contacts < 64 && sip_addr_parse(&a, rest, &rest) == 0) {
			contacts++;
			int e = contact_expires(&a);
			only = e;
			if (sip_pl_eq(a.uri.user, contact_user))
				ours = e;
		}
	}
	if (ours > 0)
		return ours;
	if (contacts == 1 && only > 0)
		return only;
	const struct sip_hdr *e = sip_msg_hdr(m, SIP_HDR_EXPIRES);
	int64_t n = e ? sip_pl_u64(e->value, 86400 * 7) : -1;
	return n > 0 ? (int)n : asked;
}

void pbx_trunk_reg_key(const char *ps, long long id, char out[18])
{
	char in[256];
	unsigned char h[crypto_hash_sha256_BYTES];
	int n = snprintf(in, sizeof(in), "zentrale-trunk:%s/%lld", ps, id);
	crypto_hash_sha256(h, (const unsigned char *)in, (unsigned long long)n);
	out[0] = 'z';
	sodium_bin2hex(out + 1, 17, h, 8);
}

/* ---- helpers ---- */

static void rnd_hex(char *out, size_t bytes)
{
	unsigned char r[16];
	randombytes_buf(r, bytes);
	sodium_bin2hex(out, bytes * 2 + 1, r, bytes);
}

static long long ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void set_state(struct trunk *t, enum trunk_state st, int code, const char *reason,
		      time_t now)
{
	if (t->st != st)
		t->since = now;
	t->st = st;
	t->code = code;
	if (reason != t->reason)
		snprintf(t->reason, sizeof(t->reason), "%s", reason);
}

/* The answer's reason phrase, if it is short printable ASCII; else the
 * standard phrase of its status (a phrase from the wire is shown in the
 * API, never cut). */
static void answer_reason(const struct sip_msg *m, char out[TRUNK_REASON_MAX])
{
	bool ok = m->reason.l > 0 && m->reason.l < TRUNK_REASON_MAX;
	for (size_t i = 0; ok && i < m->reason.l; i++)
		ok = m->reason.p[i] >= 0x20 && m->reason.p[i] < 0x7f;
	if (ok)
		snprintf(out, TRUNK_REASON_MAX, "%.*s", (int)m->reason.l, m->reason.p);
	else
		snprintf(out, TRUNK_REASON_MAX, "%s", sip_reason(m->status));
}

/* The host a trunk's requests name: its domain, else its first peer. */
static const char *trunk_host(const struct trunk *t)
{
	return t->c.domain[0] ? t->c.domain : t->c.peer0;
}

static void trunk_send(struct pbx_trunk_reg *r, const char *buf, int n, const struct trunk *t)
{
	if (n <= 0 || n >= TRUNK_MSG_MAX) {
		log_warn("trunk %s: a request does not fit; not sent", t->c.name);
		return;
	}
	r->send(r->ctx, buf, (size_t)n);
}

/* ---- REGISTER ---- */

static void send_register(struct pbx_trunk_reg *r, struct trunk *t, bool answering, time_t now)
{
	char buf[TRUNK_MSG_MAX], auth[4096] = "", uri[TRUNK_HOST_MAX + 8];
	snprintf(t->branch, sizeof(t->branch), PBX_TRUNK_BRANCH "r");
	rnd_hex(t->branch + strlen(t->branch), 8);
	snprintf(uri, sizeof(uri), "sip:%s", t->c.domain);
	t->asked = t->want ? t->interval : 0;
	t->cseq++;
	if (t->have_chal) {
		char cnonce[17];
		rnd_hex(cnonce, 8);
		const char *user = t->c.auth_username[0] ? t->c.auth_username : t->c.username;
		int a = sip_auth_answer(&t->chal, "REGISTER", uri, user, t->c.password, cnonce,
					++t->nc, auth, sizeof(auth));
		if (a < 0) {
			log_warn("trunk %s: no answer fits the carrier's challenge", t->c.name);
			auth[0] = '\0';
		}
	}
	int n = snprintf(buf, sizeof(buf),
			 "REGISTER %s SIP/2.0\r\n"
			 "Via: SIP/2.0/TCP pbx.invalid;branch=%s\r\n"
			 "Route: <sip:trunk.%lld@sbc.invalid;lr>\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:%s@%s>;tag=%s\r\n"
			 "To: <sip:%s@%s>\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u REGISTER\r\n"
			 "Contact: <sip:pbx@%s>\r\n"
			 "Expires: %d\r\n"
			 "%s%s%s"
			 "User-Agent: Zentrale\r\n"
			 "Content-Length: 0\r\n\r\n",
			 uri, t->branch, t->id, t->c.username, t->c.domain, t->tag, t->c.username,
			 t->c.domain, t->call_id, t->cseq, r->p->name, t->asked,
			 auth[0] ? (t->chal_proxy ? "Proxy-Authorization: " : "Authorization: ")
				 : "",
			 auth, auth[0] ? "\r\n" : "");
	trunk_send(r, buf, n, t);
	t->in_flight = true;
	t->answered = answering;
	t->deadline = now + PBX_TRUNK_TIMEOUT;
	t->next = 0;
	if (t->want && t->st != ST_REGISTERED && t->st != ST_FAILED)
		set_state(t, ST_REGISTERING, t->code, t->reason, now);
}

static void reg_failed(struct trunk *t, int code, const char *reason, time_t now)
{
	t->have_chal = false; /* the next attempt starts without credentials */
	t->bound = false;
	if (!t->want) {
		set_state(t, ST_UNREGISTERED, code, reason, now);
		return;
	}
	t->failures++;
	t->next = now + pbx_trunk_reg_backoff(t->failures);
	set_state(t, ST_FAILED, code, reason, now);
	log_warn("trunk %s: registration failed (%d %s); again in %d s", t->c.name, code, reason,
		 (int)(t->next - now));
}

static void reg_answer(struct pbx_trunk_reg *r, struct trunk *t, const struct sip_msg *m,
		       time_t now)
{
	char reason[TRUNK_REASON_MAX];
	struct sip_auth_chal ch;
	bool chal_ok = false;
	if (m->status == 401 || m->status == 407)
		chal_ok = sip_auth_chal_pick(m, &ch) == 0;
	const struct sip_hdr *me = sip_msg_hdr_named(m, "Min-Expires");
	int min_expires = me ? (int)sip_pl_u64(me->value, 86400) : -1;
	enum pbx_trunk_verdict v = pbx_trunk_reg_verdict(
		m->status, t->answered, chal_ok && ch.stale, min_expires, t->asked);
	if (v == PBX_TRUNK_WAIT)
		return;
	t->in_flight = false;
	answer_reason(m, reason);
	if (v == PBX_TRUNK_AUTH && chal_ok) {
		t->chal = ch;
		t->have_chal = true;
		t->chal_proxy = m->status == 407;
		t->nc = 0;
		send_register(r, t, true, now);
	} else if (v == PBX_TRUNK_MIN_EXPIRES) {
		t->interval = min_expires;
		send_register(r, t, false, now);
	} else if (v == PBX_TRUNK_OK && t->want) {
		int granted = pbx_trunk_reg_granted(m, t->key, t->asked);
		t->bound = true;
		t->failures = 0;
		t->expires = now + granted;
		t->next = now + pbx_trunk_reg_refresh(granted);
		if (t->st != ST_REGISTERED)
			log_info("trunk %s: registered for %d s", t->c.name, granted);
		set_state(t, ST_REGISTERED, m->status, reason, now);
	} else if (v == PBX_TRUNK_OK) {
		t->bound = false;
		set_state(t, ST_UNREGISTERED, m->status, reason, now);
		log_info("trunk %s: unregistered", t->c.name);
	} else {
		reg_failed(t, m->status, reason, now);
	}
}

/* ---- OPTIONS ---- */

static void send_options(struct pbx_trunk_reg *r, struct trunk *t, time_t now)
{
	char buf[TRUNK_MSG_MAX];
	const char *host = trunk_host(t);
	if (t->o_in_flight) { /* the last one went unanswered */
		t->rtt_ms = -1;
		t->options_at = now;
	}
	snprintf(t->obranch, sizeof(t->obranch), PBX_TRUNK_BRANCH "o");
	rnd_hex(t->obranch + strlen(t->obranch), 8);
	int n = snprintf(buf, sizeof(buf),
			 "OPTIONS sip:%s SIP/2.0\r\n"
			 "Via: SIP/2.0/TCP pbx.invalid;branch=%s\r\n"
			 "Route: <sip:trunk.%lld@sbc.invalid;lr>\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:%s@%s>;tag=%s\r\n"
			 "To: <sip:%s>\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u OPTIONS\r\n"
			 "Contact: <sip:pbx@%s>\r\n"
			 "Accept: application/sdp\r\n"
			 "User-Agent: Zentrale\r\n"
			 "Content-Length: 0\r\n\r\n",
			 host, t->obranch, t->id, t->c.username[0] ? t->c.username : "pbx", host,
			 t->tag, host, t->ocall_id, ++t->ocseq, r->p->name);
	trunk_send(r, buf, n, t);
	t->o_in_flight = true;
	clock_gettime(CLOCK_MONOTONIC, &t->o_sent);
	t->o_next = now + PBX_TRUNK_OPTIONS_INTERVAL;
}

static void options_answer(struct trunk *t, const struct sip_msg *m, time_t now)
{
	if (m->status < 200 || !t->o_in_flight)
		return;
	t->o_in_flight = false;
	t->options_at = now;
	/* any final answer is the carrier's, but a 408 is the SBC's own: none came */
	long long ms = ms_since(&t->o_sent);
	t->rtt_ms = m->status == 408 ? -1 : (int)(ms > 600000 ? 600000 : ms);
}

/* ---- the list ---- */

static void trunk_free(struct pbx_trunk_reg *r, struct trunk *t)
{
	TAILQ_REMOVE(&r->trunks, t, link);
	sodium_memzero(t->c.password, sizeof(t->c.password));
	sodium_memzero(&t->chal, sizeof(t->chal));
	free(t);
}

/* The one of id that is not leaving, or NULL. */
static struct trunk *trunk_find(struct pbx_trunk_reg *r, long long id)
{
	struct trunk *t;
	TAILQ_FOREACH(t, &r->trunks, link)
	if (t->id == id && !t->gone)
		return t;
	return NULL;
}

/* t is to leave: un-REGISTER it now if the carrier may hold a binding
 * (before the SBC hears the trunk is gone: pbx_trunk_reg_reload runs
 * before the announce), else it is freed. */
static void trunk_leave(struct pbx_trunk_reg *r, struct trunk *t, time_t now)
{
	t->gone = true;
	t->want = false;
	t->o_in_flight = false;
	if (!t->bound && !t->in_flight) {
		trunk_free(r, t);
		return;
	}
	t->next = now;
	if (r->link && !t->in_flight)
		send_register(r, t, false, now);
}

static void tick_trunk(struct pbx_trunk_reg *r, struct trunk *t, time_t now)
{
	if (t->in_flight && now >= t->deadline) {
		t->in_flight = false;
		reg_failed(t, 408, "No answer", now);
	}
	if (r->link && !t->in_flight && t->next && now >= t->next)
		send_register(r, t, false, now);
	if (r->link && !t->gone && t->c.enabled && now >= t->o_next)
		send_options(r, t, now);
}

void pbx_trunk_reg_run(struct pbx_trunk_reg *r, time_t now)
{
	struct trunk *t, *tmp;
	TAILQ_FOREACH_SAFE(t, &r->trunks, link, tmp)
	{
		tick_trunk(r, t, now);
		if (t->gone && !t->in_flight && !t->bound)
			trunk_free(r, t);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pbx_trunk_reg_run(arg, time(NULL));
}

void pbx_trunk_reg_response(struct pbx_trunk_reg *r, const struct sip_msg *m)
{
	struct sip_answer_key k;
	if (!r || sip_answer_key(m, &k) < 0)
		return;
	time_t now = time(NULL);
	struct trunk *t;
	TAILQ_FOREACH(t, &r->trunks, link)
	{
		if (t->in_flight && sip_pl_eq(k.branch, t->branch) &&
		    sip_pl_eq(k.method, "REGISTER")) {
			reg_answer(r, t, m, now);
			if (t->gone && !t->in_flight && !t->bound)
				trunk_free(r, t);
			return;
		}
		if (sip_pl_eq(k.branch, t->obranch) && sip_pl_eq(k.method, "OPTIONS")) {
			options_answer(t, m, now);
			return;
		}
	}
	/* a late answer to a request we gave up on, or a retransmission: nothing to do */
}

void pbx_trunk_reg_link(struct pbx_trunk_reg *r, bool up)
{
	if (!r || r->link == up)
		return;
	r->link = up;
	if (!up)
		return;
	/* a new SBC: its trunk sockets are new, so every binding is made again */
	time_t now = time(NULL);
	int i = 0;
	struct trunk *t;
	TAILQ_FOREACH(t, &r->trunks, link)
	{
		t->in_flight = false; /* its answer went with the old connection */
		t->o_in_flight = false;
		if (t->want)
			t->next = now + TRUNK_START;
		t->o_next = now + TRUNK_START + i++ % 5;
	}
}

/* ---- reading pbx.db ---- */

static bool col_copy(sqlite3_stmt *st, int col, char *out, size_t cap)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	size_t n = s ? strlen(s) : 0;
	if (n >= cap)
		return false;
	memcpy(out, s ? s : "", n + 1);
	return true;
}

/* The first peer of a JSON list ("" if none); false if it does not fit. */
static bool first_peer(sqlite3_stmt *st, int col, char *out, size_t cap)
{
	const char *text = (const char *)sqlite3_column_text(st, col);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	const char *p = json_string_value(json_array_get(j, 0));
	bool ok = !p || strlen(p) < cap;
	snprintf(out, cap, "%s", ok && p ? p : "");
	json_decref(j);
	return ok;
}

static bool conf_read(sqlite3_stmt *st, struct trunk_conf *c)
{
	memset(c, 0, sizeof(*c));
	bool ok = col_copy(st, 1, c->name, sizeof(c->name)) &&
		  col_copy(st, 2, c->kind, sizeof(c->kind)) &&
		  col_copy(st, 3, c->transport, sizeof(c->transport)) &&
		  col_copy(st, 4, c->domain, sizeof(c->domain)) &&
		  col_copy(st, 5, c->proxy, sizeof(c->proxy)) &&
		  col_copy(st, 6, c->username, sizeof(c->username)) &&
		  col_copy(st, 7, c->auth_username, sizeof(c->auth_username)) &&
		  col_copy(st, 8, c->password, sizeof(c->password)) &&
		  first_peer(st, 11, c->peer0, sizeof(c->peer0));
	c->interval = sqlite3_column_int(st, 10);
	c->enabled = sqlite3_column_int(st, 12) != 0;
	c->registers = c->enabled && strcmp(c->kind, "register") == 0 &&
		       sqlite3_column_int(st, 9) != 0 && c->domain[0] && c->username[0];
	if (c->interval < 60 || c->interval > 3600)
		c->interval = 600;
	return ok;
}

static bool conf_equal(const struct trunk_conf *a, const struct trunk_conf *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->kind, b->kind) == 0 &&
	       strcmp(a->transport, b->transport) == 0 && strcmp(a->domain, b->domain) == 0 &&
	       strcmp(a->proxy, b->proxy) == 0 && strcmp(a->peer0, b->peer0) == 0 &&
	       strcmp(a->username, b->username) == 0 &&
	       strcmp(a->auth_username, b->auth_username) == 0 &&
	       strcmp(a->password, b->password) == 0 && a->interval == b->interval &&
	       a->registers == b->registers && a->enabled == b->enabled;
}

static struct trunk *trunk_new(struct pbx_trunk_reg *r, long long id, const struct trunk_conf *c,
			       time_t now)
{
	struct trunk *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->id = id;
	t->c = *c;
	t->interval = c->interval;
	pbx_trunk_reg_key(r->p->name, id, t->key);
	rnd_hex(t->call_id, 16);
	rnd_hex(t->ocall_id, 16);
	rnd_hex(t->tag, 8);
	t->rtt_ms = -1;
	t->want = c->registers;
	t->next = t->want ? now + TRUNK_START : 0;
	t->o_next = now + TRUNK_START;
	t->st = !c->enabled		       ? ST_UNREGISTERED
		: strcmp(c->kind, "peer") == 0 ? ST_PEER
		: c->registers		       ? ST_REGISTERING
					       : ST_UNREGISTERED;
	t->since = now;
	TAILQ_INSERT_TAIL(&r->trunks, t, link);
	return t;
}

static void reload(struct pbx_trunk_reg *r)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(r->p->db,
			       "SELECT id, name, kind, transport, domain, proxy, username, "
			       "auth_username, password, register, register_interval, peers, "
			       "enabled FROM trunks ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK) {
		log_error("trunks: cannot read them: %s", sqlite3_errmsg(r->p->db));
		return;
	}
	time_t now = time(NULL);
	struct trunk *t, *tmp;
	struct trunkq seen = TAILQ_HEAD_INITIALIZER(seen);
	int rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW && rows++ < PBX_TRUNKS_MAX) {
		long long id = sqlite3_column_int64(st, 0);
		struct trunk_conf c;
		if (!conf_read(st, &c)) {
			log_warn("trunks: trunk %lld has an oversized value; left out", id);
			continue;
		}
		struct trunk *old = trunk_find(r, id);
		if (old && conf_equal(&old->c, &c)) {
			TAILQ_REMOVE(&r->trunks, old, link);
			TAILQ_INSERT_TAIL(&seen, old, link);
			continue;
		}
		if (old)
			trunk_leave(r, old, now); /* changed: the old binding goes first */
		if ((t = trunk_new(r, id, &c, now))) {
			TAILQ_REMOVE(&r->trunks, t, link);
			TAILQ_INSERT_TAIL(&seen, t, link);
		}
		sodium_memzero(c.password, sizeof(c.password));
	}
	sqlite3_finalize(st);
	/* what is left in the list and not leaving yet was deleted */
	TAILQ_FOREACH_SAFE(t, &r->trunks, link, tmp)
	if (!t->gone)
		trunk_leave(r, t, now);
	TAILQ_CONCAT(&r->trunks, &seen, link);
}

void pbx_trunk_reg_reload(struct pbx *p)
{
	if (p->trunk_reg)
		reload(p->trunk_reg);
}

/* ---- status ---- */

static json_t *time_or_null(time_t t)
{
	return t ? json_integer((json_int_t)t) : json_null();
}

json_t *pbx_trunk_reg_status(struct pbx *p, long long id)
{
	struct trunk *t = p->trunk_reg ? trunk_find(p->trunk_reg, id) : NULL;
	if (!t)
		return json_null();
	return json_pack("{s:s, s:i, s:s, s:I, s:o, s:o, s:o}", "state", state_names[t->st], "code",
			 t->code, "reason", t->reason, "since", (json_int_t)t->since, "expires",
			 time_or_null(t->st == ST_REGISTERED ? t->expires : 0), "options_rtt_ms",
			 t->rtt_ms >= 0 ? json_integer(t->rtt_ms) : json_null(), "options_at",
			 time_or_null(t->options_at));
}

json_t *pbx_trunk_reg_stats(struct pbx *p)
{
	json_t *list = json_array();
	struct trunk *t;
	if (!p->trunk_reg)
		return list;
	TAILQ_FOREACH(t, &p->trunk_reg->trunks, link)
	{
		if (t->gone)
			continue;
		json_array_append_new(
			list,
			json_pack("{s:s, s:b, s:b, s:o}", "name", t->c.name, "registers", t->want,
				  "registered", t->st == ST_REGISTERED, "options_rtt_ms",
				  t->rtt_ms >= 0 ? json_integer(t->rtt_ms) : json_null()));
	}
	return list;
}

/* ---- life ---- */

struct pbx_trunk_reg *pbx_trunk_reg_new(struct pbx *p, struct event_base *base,
					void (*send)(void *ctx, const char *buf, size_t len),
					void *ctx)
{
	struct pbx_trunk_reg *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->p = p;
	r->send = send;
	r->ctx = ctx;
	TAILQ_INIT(&r->trunks);
	r->tick = event_new(base, -1, EV_PERSIST, on_tick, r);
	struct timeval tv = {1, 0};
	if (!r->tick || event_add(r->tick, &tv) < 0) {
		if (r->tick)
			event_free(r->tick);
		free(r);
		return NULL;
	}
	reload(r);
	return r;
}

void pbx_trunk_reg_free(struct pbx_trunk_reg *r)
{
	if (!r)
		return;
	time_t now = time(NULL);
	struct trunk *t;
	while ((t = TAILQ_FIRST(&r->trunks))) {
		if (r->link && t->bound) { /* one last request, not waited for */
			t->want = false;
			send_register(r, t, false, now);
		}
		trunk_free(r, t);
	}
	event_free(r->tick);
	free(r);
}
