/*
 * pbx_inbound — a phone system's inbound numbers and its phonebook (tables
 * trunk_numbers and phonebook of pbx.db, migration 8): where a call a
 * carrier sends on a trunk goes (a DID, a block of DIDs, else the trunk's
 * default destination) and the name the phonebook has for a caller's
 * number. pbx_inbound.c holds the lookups for the call path (no HTTP) and
 * the pure rules of numbers and blocks (unit-tested); the APIs are
 * pbx_inbound_api.c (/api/v1/inbound-numbers) and pbx_phonebook_api.c
 * (/api/v1/phonebook).
 *
 * Every stored number is E.164 ("+" and up to 15 digits). A block is
 * number..range_end, both ends in, of the same length; a number of another
 * length is never in it, so that within one length the numeric order is
 * the order of the strings.
 */
#ifndef PBX_INBOUND_H
#define PBX_INBOUND_H

#include <stdbool.h>
#include <stddef.h>

#include "pbx.h"

#define PBX_INBOUND_MAX		  1000	/* inbound numbers (entries) per phone system */
#define PBX_PHONEBOOK_MAX	  10000 /* phonebook entries per phone system */
#define PBX_PHONEBOOK_NAME_MAX	  128	/* characters (UTF-8 code points) of a name */
#define PBX_PHONEBOOK_NAME_BYTES  (PBX_PHONEBOOK_NAME_MAX * 4 + 1) /* a buffer for any name */
#define PBX_PHONEBOOK_NUMBER_MAX  32  /* characters of a number as typed */
#define PBX_PHONEBOOK_RESULTS_MAX 200 /* entries in one answer */
#define PBX_PHONEBOOK_QUERY_MAX	  64  /* characters of a search */

struct pbx_inbound_target {
	char type[16];	 /* "extension" | "group" | "voicemail" */
	char target[72]; /* an extension (a user's, a group's) */
	bool is_default; /* the trunk's default destination, no inbound number */
};

/* Whether s is E.164 as stored: '+', a first digit 1-9, 2 to 15 digits. */
bool pbx_inbound_is_e164(const char *s);

/* Whether e164 is the DID number (range_end "") or lies in the block
 * number..range_end (both ends in). Anything not E.164, or of another
 * length than the block, is not in it. Pure. */
bool pbx_inbound_holds(const char *number, const char *range_end, const char *e164);

/* Whether the entries (a, a_end) and (b, b_end) (range_end "" for a
 * single DID) share a number. Pure. */
bool pbx_inbound_overlap(const char *a, const char *a_end, const char *b, const char *b_end);

/* An entry as it will be stored (both normalised already): NULL, or why
 * it is refused (a message for a 400). Pure. */
const char *pbx_inbound_check_range(const char *number, const char *range_end);

/* The destination of a call that came on trunk_id for the called number
 * (any form a carrier sends: "+4930…", "4930…", "030…", a user part of a
 * Request-URI, user parameters after ';' ignored — normalised with
 * pbx_number_e164; "4930…" is also tried as "+4930…"). A DID or a block
 * that holds it, else the trunk's default destination; 0 and *out, or -1:
 * none (the caller answers 404). Whether the target still exists is the
 * caller's to find out when it resolves it. */
int pbx_inbound_find(struct pbx *p, long long trunk_id, const char *called,
		     struct pbx_inbound_target *out);

/* The phonebook's name for a caller's number (normalised to E.164 first,
 * as pbx_inbound_find does), copied to out (PBX_PHONEBOOK_NAME_BYTES hold
 * any); 0, or -1: none, or it does not fit cap. */
int pbx_phonebook_name(struct pbx *p, const char *number, char *out, size_t cap);

/* pbx_inbound_api.c: /api/v1/inbound-numbers, rest "" or "/ID". */
void pbx_inbound_api_handle(struct pbx *p, struct core_httpd_req *req, const char *rest);
/* pbx_phonebook_api.c: /api/v1/phonebook, rest "" or "/ID". */
void pbx_phonebook_api_handle(struct pbx *p, struct core_httpd_req *req, const char *rest);

#endif
