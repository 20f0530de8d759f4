/*
 * sbc_nat — the SBC behind NAT: which of our addresses a peer is told
 * (Via, Record-Route, the Contact towards carriers — all written by
 * sbc_sip_flow_local — and the c=/o= lines of SDP towards a phone or
 * carrier, sbc_media.c). Per SBC interface with NAT settings (core_state
 * "sbc_nat"): a peer outside the interface's inside networks (and not on
 * loopback) gets the external address, configured or found by STUN, with
 * our port; every other peer our own address. Interfaces are found by our
 * local address (the socket's or, on a wildcard socket, the one the peer
 * sent to).
 *
 * The table is one per process (sbc_nat_current): the flows that write our
 * address carry no pointer to the SBC. sbc_nat.c is pure apart from that;
 * sbc_nat_stun.c asks the STUN servers from the SIP UDP sockets (its
 * answers come through sbc_sip.c's receive path, sbc_nat_stun_input).
 *
 * Ownership: struct sbc owns its struct sbc_nat (sbc_nat_new/free); the
 * table copies what it keeps of the state.
 */
#ifndef SBC_NAT_H
#define SBC_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <jansson.h>

#include "../core/core_state.h"
#include "../stun/stun.h"

struct sbc_sip;
struct core_work;

/* STUN: a Binding request resent every second, 5 times at most; the
 * mapping asked again every 10 minutes, after a failure every minute. */
#define SBC_NAT_STUN_TRIES   5
#define SBC_NAT_STUN_REFRESH 600
#define SBC_NAT_STUN_RETRY   60

struct sbc_nat_iface {
	struct core_state_nat cfg;
	bool have_external; /* external: configured, or STUN's answer */
	struct sockaddr_storage external;
	/* STUN (cfg.stun set): the server once resolved, the request out */
	struct sbc_nat *nat;
	struct event *timer; /* the next try, or the next refresh */
	struct sockaddr_storage server;
	bool resolved, resolving;
	uint8_t tid[STUN_TID_LEN];
	int tries;	 /* of the request out; 0: none out */
	bool orphan;	 /* dropped from the table while its name was resolved */
	int udp;	 /* the SIP UDP socket it went from (index) */
	char error[320]; /* why STUN found nothing, "" when it did */
};

struct sbc_nat {
	struct event_base *base;
	struct sbc_sip *sip;			       /* its UDP sockets send the STUN requests */
	struct core_work *work;			       /* resolves STUN servers' names */
	struct sbc_nat_iface *ifs[CORE_STATE_MAX_NAT]; /* owned; stable while configured */
	int n;
};

struct sbc_nat *sbc_nat_new(struct event_base *base);
void sbc_nat_free(struct sbc_nat *n);
/* The table from the state: interfaces kept whose STUN server is the same
 * keep what STUN found; new ones (and those whose server changed) ask. */
void sbc_nat_configure(struct sbc_nat *n, const struct core_state_nat *cfg, int ncfg);
/* The process's table (NULL: no NAT anywhere). */
void sbc_nat_use(struct sbc_nat *n);
const struct sbc_nat *sbc_nat_current(void);

/* Pure: the interface our local address is on (NULL: none with NAT); and
 * whether a peer counts as inside for it (its networks, loopback). */
const struct sbc_nat_iface *sbc_nat_iface_of(const struct sbc_nat *n,
					     const struct sockaddr_storage *local);
bool sbc_nat_is_inside(const struct sbc_nat_iface *i, const struct sockaddr_storage *peer);
/* What to tell peer of local: the interface's external address with
 * local's port when the peer is outside and one is known (of local's
 * family), else local itself (IPv4-mapped shown as IPv4). n may be NULL. */
void sbc_nat_advertise(const struct sbc_nat *n, const struct sockaddr_storage *local,
		       const struct sockaddr_storage *peer, struct sockaddr_storage *out);

/* sbc_nat_stun.c: asks iface's STUN server now (again). */
void sbc_nat_stun_start(struct sbc_nat_iface *i);
void sbc_nat_stun_stop(struct sbc_nat_iface *i);
/* The SIP sockets were replaced (IPC_LISTENERS): an interface whose
 * server has not answered yet (none to ask from, say) asks at once. */
void sbc_nat_stun_kick(struct sbc_nat *n);
/* A datagram that came on SIP UDP socket udp from `from`: true if it is a
 * STUN message from a server we ask on that socket (taken: the answer to
 * our request, or dropped: a late or unknown one), false otherwise (SIP
 * goes on with it). */
bool sbc_nat_stun_input(struct sbc_nat *n, int udp, const struct sockaddr_storage *from,
			const uint8_t *buf, size_t len);
/* For IPC_STATS: [{"interface", "in_use", "stun_error"}]. */
json_t *sbc_nat_stats(const struct sbc_nat *n);

#endif
