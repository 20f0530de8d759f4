/*
 * sbc_proxy — HTTPS on 443 to the phone systems' HTTP Unix sockets.
 *
 * Each request is routed on its own by the first path segment, so one
 * keep-alive connection may visit several phone systems. Requests and
 * responses are re-framed, never passed through raw: hop-by-hop headers are
 * dropped, bodies are forwarded as they arrive (with Content-Length when the
 * length is known, chunked otherwise), and each direction stops reading
 * while the other side's buffer is full, so a large body is streamed, not
 * held whole. X-Real-IP carries the client address to the phone system,
 * which trusts it because only we can reach its socket.
 *
 * Limits: the head of a request must arrive within SBC_HEAD_TIMEOUT of its
 * first byte (slow-loris), an idle keep-alive connection is closed after
 * SBC_IDLE_TIMEOUT, and a phone system that does not answer within
 * SBC_UPSTREAM_TIMEOUT gets the client a 504 — without stalling anyone else.
 * One address holds at most the per-address limit of connections (set
 * through PUT /sbc), the process SBC_MAX_CONNECTIONS. Accept, TLS, those
 * limits, the timers and the lingering close are core_conn's (the
 * descriptor https below); this file is the HTTP relaying.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "../core/core_conn.h"
#include "../core/core_log.h"
#include "../core/core_net.h"
#include "../http/http_msg.h"
#include "sbc.h"

#define SBC_HEAD_TIMEOUT     10
#define SBC_IDLE_TIMEOUT     60
#define SBC_BODY_TIMEOUT     30 /* between two reads of a body, either side */
#define SBC_UPSTREAM_TIMEOUT 15
#define SBC_HIGH_WATER	     (256 * 1024)

struct proxy_conn {
	struct sbc_proxy *px;
	struct core_conn *conn;
	struct bufferevent *client; /* conn's */
	struct bufferevent *up;	    /* to the phone system, one per request */
	bool waiting_head;	    /* the timer is the head deadline, not idle */
	bool req_routed;	    /* upstream chosen (or answered locally) */
	bool req_chunked;	    /* request body re-chunked upstream */
	bool resp_chunked;	    /* response body re-chunked to the client */
	bool resp_started;	    /* response head sent to the client */
	bool local;		    /* answered by us; request body is discarded */
	bool closing;		    /* close once the output is flushed (lingering) */
	struct http_msg req;
	struct http_msg resp;
};

struct sbc_proxy {
	struct sbc *sbc;
	struct core_conn_service *svc;
	int upstream_timeout; /* SBC_UPSTREAM_TIMEOUT, or the test's */
};

static void conn_arm(struct proxy_conn *c, int seconds, bool head)
{
	c->waiting_head = head;
	core_conn_timer(c->conn, seconds);
}

/* Closes the connection once everything queued for the client is sent.
 * Closing with unread input would make the kernel reset the connection and
 * the client lose our answer, so input is drained for a moment first
 * ("lingering close"). */
static void conn_close_after_flush(struct proxy_conn *c)
{
	c->closing = true;
	if (c->up) {
		bufferevent_free(c->up);
		c->up = NULL;
	}
	core_conn_linger(c->conn);
}

/* A response of our own (no phone system involved). */
static void conn_local_reply(struct proxy_conn *c, int status, const char *text, bool close)
{
	struct evbuffer *out = bufferevent_get_output(c->client);
	char body[512];
	int n = snprintf(body, sizeof(body),
			 "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			 "<title>%d %s</title></head><body><h1>%s</h1><p>%s</p></body></html>\n",
			 status, http_status_reason(status), http_status_reason(status), text);
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
			    "Content-Length: %d\r\nCache-Control: no-store\r\n"
			    "X-Content-Type-Options: nosniff\r\n%s"
			    "Strict-Transport-Security: max-age=63072000\r\nConnection: %s\r\n\r\n",
			    status, http_status_reason(status), n,
			    status == 503 ? "Retry-After: 5\r\n" : "",
			    close ? "close" : "keep-alive");
	evbuffer_add(out, body, (size_t)n);
	c->resp_started = true;
}

/* One of sbc_public's answers (GET and HEAD only). */
static void conn_public_reply(struct proxy_conn *c, struct sbc_public_answer *a, bool close)
{
	const char *method = http_msg_method(&c->req);
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		conn_local_reply(c, 405, "Only GET and HEAD are answered here.", close);
	} else {
		struct evbuffer *out = bufferevent_get_output(c->client);
		evbuffer_add_printf(
			out,
			"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			"Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n%s"
			"Strict-Transport-Security: max-age=63072000\r\n"
			"Connection: %s\r\n\r\n",
			a->status, http_status_reason(a->status), a->type, a->len,
			a->headers ? a->headers : "", close ? "close" : "keep-alive");
		if (!head)
			evbuffer_add(out, a->body, a->len);
		c->resp_started = true;
	}
	if (a->owned)
		free(a->body);
}

static void conn_start_next(struct proxy_conn *c);
static void conn_route(void *arg);
static void conn_on_resp_head(void *arg);

/* The exchange is over: go on with the next request or close. */
static void conn_exchange_done(struct proxy_conn *c)
{
	if (c->up) {
		bufferevent_free(c->up);
		c->up = NULL;
	}
	if (!c->req.done || !http_msg_keep_alive(&c->req) || c->closing) {
		conn_close_after_flush(c);
		return;
	}
	conn_start_next(c);
}

static void conn_on_req_body(void *arg, const char *data, size_t len)
{
	struct proxy_conn *c = arg;
	if (!c->up)
		return; /* answered locally: discard */
	struct evbuffer *out = bufferevent_get_output(c->up);
	if (c->req_chunked)
		evbuffer_add_printf(out, "%zx\r\n", len);
	evbuffer_add(out, data, len);
	if (c->req_chunked)
		evbuffer_add(out, "\r\n", 2);
}

static void conn_on_resp_body(void *arg, const char *data, size_t len)
{
	struct proxy_conn *c = arg;
	struct evbuffer *out = bufferevent_get_output(c->client);
	if (c->resp_chunked)
		evbuffer_add_printf(out, "%zx\r\n", len);
	evbuffer_add(out, data, len);
	if (c->resp_chunked)
		evbuffer_add(out, "\r\n", 2);
}

static void conn_start_next(struct proxy_conn *c)
{
	http_msg_next(&c->req);
	http_msg_init(&c->resp, HTTP_RESPONSE, conn_on_resp_head, conn_on_resp_body, c);
	c->req_routed = c->req_chunked = c->resp_chunked = c->resp_started = c->local = false;
	conn_arm(c, SBC_IDLE_TIMEOUT, false);
	core_conn_pause_read(c->conn, false);
	if (evbuffer_get_length(bufferevent_get_input(c->client)) > 0)
		bufferevent_trigger(c->client, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

static void up_on_read(struct bufferevent *bev, void *arg);
static void up_on_write(struct bufferevent *bev, void *arg);
static void up_on_event(struct bufferevent *bev, short what, void *arg);

/* Writes the request head upstream, re-framed. */
static void conn_send_head(struct proxy_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->up);
	struct http_msg *m = &c->req;
	evbuffer_add_printf(out, "%s %s HTTP/1.1\r\n", http_msg_method(m), m->url);
	for (int i = 0; i < m->nheaders; i++) {
		const char *n = m->headers[i].name;
		if (http_header_is_hop_by_hop(n) || strcasecmp(n, "Content-Length") == 0 ||
		    strcasecmp(n, "X-Real-IP") == 0 || strcasecmp(n, "X-Forwarded-For") == 0 ||
		    strcasecmp(n, "X-Forwarded-Proto") == 0 || strcasecmp(n, "Expect") == 0)
			continue;
		evbuffer_add_printf(out, "%s: %s\r\n", n, m->headers[i].value);
	}
	c->req_chunked = !http_msg_has_length(m);
	if (c->req_chunked)
		evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
	else if (http_msg_header(m, "Content-Length"))
		evbuffer_add_printf(out, "Content-Length: %llu\r\n",
				    (unsigned long long)http_msg_content_length(m));
	evbuffer_add_printf(out,
			    "X-Real-IP: %s\r\nX-Forwarded-For: %s\r\nX-Forwarded-Proto: https\r\n"
			    "Connection: close\r\n\r\n",
			    core_conn_peer(c->conn), core_conn_peer(c->conn));
}

static int conn_connect_up(struct proxy_conn *c, const char *sockpath)
{
	int fd = core_net_connect_unix(sockpath);
	if (fd < 0)
		return -1;
	c->up = bufferevent_socket_new(bufferevent_get_base(c->client), fd,
				       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!c->up) {
		close(fd);
		return -1;
	}
	struct timeval rt = {.tv_sec = c->px->upstream_timeout}, wt = {.tv_sec = SBC_BODY_TIMEOUT};
	bufferevent_set_timeouts(c->up, &rt, &wt);
	bufferevent_setwatermark(c->up, EV_READ, 0, SBC_HIGH_WATER);
	bufferevent_setwatermark(c->up, EV_WRITE, SBC_HIGH_WATER / 4, 0);
	bufferevent_setcb(c->up, up_on_read, up_on_write, up_on_event, c);
	bufferevent_enable(c->up, EV_READ | EV_WRITE);
	return 0;
}

/* The request head is complete: choose the phone system (llhttp callback). */
static void conn_route(void *arg)
{
	struct proxy_conn *c = arg;
	const char *url = c->req.url ? c->req.url : "";
	c->req_routed = true;
	core_conn_timer(c->conn, 0);
	c->resp.skip_body = strcmp(http_msg_method(&c->req), "HEAD") == 0;
	if (url[0] != '/') {
		c->local = true;
		conn_local_reply(c, 400, "Malformed request target.", true);
		return;
	}
	size_t n = strcspn(url + 1, "/?#");
	bool exists = false;
	const char *sock = n ? sbc_route_http(c->px->sbc, url + 1, n, &exists) : NULL;
	bool close = !http_msg_has_length(&c->req) || http_msg_content_length(&c->req) > 0;
	struct sbc_public_answer pub;
	if (!exists && sbc_public_find(c->px->sbc, url, strcspn(url, "?#"), &pub)) {
		c->local = true;
		conn_public_reply(c, &pub, close);
		return;
	}
	if (!exists) {
		c->local = true;
		conn_local_reply(c, 404, "There is no phone system at this address.", close);
		return;
	}
	if (!sock || conn_connect_up(c, sock) < 0) {
		c->local = true;
		conn_local_reply(c, 503,
				 "This phone system is stopped or restarting. Try again shortly.",
				 close);
		return;
	}
	const char *expect = http_msg_header(&c->req, "Expect");
	if (expect && strcasecmp(expect, "100-continue") == 0)
		evbuffer_add_printf(bufferevent_get_output(c->client),
				    "HTTP/1.1 100 Continue\r\n\r\n");
	conn_send_head(c);
}

static int client_on_read(struct core_conn *conn, void *st, struct evbuffer *in)
{
	struct proxy_conn *c = st;
	(void)conn;
	while (!c->req.done && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		bool begun = c->req.begun;
		long n = http_msg_feed(&c->req, v.iov_base, v.iov_len);
		if (n < 0) {
			static const char *const why[] = {[400] = "Malformed HTTP request.",
							  [414] = "Request target too long.",
							  [431] = "Request headers too large.",
							  [501] = "Not supported."};
			int st = c->req.error;
			if (c->resp_started) {
				conn_close_after_flush(c);
				return 0;
			}
			conn_local_reply(c, st, st < 502 && why[st] ? why[st] : "Bad request.",
					 true);
			conn_close_after_flush(c);
			return 0;
		}
		evbuffer_drain(in, (size_t)n);
		if (!begun && c->req.begun && !c->req.head_done)
			conn_arm(c, SBC_HEAD_TIMEOUT, true);
		if (c->up && evbuffer_get_length(bufferevent_get_output(c->up)) > SBC_HIGH_WATER) {
			core_conn_pause_read(c->conn, true); /* until the phone system catches up */
			break;
		}
	}
	if (c->req.done && c->up) {
		if (c->req_chunked)
			evbuffer_add(bufferevent_get_output(c->up), "0\r\n\r\n", 5);
		core_conn_pause_read(c->conn, true); /* pipelined requests wait their turn */
	}
	if (c->req.done && c->local && !c->closing)
		conn_exchange_done(c);
	else if (c->local && !c->closing &&
		 (!http_msg_has_length(&c->req) || http_msg_content_length(&c->req) > 0))
		conn_close_after_flush(c); /* do not read a body nobody will take */
	return 0;
}

/* The client's output has drained (to SBC_HIGH_WATER / 4). */
static void client_on_drain(struct core_conn *conn, void *st)
{
	struct proxy_conn *c = st;
	(void)conn;
	if (c->up)
		bufferevent_enable(c->up, EV_READ); /* room again for the response */
}

/* The head deadline or the idle timeout (a lingering close is core_conn's). */
static void conn_on_timer(struct core_conn *conn, void *st)
{
	struct proxy_conn *c = st;
	if (c->waiting_head && !c->resp_started) {
		log_info("https: %s too slow to send a request head, closing",
			 core_conn_peer(conn));
		conn_local_reply(c, 408, "Request timeout.", true);
		conn_close_after_flush(c);
	} else {
		core_conn_close(conn);
	}
}

/* Sends the response head to the client, re-framed (llhttp callback). */
static void conn_on_resp_head(void *arg)
{
	struct proxy_conn *c = arg;
	struct evbuffer *out = bufferevent_get_output(c->client);
	struct http_msg *m = &c->resp;
	bool keep = http_msg_keep_alive(&c->req) && c->req.done;
	int status = http_msg_status(m);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status,
			    m->reason && *m->reason ? m->reason : http_status_reason(status));
	for (int i = 0; i < m->nheaders; i++) {
		const char *n = m->headers[i].name;
		if (http_header_is_hop_by_hop(n) || strcasecmp(n, "Content-Length") == 0)
			continue;
		evbuffer_add_printf(out, "%s: %s\r\n", n, m->headers[i].value);
	}
	c->resp_chunked = !http_msg_has_length(m);
	if (c->resp_chunked)
		evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
	else if (http_msg_header(m, "Content-Length"))
		evbuffer_add_printf(out, "Content-Length: %llu\r\n",
				    (unsigned long long)http_msg_content_length(m));
	evbuffer_add_printf(out,
			    "Strict-Transport-Security: max-age=63072000\r\nConnection: %s\r\n\r\n",
			    keep ? "keep-alive" : "close");
	if (!keep) { /* close after this response; what the client sends is drained */
		c->closing = true;
		core_conn_linger(c->conn);
	}
	c->resp_started = true;
}

static void conn_resp_complete(struct proxy_conn *c)
{
	if (c->resp_chunked)
		evbuffer_add(bufferevent_get_output(c->client), "0\r\n\r\n", 5);
	conn_exchange_done(c);
}

static void up_on_read(struct bufferevent *bev, void *arg)
{
	struct proxy_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (c->up && !c->resp.done && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		long n = http_msg_feed(&c->resp, v.iov_base, v.iov_len);
		if (n < 0) {
			log_warn("https: malformed response from a phone system");
			if (!c->resp_started)
				conn_local_reply(c, 502, "The phone system answered wrongly.",
						 true);
			conn_close_after_flush(c);
			return;
		}
		evbuffer_drain(in, (size_t)n);
		if (evbuffer_get_length(bufferevent_get_output(c->client)) > SBC_HIGH_WATER) {
			bufferevent_disable(bev, EV_READ); /* until the client catches up */
			break;
		}
	}
	if (c->up && c->resp.done)
		conn_resp_complete(c);
}

static void up_on_write(struct bufferevent *bev, void *arg)
{
	struct proxy_conn *c = arg;
	(void)bev;
	if (!c->req.done && !c->closing)
		core_conn_pause_read(c->conn, false); /* room again for the body */
}

static void up_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct proxy_conn *c = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_EOF) && http_msg_finish(&c->resp) == 0) {
		conn_resp_complete(c); /* a body delimited by the end of the connection */
		return;
	}
	if (!c->resp_started) {
		bool timeout = what & BEV_EVENT_TIMEOUT;
		log_warn("https: phone system %s", timeout ? "did not answer in time" : "failed");
		conn_local_reply(c, timeout ? 504 : 502,
				 timeout ? "The phone system did not answer in time."
					 : "The phone system closed the connection.",
				 true);
	}
	conn_close_after_flush(c);
}

static void *conn_on_open(struct core_conn *conn, void *arg)
{
	struct sbc_proxy *px = arg;
	struct proxy_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->px = px;
	c->conn = conn;
	c->client = core_conn_bev(conn);
	http_msg_init(&c->req, HTTP_REQUEST, conn_route, conn_on_req_body, c);
	http_msg_init(&c->resp, HTTP_RESPONSE, conn_on_resp_head, conn_on_resp_body, c);
	sbc_connection_opened(px->sbc);
	conn_arm(c, SBC_HEAD_TIMEOUT, true); /* handshake and first head */
	return c;
}

static void conn_on_close(struct core_conn *conn, void *st)
{
	struct proxy_conn *c = st;
	(void)conn;
	if (c->up)
		bufferevent_free(c->up);
	free(c);
}

/* HTTPS 443. Reading the client stops at SBC_HIGH_WATER of unread input,
 * and (client_on_read) while the phone system's side holds that much;
 * responses are read from the phone system while the client's side holds
 * less (up_on_read), so out_high stays 0 here. */
static const struct core_conn_desc https = {
	.name = "https",
	.max_conns = SBC_MAX_CONNECTIONS,
	.per_address = SBC_HTTPS_PER_ADDRESS,
	.handshake = SBC_HEAD_TIMEOUT,
	.idle = SBC_BODY_TIMEOUT,
	.write_timeout = SBC_BODY_TIMEOUT,
	.in_max = SBC_HIGH_WATER,
	.out_low = SBC_HIGH_WATER / 4,
	.defer = true,
	.on_open = conn_on_open,
	.on_read = client_on_read,
	.on_drain = client_on_drain,
	.on_timer = conn_on_timer,
	.on_close = conn_on_close,
};

struct sbc_proxy *sbc_proxy_new(struct sbc *sbc)
{
	struct sbc_proxy *px = calloc(1, sizeof(*px));
	if (!px)
		return NULL;
	px->sbc = sbc;
	/* Test-only: ZENTRALE_TEST_UPSTREAM_TIMEOUT (s) shortens the wait for a
	 * phone system's answer, so a test of a hung one need not wait 15 s. */
	const char *e = getenv("ZENTRALE_TEST_UPSTREAM_TIMEOUT");
	px->upstream_timeout =
		e && atoi(e) > 0 && atoi(e) < SBC_UPSTREAM_TIMEOUT ? atoi(e) : SBC_UPSTREAM_TIMEOUT;
	px->svc = core_conn_service_new(sbc->child.base, &https, px);
	if (!px->svc) {
		free(px);
		return NULL;
	}
	return px;
}

void sbc_proxy_set_listeners(struct sbc_proxy *px, int *fds, int nfds)
{
	core_conn_unlisten(px->svc);
	for (int i = 0; i < nfds; i++)
		core_conn_listen(px->svc, fds[i], px->sbc->tls);
}

void sbc_proxy_free(struct sbc_proxy *px)
{
	if (!px)
		return;
	core_conn_service_free(px->svc);
	free(px);
}

void sbc_proxy_set_per_address(struct sbc_proxy *px, int n)
{
	core_conn_set_per_address(px->svc, n);
}

uint64_t sbc_proxy_refused(const struct sbc_proxy *px)
{
	return core_conn_refused(px->svc);
}

int sbc_proxy_connections(const struct sbc_proxy *px)
{
	return core_conn_count(px->svc);
}
