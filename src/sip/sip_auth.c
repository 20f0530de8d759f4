/* sip_auth — see sip_auth.h. */
#include "sip_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>

int sip_auth_alg(struct sip_pl name)
{
	if (name.l == 0 || sip_pl_casecmp(name, "MD5"))
		return 0;
	if (sip_pl_casecmp(name, "SHA-256"))
		return 1;
	return -1;
}

/* The digests, fetched once per process: EVP_md5() and EVP_sha256() make
 * OpenSSL 3 look the algorithm up (under its locks) on every use. */
static EVP_MD *auth_mds[2];
static pthread_once_t auth_mds_once = PTHREAD_ONCE_INIT;

static void auth_mds_fetch(void)
{
	auth_mds[0] = EVP_MD_fetch(NULL, "MD5", NULL);
	auth_mds[1] = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* H(a:b:c...) of the parts, in hex. */
static int digest_hex(int alg, const struct sip_pl *parts, int n, char out[SIP_AUTH_HEX_MAX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	pthread_once(&auth_mds_once, auth_mds_fetch);
	const EVP_MD *md = auth_mds[alg ? 1 : 0];
	EVP_MD_CTX *c = md ? EVP_MD_CTX_new() : NULL;
	int ok = c && EVP_DigestInit_ex(c, md, NULL);
	for (int i = 0; ok && i < n; i++)
		ok = (i == 0 || EVP_DigestUpdate(c, ":", 1)) &&
		     EVP_DigestUpdate(c, parts[i].p, parts[i].l);
	ok = ok && EVP_DigestFinal_ex(c, d, &len);
	EVP_MD_CTX_free(c);
	if (!ok || 2 * len >= SIP_AUTH_HEX_MAX)
		return -1;
	for (unsigned int i = 0; i < len; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * len] = '\0';
	return 0;
}

static struct sip_pl pl(const char *s)
{
	return (struct sip_pl){s, strlen(s)};
}

int sip_auth_ha1(int alg, const char *user, const char *realm, const char *password,
		 char out[SIP_AUTH_HEX_MAX])
{
	struct sip_pl parts[3] = {pl(user), pl(realm), pl(password)};
	return digest_hex(alg, parts, 3, out);
}

int sip_auth_parse(struct sip_pl v, struct sip_auth_creds *c)
{
	memset(c, 0, sizeof(*c));
	const char *p = v.p, *e = v.p + v.l;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (e - p < 7 || strncasecmp(p, "Digest", 6) != 0 || !strchr(" \t\r\n", p[6]))
		return -1;
	p += 6;
	static const char *const names[] = {"username",	 "realm", "nonce", "uri",    "response",
					    "algorithm", "qop",	  "nc",	   "cnonce", "opaque"};
	struct sip_pl *fields[] = {&c->username,  &c->realm, &c->nonce, &c->uri,    &c->response,
				   &c->algorithm, &c->qop,   &c->nc,	&c->cnonce, &c->opaque};
	while (p < e) {
		while (p < e && strchr(" \t\r\n,", *p))
			p++;
		if (p >= e)
			break;
		const char *k = p;
		while (p < e && *p != '=' && !strchr(" \t\r\n", *p))
			p++;
		struct sip_pl key = {k, (size_t)(p - k)};
		while (p < e && strchr(" \t\r\n", *p))
			p++;
		if (p >= e || *p != '=' || key.l == 0)
			return -1;
		p++;
		while (p < e && strchr(" \t\r\n", *p))
			p++;
		struct sip_pl val;
		if (p < e && *p == '"') {
			const char *s = ++p;
			while (p < e && *p != '"')
				p += *p == '\\' && p + 1 < e ? 2 : 1;
			if (p >= e)
				return -1;
			val = (struct sip_pl){s, (size_t)(p - s)};
			p++;
		} else {
			const char *s = p;
			while (p < e && *p != ',' && !strchr(" \t\r\n", *p))
				p++;
			val = (struct sip_pl){s, (size_t)(p - s)};
		}
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (sip_pl_casecmp(key, names[i])) {
				if (fields[i]->p)
					return -1; /* a parameter twice */
				*fields[i] = val;
			}
		}
	}
	return c->username.p && c->realm.p && c->nonce.p && c->uri.p && c->response.p ? 0 : -1;
}

int sip_auth_response(int alg, const char *ha1, struct sip_pl method,
		      const struct sip_auth_creds *c, char out[SIP_AUTH_HEX_MAX])
{
	char ha2[SIP_AUTH_HEX_MAX];
	struct sip_pl a2[2] = {method, c->uri};
	if (digest_hex(alg, a2, 2, ha2) < 0)
		return -1;
	if (c->qop.l) {
		if (!sip_pl_casecmp(c->qop, "auth") || !c->nc.l || !c->cnonce.l)
			return -1; /* auth-int is not offered */
		struct sip_pl parts[6] = {pl(ha1), c->nonce, c->nc, c->cnonce, c->qop, pl(ha2)};
		return digest_hex(alg, parts, 6, out);
	}
	struct sip_pl parts[3] = {pl(ha1), c->nonce, pl(ha2)};
	return digest_hex(alg, parts, 3, out);
}

bool sip_auth_response_ok(const struct sip_auth_creds *c, const char *expected)
{
	size_t n = strlen(expected);
	if (c->response.l != n)
		return false;
	/* hex from clients may be upper case */
	char got[SIP_AUTH_HEX_MAX];
	for (size_t i = 0; i < n && i < sizeof(got) - 1; i++)
		got[i] = (char)(c->response.p[i] | (c->response.p[i] >= 'A' ? 0x20 : 0));
	return n < sizeof(got) && sodium_memcmp(got, expected, n) == 0;
}

/* ---- nonces ---- */

#define NONCE_RAW   32	  /* 8 time, 8 random, 16 MAC */
#define NONCE_SLOTS 65536 /* 2 MiB */
#define NONCE_WAYS  8	  /* a nonce may sit in any slot of its set of 8 */

struct nonce_slot {
	unsigned char id[16]; /* the nonce's MAC */
	uint64_t nc;
	uint64_t seq; /* when it was made, in nonces: the oldest of a set goes first */
};

struct sip_nonces {
	unsigned char key[crypto_auth_hmacsha256_KEYBYTES];
	int lifetime;
	uint64_t made;
	struct nonce_slot slots[NONCE_SLOTS];
};

struct sip_nonces *sip_nonces_new(int lifetime)
{
	struct sip_nonces *n = calloc(1, sizeof(*n));
	if (!n || sodium_init() < 0) {
		free(n);
		return NULL;
	}
	crypto_auth_hmacsha256_keygen(n->key);
	n->lifetime = lifetime;
	return n;
}

void sip_nonces_free(struct sip_nonces *n)
{
	if (n)
		sodium_memzero(n->key, sizeof(n->key));
	free(n);
}

static void nonce_mac(struct sip_nonces *n, const unsigned char *tr, const char *realm,
		      unsigned char mac[16])
{
	unsigned char full[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, n->key, sizeof(n->key));
	crypto_auth_hmacsha256_update(&st, tr, 16);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)realm, strlen(realm));
	crypto_auth_hmacsha256_final(&st, full);
	memcpy(mac, full, 16);
}

/* The set of slots a nonce may be tracked in. */
static struct nonce_slot *nonce_set(struct sip_nonces *n, const unsigned char id[16])
{
	uint32_t h;
	memcpy(&h, id, sizeof(h));
	return &n->slots[(h % (NONCE_SLOTS / NONCE_WAYS)) * NONCE_WAYS];
}

void sip_nonces_make(struct sip_nonces *n, const char *realm, time_t now, char out[SIP_NONCE_LEN])
{
	unsigned char raw[NONCE_RAW];
	uint64_t t = (uint64_t)now;
	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)(t >> (56 - 8 * i));
	randombytes_buf(raw + 8, 8);
	nonce_mac(n, raw, realm, raw + 16);
	/* Tracked from birth, so a count can be checked; it takes the slot of
	 * the oldest nonce of its set (which then gets stale=true if used again) */
	struct nonce_slot *set = nonce_set(n, raw + 16), *s = set;
	for (int i = 1; i < NONCE_WAYS; i++)
		if (set[i].seq < s->seq)
			s = &set[i];
	memcpy(s->id, raw + 16, 16);
	s->nc = 0;
	s->seq = ++n->made;
	sodium_bin2base64(out, SIP_NONCE_LEN, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int nonce_decode(struct sip_pl nonce, unsigned char raw[NONCE_RAW])
{
	size_t len = 0;
	if (nonce.l != SIP_NONCE_LEN - 1)
		return -1;
	return sodium_base642bin(raw, NONCE_RAW, nonce.p, nonce.l, NULL, &len, NULL,
				 sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
			       len == NONCE_RAW
		       ? 0
		       : -1;
}

int sip_nonces_check(struct sip_nonces *n, const char *realm, struct sip_pl nonce, time_t now)
{
	unsigned char raw[NONCE_RAW], mac[16];
	if (nonce_decode(nonce, raw) < 0)
		return -1;
	nonce_mac(n, raw, realm, mac);
	if (sodium_memcmp(mac, raw + 16, 16) != 0)
		return -1;
	uint64_t t = 0;
	for (int i = 0; i < 8; i++)
		t = t << 8 | raw[i];
	if ((int64_t)t > (int64_t)now + 5 || (int64_t)now - (int64_t)t > n->lifetime)
		return 1;
	return 0;
}

int sip_nonces_use(struct sip_nonces *n, struct sip_pl nonce, struct sip_pl nc)
{
	unsigned char raw[NONCE_RAW];
	if (nonce_decode(nonce, raw) < 0)
		return -1;
	int64_t count = nc.l ? -1 : 1; /* no qop: one use only */
	if (nc.l == 8) {
		char hex[9];
		memcpy(hex, nc.p, 8);
		hex[8] = '\0';
		char *end;
		count = (int64_t)strtoull(hex, &end, 16);
		if (*end)
			count = -1;
	}
	struct nonce_slot *set = nonce_set(n, raw + 16), *s = NULL;
	for (int i = 0; i < NONCE_WAYS && !s; i++)
		if (set[i].seq && memcmp(set[i].id, raw + 16, 16) == 0)
			s = &set[i];
	if (count <= 0 || !s || (uint64_t)count <= s->nc)
		return -1;
	s->nc = (uint64_t)count;
	return 0;
}

int sip_auth_challenge(int alg, const char *realm, const char *nonce, bool stale, char *out,
		       size_t cap)
{
	int n = snprintf(out, cap,
			 "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"%s", realm,
			 nonce, alg ? "SHA-256" : "MD5", stale ? ", stale=true" : "");
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* ---- the client's side ---- */

/* One `key=value` or `key="value"` of a challenge at *pp (commas and
 * white space before it skipped): 1 with key and val (a quoted value's
 * inside, escapes still in it), 0 at the end, -1 if malformed. */
static int chal_param(const char **pp, const char *e, struct sip_pl *key, struct sip_pl *val,
		      bool *quoted)
{
	const char *p = *pp;
	while (p < e && strchr(" \t\r\n,", *p))
		p++;
	if (p >= e)
		return 0;
	const char *k = p;
	while (p < e && *p != '=' && !strchr(" \t\r\n,", *p))
		p++;
	*key = (struct sip_pl){k, (size_t)(p - k)};
	while (p < e && strchr(" \t\r\n", *p))
		p++;
	if (p >= e || *p != '=' || key->l == 0)
		return -1;
	p++;
	while (p < e && strchr(" \t\r\n", *p))
		p++;
	*quoted = p < e && *p == '"';
	if (*quoted) {
		const char *s = ++p;
		while (p < e && *p != '"')
			p += *p == '\\' && p + 1 < e ? 2 : 1;
		if (p >= e)
			return -1;
		*val = (struct sip_pl){s, (size_t)(p - s)};
		p++;
	} else {
		const char *s = p;
		while (p < e && *p != ',' && !strchr(" \t\r\n", *p))
			p++;
		*val = (struct sip_pl){s, (size_t)(p - s)};
	}
	*pp = p;
	return 1;
}

/* A value into out, a quoted one unescaped; -1 if it does not fit (or
 * holds a control character: nothing we would send back). */
static int chal_copy(struct sip_pl v, bool quoted, char out[SIP_AUTH_VALUE_MAX + 1])
{
	size_t n = 0;
	for (size_t i = 0; i < v.l; i++) {
		char c = v.p[i];
		if (quoted && c == '\\' && i + 1 < v.l)
			c = v.p[++i];
		if ((unsigned char)c < 0x20 || c == 0x7f || n >= SIP_AUTH_VALUE_MAX)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/* Does a qop list ("auth,auth-int") name auth? */
static bool qop_has_auth(struct sip_pl v)
{
	const char *p = v.p, *e = v.p + v.l;
	while (p < e) {
		while (p < e && strchr(" \t,", *p))
			p++;
		const char *s = p;
		while (p < e && !strchr(" \t,", *p))
			p++;
		if (sip_pl_casecmp((struct sip_pl){s, (size_t)(p - s)}, "auth"))
			return true;
	}
	return false;
}

static int chal_algorithm(struct sip_pl v, struct sip_auth_chal *ch)
{
	static const struct {
		const char *name;
		int alg;
		bool sess;
	} algs[] = {{"MD5", 0, false},
		    {"MD5-sess", 0, true},
		    {"SHA-256", 1, false},
		    {"SHA-256-sess", 1, true}};
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (sip_pl_casecmp(v, algs[i].name)) {
			ch->alg = algs[i].alg;
			ch->sess = algs[i].sess;
			return 0;
		}
	return -1;
}

int sip_auth_chal_parse(struct sip_pl v, struct sip_auth_chal *ch)
{
	memset(ch, 0, sizeof(*ch));
	const char *p = v.p, *e = v.p + v.l;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (e - p < 7 || strncasecmp(p, "Digest", 6) != 0 || !strchr(" \t\r\n", p[6]))
		return -1;
	p += 6;
	unsigned seen = 0; /* realm 1, nonce 2, opaque 4, algorithm 8, qop 16, stale 32 */
	struct sip_pl key, val;
	bool quoted;
	int r;
	while ((r = chal_param(&p, e, &key, &val, &quoted)) == 1) {
		static const char *const names[] = {"realm",	 "nonce", "opaque",
						    "algorithm", "qop",	  "stale"};
		int i = 0;
		while (i < 6 && !sip_pl_casecmp(key, names[i]))
			i++;
		if (i == 6)
			continue; /* domain, charset, userhash, …: not needed to answer */
		if (seen & (1u << i))
			return -1; /* a parameter twice */
		seen |= 1u << i;
		if ((i == 0 && chal_copy(val, quoted, ch->realm) < 0) ||
		    (i == 1 && chal_copy(val, quoted, ch->nonce) < 0) ||
		    (i == 2 && chal_copy(val, quoted, ch->opaque) < 0) ||
		    (i == 3 && chal_algorithm(val, ch) < 0) || (i == 4 && !qop_has_auth(val)))
			return -1;
		ch->has_opaque |= i == 2;
		ch->qop |= i == 4;
		if (i == 5)
			ch->stale = sip_pl_casecmp(val, "true");
	}
	return r == 0 && (seen & 3) == 3 && ch->nonce[0] ? 0 : -1;
}

int sip_auth_chal_pick(const struct sip_msg *m, struct sip_auth_chal *ch)
{
	enum sip_hdr_id id =
		m->status == 407 ? SIP_HDR_PROXY_AUTHENTICATE : SIP_HDR_WWW_AUTHENTICATE;
	struct sip_auth_chal c;
	int found = -1;
	for (const struct sip_hdr *h = sip_msg_hdr(m, id); h; h = sip_msg_hdr_next(m, h)) {
		if (sip_auth_chal_parse(h->value, &c) < 0 || (found == 0 && c.alg <= ch->alg))
			continue;
		*ch = c;
		found = 0;
	}
	return found;
}

/* s into out at *o, quoted and escaped ("\\" and "\""); false if it does not fit. */
static bool put_quoted(char *out, size_t cap, size_t *o, const char *s)
{
	if (*o + 1 >= cap)
		return false;
	out[(*o)++] = '"';
	for (; *s; s++) {
		if ((*s == '"' || *s == '\\') && *o + 1 < cap)
			out[(*o)++] = '\\';
		if (*o + 1 >= cap)
			return false;
		out[(*o)++] = *s;
	}
	if (*o + 1 >= cap)
		return false;
	out[(*o)++] = '"';
	out[*o] = '\0';
	return true;
}

static bool put_text(char *out, size_t cap, size_t *o, const char *s)
{
	size_t n = strlen(s);
	if (*o + n >= cap)
		return false;
	memcpy(out + *o, s, n + 1);
	*o += n;
	return true;
}

int sip_auth_answer(const struct sip_auth_chal *ch, const char *method, const char *uri,
		    const char *user, const char *password, const char *cnonce, uint32_t nc,
		    char *out, size_t cap)
{
	char ha1[SIP_AUTH_HEX_MAX], response[SIP_AUTH_HEX_MAX], ncs[9] = "";
	bool need_cnonce = ch->qop || ch->sess;
	if (!method || !uri || !user || !password || cap == 0 ||
	    (need_cnonce && (!cnonce || !*cnonce || nc == 0)))
		return -1;
	if (sip_auth_ha1(ch->alg, user, ch->realm, password, ha1) < 0)
		return -1;
	if (ch->sess) { /* RFC 7616 §3.4.2: H(H(user:realm:password):nonce:cnonce) */
		struct sip_pl parts[3] = {pl(ha1), pl(ch->nonce), pl(cnonce)};
		if (digest_hex(ch->alg, parts, 3, ha1) < 0)
			return -1;
	}
	if (ch->qop)
		snprintf(ncs, sizeof(ncs), "%08x", nc);
	struct sip_auth_creds c = {.nonce = pl(ch->nonce), .uri = pl(uri)};
	if (ch->qop) {
		c.qop = pl("auth");
		c.nc = pl(ncs);
		c.cnonce = pl(cnonce);
	}
	if (sip_auth_response(ch->alg, ha1, pl(method), &c, response) < 0)
		return -1;
	static const char *const names[2][2] = {{"MD5", "MD5-sess"}, {"SHA-256", "SHA-256-sess"}};
	size_t o = 0;
	out[0] = '\0';
	bool ok = put_text(out, cap, &o, "Digest username=") && put_quoted(out, cap, &o, user) &&
		  put_text(out, cap, &o, ", realm=") && put_quoted(out, cap, &o, ch->realm) &&
		  put_text(out, cap, &o, ", nonce=") && put_quoted(out, cap, &o, ch->nonce) &&
		  put_text(out, cap, &o, ", uri=") && put_quoted(out, cap, &o, uri) &&
		  put_text(out, cap, &o, ", response=") && put_quoted(out, cap, &o, response) &&
		  put_text(out, cap, &o, ", algorithm=") &&
		  put_text(out, cap, &o, names[ch->alg ? 1 : 0][ch->sess ? 1 : 0]);
	if (ok && need_cnonce)
		ok = put_text(out, cap, &o, ", cnonce=") && put_quoted(out, cap, &o, cnonce);
	if (ok && ch->qop)
		ok = put_text(out, cap, &o, ", qop=auth, nc=") && put_text(out, cap, &o, ncs);
	if (ok && ch->has_opaque)
		ok = put_text(out, cap, &o, ", opaque=") && put_quoted(out, cap, &o, ch->opaque);
	return ok ? (int)o : -1;
}
