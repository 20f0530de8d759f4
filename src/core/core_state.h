/*
 * core_state — the supervisor's state table (IPC_STATE, core_ipc.h) as C
 * structs: decoded once, where a child receives it, so the children look
 * up fields instead of reading JSON in place. JSON stays on the wire; the
 * one decoder checks every field's type and bounds and refuses the whole
 * message (-1 and why) rather than keep part of it. Fields a later
 * supervisor adds are ignored.
 *
 * Ownership: core_state_decode fills a struct that owns everything it
 * points at (the aliases); core_state_free releases it. Strings are kept
 * whole or refused, never cut (each has its bound below).
 */
#ifndef CORE_STATE_H
#define CORE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core_nat.h"

/* Bounds: each above what the supervisor sends (names 63, sockets under
 * run/NAME/, 32 aliases of a DNS name's 253 characters, 4 traces), and all
 * of them together far beyond what CORE_IPC_MAX_PAYLOAD can carry. */
#define CORE_STATE_NAME_MAX	     64	 /* a phone system's, a process's name, with NUL */
#define CORE_STATE_PATH_MAX	     128 /* a socket's or a trace's path, with NUL */
#define CORE_STATE_DOMAIN_MAX	     254 /* an alias, with NUL */
#define CORE_STATE_MAX_ALIASES	     32
#define CORE_STATE_MAX_PHONE_SYSTEMS 4096
#define CORE_STATE_MAX_PROCESSES     (CORE_STATE_MAX_PHONE_SYSTEMS + 8)
#define CORE_STATE_MAX_TRACES	     8
#define CORE_STATE_MAX_SOCKETS	     64
#define CORE_STATE_MAX_IFACES	     64
#define CORE_STATE_IFACE_MAX	     16 /* IFNAMSIZ */

/* A phone system's SIP trunk as its pbx announced it (IPC_TRUNKS,
 * docs/architecture.md, "Trunks"). Host names with an optional ":port". */
#define CORE_STATE_MAX_TRUNKS	32
#define CORE_STATE_MAX_PEERS	8
#define CORE_STATE_MAX_CODECS	16
#define CORE_STATE_HOSTPORT_MAX 264 /* a DNS name, [v6], ":65535", with NUL */
#define CORE_STATE_TRUNK_ID_MAX INT64_C(999999999999)

enum core_state_trunk_kind { CORE_TRUNK_REGISTER, CORE_TRUNK_PEER };
enum core_state_trunk_tp { CORE_TRUNK_UDP, CORE_TRUNK_TCP, CORE_TRUNK_TLS };

struct core_state_trunk {
	int64_t id; /* 1 … CORE_STATE_TRUNK_ID_MAX, unique per phone system */
	enum core_state_trunk_kind kind;
	enum core_state_trunk_tp transport;
	char domain[CORE_STATE_HOSTPORT_MAX];
	char proxy[CORE_STATE_HOSTPORT_MAX]; /* "" for none */
	char peers[CORE_STATE_MAX_PEERS][CORE_STATE_HOSTPORT_MAX];
	int npeers;
	char interface[16]; /* "" for the first SBC interface */
	bool srtp;
	bool dtmf_info; /* false: RFC 4733 */
	char codecs[CORE_STATE_MAX_CODECS][16];
	int ncodecs;
	bool enabled;
};

enum core_state_ps_state { CORE_PS_STOPPED, CORE_PS_STARTING, CORE_PS_RUNNING, CORE_PS_FAILED };

struct core_state_ps {
	char name[CORE_STATE_NAME_MAX];
	enum core_state_ps_state state;
	char http_socket[CORE_STATE_PATH_MAX];
	char sip_socket[CORE_STATE_PATH_MAX];
	char (*aliases)[CORE_STATE_DOMAIN_MAX]; /* naliases, owned */
	int naliases;
	int64_t created, since; /* unix time */
	int restarts;
	int pid; /* 0 when not running */
	bool enabled;
	struct core_state_trunk *trunks; /* ntrunks, owned; none until its pbx announced them */
	int ntrunks;
};

struct core_state_process {
	char role[16]; /* "mgmt", "sbc", "pbx", "ssh", "supervisor", "vpn" */
	char name[CORE_STATE_NAME_MAX];
	int pid;
};

struct core_state_socket {
	char service[32];
	char addr[64];
	int port;
};

struct core_state_trace {
	char id[48];
	char phone_system[CORE_STATE_NAME_MAX];
	char user[65]; /* "" for every user */
	char path[CORE_STATE_PATH_MAX];
	int64_t started, until, max_bytes;
};

/* When the SBC blocks an address (settings sbc.block_*). */
struct core_state_block {
	int failures, window, seconds;
};

/* The NAT settings of one SBC interface (PUT /sbc/nat/IFACE), with what
 * the supervisor found of that interface: the SBC advertises the external
 * address (or the one STUN finds) to peers outside the inside networks. */
#define CORE_STATE_MAX_NAT 16 /* interfaces with NAT settings */
struct core_state_nat {
	char interface[CORE_STATE_IFACE_MAX];
	char external[64];		    /* a literal address; "" when STUN finds it */
	char stun[CORE_STATE_HOSTPORT_MAX]; /* "host:port"; "" with an external address */
	struct core_nat_net addrs[CORE_NAT_MAX_ADDRS]; /* the interface's own (full prefixes) */
	int naddrs;
	/* local_networks, or the interface's own subnets when none are set;
	 * loopback always counts as inside and is not listed */
	struct core_nat_net inside[CORE_NAT_MAX_NETS];
	int ninside;
};

/* The media relay's ports and rules. */
struct core_state_media {
	int port_min, port_max, timeout;
	bool srtp_required;
};

struct core_state {
	int64_t started;
	char version[64];
	struct core_state_process *processes; /* nprocesses, owned */
	int nprocesses;
	struct core_state_ps *phone_systems; /* nphone_systems, owned */
	int nphone_systems;
	struct {
		bool fixed, plain_sip;
		char management[CORE_STATE_MAX_IFACES][CORE_STATE_IFACE_MAX];
		int nmanagement;
		char sbc[CORE_STATE_MAX_IFACES][CORE_STATE_IFACE_MAX];
		int nsbc;
		struct core_state_socket sockets[CORE_STATE_MAX_SOCKETS];
		int nsockets;
	} listen;
	struct core_state_block sip_block;
	struct core_state_media sip_media;
	struct core_state_trace traces[CORE_STATE_MAX_TRACES];
	int ntraces;
	struct {
		bool enabled, running;
		int port;
		char subnet[64], address[16], host[256], interface[16], error[256];
	} vpn;
	struct {
		int https_per_address, sip_per_address;
	} sbc_connections;
	struct core_state_nat nat[CORE_STATE_MAX_NAT]; /* "sbc_nat"; none when absent */
	int nnat;
};

/* Decodes an IPC_STATE object into *st (zeroed first); 0, or -1 with why
 * in err and *st empty (nothing to free). */
int core_state_decode(const json_t *j, struct core_state *st, char *err, size_t errlen);
/* The same from the message's bytes. */
int core_state_parse(const char *data, size_t len, struct core_state *st, char *err, size_t errlen);
void core_state_free(struct core_state *st);

/* Checks and decodes a list of trunks (IPC_TRUNKS' "trunks", the state's
 * phone-system "trunks"): *out (calloc'd, free() it; NULL when empty) and
 * *n, or -1 with why in err and nothing to free. The supervisor checks an
 * announce with it before it keeps it. */
int core_state_trunks_decode(const json_t *list, struct core_state_trunk **out, int *n, char *err,
			     size_t errlen);
const char *core_state_trunk_tp_name(enum core_state_trunk_tp tp); /* "udp", "tcp", "tls" */

/* "stopped", "starting", "running", "failed" */
const char *core_state_ps_state_name(enum core_state_ps_state s);
/* The phone system of that name, or NULL. */
const struct core_state_ps *core_state_find_ps(const struct core_state *st, const char *name,
					       size_t len);

#endif
