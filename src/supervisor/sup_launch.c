/*
 * sup_launch — `zentrale server` as a person or an init system starts it:
 * a small parent that runs the supervisor of the current release as its
 * child and carries system updates across it. It does nothing else, so an
 * update cannot break it.
 *
 * The current release is DATA/current/zentrale (a symlink to
 * releases/<version>, switched atomically by the supervisor), or this very
 * binary while no update has been made. When the supervisor has switched
 * to a new release it ends with SUP_EXIT_UPDATE after writing
 * DATA/update-pending.json; the launcher then starts the new release on
 * trial: it must write run/ready with its version before the deadline. If
 * it does, the update is done; if it dies first or the time passes, it is
 * stopped and `current` goes back to the previous release. The same trial
 * runs when the launcher starts and finds an update pending (a power cut
 * in the middle): the server always comes up on one whole release.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../core/core_proc.h"
#include "supervisor.h"

#define LAUNCH_KILL_GRACE 15 /* s between SIGTERM and SIGKILL of a failed trial */

static char data[4096];

static void launch_log(const char *fmt, const char *a, const char *b)
{
	char t[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s [%d] launcher: ", t, (int)getpid());
	fprintf(stderr, fmt, a ? a : "", b ? b : "");
	fputc('\n', stderr);
}

static void path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", data, name);
}

/* Points DATA/current at target ("" removes it: this binary again), atomically. */
int sup_switch_current(const char *datadir, const char *target)
{
	char cur[4200], tmp[4200];
	snprintf(cur, sizeof(cur), "%s/current", datadir);
	snprintf(tmp, sizeof(tmp), "%s/current.tmp", datadir);
	if (!*target)
		return unlink(cur) == 0 || errno == ENOENT ? 0 : -1;
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, cur) < 0)
		return -1;
	return 0;
}

static void write_result(json_t *pending, const char *result)
{
	char p[4200], t[4200];
	path_in(p, sizeof(p), "update-result.json");
	path_in(t, sizeof(t), "update-result.json.tmp");
	json_t *r = json_pack("{s:O?, s:O?, s:s, s:I}", "from", json_object_get(pending, "from"),
			      "to", json_object_get(pending, "to"), "result", result, "time",
			      (json_int_t)time(NULL));
	if (json_dump_file(r, t, JSON_COMPACT) == 0)
		rename(t, p);
	json_decref(r);
	path_in(p, sizeof(p), "update-pending.json");
	unlink(p);
}

/* The version the running supervisor wrote to run/ready, or "". */
static void read_ready(char *out, size_t len)
{
	char p[4200];
	path_in(p, sizeof(p), "run/ready");
	FILE *f = fopen(p, "r");
	*out = '\0';
	if (f) {
		if (!fgets(out, (int)len, f))
			*out = '\0';
		fclose(f);
	}
	out[strcspn(out, "\n")] = '\0';
}

static pid_t launch_start(char **argv, const char *self)
{
	char cur[4200], ready[4200];
	path_in(cur, sizeof(cur), "current/zentrale");
	path_in(ready, sizeof(ready), "run/ready");
	unlink(ready);
	const char *exe = access(cur, X_OK) == 0 ? cur : self;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setenv("ZENTRALE_SUPERVISOR", "1", 1);
		execv(exe, argv);
		fprintf(stderr, "zentrale: cannot run %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Started as root: the data dir goes to the server's account, and so does
 * the launcher, keeping only the right to bind low ports and to make the
 * VPN's tun device, which the supervisor it starts inherits (and gives to
 * no child). Nothing of a release ever runs as root. */
static int launch_unprivileged(const char *datadir, const char *user)
{
	uid_t uid;
	gid_t gid;
	if (core_proc_lookup_user(user, &uid, &gid) < 0)
		return -1;
	if (mkdir(datadir, 0750) < 0 && errno != EEXIST) {
		fprintf(stderr, "zentrale: cannot create %s: %s\n", datadir, strerror(errno));
		return -1;
	}
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)) || chdir(datadir) < 0)
		return -1;
	sup_setup_chown(uid, gid);
	/* The VPN's openvpn runs as the account and must open the tun control
	 * device, which containers leave to root alone. */
	if ((mkdir("run", 0750) == 0 || errno == EEXIST) && chown("run", uid, gid) == 0 &&
	    vpn_tun_node_make("run/net-tun", uid, gid) < 0)
		fprintf(stderr, "zentrale: no tun device for the VPN: %s\n", strerror(errno));
	if (chown(".", uid, gid) < 0 || chdir(cwd) < 0)
		return -1;
	if (core_proc_drop_privileges(uid, gid, true) < 0 || core_proc_pass_net() < 0) {
		fprintf(stderr, "zentrale: cannot leave root: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int sup_launch(const char *datadir, const char *user, char **argv)
{
	if (geteuid() == 0 && launch_unprivileged(datadir, user) < 0)
		return 1;
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	if (datadir[0] == '/')
		snprintf(data, sizeof(data), "%s", datadir);
	else if (getcwd(data, sizeof(data) - strlen(datadir) - 2))
		snprintf(data + strlen(data), sizeof(data) - strlen(data), "/%s", datadir);
	core_proc_set_title("launcher", NULL);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);

	for (;;) {
		char pending_path[4200];
		path_in(pending_path, sizeof(pending_path), "update-pending.json");
		json_t *pending = json_load_file(pending_path, 0, NULL);
		const char *to = json_string_value(json_object_get(pending, "to"));
		char cur[4200], target[256] = "", want[300];
		path_in(cur, sizeof(cur), "current");
		ssize_t tl = readlink(cur, target, sizeof(target) - 1);
		target[tl > 0 ? tl : 0] = '\0';
		snprintf(want, sizeof(want), "releases/%s", to ? to : "");
		if (pending && strcmp(target, want) != 0) {
			/* cut off before the switch: the old release stays, whole */
			launch_log("an update to %s was interrupted before the switch%s", to, "");
			write_result(pending, "interrupted");
			json_decref(pending);
			pending = NULL;
			to = NULL;
		}
		json_int_t limit = json_integer_value(json_object_get(pending, "health_timeout"));
		if (limit < 5 || limit > 600)
			limit = SUP_UPDATE_TRIAL;
		time_t deadline = time(NULL) + (time_t)limit;
		char secs[24];
		snprintf(secs, sizeof(secs), "%lld", (long long)limit);
		if (pending)
			launch_log("starting version %s on trial (%s s to become healthy)", to,
				   secs);
		pid_t pid = launch_start(argv, self);
		if (pid < 0) {
			json_decref(pending);
			return 1;
		}
		bool stopping = false, committed = !pending, trial_failed = false;
		time_t term_at = 0;
		int status = 0;
		for (;;) {
			struct timespec ts = {0, 200000000}; /* 0.2 s: readiness is seen soon */
			siginfo_t si;
			int sig = sigtimedwait(&set, &si, &ts);
			if (sig == SIGCHLD) {
				if (waitpid(pid, &status, WNOHANG) == pid)
					break;
			} else if (sig > 0) {
				stopping = true;
				kill(pid, sig);
			}
			if (!committed) {
				char v[64];
				read_ready(v, sizeof(v));
				if (*v && to && strcmp(v, to) == 0) {
					committed = true;
					write_result(pending, "updated");
					launch_log("version %s is healthy: update done", to, NULL);
				} else if (!term_at && (time(NULL) > deadline || *v)) {
					launch_log("version %s did not become healthy (%s); "
						   "stopping it",
						   to,
						   *v ? "it says it is another version"
						      : "in time");
					trial_failed = true;
					term_at = time(NULL);
					kill(pid, SIGTERM);
				}
			}
			if (term_at && time(NULL) > term_at + LAUNCH_KILL_GRACE)
				kill(pid, SIGKILL);
		}
		if (stopping && !trial_failed) {
			json_decref(pending);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (!committed) { /* the new release failed: back to the previous one */
			const char *prev = json_string_value(json_object_get(pending, "previous"));
			launch_log("version %s failed; rolling back to %s", to,
				   json_string_value(json_object_get(pending, "from")));
			if (sup_switch_current(data, prev ? prev : "") < 0)
				launch_log("cannot switch back: %s", strerror(errno), NULL);
			write_result(pending, "rolled back");
			json_decref(pending);
			continue;
		}
		json_decref(pending);
		if (WIFEXITED(status) && WEXITSTATUS(status) == SUP_EXIT_UPDATE)
			continue; /* a new release is switched in: start it */
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
}
