/* sip_divert — see sip_divert.h. */
#include "sip_divert.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *token;
	int cause;
} reasons[] = {
	[SIP_DIVERT_UNCONDITIONAL] = {"unconditional", 302},
	[SIP_DIVERT_BUSY] = {"user-busy", 486},
	[SIP_DIVERT_NOANSWER] = {"no-answer", 408},
	[SIP_DIVERT_UNAVAILABLE] = {"unavailable", 503},
	[SIP_DIVERT_DND] = {"do-not-disturb", 480},
};

const char *sip_divert_reason_token(enum sip_divert_reason r)
{
	return (unsigned)r < sizeof(reasons) / sizeof(reasons[0]) ? reasons[r].token : "unknown";
}

int sip_divert_reason_cause(enum sip_divert_reason r)
{
	return (unsigned)r < sizeof(reasons) / sizeof(reasons[0]) ? reasons[r].cause : 404;
}

struct out {
	char *p;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *fmt, ...)
{
	if (o->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

/* A display name as a quoted string and a space (control characters
 * dropped, '"' and '\' escaped), or nothing. */
static void put_display(struct out *o, const char *d)
{
	if (!d || !d[0])
		return;
	put(o, "\"");
	for (const unsigned char *s = (const unsigned char *)d; *s; s++) {
		if (*s < 0x20 || *s == 0x7f)
			continue;
		put(o, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
	}
	put(o, "\" ");
}

static bool user_ok(const char *u)
{
	if (!u || !u[0] || strlen(u) > 64)
		return false;
	for (const unsigned char *s = (const unsigned char *)u; *s; s++)
		if (!isalnum(*s) && !strchr("-_.!~*'()+", *s))
			return false;
	return true;
}

int sip_divert_build(const struct sip_divert_hop *hops, int n, const char *domain, char *out,
		     size_t cap)
{
	struct out o = {out, cap, 0, cap == 0};
	if (cap)
		out[0] = '\0';
	if (n < 2)
		return cap ? 0 : -1;
	for (int i = 0; i < n; i++)
		if (!user_ok(hops[i].user))
			return -1;
	put(&o, "Diversion: ");
	for (int i = n - 2; i >= 0; i--) { /* the most recent first */
		put_display(&o, hops[i].display);
		put(&o, "<sip:%s@%s>;reason=%s;counter=1%s", hops[i].user, domain,
		    sip_divert_reason_token(hops[i].reason), i ? "," : "\r\n");
	}
	/* index 1, 1.1, 1.1.1, ...: each target retargeted from the one before */
	char index[2 * 12 + 2] = "1";
	if (n > 12)
		return -1;
	put(&o, "History-Info: ");
	for (int i = 0; i < n; i++) {
		put_display(&o, hops[i].display);
		if (i == 0) {
			put(&o, "<sip:%s@%s>;index=1", hops[i].user, domain);
		} else {
			char prev[sizeof(index)];
			snprintf(prev, sizeof(prev), "%s", index);
			size_t l = strlen(index);
			snprintf(index + l, sizeof(index) - l, ".1");
			put(&o, "<sip:%s@%s;cause=%d>;index=%s;mp=%s", hops[i].user, domain,
			    sip_divert_reason_cause(hops[i - 1].reason), index, prev);
		}
		put(&o, i < n - 1 ? "," : "\r\n");
	}
	if (o.full) {
		if (cap)
			out[0] = '\0';
		return -1;
	}
	return (int)o.len;
}
