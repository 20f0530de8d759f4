/* Connections per client address (core_connlimit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/core/core_connlimit.h"

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
	}
	return ss;
}

static struct core_connlimit_slot *take(struct core_connlimit *cl, const char *text)
{
	struct sockaddr_storage ss = addr(text);
	return core_connlimit_take(cl, (struct sockaddr *)&ss);
}

static void test_an_address_at_its_limit_gets_no_more(void **state)
{
	(void)state;
	struct core_connlimit *cl = core_connlimit_new("test", 3);
	struct core_connlimit_slot *s[3];
	for (int i = 0; i < 3; i++)
		assert_non_null(s[i] = take(cl, "192.0.2.1"));
	assert_null(take(cl, "192.0.2.1"));
	assert_null(take(cl, "192.0.2.1"));
	assert_int_equal(core_connlimit_refused(cl), 2);
	struct core_connlimit_slot *other = take(cl, "192.0.2.2"); /* its own count */
	assert_non_null(other);
	core_connlimit_give(cl, s[1]); /* one closes: one more may come */
	assert_non_null(s[1] = take(cl, "192.0.2.1"));
	assert_null(take(cl, "192.0.2.1"));
	for (int i = 0; i < 3; i++)
		core_connlimit_give(cl, s[i]);
	core_connlimit_give(cl, other);
	core_connlimit_give(cl, NULL);
	core_connlimit_free(cl);
}

static void test_ipv4_mapped_counts_as_ipv4_and_ipv6_by_64(void **state)
{
	(void)state;
	struct core_connlimit *cl = core_connlimit_new("test", 2);
	struct core_connlimit_slot *a = take(cl, "192.0.2.7"), *b = take(cl, "::ffff:192.0.2.7");
	assert_non_null(a);
	assert_non_null(b);
	assert_null(take(cl, "192.0.2.7"));
	struct core_connlimit_slot *c = take(cl, "2001:db8:1:2::1"),
				   *d = take(cl, "2001:db8:1:2::ff");
	assert_non_null(c);
	assert_non_null(d);
	assert_null(take(cl, "2001:db8:1:2:aaaa::1")); /* the same /64 */
	struct core_connlimit_slot *e = take(cl, "2001:db8:1:3::1");
	assert_non_null(e);
	core_connlimit_free(cl); /* frees slots still held */
}

static void test_a_lower_limit_keeps_what_is_held(void **state)
{
	(void)state;
	struct core_connlimit *cl = core_connlimit_new("test", 4);
	struct core_connlimit_slot *s[4];
	for (int i = 0; i < 4; i++)
		assert_non_null(s[i] = take(cl, "198.51.100.1"));
	core_connlimit_set(cl, 2);
	assert_int_equal(core_connlimit_get(cl), 2);
	assert_null(take(cl, "198.51.100.1"));
	core_connlimit_give(cl, s[0]);
	core_connlimit_give(cl, s[1]);
	assert_null(take(cl, "198.51.100.1")); /* still 2 held */
	core_connlimit_give(cl, s[2]);
	assert_non_null(s[2] = take(cl, "198.51.100.1"));
	core_connlimit_set(cl, 0); /* ignored */
	assert_int_equal(core_connlimit_get(cl), 2);
	core_connlimit_give(cl, s[2]);
	core_connlimit_give(cl, s[3]);
	core_connlimit_free(cl);
}

static void test_many_addresses(void **state)
{
	(void)state;
	struct core_connlimit *cl = core_connlimit_new("test", 1);
	static struct core_connlimit_slot *s[20000];
	char text[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.1", i / 256, i % 256);
		assert_non_null(s[i] = take(cl, text));
		assert_null(take(cl, text));
	}
	for (int i = 0; i < 20000; i++)
		core_connlimit_give(cl, s[i]);
	assert_non_null(s[0] = take(cl, "10.0.0.1"));
	core_connlimit_give(cl, s[0]);
	core_connlimit_free(cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_an_address_at_its_limit_gets_no_more),
		cmocka_unit_test(test_ipv4_mapped_counts_as_ipv4_and_ipv6_by_64),
		cmocka_unit_test(test_a_lower_limit_keeps_what_is_held),
		cmocka_unit_test(test_many_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
