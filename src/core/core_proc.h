/*
 * core_proc — what each process does about itself: its title in `ps`,
 * dropping root, and whether the server runs privileged.
 */
#ifndef CORE_PROC_H
#define CORE_PROC_H

#include <stdbool.h>
#include <sys/types.h>

void core_proc_title_init(int argc, char **argv);
/* `ps` shows "zentrale: <role>" or "zentrale: <role> <name>". */
void core_proc_set_title(const char *role, const char *name);
/* Looks up the unprivileged account; -1 with a message if it is missing. */
int core_proc_lookup_user(const char *user, uid_t *uid, gid_t *gid);
/* Switches to uid/gid. keep_net: keep CAP_NET_BIND_SERVICE (the supervisor
 * binds new listeners when interfaces change) and CAP_NET_ADMIN (it makes
 * the VPN's tun device); otherwise no capability. */
int core_proc_drop_privileges(uid_t uid, gid_t gid, bool keep_net);
/* After dropping with keep_net: programs this process executes keep those
 * two (ambient capabilities). */
int core_proc_pass_net(void);
/* Programs executed from now on get no capability. */
void core_proc_clear_ambient(void);
/* For children: no capabilities at all, no new privileges via exec. */
void core_proc_drop_capabilities(void);
/* Dies with the parent. */
void core_proc_die_with_parent(void);
/* Raises the soft limit on open files to the hard one (at most
 * CORE_PROC_MAX_FILES): 1024, the usual soft default, is far below the
 * connections the SBC is meant to hold. Returns the limit now in force. */
#define CORE_PROC_MAX_FILES 65536
long core_proc_raise_nofile(void);

#endif
