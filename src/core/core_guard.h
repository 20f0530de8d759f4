/*
 * core_guard — the per-account limit on failed logins, across addresses
 * (the per-address one is core_throttle). Modelled on OpenSSH's
 * PerSourcePenalties, applied to the account instead of the source: every
 * failure adds to the account's penalty level, the level leaks away with
 * time, and once more than `free` failures are in it, each further attempt
 * starts a delay of 1, 2, 4 … up to `max_delay` seconds during which the
 * account's attempts are answered 429 without looking at the password.
 * The delay never grows into a lock: the worst an attacker achieves is one
 * guess per max_delay seconds for that account, and it ends max_delay
 * seconds after the last attempt at most.
 *
 * So that an attacker cannot lock the real administrator out, an address
 * that logged in successfully to the account within `good_days` is exempt
 * from the account's delay. Those addresses are kept in a table of their
 * own that only successful logins write into, so a flood of guesses
 * cannot evict them.
 *
 * Unknown accounts are tracked exactly like existing ones (the caller never
 * tells the guard which is which). Both tables are bounded and keyed by a
 * keyed hash (crypto_shorthash, per-process random key) of the account
 * name (and address): names and addresses of any length cost the same, and
 * no chain can be forced. Pure: no I/O, times are passed in (milliseconds
 * of a clock that does not jump back, e.g. CLOCK_MONOTONIC).
 */
#ifndef CORE_GUARD_H
#define CORE_GUARD_H

#include <stdint.h>

struct core_guard_policy {
	int free;      /* failures an account may have in its level without delay */
	int window;    /* ... within this many seconds (one failure leaks out per window/free) */
	int max_delay; /* the delay doubles per further attempt up to this (seconds) */
	int good_days; /* a successful login's address stays exempt this long */
};

#define CORE_GUARD_DEFAULT_POLICY                                                                  \
	{                                                                                          \
		.free = 10, .window = 600, .max_delay = 30, .good_days = 30                        \
	}

enum core_guard_result { CORE_GUARD_FAILED, CORE_GUARD_SUCCEEDED, CORE_GUARD_ABANDONED };

struct core_guard;
/* NULL on a policy out of range or out of memory. */
struct core_guard *core_guard_new(const struct core_guard_policy *p);
void core_guard_free(struct core_guard *g);
/* Before a password of `account` from `addr` is verified: 0 to go ahead
 * (then exactly one core_guard_done follows), else the seconds to wait
 * (rounded up). */
int core_guard_admit(struct core_guard *g, const char *account, const char *addr, int64_t now_ms);
/* The outcome of an attempt admitted: failed, succeeded (addr becomes
 * exempt for the account), or abandoned (never verified: no failure). */
void core_guard_done(struct core_guard *g, const char *account, const char *addr,
		     enum core_guard_result r, int64_t now_ms);
/* Failures the account has in its level now (for logs and tests). */
int core_guard_failures(struct core_guard *g, const char *account, int64_t now_ms);

#endif
