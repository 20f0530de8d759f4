/* Tests for sbc_media's join with the phone system's media engine: an SDP
 * from the phone system naming a loopback address that is not one of the
 * SBC's legs joins the phone's leg to it; one naming a leg again re-joins.
 * Real sockets on loopback, a real event loop; plain RTP (no SRTP). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "../../src/sbc/sbc_media.h"

static struct event_base *base;
static struct sbc_media *md;
static struct sockaddr_storage lo; /* 127.0.0.1, port 0 */

static void on_timeout(void *arg, const char *ps, struct sip_pl call_id)
{
	(void)arg;
	(void)ps;
	(void)call_id;
}

static int udp(int *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return fd;
}

static void run_ms(int ms)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = ms * 1000};
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* A packet of 12 header bytes (the second one b1: marker and type) and a text. */
static void send_pkt(int fd, int port, unsigned char b1, const char *what, uint32_t ssrc,
		     uint16_t seq, uint32_t ts)
{
	unsigned char pkt[64] = {0x80,
				 b1,
				 (unsigned char)(seq >> 8),
				 (unsigned char)seq,
				 (unsigned char)(ts >> 24),
				 (unsigned char)(ts >> 16),
				 (unsigned char)(ts >> 8),
				 (unsigned char)ts,
				 (unsigned char)(ssrc >> 24),
				 (unsigned char)(ssrc >> 16),
				 (unsigned char)(ssrc >> 8),
				 (unsigned char)ssrc};
	size_t n = 12 + strlen(what);
	memcpy(pkt + 12, what, strlen(what));
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons((uint16_t)port)};
	assert_int_equal(sendto(fd, pkt, n, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)n);
}

static void send_rtp(int fd, int port, const char *what, uint32_t ssrc, uint16_t seq, uint32_t ts)
{
	send_pkt(fd, port, 0x00, what, ssrc, seq, ts);
}

static void send_to(int fd, int port, const char *what)
{
	send_rtp(fd, port, what, 0, 1, 0);
}

/* An RTCP packet (a sender report's type, 200) carrying a text. */
static void send_rtcp(int fd, int port, const char *what)
{
	send_pkt(fd, port, 200, what, 0, 2, 0);
}

/* Two sockets on ports p and p + 1 (RTP and RTCP of a phone without rtcp-mux). */
static void udp_pair(int fd[2], int *port)
{
	for (int tries = 0; tries < 50; tries++) {
		fd[0] = udp(port);
		fd[1] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)(*port + 1)),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		if (*port < 65535 && bind(fd[1], (struct sockaddr *)&a, sizeof(a)) == 0)
			return;
		close(fd[0]);
		close(fd[1]);
	}
	fail_msg("no two free ports in a row");
}

static unsigned char last_hdr[12]; /* of the last packet recv_on took */

/* What fd received (the payload text; "" if nothing) and from which port. */
static void recv_on(int fd, char *out, size_t cap, int *from_port)
{
	unsigned char pkt[256];
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	out[0] = 0;
	ssize_t n = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&a, &al);
	if (n < 12)
		return;
	memcpy(last_hdr, pkt, 12);
	snprintf(out, cap, "%.*s", (int)(n - 12), (char *)pkt + 12);
	*from_port = ntohs(a.sin_port);
}

static int sdp_port(const char *sdp)
{
	const char *m = strstr(sdp, "m=audio ");
	assert_non_null(m);
	return atoi(m + 8);
}

/* An SDP (with extra lines, a=rtcp-mux say) through the SBC: from the phone
 * (its offer, its answer) or to it; what it gives in out, its length. */
static int through_x(const char *call_id, bool from_phone, const char *addr, int port, bool req,
		     const char *extra, char *out, size_t cap)
{
	char sdp[512];
	int n = snprintf(sdp, sizeof(sdp),
			 "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
			 "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n%s",
			 addr, addr, port, extra);
	struct sbc_media_leg leg = {.ps = "ps1",
				    .call_id = {call_id, strlen(call_id)},
				    .from_phone = from_phone,
				    .phone = &lo,
				    .local = &lo,
				    .phone_req = req,
				    .cseq = 1,
				    .method = {"INVITE", 6}};
	int len = sbc_media_sdp(md, &leg, (struct sip_pl){sdp, (size_t)n}, out, cap - 1);
	if (len > 0)
		out[len] = 0;
	return len;
}

/* An SDP through the SBC: from the phone (its offer) or to it; the port we give. */
static int through(const char *call_id, bool from_phone, const char *addr, int port, bool req)
{
	char out[2048];
	assert_true(through_x(call_id, from_phone, addr, port, req, "", out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "c=IN IP4 127.0.0.1\r\n"));
	return sdp_port(out);
}

static int setup(void **state)
{
	(void)state;
	base = event_base_new();
	md = sbc_media_new(base, on_timeout, NULL);
	struct core_state_media cfg = {
		.port_min = 43000, .port_max = 43998, .timeout = 60, .srtp_required = false};
	sbc_media_configure(md, &cfg);
	struct sockaddr_in *a = (struct sockaddr_in *)&lo;
	memset(&lo, 0, sizeof(lo));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return md ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sbc_media_free(md);
	event_base_free(base);
	return 0;
}

static void test_engine_join_and_rejoin(void **state)
{
	(void)state;
	int pa, pb, pe, from = 0;
	int phone_a = udp(&pa), phone_b = udp(&pb), engine = udp(&pe);
	char got[64];
	/* phone A calls; the phone system answers from its engine */
	int sa = through("call-a", true, "127.0.0.1", pa, true);
	int sa2 = through("call-a", false, "127.0.0.1", pe, false);
	assert_int_equal(sa2, sa); /* one leg towards phone A */
	sbc_media_answered(md, (struct sip_pl){"call-a", 6});
	/* the engine sends to the address it was offered; it reaches phone A
	 * from the leg's port */
	send_to(engine, sa, "from-engine");
	run_ms(50);
	recv_on(phone_a, got, sizeof(got), &from);
	assert_string_equal(got, "from-engine");
	assert_int_equal(from, sa);
	/* phone A's packets go to the engine, from the same port */
	send_to(phone_a, sa, "from-a");
	run_ms(50);
	recv_on(engine, got, sizeof(got), &from);
	assert_string_equal(got, "from-a");
	assert_int_equal(from, sa);
	/* another loopback source is not the engine (nor the phone's latched port) */
	int pz, other = udp(&pz);
	send_to(other, sa, "intruder");
	run_ms(50);
	recv_on(phone_a, got, sizeof(got), &from);
	assert_string_equal(got, "");
	close(other);

	/* transferred to phone B: the SDP towards A names B's leg again */
	int sb = through("call-b", true, "127.0.0.1", pb, true);
	through("call-a", false, "127.0.0.1", sb, false);
	through("call-b", false, "127.0.0.1", sa, false);
	sbc_media_answered(md, (struct sip_pl){"call-b", 6});
	send_to(phone_a, sa, "a-to-b");
	run_ms(50);
	recv_on(phone_b, got, sizeof(got), &from);
	assert_string_equal(got, "a-to-b");
	assert_int_equal(from, sb);
	recv_on(engine, got, sizeof(got), &from);
	assert_string_equal(got, ""); /* the engine forgotten */
	send_to(engine, sa, "late-engine");
	run_ms(50);
	recv_on(phone_a, got, sizeof(got), &from);
	assert_string_equal(got, "");
	/* what phone A hears goes on as one stream: B's packets under the
	 * engine's SSRC, numbered on from its last one */
	send_rtp(phone_b, sb, "b-1", 0x2222, 9000, 777777);
	run_ms(50);
	recv_on(phone_a, got, sizeof(got), &from);
	assert_string_equal(got, "b-1");
	assert_int_equal(last_hdr[1] & 0x80, 0x80); /* marker */
	assert_int_equal(last_hdr[2] << 8 | last_hdr[3], 2);
	assert_int_equal(last_hdr[8] | last_hdr[9] | last_hdr[10] | last_hdr[11], 0);
	uint32_t ts1 = (uint32_t)last_hdr[4] << 24 | (uint32_t)last_hdr[5] << 16 |
		       (uint32_t)last_hdr[6] << 8 | last_hdr[7];
	assert_true(ts1 >= 160 && ts1 < 8000 * 10);
	send_rtp(phone_b, sb, "b-2", 0x2222, 9001, 777777 + 160);
	run_ms(50);
	recv_on(phone_a, got, sizeof(got), &from);
	assert_string_equal(got, "b-2");
	assert_int_equal(last_hdr[2] << 8 | last_hdr[3], 3);
	assert_int_equal((uint32_t)last_hdr[4] << 24 | (uint32_t)last_hdr[5] << 16 |
				 (uint32_t)last_hdr[6] << 8 | last_hdr[7],
			 ts1 + 160);
	close(phone_a);
	close(phone_b);
	close(engine);
}

static void test_non_loopback_is_never_a_target(void **state)
{
	(void)state;
	int pa, pe, from = 0;
	int phone_a = udp(&pa), engine = udp(&pe);
	char got[64];
	int sa = through("call-c", true, "127.0.0.1", pa, true);
	through("call-c", false, "192.0.2.7", pe, false); /* not loopback, not ours */
	sbc_media_answered(md, (struct sip_pl){"call-c", 6});
	send_to(engine, sa, "spoof");
	run_ms(50);
	recv_on(phone_a, got, sizeof(got), &from);
	assert_string_equal(got, ""); /* 127.0.0.1:pe is no engine of this leg */
	close(phone_a);
	close(engine);
}

/* A trunk leg: the carrier's codecs both ways, its profile by the trunk's
 * srtp (not by the signalling's TLS), telephone-event only for rfc4733. */
static int trunk_sdp(const struct sbc_media_trunk *t, const char *cid, bool from_carrier,
		     const char *proto, const char *extra, char *out, size_t cap)
{
	char sdp[1024];
	int n = snprintf(sdp, sizeof(sdp),
			 "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			 "m=audio 41000 %s 9 0 8 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 "
			 "PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 "
			 "telephone-event/8000\r\n%s",
			 proto, extra);
	struct sbc_media_leg leg = {.ps = "ps1",
				    .call_id = {cid, strlen(cid)},
				    .from_phone = from_carrier,
				    .secure = true, /* a TLS carrier */
				    .phone = &lo,
				    .local = &lo,
				    .phone_req = !from_carrier,
				    .cseq = 1,
				    .method = {"INVITE", 6},
				    .trunk = t};
	int len = sbc_media_sdp(md, &leg, (struct sip_pl){sdp, (size_t)n}, out, cap - 1);
	if (len > 0)
		out[len] = 0;
	return len;
}

static void test_trunk_leg_codecs_and_profile(void **state)
{
	(void)state;
	char out[2048];
	struct sbc_media_trunk plain = {.codecs = {.names = {"PCMA", "PCMU"}, .n = 2}};
	/* a carrier's events are stripped; the inside gets telephone-event at a free PT */
	assert_true(trunk_sdp(&plain, "t0", true, "RTP/AVP", "", out, sizeof(out)) > 0);
	assert_non_null(strstr(out, " RTP/AVP 0 8 101\r\n"));
	assert_non_null(strstr(out, "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"));
	sbc_media_end(md, (struct sip_pl){"t0", 2}, false);
	/* towards the carrier: RTP over TLS signalling, its codecs, no telephone-event */
	assert_true(trunk_sdp(&plain, "t1", false, "RTP/AVP", "", out, sizeof(out)) > 0);
	assert_non_null(strstr(out, " RTP/AVP 0 8\r\n"));
	assert_null(strstr(out, "crypto"));
	assert_null(strstr(out, "telephone-event"));
	assert_null(strstr(out, "G722"));
	/* the carrier's answer in RTP is fine, with telephone-event for the inside
	 * at the type its offer named; G722 alone is not */
	assert_true(trunk_sdp(&plain, "t1", true, "RTP/AVP", "", out, sizeof(out)) > 0);
	assert_non_null(strstr(out, " RTP/AVP 0 8 101\r\n"));
	struct sbc_media_trunk g729 = {.codecs = {.names = {"G729"}, .n = 1, .keep_te = true}};
	assert_int_equal(trunk_sdp(&g729, "t2", false, "RTP/AVP", "", out, sizeof(out)), -488);
	sbc_media_end(md, (struct sip_pl){"t1", 2}, false);
	/* srtp: SAVP with a key of the leg's own offered; an RTP answer refused */
	struct sbc_media_trunk srtp = {.srtp = true,
				       .codecs = {.names = {"PCMA"}, .n = 1, .keep_te = true}};
	assert_true(trunk_sdp(&srtp, "t3", false, "RTP/AVP", "", out, sizeof(out)) > 0);
	assert_non_null(strstr(out, " RTP/SAVP 8 101\r\n"));
	assert_non_null(strstr(out, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
	assert_non_null(strstr(out, "telephone-event"));
	assert_int_equal(trunk_sdp(&srtp, "t3", true, "RTP/AVP", "", out, sizeof(out)), -488);
	assert_true(trunk_sdp(&srtp, "t3", true, "RTP/SAVP",
			      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
			      "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n",
			      out, sizeof(out)) > 0);
	assert_non_null(strstr(out, " RTP/AVP 8 101\r\n")); /* the pbx sees RTP */
	sbc_media_end(md, (struct sip_pl){"t3", 2}, false);
}

static char told_digit;
static int told_ms;
static char told_cid[16];

static void on_dtmf(void *arg, const char *ps, struct sip_pl call_id, char digit, int ms)
{
	(void)arg;
	(void)ps;
	told_digit = digit;
	told_ms = ms;
	snprintf(told_cid, sizeof(told_cid), "%.*s", (int)call_id.l, call_id.p);
}

/* An SDP of leg cid (port, with telephone-event 101) through the SBC; the port we give. */
static int leg_sdp(const char *cid, bool from_far_end, bool req, int port,
		   const struct sbc_media_trunk *t)
{
	char sdp[512], out[2048];
	int n = snprintf(sdp, sizeof(sdp),
			 "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			 "m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 "
			 "telephone-event/8000\r\n",
			 port);
	struct sbc_media_leg leg = {.ps = "ps1",
				    .call_id = {cid, strlen(cid)},
				    .from_phone = from_far_end,
				    .phone = &lo,
				    .local = &lo,
				    .phone_req = req,
				    .cseq = 1,
				    .method = {"INVITE", 6},
				    .trunk = t};
	int len = sbc_media_sdp(md, &leg, (struct sip_pl){sdp, (size_t)n}, out, sizeof(out) - 1);
	assert_true(len > 0);
	out[len] = 0;
	if (t && !from_far_end)
		assert_null(strstr(out, "telephone-event")); /* never towards an INFO carrier */
	if (t && from_far_end) /* the inside sees RFC 4733, at the PT it named */
		assert_non_null(strstr(out, " 0 101\r\n")
					? strstr(out, "a=rtpmap:101 telephone-event/8000\r\n")
					: NULL);
	return sdp_port(out);
}

static void send_te(int fd, int port, uint8_t event, uint16_t seq, uint32_t ts, uint16_t dur,
		    bool end)
{
	unsigned char pkt[16] = {0x80,
				 101,
				 (unsigned char)(seq >> 8),
				 (unsigned char)seq,
				 (unsigned char)(ts >> 24),
				 (unsigned char)(ts >> 16),
				 (unsigned char)(ts >> 8),
				 (unsigned char)ts,
				 0,
				 0,
				 0x12,
				 0x34,
				 event,
				 (unsigned char)(end ? 0x8a : 0x0a),
				 (unsigned char)(dur >> 8),
				 (unsigned char)dur};
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons((uint16_t)port)};
	assert_int_equal(sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&a, sizeof(a)), 16);
}

/* A phone's leg joined to a trunk leg whose carrier takes DTMF as INFO: the
 * phone's events are told, not relayed; the carrier's digits reach the
 * phone as RFC 4733 packets; audio crosses as ever. */
static void test_trunk_dtmf_info_both_ways(void **state)
{
	(void)state;
	int pp, cp, from;
	int phone = udp(&pp), carrier = udp(&cp);
	struct sbc_media_trunk info = {.codecs = {.names = {"PCMU"}, .n = 1, .keep_te = false}};
	sbc_media_set_dtmf_cb(md, on_dtmf, NULL);
	int xport = leg_sdp("x1", true, true, pp, NULL);       /* the phone's offer */
	int tport = leg_sdp("t1", false, false, xport, &info); /* the pbx's offer to the carrier */
	assert_int_equal(leg_sdp("t1", true, false, cp, &info), tport); /* the carrier's answer */
	assert_int_equal(leg_sdp("x1", false, true, tport, NULL),
			 xport); /* the answer to the phone */
	char got[64];
	send_rtp(phone, xport, "audio", 0x1234, 1, 160);
	run_ms(30);
	recv_on(carrier, got, sizeof(got), &from);
	assert_string_equal(got, "audio");
	told_digit = 0;
	send_te(phone, xport, 5, 2, 320, 400, false);
	send_te(phone, xport, 5, 3, 320, 1600, true);
	run_ms(30);
	recv_on(carrier, got, sizeof(got), &from);
	assert_string_equal(got, ""); /* no event reaches the carrier */
	assert_int_equal(told_digit, '5');
	assert_int_equal(told_ms, 200);
	assert_string_equal(told_cid, "t1");
	/* the carrier's INFO digit: an event of packets to the phone */
	assert_int_equal(sbc_media_dtmf_send(md, (struct sip_pl){"t1", 2}, '7', 100), 0);
	assert_int_equal(sbc_media_dtmf_send(md, (struct sip_pl){"x1", 2}, '7', 100), -1);
	run_ms(300);
	int packets = 0, ends = 0;
	unsigned char pkt[64];
	ssize_t n;
	while ((n = recv(phone, pkt, sizeof(pkt), MSG_DONTWAIT)) > 0) {
		if (n != 16 || (pkt[1] & 0x7f) != 101)
			continue;
		assert_int_equal(pkt[12], 7);
		ends += (pkt[13] & 0x80) != 0;
		packets++;
	}
	assert_int_equal(ends, 3);
	assert_true(packets >= 4);
	sbc_media_end(md, (struct sip_pl){"t1", 2}, false);
	sbc_media_end(md, (struct sip_pl){"x1", 2}, false);
	close(phone);
	close(carrier);
}

/* A full range of half-used pairs: our offer of rtcp-mux to a phone takes
 * one port, names it for RTCP too (a=rtcp, RFC 3605), and a phone that
 * answers without rtcp-mux is heard on it; no call goes without media. */
static void test_mux_offer_on_one_port_when_no_pair_is_whole(void **state)
{
	(void)state;
	struct core_state_media small = {
		.port_min = 44100, .port_max = 44103, .timeout = 60, .srtp_required = false};
	sbc_media_configure(md, &small); /* two pairs */
	struct sbc_media_pool pool;
	sbc_media_pool(md, &pool);
	int legs0 = pool.legs; /* the other tests' calls, on the old range */
	int pa, pb, pe, from = 0, b[2], eng[2];
	udp_pair(b, &pb);
	udp_pair(eng, &pe);
	int phone_a = udp(&pa), phone_b = b[0], engine = eng[0];
	char out[2048], got[64];
	/* call 1: phone A offers rtcp-mux (one port), ours to its callee a pair */
	assert_true(through_x("mux-1", true, "127.0.0.1", pa, true, "a=rtcp-mux\r\n", out,
			      sizeof(out)) > 0);
	assert_true(through_x("mux-1b", false, "127.0.0.1", pe, false, "a=rtcp-mux\r\n", out,
			      sizeof(out)) > 0);
	assert_null(strstr(out, "a=rtcp:"));
	sbc_media_pool(md, &pool);
	assert_int_equal(pool.free, 0);
	assert_int_equal(pool.half, 1);
	/* call 2, from the phone system to phone B: no whole pair, one port */
	assert_true(through_x("mux-2", false, "127.0.0.1", pe, false, "a=rtcp-mux\r\n", out,
			      sizeof(out)) > 0);
	int sb = sdp_port(out);
	char want[32];
	snprintf(want, sizeof(want), "a=rtcp:%d\r\n", sb);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "a=rtcp-mux\r\n"));
	/* phone B answers without rtcp-mux: its RTP and its RTCP (type 200) on
	 * the one port, both to the engine's RTP and RTCP */
	assert_true(through_x("mux-2", true, "127.0.0.1", pb, false, "", out, sizeof(out)) > 0);
	sbc_media_answered(md, (struct sip_pl){"mux-2", 5});
	send_to(phone_b, sb, "b-rtp");
	run_ms(50);
	recv_on(engine, got, sizeof(got), &from);
	assert_string_equal(got, "b-rtp");
	assert_int_equal(from, sb);
	send_rtcp(b[1], sb, "b-rtcp"); /* from its own RTCP port, latched apart */
	run_ms(50);
	recv_on(eng[1], got, sizeof(got), &from);
	assert_string_equal(got, "b-rtcp");
	assert_int_equal(from, sb);
	/* and RTCP towards phone B goes to its RTCP port, RTP to its RTP port */
	send_rtcp(engine, sb, "e-rtcp");
	send_to(engine, sb, "e-rtp");
	run_ms(50);
	recv_on(b[1], got, sizeof(got), &from);
	assert_string_equal(got, "e-rtcp");
	assert_int_equal(from, sb);
	recv_on(phone_b, got, sizeof(got), &from);
	assert_string_equal(got, "e-rtp");
	recv_on(phone_b, got, sizeof(got), &from);
	assert_string_equal(got, ""); /* nothing else came there */
	sbc_media_pool(md, &pool);
	assert_int_equal(pool.free + pool.half, 0); /* every port of the range in use */
	assert_int_equal(pool.legs, legs0 + 3);
	/* the calls end: the range whole again */
	sbc_media_end(md, (struct sip_pl){"mux-1", 5}, false);
	sbc_media_end(md, (struct sip_pl){"mux-1b", 6}, false);
	sbc_media_end(md, (struct sip_pl){"mux-2", 5}, false);
	sbc_media_pool(md, &pool);
	assert_int_equal(pool.free, 2);
	assert_int_equal(pool.legs, legs0);
	struct core_state_media cfg = {
		.port_min = 43000, .port_max = 43998, .timeout = 60, .srtp_required = false};
	sbc_media_configure(md, &cfg);
	close(phone_a);
	close(phone_b);
	close(engine);
	close(b[1]);
	close(eng[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine_join_and_rejoin),
		cmocka_unit_test(test_non_loopback_is_never_a_target),
		cmocka_unit_test(test_trunk_leg_codecs_and_profile),
		cmocka_unit_test(test_trunk_dtmf_info_both_ways),
		cmocka_unit_test(test_mux_offer_on_one_port_when_no_pair_is_whole),
	};
	if (sodium_init() < 0)
		return 1;
	/* one SBC for all: libsrtp is initialised once per process */
	return cmocka_run_group_tests(tests, setup, teardown);
}
