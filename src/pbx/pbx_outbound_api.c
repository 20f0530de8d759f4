/*
 * pbx_outbound_api — the API of outbound routes (table outbound_routes of
 * migration 8: name, position, patterns, strip, prepend, trunks) and of the
 * numbering settings (pbx.db settings numbering.*), docs/api.md "Outbound
 * routes" and "Numbering". All-or-nothing validation: dial patterns by
 * pbx_dialpat_valid, trunks that exist, numbering values digits only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "pbx_check.h"
#include "pbx_dialpat.h"
#include "pbx_number.h"
#include "pbx_outbound.h"
#include "pbx_rest.h"

#define ROUTE_COLS "id, name, position, patterns, strip, prepend, trunks, created, updated"

/* ---- outbound routes ---- */

static json_t *list_col(sqlite3_stmt *st, int col)
{
	json_t *a = json_loads((const char *)sqlite3_column_text(st, col), 0, NULL);
	if (!json_is_array(a)) {
		json_decref(a);
		a = json_array();
	}
	return a;
}

static json_t *route_row(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:s, s:i, s:o, s:i, s:s, s:o, s:I, s:I}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "name",
			 (const char *)sqlite3_column_text(st, 1), "position",
			 sqlite3_column_int(st, 2), "patterns", list_col(st, 3), "strip",
			 sqlite3_column_int(st, 4), "prepend",
			 (const char *)sqlite3_column_text(st, 5), "trunks", list_col(st, 6),
			 "created", (json_int_t)sqlite3_column_int64(st, 7), "updated",
			 (json_int_t)sqlite3_column_int64(st, 8));
}

static json_t *route_get(struct pbx *p, long long id)
{
	sqlite3_stmt *st;
	json_t *r = NULL;
	if (sqlite3_prepare_v2(p->db, "SELECT " ROUTE_COLS " FROM outbound_routes WHERE id=?", -1,
			       &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		r = route_row(st);
	sqlite3_finalize(st);
	return r;
}

static void routes_list(struct pbx *p, struct core_httpd_req *req)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db,
			       "SELECT " ROUTE_COLS " FROM outbound_routes ORDER BY position, id",
			       -1, &st, NULL) != SQLITE_OK) {
		core_httpd_respond_error(req, 500, "could not read the outbound routes");
		return;
	}
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, route_row(st));
	sqlite3_finalize(st);
	core_httpd_respond_json(req, 200, json_pack("{s:o}", "routes", list));
}

static bool trunk_exists(struct pbx *p, json_int_t id)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "SELECT 1 FROM trunks WHERE id=?", -1, &st, NULL) !=
	    SQLITE_OK)
		return false;
	sqlite3_bind_int64(st, 1, id);
	bool r = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return r;
}

static bool prepend_ok(const char *s)
{
	return strlen(s) <= 16 && strspn(s, "0123456789+*#") == strlen(s);
}

/* The body checked against the keys given (POST: name and patterns
 * required); NULL or why not. */
static const char *route_check(struct pbx *p, json_t *b, bool create)
{
	static const char *const keys[] = {"name",     "patterns", "strip",   "prepend", "trunks",
					   "position", "id",	   "created", "updated"};
	if (!json_is_object(b))
		return "the body must be a JSON object";
	if (!pbx_check_keys(b, keys, sizeof(keys) / sizeof(keys[0])))
		return "unknown key: a route has name, patterns, strip, prepend, trunks";
	json_t *v;
	const char *why;
	if ((v = json_object_get(b, "name")) || create) {
		if (!json_is_string(v))
			return "name must be a string";
		if ((why = pbx_check_name(json_string_value(v), "name")))
			return why;
	}
	if ((v = json_object_get(b, "patterns")) || create) {
		if (!json_is_array(v) || json_array_size(v) == 0 ||
		    json_array_size(v) > PBX_OUT_MAX_PATTERNS)
			return "patterns must be a list of 1 to 16 dial patterns";
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e) || !pbx_dialpat_valid(json_string_value(e)))
				return "a pattern is not a dial pattern (digits * # +, X Z N, "
				       "[1-5], a final . or !)";
		}
	}
	if ((v = json_object_get(b, "strip")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 20))
		return "strip must be 0 to 20";
	if ((v = json_object_get(b, "prepend")) &&
	    (!json_is_string(v) || !prepend_ok(json_string_value(v))))
		return "prepend must be at most 16 of 0-9 + * #";
	if ((v = json_object_get(b, "trunks"))) {
		if (!json_is_array(v) || json_array_size(v) > PBX_OUT_MAX_TRUNKS)
			return "trunks must be a list of at most 8 trunk ids";
		size_t i, j;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (!json_is_integer(e) || !trunk_exists(p, json_integer_value(e)))
				return "trunks names a trunk that does not exist";
			for (j = 0; j < i; j++)
				if (json_integer_value(json_array_get(v, j)) ==
				    json_integer_value(e))
					return "trunks names a trunk twice";
		}
	}
	if ((v = json_object_get(b, "position")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000))
		return "position must be 0 to 100000";
	return NULL;
}

static void bind_list(sqlite3_stmt *st, int col, json_t *v)
{
	if (v) {
		char *s = json_dumps(v, JSON_COMPACT);
		sqlite3_bind_text(st, col, s ? s : "[]", -1, SQLITE_TRANSIENT);
		free(s);
	}
}

static void route_save(struct pbx *p, struct core_httpd_req *req, long long id, const char *who)
{
	json_t *cur = id ? route_get(p, id) : NULL;
	if (id && !cur) {
		core_httpd_respond_error(req, 404, "no such outbound route");
		return;
	}
	json_decref(cur);
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	const char *why = route_check(p, b, id == 0);
	if (why) {
		core_httpd_respond_error(req, 400, why);
		json_decref(b);
		return;
	}
	sqlite3_stmt *st;
	bool ok;
	if (id == 0)
		ok = sqlite3_prepare_v2(
			     p->db,
			     "INSERT INTO outbound_routes(name,patterns,strip,prepend,trunks,"
			     "position,created,updated) "
			     "VALUES(?1,?2,coalesce(?3,0),coalesce(?4,''),"
			     "coalesce(?5,'[]'),coalesce(?6,(SELECT coalesce(max(position),0)+1 "
			     "FROM "
			     "outbound_routes)),strftime('%s','now'),strftime('%s','now'))",
			     -1, &st, NULL) == SQLITE_OK;
	else
		ok = sqlite3_prepare_v2(
			     p->db,
			     "UPDATE outbound_routes SET name=coalesce(?1,name),"
			     "patterns=coalesce(?2,patterns),strip=coalesce(?3,strip),"
			     "prepend=coalesce(?4,prepend),trunks=coalesce(?5,trunks),"
			     "position=coalesce(?6,position),updated=strftime('%s','now') "
			     "WHERE id=?7",
			     -1, &st, NULL) == SQLITE_OK;
	if (ok) {
		json_t *v;
		if ((v = json_object_get(b, "name")))
			sqlite3_bind_text(st, 1, json_string_value(v), -1, SQLITE_TRANSIENT);
		bind_list(st, 2, json_object_get(b, "patterns"));
		if ((v = json_object_get(b, "strip")))
			sqlite3_bind_int(st, 3, (int)json_integer_value(v));
		if ((v = json_object_get(b, "prepend")))
			sqlite3_bind_text(st, 4, json_string_value(v), -1, SQLITE_TRANSIENT);
		bind_list(st, 5, json_object_get(b, "trunks"));
		if ((v = json_object_get(b, "position")))
			sqlite3_bind_int(st, 6, (int)json_integer_value(v));
		if (id)
			sqlite3_bind_int64(st, 7, id);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	long long rid = id ? id : sqlite3_last_insert_rowid(p->db);
	json_t *r = ok ? route_get(p, rid) : NULL;
	if (r) {
		log_info("%s %s outbound route %lld", who, id ? "changed" : "created", rid);
		core_httpd_respond_json(req, id ? 200 : 201, r);
	} else {
		core_httpd_respond_error(req, 500, "could not save the outbound route");
	}
	json_decref(b);
}

/* PUT /order {"order":[id,…]}: every route once, positions 1..n. */
static void routes_order(struct pbx *p, struct core_httpd_req *req, const char *who)
{
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	json_t *o = json_object_get(b, "order");
	int n = 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "SELECT count(*) FROM outbound_routes", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	const char *why = NULL;
	if (!json_is_array(o) || json_array_size(o) != (size_t)n)
		why = "order must list every outbound route's id once";
	size_t i, j;
	json_t *e;
	json_array_foreach(o, i, e)
	{
		if (why)
			break;
		json_t *r = json_is_integer(e) ? route_get(p, json_integer_value(e)) : NULL;
		if (!r)
			why = "order names a route that does not exist";
		json_decref(r);
		for (j = 0; !why && j < i; j++)
			if (json_integer_value(json_array_get(o, j)) == json_integer_value(e))
				why = "order names a route twice";
	}
	if (why) {
		core_httpd_respond_error(req, 400, why);
		json_decref(b);
		return;
	}
	core_db_begin(p->db);
	bool ok = sqlite3_prepare_v2(p->db,
				     "UPDATE outbound_routes SET position=?1,"
				     "updated=strftime('%s','now') WHERE id=?2",
				     -1, &st, NULL) == SQLITE_OK;
	json_array_foreach(o, i, e)
	{
		if (!ok)
			break;
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, (int)i + 1);
		sqlite3_bind_int64(st, 2, json_integer_value(e));
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st); /* NULL if prepare failed: a no-op */
	core_db_end(p->db, ok);
	json_decref(b);
	if (!ok) {
		core_httpd_respond_error(req, 500, "could not save the order");
		return;
	}
	log_info("%s reordered the outbound routes", who);
	routes_list(p, req);
}

/* PUT /outbound-routes/order */
static bool routes_other(struct pbx *p, struct core_httpd_req *req, const char *rest,
			 const char *who)
{
	if (strcmp(rest, "/order") != 0)
		return false;
	if (strcmp(req->method, "PUT") == 0)
		routes_order(p, req, who);
	else
		core_httpd_respond_error(req, 405, "use PUT to order the routes");
	return true;
}

void pbx_outbound_routes_handle(struct pbx *p, struct core_httpd_req *req, const char *rest)
{
	static const struct pbx_rest routes = {.noun = "outbound route",
					       .table = "outbound_routes",
					       .list = routes_list,
					       .get = route_get,
					       .save = route_save,
					       .other = routes_other};
	pbx_rest_handle(p, req, rest, &routes);
}

/* ---- numbering ---- */

static const struct {
	const char *key, *setting;
	size_t max; /* digits */
} num_keys[] = {
	{"country_code", "numbering.country_code", 3},
	{"area_code", "numbering.area_code", 6},
	{"international_prefix", "numbering.international_prefix", 4},
	{"national_prefix", "numbering.national_prefix", 4},
};

static json_t *numbering_json(struct pbx *p)
{
	struct pbx_numbering n;
	pbx_numbering_load(p, &n);
	json_t *em = json_array(), *pr = json_array();
	for (int i = 0; i < n.n_emergency; i++)
		json_array_append_new(em, json_string(n.emergency[i]));
	for (int i = 0; i < n.n_premium; i++)
		json_array_append_new(pr, json_string(n.premium[i]));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "country_code", n.cc, "area_code",
			 n.area, "international_prefix", n.intl, "national_prefix", n.natl,
			 "emergency", em, "premium", pr);
}

static bool digits(const char *s, size_t min, size_t max)
{
	size_t l = strlen(s);
	return l >= min && l <= max && strspn(s, "0123456789") == l;
}

static const char *numbering_check(json_t *b)
{
	static const char *const keys[] = {"country_code",    "area_code", "international_prefix",
					   "national_prefix", "emergency", "premium"};
	if (!json_is_object(b))
		return "the body must be a JSON object";
	if (!pbx_check_keys(b, keys, sizeof(keys) / sizeof(keys[0])))
		return "unknown key: numbering has country_code, area_code, "
		       "international_prefix, national_prefix, emergency, premium";
	for (size_t i = 0; i < sizeof(num_keys) / sizeof(num_keys[0]); i++) {
		json_t *v = json_object_get(b, num_keys[i].key);
		if (v && (!json_is_string(v) || !digits(json_string_value(v), 0, num_keys[i].max)))
			return i == 0	? "country_code must be up to 3 digits"
			       : i == 1 ? "area_code must be up to 6 digits"
					: "a prefix must be up to 4 digits";
	}
	const char *lists[] = {"emergency", "premium"};
	for (int k = 0; k < 2; k++) {
		json_t *v = json_object_get(b, lists[k]);
		if (!v)
			continue;
		if (!json_is_array(v) || json_array_size(v) > 14)
			return k ? "premium must be a list of at most 14 prefixes"
				 : "emergency must be a list of at most 14 numbers";
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e) || !digits(json_string_value(e), k ? 1 : 2, 15))
				return k ? "a premium prefix must be 1 to 15 digits"
					 : "an emergency number must be 2 to 15 digits";
		}
	}
	return NULL;
}

static bool setting_put(struct pbx *p, const char *key, const char *value)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "INSERT OR REPLACE INTO settings(key,value) VALUES(?,?)", -1,
			       &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	bool ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	return ok;
}

void pbx_numbering_handle(struct pbx *p, struct core_httpd_req *req)
{
	char who[128];
	if (core_login_require(&p->login, req, who, sizeof(who)) < 0)
		return;
	if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
		core_httpd_respond_json(req, 200, numbering_json(p));
		return;
	}
	if (strcmp(req->method, "PUT") != 0) {
		core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	const char *why = numbering_check(b);
	if (why) {
		core_httpd_respond_error(req, 400, why);
		json_decref(b);
		return;
	}
	core_db_begin(p->db);
	bool ok = true;
	for (size_t i = 0; ok && i < sizeof(num_keys) / sizeof(num_keys[0]); i++) {
		json_t *v = json_object_get(b, num_keys[i].key);
		if (v)
			ok = setting_put(p, num_keys[i].setting, json_string_value(v));
	}
	const char *lists[] = {"emergency", "premium"};
	for (int k = 0; ok && k < 2; k++) {
		json_t *v = json_object_get(b, lists[k]);
		if (!v)
			continue;
		char *s = json_dumps(v, JSON_COMPACT);
		ok = s && setting_put(p, k ? "numbering.premium" : "numbering.emergency", s);
		free(s);
	}
	core_db_end(p->db, ok);
	json_decref(b);
	if (!ok) {
		core_httpd_respond_error(req, 500, "could not save the numbering");
		return;
	}
	log_info("%s changed the numbering", who);
	core_httpd_respond_json(req, 200, numbering_json(p));
}

/* ---- the users' outbound keys ---- */

const char *pbx_outbound_user_check(json_t *b)
{
	json_t *v;
	enum pbx_number_class c;
	if ((v = json_object_get(b, "outbound_class")) &&
	    pbx_number_class_parse(json_string_value(v), &c) < 0)
		return "outbound_class must be internal, national, international or premium";
	if ((v = json_object_get(b, "caller_id"))) {
		const char *s = json_string_value(v);
		const char *d = s && s[0] == '+' ? s + 1 : s;
		if (!s || (s[0] && !digits(d, 1, 15)))
			return "caller_id must be \"\" or a number (+ and 1 to 15 digits)";
	}
	if ((v = json_object_get(b, "clir")) && !json_is_boolean(v))
		return "clir must be true or false";
	return NULL;
}

int pbx_outbound_user_write(struct pbx *p, long long id, json_t *b)
{
	json_t *c = json_object_get(b, "outbound_class"), *cid = json_object_get(b, "caller_id"),
	       *clir = json_object_get(b, "clir");
	if (!c && !cid && !clir)
		return 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
		    p->db,
		    "UPDATE users SET outbound_class=coalesce(?1,outbound_class),"
		    "caller_id=coalesce(?2,caller_id),clir=coalesce(?3,clir) WHERE id=?4",
		    -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (c)
		sqlite3_bind_text(st, 1, json_string_value(c), -1, SQLITE_TRANSIENT);
	if (cid)
		sqlite3_bind_text(st, 2, json_string_value(cid), -1, SQLITE_TRANSIENT);
	if (clir)
		sqlite3_bind_int(st, 3, json_is_true(clir));
	sqlite3_bind_int64(st, 4, id);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}
