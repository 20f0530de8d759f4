/*
 * media_srtp — SRTP as the SBC's relay uses it: SDES key exchange in SDP
 * (RFC 4568: parsing and writing a=crypto for AES_CM_128_HMAC_SHA1_80 and
 * _32) and one protect or unprotect context per direction of a leg, on
 * libsrtp2. Packets are transformed in place; a buffer must have
 * MEDIA_SRTP_ROOM bytes to spare after the packet for protect.
 */
#ifndef MEDIA_SRTP_H
#define MEDIA_SRTP_H

#include <stdbool.h>
#include <stddef.h>

#include "../sip/sip_msg.h" /* struct sip_pl */

#define MEDIA_SRTP_KEY_LEN 30 /* 16-byte master key and 14-byte salt */
#define MEDIA_SRTP_ROOM	   148

enum media_suite { MEDIA_AES_CM_128_HMAC_SHA1_80, MEDIA_AES_CM_128_HMAC_SHA1_32 };

struct media_sdes {
	int tag;
	enum media_suite suite;
	unsigned char key[MEDIA_SRTP_KEY_LEN];
};

/* The value of one a=crypto attribute ("1 AES_CM_128_HMAC_SHA1_80
 * inline:<base64>[|lifetime][|mki:len]"); -1 if malformed, or a suite or
 * key parameter we do not do (MKI, several keys, session parameters). */
int media_sdes_parse(struct sip_pl value, struct media_sdes *c);
/* The a=crypto value for c; its length, or -1 if cap is too small. */
int media_sdes_format(const struct media_sdes *c, char *out, size_t cap);
/* A fresh random key for c. */
void media_sdes_new_key(struct media_sdes *c);

struct media_srtp;
/* Once per process, before anything else here. */
int media_srtp_init(void);
/* inbound: unprotect what a party sends; else protect what we send to it. */
struct media_srtp *media_srtp_new(const struct media_sdes *c, bool inbound);
void media_srtp_free(struct media_srtp *s);
/* In place; 0, or -1 when the packet is to be dropped (forged, replayed, short). */
int media_srtp_protect(struct media_srtp *s, unsigned char *buf, size_t *len, bool rtcp);
int media_srtp_unprotect(struct media_srtp *s, unsigned char *buf, size_t *len, bool rtcp);

#endif
