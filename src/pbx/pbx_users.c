/* pbx_users — see pbx_users.h. */
#include "pbx_users.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_auth.h"
#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../sip/sip_auth.h"
#include "pbx_group.h"

#define USER_COLS "id, display_name, extension, sip_username, enabled, created, updated"

/* ---- validation: one place for each rule ---- */

static const char *check_extension(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 15)
		return "extension must be 1 to 15 digits";
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return "extension must be 1 to 15 digits";
	return NULL;
}

static const char *check_username(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 64)
		return "sip_username must be 1 to 64 characters";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-+", s[i]))
			return "sip_username may only contain letters, digits and . _ - +";
	return NULL;
}

static const char *check_display(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 100)
		return "display_name must be 1 to 100 characters";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "display_name may not contain control characters";
	return NULL;
}

static const char *check_sip_password(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < PBX_SIP_PASSWORD_MIN)
		return "sip_password must be at least 12 characters long";
	if (n > 128)
		return "sip_password must be at most 128 characters long";
	return NULL;
}

/* ---- storage ---- */

static json_t *user_row(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:b, s:I, s:I}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "display_name",
			 (const char *)sqlite3_column_text(st, 1), "extension",
			 (const char *)sqlite3_column_text(st, 2), "sip_username",
			 (const char *)sqlite3_column_text(st, 3), "enabled",
			 sqlite3_column_int(st, 4), "created",
			 (json_int_t)sqlite3_column_int64(st, 5), "updated",
			 (json_int_t)sqlite3_column_int64(st, 6));
}

static json_t *user_get(struct pbx *p, long long id)
{
	sqlite3_stmt *st;
	json_t *u = NULL;
	if (sqlite3_prepare_v2(p->db, "SELECT " USER_COLS " FROM users WHERE id=?", -1, &st,
			       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		u = user_row(st);
	sqlite3_finalize(st);
	return u;
}

/* Which unique field an insert or update collided with, as a message. */
static const char *user_conflict(sqlite3 *db)
{
	const char *e = sqlite3_errmsg(db);
	if (strstr(e, "users.extension"))
		return "this extension is already taken";
	if (strstr(e, "users.sip_username"))
		return "this SIP username is already taken";
	return NULL;
}

static void users_list(struct pbx *p, struct core_httpd_req *req)
{
	char q[128] = "", like[140];
	core_httpd_query(req, "search", q, sizeof(q));
	snprintf(like, sizeof(like), "%%%s%%", q);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db,
			       "SELECT " USER_COLS
			       " FROM users WHERE ?1='' OR display_name LIKE ?2 "
			       "OR extension LIKE ?2 OR sip_username LIKE ?2 "
			       "ORDER BY CAST(extension AS INTEGER), extension",
			       -1, &st, NULL) != SQLITE_OK) {
		core_httpd_respond_error(req, 500, "could not read the users");
		return;
	}
	sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, like, -1, SQLITE_STATIC);
	json_t *list = json_array();
	time_t now = time(NULL);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list,
				      pbx_regstate_attach(p->registrar.state, user_row(st), now));
	sqlite3_finalize(st);
	core_httpd_respond_json(req, 200, json_pack("{s:o}", "users", list));
}

/* Fields of a create or update request, checked; NULL on success or the reason. */
struct user_in {
	const char *display, *ext, *user, *password;
	int enabled; /* -1: not given */
};

static const char *user_read(json_t *b, struct user_in *in, bool create)
{
	json_t *en = json_object_get(b, "enabled");
	const char *keys[] = {"display_name", "extension", "sip_username", "sip_password"};
	const char **vals[] = {&in->display, &in->ext, &in->user, &in->password};
	for (int i = 0; i < 4; i++) {
		json_t *v = json_object_get(b, keys[i]);
		if (v && !json_is_string(v))
			return "display_name, extension, sip_username and sip_password are strings";
		*vals[i] = json_string_value(v);
	}
	if (en && !json_is_boolean(en))
		return "enabled must be true or false";
	in->enabled = en ? json_is_true(en) : -1;
	const char *why;
	if ((create || in->display) && (why = check_display(in->display)))
		return why;
	if ((create || in->ext) && (why = check_extension(in->ext)))
		return why;
	if (create && !in->user)
		in->user = in->ext;
	if (in->user && (why = check_username(in->user)))
		return why;
	if (in->password && (why = check_sip_password(in->password)))
		return why;
	return NULL;
}

/* An extension or SIP user name that a ring group has: why, or NULL. */
static const char *group_conflict(struct pbx *p, const struct user_in *in)
{
	if ((in->ext && pbx_group_by_extension(p, in->ext) >= 0) ||
	    (in->user && pbx_group_by_extension(p, in->user) >= 0))
		return "this extension is a ring group's";
	return NULL;
}

static int user_set_password(struct pbx *p, long long id, const char *user, const char *pw)
{
	char md5[SIP_AUTH_HEX_MAX], sha[SIP_AUTH_HEX_MAX];
	if (sip_auth_ha1(0, user, p->name, pw, md5) < 0 ||
	    sip_auth_ha1(1, user, p->name, pw, sha) < 0)
		return -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
		    p->db, "UPDATE users SET sip_username=?, ha1_md5=?, ha1_sha256=? WHERE id=?",
		    -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, md5, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, id);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return r;
}

static void users_create(struct pbx *p, struct core_httpd_req *req)
{
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	struct user_in in = {0};
	char generated[32];
	const char *why = user_read(b, &in, true);
	int status = why ? 400 : 409;
	if (why || (why = group_conflict(p, &in))) {
		core_httpd_respond_error(req, status, why);
		json_decref(b);
		return;
	}
	if (!in.password) {
		/* 20 characters from 57: about 117 bits */
		core_auth_random_password(generated, sizeof(generated));
		in.password = generated;
	}
	sqlite3_stmt *st;
	core_db_begin(p->db);
	int ok = sqlite3_prepare_v2(p->db,
				    "INSERT INTO users(display_name,extension,sip_username,ha1_md5,"
				    "ha1_sha256,enabled,created,updated) VALUES(?,?,?,'','',?,"
				    "strftime('%s','now'),strftime('%s','now'))",
				    -1, &st, NULL) == SQLITE_OK;
	const char *conflict = NULL;
	if (ok) {
		sqlite3_bind_text(st, 1, in.display, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, in.ext, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, in.user, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, in.enabled != 0);
		ok = sqlite3_step(st) == SQLITE_DONE;
		conflict = ok ? NULL : user_conflict(p->db);
		sqlite3_finalize(st);
	}
	long long id = sqlite3_last_insert_rowid(p->db);
	ok = ok && user_set_password(p, id, in.user, in.password) == 0;
	core_db_end(p->db, ok);
	json_t *u = ok ? user_get(p, id) : NULL;
	if (u) {
		/* The password is shown this once; only its digests are kept. */
		json_object_set_new(u, "sip_password", json_string(in.password));
		log_info("user %s (extension %s) created", in.user, in.ext);
		core_httpd_respond_json(req, 201, u);
	} else {
		core_httpd_respond_error(req, conflict ? 409 : 500,
					 conflict ? conflict : "could not create the user");
	}
	sodium_memzero(generated, sizeof(generated));
	json_decref(b);
}

static void users_update(struct pbx *p, struct core_httpd_req *req, long long id)
{
	json_t *cur = user_get(p, id);
	json_t *b = cur ? core_httpd_json_body(req) : NULL;
	if (!cur) {
		core_httpd_respond_error(req, 404, "no such user");
		return;
	}
	if (!b) {
		json_decref(cur);
		return;
	}
	struct user_in in = {0};
	const char *why = user_read(b, &in, false);
	const char *old_user = json_string_value(json_object_get(cur, "sip_username"));
	if (!why && in.user && strcmp(in.user, old_user) != 0 && !in.password)
		why = "a new sip_username needs a new sip_password (the stored digests include the "
		      "username)";
	int status = why ? 400 : 409;
	if (why || (why = group_conflict(p, &in))) {
		core_httpd_respond_error(req, status, why);
		goto out;
	}
	sqlite3_stmt *st;
	core_db_begin(p->db);
	int ok = sqlite3_prepare_v2(p->db,
				    "UPDATE users SET display_name=coalesce(?,display_name),"
				    "extension=coalesce(?,extension), enabled=coalesce(?,enabled),"
				    "updated=strftime('%s','now') WHERE id=?",
				    -1, &st, NULL) == SQLITE_OK;
	const char *conflict = NULL;
	if (ok) {
		sqlite3_bind_text(st, 1, in.display, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, in.ext, -1, SQLITE_STATIC);
		if (in.enabled >= 0)
			sqlite3_bind_int(st, 3, in.enabled);
		sqlite3_bind_int64(st, 4, id);
		ok = sqlite3_step(st) == SQLITE_DONE;
		conflict = ok ? NULL : user_conflict(p->db);
		sqlite3_finalize(st);
	}
	if (ok && in.password) {
		ok = user_set_password(p, id, in.user ? in.user : old_user, in.password) == 0;
		conflict = ok ? NULL : user_conflict(p->db);
	}
	core_db_end(p->db, ok);
	if (!ok)
		core_httpd_respond_error(req, conflict ? 409 : 500,
					 conflict ? conflict : "could not update the user");
	else
		core_httpd_respond_json(req, 200, user_get(p, id));
out:
	json_decref(cur);
	json_decref(b);
}

static void users_delete(struct pbx *p, struct core_httpd_req *req, long long id)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "DELETE FROM users WHERE id=?", -1, &st, NULL) != SQLITE_OK) {
		core_httpd_respond_error(req, 500, "could not delete the user");
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	int done = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(p->db) == 1;
	sqlite3_finalize(st);
	if (done)
		core_httpd_respond_json(req, 200, json_pack("{s:I}", "deleted", (json_int_t)id));
	else
		core_httpd_respond_error(req, 404, "no such user");
}

void pbx_users_handle(struct pbx *p, struct core_httpd_req *req, const char *rest)
{
	char who[128];
	if (core_login_require(&p->login, req, who, sizeof(who)) < 0)
		return;
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (*rest == '\0') {
		if (get)
			users_list(p, req);
		else if (strcmp(req->method, "POST") == 0)
			users_create(p, req);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	char *end;
	long long id = rest[0] == '/' ? strtoll(rest + 1, &end, 10) : 0;
	if (id <= 0 || *end) {
		core_httpd_respond_error(req, 404, "no such user");
		return;
	}
	if (get) {
		json_t *u = user_get(p, id);
		if (u)
			pbx_regstate_attach(p->registrar.state, u, time(NULL));
		if (u)
			core_httpd_respond_json(req, 200, u);
		else
			core_httpd_respond_error(req, 404, "no such user");
	} else if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0) {
		users_update(p, req, id);
	} else if (strcmp(req->method, "DELETE") == 0) {
		users_delete(p, req, id);
	} else {
		core_httpd_respond_error(req, 405, "method not allowed");
	}
}
