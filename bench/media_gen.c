/*
 * media_gen — the phones of bench/media: one UDP socket per stream on
 * 127.0.0.1, each sending 20 ms PCMU (172-byte packets, send times spread
 * evenly over each 20 ms) to its destination port, and timing what comes
 * back to it (from whatever sends there: the media engine's own stream, or
 * the other stream of a call through a relay).
 *
 *   media_gen --streams N [--warmup 2] [--seconds 10] [--drain 0.5]
 *
 * Binds N sockets and prints their ports, one a line, then "bound"; reads N
 * destination ports from stdin; sends for warmup + seconds, receiving until
 * drain s after. Counted are the packets that arrive in the window (after
 * the warm-up): per stream, the gaps between consecutive arrivals and, by
 * RTP sequence number, the packets missing. Prints one JSON line: packets
 * expected and received, lost, the gaps' p50/p99 and the p99 of their
 * deviation from 20 ms, how far behind its schedule a send was at worst
 * (the generator starved of CPU), and its CPU. Built by bench/media with cc
 * (no library but libc). Not part of the server.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT 172

struct stream {
	int fd;
	struct sockaddr_in to;
	uint16_t seq;
	/* what came back, in the window */
	int have;
	int64_t last_at;    /* ns */
	int64_t first, top; /* extended sequence numbers */
	uint16_t last_seq;
	uint64_t received;
};

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int64_t *gaps, *devs;
static size_t ngaps, capgaps;

static void add_gap(int64_t g)
{
	if (ngaps == capgaps) {
		capgaps = capgaps ? capgaps * 2 : 65536;
		gaps = realloc(gaps, capgaps * sizeof(*gaps));
		devs = realloc(devs, capgaps * sizeof(*devs));
		if (!gaps || !devs)
			exit(1);
	}
	gaps[ngaps] = g;
	devs[ngaps++] = g > 20000000 ? g - 20000000 : 20000000 - g;
}

static void receive(struct stream *s, int64_t t, int64_t from, int64_t until)
{
	unsigned char buf[2048];
	for (;;) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return;
		if (n < 12 || t < from || t > until)
			continue;
		uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
		if (!s->have) {
			s->have = 1;
			s->first = s->top = seq;
		} else {
			int64_t ext = s->top + (int16_t)(seq - (uint16_t)s->top);
			if (ext > s->top)
				s->top = ext;
			if (ext < s->first)
				s->first = ext;
			add_gap(t - s->last_at);
		}
		s->last_at = t;
		s->last_seq = seq;
		s->received++;
	}
}

static void send_one(struct stream *s, int i)
{
	unsigned char pkt[PKT];
	memset(pkt, 0xff, sizeof(pkt)); /* PCMU silence */
	pkt[0] = 0x80;
	pkt[1] = 0;
	pkt[2] = (unsigned char)(s->seq >> 8);
	pkt[3] = (unsigned char)s->seq;
	uint32_t ts = (uint32_t)s->seq * 160, ssrc = (uint32_t)i + 1;
	for (int k = 0; k < 4; k++) {
		pkt[4 + k] = (unsigned char)(ts >> (24 - 8 * k));
		pkt[8 + k] = (unsigned char)(ssrc >> (24 - 8 * k));
	}
	s->seq++;
	sendto(s->fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&s->to, sizeof(s->to));
}

int main(int argc, char **argv)
{
	long n = 0;
	double warmup = 2, seconds = 10, drain = 0.5;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--streams"))
			n = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--warmup"))
			warmup = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--drain"))
			drain = atof(argv[i + 1]);
	}
	if (n <= 0 || n > 20000) {
		fprintf(stderr,
			"usage: media_gen --streams N (1-20000) [--warmup S] [--seconds S]\n");
		return 2;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct stream *st = calloc((size_t)n, sizeof(*st));
	int ep = epoll_create1(0);
	if (!st || ep < 0)
		return 1;
	for (long i = 0; i < n; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t al = sizeof(a);
		st[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (st[i].fd < 0 || bind(st[i].fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(st[i].fd, (struct sockaddr *)&a, &al) < 0) {
			fprintf(stderr, "media_gen: socket %ld: %s\n", i, strerror(errno));
			return 1;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		epoll_ctl(ep, EPOLL_CTL_ADD, st[i].fd, &ev);
		printf("%d\n", ntohs(a.sin_port));
		st[i].seq = (uint16_t)(i * 7919);
	}
	printf("bound\n");
	fflush(stdout);
	for (long i = 0; i < n; i++) {
		int port;
		if (scanf("%d", &port) != 1)
			return 1;
		st[i].to = (struct sockaddr_in){.sin_family = AF_INET,
						.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
						.sin_port = htons((uint16_t)port)};
	}
	int64_t t0 = now_ns(), from = t0 + (int64_t)(warmup * 1e9);
	int64_t stop_send = from + (int64_t)(seconds * 1e9), until = stop_send;
	int64_t end = stop_send + (int64_t)(drain * 1e9), max_lag = 0;
	long cursor = 0;
	int64_t cycle = 0;
	struct epoll_event evs[1024];
	for (;;) {
		int64_t t = now_ns();
		if (t >= end)
			break;
		for (;;) {
			int64_t due = t0 + cycle * 20000000LL + cursor * 20000000LL / n;
			if (due > t || due >= stop_send)
				break;
			if (t - due > max_lag)
				max_lag = t - due;
			send_one(&st[cursor], (int)cursor);
			if (++cursor == n)
				cursor = 0, cycle++;
		}
		int ne = epoll_wait(ep, evs, 1024, 1);
		int64_t at = now_ns();
		for (int e = 0; e < ne; e++)
			receive(&st[evs[e].data.u32], at, from, until);
	}
	uint64_t expected = 0, received = 0;
	for (long i = 0; i < n; i++)
		if (st[i].have) {
			expected += (uint64_t)(st[i].top - st[i].first + 1);
			received += st[i].received;
		}
	qsort(gaps, ngaps, sizeof(*gaps), cmp64);
	qsort(devs, ngaps, sizeof(*devs), cmp64);
	double p50 = ngaps ? (double)gaps[ngaps / 2] / 1e6 : 0;
	double p99 = ngaps ? (double)gaps[ngaps * 99 / 100] / 1e6 : 0;
	double d99 = ngaps ? (double)devs[ngaps * 99 / 100] / 1e6 : 0;
	double dmax = ngaps ? (double)devs[ngaps - 1] / 1e6 : 0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"streams\": %ld, \"expected\": %llu, \"received\": %llu, \"lost\": %lld, "
	       "\"gap_p50_ms\": %.3f, \"gap_p99_ms\": %.3f, \"dev_p99_ms\": %.3f, "
	       "\"dev_max_ms\": %.3f, \"max_send_lag_ms\": %.3f, \"cpu_seconds\": %.3f}\n",
	       n, (unsigned long long)expected, (unsigned long long)received,
	       (long long)expected - (long long)received, p50, p99, d99, dmax,
	       (double)max_lag / 1e6,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	return 0;
}
