/*
 * sup_main — `zentrale server`: set up the data dir, bind the listeners,
 * drop root, start the children, then watch them until SIGTERM/SIGINT, when
 * every child is stopped (SIGKILL after a grace period) before exiting.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/core_auth.h"
#include "../core/core_log.h"
#include "../core/core_proc.h"
#include "../core/core_version.h"
#include "supervisor.h"

#define SUP_STOP_GRACE_MS 4000

static void sup_on_kill_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sup *s = arg;
	(void)fd;
	(void)what;
	for (struct sup_child *c = s->children; c; c = c->next) {
		if (c->pid > 0) {
			log_warn("%s %s did not stop in time, killing it",
				 c->role == ROLE_PBX ? "pbx" : "child", c->name);
			kill(c->pid, SIGKILL);
		}
	}
	if (s->vpn.pid > 0)
		kill(s->vpn.pid, SIGKILL);
}

static bool sup_all_stopped(struct sup *s)
{
	if (s->vpn.pid > 0)
		return false;
	for (struct sup_child *c = s->children; c; c = c->next)
		if (c->pid > 0)
			return false;
	return true;
}

/* How long the SBC outlives the phone systems when stopping: at most this
 * after the stop began, and this short after the last pbx went (what it
 * wrote last is read and sent on by then). */
#define SUP_STOP_SBC_MS	      2000
#define SUP_STOP_SBC_AFTER_MS 300

static void stop_sbc(evutil_socket_t fd, short what, void *arg)
{
	struct sup *s = arg;
	(void)fd;
	(void)what;
	if (s->sbc_stopped)
		return;
	s->sbc_stopped = true;
	for (struct sup_child *c = s->children; c; c = c->next)
		if (c->role == ROLE_SBC)
			sup_child_stop(s, c);
}

static bool pbx_running(const struct sup *s)
{
	for (const struct sup_child *c = s->children; c; c = c->next)
		if (c->role == ROLE_PBX && c->pid > 0)
			return true;
	return false;
}

static void sbc_stop_in(struct sup *s, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	if (!s->sbc_stop_timer)
		s->sbc_stop_timer = evtimer_new(s->base, stop_sbc, s);
	if (s->sbc_stop_timer)
		evtimer_add(s->sbc_stop_timer, &tv);
	else
		stop_sbc(-1, 0, s);
}

static void sup_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sup *s = arg;
	(void)what;
	if (sig == SIGCHLD) {
		sup_children_reap(s);
		if (s->stopping && !s->sbc_stopped && !pbx_running(s))
			sbc_stop_in(s, SUP_STOP_SBC_AFTER_MS);
	} else if (!s->stopping) {
		log_info("received signal %d, stopping", (int)sig);
		s->stopping = true;
		for (struct sup_child *c = s->children; c; c = c->next)
			if (c->role != ROLE_SBC)
				sup_child_stop(s, c);
		sbc_stop_in(s, pbx_running(s) ? SUP_STOP_SBC_MS : 0);
		sup_vpn_stop(s);
		struct timeval tv = {.tv_sec = SUP_STOP_GRACE_MS / 1000,
				     .tv_usec = (SUP_STOP_GRACE_MS % 1000) * 1000};
		s->kill_timer = evtimer_new(s->base, sup_on_kill_timer, s);
		evtimer_add(s->kill_timer, &tv);
	}
	if (s->stopping && sup_all_stopped(s))
		event_base_loopbreak(s->base);
}

void sup_stop_all(struct sup *s, int exit_code)
{
	s->exit_code = exit_code;
	sup_on_signal(SIGTERM, 0, s);
}

/* Once every process serves (management, SBC, SSH, each enabled phone
 * system), run/ready says so with our version: the launcher's sign that a
 * new release is healthy. */
void sup_check_ready(struct sup *s)
{
	if (s->ready_written || s->stopping)
		return;
	for (struct sup_child *c = s->children; c; c = c->next)
		if (c->enabled && !c->deleting && c->state != ST_RUNNING)
			return;
	FILE *f = fopen("run/ready.tmp", "w");
	if (!f)
		return;
	fprintf(f, "%s\n", ZENTRALE_VERSION);
	fclose(f);
	if (rename("run/ready.tmp", "run/ready") == 0) {
		s->ready_written = true;
		log_info("every process serves: zentrale %s is ready", ZENTRALE_VERSION);
	}
}

static int sup_load_phone_systems(struct sup *s)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT name, created, enabled FROM phone_systems ORDER BY "
			       "created, name",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct sup_child *c =
			sup_child_add(s, ROLE_PBX, (const char *)sqlite3_column_text(st, 0));
		if (!c)
			break;
		c->created = (time_t)sqlite3_column_int64(st, 1);
		c->enabled = sqlite3_column_int(st, 2) != 0;
	}
	sqlite3_finalize(st);
	return 0;
}

static void sup_free(struct sup *s)
{
	sup_vpn_free(s);
	while (s->children)
		sup_child_remove(s, s->children);
	for (int i = 0; i < s->nsockets; i++)
		close(s->sockets[i].fd);
	if (s->kill_timer)
		event_free(s->kill_timer);
	if (s->sbc_stop_timer)
		event_free(s->sbc_stop_timer);
	sup_log_close(s);
	json_decref(s->sip_blocks);
	if (s->resync_timer)
		event_free(s->resync_timer);
	json_decref(s->traces);
	sqlite3_close(s->db);
	event_base_free(s->base);
}

int sup_run(struct sup_options *opt)
{
	struct sup s = {.opt = *opt, .started = time(NULL), .sip_blocks = json_object()};
	char err[512];
	int ret = 1;

	umask(027); /* nothing in the data dir is for other accounts */
	core_log_init("supervisor", NULL);
	core_proc_set_title("supervisor", NULL);
	if (core_auth_init() < 0)
		core_fatal("libsodium could not be initialised");
	if (geteuid() == 0 && core_proc_lookup_user(opt->user, &s.uid, &s.gid) < 0)
		return 1;
	/* SIGCHLD etc. are delivered through the event loop; children unblock. */
	signal(SIGPIPE, SIG_IGN);
	s.base = event_base_new();
	if (!s.base || sup_setup_data(&s) < 0)
		goto out;

	/* Root is left before binding, keeping only the right to bind low
	 * ports: every socket then belongs to one uid, so SO_REUSEPORT lets
	 * listeners move between interfaces without a gap. */
	if (s.uid && core_proc_drop_privileges(s.uid, s.gid, true) < 0)
		goto out;
	sup_vpn_start(&s);
	json_t *mg = sup_listen_config(&s, "management"), *sb = sup_listen_config(&s, "sbc");
	s.first_bind = true;
	int r = sup_listen_bind(&s, mg, sb, s.sockets, &s.nsockets, err, sizeof(err));
	s.first_bind = false;
	json_decref(mg);
	json_decref(sb);
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}

	struct event *sigs[4];
	int signums[4] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(s.base, signums[i], sup_on_signal, &s);
		evsignal_add(sigs[i], NULL);
	}
	log_info("zentrale %s starting in %s (port offset %d)", ZENTRALE_VERSION, opt->data_dir,
		 opt->port_offset);
	/* Children tell clients where the services are (a phone system's page
	 * names its SIP port); they inherit this with the environment. */
	char offset[16];
	snprintf(offset, sizeof(offset), "%d", opt->port_offset);
	setenv("ZENTRALE_PORT_OFFSET", offset, 1);
	/* ZENTRALE_TEST_PUSH_FAIL=N: every Nth push to a child is not sent but
	 * fails, so tests see the resending (sup_child_push) work. */
	const char *pf = getenv("ZENTRALE_TEST_PUSH_FAIL");
	s.test_push_fail = pf ? atoi(pf) : 0;
	sup_child_add(&s, ROLE_MGMT, NULL);
	sup_child_add(&s, ROLE_SBC, NULL);
	sup_child_add(&s, ROLE_SSH, NULL);
	sup_requests_recover();
	if (sup_load_phone_systems(&s) < 0)
		goto out_sigs;
	for (struct sup_child *c = s.children; c; c = c->next)
		if (c->enabled)
			sup_child_spawn(&s, c);
	sup_vpn_spawn(&s);

	event_base_dispatch(s.base);
	log_info("stopped");
	ret = s.exit_code;
out_sigs:
	for (int i = 0; i < 4; i++)
		event_free(sigs[i]);
out:
	sup_free(&s);
	return ret;
}
