/* sdp — see sdp.h. */
#include "sdp.h"

#include <stdio.h>
#include <string.h>

static struct sip_pl pl_of(const char *p, const char *e)
{
	return (struct sip_pl){p, (size_t)(e - p)};
}

/* Splits off the next space-separated word of [*p, e). */
static struct sip_pl word(const char **p, const char *e)
{
	const char *s = *p;
	while (*p < e && **p != ' ')
		(*p)++;
	struct sip_pl w = pl_of(s, *p);
	if (*p < e)
		(*p)++;
	return w;
}

static bool all_digits(struct sip_pl w)
{
	if (w.l == 0 || w.l > 10)
		return false;
	for (size_t i = 0; i < w.l; i++)
		if (w.p[i] < '0' || w.p[i] > '9')
			return false;
	return true;
}

static int parse_conn(struct sdp_conn *c, const char *p, const char *e)
{
	c->nettype = word(&p, e);
	c->addrtype = word(&p, e);
	c->addr = word(&p, e);
	c->present = true;
	return c->nettype.l && c->addrtype.l && c->addr.l && p == e ? 0 : -1;
}

static int parse_attr(struct sdp_section *s, const char *p, const char *e)
{
	if (s->nattrs >= SDP_MAX_ATTRS)
		return -1;
	struct sdp_attr *a = &s->attrs[s->nattrs++];
	const char *colon = memchr(p, ':', (size_t)(e - p));
	a->name = pl_of(p, colon ? colon : e);
	a->has_value = colon != NULL;
	a->value = colon ? pl_of(colon + 1, e) : pl_of(e, e);
	return a->name.l ? 0 : -1;
}

static int parse_media(struct sdp_media *m, const char *p, const char *e)
{
	m->type = word(&p, e);
	struct sip_pl port = word(&p, e);
	const char *slash = memchr(port.p, '/', port.l);
	m->port = slash ? pl_of(port.p, slash) : port;
	m->nports =
		slash ? pl_of(slash + 1, port.p + port.l) : pl_of(port.p + port.l, port.p + port.l);
	m->proto = word(&p, e);
	while (p < e) {
		if (m->nfmts >= SDP_MAX_FMTS)
			return -1;
		m->fmts[m->nfmts] = word(&p, e);
		if (m->fmts[m->nfmts].l == 0)
			return -1;
		m->nfmts++;
	}
	if (!m->type.l || !all_digits(m->port) || (slash && !all_digits(m->nports)) ||
	    !m->proto.l || m->nfmts == 0)
		return -1;
	return 0;
}

static void section_init(struct sdp_section *s)
{
	s->conn = (struct sdp_conn){0};
	s->nattrs = 0;
	s->nlines = 0;
}

int sdp_parse(struct sdp_session *sdp, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	struct sdp_section *cur;
	/* only what is counted is read: the arrays past each count are not
	 * cleared (a whole session is some 47 KB, parsed for every offer) */
	sdp->origin = sdp->name = (struct sip_pl){0};
	section_init(&sdp->s);
	sdp->nmedia = 0;
	cur = &sdp->s;
	int n = 0;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		const char *e = lf ? lf : end;
		const char *next = lf ? lf + 1 : end;
		if (e > p && e[-1] == '\r')
			e--;
		if (e - p < 2 || p[0] < 'a' || p[0] > 'z' || p[1] != '=')
			return -1;
		for (const char *q = p; q < e; q++)
			if ((unsigned char)*q < ' ' && *q != '\t')
				return -1; /* no control characters inside a line */
		char type = p[0];
		const char *v = p + 2;
		if (n++ == 0 && !(type == 'v' && e - v == 1 && *v == '0'))
			return -1; /* "v=0" comes first */
		int r = 0;
		switch (type) {
		case 'v':
			r = n == 1 ? 0 : -1;
			break;
		case 'o':
			if (cur != &sdp->s || sdp->origin.p)
				return -1;
			sdp->origin = pl_of(v, e);
			break;
		case 's':
			if (cur != &sdp->s || sdp->name.p)
				return -1;
			sdp->name = pl_of(v, e);
			break;
		case 'c':
			r = cur->conn.present ? -1 : parse_conn(&cur->conn, v, e);
			break;
		case 'a':
			r = parse_attr(cur, v, e);
			break;
		case 'm':
			if (sdp->nmedia >= SDP_MAX_MEDIA)
				return -1;
			sdp->media[sdp->nmedia].nfmts = 0;
			section_init(&sdp->media[sdp->nmedia].s);
			r = parse_media(&sdp->media[sdp->nmedia], v, e);
			cur = &sdp->media[sdp->nmedia++].s;
			break;
		default:
			if (cur->nlines >= SDP_MAX_LINES)
				return -1;
			cur->lines[cur->nlines++] = pl_of(p, e);
		}
		if (r < 0)
			return -1;
		p = next;
	}
	return sdp->origin.p && sdp->name.p ? 0 : -1;
}

struct out {
	char *p;
	size_t cap, len;
	bool over;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->over || o->len + n > o->cap) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_pl(struct out *o, struct sip_pl pl)
{
	put(o, pl.p, pl.l);
}

static void put_s(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_section(struct out *o, const struct sdp_section *s, bool session)
{
	/* RFC order: session: (o, s done) i u e p c b t r z k a; media: i c b k a */
	static const char order_session[] = "iuep";
	static const char order_after_c[] = "btrzk";
	if (session)
		for (const char *t = order_session; *t; t++)
			for (int i = 0; i < s->nlines; i++)
				if (s->lines[i].p[0] == *t)
					put_pl(o, s->lines[i]), put_s(o, "\r\n");
	if (!session)
		for (int i = 0; i < s->nlines; i++)
			if (s->lines[i].p[0] == 'i')
				put_pl(o, s->lines[i]), put_s(o, "\r\n");
	if (s->conn.present) {
		put_s(o, "c=");
		put_pl(o, s->conn.nettype);
		put_s(o, " ");
		put_pl(o, s->conn.addrtype);
		put_s(o, " ");
		put_pl(o, s->conn.addr);
		put_s(o, "\r\n");
	}
	for (const char *t = order_after_c; *t; t++)
		for (int i = 0; i < s->nlines; i++)
			if (s->lines[i].p[0] == *t)
				put_pl(o, s->lines[i]), put_s(o, "\r\n");
	/* anything else kept verbatim, at the end of its section's lines */
	for (int i = 0; i < s->nlines; i++)
		if (!strchr("iuepbtrzk", s->lines[i].p[0]))
			put_pl(o, s->lines[i]), put_s(o, "\r\n");
	for (int i = 0; i < s->nattrs; i++) {
		put_s(o, "a=");
		put_pl(o, s->attrs[i].name);
		if (s->attrs[i].has_value) {
			put_s(o, ":");
			put_pl(o, s->attrs[i].value);
		}
		put_s(o, "\r\n");
	}
}

int sdp_write(const struct sdp_session *sdp, char *out, size_t cap)
{
	struct out o = {.p = out, .cap = cap};
	put_s(&o, "v=0\r\no=");
	put_pl(&o, sdp->origin);
	put_s(&o, "\r\ns=");
	put_pl(&o, sdp->name.l ? sdp->name : (struct sip_pl){"-", 1});
	put_s(&o, "\r\n");
	put_section(&o, &sdp->s, true);
	for (int i = 0; i < sdp->nmedia; i++) {
		const struct sdp_media *m = &sdp->media[i];
		put_s(&o, "m=");
		put_pl(&o, m->type);
		put_s(&o, " ");
		put_pl(&o, m->port);
		if (m->nports.l) {
			put_s(&o, "/");
			put_pl(&o, m->nports);
		}
		put_s(&o, " ");
		put_pl(&o, m->proto);
		for (int f = 0; f < m->nfmts; f++) {
			put_s(&o, " ");
			put_pl(&o, m->fmts[f]);
		}
		put_s(&o, "\r\n");
		put_section(&o, &m->s, false);
	}
	return o.over ? -1 : (int)o.len;
}

const struct sdp_attr *sdp_attr_get(const struct sdp_section *s, const char *name)
{
	for (int i = 0; i < s->nattrs; i++)
		if (sip_pl_eq(s->attrs[i].name, name))
			return &s->attrs[i];
	return NULL;
}

int sdp_attr_remove(struct sdp_section *s, const char *name)
{
	int removed = 0, o = 0;
	for (int i = 0; i < s->nattrs; i++) {
		if (sip_pl_eq(s->attrs[i].name, name))
			removed++;
		else
			s->attrs[o++] = s->attrs[i];
	}
	s->nattrs = o;
	return removed;
}

int sdp_attr_add(struct sdp_section *s, const char *name, struct sip_pl value)
{
	if (s->nattrs >= SDP_MAX_ATTRS)
		return -1;
	s->attrs[s->nattrs++] = (struct sdp_attr){
		.name = {name, strlen(name)}, .value = value, .has_value = value.p != NULL};
	return 0;
}

const struct sdp_conn *sdp_media_conn(const struct sdp_session *sdp, const struct sdp_media *m)
{
	return m->s.conn.present ? &m->s.conn : sdp->s.conn.present ? &sdp->s.conn : NULL;
}
