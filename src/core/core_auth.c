/* core_auth — see core_auth.h. */
#include "core_auth.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
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

/* ---- throttle ----
 *
 * One slab of `capacity` entries, handed out from a high-water mark (pages
 * the table never needed are never touched), a hash index keyed with
 * crypto_shorthash (a per-table random key: clients choose the addresses, so
 * chains cannot be forced), and four lists through the entries: free slots,
 * unblocked trackers of addresses and of prefixes (each least recently failed
 * first) and blocks (soonest to end first). Blocks are only ever removed when
 * they end or are lifted; unblocked trackers are what gives way. Addresses
 * may hold 7/8 of the slots; the rest are kept for prefixes (/24, /64), which
 * count a new address when every address slot holds recent failures. */

#define THROTTLE_MAX_FAIL 64

enum { TK_FREE, TK_ADDR, TK_PREFIX };
enum { TL_FREE, TL_ADDR, TL_PREFIX, TL_BLOCKED, TL_N };

struct throttle_entry {
	char key[CORE_THROTTLE_KEY_LEN];
	uint32_t hnext;	    /* next in the hash chain, index + 1; 0 ends it */
	int32_t prev, next; /* in the list `list`; -1 ends it */
	uint8_t kind, list; /* TK_*, TL_* */
	uint16_t nfail;	    /* entries used in the ring */
	uint16_t head;	    /* next ring position */
	time_t last;	    /* last failure */
	time_t blocked_until;
	time_t fails[]; /* ring of failure times, max_failures of them */
};

struct throttle_list {
	int32_t head, tail;
	size_t n;
};

struct core_throttle {
	int max_failures, window, block;
	size_t capacity, used, stride;
	size_t max[3]; /* per kind: slots an address or a prefix may hold */
	size_t count[3];
	uint32_t mask;	   /* buckets - 1 */
	uint32_t *buckets; /* index + 1 of a chain's first entry; 0 if empty */
	struct throttle_list lists[TL_N];
	size_t longest_probe;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	unsigned char *slab;
};

static struct throttle_entry *ent(struct core_throttle *t, int32_t i)
{
	return (struct throttle_entry *)(t->slab + (size_t)i * t->stride);
}

struct core_throttle *core_throttle_new_capacity(int max_failures, int window, int block,
						 size_t capacity)
{
	if (max_failures < 1 || max_failures > THROTTLE_MAX_FAIL || capacity < 2 ||
	    capacity > CORE_THROTTLE_CAPACITY_MAX)
		return NULL;
	struct core_throttle *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->max_failures = max_failures;
	t->window = window;
	t->block = block;
	t->capacity = capacity;
	t->stride = sizeof(struct throttle_entry) + sizeof(time_t) * (size_t)max_failures;
	t->max[TK_PREFIX] = capacity / 8 ? capacity / 8 : 1;
	t->max[TK_ADDR] = capacity - t->max[TK_PREFIX];
	uint32_t nb = 1;
	while (nb < 2 * capacity)
		nb <<= 1;
	t->mask = nb - 1;
	for (int l = 0; l < TL_N; l++)
		t->lists[l].head = t->lists[l].tail = -1;
	randombytes_buf(t->hkey, sizeof(t->hkey));
	t->buckets = calloc(nb, sizeof(*t->buckets));
	t->slab = calloc(capacity, t->stride);
	if (!t->buckets || !t->slab) {
		core_throttle_free(t);
		return NULL;
	}
	return t;
}

struct core_throttle *core_throttle_new(int max_failures, int window, int block)
{
	return core_throttle_new_capacity(max_failures, window, block, CORE_THROTTLE_CAPACITY);
}

void core_throttle_free(struct core_throttle *t)
{
	if (!t)
		return;
	free(t->buckets);
	free(t->slab);
	free(t);
}

static uint32_t throttle_bucket(struct core_throttle *t, const char *key)
{
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const unsigned char *)key, strlen(key), t->hkey);
	uint32_t v;
	memcpy(&v, h, sizeof(v));
	return v & t->mask;
}

/* The key an address is kept under: itself, or a digest of a key too long
 * to keep whole (never a cut copy, which could stand for another). */
static void throttle_key(const char *in, char out[CORE_THROTTLE_KEY_LEN])
{
	size_t n = strlen(in);
	if (n < CORE_THROTTLE_KEY_LEN) {
		memcpy(out, in, n + 1);
		return;
	}
	unsigned char d[16];
	crypto_generichash(d, sizeof(d), (const unsigned char *)in, n, NULL, 0);
	out[0] = '~';
	sodium_bin2hex(out + 1, CORE_THROTTLE_KEY_LEN - 1, d, sizeof(d));
}

/* "a.b.c.0/24" or the /64 of an IPv6 address; -1 for anything else. */
static int throttle_prefix(const char *key, char out[CORE_THROTTLE_KEY_LEN])
{
	unsigned char a[16];
	char txt[INET6_ADDRSTRLEN];
	if (inet_pton(AF_INET, key, a) == 1) {
		a[3] = 0;
		inet_ntop(AF_INET, a, txt, sizeof(txt));
		snprintf(out, CORE_THROTTLE_KEY_LEN, "%s/24", txt);
		return 0;
	}
	if (inet_pton(AF_INET6, key, a) == 1) {
		memset(a + 8, 0, 8);
		inet_ntop(AF_INET6, a, txt, sizeof(txt));
		snprintf(out, CORE_THROTTLE_KEY_LEN, "%s/64", txt);
		return 0;
	}
	return -1;
}

int core_throttle_prefix(const char *addr, char out[CORE_THROTTLE_KEY_LEN])
{
	return throttle_prefix(addr, out);
}

static int32_t throttle_find(struct core_throttle *t, const char *key)
{
	size_t probes = 0;
	for (uint32_t i = t->buckets[throttle_bucket(t, key)]; i;
	     i = ent(t, (int32_t)i - 1)->hnext) {
		probes++;
		if (strcmp(ent(t, (int32_t)i - 1)->key, key) == 0) {
			if (probes > t->longest_probe)
				t->longest_probe = probes;
			return (int32_t)i - 1;
		}
	}
	if (probes > t->longest_probe)
		t->longest_probe = probes;
	return -1;
}

static void list_unlink(struct core_throttle *t, int32_t i)
{
	struct throttle_entry *e = ent(t, i);
	struct throttle_list *l = &t->lists[e->list];
	if (e->prev >= 0)
		ent(t, e->prev)->next = e->next;
	else
		l->head = e->next;
	if (e->next >= 0)
		ent(t, e->next)->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = -1;
	l->n--;
}

/* After `after` (-1: at the head) in list `list`. */
static void list_insert(struct core_throttle *t, int list, int32_t i, int32_t after)
{
	struct throttle_entry *e = ent(t, i);
	struct throttle_list *l = &t->lists[list];
	e->list = (uint8_t)list;
	e->prev = after;
	e->next = after >= 0 ? ent(t, after)->next : l->head;
	if (e->next >= 0)
		ent(t, e->next)->prev = i;
	else
		l->tail = i;
	if (after >= 0)
		ent(t, after)->next = i;
	else
		l->head = i;
	l->n++;
}

/* Into the blocks, which stay sorted by their end (nearly always: at the tail). */
static void list_insert_blocked(struct core_throttle *t, int32_t i)
{
	int32_t after = t->lists[TL_BLOCKED].tail;
	while (after >= 0 && ent(t, after)->blocked_until > ent(t, i)->blocked_until)
		after = ent(t, after)->prev;
	list_insert(t, TL_BLOCKED, i, after);
}

static void entry_free(struct core_throttle *t, int32_t i)
{
	struct throttle_entry *e = ent(t, i);
	uint32_t *pp = &t->buckets[throttle_bucket(t, e->key)];
	while (*pp && *pp != (uint32_t)i + 1)
		pp = &ent(t, (int32_t)*pp - 1)->hnext;
	if (*pp)
		*pp = e->hnext;
	list_unlink(t, i);
	t->count[e->kind]--;
	memset(e, 0, t->stride);
	list_insert(t, TL_FREE, i, -1);
}

/* A slot for key of this kind, or -1 when its share is full of blocks or,
 * for an address, of trackers with failures still in the window. */
static int32_t entry_take(struct core_throttle *t, const char *key, int kind, time_t now,
			  bool force)
{
	if (t->count[kind] >= t->max[kind]) {
		int32_t old = t->lists[kind == TK_ADDR ? TL_ADDR : TL_PREFIX].head;
		if (old < 0 || (!force && now - ent(t, old)->last < t->window))
			return -1;
		entry_free(t, old);
	}
	int32_t i;
	if (t->lists[TL_FREE].head >= 0) {
		i = t->lists[TL_FREE].head;
		list_unlink(t, i);
	} else if (t->used < t->capacity) {
		i = (int32_t)t->used++;
	} else {
		return -1; /* not reached: the shares add up to the capacity */
	}
	struct throttle_entry *e = ent(t, i);
	memset(e, 0, t->stride);
	memcpy(e->key, key, strlen(key) + 1);
	e->kind = (uint8_t)kind;
	uint32_t b = throttle_bucket(t, key);
	e->hnext = t->buckets[b];
	t->buckets[b] = (uint32_t)i + 1;
	t->count[kind]++;
	list_insert(t, kind == TK_ADDR ? TL_ADDR : TL_PREFIX, i,
		    t->lists[kind == TK_ADDR ? TL_ADDR : TL_PREFIX].tail);
	return i;
}

/* Blocks whose time is up are forgotten. */
static void throttle_expire(struct core_throttle *t, time_t now)
{
	int32_t i;
	while ((i = t->lists[TL_BLOCKED].head) >= 0 && ent(t, i)->blocked_until <= now)
		entry_free(t, i);
}

static int blocked_left(struct core_throttle *t, int32_t i, time_t now)
{
	if (i < 0 || ent(t, i)->list != TL_BLOCKED || ent(t, i)->blocked_until <= now)
		return 0;
	return (int)(ent(t, i)->blocked_until - now);
}

int core_throttle_blocked(struct core_throttle *t, const char *addr, time_t now)
{
	char key[CORE_THROTTLE_KEY_LEN], p[CORE_THROTTLE_KEY_LEN];
	throttle_expire(t, now);
	throttle_key(addr, key);
	int left = blocked_left(t, throttle_find(t, key), now);
	if (!left && t->count[TK_PREFIX] && throttle_prefix(key, p) == 0)
		left = blocked_left(t, throttle_find(t, p), now);
	return left;
}

bool core_throttle_fail_key(struct core_throttle *t, const char *addr, time_t now,
			    char blocked[CORE_THROTTLE_KEY_LEN])
{
	char key[CORE_THROTTLE_KEY_LEN], p[CORE_THROTTLE_KEY_LEN];
	throttle_expire(t, now);
	throttle_key(addr, key);
	int32_t i = throttle_find(t, key);
	if (i < 0 && !strchr(key, '/'))
		i = entry_take(t, key, TK_ADDR, now, false);
	if (i < 0 && throttle_prefix(key, p) == 0) {
		/* every address slot has recent failures: counted by its prefix */
		i = throttle_find(t, p);
		if (i < 0)
			i = entry_take(t, p, TK_PREFIX, now, true);
	}
	if (i < 0)
		return false; /* every slot blocked (see core_auth.h) */
	struct throttle_entry *e = ent(t, i);
	if (e->list == TL_BLOCKED)
		return false;
	e->last = now;
	list_unlink(t, i); /* most recently failed: to the tail */
	int l = e->kind == TK_ADDR ? TL_ADDR : TL_PREFIX;
	list_insert(t, l, i, t->lists[l].tail);
	e->fails[e->head] = now;
	e->head = (uint16_t)((e->head + 1) % t->max_failures);
	if (e->nfail < t->max_failures)
		e->nfail++;
	/* The oldest of the last max_failures failures is at head once the ring is full. */
	if (e->nfail == t->max_failures && now - e->fails[e->head] < t->window) {
		e->blocked_until = now + t->block;
		e->nfail = 0;
		e->head = 0;
		list_unlink(t, i);
		list_insert_blocked(t, i);
		if (blocked)
			memcpy(blocked, e->key, strlen(e->key) + 1);
		return true;
	}
	return false;
}

bool core_throttle_fail(struct core_throttle *t, const char *addr, time_t now)
{
	return core_throttle_fail_key(t, addr, now, NULL);
}

int core_throttle_block(struct core_throttle *t, const char *key, time_t until, time_t now)
{
	char k[CORE_THROTTLE_KEY_LEN];
	throttle_expire(t, now);
	if (until <= now)
		return 0;
	throttle_key(key, k);
	int32_t i = throttle_find(t, k);
	if (i < 0)
		i = entry_take(t, k, strchr(k, '/') ? TK_PREFIX : TK_ADDR, now, true);
	if (i < 0)
		return -1;
	struct throttle_entry *e = ent(t, i);
	if (e->list == TL_BLOCKED && e->blocked_until >= until)
		return 0;
	list_unlink(t, i);
	e->blocked_until = until;
	e->nfail = 0;
	e->head = 0;
	list_insert_blocked(t, i);
	return 0;
}

void core_throttle_success(struct core_throttle *t, const char *addr)
{
	char key[CORE_THROTTLE_KEY_LEN];
	throttle_key(addr, key);
	int32_t i = throttle_find(t, key);
	if (i >= 0 && ent(t, i)->list != TL_BLOCKED)
		entry_free(t, i);
}

json_t *core_throttle_list(struct core_throttle *t, time_t now)
{
	json_t *out = json_array();
	throttle_expire(t, now);
	for (int32_t i = t->lists[TL_BLOCKED].head; i >= 0; i = ent(t, i)->next)
		json_array_append_new(out, json_pack("{s:s, s:I}", "address", ent(t, i)->key,
						     "seconds_left",
						     (json_int_t)(ent(t, i)->blocked_until - now)));
	return out;
}

int core_throttle_unblock(struct core_throttle *t, const char *addr, time_t now)
{
	char key[CORE_THROTTLE_KEY_LEN];
	throttle_expire(t, now);
	throttle_key(addr, key);
	int32_t i = throttle_find(t, key);
	if (blocked_left(t, i, now) == 0)
		return -1;
	entry_free(t, i);
	return 0;
}

int core_throttle_failures(struct core_throttle *t, const char *key, time_t now)
{
	char k[CORE_THROTTLE_KEY_LEN];
	throttle_key(key, k);
	int32_t i = throttle_find(t, k);
	if (i < 0 || ent(t, i)->list == TL_BLOCKED)
		return 0;
	struct throttle_entry *e = ent(t, i);
	int n = 0;
	for (int j = 0; j < e->nfail; j++)
		n += now - e->fails[j] < t->window;
	return n;
}

struct core_throttle_stats core_throttle_stats(const struct core_throttle *t)
{
	return (struct core_throttle_stats){.capacity = t->capacity,
					    .addresses = t->count[TK_ADDR],
					    .prefixes = t->count[TK_PREFIX],
					    .blocked = t->lists[TL_BLOCKED].n,
					    .longest_probe = t->longest_probe};
}
