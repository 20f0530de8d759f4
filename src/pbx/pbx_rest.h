/*
 * pbx_rest — the one shape of the phone system's collections in the API
 * (ring groups, trunks, outbound routes, …): `""` for the collection (GET
 * lists, POST creates), `/<id>` for one item (GET, PUT, DELETE), an
 * optional sub-path of the collection's own (`/order`); administrators
 * only, the same 404 and 405 everywhere. Each collection gives its
 * functions in a struct pbx_rest; what they validate and write stays its
 * own.
 */
#ifndef PBX_REST_H
#define PBX_REST_H

#include <stdbool.h>

#include "pbx.h"

struct pbx_rest {
	const char *noun;  /* "group": "no such group" */
	const char *table; /* where DELETE removes the row, when del is NULL */
	void (*list)(struct pbx *p, struct core_httpd_req *req);
	json_t *(*get)(struct pbx *p, long long id); /* NULL: none */
	/* POST (id 0) or PUT (id > 0); answers the request */
	void (*save)(struct pbx *p, struct core_httpd_req *req, long long id, const char *who);
	/* DELETE; NULL: the row of table, 200 {"deleted": id} or 404 */
	void (*del)(struct pbx *p, struct core_httpd_req *req, long long id, const char *who);
	/* a sub-path of the collection's own ("/order"): true when it answered */
	bool (*other)(struct pbx *p, struct core_httpd_req *req, const char *rest, const char *who);
};

/* rest: what follows the collection's path ("" or "/…"). */
void pbx_rest_handle(struct pbx *p, struct core_httpd_req *req, const char *rest,
		     const struct pbx_rest *r);

/* Deletes row id of table, answering 200 {"deleted": id}, 404 "no such
 * <noun>" or 500; true when a row was deleted. */
bool pbx_rest_delete_row(struct pbx *p, struct core_httpd_req *req, const char *table, long long id,
			 const char *noun);

#endif
