/*
 * pbx_trunk_ipc — the pbx's side of the trunk announce (IPC_TRUNKS,
 * docs/architecture.md, "Trunks"): sends a prepared list, or reads
 * pbx.db's trunks table (at start, and after every change through
 * pbx_trunks_api.c) and sends that. Rows the SBC would refuse (core_state's checks) make the whole
 * announce refused by the supervisor, which logs why.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "../core/core_ipc.h"
#include "../core/core_log.h"
#include "pbx.h"

void pbx_trunk_ipc_announce(struct pbx *p, const char *json)
{
	int r = core_ipc_send(p->child.ipc, IPC_TRUNKS, 0, json, strlen(json), NULL, 0);
	if (r < 0)
		log_error("cannot announce the trunks to the supervisor: %s", strerror(-r));
}

/* A JSON list stored in a column ("[]" when not one). */
static json_t *column_list(sqlite3_stmt *st, int col)
{
	const char *text = (const char *)sqlite3_column_text(st, col);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	if (!json_is_array(j)) {
		json_decref(j);
		j = json_array();
	}
	return j;
}

static const char *column_text(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	return t ? t : "";
}

int pbx_trunk_ipc_announce_db(struct pbx *p)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db,
			       "SELECT id, kind, transport, domain, proxy, peers, interface, srtp,"
			       " dtmf, codecs, enabled FROM trunks ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK) {
		log_error("cannot read the trunks: %s", sqlite3_errmsg(p->db));
		return -1;
	}
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(
			list, json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:b, s:s, s:o, s:b}",
					"id", (json_int_t)sqlite3_column_int64(st, 0), "kind",
					column_text(st, 1), "transport", column_text(st, 2),
					"domain", column_text(st, 3), "proxy", column_text(st, 4),
					"peers", column_list(st, 5), "interface",
					column_text(st, 6), "srtp", sqlite3_column_int(st, 7) != 0,
					"dtmf", column_text(st, 8), "codecs", column_list(st, 9),
					"enabled", sqlite3_column_int(st, 10) != 0));
	sqlite3_finalize(st);
	json_t *j = json_pack("{s:o}", "trunks", list);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return -1;
	pbx_trunk_ipc_announce(p, text);
	free(text);
	return 0;
}
