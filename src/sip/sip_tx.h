/*
 * sip_tx — the four transaction state machines of RFC 3261 §17, with the
 * Accepted state of RFC 6026, as pure code: time is passed in (ms), and
 * every call returns what the owner must do (send, deliver to the
 * transaction user, report a timeout, free). The owner keeps the bytes to
 * resend, matches messages to transactions (sip_tx_key) and runs
 * sip_tx_timer at sip_tx_deadline. On reliable transports nothing is
 * retransmitted and the waiting states end at once.
 */
#ifndef SIP_TX_H
#define SIP_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip_msg.h"

#define SIP_T1 500  /* ms: round-trip estimate */
#define SIP_T2 4000 /* ms: longest retransmit interval for non-INVITE and responses */
#define SIP_T4 5000 /* ms: longest a message stays in the network */

enum sip_tx_kind { SIP_TX_ICT, SIP_TX_NICT, SIP_TX_IST, SIP_TX_NIST };

enum sip_tx_state {
	SIP_TX_CALLING,
	SIP_TX_TRYING,
	SIP_TX_PROCEEDING,
	SIP_TX_COMPLETED,
	SIP_TX_CONFIRMED,
	SIP_TX_ACCEPTED, /* RFC 6026: after a 2xx to INVITE */
	SIP_TX_TERMINATED,
};

/* Actions, ORed together. */
#define SIP_TX_SEND_REQUEST  0x01 /* (re)send the request: client */
#define SIP_TX_SEND_RESPONSE 0x02 /* (re)send the last response: server */
#define SIP_TX_SEND_ACK	     0x04 /* an INVITE got a final non-2xx: send (again) its ACK */
#define SIP_TX_DELIVER	     0x08 /* hand the message to the transaction user */
#define SIP_TX_TIMEOUT	     0x10 /* no answer (client) or no ACK (server): tell the user */
#define SIP_TX_DONE	     0x20 /* terminated: free the transaction */

struct sip_tx {
	enum sip_tx_kind kind;
	enum sip_tx_state state;
	bool reliable;
	int64_t retx_at; /* Timer A, E or G; 0 when not running */
	int64_t retx_interval;
	int64_t timeout_at; /* Timer B, F or H */
	int64_t wait_at;    /* Timer D, K, I, J, L or M */
	int last_status;    /* of the last response sent or received */
	/* Server, set by the owner after sip_tx_server_start: */
	bool resend_2xx; /* INVITE over an unreliable transport: the 2xx is resent
			    (T1 doubling to T2, RFC 3261 13.3.1.4) until its ACK,
			    for a user that cannot do so itself (a stateful proxy
			    in front of a reliable hop); T4 then absorbs stragglers */
	int64_t timer_j; /* non-INVITE: how long Completed absorbs retransmissions
			    on unreliable transports: 64*T1, or T4 as proxies keep it */
};

/* A client transaction, just after its request was first sent. */
void sip_tx_client_start(struct sip_tx *t, bool invite, bool reliable, int64_t now);
int sip_tx_client_response(struct sip_tx *t, int status, int64_t now);
/* A server transaction, for a request just received (RFC 3261 17.2):
 * INVITE: Proceeding; a final non-2xx -> Completed (Timer G resends it on
 * unreliable transports, Timer H gives up waiting for the ACK), its ACK ->
 * Confirmed (Timer I), a 2xx -> Accepted (RFC 6026, Timer L).
 * Non-INVITE: Trying, Proceeding on a provisional, a final -> Completed
 * (Timer J). */
void sip_tx_server_start(struct sip_tx *t, bool invite, bool reliable, int64_t now);
/* The same request again, or (INVITE) its ACK. */
int sip_tx_server_request(struct sip_tx *t, bool is_ack, int64_t now);
/* The transaction user answers; -1 if it may not (already final, say). */
int sip_tx_server_respond(struct sip_tx *t, int status, int64_t now);
int sip_tx_timer(struct sip_tx *t, int64_t now);
/* When sip_tx_timer is next due; 0 if never. */
int64_t sip_tx_deadline(const struct sip_tx *t);

/*
 * The matching key of a message (RFC 3261 17.1.3 and 17.2.3): top Via
 * branch, and for a server also the sent-by; the method, with ACK matching
 * its INVITE. -1 when the message has no RFC 3261 branch.
 */
int sip_tx_key(const struct sip_msg *m, bool server, char *out, size_t cap);

#endif
