/* media_srtp — see media_srtp.h. */
#include "media_srtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <srtp2/srtp.h>

static const char *const suite_name[] = {"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"};

struct media_srtp {
	srtp_t ctx;
};

static bool pl_prefix(struct sip_pl *v, const char *s)
{
	size_t n = strlen(s);
	if (v->l < n || memcmp(v->p, s, n) != 0)
		return false;
	v->p += n;
	v->l -= n;
	return true;
}

int media_sdes_parse(struct sip_pl v, struct media_sdes *c)
{
	/* tag: 1-9 digits */
	size_t i = 0;
	long tag = 0;
	while (i < v.l && i < 9 && v.p[i] >= '0' && v.p[i] <= '9')
		tag = tag * 10 + (v.p[i++] - '0');
	if (i == 0 || i >= v.l || v.p[i] != ' ')
		return -1;
	v.p += i + 1;
	v.l -= i + 1;
	int suite = -1;
	for (int k = 0; k < 2 && suite < 0; k++) {
		struct sip_pl t = v;
		if (pl_prefix(&t, suite_name[k]) && t.l && t.p[0] == ' ') {
			suite = k;
			v.p = t.p + 1;
			v.l = t.l - 1;
		}
	}
	if (suite < 0 || !pl_prefix(&v, "inline:"))
		return -1;
	/* the key ends at '|' (lifetime, MKI), ';' (a second key) or ' ' (session params) */
	size_t klen = 0;
	while (klen < v.l && v.p[klen] != '|' && v.p[klen] != ';' && v.p[klen] != ' ')
		klen++;
	if (klen < v.l && v.p[klen] != '|')
		return -1;
	/* an MKI would need per-packet key selection: refused */
	for (size_t k = klen; k < v.l; k++)
		if (v.p[k] == ':')
			return -1;
	size_t n;
	if (sodium_base642bin(c->key, sizeof(c->key), v.p, klen, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0 &&
	    sodium_base642bin(c->key, sizeof(c->key), v.p, klen, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL_NO_PADDING) < 0)
		return -1;
	if (n != MEDIA_SRTP_KEY_LEN)
		return -1;
	c->tag = (int)tag;
	c->suite = (enum media_suite)suite;
	return 0;
}

int media_sdes_format(const struct media_sdes *c, char *out, size_t cap)
{
	char b64[sodium_base64_ENCODED_LEN(MEDIA_SRTP_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(b64, sizeof(b64), c->key, sizeof(c->key), sodium_base64_VARIANT_ORIGINAL);
	int n = snprintf(out, cap, "%d %s inline:%s", c->tag, suite_name[c->suite], b64);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

void media_sdes_new_key(struct media_sdes *c)
{
	randombytes_buf(c->key, sizeof(c->key));
}

int media_srtp_init(void)
{
	return srtp_init() == srtp_err_status_ok ? 0 : -1;
}

struct media_srtp *media_srtp_new(const struct media_sdes *c, bool inbound)
{
	struct media_srtp *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	srtp_policy_t p;
	memset(&p, 0, sizeof(p));
	if (c->suite == MEDIA_AES_CM_128_HMAC_SHA1_32)
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
	else
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
	/* RTCP is always authenticated with the 80-bit tag (RFC 4568 6.2.1) */
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = (unsigned char *)c->key;
	p.window_size = 1024;
	p.allow_repeat_tx = 1; /* a phone may resend a packet; it is not ours to judge */
	if (srtp_create(&s->ctx, &p) != srtp_err_status_ok) {
		free(s);
		return NULL;
	}
	return s;
}

void media_srtp_free(struct media_srtp *s)
{
	if (!s)
		return;
	srtp_dealloc(s->ctx);
	free(s);
}

int media_srtp_protect(struct media_srtp *s, unsigned char *buf, size_t *len, bool rtcp)
{
	int n = (int)*len;
	srtp_err_status_t e =
		rtcp ? srtp_protect_rtcp(s->ctx, buf, &n) : srtp_protect(s->ctx, buf, &n);
	if (e != srtp_err_status_ok)
		return -1;
	*len = (size_t)n;
	return 0;
}

int media_srtp_unprotect(struct media_srtp *s, unsigned char *buf, size_t *len, bool rtcp)
{
	int n = (int)*len;
	srtp_err_status_t e =
		rtcp ? srtp_unprotect_rtcp(s->ctx, buf, &n) : srtp_unprotect(s->ctx, buf, &n);
	if (e != srtp_err_status_ok)
		return -1;
	*len = (size_t)n;
	return 0;
}
