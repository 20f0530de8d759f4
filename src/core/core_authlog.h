/*
 * core_authlog — the log lines of failed SIP authentications, one per
 * burst: the first failure of a kind (phone system, reason, user, address)
 * is written at once; repeats within CORE_AUTHLOG_WINDOW are counted, not
 * written, and their count ends the next line of that kind (written when
 * the window has passed: by the next failure, or by core_authlog_sweep
 * once the burst is over). A line says why (the reason the client is never
 * told), the address, the User-Agent, the phone system, the user and the
 * method — never a password or a digest response. It is meant for people
 * and for fail2ban alike:
 *
 *   sip auth failed: reason=wrong-password address=192.0.2.7 phone_system=acme
 *   user="100" user_agent="Foo 1.0" method=REGISTER [repeated=4]
 *
 * The address comes first, after our own word, so that nothing a client
 * chooses (quoted, with quotes escaped; unquoted fields reduced to token
 * characters) can stand before it.
 *
 * For blocked-address the kind is the address alone (the SBC drops such
 * requests unread; it reads one only when its line is due).
 * The table is bounded (CORE_AUTHLOG_SLOTS kinds, least recently failed
 * ones give way), keyed by what clients choose, so it hashes with a
 * per-process random key (keyed crypto_generichash). No I/O besides core_log.
 */
#ifndef CORE_AUTHLOG_H
#define CORE_AUTHLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CORE_AUTHLOG_SLOTS  2048
#define CORE_AUTHLOG_WINDOW 60000 /* ms: repeats within it are counted */

enum core_authlog_reason {
	CORE_AUTHLOG_UNKNOWN_PHONE_SYSTEM,
	CORE_AUTHLOG_UNKNOWN_USER,
	CORE_AUTHLOG_WRONG_PASSWORD,
	CORE_AUTHLOG_DISABLED_USER,
	CORE_AUTHLOG_WRONG_IDENTITY,	    /* authenticated as one user, speaking for another */
	CORE_AUTHLOG_UNSUPPORTED_ALGORITHM, /* answered with an algorithm not offered */
	CORE_AUTHLOG_UNANSWERED_CHALLENGE,  /* challenges that never get an answer */
	CORE_AUTHLOG_BLOCKED_ADDRESS,
	CORE_AUTHLOG_REASONS
};

/* "wrong-password", … (the log's and the API's word for it). */
const char *core_authlog_reason_name(enum core_authlog_reason r);

/* One failed attempt; strings are views (ptr, len) and may be empty. */
struct core_authlog_event {
	enum core_authlog_reason reason;
	const char *phone_system;
	size_t phone_system_len;
	const char *user;
	size_t user_len;
	const char *address; /* the client's IP address */
	size_t address_len;
	const char *user_agent;
	size_t user_agent_len;
	const char *method;
	size_t method_len;
	const char *detail; /* a sentence for people, or NULL */
};

struct core_authlog;

struct core_authlog *core_authlog_new(void);
void core_authlog_free(struct core_authlog *l);
/* Counts the attempt; returns true if a line was written for it now.
 * now: milliseconds on the monotonic clock (core_now_ms). */
bool core_authlog_failed(struct core_authlog *l, const struct core_authlog_event *e, int64_t now);
/* Whether the attempt would be written now rather than counted: a caller
 * may spare the work of filling in what is not in the kind. */
bool core_authlog_due(struct core_authlog *l, const struct core_authlog_event *e, int64_t now);
/* Writes the count of each burst that has ended (no repeat within the
 * window); call every few seconds. Returns the lines written. */
int core_authlog_sweep(struct core_authlog *l, int64_t now);

#endif
