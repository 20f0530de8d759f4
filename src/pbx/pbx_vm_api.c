/*
 * pbx_vm_api — the voicemail API (pbx_vm.h's comment): a user's messages,
 * their audio, heard and deleted; the mailbox's settings; the greeting
 * (uploads in any format media_audio_decode reads, stored as WAV); and the
 * phone system's SMTP relay (pbx_mail.h), whose password is never shown.
 * Every request needs a login; every value is checked (400 says why).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "../core/core_auth.h"
#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../http/http_msg.h"
#include "pbx_mail.h"
#include "pbx_vm.h"

#define GREETING_RATE	 16000
#define GREETING_MAX_SEC 120

static const char *reason_of(const char *r)
{
	return r ? r : "";
}

/* A decimal id of 1 to 18 digits at s, its end in *end; -1 if none. */
static long long parse_id(const char *s, const char **end)
{
	long long v = 0;
	int n = 0;
	while (isdigit((unsigned char)s[n]) && n < 18)
		v = v * 10 + (s[n++] - '0');
	if (n == 0 || isdigit((unsigned char)s[n]))
		return -1;
	*end = s + n;
	return v;
}

static bool user_exists(struct pbx *p, long long id)
{
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT 1 FROM users WHERE id=?");
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, id);
	bool ok = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return ok;
}

/* A message of this user (another user's is none of this path's). */
static bool msg_of_user(struct pbx *p, long long user, long long msg)
{
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT 1 FROM voicemails WHERE id=? AND user_id=?");
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, msg);
	sqlite3_bind_int64(st, 2, user);
	bool ok = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return ok;
}

/* ---- messages ---- */

static void messages_list(struct pbx *p, struct core_httpd_req *req, long long user)
{
	int nn, no;
	sqlite3_stmt *st = core_db_stmt(
		p->db, "SELECT id, caller, caller_name, received, duration_ms, heard, reason "
		       "FROM voicemails WHERE user_id=? ORDER BY received DESC, id DESC");
	if (!st || pbx_vm_count(p, user, &nn, &no) < 0) {
		if (st)
			sqlite3_reset(st);
		core_httpd_respond_error(req, 500, "could not read the messages");
		return;
	}
	sqlite3_bind_int64(st, 1, user);
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(
			list,
			json_pack("{s:I, s:s, s:s, s:I, s:i, s:b, s:s}", "id",
				  (json_int_t)sqlite3_column_int64(st, 0), "caller",
				  (const char *)sqlite3_column_text(st, 1), "caller_name",
				  (const char *)sqlite3_column_text(st, 2), "received",
				  (json_int_t)sqlite3_column_int64(st, 3), "duration_ms",
				  sqlite3_column_int(st, 4), "heard", sqlite3_column_int(st, 5),
				  "reason", reason_of((const char *)sqlite3_column_text(st, 6))));
	sqlite3_reset(st);
	core_httpd_respond_json(
		req, 200, json_pack("{s:i, s:i, s:o}", "new", nn, "old", no, "messages", list));
}

static void respond_blob(struct core_httpd_req *req, sqlite3_stmt *st, const char *filename)
{
	char extra[160];
	snprintf(extra, sizeof(extra),
		 "Content-Disposition: inline; filename=\"%s\"\r\nCache-Control: no-store\r\n",
		 filename);
	core_httpd_respond(req, 200, "audio/wav", extra, sqlite3_column_blob(st, 0),
			   (size_t)sqlite3_column_bytes(st, 0));
}

static void message_wav(struct pbx *p, struct core_httpd_req *req, long long user, long long msg)
{
	sqlite3_stmt *st = core_db_stmt(
		p->db, "SELECT a.wav FROM voicemail_audio a JOIN voicemails v ON v.id=a.message_id "
		       "WHERE v.id=? AND v.user_id=?");
	if (!st) {
		core_httpd_respond_error(req, 500, "could not read the message");
		return;
	}
	sqlite3_bind_int64(st, 1, msg);
	sqlite3_bind_int64(st, 2, user);
	if (sqlite3_step(st) == SQLITE_ROW) {
		char name[64];
		snprintf(name, sizeof(name), "voicemail-%lld.wav", msg);
		respond_blob(req, st, name);
	} else {
		core_httpd_respond_error(req, 404, "no such message");
	}
	sqlite3_reset(st);
}

static void message_one(struct pbx *p, struct core_httpd_req *req, const char *who, long long user,
			long long msg)
{
	if (!msg_of_user(p, user, msg)) {
		core_httpd_respond_error(req, 404, "no such message");
		return;
	}
	if (strcmp(req->method, "DELETE") == 0) {
		if (pbx_vm_delete(p, msg) < 0) {
			core_httpd_respond_error(req, 500, "could not delete the message");
			return;
		}
		log_info("%s deleted voicemail %lld of user %lld", who, msg, user);
		core_httpd_respond_json(req, 200, json_pack("{s:b}", "deleted", 1));
		return;
	}
	if (strcmp(req->method, "PATCH") != 0) {
		core_httpd_respond_error(req, 405, "use PATCH or DELETE");
		return;
	}
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	json_t *h = json_object_get(b, "heard");
	if (!json_is_boolean(h) || json_object_size(b) != 1) {
		json_decref(b);
		core_httpd_respond_error(req, 400, "the body is {\"heard\": true|false}");
		return;
	}
	bool heard = json_is_true(h);
	json_decref(b);
	if (pbx_vm_mark_heard(p, msg, heard) < 0) {
		core_httpd_respond_error(req, 500, "could not change the message");
		return;
	}
	core_httpd_respond_json(req, 200,
				json_pack("{s:I, s:b}", "id", (json_int_t)msg, "heard", heard));
}

/* ---- mailbox settings ---- */

static json_t *settings_json(struct pbx *p, long long user)
{
	sqlite3_stmt *st = core_db_stmt(
		p->db, "SELECT COALESCE(m.enabled,1), COALESCE(m.pin_hash,'')<>'',"
		       " COALESCE(m.max_seconds,180), COALESCE(m.max_messages,100), u.email,"
		       " COALESCE(m.email_attach,1), u.ring_time, u.dnd,"
		       " EXISTS(SELECT 1 FROM greetings g WHERE g.user_id=u.id)"
		       " FROM users u LEFT JOIN mailboxes m ON m.user_id=u.id WHERE u.id=?");
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, user);
	json_t *o = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		o = json_pack("{s:b, s:b, s:i, s:i, s:s, s:b, s:i, s:b, s:b}", "enabled",
			      sqlite3_column_int(st, 0), "has_pin", sqlite3_column_int(st, 1),
			      "max_seconds", sqlite3_column_int(st, 2), "max_messages",
			      sqlite3_column_int(st, 3), "email",
			      (const char *)sqlite3_column_text(st, 4), "email_attach",
			      sqlite3_column_int(st, 5), "ring_time", sqlite3_column_int(st, 6),
			      "dnd", sqlite3_column_int(st, 7), "has_greeting",
			      sqlite3_column_int(st, 8));
	sqlite3_reset(st);
	return o;
}

struct mb_in {
	int enabled, email_attach, dnd;		  /* -1: not given */
	int max_seconds, max_messages, ring_time; /* 0: not given */
	const char *pin, *email;		  /* NULL: not given */
};

static const char *int_in(json_t *b, const char *key, int lo, int hi, int *out, const char *why)
{
	json_t *v = json_object_get(b, key);
	if (!v)
		return NULL;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return why;
	*out = (int)json_integer_value(v);
	return NULL;
}

static const char *bool_in(json_t *b, const char *key, int *out, const char *why)
{
	json_t *v = json_object_get(b, key);
	if (!v)
		return NULL;
	if (!json_is_boolean(v))
		return why;
	*out = json_is_true(v);
	return NULL;
}

static const char *mb_read(json_t *b, struct mb_in *in)
{
	static const char *const known[] = {
		"enabled",	"pin",	     "max_seconds", "max_messages", "email",
		"email_attach", "ring_time", "dnd",	    "has_pin",	    "has_greeting"};
	const char *key;
	json_t *v;
	json_object_foreach(b, key, v)
	{
		bool ok = false;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok = ok || strcmp(key, known[i]) == 0;
		if (!ok)
			return "unknown field; the fields are enabled, pin, max_seconds, "
			       "max_messages, email, email_attach, ring_time, dnd";
	}
	const char *why;
	*in = (struct mb_in){.enabled = -1, .email_attach = -1, .dnd = -1};
	if ((why = bool_in(b, "enabled", &in->enabled, "enabled must be true or false")) ||
	    (why = bool_in(b, "email_attach", &in->email_attach,
			   "email_attach must be true or false")) ||
	    (why = bool_in(b, "dnd", &in->dnd, "dnd must be true or false")) ||
	    (why = int_in(b, "max_seconds", 10, 600, &in->max_seconds,
			  "max_seconds must be a whole number from 10 to 600")) ||
	    (why = int_in(b, "max_messages", 1, 1000, &in->max_messages,
			  "max_messages must be a whole number from 1 to 1000")) ||
	    (why = int_in(b, "ring_time", 5, 300, &in->ring_time,
			  "ring_time must be a whole number of seconds from 5 to 300")))
		return why;
	json_t *pin = json_object_get(b, "pin"), *email = json_object_get(b, "email");
	if (pin) {
		const char *s = json_is_null(pin) ? "" : json_string_value(pin);
		size_t n = s ? strlen(s) : 0;
		bool digits = s != NULL;
		for (size_t i = 0; digits && i < n; i++)
			digits = isdigit((unsigned char)s[i]);
		if (!digits || (n && (n < PBX_VM_PIN_MIN || n > PBX_VM_PIN_MAX)))
			return "pin must be 4 to 10 digits (or \"\" to remove it)";
		in->pin = s;
	}
	if (email) {
		const char *s = json_string_value(email);
		if (!s || (s[0] && !pbx_mail_address_ok(s)))
			return "email must be an address like name@example.com (or \"\" for none)";
		in->email = s;
	}
	return NULL;
}

static bool mb_write(struct pbx *p, long long user, const struct mb_in *in)
{
	bool ok = core_db_begin(p->db) == 0;
	sqlite3_stmt *st;
	if (ok &&
	    (st = core_db_stmt(p->db, "INSERT OR IGNORE INTO mailboxes(user_id) VALUES(?)"))) {
		sqlite3_bind_int64(st, 1, user);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	} else {
		ok = false;
	}
	/* each value only when given: ?N IS NULL keeps the column */
	if (ok && (st = core_db_stmt(p->db,
				     "UPDATE mailboxes SET"
				     " enabled=COALESCE(?2,enabled),"
				     " max_seconds=COALESCE(?3,max_seconds),"
				     " max_messages=COALESCE(?4,max_messages),"
				     " email_attach=COALESCE(?5,email_attach) WHERE user_id=?1"))) {
		sqlite3_bind_int64(st, 1, user);
		if (in->enabled >= 0)
			sqlite3_bind_int(st, 2, in->enabled);
		if (in->max_seconds)
			sqlite3_bind_int(st, 3, in->max_seconds);
		if (in->max_messages)
			sqlite3_bind_int(st, 4, in->max_messages);
		if (in->email_attach >= 0)
			sqlite3_bind_int(st, 5, in->email_attach);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	} else {
		ok = false;
	}
	if (ok && (st = core_db_stmt(p->db, "UPDATE users SET ring_time=COALESCE(?2,ring_time),"
					    " dnd=COALESCE(?3,dnd), email=COALESCE(?4,email),"
					    " updated=?5 WHERE id=?1"))) {
		sqlite3_bind_int64(st, 1, user);
		if (in->ring_time)
			sqlite3_bind_int(st, 2, in->ring_time);
		if (in->dnd >= 0)
			sqlite3_bind_int(st, 3, in->dnd);
		if (in->email)
			sqlite3_bind_text(st, 4, in->email, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	} else {
		ok = false;
	}
	if (ok && in->pin)
		ok = pbx_vm_pin_set(p, user, in->pin) == 0;
	return core_db_end(p->db, ok) == 0 && ok;
}

static void mailbox_settings(struct pbx *p, struct core_httpd_req *req, const char *who,
			     long long user)
{
	if (strcmp(req->method, "PUT") == 0) {
		json_t *b = core_httpd_json_body(req);
		if (!b)
			return;
		struct mb_in in;
		const char *why = mb_read(b, &in);
		if (why) {
			json_decref(b);
			core_httpd_respond_error(req, 400, why);
			return;
		}
		bool ok = mb_write(p, user, &in);
		json_decref(b);
		if (!ok) {
			core_httpd_respond_error(req, 500, "could not save the mailbox settings");
			return;
		}
		log_info("%s changed the mailbox settings of user %lld%s", who, user,
			 in.pin ? " (and its PIN)" : "");
		if (in.enabled >= 0)
			pbx_mwi_changed(p, user); /* on or off: what phones show may change */
	} else if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		core_httpd_respond_error(req, 405, "use GET or PUT");
		return;
	}
	json_t *o = settings_json(p, user);
	if (o)
		core_httpd_respond_json(req, 200, o);
	else
		core_httpd_respond_error(req, 500, "could not read the mailbox settings");
}

/* ---- greeting ---- */

static void greeting(struct pbx *p, struct core_httpd_req *req, const char *who, long long user)
{
	if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
		sqlite3_stmt *st = core_db_stmt(
			p->db, "SELECT wav FROM greetings WHERE user_id=? AND kind='default'");
		if (!st) {
			core_httpd_respond_error(req, 500, "could not read the greeting");
			return;
		}
		sqlite3_bind_int64(st, 1, user);
		if (sqlite3_step(st) == SQLITE_ROW)
			respond_blob(req, st, "greeting.wav");
		else
			core_httpd_respond_error(req, 404,
						 "this user has no greeting of their own");
		sqlite3_reset(st);
		return;
	}
	if (strcmp(req->method, "DELETE") == 0) {
		if (pbx_vm_greeting_set(p, user, NULL) < 0) {
			core_httpd_respond_error(req, 500, "could not remove the greeting");
			return;
		}
		log_info("%s removed the greeting of user %lld", who, user);
		core_httpd_respond_json(req, 200, json_pack("{s:b}", "deleted", 1));
		return;
	}
	if (strcmp(req->method, "PUT") != 0) {
		core_httpd_respond_error(req, 405, "use GET, PUT or DELETE");
		return;
	}
	size_t len = evbuffer_get_length(req->body);
	if (len == 0) {
		core_httpd_respond_error(req, 400,
					 "the body is the greeting: a WAV, MP3 or OGG file");
		return;
	}
	const unsigned char *data = evbuffer_pullup(req->body, -1);
	struct media_pcm pcm = {0};
	const char *why = NULL;
	if (!data || media_audio_decode(data, len, GREETING_RATE, &pcm, &why) < 0) {
		char msg[256];
		snprintf(msg, sizeof(msg), "the greeting could not be read: %s",
			 why ? why : "not an audio file");
		core_httpd_respond_error(req, 400, msg);
		return;
	}
	if (pcm.n == 0 || pcm.n > (size_t)GREETING_RATE * GREETING_MAX_SEC) {
		media_pcm_free(&pcm);
		core_httpd_respond_error(req, 400,
					 pcm.n ? "the greeting is longer than 120 s"
					       : "the greeting holds no sound");
		return;
	}
	int rc = pbx_vm_greeting_set(p, user, &pcm);
	int ms = (int)(pcm.n * 1000 / GREETING_RATE);
	media_pcm_free(&pcm);
	if (rc < 0) {
		core_httpd_respond_error(req, 500, "could not save the greeting");
		return;
	}
	log_info("%s set the greeting of user %lld (%d ms)", who, user, ms);
	core_httpd_respond_json(req, 200, json_pack("{s:i}", "duration_ms", ms));
}

/* ---- SMTP relay ---- */

static json_t *smtp_json(struct pbx *p)
{
	char host[256] = "", port[8] = "", sec[16] = "", user[256] = "", pw[256] = "",
	     from[256] = "", verify[8] = "";
	core_db_setting_get(p->db, "smtp_host", host, sizeof(host));
	core_db_setting_get(p->db, "smtp_port", port, sizeof(port));
	core_db_setting_get(p->db, "smtp_security", sec, sizeof(sec));
	core_db_setting_get(p->db, "smtp_username", user, sizeof(user));
	core_db_setting_get(p->db, "smtp_password", pw, sizeof(pw));
	core_db_setting_get(p->db, "smtp_from", from, sizeof(from));
	core_db_setting_get(p->db, "smtp_verify", verify, sizeof(verify));
	if (!sec[0])
		snprintf(sec, sizeof(sec), "starttls");
	int pn = atoi(port);
	if (!pn)
		pn = strcmp(sec, "tls") == 0 ? 465 : 587;
	json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:b, s:s, s:b}", "host", host, "port", pn,
			      "security", sec, "username", user, "password_set", pw[0] != '\0',
			      "from", from, "verify", strcmp(verify, "0") != 0);
	memset(pw, 0, sizeof(pw));
	return o;
}

static bool host_ok(const char *s)
{
	size_t n = strlen(s);
	if (n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-:", s[i]))
			return false;
	return n == 0 || (s[0] != '-' && s[0] != '.');
}

static bool text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return n <= max;
}

static void smtp(struct pbx *p, struct core_httpd_req *req, const char *who)
{
	if (strcmp(req->method, "PUT") == 0) {
		json_t *b = core_httpd_json_body(req);
		if (!b)
			return;
		static const char *const keys[] = {"host",     "port", "security", "username",
						   "password", "from", "verify",   "password_set"};
		const char *key, *why = NULL;
		json_t *v;
		json_object_foreach(b, key, v)
		{
			bool ok = false;
			for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
				ok = ok || strcmp(key, keys[i]) == 0;
			if (!ok)
				why = "unknown field; the fields are host, port, security, "
				      "username, password, from, verify";
		}
		const char *host = json_string_value(json_object_get(b, "host"));
		const char *sec = json_string_value(json_object_get(b, "security"));
		const char *user = json_string_value(json_object_get(b, "username"));
		const char *pw = json_string_value(json_object_get(b, "password"));
		const char *from = json_string_value(json_object_get(b, "from"));
		json_t *port = json_object_get(b, "port"), *verify = json_object_get(b, "verify");
		if (!why && json_object_get(b, "host") && (!host || !host_ok(host)))
			why = "host must be a host name or IP address (or \"\" for no relay)";
		if (!why && port &&
		    (!json_is_integer(port) || json_integer_value(port) < 1 ||
		     json_integer_value(port) > 65535))
			why = "port must be a whole number from 1 to 65535";
		if (!why && json_object_get(b, "security") &&
		    (!sec ||
		     (strcmp(sec, "starttls") && strcmp(sec, "tls") && strcmp(sec, "none"))))
			why = "security must be \"starttls\", \"tls\" or \"none\"";
		if (!why && json_object_get(b, "username") && (!user || !text_ok(user, 255)))
			why = "username must be text of at most 255 characters";
		if (!why && json_object_get(b, "password") && (!pw || !text_ok(pw, 255)))
			why = "password must be text of at most 255 characters";
		if (!why && json_object_get(b, "from") &&
		    (!from || (from[0] && !pbx_mail_address_ok(from))))
			why = "from must be an address like pbx@example.com (or \"\")";
		if (!why && verify && !json_is_boolean(verify))
			why = "verify must be true or false";
		if (why) {
			json_decref(b);
			core_httpd_respond_error(req, 400, why);
			return;
		}
		char pstr[8] = "";
		if (port)
			snprintf(pstr, sizeof(pstr), "%d", (int)json_integer_value(port));
		bool ok = core_db_begin(p->db) == 0;
		if (ok && host)
			ok = core_db_setting_set(p->db, "smtp_host", host) == 0;
		if (ok && port)
			ok = core_db_setting_set(p->db, "smtp_port", pstr) == 0;
		if (ok && sec)
			ok = core_db_setting_set(p->db, "smtp_security", sec) == 0;
		if (ok && user)
			ok = core_db_setting_set(p->db, "smtp_username", user) == 0;
		if (ok && pw)
			ok = core_db_setting_set(p->db, "smtp_password", pw) == 0;
		if (ok && from)
			ok = core_db_setting_set(p->db, "smtp_from", from) == 0;
		if (ok && verify)
			ok = core_db_setting_set(p->db, "smtp_verify",
						 json_is_true(verify) ? "1" : "0") == 0;
		ok = core_db_end(p->db, ok) == 0 && ok;
		json_decref(b);
		if (!ok) {
			core_httpd_respond_error(req, 500, "could not save the SMTP settings");
			return;
		}
		log_info("%s changed the SMTP relay settings", who);
	} else if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		core_httpd_respond_error(req, 405, "use GET or PUT");
		return;
	}
	core_httpd_respond_json(req, 200, smtp_json(p));
}

/* ---- the upload's size ---- */

void pbx_vm_api_allow(const struct http_msg *head, size_t *max_body, int *timeout, void *arg)
{
	struct pbx *p = arg;
	const char *method = http_msg_method(head), *url = head->url;
	char prefix[96];
	char mine[96];
	snprintf(prefix, sizeof(prefix), "/%s/api/v1/voicemail/", p->name);
	snprintf(mine, sizeof(mine), "/%s/api/v1/me/voicemail/greeting", p->name);
	if (!method || !url || strcmp(method, "PUT") != 0 ||
	    ((strncmp(url, prefix, strlen(prefix)) != 0 || !strstr(url, "/greeting")) &&
	     strcmp(url, mine) != 0))
		return;
	/* only for a valid session: everybody else keeps the small limit */
	if (core_login_head_valid(p->db, head)) {
		*max_body = PBX_VM_GREETING_MAX_BODY;
		*timeout = 120;
	}
}

/* ---- routing ---- */

void pbx_vm_api_handle(struct pbx *p, struct core_httpd_req *req, const char *api, const char *rest)
{
	char who[128];
	if (core_login_require(&p->login, req, who, sizeof(who)) < 0)
		return;
	if (strcmp(api, "smtp") == 0) {
		if (*rest)
			core_httpd_respond_error(req, 404, "not found");
		else
			smtp(p, req, who);
		return;
	}
	const char *end;
	long long user = rest[0] == '/' ? parse_id(rest + 1, &end) : -1;
	if (user < 0 || (*end && *end != '/')) {
		core_httpd_respond_error(req, 404, "not found: /voicemail/<user-id>/...");
		return;
	}
	if (!user_exists(p, user)) {
		core_httpd_respond_error(req, 404, "no such user");
		return;
	}
	pbx_vm_api_mailbox(p, req, who, user, end);
}

void pbx_vm_api_mailbox(struct pbx *p, struct core_httpd_req *req, const char *who, long long user,
			const char *end)
{
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (*end == '\0' || strcmp(end, "/") == 0) {
		if (get)
			messages_list(p, req, user);
		else
			core_httpd_respond_error(req, 405, "use GET");
	} else if (strcmp(end, "/settings") == 0) {
		mailbox_settings(p, req, who, user);
	} else if (strcmp(end, "/greeting") == 0) {
		greeting(p, req, who, user);
	} else {
		long long msg = parse_id(end + 1, &end);
		if (msg < 0) {
			core_httpd_respond_error(req, 404, "not found");
		} else if (strcmp(end, ".wav") == 0) {
			if (get)
				message_wav(p, req, user, msg);
			else
				core_httpd_respond_error(req, 405, "use GET");
		} else if (*end == '\0') {
			message_one(p, req, who, user, msg);
		} else {
			core_httpd_respond_error(req, 404, "not found");
		}
	}
}
