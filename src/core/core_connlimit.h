/*
 * core_connlimit — how many connections each client address holds on one
 * service, so that one address (or a few) cannot take every connection.
 * Each accepted connection takes a slot of its address and gives it back
 * when it closes; an address at the limit gets none, and the caller closes
 * the connection at accept. IPv4 addresses (also IPv4-mapped IPv6) count
 * one by one, IPv6 by /64, the share one site usually has.
 *
 * The counts are kept in a hash table keyed with libsodium's
 * crypto_shorthash under a random key of each table, so clients cannot
 * choose addresses that fall into one chain. Refusals are counted (for
 * /metrics) and logged at most once per CORE_CONNLIMIT_LOG_EVERY seconds
 * per service, with how many were refused since the last such line: a
 * flood makes one line per burst, not one per connection.
 *
 * Memory: the table owns its slots; a slot lives while its address holds a
 * connection, so their number is bounded by the connections open.
 */
#ifndef CORE_CONNLIMIT_H
#define CORE_CONNLIMIT_H

#include <stdint.h>
#include <sys/socket.h>

#define CORE_CONNLIMIT_LOG_EVERY 10 /* seconds */

struct core_connlimit;
struct core_connlimit_slot;

/* service: a name for log lines ("https"); per_address >= 1. NULL if out of memory. */
struct core_connlimit *core_connlimit_new(const char *service, int per_address);
void core_connlimit_free(struct core_connlimit *cl);
/* A new limit: connections held beyond it stay, new ones wait until below. */
void core_connlimit_set(struct core_connlimit *cl, int per_address);
int core_connlimit_get(const struct core_connlimit *cl);
/* A slot for a new connection from sa, or NULL: the address is at its limit
 * (counted and logged) or memory ran out. */
struct core_connlimit_slot *core_connlimit_take(struct core_connlimit *cl,
						const struct sockaddr *sa);
/* The connection holding slot has closed; NULL is ignored. */
void core_connlimit_give(struct core_connlimit *cl, struct core_connlimit_slot *slot);
/* Connections refused since the table was made. */
uint64_t core_connlimit_refused(const struct core_connlimit *cl);

/* For evconnlistener_set_error_cb on every listener: when the process has
 * no file descriptor left (EMFILE, ENFILE), the connection waiting is
 * accepted on a spare descriptor kept for this and closed at once.
 * Otherwise libevent would try again at once, forever, logging each time
 * (a busy loop and gigabytes of log). One line per burst is logged. */
struct evconnlistener;
void core_connlimit_on_listener_error(struct evconnlistener *l, void *arg);

#endif
