/*
 * core_nat — CIDR networks, literal addresses, host:port and the check of
 * one interface's NAT settings (core_nat.h). Pure.
 */
#include "core_nat.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int core_nat_ip_parse(const char *s, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *a4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

static void clear_host_bits(uint8_t *a, int bytes, int prefix, bool *had)
{
	*had = false;
	for (int i = 0; i < bytes; i++) {
		int keep = prefix - 8 * i;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		if (a[i] & ~mask)
			*had = true;
		a[i] &= mask;
	}
}

int core_nat_net_parse(const char *s, struct core_nat_net *out, const char **why)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(buf))
		return *why = "not a network (ADDRESS/PREFIX)", -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	struct sockaddr_storage ss;
	if (core_nat_ip_parse(buf, &ss) < 0)
		return *why = "not a network (ADDRESS/PREFIX)", -1;
	out->family = ss.ss_family;
	int max = ss.ss_family == AF_INET ? 32 : 128;
	if (ss.ss_family == AF_INET)
		memcpy(out->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(out->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	out->prefix = max;
	if (slash) {
		const char *p = slash + 1;
		char *end;
		if (*p < '0' || *p > '9' || strlen(p) > 3)
			return *why = "the prefix length must be a number", -1;
		long v = strtol(p, &end, 10);
		if (*end || v < 0 || v > max)
			return *why = ss.ss_family == AF_INET ? "the prefix length must be 0-32"
							      : "the prefix length must be 0-128",
			       -1;
		out->prefix = (int)v;
	}
	bool had;
	clear_host_bits(out->addr, max / 8, out->prefix, &had);
	if (had)
		return *why = "host bits set after the prefix (write the network's first address)",
		       -1;
	return 0;
}

void core_nat_net_str(const struct core_nat_net *n, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	inet_ntop(n->family, n->addr, a, sizeof(a));
	snprintf(out, cap, "%s/%d", a, n->prefix);
}

bool core_nat_net_contains(const struct core_nat_net *n, const struct sockaddr *sa)
{
	uint8_t a[16];
	int fam;
	if (sa->sa_family == AF_INET) {
		fam = AF_INET;
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			fam = AF_INET;
			memcpy(a, &a6->s6_addr[12], 4);
		} else {
			fam = AF_INET6;
			memcpy(a, a6, 16);
		}
	} else {
		return false;
	}
	if (fam != n->family)
		return false;
	int full = n->prefix / 8, rest = n->prefix % 8;
	if (memcmp(a, n->addr, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == n->addr[full];
}

/* A DNS name: labels of letters, digits and hyphens, 1-63 each, 253 in all. */
static bool is_dns_name(const char *h, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || (c == '-' && label > 0);
		if (!ok || ++label > 63)
			return false;
	}
	return label > 0 || n > 1;
}

int core_nat_hostport_parse(const char *s, int dflt_port, char host[CORE_NAT_HOST_MAX], int *port,
			    const char **why)
{
	const char *h = s, *colon = NULL;
	size_t hl;
	struct sockaddr_storage ss;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return *why = "an IPv6 address in brackets needs its ']'", -1;
		h = s + 1;
		hl = (size_t)(close - h);
		if (close[1] == ':')
			colon = close + 1;
		else if (close[1])
			return *why = "not host:port", -1;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			return *why = "an IPv6 address needs brackets: [ADDRESS]:PORT", -1;
		hl = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hl == 0 || hl >= CORE_NAT_HOST_MAX)
		return *why = "no host (HOST:PORT)", -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	bool literal = core_nat_ip_parse(host, &ss) == 0;
	if (*s == '[' ? !literal || ss.ss_family != AF_INET6 : !literal && !is_dns_name(host, hl))
		return *why = "the host must be a DNS name or an IP address", -1;
	if (!colon) {
		if (!dflt_port)
			return *why = "a port is required (HOST:PORT)", -1;
		*port = dflt_port;
		return 0;
	}
	const char *p = colon + 1;
	char *end;
	if (*p < '0' || *p > '9' || strlen(p) > 5)
		return *why = "the port must be 1-65535", -1;
	long v = strtol(p, &end, 10);
	if (*end || v < 1 || v > 65535)
		return *why = "the port must be 1-65535", -1;
	*port = (int)v;
	return 0;
}

static int ext_check(const char *v, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	if (core_nat_ip_parse(v, &ss) < 0)
		return snprintf(err, errlen,
				"external_address: '%s' is not an IPv4 or IPv6 address", v),
		       -1;
	bool bad;
	if (ss.ss_family == AF_INET) {
		uint32_t a = ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr);
		bad = a == 0 || (a >> 24) == 127 || (a >> 28) == 14 || a == 0xffffffffu;
	} else {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		bad = IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) ||
		      IN6_IS_ADDR_MULTICAST(a) || IN6_IS_ADDR_V4MAPPED(a);
	}
	if (bad)
		return snprintf(err, errlen,
				"external_address: '%s' cannot be reached from outside (a "
				"wildcard, loopback, multicast or broadcast address)",
				v),
		       -1;
	return 0;
}

int core_nat_config_check(const json_t *cfg, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	if (!json_is_object(cfg))
		return snprintf(err, errlen,
				"give external_address or stun_server, and optionally "
				"local_networks"),
		       -1;
	json_object_foreach((json_t *)cfg, k, v)
	{
		if (strcmp(k, "external_address") && strcmp(k, "stun_server") &&
		    strcmp(k, "local_networks"))
			return snprintf(err, errlen, "%s: no such setting", k), -1;
		if (strcmp(k, "local_networks") && !json_is_string(v))
			return snprintf(err, errlen, "%s: a string", k), -1;
	}
	const json_t *ext = json_object_get(cfg, "external_address"),
		     *stun = json_object_get(cfg, "stun_server"),
		     *nets = json_object_get(cfg, "local_networks");
	if (!ext == !stun)
		return snprintf(err, errlen,
				"give either external_address (an IP address) or stun_server "
				"(host:port)"),
		       -1;
	if (ext && ext_check(json_string_value(ext), err, errlen) < 0)
		return -1;
	const char *why;
	char host[CORE_NAT_HOST_MAX];
	int port;
	if (stun && core_nat_hostport_parse(json_string_value(stun), 3478, host, &port, &why) < 0)
		return snprintf(err, errlen, "stun_server: '%s': %s", json_string_value(stun), why),
		       -1;
	if (!nets)
		return 0;
	if (!json_is_array(nets) || json_array_size(nets) > CORE_NAT_MAX_NETS - 2)
		return snprintf(err, errlen, "local_networks: a list of at most %d networks (CIDR)",
				CORE_NAT_MAX_NETS - 2),
		       -1;
	size_t i;
	json_array_foreach(nets, i, v)
	{
		struct core_nat_net n;
		if (!json_is_string(v))
			return snprintf(err, errlen, "local_networks: networks are strings (CIDR)"),
			       -1;
		if (core_nat_net_parse(json_string_value(v), &n, &why) < 0)
			return snprintf(err, errlen, "local_networks: '%s': %s",
					json_string_value(v), why),
			       -1;
	}
	return 0;
}
