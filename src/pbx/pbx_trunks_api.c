/* pbx_trunks_api — the trunks' API (docs/api.md, "Trunks"): GET/POST
 * /api/v1/trunks, GET/PUT/DELETE /api/v1/trunks/<id>. A PUT changes the
 * keys it names; the trunk as it would be is validated whole, all or
 * nothing. The password is write-only: it is kept in clear in pbx.db (digest
 * needs it, and backups carry it) and never sent back — GET says only
 * whether one is set, and a PUT without it keeps it. After every change
 * the pbx announces its trunks to the SBC again (pbx_trunk_ipc.c), after
 * its registrations have read them again (pbx_trunk_reg.c). GET adds each
 * trunk's "status" (registration and keep-alive, in memory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "pbx_check.h"
#include "pbx_group.h"
#include "pbx_rest.h"
#include "pbx_trunk.h"
#include "pbx_trunk_reg.h"

#define TRUNK_COLS                                                                                 \
	"id, name, kind, domain, proxy, transport, username, auth_username, password, register, "  \
	"register_interval, peers, codecs, dtmf, number_format, caller_id, cid_header, srtp, "     \
	"interface, default_type, default_target, enabled, created, updated"

/* The columns after id, in TRUNK_COLS' order, with their JSON kind. */
enum col_kind { COL_STR, COL_INT, COL_BOOL, COL_LIST };
static const struct {
	const char *name;
	enum col_kind kind;
} cols[] = {
	{"name", COL_STR},	    {"kind", COL_STR},
	{"domain", COL_STR},	    {"proxy", COL_STR},
	{"transport", COL_STR},	    {"username", COL_STR},
	{"auth_username", COL_STR}, {"password", COL_STR},
	{"register", COL_BOOL},	    {"register_interval", COL_INT},
	{"peers", COL_LIST},	    {"codecs", COL_LIST},
	{"dtmf", COL_STR},	    {"number_format", COL_STR},
	{"caller_id", COL_STR},	    {"cid_header", COL_STR},
	{"srtp", COL_BOOL},	    {"interface", COL_STR},
	{"default_type", COL_STR},  {"default_target", COL_STR},
	{"enabled", COL_BOOL},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static const char *const kinds[] = {"register", "peer", NULL};
static const char *const transports[] = {"udp", "tcp", "tls", NULL};
static const char *const dtmfs[] = {"rfc4733", "info", NULL};
static const char *const formats[] = {"e164", "e164_plain", "national", NULL};
static const char *const cid_headers[] = {"pai", "ppi", "from", NULL};
static const char *const default_types[] = {"", "extension", "group", "voicemail", NULL};
static const char *const codec_names[] = {"PCMA", "PCMU", "G722", "opus", NULL};

static bool one_of(const char *s, const char *const *set)
{
	for (; s && *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

/* ---- pure checks ---- */

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.';
}

const char *pbx_trunk_check_host(const char *s, const char *field, char *why, size_t cap)
{
	size_t n = s ? strlen(s) : 0;
	const char *host = s, *end, *port = NULL;
	if (n == 0 || n > PBX_TRUNK_HOST_MAX + 8)
		goto bad;
	if (s[0] == '[') { /* [IPv6] */
		end = strchr(s, ']');
		if (!end || end == s + 1)
			goto bad;
		for (const char *c = s + 1; c < end; c++)
			if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') ||
			      (*c >= 'A' && *c <= 'F') || *c == ':' || *c == '.'))
				goto bad;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			goto bad;
	} else {
		const char *colon = strchr(s, ':');
		end = colon ? colon : s + n;
		if (colon)
			port = colon + 1;
		if (end - host > PBX_TRUNK_HOST_MAX)
			goto bad;
		size_t label = 0;
		for (const char *c = host; c < end; c++) {
			if (!host_char(*c))
				goto bad;
			if (*c == '.') {
				if (label == 0 || c[-1] == '-')
					goto bad;
				label = 0;
			} else if (++label > 63 || (label == 1 && *c == '-')) {
				goto bad;
			}
		}
		if (end == host || end[-1] == '-' || host[0] == '.')
			goto bad;
	}
	if (port) {
		char *e;
		long v = strtol(port, &e, 10);
		if (*port < '0' || *port > '9' || *e || v < 1 || v > 65535)
			goto bad;
	}
	return NULL;
bad:
	snprintf(why, cap,
		 "%s must be a host name, an IPv4 address or an [IPv6] address, with an optional "
		 ":port",
		 field);
	return why;
}

/* A SIP user name or auth user name: 1-64 of RFC 3261's unreserved and
 * user-unreserved characters. */
static bool sip_user_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(host_char(s[i]) || strchr("_!~*'()&=+$,;?/", s[i])))
			return false;
	return true;
}

/* "+" and 2-15 digits, or empty. */
static bool e164_or_empty(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return true;
	if (s[0] != '+' || n < 3 || n > 16)
		return false;
	for (size_t i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* ---- reading ---- */

static json_t *col_value(sqlite3_stmt *st, int i)
{
	switch (cols[i - 1].kind) {
	case COL_INT:
		return json_integer(sqlite3_column_int64(st, i));
	case COL_BOOL:
		return json_boolean(sqlite3_column_int(st, i));
	case COL_LIST: {
		const char *t = (const char *)sqlite3_column_text(st, i);
		json_t *l = t ? json_loads(t, 0, NULL) : NULL;
		if (!json_is_array(l)) {
			json_decref(l);
			l = json_array();
		}
		return l;
	}
	default: {
		const char *t = (const char *)sqlite3_column_text(st, i);
		return json_string(t ? t : "");
	}
	}
}

/* A row as the API shows it (secret false) or as validation needs it. */
static json_t *trunk_row(sqlite3_stmt *st, bool secret)
{
	json_t *o = json_pack("{s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0));
	for (size_t i = 0; i < NCOLS; i++)
		json_object_set_new(o, cols[i].name, col_value(st, (int)i + 1));
	json_object_set_new(o, "created", json_integer(sqlite3_column_int64(st, NCOLS + 1)));
	json_object_set_new(o, "updated", json_integer(sqlite3_column_int64(st, NCOLS + 2)));
	if (!secret) {
		const char *pw = json_string_value(json_object_get(o, "password"));
		json_object_set_new(o, "password_set", json_boolean(pw && *pw));
		json_object_del(o, "password");
	}
	return o;
}

static json_t *trunk_get(struct pbx *p, long long id, bool secret)
{
	sqlite3_stmt *st;
	json_t *t = NULL;
	if (sqlite3_prepare_v2(p->db, "SELECT " TRUNK_COLS " FROM trunks WHERE id=?", -1, &st,
			       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		t = trunk_row(st, secret);
	sqlite3_finalize(st);
	return t;
}

static void trunks_list(struct pbx *p, struct core_httpd_req *req)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "SELECT " TRUNK_COLS " FROM trunks ORDER BY name", -1, &st,
			       NULL) != SQLITE_OK) {
		core_httpd_respond_error(req, 500, "could not read the trunks");
		return;
	}
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *t = trunk_row(st, false);
		json_object_set_new(t, "status",
				    pbx_trunk_reg_status(p, sqlite3_column_int64(st, 0)));
		json_array_append_new(list, t);
	}
	sqlite3_finalize(st);
	core_httpd_respond_json(req, 200, json_pack("{s:o}", "trunks", list));
}

/* ---- validation ---- */

static json_t *defaults(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:[], s:[], s:s, s:s, "
			 "s:s, s:s, s:b, s:s, s:s, s:s, s:b}",
			 "name", "", "kind", "register", "domain", "", "proxy", "", "transport",
			 "udp", "username", "", "auth_username", "", "password", "", "register", 1,
			 "register_interval", 600, "peers", "codecs", "dtmf", "rfc4733",
			 "number_format", "e164", "caller_id", "", "cid_header", "pai", "srtp", 0,
			 "interface", "", "default_type", "", "default_target", "", "enabled", 1);
}

/* The body's keys over t (types checked); NULL or why it is refused. */
static const char *merge_body(json_t *t, json_t *b)
{
	const char *k;
	json_t *v;
	if (!json_is_object(b))
		return "the body must be a JSON object";
	json_object_foreach(b, k, v)
	{
		if (strcmp(k, "id") == 0 || strcmp(k, "created") == 0 ||
		    strcmp(k, "updated") == 0 || strcmp(k, "password_set") == 0 ||
		    strcmp(k, "status") == 0)
			continue; /* what GET shows, sent back unchanged */
		size_t i = 0;
		while (i < NCOLS && strcmp(cols[i].name, k) != 0)
			i++;
		if (i == NCOLS)
			return "unknown key (name, kind, domain, proxy, transport, username, "
			       "auth_username, password, register, register_interval, peers, "
			       "codecs, "
			       "dtmf, number_format, caller_id, cid_header, srtp, interface, "
			       "default_type, default_target, enabled)";
		bool ok = cols[i].kind == COL_STR    ? json_is_string(v)
			  : cols[i].kind == COL_INT  ? json_is_integer(v)
			  : cols[i].kind == COL_BOOL ? json_is_boolean(v)
						     : json_is_array(v);
		if (!ok) {
			static char why[96];
			snprintf(why, sizeof(why), "%s must be %s", k,
				 cols[i].kind == COL_STR    ? "a string"
				 : cols[i].kind == COL_INT  ? "a number"
				 : cols[i].kind == COL_BOOL ? "true or false"
							    : "a list");
			return why;
		}
		json_object_set(t, k, v);
	}
	return NULL;
}

static const char *str(json_t *t, const char *k)
{
	return json_string_value(json_object_get(t, k));
}

static bool exists(struct pbx *p, const char *sql, const char *arg)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, sql, -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	bool r = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return r;
}

/* The whole trunk as it would be; NULL or why it is refused (400). */
static const char *trunk_check(struct pbx *p, json_t *t, char *why, size_t cap)
{
	const char *w;
	if ((w = pbx_check_name(str(t, "name"), "name")))
		return w;
	if (!one_of(str(t, "kind"), kinds))
		return "kind must be register or peer";
	bool reg = strcmp(str(t, "kind"), "register") == 0;
	if (!one_of(str(t, "transport"), transports))
		return "transport must be udp, tcp or tls";
	const char *domain = str(t, "domain"), *proxy = str(t, "proxy");
	if (reg && !*domain)
		return "domain is needed for a trunk that registers";
	if (*domain && (w = pbx_trunk_check_host(domain, "domain", why, cap)))
		return w;
	if (*proxy && (w = pbx_trunk_check_host(proxy, "proxy", why, cap)))
		return w;
	const char *user = str(t, "username"), *auth = str(t, "auth_username");
	const char *pw = str(t, "password");
	if (reg && !*user)
		return "username is needed for a trunk that registers";
	if ((*user && !sip_user_ok(user)) || (*auth && !sip_user_ok(auth)))
		return "username and auth_username must be 1 to 64 characters a SIP user name may "
		       "have";
	if (reg && !*pw)
		return "password is needed for a trunk that registers";
	if (strlen(pw) > 128 || !no_controls(pw))
		return "password must be at most 128 characters, without control characters";
	json_int_t iv = json_integer_value(json_object_get(t, "register_interval"));
	if (iv < 60 || iv > 3600)
		return "register_interval must be 60 to 3600 seconds";
	json_t *peers = json_object_get(t, "peers"), *codecs = json_object_get(t, "codecs"), *v;
	size_t i;
	if (json_array_size(peers) > PBX_TRUNK_PEERS_MAX)
		return "peers: at most 8 addresses";
	if (!reg && json_array_size(peers) == 0)
		return "peers: a peer trunk needs at least one address";
	json_array_foreach(peers, i, v)
	{
		if (!json_is_string(v))
			return "peers must be a list of host names or addresses";
		if ((w = pbx_trunk_check_host(json_string_value(v), "peers", why, cap)))
			return w;
	}
	if (json_array_size(codecs) > 4)
		return "codecs: at most PCMA, PCMU, G722 and opus, each once";
	json_array_foreach(codecs, i, v)
	{
		if (!one_of(json_string_value(v), codec_names))
			return "codecs must be a list of PCMA, PCMU, G722 and opus";
		for (size_t j = 0; j < i; j++)
			if (strcmp(json_string_value(json_array_get(codecs, j)),
				   json_string_value(v)) == 0)
				return "codecs: each codec once";
	}
	if (!one_of(str(t, "dtmf"), dtmfs))
		return "dtmf must be rfc4733 or info";
	if (!one_of(str(t, "number_format"), formats))
		return "number_format must be e164, e164_plain or national";
	if (!e164_or_empty(str(t, "caller_id")))
		return "caller_id must be an E.164 number (+ and up to 15 digits) or empty";
	if (!one_of(str(t, "cid_header"), cid_headers))
		return "cid_header must be pai, ppi or from";
	const char *ifc = str(t, "interface");
	if (strlen(ifc) > 15 || !no_controls(ifc) || strchr(ifc, '/') || strchr(ifc, ' '))
		return "interface must be an interface name (at most 15 characters) or empty";
	const char *dt = str(t, "default_type"), *dg = str(t, "default_target");
	if (!one_of(dt, default_types))
		return "default_type must be extension, group, voicemail or empty";
	if (!*dt && *dg)
		return "default_target must be empty without a default_type";
	if (*dt && strcmp(dt, "group") == 0 && pbx_group_by_extension(p, dg) < 0)
		return "default_target: no such group";
	if (*dt && strcmp(dt, "group") != 0 &&
	    !exists(p, "SELECT 1 FROM users WHERE extension=?", dg))
		return "default_target: no user has this extension";
	return NULL;
}

/* ---- writing ---- */

static void bind_col(sqlite3_stmt *st, int n, json_t *t, size_t i)
{
	json_t *v = json_object_get(t, cols[i].name);
	if (cols[i].kind == COL_STR) {
		sqlite3_bind_text(st, n, json_string_value(v), -1, SQLITE_TRANSIENT);
	} else if (cols[i].kind == COL_INT) {
		sqlite3_bind_int64(st, n, json_integer_value(v));
	} else if (cols[i].kind == COL_BOOL) {
		sqlite3_bind_int(st, n, json_is_true(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT);
		sqlite3_bind_text(st, n, s ? s : "[]", -1, SQLITE_TRANSIENT);
		free(s);
	}
}

static int trunk_count(struct pbx *p)
{
	sqlite3_stmt *st;
	int n = 0;
	if (sqlite3_prepare_v2(p->db, "SELECT count(*) FROM trunks", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* POST (id 0) or PUT (id > 0). */
static void trunk_save(struct pbx *p, struct core_httpd_req *req, long long id, const char *who)
{
	json_t *t = id ? trunk_get(p, id, true) : defaults();
	if (!t) {
		core_httpd_respond_error(req, id ? 404 : 500,
					 id ? "no such trunk" : "out of memory");
		return;
	}
	json_t *b = core_httpd_json_body(req);
	if (!b) {
		json_decref(t);
		return;
	}
	char why[160];
	int status = 400;
	const char *w = merge_body(t, b);
	if (!w)
		w = trunk_check(p, t, why, sizeof(why));
	if (!w && !id && trunk_count(p) >= PBX_TRUNKS_MAX) {
		w = "a phone system has at most 32 trunks";
		status = 409;
	}
	if (!w) {
		sqlite3_stmt *st;
		bool taken =
			sqlite3_prepare_v2(p->db, "SELECT 1 FROM trunks WHERE name=? AND id<>?", -1,
					   &st, NULL) == SQLITE_OK &&
			(sqlite3_bind_text(st, 1, str(t, "name"), -1, SQLITE_STATIC),
			 sqlite3_bind_int64(st, 2, id), sqlite3_step(st) == SQLITE_ROW);
		sqlite3_finalize(st);
		if (taken) {
			w = "another trunk has this name";
			status = 409;
		}
	}
	if (w) {
		core_httpd_respond_error(req, status, w);
		goto out;
	}
	char sql[1024];
	size_t o;
	if (id == 0) {
		o = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO trunks(");
		for (size_t i = 0; i < NCOLS; i++)
			o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s,", cols[i].name);
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, "created,updated) VALUES(");
		for (size_t i = 0; i < NCOLS; i++)
			o += (size_t)snprintf(sql + o, sizeof(sql) - o, "?%zu,", i + 1);
		snprintf(sql + o, sizeof(sql) - o, "strftime('%%s','now'),strftime('%%s','now'))");
	} else {
		o = (size_t)snprintf(sql, sizeof(sql), "UPDATE trunks SET ");
		for (size_t i = 0; i < NCOLS; i++)
			o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s=?%zu,", cols[i].name,
					      i + 1);
		snprintf(sql + o, sizeof(sql) - o, "updated=strftime('%%s','now') WHERE id=?%zu",
			 NCOLS + 1);
	}
	sqlite3_stmt *st;
	bool ok = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL) == SQLITE_OK;
	if (ok) {
		for (size_t i = 0; i < NCOLS; i++)
			bind_col(st, (int)i + 1, t, i);
		if (id)
			sqlite3_bind_int64(st, NCOLS + 1, id);
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	long long tid = id ? id : sqlite3_last_insert_rowid(p->db);
	json_t *r = ok ? trunk_get(p, tid, false) : NULL;
	if (r) {
		log_info("%s %s trunk %s (%s)", who, id ? "changed" : "created", str(r, "name"),
			 str(r, "kind"));
		pbx_trunk_reg_reload(p);      /* before the SBC forgets an old one */
		pbx_trunk_ipc_announce_db(p); /* the SBC's table follows */
		json_object_set_new(r, "status", pbx_trunk_reg_status(p, tid));
		core_httpd_respond_json(req, id ? 200 : 201, r);
	} else {
		core_httpd_respond_error(req, 500, "could not save the trunk");
	}
out:
	json_decref(t);
	json_decref(b);
}

/* A trunk an outbound route still uses is not deleted (409, naming it);
 * its inbound numbers go with it (trunk_numbers: ON DELETE CASCADE). */
static void trunk_delete(struct pbx *p, struct core_httpd_req *req, long long id, const char *who)
{
	sqlite3_stmt *st;
	char route[128] = "";
	if (sqlite3_prepare_v2(p->db,
			       "SELECT r.name FROM outbound_routes r, json_each(r.trunks) j WHERE "
			       "j.value=? LIMIT 1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(route, sizeof(route), "%s", sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	if (*route) {
		char why[192];
		snprintf(why, sizeof(why), "the outbound route %s uses this trunk", route);
		core_httpd_respond_error(req, 409, why);
		return;
	}
	if (pbx_rest_delete_row(p, req, "trunks", id, "trunk")) {
		log_info("%s deleted trunk %lld", who, id);
		pbx_trunk_reg_reload(p);      /* un-REGISTERs before the SBC forgets it */
		pbx_trunk_ipc_announce_db(p); /* the SBC's table follows */
	}
}

/* GET of one trunk: the row and its status (pbx_trunk_reg). */
static json_t *trunk_shown(struct pbx *p, long long id)
{
	json_t *t = trunk_get(p, id, false);
	if (t)
		json_object_set_new(t, "status", pbx_trunk_reg_status(p, id));
	return t;
}

void pbx_trunks_api_handle(struct pbx *p, struct core_httpd_req *req, const char *rest)
{
	static const struct pbx_rest trunks = {.noun = "trunk",
					       .list = trunks_list,
					       .get = trunk_shown,
					       .save = trunk_save,
					       .del = trunk_delete};
	pbx_rest_handle(p, req, rest, &trunks);
}
