/* pbx_inbound — the rules of inbound numbers and blocks (pure) and the
 * lookups of the call path: an inbound call's destination, a caller's name
 * in the phonebook (pbx_inbound.h). No HTTP here. */
#include "pbx_inbound.h"

#include <stdio.h>
#include <string.h>

#include "../core/core_db.h"
#include "pbx_number.h"

#define CAND_LEN (PBX_NUMBER_MAX + 2) /* "+", 15 digits, NUL */

bool pbx_inbound_is_e164(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 3 || n > PBX_NUMBER_MAX + 1 || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	for (size_t i = 2; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* An entry's last number: range_end, or number for a single DID. */
static const char *last_of(const char *number, const char *range_end)
{
	return range_end && *range_end ? range_end : number;
}

bool pbx_inbound_holds(const char *number, const char *range_end, const char *e164)
{
	const char *end = last_of(number, range_end);
	if (!pbx_inbound_is_e164(number) || !pbx_inbound_is_e164(end) || !pbx_inbound_is_e164(e164))
		return false;
	size_t n = strlen(number);
	if (strlen(end) != n || strlen(e164) != n)
		return false;
	/* same length, digits only: the string order is the numeric order */
	return strcmp(number, e164) <= 0 && strcmp(e164, end) <= 0;
}

bool pbx_inbound_overlap(const char *a, const char *a_end, const char *b, const char *b_end)
{
	const char *ae = last_of(a, a_end), *be = last_of(b, b_end);
	if (!pbx_inbound_is_e164(a) || !pbx_inbound_is_e164(ae) || !pbx_inbound_is_e164(b) ||
	    !pbx_inbound_is_e164(be))
		return false;
	size_t n = strlen(a);
	if (strlen(ae) != n || strlen(b) != n || strlen(be) != n)
		return false;
	return strcmp(a, be) <= 0 && strcmp(b, ae) <= 0;
}

const char *pbx_inbound_check_range(const char *number, const char *range_end)
{
	if (!pbx_inbound_is_e164(number))
		return "number must be a telephone number";
	if (!range_end || !*range_end)
		return NULL;
	if (!pbx_inbound_is_e164(range_end))
		return "range_end must be a telephone number or empty";
	if (strlen(range_end) != strlen(number))
		return "range_end must have as many digits as number";
	if (strcmp(range_end, number) <= 0)
		return "range_end must be greater than number";
	return NULL;
}

/* A checked copy (no silent truncation): 0, or -1 if src does not fit. */
static int copy(char *out, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= cap) {
		if (cap)
			out[0] = '\0';
		return -1;
	}
	memcpy(out, src ? src : "", n + 1);
	return 0;
}

/* The E.164 forms to try for a number as a carrier sends it (user
 * parameters after ';' dropped): its normalised form, and for all digits
 * "+digits" (the "4930…" form without '+'), that one first when plain_first
 * (the trunk sends numbers so). The count, 0 to 2. */
static int candidates(struct pbx *p, const char *number, bool plain_first, char c[2][CAND_LEN])
{
	char user[64];
	size_t n = number ? strcspn(number, ";") : 0;
	if (n == 0 || n >= sizeof(user))
		return 0;
	memcpy(user, number, n);
	user[n] = '\0';
	struct pbx_numbering nb;
	pbx_numbering_load(p, &nb); /* a database error leaves the defaults */
	char norm[CAND_LEN] = "", plain[CAND_LEN] = "";
	if (pbx_number_e164(&nb, user, norm, sizeof(norm)) < 0)
		norm[0] = '\0';
	if (strspn(user, "0123456789") == n && n + 1 < sizeof(plain)) {
		plain[0] = '+';
		memcpy(plain + 1, user, n + 1);
		if (!pbx_inbound_is_e164(plain) || strcmp(plain, norm) == 0)
			plain[0] = '\0';
	}
	const char *order[2] = {plain_first ? plain : norm, plain_first ? norm : plain};
	int k = 0;
	for (int i = 0; i < 2; i++)
		if (order[i][0])
			memcpy(c[k++], order[i], CAND_LEN);
	return k;
}

/* The entry of trunk_id that holds e164 into out: 0, or -1. */
static int find_entry(struct pbx *p, long long trunk_id, const char *e164,
		      struct pbx_inbound_target *out)
{
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT number, range_end, target_type, target FROM "
					       "trunk_numbers WHERE trunk_id=?1 AND "
					       "length(number)=length(?2) ORDER BY number");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, trunk_id);
	sqlite3_bind_text(st, 2, e164, -1, SQLITE_STATIC);
	int r = -1;
	while (r < 0 && sqlite3_step(st) == SQLITE_ROW) {
		if (!pbx_inbound_holds((const char *)sqlite3_column_text(st, 0),
				       (const char *)sqlite3_column_text(st, 1), e164))
			continue;
		if (copy(out->type, sizeof(out->type), (const char *)sqlite3_column_text(st, 2)) ==
			    0 &&
		    copy(out->target, sizeof(out->target),
			 (const char *)sqlite3_column_text(st, 3)) == 0) {
			out->is_default = false;
			r = 0;
		} else {
			break;
		}
	}
	sqlite3_reset(st);
	return r;
}

int pbx_inbound_find(struct pbx *p, long long trunk_id, const char *called,
		     struct pbx_inbound_target *out)
{
	char fmt[16] = "", dtype[16] = "", dtarget[72] = "";
	sqlite3_stmt *st = core_db_stmt(
		p->db, "SELECT number_format, default_type, default_target FROM trunks WHERE id=?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, trunk_id);
	bool found = sqlite3_step(st) == SQLITE_ROW &&
		     copy(fmt, sizeof(fmt), (const char *)sqlite3_column_text(st, 0)) == 0 &&
		     copy(dtype, sizeof(dtype), (const char *)sqlite3_column_text(st, 1)) == 0 &&
		     copy(dtarget, sizeof(dtarget), (const char *)sqlite3_column_text(st, 2)) == 0;
	sqlite3_reset(st);
	if (!found)
		return -1; /* no such trunk */
	char c[2][CAND_LEN];
	int n = candidates(p, called, strcmp(fmt, "e164_plain") == 0, c);
	for (int i = 0; i < n; i++)
		if (find_entry(p, trunk_id, c[i], out) == 0)
			return 0;
	if (!dtype[0])
		return -1;
	memcpy(out->type, dtype, sizeof(out->type));
	memcpy(out->target, dtarget, sizeof(out->target));
	out->is_default = true;
	return 0;
}

int pbx_phonebook_name(struct pbx *p, const char *number, char *out, size_t cap)
{
	char c[2][CAND_LEN];
	int n = candidates(p, number, false, c), r = -1;
	if (cap)
		out[0] = '\0';
	sqlite3_stmt *st =
		n ? core_db_stmt(p->db,
				 "SELECT name FROM phonebook WHERE e164=? ORDER BY id LIMIT 1")
		  : NULL;
	for (int i = 0; st && r < 0 && i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, c[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			r = copy(out, cap, (const char *)sqlite3_column_text(st, 0));
			break;
		}
	}
	if (st)
		sqlite3_reset(st);
	return r;
}
