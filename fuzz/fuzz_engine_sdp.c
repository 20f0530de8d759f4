/*
 * libFuzzer target for the media engine's offer/answer (src/pbx/pbx_media):
 * an SDP from the other side as an offer (pbx_media_answer), as a reoffer
 * within that session, and as the answer to an offer of ours
 * (pbx_msess_answered). Whatever the input, our SDP must parse again and
 * name our address, and sessions are freed (a leak is a finding).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/pbx/pbx_media.h"
#include "../src/sdp/sdp.h"

static void check_ours(const char *sdp, int len)
{
	static struct sdp_session back;
	if (len <= 0 || (size_t)len != strlen(sdp) || sdp_parse(&back, sdp, (size_t)len) < 0 ||
	    (!strstr(sdp, "c=IN IP4 127.0.0.1\r\n") && !strstr(sdp, "c=IN IP6 ::1\r\n")))
		abort(); /* ours: loopback, of the offer's family where we have it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_base *base;
	static struct pbx_media *m;
	if (!base) {
		base = event_base_new();
		m = pbx_media_new(base, "127.0.0.1");
		if (!m)
			abort();
	}
	struct sip_pl in = {(const char *)data, size};
	char out[PBX_MEDIA_SDP_MAX];
	int len = 0, status = 0;
	struct pbx_msess *s = pbx_media_answer(m, in, NULL, out, sizeof(out), &len, &status);
	if (s) {
		check_ours(out, len);
		if (pbx_msess_reoffer(s, in, out, sizeof(out)) == 0)
			check_ours(out, (int)strlen(out));
		pbx_msess_free(s);
	} else if (status != 488 && status != 500 && status != 503) {
		abort();
	}
	s = pbx_media_offer(m, "sendonly", NULL, out, sizeof(out), &len);
	if (!s)
		abort();
	check_ours(out, len);
	pbx_msess_answered(s, in);
	pbx_msess_free(s);
	if (pbx_media_sessions(m) != 0)
		abort();
	return 0;
}
