/*
 * pbx_me_api — a user's own API under /<name>/api/v1/me, for the session
 * of a user's own login (core_login's second kind of account, subject
 * "user:<id>"): the user is the session's, never a path's, so no other
 * user's data has a way in. An administrator's session gets 403 here (an
 * administrator is no user); a user's session gets 403 on every other
 * endpoint (core_login_require).
 *
 *   GET     /me                     {"id","extension","display_name","sip_username","email"}
 *   GET     /me/calls?limit&offset  the user's calls: caller, callee or who answered
 *   GET/PUT /me/forwarding          forwarding, do-not-disturb, call waiting (pbx_forward.h)
 *   GET     /me/devices             the user's registrations
 *   GET     /me/softphone           what a softphone needs: domain, proxy, ports, username
 *   ...     /me/voicemail[/...]     the user's mailbox, as /voicemail/<id> (pbx_vm.h)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_db.h"
#include "pbx.h"
#include "pbx_call.h"
#include "pbx_users.h"
#include "pbx_vm.h"

/* The session's own user (enabled), or NULL (answered here). */
static json_t *me_user(struct pbx *p, struct core_httpd_req *req, long long *id)
{
	char subject[128];
	if (core_login_require_any(&p->login, req, subject, sizeof(subject)) < 0)
		return NULL;
	*id = pbx_users_subject_id(subject);
	if (*id <= 0) {
		core_httpd_respond_error(req, 403,
					 "/api/v1/me is a user's own API: log in as a user");
		return NULL;
	}
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT extension, display_name, sip_username, email"
					       " FROM users WHERE id=? AND enabled=1");
	json_t *u = NULL;
	if (st) {
		sqlite3_bind_int64(st, 1, *id);
		if (sqlite3_step(st) == SQLITE_ROW)
			u = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)*id,
				      "extension", (const char *)sqlite3_column_text(st, 0),
				      "display_name", (const char *)sqlite3_column_text(st, 1),
				      "sip_username", (const char *)sqlite3_column_text(st, 2),
				      "email", (const char *)sqlite3_column_text(st, 3), "role",
				      "user");
		sqlite3_reset(st);
	}
	if (!u)
		core_httpd_respond_error(req, 401, "log in first: this user is gone");
	return u;
}

static void me_calls(struct pbx *p, struct core_httpd_req *req, const char *ext)
{
	int limit, offset;
	pbx_http_page(req, &limit, &offset);
	core_httpd_respond_json(
		req, 200, json_pack("{s:o}", "calls", pbx_cdr_list_ext(p->db, ext, limit, offset)));
}

/* The registrar's list, only this user's devices. */
static void me_devices(struct pbx *p, struct core_httpd_req *req, const char *sip_user)
{
	json_t *all = pbx_registrar_list(&p->registrar, time(NULL)), *mine = json_array(), *it;
	size_t i;
	json_array_foreach(all, i, it)
	{
		const char *u = json_string_value(json_object_get(it, "user"));
		if (u && strcmp(u, sip_user) == 0)
			json_array_append(mine, it);
	}
	json_decref(all);
	core_httpd_respond_json(req, 200, json_pack("{s:o}", "devices", mine));
}

/* The host the browser reached us at (the SBC's name), without its port. */
static void me_host(struct core_httpd_req *req, char *out, size_t cap)
{
	const char *h = core_httpd_header(req, "Host");
	size_t n = 0;
	if (h && h[0] == '[') /* [v6]:port */
		n = strchr(h, ']') ? (size_t)(strchr(h, ']') - h) + 1 : 0;
	else if (h)
		n = strcspn(h, ":");
	if (n >= cap)
		n = 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)h[i] <= 0x20 || h[i] == 0x7f)
			n = 0;
	memcpy(out, h ? h : "", n);
	out[n] = '\0';
}

static void me_softphone(struct pbx *p, struct core_httpd_req *req, json_t *u)
{
	const char *off = getenv("ZENTRALE_PORT_OFFSET");
	int offset = off ? atoi(off) : 0;
	char host[256];
	me_host(req, host, sizeof(host));
	core_httpd_respond_json(
		req, 200,
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s}", "domain", p->name, "proxy",
			  host, "sip_username",
			  json_string_value(json_object_get(u, "sip_username")), "auth_username",
			  json_string_value(json_object_get(u, "sip_username")), "extension",
			  json_string_value(json_object_get(u, "extension")), "tls_port",
			  5061 + offset, "plain_port", 5060 + offset, "password",
			  "the SIP password the administrator gave you (it is not your login "
			  "password)"));
}

void pbx_me_handle(struct pbx *p, struct core_httpd_req *req, const char *rest)
{
	long long id;
	json_t *u = me_user(p, req, &id);
	if (!u)
		return;
	const char *ext = json_string_value(json_object_get(u, "extension"));
	/* these only read */
	bool read_only = *rest == '\0' || strcmp(rest, "/calls") == 0 ||
			 strcmp(rest, "/devices") == 0 || strcmp(rest, "/softphone") == 0;
	if (read_only && !pbx_http_is_get(req)) {
		core_httpd_respond_error(req, 405, "use GET");
	} else if (*rest == '\0') {
		core_httpd_respond_json(req, 200, json_incref(u));
	} else if (strcmp(rest, "/calls") == 0) {
		me_calls(p, req, ext);
	} else if (strcmp(rest, "/forwarding") == 0) {
		pbx_users_forwarding(p, req, id, true);
	} else if (strcmp(rest, "/devices") == 0) {
		me_devices(p, req, json_string_value(json_object_get(u, "sip_username")));
	} else if (strcmp(rest, "/softphone") == 0) {
		me_softphone(p, req, u);
	} else if (strncmp(rest, "/voicemail", 10) == 0 && (rest[10] == '\0' || rest[10] == '/')) {
		char who[64];
		snprintf(who, sizeof(who), "user %lld", id);
		pbx_vm_api_mailbox(p, req, who, id, rest + 10);
	} else {
		core_httpd_respond_error(req, 404, "not found");
	}
	json_decref(u);
}
