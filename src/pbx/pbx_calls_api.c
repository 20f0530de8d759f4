/*
 * pbx_calls_api — the calls in progress, for the phone system's
 * administrator: GET /<name>/api/v1/calls/active lists them (pbx_call.c
 * knows them), DELETE /<name>/api/v1/calls/active/<id> hangs one up.
 * The same login as the rest of the phone system's API.
 */
#include <stdio.h>
#include <string.h>

#include "../core/core_httpd.h"
#include "../core/core_log.h"
#include "pbx.h"
#include "pbx_call.h"

/* A call's id: digits only, no sign, no leading zero; 0 if it is none. */
static unsigned long long parse_id(const char *s)
{
	unsigned long long v = 0;
	size_t n = strlen(s);
	if (n < 1 || n > 19 || s[0] == '0')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	return v;
}

void pbx_calls_api_handle(struct pbx *p, struct core_httpd_req *req, const char *rest)
{
	char user[128];
	if (core_login_require(&p->login, req, user, sizeof(user)) < 0)
		return;
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (*rest == '\0') {
		if (get)
			core_httpd_respond_json(req, 200,
						json_pack("{s:o, s:I}", "calls",
							  pbx_calls_list(p->calls), "now",
							  (json_int_t)time(NULL)));
		else
			core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	unsigned long long id = parse_id(rest + 1); /* rest is "/<id>" */
	if (strcmp(req->method, "DELETE") != 0) {
		core_httpd_respond_error(req, id ? 405 : 404,
					 id ? "use DELETE to hang up" : "not found");
		return;
	}
	if (!id || pbx_calls_hangup(p->calls, id, user) < 0) {
		core_httpd_respond_error(req, 404, "no such call in progress");
		return;
	}
	core_httpd_respond_json(req, 200, json_pack("{s:I}", "hung_up", (json_int_t)id));
}
