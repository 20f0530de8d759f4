/* sdp_codecs — see sdp_codecs.h. */
#include "sdp_codecs.h"

#include <string.h>
#include <strings.h>

/* RFC 3551 §6: the static payload types phones still send without rtpmap. */
static const struct {
	int pt;
	const char *name;
} statics[] = {{0, "PCMU"}, {3, "GSM"}, {4, "G723"},  {8, "PCMA"},
	       {9, "G722"}, {13, "CN"}, {15, "G728"}, {18, "G729"}};

/* An attribute value ("101 telephone-event/8000") starts with format fmt. */
static bool attr_is_for(struct sip_pl v, struct sip_pl fmt)
{
	return v.l > fmt.l && memcmp(v.p, fmt.p, fmt.l) == 0 && (v.p[fmt.l] == ' ');
}

struct sip_pl sdp_codecs_name(const struct sdp_media *m, struct sip_pl fmt)
{
	for (int i = 0; i < m->s.nattrs; i++) {
		const struct sdp_attr *a = &m->s.attrs[i];
		if (!sip_pl_casecmp(a->name, "rtpmap") || !attr_is_for(a->value, fmt))
			continue;
		const char *p = a->value.p + fmt.l, *e = a->value.p + a->value.l;
		while (p < e && *p == ' ')
			p++;
		const char *s = p;
		while (p < e && *p != '/' && *p != ' ')
			p++;
		return (struct sip_pl){s, (size_t)(p - s)};
	}
	int64_t pt = sip_pl_u64(fmt, 127);
	for (size_t i = 0; pt >= 0 && i < sizeof(statics) / sizeof(statics[0]); i++)
		if (statics[i].pt == pt)
			return (struct sip_pl){statics[i].name, strlen(statics[i].name)};
	return (struct sip_pl){"", 0};
}

static bool allowed(const struct sdp_codecs *allow, struct sip_pl name)
{
	if (allow->n == 0)
		return true;
	for (int i = 0; i < allow->n && i < SDP_CODECS_MAX; i++)
		if (allow->names[i] && sip_pl_casecmp(name, allow->names[i]))
			return true;
	return false;
}

/* Drops the a=rtpmap/fmtp/rtcp-fb lines of a removed format. */
static void drop_attrs(struct sdp_section *s, struct sip_pl fmt)
{
	int o = 0;
	for (int i = 0; i < s->nattrs; i++) {
		const struct sdp_attr *a = &s->attrs[i];
		bool per_fmt = sip_pl_casecmp(a->name, "rtpmap") ||
			       sip_pl_casecmp(a->name, "fmtp") ||
			       sip_pl_casecmp(a->name, "rtcp-fb");
		if (!(per_fmt && attr_is_for(a->value, fmt)))
			s->attrs[o++] = *a;
	}
	s->nattrs = o;
}

/* -1 if nothing but telephone-event would be left; else 0, and done if apply. */
static int restrict_media(struct sdp_media *m, const struct sdp_codecs *allow, bool apply)
{
	int nkept = 0, codecs = 0, ngone = 0;
	struct sip_pl kept[SDP_MAX_FMTS], gone[SDP_MAX_FMTS];
	for (int f = 0; f < m->nfmts && f < SDP_MAX_FMTS; f++) {
		struct sip_pl name = sdp_codecs_name(m, m->fmts[f]);
		bool te = sip_pl_casecmp(name, "telephone-event");
		if (te ? allow->keep_te : name.l > 0 && allowed(allow, name)) {
			kept[nkept++] = m->fmts[f];
			codecs += !te;
		} else {
			gone[ngone++] = m->fmts[f];
		}
	}
	if (codecs == 0)
		return -1; /* the stream is left as it was */
	if (!apply)
		return 0;
	memcpy(m->fmts, kept, (size_t)nkept * sizeof(kept[0]));
	m->nfmts = nkept;
	for (int g = 0; g < ngone; g++)
		drop_attrs(&m->s, gone[g]);
	return 0;
}

int sdp_codecs_restrict(struct sdp_session *sdp, const struct sdp_codecs *allow)
{
	/* checked whole first, so a refused description is left as it was */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < sdp->nmedia; i++) {
			struct sdp_media *m = &sdp->media[i];
			if (!sip_pl_casecmp(m->type, "audio") || sip_pl_eq(m->port, "0"))
				continue;
			if (restrict_media(m, allow, pass == 1) < 0)
				return -1;
		}
	return 0;
}

int sdp_codecs_filter(const char *in, size_t len, const struct sdp_codecs *allow, char *out,
		      size_t cap)
{
	struct sdp_session sdp;
	if (sdp_parse(&sdp, in, len) < 0)
		return -1;
	if (sdp_codecs_restrict(&sdp, allow) < 0)
		return -2;
	return sdp_write(&sdp, out, cap);
}
