/*
 * media_host — the media engine of bench/media, on its own: the phone
 * system's pbx_media (the same code the pbx runs, one libevent loop, one
 * 20 ms clock) answering one PCMU offer per port it is given, each session
 * playing a looping prompt while recording (5 s at a time, taken and started
 * again, as voicemail would).
 *
 *   media_host [--addr 127.0.0.1] < PORTS
 *
 * PORTS has one port a line (the generator's sockets, on 127.0.0.1); the
 * host prints the engine's RTP port for each, then "ready", and runs until
 * SIGTERM or SIGINT; then prints one JSON line (the engine's counters, the
 * recordings taken, CPU seconds). Built by bench/media (meson target
 * bench-media-host, not built by default). Not part of the server.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "../src/pbx/pbx_media.h"

#define MAX_SESSIONS 10000
#define RECORD_MS    5000

static struct media_pcm prompt;
static unsigned long long taken, taken_samples;

static void on_recorded(void *arg, struct pbx_msess *s)
{
	(void)arg;
	struct media_pcm rec;
	if (pbx_msess_record_take(s, &rec) == 0) {
		taken++;
		taken_samples += rec.n;
		free(rec.samples);
	}
	pbx_msess_record(s, RECORD_MS);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

/* 3 s of a two-tone "prompt" at 8 kHz, -16 dBFS or so. */
static int make_prompt(void)
{
	prompt.rate = 8000;
	prompt.n = 24000;
	prompt.samples = calloc(prompt.n, sizeof(int16_t));
	if (!prompt.samples)
		return -1;
	for (size_t i = 0; i < prompt.n; i++)
		prompt.samples[i] = (int16_t)(3000 * sin(2 * M_PI * 440 * (double)i / 8000) +
					      2000 * sin(2 * M_PI * 660 * (double)i / 8000));
	return 0;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	for (int i = 1; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--addr"))
			addr = argv[i + 1];
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct event_base *base = event_base_new();
	struct pbx_media *m = base ? pbx_media_new(base, addr) : NULL;
	struct pbx_msess **sess = calloc(MAX_SESSIONS, sizeof(*sess));
	if (!m || !sess || make_prompt() < 0)
		return 1;
	struct pbx_msess_cb cb = {.recorded = on_recorded};
	int n = 0, port;
	while (n < MAX_SESSIONS && scanf("%d", &port) == 1) {
		char offer[512], answer[PBX_MEDIA_SDP_MAX];
		int ol = snprintf(offer, sizeof(offer),
				  "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
				  "t=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
				  "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
				  port);
		int alen, status;
		struct pbx_msess *s = pbx_media_answer(m, (struct sip_pl){offer, (size_t)ol}, &cb,
						       answer, sizeof(answer), &alen, &status);
		if (!s) {
			fprintf(stderr, "media_host: session %d: %d\n", n, status);
			return 1;
		}
		pbx_msess_play(s, &prompt, true);
		pbx_msess_record(s, RECORD_MS);
		sess[n++] = s;
		printf("%d\n", atoi(strstr(answer, "m=audio ") + 8));
	}
	printf("ready\n");
	fflush(stdout);
	struct event *sig[2] = {evsignal_new(base, SIGTERM, on_signal, base),
				evsignal_new(base, SIGINT, on_signal, base)};
	event_add(sig[0], NULL);
	event_add(sig[1], NULL);
	event_base_dispatch(base);

	struct pbx_media_stats st;
	pbx_media_stats(m, &st);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"sessions\": %d, \"sent\": %llu, \"received\": %llu, \"lost\": %llu, "
	       "\"late_ticks\": %llu, \"recordings\": %llu, \"recorded_s\": %.1f, "
	       "\"cpu_seconds\": %.3f}\n",
	       st.sessions, (unsigned long long)st.sent, (unsigned long long)st.received,
	       (unsigned long long)st.lost, (unsigned long long)st.late, taken,
	       (double)taken_samples / 8000,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	for (int i = 0; i < n; i++)
		pbx_msess_free(sess[i]);
	free(sess);
	event_free(sig[0]);
	event_free(sig[1]);
	pbx_media_free(m);
	free(prompt.samples);
	event_base_free(base);
	return 0;
}
