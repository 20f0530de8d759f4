/*
 * The UDP buffers of core_net: a listening UDP socket gets
 * CORE_NET_UDP_BUFFER each way where the process may force it (or as much
 * as net.core.rmem_max allows), and a buffer already larger is never
 * lowered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/core/core_net.h"

static int sysctl_max(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = 0;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static int buf_of(int fd, int opt)
{
	int v = 0;
	socklen_t l = sizeof(v);
	getsockopt(fd, SOL_SOCKET, opt, &v, &l);
	return v;
}

static void test_a_udp_listener_gets_its_buffers(void **state)
{
	(void)state;
	char err[128];
	int fd = core_net_listen_udp("127.0.0.1", 0, err, sizeof(err));
	assert_true(fd >= 0);
	/* the kernel reports twice what it was given (its bookkeeping) */
	int want = CORE_NET_UDP_BUFFER, cap = sysctl_max("/proc/sys/net/core/rmem_max");
	int forced = getuid() == 0; /* CAP_NET_ADMIN, as the supervisor has */
	int expect = forced || cap >= want ? want : cap;
	assert_true(buf_of(fd, SO_RCVBUF) / 2 >= expect);
	cap = sysctl_max("/proc/sys/net/core/wmem_max");
	expect = forced || cap >= want ? want : cap;
	assert_true(buf_of(fd, SO_SNDBUF) / 2 >= expect);
	close(fd);
}

static void test_a_larger_buffer_is_never_lowered(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	int big = 8 * 1024 * 1024;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		skip(); /* not permitted here: nothing larger to keep */
	int before = buf_of(fd, SO_RCVBUF);
	assert_int_equal(core_net_udp_buffers(fd, 1024 * 1024), before);
	assert_int_equal(buf_of(fd, SO_RCVBUF), before);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_udp_listener_gets_its_buffers),
		cmocka_unit_test(test_a_larger_buffer_is_never_lowered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
