/* store_pbx — pbx.db, a phone system's own database: its schema and the
 * admin account given at creation (store.h). */
#include "store.h"

#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "../core/core_auth.h"
#include "../core/core_db.h"

/* pbx.db schema, one migration per entry; never edit a released one. */
static const char *const pbx_schema[] = {
	"CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE admins(username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,"
	" created INTEGER NOT NULL);" CORE_AUTH_SESSIONS_SQL,
	/* SIP credentials only as digest HA1 = H(username:realm:password), realm = name */
	"CREATE TABLE users(id INTEGER PRIMARY KEY, display_name TEXT NOT NULL,"
	" extension TEXT NOT NULL UNIQUE, sip_username TEXT NOT NULL UNIQUE,"
	" ha1_md5 TEXT NOT NULL, ha1_sha256 TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1,"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL);",
	/* registrations: one row per device (contact) of a user */
	"CREATE TABLE bindings(id INTEGER PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" contact TEXT NOT NULL, expires INTEGER NOT NULL, call_id TEXT NOT NULL,"
	" cseq INTEGER NOT NULL, path TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',"
	" user_agent TEXT NOT NULL DEFAULT '', updated INTEGER NOT NULL,"
	" UNIQUE(user_id, contact));",
	/* call-detail records: caller/callee are extensions; answer NULL if never answered */
	"CREATE TABLE cdrs(id INTEGER PRIMARY KEY, call_id TEXT NOT NULL, caller TEXT NOT NULL,"
	" caller_name TEXT NOT NULL DEFAULT '', callee TEXT NOT NULL, start INTEGER NOT NULL,"
	" answer INTEGER, end INTEGER NOT NULL, cause TEXT NOT NULL, status INTEGER NOT NULL);"
	"CREATE INDEX cdrs_start ON cdrs(start);",
	"CREATE INDEX bindings_expires ON bindings(expires);",
	/* voicemail (pbx_vm.h): per user ring time, do-not-disturb, email; a
	 * mailbox per user (PIN as argon2id); messages with their audio (a WAV
	 * file) in a table of its own so lists never read it; greetings; the
	 * phone system's uploaded prompts (pbx_prompts.h) */
	"ALTER TABLE users ADD COLUMN ring_time INTEGER NOT NULL DEFAULT 25;"
	"ALTER TABLE users ADD COLUMN dnd INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE mailboxes(user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
	" enabled INTEGER NOT NULL DEFAULT 1, pin_hash TEXT NOT NULL DEFAULT '',"
	" max_seconds INTEGER NOT NULL DEFAULT 180, max_messages INTEGER NOT NULL DEFAULT 100,"
	" email_attach INTEGER NOT NULL DEFAULT 1);"
	"CREATE TABLE voicemails(id INTEGER PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" caller TEXT NOT NULL, caller_name TEXT NOT NULL DEFAULT '', received INTEGER NOT NULL,"
	" duration_ms INTEGER NOT NULL, heard INTEGER NOT NULL DEFAULT 0,"
	" call_id TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX voicemails_user ON voicemails(user_id, heard, received);"
	"CREATE TABLE voicemail_audio(message_id INTEGER PRIMARY KEY"
	" REFERENCES voicemails(id) ON DELETE CASCADE, wav BLOB NOT NULL);"
	"CREATE TABLE greetings(user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" kind TEXT NOT NULL, wav BLOB NOT NULL, updated INTEGER NOT NULL,"
	" PRIMARY KEY(user_id, kind));"
	"CREATE TABLE prompts(name TEXT PRIMARY KEY, wav BLOB NOT NULL, original TEXT NOT NULL,"
	" updated INTEGER NOT NULL);",
	/* call features (issue 17): a user's own web login (argon2id; '' none),
	 * call waiting, a named pickup group, when the user's last call ended
	 * (ring groups' longest idle); forwarding per user and condition; ring
	 * groups and their members; the call record's path (the destinations a
	 * call went through), who answered, and the call it came from (a
	 * transfer, a pickup, a parked call) */
	"ALTER TABLE users ADD COLUMN login_hash TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE users ADD COLUMN call_waiting INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE users ADD COLUMN pickup_group TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE users ADD COLUMN last_call_end INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE forwards(user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" kind TEXT NOT NULL, target_type TEXT NOT NULL, target TEXT NOT NULL DEFAULT '',"
	" enabled INTEGER NOT NULL DEFAULT 1, updated INTEGER NOT NULL, PRIMARY KEY(user_id, "
	"kind));"
	"CREATE TABLE ring_groups(id INTEGER PRIMARY KEY, extension TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL, strategy TEXT NOT NULL DEFAULT 'ringall',"
	" timeout INTEGER NOT NULL DEFAULT 60, fallback_type TEXT NOT NULL DEFAULT '',"
	" fallback_target TEXT NOT NULL DEFAULT '', rr_last INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE group_members(group_id INTEGER NOT NULL REFERENCES ring_groups(id)"
	" ON DELETE CASCADE, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" position INTEGER NOT NULL, ring_time INTEGER NOT NULL DEFAULT 20,"
	" logged_in INTEGER NOT NULL DEFAULT 1, PRIMARY KEY(group_id, user_id));"
	"ALTER TABLE cdrs ADD COLUMN path TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE cdrs ADD COLUMN answered_by TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE cdrs ADD COLUMN linked_call_id TEXT NOT NULL DEFAULT '';",
	/* 8: calls to and from the outside world. Trunks to carriers (an
	 * account that registers, or a peer known by its addresses; the
	 * password in clear, as digest needs it, so that backups carry it);
	 * inbound numbers (one DID or a range, E.164) per trunk to a
	 * destination; outbound routes (dial patterns, digits stripped and
	 * added, trunks in order); a phonebook (caller names of inbound
	 * calls); per user the outbound class, an external caller ID and
	 * CLIR; the call record's direction, trunk and external number */
	"CREATE TABLE trunks(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" kind TEXT NOT NULL DEFAULT 'register', domain TEXT NOT NULL DEFAULT '',"
	" proxy TEXT NOT NULL DEFAULT '', transport TEXT NOT NULL DEFAULT 'udp',"
	" username TEXT NOT NULL DEFAULT '', auth_username TEXT NOT NULL DEFAULT '',"
	" password TEXT NOT NULL DEFAULT '', register INTEGER NOT NULL DEFAULT 1,"
	" register_interval INTEGER NOT NULL DEFAULT 600, peers TEXT NOT NULL DEFAULT '[]',"
	" codecs TEXT NOT NULL DEFAULT '[]', dtmf TEXT NOT NULL DEFAULT 'rfc4733',"
	" number_format TEXT NOT NULL DEFAULT 'e164', caller_id TEXT NOT NULL DEFAULT '',"
	" cid_header TEXT NOT NULL DEFAULT 'pai', srtp INTEGER NOT NULL DEFAULT 0,"
	" interface TEXT NOT NULL DEFAULT '', default_type TEXT NOT NULL DEFAULT '',"
	" default_target TEXT NOT NULL DEFAULT '', enabled INTEGER NOT NULL DEFAULT 1,"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE trunk_numbers(id INTEGER PRIMARY KEY, trunk_id INTEGER NOT NULL"
	" REFERENCES trunks(id) ON DELETE CASCADE, number TEXT NOT NULL,"
	" range_end TEXT NOT NULL DEFAULT '', target_type TEXT NOT NULL,"
	" target TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL);"
	"CREATE INDEX trunk_numbers_number ON trunk_numbers(number);"
	"CREATE TABLE outbound_routes(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	" position INTEGER NOT NULL, patterns TEXT NOT NULL DEFAULT '[]',"
	" strip INTEGER NOT NULL DEFAULT 0, prepend TEXT NOT NULL DEFAULT '',"
	" trunks TEXT NOT NULL DEFAULT '[]', created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE TABLE phonebook(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	" number TEXT NOT NULL, e164 TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL);"
	"CREATE INDEX phonebook_e164 ON phonebook(e164);"
	"ALTER TABLE users ADD COLUMN outbound_class TEXT NOT NULL DEFAULT 'international';"
	"ALTER TABLE users ADD COLUMN caller_id TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE users ADD COLUMN clir INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE cdrs ADD COLUMN direction TEXT NOT NULL DEFAULT 'internal';"
	"ALTER TABLE cdrs ADD COLUMN trunk_id INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE cdrs ADD COLUMN external_number TEXT NOT NULL DEFAULT '';",
};

int store_pbx_schema_version(void)
{
	return (int)(sizeof(pbx_schema) / sizeof(pbx_schema[0]));
}

int store_pbx_open(const char *path, sqlite3 **db)
{
	if (core_db_open(path, db) < 0)
		return -1;
	/* Registrations are soft state that phones refresh, and a call record
	 * of the last moment before a power cut is worth less than a sync per
	 * REGISTER: in WAL mode NORMAL stays consistent, only the newest
	 * transactions may be lost to a power cut (never to a crash). */
	core_db_exec(*db, "PRAGMA synchronous=NORMAL;");
	if (core_db_migrate(*db, pbx_schema, sizeof(pbx_schema) / sizeof(pbx_schema[0])) < 0) {
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	return 0;
}

int store_pbx_create(const char *path, const char *admin_hash)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	if (access(path, F_OK) == 0 || store_pbx_open(path, &db) < 0)
		return -1;
	int r = -1;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO admins(username,password_hash,created) "
			       "VALUES('admin',?,strftime('%s','now'))",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, admin_hash, -1, SQLITE_STATIC);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return r;
}

int store_pbx_set_admin(const char *path, const char *admin_hash)
{
	sqlite3 *db;
	sqlite3_stmt *up = NULL, *del = NULL;
	if (access(path, F_OK) != 0 || store_pbx_open(path, &db) < 0)
		return -1;
	bool ok = core_db_begin(db) == 0 &&
		  sqlite3_prepare_v2(db,
				     "INSERT INTO admins(username,password_hash,created) "
				     "VALUES('admin',?,strftime('%s','now')) ON CONFLICT(username) "
				     "DO UPDATE SET password_hash=excluded.password_hash",
				     -1, &up, NULL) == SQLITE_OK &&
		  sqlite3_prepare_v2(db, "DELETE FROM sessions WHERE subject='admin'", -1, &del,
				     NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(up, 1, admin_hash, -1, SQLITE_STATIC);
		ok = sqlite3_step(up) == SQLITE_DONE && sqlite3_step(del) == SQLITE_DONE;
	}
	sqlite3_finalize(up);
	sqlite3_finalize(del);
	int r = core_db_end(db, ok);
	sqlite3_close(db);
	return r;
}
