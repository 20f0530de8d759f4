/*
 * pbx_outbound — the outbound side of a phone system's trunks: the API of
 * outbound routes and numbering (pbx_outbound_api.c, docs/api.md
 * "Outbound routes", "Numbering").
 */
#ifndef PBX_OUTBOUND_H
#define PBX_OUTBOUND_H

#include "pbx.h"

#define PBX_OUT_MAX_PATTERNS 16
#define PBX_OUT_MAX_TRUNKS   8

/* /api/v1/outbound-routes: rest "" (collection), "/order", "/ID". */
void pbx_outbound_routes_handle(struct pbx *p, struct core_httpd_req *req, const char *rest);
/* /api/v1/numbering: GET, PUT. */
void pbx_numbering_handle(struct pbx *p, struct core_httpd_req *req);

/* The users' API (pbx_users.c): a body's outbound_class ("internal" |
 * "national" | "international" | "premium"), caller_id ("" or a number:
 * an optional '+', 1 to 15 digits) and clir (boolean) checked (NULL or
 * why not), and written for user id (0, or -1 on a database error). */
const char *pbx_outbound_user_check(json_t *b);
int pbx_outbound_user_write(struct pbx *p, long long id, json_t *b);

#endif
