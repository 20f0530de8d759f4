/*
 * pbx_dialpat — outbound dial patterns in the Asterisk/pascom sense and
 * the choice of an outbound route (pure: no I/O, no database).
 *
 * A pattern (an optional leading '_' is ignored) matches the whole dialled
 * string, character by character:
 *   0-9 * # +   themselves
 *   X           any digit 0-9
 *   Z           1-9
 *   N           2-9   (X Z N also lowercase, as in Asterisk)
 *   [1-5,7]     one digit of the set (ranges a-b, single digits; ',' optional)
 *   .           one or more further characters (only last)
 *   !           zero or more further characters (only last)
 * e.g. "0." (exit prefix 0: everything after a 0), "+.", "00ZX.", "0NXX.".
 * A route: its patterns, then strip (the first N characters of the dialled
 * string removed) and prepend (a string put in front), in route order.
 */
#ifndef PBX_DIALPAT_H
#define PBX_DIALPAT_H

#include <stdbool.h>
#include <stddef.h>

#define PBX_DIALPAT_LEN 64 /* longest pattern / dialled string accepted */

/* Whether the pattern is well formed (bounded, known characters, closed
 * sets, '.'/'!' only last). */
bool pbx_dialpat_valid(const char *pattern);

/* Whether dialled matches pattern as a whole (an invalid pattern never
 * matches). */
bool pbx_dialpat_match(const char *pattern, const char *dialled);

/* dialled with its first strip characters removed and prepend put in
 * front, into out; the length, or -1 (strip beyond the string leaving
 * nothing, or too long for cap). */
int pbx_dialpat_apply(const char *dialled, int strip, const char *prepend, char *out, size_t cap);

struct pbx_dialpat_route {
	const char *const *patterns;
	int n_patterns;
	int strip;
	const char *prepend;
};

/* The index of the first route (in array order: routes sorted by position)
 * with a pattern matching dialled, the number to send (strip/prepend
 * applied) into out; -1 if none matches (or the result does not fit). */
int pbx_dialpat_select(const struct pbx_dialpat_route *routes, int n, const char *dialled,
		       char *out, size_t cap);

#endif
