/* sip_msg — see sip_msg.h. */
#include "sip_msg.h"

#include <string.h>
#include <strings.h>

static const char *sip_last_error = "";

const char *sip_msg_error(void)
{
	return sip_last_error;
}

static int fail(int status, const char *why)
{
	sip_last_error = why;
	return status;
}

bool sip_pl_eq(struct sip_pl a, const char *s)
{
	return a.l == strlen(s) && memcmp(a.p, s, a.l) == 0;
}

bool sip_pl_casecmp(struct sip_pl a, const char *s)
{
	return a.l == strlen(s) && strncasecmp(a.p, s, a.l) == 0;
}

bool sip_pl_eq_pl(struct sip_pl a, struct sip_pl b)
{
	return a.l == b.l && memcmp(a.p, b.p, a.l) == 0;
}

int64_t sip_pl_u64(struct sip_pl a, int64_t max)
{
	int64_t v = 0;
	if (a.l == 0)
		return -1;
	for (size_t i = 0; i < a.l; i++) {
		if (a.p[i] < '0' || a.p[i] > '9')
			return -1;
		v = v * 10 + (a.p[i] - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* RFC 3261 token characters. */
static bool is_token(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-.!%*_+`'~", c));
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static const struct {
	const char *name;
	char compact;
	enum sip_hdr_id id;
} sip_names[] = {
	{"Via", 'v', SIP_HDR_VIA},
	{"From", 'f', SIP_HDR_FROM},
	{"To", 't', SIP_HDR_TO},
	{"Call-ID", 'i', SIP_HDR_CALL_ID},
	{"CSeq", 0, SIP_HDR_CSEQ},
	{"Contact", 'm', SIP_HDR_CONTACT},
	{"Max-Forwards", 0, SIP_HDR_MAX_FORWARDS},
	{"Content-Length", 'l', SIP_HDR_CONTENT_LENGTH},
	{"Content-Type", 'c', SIP_HDR_CONTENT_TYPE},
	{"Expires", 0, SIP_HDR_EXPIRES},
	{"Route", 0, SIP_HDR_ROUTE},
	{"Record-Route", 0, SIP_HDR_RECORD_ROUTE},
	{"Path", 0, SIP_HDR_PATH},
	{"Authorization", 0, SIP_HDR_AUTHORIZATION},
	{"Proxy-Authorization", 0, SIP_HDR_PROXY_AUTHORIZATION},
	{"WWW-Authenticate", 0, SIP_HDR_WWW_AUTHENTICATE},
	{"Proxy-Authenticate", 0, SIP_HDR_PROXY_AUTHENTICATE},
	{"Require", 0, SIP_HDR_REQUIRE},
	{"Proxy-Require", 0, SIP_HDR_PROXY_REQUIRE},
	{"Supported", 'k', SIP_HDR_SUPPORTED},
	{"User-Agent", 0, SIP_HDR_USER_AGENT},
};

static enum sip_hdr_id hdr_id(struct sip_pl name)
{
	for (size_t i = 0; i < sizeof(sip_names) / sizeof(sip_names[0]); i++) {
		if (name.l == 1 && sip_names[i].compact &&
		    (name.p[0] | 0x20) == sip_names[i].compact)
			return sip_names[i].id;
		if (sip_pl_casecmp(name, sip_names[i].name))
			return sip_names[i].id;
	}
	return SIP_HDR_OTHER;
}

/* The end of the line starting at p (at its LF, or end), and where the next begins. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	if (!lf) {
		*next = NULL;
		return end;
	}
	*next = lf + 1;
	return lf > p && lf[-1] == '\r' ? lf - 1 : lf;
}

static int parse_request_line(struct sip_msg *m, const char *p, const char *e)
{
	const char *s = p;
	while (p < e && is_token((unsigned char)*p))
		p++;
	if (p == s || p >= e || *p != ' ')
		return fail(400, "Malformed Request-Line");
	m->method = (struct sip_pl){s, (size_t)(p - s)};
	s = ++p;
	while (p < e && *p != ' ') {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"')
			return fail(400, "Malformed Request-URI");
		p++;
	}
	if (p == s || p >= e)
		return fail(400, "Malformed Request-Line");
	m->ruri = (struct sip_pl){s, (size_t)(p - s)};
	/* scheme ":" — the URI itself is parsed when it is needed */
	const char *colon = memchr(s, ':', m->ruri.l);
	if (!colon || colon == s)
		return fail(400, "Malformed Request-URI");
	p++;
	struct sip_pl ver = {p, (size_t)(e - p)};
	if (sip_pl_casecmp(ver, "SIP/2.0"))
		return 0;
	if (ver.l > 4 && strncasecmp(ver.p, "SIP/", 4) == 0 && !memchr(ver.p, ' ', ver.l))
		return fail(505, "Version Not Supported");
	return fail(400, "Malformed Request-Line");
}

static int parse_status_line(struct sip_msg *m, const char *p, const char *e)
{
	/* "SIP/2.0" SP 3DIGIT SP Reason-Phrase */
	if (e - p < 11 || strncasecmp(p, "SIP/2.0 ", 8) != 0)
		return fail(400, "Malformed Status-Line");
	p += 8;
	int st = 0;
	for (int i = 0; i < 3; i++) {
		if (p[i] < '0' || p[i] > '9')
			return fail(400, "Malformed Status-Line");
		st = st * 10 + (p[i] - '0');
	}
	p += 3;
	if (p < e && *p != ' ')
		return fail(400, "Malformed Status-Line");
	if (st < 100 || st > 699)
		return fail(400, "Bad Status Code");
	m->status = st;
	m->reason = p < e ? (struct sip_pl){p + 1, (size_t)(e - p - 1)} : (struct sip_pl){e, 0};
	return 0;
}

/* Trims spaces, tabs, CR and LF at both ends. */
static struct sip_pl trim(const char *p, const char *e)
{
	while (p < e && (is_wsp(*p) || *p == '\r' || *p == '\n'))
		p++;
	while (e > p && (is_wsp(e[-1]) || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	return (struct sip_pl){p, (size_t)(e - p)};
}

static int parse_header_line(struct sip_msg *m, const char *p, const char *e)
{
	const char *s = p;
	while (p < e && is_token((unsigned char)*p))
		p++;
	struct sip_pl name = {s, (size_t)(p - s)};
	while (p < e && is_wsp(*p))
		p++;
	if (name.l == 0 || p >= e || *p != ':')
		return fail(400, "Malformed header line");
	if (m->nhdr >= SIP_MAX_HEADERS)
		return fail(400, "Too many header fields");
	struct sip_hdr *h = &m->hdr[m->nhdr++];
	h->name = name;
	h->id = hdr_id(name);
	h->value = trim(p + 1, e);
	return 0;
}

/* RFC 3261 25.1: a header value holds HTAB, SP, VCHAR and UTF-8 octets,
 * lines folded by CRLF (or LF) and WSP; a control character (NUL, BEL,
 * ESC, DEL, ...) only as a quoted-pair inside a quoted-string (RFC 4475
 * 3.1.1.3), never CR or LF. */
static bool value_ok(struct sip_pl v)
{
	bool quoted = false;
	for (size_t i = 0; i < v.l; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (c == '\r' || c == '\n') {
			/* folding: CRLF (or a bare LF) and whitespace; no bare CR */
			if (c == '\r' && (i + 1 >= v.l || v.p[i + 1] != '\n'))
				return false;
			i += c == '\r';
			if (i + 1 >= v.l || !is_wsp(v.p[i + 1]))
				return false;
			continue;
		}
		if (quoted && c == '\\') {
			unsigned char n = i + 1 < v.l ? (unsigned char)v.p[i + 1] : '\r';
			if (n == '\r' || n == '\n' || n > 0x7f)
				return false;
			i++;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
		if (c == '"')
			quoted = !quoted;
	}
	return true;
}

/* callid = word ["@" word] (RFC 3261 25.1): no quoted-pair, nothing else. */
static bool call_id_ok(struct sip_pl v)
{
	for (size_t i = 0; i < v.l; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (!c || (!is_token(c) && !strchr("()<>:\\\"/[]?{}@", c)))
			return false;
	}
	return true;
}

/* Checks made once framing is done: the fields every element relies on. */
static int check_required(struct sip_msg *m)
{
	static const enum sip_hdr_id once[] = {SIP_HDR_FROM, SIP_HDR_TO, SIP_HDR_CALL_ID,
					       SIP_HDR_CSEQ};
	for (int k = 0; k < m->nhdr; k++)
		if (!value_ok(m->hdr[k].value))
			return fail(400, "Control character in a header field");
	if (!m->request && !value_ok(m->reason))
		return fail(400, "Control character in the Reason-Phrase");
	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		int n = sip_msg_hdr_count(m, once[i]);
		if (n != 1)
			return fail(400, n ? "Duplicate header field" : "Missing header field");
		if (sip_msg_hdr(m, once[i])->value.l == 0)
			return fail(400, "Empty header field");
	}
	if (!call_id_ok(sip_msg_hdr(m, SIP_HDR_CALL_ID)->value))
		return fail(400, "Bad Call-ID");
	if (!sip_msg_hdr(m, SIP_HDR_VIA))
		return fail(400, "Missing Via");
	/* CSeq: a number below 2**31 and, in a request, its method */
	struct sip_pl cs = sip_msg_hdr(m, SIP_HDR_CSEQ)->value;
	size_t i = 0;
	while (i < cs.l && cs.p[i] >= '0' && cs.p[i] <= '9')
		i++;
	if (sip_pl_u64((struct sip_pl){cs.p, i}, 0x7fffffff) < 0)
		return fail(400, "Bad CSeq");
	struct sip_pl meth = trim(cs.p + i, cs.p + cs.l);
	if (i == cs.l || !(is_wsp(cs.p[i]) || cs.p[i] == '\r' || cs.p[i] == '\n') || meth.l == 0)
		return fail(400, "Bad CSeq");
	for (size_t k = 0; k < meth.l; k++)
		if (!is_token((unsigned char)meth.p[k]))
			return fail(400, "Bad CSeq");
	if (m->request && !sip_pl_eq_pl(meth, m->method))
		return fail(400, "CSeq method does not match the request");
	const struct sip_hdr *mf = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS);
	if (mf &&
	    (sip_msg_hdr_count(m, SIP_HDR_MAX_FORWARDS) > 1 || sip_pl_u64(mf->value, 255) < 0))
		return fail(400, "Bad Max-Forwards");
	return 0;
}

static int parse_body(struct sip_msg *m, const char *body, const char *end, bool stream)
{
	const struct sip_hdr *cl = sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH);
	int64_t n;
	if (!cl) {
		if (stream)
			return fail(400, "Missing Content-Length");
		n = end - body;
	} else {
		for (const struct sip_hdr *h = cl; h; h = sip_msg_hdr_next(m, h))
			if (!sip_pl_eq_pl(h->value, cl->value))
				return fail(400, "Conflicting Content-Length");
		n = sip_pl_u64(cl->value, SIP_MAX_MESSAGE);
		if (n < 0) {
			/* all digits but too many: larger than any message we take */
			bool digits = cl->value.l > 0;
			for (size_t i = 0; i < cl->value.l; i++)
				digits = digits && cl->value.p[i] >= '0' && cl->value.p[i] <= '9';
			return digits ? fail(513, "Message Too Large")
				      : fail(400, "Bad Content-Length");
		}
	}
	if (end - body < n) {
		if (stream)
			return SIP_NEED_MORE;
		return fail(400, "Content-Length larger than the message");
	}
	m->body = (struct sip_pl){body, (size_t)n};
	return 0;
}

int sip_msg_parse(struct sip_msg *m, const char *buf, size_t len, bool stream)
{
	const char *p = buf, *end = buf + len, *next;
	memset(m, 0, offsetof(struct sip_msg, hdr));
	m->nhdr = 0;
	m->body = (struct sip_pl){NULL, 0};
	sip_last_error = "";

	/* RFC 3261 7.5: CRLFs before a start line are ignored (keep-alives). */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	const char *start = p;
	if (p == end)
		return stream ? SIP_NEED_MORE : fail(400, "Empty message");

	const char *e = line_end(p, end, &next);
	if (!next)
		return stream && len < SIP_MAX_MESSAGE ? SIP_NEED_MORE
						       : fail(400, "Incomplete start line");
	m->request = !(e - p >= 4 && strncasecmp(p, "SIP/", 4) == 0);
	int r = m->request ? parse_request_line(m, p, e) : parse_status_line(m, p, e);
	if (r)
		return r;

	/* Header lines, with folded continuation lines, up to an empty line. */
	struct sip_hdr *last = NULL;
	for (p = next;; p = next) {
		if (p >= end)
			return stream && len < SIP_MAX_MESSAGE ? SIP_NEED_MORE
							       : fail(400, "Incomplete header");
		e = line_end(p, end, &next);
		if (!next)
			return stream && len < SIP_MAX_MESSAGE ? SIP_NEED_MORE
							       : fail(400, "Incomplete header");
		if (e == p)
			break; /* the empty line */
		if (is_wsp(*p)) {
			if (!last)
				return fail(400, "Continuation line without a header");
			last->value = trim(last->value.p, e);
			continue;
		}
		if ((r = parse_header_line(m, p, e)))
			return r;
		last = &m->hdr[m->nhdr - 1];
		if (last->value.l == 0)
			last->value.p = e; /* an empty value stays at its own line */
	}
	if ((size_t)(next - start) > SIP_MAX_MESSAGE)
		return fail(513, "Message Too Large");
	if ((r = parse_body(m, next, end, stream)))
		return r;
	if ((size_t)(m->body.p + m->body.l - start) > SIP_MAX_MESSAGE)
		return fail(513, "Message Too Large");
	m->raw = (struct sip_pl){buf, (size_t)(m->body.p + m->body.l - buf)};
	return check_required(m);
}

const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	for (int i = 0; i < m->nhdr; i++)
		if (m->hdr[i].id == id)
			return &m->hdr[i];
	return NULL;
}

const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m, const struct sip_hdr *h)
{
	for (const struct sip_hdr *n = h + 1; n < m->hdr + m->nhdr; n++)
		if (n->id == h->id &&
		    (h->id != SIP_HDR_OTHER ||
		     (n->name.l == h->name.l && strncasecmp(n->name.p, h->name.p, h->name.l) == 0)))
			return n;
	return NULL;
}

int sip_msg_hdr_count(const struct sip_msg *m, enum sip_hdr_id id)
{
	int n = 0;
	for (int i = 0; i < m->nhdr; i++)
		n += m->hdr[i].id == id;
	return n;
}

const struct sip_hdr *sip_msg_hdr_named(const struct sip_msg *m, const char *name)
{
	for (int i = 0; i < m->nhdr; i++)
		if (sip_pl_casecmp(m->hdr[i].name, name))
			return &m->hdr[i];
	return NULL;
}
