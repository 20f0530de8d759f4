/*
 * libFuzzer target for src/core/core_nat: a body of PUT /sbc/nat/IFACE
 * through core_nat_config_check (taken or refused with a message), and the
 * input as a network and as host:port. A network taken has a prefix
 * within its family's bits and contains its own address; host:port taken
 * has a port 1-65535 and a host that fits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "../src/core/core_nat.h"

static void as_text(const char *s)
{
	struct core_nat_net n;
	const char *why = NULL;
	if (core_nat_net_parse(s, &n, &why) == 0) {
		if (n.prefix < 0 || n.prefix > (n.family == AF_INET ? 32 : 128))
			abort();
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)n.family;
		if (n.family == AF_INET)
			memcpy(&((struct sockaddr_in *)&ss)->sin_addr, n.addr, 4);
		else
			memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, n.addr, 16);
		if (!core_nat_net_contains(&n, (struct sockaddr *)&ss))
			abort();
	} else if (!why) {
		abort();
	}
	char host[CORE_NAT_HOST_MAX];
	int port = 0;
	why = NULL;
	if (core_nat_hostport_parse(s, 3478, host, &port, &why) == 0) {
		if (port < 1 || port > 65535 || !memchr(host, '\0', sizeof(host)) || !host[0])
			abort();
	} else if (!why) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	as_text(s);
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	if (j) {
		char err[256] = "";
		if (core_nat_config_check(j, err, sizeof(err)) < 0 && !err[0])
			abort();
		json_decref(j);
	}
	free(s);
	return 0;
}
