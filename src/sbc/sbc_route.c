/*
 * sbc_route — which phone systems exist and where to reach them, as the
 * supervisor last told us (its state, decoded once: core_state.h). A name
 * is a phone system's address everywhere; a SIP domain alias reaches the
 * same phone system for SIP (not its web UI). Names and aliases are kept
 * sorted for a binary search; when a key is both (an alias given before a
 * phone system of that name was created), the later in the state wins, as
 * it always has.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/core_log.h"
#include "sbc.h"
#include "sbc_sip.h"
#include "sbc_trunk.h"

struct sbc_route {
	const char *key; /* into sbc->state */
	size_t len;
	const struct core_state_ps *ps;
	bool alias;
	int seq; /* order in the state */
};

static int route_cmp(const void *a, const void *b)
{
	const struct sbc_route *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : x->seq - y->seq;
}

static void route_add(struct sbc_route *r, int *n, const char *key, const struct core_state_ps *ps,
		      bool alias)
{
	r[*n] = (struct sbc_route){key, strlen(key), ps, alias, *n};
	(*n)++;
}

void sbc_route_update(struct sbc *sbc, struct core_state *st)
{
	int n = 0, cap = 0;
	for (int i = 0; i < st->nphone_systems; i++)
		cap += 1 + st->phone_systems[i].naliases;
	struct sbc_route *r = calloc((size_t)cap + 1, sizeof(*r));
	if (!r) {
		log_error("out of memory for the phone-system table; the old one stays");
		core_state_free(st);
		return;
	}
	core_state_free(&sbc->state);
	sbc->state = *st; /* moved: sbc owns it now */
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < sbc->state.nphone_systems; i++) {
		const struct core_state_ps *ps = &sbc->state.phone_systems[i];
		for (int j = 0; j < ps->naliases; j++)
			route_add(r, &n, ps->aliases[j], ps, true);
		route_add(r, &n, ps->name, ps, false);
	}
	qsort(r, (size_t)n, sizeof(*r), route_cmp);
	free(sbc->routes);
	sbc->routes = r;
	sbc->nroutes = n;
	sbc_trunk_state(sbc);
	for (int i = 0; i < sbc->state.nphone_systems && sbc->sip; i++) {
		const struct core_state_ps *ps = &sbc->state.phone_systems[i];
		if (ps->ntrunks > 0 && ps->state == CORE_PS_RUNNING && ps->sip_socket[0])
			sbc_sip_link_ps(sbc->sip, ps->name, ps->sip_socket);
	}
}

void sbc_route_free(struct sbc *sbc)
{
	free(sbc->routes);
	sbc->routes = NULL;
	sbc->nroutes = 0;
	sbc_trunks_free(sbc->trunks);
	sbc->trunks = NULL;
	core_state_free(&sbc->state);
}

static int key_cmp(const char *key, size_t len, const struct sbc_route *r)
{
	int c = memcmp(key, r->key, len < r->len ? len : r->len);
	return c ? c : (len > r->len) - (len < r->len);
}

/* The route of that key (the last given of equal ones), or NULL. */
static const struct sbc_route *route_find(const struct sbc *sbc, const char *key, size_t len)
{
	int lo = 0, hi = sbc->nroutes; /* the first not below key */
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (key_cmp(key, len, &sbc->routes[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= sbc->nroutes || key_cmp(key, len, &sbc->routes[lo]) != 0)
		return NULL;
	while (lo + 1 < sbc->nroutes && key_cmp(key, len, &sbc->routes[lo + 1]) == 0)
		lo++;
	return &sbc->routes[lo];
}

const char *sbc_route_http(struct sbc *sbc, const char *name, size_t namelen, bool *exists)
{
	const struct sbc_route *r = route_find(sbc, name, namelen);
	if (r && r->alias)
		r = NULL; /* web UIs live under the name only */
	*exists = r != NULL;
	if (!r || r->ps->state != CORE_PS_RUNNING)
		return NULL;
	return r->ps->http_socket;
}

/* Name and SIP socket of a route; the socket only while it runs. */
static const char *route_sip_of(const struct sbc_route *r, const char **sock)
{
	*sock = r->ps->state == CORE_PS_RUNNING ? r->ps->sip_socket : NULL;
	return r->ps->name;
}

const char *sbc_route_sip(struct sbc *sbc, const char *name, size_t namelen, const char **sock,
			  bool *exists)
{
	/* SIP domains are case-insensitive; phone-system names are lower case.
	 * Names and aliases (DNS names) have 253 characters at most. */
	char lower[256];
	*exists = false;
	*sock = NULL;
	if (namelen >= sizeof(lower))
		return NULL;
	for (size_t i = 0; i < namelen; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	const struct sbc_route *r = route_find(sbc, lower, namelen);
	if (!r)
		return NULL;
	*exists = true;
	return route_sip_of(r, sock);
}

const char *sbc_route_single(struct sbc *sbc, const char **sock, bool *exists)
{
	const struct sbc_route *only = NULL;
	int n = 0;
	for (int i = 0; i < sbc->nroutes; i++) {
		const struct sbc_route *r = &sbc->routes[i];
		if (i + 1 < sbc->nroutes && strcmp(r->key, sbc->routes[i + 1].key) == 0)
			continue; /* not the last given of its key */
		if (r->alias)
			continue;
		only = r;
		n++;
	}
	*sock = NULL;
	*exists = n == 1;
	return n == 1 ? route_sip_of(only, sock) : NULL;
}
