/*
 * libFuzzer target for the SDP codec (src/sdp): what parses is written
 * out, and what we write must parse again to the very same text. Every
 * a=crypto value also goes through the SDES parser (src/media), and what it
 * accepts must write out and parse again to the same tag and key. The
 * trunk codec filter (sdp_codecs) runs on what parses: what it writes must
 * parse, keep only allowed formats (or telephone-event) and be stable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/media/media_srtp.h"
#include "../src/sdp/sdp.h"
#include "../src/sdp/sdp_codecs.h"

/* The codec filter on a parsed description a (changed: the caller is done with it). */
static void check_codecs(struct sdp_session *a, struct sdp_session *b, char *out, size_t cap)
{
	static const struct sdp_codecs allow = {.names = {"PCMA", "G722"}, .n = 2};
	if (sdp_codecs_restrict(a, &allow) < 0)
		return;
	int n = sdp_write(a, out, cap);
	if (n < 0)
		return;
	if (sdp_parse(b, out, (size_t)n) < 0)
		abort(); /* the filter wrote something we cannot read */
	for (int i = 0; i < b->nmedia; i++) {
		const struct sdp_media *m = &b->media[i];
		if (!sip_pl_casecmp(m->type, "audio") || sip_pl_eq(m->port, "0"))
			continue;
		for (int f = 0; f < m->nfmts; f++) {
			struct sip_pl name = sdp_codecs_name(m, m->fmts[f]);
			if (!sip_pl_casecmp(name, "PCMA") && !sip_pl_casecmp(name, "G722"))
				abort(); /* telephone-event too: keep_te is false */
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sdp_session a, b;
	static char out1[1 << 17], out2[1 << 17];
	if (sdp_parse(&a, (const char *)data, size) < 0)
		return 0;
	for (int m = -1; m < a.nmedia; m++) {
		const struct sdp_section *sec = m < 0 ? &a.s : &a.media[m].s;
		for (int i = 0; i < sec->nattrs; i++) {
			struct media_sdes c, d;
			char line[128];
			if (!sip_pl_eq(sec->attrs[i].name, "crypto") ||
			    media_sdes_parse(sec->attrs[i].value, &c) < 0)
				continue;
			int n = media_sdes_format(&c, line, sizeof(line));
			if (n < 0 || media_sdes_parse((struct sip_pl){line, (size_t)n}, &d) < 0 ||
			    memcmp(c.key, d.key, sizeof(c.key)) != 0 || c.tag != d.tag)
				abort();
		}
	}
	sdp_attr_remove(&a.s, "candidate");
	int n = sdp_write(&a, out1, sizeof(out1));
	if (n < 0)
		return 0;
	if (sdp_parse(&b, out1, (size_t)n) < 0)
		abort(); /* we wrote something we cannot read */
	int m = sdp_write(&b, out2, sizeof(out2));
	if (m != n || memcmp(out1, out2, (size_t)n) != 0)
		abort(); /* writing is not stable */
	check_codecs(&b, &a, out2, sizeof(out2));
	return 0;
}
