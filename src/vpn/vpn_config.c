/* vpn_config — the texts around openvpn: subnets and names given by the
 * admin, the server configuration we write, the status it reports. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpn.h"

void vpn_addr_str(uint32_t addr, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
		 addr & 255);
}

static bool net_private(uint32_t net, int prefix)
{
	if ((net >> 24) == 10)
		return prefix >= 8;
	if ((net >> 20) == (172u << 4 | 1)) /* 172.16.0.0/12 */
		return prefix >= 12;
	if ((net >> 16) == (192u << 8 | 168))
		return prefix >= 16;
	return false;
}

int vpn_subnet_parse(const char *text, struct vpn_net *out, char *err, size_t errlen)
{
	char ip[32];
	const char *slash = text ? strchr(text, '/') : NULL;
	if (!slash || (size_t)(slash - text) >= sizeof(ip)) {
		snprintf(err, errlen, "subnet must look like 10.88.0.0/24");
		return -1;
	}
	memcpy(ip, text, (size_t)(slash - text));
	ip[slash - text] = '\0';
	struct in_addr a;
	char *end;
	long prefix = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, ip, &a) != 1 || *end || end == slash + 1) {
		snprintf(err, errlen, "subnet must look like 10.88.0.0/24");
		return -1;
	}
	if (prefix < 16 || prefix > 29) {
		snprintf(err, errlen, "the subnet's prefix must be /16 to /29");
		return -1;
	}
	uint32_t net = ntohl(a.s_addr), mask = 0xffffffffu << (32 - prefix);
	if (net & ~mask) {
		snprintf(err, errlen, "%s has host bits set; the network is %u.%u.%u.%u/%ld", text,
			 (net & mask) >> 24, ((net & mask) >> 16) & 255, ((net & mask) >> 8) & 255,
			 (net & mask) & 255, prefix);
		return -1;
	}
	if (!net_private(net, (int)prefix)) {
		snprintf(err, errlen,
			 "the subnet must be private (10.0.0.0/8, 172.16.0.0/12 or "
			 "192.168.0.0/16)");
		return -1;
	}
	*out = (struct vpn_net){.net = net, .mask = mask, .server = net + 1, .prefix = (int)prefix};
	return 0;
}

bool vpn_client_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int vpn_server_config(const char *path, const char *dir, const char *ifname, const char *node,
		      const struct vpn_net *net, const char *local, int port, const char *mgmt_path)
{
	char server[16], mask[16], first[16], last[16];
	vpn_addr_str(net->server, server, sizeof(server));
	vpn_addr_str(net->mask, mask, sizeof(mask));
	vpn_addr_str(net->server + 1, first, sizeof(first));
	vpn_addr_str((net->net | ~net->mask) - 1, last, sizeof(last));
	bool v4 = local && !strchr(local, ':');
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f,
		"# Written by Zentrale each time the VPN starts; changes here are lost.\n"
		"mode server\n"
		"tls-server\n"
		/* without an address, tcp6 listens on IPv4 and IPv6 alike */
		"proto %s\n",
		v4 ? "tcp4-server" : "tcp6-server");
	if (local)
		fprintf(f, "local %s\n", local);
	fprintf(f,
		"port %d\n"
		"dev %s\n"
		"dev-type tun\n"
		"dev-node %s\n"
		/* the supervisor gave the device its address: openvpn needs no privilege */
		"ifconfig-noexec\n"
		"topology subnet\n"
		"ifconfig %s %s\n"
		"ifconfig-pool %s %s %s\n"
		"push \"topology subnet\"\n"
		"push \"route-gateway %s\"\n"
		"keepalive 10 60\n"
		/* voice in a TCP tunnel: no Nagle delay, here and (pushed) on phones */
		"tcp-nodelay\n"
		"persist-tun\n"
		"persist-key\n"
		"ca %s/ca.crt\n"
		"cert %s/server.crt\n"
		"key %s/server.key\n"
		"crl-verify %s/crl.pem\n"
		"dh none\n"
		"remote-cert-tls client\n"
		"tls-version-min 1.2\n"
		"data-ciphers AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\n"
		"max-clients %d\n"
		"management %s unix\n"
		"suppress-timestamps\n"
		"verb 3\n",
		port, ifname, node, server, mask, first, last, mask, server, dir, dir, dir, dir,
		VPN_MAX_CLIENTS, mgmt_path);
	int ok = fflush(f) == 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Splits line (NUL-terminated, modified) at commas into at most max fields. */
static int status_fields(char *line, char **f, int max)
{
	int n = 0;
	for (char *p = line; n < max;) {
		f[n++] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

json_t *vpn_status_parse(const char *text, size_t len)
{
	json_t *out = json_object();
	size_t pos = 0;
	while (pos < len && json_object_size(out) < VPN_MAX_CLIENTS) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char line[1024];
		if (ll < sizeof(line) && ll > 12 && memcmp(text + pos, "CLIENT_LIST,", 12) == 0) {
			memcpy(line, text + pos, ll);
			line[ll] = '\0';
			if (ll && line[ll - 1] == '\r')
				line[ll - 1] = '\0';
			char *f[14];
			/* CLIENT_LIST,name,real,virtual,virtual6,in,out,since,since_t,... */
			if (status_fields(line, f, 14) >= 9 && vpn_client_name_ok(f[1]))
				json_object_set_new(
					out, f[1],
					json_pack("{s:s, s:s, s:I, s:I, s:I}", "address", f[2],
						  "vpn_address", f[3], "since",
						  (json_int_t)strtoll(f[8], NULL, 10), "bytes_in",
						  (json_int_t)strtoll(f[5], NULL, 10), "bytes_out",
						  (json_int_t)strtoll(f[6], NULL, 10)));
		}
		pos += ll + 1;
	}
	return out;
}
