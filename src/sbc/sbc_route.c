/*
 * sbc_route — which phone systems exist and where to reach them, as the
 * supervisor last told us. A name is a phone system's address everywhere.
 */
#include <string.h>

#include "sbc.h"

void sbc_route_update(struct sbc *sbc, json_t *state)
{
	json_t *routes = json_object(), *it;
	size_t i;
	json_array_foreach(json_object_get(state, "phone_systems"), i, it)
	{
		json_object_set_new(routes, json_string_value(json_object_get(it, "name")),
				    json_pack("{s:O, s:O}", "state", json_object_get(it, "state"),
					      "http_socket", json_object_get(it, "http_socket")));
	}
	json_decref(sbc->routes);
	sbc->routes = routes;
}

const char *sbc_route_http(struct sbc *sbc, const char *name, size_t namelen, bool *exists)
{
	json_t *r = json_object_getn(sbc->routes, name, namelen);
	*exists = r != NULL;
	if (!r || strcmp(json_string_value(json_object_get(r, "state")), "running") != 0)
		return NULL;
	return json_string_value(json_object_get(r, "http_socket"));
}
