/* sbc_trace — see sbc_trace.h. */
#include "sbc_trace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../core/core_log.h"
#include "../sip/sip_hdr.h"
#include "../sip/sip_msg.h"

#define TRACE_CALLS	   64 /* Call-IDs remembered per capture with a user */
#define TRACE_RTP_SNAP	   12 /* bytes of an RTP packet kept: its fixed header */
#define PCAP_LINKTYPE_RAW  101
#define TRACE_MAX_DATAGRAM 65507

struct capture {
	char id[64], ps[64], user[72];
	int fd;
	long long bytes, max_bytes;
	time_t until;
	bool over; /* a limit was reached: nothing more is written */
	char calls[TRACE_CALLS][160];
	int ncalls, next_call;
};

struct sbc_trace {
	struct capture c[SBC_TRACE_MAX];
	int n;
};

struct sbc_trace *sbc_trace_new(void)
{
	return calloc(1, sizeof(struct sbc_trace));
}

static void capture_close(struct capture *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void sbc_trace_free(struct sbc_trace *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n; i++)
		capture_close(&t->c[i]);
	free(t);
}

static int capture_open(struct capture *c, const char *path)
{
	c->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (c->fd < 0)
		return -1;
	struct stat st;
	if (fstat(c->fd, &st) < 0) {
		capture_close(c);
		return -1;
	}
	c->bytes = st.st_size;
	if (st.st_size == 0) { /* the pcap file header, in our byte order */
		struct {
			uint32_t magic;
			uint16_t major, minor;
			int32_t zone;
			uint32_t sigfigs, snaplen, linktype;
		} h = {0xa1b2c3d4, 2, 4, 0, 0, 65535, PCAP_LINKTYPE_RAW};
		if (write(c->fd, &h, sizeof(h)) != (ssize_t)sizeof(h)) {
			capture_close(c);
			return -1;
		}
		c->bytes = sizeof(h);
	}
	return 0;
}

void sbc_trace_sync(struct sbc_trace *t, const struct core_state_trace *list, int n)
{
	struct sbc_trace next = {.n = 0};
	for (int i = 0; i < n; i++) {
		const char *id = list[i].id, *ps = list[i].phone_system, *path = list[i].path;
		const char *user = list[i].user;
		if (next.n >= SBC_TRACE_MAX)
			continue;
		struct capture *c = &next.c[next.n];
		int k;
		for (k = 0; k < t->n && strcmp(t->c[k].id, id) != 0; k++)
			;
		if (k < t->n) { /* running already: keep it as it is */
			*c = t->c[k];
			t->c[k].fd = -1;
		} else {
			memset(c, 0, sizeof(*c));
			snprintf(c->id, sizeof(c->id), "%s", id);
			snprintf(c->ps, sizeof(c->ps), "%s", ps);
			snprintf(c->user, sizeof(c->user), "%s", user ? user : "");
			c->until = (time_t)list[i].until;
			c->max_bytes = list[i].max_bytes;
			if (capture_open(c, path) < 0) {
				log_warn("trace %s: cannot write %s: %s", id, path,
					 strerror(errno));
				continue;
			}
			log_info("trace %s: capturing SIP of %s%s%s", id, ps,
				 *c->user ? " user " : "", c->user);
		}
		next.n++;
	}
	for (int k = 0; k < t->n; k++)
		if (t->c[k].fd >= 0) {
			log_info("trace %s: stopped", t->c[k].id);
			capture_close(&t->c[k]);
		}
	*t = next;
}

bool sbc_trace_wants(struct sbc_trace *t, const char *ps)
{
	for (int i = 0; t && i < t->n; i++)
		if (!t->c[i].over && strcmp(t->c[i].ps, ps) == 0)
			return true;
	return false;
}

/* Does a SIP message name the user (From, To or Request-URI)? */
static bool names_user(const struct sip_msg *m, const char *user)
{
	size_t n = strlen(user);
	int ids[] = {SIP_HDR_FROM, SIP_HDR_TO};
	for (int i = 0; i < 2; i++) {
		const struct sip_hdr *h = sip_msg_hdr(m, ids[i]);
		struct sip_addr a;
		struct sip_pl rest;
		if (h && sip_addr_parse(&a, h->value, &rest) == 0 && a.uri.user.l == n &&
		    memcmp(a.uri.user.p, user, n) == 0)
			return true;
	}
	struct sip_uri u;
	return m->request && sip_uri_parse(&u, m->ruri) == 0 && u.user.l == n &&
	       memcmp(u.user.p, user, n) == 0;
}

static size_t put_addr(unsigned char *p, const struct sockaddr_storage *ss, bool v6)
{
	if (v6) {
		struct in6_addr a = {0};
		if (ss->ss_family == AF_INET6)
			a = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		else { /* v4 in a v6 packet: v4-mapped */
			a.s6_addr[10] = a.s6_addr[11] = 0xff;
			memcpy(&a.s6_addr[12], &((const struct sockaddr_in *)ss)->sin_addr, 4);
		}
		memcpy(p, &a, 16);
		return 16;
	}
	memcpy(p, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	return 4;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
					 : ((const struct sockaddr_in *)ss)->sin_port;
}

/* One record: pcap header, IP and UDP headers made up, then data (only
 * `keep` bytes of it, the record saying `len`). */
static void capture_write(struct capture *c, const void *data, size_t len, size_t keep,
			  const struct sockaddr_storage *src, const struct sockaddr_storage *dst)
{
	if (c->over || c->fd < 0)
		return;
	if (time(NULL) >= c->until) {
		c->over = true;
		log_info("trace %s: time limit reached", c->id);
		return;
	}
	if (len > TRACE_MAX_DATAGRAM)
		len = TRACE_MAX_DATAGRAM;
	if (keep > len)
		keep = len;
	bool v6 = src->ss_family == AF_INET6 || dst->ss_family == AF_INET6;
	unsigned char hdr[16 + 40 + 8];
	size_t iph = v6 ? 40 : 20, hl = 16 + iph + 8;
	if (c->bytes + (long long)(hl + keep) > c->max_bytes) {
		c->over = true;
		log_info("trace %s: size limit reached", c->id);
		return;
	}
	memset(hdr, 0, sizeof(hdr));
	struct timeval tv;
	gettimeofday(&tv, NULL);
	uint32_t rec[4] = {(uint32_t)tv.tv_sec, (uint32_t)tv.tv_usec, (uint32_t)(iph + 8 + keep),
			   (uint32_t)(iph + 8 + len)};
	memcpy(hdr, rec, 16);
	unsigned char *ip = hdr + 16, *udp = ip + iph;
	uint16_t total = htons((uint16_t)(iph + 8 + len)), ulen = htons((uint16_t)(8 + len));
	if (v6) {
		ip[0] = 0x60;
		uint16_t pl = htons((uint16_t)(8 + len));
		memcpy(ip + 4, &pl, 2);
		ip[6] = IPPROTO_UDP;
		ip[7] = 64;
		put_addr(ip + 8, src, true);
		put_addr(ip + 24, dst, true);
	} else {
		ip[0] = 0x45;
		memcpy(ip + 2, &total, 2);
		ip[8] = 64;
		ip[9] = IPPROTO_UDP;
		put_addr(ip + 12, src, false);
		put_addr(ip + 16, dst, false);
		uint32_t sum = 0;
		for (int i = 0; i < 20; i += 2)
			sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		uint16_t ck = htons((uint16_t)~sum);
		memcpy(ip + 10, &ck, 2);
	}
	uint16_t sp = port_of(src), dp = port_of(dst);
	memcpy(udp, &sp, 2);
	memcpy(udp + 2, &dp, 2);
	memcpy(udp + 4, &ulen, 2);
	/* one write per record: a record is whole or absent, even if we die */
	struct iovec iov[2] = {{hdr, hl}, {(void *)data, keep}};
	ssize_t w = writev(c->fd, iov, 2);
	if (w != (ssize_t)(hl + keep)) {
		log_warn("trace %s: write failed; capture ended", c->id);
		c->over = true;
		return;
	}
	c->bytes += w;
}

static void remember_call(struct capture *c, const struct sip_msg *m)
{
	const struct sip_hdr *cid = sip_msg_hdr(m, SIP_HDR_CALL_ID);
	if (!cid || cid->value.l >= sizeof(c->calls[0]))
		return;
	for (int i = 0; i < c->ncalls; i++)
		if (strlen(c->calls[i]) == cid->value.l &&
		    memcmp(c->calls[i], cid->value.p, cid->value.l) == 0)
			return;
	snprintf(c->calls[c->next_call], sizeof(c->calls[0]), "%.*s", (int)cid->value.l,
		 cid->value.p);
	c->next_call = (c->next_call + 1) % TRACE_CALLS;
	if (c->ncalls < TRACE_CALLS)
		c->ncalls++;
}

void sbc_trace_sip(struct sbc_trace *t, const char *ps, const char *buf, size_t len,
		   const struct sockaddr_storage *src, const struct sockaddr_storage *dst)
{
	static struct sip_msg m;
	bool parsed = false;
	for (int i = 0; i < t->n; i++) {
		struct capture *c = &t->c[i];
		if (c->over || strcmp(c->ps, ps) != 0)
			continue;
		if (*c->user) {
			if (!parsed &&
			    (sip_msg_parse(&m, buf, len, false) != 0 || sip_msg_validate(&m) != 0))
				return;
			parsed = true;
			if (!names_user(&m, c->user))
				continue;
			remember_call(c, &m);
		}
		capture_write(c, buf, len, len, src, dst);
	}
}

void sbc_trace_media(struct sbc_trace *t, const char *ps, const char *call_id,
		     const unsigned char *pkt, size_t len, bool rtcp,
		     const struct sockaddr_storage *src, const struct sockaddr_storage *dst)
{
	for (int i = 0; i < t->n; i++) {
		struct capture *c = &t->c[i];
		if (c->over || strcmp(c->ps, ps) != 0)
			continue;
		if (*c->user) {
			int k;
			for (k = 0; k < c->ncalls && strcmp(c->calls[k], call_id) != 0; k++)
				;
			if (k == c->ncalls)
				continue;
		}
		/* RTP: the fixed header and its CSRCs; RTCP carries no voice: whole */
		size_t keep = rtcp ? len : TRACE_RTP_SNAP + 4u * (pkt[0] & 0x0f);
		capture_write(c, pkt, len, keep, src, dst);
	}
}
