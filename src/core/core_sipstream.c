/* core_sipstream — see core_sipstream.h. */
#include "core_sipstream.h"

int core_sipstream_next(struct evbuffer *in, struct sip_msg *m)
{
	size_t len = evbuffer_get_length(in);
	if (len == 0)
		return 0;
	/* One message is at most SIP_MAX_MESSAGE bytes plus keep-alive CRLFs. */
	size_t want = len < SIP_MAX_MESSAGE + 64 ? len : SIP_MAX_MESSAGE + 64;
	const char *buf = (const char *)evbuffer_pullup(in, (ssize_t)want);
	if (!buf)
		return 500;
	int r = sip_msg_parse(m, buf, want, true);
	if (r == SIP_NEED_MORE) {
		if (want >= SIP_MAX_MESSAGE + 64)
			return 513;
		/* only keep-alive CRLFs so far: take them away */
		size_t i = 0;
		while (i < want && (buf[i] == '\r' || buf[i] == '\n'))
			i++;
		if (i == want)
			evbuffer_drain(in, i);
		return 0;
	}
	return r == 0 ? 1 : r;
}
