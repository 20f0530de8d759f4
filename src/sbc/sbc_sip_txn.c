/*
 * sbc_sip_txn — the table of remembered requests: one list (for the sweep
 * that retransmits and forgets) and three hash indexes, by the client's
 * transaction key, by our branch (answers) and by Call-ID (the ACK of a
 * 2xx, which has a branch of its own). Lookups stay O(1) at tens of
 * thousands of transactions.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/core_hash.h"
#include "sbc_sip_int.h"

static unsigned hash_bytes(const char *p, size_t n)
{
	return core_hash(p, n) & (SIP_TXN_BUCKETS - 1);
}

static unsigned hash_str(const char *s)
{
	return hash_bytes(s, strlen(s));
}

struct sip_txn *sbc_sip_txn_new(struct sbc_sip *s)
{
	if (s->ntxns >= SIP_MAX_TXS)
		return NULL;
	struct sip_txn *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->forget_at = core_now_ms() + SIP_TX_LIFE_MS;
	t->next = s->txns;
	s->txns = t;
	s->ntxns++;
	return t;
}

void sbc_sip_txn_index(struct sbc_sip *s, struct sip_txn *t)
{
	unsigned k = hash_str(t->key), b = hash_str(t->branch), c = hash_str(t->call_id);
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
	unlink_from(&s->by_key[hash_str(t->key)], t, offsetof(struct sip_txn, next_key));
	unlink_from(&s->by_branch[hash_str(t->branch)], t, offsetof(struct sip_txn, next_branch));
	unlink_from(&s->by_call[hash_str(t->call_id)], t, offsetof(struct sip_txn, next_call));
	t->indexed = false;
}

struct sip_txn *sbc_sip_txn_by_key(struct sbc_sip *s, const char *key, bool down)
{
	for (struct sip_txn *t = s->by_key[hash_str(key)]; t; t = t->next_key)
		if (t->down == down && strcmp(t->key, key) == 0)
			return t;
	return NULL;
}

struct sip_txn *sbc_sip_txn_by_branch(struct sbc_sip *s, struct sip_pl branch, struct sip_pl method,
				      bool down)
{
	for (struct sip_txn *t = s->by_branch[hash_bytes(branch.p, branch.l)]; t;
	     t = t->next_branch)
		if (t->down == down && sip_pl_eq(branch, t->branch) && sip_pl_eq(method, t->method))
			return t;
	return NULL;
}

void sbc_sip_txn_ack_seen(struct sbc_sip *s, struct sip_pl call_id, uint32_t cseq)
{
	for (struct sip_txn *t = s->by_call[hash_bytes(call_id.p, call_id.l)]; t; t = t->next_call)
		if (t->retx_at && t->cseq == cseq && sip_pl_eq(call_id, t->call_id)) {
			t->retx_at = 0;
			t->forget_at = core_now_ms() + SIP_TX_DONE_MS;
		}
}
