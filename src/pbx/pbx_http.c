/*
 * pbx_http — the phone system's HTTP face, reached only through the SBC at
 * /<name>/: its web UI (src/ui/pbx) and the API (login, users,
 * registrations, calls, settings, prompts, status, trunks, inbound numbers,
 * phonebook; a user's own under /me).
 * Every endpoint but login, logout, session, password and /me is the
 * administrator's: its handler's core_login_require answers a user's
 * session 403 (tests/e2e/test_user_login.py tries every route here). Requests arrive with the
 * client's address in X-Real-IP, which only the SBC can set because only it
 * can reach our socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../core/core_version.h"
#include "../ui/ui.h"
#include "pbx.h"
#include "pbx_call.h"
#include "pbx_group.h"
#include "pbx_inbound.h"
#include "pbx_outbound.h"
#include "pbx_prompts.h"
#include "pbx_route.h"
#include "pbx_trunk.h"
#include "pbx_users.h"
#include "pbx_vm.h"

/* The part of the path after "/<name>", or NULL if the path is not ours. */
static const char *pbx_subpath(const struct pbx *p, const char *path)
{
	size_t n = strlen(p->name);
	if (path[0] != '/' || strncmp(path + 1, p->name, n) != 0)
		return NULL;
	const char *rest = path + 1 + n;
	return *rest == '\0' || *rest == '/' ? rest : NULL;
}

bool pbx_http_is_get(const struct core_httpd_req *req)
{
	return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

void pbx_http_page(struct core_httpd_req *req, int *limit, int *offset)
{
	char v[32];
	*limit = core_httpd_query(req, "limit", v, sizeof(v)) == 0 ? atoi(v) : 100;
	*offset = core_httpd_query(req, "offset", v, sizeof(v)) == 0 ? atoi(v) : 0;
	if (*limit < 1 || *limit > 1000)
		*limit = 100;
	if (*offset < 0)
		*offset = 0;
}

/* Only GET or HEAD, once the administrator's login is checked (a user's
 * session gets 403 whatever the method): true if it may go on. */
static bool pbx_admin_get(struct pbx *p, struct core_httpd_req *req)
{
	char user[128];
	if (core_login_require(&p->login, req, user, sizeof(user)) < 0)
		return false;
	if (pbx_http_is_get(req))
		return true;
	core_httpd_respond_error(req, 405, "method not allowed");
	return false;
}

static void pbx_status(struct pbx *p, struct core_httpd_req *req)
{
	if (!pbx_admin_get(p, req))
		return;
	time_t now = time(NULL);
	const char *off = getenv("ZENTRALE_PORT_OFFSET");
	int offset = off ? atoi(off) : 0;
	core_httpd_respond_json(req, 200,
				json_pack("{s:s, s:s, s:s, s:I, s:I, s:{s:s, s:i, s:i}}", "name",
					  p->name, "state", "running", "version", ZENTRALE_VERSION,
					  "started", (json_int_t)p->started, "uptime",
					  (json_int_t)(now - p->started), "sip", "domain", p->name,
					  "tls_port", 5061 + offset, "plain_port", 5060 + offset));
}

static void pbx_registrations(struct pbx *p, struct core_httpd_req *req)
{
	if (!pbx_admin_get(p, req))
		return;
	core_httpd_respond_json(
		req, 200,
		json_pack("{s:o}", "registrations", pbx_registrar_list(&p->registrar, time(NULL))));
}

/* GET /api/v1/calls?limit=N&offset=M: the call history, newest first. */
static void pbx_calls_history(struct pbx *p, struct core_httpd_req *req)
{
	if (!pbx_admin_get(p, req))
		return;
	int limit, offset;
	pbx_http_page(req, &limit, &offset);
	core_httpd_respond_json(req, 200,
				json_pack("{s:o}", "calls", pbx_cdr_list(p->db, limit, offset)));
}

static json_t *settings_json(struct pbx *p)
{
	json_t *algs = json_array();
	if (p->registrar.algorithms & 1)
		json_array_append_new(algs, json_string("MD5"));
	if (p->registrar.algorithms & 2)
		json_array_append_new(algs, json_string("SHA-256"));
	char lang[16];
	if (core_db_setting_get(p->db, "language", lang, sizeof(lang)) < 0 ||
	    (strcmp(lang, "en") != 0 && strcmp(lang, "de") != 0))
		snprintf(lang, sizeof(lang), "en");
	return json_pack("{s:o, s:s, s:i}", "digest_algorithms", algs, "language", lang,
			 "park_timeout", pbx_park_timeout(p));
}

/* The digest algorithms of a PUT body: 0 with list ("MD5,SHA-256"), 1 if
 * absent, -1 if malformed. */
static int settings_algorithms(json_t *b, char *list, size_t cap)
{
	json_t *algs = json_object_get(b, "digest_algorithms"), *it;
	size_t i;
	if (!algs)
		return 1;
	bool ok = json_is_array(algs) && json_array_size(algs) > 0 && json_array_size(algs) <= 2;
	*list = '\0';
	json_array_foreach(algs, i, it)
	{
		const char *a = json_string_value(it);
		ok = ok && a && (strcmp(a, "MD5") == 0 || strcmp(a, "SHA-256") == 0);
		if (ok)
			snprintf(list + strlen(list), cap - strlen(list), "%s%s", i ? "," : "", a);
	}
	return ok ? 0 : -1;
}

/* GET/PUT /api/v1/settings: {"digest_algorithms": ["MD5", "SHA-256"],
 * "language": "en" | "de" (what prompts say), "park_timeout": s}; a PUT
 * may send any of them. */
static void pbx_settings(struct pbx *p, struct core_httpd_req *req)
{
	char user[128];
	if (core_login_require(&p->login, req, user, sizeof(user)) < 0)
		return;
	if (strcmp(req->method, "PUT") == 0) {
		json_t *b = core_httpd_json_body(req);
		if (!b)
			return;
		char list[64] = "", lang[3] = "";
		int has_algs = settings_algorithms(b, list, sizeof(list));
		json_t *l = json_object_get(b, "language");
		const char *ls = json_string_value(l);
		bool lang_ok = !l || (ls && (strcmp(ls, "en") == 0 || strcmp(ls, "de") == 0));
		if (lang_ok && ls)
			snprintf(lang, sizeof(lang), "%s", ls);
		json_t *pt = json_object_get(b, "park_timeout");
		json_int_t park = json_is_integer(pt) ? json_integer_value(pt) : -1;
		json_decref(b);
		if (pt && (park < 1 || park > 3600)) {
			core_httpd_respond_error(req, 400, "park_timeout: seconds, 1 to 3600");
			return;
		}

		if (has_algs < 0) {
			core_httpd_respond_error(req, 400,
						 "digest_algorithms: a list of \"MD5\" and/or "
						 "\"SHA-256\"");
			return;
		}
		if (!lang_ok) {
			core_httpd_respond_error(req, 400, "language: \"en\" or \"de\"");
			return;
		}
		if (has_algs == 0 && (core_db_setting_set(p->db, "digest_algorithms", list) < 0 ||
				      pbx_registrar_set_algorithms(&p->registrar, list) < 0)) {
			core_httpd_respond_error(req, 500, "could not save the settings");
			return;
		}
		if (*lang && core_db_setting_set(p->db, "language", lang) < 0) {
			core_httpd_respond_error(req, 500, "could not save the settings");
			return;
		}
		char pv[16];
		snprintf(pv, sizeof(pv), "%d", (int)park);
		if (pt && core_db_setting_set(p->db, "park_timeout", pv) < 0) {
			core_httpd_respond_error(req, 500, "could not save the settings");
			return;
		}
		if (pt)
			log_info("%s set the park timeout to %s s", user, pv);
		if (has_algs == 0)
			log_info("%s changed the digest algorithms to %s", user, list);
		if (*lang)
			log_info("%s set the language of prompts to %s", user, lang);
	} else if (strcmp(req->method, "GET") != 0) {
		core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	core_httpd_respond_json(req, 200, settings_json(p));
}

void pbx_http_handle(struct core_httpd_req *req, void *arg)
{
	struct pbx *p = arg;
	const char *sub = pbx_subpath(p, req->path);
	bool get = pbx_http_is_get(req);
	bool post = strcmp(req->method, "POST") == 0;

	if (!sub) {
		core_httpd_respond_error(req, 404, "not found");
	} else if (*sub == '\0') {
		char loc[128];
		snprintf(loc, sizeof(loc), "Location: /%s/\r\n", p->name);
		core_httpd_respond(req, 301, NULL, loc, "", 0);
	} else if (strcmp(sub, "/") == 0 || strncmp(sub, "/ui/", 4) == 0) {
		ui_serve(req, "pbx", sub + 1);
	} else if (strcmp(sub, "/api/v1/login") == 0) {
		if (post)
			core_login_handle(&p->login, req);
		else
			core_httpd_respond_error(req, 405, "use POST to log in");
	} else if (strcmp(sub, "/api/v1/logout") == 0) {
		if (post)
			core_login_logout(&p->login, req);
		else
			core_httpd_respond_error(req, 405, "use POST to log out");
	} else if (strcmp(sub, "/api/v1/session") == 0) {
		if (get)
			core_login_session(&p->login, req);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
	} else if (strcmp(sub, "/api/v1/password") == 0) {
		if (strcmp(req->method, "PUT") == 0)
			core_login_password(&p->login, req);
		else
			core_httpd_respond_error(req, 405, "use PUT to change the password");
	} else if (strncmp(sub, "/api/v1/me", 10) == 0 && (sub[10] == '\0' || sub[10] == '/')) {
		pbx_me_handle(p, req, sub + 10);
	} else if (strncmp(sub, "/api/v1/users", 13) == 0 && (sub[13] == '\0' || sub[13] == '/')) {
		pbx_users_handle(p, req, sub + 13);
	} else if (strncmp(sub, "/api/v1/groups", 14) == 0 && (sub[14] == '\0' || sub[14] == '/')) {
		pbx_groups_api_handle(p, req, sub + 14);
	} else if (strncmp(sub, "/api/v1/trunks", 14) == 0 && (sub[14] == '\0' || sub[14] == '/')) {
		pbx_trunks_api_handle(p, req, sub + 14);
	} else if (strncmp(sub, "/api/v1/inbound-numbers", 23) == 0 &&
		   (sub[23] == '\0' || sub[23] == '/')) {
		pbx_inbound_api_handle(p, req, sub + 23);
	} else if (strncmp(sub, "/api/v1/phonebook", 17) == 0 &&
		   (sub[17] == '\0' || sub[17] == '/')) {
		pbx_phonebook_api_handle(p, req, sub + 17);
	} else if (strncmp(sub, "/api/v1/voicemail", 17) == 0 &&
		   (sub[17] == '\0' || sub[17] == '/')) {
		pbx_vm_api_handle(p, req, "voicemail", sub + 17);
	} else if (strncmp(sub, "/api/v1/smtp", 12) == 0 && (sub[12] == '\0' || sub[12] == '/')) {
		pbx_vm_api_handle(p, req, "smtp", sub + 12);
	} else if (strncmp(sub, "/api/v1/outbound-routes", 23) == 0 &&
		   (sub[23] == '\0' || sub[23] == '/')) {
		pbx_outbound_routes_handle(p, req, sub + 23);
	} else if (strcmp(sub, "/api/v1/numbering") == 0) {
		pbx_numbering_handle(p, req);
	} else if (strcmp(sub, "/api/v1/registrations") == 0) {
		pbx_registrations(p, req);
	} else if (strcmp(sub, "/api/v1/settings") == 0) {
		pbx_settings(p, req);
	} else if (strncmp(sub, "/api/v1/prompts", 15) == 0 &&
		   (sub[15] == '\0' || sub[15] == '/')) {
		pbx_prompts_handle(p->prompts, req, sub + 15);
	} else if (strncmp(sub, "/api/v1/calls/active", 20) == 0 &&
		   (sub[20] == '\0' || sub[20] == '/')) {
		pbx_calls_api_handle(p, req, sub + 20);
	} else if (strcmp(sub, "/api/v1/calls") == 0) {
		pbx_calls_history(p, req);
	} else if (strcmp(sub, "/api/v1/status") == 0) {
		pbx_status(p, req);
	} else {
		core_httpd_respond_error(req, 404, "not found");
	}
}
