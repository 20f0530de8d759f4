/*
 * libFuzzer target for the rules of inbound numbers and blocks
 * (src/pbx/pbx_inbound: pbx_inbound_holds, pbx_inbound_overlap,
 * pbx_inbound_check_range): the input split at '\n' into a block's first
 * and last number and a number. Whatever they are, nothing crashes; a
 * number a block holds is E.164 of the block's length between its ends;
 * overlap is symmetric, a held number overlaps the block, and a block
 * check_range takes holds both its ends.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/pbx/pbx_inbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 96)
		return 0;
	char in[97], *part[3] = {in, "", ""};
	memcpy(in, data, size);
	in[size] = '\0';
	for (int i = 1; i < 3; i++) {
		char *nl = strchr(part[i - 1], '\n');
		if (!nl)
			break;
		*nl = '\0';
		part[i] = nl + 1;
	}
	const char *a = part[0], *ae = part[1], *x = part[2];
	bool held = pbx_inbound_holds(a, ae, x);
	if (held) {
		const char *end = *ae ? ae : a;
		if (!pbx_inbound_is_e164(x) || strlen(x) != strlen(a) || strcmp(a, x) > 0 ||
		    strcmp(x, end) > 0)
			abort();
		if (!pbx_inbound_overlap(a, ae, x, "") || !pbx_inbound_overlap(x, "", a, ae))
			abort();
	}
	if (pbx_inbound_overlap(a, ae, x, "") != pbx_inbound_overlap(x, "", a, ae))
		abort();
	if (pbx_inbound_check_range(a, ae) == NULL &&
	    (!pbx_inbound_holds(a, ae, a) || !pbx_inbound_holds(a, ae, *ae ? ae : a)))
		abort();
	return 0;
}
