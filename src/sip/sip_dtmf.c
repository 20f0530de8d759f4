/* sip_dtmf — see sip_dtmf.h. */
#include "sip_dtmf.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* A Content-Type value is this media type (parameters after it allowed). */
static bool type_is(struct sip_pl v, const char *type)
{
	size_t n = strlen(type);
	return v.l >= n && strncasecmp(v.p, type, n) == 0 &&
	       (v.l == n || v.p[n] == ';' || v.p[n] == ' ' || v.p[n] == '\t');
}

static char digit_at(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (p >= end)
		return 0;
	char d = (char)toupper((unsigned char)*p);
	return strchr("0123456789*#ABCD", d) && d ? d : 0;
}

/* The value after "Name =" of the body's first line named so, or NULL;
 * *end: the end of its line. */
static const char *field(struct sip_pl body, const char *name, const char **end)
{
	const char *p = body.p, *e = body.p + body.l;
	size_t n = strlen(name);
	while (p && p < e) {
		const char *eol = memchr(p, '\n', (size_t)(e - p));
		const char *le = eol ? eol : e;
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(le - p) >= n && strncasecmp(p, name, n) == 0) {
			const char *q = p + n;
			while (q < le && (*q == ' ' || *q == '\t'))
				q++;
			if (q < le && *q == '=') {
				*end = le;
				return q + 1;
			}
		}
		p = eol ? eol + 1 : e;
	}
	return NULL;
}

int sip_dtmf_info_duration(struct sip_pl body)
{
	const char *end, *p = body.p && body.l ? field(body, "Duration", &end) : NULL;
	if (!p)
		return -1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	int v = 0, digits = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
		if ((v = v * 10 + (*p - '0')) > 65535)
			return -1;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return digits && p == end ? v : -1;
}

char sip_dtmf_info(struct sip_pl ctype, struct sip_pl body)
{
	const char *p = body.p, *end = body.p + body.l;
	if (!body.p || !body.l)
		return 0;
	if (type_is(ctype, "application/dtmf"))
		return digit_at(p, end);
	if (!type_is(ctype, "application/dtmf-relay"))
		return 0;
	/* lines "Name=value"; the one named Signal */
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if (le - p >= 6 && strncasecmp(p, "Signal", 6) == 0) {
			const char *q = p + 6;
			while (q < le && (*q == ' ' || *q == '\t'))
				q++;
			if (q < le && *q == '=')
				return digit_at(q + 1, le);
		}
		p = eol ? eol + 1 : end;
	}
	return 0;
}
