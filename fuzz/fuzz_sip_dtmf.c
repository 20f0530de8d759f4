/*
 * libFuzzer target for what the phone system reads of in-dialog requests
 * besides the SIP message itself: DTMF in INFO bodies (src/sip/sip_dtmf,
 * the first byte picks the Content-Type) and whether an SDP offer holds
 * (src/sdp/sdp_hold). A digit found must be one of the sixteen.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/sdp/sdp_hold.h"
#include "../src/sip/sip_dtmf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"application/dtmf-relay", "application/dtmf",
					    "application/dtmf-relay;x=1", "text/plain"};
	if (size < 1)
		return 0;
	const char *t = types[data[0] % 4];
	char d = sip_dtmf_info((struct sip_pl){t, strlen(t)},
			       (struct sip_pl){(const char *)data + 1, size - 1});
	if (d && !strchr("0123456789*#ABCD", d))
		abort();
	int ms = sip_dtmf_info_duration((struct sip_pl){(const char *)data + 1, size - 1});
	if (ms < -1 || ms > 65535)
		abort();
	int dir = sdp_audio_dir((const char *)data + 1, size - 1);
	if (dir < -1 || dir > SDP_INACTIVE)
		abort();
	return 0;
}
