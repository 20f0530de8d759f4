/*
 * sip_dialoginfo — the body of a NOTIFY of the dialog event package (RFC
 * 4235, application/dialog-info+xml) as pure code: one document with a
 * version, state "full" or "partial", the watched entity and one <dialog>
 * per dialog of the watched user (its ids, direction, state, and the
 * local and remote participants' identities and targets). Every value is
 * XML-escaped (Call-IDs, tags and display names come from the wire); no
 * I/O, no allocation.
 */
#ifndef SIP_DIALOGINFO_H
#define SIP_DIALOGINFO_H

#include <stddef.h>

#define SIP_DIALOGINFO_CTYPE "application/dialog-info+xml"

enum sip_dinfo_dir { SIP_DINFO_NONE, SIP_DINFO_INITIATOR, SIP_DINFO_RECIPIENT };

/* RFC 4235 3.7.1: the states of a dialog. */
enum sip_dinfo_state {
	SIP_DINFO_TRYING,
	SIP_DINFO_PROCEEDING,
	SIP_DINFO_EARLY,
	SIP_DINFO_CONFIRMED,
	SIP_DINFO_TERMINATED,
};

/* One participant: identity URI (and its display name) and target URI;
 * NULL or "" leaves an element out. */
struct sip_dinfo_party {
	const char *identity, *display, *target;
};

struct sip_dinfo_dialog {
	const char *id;			    /* required, unique in the document */
	const char *call_id;		    /* with both tags, or NULL for none */
	const char *local_tag, *remote_tag; /* the observed UA's view */
	enum sip_dinfo_dir direction;
	enum sip_dinfo_state state;
	struct sip_dinfo_party local, remote;
};

/* The state's name ("trying", ...). */
const char *sip_dinfo_state_name(enum sip_dinfo_state s);
/* The document into out (NUL-terminated): its length, or -1 if cap is too
 * small or a required value is missing. full: state="full", else "partial". */
int sip_dialoginfo_build(char *out, size_t cap, unsigned long version, int full, const char *entity,
			 const struct sip_dinfo_dialog *d, size_t n);
/* XML-escapes s (& < > " ' and no control characters but tab, CR, LF)
 * into out: its length, or -1 if cap is too small. */
int sip_xml_escape(char *out, size_t cap, const char *s);

#endif
