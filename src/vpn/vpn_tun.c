/* vpn_tun — the tun device openvpn works on. The supervisor makes it
 * persistent and owned by the server's account, with its address already
 * set, so that openvpn needs no privilege at all (it only attaches). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vpn.h"

/* Attaches to (or, with CAP_NET_ADMIN, creates) the tun device ifname. */
static int tun_attach(const char *node, const char *ifname, char *err, size_t errlen)
{
	int fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", node, strerror(errno));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "cannot create the tun device %s: %s%s", ifname,
			 strerror(errno),
			 errno == EPERM ? " (the server must be started as root for the VPN)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes a sysctl of the device (CAP_NET_ADMIN may, in its namespace). */
static int tun_sysctl(const char *fmt, const char *ifname, const char *value)
{
	char path[160];
	snprintf(path, sizeof(path), fmt, ifname);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, value, strlen(value));
	close(fd);
	return w == (ssize_t)strlen(value) ? 0 : -1;
}

static void tun_sin(struct ifreq *ifr, uint32_t addr)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(addr)};
	memcpy(&ifr->ifr_addr, &sin, sizeof(sin));
}

int vpn_tun_up(const char *node, const char *ifname, uid_t uid, gid_t gid,
	       const struct vpn_net *net, char *err, size_t errlen)
{
	int fd = tun_attach(node, ifname, err, errlen);
	if (fd < 0)
		return -1;
	if (ioctl(fd, TUNSETOWNER, (unsigned long)uid) < 0 ||
	    ioctl(fd, TUNSETGROUP, (unsigned long)gid) < 0 || ioctl(fd, TUNSETPERSIST, 1L) < 0) {
		snprintf(err, errlen, "cannot set up the tun device %s: %s", ifname,
			 strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	/* The tunnel leads to the SBC and nowhere else: what phones send is
	 * never routed on (to the LAN, or to another phone), whatever the
	 * machine's ip_forward; and it carries no IPv6. */
	if (tun_sysctl("/proc/sys/net/ipv4/conf/%s/forwarding", ifname, "0") < 0) {
		snprintf(err, errlen, "cannot switch off forwarding on %s: %s", ifname,
			 strerror(errno));
		vpn_tun_remove(node, ifname);
		return -1;
	}
	tun_sysctl("/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname, "1");

	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	int ok = s >= 0;
	tun_sin(&ifr, net->server);
	ok = ok && ioctl(s, SIOCSIFADDR, &ifr) == 0;
	tun_sin(&ifr, net->mask);
	ok = ok && ioctl(s, SIOCSIFNETMASK, &ifr) == 0;
	ok = ok && ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
	if (!ok) {
		snprintf(err, errlen, "cannot give the tun device %s its address: %s", ifname,
			 strerror(errno));
		vpn_tun_remove(node, ifname);
	}
	if (s >= 0)
		close(s);
	return ok ? 0 : -1;
}

int vpn_tun_remove(const char *node, const char *ifname)
{
	char err[256];
	int fd = tun_attach(node, ifname, err, sizeof(err));
	if (fd < 0)
		return -1;
	int r = ioctl(fd, TUNSETPERSIST, 0L);
	close(fd); /* the last one attached: the device goes */
	return r;
}

int vpn_tun_node_make(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	unlink(path);
	if (stat("/dev/net/tun", &st) < 0 || !S_ISCHR(st.st_mode))
		return -1;
	if ((st.st_mode & 0006) == 0006)
		return 0; /* Debian's default: open to every account */
	if (mknod(path, S_IFCHR | 0600, st.st_rdev) < 0 || chown(path, uid, gid) < 0) {
		unlink(path);
		return -1;
	}
	return 1;
}
