/*
 * relay — the raw reference relay of bench/sip, in rtpengine's userspace
 * "anchors" style: each call is a pair of UDP sockets, one thread waits on
 * all of them with epoll, takes what a socket holds with recvmmsg, latches
 * the sender's address for that side, and sends the whole batch on with one
 * sendmmsg from the other socket of the pair to the address latched there.
 * Nothing else: no SIP, no SRTP, no timers, no per-packet checks beyond the
 * latch. It is what a relay costs at the least, the yardstick for the SBC.
 *
 *   relay --calls N [--host 127.0.0.1]
 *
 * Binds 2N sockets on ephemeral ports, prints "PORT_A PORT_B" per call and
 * then "ready", and relays until SIGTERM or SIGINT; then prints one JSON
 * line (packets relayed, packets dropped because the other side had not
 * been heard yet, CPU seconds). Built by bench/sip with cc (no library but
 * libc). Not part of the server.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	long calls = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--calls"))
			calls = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--host"))
			host = argv[i + 1];
	}
	if (calls <= 0 || calls > 30000) {
		fprintf(stderr, "usage: relay --calls N (1-30000) [--host H]\n");
		return 2;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	size_t n = (size_t)calls * 2;
	int *fd = calloc(n, sizeof(*fd));
	struct sockaddr_in *peer = calloc(n, sizeof(*peer));
	unsigned char *latched = calloc(n, 1);
	int ep = epoll_create1(0);
	if (!fd || !peer || !latched || ep < 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		socklen_t al = sizeof(a);
		inet_pton(AF_INET, host, &a.sin_addr);
		fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd[i] < 0 || bind(fd[i], (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fd[i], (struct sockaddr *)&a, &al) < 0) {
			fprintf(stderr, "relay: socket %zu: %s\n", i, strerror(errno));
			return 1;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &ev) < 0)
			return 1;
		printf(i & 1 ? "%d\n" : "%d ", ntohs(a.sin_port));
	}
	printf("ready\n");
	fflush(stdout);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	static unsigned char buf[BATCH][2048];
	static struct mmsghdr m[BATCH];
	static struct iovec iov[BATCH];
	static struct sockaddr_in from[BATCH];
	struct epoll_event evs[1024];
	uint64_t relayed = 0, dropped = 0;
	while (!stop) {
		int ne = epoll_wait(ep, evs, 1024, 200);
		for (int e = 0; e < ne; e++) {
			uint32_t i = evs[e].data.u32, o = i ^ 1;
			for (;;) {
				for (int k = 0; k < BATCH; k++) {
					iov[k] = (struct iovec){buf[k], sizeof(buf[k])};
					m[k].msg_hdr =
						(struct msghdr){.msg_name = &from[k],
								.msg_namelen = sizeof(from[k]),
								.msg_iov = &iov[k],
								.msg_iovlen = 1};
				}
				int r = recvmmsg(fd[i], m, BATCH, MSG_DONTWAIT, NULL);
				if (r <= 0)
					break;
				peer[i] = from[r - 1]; /* the latch: where this side sends from */
				latched[i] = 1;
				if (!latched[o]) {
					dropped += (uint64_t)r;
				} else {
					for (int k = 0; k < r; k++) {
						iov[k].iov_len = m[k].msg_len;
						m[k].msg_hdr.msg_name = &peer[o];
						m[k].msg_hdr.msg_namelen = sizeof(peer[o]);
					}
					int off = 0;
					while (off < r) {
						int s = sendmmsg(fd[o], m + off,
								 (unsigned)(r - off), 0);
						if (s <= 0)
							break;
						off += s;
					}
					relayed += (uint64_t)off;
					dropped += (uint64_t)(r - off);
				}
				if (r < BATCH)
					break;
			}
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"relayed\": %llu, \"dropped\": %llu, \"cpu_seconds\": %.3f}\n",
	       (unsigned long long)relayed, (unsigned long long)dropped,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	return 0;
}
