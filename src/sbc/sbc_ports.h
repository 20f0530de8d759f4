/*
 * sbc_ports — the media relay's pool of port pairs (RTP on an even port,
 * RTCP on the odd one above it): which are free, found in O(1). Pure: no
 * sockets, no clock (the time is passed in), no logging; sbc_media binds
 * what it takes.
 *
 * Every pair of the range is in exactly one state: free (in the free
 * list), in use, half in use (one port, by an rtcp-mux leg: in the half
 * list), or set aside (in the aside list). The lists are doubly
 * linked through two arrays indexed by pair, so taking the head, giving a
 * pair back to the tail and taking out any pair (reserve) are each a
 * constant number of steps, however full the pool. The free list is FIFO:
 * a pair given back is reused last, so late packets of an ended call do
 * not reach the next one. A pair that could not be bound (another program
 * holds a port of it) is set aside until a time, and only then offered
 * again: a full or partly foreign range never costs a bind() per pair.
 *
 * Memory: the pool owns its arrays (17 bytes per pair).
 */
#ifndef SBC_PORTS_H
#define SBC_PORTS_H

#include <stdbool.h>
#include <stdint.h>

struct sbc_ports;

/* The pairs of min..max (min rounded up to even; a pair's odd port <= max),
 * all free. NULL if the range holds no pair (1024 <= min, max <= 65535) or
 * out of memory. */
struct sbc_ports *sbc_ports_new(int min, int max);
void sbc_ports_free(struct sbc_ports *p);
/* The even port of the free pair given back longest ago, now in use; -1
 * when none is free. */
int sbc_ports_take(struct sbc_ports *p);
/* A pair in use is free again; a port outside the range, or of a pair not
 * in use, is ignored (a leg bound before the range changed). */
void sbc_ports_give(struct sbc_ports *p, int port);
/* A free pair taken out of the free list, in use (a leg already bound
 * there when the range changed): true if it was free. */
bool sbc_ports_reserve(struct sbc_ports *p, int port);
/* A pair taken that could not be bound: set aside until until_ms, then
 * free again (sbc_ports_tick). */
void sbc_ports_aside(struct sbc_ports *p, int port, int64_t until_ms);
/* Pairs set aside whose time has come are free again; how many. */
int sbc_ports_tick(struct sbc_ports *p, int64_t now_ms);

/* Single ports, for rtcp-mux legs (RTP and RTCP on one port): a port of a
 * pair whose other port is in use, else the even port of a free pair (the
 * odd one is offered next); -1 when none. O(1) as the rest. */
int sbc_ports_take_one(struct sbc_ports *p);
void sbc_ports_give_one(struct sbc_ports *p, int port);
bool sbc_ports_reserve_one(struct sbc_ports *p, int port);
/* A single port that could not be bound: its pair set aside if the other
 * port is free, else the port is given back (last in line). */
void sbc_ports_aside_one(struct sbc_ports *p, int port, int64_t until_ms);
/* Pairs with one port in use (the other free). */
int sbc_ports_nhalf(const struct sbc_ports *p);

int sbc_ports_min(const struct sbc_ports *p); /* the first (even) port */
int sbc_ports_max(const struct sbc_ports *p); /* the last port of a pair */
int sbc_ports_pairs(const struct sbc_ports *p);
int sbc_ports_nfree(const struct sbc_ports *p);
int sbc_ports_nused(const struct sbc_ports *p);
int sbc_ports_naside(const struct sbc_ports *p);
/* List steps done since the pool was made (links followed or changed):
 * what the unit tests count to show each call is bounded. */
uint64_t sbc_ports_steps(const struct sbc_ports *p);
/* Walks both lists: true if every pair is in exactly one state and the
 * counts agree (tests; O(pairs)). */
bool sbc_ports_is_whole(const struct sbc_ports *p);

#endif
