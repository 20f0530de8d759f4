/*
 * core_conn, the connection core, on real loopback connections: the total
 * and the per-address limit at accept, the admit hook, the lookup by id
 * and its forgetting, on_close once per connection, the idle timeout, and
 * backpressure (reading pauses while the output is above out_high and
 * resumes once it drained).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "../../src/core/core_conn.h"

static struct event_base *base;
static struct core_conn *opened, *conns[16];
static int nopen, nclose, nread, ndrain;
static bool refuse;		/* admit says no */
static size_t answer;		/* bytes on_read queues per read */
static struct sockaddr_in addr; /* the listener's */

static bool t_admit(void *arg, int fd, const struct sockaddr *sa)
{
	(void)arg;
	(void)fd;
	(void)sa;
	return !refuse;
}

static void *t_on_open(struct core_conn *c, void *arg)
{
	(void)arg;
	opened = conns[nopen++] = c;
	return c;
}

static int t_on_read(struct core_conn *c, void *st, struct evbuffer *in)
{
	(void)st;
	nread++;
	evbuffer_drain(in, evbuffer_get_length(in));
	if (answer) {
		char *b = calloc(1, answer);
		evbuffer_add(core_conn_output(c), b, answer);
		free(b);
	}
	return 0;
}

static void t_on_drain(struct core_conn *c, void *st)
{
	(void)c;
	(void)st;
	ndrain++;
}

static void t_on_close(struct core_conn *c, void *st)
{
	assert_ptr_equal(c, st);
	nclose++;
}

static struct core_conn_desc desc = {.name = "test",
				     .max_conns = 4,
				     .per_address = 2,
				     .idle = 60,
				     .out_high = 64 * 1024,
				     .out_low = 16 * 1024,
				     .admit = t_admit,
				     .on_open = t_on_open,
				     .on_read = t_on_read,
				     .on_drain = t_on_drain,
				     .on_close = t_on_close};

static void spin(int rounds)
{
	for (int i = 0; i < rounds; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/* Connects from `from` (127.0.0.x); the client's fd. */
static int client(const char *from)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in src = {.sin_family = AF_INET};
	inet_pton(AF_INET, from, &src.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	spin(50);
	return fd;
}

/* True if the server closed fd's connection (EOF or reset). */
static bool closed_by_server(int fd)
{
	spin(50);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 200) != 1)
		return false;
	char b[1];
	return recv(fd, b, 1, MSG_DONTWAIT) <= 0;
}

static struct core_conn_service *service(void)
{
	base = event_base_new();
	assert_non_null(base);
	opened = NULL;
	nopen = nclose = nread = ndrain = 0;
	refuse = false;
	answer = 0;
	struct core_conn_service *svc = core_conn_service_new(base, &desc, NULL);
	assert_non_null(svc);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	addr = (struct sockaddr_in){.sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	assert_int_equal(bind(l, (struct sockaddr *)&addr, len), 0);
	assert_int_equal(listen(l, 16), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&addr, &len), 0);
	evutil_make_socket_nonblocking(l);
	assert_int_equal(core_conn_listen(svc, l, NULL), 0);
	return svc;
}

static void done(struct core_conn_service *svc)
{
	core_conn_service_free(svc);
	assert_int_equal(nclose, nopen); /* on_close once for each */
	event_base_free(base);
}

static void test_per_address_limit_refuses_at_accept(void **state)
{
	(void)state;
	struct core_conn_service *svc = service();
	int a = client("127.0.0.1"), b = client("127.0.0.1"), c = client("127.0.0.1");
	assert_int_equal(nopen, 2);
	assert_true(closed_by_server(c));
	assert_false(closed_by_server(a));
	assert_int_equal(core_conn_refused(svc), 1);
	int d = client("127.0.0.2"); /* another address has its own share */
	assert_int_equal(nopen, 3);
	assert_int_equal(core_conn_count(svc), 3);
	assert_int_equal(core_conn_count_tls(svc), 0);
	close(a);
	spin(50);
	assert_int_equal(nclose, 1);
	int e = client("127.0.0.1"); /* a's slot was given back */
	assert_int_equal(nopen, 4);
	close(b);
	close(c);
	close(d);
	close(e);
	done(svc);
}

static void test_total_limit_and_admit(void **state)
{
	(void)state;
	struct core_conn_service *svc = service();
	int fds[5];
	const char *from[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
	for (int i = 0; i < 5; i++)
		fds[i] = client(from[i]);
	assert_int_equal(nopen, 4); /* max_conns */
	assert_true(closed_by_server(fds[4]));
	assert_int_equal(core_conn_refused(svc), 0); /* not the per-address limit */
	close(fds[0]);
	spin(50);
	refuse = true;
	int x = client("127.0.0.6");
	assert_true(closed_by_server(x));
	assert_int_equal(nopen, 4);
	for (int i = 1; i < 5; i++)
		close(fds[i]);
	close(x);
	done(svc);
}

static void test_find_by_id_until_closed(void **state)
{
	(void)state;
	struct core_conn_service *svc = service();
	int a = client("127.0.0.1"), b = client("127.0.0.2");
	assert_int_equal(nopen, 2);
	uint64_t ia = core_conn_id(conns[0]), ib = core_conn_id(conns[1]);
	assert_true(ia != ib && ia != 0);
	assert_ptr_equal(core_conn_find(svc, ia), conns[0]);
	assert_ptr_equal(core_conn_find(svc, ib), conns[1]);
	assert_ptr_equal(core_conn_state(conns[1]), conns[1]);
	core_conn_close(conns[0]);
	assert_int_equal(nclose, 1);
	assert_null(core_conn_find(svc, ia));
	assert_true(closed_by_server(a));
	int c = client("127.0.0.1"); /* never an old id again */
	assert_true(core_conn_id(conns[2]) != ia && core_conn_id(conns[2]) != ib);
	assert_null(core_conn_find(svc, ia));
	close(a);
	close(b);
	close(c);
	done(svc);
}

static void test_idle_timeout_closes(void **state)
{
	(void)state;
	struct core_conn_service *svc = service();
	int a = client("127.0.0.1");
	core_conn_set_idle(conns[0], 1);
	struct timeval t = {.tv_sec = 1, .tv_usec = 300000};
	event_base_loopexit(base, &t);
	event_base_dispatch(base);
	assert_int_equal(nclose, 1);
	assert_true(closed_by_server(a));
	close(a);
	done(svc);
}

/* A client that sends but does not read what it asked for: reading it
 * stops while its output is above out_high, and goes on once it drained. */
#define TOTAL (32u << 20)
static void test_backpressure_pauses_reading(void **state)
{
	(void)state;
	struct core_conn_service *svc = service();
	int a = client("127.0.0.1");
	answer = TOTAL; /* more than the kernel buffers hold */
	assert_int_equal(send(a, "x", 1, 0), 1);
	spin(200);
	assert_int_equal(nread, 1);
	assert_true(evbuffer_get_length(core_conn_output(conns[0])) > desc.out_high);
	answer = 0;
	assert_int_equal(send(a, "y", 1, 0), 1);
	spin(200);
	assert_int_equal(nread, 1); /* paused */
	/* the client reads everything: the output drains, reading resumes */
	char buf[65536];
	size_t got = 0;
	for (int i = 0; i < 20000 && got < TOTAL; i++) { /* 10 s at most */
		struct pollfd p = {.fd = a, .events = POLLIN};
		poll(&p, 1, 0);
		ssize_t n = recv(a, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
		else
			usleep(500);
		spin(2);
	}
	assert_int_equal(got, TOTAL);
	spin(100);
	assert_true(ndrain >= 1);
	assert_int_equal(nread, 2); /* "y" */
	close(a);
	done(svc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_address_limit_refuses_at_accept),
		cmocka_unit_test(test_total_limit_and_admit),
		cmocka_unit_test(test_find_by_id_until_closed),
		cmocka_unit_test(test_idle_timeout_closes),
		cmocka_unit_test(test_backpressure_pauses_reading),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
