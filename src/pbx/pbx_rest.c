/* pbx_rest — the dispatch every collection of the phone system's API
 * shares (pbx_rest.h): login, the collection and its items, 404 and 405. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_log.h"
#include "pbx_rest.h"

static void no_such(struct core_httpd_req *req, const char *noun)
{
	char why[96];
	snprintf(why, sizeof(why), "no such %s", noun);
	core_httpd_respond_error(req, 404, why);
}

bool pbx_rest_delete_row(struct pbx *p, struct core_httpd_req *req, const char *table, long long id,
			 const char *noun)
{
	char sql[128], why[96];
	sqlite3_stmt *st;
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id=?", table);
	if (sqlite3_prepare_v2(p->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, sizeof(why), "could not delete the %s", noun);
		core_httpd_respond_error(req, 500, why);
		return false;
	}
	sqlite3_bind_int64(st, 1, id);
	bool done = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(p->db) == 1;
	sqlite3_finalize(st);
	if (done)
		core_httpd_respond_json(req, 200, json_pack("{s:I}", "deleted", (json_int_t)id));
	else
		no_such(req, noun);
	return done;
}

void pbx_rest_handle(struct pbx *p, struct core_httpd_req *req, const char *rest,
		     const struct pbx_rest *r)
{
	char who[128];
	if (core_login_require(&p->login, req, who, sizeof(who)) < 0)
		return;
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (*rest == '\0') {
		if (get)
			r->list(p, req);
		else if (strcmp(req->method, "POST") == 0)
			r->save(p, req, 0, who);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	if (r->other && r->other(p, req, rest, who))
		return;
	char *end;
	long long id = rest[0] == '/' && rest[1] >= '1' && rest[1] <= '9'
			       ? strtoll(rest + 1, &end, 10)
			       : 0;
	if (id <= 0 || *end) {
		no_such(req, r->noun);
		return;
	}
	if (get) {
		json_t *o = r->get(p, id);
		if (o)
			core_httpd_respond_json(req, 200, o);
		else
			no_such(req, r->noun);
	} else if (strcmp(req->method, "PUT") == 0) {
		r->save(p, req, id, who);
	} else if (strcmp(req->method, "DELETE") == 0) {
		if (r->del)
			r->del(p, req, id, who);
		else if (pbx_rest_delete_row(p, req, r->table, id, r->noun))
			log_info("%s deleted %s %lld", who, r->noun, id);
	} else {
		core_httpd_respond_error(req, 405, "method not allowed");
	}
}
