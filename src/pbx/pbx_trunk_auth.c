/*
 * pbx_trunk_auth — the phone system answers a carrier's digest challenge
 * (a 401 or 407 to a REGISTER or INVITE it sent over a trunk) with the
 * trunk's credentials from table trunks (auth_username, else username;
 * the password kept in clear for this). The SBC relays the challenge and
 * the answer; the credentials never leave the phone system. The digest
 * itself is src/sip/sip_auth.c's (SHA-256 preferred, MD5; qop=auth).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "../sip/sip_auth.h"
#include "pbx.h"
#include "pbx_trunk.h"

int pbx_trunk_auth(struct pbx *p, long long trunk_id, const struct sip_msg *resp,
		   const struct sip_msg *req, char *out, size_t cap)
{
	struct sip_auth_chal ch;
	if ((resp->status != 401 && resp->status != 407) || sip_auth_chal_pick(resp, &ch) < 0)
		return -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db,
			       "SELECT CASE auth_username WHEN '' THEN username ELSE auth_username"
			       " END, password FROM trunks WHERE id=?",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, trunk_id);
	int n = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *user = (const char *)sqlite3_column_text(st, 0);
		const char *pw = (const char *)sqlite3_column_text(st, 1);
		char uri[1024], method[16], cnonce[17];
		unsigned char rnd[8];
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(cnonce, sizeof(cnonce), rnd, sizeof(rnd));
		const char *hdr = resp->status == 407 ? "Proxy-Authorization: " : "Authorization: ";
		size_t hl = strlen(hdr);
		if (user && user[0] && pw && req->ruri.l < sizeof(uri) &&
		    req->method.l < sizeof(method) && cap > hl + 2) {
			snprintf(uri, sizeof(uri), "%.*s", (int)req->ruri.l, req->ruri.p);
			snprintf(method, sizeof(method), "%.*s", (int)req->method.l, req->method.p);
			memcpy(out, hdr, hl);
			int v = sip_auth_answer(&ch, method, uri, user, pw, cnonce, 1, out + hl,
						cap - hl - 2);
			if (v > 0) {
				memcpy(out + hl + (size_t)v, "\r\n", 3);
				n = (int)hl + v + 2;
			}
		}
	}
	sqlite3_finalize(st);
	return n;
}
