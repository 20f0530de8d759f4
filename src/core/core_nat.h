/*
 * core_nat — the pure parts of the SBC's NAT settings (docs/architecture.md,
 * "NAT"), shared by the supervisor (which checks them), the state decoder
 * (core_state) and the SBC (which decides with them): networks in CIDR
 * notation and whether an address is in one, literal IP addresses,
 * "host:port", and the check of one interface's settings as the API takes
 * them. No I/O, no logging, no allocation.
 */
#ifndef CORE_NAT_H
#define CORE_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

/* local_networks of one interface at most, and all networks the state
 * carries for it (the configured ones or its own subnets, and loopback). */
#define CORE_NAT_MAX_NETS  32
#define CORE_NAT_MAX_ADDRS 16  /* an interface's own addresses carried */
#define CORE_NAT_HOST_MAX  254 /* a DNS name with its NUL */

/* A network: AF_INET or AF_INET6, its address (the first 4 bytes for IPv4)
 * with the host bits cleared, and its prefix length. */
struct core_nat_net {
	int family;
	uint8_t addr[16];
	int prefix;
};

/* "10.0.0.0/8", "fd00::/8"; a bare address is /32 or /128. Host bits set
 * in the address are refused ("10.0.0.1/8": is it a network or a host?).
 * 0, or -1 with *why. */
int core_nat_net_parse(const char *s, struct core_nat_net *out, const char **why);
/* "10.0.0.0/8" back. */
void core_nat_net_str(const struct core_nat_net *n, char *out, size_t cap);
/* Whether sa (AF_INET, AF_INET6; IPv4-mapped IPv6 counts as IPv4) is in n. */
bool core_nat_net_contains(const struct core_nat_net *n, const struct sockaddr *sa);
/* A literal IPv4 or IPv6 address (no port, no brackets) into *out (port 0). */
int core_nat_ip_parse(const char *s, struct sockaddr_storage *out);
/* "host:port", "[v6]:port", "1.2.3.4:port" (port 1-65535; a bare host gets
 * dflt_port, 0: a port is required); host into host (a DNS name or a
 * literal, brackets off). 0, or -1 with *why. */
int core_nat_hostport_parse(const char *s, int dflt_port, char host[CORE_NAT_HOST_MAX], int *port,
			    const char **why);
/* One interface's settings as PUT /sbc/nat/IFACE takes them: an object
 * with exactly one of "external_address" (a literal IPv4 or IPv6 address,
 * not a wildcard, loopback or multicast one) and "stun_server"
 * ("host:port", 3478 when no port), and optionally "local_networks" (at
 * most CORE_NAT_MAX_NETS CIDRs). 0, or -1 with why in err (the API's 400
 * message). */
int core_nat_config_check(const json_t *cfg, char *err, size_t errlen);

#endif
