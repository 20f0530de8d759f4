/*
 * libFuzzer target for the SIP codec (src/sip): frame the input as a
 * datagram and as a stream, check it as an element would, walk every
 * header value through the accessors that parse it, and make dialogs of it
 * (as the callee of a request, as the caller of an answer) and write a
 * request within them, as the B2BUA does with what phones send.
 */
#include <stddef.h>
#include <stdint.h>

#include "../src/sip/sip_dialog.h"
#include "../src/sip/sip_hdr.h"

static void walk(const struct sip_msg *m)
{
	struct sip_pl rest, v;
	for (int i = 0; i < m->nhdr; i++) {
		const struct sip_hdr *h = &m->hdr[i];
		struct sip_addr a;
		struct sip_via via;
		uint32_t n;
		switch (h->id) {
		case SIP_HDR_VIA:
			for (v = h->value; v.l && sip_via_parse(&via, v, &rest) == 0; v = rest)
				sip_param_get(via.params, "branch", &rest);
			break;
		case SIP_HDR_CSEQ:
			sip_cseq_parse(h->value, &n, &v);
			break;
		case SIP_HDR_FROM:
		case SIP_HDR_TO:
		case SIP_HDR_CONTACT:
		case SIP_HDR_ROUTE:
		case SIP_HDR_RECORD_ROUTE:
			for (v = h->value; v.l && sip_addr_parse(&a, v, &rest) == 0; v = rest)
				sip_param_get(a.params, "tag", &rest);
			break;
		default:
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_msg m;
	const char *buf = (const char *)data;
	if (sip_msg_parse(&m, buf, size, false) == 0 && sip_msg_validate(&m) == 0) {
		walk(&m);
		static struct sip_dialog d;
		static char out[8192];
		struct sip_answer_key k;
		sip_answer_key(&m, &k);
		if (m.request ? sip_dialog_uas(&d, &m, "fuzz") == 0
			      : sip_dialog_uac(&d, "c", "<sip:a@b>", "t", "<sip:c@d>", "sip:c@d",
					       "", 1) == 0 &&
					sip_dialog_uac_answer(&d, &m) == 0) {
			sip_dialog_matches(&d, &m);
			if (m.request)
				sip_dialog_remote_cseq(&d, &m);
			sip_dialog_request(&d, "BYE", 0, "SIP/2.0/TCP x;branch=z9hG4bKf", "<sip:x>",
					   NULL, m.body, (struct sip_pl){"a/b", 3}, out,
					   sizeof(out));
		}
	}
	/* As a stream: every message in the input, one after another. */
	size_t off = 0;
	while (off < size && sip_msg_parse(&m, buf + off, size - off, true) == 0 && m.raw.l > 0) {
		walk(&m);
		off += m.raw.l;
	}
	return 0;
}
