/*
 * libFuzzer target for the supervisor's state table as a child decodes it
 * (core_state_parse): whatever arrives, the result is refused whole or
 * every field is within its bounds, and nothing leaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include "../src/core/core_state.h"

static void check_str(const char *s, size_t size)
{
	if (!memchr(s, '\0', size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct core_state st;
	char err[256];
	if (core_state_parse((const char *)data, size, &st, err, sizeof(err)) < 0) {
		if (st.phone_systems || st.processes || st.nphone_systems || !err[0])
			abort();
		return 0;
	}
	if (st.nphone_systems > CORE_STATE_MAX_PHONE_SYSTEMS ||
	    st.ntraces > CORE_STATE_MAX_TRACES || st.listen.nsockets > CORE_STATE_MAX_SOCKETS)
		abort();
	for (int i = 0; i < st.nphone_systems; i++) {
		const struct core_state_ps *ps = &st.phone_systems[i];
		check_str(ps->name, sizeof(ps->name));
		if (!ps->name[0] || ps->naliases > CORE_STATE_MAX_ALIASES ||
		    core_state_find_ps(&st, ps->name, strlen(ps->name)) == NULL)
			abort();
		for (int j = 0; j < ps->naliases; j++)
			check_str(ps->aliases[j], sizeof(ps->aliases[j]));
		if (strcmp(core_state_ps_state_name(ps->state), "?") == 0)
			abort();
	}
	if (st.nnat > CORE_STATE_MAX_NAT)
		abort();
	for (int i = 0; i < st.nnat; i++) {
		const struct core_state_nat *n = &st.nat[i];
		check_str(n->interface, sizeof(n->interface));
		check_str(n->external, sizeof(n->external));
		check_str(n->stun, sizeof(n->stun));
		if (!n->interface[0] || !n->external[0] == !n->stun[0] ||
		    n->naddrs > CORE_NAT_MAX_ADDRS || n->ninside > CORE_NAT_MAX_NETS)
			abort();
		for (int j = 0; j < n->ninside; j++)
			if (n->inside[j].prefix < 0 ||
			    n->inside[j].prefix > (n->inside[j].family == AF_INET ? 32 : 128))
				abort();
	}
	core_state_free(&st);
	return 0;
}
