/* Framed IPC with fd passing (core_ipc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/core/core_ipc.h"

struct got {
	int n;
	uint32_t type, id;
	char data[256];
	int fd;
	int closed;
	struct event_base *base;
};

static void on_msg(struct core_ipc *ipc, struct core_ipc_msg *msg, void *arg)
{
	struct got *g = arg;
	(void)ipc;
	g->n++;
	g->type = msg->type;
	g->id = msg->id;
	snprintf(g->data, sizeof(g->data), "%s", msg->data);
	g->fd = msg->nfds ? msg->fds[0] : -1;
	for (int i = 1; i < msg->nfds; i++)
		close(msg->fds[i]);
	event_base_loopbreak(g->base);
}

static void on_close(struct core_ipc *ipc, void *arg)
{
	struct got *g = arg;
	(void)ipc;
	g->closed = 1;
	event_base_loopbreak(g->base);
}

static void test_message_and_fd_cross(void **state)
{
	(void)state;
	int sv[2], p[2];
	struct got g = {.fd = -1};
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	g.base = event_base_new();
	struct core_ipc *a = core_ipc_new(g.base, sv[0], on_msg, on_close, &g);
	struct core_ipc *b = core_ipc_new(g.base, sv[1], on_msg, on_close, &g);
	json_t *o = json_pack("{s:s}", "op", "create");
	assert_int_equal(core_ipc_send_json(a, IPC_REQUEST, 42, o, &p[1], 1), 0);
	json_decref(o);
	close(p[1]);
	event_base_dispatch(g.base);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.type, IPC_REQUEST);
	assert_int_equal(g.id, 42);
	assert_string_equal(g.data, "{\"op\":\"create\"}");
	/* The passed fd is the write end of our pipe. */
	assert_true(g.fd >= 0);
	assert_int_equal(write(g.fd, "x", 1), 1);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	close(g.fd);
	close(p[0]);
	/* The peer going away is reported once. */
	core_ipc_free(a);
	event_base_dispatch(g.base);
	assert_int_equal(g.closed, 1);
	core_ipc_free(b);
	event_base_free(g.base);
}

static void test_oversized_payload_is_refused(void **state)
{
	(void)state;
	int sv[2];
	struct got g = {0};
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	g.base = event_base_new();
	struct core_ipc *a = core_ipc_new(g.base, sv[0], on_msg, on_close, &g);
	static char big[CORE_IPC_MAX_PAYLOAD + 1];
	assert_true(core_ipc_send(a, IPC_STATE, 0, big, sizeof(big), NULL, 0) < 0);
	core_ipc_free(a);
	close(sv[1]);
	event_base_free(g.base);
}

static void test_many_messages_queue_in_order(void **state)
{
	(void)state;
	int sv[2];
	struct got g = {0};
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	g.base = event_base_new();
	struct core_ipc *a = core_ipc_new(g.base, sv[0], on_msg, on_close, &g);
	struct core_ipc *b = core_ipc_new(g.base, sv[1], on_msg, on_close, &g);
	static char chunk[60000];
	memset(chunk, 'a', sizeof(chunk) - 1);
	/* More than the socket buffer holds: the rest waits in the queue. */
	for (uint32_t i = 0; i < 40; i++)
		assert_int_equal(core_ipc_send(a, IPC_STATE, i, chunk, sizeof(chunk), NULL, 0), 0);
	while (g.n < 40)
		event_base_dispatch(g.base);
	assert_int_equal(g.id, 39);
	core_ipc_free(a);
	core_ipc_free(b);
	event_base_free(g.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_and_fd_cross),
		cmocka_unit_test(test_oversized_payload_is_refused),
		cmocka_unit_test(test_many_messages_queue_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
