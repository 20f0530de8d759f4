/*
 * sup_children — the life of each child process: fork+exec of our own
 * binary in its role, the IPC channel, restart with exponential backoff,
 * `failed` for a phone system that keeps crashing; what they are sent is
 * sup_ipc.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/core_log.h"
#include "../core/core_proc.h"
#include "../core/core_version.h"
#include "supervisor.h"

static const char *const role_names[] = {"mgmt", "sbc", "pbx", "ssh"};

const char *sup_state_name(enum sup_state st)
{
	static const char *const names[] = {"stopped", "starting", "running", "failed"};
	return names[st];
}

const char *sup_role_name(enum sup_role role)
{
	return role_names[role];
}

const char *sup_child_label(const struct sup_child *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", role_names[c->role], c->name[0] ? " " : "", c->name);
	return buf;
}

static void child_set_state(struct sup_child *c, enum sup_state st)
{
	c->state = st;
	c->since = time(NULL);
}

struct sup_child *sup_child_add(struct sup *s, enum sup_role role, const char *name)
{
	struct sup_child *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->sup = s;
	c->role = role;
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
	c->enabled = true;
	c->created = time(NULL);
	child_set_state(c, ST_STOPPED);
	/* Appended, so the list stays in creation order for the API. */
	struct sup_child **pp = &s->children;
	while (*pp)
		pp = &(*pp)->next;
	*pp = c;
	return c;
}

struct sup_child *sup_child_find(struct sup *s, const char *name)
{
	for (struct sup_child *c = s->children; c; c = c->next)
		if (c->role == ROLE_PBX && strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void sup_child_remove(struct sup *s, struct sup_child *c)
{
	for (struct sup_child **pp = &s->children; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (c->restart_timer)
		event_free(c->restart_timer);
	core_ipc_free(c->ipc);
	sup_trunks_forget(c);
	free(c->restore_from);
	free(c);
}

/* Figures of a child go on to mgmt, which serves /metrics. */
static void sup_forward_stats(struct sup *s, struct sup_child *c, const struct core_ipc_msg *msg)
{
	struct sup_child *mgmt = NULL;
	for (struct sup_child *x = s->children; x; x = x->next)
		if (x->role == ROLE_MGMT && x->ipc)
			mgmt = x;
	json_t *st = core_ipc_json(msg);
	if (mgmt && st) {
		json_t *j = json_pack("{s:s, s:s, s:i, s:O}", "role",
				      c->role == ROLE_SBC ? "sbc" : "pbx", "name", c->name, "pid",
				      (int)c->pid, "stats", st);
		int r = core_ipc_send_json(mgmt->ipc, IPC_STATS, 0, j, NULL, 0);
		char label[96];
		if (r < 0 && r != -EPIPE) /* the next ones come in a few seconds */
			log_warn("figures of %s not passed to mgmt: %s",
				 sup_child_label(c, label, sizeof(label)), strerror(-r));
		json_decref(j);
	}
	json_decref(st);
}

static void child_on_msg(struct core_ipc *ipc, struct core_ipc_msg *msg, void *arg);
static void child_on_close(struct core_ipc *ipc, void *arg);

int sup_child_spawn(struct sup *s, struct sup_child *c)
{
	int sv[2], errpipe[2];
	char label[96];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return -1;
	}
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		log_error("pipe: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(errpipe[0]);
		close(errpipe[1]);
		return -1;
	}
	if (pid == 0) {
		/* Child: its end of the pair at a known fd, then our own binary in its role. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sv[1], CORE_IPC_CHILD_FD) < 0 || dup2(errpipe[1], STDERR_FILENO) < 0)
			_exit(127);
		char role[16];
		snprintf(role, sizeof(role), "_%s", role_names[c->role]);
		char *argv[] = {"zentrale", role, c->name[0] ? c->name : NULL, NULL};
		core_proc_clear_ambient(); /* children bind nothing themselves */
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(sv[1]);
	close(errpipe[1]);
	sup_log_watch(s, errpipe[0], NULL);
	core_ipc_free(c->ipc);
	c->ipc = core_ipc_new(s->base, sv[0], child_on_msg, child_on_close, c);
	c->pid = pid;
	c->seq = 0;
	c->resync = c->push_failing = false;
	child_set_state(c, ST_STARTING);
	log_info("started %s (pid %d)", sup_child_label(c, label, sizeof(label)), (int)pid);
	/* the blocks first: in place before the SBC serves its listeners */
	if (c->role == ROLE_SBC || c->role == ROLE_MGMT)
		sup_blocks_send_all(s, c);
	if (c->role != ROLE_PBX)
		sup_listen_send(s, c);
	sup_broadcast_state(s);
	return 0;
}

static void child_on_msg(struct core_ipc *ipc, struct core_ipc_msg *msg, void *arg)
{
	struct sup_child *c = arg;
	struct sup *s = c->sup;
	char label[96];
	(void)ipc;
	switch (msg->type) {
	case IPC_READY:
		core_ipc_close_fds(msg);
		log_info("%s is ready", sup_child_label(c, label, sizeof(label)));
		child_set_state(c, ST_RUNNING);
		/* the SBC first: a client told "running" may use it at once */
		sup_broadcast_state(s);
		if (c->role == ROLE_PBX)
			sup_requests_child_settled(s, c);
		sup_check_ready(s);
		break;
	case IPC_SBC_BLOCKS:
		if (c->role == ROLE_SBC)
			sup_blocks_on_report(s, msg);
		core_ipc_close_fds(msg);
		break;
	case IPC_RESYNC:
		core_ipc_close_fds(msg);
		if (c->role != ROLE_PBX) {
			log_info("%s asks for the state again",
				 sup_child_label(c, label, sizeof(label)));
			sup_child_resync(s, c);
		}
		break;
	case IPC_STATS:
		core_ipc_close_fds(msg);
		if (c->role == ROLE_SBC || c->role == ROLE_PBX)
			sup_forward_stats(s, c, msg);
		break;
	case IPC_TRUNKS:
		core_ipc_close_fds(msg);
		if (c->role == ROLE_PBX)
			sup_trunks_on_announce(s, c, msg);
		break;
	case IPC_REQUEST:
		if (c->role == ROLE_MGMT) {
			sup_on_request(s, c, msg);
			break;
		}
		__attribute__((fallthrough)); /* only mgmt may ask */
	default:
		core_ipc_close_fds(msg);
		log_warn("unexpected message %u from %s", msg->type,
			 sup_child_label(c, label, sizeof(label)));
	}
}

static void child_on_close(struct core_ipc *ipc, void *arg)
{
	(void)ipc;
	(void)arg;
	/* The process is reaped through SIGCHLD; nothing to do until then. */
}

void sup_child_stop(struct sup *s, struct sup_child *c)
{
	(void)s;
	if (c->restart_timer)
		event_del(c->restart_timer);
	if (c->pid > 0)
		kill(c->pid, SIGTERM);
}

static void child_on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct sup_child *c = arg;
	(void)fd;
	(void)what;
	if (c->enabled && c->pid == 0 && !c->sup->stopping)
		sup_child_spawn(c->sup, c);
}

/* Backoff: 0.2 s after the first crash, doubling per recent crash, 30 s at most. */
static void child_schedule_restart(struct sup *s, struct sup_child *c, int recent)
{
	double delay = 0.2;
	for (int i = 1; i < recent && delay < 30; i++)
		delay *= 2;
	if (delay > 30)
		delay = 30;
	struct timeval tv = {.tv_sec = (time_t)delay,
			     .tv_usec = (suseconds_t)((delay - (int)delay) * 1e6)};
	if (!c->restart_timer)
		c->restart_timer = evtimer_new(s->base, child_on_restart, c);
	evtimer_add(c->restart_timer, &tv);
	char label[96];
	log_info("restarting %s in %.1f s", sup_child_label(c, label, sizeof(label)), delay);
}

static void child_exited(struct sup *s, struct sup_child *c, int status)
{
	char label[96], how[64];
	time_t now = time(NULL);
	sup_child_label(c, label, sizeof(label));
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	c->pid = 0;
	core_ipc_free(c->ipc);
	c->ipc = NULL;
	sup_trunks_forget(c);

	bool expected = s->stopping || !c->enabled || c->deleting || c->restore_from;
	if (expected) {
		log_info("%s stopped", label);
		child_set_state(c, ST_STOPPED);
	} else {
		log_warn("%s %s", label, how);
		c->crashes[c->ncrash++ % SUP_CRASH_LIMIT] = now;
		int recent = 0;
		for (int i = 0; i < SUP_CRASH_LIMIT && i < c->ncrash; i++)
			if (now - c->crashes[i] < SUP_CRASH_WINDOW)
				recent++;
		if (c->role == ROLE_PBX && recent >= SUP_CRASH_LIMIT) {
			log_error("%s crashed %d times within %d s; marked failed, not restarted",
				  label, recent, SUP_CRASH_WINDOW);
			child_set_state(c, ST_FAILED);
		} else {
			child_set_state(c, ST_STARTING);
			c->restarts++;
			child_schedule_restart(s, c, recent);
		}
	}
	if (c->role == ROLE_PBX)
		sup_requests_child_settled(s, c); /* may free c */
	sup_broadcast_state(s);
}

void sup_children_reap(struct sup *s)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (sup_vpn_exited(s, pid, status))
			continue;
		for (struct sup_child *c = s->children; c; c = c->next) {
			if (c->pid == pid) {
				child_exited(s, c, status);
				break;
			}
		}
	}
}
