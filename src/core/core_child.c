/* core_child — see core_child.h. */
#include "core_child.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_auth.h"
#include "core_log.h"
#include "core_proc.h"

static void child_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct core_child *ch = arg;
	(void)sig;
	(void)what;
	event_base_loopbreak(ch->base);
}

/* Pushes are numbered: after a gap, the supervisor is asked for all again. */
static void child_check_seq(struct core_child *ch, const struct core_ipc_msg *msg)
{
	if (msg->type != IPC_STATE && msg->type != IPC_BLOCKS && msg->type != IPC_SBC_UNBLOCK)
		return;
	if (ch->seq && msg->id != ch->seq + 1) {
		log_warn("missed %u message(s) from the supervisor: asking for all again",
			 msg->id - ch->seq - 1);
		int r = core_ipc_send(ch->ipc, IPC_RESYNC, 0, "{}", 2, NULL, 0);
		if (r < 0)
			log_error("cannot ask the supervisor again: %s", strerror(-r));
	}
	ch->seq = msg->id;
}

static void child_on_ipc_msg(struct core_ipc *ipc, struct core_ipc_msg *msg, void *arg)
{
	struct core_child *ch = arg;
	child_check_seq(ch, msg);
	ch->on_msg(ipc, msg, ch->arg);
}

static void child_on_ipc_close(struct core_ipc *ipc, void *arg)
{
	struct core_child *ch = arg;
	(void)ipc;
	log_info("supervisor is gone, exiting");
	event_base_loopbreak(ch->base);
}

void core_child_init(struct core_child *ch, const char *role, const char *name,
		     core_ipc_msg_cb on_msg, void *arg)
{
	core_log_init(role, name);
	core_proc_set_title(role, name);
	core_proc_die_with_parent();
	core_proc_drop_capabilities();
	if (getppid() == 1)
		core_fatal("started without a supervisor");
	signal(SIGPIPE, SIG_IGN);
	core_proc_raise_nofile();
	if (core_auth_init() < 0)
		core_fatal("libsodium could not be initialised");
	ch->base = event_base_new();
	if (!ch->base)
		core_fatal("event_base_new failed");
	ch->on_msg = on_msg;
	ch->arg = arg;
	ch->ipc =
		core_ipc_new(ch->base, CORE_IPC_CHILD_FD, child_on_ipc_msg, child_on_ipc_close, ch);
	if (!ch->ipc)
		core_fatal("no IPC channel to the supervisor");
	int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		ch->sig[i] = evsignal_new(ch->base, sigs[i], child_on_signal, ch);
		evsignal_add(ch->sig[i], NULL);
	}
}

void core_child_ready(struct core_child *ch)
{
	int r = core_ipc_send(ch->ipc, IPC_READY, 0, "{}", 2, NULL, 0);
	if (r < 0)
		log_error("cannot tell the supervisor we are ready: %s", strerror(-r));
}

static void child_send_stats(evutil_socket_t fd, short what, void *arg)
{
	struct core_child *ch = arg;
	(void)fd;
	(void)what;
	json_t *j = ch->stats(ch->stats_arg);
	int r = j ? core_ipc_send_json(ch->ipc, IPC_STATS, 0, j, NULL, 0) : 0;
	if (r < 0) /* the next ones come in CORE_CHILD_STATS_INTERVAL */
		log_warn("figures not sent to the supervisor: %s", strerror(-r));
	json_decref(j);
}

void core_child_stats(struct core_child *ch, json_t *(*collect)(void *arg), void *arg)
{
	ch->stats = collect;
	ch->stats_arg = arg;
	if (!ch->stats_timer)
		ch->stats_timer = event_new(ch->base, -1, EV_PERSIST, child_send_stats, ch);
	struct timeval tv = {CORE_CHILD_STATS_INTERVAL, 0};
	evtimer_add(ch->stats_timer, &tv);
	child_send_stats(-1, 0, ch);
}

void core_child_run(struct core_child *ch)
{
	event_base_dispatch(ch->base);
}

void core_child_free(struct core_child *ch)
{
	for (int i = 0; i < 3; i++)
		if (ch->sig[i])
			event_free(ch->sig[i]);
	if (ch->stats_timer)
		event_free(ch->stats_timer);
	core_ipc_free(ch->ipc);
	/* Bufferevents freed on the way out finish freeing in the loop. */
	event_base_loop(ch->base, EVLOOP_NONBLOCK);
	event_base_free(ch->base);
}
