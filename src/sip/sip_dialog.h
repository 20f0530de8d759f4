/*
 * sip_dialog — dialogs (RFC 3261 §12) as pure code: the state both ends
 * keep (Call-ID, tags, the remote target, the route set, CSeq numbers),
 * made from the request or answer that creates the dialog, requests
 * written within it, and requests received matched to it. Values are
 * copied in (a dialog outlives the messages that made it); no I/O, no
 * allocation.
 */
#ifndef SIP_DIALOG_H
#define SIP_DIALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip_msg.h"

#define SIP_DIALOG_HDR 1024

struct sip_dialog {
	char call_id[SIP_DIALOG_HDR]; /* longer ones are refused (400), not cut */
	char local_tag[40];
	char local[SIP_DIALOG_HDR];  /* From of our requests, with our tag */
	char remote[SIP_DIALOG_HDR]; /* To of our requests, with their tag once known */
	char target[SIP_DIALOG_HDR]; /* the remote target: the other side's Contact URI */
	char route[SIP_DIALOG_HDR];  /* the route set, as "Route: <...>\r\n" lines */
	uint32_t local_cseq;	     /* the last CSeq number we used */
	uint32_t remote_cseq;	     /* the last one the other side used; 0: none yet */
};

/* §12.1.1, we answer a dialog-creating request: route set = its
 * Record-Route in order, target = its Contact. 0, or -1 if a value does
 * not fit or the request lacks Contact. */
int sip_dialog_uas(struct sip_dialog *d, const struct sip_msg *req, const char *local_tag);
/* §12.1.2, we send a dialog-creating request: what it carries (from with
 * our tag, to without, the Request-URI as target, a preloaded route such
 * as a Path, or "" for none). -1 if a value does not fit. */
int sip_dialog_uac(struct sip_dialog *d, const char *call_id, const char *from,
		   const char *local_tag, const char *to, const char *target, const char *route,
		   uint32_t cseq);
/* The answer to it (a 101-199 with a tag, or a 2xx) sets the remote tag
 * and target, and the route set from its Record-Route in reverse; an answer
 * without Record-Route keeps the preloaded route. */
int sip_dialog_uac_answer(struct sip_dialog *d, const struct sip_msg *resp);
/* §12.2.1.1: a request within the dialog. cseq 0 takes the next number
 * (ACK and CANCEL pass the INVITE's). via: the whole Via value; extra:
 * more header lines or NULL. Returns the length, or -1 if cap is too small. */
int sip_dialog_request(struct sip_dialog *d, const char *method, uint32_t cseq, const char *via,
		       const char *contact, const char *extra, struct sip_pl body,
		       struct sip_pl ctype, char *out, size_t cap);
/* §12.2.2: Call-ID, To tag = our tag, From tag = theirs. */
bool sip_dialog_matches(const struct sip_dialog *d, const struct sip_msg *req);
/* §12.2.2: the other side's CSeq must grow (ACK and CANCEL excepted): 0 and
 * recorded, or -1 for a request to answer with 500. */
int sip_dialog_remote_cseq(struct sip_dialog *d, const struct sip_msg *req);

#endif
