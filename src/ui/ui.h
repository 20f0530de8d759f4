/*
 * ui — the two web UIs: static HTML, CSS and JavaScript modules under
 * src/ui (common/ for both, mgmt/ for management on 8443, pbx/ for each
 * phone system at /<name>/), compiled into the binary at build time by
 * scripts/embed-ui.py. The pages are plain clients of the JSON APIs in
 * docs/api.md; this module only serves them, with the headers that keep
 * them safe (a strict Content-Security-Policy, no framing, revalidation by
 * ETag so an update is never hidden behind a cache).
 */
#ifndef UI_H
#define UI_H

#include <stddef.h>

#include "../core/core_httpd.h"

struct ui_file {
	const char *path; /* relative to src/ui, e.g. "mgmt/index.html" */
	const char *type;
	const unsigned char *data;
	size_t len;
	const char *etag;
};

extern const struct ui_file ui_files[];
extern const size_t ui_nfiles;

const struct ui_file *ui_find(const char *path);
/* Answers GET/HEAD of a UI file: `app` is "mgmt" or "pbx", `rel` the path
 * under the UI's root ("" for the page itself, "ui/<file>" for an asset of
 * common/ or of the app's own folder). Anything else is 404. */
void ui_serve(struct core_httpd_req *req, const char *app, const char *rel);

#endif
