/*
 * libFuzzer target for the query-string parser (src/http/http_msg.c,
 * http_query_get), which decodes what follows '?' in a request's URL. The
 * first byte chooses the size of the output buffer (1..256), the second how
 * many of the following bytes are the parameter's name; the rest is the
 * query string. The output buffer is exactly that size on the heap, so a
 * write past it is an ASan report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/http/http_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t outlen = (size_t)data[0] + 1, klen = data[1] & 0x1f;
	data += 2;
	size -= 2;
	if (klen > size)
		klen = size;
	char *key = malloc(klen + 1), *query = malloc(size - klen + 1), *out = malloc(outlen);
	if (key && query && out) {
		memcpy(key, data, klen);
		key[klen] = '\0';
		memcpy(query, data + klen, size - klen);
		query[size - klen] = '\0';
		if (http_query_get(query, key, out, outlen) == 0 && strlen(out) >= outlen)
			abort(); /* the value must fit, with its NUL */
		/* names the API reads */
		static const char *const names[] = {"search", "limit", "offset",
						    "lines",  "after", "wait"};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (http_query_get(query, names[i], out, outlen) == 0 &&
			    strlen(out) >= outlen)
				abort();
	}
	free(key);
	free(query);
	free(out);
	return 0;
}
