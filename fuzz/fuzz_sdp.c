/*
 * libFuzzer target for the SDP codec (src/sdp): what parses is written
 * out, and what we write must parse again to the very same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/sdp/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sdp_session a, b;
	static char out1[1 << 17], out2[1 << 17];
	if (sdp_parse(&a, (const char *)data, size) < 0)
		return 0;
	sdp_attr_remove(&a.s, "candidate");
	int n = sdp_write(&a, out1, sizeof(out1));
	if (n < 0)
		return 0;
	if (sdp_parse(&b, out1, (size_t)n) < 0)
		abort(); /* we wrote something we cannot read */
	int m = sdp_write(&b, out2, sizeof(out2));
	if (m != n || memcmp(out1, out2, (size_t)n) != 0)
		abort(); /* writing is not stable */
	return 0;
}
