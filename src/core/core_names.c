/* core_names — see core_names.h. */
#include "core_names.h"

#include <string.h>

/* Names that would collide with our own paths, services or common host names. */
static const char *const reserved[] = {
	"admin",      "api",	"assets",	"backup", "backups", "default",	 "health",
	"ldap",	      "local",	"localhost",	"login",  "logout",  "metrics",	 "mgmt",
	"management", "p",	"provisioning", "root",	  "run",     "sbc",	 "sip",
	"static",     "system", "update",	"www",	  "xmpp",    "zentrale",
};

const char *core_name_problem(const char *name)
{
	size_t n = strlen(name);
	if (n < 2 || n > 63)
		return "name must be 2 to 63 characters long";
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return "name may only contain lower-case letters a-z, digits and '-'";
	}
	if (name[0] == '-' || name[n - 1] == '-')
		return "name may not start or end with '-'";
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(name, reserved[i]) == 0)
			return "name is reserved, choose another";
	return NULL;
}

const char *core_domain_problem(const char *d)
{
	size_t n = strlen(d), label = 0;
	if (n < 1 || n > 253)
		return "a domain must be 1 to 253 characters long";
	for (size_t i = 0; i <= n; i++) {
		char c = d[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || d[i - 1] == '-')
				return "each part of a domain must be 1 to 63 characters and not "
				       "end "
				       "with '-'";
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return "a domain may only contain lower-case letters, digits, '-' and '.'";
		if (label == 0 && c == '-')
			return "each part of a domain must not start with '-'";
		label++;
	}
	return NULL;
}

/* ids are ours: digits, letters and '-' only, so they are safe in paths */
bool core_trace_id_is_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n < 8 || n > 48)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
		      id[i] == '-'))
			return false;
	return true;
}
