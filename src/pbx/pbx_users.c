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
#include "pbx_check.h"
#include "pbx_forward.h"
#include "pbx_group.h"
#include "pbx_outbound.h"
#include "pbx_route.h"

#define USER_COLS                                                                                  \
	"id, display_name, extension, sip_username, enabled, created, updated, login_hash<>'',"    \
	" pickup_group, outbound_class, caller_id, clir"

/* ---- validation: one place for each rule (the shared ones: pbx_check.h) ---- */

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

/* A pickup group's name: users with the same one pick up each other's
 * calls with *8; "" is none. */
static const char *check_pickup_group(const char *s)
{
	size_t n = strlen(s);
	if (n > 32)
		return "pickup_group must be at most 32 characters";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return "pickup_group may only contain letters, digits and . _ -";
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
	return json_pack(
		"{s:I, s:s, s:s, s:s, s:b, s:I, s:I, s:b, s:s, s:s, s:s, s:b}", "id",
		(json_int_t)sqlite3_column_int64(st, 0), "display_name",
		(const char *)sqlite3_column_text(st, 1), "extension",
		(const char *)sqlite3_column_text(st, 2), "sip_username",
		(const char *)sqlite3_column_text(st, 3), "enabled", sqlite3_column_int(st, 4),
		"created", (json_int_t)sqlite3_column_int64(st, 5), "updated",
		(json_int_t)sqlite3_column_int64(st, 6), "login", sqlite3_column_int(st, 7),
		"pickup_group", (const char *)sqlite3_column_text(st, 8), "outbound_class",
		(const char *)sqlite3_column_text(st, 9), "caller_id",
		(const char *)sqlite3_column_text(st, 10), "clir", sqlite3_column_int(st, 11));
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

static bool user_get_exists(struct pbx *p, long long id)
{
	json_t *u = user_get(p, id);
	json_decref(u);
	return u != NULL;
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
	const char *login;  /* login_password: NULL not given, "" no login */
	int enabled;	    /* -1: not given */
	const char *pickup; /* NULL: not given */
};

static const char *user_read(json_t *b, struct user_in *in, bool create)
{
	json_t *en = json_object_get(b, "enabled");
	const char *keys[] = {"display_name", "extension", "sip_username", "sip_password",
			      "pickup_group"};
	const char **vals[] = {&in->display, &in->ext, &in->user, &in->password, &in->pickup};
	for (int i = 0; i < 5; i++) {
		json_t *v = json_object_get(b, keys[i]);
		if (v && !json_is_string(v))
			return "display_name, extension, sip_username, sip_password and "
			       "pickup_group "
			       "are strings";
		*vals[i] = json_string_value(v);
	}
	if (en && !json_is_boolean(en))
		return "enabled must be true or false";
	in->enabled = en ? json_is_true(en) : -1;
	const char *why;
	if ((create || in->display) && (why = pbx_check_name(in->display, "display_name")))
		return why;
	if ((create || in->ext) && (why = pbx_check_extension(in->ext)))
		return why;
	if (create && !in->user)
		in->user = in->ext;
	if (in->user && (why = check_username(in->user)))
		return why;
	if (in->password && (why = check_sip_password(in->password)))
		return why;
	if (in->pickup && (why = check_pickup_group(in->pickup)))
		return why;
	json_t *lp = json_object_get(b, "login_password");
	if (lp && !json_is_string(lp))
		return "login_password is a string (\"\" ends the user's login)";
	in->login = json_string_value(lp);
	if (in->login && *in->login && (why = core_auth_password_problem(in->login)))
		return why;
	return pbx_outbound_user_check(b); /* outbound_class, caller_id, clir */
}

/* An extension or SIP user name that a ring group has: why, or NULL. */
static const char *group_conflict(struct pbx *p, const struct user_in *in)
{
	if ((in->ext && pbx_group_by_extension(p, in->ext) >= 0) ||
	    (in->user && pbx_group_by_extension(p, in->user) >= 0))
		return "this extension is a ring group's";
	if (in->ext && pbx_park_reserved(in->ext))
		return "extensions 700 to 720 are the park codes";
	return NULL;
}

/* Ends every session of a user (deleted, disabled, a new or no login). */
static void user_sessions_end(struct pbx *p, long long id)
{
	char subject[40];
	snprintf(subject, sizeof(subject), PBX_USER_SUBJECT "%lld", id);
	core_auth_session_revoke_others(p->db, subject, "");
}

static int user_set_login(struct pbx *p, long long id, const char *hash)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "UPDATE users SET login_hash=? WHERE id=?", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return r;
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

/* POST with body b (checked by user_read); login_hash: the hashed
 * login_password, or NULL. */
static void users_create(struct pbx *p, struct core_httpd_req *req, json_t *b,
			 const char *login_hash)
{
	struct user_in in = {0};
	char generated[32];
	user_read(b, &in, true);
	if (!in.password) {
		/* 20 characters from 57: about 117 bits */
		core_auth_random_password(generated, sizeof(generated));
		in.password = generated;
	}
	sqlite3_stmt *st;
	core_db_begin(p->db);
	int ok = sqlite3_prepare_v2(
			 p->db,
			 "INSERT INTO users(display_name,extension,sip_username,ha1_md5,"
			 "ha1_sha256,enabled,pickup_group,created,updated) VALUES(?,?,?,'',"
			 "'',?,?,strftime('%s','now'),strftime('%s','now'))",
			 -1, &st, NULL) == SQLITE_OK;
	const char *conflict = NULL;
	if (ok) {
		sqlite3_bind_text(st, 1, in.display, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, in.ext, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, in.user, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, in.enabled != 0);
		sqlite3_bind_text(st, 5, in.pickup ? in.pickup : "", -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_DONE;
		conflict = ok ? NULL : user_conflict(p->db);
		sqlite3_finalize(st);
	}
	long long id = sqlite3_last_insert_rowid(p->db);
	ok = ok && user_set_password(p, id, in.user, in.password) == 0;
	ok = ok && (!login_hash || user_set_login(p, id, login_hash) == 0);
	ok = ok && pbx_outbound_user_write(p, id, b) == 0;
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
}

/* PUT with body b; login_hash: the hashed login_password, "" to end the
 * login, NULL to keep it. */
static void users_update(struct pbx *p, struct core_httpd_req *req, long long id, json_t *b,
			 const char *login_hash)
{
	json_t *cur = user_get(p, id);
	if (!cur) {
		core_httpd_respond_error(req, 404, "no such user");
		return;
	}
	struct user_in in = {0};
	const char *why = user_read(b, &in, false);
	const char *old_user = json_string_value(json_object_get(cur, "sip_username"));
	if (!why && in.user && strcmp(in.user, old_user) != 0 && !in.password)
		why = "a new sip_username needs a new sip_password (the stored digests include the "
		      "username)";
	if (why) {
		core_httpd_respond_error(req, 400, why);
		goto out;
	}
	sqlite3_stmt *st;
	core_db_begin(p->db);
	int ok = sqlite3_prepare_v2(p->db,
				    "UPDATE users SET display_name=coalesce(?,display_name),"
				    "extension=coalesce(?,extension), enabled=coalesce(?,enabled),"
				    "pickup_group=coalesce(?,pickup_group),"
				    "updated=strftime('%s','now') WHERE id=?",
				    -1, &st, NULL) == SQLITE_OK;
	const char *conflict = NULL;
	if (ok) {
		sqlite3_bind_text(st, 1, in.display, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, in.ext, -1, SQLITE_STATIC);
		if (in.enabled >= 0)
			sqlite3_bind_int(st, 3, in.enabled);
		sqlite3_bind_text(st, 4, in.pickup, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, id);
		ok = sqlite3_step(st) == SQLITE_DONE;
		conflict = ok ? NULL : user_conflict(p->db);
		sqlite3_finalize(st);
	}
	if (ok && in.password) {
		ok = user_set_password(p, id, in.user ? in.user : old_user, in.password) == 0;
		conflict = ok ? NULL : user_conflict(p->db);
	}
	if (ok && login_hash)
		ok = user_set_login(p, id, login_hash) == 0;
	ok = ok && pbx_outbound_user_write(p, id, b) == 0;
	core_db_end(p->db, ok);
	if (!ok) {
		core_httpd_respond_error(req, conflict ? 409 : 500,
					 conflict ? conflict : "could not update the user");
		goto out;
	}
	/* A disabled user, or one whose login changed, is logged out everywhere. */
	if (login_hash || in.enabled == 0)
		user_sessions_end(p, id);
	if (login_hash)
		log_info("the login of user %lld was %s", id, *login_hash ? "set" : "removed");
	core_httpd_respond_json(req, 200, user_get(p, id));
out:
	json_decref(cur);
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
		user_sessions_end(p, id);
	if (done)
		core_httpd_respond_json(req, 200, json_pack("{s:I}", "deleted", (json_int_t)id));
	else
		core_httpd_respond_error(req, 404, "no such user");
}

/* A create or update waiting for its login_password's hash. */
struct user_write {
	struct pbx *p;
	long long id; /* 0: create */
	json_t *body;
};

static void user_write_hashed(struct core_httpd_req *req, const char *hash, void *arg)
{
	struct user_write *w = arg;
	if (req && !hash)
		core_httpd_respond_error(req, 500, "could not hash the login password");
	else if (req && w->id)
		users_update(w->p, req, w->id, w->body, hash);
	else if (req)
		users_create(w->p, req, w->body, hash);
	json_decref(w->body);
	free(w);
}

/* POST (id 0) or PUT: the body checked, its login_password hashed in a
 * worker first (never on the event loop). */
static void users_write(struct pbx *p, struct core_httpd_req *req, long long id)
{
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	struct user_in in = {0};
	const char *why = user_read(b, &in, id == 0);
	int status = why ? 400 : 409;
	if (why || (why = group_conflict(p, &in))) {
		core_httpd_respond_error(req, status, why);
		json_decref(b);
		return;
	}
	if (!in.login || !*in.login) {
		if (id)
			users_update(p, req, id, b, in.login);
		else
			users_create(p, req, b, NULL);
		json_decref(b);
		return;
	}
	struct user_write *w = malloc(sizeof(*w));
	if (!w) {
		core_httpd_respond_error(req, 500, "out of memory");
		json_decref(b);
		return;
	}
	*w = (struct user_write){p, id, b};
	if (core_login_hash_async(&p->login, req, in.login, user_write_hashed, w) < 0) {
		json_decref(b);
		free(w);
	}
}

void pbx_users_forwarding(struct pbx *p, struct core_httpd_req *req, long long id, bool own)
{
	if (strcmp(req->method, "PUT") == 0) {
		json_t *b = core_httpd_json_body(req);
		if (!b)
			return;
		char err[256] = "";
		int rc = pbx_forward_put(p, id, b, err, sizeof(err));
		json_decref(b);
		if (rc) {
			core_httpd_respond_error(req, rc, *err ? err : "could not save");
			return;
		}
		if (own)
			log_info("user %lld changed their forwarding", id);
	} else if (!pbx_http_is_get(req)) {
		core_httpd_respond_error(req, 405, "use GET or PUT");
		return;
	}
	json_t *o = pbx_forward_json(p, id);
	if (o)
		core_httpd_respond_json(req, 200, o);
	else if (own) /* the session's user exists */
		core_httpd_respond_error(req, 500, "could not read the forwarding");
	else
		core_httpd_respond_error(req, 404, "no such user");
}

static int accounts_find(void *arg, const char *name, char *subject, size_t sublen, char *hash,
			 size_t hashlen)
{
	struct pbx *p = arg;
	sqlite3_stmt *st =
		core_db_stmt(p->db, "SELECT id, login_hash FROM users WHERE "
				    "(extension=?1 OR sip_username=?1) AND enabled=1 AND "
				    "login_hash<>'' ORDER BY extension=?1 DESC LIMIT 1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int r = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(subject, sublen, PBX_USER_SUBJECT "%lld",
			 (long long)sqlite3_column_int64(st, 0));
		snprintf(hash, hashlen, "%s", (const char *)sqlite3_column_text(st, 1));
		r = 0;
	}
	sqlite3_reset(st);
	return r;
}

static int accounts_hash_of(void *arg, const char *subject, char *hash, size_t hashlen)
{
	struct pbx *p = arg;
	long long id = pbx_users_subject_id(subject);
	sqlite3_stmt *st = core_db_stmt(
		p->db, "SELECT login_hash FROM users WHERE id=? AND enabled=1 AND login_hash<>''");
	if (id <= 0 || !st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int r = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(hash, hashlen, "%s", (const char *)sqlite3_column_text(st, 0));
		r = 0;
	}
	sqlite3_reset(st);
	return r;
}

static int accounts_set_hash(void *arg, const char *subject, const char *hash)
{
	long long id = pbx_users_subject_id(subject);
	return id > 0 ? user_set_login(arg, id, hash) : -1;
}

void pbx_users_accounts(struct pbx *p)
{
	static struct core_login_accounts a = {
		.prefix = PBX_USER_SUBJECT,
		.find = accounts_find,
		.hash_of = accounts_hash_of,
		.set_hash = accounts_set_hash,
	};
	a.arg = p;
	core_login_set_accounts(&p->login, &a);
}

long long pbx_users_subject_id(const char *subject)
{
	size_t n = strlen(PBX_USER_SUBJECT);
	if (!subject || strncmp(subject, PBX_USER_SUBJECT, n) != 0)
		return -1;
	char *end;
	long long id = strtoll(subject + n, &end, 10);
	return id > 0 && *end == '\0' && isdigit((unsigned char)subject[n]) ? id : -1;
}

void pbx_users_handle(struct pbx *p, struct core_httpd_req *req, const char *rest)
{
	char who[128];
	if (core_login_require(&p->login, req, who, sizeof(who)) < 0)
		return;
	bool get = pbx_http_is_get(req);
	if (*rest == '\0') {
		if (get)
			users_list(p, req);
		else if (strcmp(req->method, "POST") == 0)
			users_write(p, req, 0);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	char *end;
	long long id =
		rest[0] == '/' && isdigit((unsigned char)rest[1]) ? strtoll(rest + 1, &end, 10) : 0;
	if (id > 0 && strcmp(end, "/forwarding") == 0) {
		pbx_users_forwarding(p, req, id, false);
		return;
	}
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
		if (!user_get_exists(p, id))
			core_httpd_respond_error(req, 404, "no such user");
		else
			users_write(p, req, id);
	} else if (strcmp(req->method, "DELETE") == 0) {
		users_delete(p, req, id);
	} else {
		core_httpd_respond_error(req, 405, "method not allowed");
	}
}
