/*
 * libFuzzer target for src/stun: an answer to a Binding request, parsed
 * with the transaction id it carries (so the attribute walk is reached).
 * A usable answer has a mapped IPv4/IPv6 address or an ERROR-CODE of
 * 300..699 whose reason lies inside the input; a request built with the
 * input as SOFTWARE is a well-formed STUN message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../src/stun/stun.h"

static void check_answer(const uint8_t *data, size_t size, const struct stun_answer *a)
{
	if (a->kind == STUN_BINDING_SUCCESS) {
		if (a->mapped.ss_family != AF_INET && a->mapped.ss_family != AF_INET6)
			abort();
	} else if (a->kind == STUN_BINDING_ERROR) {
		const uint8_t *r = (const uint8_t *)a->reason.p;
		if (a->error_code < 300 || a->error_code > 699 || r < data ||
		    r + a->reason.len > data + size)
			abort();
	} else {
		abort();
	}
	if (a->n_unknown != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t tid[STUN_TID_LEN] = {0};
	struct stun_answer a;
	const char *why = NULL;

	if (size >= STUN_HDR_LEN)
		memcpy(tid, data + 8, STUN_TID_LEN);
	if (stun_parse_answer(data, size, tid, &a, &why) == 0)
		check_answer(data, size, &a);
	else if (!why)
		abort();

	char sw[STUN_SOFTWARE_MAX + 2];
	uint8_t req[STUN_HDR_LEN + 4 + STUN_SOFTWARE_MAX + 4];
	size_t n = size < sizeof(sw) - 1 ? size : sizeof(sw) - 1;
	memcpy(sw, data, n);
	sw[n] = '\0';
	int len = stun_binding_request(req, sizeof(req), tid, sw, &why);
	if (len >= 0 && !stun_is_message(req, (size_t)len))
		abort();
	if (len < 0 && strlen(sw) <= STUN_SOFTWARE_MAX)
		abort();
	return 0;
}
