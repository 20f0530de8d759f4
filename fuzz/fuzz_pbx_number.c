/*
 * libFuzzer target for the phone system's number conversions
 * (src/pbx/pbx_number): any input to pbx_number_e164 gives -1 with an
 * empty result or "+" and at most 15 digits (no leading 0); that result
 * converts to national, E.164 plain and back to the same E.164; a class
 * and the emergency check never crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/pbx/pbx_number.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)
		return 0;
	char in[257];
	memcpy(in, data, size);
	in[size] = '\0';
	struct pbx_numbering n;
	pbx_numbering_default(&n);
	memcpy(n.cc, "49", 3);
	memcpy(n.area, "30", 3);
	n.n_premium = 1;
	memcpy(n.premium[0], "0900", 5);
	size_t cap = size ? 1 + (unsigned char)in[0] % 24 : 24;
	char out[24], nat[40], back[24];
	int len = pbx_number_e164(&n, in, out, cap);
	(void)pbx_number_is_emergency(&n, in);
	(void)pbx_number_class_of(&n, in);
	if (len < 0) {
		if (cap && out[0] != '\0')
			abort();
		return 0;
	}
	if ((size_t)len >= cap || strlen(out) != (size_t)len || out[0] != '+' || len < 2 ||
	    len > 16 || out[1] == '0' || strspn(out + 1, "0123456789") != (size_t)len - 1)
		abort();
	(void)pbx_number_class_of(&n, out);
	if (pbx_number_national(&n, out, nat, sizeof(nat)) < 0)
		abort();
	if (pbx_number_e164(&n, nat, back, sizeof(back)) < 0 || strcmp(back, out))
		abort();
	if (pbx_number_format(&n, out, PBX_NUMBER_E164_PLAIN, nat, sizeof(nat)) != len - 1)
		abort();
	return 0;
}
