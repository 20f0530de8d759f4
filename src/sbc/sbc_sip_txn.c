/*
 * sbc_sip_txn — the table of remembered requests: one list (for the sweep
 * that retransmits and forgets) and three hash indexes, by the client's
 * transaction key, by our branch (answers) and by Call-ID (the ACK of a
 * 2xx, which has a branch of its own). Lookups stay O(1) at tens of
 * thousands of transactions. The sweep looks at a transaction only at its
 * next deadline (check_at, a slot of the timer wheel), or at the next sweep
 * once one of the lookups here found it: a transaction changes only after
 * that, so nothing due is missed and nothing idle is walked.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../core/core_hash.h"
#include "../sip/sip_hdr.h"
#include "sbc_sip_int.h"

/* Keys, branches and Call-IDs are the clients' choice: a keyed hash. */
static unsigned hash_bytes(const struct sbc_sip *s, const char *p, size_t n)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)p, n, s->txn_hash_key);
	return (unsigned)(h & (SIP_TXN_BUCKETS - 1));
}

static unsigned hash_str(const struct sbc_sip *s, const char *str)
{
	return hash_bytes(s, str, strlen(str));
}

static char *dup_pl(struct sip_pl v)
{
	char *d = malloc(v.l + 1);
	if (d) {
		memcpy(d, v.p, v.l);
		d[v.l] = '\0';
	}
	return d;
}

static void wheel_take(struct sip_txn *t)
{
	if (t->wheeled) {
		LIST_REMOVE(t, in_wheel);
		t->wheeled = false;
	}
}

/* Into the slot of check_at: never one swept already (then the next), never
 * beyond the wheel (then its last: looked at early, put back). */
static void wheel_put(struct sbc_sip *s, struct sip_txn *t)
{
	wheel_take(t);
	struct sip_txn_list *l = &s->hot;
	if (t->check_at) {
		int64_t tick = t->check_at / SIP_SWEEP_MS;
		if (tick <= s->wheel_tick)
			tick = s->wheel_tick + 1;
		if (tick >= s->wheel_tick + SIP_WHEEL_SLOTS)
			tick = s->wheel_tick + SIP_WHEEL_SLOTS - 1;
		l = &s->wheel[tick % SIP_WHEEL_SLOTS];
	}
	LIST_INSERT_HEAD(l, t, in_wheel);
	t->wheeled = true;
}

/* Found by a lookup: it may change now, so the next sweep looks at it. */
static struct sip_txn *touch(struct sbc_sip *s, struct sip_txn *t)
{
	t->check_at = 0;
	wheel_put(s, t);
	return t;
}

static void due_move(struct sip_txn_list *from, struct sip_txn_list *to)
{
	struct sip_txn *t;
	while ((t = LIST_FIRST(from))) {
		LIST_REMOVE(t, in_wheel);
		LIST_INSERT_HEAD(to, t, in_wheel);
	}
}

void sbc_sip_txn_due(struct sbc_sip *s, int64_t now, struct sip_txn_list *due)
{
	int64_t tick = now / SIP_SWEEP_MS;
	due_move(&s->hot, due);
	int64_t from = s->wheel_tick + 1;
	if (tick - from >= SIP_WHEEL_SLOTS) /* the first sweep, or a loop stalled */
		from = tick - SIP_WHEEL_SLOTS + 1;
	for (int64_t k = from; k <= tick; k++)
		due_move(&s->wheel[k % SIP_WHEEL_SLOTS], due);
	if (tick > s->wheel_tick)
		s->wheel_tick = tick;
}

struct sip_txn *sbc_sip_txn_next_due(struct sip_txn_list *due)
{
	struct sip_txn *t = LIST_FIRST(due);
	if (t)
		wheel_take(t);
	return t;
}

int sbc_sip_txn_set(struct sbc_sip *s, struct sip_txn *t, const char *key, const char *branch,
		    const char *up, const struct sip_msg *m)
{
	struct sip_pl cid = sip_msg_hdr(m, SIP_HDR_CALL_ID)->value, meth;
	char *k = strdup(key), *me = dup_pl(m->method), *c = dup_pl(cid);
	if (!k || !me || !c || strlen(branch) >= sizeof(t->branch) || strlen(up) >= sizeof(t->up)) {
		free(k);
		free(me);
		free(c);
		return -1;
	}
	t->key = k;
	t->method = me;
	t->call_id = c;
	t->call_id_len = cid.l;
	sbc_sip_txn_held(s, t, strlen(k) + m->method.l + cid.l, 0);
	strcpy(t->branch, branch);
	strcpy(t->up, up);
	sip_cseq_parse(sip_msg_hdr(m, SIP_HDR_CSEQ)->value, &t->cseq, &meth);
	sbc_sip_txn_index(s, t);
	return 0;
}

void sbc_sip_txn_held(struct sbc_sip *s, struct sip_txn *t, size_t more, size_t less)
{
	t->bytes += more - less;
	s->txn_bytes += more - less;
}

void sbc_sip_txn_free(struct sip_txn *t)
{
	free(t->key);
	free(t->method);
	free(t->call_id);
	free(t->answer);
	free(t->vias);
	free(t->request);
	free(t);
}

struct sip_txn *sbc_sip_txn_new(struct sbc_sip *s)
{
	if (s->ntxns >= SIP_MAX_TXS || s->txn_bytes >= SIP_MAX_TXN_BYTES)
		return NULL; /* the caller answers 503 */
	struct sip_txn *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	/* 0: SIP_TX_LIFE_MS (a table made without sbc_sip_new, as unit tests do) */
	t->forget_at = core_now_ms() + (s->tx_life_ms > 0 ? s->tx_life_ms : SIP_TX_LIFE_MS);
	t->next = s->txns;
	if (t->next)
		t->next->pprev = &t->next;
	t->pprev = &s->txns;
	s->txns = t;
	s->ntxns++;
	return touch(s, t);
}

void sbc_sip_txn_checked(struct sbc_sip *s, struct sip_txn *t, int64_t now)
{
	int64_t due = sip_tx_deadline(&t->tx), at = t->forget_at;
	if (due && due < at)
		at = due;
	t->check_at = at > now ? at : 0;
	wheel_put(s, t);
}

void sbc_sip_txn_index(struct sbc_sip *s, struct sip_txn *t)
{
	unsigned k = hash_str(s, t->key), b = hash_str(s, t->branch),
		 c = hash_bytes(s, t->call_id, t->call_id_len);
	t->next_key = s->by_key[k];
	s->by_key[k] = t;
	t->next_branch = s->by_branch[b];
	s->by_branch[b] = t;
	t->next_call = s->by_call[c];
	s->by_call[c] = t;
	t->indexed = true;
}

static void unlink_from(struct sip_txn **head, struct sip_txn *t, size_t off)
{
	for (struct sip_txn **pp = head; *pp; pp = (struct sip_txn **)((char *)*pp + off))
		if (*pp == t) {
			*pp = *(struct sip_txn **)((char *)t + off);
			return;
		}
}

void sbc_sip_txn_unindex(struct sbc_sip *s, struct sip_txn *t)
{
	if (!t->indexed)
		return;
	unlink_from(&s->by_key[hash_str(s, t->key)], t, offsetof(struct sip_txn, next_key));
	unlink_from(&s->by_branch[hash_str(s, t->branch)], t,
		    offsetof(struct sip_txn, next_branch));
	unlink_from(&s->by_call[hash_bytes(s, t->call_id, t->call_id_len)], t,
		    offsetof(struct sip_txn, next_call));
	t->indexed = false;
}

struct sip_txn *sbc_sip_txn_by_key(struct sbc_sip *s, const char *key, bool down)
{
	for (struct sip_txn *t = s->by_key[hash_str(s, key)]; t; t = t->next_key)
		if (t->down == down && strcmp(t->key, key) == 0)
			return touch(s, t);
	return NULL;
}

struct sip_txn *sbc_sip_txn_by_branch(struct sbc_sip *s, struct sip_pl branch, struct sip_pl method,
				      bool down)
{
	for (struct sip_txn *t = s->by_branch[hash_bytes(s, branch.p, branch.l)]; t;
	     t = t->next_branch)
		if (t->down == down && sip_pl_eq(branch, t->branch) && sip_pl_eq(method, t->method))
			return touch(s, t);
	return NULL;
}

void sbc_sip_txn_ack_seen(struct sbc_sip *s, struct sip_pl call_id, uint32_t cseq)
{
	for (struct sip_txn *t = s->by_call[hash_bytes(s, call_id.p, call_id.l)]; t;
	     t = t->next_call)
		if (!t->down && t->tx.state == SIP_TX_ACCEPTED && t->tx.retx_at &&
		    t->cseq == cseq && t->call_id_len == call_id.l &&
		    memcmp(call_id.p, t->call_id, call_id.l) == 0) {
			int64_t now = core_now_ms();
			touch(s, t);
			sip_tx_server_request(&t->tx, true, now); /* resending stops; T4 */
			t->forget_at = sbc_sip_txn_answered_until(t, now);
		}
}

int64_t sbc_sip_txn_answered_until(const struct sip_txn *t, int64_t now)
{
	if (t->tx.reliable || t->tx.state == SIP_TX_TERMINATED)
		return now;
	int64_t end = t->tx.timeout_at > t->tx.wait_at ? t->tx.timeout_at : t->tx.wait_at;
	return end ? end : now;
}

void sbc_sip_txn_forget(struct sbc_sip *s, struct sip_txn **pp)
{
	struct sip_txn *t = *pp;
	*pp = t->next;
	if (t->next)
		t->next->pprev = pp;
	wheel_take(t);
	sbc_sip_txn_unindex(s, t);
	s->txn_bytes -= t->bytes;
	sbc_sip_txn_free(t);
	s->ntxns--;
}

void sbc_sip_txn_invite_key(char *key)
{
	char *bar = strrchr(key, '|');
	if (bar && strlen(bar + 1) == 6)
		memcpy(bar + 1, "INVITE", 6);
}
