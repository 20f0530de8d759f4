/*
 * supervisor — the `zentrale server` process. It owns the data dir,
 * system.db's phone-system table, the certificates, the listening sockets
 * and the life of every child (mgmt, sbc, one pbx per phone system): it
 * starts them, hands them their sockets, restarts them with backoff, and
 * stops them. It serves nothing on the network itself.
 */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "../core/core_ipc.h"
#include "../vpn/vpn.h"

#define SUP_MAX_LISTEN_ADDRS 8
#define SUP_MAX_SOCKETS	     64
#define SUP_CRASH_WINDOW     60 /* a phone system crashing SUP_CRASH_LIMIT times */
#define SUP_CRASH_LIMIT	     5	/* within SUP_CRASH_WINDOW seconds is `failed` */

struct sup_options {
	const char *data_dir;
	int port_offset;
	const char *listen[SUP_MAX_LISTEN_ADDRS]; /* --listen, overrides interfaces */
	int nlisten;
	const char *user;
};

enum sup_role { ROLE_MGMT, ROLE_SBC, ROLE_PBX, ROLE_SSH };

enum sup_state { ST_STOPPED, ST_STARTING, ST_RUNNING, ST_FAILED };

struct sup_child {
	struct sup_child *next;
	struct sup *sup;
	enum sup_role role;
	char name[64]; /* phone system name, "" for mgmt/sbc */
	pid_t pid;
	struct core_ipc *ipc;
	enum sup_state state;
	bool enabled;	    /* should run: false after stop */
	bool deleting;	    /* remove data once the process is gone */
	char *restore_from; /* restored data to put in place once the process is gone */
	bool restore_trial; /* the data before the restore kept until the restored one serves */
	time_t created;
	time_t since;			 /* when state last changed */
	time_t crashes[SUP_CRASH_LIMIT]; /* recent crash times, ring */
	int ncrash;
	int restarts;
	struct event *restart_timer;
	uint32_t reply_id; /* mgmt request answered when the child is ready or gone */
	int reply_ok;	   /* status for that reply */
	uint32_t seq;	   /* of the last push to it (core_ipc.h) */
	bool resync;	   /* a push failed: the state and block list again, from a timer */
	bool push_failing; /* logged once until it works again */
	json_t *trunks;	   /* pbx: its last IPC_TRUNKS list (sup_trunks.c), NULL before */
};

/* A bound listening socket and what it is for. */
struct sup_socket {
	const char *service; /* "mgmt-https", "sbc-https" */
	enum sup_role role;
	char addr[64];
	int port;
	int fd;
};

/* The phones' VPN (sup_vpn.c). */
struct sup_vpn {
	bool up;	    /* tun device made, with its address */
	pid_t pid;	    /* openvpn */
	struct vpn_net net; /* the tunnel's subnet, while up */
	char address[16];   /* the server's address in the tunnel, while up */
	char local[64];	    /* where openvpn listens; "" for every address */
	char ifname[16];    /* the tun device */
	char node[32];	    /* the tun control device */
	char error[256];    /* why it does not run, for the API */
	struct event *restart_timer;
	int restarts;
};

struct sup {
	struct sup_options opt;
	struct event_base *base;
	sqlite3 *db;
	time_t started;
	struct sup_child *children;
	struct sup_socket sockets[SUP_MAX_SOCKETS];
	int nsockets;
	bool stopping;
	bool first_bind; /* at start: ports must be free, not shared */
	struct event *kill_timer;
	/* Stopping: the SBC last, once the phone systems are gone (their last
	 * words to carriers, un-REGISTERs, go through it), or after
	 * SUP_STOP_SBC_MS at most (sup_main.c). */
	struct event *sbc_stop_timer;
	bool sbc_stopped;
	json_t *sip_blocks; /* address → until: the SBC's blocks (sup_blocks.c) */
	struct event *resync_timer;
	int test_push_fail; /* ZENTRALE_TEST_PUSH_FAIL (sup_main.c) */
	unsigned pushes;
	json_t *traces;	    /* SIP traces running (sup_traces.c) */
	int exit_code;	    /* of the supervisor, when it stops */
	bool ready_written; /* run/ready, once everything served */
	struct sup_vpn vpn;
	uid_t uid; /* 0 when not dropping privileges */
	gid_t gid;
};

/* sup_setup.c: data dir, system.db, certificate, admin account. */
int sup_setup_data(struct sup *s);
/* Gives everything under the working directory to uid:gid. */
void sup_setup_chown(uid_t uid, gid_t gid);

/* sup_launch.c: `zentrale server` runs the supervisor of the current
 * release as its child and carries updates across it (see there). */
#define SUP_EXIT_UPDATE	 75 /* the supervisor's exit: a new release is switched in */
#define SUP_UPDATE_TRIAL 60 /* s a new release has to become healthy, by default */
int sup_launch(const char *datadir, const char *user, char **argv);
int sup_switch_current(const char *datadir, const char *target);

/* sup_restore.c: `zentrale restore`: a whole-server backup onto a fresh data dir. */
int sup_restore_main(int argc, char **argv);

/* sup_log.c: the log file, fed by every child's stderr. */
int sup_log_open(struct sup *s);
/* program: NULL for our own children (their lines are whole log lines),
 * else the name put before each line of a program of Debian's (openvpn). */
void sup_log_watch(struct sup *s, int fd, const char *program);
void sup_log_close(struct sup *s);

/* sup_listen.c: binding sockets for mgmt and the SBC. */
/* Binds every service on the configured addresses into out[]; on failure
 * returns -1 with a message for a person in err. */
int sup_listen_bind(struct sup *s, json_t *mgmt_ifaces, json_t *sbc_ifaces, struct sup_socket *out,
		    int *nout, char *err, size_t errlen);
json_t *sup_listen_config(struct sup *s, const char *role_key);
void sup_listen_send(struct sup *s, struct sup_child *c);
void sup_listen_replace(struct sup *s, struct sup_socket *fresh, int n);
json_t *sup_listen_describe(struct sup *s);
/* Whether plain SIP (5060, UDP and TCP) is switched on (setting sbc.plain_sip). */
bool sup_plain_sip(struct sup *s);
/* {"failures","window","seconds"}: when the SBC blocks an address (settings sbc.block_*). */
json_t *sup_sip_block_config(struct sup *s);
/* The media relay: {"port_min","port_max","timeout","srtp_required"}. */
json_t *sup_media_config(struct sup *s);
/* The relay's range: system.db's sbc.media_port_min/max (both set
 * together, by PUT /sbc), else 30000-35000 plus the port offset. */
#define SUP_MEDIA_PORT_MIN 30000
#define SUP_MEDIA_PORT_MAX 35000
void sup_media_range(struct sup *s, int *min, int *max);
/* Connections one address may hold at the SBC: {"https_per_address",
 * "sip_per_address"} (settings sbc.*_per_address). Defaults for a NAT'd
 * office of 200 phones behind one address: each phone holds one SIP
 * connection, and a browser about six HTTPS connections. */
#define SUP_SBC_HTTPS_PER_ADDRESS 128
#define SUP_SBC_SIP_PER_ADDRESS	  256
json_t *sup_sbc_conn_config(struct sup *s);

/* sup_nat.c: the SBC's NAT settings per interface (setting sbc.nat): what
 * is stored, what IPC_STATE carries ("sbc_nat"), and set-nat's check and
 * handler (sup_ops[]). */
json_t *sup_nat_settings(struct sup *s);
json_t *sup_nat_config(struct sup *s);
int sup_nat_check(struct sup *s, json_t *r, char *err, size_t errlen);
void sup_nat_set(struct sup *s, uint32_t id, json_t *r, struct sup_child *c);

/* sup_requests.c: a restore cut off by a power cut, tidied at start. */
void sup_requests_recover(void);

/* sup_traces.c: SIP traces, started and stopped for mgmt. */
#define SUP_MAX_TRACES 4
json_t *sup_traces_active(struct sup *s);
/* trace-start's one validator (sup_ops[]): 0, or 400 and why in err. */
int sup_trace_check(struct sup *s, json_t *r, char *err, size_t errlen);
void sup_trace_start(struct sup *s, uint32_t id, json_t *r);
void sup_trace_stop(struct sup *s, uint32_t id, json_t *r, bool delete);

/* sup_vpn.c: the phones' VPN. start: before the first bind (the tunnel's
 * address is listened on); spawn: openvpn, once the children run. */
void sup_vpn_start(struct sup *s);
void sup_vpn_spawn(struct sup *s);
void sup_vpn_stop(struct sup *s); /* at shutdown: SIGTERM to openvpn */
/* After the SBC's listeners changed: openvpn follows them. */
void sup_vpn_relisten(struct sup *s);
void sup_vpn_free(struct sup *s); /* openvpn gone, device removed */
/* Called for every child that exits: true if it was openvpn. */
bool sup_vpn_exited(struct sup *s, pid_t pid, int status);
json_t *sup_vpn_describe(struct sup *s);
/* The operations vpn-get, vpn-set, vpn-client-add, vpn-client-revoke
 * (sup_ops[] in sup_requests.c); each checks its request before it acts. */
void sup_vpn_get(struct sup *s, uint32_t id);
void sup_vpn_set(struct sup *s, uint32_t id, json_t *r);
void sup_vpn_client_add(struct sup *s, uint32_t id, json_t *r);
void sup_vpn_client_revoke(struct sup *s, uint32_t id, json_t *r);

/* sup_main.c */
/* Stops every process, then ends the supervisor with exit_code. */
void sup_stop_all(struct sup *s, int exit_code);
void sup_check_ready(struct sup *s);
/* sup_update.c: the switch to a new release, asked by mgmt. */
void sup_update(struct sup *s, uint32_t id, json_t *r);

/* sup_children.c: processes. */
struct sup_child *sup_child_add(struct sup *s, enum sup_role role, const char *name);
struct sup_child *sup_child_find(struct sup *s, const char *name);
void sup_child_remove(struct sup *s, struct sup_child *c);
int sup_child_spawn(struct sup *s, struct sup_child *c);
void sup_child_stop(struct sup *s, struct sup_child *c);
void sup_children_reap(struct sup *s);
/* "mgmt", "sbc", "pbx", "ssh" */
const char *sup_role_name(enum sup_role role);
/* "pbx NAME" or the role, for the log; written into buf. */
const char *sup_child_label(const struct sup_child *c, char *buf, size_t len);

/* sup_ipc.c: what the children are sent. */
/* The state table, to every child but the phone systems. */
void sup_broadcast_state(struct sup *s);
/* A push to a child (IPC_STATE, IPC_BLOCKS, IPC_SBC_UNBLOCK), numbered in its
 * sequence; a failure is logged and everything is sent again from a timer. */
int sup_child_push(struct sup *s, struct sup_child *c, uint32_t type, const json_t *obj);
/* The state and the whole block list, to a child that missed some. */
void sup_child_resync(struct sup *s, struct sup_child *c);
/* The one IPC_REPLY to mgmt's request id: {"status"[, "error"]}. */
void sup_reply(struct sup *s, uint32_t id, int status, const char *error);
/* Replies with obj (stolen), which holds "status". */
void sup_reply_json(struct sup *s, uint32_t id, json_t *obj);

/* sup_blocks.c: the SBC's block list. */
void sup_blocks_on_report(struct sup *s, const struct core_ipc_msg *msg);
/* Forgets a block (mgmt is told); false if it was not listed. */
bool sup_blocks_lift(struct sup *s, const char *addr);
/* The whole list in chunks, the first with "reset"; <0 if a push failed. */
int sup_blocks_send_all(struct sup *s, struct sup_child *c);
const char *sup_state_name(enum sup_state st);

/* sup_requests.c: operations asked for by mgmt. */
/* sup_trunks.c: a pbx's IPC_TRUNKS; its list for the state (a new
 * reference, NULL when none); dropped when the pbx is gone. */
void sup_trunks_on_announce(struct sup *s, struct sup_child *c, const struct core_ipc_msg *msg);
json_t *sup_trunks_of(const struct sup_child *c);
void sup_trunks_forget(struct sup_child *c);
void sup_on_request(struct sup *s, struct sup_child *from, struct core_ipc_msg *msg);
/* Called by sup_children.c when a pbx becomes ready or exits. */
void sup_requests_child_settled(struct sup *s, struct sup_child *c);

int sup_run(struct sup_options *opt);

#endif
