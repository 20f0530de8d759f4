/*
 * mgmt_fetch — one HTTPS download into a file, for the update source: GET
 * over TLS (certificate and host name verified against the system's CA
 * store, or a CA file the administrator configured), the response read
 * with our own HTTP parser, the body bounded in size and the whole in time.
 * Address lookup is synchronous (getaddrinfo): it happens only when an
 * administrator asks for an update.
 */
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../core/core_version.h"
#include "../http/http_msg.h"
#include "mgmt.h"

#define FETCH_TIMEOUT 300

struct mgmt_fetch {
	struct bufferevent *bev;
	SSL_CTX *ctx;
	struct http_msg msg;
	int fd;
	size_t max, got;
	bool failed;
	char host[256], path[2048], err[256];
	mgmt_fetch_cb cb;
	void *arg;
};

static void fetch_end(struct mgmt_fetch *f, const char *err)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	mgmt_fetch_cb cb = f->cb;
	void *arg = f->arg;
	bufferevent_free(f->bev);
	SSL_CTX_free(f->ctx);
	free(f);
	cb(arg, err);
}

static void fetch_on_body(void *arg, const char *data, size_t len)
{
	struct mgmt_fetch *f = arg;
	if (f->failed)
		return;
	if (http_msg_status(&f->msg) != 200) {
		f->failed = true;
		snprintf(f->err, sizeof(f->err), "the update source answered %d",
			 http_msg_status(&f->msg));
		return;
	}
	f->got += len;
	if (f->got > f->max || write(f->fd, data, len) != (ssize_t)len) {
		f->failed = true;
		snprintf(f->err, sizeof(f->err), "the download is too large or cannot be stored");
	}
}

static void fetch_on_read(struct bufferevent *bev, void *arg)
{
	struct mgmt_fetch *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (evbuffer_get_length(in) > 0 && !f->msg.done) {
		size_t n = evbuffer_get_contiguous_space(in);
		long r = http_msg_feed(&f->msg, (const char *)evbuffer_pullup(in, (ssize_t)n), n);
		if (r < 0) {
			fetch_end(f, "the update source sent a malformed HTTP answer");
			return;
		}
		evbuffer_drain(in, (size_t)r);
		if (r == 0)
			break;
	}
	if (f->failed) {
		char e[256];
		snprintf(e, sizeof(e), "%s", f->err);
		fetch_end(f, e);
	} else if (f->msg.done) {
		if (http_msg_status(&f->msg) != 200) {
			char e[64];
			snprintf(e, sizeof(e), "the update source answered %d",
				 http_msg_status(&f->msg));
			fetch_end(f, e);
		} else {
			fetch_end(f, NULL);
		}
	}
}

static void fetch_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct mgmt_fetch *f = arg;
	if (what & BEV_EVENT_CONNECTED) {
		evbuffer_add_printf(bufferevent_get_output(bev),
				    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: zentrale/%s\r\n"
				    "Accept: */*\r\nConnection: close\r\n\r\n",
				    f->path, f->host, ZENTRALE_VERSION);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (http_msg_finish(&f->msg) == 0 && f->msg.done && !f->failed &&
		    http_msg_status(&f->msg) == 200) {
			fetch_end(f, NULL);
			return;
		}
		fetch_end(f, f->failed ? "the download failed" : "the update source closed early");
		return;
	}
	char e[256];
	unsigned long ssl_err = bufferevent_get_openssl_error(bev);
	snprintf(e, sizeof(e), "cannot fetch from the update source: %s",
		 what & BEV_EVENT_TIMEOUT ? "timed out"
		 : ssl_err		  ? ERR_reason_error_string(ssl_err)
					  : "connection failed");
	fetch_end(f, e);
}

int mgmt_fetch_https(struct mgmt *m, const char *url, const char *ca_file, const char *path,
		     size_t max, mgmt_fetch_cb cb, void *arg, char *err, size_t errlen)
{
	char port[8] = "443";
	struct mgmt_fetch *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->fd = -1;
	f->max = max;
	f->cb = cb;
	f->arg = arg;
	/* https://host[:port]/path */
	const char *h = url + 8, *slash = strchr(h, '/');
	size_t hl = slash ? (size_t)(slash - h) : strlen(h);
	const char *colon = memchr(h, ':', hl);
	if (strncmp(url, "https://", 8) != 0 || hl == 0 || hl >= sizeof(f->host)) {
		snprintf(err, errlen, "the update source is not an https:// URL");
		free(f);
		return -1;
	}
	snprintf(f->host, sizeof(f->host), "%.*s", (int)(colon ? colon - h : (long)hl), h);
	if (colon)
		snprintf(port, sizeof(port), "%.*s", (int)(hl - (size_t)(colon - h) - 1),
			 colon + 1);
	snprintf(f->path, sizeof(f->path), "%s", slash ? slash : "/");
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(f->host, port, &hints, &ai) != 0 || !ai) {
		snprintf(err, errlen, "cannot resolve %s", f->host);
		free(f);
		return -1;
	}
	f->ctx = SSL_CTX_new(TLS_client_method());
	if (!f->ctx || SSL_CTX_set_default_verify_paths(f->ctx) != 1 ||
	    (ca_file && *ca_file && SSL_CTX_load_verify_locations(f->ctx, ca_file, NULL) != 1)) {
		snprintf(err, errlen, "cannot set up TLS for the update source (CA file?)");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(f->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(f->ctx, SSL_VERIFY_PEER, NULL);
	SSL *ssl = SSL_new(f->ctx);
	if (!ssl) {
		snprintf(err, errlen, "cannot set up TLS for the update source");
		goto fail;
	}
	SSL_set_tlsext_host_name(ssl, f->host);
	SSL_set1_host(ssl, f->host); /* the certificate must name it */
	f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f->bev = bufferevent_openssl_socket_new(m->child.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (f->fd < 0 || !f->bev) {
		snprintf(err, errlen, "cannot start the download");
		if (!f->bev)
			SSL_free(ssl);
		goto fail;
	}
	http_msg_init(&f->msg, HTTP_RESPONSE, NULL, fetch_on_body, f);
	bufferevent_setcb(f->bev, fetch_on_read, NULL, fetch_on_event, f);
	struct timeval tv = {FETCH_TIMEOUT, 0};
	bufferevent_set_timeouts(f->bev, &tv, &tv);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(f->bev, ai->ai_addr, (int)ai->ai_addrlen) < 0) {
		snprintf(err, errlen, "cannot connect to %s", f->host);
		goto fail;
	}
	freeaddrinfo(ai);
	return 0;
fail:
	freeaddrinfo(ai);
	if (f->fd >= 0)
		close(f->fd);
	if (f->bev)
		bufferevent_free(f->bev);
	SSL_CTX_free(f->ctx);
	free(f);
	return -1;
}
