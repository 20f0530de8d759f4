/* sip_hdr — see sip_hdr.h. */
#include "sip_hdr.h"

#include <string.h>
#include <strings.h>

static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_token(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-.!%*_+`'~", c));
}

static void skip_lws(const char **p, const char *e)
{
	while (*p < e && is_lws(**p))
		(*p)++;
}

static const char *scan_token(const char *p, const char *e)
{
	while (p < e && is_token((unsigned char)*p))
		p++;
	return p;
}

/* ---- URIs ---- */

static bool uri_char_ok(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '<' && c != '>' && c != '"' && c != '\\';
}

static int uri_host_port(struct sip_uri *u, const char *p, const char *e)
{
	const char *s = p;
	if (p < e && *p == '[') {
		const char *rb = memchr(p, ']', (size_t)(e - p));
		if (!rb)
			return -1;
		for (const char *q = p + 1; q < rb; q++)
			if (!strchr("0123456789abcdefABCDEF:.", *q))
				return -1;
		p = rb + 1;
	} else {
		while (p < e && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				 (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			p++;
	}
	if (p == s)
		return -1;
	u->host = (struct sip_pl){s, (size_t)(p - s)};
	if (p < e && *p == ':') {
		const char *ps = ++p;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		int64_t port = sip_pl_u64((struct sip_pl){ps, (size_t)(p - ps)}, 65535);
		if (port <= 0)
			return -1;
		u->port = (int)port;
	}
	return p == e ? 0 : -1;
}

int sip_uri_parse(struct sip_uri *u, struct sip_pl pl)
{
	memset(u, 0, sizeof(*u));
	const char *p = pl.p, *e = pl.p + pl.l;
	for (const char *q = p; q < e; q++)
		if (!uri_char_ok((unsigned char)*q))
			return -1;
	const char *colon = memchr(p, ':', pl.l);
	if (!colon || colon == p)
		return -1;
	for (const char *q = p; q < colon; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (q > p && ((*q >= '0' && *q <= '9') || strchr("+-.", *q)))))
			return -1;
	u->scheme = (struct sip_pl){p, (size_t)(colon - p)};
	u->opaque = (struct sip_pl){colon + 1, (size_t)(e - colon - 1)};
	if (!sip_pl_casecmp(u->scheme, "sip") && !sip_pl_casecmp(u->scheme, "sips"))
		return u->opaque.l ? 0 : -1;

	p = colon + 1;
	/* '@' cannot appear in host, parameters or headers: the last one ends userinfo. */
	const char *at = NULL;
	for (const char *q = p; q < e; q++)
		if (*q == '@')
			at = q;
	if (at) {
		const char *pw = memchr(p, ':', (size_t)(at - p));
		u->user = (struct sip_pl){p, (size_t)((pw ? pw : at) - p)};
		if (pw)
			u->password = (struct sip_pl){pw + 1, (size_t)(at - pw - 1)};
		if (u->user.l == 0)
			return -1;
		p = at + 1;
	}
	const char *hp_end = p;
	while (hp_end < e && *hp_end != ';' && *hp_end != '?')
		hp_end++;
	if (uri_host_port(u, p, hp_end) < 0)
		return -1;
	p = hp_end;
	const char *q = memchr(p, '?', (size_t)(e - p));
	u->params = (struct sip_pl){p, (size_t)((q ? q : e) - p)};
	if (q)
		u->headers = (struct sip_pl){q + 1, (size_t)(e - q - 1)};
	return 0;
}

/* ---- parameters ---- */

/* Parses ";name[=value]" pairs until ',' or the end; returns where it stopped, NULL if malformed.
 */
static const char *params_scan(const char *p, const char *e)
{
	for (;;) {
		skip_lws(&p, e);
		if (p >= e || *p == ',')
			return p;
		if (*p != ';')
			return NULL;
		p++;
		skip_lws(&p, e);
		const char *n = scan_token(p, e);
		if (n == p)
			return NULL; /* ";;" or ";=" */
		p = n;
		skip_lws(&p, e);
		if (p < e && *p == '=') {
			p++;
			skip_lws(&p, e);
			if (p < e && *p == '"') {
				for (p++; p < e && *p != '"'; p++)
					if (*p == '\\' && p + 1 < e)
						p++;
				if (p >= e)
					return NULL;
				p++;
			} else {
				const char *v = p;
				while (p < e && (is_token((unsigned char)*p) || *p == ':' ||
						 *p == '[' || *p == ']'))
					p++;
				if (p == v)
					return NULL;
			}
		}
	}
}

bool sip_param_get(struct sip_pl params, const char *name, struct sip_pl *value)
{
	const char *p = params.p, *e = params.p + params.l;
	size_t nl = strlen(name);
	while (p < e) {
		const char *semi = memchr(p, ';', (size_t)(e - p));
		if (!semi)
			return false;
		p = semi + 1;
		skip_lws(&p, e);
		const char *n = scan_token(p, e);
		bool match = (size_t)(n - p) == nl && strncasecmp(p, name, nl) == 0;
		p = n;
		skip_lws(&p, e);
		const char *vs = p, *ve = p;
		if (p < e && *p == '=') {
			p++;
			skip_lws(&p, e);
			vs = p;
			if (p < e && *p == '"') {
				for (p++; p < e && *p != '"'; p++)
					if (*p == '\\' && p + 1 < e)
						p++;
				p = p < e ? p + 1 : p;
			} else {
				while (p < e && *p != ';' && *p != ',' && !is_lws(*p))
					p++;
			}
			ve = p;
		}
		if (match) {
			*value = (struct sip_pl){vs, (size_t)(ve - vs)};
			return true;
		}
	}
	return false;
}

/* After an element of a comma list: the rest, or an error for stray text. */
static int list_rest(const char *p, const char *e, struct sip_pl *rest)
{
	skip_lws(&p, e);
	if (p == e) {
		*rest = (struct sip_pl){e, 0};
		return 0;
	}
	if (*p != ',')
		return -1;
	p++;
	skip_lws(&p, e);
	if (p == e)
		return -1; /* a trailing comma */
	*rest = (struct sip_pl){p, (size_t)(e - p)};
	return 0;
}

/* ---- name-addr ---- */

int sip_addr_parse(struct sip_addr *a, struct sip_pl pl, struct sip_pl *rest)
{
	memset(a, 0, sizeof(*a));
	const char *p = pl.p, *e = pl.p + pl.l;
	skip_lws(&p, e);
	const char *lt = NULL;
	if (p < e && *p == '"') {
		const char *s = ++p;
		for (; p < e && *p != '"'; p++)
			if (*p == '\\' && p + 1 < e)
				p++;
		if (p >= e)
			return -1; /* unterminated quoted string */
		a->display = (struct sip_pl){s, (size_t)(p - s)};
		p++;
		skip_lws(&p, e);
		if (p >= e || *p != '<')
			return -1;
		lt = p;
	} else {
		/* display name as tokens, then '<'; or a bare addr-spec */
		const char *s = p, *q = p;
		while (q < e && (is_token((unsigned char)*q) || is_lws(*q)))
			q++;
		if (q < e && *q == '<') {
			const char *de = q;
			while (de > s && is_lws(de[-1]))
				de--;
			a->display = (struct sip_pl){s, (size_t)(de - s)};
			lt = q;
		}
	}
	if (lt) {
		const char *gt = memchr(lt, '>', (size_t)(e - lt));
		if (!gt)
			return -1;
		a->uri_pl = (struct sip_pl){lt + 1, (size_t)(gt - lt - 1)};
		p = gt + 1;
	} else {
		/* addr-spec: the URI ends at the first ';' or ','; no '?' allowed outside <> */
		const char *s = p;
		while (p < e && *p != ';' && *p != ',' && !is_lws(*p))
			p++;
		a->uri_pl = (struct sip_pl){s, (size_t)(p - s)};
		if (memchr(s, '?', a->uri_pl.l))
			return -1;
	}
	if (sip_uri_parse(&a->uri, a->uri_pl) < 0)
		return -1;
	const char *ps = p;
	p = params_scan(p, e);
	if (!p)
		return -1;
	a->params = (struct sip_pl){ps, (size_t)(p - ps)};
	return list_rest(p, e, rest);
}

/* ---- Via ---- */

int sip_via_parse(struct sip_via *v, struct sip_pl pl, struct sip_pl *rest)
{
	memset(v, 0, sizeof(*v));
	const char *p = pl.p, *e = pl.p + pl.l;
	struct sip_pl part[3];
	for (int i = 0; i < 3; i++) {
		skip_lws(&p, e);
		const char *s = p;
		p = scan_token(p, e);
		if (p == s)
			return -1;
		part[i] = (struct sip_pl){s, (size_t)(p - s)};
		skip_lws(&p, e);
		if (i < 2) {
			if (p >= e || *p != '/')
				return -1;
			p++;
		}
	}
	if (!sip_pl_casecmp(part[0], "SIP") || !sip_pl_eq(part[1], "2.0"))
		return -1;
	v->transport = part[2];
	skip_lws(&p, e);
	const char *hs = p;
	while (p < e && !is_lws(*p) && *p != ';' && *p != ',')
		p++;
	struct sip_uri hp = {0};
	if (uri_host_port(&hp, hs, p) < 0)
		return -1;
	v->host = hp.host;
	v->port = hp.port;
	const char *ps = p;
	p = params_scan(p, e);
	if (!p)
		return -1;
	v->params = (struct sip_pl){ps, (size_t)(p - ps)};
	return list_rest(p, e, rest);
}

int sip_cseq_parse(struct sip_pl pl, uint32_t *num, struct sip_pl *method)
{
	const char *p = pl.p, *e = pl.p + pl.l, *s = p;
	while (p < e && *p >= '0' && *p <= '9')
		p++;
	int64_t n = sip_pl_u64((struct sip_pl){s, (size_t)(p - s)}, 0x7fffffff);
	if (n < 0)
		return -1;
	skip_lws(&p, e);
	s = p;
	p = scan_token(p, e);
	if (p == s || p != e)
		return -1;
	*num = (uint32_t)n;
	*method = (struct sip_pl){s, (size_t)(p - s)};
	return 0;
}

/* ---- the element's check ---- */

static int validate_addr_list(const struct sip_msg *m, enum sip_hdr_id id, bool single,
			      bool star_ok)
{
	for (const struct sip_hdr *h = sip_msg_hdr(m, id); h; h = sip_msg_hdr_next(m, h)) {
		struct sip_pl v = h->value, rest;
		if (star_ok && sip_pl_eq(v, "*"))
			continue;
		do {
			struct sip_addr a;
			if (sip_addr_parse(&a, v, &rest) < 0)
				return -1;
			if (single && rest.l)
				return -1;
			v = rest;
		} while (v.l);
	}
	return 0;
}

int sip_msg_validate(const struct sip_msg *m)
{
	if (m->request) {
		struct sip_uri u;
		if (sip_uri_parse(&u, m->ruri) < 0)
			return 400;
		if (!sip_pl_casecmp(u.scheme, "sip") && !sip_pl_casecmp(u.scheme, "sips") &&
		    !sip_pl_casecmp(u.scheme, "tel"))
			return 416;
		if (u.headers.l ||
		    (u.params.l && !params_scan(u.params.p, u.params.p + u.params.l)))
			return 400; /* a Request-URI carries no headers */
	}
	if (validate_addr_list(m, SIP_HDR_TO, true, false) < 0 ||
	    validate_addr_list(m, SIP_HDR_FROM, true, false) < 0 ||
	    validate_addr_list(m, SIP_HDR_CONTACT, false, true) < 0 ||
	    validate_addr_list(m, SIP_HDR_ROUTE, false, false) < 0 ||
	    validate_addr_list(m, SIP_HDR_RECORD_ROUTE, false, false) < 0)
		return 400;
	for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_VIA); h; h = sip_msg_hdr_next(m, h)) {
		struct sip_pl v = h->value, rest;
		do {
			struct sip_via via;
			if (sip_via_parse(&via, v, &rest) < 0)
				return 400;
			v = rest;
		} while (v.l);
	}
	return 0;
}

int sip_answer_key(const struct sip_msg *m, struct sip_answer_key *k)
{
	const struct sip_hdr *vh = sip_msg_hdr(m, SIP_HDR_VIA);
	const struct sip_hdr *cs = sip_msg_hdr(m, SIP_HDR_CSEQ);
	struct sip_pl rest;
	if (!vh || !cs || sip_via_parse(&k->via, vh->value, &rest) < 0 ||
	    !sip_param_get(k->via.params, "branch", &k->branch) ||
	    sip_cseq_parse(cs->value, &k->cseq, &k->method) < 0)
		return -1;
	return 0;
}
