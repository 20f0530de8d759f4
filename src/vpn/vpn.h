/*
 * vpn — the phones' VPN on TCP 8885 (off by default). Desk phones and
 * softphones speak OpenVPN, so the tunnel is Debian's openvpn, which the
 * supervisor runs unprivileged on a tun device it prepares; a phone inside
 * the tunnel reaches the SBC at the tunnel's first address like any other.
 *
 * This library owns what openvpn is given: the VPN's own PKI under
 * certs/vpn/ (a CA, the server's certificate, one certificate per client,
 * the revocation list), the tun device, openvpn's configuration, the
 * profile a phone imports, and reading openvpn's status file. Pure parts
 * (subnets, names, the status) are unit-tested.
 */
#ifndef VPN_H
#define VPN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define VPN_PORT	   8885
#define VPN_DIR		   "certs/vpn"
#define VPN_DEFAULT_SUBNET "10.88.0.0/24"
#define VPN_MAX_CLIENTS	   1000

/* An IPv4 subnet, host byte order: net is the network, server its first host. */
struct vpn_net {
	uint32_t net, mask, server;
	int prefix;
};

/* "10.88.0.0/24": a private (RFC 1918) network of /16 to /29 without host
 * bits set. -1 with a message for a person in err. */
int vpn_subnet_parse(const char *text, struct vpn_net *out, char *err, size_t errlen);
/* Dotted quad of a host-order address. */
void vpn_addr_str(uint32_t addr, char *buf, size_t len);
/* A client name: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'. It is
 * the certificate's CN and a file name. */
bool vpn_client_name_ok(const char *name);

/* vpn_pki.c. dir is VPN_DIR. Makes the CA and the server certificate if
 * they are missing. */
int vpn_pki_ensure(const char *dir);
/* A new client certificate and key (dir/clients/NAME.crt, .key); its
 * serial in hex into serial. */
int vpn_pki_issue(const char *dir, const char *name, char *serial, size_t len);
/* Writes dir/crl.pem listing the revoked serials (hex), signed by the CA. */
int vpn_pki_write_crl(const char *dir, const char *const *serials, int n);
/* The profile (.ovpn) a client imports: the server's address and port,
 * the CA, its certificate and key inline. Caller frees; NULL if missing. */
char *vpn_profile(const char *dir, const char *name, const char *host, int port);

/* vpn_tun.c. node: the tun control device (/dev/net/tun or a copy).
 * Creates (or takes over) a persistent tun device owned by uid/gid, gives it
 * the server address of net and brings it up. Needs CAP_NET_ADMIN. */
int vpn_tun_up(const char *node, const char *ifname, uid_t uid, gid_t gid,
	       const struct vpn_net *net, char *err, size_t errlen);
/* Removes the device again (once openvpn has let go of it). */
int vpn_tun_remove(const char *node, const char *ifname);
/* Started as root: a copy of /dev/net/tun at path for uid when the system's
 * is not open to it (containers make it 0600). 0 if none was needed. */
int vpn_tun_node_make(const char *path, uid_t uid, gid_t gid);

/* vpn_config.c: openvpn's server configuration for the files in dir. local:
 * the address to listen on, NULL for every one. */
int vpn_server_config(const char *path, const char *dir, const char *ifname, const char *node,
		      const struct vpn_net *net, const char *local, int port,
		      const char *mgmt_path);
/* openvpn's answer to `status 2` on its management socket: {"<name>":
 * {"address": real address, "vpn_address", "since", "bytes_in", "bytes_out"}}.
 * Bounded: at most VPN_MAX_CLIENTS entries; malformed lines are skipped. */
json_t *vpn_status_parse(const char *text, size_t len);

#endif
