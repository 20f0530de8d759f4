/* core_httpd — see core_httpd.h. */
#include "core_httpd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/bufferevent.h>

#include "core_conn.h"
#include "core_log.h"

#define HTTPD_WRITE_TIMEOUT 30
#define HTTPD_HANDLING	    1024 /* buckets of requests being handled, a power of two */

enum conn_state { CONN_READING, CONN_HANDLING, CONN_CLOSING };

struct core_httpd_conn {
	struct core_httpd *srv;
	struct core_conn *conn;
	struct bufferevent *bev;	      /* conn's */
	enum conn_state state;		      /* CONN_CLOSING: conn is lingering */
	LIST_ENTRY(core_httpd_conn) handling; /* while CONN_HANDLING: by request id */
	bool in_read;			      /* inside conn_on_read: respond() must not recurse */
	bool head_checked;
	bool too_large;
	size_t max_body; /* of the current request */
	bool must_close; /* answered a broken or timed-out request */
	struct core_httpd_req req;
	struct http_msg msg; /* last: large */
};

struct core_httpd {
	struct event_base *base;
	SSL_CTX *tls;
	struct core_httpd_limits lim;
	core_httpd_handler handler;
	void *arg;
	struct core_conn_service *svc; /* accept, limits, timers, lingering close */
	/* Requests handed to the handler and not answered yet, by id (ours,
	 * sequential: the low bits spread them): core_httpd_find in O(1). */
	LIST_HEAD(, core_httpd_conn) handling[HTTPD_HANDLING];
};

/* Request ids are unique within the process, across servers. */
static uint64_t httpd_next_id;

static void conn_arm(struct core_httpd_conn *c, int seconds)
{
	core_conn_timer(c->conn, seconds);
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
	core_conn_timer(c->conn, 0);
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
	snprintf(req->client, sizeof(req->client), "%s", real ? real : core_conn_peer(c->conn));
	c->state = CONN_HANDLING;
	LIST_INSERT_HEAD(&c->srv->handling[req->id & (HTTPD_HANDLING - 1)], c, handling);
	core_conn_pause_read(c->conn, true);
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

static int conn_on_read(struct core_conn *conn, void *st, struct evbuffer *in)
{
	struct core_httpd_conn *c = st;
	(void)conn;
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
	return 0;
}

/* The request timeout or the idle one (a lingering close is core_conn's). */
static void conn_on_timer(struct core_conn *conn, void *st)
{
	struct core_httpd_conn *c = st;
	if (c->state == CONN_READING && c->msg.begun) {
		log_info("http: %s took too long to send a request, closing", core_conn_peer(conn));
		conn_reject(c, 408);
	} else {
		core_conn_close(conn); /* a handler still busy finds NULL later */
	}
}

static void *conn_on_open(struct core_conn *conn, void *arg)
{
	struct core_httpd *srv = arg;
	struct core_httpd_conn *c = calloc(1, sizeof(*c));
	if (!c || !(c->req.body = evbuffer_new())) {
		free(c);
		return NULL;
	}
	c->srv = srv;
	c->conn = conn;
	c->bev = core_conn_bev(conn);
	c->req.conn = c;
	http_msg_init(&c->msg, HTTP_REQUEST, NULL, conn_on_body, c);
	/* The TLS handshake and first request must arrive within the request timeout. */
	conn_arm(c, srv->lim.request_timeout);
	return c;
}

/* EOF, error, write timeout or a timer: a handler still busy finds NULL later. */
static void conn_on_close(struct core_conn *conn, void *st)
{
	struct core_httpd_conn *c = st;
	(void)conn;
	if (c->state == CONN_HANDLING)
		LIST_REMOVE(c, handling);
	evbuffer_free(c->req.body);
	free(c);
}

static bool conn_admit(void *arg, int fd, const struct sockaddr *sa)
{
	struct core_httpd *srv = arg;
	(void)sa;
	return srv->lim.accept_ok(fd, srv->arg);
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
	/* Timeouts are the timer's (request, idle); only a stalled write has its own. */
	struct core_conn_desc d = {
		.name = tls ? "https" : "http",
		.max_conns = limits->max_connections,
		.per_address = limits->max_per_address,
		.write_timeout = HTTPD_WRITE_TIMEOUT,
		.in_max = 64 * 1024,
		.defer = true,
		.admit = limits->accept_ok ? conn_admit : NULL,
		.on_open = conn_on_open,
		.on_read = conn_on_read,
		.on_timer = conn_on_timer,
		.on_close = conn_on_close,
	};
	srv->svc = core_conn_service_new(base, &d, srv);
	if (!srv->svc) {
		free(srv);
		return NULL;
	}
	return srv;
}

void core_httpd_free(struct core_httpd *srv)
{
	if (!srv)
		return;
	core_conn_service_free(srv->svc);
	free(srv);
}

int core_httpd_listen(struct core_httpd *srv, int fd)
{
	return core_conn_listen(srv->svc, fd, srv->tls);
}

void core_httpd_close_listeners(struct core_httpd *srv)
{
	core_conn_unlisten(srv->svc);
}

struct core_httpd_req *core_httpd_find(struct core_httpd *srv, uint64_t id)
{
	struct core_httpd_conn *c;
	LIST_FOREACH(c, &srv->handling[id & (HTTPD_HANDLING - 1)], handling)
	if (c->req.id == id)
		return &c->req;
	return NULL;
}

uint64_t core_httpd_refused(const struct core_httpd *srv)
{
	return core_conn_refused(srv->svc);
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
	if (c->state == CONN_HANDLING)
		LIST_REMOVE(c, handling);
	req->id = 0;
	if (!keep) {
		c->state = CONN_CLOSING;
		core_conn_linger(c->conn);
		return;
	}
	http_msg_next(&c->msg);
	c->head_checked = c->too_large = false;
	c->state = CONN_READING;
	conn_arm(c, c->srv->lim.idle_timeout);
	core_conn_pause_read(c->conn, false);
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
