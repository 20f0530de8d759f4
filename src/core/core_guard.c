/* core_guard — see core_guard.h. */
#include "core_guard.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define GUARD_ACCOUNTS 4096 /* accounts tracked at once */
#define GUARD_GOOD     1024 /* (account, address) pairs that logged in */
#define GUARD_PROBE    8    /* slots looked at per key */
#define GUARD_MAX_OVER                                                                             \
	16 /* failures counted beyond `free`, so the level decays in bounded time                  \
	    */

struct guard_account {
	uint64_t key;
	bool used;
	int pending;	 /* admitted, not done yet */
	int64_t level;	 /* failures × window (ms), leaking `free` per ms */
	int64_t updated; /* of level (ms) */
	int64_t until;	 /* attempts wait until then (ms) */
};

struct guard_good {
	uint64_t account, addr;
	int64_t at; /* ms; 0: free */
};

struct core_guard {
	struct core_guard_policy p;
	unsigned char key[crypto_shorthash_KEYBYTES];
	struct guard_account acc[GUARD_ACCOUNTS];
	struct guard_good good[GUARD_GOOD];
};

struct core_guard *core_guard_new(const struct core_guard_policy *p)
{
	if (p->free < 1 || p->window < p->free || p->max_delay < 1 || p->good_days < 0)
		return NULL;
	struct core_guard *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->p = *p;
	randombytes_buf(g->key, sizeof(g->key));
	return g;
}

void core_guard_free(struct core_guard *g)
{
	free(g);
}

static uint64_t guard_hash(const struct core_guard *g, const char *s)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)s, strlen(s), g->key);
	return h;
}

/* One failure in the level, in its units. */
static int64_t guard_unit(const struct core_guard *g)
{
	return (int64_t)g->p.window * 1000;
}

/* The level after the leak since its last update. */
static void guard_leak(const struct core_guard *g, struct guard_account *a, int64_t now)
{
	if (now > a->updated) {
		int64_t gone = (now - a->updated) * g->p.free;
		a->level = a->level > gone ? a->level - gone : 0;
	}
	a->updated = now;
}

static int guard_count(const struct core_guard *g, const struct guard_account *a)
{
	return (int)((a->level + guard_unit(g) - 1) / guard_unit(g));
}

static bool guard_idle(const struct core_guard *g, struct guard_account *a, int64_t now)
{
	if (!a->used)
		return true;
	guard_leak(g, a, now);
	return a->pending == 0 && a->level == 0 && a->until <= now;
}

/* The account's slot; with create, a new or reused one (evicting the least
 * harmful entry of its probe range when all are taken). */
static struct guard_account *guard_find(struct core_guard *g, const char *account, int64_t now,
					bool create)
{
	uint64_t k = guard_hash(g, account);
	size_t base = (size_t)(k % GUARD_ACCOUNTS);
	struct guard_account *victim = NULL;
	bool victim_idle = false;
	for (size_t i = 0; i < GUARD_PROBE; i++) {
		struct guard_account *a = &g->acc[(base + i) % GUARD_ACCOUNTS];
		if (a->used && a->key == k)
			return a;
		if (!create || victim_idle)
			continue;
		if (guard_idle(g, a, now)) {
			victim = a;
			victim_idle = true;
		} else if (!victim || a->until < victim->until ||
			   (a->until == victim->until && a->level < victim->level)) {
			victim = a; /* the penalty that ends first */
		}
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->used = true;
	victim->key = k;
	victim->updated = now;
	return victim;
}

static struct guard_good *guard_good_find(struct core_guard *g, uint64_t acc, uint64_t addr,
					  int64_t now, bool create)
{
	size_t base = (size_t)((acc ^ addr) % GUARD_GOOD);
	struct guard_good *victim = NULL;
	int64_t keep = (int64_t)g->p.good_days * 86400 * 1000;
	for (size_t i = 0; i < GUARD_PROBE; i++) {
		struct guard_good *e = &g->good[(base + i) % GUARD_GOOD];
		if (e->at && now - e->at > keep)
			e->at = 0; /* expired */
		if (e->at && e->account == acc && e->addr == addr)
			return e;
		if (create && (!victim || e->at < victim->at))
			victim = e;
	}
	if (victim) {
		victim->account = acc;
		victim->addr = addr;
	}
	return victim;
}

static bool guard_exempt(struct core_guard *g, const char *account, const char *addr, int64_t now)
{
	return guard_good_find(g, guard_hash(g, account), guard_hash(g, addr), now, false) != NULL;
}

/* The delay (ms) an attempt `over` the free ones starts: 1, 2, 4 … s. */
static int64_t guard_delay(const struct core_guard *g, int over)
{
	int64_t d = over >= 30 ? g->p.max_delay : (int64_t)1 << over;
	return (d < g->p.max_delay ? d : g->p.max_delay) * 1000;
}

int core_guard_admit(struct core_guard *g, const char *account, const char *addr, int64_t now)
{
	struct guard_account *a = guard_find(g, account, now, true);
	if (!a)
		return 0; /* cannot happen: a probe range always has a victim */
	guard_leak(g, a, now);
	bool exempt = guard_exempt(g, account, addr, now);
	if (!exempt && a->until > now)
		return (int)((a->until - now + 999) / 1000);
	/* Attempts in flight count as failures until they are done, so a
	 * burst of parallel guesses gets no more than sequential ones. */
	int n = guard_count(g, a) + a->pending;
	a->pending++;
	if (!exempt && n >= g->p.free)
		a->until = now + guard_delay(g, n - g->p.free);
	return 0;
}

void core_guard_done(struct core_guard *g, const char *account, const char *addr,
		     enum core_guard_result r, int64_t now)
{
	struct guard_account *a = guard_find(g, account, now, r == CORE_GUARD_FAILED);
	if (a) {
		guard_leak(g, a, now);
		if (a->pending > 0)
			a->pending--;
		if (r == CORE_GUARD_FAILED) {
			int64_t max = (g->p.free + GUARD_MAX_OVER) * guard_unit(g);
			a->level += guard_unit(g);
			if (a->level > max)
				a->level = max;
		}
	}
	if (r == CORE_GUARD_SUCCEEDED) {
		struct guard_good *e =
			guard_good_find(g, guard_hash(g, account), guard_hash(g, addr), now, true);
		if (e)
			e->at = now ? now : 1;
	}
}

int core_guard_failures(struct core_guard *g, const char *account, int64_t now)
{
	struct guard_account *a = guard_find(g, account, now, false);
	if (!a)
		return 0;
	guard_leak(g, a, now);
	return guard_count(g, a);
}
