/*
 * sbc_route — which phone systems exist and where to reach them, as the
 * supervisor last told us. A name is a phone system's address everywhere.
 */
#include <string.h>

#include "sbc.h"

void sbc_route_update(struct sbc *sbc, json_t *state)
{
	json_t *routes = json_object(), *it, *al;
	size_t i, j;
	json_array_foreach(json_object_get(state, "phone_systems"), i, it)
	{
		/* a SIP domain alias reaches the same phone system (not its web UI) */
		json_array_foreach(json_object_get(it, "aliases"), j, al) json_object_set_new(
			routes, json_string_value(al),
			json_pack("{s:O, s:O, s:O, s:b}", "name", json_object_get(it, "name"),
				  "state", json_object_get(it, "state"), "sip_socket",
				  json_object_get(it, "sip_socket"), "alias", 1));
		json_object_set_new(routes, json_string_value(json_object_get(it, "name")),
				    json_pack("{s:O, s:O, s:O, s:O}", "name",
					      json_object_get(it, "name"), "state",
					      json_object_get(it, "state"), "http_socket",
					      json_object_get(it, "http_socket"), "sip_socket",
					      json_object_get(it, "sip_socket")));
	}
	json_decref(sbc->routes);
	sbc->routes = routes;
}

const char *sbc_route_http(struct sbc *sbc, const char *name, size_t namelen, bool *exists)
{
	json_t *r = json_object_getn(sbc->routes, name, namelen);
	if (json_is_true(json_object_get(r, "alias")))
		r = NULL; /* web UIs live under the name only */
	*exists = r != NULL;
	if (!r || strcmp(json_string_value(json_object_get(r, "state")), "running") != 0)
		return NULL;
	return json_string_value(json_object_get(r, "http_socket"));
}

/* Name and SIP socket of a route; the socket only while it runs. */
static const char *route_sip_of(json_t *r, const char **sock)
{
	bool running = strcmp(json_string_value(json_object_get(r, "state")), "running") == 0;
	*sock = running ? json_string_value(json_object_get(r, "sip_socket")) : NULL;
	return json_string_value(json_object_get(r, "name"));
}

const char *sbc_route_sip(struct sbc *sbc, const char *name, size_t namelen, const char **sock,
			  bool *exists)
{
	/* SIP domains are case-insensitive; phone-system names are lower case.
	 * Names and aliases (DNS names) have 253 characters at most. */
	char lower[256];
	*exists = false;
	*sock = NULL;
	if (namelen >= sizeof(lower))
		return NULL;
	for (size_t i = 0; i < namelen; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	json_t *r = json_object_getn(sbc->routes, lower, namelen);
	if (!r)
		return NULL;
	*exists = true;
	return route_sip_of(r, sock);
}

const char *sbc_route_single(struct sbc *sbc, const char **sock, bool *exists)
{
	const char *key;
	json_t *r, *only = NULL;
	int n = 0;
	json_object_foreach(sbc->routes, key, r)
	{
		if (json_is_true(json_object_get(r, "alias")))
			continue;
		only = r;
		n++;
	}
	*sock = NULL;
	*exists = n == 1;
	return n == 1 ? route_sip_of(only, sock) : NULL;
}
