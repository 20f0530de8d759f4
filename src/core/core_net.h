/*
 * core_net — sockets and the host's network interfaces: binding listeners
 * (TCP and Unix), describing peers, and enumerating interfaces with their
 * MAC, addresses and state. No protocol knowledge.
 */
#ifndef CORE_NET_H
#define CORE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <jansson.h>

#define CORE_NET_ADDR_LEN 64

/* A non-blocking listening TCP socket on addr:port ("::" = every address,
 * IPv4 too). On failure returns -errno and writes a message into err. */
int core_net_listen_tcp(const char *addr, int port, char *err, size_t errlen);
/* The same for a UDP socket (SOCK_DGRAM), bound to addr:port, with receive
 * and send buffers of CORE_NET_UDP_BUFFER: a burst of 5,000 SIP messages a
 * second waits in it, not dropped, while the reader is busy. Forced
 * (SO_RCVBUFFORCE) where the caller may (CAP_NET_ADMIN), else as much as
 * net.core.rmem_max / wmem_max allow (core_net_udp_buffers). */
#define CORE_NET_UDP_BUFFER (4 * 1024 * 1024)
int core_net_listen_udp(const char *addr, int port, char *err, size_t errlen);
/* Sets fd's receive and send buffers to bytes each (forced if permitted);
 * never lowers one already larger. Returns the receive buffer the kernel
 * granted (its SO_RCVBUF figure: twice the bytes it holds of datagrams). */
int core_net_udp_buffers(int fd, int bytes);
/* A non-blocking listening Unix socket; a stale file at path is replaced. */
int core_net_listen_unix(const char *path, int mode);
/* 1 if somebody listens on addr:port already (our sockets share ports with
 * SO_REUSEPORT, so a second server would otherwise join silently). */
int core_net_port_taken(const char *addr, int port, bool udp);
/* A non-blocking, connecting Unix stream socket; -errno on failure. */
int core_net_connect_unix(const char *path);
/* "1.2.3.4" or "::1" (IPv4-mapped IPv6 shown as IPv4). */
void core_net_addr_str(const struct sockaddr *sa, char *out, size_t outlen);
/* An IPv4 or IPv6 address in a sockaddr_storage: its length for bind and
 * sendto, its port, the same host (port aside), the same host and port. */
socklen_t core_net_ss_len(const struct sockaddr_storage *ss);
int core_net_ss_port(const struct sockaddr_storage *ss);
void core_net_ss_set_port(struct sockaddr_storage *ss, int port);
bool core_net_ss_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
bool core_net_ss_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* [{"name","mac","up","addresses":[...]}], loopback included. */
json_t *core_net_interfaces(void);
/* Whether the connection fd was accepted on address addr (IPv4 also when
 * it came to a dual-stack socket). */
bool core_net_local_is(int fd, const char *addr);
/* Addresses of one interface into a JSON array of strings; NULL if no such interface. */
json_t *core_net_interface_addresses(const char *ifname);
/* The networks of one interface's addresses ("10.77.0.0/24", link-local
 * IPv6 left out) into a JSON array of strings; NULL if no such interface. */
json_t *core_net_interface_networks(const char *ifname);

#endif
