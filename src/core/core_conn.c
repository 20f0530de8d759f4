/* core_conn — see core_conn.h. */
#include "core_conn.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "core_connlimit.h"
#include "core_log.h"
#include "core_net.h"
#include "core_tls.h"

struct core_conn_listener {
	struct core_conn_service *svc;
	struct evconnlistener *l;
	SSL_CTX *tls;
};

struct core_conn {
	struct core_conn_service *svc;
	TAILQ_ENTRY(core_conn) link;
	LIST_ENTRY(core_conn) by_id;
	uint64_t id;
	struct bufferevent *bev;
	struct event *timer;
	void *st;
	bool tls;
	bool handshaking;   /* TLS handshake not done yet */
	bool paused;	    /* by the protocol */
	bool backpressured; /* by the output above out_high */
	bool lingering;
	bool opened; /* on_open accepted it: on_close is owed */
	int idle;
	size_t drained; /* input thrown away while lingering */
	struct core_connlimit_slot *slot;
	struct sockaddr_storage addr, local;
	socklen_t alen;
	char peer[CORE_NET_ADDR_LEN];
};

TAILQ_HEAD(core_conn_list, core_conn);
LIST_HEAD(core_conn_bucket, core_conn);

struct core_conn_service {
	struct event_base *base;
	struct core_conn_desc d;
	void *arg;
	struct core_conn_listener ls[CORE_CONN_MAX_LISTENERS];
	int nls;
	struct core_conn_list conns;
	int nconns, ntls;
	struct core_conn_bucket *buckets; /* by id: ids are ours, sequential */
	uint64_t mask;
	struct core_connlimit *per_address;
};

/* Unique within the process, across services; never reused. */
static uint64_t conn_next_id;

static void conn_apply_read(struct core_conn *c)
{
	if (c->lingering || (!c->paused && !c->backpressured))
		bufferevent_enable(c->bev, EV_READ);
	else
		bufferevent_disable(c->bev, EV_READ);
}

static void conn_apply_timeouts(struct core_conn *c)
{
	struct timeval r = {.tv_sec = c->handshaking ? c->svc->d.handshake : c->idle};
	struct timeval w = {.tv_sec = c->svc->d.write_timeout};
	bufferevent_set_timeouts(c->bev, r.tv_sec ? &r : NULL, w.tv_sec ? &w : NULL);
}

void core_conn_close(struct core_conn *c)
{
	struct core_conn_service *svc = c->svc;
	TAILQ_REMOVE(&svc->conns, c, link);
	LIST_REMOVE(c, by_id);
	svc->nconns--;
	if (c->tls)
		svc->ntls--;
	if (c->opened && svc->d.on_close)
		svc->d.on_close(c, c->st);
	core_connlimit_give(svc->per_address, c->slot);
	bufferevent_free(c->bev);
	event_free(c->timer);
	free(c);
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
	struct core_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (c->lingering) {
		c->drained += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->drained > CORE_CONN_LINGER_MAX)
			core_conn_close(c);
		return;
	}
	if (c->svc->d.on_read(c, c->st, in) < 0) {
		core_conn_close(c);
		return;
	}
	size_t out = evbuffer_get_length(bufferevent_get_output(bev));
	if (c->svc->d.out_high && out > c->svc->d.out_high && !c->backpressured) {
		c->backpressured = true; /* until the peer reads what it asked for */
		conn_apply_read(c);
	}
}

static void conn_on_write(struct bufferevent *bev, void *arg)
{
	struct core_conn *c = arg;
	size_t out = evbuffer_get_length(bufferevent_get_output(bev));
	if (c->lingering && out == 0) {
		core_conn_timer(c, CORE_CONN_LINGER); /* sent: drain a little, then close */
		return;
	}
	if (c->backpressured && out <= c->svc->d.out_low) {
		c->backpressured = false;
		conn_apply_read(c);
	}
	if (c->svc->d.on_drain)
		c->svc->d.on_drain(c, c->st);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct core_conn *c = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) { /* TLS handshake done: the idle timeout now */
		c->handshaking = false;
		conn_apply_timeouts(c);
		return;
	}
	core_conn_close(c);
}

static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct core_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->lingering || !c->svc->d.on_timer)
		core_conn_close(c);
	else
		c->svc->d.on_timer(c, c->st);
}

/* A connection for fd, in the list, not yet open; NULL (fd closed) if out
 * of memory. tls for the server side of an accepted one; client (with the
 * host its certificate must name) for one of ours. */
static struct core_conn *conn_new(struct core_conn_service *svc, int fd, const struct sockaddr *sa,
				  socklen_t salen, struct core_connlimit_slot *slot, SSL_CTX *tls,
				  SSL_CTX *client, const char *host)
{
	struct core_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	int opts = BEV_OPT_CLOSE_ON_FREE | (svc->d.defer ? BEV_OPT_DEFER_CALLBACKS : 0);
	c->bev = client || host ? core_tls_connect(svc->base, client, fd, host, opts)
				: core_tls_accept(svc->base, tls, fd, opts);
	c->timer = evtimer_new(svc->base, conn_on_timer, c);
	if (!c->bev || !c->timer) {
		if (c->bev)
			bufferevent_free(c->bev);
		if (c->timer)
			event_free(c->timer);
		free(c);
		return NULL;
	}
	c->svc = svc;
	c->slot = slot;
	c->id = ++conn_next_id;
	c->tls = c->handshaking = (tls || client) != 0;
	c->idle = svc->d.idle;
	memcpy(&c->addr, sa, salen);
	c->alen = salen;
	socklen_t ll = sizeof(c->local);
	getsockname(fd, (struct sockaddr *)&c->local,
		    &ll); /* an outgoing one: bound by connect() */
	core_net_addr_str(sa, c->peer, sizeof(c->peer));
	TAILQ_INSERT_TAIL(&svc->conns, c, link);
	LIST_INSERT_HEAD(&svc->buckets[c->id & svc->mask], c, by_id);
	svc->nconns++;
	if (c->tls)
		svc->ntls++;
	return c;
}

/* The protocol's turn: on_open, then reading and writing. 0, or -1 (closed). */
static int conn_open(struct core_conn *c)
{
	const struct core_conn_desc *d = &c->svc->d;
	bufferevent_setwatermark(c->bev, EV_READ, 0, d->in_max);
	bufferevent_setwatermark(c->bev, EV_WRITE, d->out_low, 0);
	bufferevent_setcb(c->bev, conn_on_read, conn_on_write, conn_on_event, c);
	conn_apply_timeouts(c);
	c->st = d->on_open(c, c->svc->arg);
	if (!c->st) {
		core_conn_close(c);
		return -1;
	}
	c->opened = true;
	bufferevent_enable(c->bev, EV_WRITE);
	conn_apply_read(c);
	return 0;
}

struct core_conn *core_conn_connect(struct core_conn_service *svc, const struct sockaddr *sa,
				    socklen_t salen, SSL_CTX *client, const char *host)
{
	if (svc->nconns >= svc->d.max_conns)
		return NULL;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, sa, salen) < 0 && errno != EINPROGRESS)) {
		char a[CORE_NET_ADDR_LEN];
		core_net_addr_str(sa, a, sizeof(a));
		log_warn("%s: cannot connect to %s: %s", svc->d.name, a, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct core_conn *c = conn_new(svc, fd, sa, salen, NULL, NULL, client, client ? host : "");
	return c && conn_open(c) == 0 ? c : NULL;
}

static void conn_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			   int salen, void *arg)
{
	struct core_conn_listener *cl = arg;
	struct core_conn_service *svc = cl->svc;
	(void)l;
	struct core_connlimit_slot *slot = NULL;
	if (svc->nconns >= svc->d.max_conns || (svc->d.admit && !svc->d.admit(svc->arg, fd, sa)) ||
	    (svc->per_address && !(slot = core_connlimit_take(svc->per_address, sa)))) {
		close(fd);
		return;
	}
	struct core_conn *c = conn_new(svc, fd, sa, (socklen_t)salen, slot, cl->tls, NULL, NULL);
	if (!c) {
		core_connlimit_give(svc->per_address, slot);
		return;
	}
	conn_open(c);
}

struct core_conn_service *core_conn_service_new(struct event_base *base,
						const struct core_conn_desc *d, void *arg)
{
	struct core_conn_service *svc = calloc(1, sizeof(*svc));
	if (!svc)
		return NULL;
	svc->base = base;
	svc->d = *d;
	svc->arg = arg;
	TAILQ_INIT(&svc->conns);
	uint64_t n = 64;
	while (n < (uint64_t)d->max_conns && n < (1u << 16))
		n <<= 1;
	svc->mask = n - 1;
	svc->buckets = calloc(n, sizeof(*svc->buckets)); /* all-zero: empty LISTs */
	if (d->per_address > 0)
		svc->per_address = core_connlimit_new(d->name, d->per_address);
	if (!svc->buckets || (d->per_address > 0 && !svc->per_address)) {
		core_conn_service_free(svc);
		return NULL;
	}
	return svc;
}

void core_conn_service_free(struct core_conn_service *svc)
{
	if (!svc)
		return;
	core_conn_unlisten(svc);
	struct core_conn *c;
	while ((c = TAILQ_FIRST(&svc->conns)))
		core_conn_close(c);
	if (svc->per_address)
		core_connlimit_free(svc->per_address);
	free(svc->buckets);
	free(svc);
}

int core_conn_listen(struct core_conn_service *svc, int fd, SSL_CTX *tls)
{
	struct core_conn_listener *cl = &svc->ls[svc->nls];
	struct evconnlistener *l = NULL;
	if (svc->nls < CORE_CONN_MAX_LISTENERS)
		l = evconnlistener_new(svc->base, conn_on_accept, cl,
				       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!l) {
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l, core_connlimit_on_listener_error);
	*cl = (struct core_conn_listener){.svc = svc, .l = l, .tls = tls};
	svc->nls++;
	return 0;
}

void core_conn_unlisten(struct core_conn_service *svc)
{
	for (int i = 0; i < svc->nls; i++)
		evconnlistener_free(svc->ls[i].l);
	svc->nls = 0;
}

void core_conn_set_per_address(struct core_conn_service *svc, int n)
{
	if (svc->per_address && n > 0 && n != core_connlimit_get(svc->per_address)) {
		core_connlimit_set(svc->per_address, n);
		log_info("%s: at most %d connections per address", svc->d.name, n);
	}
}

int core_conn_count(const struct core_conn_service *svc)
{
	return svc->nconns;
}

int core_conn_count_tls(const struct core_conn_service *svc)
{
	return svc->ntls;
}

uint64_t core_conn_refused(const struct core_conn_service *svc)
{
	return svc->per_address ? core_connlimit_refused(svc->per_address) : 0;
}

struct core_conn *core_conn_find(const struct core_conn_service *svc, uint64_t id)
{
	struct core_conn *c;
	LIST_FOREACH(c, &svc->buckets[id & svc->mask], by_id)
	if (c->id == id)
		return c;
	return NULL;
}

void core_conn_linger(struct core_conn *c)
{
	c->lingering = true;
	event_del(c->timer);
	conn_apply_read(c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		core_conn_timer(c, CORE_CONN_LINGER);
}

bool core_conn_is_lingering(const struct core_conn *c)
{
	return c->lingering;
}

void core_conn_timer(struct core_conn *c, int seconds)
{
	struct timeval tv = {.tv_sec = seconds};
	if (seconds > 0)
		event_add(c->timer, &tv);
	else
		event_del(c->timer);
}

void core_conn_set_idle(struct core_conn *c, int seconds)
{
	c->idle = seconds;
	conn_apply_timeouts(c);
}

void core_conn_pause_read(struct core_conn *c, bool pause)
{
	c->paused = pause;
	conn_apply_read(c);
}

uint64_t core_conn_id(const struct core_conn *c)
{
	return c->id;
}

void *core_conn_state(const struct core_conn *c)
{
	return c->st;
}

bool core_conn_is_tls(const struct core_conn *c)
{
	return c->tls;
}

struct bufferevent *core_conn_bev(const struct core_conn *c)
{
	return c->bev;
}

struct evbuffer *core_conn_output(const struct core_conn *c)
{
	return bufferevent_get_output(c->bev);
}

const char *core_conn_peer(const struct core_conn *c)
{
	return c->peer;
}

const struct sockaddr_storage *core_conn_addr(const struct core_conn *c, socklen_t *len)
{
	if (len)
		*len = c->alen;
	return &c->addr;
}

const struct sockaddr_storage *core_conn_local(const struct core_conn *c)
{
	return &c->local;
}
