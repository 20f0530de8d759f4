/*
 * sbc_sip_flow — flow tokens (RFC 5626 §5.2): the user part of the Path
 * and Record-Route URIs the SBC gives a phone system names the phone's
 * flow (transport, our socket, its address, its connection), with a MAC
 * under a key that lives as long as this SBC process. A phone system hands
 * the token back in Route when it sends to the phone; a forged or stale
 * token, or one whose connection has gone, is refused (430 Flow Failed).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "../core/core_conn.h"
#include "../core/core_net.h"
#include "sbc_nat.h"
#include "sbc_sip_int.h"

const char *const sbc_sip_tname[] = {"udp", "tcp", "tls"};

#define TOKEN_BODY 56 /* t, udp, 2 x (port, 16-byte address), conn, trunk flag and key */
#define TOKEN_MAC  16

static void put_addr(unsigned char *p, const struct sockaddr_storage *ss)
{
	memset(p, 0, 18);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		memcpy(p, &a->sin_port, 2);
		/* as a v4-mapped address */
		p[2 + 10] = p[2 + 11] = 0xff;
		memcpy(p + 2 + 12, &a->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		memcpy(p, &a->sin6_port, 2);
		memcpy(p + 2, &a->sin6_addr, 16);
	}
}

static socklen_t get_addr(const unsigned char *p, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct in6_addr a6;
	memcpy(&a6, p + 2, 16);
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		memcpy(&a->sin_port, p, 2);
		memcpy(&a->sin_addr, p + 2 + 12, 4);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	memcpy(&a->sin6_port, p, 2);
	a->sin6_addr = a6;
	return sizeof(*a);
}

void sbc_sip_token_make(struct sbc_sip *s, const struct sip_flow *f, char out[SIP_TOKEN_LEN])
{
	unsigned char b[TOKEN_BODY + TOKEN_MAC];
	b[0] = (unsigned char)f->t;
	b[1] = (unsigned char)f->udp;
	put_addr(b + 2, &f->addr);
	put_addr(b + 20, &f->local);
	for (int i = 0; i < 8; i++)
		b[38 + i] = (unsigned char)(f->conn >> (8 * i));
	memset(b + 46, 0, TOKEN_BODY - 46);
	b[46] = f->trunk;
	memcpy(b + 47, f->tkey, sizeof(f->tkey));
	crypto_generichash(b + TOKEN_BODY, TOKEN_MAC, b, TOKEN_BODY, s->token_key,
			   sizeof(s->token_key));
	sodium_bin2base64(out, SIP_TOKEN_LEN, b, sizeof(b),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int sbc_sip_token_read(struct sbc_sip *s, struct sip_pl token, struct sip_flow *f)
{
	unsigned char b[TOKEN_BODY + TOKEN_MAC], mac[TOKEN_MAC];
	size_t n;
	if (token.l >= SIP_TOKEN_LEN ||
	    sodium_base642bin(b, sizeof(b), token.p, token.l, NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) < 0 ||
	    n != sizeof(b))
		return -1;
	crypto_generichash(mac, TOKEN_MAC, b, TOKEN_BODY, s->token_key, sizeof(s->token_key));
	if (sodium_memcmp(mac, b + TOKEN_BODY, TOKEN_MAC) != 0 || b[0] > T_TLS || b[46] > 1)
		return -1;
	memset(f, 0, sizeof(*f));
	f->t = (enum sip_transport)b[0];
	f->udp = b[1];
	f->alen = get_addr(b + 2, &f->addr);
	get_addr(b + 20, &f->local);
	for (int i = 0; i < 8; i++)
		f->conn |= (uint64_t)b[38 + i] << (8 * i);
	f->trunk = b[46];
	memcpy(f->tkey, b + 47, sizeof(f->tkey));
	if (f->t == T_UDP)
		return f->udp < s->nudp ? 0 : -1;
	return core_conn_find(s->streams, f->conn) ? 0 : -1;
}

/* Our address as the peer of f is told it: the interface's external one
 * when the peer is outside its inside networks (sbc_nat.h), else our own. */
void sbc_sip_flow_local(const struct sip_flow *f, char *out, size_t cap)
{
	char addr[CORE_NET_ADDR_LEN];
	struct sockaddr_storage adv;
	sbc_nat_advertise(sbc_nat_current(), &f->local, &f->addr, &adv);
	core_net_addr_str((const struct sockaddr *)&adv, addr, sizeof(addr));
	int port = core_net_ss_port(&adv);
	bool v6 = strchr(addr, ':') != NULL;
	snprintf(out, cap, "%s%s%s:%d", v6 ? "[" : "", addr, v6 ? "]" : "", port);
}

void sbc_sip_flow_uri(const struct sip_flow *f, char *out, size_t cap)
{
	static const char *const param[] = {"", ";transport=tcp", ";transport=tls"};
	char hostport[CORE_NET_ADDR_LEN + 8];
	sbc_sip_flow_local(f, hostport, sizeof(hostport));
	snprintf(out, cap, "<sip:%s%s;lr>", hostport, param[f->t]);
}

/* "ADDR" and the port of the phone of a flow. */
void sbc_sip_flow_addr(const struct sip_flow *f, char *addr, size_t len, int *port)
{
	core_net_addr_str((const struct sockaddr *)&f->addr, addr, len);
	*port = f->addr.ss_family == AF_INET6
			? ntohs(((const struct sockaddr_in6 *)&f->addr)->sin6_port)
			: ntohs(((const struct sockaddr_in *)&f->addr)->sin_port);
}

void sbc_sip_flow_trunk_key(const struct sip_flow *f, char out[18])
{
	out[0] = 'z';
	sodium_bin2hex(out + 1, 17, f->tkey, sizeof(f->tkey));
}

int sbc_sip_flow_set_trunk(struct sip_flow *f, const char *key)
{
	size_t n;
	if (strlen(key) != 17 || key[0] != 'z' ||
	    sodium_hex2bin(f->tkey, sizeof(f->tkey), key + 1, 16, NULL, &n, NULL) < 0 ||
	    n != sizeof(f->tkey))
		return -1;
	f->trunk = true;
	return 0;
}
