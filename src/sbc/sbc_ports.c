/* sbc_ports — see sbc_ports.h. */
#include "sbc_ports.h"

#include <stdlib.h>

/* HALF_EVEN: the even port in use (an rtcp-mux leg), the odd one free;
 * HALF_ODD: the other way round. Halves are in the half list. */
enum { PAIR_FREE, PAIR_USED, PAIR_ASIDE, PAIR_HALF_EVEN, PAIR_HALF_ODD };
enum { LIST_FREE, LIST_ASIDE, LIST_HALF, NLISTS };

struct sbc_ports {
	int min, npairs;
	int *next, *prev; /* -1: none */
	unsigned char *state;
	int64_t *until; /* set aside until (ms) */
	int head[NLISTS], tail[NLISTS], count[NLISTS];
	int nused;
	uint64_t steps;
};

static void push_tail(struct sbc_ports *p, int l, int i)
{
	p->next[i] = -1;
	p->prev[i] = p->tail[l];
	if (p->tail[l] >= 0)
		p->next[p->tail[l]] = i;
	else
		p->head[l] = i;
	p->tail[l] = i;
	p->count[l]++;
	p->steps++;
}

static void unlink_pair(struct sbc_ports *p, int l, int i)
{
	if (p->prev[i] >= 0)
		p->next[p->prev[i]] = p->next[i];
	else
		p->head[l] = p->next[i];
	if (p->next[i] >= 0)
		p->prev[p->next[i]] = p->prev[i];
	else
		p->tail[l] = p->prev[i];
	p->next[i] = p->prev[i] = -1;
	p->count[l]--;
	p->steps++;
}

/* The pair of port, or -1 if it is none of the range's even ports. */
static int pair_of(const struct sbc_ports *p, int port)
{
	if (port < p->min || (port - p->min) & 1)
		return -1;
	int i = (port - p->min) / 2;
	return i < p->npairs ? i : -1;
}

/* The pair a port (even or odd) is of, or -1. */
static int pair_any(const struct sbc_ports *p, int port)
{
	return pair_of(p, port - ((port - p->min) & 1));
}

struct sbc_ports *sbc_ports_new(int min, int max)
{
	min += min & 1;
	if (min < 1024 || max > 65535 || max < min + 1)
		return NULL;
	struct sbc_ports *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->min = min;
	p->npairs = (max - min + 1) / 2;
	size_t n = (size_t)p->npairs;
	p->next = malloc(n * sizeof(*p->next));
	p->prev = malloc(n * sizeof(*p->prev));
	p->state = malloc(n);
	p->until = calloc(n, sizeof(*p->until));
	if (!p->next || !p->prev || !p->state || !p->until) {
		sbc_ports_free(p);
		return NULL;
	}
	for (int l = 0; l < NLISTS; l++)
		p->head[l] = p->tail[l] = -1;
	for (int i = 0; i < p->npairs; i++) {
		p->state[i] = PAIR_FREE;
		push_tail(p, LIST_FREE, i);
	}
	p->steps = 0;
	return p;
}

void sbc_ports_free(struct sbc_ports *p)
{
	if (!p)
		return;
	free(p->next);
	free(p->prev);
	free(p->state);
	free(p->until);
	free(p);
}

int sbc_ports_take(struct sbc_ports *p)
{
	int i = p->head[LIST_FREE];
	p->steps++;
	if (i < 0)
		return -1;
	unlink_pair(p, LIST_FREE, i);
	p->state[i] = PAIR_USED;
	p->nused++;
	return p->min + 2 * i;
}

void sbc_ports_give(struct sbc_ports *p, int port)
{
	int i = pair_of(p, port);
	p->steps++;
	if (i < 0 || p->state[i] != PAIR_USED)
		return;
	p->state[i] = PAIR_FREE;
	p->nused--;
	push_tail(p, LIST_FREE, i);
}

bool sbc_ports_reserve(struct sbc_ports *p, int port)
{
	int i = pair_of(p, port);
	p->steps++;
	if (i < 0 || (p->state[i] != PAIR_FREE && p->state[i] != PAIR_ASIDE))
		return false;
	unlink_pair(p, p->state[i] == PAIR_FREE ? LIST_FREE : LIST_ASIDE, i);
	p->state[i] = PAIR_USED;
	p->nused++;
	return true;
}

void sbc_ports_aside(struct sbc_ports *p, int port, int64_t until_ms)
{
	int i = pair_of(p, port);
	p->steps++;
	if (i < 0 || p->state[i] != PAIR_USED)
		return;
	p->state[i] = PAIR_ASIDE;
	p->nused--;
	p->until[i] = until_ms;
	/* set aside in time order mostly; tick stops at the first not yet due */
	push_tail(p, LIST_ASIDE, i);
}

int sbc_ports_tick(struct sbc_ports *p, int64_t now_ms)
{
	int n = 0;
	for (int i; (i = p->head[LIST_ASIDE]) >= 0 && p->until[i] <= now_ms; n++) {
		unlink_pair(p, LIST_ASIDE, i);
		p->state[i] = PAIR_FREE;
		push_tail(p, LIST_FREE, i);
	}
	return n;
}

int sbc_ports_take_one(struct sbc_ports *p)
{
	int i = p->head[LIST_HALF];
	p->steps++;
	if (i >= 0) { /* the free port of a half-used pair */
		unlink_pair(p, LIST_HALF, i);
		int port = p->min + 2 * i + (p->state[i] == PAIR_HALF_EVEN);
		p->state[i] = PAIR_USED;
		p->nused++;
		return port;
	}
	if ((i = p->head[LIST_FREE]) < 0)
		return -1;
	unlink_pair(p, LIST_FREE, i);
	p->state[i] = PAIR_HALF_EVEN;
	push_tail(p, LIST_HALF, i);
	return p->min + 2 * i;
}

void sbc_ports_give_one(struct sbc_ports *p, int port)
{
	int i = pair_any(p, port);
	bool odd = i >= 0 && (port - p->min) & 1;
	p->steps++;
	if (i < 0)
		return;
	if (p->state[i] == PAIR_USED) { /* its other port stays in use */
		p->state[i] = odd ? PAIR_HALF_EVEN : PAIR_HALF_ODD;
		p->nused--;
		push_tail(p, LIST_HALF, i);
	} else if (p->state[i] == (odd ? PAIR_HALF_ODD : PAIR_HALF_EVEN)) {
		unlink_pair(p, LIST_HALF, i);
		p->state[i] = PAIR_FREE;
		push_tail(p, LIST_FREE, i);
	}
}

bool sbc_ports_reserve_one(struct sbc_ports *p, int port)
{
	int i = pair_any(p, port);
	bool odd = i >= 0 && (port - p->min) & 1;
	p->steps++;
	if (i < 0)
		return false;
	unsigned char st = p->state[i];
	if (st == PAIR_FREE || st == PAIR_ASIDE) {
		unlink_pair(p, st == PAIR_FREE ? LIST_FREE : LIST_ASIDE, i);
		p->state[i] = odd ? PAIR_HALF_ODD : PAIR_HALF_EVEN;
		push_tail(p, LIST_HALF, i);
		return true;
	}
	if (st == (odd ? PAIR_HALF_EVEN : PAIR_HALF_ODD)) { /* the other one is in use */
		unlink_pair(p, LIST_HALF, i);
		p->state[i] = PAIR_USED;
		p->nused++;
		return true;
	}
	return false;
}

void sbc_ports_aside_one(struct sbc_ports *p, int port, int64_t until_ms)
{
	int i = pair_any(p, port);
	bool odd = i >= 0 && (port - p->min) & 1;
	p->steps++;
	if (i < 0)
		return;
	if (p->state[i] == (odd ? PAIR_HALF_ODD : PAIR_HALF_EVEN)) { /* the pair was free */
		unlink_pair(p, LIST_HALF, i);
		p->state[i] = PAIR_USED;
		p->nused++;
		sbc_ports_aside(p, port - odd, until_ms);
	} else {
		sbc_ports_give_one(p, port); /* its other port is in use: back last in line */
	}
}

int sbc_ports_nhalf(const struct sbc_ports *p)
{
	return p->count[LIST_HALF];
}

int sbc_ports_min(const struct sbc_ports *p)
{
	return p->min;
}

int sbc_ports_max(const struct sbc_ports *p)
{
	return p->min + 2 * p->npairs - 1;
}

int sbc_ports_pairs(const struct sbc_ports *p)
{
	return p->npairs;
}

int sbc_ports_nfree(const struct sbc_ports *p)
{
	return p->count[LIST_FREE];
}

int sbc_ports_nused(const struct sbc_ports *p)
{
	return p->nused;
}

int sbc_ports_naside(const struct sbc_ports *p)
{
	return p->count[LIST_ASIDE];
}

uint64_t sbc_ports_steps(const struct sbc_ports *p)
{
	return p->steps;
}

static bool list_is_whole(const struct sbc_ports *p, int l, unsigned char state)
{
	int n = 0, prev = -1;
	for (int i = p->head[l]; i >= 0; prev = i, i = p->next[i]) {
		if (p->state[i] != state || p->prev[i] != prev || ++n > p->npairs)
			return false;
	}
	return prev == p->tail[l] && n == p->count[l];
}

bool sbc_ports_is_whole(const struct sbc_ports *p)
{
	int used = 0;
	for (int i = 0; i < p->npairs; i++)
		used += p->state[i] == PAIR_USED;
	int n = 0, prev = -1;
	for (int i = p->head[LIST_HALF]; i >= 0; prev = i, i = p->next[i])
		if ((p->state[i] != PAIR_HALF_EVEN && p->state[i] != PAIR_HALF_ODD) ||
		    p->prev[i] != prev || ++n > p->npairs)
			return false;
	return list_is_whole(p, LIST_FREE, PAIR_FREE) && list_is_whole(p, LIST_ASIDE, PAIR_ASIDE) &&
	       prev == p->tail[LIST_HALF] && n == p->count[LIST_HALF] && used == p->nused &&
	       p->nused + p->count[LIST_FREE] + p->count[LIST_ASIDE] + p->count[LIST_HALF] ==
		       p->npairs;
}
