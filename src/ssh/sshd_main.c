/* sshd_main — the SSH listening process: accepts, and forks a session per connection. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/listener.h>
#include <libssh/libssh.h>

#include "../core/core_child.h"
#include "../core/core_connlimit.h"
#include "../core/core_log.h"
#include "../core/core_net.h"
#include "../core/core_state.h"
#include "sshd.h"

#define SSHD_MAX_LISTENERS 64

struct sshd {
	struct core_child child;
	struct evconnlistener *listeners[SSHD_MAX_LISTENERS];
	int nlisteners;
	int sessions;
	struct { /* the session processes, with their address's slot */
		pid_t pid;
		struct core_connlimit_slot *slot;
	} running[SSHD_MAX_SESSIONS];
	struct core_connlimit *per_address;
	struct event *sigchld;
	char vpn_address[64]; /* the server's in the VPN tunnel, "" when off */
};

static void sshd_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			   int salen, void *arg)
{
	struct sshd *d = arg;
	char peer[64];
	(void)l;
	(void)salen;
	core_net_addr_str(sa, peer, sizeof(peer));
	if (core_net_local_is(fd, d->vpn_address)) { /* phones in the VPN reach the SBC only */
		close(fd);
		return;
	}
	if (d->sessions >= SSHD_MAX_SESSIONS) {
		log_warn("too many SSH sessions, refusing %s", peer);
		close(fd);
		return;
	}
	struct core_connlimit_slot *slot = core_connlimit_take(d->per_address, sa);
	if (!slot) {
		close(fd);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		core_connlimit_give(d->per_address, slot);
		close(fd);
		return;
	}
	if (pid == 0) {
		/* The session: nothing of the listener's loop is used from here on. */
		prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
		for (int i = 0; i < d->nlisteners; i++)
			close(evconnlistener_get_fd(d->listeners[i]));
		close(CORE_IPC_CHILD_FD);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		_exit(sshd_session_run(fd, peer));
	}
	close(fd);
	for (int i = 0; i < SSHD_MAX_SESSIONS; i++) {
		if (!d->running[i].pid) {
			d->running[i].pid = pid;
			d->running[i].slot = slot;
			break;
		}
	}
	d->sessions++;
}

static void sshd_on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct sshd *d = arg;
	(void)sig;
	(void)what;
	pid_t pid;
	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
		for (int i = 0; i < SSHD_MAX_SESSIONS; i++) {
			if (d->running[i].pid == pid) {
				core_connlimit_give(d->per_address, d->running[i].slot);
				d->running[i].pid = 0;
			}
		}
		d->sessions--;
	}
}

static void sshd_on_ipc(struct core_ipc *ipc, struct core_ipc_msg *msg, void *arg)
{
	struct sshd *d = arg;
	(void)ipc;
	if (msg->type == IPC_LISTENERS) {
		for (int i = 0; i < d->nlisteners; i++)
			evconnlistener_free(d->listeners[i]);
		d->nlisteners = 0;
		for (int i = 0; i < msg->nfds; i++) {
			struct evconnlistener *l = NULL;
			if (d->nlisteners < SSHD_MAX_LISTENERS)
				l = evconnlistener_new(d->child.base, sshd_on_accept, d,
						       LEV_OPT_CLOSE_ON_FREE |
							       LEV_OPT_CLOSE_ON_EXEC,
						       -1, msg->fds[i]);
			if (l) {
				evconnlistener_set_error_cb(l, core_connlimit_on_listener_error);
				d->listeners[d->nlisteners++] = l;
			} else {
				close(msg->fds[i]);
			}
		}
		log_info("serving SSH on %d socket(s)", msg->nfds);
		msg->nfds = 0;
	} else if (msg->type == IPC_STATE) {
		struct core_state st; /* decoded once (core_state.h); a bad one is kept out */
		char err[256];
		if (core_state_parse(msg->data, msg->len, &st, err, sizeof(err)) < 0) {
			log_error("%s; the last state stays", err);
		} else {
			snprintf(d->vpn_address, sizeof(d->vpn_address), "%s", st.vpn.address);
			core_state_free(&st);
		}
	}
	core_ipc_close_fds(msg);
}

int sshd_main(void)
{
	struct sshd d = {0};
	core_child_init(&d.child, "ssh", NULL, sshd_on_ipc, &d);
	if (ssh_init() != SSH_OK)
		core_fatal("libssh could not be initialised");
	d.per_address = core_connlimit_new("ssh", SSHD_MAX_PER_ADDRESS);
	if (!d.per_address)
		core_fatal("out of memory");
	d.sigchld = evsignal_new(d.child.base, SIGCHLD, sshd_on_sigchld, &d);
	evsignal_add(d.sigchld, NULL);
	core_child_ready(&d.child);
	core_child_run(&d.child);

	for (int i = 0; i < d.nlisteners; i++)
		evconnlistener_free(d.listeners[i]);
	event_free(d.sigchld);
	core_connlimit_free(d.per_address);
	core_child_free(&d.child);
	ssh_finalize();
	return 0;
}
