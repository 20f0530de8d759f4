/*
 * libFuzzer target for what src/vpn reads: openvpn's status answer (it
 * carries the addresses clients connect from) and the subnet an admin
 * types. Every client listed must have a valid name and the fields read.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/vpn/vpn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *st = vpn_status_parse((const char *)data, size);
	const char *name;
	json_t *v;
	json_object_foreach(st, name, v)
	{
		if (!vpn_client_name_ok(name) || !json_is_string(json_object_get(v, "vpn_address")))
			abort();
	}
	if (json_object_size(st) > VPN_MAX_CLIENTS)
		abort();
	json_decref(st);

	char text[64], err[256];
	struct vpn_net n;
	size_t len = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, len);
	text[len] = '\0';
	if (vpn_subnet_parse(text, &n, err, sizeof(err)) == 0 &&
	    (n.prefix < 16 || n.prefix > 29 || (n.net & ~n.mask) || n.server != n.net + 1))
		abort();
	return 0;
}
