/* core_httpd — see core_httpd.h. */
#include "core_httpd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>

#include "core_connlimit.h"
#include "core_log.h"
#include "core_net.h"
#include "core_tls.h"

#define HTTPD_MAX_LISTENERS 64
#define HTTPD_WRITE_TIMEOUT 30
#define HTTPD_LINGER	    2	      /* seconds to drain a client we are closing */
#define HTTPD_LINGER_MAX    (1 << 20) /* bytes drained at most */

enum conn_state { CONN_READING, CONN_HANDLING, CONN_CLOSING };

struct core_httpd_conn {
	struct core_httpd *srv;
	struct core_httpd_conn *prev, *next;
	struct bufferevent *bev;
	struct event *timer;
	enum conn_state state;
	bool in_read; /* inside conn_on_read: respond() must not recurse */
	bool head_checked;
	bool too_large;
	size_t max_body; /* of the current request */
	bool must_close; /* answered a broken or timed-out request */
	size_t drained;	 /* input thrown away while closing */
	char peer[64];
	struct core_connlimit_slot *slot; /* of the client's address */
	struct core_httpd_req req;
	struct http_msg msg; /* last: large */
};

struct core_httpd {
	struct event_base *base;
	SSL_CTX *tls;
	struct core_httpd_limits lim;
	core_httpd_handler handler;
	void *arg;
	struct evconnlistener *listeners[HTTPD_MAX_LISTENERS];
	int nlisteners;
	struct core_httpd_conn *conns;
	int nconns;
	struct core_connlimit *per_address; /* NULL: no limit */
};

/* Request ids are unique within the process, across servers. */
static uint64_t httpd_next_id;

static void conn_free(struct core_httpd_conn *c)
{
	struct core_httpd *srv = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	core_connlimit_give(srv->per_address, c->slot);
	event_free(c->timer);
	bufferevent_free(c->bev);
	evbuffer_free(c->req.body);
	free(c);
}

static void conn_arm(struct core_httpd_conn *c, int seconds)
{
	struct timeval tv = {.tv_sec = seconds};
	event_add(c->timer, &tv);
}

/* Once per request, when its head is whole: the body it may have (the
 * limit, or more for what the owner allows). False if it announces more. */
static bool conn_check_head(struct core_httpd_conn *c)
{
	c->head_checked = true;
	c->max_body = c->srv->lim.max_body;
	int timeout = 0;
	if (c->srv->lim.allow)
		c->srv->lim.allow(&c->msg, &c->max_body, &timeout, c->srv->arg);
	if (timeout > 0)
		conn_arm(c, timeout);
	return http_msg_content_length(&c->msg) <= c->max_body;
}

static void conn_on_body(void *arg, const char *data, size_t len)
{
	struct core_httpd_conn *c = arg;
	/* The body may begin in the same read as the end of the head: then the
	 * head is checked here, and conn_on_read answers 413 once this read is
	 * parsed (too_large), before any more of the body is read. */
	if (!c->head_checked && !conn_check_head(c))
		c->too_large = true;
	if (c->too_large || evbuffer_get_length(c->req.body) + len > c->max_body) {
		c->too_large = true;
		return;
	}
	evbuffer_add(c->req.body, data, len);
}

/* Percent-decodes the path part of an origin-form URL; -1 if it is not one. */
static int conn_decode_path(struct core_httpd_req *req, const char *url)
{
	if (url[0] != '/')
		return -1;
	size_t o = 0;
	const char *p = url;
	for (; *p && *p != '?' && *p != '#'; p++) {
		char ch = *p;
		if (ch == '%') {
			if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
				return -1;
			char hex[3] = {p[1], p[2], 0};
			ch = (char)strtol(hex, NULL, 16);
			if (ch == '\0')
				return -1;
			p += 2;
		}
		if (o + 1 >= sizeof(req->path))
			return -1;
		req->path[o++] = ch;
	}
	req->path[o] = '\0';
	req->query = *p == '?' ? p + 1 : "";
	return 0;
}

static void conn_dispatch(struct core_httpd_conn *c)
{
	struct core_httpd_req *req = &c->req;
	event_del(c->timer);
	if (c->too_large) {
		core_httpd_respond_error(req, 413, "request body too large");
		return;
	}
	req->id = ++httpd_next_id;
	req->local = c->srv->lim.local;
	req->msg = &c->msg;
	req->method = http_msg_method(&c->msg);
	if (conn_decode_path(req, c->msg.url ? c->msg.url : "") < 0) {
		core_httpd_respond_error(req, 400, "malformed request target");
		return;
	}
	const char *real = c->srv->lim.local ? http_msg_header(&c->msg, "X-Real-IP") : NULL;
	snprintf(req->client, sizeof(req->client), "%s", real ? real : c->peer);
	c->state = CONN_HANDLING;
	bufferevent_disable(c->bev, EV_READ);
	c->srv->handler(req, c->srv->arg);
}

/* Answers a request that could not be parsed and closes the connection. */
static void conn_reject(struct core_httpd_conn *c, int status)
{
	static const char *const why[] = {
		[400] = "malformed HTTP request",    [408] = "request timeout",
		[413] = "request body too large",    [414] = "request target too long",
		[431] = "request headers too large", [501] = "protocol upgrade not supported"};
	const char *msg = status < 502 && why[status] ? why[status] : "malformed HTTP request";
	c->must_close = true;
	core_httpd_respond_error(&c->req, status, msg);
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
	struct core_httpd_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->state == CONN_CLOSING) {
		/* lingering close: see conn_on_write */
		c->drained += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->drained > HTTPD_LINGER_MAX)
			conn_free(c);
		return;
	}
	c->in_read = true;
	while (c->state == CONN_READING && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		bool begun = c->msg.begun;
		long n = http_msg_feed(&c->msg, v.iov_base, v.iov_len);
		if (n < 0) {
			evbuffer_drain(in, evbuffer_get_length(in));
			conn_reject(c, c->msg.error);
			break;
		}
		evbuffer_drain(in, (size_t)n);
		if (!begun && c->msg.begun)
			conn_arm(c, c->srv->lim.request_timeout);
		/* Too large, announced or so far: answered now, not after the
		 * whole body (checked here or, if body bytes came with the head,
		 * in conn_on_body). */
		if (c->msg.head_done &&
		    (c->head_checked ? c->too_large && !c->msg.done : !conn_check_head(c))) {
			evbuffer_drain(in, evbuffer_get_length(in));
			conn_reject(c, 413);
			break;
		}
		if (c->msg.done)
			conn_dispatch(c);
	}
	c->in_read = false;
}

static void conn_on_write(struct bufferevent *bev, void *arg)
{
	struct core_httpd_conn *c = arg;
	/* Sent: closing now with unread input would reset the connection and
	 * lose the answer, so input is drained for a moment first. */
	if (c->state == CONN_CLOSING && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_arm(c, HTTPD_LINGER);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct core_httpd_conn *c = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return; /* TLS handshake done */
	/* EOF, error or write timeout: a handler still busy finds NULL later. */
	conn_free(c);
}

static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct core_httpd_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->state == CONN_CLOSING) {
		conn_free(c);
	} else if (c->state == CONN_READING && c->msg.begun) {
		log_info("http: %s took too long to send a request, closing", c->peer);
		conn_reject(c, 408);
	} else {
		conn_free(c);
	}
}

static void httpd_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			    int salen, void *arg)
{
	struct core_httpd *srv = arg;
	(void)l;
	(void)salen;
	if (srv->nconns >= srv->lim.max_connections ||
	    (srv->lim.accept_ok && !srv->lim.accept_ok(fd, srv->arg))) {
		close(fd);
		return;
	}
	struct core_connlimit_slot *slot = NULL;
	if (srv->per_address && !(slot = core_connlimit_take(srv->per_address, sa))) {
		close(fd);
		return;
	}
	struct core_httpd_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		core_connlimit_give(srv->per_address, slot);
		close(fd);
		return;
	}
	c->slot = slot;
	c->bev = core_tls_accept(srv->base, srv->tls, fd,
				 BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	c->timer = evtimer_new(srv->base, conn_on_timer, c);
	c->req.body = evbuffer_new();
	if (!c->bev || !c->timer || !c->req.body) {
		if (c->bev)
			bufferevent_free(c->bev);
		if (c->timer)
			event_free(c->timer);
		if (c->req.body)
			evbuffer_free(c->req.body);
		core_connlimit_give(srv->per_address, slot);
		free(c);
		return;
	}
	c->srv = srv;
	c->req.conn = c;
	core_net_addr_str(sa, c->peer, sizeof(c->peer));
	http_msg_init(&c->msg, HTTP_REQUEST, NULL, conn_on_body, c);
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;

	struct timeval wt = {.tv_sec = HTTPD_WRITE_TIMEOUT};
	bufferevent_set_timeouts(c->bev, NULL, &wt);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 64 * 1024);
	bufferevent_setcb(c->bev, conn_on_read, conn_on_write, conn_on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	/* The TLS handshake and first request must arrive within the request timeout. */
	conn_arm(c, srv->lim.request_timeout);
}

struct core_httpd *core_httpd_new(struct event_base *base, SSL_CTX *tls,
				  const struct core_httpd_limits *limits, core_httpd_handler h,
				  void *arg)
{
	struct core_httpd *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->base = base;
	srv->tls = tls;
	srv->lim = *limits;
	srv->handler = h;
	srv->arg = arg;
	if (limits->max_per_address > 0 &&
	    !(srv->per_address =
		      core_connlimit_new(tls ? "https" : "http", limits->max_per_address))) {
		free(srv);
		return NULL;
	}
	return srv;
}

void core_httpd_free(struct core_httpd *srv)
{
	if (!srv)
		return;
	core_httpd_close_listeners(srv);
	while (srv->conns)
		conn_free(srv->conns);
	core_connlimit_free(srv->per_address);
	free(srv);
}

int core_httpd_listen(struct core_httpd *srv, int fd)
{
	if (srv->nlisteners >= HTTPD_MAX_LISTENERS) {
		close(fd);
		return -1;
	}
	struct evconnlistener *l =
		evconnlistener_new(srv->base, httpd_on_accept, srv,
				   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!l) {
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l, core_connlimit_on_listener_error);
	srv->listeners[srv->nlisteners++] = l;
	return 0;
}

void core_httpd_close_listeners(struct core_httpd *srv)
{
	for (int i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	srv->nlisteners = 0;
}

struct core_httpd_req *core_httpd_find(struct core_httpd *srv, uint64_t id)
{
	for (struct core_httpd_conn *c = srv->conns; c; c = c->next)
		if (c->state == CONN_HANDLING && c->req.id == id)
			return &c->req;
	return NULL;
}

uint64_t core_httpd_refused(const struct core_httpd *srv)
{
	return srv->per_address ? core_connlimit_refused(srv->per_address) : 0;
}

struct core_httpd *core_httpd_of(const struct core_httpd_req *req)
{
	return req->conn->srv;
}

const char *core_httpd_header(const struct core_httpd_req *req, const char *name)
{
	return http_msg_header(&req->conn->msg, name);
}

void core_httpd_respond(struct core_httpd_req *req, int status, const char *content_type,
			const char *extra_headers, const void *body, size_t len)
{
	struct core_httpd_conn *c = req->conn;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool keep = !c->must_close && !c->too_large && http_msg_keep_alive(&c->msg);
	bool head = strcmp(http_msg_method(&c->msg), "HEAD") == 0;

	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\n"
			    "Content-Type: %s\r\n"
			    "Content-Length: %zu\r\n"
			    "Connection: %s\r\n"
			    "X-Content-Type-Options: nosniff\r\n"
			    "X-Frame-Options: DENY\r\n"
			    "Referrer-Policy: no-referrer\r\n"
			    "%s%s\r\n",
			    status, http_status_reason(status),
			    content_type ? content_type : "text/plain; charset=utf-8", len,
			    keep ? "keep-alive" : "close",
			    c->srv->lim.hsts ? "Strict-Transport-Security: max-age=63072000\r\n"
					     : "",
			    extra_headers ? extra_headers : "");
	if (len && !head)
		evbuffer_add(out, body, len);

	evbuffer_drain(req->body, evbuffer_get_length(req->body));
	req->id = 0;
	if (!keep) {
		c->state = CONN_CLOSING;
		bufferevent_enable(c->bev, EV_READ);
		event_del(c->timer);
		return;
	}
	http_msg_next(&c->msg);
	c->head_checked = c->too_large = false;
	c->state = CONN_READING;
	conn_arm(c, c->srv->lim.idle_timeout);
	bufferevent_enable(c->bev, EV_READ);
	/* Pipelined requests already read are parsed by the loop we return to,
	 * or, when answering later, by a deferred read callback. */
	if (!c->in_read && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

void core_httpd_respond_json(struct core_httpd_req *req, int status, json_t *obj)
{
	core_httpd_respond_json_with(req, status, obj, NULL);
}

void core_httpd_respond_json_with(struct core_httpd_req *req, int status, json_t *obj,
				  const char *extra_headers)
{
	char hdr[1024];
	snprintf(hdr, sizeof(hdr), "Cache-Control: no-store\r\n%s",
		 extra_headers ? extra_headers : "");
	char *s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!s) {
		core_httpd_respond(req, 500, NULL, NULL, "out of memory\n", 14);
		return;
	}
	size_t n = strlen(s);
	s[n] = '\n'; /* json_dumps leaves room: replace the NUL, keep length */
	core_httpd_respond(req, status, "application/json", hdr, s, n + 1);
	free(s);
}

void core_httpd_respond_error(struct core_httpd_req *req, int status, const char *message)
{
	core_httpd_respond_json(req, status, json_pack("{s:s}", "error", message));
}

json_t *core_httpd_json_body(struct core_httpd_req *req)
{
	/* Any Content-Type is read as JSON: `curl -d '{...}'` sends a form type. */
	size_t n = evbuffer_get_length(req->body);
	const char *data = (const char *)evbuffer_pullup(req->body, -1);
	json_error_t err;
	json_t *o = json_loadb(data ? data : "", n, JSON_REJECT_DUPLICATES, &err);
	if (!o || !json_is_object(o)) {
		char msg[256];
		if (!o)
			snprintf(msg, sizeof(msg), "malformed JSON: %s", err.text);
		else
			snprintf(msg, sizeof(msg), "the request body must be a JSON object");
		json_decref(o);
		core_httpd_respond_error(req, 400, msg);
		return NULL;
	}
	return o;
}

const char *core_httpd_bearer(const struct core_httpd_req *req)
{
	const char *a = core_httpd_header(req, "Authorization");
	if (!a || strncasecmp(a, "Bearer ", 7) != 0)
		return NULL;
	a += 7;
	while (*a == ' ')
		a++;
	return *a ? a : NULL;
}

int core_httpd_cookie(const struct core_httpd_req *req, const char *name, char *out, size_t outlen)
{
	const char *h = core_httpd_header(req, "Cookie");
	return h ? http_cookie_get(h, name, out, outlen) : -1;
}

int core_httpd_query(const struct core_httpd_req *req, const char *key, char *out, size_t outlen)
{
	return http_query_get(req->query, key, out, outlen);
}
