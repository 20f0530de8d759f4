/* pbx_phonebook_api — the phonebook's API (docs/api.md, "Phonebook"):
 * GET/POST /api/v1/phonebook (GET ?q=TEXT searches names and numbers),
 * GET/PUT/DELETE /api/v1/phonebook/<id> (table phonebook). The number is
 * kept as typed, for display; its E.164 form (what pbx_phonebook_name
 * looks callers up by) is derived on every write with the numbering of
 * that moment, "" when it does not normalise. Administrators only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_log.h"
#include "pbx_check.h"
#include "pbx_inbound.h"
#include "pbx_number.h"
#include "pbx_rest.h"

#define PB_COLS "id, name, number, e164, created"

/* ---- reading ---- */

static json_t *pb_row(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
			 "name", (const char *)sqlite3_column_text(st, 1), "number",
			 (const char *)sqlite3_column_text(st, 2), "e164",
			 (const char *)sqlite3_column_text(st, 3), "created",
			 (json_int_t)sqlite3_column_int64(st, 4));
}

static json_t *pb_get(struct pbx *p, long long id)
{
	sqlite3_stmt *st;
	json_t *o = NULL;
	if (sqlite3_prepare_v2(p->db, "SELECT " PB_COLS " FROM phonebook WHERE id=?", -1, &st,
			       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		o = pb_row(st);
	sqlite3_finalize(st);
	return o;
}

/* Characters (UTF-8 code points; jansson hands out valid UTF-8 only). */
static size_t chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool has_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Whether the raw query names key (present, even if too long to read). */
static bool query_has(const char *q, const char *key)
{
	size_t k = strlen(key);
	for (const char *s = q; s && *s; s = strchr(s, '&') ? strchr(s, '&') + 1 : NULL)
		if (strncmp(s, key, k) == 0 && s[k] == '=')
			return true;
	return false;
}

/* GET ?q=TEXT&limit=N&offset=M: by name; q a substring of the name (ASCII
 * letters in any case), the number or the E.164 form, or a number whose
 * E.164 form is part of the entry's. */
static void pb_list(struct pbx *p, struct core_httpd_req *req)
{
	char q[PBX_PHONEBOOK_QUERY_MAX * 4 + 1] = "", v[16];
	if (query_has(req->query, "q") && (core_httpd_query(req, "q", q, sizeof(q)) < 0 ||
					   chars(q) > PBX_PHONEBOOK_QUERY_MAX || has_controls(q))) {
		core_httpd_respond_error(req, 400,
					 "q: at most 64 characters, without control characters");
		return;
	}
	int limit = PBX_PHONEBOOK_RESULTS_MAX, offset = 0;
	if (core_httpd_query(req, "limit", v, sizeof(v)) == 0)
		limit = atoi(v);
	if (core_httpd_query(req, "offset", v, sizeof(v)) == 0)
		offset = atoi(v);
	if (limit < 1 || limit > PBX_PHONEBOOK_RESULTS_MAX || offset < 0 ||
	    offset > PBX_PHONEBOOK_MAX) {
		core_httpd_respond_error(req, 400, "limit must be 1 to 200, offset 0 to 10000");
		return;
	}
	/* a search that is a number in any form also finds its E.164 form */
	struct pbx_numbering nb;
	char qe[PBX_NUMBER_MAX + 2] = "";
	if (!*q || pbx_numbering_load(p, &nb) < 0 || pbx_number_e164(&nb, q, qe, sizeof(qe)) < 0)
		qe[0] = '\0';
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db,
			       "SELECT " PB_COLS " FROM phonebook WHERE ?1='' OR "
			       "instr(lower(name), lower(?1)) OR instr(number, ?1) OR "
			       "instr(e164, ?1) OR (?4<>'' AND instr(e164, ?4)) ORDER BY name "
			       "COLLATE NOCASE, id LIMIT ?2 OFFSET ?3",
			       -1, &st, NULL) != SQLITE_OK) {
		core_httpd_respond_error(req, 500, "could not read the phonebook");
		return;
	}
	sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	sqlite3_bind_int(st, 3, offset);
	sqlite3_bind_text(st, 4, qe, -1, SQLITE_STATIC);
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, pb_row(st));
	sqlite3_finalize(st);
	core_httpd_respond_json(req, 200, json_pack("{s:o}", "entries", list));
}

/* ---- validation ---- */

/* The body's keys over e (types and values checked); NULL or why not. */
static const char *pb_merge(json_t *e, json_t *b)
{
	static const char *const keys[] = {"name", "number", "id", "e164", "created"};
	if (!pbx_check_keys(b, keys, sizeof(keys) / sizeof(keys[0])))
		return "unknown key (name, number)";
	json_t *name = json_object_get(b, "name"), *number = json_object_get(b, "number");
	if ((name && !json_is_string(name)) || (number && !json_is_string(number)))
		return "name and number must be strings";
	if (name)
		json_object_set(e, "name", name);
	if (number)
		json_object_set(e, "number", number);
	const char *n = json_string_value(json_object_get(e, "name"));
	const char *d = json_string_value(json_object_get(e, "number"));
	if (!n || !*n || chars(n) > PBX_PHONEBOOK_NAME_MAX || has_controls(n))
		return "name must be 1 to 128 characters, without control characters";
	if (!d || !*d || chars(d) > PBX_PHONEBOOK_NUMBER_MAX || has_controls(d))
		return "number must be 1 to 32 characters, without control characters";
	return NULL;
}

static int pb_count(struct pbx *p)
{
	sqlite3_stmt *st;
	int n = PBX_PHONEBOOK_MAX;
	if (sqlite3_prepare_v2(p->db, "SELECT count(*) FROM phonebook", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* ---- writing ---- */

/* POST (id 0) or PUT (id > 0). */
static void pb_save(struct pbx *p, struct core_httpd_req *req, long long id, const char *who)
{
	json_t *e = id ? pb_get(p, id) : json_object();
	if (!e) {
		core_httpd_respond_error(req, id ? 404 : 500,
					 id ? "no such phonebook entry" : "out of memory");
		return;
	}
	json_t *b = core_httpd_json_body(req);
	if (!b) {
		json_decref(e);
		return;
	}
	const char *w = pb_merge(e, b);
	if (w) {
		core_httpd_respond_error(req, 400, w);
		goto out;
	}
	if (!id && pb_count(p) >= PBX_PHONEBOOK_MAX) {
		core_httpd_respond_error(req, 409, "a phonebook has at most 10000 entries");
		goto out;
	}
	struct pbx_numbering nb;
	char e164[PBX_NUMBER_MAX + 2] = "";
	const char *name = json_string_value(json_object_get(e, "name"));
	const char *number = json_string_value(json_object_get(e, "number"));
	if (pbx_numbering_load(p, &nb) < 0 ||
	    pbx_number_e164(&nb, number, e164, sizeof(e164)) < 0 || !pbx_inbound_is_e164(e164))
		e164[0] = '\0';
	sqlite3_stmt *st;
	bool ok = sqlite3_prepare_v2(p->db,
				     id ? "UPDATE phonebook SET name=?1, number=?2, e164=?3 "
					  "WHERE id=?4"
					: "INSERT INTO phonebook(name, number, e164, created) "
					  "VALUES(?1,?2,?3,strftime('%s','now'))",
				     -1, &st, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, number, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, e164, -1, SQLITE_STATIC);
		if (id)
			sqlite3_bind_int64(st, 4, id);
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	json_t *r = ok ? pb_get(p, id ? id : sqlite3_last_insert_rowid(p->db)) : NULL;
	if (r) {
		log_info("%s %s phonebook entry %lld", who, id ? "changed" : "created",
			 (long long)json_integer_value(json_object_get(r, "id")));
		core_httpd_respond_json(req, id ? 200 : 201, r);
	} else {
		core_httpd_respond_error(req, 500, "could not save the phonebook entry");
	}
out:
	json_decref(e);
	json_decref(b);
}

void pbx_phonebook_api_handle(struct pbx *p, struct core_httpd_req *req, const char *rest)
{
	static const struct pbx_rest pb = {.noun = "phonebook entry",
					   .table = "phonebook",
					   .list = pb_list,
					   .get = pb_get,
					   .save = pb_save};
	pbx_rest_handle(p, req, rest, &pb);
}
