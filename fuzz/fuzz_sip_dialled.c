/*
 * libFuzzer target for what the phone system reads of a Request-URI's user
 * part as keys dialled (src/sip/sip_dialled: feature codes such as
 * *21*203%23): a result is only keypad characters, NUL-terminated, within
 * the buffer, and its length is what is returned.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/sip/sip_dialled.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[40];
	size_t cap = size ? 1 + data[0] % sizeof(out) : sizeof(out);
	struct sip_pl in = {size ? (const char *)data + 1 : "", size ? size - 1 : 0};
	int n = sip_dialled_keys(in, out, cap);
	if (n < 0) {
		if (out[0] != '\0') /* a refusal leaves nothing behind */
			abort();
		return 0;
	}
	if ((size_t)n >= cap || strlen(out) != (size_t)n ||
	    strspn(out, "0123456789*#") != (size_t)n)
		abort();
	return 0;
}
