/*
 * core_conn — the connection plumbing every stream service shares, written
 * once: listeners (from the supervisor), accept with the total and the
 * per-address limit (core_connlimit) and the out-of-descriptors handling,
 * TLS with the service's context (core_tls), the handshake and idle
 * timeouts, a protocol timer, backpressure, the lingering close, the list
 * of open connections with an O(1) lookup by id, and the counts /metrics
 * shows. A protocol gives a descriptor (struct core_conn_desc) and its
 * callbacks; it sees only whole connections and its own input.
 *
 * Timeouts: a TLS connection must finish its handshake within `handshake`
 * seconds of silence; after it (at once without TLS) the idle timeout
 * (core_conn_set_idle, `idle` at first) closes a connection silent that
 * long. A write stalled `write_timeout` seconds closes it too. The timer
 * (core_conn_timer) is the protocol's: a deadline, not reset by reads.
 *
 * Backpressure: reading stops while `in_max` bytes wait unread (0: no
 * bound here), and while more than `out_high` wait to be sent (0: never),
 * until the output has drained to `out_low`; on_drain is called then. A
 * protocol pauses reading for its own reasons with core_conn_pause_read.
 *
 * Lingering close (core_conn_linger): input is read and thrown away (at
 * most CORE_CONN_LINGER_MAX bytes) until the output is sent, then
 * CORE_CONN_LINGER seconds more, so the kernel does not reset the
 * connection and lose the last answer.
 *
 * Ownership: the service owns its listeners and its connections; a
 * connection owns its bufferevent and timer. The protocol's state is the
 * pointer on_open returns: the protocol owns it and frees it in on_close,
 * which is called once for every connection on_open accepted, before the
 * bufferevent is freed. Connection ids are unique within the process and
 * never reused, so a late answer finds its connection again by id, or
 * learns that it has gone.
 */
#ifndef CORE_CONN_H
#define CORE_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CORE_CONN_MAX_LISTENERS 64
#define CORE_CONN_LINGER	2	  /* seconds to drain a client we are closing */
#define CORE_CONN_LINGER_MAX	(1 << 20) /* bytes drained at most */

struct bufferevent;
struct evbuffer;
struct event_base;
struct core_conn;
struct core_conn_service;

struct core_conn_desc {
	const char *name;  /* for log lines and /metrics: "https", "sip" */
	int max_conns;	   /* of the service, all its listeners together */
	int per_address;   /* at first (core_conn_set_per_address); 0: no limit */
	int handshake;	   /* seconds of silence a TLS handshake may take; 0: no bound */
	int idle;	   /* seconds of silence, at first (core_conn_set_idle); 0: none */
	int write_timeout; /* seconds a write may stall; 0: none */
	size_t in_max;	   /* bytes of unread input at most; 0: no bound here */
	size_t out_high;   /* reading pauses above this much output; 0: never */
	size_t out_low;	   /* on_drain when the output has fallen to this */
	bool defer;	   /* libevent's BEV_OPT_DEFER_CALLBACKS */
	/* NULL, or false to close a new connection on fd from sa at once (a
	 * block list, a peer check); before any memory is spent on it. */
	bool (*admit)(void *arg, int fd, const struct sockaddr *sa);
	/* The protocol's state for c, or NULL to close c at once. */
	void *(*on_open)(struct core_conn *c, void *arg);
	/* Input arrived: consume what is whole. -1: close c (do not close it
	 * from here yourself). */
	int (*on_read)(struct core_conn *c, void *st, struct evbuffer *in);
	/* NULL, or: the output has drained to out_low. */
	void (*on_drain)(struct core_conn *c, void *st);
	/* The protocol timer expired; NULL: close. May close c. */
	void (*on_timer)(struct core_conn *c, void *st);
	/* c is about to be freed (peer gone, timeout, limit, shutdown): free st. */
	void (*on_close)(struct core_conn *c, void *st);
};

/* d is copied; arg is passed to every callback of the service. NULL if out
 * of memory. */
struct core_conn_service *core_conn_service_new(struct event_base *base,
						const struct core_conn_desc *d, void *arg);
/* Closes every connection (on_close each) and listener. NULL is ignored. */
void core_conn_service_free(struct core_conn_service *svc);
/* A listening socket from the supervisor; tls: the server context for its
 * connections, NULL for plain TCP. fd is the service's (closed on failure). */
int core_conn_listen(struct core_conn_service *svc, int fd, SSL_CTX *tls);
/* A connection of ours to sa (a carrier): TLS with client (checking the
 * certificate names host), plain TCP when client is NULL; in the service's
 * list like an accepted one (on_open, the timeouts, ids), not counted
 * against the per-address limit. Output written before it is connected
 * waits for it. NULL if it cannot even start (logged). */
struct core_conn *core_conn_connect(struct core_conn_service *svc, const struct sockaddr *sa,
				    socklen_t salen, SSL_CTX *client, const char *host);
/* Closes every listener; open connections stay. */
void core_conn_unlisten(struct core_conn_service *svc);
void core_conn_set_per_address(struct core_conn_service *svc, int n);
int core_conn_count(const struct core_conn_service *svc);
int core_conn_count_tls(const struct core_conn_service *svc);
/* Refused at the per-address limit since the service was made. */
uint64_t core_conn_refused(const struct core_conn_service *svc);
/* The open connection with this id, or NULL: O(1). */
struct core_conn *core_conn_find(const struct core_conn_service *svc, uint64_t id);

/* Closes c now: on_close, then freed. Not from inside on_read. */
void core_conn_close(struct core_conn *c);
/* Closes c once its output is sent (see above). */
void core_conn_linger(struct core_conn *c);
bool core_conn_is_lingering(const struct core_conn *c);
/* A deadline in seconds from now for on_timer; 0 cancels it. */
void core_conn_timer(struct core_conn *c, int seconds);
/* The idle timeout from now on (after the TLS handshake if one is going on). */
void core_conn_set_idle(struct core_conn *c, int seconds);
void core_conn_pause_read(struct core_conn *c, bool pause);

uint64_t core_conn_id(const struct core_conn *c);
void *core_conn_state(const struct core_conn *c);
bool core_conn_is_tls(const struct core_conn *c);
struct bufferevent *core_conn_bev(const struct core_conn *c);
struct evbuffer *core_conn_output(const struct core_conn *c);
/* The peer's address as text ("192.0.2.1", "2001:db8::1"). */
const char *core_conn_peer(const struct core_conn *c);
/* The peer's and our address of the connection, with the peer's length. */
const struct sockaddr_storage *core_conn_addr(const struct core_conn *c, socklen_t *len);
const struct sockaddr_storage *core_conn_local(const struct core_conn *c);

#endif
