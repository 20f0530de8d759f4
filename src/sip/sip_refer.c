/* sip_refer — see sip_refer.h. */
#include "sip_refer.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sip_hdr.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX unescaped into out (cap includes the NUL); no control characters,
 * no NUL. 0, or -1. */
static int unescape(struct sip_pl in, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < in.l; i++) {
		int ch = (unsigned char)in.p[i];
		if (ch == '%') {
			if (i + 2 >= in.l)
				return -1;
			int h = hexval(in.p[i + 1]), l = hexval(in.p[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			ch = h * 16 + l;
			i += 2;
		}
		if (ch < 0x20 || ch == 0x7f || o + 1 >= cap)
			return -1;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

/* Trims spaces and tabs off both ends. */
static struct sip_pl trim(struct sip_pl v)
{
	while (v.l && (v.p[0] == ' ' || v.p[0] == '\t'))
		v.p++, v.l--;
	while (v.l && (v.p[v.l - 1] == ' ' || v.p[v.l - 1] == '\t'))
		v.l--;
	return v;
}

/* callid *(SEMI replaces-param), already unescaped when it came in a URI. */
int sip_replaces_parse(struct sip_pl value, struct sip_replaces *out)
{
	memset(out, 0, sizeof(*out));
	bool to = false, from = false;
	size_t start = 0;
	for (size_t i = 0; i <= value.l; i++) {
		if (i < value.l && value.p[i] != ';')
			continue;
		struct sip_pl part = trim((struct sip_pl){value.p + start, i - start});
		if (start == 0) { /* the Call-ID */
			if (!part.l || unescape(part, out->call_id, sizeof(out->call_id)) < 0)
				return -1;
		} else {
			const char *eq = part.l ? memchr(part.p, '=', part.l) : NULL;
			struct sip_pl name = {part.p, eq ? (size_t)(eq - part.p) : part.l};
			struct sip_pl val = {eq ? eq + 1 : part.p + part.l,
					     eq ? part.l - (size_t)(eq + 1 - part.p) : 0};
			name = trim(name);
			val = trim(val);
			if (sip_pl_casecmp(name, "to-tag")) {
				if (!val.l || unescape(val, out->to_tag, sizeof(out->to_tag)) < 0)
					return -1;
				to = true;
			} else if (sip_pl_casecmp(name, "from-tag")) {
				if (!val.l ||
				    unescape(val, out->from_tag, sizeof(out->from_tag)) < 0)
					return -1;
				from = true;
			} else if (sip_pl_casecmp(name, "early-only")) {
				out->early_only = true;
			} /* other generic parameters are ignored (§6.1) */
		}
		start = i + 1;
	}
	return to && from ? 0 : -1;
}

int sip_refer_to_parse(struct sip_pl value, struct sip_refer_to *out)
{
	memset(out, 0, sizeof(*out));
	struct sip_addr a;
	struct sip_pl rest;
	if (sip_addr_parse(&a, value, &rest) < 0)
		return -1;
	if (!sip_pl_casecmp(a.uri.scheme, "sip") && !sip_pl_casecmp(a.uri.scheme, "sips"))
		return -1;
	if (!a.uri.user.l || unescape(a.uri.user, out->user, sizeof(out->user)) < 0)
		return -1;
	if (a.uri.host.l >= sizeof(out->host))
		return -1;
	snprintf(out->host, sizeof(out->host), "%.*s", (int)a.uri.host.l, a.uri.host.p);
	/* ?Replaces=...&other=...: the headers of the URI, each escaped */
	struct sip_pl h = a.uri.headers;
	size_t start = 0;
	for (size_t i = 0; h.l && i <= h.l; i++) {
		if (i < h.l && h.p[i] != '&')
			continue;
		struct sip_pl part = {h.p + start, i - start};
		start = i + 1;
		const char *eq = part.l ? memchr(part.p, '=', part.l) : NULL;
		if (!eq ||
		    !sip_pl_casecmp((struct sip_pl){part.p, (size_t)(eq - part.p)}, "Replaces"))
			continue;
		char buf[3 * SIP_REFER_ID + 64];
		struct sip_pl val = {eq + 1, part.l - (size_t)(eq + 1 - part.p)};
		if (unescape(val, buf, sizeof(buf)) < 0 ||
		    sip_replaces_parse((struct sip_pl){buf, strlen(buf)}, &out->replaces) < 0)
			return -1;
		out->has_replaces = true;
	}
	return 0;
}

int sip_sipfrag(int status, const char *reason, char *out, size_t cap)
{
	int n = snprintf(out, cap, "SIP/2.0 %d %s\r\n", status, reason);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}
