/*
 * core_ipc — typed, length-prefixed messages between the supervisor and its
 * children over a SOCK_SEQPACKET socketpair, with file descriptors passed
 * alongside (SCM_RIGHTS). Modelled on OpenBSD imsg.
 *
 * Every message between processes is listed here. Payloads are JSON objects
 * (small, rare, debuggable); `id` pairs a request with its reply. What the
 * supervisor pushes to a child unasked (IPC_STATE, IPC_BLOCKS,
 * IPC_SBC_UNBLOCK) carries in `id` that child's sequence number instead
 * (1, 2, …): a child that sees a gap asks for everything again
 * (IPC_RESYNC), and a push the supervisor could not send is logged and
 * followed, from a timer, by the whole state and block list. Lists that can
 * grow with what clients do (blocked addresses) never ride in the state:
 * they go as deltas of at most CORE_IPC_BLOCKS_CHUNK entries, so every
 * message stays far below CORE_IPC_MAX_PAYLOAD.
 */
#ifndef CORE_IPC_H
#define CORE_IPC_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#define CORE_IPC_MAX_PAYLOAD (128 * 1024)
#define CORE_IPC_MAX_FDS     32
#define CORE_IPC_CHILD_FD    3 /* where a child finds its end of the pair */
/* Entries of a block list per message: each at most ~100 bytes of JSON
 * (a 63-byte address and its end), so a chunk stays under 64 KiB. */
#define CORE_IPC_BLOCKS_CHUNK 500

enum core_ipc_type {
	/* child → supervisor: the child has set up and serves. {} */
	IPC_READY = 1,
	/* supervisor → mgmt, sbc, ssh: listening sockets to serve from now on,
	 * replacing any earlier ones. {"listeners":[{"service","addr","port"}]}
	 * with one fd per entry, in order. */
	IPC_LISTENERS,
	/* supervisor → mgmt, sbc, ssh: the whole phone-system table after any
	 * change (sup_ipc.c's state_table), decoded by the one decoder
	 * core_state_parse (core_state.h: every field, its type and bound).
	 * {"started","version","processes":[{"role","name","pid"}],
	 *  "phone_systems":[{"name","state","http_socket","sip_socket",
	 *   "aliases":[],"created","since","restarts","pid","enabled",
	 *   "trunks"?:[as IPC_TRUNKS]}],
	 *  "listen":{"fixed","management":[],"sbc":[],"sockets":[{"service",
	 *   "addr","port"}],"plain_sip"},
	 *  "sip_block":{"failures","window","seconds"},
	 *  "sip_media":{"port_min","port_max","timeout","srtp_required"},
	 *  "traces":[{"id","phone_system","user","path","started","until",
	 *   "max_bytes"}],
	 *  "vpn":{"enabled","running","port","subnet","address","host",
	 *   "interface","error"},
	 *  "sbc_connections":{"https_per_address","sip_per_address"}} */
	IPC_STATE,
	/* mgmt → supervisor: an operation. {"op": NAME, ...its fields}, NAME one
	 * of core_ops.h's CORE_OPS (the fields are listed there): create,
	 * delete, start, stop, set-interfaces, set-sbc, set-aliases,
	 * sip-unblock, update, restore, trace-start, trace-stop, trace-delete,
	 * vpn-get, vpn-set, vpn-client-add, vpn-client-revoke, admin-password.
	 * Validated once,
	 * by the supervisor (sup_ops[] in sup_requests.c); answered by exactly
	 * one IPC_REPLY with the same id. */
	IPC_REQUEST,
	/* supervisor → mgmt: {"status": http status, "error"?: text, ...} */
	IPC_REPLY,
	/* sbc → supervisor: addresses (or prefixes, "a.b.c.0/24") blocked after
	 * failed SIP authentication, and blocks lifted, as they happen; at most
	 * CORE_IPC_BLOCKS_CHUNK entries per message.
	 * {"added":[{"address","until"}],"removed":["address"]} */
	IPC_SBC_BLOCKS,
	/* supervisor → sbc: lift a block. {"address"} */
	IPC_SBC_UNBLOCK,
	/* sbc, pbx → supervisor: figures for monitoring, every few seconds
	 * (core_child_stats). {"registrations", "calls_active", ...} (pbx) or
	 * {"connections": {...}, "relay": {...}} (sbc).
	 * supervisor → mgmt: the same, passed on with who sent it:
	 * {"role", "name", "pid", "stats": {...}} */
	IPC_STATS,
	/* supervisor → mgmt, sbc: the SBC's block list, which the supervisor
	 * keeps (across SBC restarts). To mgmt: every change, as IPC_SBC_BLOCKS
	 * carries it; to both, after a start or an IPC_RESYNC: all of it in
	 * chunks, the first with "reset":true (mgmt drops what it had).
	 * {"reset"?:bool,"added":[{"address","until"}],"removed":["address"]} */
	IPC_BLOCKS,
	/* mgmt, sbc, ssh → supervisor: a push was missed; send the state (and,
	 * to mgmt and sbc, the block list) again. {} */
	IPC_RESYNC,
	/* pbx → supervisor: the phone system's SIP trunks, at start and after
	 * every change (docs/architecture.md, "Trunks"); the supervisor keeps the last
	 * one per phone system (sup_trunks.c) and puts its list into IPC_STATE's
	 * phone-system object as "trunks" (decoded by core_state).
	 * {"trunks":[{"id","kind":"register"|"peer","transport":"udp"|"tcp"|"tls",
	 *  "domain","proxy","peers":[],"interface","srtp","dtmf","codecs":[],
	 *  "enabled"}]} */
	IPC_TRUNKS,
};

struct core_ipc_msg {
	uint32_t type;
	uint32_t id;
	const char *data; /* payload, NUL-terminated for convenience */
	size_t len;
	int fds[CORE_IPC_MAX_FDS]; /* owned by the receiver once delivered */
	int nfds;
};

struct core_ipc;
typedef void (*core_ipc_msg_cb)(struct core_ipc *ipc, struct core_ipc_msg *msg, void *arg);
/* Called once when the peer is gone or the channel broke; free the channel there. */
typedef void (*core_ipc_close_cb)(struct core_ipc *ipc, void *arg);

struct core_ipc *core_ipc_new(struct event_base *base, int fd, core_ipc_msg_cb on_msg,
			      core_ipc_close_cb on_close, void *arg);
/* Closes the socket and any queued fds. */
void core_ipc_free(struct core_ipc *ipc);
int core_ipc_send(struct core_ipc *ipc, uint32_t type, uint32_t id, const void *data, size_t len,
		  const int *fds, int nfds);
/* Serialises obj (not stolen) and sends it. */
int core_ipc_send_json(struct core_ipc *ipc, uint32_t type, uint32_t id, const json_t *obj,
		       const int *fds, int nfds);
/* Parses a message payload as a JSON object, NULL if it is not one. */
json_t *core_ipc_json(const struct core_ipc_msg *msg);
/* Closes every fd a message carried (for receivers that do not want them). */
void core_ipc_close_fds(struct core_ipc_msg *msg);

#endif
