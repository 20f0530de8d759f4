/* sip_dialled — see sip_dialled.h. */
#include "sip_dialled.h"

#include <string.h>

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9'	? ch - '0'
	       : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
	       : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
					: -1;
}

int sip_dialled_keys(struct sip_pl user, char *out, size_t cap)
{
	size_t o = 0;
	if (!cap)
		return -1;
	out[0] = '\0';
	for (size_t i = 0; i < user.l; i++) {
		char ch = user.p[i];
		if (ch == '%') {
			int hi = i + 2 < user.l ? hexval(user.p[i + 1]) : -1;
			int lo = i + 2 < user.l ? hexval(user.p[i + 2]) : -1;
			ch = hi < 0 || lo < 0 ? '\0' : (char)(hi * 16 + lo);
			i += 2;
		}
		if (ch == '\0' || !strchr("0123456789*#", ch) || o + 1 >= cap) {
			out[0] = '\0'; /* never a part of it */
			return -1;
		}
		out[o++] = ch;
	}
	out[o] = '\0';
	return o ? (int)o : -1;
}
