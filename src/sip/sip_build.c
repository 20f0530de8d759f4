/* sip_build — see sip_build.h. */
#include "sip_build.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "sip_hdr.h"

void sip_build_tag(char out[SIP_TAG_LEN + 1])
{
	unsigned char raw[SIP_TAG_LEN / 2];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, SIP_TAG_LEN + 1, raw, sizeof(raw));
}

struct wbuf {
	char *p;
	size_t cap, len;
	bool over;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
	if (w->over || w->len + n > w->cap) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void puts_(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

/* A header value on one line: each run of CR/LF and the white space after it becomes one SP. */
static void put_unfolded(struct wbuf *w, struct sip_pl v)
{
	for (size_t i = 0; i < v.l; i++) {
		if (v.p[i] == '\r' || v.p[i] == '\n') {
			while (i + 1 < v.l && (v.p[i + 1] == '\r' || v.p[i + 1] == '\n' ||
					       v.p[i + 1] == ' ' || v.p[i + 1] == '\t'))
				i++;
			put(w, " ", 1);
		} else {
			put(w, v.p + i, 1);
		}
	}
}

const char *sip_reason(int status)
{
	switch (status) {
	case 100:
		return "Trying";
	case 180:
		return "Ringing";
	case 183:
		return "Session Progress";
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 407:
		return "Proxy Authentication Required";
	case 408:
		return "Request Timeout";
	case 413:
		return "Request Entity Too Large";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Unsupported URI Scheme";
	case 420:
		return "Bad Extension";
	case 423:
		return "Interval Too Brief";
	case 480:
		return "Temporarily Unavailable";
	case 481:
		return "Call/Transaction Does Not Exist";
	case 482:
		return "Loop Detected";
	case 483:
		return "Too Many Hops";
	case 486:
		return "Busy Here";
	case 487:
		return "Request Terminated";
	case 488:
		return "Not Acceptable Here";
	case 491:
		return "Request Pending";
	case 500:
		return "Server Internal Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Server Time-out";
	case 505:
		return "Version Not Supported";
	case 513:
		return "Message Too Large";
	case 603:
		return "Decline";
	default:
		return status < 200 ? "Progress" : status < 300 ? "OK" : "Error";
	}
}

static void put_via_received(struct wbuf *w, struct sip_pl v, const char *addr, int port);

int sip_via_with_received(struct sip_pl via, const char *addr, int port, char *out, size_t cap)
{
	struct wbuf w = {.p = out, .cap = cap};
	struct sip_via v;
	struct sip_pl rest;
	if (sip_via_parse(&v, via, &rest) < 0)
		return -1;
	put_via_received(&w, via, addr, port);
	return w.over ? -1 : (int)w.len;
}

/* The top Via with received= and rport= filled in (RFC 3261 18.2.1, RFC 3581). */
static void put_top_via(struct wbuf *w, struct sip_pl v, const struct sip_response_opts *o)
{
	struct sip_via via;
	struct sip_pl rest;
	if (!o->src_addr || sip_via_parse(&via, v, &rest) < 0) {
		put_unfolded(w, v);
		return;
	}
	put_via_received(w, v, o->src_addr, o->src_port);
}

static void put_via_received(struct wbuf *w, struct sip_pl v, const char *addr, int port)
{
	struct sip_via via;
	struct sip_pl rest, rp, rc;
	sip_via_parse(&via, v, &rest);
	bool want_rport = sip_param_get(via.params, "rport", &rp);
	bool has_received = sip_param_get(via.params, "received", &rc);
	/* Everything up to the parameters, then each one, then the rest of the list. */
	put_unfolded(w, (struct sip_pl){v.p, (size_t)(via.params.p - v.p)});
	const char *p = via.params.p, *e = via.params.p + via.params.l;
	while (p < e) {
		const char *semi = memchr(p + 1, ';', (size_t)(e - p - 1));
		const char *pe = semi ? semi : e;
		struct sip_pl one = {p, (size_t)(pe - p)};
		const char *name = p + 1;
		while (name < pe && (*name == ' ' || *name == '\t'))
			name++;
		bool is_rport = (size_t)(pe - name) >= 5 && strncasecmp(name, "rport", 5) == 0 &&
				(pe - name == 5 || name[5] == '=' || name[5] == ' ');
		bool is_recv = (size_t)(pe - name) >= 8 && strncasecmp(name, "received", 8) == 0;
		if (!(is_rport && want_rport) && !(is_recv && has_received))
			put_unfolded(w, one);
		p = pe;
	}
	char extra[128];
	bool differs = !sip_pl_eq(via.host, addr);
	if (differs || want_rport || has_received) {
		snprintf(extra, sizeof(extra), ";received=%s", addr);
		puts_(w, extra);
	}
	if (want_rport) {
		snprintf(extra, sizeof(extra), ";rport=%d", port);
		puts_(w, extra);
	}
	if (rest.l) {
		puts_(w, ", ");
		put_unfolded(w, rest);
	}
}

int sip_build_response(const struct sip_msg *req, int status, const struct sip_response_opts *o,
		       char *out, size_t cap)
{
	static const struct sip_response_opts none;
	struct wbuf w = {.p = out, .cap = cap};
	char line[96];
	if (!o)
		o = &none;
	snprintf(line, sizeof(line), "SIP/2.0 %d ", status);
	puts_(&w, line);
	puts_(&w, o->reason ? o->reason : sip_reason(status));
	puts_(&w, "\r\n");
	bool first_via = true;
	for (int i = 0; i < req->nhdr; i++) {
		const struct sip_hdr *h = &req->hdr[i];
		static const char *const names[SIP_HDR__COUNT] = {
			[SIP_HDR_VIA] = "Via",	       [SIP_HDR_FROM] = "From", [SIP_HDR_TO] = "To",
			[SIP_HDR_CALL_ID] = "Call-ID", [SIP_HDR_CSEQ] = "CSeq",
		};
		if (h->id != SIP_HDR_VIA && h->id != SIP_HDR_FROM && h->id != SIP_HDR_TO &&
		    h->id != SIP_HDR_CALL_ID && h->id != SIP_HDR_CSEQ)
			continue;
		puts_(&w, names[h->id]);
		puts_(&w, ": ");
		if (h->id == SIP_HDR_VIA && first_via) {
			put_top_via(&w, h->value, o);
			first_via = false;
		} else {
			put_unfolded(&w, h->value);
		}
		struct sip_addr to;
		struct sip_pl rest, tag;
		if (h->id == SIP_HDR_TO && status > 100 && o->to_tag &&
		    sip_addr_parse(&to, h->value, &rest) == 0 &&
		    !sip_param_get(to.params, "tag", &tag)) {
			puts_(&w, ";tag=");
			puts_(&w, o->to_tag);
		}
		puts_(&w, "\r\n");
	}
	if (o->extra_headers)
		puts_(&w, o->extra_headers);
	if (o->body && o->content_type) {
		puts_(&w, "Content-Type: ");
		puts_(&w, o->content_type);
		puts_(&w, "\r\n");
	}
	snprintf(line, sizeof(line), "Content-Length: %zu\r\n\r\n", o->body ? o->body_len : 0);
	puts_(&w, line);
	if (o->body)
		put(&w, o->body, o->body_len);
	return w.over ? -1 : (int)w.len;
}
