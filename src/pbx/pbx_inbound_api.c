/* pbx_inbound_api — the inbound numbers' API (docs/api.md, "Inbound
 * numbers"): GET/POST /api/v1/inbound-numbers, GET/PUT/DELETE
 * /api/v1/inbound-numbers/<id> (table trunk_numbers). A number (and the
 * end of a block) is read as people type it and stored in E.164 with the
 * phone system's numbering; a PUT changes the keys it names and the entry
 * as it will be is checked whole: a trunk that exists, a block of one
 * length, a target that exists, no number that another entry (on any
 * trunk) has. */
#include <stdio.h>
#include <string.h>

#include "../core/core_log.h"
#include "pbx_check.h"
#include "pbx_group.h"
#include "pbx_inbound.h"
#include "pbx_number.h"
#include "pbx_rest.h"

#define NUM_COLS  "id, trunk_id, number, range_end, target_type, target, created"
#define TYPED_MAX 64 /* characters of a number as typed */

static const char *const target_types[] = {"extension", "group", "voicemail", NULL};

/* ---- reading ---- */

static json_t *num_row(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "trunk_id",
			 (json_int_t)sqlite3_column_int64(st, 1), "number",
			 (const char *)sqlite3_column_text(st, 2), "range_end",
			 (const char *)sqlite3_column_text(st, 3), "target_type",
			 (const char *)sqlite3_column_text(st, 4), "target",
			 (const char *)sqlite3_column_text(st, 5), "created",
			 (json_int_t)sqlite3_column_int64(st, 6));
}

static json_t *num_get(struct pbx *p, long long id)
{
	sqlite3_stmt *st;
	json_t *o = NULL;
	if (sqlite3_prepare_v2(p->db, "SELECT " NUM_COLS " FROM trunk_numbers WHERE id=?", -1, &st,
			       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		o = num_row(st);
	sqlite3_finalize(st);
	return o;
}

static void nums_list(struct pbx *p, struct core_httpd_req *req)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "SELECT " NUM_COLS " FROM trunk_numbers ORDER BY number, id",
			       -1, &st, NULL) != SQLITE_OK) {
		core_httpd_respond_error(req, 500, "could not read the inbound numbers");
		return;
	}
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, num_row(st));
	sqlite3_finalize(st);
	core_httpd_respond_json(req, 200, json_pack("{s:o}", "numbers", list));
}

/* ---- validation ---- */

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* The body's keys over e (types checked); NULL or why it is refused. */
static const char *merge_body(json_t *e, json_t *b)
{
	static const char *const keys[] = {"trunk_id", "number", "range_end", "target_type",
					   "target",   "id",	 "created"};
	if (!pbx_check_keys(b, keys, sizeof(keys) / sizeof(keys[0])))
		return "unknown key (trunk_id, number, range_end, target_type, target)";
	json_t *v = json_object_get(b, "trunk_id");
	if (v && !json_is_integer(v))
		return "trunk_id must be a number";
	if (v)
		json_object_set(e, "trunk_id", v);
	for (size_t i = 1; i < 5; i++) {
		if (!(v = json_object_get(b, keys[i])))
			continue;
		if (!json_is_string(v))
			return "number, range_end, target_type and target must be strings";
		if (strlen(json_string_value(v)) > TYPED_MAX)
			return "number, range_end, target_type and target: at most 64 characters";
		json_object_set(e, keys[i], v);
	}
	return NULL;
}

/* A number as typed → E.164 into out; NULL or why not (field names it). */
static const char *normalise(const struct pbx_numbering *nb, const char *typed, const char *field,
			     char *out, size_t cap, char *why, size_t wcap)
{
	if (pbx_number_e164(nb, typed, out, cap) > 0 && pbx_inbound_is_e164(out))
		return NULL;
	struct pbx_numbering with_cc = *nb;
	snprintf(with_cc.cc, sizeof(with_cc.cc), "1");
	char tmp[PBX_NUMBER_MAX + 2];
	if (!nb->cc[0] && pbx_number_e164(&with_cc, typed, tmp, sizeof(tmp)) > 0)
		snprintf(why, wcap,
			 "%s: the numbering has no country code; write the number with + and "
			 "its country code, or set the country code",
			 field);
	else
		snprintf(why, wcap,
			 "%s must be a telephone number (e.g. +49 30 1234567 or 030 1234567)",
			 field);
	return why;
}

static bool row_exists(struct pbx *p, const char *sql, const char *text, long long id)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, sql, -1, &st, NULL) != SQLITE_OK)
		return false;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, id);
	bool r = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return r;
}

static const char *check_target(struct pbx *p, const char *type, const char *target)
{
	bool known = false;
	for (const char *const *t = target_types; *t; t++)
		known = known || strcmp(type, *t) == 0;
	if (!known)
		return "target_type must be extension, group or voicemail";
	if (!*target)
		return "target is needed: an extension, a group's extension or a mailbox's";
	if (strcmp(type, "group") == 0)
		return pbx_group_by_extension(p, target) < 0 ? "target: no such group" : NULL;
	if (strcmp(type, "voicemail") == 0)
		return row_exists(p,
				  "SELECT 1 FROM users u LEFT JOIN mailboxes m ON m.user_id=u.id "
				  "WHERE u.extension=? AND coalesce(m.enabled,1)=1",
				  target, 0)
			       ? NULL
			       : "target: no user with this extension has a mailbox";
	return row_exists(p, "SELECT 1 FROM users WHERE extension=?", target, 0)
		       ? NULL
		       : "target: no user has this extension";
}

/* Another entry that shares a number with (number, end): why (409, or
 * 500 in *status when it cannot be read). */
static const char *overlapping(struct pbx *p, long long self, const char *number, const char *end,
			       int *status, char *why, size_t cap)
{
	sqlite3_stmt *st;
	const char *w = NULL;
	if (sqlite3_prepare_v2(
		    p->db,
		    "SELECT n.number, n.range_end, t.name FROM trunk_numbers n JOIN trunks "
		    "t ON t.id=n.trunk_id WHERE n.id<>? AND length(n.number)=?",
		    -1, &st, NULL) != SQLITE_OK) {
		*status = 500;
		return "could not read the inbound numbers";
	}
	sqlite3_bind_int64(st, 1, self);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)strlen(number));
	while (!w && sqlite3_step(st) == SQLITE_ROW) {
		const char *on = (const char *)sqlite3_column_text(st, 0);
		const char *oe = (const char *)sqlite3_column_text(st, 1);
		if (!pbx_inbound_overlap(number, end, on, oe))
			continue;
		snprintf(why, cap, "the trunk %s already has %s%s%s", sqlite3_column_text(st, 2),
			 on, *oe ? " to " : "", oe);
		w = why;
	}
	sqlite3_finalize(st);
	return w;
}

static int num_count(struct pbx *p)
{
	sqlite3_stmt *st;
	int n = PBX_INBOUND_MAX;
	if (sqlite3_prepare_v2(p->db, "SELECT count(*) FROM trunk_numbers", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The entry e as it will be, numbers normalised into number/end; NULL or
 * why it is refused with *status. */
static const char *num_check(struct pbx *p, json_t *e, long long id, char *number, char *end,
			     int *status, char *why, size_t cap)
{
	struct pbx_numbering nb;
	const char *w;
	*status = 400;
	if (pbx_numbering_load(p, &nb) < 0) {
		*status = 500;
		return "could not read the numbering";
	}
	if (!row_exists(p, "SELECT 1 FROM trunks WHERE id=?", NULL,
			json_integer_value(json_object_get(e, "trunk_id"))))
		return "trunk_id: no such trunk";
	if ((w = normalise(&nb, str(e, "number"), "number", number, PBX_NUMBER_MAX + 2, why, cap)))
		return w;
	end[0] = '\0';
	if (*str(e, "range_end") && (w = normalise(&nb, str(e, "range_end"), "range_end", end,
						   PBX_NUMBER_MAX + 2, why, cap)))
		return w;
	if ((w = pbx_inbound_check_range(number, end)))
		return w;
	if ((w = check_target(p, str(e, "target_type"), str(e, "target"))))
		return w;
	*status = 409;
	if (!id && num_count(p) >= PBX_INBOUND_MAX)
		return "a phone system has at most 1000 inbound numbers";
	return overlapping(p, id, number, end, status, why, cap);
}

/* ---- writing ---- */

/* POST (id 0) or PUT (id > 0). */
static void num_save(struct pbx *p, struct core_httpd_req *req, long long id, const char *who)
{
	json_t *e = id ? num_get(p, id)
		       : json_pack("{s:I, s:s, s:s, s:s, s:s}", "trunk_id", (json_int_t)0, "number",
				   "", "range_end", "", "target_type", "", "target", "");
	if (!e) {
		core_httpd_respond_error(req, id ? 404 : 500,
					 id ? "no such inbound number" : "out of memory");
		return;
	}
	json_t *b = core_httpd_json_body(req);
	if (!b) {
		json_decref(e);
		return;
	}
	char number[PBX_NUMBER_MAX + 2], end[PBX_NUMBER_MAX + 2], why[192];
	int status = 400;
	const char *w = merge_body(e, b);
	if (!w)
		w = num_check(p, e, id, number, end, &status, why, sizeof(why));
	if (w) {
		core_httpd_respond_error(req, status, w);
		goto out;
	}
	sqlite3_stmt *st;
	bool ok = sqlite3_prepare_v2(p->db,
				     id ? "UPDATE trunk_numbers SET trunk_id=?1, number=?2, "
					  "range_end=?3, target_type=?4, target=?5 WHERE id=?6"
					: "INSERT INTO trunk_numbers(trunk_id, number, range_end, "
					  "target_type, target, created) VALUES(?1,?2,?3,?4,?5,"
					  "strftime('%s','now'))",
				     -1, &st, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(e, "trunk_id")));
		sqlite3_bind_text(st, 2, number, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, end, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, str(e, "target_type"), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, str(e, "target"), -1, SQLITE_STATIC);
		if (id)
			sqlite3_bind_int64(st, 6, id);
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	json_t *r = ok ? num_get(p, id ? id : sqlite3_last_insert_rowid(p->db)) : NULL;
	if (r) {
		log_info("%s %s inbound number %s%s%s -> %s %s", who, id ? "changed" : "created",
			 number, *end ? " to " : "", end, str(r, "target_type"), str(r, "target"));
		core_httpd_respond_json(req, id ? 200 : 201, r);
	} else {
		core_httpd_respond_error(req, 500, "could not save the inbound number");
	}
out:
	json_decref(e);
	json_decref(b);
}

void pbx_inbound_api_handle(struct pbx *p, struct core_httpd_req *req, const char *rest)
{
	static const struct pbx_rest nums = {.noun = "inbound number",
					     .table = "trunk_numbers",
					     .list = nums_list,
					     .get = num_get,
					     .save = num_save};
	pbx_rest_handle(p, req, rest, &nums);
}
