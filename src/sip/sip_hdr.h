/*
 * sip_hdr — parsing the values of the headers a SIP element acts on, on
 * demand: URIs, name-addr (To, From, Contact, Route, ...), Via, CSeq,
 * parameters. Views into the message buffer, like sip_msg.
 */
#ifndef SIP_HDR_H
#define SIP_HDR_H

#include "sip_msg.h"

struct sip_uri {
	struct sip_pl scheme; /* "sip", "sips", "tel", ... */
	struct sip_pl user, password, host;
	int port;	       /* 0 when absent */
	struct sip_pl params;  /* ";a=b;c" */
	struct sip_pl headers; /* after '?' */
	struct sip_pl opaque;  /* everything after the scheme, for other schemes */
};

struct sip_addr {
	struct sip_pl display; /* without quotes; may hold backslash escapes */
	struct sip_pl uri_pl;
	struct sip_uri uri;
	struct sip_pl params; /* header parameters after the URI (tag, expires, q) */
};

struct sip_via {
	struct sip_pl transport; /* "UDP", "TCP", "TLS", ... */
	struct sip_pl host;
	int port;
	struct sip_pl params;
};

/* 0, or -1 if not a URI we understand (a sip/sips URI must be whole). */
int sip_uri_parse(struct sip_uri *u, struct sip_pl pl);
/* One name-addr or addr-spec; *rest is what follows a comma (or empty). */
int sip_addr_parse(struct sip_addr *a, struct sip_pl pl, struct sip_pl *rest);
/* One via-parm; *rest is what follows a comma (or empty). */
int sip_via_parse(struct sip_via *v, struct sip_pl pl, struct sip_pl *rest);
int sip_cseq_parse(struct sip_pl pl, uint32_t *num, struct sip_pl *method);
/* What finds an answer's client transaction (RFC 3261 17.1.3): the top
 * Via (its sent-by in *via) and branch, and the CSeq. 0, or -1. */
struct sip_answer_key {
	struct sip_via via;
	struct sip_pl branch, method;
	uint32_t cseq;
};
int sip_answer_key(const struct sip_msg *m, struct sip_answer_key *k);
/* A parameter of ";a=b;c" by name (any case); value empty if it has none. */
bool sip_param_get(struct sip_pl params, const char *name, struct sip_pl *value);

/*
 * Checks the headers an element relies on before it acts on a message:
 * Request-URI, To, From, every Via, Contact, Route, Record-Route. 0, or the
 * status to answer a request with (400, or 416 for an unknown URI scheme).
 */
int sip_msg_validate(const struct sip_msg *m);

#endif
