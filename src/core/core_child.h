/*
 * core_child — what every child process of the supervisor shares: its
 * title and log prefix, the event loop, the IPC channel on fd 3, and
 * leaving cleanly on SIGTERM or when the supervisor is gone.
 */
#ifndef CORE_CHILD_H
#define CORE_CHILD_H

#include <event2/event.h>

#include <jansson.h>

#include "core_ipc.h"

struct core_child {
	struct event_base *base;
	struct core_ipc *ipc;
	struct event *sig[3];
	core_ipc_msg_cb on_msg;
	void *arg;
	struct event *stats_timer;
	json_t *(*stats)(void *arg); /* figures for IPC_STATS, a new object */
	void *stats_arg;
	uint32_t seq; /* of the last push from the supervisor (core_ipc.h) */
};

#define CORE_CHILD_STATS_INTERVAL 5 /* seconds between two IPC_STATS */

/* role: "mgmt", "sbc", "pbx"; name: phone system or NULL. Exits on failure. */
void core_child_init(struct core_child *ch, const char *role, const char *name,
		     core_ipc_msg_cb on_msg, void *arg);
/* Tells the supervisor this process serves now. */
void core_child_ready(struct core_child *ch);
/* From now on, sends collect(arg) to the supervisor as IPC_STATS every
 * CORE_CHILD_STATS_INTERVAL seconds, and once at once. */
void core_child_stats(struct core_child *ch, json_t *(*collect)(void *arg), void *arg);
/* Runs the event loop until asked to stop. */
void core_child_run(struct core_child *ch);
void core_child_free(struct core_child *ch);

#endif
