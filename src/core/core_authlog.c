/* core_authlog — see core_authlog.h. */
#include "core_authlog.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core_log.h"

#define AUTHLOG_PROBE 8 /* slots looked at per key */

/* What a line names, copied from the attempt that opened the burst so that the
 * sweep can write the count of a burst that has ended. A field longer than
 * its room is kept cut and marked "..." (for people, in a log line; the key
 * is the hash of the whole value). */
struct authlog_slot {
	uint64_t key;
	bool used;
	int64_t written;  /* ms: the last line of this kind */
	int64_t last;	  /* ms: the last attempt */
	unsigned repeats; /* attempts since that line, not written */
	enum core_authlog_reason reason;
	char phone_system[68], user[68], address[48], user_agent[100], method[20];
	char detail[160];
};

struct core_authlog {
	unsigned char key[crypto_generichash_KEYBYTES];
	int64_t window; /* ms */
	struct authlog_slot slot[CORE_AUTHLOG_SLOTS];
};

static const char *const reason_names[CORE_AUTHLOG_REASONS] = {
	[CORE_AUTHLOG_UNKNOWN_PHONE_SYSTEM] = "unknown-phone-system",
	[CORE_AUTHLOG_UNKNOWN_USER] = "unknown-user",
	[CORE_AUTHLOG_WRONG_PASSWORD] = "wrong-password",
	[CORE_AUTHLOG_DISABLED_USER] = "disabled-user",
	[CORE_AUTHLOG_WRONG_IDENTITY] = "wrong-identity",
	[CORE_AUTHLOG_UNSUPPORTED_ALGORITHM] = "unsupported-algorithm",
	[CORE_AUTHLOG_UNANSWERED_CHALLENGE] = "unanswered-challenge",
	[CORE_AUTHLOG_BLOCKED_ADDRESS] = "blocked-address",
};

const char *core_authlog_reason_name(enum core_authlog_reason r)
{
	return (unsigned)r < CORE_AUTHLOG_REASONS ? reason_names[r] : "unknown";
}

struct core_authlog *core_authlog_new(void)
{
	struct core_authlog *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	randombytes_buf(l->key, sizeof(l->key));
	/* test-only: a shorter burst window (ms), so a test sees a burst end */
	const char *w = getenv("ZENTRALE_TEST_AUTHLOG_WINDOW_MS");
	l->window = w && atoi(w) > 0 ? atoi(w) : CORE_AUTHLOG_WINDOW;
	return l;
}

void core_authlog_free(struct core_authlog *l)
{
	free(l);
}

/* The keyed hash of the kind: reason, phone system, user, address, each
 * with its length in front so that no two kinds run into one string. */
static uint64_t authlog_key(const struct core_authlog *l, const struct core_authlog_event *e)
{
	bool blocked = e->reason == CORE_AUTHLOG_BLOCKED_ADDRESS;
	const char *parts[] = {e->phone_system, e->user, e->address};
	uint64_t lens[] = {blocked ? 0 : e->phone_system_len, blocked ? 0 : e->user_len,
			   e->address_len};
	uint32_t r = (uint32_t)e->reason;
	unsigned char out[crypto_generichash_BYTES_MIN];
	crypto_generichash_state st;
	crypto_generichash_init(&st, l->key, sizeof(l->key), sizeof(out));
	crypto_generichash_update(&st, (const unsigned char *)&r, sizeof(r));
	for (int i = 0; i < 3; i++) {
		crypto_generichash_update(&st, (const unsigned char *)&lens[i], sizeof(lens[i]));
		if (lens[i])
			crypto_generichash_update(&st, (const unsigned char *)parts[i], lens[i]);
	}
	crypto_generichash_final(&st, out, sizeof(out));
	uint64_t k;
	memcpy(&k, out, sizeof(k));
	return k;
}

/* A view into a field of the slot, quotes and backslashes escaped; a cut
 * value ends in "...". core_log escapes control characters. */
static void authlog_copy(char *dst, size_t cap, const char *p, size_t n)
{
	size_t o = 0, i = 0;
	for (; i < n && o + 2 < cap - 3; i++) {
		if (p[i] == '"' || p[i] == '\\')
			dst[o++] = '\\';
		dst[o++] = p[i];
	}
	if (i < n) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static void authlog_write(const struct authlog_slot *s)
{
	char rep[40] = "";
	if (s->repeats)
		snprintf(rep, sizeof(rep), " repeated=%u", s->repeats);
	/* the address first, right after our own word: nothing a client sends
	 * can stand before it (for fail2ban's "address=<HOST>") */
	log_warn("sip auth failed: reason=%s address=%s phone_system=%s user=\"%s\" "
		 "user_agent=\"%s\" method=%s%s%s%s",
		 core_authlog_reason_name(s->reason), s->address[0] ? s->address : "-",
		 s->phone_system[0] ? s->phone_system : "-", s->user, s->user_agent,
		 s->method[0] ? s->method : "-", rep, s->detail[0] ? ": " : "", s->detail);
}

/* An unquoted field (a domain, a method, an address): what is not a
 * letter, digit or one of -._:[] becomes '?', so it cannot look like
 * another field. */
static void authlog_token(char *dst, size_t cap, const char *p, size_t n)
{
	authlog_copy(dst, cap, p, n);
	for (char *c = dst; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("-._:[]", *c))
			*c = '?'; /* a cut value's "..." stays */
}

static void authlog_fill(struct authlog_slot *s, const struct core_authlog_event *e)
{
	s->reason = e->reason;
	authlog_token(s->phone_system, sizeof(s->phone_system), e->phone_system,
		      e->phone_system_len);
	authlog_copy(s->user, sizeof(s->user), e->user, e->user_len);
	authlog_token(s->address, sizeof(s->address), e->address, e->address_len);
	authlog_copy(s->user_agent, sizeof(s->user_agent), e->user_agent, e->user_agent_len);
	authlog_token(s->method, sizeof(s->method), e->method, e->method_len);
	authlog_copy(s->detail, sizeof(s->detail), e->detail, e->detail ? strlen(e->detail) : 0);
}

static struct authlog_slot *authlog_find(struct core_authlog *l, uint64_t k,
					 struct authlog_slot **oldest)
{
	size_t base = (size_t)(k % CORE_AUTHLOG_SLOTS);
	*oldest = NULL;
	for (size_t i = 0; i < AUTHLOG_PROBE; i++) {
		struct authlog_slot *c = &l->slot[(base + i) % CORE_AUTHLOG_SLOTS];
		if (c->used && c->key == k)
			return c;
		if (!*oldest || !c->used || ((*oldest)->used && c->last < (*oldest)->last))
			*oldest = c;
	}
	return NULL;
}

bool core_authlog_due(struct core_authlog *l, const struct core_authlog_event *e, int64_t now)
{
	struct authlog_slot *oldest, *s = authlog_find(l, authlog_key(l, e), &oldest);
	return !s || now - s->written >= l->window;
}

bool core_authlog_failed(struct core_authlog *l, const struct core_authlog_event *e, int64_t now)
{
	uint64_t k = authlog_key(l, e);
	struct authlog_slot *oldest, *s = authlog_find(l, k, &oldest);
	if (!s) {
		s = oldest; /* a new kind: a free slot, else the least recently failed */
		if (s->used && s->repeats)
			authlog_write(s); /* its count is not lost */
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->key = k;
		s->written = now - l->window;
	}
	s->last = now;
	if (now - s->written < l->window) {
		s->repeats++; /* the line of its burst names it */
		return false;
	}
	authlog_fill(s, e);
	authlog_write(s);
	s->written = now;
	s->repeats = 0;
	return true;
}

int core_authlog_sweep(struct core_authlog *l, int64_t now)
{
	int n = 0;
	for (size_t i = 0; i < CORE_AUTHLOG_SLOTS; i++) {
		struct authlog_slot *s = &l->slot[i];
		if (!s->used || !s->repeats || now - s->written < l->window)
			continue;
		authlog_write(s);
		s->written = now;
		s->repeats = 0;
		n++;
	}
	return n;
}
