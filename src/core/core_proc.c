/* core_proc — see core_proc.h. */
#include "core_proc.h"

#include <bsd/unistd.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core_log.h"

static int proc_argv0_len;

void core_proc_title_init(int argc, char **argv)
{
	extern char **environ;
	proc_argv0_len = argc > 0 ? (int)strlen(argv[0]) : 0;
	setproctitle_init(argc, argv, environ);
}

void core_proc_set_title(const char *role, const char *name)
{
	char title[128];
	snprintf(title, sizeof(title), "zentrale: %s%s%s", role, name ? " " : "", name ? name : "");
	/* libbsd marks a title shorter than the original argv[0] with a '.';
	 * padding with spaces keeps `ps` output clean. */
	int pad = proc_argv0_len - (int)strlen(title);
	/* A leading '-' tells libbsd not to prepend the program name. */
	setproctitle("-%s%*s", title, pad > 0 ? pad : 0, "");
	prctl(PR_SET_NAME, role, 0, 0, 0);
}

int core_proc_lookup_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		log_error("user '%s' does not exist; create it with: useradd --system "
			  "--no-create-home --shell /usr/sbin/nologin %s (scripts/deps.sh does)",
			  user, user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* What the supervisor keeps: binding low ports, and the VPN's tun device. */
static const cap_value_t proc_net_caps[] = {CAP_NET_BIND_SERVICE, CAP_NET_ADMIN};
#define PROC_NET_CAPS (int)(sizeof(proc_net_caps) / sizeof(proc_net_caps[0]))

static int proc_set_caps(bool keep_net)
{
	cap_t caps = cap_init();
	if (!caps)
		return -1;
	if (keep_net) {
		cap_set_flag(caps, CAP_PERMITTED, PROC_NET_CAPS, proc_net_caps, CAP_SET);
		cap_set_flag(caps, CAP_EFFECTIVE, PROC_NET_CAPS, proc_net_caps, CAP_SET);
	}
	int r = cap_set_proc(caps);
	cap_free(caps);
	return r;
}

int core_proc_pass_net(void)
{
	cap_t caps = cap_get_proc();
	int r = caps &&
				cap_set_flag(caps, CAP_INHERITABLE, PROC_NET_CAPS, proc_net_caps,
					     CAP_SET) == 0 &&
				cap_set_proc(caps) == 0
			? 0
			: -1;
	for (int i = 0; r == 0 && i < PROC_NET_CAPS; i++)
		r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, proc_net_caps[i], 0, 0);
	if (caps)
		cap_free(caps);
	return r;
}

void core_proc_clear_ambient(void)
{
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

int core_proc_drop_privileges(uid_t uid, gid_t gid, bool keep_net)
{
	if (keep_net && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -1;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		log_error("cannot drop privileges: %s", strerror(errno));
		return -1;
	}
	if (proc_set_caps(keep_net) < 0) {
		log_error("cannot set capabilities: %s", strerror(errno));
		return -1;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return 0;
}

void core_proc_drop_capabilities(void)
{
	if (geteuid() != 0) {
		cap_t caps = cap_get_proc();
		cap_flag_value_t v = CAP_CLEAR;
		for (int i = 0; caps && i < PROC_NET_CAPS && v == CAP_CLEAR; i++)
			cap_get_flag(caps, proc_net_caps[i], CAP_PERMITTED, &v);
		cap_free(caps);
		if (v == CAP_SET)
			proc_set_caps(false);
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

void core_proc_die_with_parent(void)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
}

long core_proc_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > CORE_PROC_MAX_FILES
			      ? CORE_PROC_MAX_FILES
			      : rl.rlim_max;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (long)rl.rlim_cur;
}
