/* pbx_cdr — call-detail records in pbx.db (see pbx_call.h). */
#include <sqlite3.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "pbx_call.h"

int pbx_cdr_write(sqlite3 *db, const struct pbx_cdr *r)
{
	sqlite3_stmt *st = core_db_stmt(
		db, "INSERT INTO cdrs(call_id,caller,caller_name,callee,start,answer,end,cause,"
		    "status,path,answered_by,linked_call_id,direction,trunk_id,external_number) "
		    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, r->call_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->caller, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->caller_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->callee, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)r->start);
	if (r->answer)
		sqlite3_bind_int64(st, 6, (sqlite3_int64)r->answer);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)r->end);
	sqlite3_bind_text(st, 8, r->cause, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, r->status);
	sqlite3_bind_text(st, 10, r->path ? r->path : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, r->answered_by ? r->answered_by : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, r->linked ? r->linked : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, r->direction ? r->direction : "internal", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 14, r->trunk_id);
	sqlite3_bind_text(st, 15, r->external ? r->external : "", -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
	if (rc < 0)
		log_error("cdr: cannot write the record of %s: %s", r->call_id, sqlite3_errmsg(db));
	return rc;
}

json_t *pbx_cdr_list(sqlite3 *db, int limit, int offset)
{
	return pbx_cdr_list_ext(db, NULL, limit, offset);
}

json_t *pbx_cdr_list_ext(sqlite3 *db, const char *ext, int limit, int offset)
{
	json_t *out = json_array();
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
		    db,
		    "SELECT id, call_id, caller, caller_name, callee, start, answer, end,"
		    " cause, status, path, answered_by, linked_call_id, direction, trunk_id,"
		    " external_number FROM cdrs"
		    " WHERE ?3 IS NULL OR caller=?3 OR callee=?3 OR answered_by=?3"
		    " ORDER BY id DESC LIMIT ?1 OFFSET ?2",
		    -1, &st, NULL) != SQLITE_OK)
		return out;
	sqlite3_bind_int(st, 1, limit);
	sqlite3_bind_int(st, 2, offset);
	if (ext)
		sqlite3_bind_text(st, 3, ext, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		bool answered = sqlite3_column_type(st, 6) != SQLITE_NULL;
		json_int_t answer = sqlite3_column_int64(st, 6), end = sqlite3_column_int64(st, 7);
		json_array_append_new(
			out,
			json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o, s:I, s:I, s:s, s:i, s:s, "
				  "s:s, s:s, s:s, s:I, s:s}",
				  "id", (json_int_t)sqlite3_column_int64(st, 0), "call_id",
				  sqlite3_column_text(st, 1), "caller", sqlite3_column_text(st, 2),
				  "caller_name", sqlite3_column_text(st, 3), "callee",
				  sqlite3_column_text(st, 4), "start",
				  (json_int_t)sqlite3_column_int64(st, 5), "answer",
				  answered ? json_integer(answer) : json_null(), "end", end,
				  "duration", answered ? end - answer : 0, "cause",
				  sqlite3_column_text(st, 8), "status", sqlite3_column_int(st, 9),
				  "path", sqlite3_column_text(st, 10), "answered_by",
				  sqlite3_column_text(st, 11), "linked_call_id",
				  sqlite3_column_text(st, 12), "direction",
				  sqlite3_column_text(st, 13), "trunk_id",
				  (json_int_t)sqlite3_column_int64(st, 14), "external_number",
				  sqlite3_column_text(st, 15)));
	}
	sqlite3_finalize(st);
	return out;
}
