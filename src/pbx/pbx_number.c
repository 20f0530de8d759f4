/*
 * pbx_number — the numbering plan from pbx.db's settings and the pure
 * conversions of telephone numbers (dialled/received forms → E.164, E.164
 * → national or a trunk's format, emergency numbers, permission classes).
 * See pbx_number.h.
 */
#include "pbx_number.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "pbx.h"

static bool all_digits(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max)
		return false;
	return strspn(s, "0123456789") == n;
}

static void add_emergency(struct pbx_numbering *n, const char *num)
{
	if (!num[0] || strlen(num) >= sizeof(n->emergency[0]) || !all_digits(num, 15))
		return;
	for (int i = 0; i < n->n_emergency; i++)
		if (!strcmp(n->emergency[i], num))
			return;
	if (n->n_emergency < PBX_NUMBER_EMERG)
		snprintf(n->emergency[n->n_emergency++], sizeof(n->emergency[0]), "%s", num);
}

void pbx_numbering_default(struct pbx_numbering *n)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->intl, sizeof(n->intl), "00");
	snprintf(n->natl, sizeof(n->natl), "0");
	add_emergency(n, "110");
	add_emergency(n, "112");
}

static void set_digits(char *dst, size_t cap, const char *v)
{
	if (all_digits(v, cap - 1))
		snprintf(dst, cap, "%s", v);
}

static void load_list(struct pbx_numbering *n, const char *v, bool premium)
{
	json_t *a = json_loads(v, 0, NULL);
	if (!json_is_array(a)) {
		json_decref(a);
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e)
	{
		const char *s = json_string_value(e);
		if (!s)
			continue;
		if (!premium)
			add_emergency(n, s);
		else if (s[0] && strlen(s) < sizeof(n->premium[0]) && all_digits(s, 15) &&
			 n->n_premium < PBX_NUMBER_PREMIUM)
			snprintf(n->premium[n->n_premium++], sizeof(n->premium[0]), "%s", s);
	}
	json_decref(a);
}

int pbx_numbering_load(struct pbx *p, struct pbx_numbering *n)
{
	pbx_numbering_default(n);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "SELECT key,value FROM settings WHERE key LIKE 'numbering.%'",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		const char *v = (const char *)sqlite3_column_text(st, 1);
		if (!k || !v)
			continue;
		if (!strcmp(k, "numbering.country_code"))
			set_digits(n->cc, sizeof(n->cc), v[0] == '+' ? v + 1 : v);
		else if (!strcmp(k, "numbering.area_code")) {
			/* an area code written with its national prefix ("030") */
			const char *a = v;
			if (n->natl[0] && !strncmp(a, n->natl, strlen(n->natl)))
				a += strlen(n->natl);
			set_digits(n->area, sizeof(n->area), a);
		} else if (!strcmp(k, "numbering.international_prefix"))
			set_digits(n->intl, sizeof(n->intl), v);
		else if (!strcmp(k, "numbering.national_prefix"))
			set_digits(n->natl, sizeof(n->natl), v);
		else if (!strcmp(k, "numbering.emergency"))
			load_list(n, v, false);
		else if (!strcmp(k, "numbering.premium"))
			load_list(n, v, true);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The digits of number (separators dropped) into d; *plus when it began
 * with '+'; -1 if anything else is in it or it is too long/empty. */
static int clean(const char *number, char *d, size_t cap, bool *plus)
{
	size_t k = 0;
	*plus = false;
	const char *s = number;
	while (*s == ' ')
		s++;
	if (*s == '+') {
		*plus = true;
		s++;
	}
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			if (k + 1 >= cap)
				return -1;
			d[k++] = *s;
		} else if (!strchr(" -./()", *s))
			return -1;
	}
	d[k] = '\0';
	return k ? (int)k : -1;
}

static bool starts(const char *s, const char *prefix)
{
	return prefix[0] && !strncmp(s, prefix, strlen(prefix));
}

static int put(char *out, size_t cap, const char *a, const char *b, const char *c)
{
	int len = snprintf(out, cap, "%s%s%s", a, b, c);
	if (len < 0 || (size_t)len >= cap) {
		if (cap)
			out[0] = '\0';
		return -1;
	}
	return len;
}

int pbx_number_e164(const struct pbx_numbering *n, const char *number, char *out, size_t cap)
{
	char d[64];
	bool plus;
	if (cap)
		out[0] = '\0';
	if (!number || clean(number, d, sizeof(d), &plus) < 0)
		return -1;
	const char *cc = "", *area = "", *rest = d;
	if (plus)
		;
	else if (starts(d, n->intl))
		rest = d + strlen(n->intl);
	else if (starts(d, n->natl)) {
		if (!n->cc[0])
			return -1;
		cc = n->cc;
		rest = d + strlen(n->natl);
	} else {
		/* local: the area code in front (none set: the number is national) */
		if (!n->cc[0])
			return -1;
		cc = n->cc;
		area = n->area;
	}
	if (!rest[0] || (rest[0] == '0' && !cc[0])) /* no country code begins with 0 */
		return -1;
	size_t lc = strlen(cc), la = strlen(area), lr = strlen(rest);
	if (lc + la + lr > PBX_NUMBER_MAX)
		return -1;
	char res[PBX_NUMBER_MAX + 2]; /* "+", cc, area, rest: the lengths checked above */
	res[0] = '+';
	memcpy(res + 1, cc, lc);
	memcpy(res + 1 + lc, area, la);
	memcpy(res + 1 + lc + la, rest, lr);
	res[1 + lc + la + lr] = '\0';
	/* in our own country a national number does not begin with the
	 * national prefix ("+49 030…" is not a number: it would be ambiguous) */
	if (n->cc[0] && starts(res + 1, n->cc) && starts(res + 1 + strlen(n->cc), n->natl))
		return -1;
	return put(out, cap, res, "", "");
}

/* e164 "+digits" checked; the digits (without '+') or NULL. */
static const char *e164_digits(const char *e164)
{
	if (!e164 || e164[0] != '+' || !e164[1] || e164[1] == '0' ||
	    !all_digits(e164 + 1, PBX_NUMBER_MAX))
		return NULL;
	return e164 + 1;
}

int pbx_number_national(const struct pbx_numbering *n, const char *e164, char *out, size_t cap)
{
	if (cap)
		out[0] = '\0';
	const char *d = e164_digits(e164);
	if (!d)
		return -1;
	if (n->cc[0] && starts(d, n->cc) && d[strlen(n->cc)])
		return put(out, cap, n->natl, d + strlen(n->cc), "");
	return put(out, cap, n->intl, d, "");
}

int pbx_number_format(const struct pbx_numbering *n, const char *e164, enum pbx_number_fmt fmt,
		      char *out, size_t cap)
{
	if (cap)
		out[0] = '\0';
	const char *d = e164_digits(e164);
	if (!d)
		return -1;
	switch (fmt) {
	case PBX_NUMBER_E164:
		return put(out, cap, "+", d, "");
	case PBX_NUMBER_E164_PLAIN:
		return put(out, cap, d, "", "");
	case PBX_NUMBER_NATIONAL:
		return pbx_number_national(n, e164, out, cap);
	}
	return -1;
}

int pbx_number_fmt_parse(const char *s, enum pbx_number_fmt *fmt)
{
	if (!s)
		return -1;
	if (!strcmp(s, "e164"))
		*fmt = PBX_NUMBER_E164;
	else if (!strcmp(s, "e164_plain"))
		*fmt = PBX_NUMBER_E164_PLAIN;
	else if (!strcmp(s, "national"))
		*fmt = PBX_NUMBER_NATIONAL;
	else
		return -1;
	return 0;
}

bool pbx_number_is_emergency(const struct pbx_numbering *n, const char *dialled)
{
	char d[64];
	bool plus;
	if (!dialled || clean(dialled, d, sizeof(d), &plus) < 0 || plus)
		return false;
	if (!strcmp(d, "110") || !strcmp(d, "112"))
		return true;
	for (int i = 0; i < n->n_emergency && i < PBX_NUMBER_EMERG; i++)
		if (!strcmp(d, n->emergency[i]))
			return true;
	return false;
}

enum pbx_number_class pbx_number_class_of(const struct pbx_numbering *n, const char *e164)
{
	const char *d = e164_digits(e164);
	if (!d || !n->cc[0] || !starts(d, n->cc))
		return PBX_CLASS_INTERNATIONAL;
	char nat[PBX_NUMBER_MAX + 8];
	if (pbx_number_national(n, e164, nat, sizeof(nat)) < 0)
		return PBX_CLASS_INTERNATIONAL;
	for (int i = 0; i < n->n_premium && i < PBX_NUMBER_PREMIUM; i++) {
		const char *pre = n->premium[i];
		/* written nationally ("0900") or without the prefix ("900") */
		if (starts(nat, pre) ||
		    (pre[0] && starts(nat, n->natl) && starts(nat + strlen(n->natl), pre)))
			return PBX_CLASS_PREMIUM;
	}
	return PBX_CLASS_NATIONAL;
}

bool pbx_number_allowed(const struct pbx_numbering *n, enum pbx_number_class c, const char *dialled,
			const char *e164)
{
	if (pbx_number_is_emergency(n, dialled))
		return true;
	if (!e164 || c == PBX_CLASS_INTERNAL)
		return false;
	return pbx_number_class_of(n, e164) <= c;
}

static const char *const class_names[] = {"internal", "national", "international", "premium"};

int pbx_number_class_parse(const char *s, enum pbx_number_class *c)
{
	for (int i = 0; s && i < 4; i++)
		if (!strcmp(s, class_names[i])) {
			*c = (enum pbx_number_class)i;
			return 0;
		}
	return -1;
}

const char *pbx_number_class_name(enum pbx_number_class c)
{
	return (unsigned)c < 4 ? class_names[c] : "internal";
}
