/* ui_serve — see ui.h. */
#include <stdio.h>
#include <string.h>

#include "ui.h"

/* No inline script or style anywhere: what a page shows cannot run. */
#define UI_CSP                                                                                     \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "       \
	"img-src 'self' data:; media-src 'self'; connect-src 'self'; base-uri 'none'; "            \
	"form-action 'self'; "                                                                     \
	"frame-ancestors 'none'\r\n"

const struct ui_file *ui_find(const char *path)
{
	for (size_t i = 0; i < ui_nfiles; i++)
		if (strcmp(ui_files[i].path, path) == 0)
			return &ui_files[i];
	return NULL;
}

void ui_serve(struct core_httpd_req *req, const char *app, const char *rel)
{
	char path[256];
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	if (*rel == '\0')
		snprintf(path, sizeof(path), "%s/index.html", app);
	else if (strncmp(rel, "ui/", 3) == 0 &&
		 (strncmp(rel + 3, "common/", 7) == 0 ||
		  (strncmp(rel + 3, app, strlen(app)) == 0 && rel[3 + strlen(app)] == '/')))
		snprintf(path, sizeof(path), "%s", rel + 3);
	else
		path[0] = '\0';
	const struct ui_file *f = *path ? ui_find(path) : NULL;
	if (!f) {
		core_httpd_respond_error(req, 404, "not found");
		return;
	}
	char hdr[768];
	snprintf(hdr, sizeof(hdr), "ETag: %s\r\nCache-Control: no-cache\r\n" UI_CSP, f->etag);
	const char *inm = core_httpd_header(req, "If-None-Match");
	if (inm && strcmp(inm, f->etag) == 0) {
		core_httpd_respond(req, 304, NULL, hdr, "", 0);
		return;
	}
	core_httpd_respond(req, 200, f->type, hdr, f->data, f->len);
}
