/*
 * libFuzzer target for RFC 3263 server location (src/sip/sip_locate): the
 * input's first byte picks the transport and the rest is a target
 * host[:port]; the bytes also drive NAPTR and SRV records built from it. A
 * result is always NUL-terminated within SIP_LOCATE_NAME_MAX, ordered as
 * the header says, and never more than the records or the cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/sip/sip_locate.h"

static void check(const struct sip_locate_target *t, int n, size_t cap)
{
	if (n < -1 || (n > 0 && (size_t)n > cap))
		abort();
	for (int i = 0; i < n; i++)
		if (memchr(t[i].host, '\0', sizeof(t[i].host)) == NULL)
			abort();
}

/* Splits data into NUL-terminated names in buf; each record takes the next. */
static const char *next_name(char *buf, size_t *off, size_t size)
{
	if (*off >= size)
		return NULL;
	char *s = buf + *off;
	size_t len = strlen(s);
	*off += len + 1;
	return s;
}

static void fuzz_records(const uint8_t *data, size_t size, int tp)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i < size; i++)
		if (buf[i] == '\n')
			buf[i] = '\0';
	static const char *services[] = {"SIP+D2U", "SIP+D2T", "SIPS+D2T", "E2U+sip"};
	struct sip_locate_naptr nr[20];
	struct sip_locate_srv sr[20];
	uint32_t rnd[20];
	size_t off = 0, n = 0;
	for (; n < 20; n++) {
		const char *name = next_name(buf, &off, size);
		if (!name)
			break;
		uint8_t b = (uint8_t)name[0];
		nr[n] = (struct sip_locate_naptr){(uint16_t)(b & 7), (uint16_t)(b >> 5),
						  b & 8 ? "s" : "a", services[b % 4], name};
		sr[n] = (struct sip_locate_srv){(uint16_t)(b & 3), (uint16_t)(b * 257u),
						(uint16_t)(b | 1), name};
		rnd[n] = (uint32_t)b * 2654435761u;
	}
	struct sip_locate_target out[20];
	size_t cap = size ? 1 + data[0] % 20 : 20;
	int k = sip_locate_naptr(nr, n, SIP_LOCATE_ALL, tp, out, cap);
	check(out, k, cap);
	if (k > (int)(n < SIP_LOCATE_MAX_NAPTR ? n : SIP_LOCATE_MAX_NAPTR))
		abort();
	for (int i = 0; i < k; i++)
		if (out[i].step != SIP_LOCATE_SRV)
			abort();
	k = sip_locate_srv_order(sr, n, tp ? tp : SIP_LOCATE_UDP, rnd, n, out, cap);
	check(out, k, cap);
	if (k > (int)(n < SIP_LOCATE_MAX_SRV ? n : SIP_LOCATE_MAX_SRV))
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int tps[] = {SIP_LOCATE_ANY, SIP_LOCATE_UDP, SIP_LOCATE_TCP, SIP_LOCATE_TLS};
	int tp = size ? tps[data[0] % 4] : SIP_LOCATE_ANY;
	const char *s = size ? (const char *)data + 1 : "";
	size_t len = size ? size - 1 : 0;
	struct sip_locate_target t, out[3];
	if (sip_locate_parse(s, len, tp, &t) == 0) {
		check(&t, 1, 1);
		if (t.step == SIP_LOCATE_ADDR && (t.port == 0 || t.family == 0))
			abort();
		if (t.step == SIP_LOCATE_NAPTR) {
			check(out, sip_locate_srv_names(t.host, SIP_LOCATE_ALL, tp, out, 3), 3);
			check(out, sip_locate_host(t.host, tp, out) == 0 ? 1 : 0, 1);
		}
	} else if (t.host[0] != '\0') {
		abort(); /* a refusal leaves nothing behind */
	}
	fuzz_records(data, size, tp);
	return 0;
}
