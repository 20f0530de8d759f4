/*
 * libFuzzer target for the Cookie header parser (src/http/http_msg.c,
 * http_cookie_get), which finds the session cookie. The first byte chooses
 * the size of the output buffer (1..256), the second how many of the
 * following bytes are the cookie's name; the rest is the header's value.
 * Buffers are exactly their size on the heap, so a read or write past one
 * is an ASan report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/http/http_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t outlen = (size_t)data[0] + 1, nlen = data[1] & 0x1f;
	data += 2;
	size -= 2;
	if (nlen > size)
		nlen = size;
	char *name = malloc(nlen + 1), *header = malloc(size - nlen + 1), *out = malloc(outlen);
	if (name && header && out) {
		memcpy(name, data, nlen);
		name[nlen] = '\0';
		memcpy(header, data + nlen, size - nlen);
		header[size - nlen] = '\0';
		if (http_cookie_get(header, name, out, outlen) == 0 && strlen(out) >= outlen)
			abort(); /* the value must fit, with its NUL */
		if (http_cookie_get(header, "zentrale_session", out, outlen) == 0 &&
		    strlen(out) >= outlen)
			abort();
	}
	free(name);
	free(header);
	free(out);
	return 0;
}
