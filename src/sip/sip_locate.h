/*
 * sip_locate — the pure part of RFC 3263 "Locating SIP Servers": a target
 * host[:port] parsed, the first DNS step decided (the address itself, A/AAAA
 * or NAPTR), NAPTR records turned into SRV names, SRV records ordered by
 * priority and RFC 2782 weighted selection, and the fallbacks (SRV names of
 * the host, A/AAAA with the default port). No I/O, no allocation: the
 * resolver does the lookups and passes the records and the random numbers
 * in; every result is an ordered list of (host, port, transport) for it to
 * look up next. Names are copied into the caller's targets, never cut: a
 * name over SIP_LOCATE_NAME_MAX is an error.
 */
#ifndef SIP_LOCATE_H
#define SIP_LOCATE_H

#include <stddef.h>
#include <stdint.h>

#define SIP_LOCATE_NAME_MAX  253 /* characters of a DNS name, without the NUL */
#define SIP_LOCATE_MAX_NAPTR 16	 /* NAPTR records used; more are ignored */
#define SIP_LOCATE_MAX_SRV   16	 /* SRV records used; more are ignored */

/* Transports as bits: a set of supported ones, or the one asked for
 * (SIP_LOCATE_ANY: none asked). */
enum sip_locate_tp {
	SIP_LOCATE_ANY = 0,
	SIP_LOCATE_UDP = 1,
	SIP_LOCATE_TCP = 2,
	SIP_LOCATE_TLS = 4,
};
#define SIP_LOCATE_ALL (SIP_LOCATE_UDP | SIP_LOCATE_TCP | SIP_LOCATE_TLS)

/* What the resolver does next with a target. */
enum sip_locate_step {
	SIP_LOCATE_ADDR,  /* host is a numeric address: use it with port */
	SIP_LOCATE_HOST,  /* look up A/AAAA of host, use port */
	SIP_LOCATE_NAPTR, /* look up NAPTR of host (port is 0) */
	SIP_LOCATE_SRV,	  /* look up SRV of host (port is 0) */
};

/* One entry of a result; host is NUL-terminated. */
struct sip_locate_target {
	char host[SIP_LOCATE_NAME_MAX + 1]; /* a name, or an address without [] */
	uint16_t port;			    /* 0 where the step has none yet */
	int tp;				    /* one transport, or ANY (NAPTR step) */
	int family;			    /* 4 or 6 for an address, else 0 */
	enum sip_locate_step step;
};

/* A NAPTR record as the resolver read it (strings NUL-terminated). */
struct sip_locate_naptr {
	uint16_t order;
	uint16_t pref;
	const char *flags;
	const char *service;
	const char *replacement;
};

/* An SRV record as the resolver read it (target NUL-terminated). */
struct sip_locate_srv {
	uint16_t prio;
	uint16_t weight;
	uint16_t port;
	const char *target;
};

/* Parses host[:port] (a host name, IPv4, or [IPv6]) of len bytes with the
 * transport asked for (ANY, UDP, TCP or TLS) into out, with its first step:
 * a numeric host is ADDR with its port or the default (5060, 5061 for TLS),
 * a name with a port is HOST, a name without one is NAPTR. Where no
 * transport is asked, ADDR and HOST take UDP (RFC 3263 4.1). 0, or -1 on
 * malformed input (out then holds an empty host). */
int sip_locate_parse(const char *s, size_t len, int tp, struct sip_locate_target *out);

/* The SRV names from n NAPTR records (the first SIP_LOCATE_MAX_NAPTR used)
 * of a NAPTR step: records with flags "s" and a SIP service (SIP+D2U,
 * SIP+D2T, SIPS+D2T) whose transport is in supported and is the one asked
 * (if any), ordered by order then preference, into out (cap entries, each
 * an SRV step). Their number (0: none usable, fall back to
 * sip_locate_srv_names), or -1 if a usable replacement is not a valid name. */
int sip_locate_naptr(const struct sip_locate_naptr *rr, size_t n, int supported, int asked,
		     struct sip_locate_target *out, size_t cap);

/* Without NAPTR records: the SRV names _sip._udp, _sip._tcp and _sips._tcp
 * of name, those in supported and asked, as SRV steps into out. Their
 * number, or -1 if name is not valid or a name would be too long. */
int sip_locate_srv_names(const char *name, int supported, int asked, struct sip_locate_target *out,
			 size_t cap);

/* The SRV records of one SRV name (transport tp) in the order to try them,
 * as HOST steps into out: by priority, and within a priority by RFC 2782
 * weighted selection (weight 0 records first in the running sum, so they
 * have a small chance), r = rnd[k % nrnd] % (sum + 1) for the k-th choice
 * (0 if nrnd is 0). Records with target "." (a single one
 * means the service is not there) or port 0 are left out. Their number (0: fall back to
 * sip_locate_host), or -1 if a target is not a valid name. */
int sip_locate_srv_order(const struct sip_locate_srv *rr, size_t n, int tp, const uint32_t *rnd,
			 size_t nrnd, struct sip_locate_target *out, size_t cap);

/* Without SRV records: name as a HOST step with the default port of tp
 * (UDP where tp is ANY). 0, or -1 if name is not valid. */
int sip_locate_host(const char *name, int tp, struct sip_locate_target *out);

#endif
