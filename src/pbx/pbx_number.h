/*
 * pbx_number — a phone system's numbering plan (pbx.db settings
 * numbering.country_code, numbering.area_code, numbering.international_prefix
 * (default "00"), numbering.national_prefix (default "0"), numbering.emergency,
 * numbering.premium) and the pure conversions of telephone numbers between
 * the forms people dial and carriers send:
 *
 *   "+49 30 1234-5"  "0049301234"  "030 12345"  "12345" (local: area added)
 *        → E.164 "+493012345" (pbx_number_e164)
 *   "+493012345" → national "03012345" when the country is ours, else
 *        international "0049…" (pbx_number_national)
 *   pbx_number_format: a trunk's number_format (E164 "+49…", E164_PLAIN
 *        "49…", NATIONAL "030…").
 *
 * Separators " -./()" are ignored in input; anything else that is not a
 * digit (or one leading '+') makes the input "not a number" (-1). Results
 * are bounded (at most PBX_NUMBER_MAX digits, E.164 allows 15).
 */
#ifndef PBX_NUMBER_H
#define PBX_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

struct pbx;

#define PBX_NUMBER_MAX	   15 /* digits of an E.164 number (ITU-T E.164 §6) */
#define PBX_NUMBER_EMERG   16 /* emergency numbers kept (110, 112 always) */
#define PBX_NUMBER_PREMIUM 16

struct pbx_numbering {
	char cc[8]; /* country code without '+', "" = unknown (then only + and 00 forms convert) */
	char area[16];			      /* area code without the national prefix, "" = none */
	char intl[8];			      /* international prefix, "00" */
	char natl[8];			      /* national (trunk) prefix, "0" */
	char emergency[PBX_NUMBER_EMERG][16]; /* "110", "112", … */
	int n_emergency;
	char premium[PBX_NUMBER_PREMIUM][16]; /* national-form prefixes, e.g. "0900" */
	int n_premium;
};

enum pbx_number_fmt {
	PBX_NUMBER_E164,       /* "+493012345" */
	PBX_NUMBER_E164_PLAIN, /* "493012345" */
	PBX_NUMBER_NATIONAL,   /* "03012345" (other countries "0044…") */
};

/* The defaults (intl "00", natl "0", emergency 110 and 112, rest empty). */
void pbx_numbering_default(struct pbx_numbering *n);

/* Reads the numbering settings of the phone system's pbx.db over the
 * defaults; 0, or -1 on a database error (n then holds the defaults). */
int pbx_numbering_load(struct pbx *p, struct pbx_numbering *n);

/* A received or dialled number in international ("+…", intl prefix),
 * national (natl prefix) or local form → "+CC…" into out; the length, or
 * -1 if it is not a number (or a national/local form without a country
 * code, or too long for cap / E.164). */
int pbx_number_e164(const struct pbx_numbering *n, const char *number, char *out, size_t cap);

/* "+CC…" → national form (natl prefix + rest) when CC is ours, else the
 * international form (intl prefix + digits); the length or -1. */
int pbx_number_national(const struct pbx_numbering *n, const char *e164, char *out, size_t cap);

/* "+CC…" in the format a trunk wants; the length or -1. */
int pbx_number_format(const struct pbx_numbering *n, const char *e164, enum pbx_number_fmt fmt,
		      char *out, size_t cap);

/* "e164" | "e164_plain" | "national" → fmt; -1 if unknown. */
int pbx_number_fmt_parse(const char *s, enum pbx_number_fmt *fmt);

/* Whether the dialled keys are an emergency number (110, 112 and the
 * settings' list; exact match after removing separators). */
bool pbx_number_is_emergency(const struct pbx_numbering *n, const char *dialled);

/* The permission class a call to "+CC…" needs: national (own country),
 * premium (own country, national form starts with a premium prefix),
 * international (another country). */
enum pbx_number_class {
	PBX_CLASS_INTERNAL = 0,
	PBX_CLASS_NATIONAL = 1,
	PBX_CLASS_INTERNATIONAL = 2,
	PBX_CLASS_PREMIUM = 3,
};
enum pbx_number_class pbx_number_class_of(const struct pbx_numbering *n, const char *e164);

/* Whether a user of class c may call: the dialled keys as dialled (an
 * emergency number is always allowed, whatever the class) and their E.164
 * form (NULL if none: then only an emergency number is allowed). */
bool pbx_number_allowed(const struct pbx_numbering *n, enum pbx_number_class c, const char *dialled,
			const char *e164);

/* "internal" | "national" | "international" | "premium" ↔ class; parse -1
 * if unknown. */
int pbx_number_class_parse(const char *s, enum pbx_number_class *c);
const char *pbx_number_class_name(enum pbx_number_class c);

#endif
