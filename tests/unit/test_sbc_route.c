/* The SBC's phone-system table (sbc_route.c) over the decoded state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sbc/sbc.h"

/* A state with these phone systems: {name, state, [aliases]}. */
static void load(struct sbc *sbc, const char *ps_json)
{
	char text[4096], err[256];
	snprintf(text, sizeof(text),
		 "{\"started\":1,\"version\":\"t\",\"processes\":[],\"phone_systems\":%s,"
		 "\"listen\":{\"fixed\":false,\"management\":[],\"sbc\":[],\"sockets\":[],"
		 "\"plain_sip\":false},\"sip_block\":{\"failures\":20,\"window\":60,"
		 "\"seconds\":600},\"sip_media\":{\"port_min\":30000,\"port_max\":35000,"
		 "\"timeout\":60,\"srtp_required\":true},\"traces\":[],\"vpn\":{\"enabled\":false,"
		 "\"running\":false,\"port\":8885,\"subnet\":\"\",\"address\":\"\",\"host\":\"\","
		 "\"interface\":\"\",\"error\":\"\"},\"sbc_connections\":{\"https_per_address\":1,"
		 "\"sip_per_address\":1}}",
		 ps_json);
	struct core_state st;
	if (core_state_parse(text, strlen(text), &st, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	sbc_route_update(sbc, &st);
}

#define PS(name, state, aliases)                                                                   \
	"{\"name\":\"" name "\",\"state\":\"" state "\",\"http_socket\":\"run/" name               \
	"/http.sock\",\"sip_socket\":\"run/" name "/sip.sock\",\"aliases\":" aliases               \
	",\"created\":1,\"since\":1,\"restarts\":0,\"pid\":0,\"enabled\":true}"

static void test_names_and_aliases_are_routed(void **state)
{
	(void)state;
	struct sbc sbc = {0};
	const char *sock;
	bool exists;
	load(&sbc, "[" PS("acme", "running", "[\"sip.acme.example\"]") "," PS("beta", "stopped",
									      "[]") "]");
	assert_string_equal(sbc_route_http(&sbc, "acme", 4, &exists), "run/acme/http.sock");
	assert_true(exists);
	assert_null(sbc_route_http(&sbc, "beta", 4, &exists)); /* not running */
	assert_true(exists);
	assert_null(sbc_route_http(&sbc, "acm", 3, &exists));
	assert_false(exists);
	/* web UIs live under the name only */
	assert_null(sbc_route_http(&sbc, "sip.acme.example", 16, &exists));
	assert_false(exists);
	/* SIP: by alias too, case-insensitive */
	assert_string_equal(sbc_route_sip(&sbc, "SIP.Acme.Example", 16, &sock, &exists), "acme");
	assert_true(exists);
	assert_string_equal(sock, "run/acme/sip.sock");
	assert_string_equal(sbc_route_sip(&sbc, "beta", 4, &sock, &exists), "beta");
	assert_true(exists);
	assert_null(sock);
	assert_null(sbc_route_sip(&sbc, "gamma", 5, &sock, &exists));
	assert_false(exists);
	/* two phone systems: no single one */
	assert_null(sbc_route_single(&sbc, &sock, &exists));
	assert_false(exists);
	sbc_route_free(&sbc);
}

static void test_single_phone_system_and_later_key_wins(void **state)
{
	(void)state;
	struct sbc sbc = {0};
	const char *sock;
	bool exists;
	load(&sbc, "[" PS("acme", "running", "[\"a.example\",\"b.example\"]") "]");
	assert_string_equal(sbc_route_single(&sbc, &sock, &exists), "acme");
	assert_true(exists);
	assert_string_equal(sock, "run/acme/sip.sock");
	/* an alias given before a phone system of that name was created: the
	 * later in the state wins, as with the JSON table before */
	load(&sbc, "[" PS("acme", "running", "[\"beta\"]") "," PS("beta", "running", "[]") "]");
	assert_string_equal(sbc_route_http(&sbc, "beta", 4, &exists), "run/beta/http.sock");
	assert_string_equal(sbc_route_sip(&sbc, "beta", 4, &sock, &exists), "beta");
	load(&sbc, "[" PS("beta", "running", "[]") "," PS("acme", "running", "[\"beta\"]") "]");
	assert_null(sbc_route_http(&sbc, "beta", 4, &exists));
	assert_false(exists);
	assert_string_equal(sbc_route_sip(&sbc, "beta", 4, &sock, &exists), "acme");
	assert_string_equal(sbc_route_single(&sbc, &sock, &exists), "acme");
	/* none */
	load(&sbc, "[]");
	assert_null(sbc_route_single(&sbc, &sock, &exists));
	assert_false(exists);
	assert_null(sbc_route_sip(&sbc, "acme", 4, &sock, &exists));
	sbc_route_free(&sbc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_aliases_are_routed),
		cmocka_unit_test(test_single_phone_system_and_later_key_wins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
