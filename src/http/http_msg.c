/* http_msg — see http_msg.h. */
#include "http_msg.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct http_msg *msg_of(llhttp_t *p)
{
	return p->data;
}

/* Appends a fragment of the element being collected (llhttp may split one). */
static int msg_append(llhttp_t *p, const char *at, size_t len)
{
	struct http_msg *m = msg_of(p);
	if (m->headlen + len + 1 > HTTP_MAX_HEAD) {
		m->error = p->type == HTTP_REQUEST ? 431 : 502;
		return -1;
	}
	memcpy(m->head + m->headlen, at, len);
	m->headlen += len;
	return 0;
}

/* Closes the element being collected; returns it. */
static const char *msg_close(struct http_msg *m)
{
	const char *s = m->head + m->cur;
	m->head[m->headlen++] = '\0';
	m->cur = m->headlen;
	return s;
}

static int on_message_begin(llhttp_t *p)
{
	msg_of(p)->begun = true;
	return 0;
}

static int on_url_complete(llhttp_t *p)
{
	struct http_msg *m = msg_of(p);
	if (m->headlen + 1 > HTTP_MAX_HEAD)
		return m->error = 414, -1;
	m->url = msg_close(m);
	return 0;
}

static int on_status_complete(llhttp_t *p)
{
	struct http_msg *m = msg_of(p);
	if (m->headlen + 1 > HTTP_MAX_HEAD)
		return m->error = 502, -1;
	m->reason = msg_close(m);
	return 0;
}

static int on_field_complete(llhttp_t *p)
{
	struct http_msg *m = msg_of(p);
	if (m->nheaders >= HTTP_MAX_HEADERS || m->headlen + 1 > HTTP_MAX_HEAD) {
		m->error = p->type == HTTP_REQUEST ? 431 : 502;
		return -1;
	}
	m->headers[m->nheaders].name = msg_close(m);
	m->headers[m->nheaders].value = "";
	return 0;
}

static int on_value_complete(llhttp_t *p)
{
	struct http_msg *m = msg_of(p);
	if (m->headlen + 1 > HTTP_MAX_HEAD) {
		m->error = p->type == HTTP_REQUEST ? 431 : 502;
		return -1;
	}
	m->headers[m->nheaders++].value = msg_close(m);
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct http_msg *m = msg_of(p);
	m->head_done = true;
	if (m->on_head)
		m->on_head(m->arg);
	return m->skip_body ? 1 : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_msg *m = msg_of(p);
	m->body_bytes += len;
	if (m->on_body)
		m->on_body(m->arg, at, len);
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	msg_of(p)->done = true;
	return HPE_PAUSED;
}

void http_msg_init(struct http_msg *m, int type, http_head_cb on_head, http_body_cb cb, void *arg)
{
	memset(m, 0, offsetof(struct http_msg, head));
	llhttp_settings_init(&m->settings);
	m->settings.on_message_begin = on_message_begin;
	m->settings.on_url = msg_append;
	m->settings.on_url_complete = on_url_complete;
	m->settings.on_status = msg_append;
	m->settings.on_status_complete = on_status_complete;
	m->settings.on_header_field = msg_append;
	m->settings.on_header_field_complete = on_field_complete;
	m->settings.on_header_value = msg_append;
	m->settings.on_header_value_complete = on_value_complete;
	m->settings.on_headers_complete = on_headers_complete;
	m->settings.on_body = on_body;
	m->settings.on_message_complete = on_message_complete;
	llhttp_init(&m->parser, (llhttp_type_t)type, &m->settings);
	m->parser.data = m;
	m->on_head = on_head;
	m->on_body = cb;
	m->arg = arg;
	m->headlen = m->cur = 0;
}

void http_msg_next(struct http_msg *m)
{
	if (llhttp_get_errno(&m->parser) == HPE_PAUSED)
		llhttp_resume(&m->parser);
	m->begun = m->head_done = m->done = m->skip_body = false;
	m->error = 0;
	m->url = m->reason = NULL;
	m->nheaders = 0;
	m->body_bytes = 0;
	m->headlen = m->cur = 0;
}

long http_msg_feed(struct http_msg *m, const char *data, size_t len)
{
	if (m->error)
		return -1;
	if (m->done)
		return 0;
	llhttp_errno_t e = llhttp_execute(&m->parser, data, len);
	if (e == HPE_OK)
		return (long)len;
	if (e == HPE_PAUSED)
		return (long)(llhttp_get_error_pos(&m->parser) - data);
	if (!m->error)
		m->error = m->parser.type == HTTP_REQUEST ? 400 : 502;
	if (e == HPE_PAUSED_UPGRADE && !m->error)
		m->error = 501;
	return -1;
}

int http_msg_finish(struct http_msg *m)
{
	if (m->done)
		return 0;
	llhttp_errno_t e = llhttp_finish(&m->parser);
	if (e == HPE_OK || e == HPE_PAUSED)
		return m->done ? 0 : -1;
	return -1;
}

const char *http_msg_header(const struct http_msg *m, const char *name)
{
	for (int i = 0; i < m->nheaders; i++)
		if (strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

const char *http_msg_method(const struct http_msg *m)
{
	return llhttp_method_name((llhttp_method_t)m->parser.method);
}

int http_msg_status(const struct http_msg *m)
{
	return m->parser.status_code;
}

bool http_msg_keep_alive(const struct http_msg *m)
{
	return llhttp_should_keep_alive(&m->parser) != 0;
}

bool http_msg_has_length(const struct http_msg *m)
{
	if (m->skip_body)
		return true;
	if (m->parser.flags & F_CHUNKED)
		return false;
	if (m->parser.flags & F_CONTENT_LENGTH)
		return true;
	/* No length and not chunked: a request has no body; a response runs to EOF. */
	return m->parser.type == HTTP_REQUEST || m->parser.status_code == 204 ||
	       m->parser.status_code == 304 ||
	       (m->parser.status_code >= 100 && m->parser.status_code < 200);
}

uint64_t http_msg_content_length(const struct http_msg *m)
{
	const char *v = http_msg_header(m, "Content-Length");
	return v ? strtoull(v, NULL, 10) : 0;
}

bool http_header_is_hop_by_hop(const char *name)
{
	static const char *const hop[] = {"Connection",
					  "Keep-Alive",
					  "Proxy-Connection",
					  "TE",
					  "Trailer",
					  "Transfer-Encoding",
					  "Upgrade",
					  "Proxy-Authenticate",
					  "Proxy-Authorization"};
	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strcasecmp(name, hop[i]) == 0)
			return true;
	return false;
}

const char *http_status_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 304:
		return "Not Modified";
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
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Unknown";
	}
}

int http_cookie_get(const char *p, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t vlen = n - nlen - 1;
			while (vlen &&
			       (p[nlen + 1 + vlen - 1] == ' ' || p[nlen + 1 + vlen - 1] == '\t'))
				vlen--;
			if (vlen + 1 > outlen)
				return -1;
			memcpy(out, p + nlen + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = end;
	}
	return -1;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

int http_query_get(const char *p, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	while (p && *p) {
		const char *end = strchr(p, '&');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t o = 0;
			for (size_t i = klen + 1; i < n; i++) {
				char c = p[i];
				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
					int lo = i + 2 < n ? hexval(p[i + 2]) : -1;
					if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
						return -1;
					c = (char)(hi * 16 + lo);
					i += 2;
				}
				if (o + 1 >= outlen)
					return -1;
				out[o++] = c;
			}
			out[o] = '\0';
			return 0;
		}
		p = end ? end + 1 : NULL;
	}
	return -1;
}
