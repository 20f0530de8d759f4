/*
 * pbx_vm_store — the mailbox side of voicemail in pbx.db (pbx_vm.h):
 * mailboxes and what routing needs of a user, messages with their WAV
 * (stored durably: acknowledged = on disk), their state, PINs (argon2id)
 * and greetings. Every change of a mailbox's messages tells message
 * waiting (pbx_mwi_changed); a stored message is mailed (pbx_mail_voicemail).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "pbx_vm.h"

#define MAILBOX_SQL                                                                                \
	"SELECT u.id, u.extension, u.display_name, u.email, u.ring_time, u.dnd,"                   \
	" COALESCE(m.enabled,1), COALESCE(m.pin_hash,''), COALESCE(m.max_seconds,180),"            \
	" COALESCE(m.max_messages,100), COALESCE(m.email_attach,1)"                                \
	" FROM users u LEFT JOIN mailboxes m ON m.user_id=u.id"

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const char *v = (const char *)sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", v ? v : "");
}

static void mailbox_row(sqlite3_stmt *st, struct pbx_mailbox *out)
{
	memset(out, 0, sizeof(*out));
	out->user_id = sqlite3_column_int64(st, 0);
	copy_col(out->extension, sizeof(out->extension), st, 1);
	copy_col(out->display_name, sizeof(out->display_name), st, 2);
	copy_col(out->email, sizeof(out->email), st, 3);
	out->ring_time = sqlite3_column_int(st, 4);
	out->dnd = sqlite3_column_int(st, 5) != 0;
	out->enabled = sqlite3_column_int(st, 6) != 0;
	const char *pin = (const char *)sqlite3_column_text(st, 7);
	out->has_pin = pin && pin[0];
	out->max_seconds = sqlite3_column_int(st, 8);
	out->max_messages = sqlite3_column_int(st, 9);
	out->email_attach = sqlite3_column_int(st, 10) != 0;
}

/* The one row of a bound mailbox query, into out: 0, or -1 if none. */
static int mailbox_one(sqlite3_stmt *st, struct pbx_mailbox *out)
{
	int rc = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		mailbox_row(st, out);
		rc = 0;
	}
	sqlite3_reset(st);
	return rc;
}

int pbx_vm_mailbox(struct pbx *p, long long user_id, struct pbx_mailbox *out)
{
	sqlite3_stmt *st = core_db_stmt(p->db, MAILBOX_SQL " WHERE u.id=? AND u.enabled=1");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user_id);
	return mailbox_one(st, out);
}

int pbx_vm_mailbox_by_extension(struct pbx *p, const char *ext, size_t len, struct pbx_mailbox *out)
{
	sqlite3_stmt *st = core_db_stmt(p->db, MAILBOX_SQL " WHERE u.extension=? AND u.enabled=1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, ext, (int)len, SQLITE_STATIC);
	return mailbox_one(st, out);
}

int pbx_vm_count(struct pbx *p, long long user_id, int *new_msgs, int *old_msgs)
{
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT COALESCE(SUM(heard=0),0), "
					       "COALESCE(SUM(heard<>0),0) FROM voicemails "
					       "WHERE user_id=?");
	*new_msgs = *old_msgs = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user_id);
	int rc = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*new_msgs = sqlite3_column_int(st, 0);
		*old_msgs = sqlite3_column_int(st, 1);
		rc = 0;
	}
	sqlite3_reset(st);
	return rc;
}

static const char *reason_name(enum pbx_vm_reason r)
{
	switch (r) {
	case PBX_VM_NOANSWER:
		return "noanswer";
	case PBX_VM_BUSY:
		return "busy";
	case PBX_VM_UNAVAILABLE:
		return "unavailable";
	case PBX_VM_DND:
		return "dnd";
	}
	return "";
}

/* Runs a statement without results on the cached statement of sql. */
static int exec_stmt(sqlite3_stmt *st)
{
	if (!st)
		return -1;
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
	return rc;
}

long long pbx_vm_store(struct pbx *p, long long user_id, const char *caller,
		       const char *caller_name, time_t when, const struct media_pcm *pcm,
		       enum pbx_vm_reason reason, const char *call_id)
{
	struct pbx_mailbox mb;
	int nnew, nold;
	if (!pcm || pcm->rate <= 0 || pbx_vm_mailbox(p, user_id, &mb) < 0 || !mb.enabled ||
	    pbx_vm_count(p, user_id, &nnew, &nold) < 0)
		return -1;
	if (nnew + nold >= mb.max_messages) {
		log_info("voicemail: the mailbox of %s is full (%d messages); not stored",
			 mb.extension, nnew + nold);
		return -1;
	}
	void *wav = NULL;
	size_t wav_len = 0;
	if (media_audio_wav(pcm->samples, pcm->n, pcm->rate, &wav, &wav_len) < 0) {
		log_error("voicemail: could not make a WAV of a message for %s", mb.extension);
		return -1;
	}
	struct pbx_vm_msg msg = {
		.user_id = user_id,
		.received = when,
		.duration_ms = (int)((unsigned long long)pcm->n * 1000 / (unsigned)pcm->rate)};
	snprintf(msg.caller, sizeof(msg.caller), "%s", caller ? caller : "");
	snprintf(msg.caller_name, sizeof(msg.caller_name), "%s", caller_name ? caller_name : "");

	/* Acknowledged means on disk: this one commit is synced (FULL) whatever
	 * the connection's NORMAL (store_pbx_open) leaves to the checkpoint;
	 * the pragma cannot change inside a transaction, so around it. */
	core_db_exec(p->db, "PRAGMA synchronous=FULL;");
	bool ok = core_db_begin(p->db) == 0;
	if (ok) {
		sqlite3_stmt *st = core_db_stmt(
			p->db, "INSERT INTO voicemails(user_id,caller,caller_name,received,"
			       "duration_ms,call_id,reason) VALUES(?,?,?,?,?,?,?)");
		ok = st != NULL;
		if (ok) {
			sqlite3_bind_int64(st, 1, user_id);
			sqlite3_bind_text(st, 2, msg.caller, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, msg.caller_name, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, (sqlite3_int64)when);
			sqlite3_bind_int(st, 5, msg.duration_ms);
			sqlite3_bind_text(st, 6, call_id ? call_id : "", -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 7, reason_name(reason), -1, SQLITE_STATIC);
			ok = exec_stmt(st) == 0;
			msg.id = sqlite3_last_insert_rowid(p->db);
		}
		st = ok ? core_db_stmt(p->db, "INSERT INTO voicemail_audio(message_id,wav) "
					      "VALUES(?,?)")
			: NULL;
		if (st) {
			sqlite3_bind_int64(st, 1, msg.id);
			sqlite3_bind_blob(st, 2, wav, (int)wav_len, SQLITE_STATIC);
			ok = exec_stmt(st) == 0;
		} else {
			ok = false;
		}
		ok = core_db_end(p->db, ok) == 0 && ok;
	}
	core_db_exec(p->db, "PRAGMA synchronous=NORMAL;");
	if (!ok) {
		log_error("voicemail: could not store a message for %s: %s", mb.extension,
			  sqlite3_errmsg(p->db));
		free(wav);
		return -1;
	}
	log_info("voicemail: a message of %d ms from %s for %s (id %lld)", msg.duration_ms,
		 msg.caller, mb.extension, msg.id);
	pbx_mwi_changed(p, user_id);
	if (mb.email[0])
		pbx_mail_voicemail(p, &msg, wav, wav_len);
	free(wav);
	return msg.id;
}

int pbx_vm_messages(struct pbx *p, long long user_id, struct pbx_vm_msg *out, int cap)
{
	sqlite3_stmt *st = core_db_stmt(
		p->db, "SELECT id, user_id, caller, caller_name, received, duration_ms, heard "
		       "FROM voicemails WHERE user_id=? ORDER BY heard<>0, received, id LIMIT ?");
	if (!st || cap <= 0)
		return st ? 0 : -1;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int(st, 2, cap);
	int n = 0;
	while (n < cap && sqlite3_step(st) == SQLITE_ROW) {
		struct pbx_vm_msg *m = &out[n++];
		memset(m, 0, sizeof(*m));
		m->id = sqlite3_column_int64(st, 0);
		m->user_id = sqlite3_column_int64(st, 1);
		copy_col(m->caller, sizeof(m->caller), st, 2);
		copy_col(m->caller_name, sizeof(m->caller_name), st, 3);
		m->received = (time_t)sqlite3_column_int64(st, 4);
		m->duration_ms = sqlite3_column_int(st, 5);
		m->heard = sqlite3_column_int(st, 6) != 0;
	}
	sqlite3_reset(st);
	return n;
}

/* A WAV from a blob column, decoded at rate. */
static int decode_blob(sqlite3_stmt *st, int col, int rate, struct media_pcm *out)
{
	const void *wav = sqlite3_column_blob(st, col);
	int len = sqlite3_column_bytes(st, col);
	const char *why = NULL;
	if (!wav || len <= 0 || media_audio_decode(wav, (size_t)len, rate, out, &why) < 0) {
		log_error("voicemail: a stored WAV does not decode: %s", why ? why : "empty");
		return -1;
	}
	return 0;
}

int pbx_vm_audio(struct pbx *p, long long msg_id, int rate, struct media_pcm *out)
{
	sqlite3_stmt *st =
		core_db_stmt(p->db, "SELECT wav FROM voicemail_audio WHERE message_id=?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, msg_id);
	int rc = sqlite3_step(st) == SQLITE_ROW ? decode_blob(st, 0, rate, out) : -1;
	sqlite3_reset(st);
	return rc;
}

/* The user a message belongs to, or -1. */
static long long owner_of(struct pbx *p, long long msg_id)
{
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT user_id FROM voicemails WHERE id=?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, msg_id);
	long long u = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	return u;
}

int pbx_vm_mark_heard(struct pbx *p, long long msg_id, bool heard)
{
	long long user = owner_of(p, msg_id);
	sqlite3_stmt *st =
		user < 0 ? NULL : core_db_stmt(p->db, "UPDATE voicemails SET heard=? WHERE id=?");
	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, heard ? 1 : 0);
	sqlite3_bind_int64(st, 2, msg_id);
	if (exec_stmt(st) < 0)
		return -1;
	pbx_mwi_changed(p, user);
	return 0;
}

int pbx_vm_delete(struct pbx *p, long long msg_id)
{
	long long user = owner_of(p, msg_id);
	sqlite3_stmt *st =
		user < 0 ? NULL : core_db_stmt(p->db, "DELETE FROM voicemails WHERE id=?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, msg_id);
	if (exec_stmt(st) < 0) /* the audio goes with it (ON DELETE CASCADE) */
		return -1;
	pbx_mwi_changed(p, user);
	return 0;
}

/* ---- PINs ---- */

/*
 * argon2id at libsodium's minimum cost (one pass over 8 KiB: microseconds),
 * checked on the event loop. That is acceptable for a PIN, unlike for a
 * password: a 4-10 digit PIN has at most 10^10 values, and no hashing cost
 * a loop could afford would save it from an offline search of a stolen
 * pbx.db anyway; what protects it is that guesses are few online — the
 * menu ends a call after three wrong PINs, and a mailbox takes at most
 * PIN_FAILURES wrong ones in PIN_WINDOW seconds across all calls (below).
 * The hash still keeps the PIN out of backups in clear text.
 */
#define PIN_FAILURES 5
#define PIN_WINDOW   600
#define PIN_SLOTS    256

static struct pin_fail {
	long long user_id;
	time_t first;
	int count;
} pin_fails[PIN_SLOTS];

static struct pin_fail *pin_slot(long long user_id, time_t now, bool add)
{
	struct pin_fail *oldest = &pin_fails[0];
	for (int i = 0; i < PIN_SLOTS; i++) {
		struct pin_fail *f = &pin_fails[i];
		if (f->count && now - f->first >= PIN_WINDOW)
			f->count = 0; /* its window is over */
		if (f->count && f->user_id == user_id)
			return f;
		if (!f->count || f->first < oldest->first)
			oldest = f;
	}
	if (!add)
		return NULL;
	/* a free slot, or the oldest window's (only beyond PIN_SLOTS mailboxes
	 * under attack at once) */
	*oldest = (struct pin_fail){.user_id = user_id, .first = now};
	return oldest;
}

static bool pin_syntax_ok(const char *pin)
{
	size_t n = pin ? strlen(pin) : 0;
	if (n < PBX_VM_PIN_MIN || n > PBX_VM_PIN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (pin[i] < '0' || pin[i] > '9')
			return false;
	return true;
}

int pbx_vm_pin_check(struct pbx *p, long long user_id, const char *pin)
{
	time_t now = time(NULL);
	struct pin_fail *f = pin_slot(user_id, now, false);
	if (f && f->count >= PIN_FAILURES) {
		log_warn("voicemail: user %lld: PIN refused unchecked, %d wrong ones within %d s",
			 user_id, f->count, PIN_WINDOW);
		return 0;
	}
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT pin_hash FROM mailboxes WHERE user_id=?");
	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, user_id);
	char hash[crypto_pwhash_STRBYTES] = "";
	if (sqlite3_step(st) == SQLITE_ROW)
		copy_col(hash, sizeof(hash), st, 0);
	sqlite3_reset(st);
	if (!hash[0] || !pin_syntax_ok(pin))
		return 0;
	if (crypto_pwhash_str_verify(hash, pin, strlen(pin)) == 0) {
		if (f)
			f->count = 0;
		return 1;
	}
	f = pin_slot(user_id, now, true);
	f->count++;
	log_warn("voicemail: user %lld: wrong PIN (%d within %d s)", user_id, f->count, PIN_WINDOW);
	return 0;
}

int pbx_vm_pin_set(struct pbx *p, long long user_id, const char *pin)
{
	char hash[crypto_pwhash_STRBYTES] = "";
	if (pin && pin[0]) {
		if (!pin_syntax_ok(pin) ||
		    crypto_pwhash_str_alg(hash, pin, strlen(pin), crypto_pwhash_OPSLIMIT_MIN,
					  crypto_pwhash_MEMLIMIT_MIN,
					  crypto_pwhash_ALG_ARGON2ID13) != 0)
			return -1;
	}
	sqlite3_stmt *st = core_db_stmt(
		p->db,
		"INSERT INTO mailboxes(user_id,pin_hash) SELECT id, ?2 FROM users WHERE id=?1 "
		"ON CONFLICT(user_id) DO UPDATE SET pin_hash=excluded.pin_hash");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
	sodium_memzero(hash, sizeof(hash));
	if (exec_stmt(st) < 0 || sqlite3_changes(p->db) == 0)
		return -1;
	struct pin_fail *f = pin_slot(user_id, time(NULL), false);
	if (f)
		f->count = 0; /* a new PIN: a fresh start */
	return 0;
}

/* ---- greetings ---- */

/* One greeting per user for now: kind "default" (the table allows more). */
#define GREETING_KIND "default"

int pbx_vm_greeting(struct pbx *p, long long user_id, int rate, struct media_pcm *out)
{
	sqlite3_stmt *st =
		core_db_stmt(p->db, "SELECT wav FROM greetings WHERE user_id=? AND kind=?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_text(st, 2, GREETING_KIND, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_ROW ? decode_blob(st, 0, rate, out) : -1;
	sqlite3_reset(st);
	return rc;
}

int pbx_vm_greeting_set(struct pbx *p, long long user_id, const struct media_pcm *pcm)
{
	sqlite3_stmt *st;
	if (!pcm) {
		st = core_db_stmt(p->db, "DELETE FROM greetings WHERE user_id=? AND kind=?");
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, user_id);
		sqlite3_bind_text(st, 2, GREETING_KIND, -1, SQLITE_STATIC);
		return exec_stmt(st);
	}
	void *wav = NULL;
	size_t len = 0;
	if (pcm->rate <= 0 || media_audio_wav(pcm->samples, pcm->n, pcm->rate, &wav, &len) < 0)
		return -1;
	st = core_db_stmt(p->db,
			  "INSERT INTO greetings(user_id,kind,wav,updated) SELECT id, ?2, ?3, ?4 "
			  "FROM users WHERE id=?1 ON CONFLICT(user_id,kind) DO UPDATE SET "
			  "wav=excluded.wav, updated=excluded.updated");
	int rc = -1;
	if (st) {
		sqlite3_bind_int64(st, 1, user_id);
		sqlite3_bind_text(st, 2, GREETING_KIND, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, wav, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
		rc = exec_stmt(st) == 0 && sqlite3_changes(p->db) > 0 ? 0 : -1;
	}
	free(wav);
	return rc;
}
