/* sip_locate — see sip_locate.h. */
#include "sip_locate.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* RFC 3263 4.1 / 8: the NAPTR services of SIP and their transports. */
static const struct {
	const char *service;
	const char *srv_prefix;
	int tp;
} services[] = {
	{"SIP+D2U", "_sip._udp.", SIP_LOCATE_UDP},
	{"SIP+D2T", "_sip._tcp.", SIP_LOCATE_TCP},
	{"SIPS+D2T", "_sips._tcp.", SIP_LOCATE_TLS},
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

static bool tp_is_one(int tp)
{
	return tp == SIP_LOCATE_UDP || tp == SIP_LOCATE_TCP || tp == SIP_LOCATE_TLS;
}

static uint16_t default_port(int tp)
{
	return tp == SIP_LOCATE_TLS ? 5061 : 5060;
}

static bool tp_wanted(int tp, int supported, int asked)
{
	return (supported & tp) && (asked == SIP_LOCATE_ANY || asked == tp);
}

/* A DNS name of len bytes: labels of 1..63 letters, digits, '-' (not at
 * either end) and, for service names, '_'; one trailing dot allowed. */
static bool name_is_valid(const char *s, size_t len, bool underscore)
{
	size_t label = 0;
	if (len == 0 || len > SIP_LOCATE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || (ch == '-' && label > 0) ||
			  (ch == '_' && underscore);
		if (!ok || ++label > 63)
			return false;
	}
	return s[len - 1] != '-';
}

static void set_target(struct sip_locate_target *t, const char *host, size_t len, uint16_t port,
		       int tp, int family, enum sip_locate_step step)
{
	memcpy(t->host, host, len);
	t->host[len] = '\0';
	t->port = port;
	t->tp = tp;
	t->family = family;
	t->step = step;
}

/* The port after ':' (len bytes): 1..65535, digits only; -1 if not. */
static long parse_port(const char *s, size_t len)
{
	long v = 0;
	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* host (len bytes, no port) as an address: 4, 6 (only in []), 0 for a
 * name, -1 if malformed. The address without [] goes to buf. */
static int host_family(const char *s, size_t len, char *buf, size_t *blen)
{
	unsigned char addr[16];
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		if (len - 2 >= INET6_ADDRSTRLEN)
			return -1;
		memcpy(buf, s + 1, len - 2);
		buf[len - 2] = '\0';
		*blen = len - 2;
		return inet_pton(AF_INET6, buf, addr) == 1 ? 6 : -1;
	}
	if (len > SIP_LOCATE_NAME_MAX || memchr(s, '\0', len))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*blen = len;
	if (strspn(buf, "0123456789.") == len) /* all-numeric: only an IPv4 address */
		return inet_pton(AF_INET, buf, addr) == 1 ? 4 : -1;
	return name_is_valid(buf, len, false) ? 0 : -1;
}

int sip_locate_parse(const char *s, size_t len, int tp, struct sip_locate_target *out)
{
	char buf[SIP_LOCATE_NAME_MAX + 1];
	size_t hlen = len, blen = 0;
	long port = 0;
	out->host[0] = '\0';
	if (!s || (tp != SIP_LOCATE_ANY && !tp_is_one(tp)))
		return -1;
	/* the port is after the last ':' that is not inside [] */
	const char *colon = NULL;
	for (size_t i = len; i-- > 0;) {
		if (s[i] == ']')
			break;
		if (s[i] == ':') {
			colon = s + i;
			break;
		}
	}
	if (colon) {
		hlen = (size_t)(colon - s);
		port = parse_port(colon + 1, len - hlen - 1);
		if (port < 0)
			return -1;
	}
	int family = host_family(s, hlen, buf, &blen);
	if (family < 0)
		return -1;
	int use = tp == SIP_LOCATE_ANY ? SIP_LOCATE_UDP : tp;
	if (family)
		set_target(out, buf, blen, port ? (uint16_t)port : default_port(use), use, family,
			   SIP_LOCATE_ADDR);
	else if (port)
		set_target(out, buf, blen, (uint16_t)port, use, 0, SIP_LOCATE_HOST);
	else
		set_target(out, buf, blen, 0, tp, 0, SIP_LOCATE_NAPTR);
	return 0;
}

/* The transport of a NAPTR record usable for SIP, or 0. */
static int naptr_tp(const struct sip_locate_naptr *r)
{
	if (!r->flags || !r->service || strcasecmp(r->flags, "s") != 0)
		return 0;
	for (size_t i = 0; i < NSERVICES; i++)
		if (strcasecmp(r->service, services[i].service) == 0)
			return services[i].tp;
	return 0;
}

static bool naptr_before(const struct sip_locate_naptr *a, const struct sip_locate_naptr *b)
{
	return a->order != b->order ? a->order < b->order : a->pref < b->pref;
}

int sip_locate_naptr(const struct sip_locate_naptr *rr, size_t n, int supported, int asked,
		     struct sip_locate_target *out, size_t cap)
{
	const struct sip_locate_naptr *use[SIP_LOCATE_MAX_NAPTR];
	int tps[SIP_LOCATE_MAX_NAPTR];
	size_t m = 0;
	if (n > SIP_LOCATE_MAX_NAPTR)
		n = SIP_LOCATE_MAX_NAPTR;
	for (size_t i = 0; i < n; i++) {
		int tp = naptr_tp(&rr[i]);
		if (!tp || !tp_wanted(tp, supported, asked))
			continue;
		/* insertion sort, stable: equal records keep the resolver's order */
		size_t j = m++;
		for (; j > 0 && naptr_before(&rr[i], use[j - 1]); j--) {
			use[j] = use[j - 1];
			tps[j] = tps[j - 1];
		}
		use[j] = &rr[i];
		tps[j] = tp;
	}
	size_t k = 0;
	for (size_t i = 0; i < m && k < cap; i++) {
		const char *name = use[i]->replacement;
		size_t len = name ? strlen(name) : 0;
		if (!name_is_valid(name ? name : "", len, true))
			return -1;
		set_target(&out[k++], name, len, 0, tps[i], 0, SIP_LOCATE_SRV);
	}
	return (int)k;
}

int sip_locate_srv_names(const char *name, int supported, int asked, struct sip_locate_target *out,
			 size_t cap)
{
	size_t len = name ? strlen(name) : 0;
	size_t k = 0;
	if (!name || !name_is_valid(name, len, false))
		return -1;
	for (size_t i = 0; i < NSERVICES && k < cap; i++) {
		if (!tp_wanted(services[i].tp, supported, asked))
			continue;
		size_t plen = strlen(services[i].srv_prefix);
		if (plen + len > SIP_LOCATE_NAME_MAX)
			return -1;
		struct sip_locate_target *t = &out[k++];
		memcpy(t->host, services[i].srv_prefix, plen);
		memcpy(t->host + plen, name, len);
		t->host[plen + len] = '\0';
		t->port = 0;
		t->tp = services[i].tp;
		t->family = 0;
		t->step = SIP_LOCATE_SRV;
	}
	return (int)k;
}

/* Orders use[0..m) (all of one priority) by RFC 2782 weighted selection:
 * weight 0 records first, then each choice takes the first record whose
 * running sum of weights is >= r, r uniform in 0..sum. */
static void srv_weigh(const struct sip_locate_srv **use, size_t m, const uint32_t *rnd, size_t nrnd,
		      size_t *draw)
{
	const struct sip_locate_srv *left[SIP_LOCATE_MAX_SRV];
	size_t nl = 0;
	for (size_t i = 0; i < m; i++)
		if (use[i]->weight == 0)
			left[nl++] = use[i];
	for (size_t i = 0; i < m; i++)
		if (use[i]->weight != 0)
			left[nl++] = use[i];
	for (size_t out = 0; out < m; out++) {
		uint32_t sum = 0;
		for (size_t i = 0; i < nl; i++)
			sum += left[i]->weight;
		uint32_t r = nrnd ? (uint32_t)(rnd[*draw % nrnd] % ((uint64_t)sum + 1)) : 0;
		(*draw)++;
		size_t pick = 0;
		uint32_t run = 0;
		for (size_t i = 0; i < nl; i++) {
			run += left[i]->weight;
			if (run >= r) {
				pick = i;
				break;
			}
		}
		use[out] = left[pick];
		memmove(&left[pick], &left[pick + 1], (nl - pick - 1) * sizeof(left[0]));
		nl--;
	}
}

int sip_locate_srv_order(const struct sip_locate_srv *rr, size_t n, int tp, const uint32_t *rnd,
			 size_t nrnd, struct sip_locate_target *out, size_t cap)
{
	const struct sip_locate_srv *use[SIP_LOCATE_MAX_SRV];
	size_t m = 0, draw = 0;
	if (!tp_is_one(tp))
		return -1;
	if (n > SIP_LOCATE_MAX_SRV)
		n = SIP_LOCATE_MAX_SRV;
	for (size_t i = 0; i < n; i++) {
		const char *t = rr[i].target;
		if (!t || strcmp(t, ".") == 0 || rr[i].port == 0)
			continue; /* "." : no service at this name */
		if (!name_is_valid(t, strlen(t), false))
			return -1;
		size_t j = m++;
		for (; j > 0 && rr[i].prio < use[j - 1]->prio; j--)
			use[j] = use[j - 1];
		use[j] = &rr[i];
	}
	for (size_t i = 0; i < m;) {
		size_t e = i;
		while (e < m && use[e]->prio == use[i]->prio)
			e++;
		srv_weigh(use + i, e - i, rnd, nrnd, &draw);
		i = e;
	}
	size_t k = 0;
	for (; k < m && k < cap; k++)
		set_target(&out[k], use[k]->target, strlen(use[k]->target), use[k]->port, tp, 0,
			   SIP_LOCATE_HOST);
	return (int)k;
}

int sip_locate_host(const char *name, int tp, struct sip_locate_target *out)
{
	size_t len = name ? strlen(name) : 0;
	out->host[0] = '\0';
	if (!name || (tp != SIP_LOCATE_ANY && !tp_is_one(tp)) || !name_is_valid(name, len, false))
		return -1;
	int use = tp == SIP_LOCATE_ANY ? SIP_LOCATE_UDP : tp;
	set_target(out, name, len, default_port(use), use, 0, SIP_LOCATE_HOST);
	return 0;
}
