/*
 * libFuzzer target for what a transfer names (src/sip/sip_refer): the
 * input as a Refer-To value and as a Replaces value. What comes out is
 * NUL-terminated, without control characters, and a Replaces names all
 * three of Call-ID, to-tag and from-tag.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/sip/sip_refer.h"

static void clean(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

static void check_replaces(const struct sip_replaces *r)
{
	clean(r->call_id, sizeof(r->call_id));
	clean(r->to_tag, sizeof(r->to_tag));
	clean(r->from_tag, sizeof(r->from_tag));
	if (!r->call_id[0] || !r->to_tag[0] || !r->from_tag[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_pl v = {(const char *)data, size};
	struct sip_refer_to t;
	if (sip_refer_to_parse(v, &t) == 0) {
		clean(t.user, sizeof(t.user));
		clean(t.host, sizeof(t.host));
		if (!t.user[0])
			abort();
		if (t.has_replaces)
			check_replaces(&t.replaces);
	}
	struct sip_replaces r;
	if (sip_replaces_parse(v, &r) == 0)
		check_replaces(&r);
	return 0;
}
