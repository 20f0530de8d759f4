/*
 * sip_auth — HTTP digest authentication as SIP uses it (RFC 3261 §22,
 * RFC 7616, RFC 8760): MD5 and SHA-256, qop=auth. Parsing credentials,
 * computing responses from stored HA1 values, and nonces that carry their
 * own time and MAC (so they need no storage to check), with a bounded
 * table of nonce counts so a captured response cannot be replayed. And the
 * client's side (a trunk registering at a carrier): a challenge parsed into
 * checked copies, the best of a 401/407's challenges picked, the
 * Authorization value written.
 */
#ifndef SIP_AUTH_H
#define SIP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sip_msg.h"

#define SIP_AUTH_HEX_MAX 65 /* a SHA-256 digest in hex, and its NUL */
#define SIP_NONCE_LEN	 44 /* base64url of 32 bytes, and its NUL */

struct sip_auth_creds {
	struct sip_pl username, realm, nonce, uri, response, algorithm, qop, nc, cnonce, opaque;
};

/* "MD5" or "SHA-256" (any case; none given means MD5): 0 or 1; -1 unknown. */
int sip_auth_alg(struct sip_pl name);
/* HA1 = H(user:realm:password) in hex; alg 0 = MD5, 1 = SHA-256. */
int sip_auth_ha1(int alg, const char *user, const char *realm, const char *password,
		 char out[SIP_AUTH_HEX_MAX]);
/* Parses `Digest k=v, k="v", ...`; -1 if not digest or malformed. */
int sip_auth_parse(struct sip_pl value, struct sip_auth_creds *c);
/* The response a client holding ha1 sends for this request (qop=auth, or none). */
int sip_auth_response(int alg, const char *ha1, struct sip_pl method,
		      const struct sip_auth_creds *c, char out[SIP_AUTH_HEX_MAX]);
/* Constant time: does the client's response equal the expected one? */
bool sip_auth_response_ok(const struct sip_auth_creds *c, const char *expected);

struct sip_nonces;
struct sip_nonces *sip_nonces_new(int lifetime);
void sip_nonces_free(struct sip_nonces *n);
void sip_nonces_make(struct sip_nonces *n, const char *realm, time_t now, char out[SIP_NONCE_LEN]);
/* 0 valid, 1 authentic but expired (answer stale=true), -1 not ours. */
int sip_nonces_check(struct sip_nonces *n, const char *realm, struct sip_pl nonce, time_t now);
/* Records the nonce count; -1 if it is not higher than any seen (a replay)
 * or the nonce is no longer tracked (the client should get a fresh one). */
int sip_nonces_use(struct sip_nonces *n, struct sip_pl nonce, struct sip_pl nc);

/* `Digest realm="..", nonce="..", algorithm=.., qop="auth"[, stale=true]` */
int sip_auth_challenge(int alg, const char *realm, const char *nonce, bool stale, char *out,
		       size_t cap);

/* ---- the client's side ---- */

#define SIP_AUTH_VALUE_MAX 256 /* realm, nonce, opaque of a challenge we answer */

/* A WWW-Authenticate or Proxy-Authenticate challenge: copies, unescaped. */
struct sip_auth_chal {
	char realm[SIP_AUTH_VALUE_MAX + 1];
	char nonce[SIP_AUTH_VALUE_MAX + 1];
	char opaque[SIP_AUTH_VALUE_MAX + 1];
	bool has_opaque;
	int alg;    /* 0 MD5, 1 SHA-256 */
	bool sess;  /* MD5-sess, SHA-256-sess */
	bool qop;   /* qop=auth offered (else none: RFC 2069's form) */
	bool stale; /* stale=true: the nonce expired, the credentials were right */
};

/* Parses `Digest realm="..", nonce="..", ...`. 0, or -1: not digest,
 * malformed, a parameter twice, no realm or nonce, a value longer than
 * SIP_AUTH_VALUE_MAX (refused, never cut), an algorithm we do not know, or
 * a qop offered without "auth". */
int sip_auth_chal_parse(struct sip_pl value, struct sip_auth_chal *ch);
/* The challenge of a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) to
 * answer: SHA-256 before MD5, else the first usable. 0, or -1 if none is. */
int sip_auth_chal_pick(const struct sip_msg *m, struct sip_auth_chal *ch);
/* The Authorization (or Proxy-Authorization) value answering ch for method
 * and uri, as user with password; cnonce (needed with qop or -sess) and nc
 * (the count of this nonce's uses, from 1). Its length, or -1 if it does not
 * fit cap or an argument is missing. */
int sip_auth_answer(const struct sip_auth_chal *ch, const char *method, const char *uri,
		    const char *user, const char *password, const char *cnonce, uint32_t nc,
		    char *out, size_t cap);

#endif
