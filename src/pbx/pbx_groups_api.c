/* pbx_groups_api — the ring groups' API (docs/api.md, "Ring groups"):
 * GET/POST /api/v1/groups, GET/PUT/DELETE /api/v1/groups/<id>, validated
 * all-or-nothing: strategy names, ring times and timeout in range, members
 * users of this phone system (each once), a fallback that exists, and an
 * extension that no user and no other group has (pbx_users.c refuses a
 * user the extension of a group in turn). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "pbx_check.h"
#include "pbx_group.h"
#include "pbx_rest.h"
#include "pbx_route.h"

#define GROUP_COLS                                                                                 \
	"id, extension, name, strategy, timeout, fallback_type, fallback_target, created, "        \
	"updated"

static const char *const fallback_types[] = {"none", "extension", "group", "voicemail"};

/* ---- reading ---- */

static json_t *members_json(struct pbx *p, long long id)
{
	sqlite3_stmt *st;
	json_t *list = json_array();
	if (sqlite3_prepare_v2(p->db,
			       "SELECT m.user_id, u.extension, u.display_name, m.position, "
			       "m.ring_time, m.logged_in FROM group_members m JOIN users u ON "
			       "u.id=m.user_id WHERE m.group_id=? ORDER BY m.position, m.user_id",
			       -1, &st, NULL) != SQLITE_OK)
		return list;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(
			list,
			json_pack("{s:I, s:s, s:s, s:i, s:i, s:b}", "user_id",
				  (json_int_t)sqlite3_column_int64(st, 0), "extension",
				  (const char *)sqlite3_column_text(st, 1), "display_name",
				  (const char *)sqlite3_column_text(st, 2), "position",
				  sqlite3_column_int(st, 3), "ring_time", sqlite3_column_int(st, 4),
				  "logged_in", sqlite3_column_int(st, 5)));
	sqlite3_finalize(st);
	return list;
}

static json_t *group_row(struct pbx *p, sqlite3_stmt *st)
{
	long long id = sqlite3_column_int64(st, 0);
	const char *ft = (const char *)sqlite3_column_text(st, 5);
	return json_pack("{s:I, s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:o}", "id", (json_int_t)id,
			 "extension", (const char *)sqlite3_column_text(st, 1), "name",
			 (const char *)sqlite3_column_text(st, 2), "strategy",
			 (const char *)sqlite3_column_text(st, 3), "timeout",
			 sqlite3_column_int(st, 4), "fallback_type", ft && *ft ? ft : "none",
			 "fallback_target", (const char *)sqlite3_column_text(st, 6), "created",
			 (json_int_t)sqlite3_column_int64(st, 7), "updated",
			 (json_int_t)sqlite3_column_int64(st, 8), "members", members_json(p, id));
}

static json_t *group_get(struct pbx *p, long long id)
{
	sqlite3_stmt *st;
	json_t *g = NULL;
	if (sqlite3_prepare_v2(p->db, "SELECT " GROUP_COLS " FROM ring_groups WHERE id=?", -1, &st,
			       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		g = group_row(p, st);
	sqlite3_finalize(st);
	return g;
}

static void groups_list(struct pbx *p, struct core_httpd_req *req)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db,
			       "SELECT " GROUP_COLS " FROM ring_groups ORDER BY "
			       "CAST(extension AS INTEGER), extension",
			       -1, &st, NULL) != SQLITE_OK) {
		core_httpd_respond_error(req, 500, "could not read the groups");
		return;
	}
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, group_row(p, st));
	sqlite3_finalize(st);
	core_httpd_respond_json(req, 200, json_pack("{s:o}", "groups", list));
}

/* ---- validation ---- */

struct member_in {
	long long user_id;
	int ring_time, logged_in; /* logged_in -1: keep (new members: 1) */
};

struct group_in {
	const char *ext, *name, *strategy, *fb_type, *fb_target;
	int timeout; /* -1: not given */
	bool has_members;
	int n;
	struct member_in m[PBX_GROUP_MAX_MEMBERS];
};

static bool user_exists(struct pbx *p, const char *sql, const char *ext, long long id)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, sql, -1, &st, NULL) != SQLITE_OK)
		return false;
	if (ext)
		sqlite3_bind_text(st, 1, ext, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, id);
	bool r = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return r;
}

/* A member's keys: its own, and those GET shows (sent back unchanged). */
static bool member_keys_known(json_t *m)
{
	static const char *const keys[] = {"user_id",	"ring_time",	"logged_in",
					   "extension", "display_name", "position"};
	return pbx_check_keys(m, keys, sizeof(keys) / sizeof(keys[0]));
}

static const char *read_members(struct pbx *p, json_t *ms, struct group_in *in)
{
	size_t i;
	json_t *it;
	if (!json_is_array(ms) || json_array_size(ms) > PBX_GROUP_MAX_MEMBERS)
		return "members must be a list of at most 32 {\"user_id\", \"ring_time\", "
		       "\"logged_in\"}";
	json_array_foreach(ms, i, it)
	{
		json_t *uid = json_object_get(it, "user_id"),
		       *rt = json_object_get(it, "ring_time"),
		       *li = json_object_get(it, "logged_in");
		if (!json_is_object(it) || !json_is_integer(uid))
			return "members: each needs a user_id (a number)";
		if (!member_keys_known(it))
			return "members: unknown key (user_id, ring_time, logged_in)";
		struct member_in *m = &in->m[i];
		m->user_id = json_integer_value(uid);
		m->ring_time = rt ? (int)json_integer_value(rt) : 20;
		if (rt && (!json_is_integer(rt) || json_integer_value(rt) < PBX_GROUP_RING_MIN ||
			   json_integer_value(rt) > PBX_GROUP_RING_MAX))
			return "members: ring_time must be 5 to 300 seconds";
		if (li && !json_is_boolean(li))
			return "members: logged_in must be true or false";
		m->logged_in = li ? json_is_true(li) : -1;
		if (!user_exists(p, "SELECT 1 FROM users WHERE id=?", NULL, m->user_id))
			return "members: no such user in this phone system";
		for (size_t j = 0; j < i; j++)
			if (in->m[j].user_id == m->user_id)
				return "members: a user can be a member only once";
	}
	in->n = (int)json_array_size(ms);
	in->has_members = true;
	return NULL;
}

/* The body into in; NULL or why it is refused (400). */
static const char *group_read(struct pbx *p, json_t *b, struct group_in *in, bool create)
{
	static const char *const keys[] = {
		"extension",	   "name",    "strategy", "timeout", "fallback_type",
		"fallback_target", "members", "id",	  "created", "updated"};
	json_t *v;
	if (!json_is_object(b))
		return "the body must be a JSON object";
	if (!pbx_check_keys(b, keys, sizeof(keys) / sizeof(keys[0])))
		return "unknown key (extension, name, strategy, timeout, fallback_type, "
		       "fallback_target, members)";
	const char *skeys[] = {"extension", "name", "strategy", "fallback_type", "fallback_target"};
	const char **vals[] = {&in->ext, &in->name, &in->strategy, &in->fb_type, &in->fb_target};
	for (int i = 0; i < 5; i++) {
		v = json_object_get(b, skeys[i]);
		if (v && !json_is_string(v))
			return "extension, name, strategy, fallback_type and fallback_target are "
			       "strings";
		*vals[i] = json_string_value(v);
	}
	const char *why;
	if ((create || in->ext) && (why = pbx_check_extension(in->ext)))
		return why;
	if ((create || in->name) && (why = pbx_check_name(in->name, "name")))
		return why;
	if (in->strategy && pbx_group_strategy_of(in->strategy) < 0)
		return "strategy must be ringall, order, roundrobin or longest_idle";
	v = json_object_get(b, "timeout");
	in->timeout = -1;
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < PBX_GROUP_TIMEOUT_MIN ||
		    json_integer_value(v) > PBX_GROUP_TIMEOUT_MAX)
			return "timeout must be 5 to 600 seconds";
		in->timeout = (int)json_integer_value(v);
	}
	if (in->fb_type) {
		bool ok = false;
		for (size_t i = 0; i < sizeof(fallback_types) / sizeof(fallback_types[0]); i++)
			ok = ok || strcmp(in->fb_type, fallback_types[i]) == 0;
		if (!ok)
			return "fallback_type must be none, extension, group or voicemail";
	}
	if ((v = json_object_get(b, "members")) && (why = read_members(p, v, in)))
		return why;
	return NULL;
}

/* The fallback as it will be (old values where the body has none); NULL
 * or why it is refused. self: this group's extension. */
static const char *check_fallback(struct pbx *p, const char *type, const char *target,
				  const char *self)
{
	if (!type || strcmp(type, "none") == 0 || !*type)
		return target && *target ? "fallback_target must be empty without a fallback"
					 : NULL;
	if (!target || !*target)
		return "fallback_target is needed for this fallback_type";
	if (strcmp(type, "group") == 0) {
		if (self && strcmp(target, self) == 0)
			return "fallback_target: a group cannot fall back to itself";
		if (pbx_group_by_extension(p, target) < 0)
			return "fallback_target: no such group";
		return NULL;
	}
	/* extension, voicemail: a user's extension */
	if (!user_exists(p, "SELECT 1 FROM users WHERE extension=?", target, 0))
		return "fallback_target: no user has this extension";
	return NULL;
}

/* An extension that a user (or a park slot) has: 409 with why. */
static const char *extension_taken(struct pbx *p, const char *ext, long long self)
{
	long long other = pbx_group_by_extension(p, ext);
	if (other >= 0 && other != self)
		return "this extension is already taken by a group";
	if (user_exists(p, "SELECT 1 FROM users WHERE extension=?1 OR sip_username=?1", ext, 0))
		return "this extension is already taken by a user";
	if (pbx_park_reserved(ext))
		return "extensions 700 to 720 are the park codes";
	return NULL;
}

/* ---- writing ---- */

static bool write_members(struct pbx *p, long long id, const struct group_in *in)
{
	sqlite3_stmt *old, *del, *ins;
	bool ok = sqlite3_prepare_v2(p->db,
				     "SELECT logged_in FROM group_members WHERE group_id=? AND "
				     "user_id=?",
				     -1, &old, NULL) == SQLITE_OK;
	if (!ok)
		return false;
	int logged[PBX_GROUP_MAX_MEMBERS];
	for (int i = 0; i < in->n; i++) {
		sqlite3_reset(old);
		sqlite3_bind_int64(old, 1, id);
		sqlite3_bind_int64(old, 2, in->m[i].user_id);
		logged[i] = in->m[i].logged_in >= 0	      ? in->m[i].logged_in
			    : sqlite3_step(old) == SQLITE_ROW ? sqlite3_column_int(old, 0)
							      : 1;
	}
	sqlite3_finalize(old);
	if (sqlite3_prepare_v2(p->db, "DELETE FROM group_members WHERE group_id=?", -1, &del,
			       NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_int64(del, 1, id);
	ok = sqlite3_step(del) == SQLITE_DONE;
	sqlite3_finalize(del);
	if (!ok || sqlite3_prepare_v2(p->db,
				      "INSERT INTO group_members(group_id,user_id,position,"
				      "ring_time,logged_in) VALUES(?,?,?,?,?)",
				      -1, &ins, NULL) != SQLITE_OK)
		return false;
	for (int i = 0; ok && i < in->n; i++) {
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, id);
		sqlite3_bind_int64(ins, 2, in->m[i].user_id);
		sqlite3_bind_int(ins, 3, i);
		sqlite3_bind_int(ins, 4, in->m[i].ring_time);
		sqlite3_bind_int(ins, 5, logged[i]);
		ok = sqlite3_step(ins) == SQLITE_DONE;
	}
	sqlite3_finalize(ins);
	return ok;
}

static const char *ftype_db(const char *t)
{
	return t && strcmp(t, "none") == 0 ? "" : t;
}

/* POST (id 0) or PUT (id > 0). */
static void group_save(struct pbx *p, struct core_httpd_req *req, long long id, const char *who)
{
	json_t *cur = id ? group_get(p, id) : NULL;
	if (id && !cur) {
		core_httpd_respond_error(req, 404, "no such group");
		return;
	}
	json_t *b = core_httpd_json_body(req);
	if (!b) {
		json_decref(cur);
		return;
	}
	struct group_in in = {0};
	const char *why = group_read(p, b, &in, id == 0);
	int status = 400;
	const char *ext = in.ext ? in.ext : json_string_value(json_object_get(cur, "extension"));
	if (!why) {
		const char *t = in.fb_type
					? in.fb_type
					: json_string_value(json_object_get(cur, "fallback_type"));
		const char *tg =
			in.fb_target ? in.fb_target
			: in.fb_type ? ""
				     : json_string_value(json_object_get(cur, "fallback_target"));
		in.fb_type = t ? t : "none";
		in.fb_target = tg ? tg : "";
		why = check_fallback(p, in.fb_type, in.fb_target, ext);
	}
	if (!why && (why = extension_taken(p, ext, id ? id : -1)))
		status = 409;
	if (why) {
		core_httpd_respond_error(req, status, why);
		goto out;
	}
	sqlite3_stmt *st;
	core_db_begin(p->db);
	bool ok;
	if (id == 0) {
		ok = sqlite3_prepare_v2(
			     p->db,
			     "INSERT INTO ring_groups(extension,name,strategy,timeout,"
			     "fallback_type,fallback_target,created,updated) VALUES(?1,?2,"
			     "coalesce(?3,'ringall'),coalesce(?4,60),?5,?6,"
			     "strftime('%s','now'),strftime('%s','now'))",
			     -1, &st, NULL) == SQLITE_OK;
	} else {
		ok = sqlite3_prepare_v2(
			     p->db,
			     "UPDATE ring_groups SET extension=coalesce(?1,extension),"
			     "name=coalesce(?2,name), strategy=coalesce(?3,strategy),"
			     "timeout=coalesce(?4,timeout), fallback_type=?5, "
			     "fallback_target=?6, updated=strftime('%s','now') WHERE id=?7",
			     -1, &st, NULL) == SQLITE_OK;
	}
	if (ok) {
		sqlite3_bind_text(st, 1, in.ext, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, in.name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, in.strategy, -1, SQLITE_STATIC);
		if (in.timeout > 0)
			sqlite3_bind_int(st, 4, in.timeout);
		sqlite3_bind_text(st, 5, ftype_db(in.fb_type), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, in.fb_target, -1, SQLITE_STATIC);
		if (id)
			sqlite3_bind_int64(st, 7, id);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	long long gid = id ? id : sqlite3_last_insert_rowid(p->db);
	if (ok && in.has_members)
		ok = write_members(p, gid, &in);
	core_db_end(p->db, ok);
	json_t *g = ok ? group_get(p, gid) : NULL;
	if (g) {
		log_info("%s %s group %s (extension %s)", who, id ? "changed" : "created",
			 json_string_value(json_object_get(g, "name")),
			 json_string_value(json_object_get(g, "extension")));
		core_httpd_respond_json(req, id ? 200 : 201, g);
	} else {
		core_httpd_respond_error(req, 500, "could not save the group");
	}
out:
	json_decref(cur);
	json_decref(b);
}

void pbx_groups_api_handle(struct pbx *p, struct core_httpd_req *req, const char *rest)
{
	static const struct pbx_rest groups = {.noun = "group",
					       .table = "ring_groups",
					       .list = groups_list,
					       .get = group_get,
					       .save = group_save};
	pbx_rest_handle(p, req, rest, &groups);
}
