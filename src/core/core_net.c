/* core_net — see core_net.h. */
#include "core_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int net_listen(const char *addr, int port, int type, char *err, size_t errlen);

int core_net_listen_tcp(const char *addr, int port, char *err, size_t errlen)
{
	return net_listen(addr, port, SOCK_STREAM, err, errlen);
}

int core_net_listen_udp(const char *addr, int port, char *err, size_t errlen)
{
	int fd = net_listen(addr, port, SOCK_DGRAM, err, errlen);
	if (fd >= 0)
		core_net_udp_buffers(fd, CORE_NET_UDP_BUFFER);
	return fd;
}

/* One buffer: forced first (root: past rmem_max, as Kamailio's maxbuffer
 * probing gets), else the plain option, which the kernel caps; a buffer
 * already larger stays. */
static int net_buffer(int fd, int opt, int force, int bytes)
{
	int have = 0;
	socklen_t l = sizeof(have);
	if (getsockopt(fd, SOL_SOCKET, opt, &have, &l) == 0 && have / 2 >= bytes)
		return have;
	if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof(bytes)) < 0) {
		int now = 0;
		l = sizeof(now);
		/* capped at the sysctl: kept only if it is more than before */
		if (setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes)) == 0 &&
		    getsockopt(fd, SOL_SOCKET, opt, &now, &l) == 0 && now < have) {
			int back = have / 2;
			setsockopt(fd, SOL_SOCKET, opt, &back, sizeof(back));
		}
	}
	l = sizeof(have);
	getsockopt(fd, SOL_SOCKET, opt, &have, &l);
	return have;
}

int core_net_udp_buffers(int fd, int bytes)
{
	net_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, bytes);
	return net_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, bytes);
}

/* An address to listen on ("::", "192.0.2.1", "[::1]"; empty means "::")
 * and a port; 0, or -1 if it is no IP address. *bare: the address without
 * brackets, in buf. */
static int net_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *sl,
			char buf[CORE_NET_ADDR_LEN], const char **bare)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	const char *a = addr && *addr ? addr : "::";
	if (a[0] == '[') { /* "[::1]" as well as "::1" */
		snprintf(buf, CORE_NET_ADDR_LEN, "%s", a + 1);
		char *e = strchr(buf, ']');
		if (e)
			*e = '\0';
		a = buf;
	}
	*bare = a;
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*s6);
	} else if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sl = sizeof(*s4);
	} else {
		return -1;
	}
	return 0;
}

static int net_listen(const char *addr, int port, int type, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char buf[CORE_NET_ADDR_LEN];
	const char *a;
	if (net_sockaddr(addr, port, &ss, &sl, buf, &a) < 0) {
		snprintf(err, errlen, "'%s' is not an IP address", a);
		return -EINVAL;
	}
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && ss.ss_family == AF_INET6 && strcmp(a, "::") == 0) {
		/* No IPv6 on this host: fall back to every IPv4 address. */
		return net_listen("0.0.0.0", port, type, err, errlen);
	}
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Lets a new socket on a specific address coexist with our wildcard one
	 * (same uid only) while listeners move between interfaces. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, strcmp(a, "::") ? &one : &zero,
			   sizeof(int));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
		int e = errno;
		snprintf(err, errlen, "cannot listen on %s%s%s:%d%s: %s",
			 ss.ss_family == AF_INET6 ? "[" : "", a,
			 ss.ss_family == AF_INET6 ? "]" : "", port,
			 type == SOCK_DGRAM ? "/udp" : "", strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int core_net_port_taken(const char *addr, int port, bool udp)
{
	/* A plain bind, without SO_REUSEPORT (and for UDP without SO_REUSEADDR,
	 * which would let UDP share): it fails where anyone listens already. */
	struct sockaddr_storage ss;
	socklen_t sl;
	char buf[CORE_NET_ADDR_LEN];
	const char *a;
	if (net_sockaddr(addr, port, &ss, &sl, buf, &a) < 0)
		return 0;
	int fd = socket(ss.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0; /* no such family here: nothing to be taken */
	int one = 1, zero = 0;
	if (!udp) /* a connection of ours in TIME_WAIT is no owner */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, strcmp(a, "::") ? &one : &zero,
			   sizeof(int));
	int taken = bind(fd, (struct sockaddr *)&ss, sl) < 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

int core_net_listen_unix(const char *path, int mode)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, (mode_t)mode) < 0 ||
	    listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int core_net_connect_unix(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 && errno != EINPROGRESS &&
	    errno != EAGAIN) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

void core_net_addr_str(const struct sockaddr *sa, char *out, size_t outlen)
{
	char buf[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, sizeof(buf));
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], buf, sizeof(buf));
		else
			inet_ntop(AF_INET6, a, buf, sizeof(buf));
	} else if (sa->sa_family == AF_UNIX) {
		snprintf(buf, sizeof(buf), "local");
	}
	snprintf(out, outlen, "%s", buf);
}

bool core_net_local_is(int fd, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char here[INET6_ADDRSTRLEN + 8];
	if (!addr || !*addr || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	core_net_addr_str((struct sockaddr *)&ss, here, sizeof(here));
	return strcmp(here, addr) == 0;
}

static json_t *net_find(json_t *list, const char *name)
{
	size_t i;
	json_t *it;
	json_array_foreach(list, i, it)
	{
		if (strcmp(json_string_value(json_object_get(it, "name")), name) == 0)
			return it;
	}
	json_t *o =
		json_pack("{s:s, s:s, s:b, s:[]}", "name", name, "mac", "", "up", 0, "addresses");
	json_array_append_new(list, o);
	return o;
}

json_t *core_net_interfaces(void)
{
	struct ifaddrs *ifa0, *ifa;
	json_t *list = json_array();
	if (getifaddrs(&ifa0) < 0)
		return list;
	for (ifa = ifa0; ifa; ifa = ifa->ifa_next) {
		json_t *o = net_find(list, ifa->ifa_name);
		json_object_set_new(
			o, "up",
			json_boolean((ifa->ifa_flags & IFF_UP) && (ifa->ifa_flags & IFF_RUNNING)));
		if (!ifa->ifa_addr)
			continue;
		int fam = ifa->ifa_addr->sa_family;
		if (fam == AF_PACKET) {
			const struct sockaddr_ll *ll = (const struct sockaddr_ll *)ifa->ifa_addr;
			char mac[32] = "";
			if (ll->sll_halen == 6)
				snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
					 ll->sll_addr[0], ll->sll_addr[1], ll->sll_addr[2],
					 ll->sll_addr[3], ll->sll_addr[4], ll->sll_addr[5]);
			json_object_set_new(o, "mac", json_string(mac));
		} else if (fam == AF_INET || fam == AF_INET6) {
			char a[CORE_NET_ADDR_LEN];
			core_net_addr_str(ifa->ifa_addr, a, sizeof(a));
			/* Link-local IPv6 needs a scope to bind; not offered for listening. */
			if (fam == AF_INET6 &&
			    IN6_IS_ADDR_LINKLOCAL(
				    &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr))
				continue;
			json_array_append_new(json_object_get(o, "addresses"), json_string(a));
		}
	}
	freeifaddrs(ifa0);
	return list;
}

json_t *core_net_interface_addresses(const char *ifname)
{
	json_t *list = core_net_interfaces(), *found = NULL;
	size_t i;
	json_t *it;
	json_array_foreach(list, i, it)
	{
		if (strcmp(json_string_value(json_object_get(it, "name")), ifname) == 0)
			found = json_incref(json_object_get(it, "addresses"));
	}
	json_decref(list);
	return found;
}

static int mask_bits(const struct sockaddr *m)
{
	const uint8_t *b = m->sa_family == AF_INET
				   ? (const uint8_t *)&((const struct sockaddr_in *)m)->sin_addr
				   : ((const struct sockaddr_in6 *)m)->sin6_addr.s6_addr;
	int n = m->sa_family == AF_INET ? 4 : 16, bits = 0;
	for (int i = 0; i < n; i++)
		for (int k = 7; k >= 0 && (b[i] >> k & 1); k--)
			bits++;
	return bits;
}

json_t *core_net_interface_networks(const char *ifname)
{
	struct ifaddrs *ifa0, *ifa;
	json_t *list = NULL;
	if (getifaddrs(&ifa0) < 0)
		return NULL;
	for (ifa = ifa0; ifa; ifa = ifa->ifa_next) {
		if (strcmp(ifa->ifa_name, ifname) != 0)
			continue;
		if (!list)
			list = json_array();
		if (!ifa->ifa_addr || !ifa->ifa_netmask ||
		    (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6))
			continue;
		struct sockaddr_storage net;
		memcpy(&net, ifa->ifa_addr,
		       ifa->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
							   : sizeof(struct sockaddr_in6));
		int bits = mask_bits(ifa->ifa_netmask);
		uint8_t *b = net.ss_family == AF_INET
				     ? (uint8_t *)&((struct sockaddr_in *)&net)->sin_addr
				     : ((struct sockaddr_in6 *)&net)->sin6_addr.s6_addr;
		if (net.ss_family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)&net)->sin6_addr))
			continue;
		int n = net.ss_family == AF_INET ? 4 : 16;
		for (int i = 0; i < n; i++) {
			int keep = bits - 8 * i;
			b[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		}
		char a[CORE_NET_ADDR_LEN], cidr[CORE_NET_ADDR_LEN + 16]; /* "/" and an int */
		inet_ntop(net.ss_family, b, a, sizeof(a));
		snprintf(cidr, sizeof(cidr), "%s/%d", a, bits);
		json_array_append_new(list, json_string(cidr));
	}
	freeifaddrs(ifa0);
	return list;
}

socklen_t core_net_ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

int core_net_ss_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
					       : ((const struct sockaddr_in *)ss)->sin_port);
}

void core_net_ss_set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

bool core_net_ss_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

bool core_net_ss_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return core_net_ss_same_ip(a, b) && core_net_ss_port(a) == core_net_ss_port(b);
}
