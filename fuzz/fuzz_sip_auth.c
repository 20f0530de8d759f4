/*
 * libFuzzer target for the digest credentials of a SIP request
 * (src/sip/sip_auth.c): the input is an Authorization header's value as it
 * came from the wire (a view, not NUL-terminated); what parses is used as
 * the SBC and the registrar use it: its algorithm, the response expected
 * for it, the constant-time comparison, and the nonce table's checks.
 * The same bytes are also read as a challenge (WWW-Authenticate, the
 * trunk's side: sip_auth_chal_parse) and, when one parses, answered.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/sip/sip_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_nonces *nonces;
	static char ha1[2][SIP_AUTH_HEX_MAX];
	if (!nonces) {
		nonces = sip_nonces_new(300);
		sip_auth_ha1(0, "alice", "example.org", "secret", ha1[0]);
		sip_auth_ha1(1, "alice", "example.org", "secret", ha1[1]);
	}
	/* exactly the input's bytes, so a read past the view is an ASan report */
	char *v = malloc(size ? size : 1);
	if (!v)
		return 0;
	memcpy(v, data, size);
	struct sip_auth_creds c;
	if (sip_auth_parse((struct sip_pl){v, size}, &c) == 0) {
		int alg = sip_auth_alg(c.algorithm);
		char expected[SIP_AUTH_HEX_MAX];
		if (alg >= 0 && sip_auth_response(alg, ha1[alg], (struct sip_pl){"REGISTER", 8}, &c,
						  expected) == 0)
			(void)sip_auth_response_ok(&c, expected);
		time_t now = 1700000000;
		if (sip_nonces_check(nonces, "example.org", c.nonce, now) == 0)
			(void)sip_nonces_use(nonces, c.nonce, c.nc);
		char fresh[SIP_NONCE_LEN], chal[512];
		sip_nonces_make(nonces, "example.org", now, fresh);
		(void)sip_auth_challenge(alg > 0, "example.org", fresh, false, chal, sizeof(chal));
	}
	struct sip_auth_chal ch;
	if (sip_auth_chal_parse((struct sip_pl){v, size}, &ch) == 0) {
		char out[2048];
		(void)sip_auth_answer(&ch, "REGISTER", "sip:example.org", "alice", "secret",
				      "0a4f113b", 1, out, sizeof(out));
		(void)sip_auth_answer(&ch, "REGISTER", "sip:example.org", "alice", "secret",
				      "0a4f113b", 1, out, 40); /* too small: refused */
	}
	free(v);
	return 0;
}
