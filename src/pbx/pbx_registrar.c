/* pbx_registrar — see pbx_registrar.h. Steps follow RFC 3261 10.3. */
#include "pbx_registrar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../sip/sip_build.h"
#include "../sip/sip_hdr.h"

#define REG_MAX_CONTACTS 16 /* in one request */

#define reg_user pbx_reg_user

/* Refreshes kept in memory (docs/architecture.md, "Refreshes without a
 * write"): the newest Call-ID (a keyed hash) and CSeq a refresh accepted
 * for a binding whose row it did not rewrite, so that the ordering check
 * (RFC 3261 10.3 step 7) sees them. Keyed by the row's id, which SQLite
 * picks, and valid only for the row's stored expiry it was made for: a row
 * written again, or removed and its id reused, no longer matches. */
struct pbx_reg_seen {
	struct pbx_reg_seen *next;
	long long row;
	int64_t expires;
	uint64_t call_id;
	uint32_t cseq;
};
#define REG_SEEN_BUCKETS 4096 /* a power of two */
#define REG_SEEN_MAX	 100000

static uint64_t callid_hash(const struct pbx_registrar *r, const char *p, size_t n)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)p, n, r->seen_key);
	return h;
}

static struct pbx_reg_seen **seen_slot(struct pbx_registrar *r, long long row)
{
	struct pbx_reg_seen **pp = &r->seen[(uint64_t)row * 0x9e3779b97f4a7c15ULL >> 52];
	while (*pp && (*pp)->row != row)
		pp = &(*pp)->next;
	return pp;
}

/* The row is being written or removed: what memory kept for it is void. */
static void seen_forget(struct pbx_registrar *r, long long row)
{
	struct pbx_reg_seen **pp = seen_slot(r, row), *e = *pp;
	if (e) {
		*pp = e->next;
		free(e);
		r->nseen--;
	}
}

/* Entries of rows that have expired (the purge removes those rows). */
static void seen_sweep(struct pbx_registrar *r, time_t now)
{
	for (size_t b = 0; b < REG_SEEN_BUCKETS; b++)
		for (struct pbx_reg_seen **pp = &r->seen[b]; *pp;) {
			struct pbx_reg_seen *e = *pp;
			if (e->expires > (int64_t)now) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			free(e);
			r->nseen--;
		}
}

/* The newest Call-ID and CSeq accepted for a row: the row's own, or what a
 * refresh since kept in memory. */
static void seen_newest(struct pbx_registrar *r, long long row, int64_t expires,
			const char *row_callid, uint32_t row_cseq, uint64_t *call_id,
			uint32_t *cseq)
{
	struct pbx_reg_seen *e = *seen_slot(r, row);
	if (e && e->expires == expires) {
		*call_id = e->call_id;
		*cseq = e->cseq;
	} else {
		*call_id = callid_hash(r, row_callid, strlen(row_callid));
		*cseq = row_cseq;
	}
}

int pbx_registrar_init(struct pbx_registrar *r, sqlite3 *db, const char *realm)
{
	r->db = db;
	r->realm = realm;
	char v[64];
	if (core_db_setting_get(db, "digest_algorithms", v, sizeof(v)) < 0 ||
	    pbx_registrar_set_algorithms(r, v) < 0)
		r->algorithms = 3;
	r->nonces = sip_nonces_new(PBX_REG_NONCE_LIFETIME);
	_Static_assert(sizeof(r->seen_key) == crypto_shorthash_KEYBYTES, "seen_key");
	crypto_shorthash_keygen(r->seen_key);
	r->seen = calloc(REG_SEEN_BUCKETS, sizeof(*r->seen));
	r->nseen = 0;
	return r->nonces && r->seen ? 0 : -1;
}

int pbx_registrar_set_algorithms(struct pbx_registrar *r, const char *list)
{
	unsigned algs = 0;
	char copy[64], *save = NULL;
	snprintf(copy, sizeof(copy), "%s", list);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "MD5") == 0)
			algs |= 1;
		else if (strcmp(t, "SHA-256") == 0)
			algs |= 2;
		else
			return -1;
	}
	if (!algs)
		return -1;
	r->algorithms = algs;
	return 0;
}

void pbx_registrar_free(struct pbx_registrar *r)
{
	sip_nonces_free(r->nonces);
	r->nonces = NULL;
	if (r->seen) {
		seen_sweep(r, (time_t)INT64_MAX);
		free(r->seen);
		r->seen = NULL;
	}
}

static int reply(const struct sip_msg *req, int status, const char *reason, const char *extra,
		 const struct pbx_reg_source *src, char *out, size_t cap)
{
	char tag[SIP_TAG_LEN + 1];
	sip_build_tag(tag);
	struct sip_response_opts o = {.reason = reason,
				      .to_tag = tag,
				      .extra_headers = extra,
				      .src_addr = src->src_addr,
				      .src_port = src->src_port};
	return sip_build_response(req, status, &o, out, cap);
}

/* 401 with a fresh nonce, offering MD5 and SHA-256 (RFC 8760). MD5 comes
 * first: many phones (and sipp) answer the first challenge only and fail on
 * one they cannot do; clients that can do SHA-256 may still choose it. */
static int challenge(struct pbx_registrar *r, const struct sip_msg *req, bool stale,
		     const struct pbx_reg_source *src, time_t now, char *out, size_t cap)
{
	char nonce[SIP_NONCE_LEN], c[256], extra[600] = "";
	size_t o = 0;
	sip_nonces_make(r->nonces, r->realm, now, nonce);
	for (int alg = 0; alg < 2; alg++) {
		if (!(r->algorithms & (1u << alg)))
			continue;
		sip_auth_challenge(alg, r->realm, nonce, stale, c, sizeof(c));
		int n = snprintf(extra + o, sizeof(extra) - o, "WWW-Authenticate: %s\r\n", c);
		if (n > 0 && (size_t)n < sizeof(extra) - o)
			o += (size_t)n;
	}
	return reply(req, 401, NULL, extra, src, out, cap);
}

/* Unknown user, disabled user and wrong password look the same from outside.
 * The mark tells the SBC (which drops it on the way out) that this answer
 * counts towards blocking the address; other 403s do not. */
static int forbidden(const struct sip_msg *req, const struct pbx_reg_source *src, char *out,
		     size_t cap)
{
	return reply(req, 403, NULL, "X-Zentrale-Auth-Failed: 1\r\n", src, out, cap);
}

static int user_lookup(struct pbx_registrar *r, struct sip_pl name, struct reg_user *u)
{
	int found = -1;
	sqlite3_stmt *st = core_db_stmt(r->db, "SELECT id, sip_username, extension, ha1_md5, "
					       "ha1_sha256, enabled, display_name "
					       "FROM users WHERE sip_username=?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name.p, (int)name.l, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		u->id = sqlite3_column_int64(st, 0);
		snprintf(u->username, sizeof(u->username), "%s", sqlite3_column_text(st, 1));
		snprintf(u->extension, sizeof(u->extension), "%s", sqlite3_column_text(st, 2));
		snprintf(u->display_name, sizeof(u->display_name), "%s",
			 sqlite3_column_text(st, 6));
		snprintf(u->ha1[0], SIP_AUTH_HEX_MAX, "%s", sqlite3_column_text(st, 3));
		snprintf(u->ha1[1], SIP_AUTH_HEX_MAX, "%s", sqlite3_column_text(st, 4));
		u->enabled = sqlite3_column_int(st, 5) != 0;
		found = 0;
	}
	sqlite3_reset(st);
	return found;
}

/* What pbx_regstate learns of an attempt: nothing, a challenge to a request
 * that answered none, an answer (good or not), a failure and its reason. */
struct auth_note {
	enum { NOTE_NONE, NOTE_CHALLENGED, NOTE_ANSWERED, NOTE_FAILED } kind;
	enum core_authlog_reason why;
	struct sip_pl user;
	bool known;
};

static int auth_check(struct pbx_registrar *r, const struct sip_msg *req,
		      const struct pbx_reg_source *src, time_t now, struct pbx_reg_user *u,
		      char *out, size_t cap, struct auth_note *note)
{
	const struct sip_hdr *ah = sip_msg_hdr(req, SIP_HDR_AUTHORIZATION);
	struct sip_auth_creds c;
	note->kind = NOTE_CHALLENGED;
	if (!ah || sip_auth_parse(ah->value, &c) < 0 || !sip_pl_eq(c.realm, r->realm))
		return challenge(r, req, false, src, now, out, cap);
	int fresh = sip_nonces_check(r->nonces, r->realm, c.nonce, now);
	int alg = sip_auth_alg(c.algorithm);
	note->kind = NOTE_ANSWERED;
	note->user = c.username;
	if (fresh == 0 && (alg < 0 || !(r->algorithms & (1u << alg)))) {
		note->kind = NOTE_FAILED, note->why = CORE_AUTHLOG_UNSUPPORTED_ALGORITHM;
		note->known = user_lookup(r, c.username, u) == 0;
	}
	if (fresh < 0 || alg < 0 || !(r->algorithms & (1u << alg)))
		return challenge(r, req, false, src, now, out, cap);
	if (fresh > 0)
		return challenge(r, req, true, src, now, out, cap);
	/* The digest covers the uri the client names; it is not required to equal
	 * the Request-URI, which several clients (sipp among them) do not use.
	 * Replays are stopped by the nonce counts. */
	char want[SIP_AUTH_HEX_MAX];
	bool known = user_lookup(r, c.username, u) == 0;
	/* the same work for an unknown user, so timing tells nothing */
	const char *ha1 = known ? u->ha1[alg] : "00000000000000000000000000000000";
	if (sip_auth_response(alg, ha1, req->method, &c, want) < 0)
		return challenge(r, req, false, src, now, out, cap);
	if (!sip_auth_response_ok(&c, want) || !known || !u->enabled) {
		note->kind = NOTE_FAILED, note->known = known;
		note->why = !known			      ? CORE_AUTHLOG_UNKNOWN_USER
			    : !sip_auth_response_ok(&c, want) ? CORE_AUTHLOG_WRONG_PASSWORD
							      : CORE_AUTHLOG_DISABLED_USER;
		return forbidden(req, src, out, cap);
	}
	if (sip_nonces_use(r->nonces, c.nonce, c.nc) < 0)
		return challenge(r, req, true, src, now, out, cap); /* a replay */
	/* REGISTER: the To URI names this user; anything else: From does (by
	 * username or extension) — nobody speaks for another */
	struct sip_addr who;
	struct sip_pl rest;
	bool reg = sip_pl_eq(req->method, "REGISTER");
	if (sip_addr_parse(&who, sip_msg_hdr(req, reg ? SIP_HDR_TO : SIP_HDR_FROM)->value, &rest) <
		    0 ||
	    !(sip_pl_eq(who.uri.user, u->username) || sip_pl_eq(who.uri.user, u->extension))) {
		note->kind = NOTE_FAILED, note->why = CORE_AUTHLOG_WRONG_IDENTITY,
		note->known = true;
		return forbidden(req, src, out, cap);
	}
	return 0;
}

int pbx_registrar_auth(struct pbx_registrar *r, const struct sip_msg *req,
		       const struct pbx_reg_source *src, time_t now, struct pbx_reg_user *u,
		       char *out, size_t cap)
{
	struct auth_note note = {.kind = NOTE_NONE};
	int n = auth_check(r, req, src, now, u, out, cap, &note);
	struct pbx_regstate_req q = {req, src->source, r->algorithms};
	if (!r->state)
		return n;
	if (note.kind == NOTE_CHALLENGED)
		pbx_regstate_challenged(r->state, &q);
	else if (note.kind != NOTE_NONE)
		pbx_regstate_answered(r->state, &q);
	if (note.kind == NOTE_FAILED)
		pbx_regstate_failed(r->state, &q, note.why, note.user, note.known);
	return n;
}

/* Steps 1-5: who is asking, and may they change this address-of-record? */
static int authenticate(struct pbx_registrar *r, const struct sip_msg *req,
			const struct pbx_reg_source *src, time_t now, struct reg_user *u, char *out,
			size_t cap)
{
	return pbx_registrar_auth(r, req, src, now, u, out, cap);
}

struct reg_contact {
	struct sip_pl uri;
	int64_t expires;
};

/* Steps 6-7 input: the contacts and their expiry; 0, or the status of a bad request. */
static int read_contacts(const struct sip_msg *req, struct reg_contact *cs, int *n, bool *star,
			 int64_t *too_brief)
{
	int64_t dflt = PBX_REG_MAX_EXPIRES;
	const struct sip_hdr *eh = sip_msg_hdr(req, SIP_HDR_EXPIRES);
	if (eh) {
		dflt = sip_pl_u64(eh->value, 0xffffffffLL);
		if (dflt < 0)
			return 400;
	}
	*n = 0;
	*star = false;
	*too_brief = 0;
	for (const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_CONTACT); h;
	     h = sip_msg_hdr_next(req, h)) {
		if (sip_pl_eq(h->value, "*")) {
			*star = true;
			continue;
		}
		struct sip_pl v = h->value, rest, ev;
		do {
			struct sip_addr a;
			if (sip_addr_parse(&a, v, &rest) < 0 || *n >= REG_MAX_CONTACTS)
				return 400;
			int64_t e = dflt;
			if (sip_param_get(a.params, "expires", &ev) &&
			    (e = sip_pl_u64(ev, 0xffffffffLL)) < 0)
				return 400;
			if (e > PBX_REG_MAX_EXPIRES)
				e = PBX_REG_MAX_EXPIRES;
			if (e > 0 && e < PBX_REG_MIN_EXPIRES)
				*too_brief = 1;
			cs[(*n)++] = (struct reg_contact){a.uri_pl, e};
			v = rest;
		} while (v.l);
	}
	/* "*" only alone, and only to remove everything (Expires: 0) */
	if (*star && (*n > 0 || !eh || dflt != 0))
		return 400;
	return 0;
}

static int bind_exec(struct pbx_registrar *r, const char *sql, long long user,
		     struct sip_pl contact)
{
	sqlite3_stmt *st = core_db_stmt(r->db, sql);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user);
	if (contact.p)
		sqlite3_bind_text(st, 2, contact.p, (int)contact.l, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
	if (rc == 0)
		r->writes += sqlite3_changes(r->db) > 0;
	return rc;
}

static int purge_user(struct pbx_registrar *r, long long user, time_t now)
{
	sqlite3_stmt *st =
		core_db_stmt(r->db, "DELETE FROM bindings WHERE user_id=? AND expires<=?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
	return rc;
}

/* One binding as stored, read by (user, contact). */
struct reg_row {
	long long id;
	int64_t expires;
	uint64_t call_id; /* the newest accepted (seen_newest) */
	uint32_t cseq;
	bool same_flow; /* path, source and user agent as in this request */
};

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t ? t : "";
}

/* 1 with the row, 0 if there is none, -1 on error. */
static int bind_read(struct pbx_registrar *r, const struct sip_msg *req,
		     const struct pbx_reg_source *src, long long user, struct sip_pl contact,
		     struct reg_row *row)
{
	sqlite3_stmt *st = core_db_stmt(r->db, "SELECT id, call_id, cseq, expires, path, source, "
					       "user_agent FROM bindings "
					       "WHERE user_id=? AND contact=?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_text(st, 2, contact.p, (int)contact.l, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const struct sip_hdr *ua = sip_msg_hdr(req, SIP_HDR_USER_AGENT);
		row->id = sqlite3_column_int64(st, 0);
		row->expires = sqlite3_column_int64(st, 3);
		seen_newest(r, row->id, row->expires, col_text(st, 1),
			    (uint32_t)sqlite3_column_int64(st, 2), &row->call_id, &row->cseq);
		row->same_flow = strcmp(col_text(st, 4), src->path ? src->path : "") == 0 &&
				 strcmp(col_text(st, 5), src->source ? src->source : "") == 0 &&
				 (ua ? sip_pl_eq(ua->value, col_text(st, 6)) : !*col_text(st, 6));
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The request's Call-ID (hashed as the rows' are) and CSeq. */
static void req_order(struct pbx_registrar *r, const struct sip_msg *req, uint64_t *call_id,
		      uint32_t *cseq)
{
	struct sip_pl callid = sip_msg_hdr(req, SIP_HDR_CALL_ID)->value, meth;
	*call_id = callid_hash(r, callid.p, callid.l);
	*cseq = 0;
	sip_cseq_parse(sip_msg_hdr(req, SIP_HDR_CSEQ)->value, cseq, &meth);
}

/* Step 7: one contact; 1 if the request is out of order for it, 2 if a
 * device was added or removed (not just refreshed), 0 else, -1 on error. */
static int bind_update(struct pbx_registrar *r, const struct sip_msg *req,
		       const struct pbx_reg_source *src, long long user, struct reg_contact *c,
		       time_t now)
{
	struct sip_pl callid = sip_msg_hdr(req, SIP_HDR_CALL_ID)->value;
	uint64_t cid;
	uint32_t cseq;
	req_order(r, req, &cid, &cseq);
	struct reg_row row;
	int known = bind_read(r, req, src, user, c->uri, &row);
	if (known < 0)
		return -1;
	if (known && row.call_id == cid && row.cseq >= cseq)
		return 1;
	if (known)
		seen_forget(r, row.id); /* the row is written now */
	if (c->expires == 0)
		return bind_exec(r, "DELETE FROM bindings WHERE user_id=? AND contact=?", user,
				 c->uri) == 0
			       ? (known ? 2 : 0)
			       : -1;
	const struct sip_hdr *ua = sip_msg_hdr(req, SIP_HDR_USER_AGENT);
	sqlite3_stmt *st = core_db_stmt(
		r->db, "INSERT INTO bindings(user_id,contact,expires,call_id,cseq,path,"
		       "source,user_agent,updated) VALUES(?,?,?,?,?,?,?,?,?) "
		       "ON CONFLICT(user_id,contact) DO UPDATE SET expires=excluded.expires,"
		       "call_id=excluded.call_id, cseq=excluded.cseq, path=excluded.path,"
		       "source=excluded.source, user_agent=excluded.user_agent,"
		       "updated=excluded.updated");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_text(st, 2, c->uri.p, (int)c->uri.l, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now + c->expires);
	sqlite3_bind_text(st, 4, callid.p, (int)callid.l, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, cseq);
	sqlite3_bind_text(st, 6, src->path ? src->path : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, src->source ? src->source : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, ua ? ua->value.p : "", ua ? (int)ua->value.l : 0, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)now);
	int rc = sqlite3_step(st) == SQLITE_DONE ? (known ? 0 : 2) : -1;
	sqlite3_reset(st);
	if (rc >= 0) {
		r->writes++;
		if (!known) /* a new row may have the id of one removed behind our back */
			seen_forget(r, sqlite3_last_insert_rowid(r->db));
	}
	return rc;
}

/* Step 8: the user's bindings now, as Contact headers. */
static int current_contacts(struct pbx_registrar *r, long long user, time_t now, char *extra,
			    size_t cap, int *count)
{
	size_t o = 0;
	*count = 0;
	extra[0] = '\0';
	sqlite3_stmt *st = core_db_stmt(r->db, "SELECT contact, expires FROM bindings WHERE "
					       "user_id=? AND expires>? ORDER BY id");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int n = snprintf(extra + o, cap - o, "Contact: <%s>;expires=%lld\r\n",
				 sqlite3_column_text(st, 0),
				 (long long)(sqlite3_column_int64(st, 1) - now));
		if (n < 0 || (size_t)n >= cap - o) { /* refused (500), not a list cut short */
			log_warn("registrar: the contacts of user %lld do not fit an answer", user);
			sqlite3_reset(st);
			return -1;
		}
		o += (size_t)n;
		(*count)++;
	}
	sqlite3_reset(st);
	return 0;
}

/* How far a refresh may move a binding's expiry without writing its row: a
 * quarter of the lifetime asked for. Within it the answer grants what the
 * row holds (at least three quarters of what was asked, RFC 3261 10.3 step
 * 7 lets a registrar shorten it), so what the phone was told is what a
 * restart finds. */
static int64_t refresh_slack(int64_t asked)
{
	return asked / 4;
}

/* A REGISTER that changes nothing stored: every contact is a live binding
 * of the same flow (Path, source, User-Agent), in order, whose expiry moves
 * by less than the slack. Then no row is written: the newest Call-ID and
 * CSeq are kept in memory and the answer lists the bindings as stored.
 * 1 when answered so (contacts in extra), 0 when something must be
 * written, -1 on error. Reads only, in one read transaction. */
static int refresh_only(struct pbx_registrar *r, const struct sip_msg *req,
			const struct pbx_reg_source *src, long long user,
			const struct reg_contact *cs, int nc, time_t now, char *extra, size_t cap,
			int *count)
{
	if (r->nseen + (size_t)nc > REG_SEEN_MAX || core_db_begin_read(r->db) < 0)
		return 0;
	uint64_t cid;
	uint32_t cseq;
	req_order(r, req, &cid, &cseq);
	long long rows[REG_MAX_CONTACTS];
	int64_t exp[REG_MAX_CONTACTS];
	int rc = 1;
	for (int i = 0; rc == 1 && i < nc; i++) {
		struct reg_row row = {0};
		int64_t want = (int64_t)now + cs[i].expires;
		int known = bind_read(r, req, src, user, cs[i].uri, &row);
		if (known <= 0 || cs[i].expires == 0 || row.expires <= (int64_t)now ||
		    !row.same_flow || want < row.expires ||
		    want - row.expires > refresh_slack(cs[i].expires) ||
		    (row.call_id == cid && row.cseq >= cseq))
			rc = known < 0 ? -1 : 0;
		rows[i] = row.id;
		exp[i] = row.expires;
	}
	if (rc == 1 && (current_contacts(r, user, now, extra, cap, count) < 0 ||
			*count > PBX_REG_MAX_BINDINGS))
		rc = 0; /* the write path answers it as it always has */
	core_db_end(r->db, 1);
	for (int i = 0; rc == 1 && i < nc; i++) {
		struct pbx_reg_seen **pp = seen_slot(r, rows[i]), *e = *pp;
		if (!e && !(e = *pp = calloc(1, sizeof(*e)))) {
			while (i-- > 0) /* so the write path does not see this CSeq as old */
				seen_forget(r, rows[i]);
			rc = 0; /* then written after all */
			break;
		}
		if (!e->row)
			r->nseen++;
		*e = (struct pbx_reg_seen){e->next, rows[i], exp[i], cid, cseq};
	}
	return rc;
}

int pbx_registrar_register(struct pbx_registrar *r, const struct sip_msg *req,
			   const struct pbx_reg_source *src, time_t now, char *out, size_t cap)
{
	struct reg_user u = {0};
	int n = authenticate(r, req, src, now, &u, out, cap);
	if (n != 0)
		return n;
	struct reg_contact cs[REG_MAX_CONTACTS];
	int nc = 0;
	bool star = false;
	int64_t too_brief = 0;
	int bad = read_contacts(req, cs, &nc, &star, &too_brief);
	if (bad)
		return reply(req, bad, NULL, NULL, src, out, cap);
	if (too_brief)
		return reply(req, 423, NULL, "Min-Expires: 60\r\n", src, out, cap);

	int status = 200, count = 0;
	const char *why = NULL;
	bool changed = false;
	static char extra[SIP_MAX_MESSAGE];
	/* everybody's stale devices now and then (not per request) */
	if (now - r->last_purge >= 10) {
		r->last_purge = now;
		pbx_registrar_purge(r, now);
	}
	if (!star &&
	    refresh_only(r, req, src, u.id, cs, nc, now, extra, sizeof(extra), &count) > 0) {
		r->refreshes++;
		if (r->state)
			pbx_regstate_registered(r->state, u.username, now);
		return reply(req, 200, NULL, extra, src, out, cap);
	}
	core_db_begin(r->db);
	/* this user's stale devices now */
	int ok = purge_user(r, u.id, now) == 0;
	if (star)
		ok = ok && bind_exec(r, "DELETE FROM bindings WHERE user_id=?", u.id,
				     (struct sip_pl){NULL, 0}) == 0;
	for (int i = 0; ok && i < nc; i++) {
		int rc = bind_update(r, req, src, u.id, &cs[i], now);
		if (rc == 1) {
			status = 500, why = "Out Of Order";
			ok = false;
		}
		changed = changed || rc == 2;
		ok = ok && (rc == 0 || rc == 2);
	}
	ok = ok && current_contacts(r, u.id, now, extra, sizeof(extra), &count) == 0;
	if (ok && count > PBX_REG_MAX_BINDINGS) {
		status = 403, why = "Too Many Devices";
		ok = false;
	}
	if (core_db_end(r->db, ok) < 0) {
		if (status == 200)
			status = 500, why = NULL;
		return reply(req, status, why, NULL, src, out, cap);
	}
	if (r->state)
		pbx_regstate_registered(r->state, u.username, now);
	if (changed || star) /* a refresh is not news */
		log_info("%s registered %d device(s) from %s", u.username, count,
			 src->source ? src->source : "?");
	return reply(req, 200, NULL, extra, src, out, cap);
}

json_t *pbx_registrar_list(struct pbx_registrar *r, time_t now)
{
	json_t *out = json_array();
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(r->db,
			       "SELECT u.sip_username, u.extension, u.display_name, b.contact, "
			       "b.expires, b.user_agent, b.source FROM bindings b JOIN users u ON "
			       "u.id=b.user_id WHERE b.expires>? ORDER BY CAST(u.extension AS "
			       "INTEGER), b.id",
			       -1, &st, NULL) != SQLITE_OK)
		return out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(out,
				      json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "user",
						sqlite3_column_text(st, 0), "extension",
						sqlite3_column_text(st, 1), "display_name",
						sqlite3_column_text(st, 2), "contact",
						sqlite3_column_text(st, 3), "expires_in",
						(json_int_t)(sqlite3_column_int64(st, 4) - now),
						"user_agent", sqlite3_column_text(st, 5), "source",
						sqlite3_column_text(st, 6)));
	sqlite3_finalize(st);
	return out;
}

int pbx_registrar_purge(struct pbx_registrar *r, time_t now)
{
	sqlite3_stmt *st = core_db_stmt(r->db, "DELETE FROM bindings WHERE expires<=?");
	if (!st)
		return -1;
	seen_sweep(r, now);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	int rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(r->db) : -1;
	sqlite3_reset(st);
	return rc;
}
