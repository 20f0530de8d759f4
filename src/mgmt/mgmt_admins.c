/*
 * mgmt_admins — recovering access: the server's administrator accounts
 * (/api/v1/admins: list, add, remove, set a password; the last one cannot
 * be removed) and the reset of a phone system's admin password
 * (POST /phone-systems/{name}/admin-password, carried out by the
 * supervisor's admin-password operation). Every administrator is the
 * equal of every other, as members of a Unix admin group are: any of them
 * may add, remove and set the password of any other. Passwords are hashed
 * (argon2id) by the password workers, never on the event loop; a password
 * the server generates is in the answer once and kept nowhere. Each change
 * is logged with the administrator who made it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "../core/core_auth.h"
#include "../core/core_db.h"
#include "../core/core_log.h"
#include "mgmt.h"

#define ADMIN_NAME_MAX 32

/* NULL if name may be an administrator's account, else why not: 1-32 of
 * a-z, 0-9, '.', '_', '-', starting with a letter (as useradd's NAME_REGEX). */
static const char *admin_name_problem(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > ADMIN_NAME_MAX)
		return "username must be 1 to 32 characters";
	if (name[0] < 'a' || name[0] > 'z')
		return "username must start with a lower-case letter";
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      strchr("._-", name[i])))
			return "username may hold only a-z, 0-9, '.', '_' and '-'";
	return NULL;
}

bool mgmt_admin_exists(struct mgmt *m, const char *name)
{
	sqlite3_stmt *st;
	bool found = false;
	if (!name || admin_name_problem(name) ||
	    sqlite3_prepare_v2(m->db, "SELECT 1 FROM admins WHERE username=?", -1, &st, NULL) !=
		    SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static int admin_count(struct mgmt *m)
{
	sqlite3_stmt *st;
	int n = -1;
	if (sqlite3_prepare_v2(m->db, "SELECT count(*) FROM admins", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* ---- answers that carry a generated password ---- */

void mgmt_api_ask_with(struct mgmt *m, struct core_httpd_req *req, json_t *op, json_t *extra,
		       const char *audit)
{
	char key[32];
	snprintf(key, sizeof(key), "%llu", (unsigned long long)(uint32_t)req->id);
	json_t *p = json_pack("{s:o, s:s}", "extra", extra ? extra : json_object(), "audit",
			      audit ? audit : "");
	if (core_ipc_send_json(m->child.ipc, IPC_REQUEST, (uint32_t)req->id, op, NULL, 0) < 0) {
		core_httpd_respond_error(req, 503, "the supervisor is not reachable");
		json_decref(p);
	} else {
		json_object_set_new(m->pending, key, p); /* until its reply */
	}
	json_decref(op);
}

void mgmt_admins_replied(struct mgmt *m, uint32_t id, int status, json_t *answer)
{
	char key[32];
	snprintf(key, sizeof(key), "%llu", (unsigned long long)id);
	json_t *p = json_object_get(m->pending, key);
	if (!p)
		return;
	const char *audit = json_string_value(json_object_get(p, "audit"));
	if (status >= 200 && status < 300) {
		if (answer)
			json_object_update(answer, json_object_get(p, "extra"));
		if (audit && *audit)
			log_info("management: %s", audit);
	}
	json_object_del(m->pending, key);
}

/* ---- hashing in a worker ---- */

enum pw_kind { PW_ADMIN_ADD, PW_ADMIN_SET, PW_PS_RESET };

struct pw_job {
	struct mgmt *m;
	struct core_httpd *srv;
	uint64_t id;
	enum pw_kind kind;
	bool generated;
	char who[128];
	char name[64];			    /* the account, or the phone system */
	char keep[CORE_AUTH_TOKEN_LEN + 1]; /* PW_ADMIN_SET of one's own: this session goes on */
	char pw[CORE_AUTH_MAX_PASSWORD + 1];
	char hash[CORE_AUTH_HASH_LEN];
	int r;
};

static void pw_job_run(void *arg)
{
	struct pw_job *j = arg;
	j->r = core_auth_hash_password(j->pw, j->hash);
}

static void pw_job_free(struct pw_job *j)
{
	sodium_memzero(j, sizeof(*j));
	free(j);
}

/* The answer's password field (to out, or a new object), only when the
 * server made the password. */
static json_t *pw_shown(struct pw_job *j, json_t *out, const char *key)
{
	if (!out)
		out = json_object();
	if (j->generated)
		json_object_set_new(out, key, json_string(j->pw));
	return out;
}

static void admin_add_done(struct pw_job *j, struct core_httpd_req *req)
{
	sqlite3_stmt *st;
	int rc = -1;
	if (sqlite3_prepare_v2(j->m->db,
			       "INSERT INTO admins(username,password_hash,created) "
			       "VALUES(?,?,strftime('%s','now'))",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, j->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, j->hash, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (rc == SQLITE_CONSTRAINT) {
		core_httpd_respond_error(req, 409, "an administrator with this name exists");
		return;
	}
	if (rc != SQLITE_DONE) {
		core_httpd_respond_error(req, 500, "could not save the administrator");
		return;
	}
	log_info("management: %s added the administrator %s", j->who, j->name);
	json_t *out =
		json_pack("{s:s, s:I}", "username", j->name, "created", (json_int_t)time(NULL));
	core_httpd_respond_json(req, 201, pw_shown(j, out, "password"));
}

static void admin_set_done(struct pw_job *j, struct core_httpd_req *req)
{
	sqlite3_stmt *st;
	bool ok = core_db_begin(j->m->db) == 0 &&
		  sqlite3_prepare_v2(j->m->db, "UPDATE admins SET password_hash=? WHERE username=?",
				     -1, &st, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(st, 1, j->hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, j->name, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	/* The account may have been removed while the password was hashed. */
	bool gone = ok && sqlite3_changes(j->m->db) != 1;
	/* Every session of the account ends but the one of the request. */
	ok = ok && !gone && core_auth_session_revoke_others(j->m->db, j->name, j->keep) == 0;
	if (core_db_end(j->m->db, ok) < 0) {
		core_httpd_respond_error(req, gone ? 404 : 500,
					 gone ? "no such administrator"
					      : "could not save the password");
		return;
	}
	if (strcmp(j->who, j->name) == 0)
		log_info("management: %s changed the own password", j->who);
	else
		log_info("management: %s set a new password for the administrator %s; its "
			 "sessions ended",
			 j->who, j->name);
	json_t *out = json_pack("{s:s, s:b}", "username", j->name, "changed", 1);
	core_httpd_respond_json(req, 200, pw_shown(j, out, "password"));
}

static void pw_job_done(void *arg, bool cancelled)
{
	struct pw_job *j = arg;
	struct core_httpd_req *req = cancelled ? NULL : core_httpd_find(j->srv, j->id);
	if (req && j->r < 0) {
		core_httpd_respond_error(req, 500, "could not hash the password");
	} else if (req && j->kind == PW_ADMIN_ADD) {
		admin_add_done(j, req);
	} else if (req && j->kind == PW_ADMIN_SET) {
		admin_set_done(j, req);
	} else if (req) {
		char audit[256];
		snprintf(audit, sizeof(audit),
			 "%s reset the admin password of phone system %s; its sessions ended",
			 j->who, j->name);
		mgmt_api_ask_with(j->m, req,
				  json_pack("{s:s, s:s, s:s}", "op",
					    core_op_name(CORE_OP_ADMIN_PASSWORD), "name", j->name,
					    "admin_hash", j->hash),
				  pw_shown(j, NULL, "admin_password"), audit);
	}
	pw_job_free(j);
}

/* Takes the password of body[key], or generates one; checks it and hands
 * it to a worker to hash; the job then finishes the request. */
static void pw_submit(struct mgmt *m, struct core_httpd_req *req, enum pw_kind kind,
		      const char *name, const char *who, json_t *body, const char *key)
{
	json_t *given = body ? json_object_get(body, key) : NULL;
	if (json_is_null(given))
		given = NULL; /* as if not given: generated */
	const char *pw = json_string_value(given);
	const char *why = given && !pw ? "the password must be a string"
			  : pw	       ? core_auth_password_problem(pw)
				       : NULL;
	if (why) {
		core_httpd_respond_error(req, 400, why);
		return;
	}
	struct pw_job *j = calloc(1, sizeof(*j));
	if (!j) {
		core_httpd_respond_error(req, 500, "out of memory");
		return;
	}
	j->m = m;
	j->srv = core_httpd_of(req);
	j->id = req->id;
	j->kind = kind;
	snprintf(j->name, sizeof(j->name), "%s", name);
	snprintf(j->who, sizeof(j->who), "%s", who);
	if (pw) {
		snprintf(j->pw, sizeof(j->pw), "%s", pw);
	} else {
		core_auth_random_password(j->pw, 21);
		j->generated = true;
	}
	const char *tok = core_httpd_bearer(req);
	char cookie[128] = "";
	if (!tok && core_httpd_cookie(req, CORE_LOGIN_COOKIE, cookie, sizeof(cookie)) == 0)
		tok = cookie;
	if (kind == PW_ADMIN_SET && strcmp(name, who) == 0 && tok)
		snprintf(j->keep, sizeof(j->keep), "%s", tok);
	if (core_work_submit(m->work, pw_job_run, pw_job_done, j) < 0) {
		static const char busy[] = "{\"error\":\"busy; try again\"}\n";
		pw_job_free(j);
		core_httpd_respond(req, 503, "application/json", "Retry-After: 1\r\n", busy,
				   sizeof(busy) - 1);
	}
}

/* The request's JSON object; an empty body is {} (a password to generate). */
static json_t *body_or_empty(struct core_httpd_req *req)
{
	return evbuffer_get_length(req->body) ? core_httpd_json_body(req) : json_object();
}

/* ---- /admins ---- */

static void admins_list(struct mgmt *m, struct core_httpd_req *req, const char *who)
{
	sqlite3_stmt *st;
	json_t *out = json_array();
	if (sqlite3_prepare_v2(m->db,
			       "SELECT username, created, (SELECT count(*) FROM sessions WHERE "
			       "subject=username AND expires>strftime('%s','now')) FROM admins "
			       "ORDER BY username",
			       -1, &st, NULL) != SQLITE_OK) {
		json_decref(out);
		core_httpd_respond_error(req, 500, "cannot read the administrators");
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *u = (const char *)sqlite3_column_text(st, 0);
		json_array_append_new(
			out, json_pack("{s:s, s:I, s:i, s:b}", "username", u, "created",
				       (json_int_t)sqlite3_column_int64(st, 1), "sessions",
				       sqlite3_column_int(st, 2), "you", strcmp(u, who) == 0));
	}
	sqlite3_finalize(st);
	core_httpd_respond_json(req, 200, json_pack("{s:o}", "admins", out));
}

static void admins_add(struct mgmt *m, struct core_httpd_req *req, const char *who)
{
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	const char *name = json_string_value(json_object_get(b, "username"));
	const char *why = admin_name_problem(name);
	if (why)
		core_httpd_respond_error(req, 400, why);
	else if (mgmt_admin_exists(m, name))
		core_httpd_respond_error(req, 409, "an administrator with this name exists");
	else
		pw_submit(m, req, PW_ADMIN_ADD, name, who, b, "password");
	json_decref(b);
}

static void admins_remove(struct mgmt *m, struct core_httpd_req *req, const char *name,
			  const char *who)
{
	sqlite3_stmt *st = NULL, *del = NULL;
	if (!mgmt_admin_exists(m, name)) {
		core_httpd_respond_error(req, 404, "no such administrator");
		return;
	}
	if (admin_count(m) <= 1) {
		core_httpd_respond_error(req, 409, "the last administrator cannot be removed");
		return;
	}
	bool ok = core_db_begin(m->db) == 0 &&
		  sqlite3_prepare_v2(m->db, "DELETE FROM admins WHERE username=?", -1, &st, NULL) ==
			  SQLITE_OK &&
		  sqlite3_prepare_v2(m->db, "DELETE FROM sessions WHERE subject=?", -1, &del,
				     NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(del, 1, name, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_step(del) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	sqlite3_finalize(del);
	if (core_db_end(m->db, ok) < 0) {
		core_httpd_respond_error(req, 500, "could not remove the administrator");
		return;
	}
	log_info("management: %s removed the administrator %s; its sessions ended", who, name);
	core_httpd_respond_json(req, 200, json_pack("{s:s, s:b}", "username", name, "removed", 1));
}

void mgmt_admins(struct mgmt *m, struct core_httpd_req *req, const char *rest, const char *who)
{
	char name[64];
	if (!*rest) {
		if (mgmt_method_is(req, "GET"))
			admins_list(m, req, who);
		else if (mgmt_method_is(req, "POST"))
			admins_add(m, req, who);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	const char *action = mgmt_path_id(rest, name, sizeof(name));
	if (!*action && mgmt_method_is(req, "DELETE")) {
		admins_remove(m, req, name, who);
	} else if (!*action && mgmt_method_is(req, "GET")) {
		if (mgmt_admin_exists(m, name))
			core_httpd_respond_json(req, 200, json_pack("{s:s}", "username", name));
		else
			core_httpd_respond_error(req, 404, "no such administrator");
	} else if (strcmp(action, "password") == 0 && mgmt_method_is(req, "PUT")) {
		if (!mgmt_admin_exists(m, name)) {
			core_httpd_respond_error(req, 404, "no such administrator");
			return;
		}
		json_t *b = body_or_empty(req);
		if (b)
			pw_submit(m, req, PW_ADMIN_SET, name, who, b, "password");
		json_decref(b);
	} else if (!*action || strcmp(action, "password") == 0) {
		core_httpd_respond_error(req, 405, "method not allowed");
	} else {
		core_httpd_respond_error(req, 404, "not found");
	}
}

void mgmt_ps_admin_password(struct mgmt *m, struct core_httpd_req *req, const char *name,
			    const char *who)
{
	json_t *b = body_or_empty(req);
	if (!b)
		return;
	pw_submit(m, req, PW_PS_RESET, name, who, b, "admin_password");
	json_decref(b);
}
