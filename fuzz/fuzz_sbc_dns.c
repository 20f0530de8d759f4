/*
 * libFuzzer target for what the SBC's resolver (src/sbc/sbc_dns) reads
 * from a DNS server: the input is a reply; the smallest TTL of its answers
 * (sbc_dns_answer_ttl, bounds checked by hand), and its NAPTR and SRV
 * records as c-ares parses them, handed to sip_locate as sbc_dns does. A
 * TTL is only reported for a reply with answers; results stay in bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "../src/sbc/sbc_dns.h"
#include "../src/sip/sip_locate.h"

static void naptr(const uint8_t *data, size_t size)
{
	struct ares_naptr_reply *rr = NULL;
	if (ares_parse_naptr_reply(data, (int)size, &rr) != ARES_SUCCESS)
		return;
	struct sip_locate_naptr v[SIP_LOCATE_MAX_NAPTR];
	struct sip_locate_target out[SBC_DNS_MAX_RECORDS];
	size_t n = 0;
	for (struct ares_naptr_reply *r = rr; r && n < SIP_LOCATE_MAX_NAPTR; r = r->next)
		v[n++] = (struct sip_locate_naptr){.order = r->order,
						   .pref = r->preference,
						   .flags = (const char *)r->flags,
						   .service = (const char *)r->service,
						   .replacement = r->replacement};
	int k = sip_locate_naptr(v, n, SIP_LOCATE_ALL, SIP_LOCATE_ANY, out, SBC_DNS_MAX_RECORDS);
	if (k > SBC_DNS_MAX_RECORDS)
		abort();
	ares_free_data(rr);
}

static void srv(const uint8_t *data, size_t size)
{
	struct ares_srv_reply *rr = NULL;
	if (ares_parse_srv_reply(data, (int)size, &rr) != ARES_SUCCESS)
		return;
	struct sip_locate_srv v[SIP_LOCATE_MAX_SRV];
	struct sip_locate_target out[SBC_DNS_MAX_RECORDS];
	uint32_t rnd[SIP_LOCATE_MAX_SRV];
	size_t n = 0;
	for (struct ares_srv_reply *r = rr; r && n < SIP_LOCATE_MAX_SRV; r = r->next)
		v[n++] = (struct sip_locate_srv){.prio = r->priority,
						 .weight = r->weight,
						 .port = r->port,
						 .target = *r->host ? r->host : "."};
	for (size_t i = 0; i < SIP_LOCATE_MAX_SRV; i++)
		rnd[i] = (uint32_t)(i * 2654435761u);
	int k = sip_locate_srv_order(v, n, SIP_LOCATE_UDP, rnd, SIP_LOCATE_MAX_SRV, out,
				     SBC_DNS_MAX_RECORDS);
	if (k > SBC_DNS_MAX_RECORDS)
		abort();
	ares_free_data(rr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t ttl = 12345;
	if (size > 65535)
		return 0;
	int r = sbc_dns_answer_ttl(data, size, &ttl);
	if (r == 0 && (size < 12 || (data[6] == 0 && data[7] == 0)))
		abort(); /* a TTL without answers */
	if (r < 0 && ttl != 12345)
		abort(); /* written on failure */
	naptr(data, size);
	srv(data, size);
	return 0;
}
