/*
 * pbx_dialpat — matching dialled strings against outbound dial patterns
 * and choosing the route (see pbx_dialpat.h). Pure.
 */
#include "pbx_dialpat.h"

#include <stdio.h>
#include <string.h>

static bool literal(char c)
{
	return (c >= '0' && c <= '9') || c == '*' || c == '#' || c == '+';
}

/* The end of the set beginning at p ('[' at p), or NULL if malformed. */
static const char *set_end(const char *p)
{
	const char *s = p + 1;
	bool any = false;
	while (*s && *s != ']') {
		if (*s >= '0' && *s <= '9') {
			if (s[1] == '-') {
				if (!(s[2] >= '0' && s[2] <= '9') || s[2] < s[0])
					return NULL;
				s += 3;
			} else
				s++;
			any = true;
		} else if (*s == ',')
			s++;
		else
			return NULL;
	}
	return *s == ']' && any ? s : NULL;
}

static bool in_set(const char *p, const char *end, char c)
{
	for (const char *s = p + 1; s < end;) {
		if (*s == ',') {
			s++;
			continue;
		}
		if (s[1] == '-' && s + 2 < end) {
			if (c >= s[0] && c <= s[2])
				return true;
			s += 3;
		} else {
			if (c == *s)
				return true;
			s++;
		}
	}
	return false;
}

bool pbx_dialpat_valid(const char *pattern)
{
	if (!pattern)
		return false;
	const char *p = pattern[0] == '_' ? pattern + 1 : pattern;
	size_t len = strlen(p);
	if (!len || len > PBX_DIALPAT_LEN)
		return false;
	for (; *p; p++) {
		if (literal(*p) || *p == 'X' || *p == 'Z' || *p == 'N' || *p == 'x' || *p == 'z' ||
		    *p == 'n')
			continue;
		if (*p == '[') {
			const char *e = set_end(p);
			if (!e)
				return false;
			p = e;
			continue;
		}
		if ((*p == '.' || *p == '!') && !p[1])
			continue;
		return false;
	}
	return true;
}

bool pbx_dialpat_match(const char *pattern, const char *dialled)
{
	if (!pbx_dialpat_valid(pattern) || !dialled || strlen(dialled) > PBX_DIALPAT_LEN)
		return false;
	const char *p = pattern[0] == '_' ? pattern + 1 : pattern;
	const char *d = dialled;
	for (; *p; p++) {
		if (*p == '.')
			return *d != '\0';
		if (*p == '!')
			return true;
		char c = *d;
		if (!c)
			return false;
		bool digit = c >= '0' && c <= '9';
		switch (*p) {
		case 'X':
		case 'x':
			if (!digit)
				return false;
			break;
		case 'Z':
		case 'z':
			if (!digit || c == '0')
				return false;
			break;
		case 'N':
		case 'n':
			if (!digit || c < '2')
				return false;
			break;
		case '[': {
			const char *e = set_end(p);
			if (!digit || !in_set(p, e, c))
				return false;
			p = e;
			break;
		}
		default:
			if (*p != c)
				return false;
		}
		d++;
	}
	return *d == '\0';
}

int pbx_dialpat_apply(const char *dialled, int strip, const char *prepend, char *out, size_t cap)
{
	if (cap)
		out[0] = '\0';
	if (!dialled || strip < 0 || !prepend)
		return -1;
	size_t len = strlen(dialled);
	if ((size_t)strip >= len && !prepend[0])
		return -1;
	const char *rest = (size_t)strip >= len ? "" : dialled + strip;
	int n = snprintf(out, cap, "%s%s", prepend, rest);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			out[0] = '\0';
		return -1;
	}
	return n;
}

int pbx_dialpat_select(const struct pbx_dialpat_route *routes, int n, const char *dialled,
		       char *out, size_t cap)
{
	if (cap)
		out[0] = '\0';
	for (int i = 0; i < n; i++)
		for (int j = 0; j < routes[i].n_patterns; j++)
			if (pbx_dialpat_match(routes[i].patterns[j], dialled))
				return pbx_dialpat_apply(dialled, routes[i].strip,
							 routes[i].prepend ? routes[i].prepend : "",
							 out, cap) < 0
					       ? -1
					       : i;
	return -1;
}
