/* core_connlimit — see core_connlimit.h. */
#include "core_connlimit.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/listener.h>
#include <sodium.h>

#include "core_hash.h"
#include "core_log.h"
#include "core_net.h"

#define CONNLIMIT_BUCKETS 4096 /* a power of two */

struct core_connlimit_slot {
	LIST_ENTRY(core_connlimit_slot) link;
	unsigned char key[16]; /* IPv4 as IPv4-mapped IPv6; IPv6 cut to its /64 */
	int n;		       /* connections this address holds */
};
LIST_HEAD(connlimit_bucket, core_connlimit_slot);

struct core_connlimit {
	char service[32];
	int per_address;
	uint64_t refused;
	uint64_t refused_logged; /* refused when the last line was written */
	int64_t logged_at;	 /* ms, monotonic; 0: never */
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	struct connlimit_bucket buckets[CONNLIMIT_BUCKETS]; /* all-zero: empty */
};

/* The process's spare descriptor (see core_connlimit_on_listener_error). */
static int connlimit_spare = -1;
static int64_t connlimit_spare_logged; /* ms */

struct core_connlimit *core_connlimit_new(const char *service, int per_address)
{
	if (sodium_init() < 0)
		return NULL;
	if (connlimit_spare < 0)
		connlimit_spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct core_connlimit *cl = calloc(1, sizeof(*cl));
	if (!cl)
		return NULL;
	size_t n = strlen(service);
	memcpy(cl->service, service, n < sizeof(cl->service) ? n : sizeof(cl->service) - 1);
	cl->per_address = per_address > 0 ? per_address : 1;
	crypto_shorthash_keygen(cl->hkey);
	return cl;
}

void core_connlimit_free(struct core_connlimit *cl)
{
	if (!cl)
		return;
	for (int i = 0; i < CONNLIMIT_BUCKETS; i++) {
		struct core_connlimit_slot *s;
		while ((s = LIST_FIRST(&cl->buckets[i]))) {
			LIST_REMOVE(s, link);
			free(s);
		}
	}
	free(cl);
}

void core_connlimit_set(struct core_connlimit *cl, int per_address)
{
	if (per_address > 0)
		cl->per_address = per_address;
}

int core_connlimit_get(const struct core_connlimit *cl)
{
	return cl->per_address;
}

uint64_t core_connlimit_refused(const struct core_connlimit *cl)
{
	return cl->refused;
}

/* The key an address counts under; false for families we do not count. */
static bool connlimit_key(const struct sockaddr *sa, unsigned char key[16], bool *prefix)
{
	memset(key, 0, 16);
	*prefix = false;
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a)) {
		memcpy(key, a, 16);
		return true;
	}
	memcpy(key, a, 8); /* the /64 */
	*prefix = true;
	return true;
}

/* One line per burst: the first refusal after a quiet spell, then none for a while. */
static void connlimit_log(struct core_connlimit *cl, const struct sockaddr *sa, bool prefix)
{
	int64_t now = core_now_ms();
	if (cl->logged_at && now - cl->logged_at < CORE_CONNLIMIT_LOG_EVERY * 1000)
		return;
	char addr[CORE_NET_ADDR_LEN];
	core_net_addr_str(sa, addr, sizeof(addr));
	log_warn("%s: %s%s holds %d connections, the most one address may: refusing more "
		 "(%llu refused since the last such line)",
		 cl->service, addr, prefix ? " (its /64)" : "", cl->per_address,
		 (unsigned long long)(cl->refused - cl->refused_logged));
	cl->logged_at = now;
	cl->refused_logged = cl->refused;
}

struct core_connlimit_slot *core_connlimit_take(struct core_connlimit *cl,
						const struct sockaddr *sa)
{
	unsigned char key[16], h[crypto_shorthash_BYTES];
	bool prefix;
	if (!connlimit_key(sa, key, &prefix)) {
		cl->refused++;
		return NULL;
	}
	crypto_shorthash(h, key, sizeof(key), cl->hkey);
	uint32_t b;
	memcpy(&b, h, sizeof(b));
	b &= CONNLIMIT_BUCKETS - 1;
	struct core_connlimit_slot *s;
	LIST_FOREACH(s, &cl->buckets[b], link)
	if (memcmp(s->key, key, sizeof(key)) == 0)
		break;
	if (s && s->n >= cl->per_address) {
		cl->refused++;
		connlimit_log(cl, sa, prefix);
		return NULL;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		memcpy(s->key, key, sizeof(key));
		LIST_INSERT_HEAD(&cl->buckets[b], s, link);
	}
	s->n++;
	return s;
}

void core_connlimit_give(struct core_connlimit *cl, struct core_connlimit_slot *slot)
{
	(void)cl;
	if (!slot || --slot->n > 0)
		return;
	LIST_REMOVE(slot, link);
	free(slot);
}

void core_connlimit_on_listener_error(struct evconnlistener *l, void *arg)
{
	int err = errno;
	(void)arg;
	bool shed = (err == EMFILE || err == ENFILE) && connlimit_spare >= 0;
	if (shed) {
		close(connlimit_spare);
		int fd = accept(evconnlistener_get_fd(l), NULL, NULL);
		if (fd >= 0)
			close(fd);
		connlimit_spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	int64_t now = core_now_ms();
	if (connlimit_spare_logged &&
	    now - connlimit_spare_logged < CORE_CONNLIMIT_LOG_EVERY * 1000)
		return;
	connlimit_spare_logged = now;
	log_warn("accepting a connection: %s%s", strerror(err),
		 shed ? "; closing new connections until descriptors are free again" : "");
}
