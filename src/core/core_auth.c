/* core_auth — see core_auth.h. */
#include "core_auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_log.h"

/* Interactive limits: ~64 MiB and a fraction of a second per login. */
#define AUTH_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define AUTH_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

int core_auth_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

int core_auth_hash_password(const char *password, char out[CORE_AUTH_HASH_LEN])
{
	if (crypto_pwhash_str(out, password, strlen(password), AUTH_OPS, AUTH_MEM) != 0) {
		log_error("argon2id: out of memory");
		return -1;
	}
	return 0;
}

/* The hash checked for a user that does not exist: made once, by whichever
 * thread needs it first (verification runs in worker threads, core_work). */
static char auth_dummy[CORE_AUTH_HASH_LEN];
static pthread_once_t auth_dummy_once = PTHREAD_ONCE_INIT;

static void auth_dummy_make(void)
{
	if (core_auth_hash_password("not-a-password", auth_dummy) < 0)
		auth_dummy[0] = '\0';
}

bool core_auth_verify_password(const char *hash, const char *password)
{
	if (!hash) {
		/* Spend the same effort for a user that does not exist. */
		pthread_once(&auth_dummy_once, auth_dummy_make);
		if (!auth_dummy[0])
			return false;
		if (crypto_pwhash_str_verify(auth_dummy, password, strlen(password)) == 0)
			return false;
		return false;
	}
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void core_auth_random_password(char *out, size_t outlen)
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	size_t n = outlen - 1 < 20 ? outlen - 1 : 20;
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[n] = '\0';
}

const char *core_auth_password_problem(const char *password)
{
	size_t n = strlen(password);
	if (n < CORE_AUTH_MIN_PASSWORD)
		return "password must be at least 8 characters long";
	if (n > CORE_AUTH_MAX_PASSWORD)
		return "password is too long (1024 characters at most)";
	return NULL;
}

static void auth_digest(const char *token, char hex[65])
{
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(hex, 65, d, sizeof(d));
}

int core_auth_session_create(sqlite3 *db, const char *subject, int ttl,
			     char token[CORE_AUTH_TOKEN_LEN + 1])
{
	unsigned char raw[32];
	char hex[65];
	sqlite3_stmt *st;

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, CORE_AUTH_TOKEN_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	auth_digest(token, hex);
	time_t now = time(NULL);
	/* Expired sessions are swept here, on the rare write path. */
	sqlite3_stmt *sweep;
	if (sqlite3_prepare_v2(db, "DELETE FROM sessions WHERE expires<?", -1, &sweep, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(sweep, 1, (sqlite3_int64)now);
		sqlite3_step(sweep);
		sqlite3_finalize(sweep);
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO sessions(digest,subject,expires) VALUES(?,?,?)", -1,
			       &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)(now + ttl));
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return r;
}

int core_auth_session_check(sqlite3 *db, const char *token, char *subject, size_t subjlen)
{
	char hex[65];
	sqlite3_stmt *st;
	int r = -1;

	if (strlen(token) != CORE_AUTH_TOKEN_LEN)
		return -1;
	auth_digest(token, hex);
	if (sqlite3_prepare_v2(db, "SELECT subject FROM sessions WHERE digest=? AND expires>=?", -1,
			       &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(subject, subjlen, "%s", (const char *)sqlite3_column_text(st, 0));
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

int core_auth_session_revoke(sqlite3 *db, const char *token)
{
	char hex[65];
	sqlite3_stmt *st;
	auth_digest(token, hex);
	if (sqlite3_prepare_v2(db, "DELETE FROM sessions WHERE digest=?", -1, &st, NULL))
		return -1;
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return r;
}

int core_auth_session_revoke_others(sqlite3 *db, const char *subject, const char *keep)
{
	char hex[65];
	sqlite3_stmt *st;
	auth_digest(keep, hex);
	if (sqlite3_prepare_v2(db, "DELETE FROM sessions WHERE subject=? AND digest<>?", -1, &st,
			       NULL))
		return -1;
	sqlite3_bind_text(st, 1, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return r;
}

/* ---- throttle ---- */

#define THROTTLE_SLOTS	  4096
#define THROTTLE_MAX_FAIL 64

struct throttle_entry {
	char addr[48];
	time_t last;
	time_t blocked_until;
	int nfail;			 /* entries used in ring */
	int head;			 /* next ring position */
	time_t fails[THROTTLE_MAX_FAIL]; /* ring of failure times */
};

struct core_throttle {
	int max_failures, window, block;
	struct throttle_entry slots[THROTTLE_SLOTS];
};

struct core_throttle *core_throttle_new(int max_failures, int window, int block)
{
	if (max_failures < 1 || max_failures > THROTTLE_MAX_FAIL)
		return NULL;
	struct core_throttle *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->max_failures = max_failures;
	t->window = window;
	t->block = block;
	return t;
}

void core_throttle_free(struct core_throttle *t)
{
	free(t);
}

static struct throttle_entry *throttle_find(struct core_throttle *t, const char *addr)
{
	for (int i = 0; i < THROTTLE_SLOTS; i++)
		if (t->slots[i].addr[0] && strcmp(t->slots[i].addr, addr) == 0)
			return &t->slots[i];
	return NULL;
}

/* A free slot, or the least recently active one that is not blocked. */
static struct throttle_entry *throttle_take(struct core_throttle *t, const char *addr, time_t now)
{
	struct throttle_entry *victim = NULL;
	for (int i = 0; i < THROTTLE_SLOTS; i++) {
		struct throttle_entry *e = &t->slots[i];
		if (!e->addr[0]) {
			victim = e;
			break;
		}
		if (e->blocked_until > now)
			continue;
		if (!victim || e->last < victim->last)
			victim = e;
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->addr, sizeof(victim->addr), "%s", addr);
	return victim;
}

int core_throttle_blocked(struct core_throttle *t, const char *addr, time_t now)
{
	struct throttle_entry *e = throttle_find(t, addr);
	if (!e || e->blocked_until <= now)
		return 0;
	return (int)(e->blocked_until - now);
}

bool core_throttle_fail(struct core_throttle *t, const char *addr, time_t now)
{
	struct throttle_entry *e = throttle_find(t, addr);
	if (!e)
		e = throttle_take(t, addr, now);
	if (!e)
		return false;
	e->last = now;
	if (e->blocked_until > now)
		return false;
	e->fails[e->head] = now;
	e->head = (e->head + 1) % t->max_failures;
	if (e->nfail < t->max_failures)
		e->nfail++;
	/* The oldest of the last max_failures failures is at head once the ring is full. */
	if (e->nfail == t->max_failures && now - e->fails[e->head] < t->window) {
		e->blocked_until = now + t->block;
		e->nfail = 0;
		e->head = 0;
		return true;
	}
	return false;
}

void core_throttle_success(struct core_throttle *t, const char *addr)
{
	struct throttle_entry *e = throttle_find(t, addr);
	if (e)
		memset(e, 0, sizeof(*e));
}

json_t *core_throttle_list(struct core_throttle *t, time_t now)
{
	json_t *out = json_array();
	for (int i = 0; i < THROTTLE_SLOTS; i++) {
		struct throttle_entry *e = &t->slots[i];
		if (e->addr[0] && e->blocked_until > now)
			json_array_append_new(out, json_pack("{s:s, s:I}", "address", e->addr,
							     "seconds_left",
							     (json_int_t)(e->blocked_until - now)));
	}
	return out;
}

int core_throttle_unblock(struct core_throttle *t, const char *addr, time_t now)
{
	struct throttle_entry *e = throttle_find(t, addr);
	if (!e || e->blocked_until <= now)
		return -1;
	memset(e, 0, sizeof(*e));
	return 0;
}
