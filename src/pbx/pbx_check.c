/* pbx_check — see pbx_check.h. */
#include "pbx_check.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const char *pbx_check_extension(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 15)
		return "extension must be 1 to 15 digits";
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return "extension must be 1 to 15 digits";
	return NULL;
}

const char *pbx_check_name(const char *s, const char *field)
{
	static char why[96];
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 100) {
		snprintf(why, sizeof(why), "%s must be 1 to 100 characters", field);
		return why;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(why, sizeof(why), "%s may not contain control characters", field);
			return why;
		}
	return NULL;
}

bool pbx_check_keys(json_t *o, const char *const *keys, size_t n)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		bool known = false;
		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(k, keys[i]) == 0;
		if (!known)
			return false;
	}
	return true;
}
