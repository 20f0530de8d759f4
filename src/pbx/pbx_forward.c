/* pbx_forward — see pbx_forward.h: a user's forwarding rules, DND and call
 * waiting in pbx.db. */
#include "pbx_forward.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/core_db.h"
#include "../core/core_log.h"

static const char *const kind_names[PBX_FWD_KINDS] = {"always", "busy", "noanswer", "unavailable"};
static const char *const target_names[] = {"extension", "group", "voicemail", "external"};

const char *pbx_forward_kind_name(enum pbx_fwd_kind k)
{
	return (unsigned)k < PBX_FWD_KINDS ? kind_names[k] : "";
}

int pbx_forward_kind_of(const char *s)
{
	for (int i = 0; s && i < PBX_FWD_KINDS; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return i;
	return -1;
}

const char *pbx_forward_target_name(enum pbx_fwd_target t)
{
	return (unsigned)t < sizeof(target_names) / sizeof(target_names[0]) ? target_names[t] : "";
}

int pbx_forward_target_of(const char *s)
{
	for (int i = 0; s && i < (int)(sizeof(target_names) / sizeof(target_names[0])); i++)
		if (strcmp(s, target_names[i]) == 0)
			return i;
	return -1;
}

/* ---- reading ---- */

int pbx_forward_get(struct pbx *p, long long user_id, struct pbx_fwd *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT dnd, call_waiting, ring_time FROM users "
					       "WHERE id=?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->dnd = sqlite3_column_int(st, 0) != 0;
		out->call_waiting = sqlite3_column_int(st, 1) != 0;
		out->ring_time = sqlite3_column_int(st, 2);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return -1;
	st = core_db_stmt(
		p->db, "SELECT kind, target_type, target, enabled FROM forwards WHERE user_id=?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user_id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int k = pbx_forward_kind_of((const char *)sqlite3_column_text(st, 0));
		int t = pbx_forward_target_of((const char *)sqlite3_column_text(st, 1));
		if (k < 0 || t < 0)
			continue; /* not written by us */
		struct pbx_fwd_rule *r = &out->rule[k];
		r->set = true;
		r->type = (enum pbx_fwd_target)t;
		r->enabled = sqlite3_column_int(st, 3) != 0;
		snprintf(r->target, sizeof(r->target), "%s",
			 (const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_reset(st);
	return 0;
}

json_t *pbx_forward_json(struct pbx *p, long long user_id)
{
	struct pbx_fwd f;
	if (pbx_forward_get(p, user_id, &f) < 0)
		return NULL;
	json_t *fw = json_object();
	for (int k = 0; fw && k < PBX_FWD_KINDS; k++) {
		const struct pbx_fwd_rule *r = &f.rule[k];
		json_object_set_new(fw, kind_names[k],
				    r->set ? json_pack("{s:b, s:s, s:s}", "enabled", r->enabled,
						       "target_type", target_names[r->type],
						       "target", r->target)
					   : json_null());
	}
	return json_pack("{s:b, s:b, s:i, s:o}", "dnd", f.dnd, "call_waiting", f.call_waiting,
			 "ring_time", f.ring_time, "forwards", fw);
}

/* ---- validation ---- */

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), 400)

static bool is_number(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The user with this extension: its id, or -1. */
static long long user_of(struct pbx *p, const char *ext)
{
	long long id = -1;
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT id FROM users WHERE extension=?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, ext, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

static bool group_exists(struct pbx *p, const char *ext)
{
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT 1 FROM ring_groups WHERE extension=?");
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, ext, -1, SQLITE_STATIC);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

/* 0 if user_id may forward to (t, target), else 400 with err. */
static int check_target(struct pbx *p, long long user_id, enum pbx_fwd_target t, const char *target,
			char *err, size_t errlen)
{
	switch (t) {
	case PBX_FWD_TO_EXTERNAL:
		return ERR("external numbers need a trunk");
	case PBX_FWD_TO_VOICEMAIL:
		if (!target[0])
			return 0; /* the user's own mailbox */
		if (!is_number(target) || user_of(p, target) < 0)
			return ERR("target must be \"\" (own voicemail) or a user's extension");
		return 0;
	case PBX_FWD_TO_EXTENSION: {
		if (!is_number(target))
			return ERR("target must be an extension (1 to 15 digits)");
		long long id = user_of(p, target);
		if (id < 0)
			return ERR("no user has extension %s", target);
		if (id == user_id)
			return ERR("a user cannot forward to their own extension");
		return 0;
	}
	case PBX_FWD_TO_GROUP:
		if (!is_number(target) || !group_exists(p, target))
			return ERR("target must be the extension of a ring group");
		return 0;
	}
	return ERR("unknown target_type");
}

struct rule_in {
	bool given, del;
	struct pbx_fwd_rule r;
};

static int read_rule(struct pbx *p, long long user_id, const char *kind, json_t *v,
		     struct rule_in *in, char *err, size_t errlen)
{
	in->given = true;
	if (json_is_null(v)) {
		in->del = true;
		return 0;
	}
	if (!json_is_object(v))
		return ERR("forwards.%s must be an object or null", kind);
	const char *key;
	json_t *x;
	json_object_foreach(v, key, x)
	{
		if (strcmp(key, "enabled") && strcmp(key, "target_type") && strcmp(key, "target"))
			return ERR("forwards.%s: unknown field %s; the fields are enabled, "
				   "target_type, target",
				   kind, key);
	}
	json_t *en = json_object_get(v, "enabled"), *tt = json_object_get(v, "target_type"),
	       *tg = json_object_get(v, "target");
	if (en && !json_is_boolean(en))
		return ERR("forwards.%s.enabled must be true or false", kind);
	int t = pbx_forward_target_of(json_string_value(tt));
	if (t < 0)
		return ERR("forwards.%s.target_type must be extension, group, voicemail or "
			   "external",
			   kind);
	if (tg && !json_is_string(tg))
		return ERR("forwards.%s.target must be a string", kind);
	const char *target = tg ? json_string_value(tg) : "";
	if (strlen(target) >= sizeof(in->r.target))
		return ERR("forwards.%s.target is too long", kind);
	in->r = (struct pbx_fwd_rule){.set = true, .enabled = !en || json_is_true(en)};
	in->r.type = (enum pbx_fwd_target)t;
	snprintf(in->r.target, sizeof(in->r.target), "%s", target);
	int rc = check_target(p, user_id, in->r.type, target, err, errlen);
	if (rc) {
		char why[200];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "forwards.%s: %s", kind, why);
	}
	return rc;
}

/* ---- writing ---- */

static int write_rule(struct pbx *p, long long user_id, int k, const struct rule_in *in)
{
	sqlite3_stmt *st =
		core_db_stmt(p->db, in->del ? "DELETE FROM forwards WHERE user_id=?1 AND kind=?2"
					    : "INSERT OR REPLACE INTO forwards(user_id, kind, "
					      "target_type, target, enabled, updated) "
					      "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_text(st, 2, kind_names[k], -1, SQLITE_STATIC);
	if (!in->del) {
		sqlite3_bind_text(st, 3, target_names[in->r.type], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, in->r.target, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, in->r.enabled);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
	}
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
	return rc;
}

/* users.dnd, .call_waiting or .ring_time = v (-1: unchanged). */
enum user_col { COL_DND, COL_CW, COL_RING };
static int write_user(struct pbx *p, long long user_id, enum user_col col, int v)
{
	static const char *const sql[] = {
		"UPDATE users SET dnd=?, updated=? WHERE id=?",
		"UPDATE users SET call_waiting=?, updated=? WHERE id=?",
		"UPDATE users SET ring_time=?, updated=? WHERE id=?",
	};
	if (v < 0)
		return 0;
	sqlite3_stmt *st = core_db_stmt(p->db, sql[col]);
	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, v);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(st, 3, user_id);
	int rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(p->db) == 1 ? 0 : -1;
	sqlite3_reset(st);
	return rc;
}

static int flag_in(json_t *b, const char *key, int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(b, key);
	*out = -1;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return ERR("%s must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

int pbx_forward_put(struct pbx *p, long long user_id, json_t *body, char *err, size_t errlen)
{
	struct pbx_fwd cur;
	if (pbx_forward_get(p, user_id, &cur) < 0) {
		snprintf(err, errlen, "no such user");
		return 404;
	}
	if (!json_is_object(body))
		return ERR("the body must be a JSON object");
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "dnd") && strcmp(key, "call_waiting") && strcmp(key, "ring_time") &&
		    strcmp(key, "forwards"))
			return ERR("unknown field %s; the fields are dnd, call_waiting, "
				   "ring_time, forwards",
				   key);
	}
	int dnd, cw, ring = -1, rc;
	if ((rc = flag_in(body, "dnd", &dnd, err, errlen)) ||
	    (rc = flag_in(body, "call_waiting", &cw, err, errlen)))
		return rc;
	json_t *rt = json_object_get(body, "ring_time");
	if (rt &&
	    (!json_is_integer(rt) || json_integer_value(rt) < 5 || json_integer_value(rt) > 300))
		return ERR("ring_time must be a whole number of seconds from 5 to 300");
	if (rt)
		ring = (int)json_integer_value(rt);
	struct rule_in in[PBX_FWD_KINDS] = {0};
	json_t *fw = json_object_get(body, "forwards");
	if (fw && !json_is_object(fw))
		return ERR("forwards must be an object with the keys always, busy, noanswer, "
			   "unavailable");
	json_object_foreach(fw, key, v)
	{
		int k = pbx_forward_kind_of(key);
		if (k < 0)
			return ERR("forwards: unknown kind %s; the kinds are always, busy, "
				   "noanswer, unavailable",
				   key);
		if ((rc = read_rule(p, user_id, key, v, &in[k], err, errlen)))
			return rc;
	}
	bool ok = core_db_begin(p->db) == 0;
	ok = ok && write_user(p, user_id, COL_DND, dnd) == 0 &&
	     write_user(p, user_id, COL_CW, cw) == 0 && write_user(p, user_id, COL_RING, ring) == 0;
	for (int k = 0; ok && k < PBX_FWD_KINDS; k++)
		ok = !in[k].given || write_rule(p, user_id, k, &in[k]) == 0;
	if (core_db_end(p->db, ok) < 0 || !ok) {
		log_error("forward: user %lld: %s", user_id, sqlite3_errmsg(p->db));
		snprintf(err, errlen, "could not store the settings");
		return 500;
	}
	return 0;
}

int pbx_forward_set(struct pbx *p, long long user_id, enum pbx_fwd_kind k, enum pbx_fwd_target t,
		    const char *target, char *err, size_t errlen)
{
	if ((unsigned)k >= PBX_FWD_KINDS)
		return ERR("unknown kind");
	if (strlen(target) >= sizeof(((struct pbx_fwd_rule *)0)->target))
		return ERR("target is too long");
	int rc = check_target(p, user_id, t, target, err, errlen);
	if (rc)
		return rc;
	struct rule_in in = {.given = true, .r = {.set = true, .enabled = true, .type = t}};
	snprintf(in.r.target, sizeof(in.r.target), "%s", target);
	if (write_rule(p, user_id, k, &in) < 0) {
		snprintf(err, errlen, "could not store the rule");
		return 500;
	}
	return 0;
}

int pbx_forward_clear(struct pbx *p, long long user_id, enum pbx_fwd_kind k)
{
	if ((unsigned)k >= PBX_FWD_KINDS)
		return -1;
	struct rule_in in = {.given = true, .del = true};
	return write_rule(p, user_id, k, &in);
}

int pbx_forward_set_dnd(struct pbx *p, long long user_id, bool on)
{
	return write_user(p, user_id, COL_DND, on);
}

int pbx_forward_set_call_waiting(struct pbx *p, long long user_id, bool on)
{
	return write_user(p, user_id, COL_CW, on);
}
