/*
 * rtpgen — the RTP load generator of bench/sip: 20 ms G.711 (PCMU, 172-byte
 * packets) on every stream, from one process and one thread, counting per
 * stream what it sends and what comes back.
 *
 *   rtpgen --streams FILE --bind-a PORT --bind-b PORT [--host 127.0.0.1]
 *          [--warmup 2] [--seconds 8] [--drain 1] [--ptime 20]
 *
 * FILE has one stream a line, "a PORT" or "b PORT": the stream is sent from
 * socket a (the callers' side) or b (the callees' side) to host:PORT (the
 * relay's port for that leg). Every stream's SSRC is its line number + 1, so
 * a packet that comes back on either socket is counted for the stream that
 * sent it, whichever relay port it came from. The streams' send times are
 * spread evenly over each 20 ms, as calls of independent phones are. Packets
 * sent between --warmup and --warmup + --seconds are marked (first payload
 * byte 1) and counted; the warm-up lets the relay latch both sides. After
 * the window nothing more is sent and packets are received for --drain s
 * after the last one was sent. Prints one JSON line: counted packets sent,
 * received and lost, the streams that lost any, all packets sent and
 * received, how far behind its schedule a packet was sent at worst (the
 * generator starved of CPU: an artefact to know of), and its CPU.
 * Built by bench/sip with cc (no library but libc). Not part of the server.
 *
 * Built with -DRTPGEN_SRTP (and -lsrtp2) a line may also be "b PORT TX RX":
 * that stream speaks SRTP (AES_CM_128_HMAC_SHA1_80), TX and RX the 30-byte
 * master keys and salts in hex: TX protects what it sends, RX unprotects
 * what comes back from PORT (a packet is known by the relay port it comes
 * from; one that does not authenticate counts in srtp_errors). For the
 * SBC's trunk leg with `srtp` (bench/sip --trunks).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef RTPGEN_SRTP
#include <srtp2/srtp.h>
#endif

#define PKT	172	   /* 12 bytes RTP header + 160 bytes PCMU (20 ms) */
#define PKT_MAX (PKT + 16) /* with room for SRTP's authentication tag */
#define BATCH	512

struct stream {
	int side;
	struct sockaddr_in to;
	uint16_t seq;
	uint64_t sent, received; /* counted (in the window) */
#ifdef RTPGEN_SRTP
	srtp_t tx, rx; /* NULL: plain RTP */
#endif
};

#ifdef RTPGEN_SRTP
/* 30 bytes from 60 hex digits: 0, or -1. */
static int unhex(const char *h, unsigned char *out)
{
	if (strlen(h) != 60)
		return -1;
	for (int i = 0; i < 30; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

static srtp_t srtp_session(const char *hex, int inbound)
{
	unsigned char key[30];
	srtp_policy_t p;
	srtp_t ctx = NULL;
	if (unhex(hex, key) < 0)
		return NULL;
	memset(&p, 0, sizeof(p));
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = key;
	p.window_size = 1024;
	return srtp_create(&ctx, &p) == srtp_err_status_ok ? ctx : NULL;
}
#endif

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int udp_socket(const char *host, int port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	int big = 64 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *host = "127.0.0.1";
	int port[2] = {0, 0};
	double warmup = 2, seconds = 8, drain = 1, ptime = 0.020;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--streams"))
			file = argv[i + 1];
		else if (!strcmp(argv[i], "--host"))
			host = argv[i + 1];
		else if (!strcmp(argv[i], "--bind-a"))
			port[0] = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--bind-b"))
			port[1] = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--warmup"))
			warmup = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--drain"))
			drain = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--ptime"))
			ptime = atof(argv[i + 1]) / 1000;
		else {
			fprintf(stderr, "rtpgen: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (!file || !port[0] || !port[1] || ptime <= 0) {
		fprintf(stderr, "usage: rtpgen --streams FILE --bind-a PORT --bind-b PORT "
				"[--host H] [--warmup S] [--seconds S] [--drain S] [--ptime MS]\n");
		return 2;
	}
	FILE *f = fopen(file, "r");
	if (!f) {
		perror(file);
		return 1;
	}
	size_t n = 0, cap = 1024;
	struct stream *st = calloc(cap, sizeof(*st));
	char side, line[256], txk[64], rxk[64];
	int p, fields;
#ifdef RTPGEN_SRTP
	static int by_port[65536]; /* relay port -> SRTP stream + 1 */
	if (srtp_init() != srtp_err_status_ok)
		return 1;
#endif
	while (st && fgets(line, sizeof(line), f)) {
		fields = sscanf(line, " %c %d %63s %63s", &side, &p, txk, rxk);
		if (fields <= 0)
			continue;
		if (fields < 2 || (side != 'a' && side != 'b') || p <= 0 || p > 65535 ||
		    fields == 3) {
			fprintf(stderr, "rtpgen: bad stream line %zu\n", n + 1);
			return 1;
		}
		if (n == cap) {
			struct stream *bigger = realloc(st, 2 * cap * sizeof(*st));
			if (!bigger)
				return 1;
			memset(bigger + cap, 0, cap * sizeof(*st));
			st = bigger;
			cap *= 2;
		}
		st[n].side = side == 'b';
		if (fields == 4) {
#ifdef RTPGEN_SRTP
			st[n].tx = srtp_session(txk, 0);
			st[n].rx = srtp_session(rxk, 1);
			if (!st[n].tx || !st[n].rx || side != 'b') {
				fprintf(stderr, "rtpgen: bad keys on stream line %zu\n", n + 1);
				return 1;
			}
			by_port[p] = (int)n + 1;
#else
			fprintf(stderr, "rtpgen: stream line %zu has keys: built without SRTP\n",
				n + 1);
			return 1;
#endif
		}
		st[n].to.sin_family = AF_INET;
		st[n].to.sin_port = htons((uint16_t)p);
		inet_pton(AF_INET, host, &st[n].to.sin_addr);
		n++;
	}
	fclose(f);
	if (!st || n == 0) {
		fprintf(stderr, "rtpgen: no streams\n");
		return 1;
	}
	int fd[2];
	for (int s = 0; s < 2; s++)
		if ((fd[s] = udp_socket(host, port[s])) < 0) {
			fprintf(stderr, "rtpgen: cannot bind %s:%d: %s\n", host, port[s],
				strerror(errno));
			return 1;
		}

	static unsigned char out[2][BATCH][PKT_MAX], in[BATCH][2048];
	static struct mmsghdr om[2][BATCH], im[BATCH];
	static struct iovec oiov[2][BATCH], iiov[BATCH];
	static struct sockaddr_in from[BATCH];
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < BATCH; k++) {
			oiov[s][k] = (struct iovec){out[s][k], PKT};
			om[s][k].msg_hdr.msg_iov = &oiov[s][k];
			om[s][k].msg_hdr.msg_iovlen = 1;
			om[s][k].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
		}
	for (int k = 0; k < BATCH; k++) {
		iiov[k] = (struct iovec){in[k], sizeof(in[k])};
		im[k].msg_hdr.msg_iov = &iiov[k];
		im[k].msg_hdr.msg_iovlen = 1;
		im[k].msg_hdr.msg_name = &from[k];
		im[k].msg_hdr.msg_namelen = sizeof(from[k]);
	}

	uint64_t sent_all = 0, recv_all = 0, unknown = 0, send_err = 0, due_done = 0;
	uint64_t srtp_errors = 0;
	uint64_t total = (uint64_t)((warmup + seconds) / ptime * (double)n);
	double t0 = now_s(), stop_send = warmup + seconds, end = -1, lag = 0;
	int nb[2] = {0, 0};
	for (;;) {
		double t = now_s() - t0;
		/* the drain runs from the last packet sent, however late that was */
		if (end < 0 && due_done >= total)
			end = t + drain;
		if (end >= 0 && t >= end)
			break;
		/* every packet due by now: packet j is stream j % n of cycle j / n */
		uint64_t due = t < stop_send ? (uint64_t)(t / ptime * (double)n) : total;
		while (due_done < due) {
			uint64_t j = due_done++;
			struct stream *s = &st[j % n];
			uint32_t cycle = (uint32_t)(j / n);
			double at = ((double)cycle + (double)(j % n) / (double)n) * ptime;
			if (t - at > lag)
				lag = t - at; /* behind its schedule: the generator was starved */
			int counted = at >= warmup && at < stop_send;
			unsigned char *b = out[s->side][nb[s->side]];
			b[0] = 0x80;
			b[1] = 0; /* PCMU */
			uint16_t seq = htons(s->seq++);
			uint32_t ts = htonl(cycle * 160), ssrc = htonl((uint32_t)(j % n) + 1);
			memcpy(b + 2, &seq, 2);
			memcpy(b + 4, &ts, 4);
			memcpy(b + 8, &ssrc, 4);
			memset(b + 12, 0xff, PKT - 12);
			b[12] = (unsigned char)counted;
			oiov[s->side][nb[s->side]].iov_len = PKT;
#ifdef RTPGEN_SRTP
			if (s->tx) {
				int len = PKT;
				if (srtp_protect(s->tx, b, &len) == srtp_err_status_ok)
					oiov[s->side][nb[s->side]].iov_len = (size_t)len;
				else
					srtp_errors++; /* sent as it is: the relay refuses it */
			}
#endif
			om[s->side][nb[s->side]].msg_hdr.msg_name = &s->to;
			nb[s->side]++;
			s->sent += (uint64_t)counted;
			for (int q = 0; q < 2; q++) {
				if (nb[q] < BATCH && !(due_done == due && nb[q]))
					continue;
				int off = 0;
				while (off < nb[q]) {
					int r = sendmmsg(fd[q], om[q] + off,
							 (unsigned)(nb[q] - off), 0);
					if (r <= 0) {
						if (r < 0 && errno == EINTR)
							continue;
						send_err += (uint64_t)(nb[q] - off);
						break;
					}
					off += r;
					sent_all += (uint64_t)r;
				}
				nb[q] = 0;
			}
		}
		/* then what came back, until the next packet is due (1 ms at most) */
		for (int q = 0; q < 2; q++)
			for (;;) {
				for (int k = 0; k < BATCH; k++)
					im[k].msg_hdr.msg_namelen = sizeof(from[k]);
				int r = recvmmsg(fd[q], im, BATCH, MSG_DONTWAIT, NULL);
				if (r <= 0)
					break;
				for (int k = 0; k < r; k++) {
					recv_all++;
					unsigned char *b = in[k];
					uint32_t ssrc;
#ifdef RTPGEN_SRTP
					int from_st = by_port[ntohs(from[k].sin_port)];
					if (q == 1 && from_st && st[from_st - 1].rx) {
						int len = (int)im[k].msg_len;
						if (srtp_unprotect(st[from_st - 1].rx, b, &len) !=
						    srtp_err_status_ok) {
							srtp_errors++;
							continue;
						}
						im[k].msg_len = (unsigned)len;
					}
#endif
					if (im[k].msg_len < 13 || (b[0] & 0xc0) != 0x80) {
						unknown++;
						continue;
					}
					memcpy(&ssrc, b + 8, 4);
					ssrc = ntohl(ssrc);
					if (ssrc == 0 || ssrc > n) {
						unknown++;
						continue;
					}
					st[ssrc - 1].received += b[12] == 1;
				}
				if (r < BATCH)
					break;
			}
		struct pollfd pf[2] = {{fd[0], POLLIN, 0}, {fd[1], POLLIN, 0}};
		poll(pf, 2, 1);
	}

	uint64_t sent = 0, received = 0, lossy = 0, worst = 0;
	for (size_t i = 0; i < n; i++) {
		sent += st[i].sent;
		received += st[i].received;
		uint64_t lost = st[i].sent > st[i].received ? st[i].sent - st[i].received : 0;
		lossy += lost > 0;
		if (lost > worst)
			worst = lost;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("{\"streams\": %zu, \"seconds\": %g, \"sent\": %llu, \"received\": %llu, "
	       "\"lost\": %lld, \"streams_with_loss\": %llu, \"worst_stream_loss\": %llu, "
	       "\"sent_all\": %llu, \"received_all\": %llu, \"unknown\": %llu, "
	       "\"send_errors\": %llu, \"srtp_errors\": %llu, \"max_send_lag_ms\": %.1f, "
	       "\"cpu_seconds\": %.3f}\n",
	       n, seconds, (unsigned long long)sent, (unsigned long long)received,
	       (long long)sent - (long long)received, (unsigned long long)lossy,
	       (unsigned long long)worst, (unsigned long long)sent_all,
	       (unsigned long long)recv_all, (unsigned long long)unknown,
	       (unsigned long long)send_err, (unsigned long long)srtp_errors, lag * 1000, cpu);
	return 0;
}
