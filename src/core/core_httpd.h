/*
 * core_httpd — an HTTP/1.1 server on libevent bufferevents, over TLS (mgmt)
 * or a plain Unix socket (a phone system behind the SBC). It owns the
 * connections, enforces the limits every network input gets (head size,
 * body size, time to send a request, idle keep-alive), answers malformed
 * requests itself, and hands each whole request to one handler.
 *
 * Memory: the server owns connections; a connection owns its current
 * request. A handler may answer later (after an IPC round trip): it keeps
 * the request's id and finds it again with core_httpd_find(), which returns
 * NULL if the client went away meanwhile.
 */
#ifndef CORE_HTTPD_H
#define CORE_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "../http/http_msg.h"

struct core_httpd_limits {
	size_t max_body;     /* larger bodies get 413 */
	int request_timeout; /* seconds from a request's first byte to its end */
	int idle_timeout;    /* seconds a keep-alive connection may wait */
	int max_connections; /* beyond this, new connections are closed */
	int max_per_address; /* the same per client address (core_connlimit); 0: none */
	bool local;	     /* a Unix socket only our processes (and root) reach:
				the client address is taken from X-Real-IP */
	bool hsts;	     /* send Strict-Transport-Security */
	/* Optional: asked once a request's head has arrived; may allow that
	 * request a larger body and more time (an authenticated upload). */
	void (*allow)(const struct http_msg *head, size_t *max_body, int *timeout, void *arg);
	/* Optional: asked for each new connection; false closes it at once. */
	bool (*accept_ok)(int fd, void *arg);
};

struct core_httpd_req {
	uint64_t id;
	const struct http_msg *msg; /* method, url, headers */
	const char *method;
	char path[2048];   /* URL path, percent-decoded, without the query */
	const char *query; /* raw query string or "" */
	struct evbuffer *body;
	char client[64]; /* client address */
	bool local;	 /* came through a local Unix socket (see limits) */
	struct core_httpd_conn *conn;
};

struct core_httpd;
typedef void (*core_httpd_handler)(struct core_httpd_req *req, void *arg);

struct core_httpd *core_httpd_new(struct event_base *base, SSL_CTX *tls,
				  const struct core_httpd_limits *limits, core_httpd_handler h,
				  void *arg);
void core_httpd_free(struct core_httpd *srv);
/* Starts accepting on a listening socket; the server owns fd from now on. */
int core_httpd_listen(struct core_httpd *srv, int fd);
/* Stops accepting on every listener; open connections go on. */
void core_httpd_close_listeners(struct core_httpd *srv);
struct core_httpd_req *core_httpd_find(struct core_httpd *srv, uint64_t id);
/* Connections closed at accept for the per-address limit, since the start. */
uint64_t core_httpd_refused(const struct core_httpd *srv);
/* The server a request came to: what a late answer keeps, with the id. */
struct core_httpd *core_httpd_of(const struct core_httpd_req *req);

const char *core_httpd_header(const struct core_httpd_req *req, const char *name);
/* Answers the request; extra_headers is "Name: value\r\n..." or NULL. */
void core_httpd_respond(struct core_httpd_req *req, int status, const char *content_type,
			const char *extra_headers, const void *body, size_t len);
/* Answers with a JSON body; obj is stolen. */
void core_httpd_respond_json(struct core_httpd_req *req, int status, json_t *obj);
/* The same with extra headers ("Name: value\r\n..."; under 1000 bytes). */
void core_httpd_respond_json_with(struct core_httpd_req *req, int status, json_t *obj,
				  const char *extra_headers);
/* The value of cookie `name` in the Cookie header, copied to out; -1 if absent. */
int core_httpd_cookie(const struct core_httpd_req *req, const char *name, char *out, size_t outlen);
/* Answers {"error": message}. */
void core_httpd_respond_error(struct core_httpd_req *req, int status, const char *message);
/* The body as a JSON object; on failure answers 400 itself and returns NULL. */
json_t *core_httpd_json_body(struct core_httpd_req *req);
/* A query parameter, percent-decoded into out; -1 if absent or malformed. */
int core_httpd_query(const struct core_httpd_req *req, const char *key, char *out, size_t outlen);
/* The bearer token of the Authorization header, or NULL. */
const char *core_httpd_bearer(const struct core_httpd_req *req);

#endif
