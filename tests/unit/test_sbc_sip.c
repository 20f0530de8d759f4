/*
 * The SBC's flow tokens (sbc_sip_flow: MAC, tampering, another SBC's key, a
 * connection that has gone, a UDP socket that does not exist) and its table
 * of remembered transactions (sbc_sip_txn: matching by key, branch and
 * method in each direction, the ACK of a 2xx by Call-ID and CSeq, the
 * INVITE a CANCEL belongs to, forgetting, the count and byte bounds), on a
 * minimal struct sbc_sip with no SIP sockets; its TCP connections are real
 * ones on loopback, accepted by a core_conn service of the test's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "../../src/core/core_conn.h"
#include "../../src/core/core_hash.h"
#include "../../src/sbc/sbc_sip_int.h"
#include "../../src/sip/sip_tx.h"

/* Connections: clients connect to a listener of s->streams on loopback. */
static struct event_base *base;
static struct core_conn *opened; /* the last one accepted */
static int clients[8], nclients;

static void *t_on_open(struct core_conn *c, void *arg)
{
	(void)arg;
	opened = c;
	return c;
}

static int t_on_read(struct core_conn *c, void *st, struct evbuffer *in)
{
	(void)c;
	(void)st;
	(void)in;
	return 0;
}

static const struct core_conn_desc t_desc = {.name = "test",
					     .max_conns = 8,
					     .per_address = 8,
					     .idle = 60,
					     .on_open = t_on_open,
					     .on_read = t_on_read};
static struct sockaddr_in t_listen_addr;

/* A new connection to s's service: its id. */
static uint64_t conn_open(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0 && nclients < 8);
	assert_int_equal(connect(fd, (struct sockaddr *)&t_listen_addr, sizeof(t_listen_addr)), 0);
	clients[nclients++] = fd;
	opened = NULL;
	for (int i = 0; i < 1000 && !opened; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_non_null(opened);
	return core_conn_id(opened);
}

static void conns_setup(struct sbc_sip *s)
{
	base = event_base_new();
	assert_non_null(base);
	s->streams = core_conn_service_new(base, &t_desc, NULL);
	assert_non_null(s->streams);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	t_listen_addr = (struct sockaddr_in){.sin_family = AF_INET,
					     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(t_listen_addr);
	assert_int_equal(bind(l, (struct sockaddr *)&t_listen_addr, len), 0);
	assert_int_equal(listen(l, 8), 0);
	evutil_make_socket_nonblocking(l); /* as the supervisor's listeners are */
	assert_int_equal(getsockname(l, (struct sockaddr *)&t_listen_addr, &len), 0);
	assert_int_equal(core_conn_listen(s->streams, l, NULL), 0);
}

static void conns_teardown(struct sbc_sip *s)
{
	core_conn_service_free(s->streams);
	while (nclients > 0)
		close(clients[--nclients]);
	event_base_free(base);
}

static int setup(void **state)
{
	assert_true(sodium_init() >= 0);
	struct sbc_sip *s = calloc(1, sizeof(*s)); /* large: zeroed, on the heap */
	assert_non_null(s);
	randombytes_buf(s->token_key, sizeof(s->token_key));
	randombytes_buf(s->txn_hash_key, sizeof(s->txn_hash_key));
	s->nudp = 2;
	conns_setup(s);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct sbc_sip *s = *state;
	while (s->txns)
		sbc_sip_txn_forget(s, &s->txns);
	conns_teardown(s);
	free(s);
	return 0;
}

/* ---- flow tokens ---- */

static struct sip_flow flow_v4(enum sip_transport t, int udp, uint64_t conn)
{
	struct sip_flow f = {.t = t, .udp = udp, .conn = conn};
	struct sockaddr_in *a = (struct sockaddr_in *)&f.addr, *l = (struct sockaddr_in *)&f.local;
	a->sin_family = l->sin_family = AF_INET;
	a->sin_port = htons(40123);
	inet_pton(AF_INET, "198.51.100.7", &a->sin_addr);
	l->sin_port = htons(5061);
	inet_pton(AF_INET, "192.0.2.1", &l->sin_addr);
	f.alen = sizeof(*a);
	return f;
}

static struct sip_pl pl(const char *s)
{
	return (struct sip_pl){s, strlen(s)};
}

static void test_token_round_trip(void **state)
{
	struct sbc_sip *s = *state;
	uint64_t id = conn_open();
	struct sip_flow f = flow_v4(T_TLS, 0, id), g;
	char token[SIP_TOKEN_LEN];
	sbc_sip_token_make(s, &f, token);
	assert_int_equal(strlen(token), 96); /* 56 + 16 bytes in base64url */
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), 0);
	assert_int_equal(g.t, T_TLS);
	assert_true(g.conn == id);
	assert_int_equal(g.alen, sizeof(struct sockaddr_in));
	assert_memory_equal(&g.addr, &f.addr, sizeof(struct sockaddr_in));
	assert_memory_equal(&g.local, &f.local, sizeof(struct sockaddr_in));

	/* IPv6, both ends */
	struct sip_flow h = {.t = T_TCP, .conn = id};
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&h.addr,
			    *l = (struct sockaddr_in6 *)&h.local;
	a->sin6_family = l->sin6_family = AF_INET6;
	a->sin6_port = htons(5062);
	inet_pton(AF_INET6, "2001:db8::7", &a->sin6_addr);
	l->sin6_port = htons(5061);
	inet_pton(AF_INET6, "2001:db8::1", &l->sin6_addr);
	sbc_sip_token_make(s, &h, token);
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), 0);
	assert_int_equal(g.alen, sizeof(struct sockaddr_in6));
	assert_memory_equal(&g.addr, &h.addr, sizeof(struct sockaddr_in6));
	assert_memory_equal(&g.local, &h.local, sizeof(struct sockaddr_in6));

	/* every byte of a connection id (over UDP no connection is looked up) */
	f = flow_v4(T_UDP, 0, 0x0102030405060708ULL);
	sbc_sip_token_make(s, &f, token);
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), 0);
	assert_true(g.conn == 0x0102030405060708ULL);
}

/* Any change of the token, in its bytes or its text, is refused by the MAC. */
static void test_token_tampering(void **state)
{
	struct sbc_sip *s = *state;
	struct sip_flow f = flow_v4(T_UDP, 1, 0), g;
	char token[SIP_TOKEN_LEN], forged[SIP_TOKEN_LEN];
	sbc_sip_token_make(s, &f, token);
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), 0);

	unsigned char bin[72];
	size_t n;
	assert_int_equal(sodium_base642bin(bin, sizeof(bin), token, strlen(token), NULL, &n, NULL,
					   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
			 0);
	assert_int_equal(n, sizeof(bin));
	for (size_t i = 0; i < sizeof(bin); i++)
		for (int bit = 0; bit < 8; bit++) {
			bin[i] ^= (unsigned char)(1 << bit);
			sodium_bin2base64(forged, sizeof(forged), bin, sizeof(bin),
					  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
			assert_int_equal(sbc_sip_token_read(s, pl(forged), &g), -1);
			bin[i] ^= (unsigned char)(1 << bit);
		}
	for (size_t i = 0; i < strlen(token); i++) {
		strcpy(forged, token);
		forged[i] = forged[i] == 'A' ? 'B' : 'A';
		assert_int_equal(sbc_sip_token_read(s, pl(forged), &g), -1);
	}
	/* cut short, made longer, padded, empty, too long to be one */
	assert_int_equal(sbc_sip_token_read(s, (struct sip_pl){token, 95}, &g), -1);
	snprintf(forged, sizeof(forged), "%sA", token);
	assert_int_equal(sbc_sip_token_read(s, pl(forged), &g), -1);
	snprintf(forged, sizeof(forged), "%s==", token);
	assert_int_equal(sbc_sip_token_read(s, pl(forged), &g), -1);
	assert_int_equal(sbc_sip_token_read(s, pl(""), &g), -1);
	char big[SIP_TOKEN_LEN + 8];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sbc_sip_token_read(s, pl(big), &g), -1);
	/* the original still reads */
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), 0);
}

/* A token made under another key (another SBC process, or one before a
 * restart) is not ours. */
static void test_token_other_key(void **state)
{
	struct sbc_sip *s = *state;
	struct sip_flow f = flow_v4(T_UDP, 0, 0), g;
	char token[SIP_TOKEN_LEN];
	sbc_sip_token_make(s, &f, token);
	unsigned char saved[sizeof(s->token_key)];
	memcpy(saved, s->token_key, sizeof(saved));
	randombytes_buf(s->token_key, sizeof(s->token_key));
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), -1);
	memcpy(s->token_key, saved, sizeof(saved));
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), 0);
}

static void test_token_connection_gone(void **state)
{
	struct sbc_sip *s = *state;
	uint64_t id1 = conn_open();
	struct core_conn *c1 = opened;
	conn_open();
	struct sip_flow f = flow_v4(T_TCP, 0, id1), g;
	char token[SIP_TOKEN_LEN];
	sbc_sip_token_make(s, &f, token);
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), 0);
	core_conn_close(c1); /* connection id1 closed */
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), -1);
	/* a new connection never takes an old one's id */
	conn_open();
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), -1);
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), -1);
}

static void test_token_udp_index(void **state)
{
	struct sbc_sip *s = *state;
	struct sip_flow f = flow_v4(T_UDP, 1, 0), g;
	char token[SIP_TOKEN_LEN];
	sbc_sip_token_make(s, &f, token);
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), 0);
	assert_int_equal(g.udp, 1);
	s->nudp = 1; /* socket 1 no longer exists */
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), -1);
	s->nudp = 0;
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), -1);
	s->nudp = 2;
	f.udp = 255; /* the most one byte of the token can name */
	sbc_sip_token_make(s, &f, token);
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), -1);
	s->nudp = SIP_MAX_SOCKETS;
	f.udp = SIP_MAX_SOCKETS;
	sbc_sip_token_make(s, &f, token);
	assert_int_equal(sbc_sip_token_read(s, pl(token), &g), -1);
	s->nudp = 2;
}

/* ---- transactions ---- */

struct msg {
	char buf[1024];
	struct sip_msg m;
};

static struct msg *request(const char *method, const char *branch, const char *call_id,
			   unsigned cseq)
{
	struct msg *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	snprintf(r->buf, sizeof(r->buf),
		 "%s sip:bob@acme.example SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 198.51.100.7:40123;branch=%s;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@acme.example>;tag=a1\r\n"
		 "To: <sip:bob@acme.example>\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, branch, call_id, cseq, method);
	assert_int_equal(sip_msg_parse(&r->m, r->buf, strlen(r->buf), false), 0);
	return r;
}

/* A transaction for m as the SBC makes one: its key the client's, our branch. */
static struct sip_txn *remember(struct sbc_sip *s, const struct sip_msg *m, const char *ours,
				bool down)
{
	char key[512];
	assert_int_equal(sip_tx_key(m, true, key, sizeof(key)), 0);
	struct sip_txn *t = sbc_sip_txn_new(s);
	assert_non_null(t);
	t->down = down;
	assert_int_equal(sbc_sip_txn_set(s, t, key, ours, "acme", m), 0);
	return t;
}

/* t's INVITE came over UDP and was answered 200 at now: the server machine
 * resends the 2xx from now + T1 until its ACK (as sbc_sip_relay.c sets it). */
static void answered_2xx(struct sip_txn *t, int64_t now)
{
	sip_tx_server_start(&t->tx, true, false, now);
	t->tx.resend_2xx = true;
	assert_int_equal(sip_tx_server_respond(&t->tx, 200, now), SIP_TX_SEND_RESPONSE);
	assert_true(t->tx.retx_at == now + SIP_T1);
}

static void test_txn_matching(void **state)
{
	struct sbc_sip *s = *state;
	struct msg *inv = request("INVITE", "z9hG4bKphone1", "call-1@phone", 1);
	struct msg *opt = request("OPTIONS", "z9hG4bKphone2", "call-2@phone", 1);
	struct sip_txn *up = remember(s, &inv->m, "z9hG4bKsbc1", false);
	struct sip_txn *o = remember(s, &opt->m, "z9hG4bKsbc2", false);
	char key[512];
	assert_int_equal(sip_tx_key(&inv->m, true, key, sizeof(key)), 0);
	assert_ptr_equal(sbc_sip_txn_by_key(s, key, false), up);
	assert_null(sbc_sip_txn_by_key(s, key, true)); /* up is not down */
	assert_int_equal(sip_tx_key(&opt->m, true, key, sizeof(key)), 0);
	assert_ptr_equal(sbc_sip_txn_by_key(s, key, false), o);
	assert_null(sbc_sip_txn_by_key(s, "z9hG4bKnone|198.51.100.7:40123|INVITE", false));

	/* answers are matched by our branch and the CSeq method */
	assert_ptr_equal(sbc_sip_txn_by_branch(s, pl("z9hG4bKsbc1"), pl("INVITE"), false), up);
	assert_null(sbc_sip_txn_by_branch(s, pl("z9hG4bKsbc1"), pl("OPTIONS"), false));
	assert_null(sbc_sip_txn_by_branch(s, pl("z9hG4bKsbc1"), pl("INVITE"), true));
	assert_null(sbc_sip_txn_by_branch(s, pl("z9hG4bKsbc"), pl("INVITE"), false));
	assert_null(sbc_sip_txn_by_branch(s, pl("z9hG4bKsbc12"), pl("INVITE"), false));
	assert_ptr_equal(sbc_sip_txn_by_branch(s, pl("z9hG4bKsbc2"), pl("OPTIONS"), false), o);

	/* the same client key in the other direction is another transaction */
	struct sip_txn *down = remember(s, &inv->m, "z9hG4bKsbc3", true);
	assert_int_equal(sip_tx_key(&inv->m, true, key, sizeof(key)), 0);
	assert_ptr_equal(sbc_sip_txn_by_key(s, key, false), up);
	assert_ptr_equal(sbc_sip_txn_by_key(s, key, true), down);
	assert_ptr_equal(sbc_sip_txn_by_branch(s, pl("z9hG4bKsbc3"), pl("INVITE"), true), down);
	assert_null(sbc_sip_txn_by_branch(s, pl("z9hG4bKsbc3"), pl("INVITE"), false));

	/* what set copied: whole, NUL-terminated */
	assert_string_equal(up->method, "INVITE");
	assert_string_equal(up->call_id, "call-1@phone");
	assert_int_equal(up->call_id_len, 12);
	assert_string_equal(up->branch, "z9hG4bKsbc1");
	assert_string_equal(up->up, "acme");
	assert_int_equal(up->cseq, 1);
	free(inv);
	free(opt);
}

/* A CANCEL has the INVITE's branch but a key of its own; the SBC finds the
 * INVITE by the CANCEL's key with the method made INVITE. An ACK's key is
 * the INVITE's already (sip_tx_key). */
static void test_txn_cancel_and_ack_keys(void **state)
{
	struct sbc_sip *s = *state;
	struct msg *inv = request("INVITE", "z9hG4bKc1", "cancel-me@phone", 5);
	struct msg *can = request("CANCEL", "z9hG4bKc1", "cancel-me@phone", 5);
	struct msg *ack = request("ACK", "z9hG4bKc1", "cancel-me@phone", 5);
	struct msg *other = request("CANCEL", "z9hG4bKc2", "cancel-me@phone", 5);
	struct sip_txn *t = remember(s, &inv->m, "z9hG4bKsbcc", false);
	char key[512];
	assert_int_equal(sip_tx_key(&can->m, true, key, sizeof(key)), 0);
	assert_null(sbc_sip_txn_by_key(s, key, false));
	sbc_sip_txn_invite_key(key);
	assert_ptr_equal(sbc_sip_txn_by_key(s, key, false), t);
	assert_int_equal(sip_tx_key(&ack->m, true, key, sizeof(key)), 0);
	sbc_sip_txn_invite_key(key); /* changes nothing: already INVITE's */
	assert_ptr_equal(sbc_sip_txn_by_key(s, key, false), t);
	/* a CANCEL of a branch we never saw finds nothing (481) */
	assert_int_equal(sip_tx_key(&other->m, true, key, sizeof(key)), 0);
	sbc_sip_txn_invite_key(key);
	assert_null(sbc_sip_txn_by_key(s, key, false));
	/* only a last part of six characters is a method to replace */
	char odd[] = "z9hG4bKx|h:1|UPDATE2";
	sbc_sip_txn_invite_key(odd);
	assert_string_equal(odd, "z9hG4bKx|h:1|UPDATE2");
	char none[] = "no-bar-at-all";
	sbc_sip_txn_invite_key(none);
	assert_string_equal(none, "no-bar-at-all");
	free(inv);
	free(can);
	free(ack);
	free(other);
}

/* The ACK of a 2xx has a branch of its own: found by Call-ID and CSeq, it
 * stops our resending of the 2xx and the transaction is kept T4 more. */
static void test_txn_ack_of_2xx(void **state)
{
	struct sbc_sip *s = *state;
	struct msg *inv = request("INVITE", "z9hG4bKa1", "ack-call@phone", 7);
	struct msg *inv2 = request("INVITE", "z9hG4bKa2", "ack-cell@phone", 7);
	struct sip_txn *t = remember(s, &inv->m, "z9hG4bKsbca1", false);
	struct sip_txn *t2 = remember(s, &inv2->m, "z9hG4bKsbca2", false);
	struct sip_txn *d = remember(s, &inv->m, "z9hG4bKsbca3", true);
	int64_t now = core_now_ms();
	t->status = t2->status = 200;
	answered_2xx(t, now);
	answered_2xx(t2, now);
	answered_2xx(d, now);
	int64_t life = t->forget_at;
	assert_true(life >= now + SIP_TX_LIFE_MS - 1000 && life <= now + SIP_TX_LIFE_MS);

	sbc_sip_txn_ack_seen(s, pl("ack-call@phone"), 8); /* another CSeq */
	sbc_sip_txn_ack_seen(s, pl("ack-call@phon"), 7);  /* a prefix */
	sbc_sip_txn_ack_seen(s, pl("ack-call@phonex"), 7);
	assert_true(t->tx.retx_at == now + 500 && t->forget_at == life);

	sbc_sip_txn_ack_seen(s, pl("ack-call@phone"), 7);
	assert_true(t->tx.retx_at == 0);
	int64_t after = core_now_ms();
	assert_true(t->forget_at >= now + SIP_TX_DONE_MS && t->forget_at <= after + SIP_TX_DONE_MS);
	assert_true(t2->tx.retx_at == now + 500); /* a Call-ID of the same length */
	assert_true(d->tx.retx_at == now + 500);  /* a down transaction is not the phone's */
	free(inv);
	free(inv2);
}

static unsigned bucket(const struct sbc_sip *s, const char *p, size_t n)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)p, n, s->txn_hash_key);
	return (unsigned)(h & (SIP_TXN_BUCKETS - 1));
}

/* In one hash bucket, a Call-ID that the ACK's is a prefix of is another
 * call: the lengths are compared, not only the bytes. (The test knows the
 * per-process key, so it can find a collision; a client cannot.) */
static void test_txn_ack_same_bucket(void **state)
{
	struct sbc_sip *s = *state;
	const char *short_id = "ack-call@phone";
	unsigned want = bucket(s, short_id, strlen(short_id));
	char long_id[64];
	unsigned i = 0;
	do
		snprintf(long_id, sizeof(long_id), "%s%u", short_id, i++);
	while (bucket(s, long_id, strlen(long_id)) != want);
	struct msg *inv = request("INVITE", "z9hG4bKs1", long_id, 3);
	struct sip_txn *t = remember(s, &inv->m, "z9hG4bKsbcs1", false);
	t->status = 200;
	answered_2xx(t, core_now_ms());
	int64_t retx = t->tx.retx_at;
	sbc_sip_txn_ack_seen(s, pl(short_id), 3);
	assert_true(t->tx.retx_at == retx);
	sbc_sip_txn_ack_seen(s, pl(long_id), 3);
	assert_true(t->tx.retx_at == 0);
	free(inv);
}

/* The unkeyed hash the transaction table once used (FNV-1a, 32 bits, as
 * core_hash was): anyone can compute which bucket a key lands in. */
static uint32_t fnv1a(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

#define COLLIDING 256

/* The longest chain of one of the table's indexes (next at offset off). */
static int longest_chain(struct sip_txn *const *heads, size_t off)
{
	int longest = 0;
	for (int b = 0; b < SIP_TXN_BUCKETS; b++) {
		int n = 0;
		for (const struct sip_txn *t = heads[b]; t;
		     t = *(struct sip_txn *const *)((const char *)t + off))
			n++;
		longest = n > longest ? n : longest;
	}
	return longest;
}

/* An attacker who knows the hash sends Call-IDs and branches that all land
 * in one bucket under it (found here offline, as an attacker would): under
 * the keyed hash they spread, so every lookup walks a short chain. */
static void test_txn_colliding_keys_spread(void **state)
{
	struct sbc_sip *s = *state;
	static char cids[COLLIDING][32], branches[COLLIDING][32];
	const char *rest = "|198.51.100.7:40123|INVITE"; /* the server key after the branch */
	char key[128];
	unsigned want_c = fnv1a("c0@evil", 7) & (SIP_TXN_BUCKETS - 1), want_k = 0;
	int nc = 0, nb = 0;
	for (unsigned i = 0; nc < COLLIDING; i++) {
		int n = snprintf(cids[nc], sizeof(cids[nc]), "c%u@evil", i);
		if ((fnv1a(cids[nc], (size_t)n) & (SIP_TXN_BUCKETS - 1)) == want_c)
			nc++;
	}
	for (unsigned i = 0; nb < COLLIDING; i++) {
		snprintf(branches[nb], sizeof(branches[nb]), "z9hG4bK%u", i);
		int n = snprintf(key, sizeof(key), "%s%s", branches[nb], rest);
		unsigned b = fnv1a(key, (size_t)n) & (SIP_TXN_BUCKETS - 1);
		if (i == 0)
			want_k = b;
		if (b == want_k)
			nb++;
	}
	struct msg *r[COLLIDING];
	for (int i = 0; i < COLLIDING; i++) {
		char ours[48];
		snprintf(ours, sizeof(ours), "z9hG4bKsbc%d", i);
		r[i] = request("INVITE", branches[i], cids[i], 1);
		assert_int_equal(sip_tx_key(&r[i]->m, true, key, sizeof(key)), 0);
		/* what the old hash made of them: one bucket each */
		assert_int_equal(fnv1a(key, strlen(key)) & (SIP_TXN_BUCKETS - 1), want_k);
		remember(s, &r[i]->m, ours, false);
	}
	/* 256 keys in 16384 buckets: a chain of 8 has odds below 1e-10 */
	int by_call = longest_chain(s->by_call, offsetof(struct sip_txn, next_call));
	int by_key = longest_chain(s->by_key, offsetof(struct sip_txn, next_key));
	print_message("longest chain of %d colliding keys: by Call-ID %d, by key %d\n", COLLIDING,
		      by_call, by_key);
	assert_true(by_call <= 8);
	assert_true(by_key <= 8);
	for (int i = 0; i < COLLIDING; i++) {
		assert_int_equal(sip_tx_key(&r[i]->m, true, key, sizeof(key)), 0);
		assert_non_null(sbc_sip_txn_by_key(s, key, false));
		free(r[i]);
	}
}

/* Forgetting takes a transaction out of every index, the list and the counts. */
static void test_txn_forget(void **state)
{
	struct sbc_sip *s = *state;
	struct msg *a = request("INVITE", "z9hG4bKf1", "forget@phone", 1);
	struct msg *b = request("BYE", "z9hG4bKf2", "forget@phone", 2);
	struct sip_txn *ta = remember(s, &a->m, "z9hG4bKsbcf1", false);
	struct sip_txn *tb = remember(s, &b->m, "z9hG4bKsbcf2", false);
	assert_int_equal(s->ntxns, 2);
	size_t held = s->txn_bytes;
	assert_int_equal(held, ta->bytes + tb->bytes);
	ta->status = 200;
	answered_2xx(ta, core_now_ms());

	/* the sweep's walk: forget ta where it is in the list */
	struct sip_txn **pp = &s->txns;
	while (*pp != ta)
		pp = &(*pp)->next;
	sbc_sip_txn_forget(s, pp);
	assert_int_equal(s->ntxns, 1);
	assert_int_equal(s->txn_bytes, tb->bytes);
	assert_ptr_equal(s->txns, tb);
	assert_null(tb->next);
	char key[512];
	assert_int_equal(sip_tx_key(&a->m, true, key, sizeof(key)), 0);
	assert_null(sbc_sip_txn_by_key(s, key, false));
	assert_null(sbc_sip_txn_by_branch(s, pl("z9hG4bKsbcf1"), pl("INVITE"), false));
	sbc_sip_txn_ack_seen(s, pl("forget@phone"), 1); /* nothing to find: no use after free */
	assert_int_equal(sip_tx_key(&b->m, true, key, sizeof(key)), 0);
	assert_ptr_equal(sbc_sip_txn_by_key(s, key, false), tb);
	sbc_sip_txn_forget(s, &s->txns);
	assert_int_equal(s->ntxns, 0);
	assert_int_equal(s->txn_bytes, 0);
	assert_null(s->txns);

	/* one never set (the caller ran out of memory) is forgotten as well */
	struct sip_txn *unset = sbc_sip_txn_new(s);
	assert_non_null(unset);
	assert_false(unset->indexed);
	sbc_sip_txn_forget(s, &s->txns);
	assert_int_equal(s->ntxns, 0);
	free(a);
	free(b);
}

/* The sweep's wheel: a transaction is taken when new, then not before its
 * next deadline, and again at the next sweep once a lookup found it. */
static void test_sweep_takes_only_what_is_due(void **state)
{
	struct sbc_sip *s = *state;
	struct msg *a = request("BYE", "z9hG4bKw1", "wheel@phone", 1);
	int64_t now = core_now_ms();
	struct sip_txn *t = remember(s, &a->m, "z9hG4bKsbcw1", false);
	struct sip_txn_list due = LIST_HEAD_INITIALIZER(due);
	sbc_sip_txn_due(s, now, &due);
	assert_ptr_equal(sbc_sip_txn_next_due(&due), t); /* new: looked at */
	assert_null(sbc_sip_txn_next_due(&due));
	t->forget_at = now + 5000;
	sbc_sip_txn_checked(s, t, now);
	for (int64_t at = now + SIP_SWEEP_MS; at < now + 5000; at += SIP_SWEEP_MS) {
		sbc_sip_txn_due(s, at, &due);
		assert_null(sbc_sip_txn_next_due(&due)); /* nothing due: not walked */
	}
	sbc_sip_txn_due(s, now + 5000, &due);
	assert_ptr_equal(sbc_sip_txn_next_due(&due), t);
	/* a deadline beyond the wheel: looked at early and put back */
	t->forget_at = now + 5000 + 3600 * 1000;
	sbc_sip_txn_checked(s, t, now + 5000);
	sbc_sip_txn_due(s, now + 5000 + SIP_SWEEP_MS, &due);
	assert_null(sbc_sip_txn_next_due(&due));
	/* found by a lookup: the next sweep takes it, whatever its deadline */
	char key[512];
	assert_int_equal(sip_tx_key(&a->m, true, key, sizeof(key)), 0);
	assert_ptr_equal(sbc_sip_txn_by_key(s, key, false), t);
	sbc_sip_txn_due(s, now + 5000 + 2 * SIP_SWEEP_MS, &due);
	assert_ptr_equal(sbc_sip_txn_next_due(&due), t);
	assert_null(sbc_sip_txn_next_due(&due));
	sbc_sip_txn_checked(s, t, now + 5000 + 2 * SIP_SWEEP_MS);
	/* forgotten while in a slot: out of the wheel too (ASan sees any use) */
	sbc_sip_txn_forget(s, t->pprev);
	sbc_sip_txn_due(s, now + 5000 + 3600 * 1000, &due);
	assert_null(sbc_sip_txn_next_due(&due));
	free(a);
}

/* What transactions hold of the wire is counted and bounded, and so is
 * their number: beyond either, no new one (the caller answers 503). */
static void test_txn_bounds(void **state)
{
	struct sbc_sip *s = *state;
	struct msg *a = request("INVITE", "z9hG4bKb1", "bytes@phone", 1);
	struct sip_txn *t = remember(s, &a->m, "z9hG4bKsbcb1", false);
	char key[512];
	assert_int_equal(sip_tx_key(&a->m, true, key, sizeof(key)), 0);
	assert_int_equal(t->bytes, strlen(key) + strlen("INVITE") + strlen("bytes@phone"));
	assert_int_equal(s->txn_bytes, t->bytes);
	sbc_sip_txn_held(s, t, 1000, 0); /* an answer kept */
	sbc_sip_txn_held(s, t, 300, 1000);
	assert_int_equal(s->txn_bytes, t->bytes);
	assert_int_equal(t->bytes, strlen(key) + 6 + 11 + 300);

	size_t real = s->txn_bytes;
	s->txn_bytes = SIP_MAX_TXN_BYTES - 1;
	struct sip_txn *last = sbc_sip_txn_new(s); /* below the bound: one more */
	assert_non_null(last);
	s->txn_bytes = SIP_MAX_TXN_BYTES;
	assert_null(sbc_sip_txn_new(s));
	s->txn_bytes = real;
	int n = s->ntxns;
	s->ntxns = SIP_MAX_TXS;
	assert_null(sbc_sip_txn_new(s));
	s->ntxns = n;

	/* a branch or phone system name too long to keep: -1, nothing held */
	struct sip_txn *u = sbc_sip_txn_new(s);
	assert_non_null(u);
	char longb[64];
	memset(longb, 'b', sizeof(longb) - 1);
	longb[sizeof(longb) - 1] = '\0';
	size_t before = s->txn_bytes;
	assert_int_equal(sbc_sip_txn_set(s, u, key, longb, "acme", &a->m), -1);
	assert_null(u->key);
	assert_false(u->indexed);
	assert_int_equal(s->txn_bytes, before);
	char longup[80];
	memset(longup, 'p', sizeof(longup) - 1);
	longup[sizeof(longup) - 1] = '\0';
	assert_int_equal(sbc_sip_txn_set(s, u, key, "z9hG4bKok", longup, &a->m), -1);
	assert_int_equal(s->txn_bytes, before);
	free(a);
}

/* Many transactions with one Call-ID (a long dialog) each stay findable. */
static void test_txn_many(void **state)
{
	struct sbc_sip *s = *state;
	enum { N = 2000 };
	static struct sip_txn *ts[N];
	for (int i = 0; i < N; i++) {
		char br[48], ours[48];
		snprintf(br, sizeof(br), "z9hG4bKm%d", i);
		snprintf(ours, sizeof(ours), "z9hG4bKsbcm%d", i);
		struct msg *r = request("INFO", br, "long-dialog@phone", (unsigned)i + 1);
		ts[i] = remember(s, &r->m, ours, i % 2);
		free(r);
	}
	for (int i = 0; i < N; i++) {
		char ours[48];
		snprintf(ours, sizeof(ours), "z9hG4bKsbcm%d", i);
		assert_ptr_equal(sbc_sip_txn_by_branch(s, pl(ours), pl("INFO"), i % 2), ts[i]);
	}
	assert_int_equal(s->ntxns, N);
}

/* RFC 3325: the identities a phone might assert are known by name, in any case. */
static void test_identity_headers_are_known(void **state)
{
	(void)state;
	static const char *const yes[] = {"P-Asserted-Identity", "p-asserted-identity",
					  "P-PREFERRED-IDENTITY"};
	static const char *const no[] = {"P-Asserted-Identit", "From", "P-Asserted-Identity-X",
					 "Privacy", ""};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(sbc_sip_is_identity((struct sip_pl){yes[i], strlen(yes[i])}));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(sbc_sip_is_identity((struct sip_pl){no[i], strlen(no[i])}));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_other_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_connection_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_udp_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_matching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_cancel_and_ack_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_ack_of_2xx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_ack_same_bucket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_colliding_keys_spread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_takes_only_what_is_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_many, setup, teardown),
		cmocka_unit_test(test_identity_headers_are_known),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
