/*
 * sbc_sip_int — what the SIP parts of the SBC share inside the process:
 * flows (where a phone is reachable), remembered transactions in both
 * directions, and the links to the phone systems. sbc_sip.c owns sockets,
 * connections, the links and the routing of requests from phones;
 * sbc_sip_relay.c the proxy step in both directions; sbc_sip_txn.c the
 * transaction table; sbc_sip_flow.c the flow tokens in Path and
 * Record-Route.
 */
#ifndef SBC_SIP_INT_H
#define SBC_SIP_INT_H

#include <event2/buffer.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "../sip/sip_msg.h"
#include "../sip/sip_tx.h"
#include "sbc_load.h"

struct sbc_sip;
struct sip_txn;
struct sip_up;
struct sbc_trunk;

#define SIP_MAX_SOCKETS 64
#define SIP_TX_LIFE_MS	32000 /* how long an unanswered request is remembered (64*T1) */
/* An INVITE that rings (a provisional answer above 100) is remembered this
 * long after its last one for its final answer: RFC 3261 16.6's Timer C. */
#define SIP_TX_TIMER_C_MS 180000
/* How long an answered one is, to answer retransmissions from memory: T4,
 * as stateful proxies do (Kamailio's wait timer), not Timer J's 64*T1. */
#define SIP_TX_DONE_MS	5000
#define SIP_MAX_TXS	100000 /* about 1 KiB each */
#define SIP_CONN_IDLE	600    /* seconds a connection may be silent once accepted */
#define SIP_MAX_CONNS	8192
#define SIP_TOKEN_LEN	128   /* a flow token in base64url, and its NUL */
#define SIP_TXN_BUCKETS 16384 /* a power of two */
#define SIP_SWEEP_MS	100   /* the sweep's tick */
#define SIP_WHEEL_SLOTS 512   /* ticks the wheel looks ahead */

/* Before the phone system accepted anything on a connection (sbc_sip.c,
 * conn_accepted), it may be silent SIP_CONN_IDLE_UNAUTH seconds; a TLS
 * handshake must be done within SIP_TLS_HANDSHAKE of the accept. */
#define SIP_CONN_IDLE_UNAUTH 30
#define SIP_TLS_HANDSHAKE    10
#define SIP_PER_ADDRESS	     256 /* until the supervisor's state (SUP_SBC_SIP_PER_ADDRESS) */
#define SIP_OUT_HIGH	     (256 * 1024) /* a phone not reading: stop reading it too */

enum sip_transport { T_UDP, T_TCP, T_TLS };
extern const char *const sbc_sip_tname[];

/* Where a phone is: how to send to it, and which of our addresses it uses. */
struct sip_flow {
	enum sip_transport t;
	int udp; /* index of the UDP socket */
	struct sockaddr_storage addr;
	socklen_t alen;
	struct sockaddr_storage local; /* our address as the phone sees it */
	uint64_t conn;		       /* stream connection id */
	/* A carrier's flow (a trunk socket): the trunk's key (sbc_trunk.h),
	 * "z" and these 8 bytes in hex. */
	bool trunk;
	unsigned char tkey[8];
};

/* The SIP state of a TCP or TLS connection (core_conn owns the connection;
 * sbc_sip.c, conn_on_open, this). */
struct sip_conn {
	struct sbc_sip *s;
	struct core_conn *conn;
	enum sip_transport t;
	bool accepted; /* the phone system accepted a request that came on it */
	/* carriers': on a trunk listener (sip-trunk-tcp/-tls), or one we opened
	 * to a trunk's carrier (ours, for the trunk of key tkey) */
	bool trunk, ours;
	unsigned char tkey[8];
};

/* Connections we keep to carriers over TCP or TLS, one per trunk. */
#define SIP_MAX_TRUNK_CONNS 256
struct sip_trunk_conn {
	unsigned char tkey[8];
	uint64_t conn; /* 0: free */
};

/* The link to one phone system's SIP socket. */
struct sip_up {
	struct sbc_sip *s;
	struct sip_up *next;
	char name[64];
	struct bufferevent *bev;
};
/* Sends what msg holds over the link and empties msg: written at once when
 * nothing waits before it (no write event, no extra turn of the loop), the
 * rest queued on the link's output (sbc_sip.c). */
void sbc_sip_up_send(struct sip_up *u, struct evbuffer *msg);

/* What all transactions copy from the wire (keys, Call-IDs, answers, requests). */
#define SIP_MAX_TXN_BYTES (64 << 20)

/* A request passed on and not yet forgotten. Up: from a phone to a phone
 * system; down: from a phone system to a phone. */
struct sip_txn {
	struct sip_txn *next, **pprev; /* every one */
	int64_t check_at;	       /* the sweep's next look (ms); 0: at the next sweep */
	LIST_ENTRY(sip_txn) in_wheel;  /* the sweep's slot for check_at, or its hot list */
	bool wheeled;
	struct sip_txn *next_key, *next_branch, *next_call; /* hash chains */
	bool indexed;
	bool down;
	bool pending; /* up: passed on, and the phone system has not answered yet */
	/* Whole copies of what came on the wire (malloc'd, NUL-terminated; the
	 * parser lets no NUL into a header): */
	char *key;    /* up: the phone's transaction; down: the phone system's */
	char *method; /* of the request */
	char *call_id;
	size_t call_id_len;
	char branch[48];      /* ours, on the next hop */
	int status;	      /* of the last answer */
	struct sip_flow flow; /* the phone */
	char up[64];	      /* the phone system: a name of 63 characters at most */
	char *answer;	      /* up: the last final answer sent, for retransmissions */
	size_t answer_len;
	char *vias;    /* down: the phone system's Via lines, restored on answers */
	char *request; /* down over UDP: the request, for retransmissions */
	size_t request_len;
	uint32_t cseq; /* of the request */
	/* Its machine (sip_tx): up, the server one (a final answer to an INVITE
	 * over UDP resent until its ACK, Timers G/H/I/L, J); down, the client
	 * one (Timers A/B, E/F towards UDP phones). */
	struct sip_tx tx;
	int64_t forget_at; /* ms */
	size_t bytes;	   /* copied from the wire, counted in s->txn_bytes */
};

struct sbc_sip {
	struct sbc *sbc;
	struct event *udp[SIP_MAX_SOCKETS];
	int udp_fd[SIP_MAX_SOCKETS];
	struct sockaddr_storage udp_local[SIP_MAX_SOCKETS];
	bool udp_wildcard[SIP_MAX_SOCKETS]; /* bound to any address: choose the source */
	bool udp_trunk[SIP_MAX_SOCKETS];    /* a trunk socket (sip-trunk-udp): carriers only */
	int trunk_ports[4];		    /* of the trunk stream listeners (sip-trunk-tcp/-tls) */
	int ntrunk_ports;
	struct sip_trunk_conn trunk_conns[SIP_MAX_TRUNK_CONNS];
	SSL_CTX *tls_client; /* towards carriers over TLS; made when first needed */
	int nudp;
	/* TCP and TLS connections together: one limit per address, ids for flows */
	struct core_conn_service *streams;
	int idle_unauth;		/* seconds: SIP_CONN_IDLE_UNAUTH */
	int64_t tx_life_ms, timer_c_ms; /* SIP_TX_LIFE_MS, SIP_TX_TIMER_C_MS; 0: those */
	struct sip_up *ups;
	struct sip_txn *txns;
	/* The sweep's timer wheel: a slot per 100 ms tick, SIP_WHEEL_SLOTS of
	 * them (51.2 s, past every lifetime); hot: new ones and those a lookup
	 * found, for the next sweep. wheel_tick: the last tick swept. */
	LIST_HEAD(sip_txn_list, sip_txn) hot, wheel[SIP_WHEEL_SLOTS];
	int64_t wheel_tick;
	int ntxns;
	size_t txn_bytes; /* what every transaction holds: at most SIP_MAX_TXN_BYTES */
	struct sip_txn *by_key[SIP_TXN_BUCKETS], *by_branch[SIP_TXN_BUCKETS],
		*by_call[SIP_TXN_BUCKETS];
	struct sip_nonces *nonces; /* for domains that are no phone system */
	struct event *sweep;	   /* every 100 ms: retransmissions and forgetting */
	unsigned char token_key[32];
	/* the transaction indexes hash what clients chose: keyed */
	unsigned char txn_hash_key[16];
	unsigned char shed_key[16]; /* the To tags of our 503s when shedding */
	struct sbc_media *media;
	/* a message to a phone system is built here, then sent (sbc_sip_up_send) */
	struct evbuffer *up_msg;
	/* Load shedding (sbc_load.h): fed from the receive path; pending counts
	 * the transactions whose pending flag is set. */
	struct sbc_load load;
	int pending;
	int test_delay_ms; /* ZENTRALE_TEST_SIP_OVERLOAD_DELAY_MS (sbc_sip.c) */
	const struct sbc_sip_io *io;
	/* While a message of one phone system is handled, its name: what is
	 * sent to phones then goes into that phone system's SIP traces. */
	const char *cur_ps;
	struct sip_msg msg; /* large: one message at a time */
};

/* sbc_sip_txn.c: a new transaction is indexed once its key, branch, method
 * and Call-ID are set (sbc_sip_txn_set: 0, or -1 with nothing set when out
 * of memory); unindexed and freed by sbc_sip_txn_free. */
struct sip_txn *sbc_sip_txn_new(struct sbc_sip *s);
/* The sweep has run t's timers at now: it need not look at t again before
 * its next deadline or its forgetting, unless a lookup finds it first. */
void sbc_sip_txn_checked(struct sbc_sip *s, struct sip_txn *t, int64_t now);
/* The sweep at now: what is due (the hot list, the slots up to now) moved
 * to due; then taken one by one (NULL at the end). One taken is in no list
 * of the wheel until checked or forgotten. */
void sbc_sip_txn_due(struct sbc_sip *s, int64_t now, struct sip_txn_list *due);
struct sip_txn *sbc_sip_txn_next_due(struct sip_txn_list *due);
int sbc_sip_txn_set(struct sbc_sip *s, struct sip_txn *t, const char *key, const char *branch,
		    const char *up, const struct sip_msg *m);
void sbc_sip_txn_index(struct sbc_sip *s, struct sip_txn *t);
void sbc_sip_txn_unindex(struct sbc_sip *s, struct sip_txn *t);
void sbc_sip_txn_free(struct sip_txn *t);
/* t now holds n bytes more (or fewer) of the wire's */
void sbc_sip_txn_held(struct sbc_sip *s, struct sip_txn *t, size_t more, size_t less);
struct sip_txn *sbc_sip_txn_by_key(struct sbc_sip *s, const char *key, bool down);
struct sip_txn *sbc_sip_txn_by_branch(struct sbc_sip *s, struct sip_pl branch, struct sip_pl method,
				      bool down);
/* The ACK of a 2xx to this INVITE came: no more resending the 2xx. */
void sbc_sip_txn_ack_seen(struct sbc_sip *s, struct sip_pl call_id, uint32_t cseq);
/* When an answered transaction from a phone is forgotten: as its server
 * machine ends (Timer H, I, J or L), at once when it has ended or over TCP
 * and TLS (nothing comes again there). */
int64_t sbc_sip_txn_answered_until(const struct sip_txn *t, int64_t now);
/* Forgets *pp (its link in s->txns, t->pprev): unlinked, unindexed, freed. */
void sbc_sip_txn_forget(struct sbc_sip *s, struct sip_txn **pp);
/* The key (sip_tx_key) of the INVITE a CANCEL (or ACK) belongs to, in place
 * of its own: the method is last, and "CANCEL" as long as "INVITE". */
void sbc_sip_txn_invite_key(char *key);
bool sbc_sip_is_ours(struct sip_pl name);
/* P-Asserted-Identity, P-Preferred-Identity: never from a phone (RFC 3325). */
bool sbc_sip_is_identity(struct sip_pl name);
void sbc_sip_put_header(struct evbuffer *b, const struct sip_hdr *h);
void sbc_sip_new_branch(char out[48]);

/* Whether a message carries SDP; whether SDP is relayed in a transaction of
 * this method (INVITE, UPDATE, PRACK, and the ACK of an INVITE). */
bool sbc_sip_has_sdp(const struct sip_msg *m);
bool sbc_sip_relays_sdp(struct sip_pl method);
/* The body for the next hop, with SDP rewritten by the media relay: 0 and
 * *body (perhaps pointing into buf), or the status to refuse a request with
 * (488 also for SDP in a transaction of another method); a refused SDP
 * holds no ports. */
int sbc_sip_body(struct sbc_sip *s, const struct sip_msg *m, const struct sip_flow *f,
		 const char *ps, bool from_phone, struct sip_pl *body, char *buf, size_t cap);
/* What an answer or request tells the media relay about its call leg. */
void sbc_sip_media_track(struct sbc_sip *s, const struct sip_msg *m);

/* sbc_sip_flow.c */
void sbc_sip_token_make(struct sbc_sip *s, const struct sip_flow *f, char out[SIP_TOKEN_LEN]);
/* 0 and the flow, or -1 if the token is not ours or its connection has gone. */
int sbc_sip_token_read(struct sbc_sip *s, struct sip_pl token, struct sip_flow *f);
/* sbc_sip_flow.c also: the phone's address and port. */
void sbc_sip_flow_addr(const struct sip_flow *f, char *addr, size_t len, int *port);
/* sbc_sip_authlog.c: log lines of failed authentications, once per burst —
 * an answer to the challenge of a domain that is no phone system (user as
 * the client named it), and a request from a blocked address. */
void sbc_sip_log_unknown_domain(struct sbc_sip *s, const struct sip_flow *f,
				const struct sip_msg *m, struct sip_pl domain, struct sip_pl user);
void sbc_sip_log_blocked(struct sbc_sip *s, const struct sip_flow *f, const char *addr,
			 const char *buf, size_t len);
/* "ADDR:PORT" (IPv6 in brackets): our address as the phone of this flow sees it. */
void sbc_sip_flow_local(const struct sip_flow *f, char *out, size_t cap);
/* "<sip:ADDR:PORT;transport=..;lr>": how the phone of this flow reaches us. */
void sbc_sip_flow_uri(const struct sip_flow *f, char *out, size_t cap);
/* A carrier's flow: its trunk's key ("z" + 16 hex digits) into out, from
 * or into f->tkey (the key's 16 hex digits; -1 if key is not one). */
void sbc_sip_flow_trunk_key(const struct sip_flow *f, char out[18]);
int sbc_sip_flow_set_trunk(struct sip_flow *f, const char *key);

/* What the proxy step (sbc_sip_relay.c) needs of sockets and connections
 * (sbc_sip.c, which sets s->io): the relay calls no function of that file. */
struct sbc_sip_io {
	/* -1 when the phone's connection has gone */
	int (*flow_send)(struct sbc_sip *s, const struct sip_flow *f, const char *buf, size_t len);
	/* our own answer to a phone's request that goes no further */
	void (*answer)(struct sbc_sip *s, const struct sip_flow *f, const struct sip_msg *m,
		       int status, const char *extra);
	/* the link to a phone system, connected to sock if there is none (NULL: none then) */
	struct sip_up *(*up_get)(struct sbc_sip *s, const char *name, const char *sock);
	/* the phone system answered t's request with status: its connection may be kept */
	void (*accepted)(struct sbc_sip *s, const struct sip_txn *t, int status);
	/* a request from this flow failed authentication */
	void (*auth_failed)(struct sbc_sip *s, const struct sip_flow *f);
	/* the flow to a trunk's carrier (its first address, from our trunk
	 * socket); -1 when it has none (not resolved) or we have no such socket */
	int (*trunk_flow)(struct sbc_sip *s, const struct sbc_trunk *tr, struct sip_flow *f);
};

/* One direction of the proxy step (sbc_sip_relay.c): where its requests
 * come from, how their Vias are handled, which Record-Route they get on the
 * way on and which their answers get on the way back. Trunks add one. */
enum sbc_sip_routes { SBC_ROUTES_ALL, SBC_ROUTES_TOKEN }; /* which Routes are used up */
/* On answers: ours (naming sbc.invalid) rewritten, the rest kept; only ours;
 * ours towards a carrier (its trunk's key as user part) rewritten, the
 * carrier's kept. */
enum sbc_sip_answer_rr { SBC_RR_REWRITE_OURS, SBC_RR_OURS_ONLY, SBC_RR_REWRITE_KEYED };
struct sbc_sip_dir {
	bool from_phone; /* its requests come from phones (the media relay's side) */
	/* our Via line on its requests, with our branch */
	void (*via)(const struct sip_flow *f, const char *branch, char *out, size_t cap);
	bool vias_aside; /* the sender's Vias are kept and put back on answers; else
			    its top one gets received= */
	enum sbc_sip_routes drop_routes;
	/* the Record-Route (a name-addr) added to a dialog-making request, and the
	 * one its answers get in place of ours, for the flow of the phone */
	void (*rr_on)(struct sbc_sip *s, const struct sip_flow *f, char *out, size_t cap);
	void (*rr_back)(struct sbc_sip *s, const struct sip_flow *f, char *out, size_t cap);
	enum sbc_sip_answer_rr answer_rr;
	/* a carrier's side: its identity headers (RFC 3325) are trusted, and
	 * what goes to it carries our Contact (its trunk's key at our trunk
	 * socket) in place of the phone system's */
	bool carrier;
};
/* up and down: phones; trunk_in: a carrier's requests to a phone system,
 * trunk_out: a phone system's to a carrier */
extern const struct sbc_sip_dir sbc_sip_dir_up, sbc_sip_dir_down, sbc_sip_dir_trunk_in,
	sbc_sip_dir_trunk_out;

/* sbc_sip_relay.c: a request from a phone for phone system name (key: its
 * server transaction's, sip_tx_key); one from a phone system; an answer
 * from either; the timers of a remembered transaction (the sweep's). */
void sbc_sip_relay_from_phone(struct sbc_sip *s, const struct sip_flow *f, const struct sip_msg *m,
			      const char *name, const char *sock, const char *key);
void sbc_sip_relay_from_ps(struct sbc_sip *s, struct sip_up *u, const struct sip_msg *m);
void sbc_sip_relay_answer_from_ps(struct sbc_sip *s, const struct sip_msg *m);
void sbc_sip_relay_answer_from_phone(struct sbc_sip *s, const struct sip_msg *m);
void sbc_sip_relay_timers(struct sbc_sip *s, struct sip_txn *t, int64_t now);
/* A request t sent towards a phone or carrier that can no longer be
 * answered (its connection has gone: 503; no answer at all: 408): that
 * answer to the phone system, as from the other side. */
void sbc_sip_relay_fail(struct sbc_sip *s, struct sip_txn *t, int status);
/* A phone sent t's request again: its last answer again, or patience. */
void sbc_sip_relay_again(struct sbc_sip *s, struct sip_txn *t);

#endif
