/*
 * core_auth — what every login in Zentrale shares: argon2id password hashes
 * (libsodium), bearer tokens kept only as SHA-256 digests in a `sessions`
 * table, and per-address throttling of failed logins. No I/O but SQLite.
 */
#ifndef CORE_AUTH_H
#define CORE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#define CORE_AUTH_HASH_LEN     crypto_pwhash_STRBYTES
#define CORE_AUTH_TOKEN_LEN    43 /* base64url of 32 random bytes, no padding */
#define CORE_AUTH_MAX_PASSWORD 1024
#define CORE_AUTH_MIN_PASSWORD 8

int core_auth_init(void);
int core_auth_hash_password(const char *password, char out[CORE_AUTH_HASH_LEN]);
/* Hashing and verifying take a fraction of a second and 64 MiB: callers on
 * an event loop run them in a worker thread (core_work); both are safe there.
 * Verifying is constant work whether or not hash is NULL (unknown user), so
 * timing tells nothing. */
bool core_auth_verify_password(const char *hash, const char *password);
/* A readable random password: 20 characters from an unambiguous alphabet. */
void core_auth_random_password(char *out, size_t outlen);
/* Returns NULL if acceptable, else why not (for a person to read). */
const char *core_auth_password_problem(const char *password);

/* Sessions: the `sessions(digest, subject, expires)` table of the given db. */
#define CORE_AUTH_SESSIONS_SQL                                                                     \
	"CREATE TABLE sessions(digest TEXT PRIMARY KEY, subject TEXT NOT NULL,"                    \
	" expires INTEGER NOT NULL);"
int core_auth_session_create(sqlite3 *db, const char *subject, int ttl,
			     char token[CORE_AUTH_TOKEN_LEN + 1]);
/* 0 and the subject if the token is valid now; -1 otherwise. */
int core_auth_session_check(sqlite3 *db, const char *token, char *subject, size_t subjlen);
int core_auth_session_revoke(sqlite3 *db, const char *token);
/* Ends every session of subject but the one of token `keep`. */
int core_auth_session_revoke_others(sqlite3 *db, const char *subject, const char *keep);

/* Throttle: after `max_failures` failures within `window` seconds an address
 * is blocked for `block` seconds. Times are passed in. Bounded memory: at
 * most `capacity` entries (CORE_THROTTLE_CAPACITY by default, a few hundred
 * bytes each, touched only when used). Blocks stay until they end or are
 * lifted; unblocked trackers give way, least recently failed first. When
 * every address slot holds failures still in the window, a new address is
 * counted by its prefix (/24 for IPv4, /64 for IPv6), which a block then
 * covers whole; only with every prefix slot blocked too is a failure not
 * counted. Keys of CORE_THROTTLE_KEY_LEN or more bytes are kept as a digest. */
#define CORE_THROTTLE_CAPACITY	   65536
#define CORE_THROTTLE_CAPACITY_MAX (1u << 24)
#define CORE_THROTTLE_KEY_LEN	   64
struct core_throttle;
struct core_throttle *core_throttle_new(int max_failures, int window, int block);
struct core_throttle *core_throttle_new_capacity(int max_failures, int window, int block,
						 size_t capacity);
void core_throttle_free(struct core_throttle *t);
/* Seconds the address (or its prefix) stays blocked, 0 if it is not. */
int core_throttle_blocked(struct core_throttle *t, const char *addr, time_t now);
/* Records a failure; returns true when this failure starts a block. */
bool core_throttle_fail(struct core_throttle *t, const char *addr, time_t now);
/* The same; with a block, `blocked` (if not NULL) gets what is blocked: the
 * address or its prefix ("203.0.113.0/24"). */
bool core_throttle_fail_key(struct core_throttle *t, const char *addr, time_t now,
			    char blocked[CORE_THROTTLE_KEY_LEN]);
/* Puts in a block that ends at `until` (handed back after a restart); an
 * address or a prefix. -1 if there is no room. */
int core_throttle_block(struct core_throttle *t, const char *key, time_t until, time_t now);
void core_throttle_success(struct core_throttle *t, const char *addr);
/* [{"address", "seconds_left"}] of what is blocked now, soonest to end first. */
json_t *core_throttle_list(struct core_throttle *t, time_t now);
/* Lifts the block of exactly this address or prefix; -1 if it was not blocked. */
int core_throttle_unblock(struct core_throttle *t, const char *addr, time_t now);
/* The prefix an address is counted by when the table is full: "a.b.c.0/24"
 * or "x:x:x:x::/64"; -1 if addr is not an IP address. */
int core_throttle_prefix(const char *addr, char out[CORE_THROTTLE_KEY_LEN]);
/* Failures within the window counted for exactly this key (for tests). */
int core_throttle_failures(struct core_throttle *t, const char *key, time_t now);
struct core_throttle_stats {
	size_t capacity, addresses, prefixes, blocked;
	size_t longest_probe; /* the longest hash chain a lookup has walked */
};
struct core_throttle_stats core_throttle_stats(const struct core_throttle *t);

#endif
