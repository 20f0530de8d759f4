/* Tests for pbx_media: the media engine on a real event loop, talking to a
 * "phone" that is a loopback UDP socket of the test. */
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
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "../../src/media/media_codec.h"
#include "../../src/media/media_rtp.h"
#include "../../src/pbx/pbx_media.h"
#include "media_sig.h"

#define MAXPKT 1024

struct pkt {
	int64_t at_us;
	uint8_t data[1500];
	size_t len;
};

struct phone {
	int fd, port;
	struct event *ev;
	struct pkt *pkts;
	int n;
	uint16_t seq;
	uint32_t ts;
};

struct ctx {
	char digits[64];
	int ndigits, played, recorded;
	bool free_on_played, free_on_digit;
};

static struct event_base *base;
static struct pbx_media *eng;

static int64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void on_phone(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct phone *p = arg;
	for (;;) {
		uint8_t buf[1500];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return;
		if (p->n < MAXPKT) {
			p->pkts[p->n].at_us = now_us();
			memcpy(p->pkts[p->n].data, buf, (size_t)n);
			p->pkts[p->n++].len = (size_t)n;
		}
	}
}

static void phone_open(struct phone *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(p->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	getsockname(p->fd, (struct sockaddr *)&a, &al);
	p->port = ntohs(a.sin_port);
	p->pkts = calloc(MAXPKT, sizeof(*p->pkts));
	p->ev = event_new(base, p->fd, EV_READ | EV_PERSIST, on_phone, p);
	event_add(p->ev, NULL);
	p->seq = 1000;
	p->ts = 5000;
}

static void phone_close(struct phone *p)
{
	event_free(p->ev);
	close(p->fd);
	free(p->pkts);
}

static void run_ms(int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void phone_send(struct phone *p, int to_port, int pt, bool marker, uint32_t ts,
		       const uint8_t *payload, size_t len)
{
	uint8_t buf[1500];
	struct media_rtp h = {
		.marker = marker, .pt = (uint8_t)pt, .seq = p->seq++, .ts = ts, .ssrc = 0x1234};
	size_t n = media_rtp_write(buf, sizeof(buf), &h, payload, len);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons((uint16_t)to_port)};
	assert_int_equal(sendto(p->fd, buf, n, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)n);
}

/* Sends pcm as 20 ms packets of codec id (payload type pt), one per 20 ms. */
static void phone_stream(struct phone *p, int to_port, enum media_codec_id id, int pt,
			 const int16_t *pcm, size_t n)
{
	struct media_codec *c = media_codec_new(id);
	const struct media_codec_info *ci = media_codec_info(id);
	int frame = ci->rate / 50;
	for (size_t off = 0; off + (size_t)frame <= n; off += (size_t)frame) {
		uint8_t pl[1500];
		int len = media_codec_encode(c, pcm + off, frame, pl, sizeof(pl));
		assert_true(len > 0);
		phone_send(p, to_port, pt, off == 0, p->ts, pl, (size_t)len);
		p->ts += (uint32_t)(ci->clock / 50);
		run_ms(20);
	}
	media_codec_free(c);
}

static int answer_port(const char *sdp)
{
	const char *m = strstr(sdp, "m=audio ");
	assert_non_null(m);
	return atoi(m + 8);
}

static int offer_sdp(char *out, size_t cap, int port, const char *fmts, const char *attrs)
{
	return snprintf(out, cap,
			"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			"m=audio %d RTP/AVP %s\r\n%s",
			port, fmts, attrs);
}

static void on_digit(void *arg, struct pbx_msess *s, char d)
{
	(void)s;
	struct ctx *c = arg;
	if (c->ndigits < 63)
		c->digits[c->ndigits++] = d;
	if (c->free_on_digit)
		pbx_msess_free(s); /* from inside the engine's read */
}

static void on_played(void *arg, struct pbx_msess *s)
{
	struct ctx *c = arg;
	c->played++;
	if (c->free_on_played)
		pbx_msess_free(s); /* from inside the engine's clock */
}

static void on_recorded(void *arg, struct pbx_msess *s)
{
	(void)s;
	((struct ctx *)arg)->recorded++;
}

static struct pbx_msess *answer(struct ctx *c, int port, const char *fmts, const char *attrs,
				char *ans, size_t cap)
{
	char offer[2048];
	int ol = offer_sdp(offer, sizeof(offer), port, fmts, attrs);
	struct pbx_msess_cb cb = {on_digit, on_played, on_recorded, c};
	int alen = 0, status = 0;
	struct pbx_msess *s = pbx_media_answer(eng, (struct sip_pl){offer, (size_t)ol}, &cb, ans,
					       cap, &alen, &status);
	if (s) {
		assert_int_equal(status, 200);
		assert_int_equal((int)strlen(ans), alen);
	}
	return s;
}

static int setup(void **state)
{
	(void)state;
	base = event_base_new();
	eng = pbx_media_new(base, "127.0.0.1");
	return eng ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(pbx_media_sessions(eng), 0);
	pbx_media_free(eng);
	event_base_free(base);
	return 0;
}

#define PCMU_TE                                                                                    \
	"a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"         \
	"a=sendrecv\r\n"

/* Decodes the packets of payload type pt into one PCM stream. */
static size_t decode_all(struct phone *p, enum media_codec_id id, int pt, int16_t *out, size_t cap)
{
	struct media_codec *c = media_codec_new(id);
	size_t n = 0;
	for (int i = 0; i < p->n; i++) {
		struct media_rtp h;
		if (media_rtp_parse(p->pkts[i].data, p->pkts[i].len, &h) < 0 || h.pt != pt)
			continue;
		int k = media_codec_decode(c, h.payload, h.payload_len, out + n, (int)(cap - n),
					   media_codec_info(id)->rate / 50);
		if (k > 0)
			n += (size_t)k;
	}
	media_codec_free(c);
	return n;
}

/* The first block of 20 ms in pcm louder than -40 dBFS, or -1. */
static long first_loud(const int16_t *pcm, size_t n, int frame)
{
	for (size_t i = 0; i + (size_t)frame <= n; i += (size_t)frame)
		if (sig_level_dbfs(pcm + i, (size_t)frame) > -40)
			return (long)i;
	return -1;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* seq +1 and ts +ts_step between the packets; the inter-arrival times'
 * median and 99th percentile (printed; only loosely bounded). */
static void check_stream(struct phone *p, int pt, uint32_t ts_step)
{
	assert_true(p->n >= 10);
	int64_t *gaps = calloc((size_t)p->n, sizeof(*gaps));
	int ng = 0;
	for (int i = 0; i < p->n; i++) {
		struct media_rtp h, prev;
		assert_int_equal(media_rtp_parse(p->pkts[i].data, p->pkts[i].len, &h), 0);
		assert_int_equal(h.pt, pt);
		if (i == 0)
			continue;
		media_rtp_parse(p->pkts[i - 1].data, p->pkts[i - 1].len, &prev);
		assert_int_equal((uint16_t)(h.seq - prev.seq), 1);
		assert_int_equal(h.ts - prev.ts, ts_step);
		assert_int_equal(h.ssrc, prev.ssrc);
		gaps[ng++] = p->pkts[i].at_us - p->pkts[i - 1].at_us;
	}
	qsort(gaps, (size_t)ng, sizeof(*gaps), cmp_i64);
	int64_t p50 = gaps[ng / 2], p99 = gaps[(ng * 99) / 100];
	print_message("inter-arrival over %d packets: p50 %.2f ms, p99 %.2f ms\n", p->n,
		      (double)p50 / 1000, (double)p99 / 1000);
	assert_true(p50 > 5000 && p50 < 60000); /* loose: a loaded machine must not fail it */
	free(gaps);
}

static void test_pcmu_answer_records_tone(void **state)
{
	(void)state;
	struct phone ph;
	struct ctx c = {0};
	char ans[PBX_MEDIA_SDP_MAX];
	phone_open(&ph);
	struct pbx_msess *s = answer(&c, ph.port, "0 101", PCMU_TE, ans, sizeof(ans));
	assert_non_null(s);
	assert_non_null(strstr(ans, "c=IN IP4 127.0.0.1\r\n"));
	assert_non_null(strstr(ans, " RTP/AVP 0 101\r\n"));
	assert_non_null(strstr(ans, "a=rtpmap:0 PCMU/8000\r\n"));
	assert_non_null(strstr(ans, "a=rtpmap:101 telephone-event/8000\r\n"));
	assert_non_null(strstr(ans, "a=fmtp:101 0-16\r\n"));
	assert_non_null(strstr(ans, "a=ptime:20\r\n"));
	assert_non_null(strstr(ans, "a=sendrecv\r\n"));
	assert_string_equal(pbx_msess_codec(s), "PCMU/8000");
	assert_int_equal(pbx_msess_rate(s), 8000);
	int port = answer_port(ans);
	assert_int_equal(port % 2, 0);

	assert_int_equal(pbx_msess_record(s, 5000), 0);
	int16_t tone[8000];
	sig_sine(tone, 8000, 1000, 8000, 8000, 0);
	phone_stream(&ph, port, MEDIA_PCMU, 0, tone, 8000);
	run_ms(200);
	struct media_pcm rec;
	assert_int_equal(pbx_msess_record_take(s, &rec), 0);
	struct media_pcm again;
	assert_int_equal(pbx_msess_record_take(s, &again), -1);
	assert_int_equal(rec.rate, 8000);
	assert_true(rec.n >= 7000);
	long at = first_loud(rec.samples, rec.n, 160);
	assert_true(at >= 0 && (size_t)at + 6400 <= rec.n);
	double share = sig_goertzel_share(rec.samples + at + 160, 6000, 1000, 8000);
	print_message("recorded %zu samples, 1 kHz from %ld, share %.3f\n", rec.n, at, share);
	assert_true(share > 0.9);
	free(rec.samples);
	/* meanwhile the engine sent the phone a stream (comfort silence) */
	check_stream(&ph, 0, 160);
	pbx_msess_free(s);
	phone_close(&ph);
}

static void test_record_max_reports_once(void **state)
{
	(void)state;
	struct phone ph;
	struct ctx c = {0};
	char ans[PBX_MEDIA_SDP_MAX];
	phone_open(&ph);
	struct pbx_msess *s = answer(&c, ph.port, "0 101", PCMU_TE, ans, sizeof(ans));
	assert_int_equal(pbx_msess_record(s, 300), 0);
	int16_t tone[8000];
	sig_sine(tone, 8000, 1000, 8000, 8000, 0);
	phone_stream(&ph, answer_port(ans), MEDIA_PCMU, 0, tone, 8000);
	assert_int_equal(c.recorded, 1);
	struct media_pcm rec;
	assert_int_equal(pbx_msess_record_take(s, &rec), 0);
	assert_int_equal(rec.n, 2400);
	free(rec.samples);
	pbx_msess_free(s);
	phone_close(&ph);
}

static void test_play_clip_exact(void **state)
{
	(void)state;
	struct phone ph;
	struct ctx c = {0};
	char ans[PBX_MEDIA_SDP_MAX];
	phone_open(&ph);
	struct pbx_msess *s = answer(&c, ph.port, "0 101", PCMU_TE, ans, sizeof(ans));
	/* 0.5 s of 440 Hz, and what G.711 makes of it */
	struct media_pcm clip = {.n = 4000, .rate = 8000, .samples = calloc(4000, 2)};
	sig_sine(clip.samples, clip.n, 440, 8000, 10000, 0);
	int16_t want[4000];
	struct media_codec *cod = media_codec_new(MEDIA_PCMU);
	for (size_t i = 0; i < 4000; i += 160) {
		uint8_t pl[160];
		media_codec_encode(cod, clip.samples + i, 160, pl, sizeof(pl));
		media_codec_decode(cod, pl, 160, want + i, 160, 160);
	}
	media_codec_free(cod);
	run_ms(100);
	ph.n = 0;
	assert_int_equal(pbx_msess_play(s, &clip, false), 0);
	run_ms(900);
	assert_int_equal(c.played, 1);
	check_stream(&ph, 0, 160);
	int16_t got[MAXPKT * 160];
	size_t n = decode_all(&ph, MEDIA_PCMU, 0, got, MAXPKT * 160);
	long at = first_loud(got, n, 160);
	assert_true(at >= 0 && (size_t)at + 4000 <= n);
	assert_memory_equal(got + at, want, sizeof(want));
	/* and silence after it */
	assert_true(sig_level_dbfs(got + at + 4000, 800) < -60);
	free(clip.samples);
	pbx_msess_free(s);
	phone_close(&ph);
}

static void test_play_resampled_and_free_in_callback(void **state)
{
	(void)state;
	struct phone ph;
	struct ctx c = {.free_on_played = true};
	char ans[PBX_MEDIA_SDP_MAX];
	phone_open(&ph);
	struct pbx_msess *s = answer(&c, ph.port, "0 101", PCMU_TE, ans, sizeof(ans));
	/* a 16 kHz clip on an 8 kHz session, queued twice (one resampled copy) */
	struct media_pcm clip = {.n = 8000, .rate = 16000, .samples = calloc(8000, 2)};
	sig_sine(clip.samples, clip.n, 600, 16000, 10000, 0);
	assert_int_equal(pbx_msess_play(s, &clip, false), 0);
	assert_int_equal(pbx_msess_play(s, &clip, false), 0);
	assert_int_equal(pbx_msess_beep(s, 200), 0);
	run_ms(1500);
	assert_int_equal(c.played, 1); /* and the session freed itself then */
	assert_int_equal(pbx_media_sessions(eng), 0);
	int16_t got[MAXPKT * 160];
	size_t n = decode_all(&ph, MEDIA_PCMU, 0, got, MAXPKT * 160);
	long at = first_loud(got, n, 160);
	assert_true(at >= 0 && (size_t)at + 9600 <= n);
	/* each copy on its own (their phases need not continue) */
	double s600 = sig_goertzel_share(got + at + 400, 3200, 600, 8000);
	double s600b = sig_goertzel_share(got + at + 4400, 3200, 600, 8000);
	assert_true(s600b > 0.9);
	double s1k = sig_goertzel_share(got + at + 8000 + 80, 1400, 1000, 8000);
	print_message("600 Hz share %.3f, beep 1 kHz share %.3f\n", s600, s1k);
	assert_true(s600 > 0.9);
	assert_true(s1k > 0.9);
	free(clip.samples);
	phone_close(&ph);
}

static void send_te(struct phone *p, int port, int pt, char digit, uint32_t ts, int packets,
		    int ends)
{
	for (int i = 0; i < packets + ends; i++) {
		struct media_te te = {.event = (uint8_t)media_te_event(digit),
				      .end = i >= packets,
				      .volume = 10,
				      .duration = (uint16_t)(160 * (i + 1))};
		uint8_t pl[4];
		media_te_write(pl, sizeof(pl), &te);
		phone_send(p, port, pt, i == 0, ts, pl, 4);
		run_ms(10);
	}
}

static void test_rfc4733_digits_once(void **state)
{
	(void)state;
	struct phone ph;
	struct ctx c = {0};
	char ans[PBX_MEDIA_SDP_MAX];
	phone_open(&ph);
	struct pbx_msess *s = answer(&c, ph.port, "0 101", PCMU_TE, ans, sizeof(ans));
	int port = answer_port(ans);
	send_te(&ph, port, 101, '5', 16000, 4, 3);
	send_te(&ph, port, 101, '#', 17600, 2, 3);
	send_te(&ph, port, 101, '5', 17600, 0, 2); /* late retransmissions of an old one */
	send_te(&ph, port, 101, '5', 19200, 3, 3);
	run_ms(100);
	c.digits[c.ndigits] = 0;
	assert_string_equal(c.digits, "5#5");
	pbx_msess_free(s);
	phone_close(&ph);
}

static void test_free_in_digit_callback(void **state)
{
	(void)state;
	struct phone ph;
	struct ctx c = {.free_on_digit = true};
	char ans[PBX_MEDIA_SDP_MAX];
	phone_open(&ph);
	struct pbx_msess *s = answer(&c, ph.port, "0 101", PCMU_TE, ans, sizeof(ans));
	int port = answer_port(ans);
	/* five presses at once, likely in one read: the session goes at the first */
	for (int i = 0; i < 5; i++) {
		struct media_te te = {.event = 3, .volume = 10, .duration = 160};
		uint8_t pl[4];
		media_te_write(pl, sizeof(pl), &te);
		phone_send(&ph, port, 101, false, 3000 + 1600 * (uint32_t)i, pl, 4);
	}
	run_ms(100);
	c.digits[c.ndigits] = 0;
	assert_string_equal(c.digits, "3");
	assert_int_equal(pbx_media_sessions(eng), 0);
	(void)s;
	phone_close(&ph);
}

static void test_sip_info_digit(void **state)
{
	(void)state;
	struct phone ph;
	struct ctx c = {0};
	char ans[PBX_MEDIA_SDP_MAX];
	phone_open(&ph);
	struct pbx_msess *s = answer(&c, ph.port, "0 101", PCMU_TE, ans, sizeof(ans));
	pbx_msess_dtmf(s, '7');
	pbx_msess_dtmf(s, 'x'); /* not a digit: ignored */
	pbx_msess_dtmf(s, '*');
	c.digits[c.ndigits] = 0;
	assert_string_equal(c.digits, "7*");
	pbx_msess_free(s);
	phone_close(&ph);
}

static void dtmf_tone(int16_t *pcm, size_t n, double f1, double f2)
{
	for (size_t i = 0; i < n; i++)
		pcm[i] = (int16_t)lrint(7000 * sin(2 * M_PI * f1 * (double)i / 8000) +
					7000 * sin(2 * M_PI * f2 * (double)i / 8000));
}

static void test_inband_dtmf_pcmu(void **state)
{
	(void)state;
	struct phone ph;
	struct ctx c = {0};
	char ans[PBX_MEDIA_SDP_MAX];
	phone_open(&ph);
	struct pbx_msess *s =
		answer(&c, ph.port, "0", "a=rtpmap:0 PCMU/8000\r\n", ans, sizeof(ans));
	assert_non_null(s);
	assert_null(strstr(ans, "telephone-event"));
	static int16_t pcm[8000];
	memset(pcm, 0, sizeof(pcm));
	dtmf_tone(pcm + 800, 960, 697, 1209);  /* '1', 120 ms */
	dtmf_tone(pcm + 3200, 960, 852, 1477); /* '9' */
	phone_stream(&ph, answer_port(ans), MEDIA_PCMU, 0, pcm, 8000);
	run_ms(200);
	c.digits[c.ndigits] = 0;
	assert_string_equal(c.digits, "19");
	pbx_msess_free(s);
	phone_close(&ph);
}

/* A wideband session: the clip comes out, what the phone sends is recorded. */
static void wideband(enum media_codec_id id, const char *fmts, const char *attrs, const char *codec,
		     int pt, uint32_t ts_step)
{
	struct phone ph;
	struct ctx c = {0};
	char ans[PBX_MEDIA_SDP_MAX];
	phone_open(&ph);
	struct pbx_msess *s = answer(&c, ph.port, fmts, attrs, ans, sizeof(ans));
	assert_non_null(s);
	assert_string_equal(pbx_msess_codec(s), codec);
	assert_int_equal(pbx_msess_rate(s), 16000);
	struct media_pcm clip = {.n = 8000, .rate = 16000, .samples = calloc(8000, 2)};
	sig_sine(clip.samples, clip.n, 1000, 16000, 10000, 0);
	run_ms(60);
	ph.n = 0;
	assert_int_equal(pbx_msess_play(s, &clip, false), 0);
	assert_int_equal(pbx_msess_record(s, 5000), 0);
	int16_t tone[16000];
	sig_sine(tone, 16000, 800, 16000, 8000, 0);
	phone_stream(&ph, answer_port(ans), id, pt, tone, 16000);
	run_ms(200);
	check_stream(&ph, pt, ts_step);
	static int16_t got[MAXPKT * 320];
	size_t n = decode_all(&ph, id, pt, got, MAXPKT * 320);
	long at = first_loud(got, n, 320);
	assert_true(at >= 0 && (size_t)at + 8000 <= n);
	double share = sig_goertzel_share(got + at + 1600, 4800, 1000, 16000);
	struct media_pcm rec;
	assert_int_equal(pbx_msess_record_take(s, &rec), 0);
	long rat = first_loud(rec.samples, rec.n, 320);
	assert_true(rat >= 0 && (size_t)rat + 12000 <= rec.n);
	double rshare = sig_goertzel_share(rec.samples + rat + 1600, 9600, 800, 16000);
	print_message("%s: played 1 kHz share %.3f, recorded 800 Hz share %.3f\n", codec, share,
		      rshare);
	assert_true(share > 0.8);
	assert_true(rshare > 0.8);
	free(rec.samples);
	free(clip.samples);
	pbx_msess_free(s);
	phone_close(&ph);
}

static void test_g722_session(void **state)
{
	(void)state;
	wideband(MEDIA_G722, "9 0 101",
		 "a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n"
		 "a=rtpmap:101 telephone-event/8000\r\n",
		 "G722/8000", 9, 160);
}

static void test_opus_session(void **state)
{
	(void)state;
	char ans[PBX_MEDIA_SDP_MAX];
	struct ctx c = {0};
	const char *attrs = "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\n"
			    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
			    "a=rtpmap:102 telephone-event/48000\r\n";
	struct pbx_msess *s = answer(&c, 40000, "96 0 101 102", attrs, ans, sizeof(ans));
	assert_non_null(s);
	assert_non_null(strstr(ans, " RTP/AVP 96 102\r\n"));
	assert_non_null(strstr(ans, "a=rtpmap:96 opus/48000/2\r\n"));
	assert_non_null(strstr(ans, "a=fmtp:96 useinbandfec=1\r\n"));
	assert_non_null(strstr(ans, "a=rtpmap:102 telephone-event/48000\r\n"));
	pbx_msess_free(s);
	wideband(MEDIA_OPUS, "96 0 101 102", attrs, "opus/48000", 96, 960);
}

static void test_codec_order_is_the_offers(void **state)
{
	(void)state;
	char ans[PBX_MEDIA_SDP_MAX];
	struct ctx c = {0};
	/* the offer's first that we have: PCMA before G722 here; 18 is not ours */
	struct pbx_msess *s = answer(&c, 40000, "18 8 9 0", "", ans, sizeof(ans));
	assert_non_null(s);
	assert_string_equal(pbx_msess_codec(s), "PCMA/8000");
	assert_non_null(strstr(ans, " RTP/AVP 8\r\n"));
	pbx_msess_free(s);
}

static void test_no_common_codec_488(void **state)
{
	(void)state;
	char ans[PBX_MEDIA_SDP_MAX];
	struct ctx c = {0};
	assert_null(answer(&c, 40000, "18", "a=rtpmap:18 G729/8000\r\n", ans, sizeof(ans)));
	char offer[512];
	int ol = offer_sdp(offer, sizeof(offer), 40000, "18 101",
			   "a=rtpmap:101 telephone-event/8000\r\n");
	int alen = -1, status = 0;
	assert_null(pbx_media_answer(eng, (struct sip_pl){offer, (size_t)ol}, NULL, ans,
				     sizeof(ans), &alen, &status));
	assert_int_equal(status, 488);
	/* SRTP is the SBC's: the engine takes plain RTP only */
	ol = snprintf(offer, sizeof(offer),
		      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		      "m=audio 40000 RTP/SAVP 0\r\n");
	assert_null(pbx_media_answer(eng, (struct sip_pl){offer, (size_t)ol}, NULL, ans,
				     sizeof(ans), &alen, &status));
	assert_int_equal(status, 488);
	assert_null(pbx_media_answer(eng, (struct sip_pl){"garbage", 7}, NULL, ans, sizeof(ans),
				     &alen, &status));
	assert_int_equal(status, 488);
	assert_int_equal(pbx_media_sessions(eng), 0);
}

static void test_direction_mirrored(void **state)
{
	(void)state;
	static const char *const dirs[][2] = {{"sendonly", "recvonly"},
					      {"recvonly", "sendonly"},
					      {"inactive", "inactive"},
					      {"sendrecv", "sendrecv"}};
	for (int i = 0; i < 4; i++) {
		struct phone ph;
		struct ctx c = {0};
		char ans[PBX_MEDIA_SDP_MAX], attrs[64], want[32];
		phone_open(&ph);
		snprintf(attrs, sizeof(attrs), "a=%s\r\n", dirs[i][0]);
		snprintf(want, sizeof(want), "a=%s\r\n", dirs[i][1]);
		struct pbx_msess *s = answer(&c, ph.port, "0", attrs, ans, sizeof(ans));
		assert_non_null(strstr(ans, want));
		run_ms(200);
		bool sends = i == 1 || i == 3;
		print_message("offer %s: answer %s, %d packets in 200 ms\n", dirs[i][0], dirs[i][1],
			      ph.n);
		if (sends)
			assert_true(ph.n >= 3);
		else
			assert_int_equal(ph.n, 0);
		pbx_msess_free(s);
		phone_close(&ph);
	}
}

static void test_reoffer_changes_codec_and_peer(void **state)
{
	(void)state;
	struct phone a, b;
	struct ctx c = {0};
	char ans[PBX_MEDIA_SDP_MAX], offer[1024], ans2[PBX_MEDIA_SDP_MAX];
	phone_open(&a);
	phone_open(&b);
	struct pbx_msess *s = answer(&c, a.port, "0 101", PCMU_TE, ans, sizeof(ans));
	run_ms(100);
	assert_true(a.n >= 2);
	int ol = offer_sdp(offer, sizeof(offer), b.port, "8", "a=rtpmap:8 PCMA/8000\r\n");
	assert_int_equal(
		pbx_msess_reoffer(s, (struct sip_pl){offer, (size_t)ol}, ans2, sizeof(ans2)), 0);
	assert_int_equal(answer_port(ans2), answer_port(ans));
	assert_non_null(strstr(ans2, " RTP/AVP 8\r\n"));
	assert_non_null(strstr(ans2, "o=zentrale "));
	assert_string_equal(pbx_msess_codec(s), "PCMA/8000");
	int before = a.n;
	run_ms(200);
	assert_true(a.n <= before + 1);
	assert_true(b.n >= 3);
	struct media_rtp h;
	assert_int_equal(media_rtp_parse(b.pkts[b.n - 1].data, b.pkts[b.n - 1].len, &h), 0);
	assert_int_equal(h.pt, 8);
	/* a reoffer without a codec of ours */
	ol = offer_sdp(offer, sizeof(offer), b.port, "18", "");
	assert_int_equal(
		pbx_msess_reoffer(s, (struct sip_pl){offer, (size_t)ol}, ans2, sizeof(ans2)), -488);
	pbx_msess_free(s);
	phone_close(&a);
	phone_close(&b);
}

static void test_offer_then_answered(void **state)
{
	(void)state;
	struct phone ph;
	struct ctx c = {0};
	char out[PBX_MEDIA_SDP_MAX], answer_sdp[512];
	int len = 0;
	phone_open(&ph);
	struct pbx_msess_cb cb = {on_digit, on_played, on_recorded, &c};
	struct pbx_msess *s = pbx_media_offer(eng, "sendonly", &cb, out, sizeof(out), &len);
	assert_non_null(s);
	assert_int_equal((int)strlen(out), len);
	assert_non_null(strstr(out, "a=rtpmap:9 G722/8000\r\n"));
	assert_non_null(strstr(out, "opus/48000/2\r\n"));
	assert_non_null(strstr(out, "a=rtpmap:8 PCMA/8000\r\n"));
	assert_non_null(strstr(out, "a=rtpmap:0 PCMU/8000\r\n"));
	assert_non_null(strstr(out, "telephone-event/8000\r\n"));
	assert_non_null(strstr(out, "a=sendonly\r\n"));
	run_ms(100);
	assert_int_equal(ph.n, 0); /* nowhere to send before the answer */
	int al = offer_sdp(answer_sdp, sizeof(answer_sdp), ph.port, "8 101",
			   "a=rtpmap:101 telephone-event/8000\r\na=recvonly\r\n");
	assert_int_equal(pbx_msess_answered(s, (struct sip_pl){answer_sdp, (size_t)al}), 0);
	assert_string_equal(pbx_msess_codec(s), "PCMA/8000");
	run_ms(400);
	check_stream(&ph, 8, 160);
	pbx_msess_free(s);
	phone_close(&ph);
}

static void test_play_queued_before_a_wideband_answer(void **state)
{
	(void)state;
	struct phone ph;
	struct ctx c = {0};
	char out[PBX_MEDIA_SDP_MAX], answer_sdp[512];
	int len = 0;
	phone_open(&ph);
	struct pbx_msess_cb cb = {on_digit, on_played, on_recorded, &c};
	struct pbx_msess *s = pbx_media_offer(eng, "sendonly", &cb, out, sizeof(out), &len);
	assert_non_null(s);
	/* music queued at once, at 8 kHz; the answer makes the session 16 kHz */
	struct media_pcm clip = {.n = 8000, .rate = 8000, .samples = calloc(8000, 2)};
	sig_sine(clip.samples, clip.n, 500, 8000, 10000, 0);
	assert_int_equal(pbx_msess_play(s, &clip, true), 0);
	assert_int_equal(pbx_msess_beep(s, 100), 0);
	int al = offer_sdp(answer_sdp, sizeof(answer_sdp), ph.port, "9", "a=recvonly\r\n");
	assert_int_equal(pbx_msess_answered(s, (struct sip_pl){answer_sdp, (size_t)al}), 0);
	assert_int_equal(pbx_msess_rate(s), 16000);
	run_ms(600);
	check_stream(&ph, 9, 160);
	static int16_t got[MAXPKT * 320];
	size_t n = decode_all(&ph, MEDIA_G722, 9, got, MAXPKT * 320);
	long at = first_loud(got, n, 320);
	assert_true(at >= 0 && (size_t)at + 6400 <= n);
	double share = sig_goertzel_share(got + at + 640, 4800, 500, 16000);
	print_message("500 Hz at 16 kHz after the answer: share %.3f\n", share);
	assert_true(share > 0.8);
	pbx_msess_free(s);
	free(clip.samples);
	phone_close(&ph);
}

static void test_other_source_ignored(void **state)
{
	(void)state;
	struct phone ph, intruder;
	struct ctx c = {0};
	char ans[PBX_MEDIA_SDP_MAX];
	phone_open(&ph);
	phone_open(&intruder);
	struct pbx_msess *s = answer(&c, ph.port, "0 101", PCMU_TE, ans, sizeof(ans));
	int port = answer_port(ans);
	send_te(&ph, port, 101, '1', 1000, 1, 1);	/* latches ph */
	send_te(&intruder, port, 101, '2', 2000, 2, 3); /* not from the latched source */
	c.digits[c.ndigits] = 0;
	assert_string_equal(c.digits, "1");
	pbx_msess_free(s);
	phone_close(&ph);
	phone_close(&intruder);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pcmu_answer_records_tone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_max_reports_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_play_clip_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_play_resampled_and_free_in_callback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rfc4733_digits_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_in_digit_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sip_info_digit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inband_dtmf_pcmu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_g722_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opus_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_codec_order_is_the_offers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_common_codec_488, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direction_mirrored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reoffer_changes_codec_and_peer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_offer_then_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_play_queued_before_a_wideband_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_source_ignored, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
