/*
 * sshd — the SSH process: administrator login on port 22 (on the
 * interfaces chosen for management) to the Zentrale CLI. The listening
 * process forks one process per connection, as OpenSSH does, so a session
 * can use libssh's blocking calls and can never stall another.
 *
 * Only `admin` logs in, with the management password (checked by the
 * management API, which also throttles failures per address) or with a
 * public key authorized through the API. Sessions get the CLI and nothing
 * else: no shell, no port or agent forwarding, no SFTP.
 */
#ifndef SSHD_H
#define SSHD_H

#define SSHD_MAX_SESSIONS 32
#define SSHD_LOGIN_GRACE  30 /* seconds to authenticate */
#define SSHD_MAX_AUTH	  6  /* failed attempts per connection */
/* Sessions one address may hold at once (core_connlimit): an administrator
 * needs a few; 8 addresses are needed to take all 32. A constant, as
 * management's per-address limit is. */
#define SSHD_MAX_PER_ADDRESS 4

int sshd_main(void);
/* Runs one connection in a forked process; returns the exit status. */
int sshd_session_run(int fd, const char *peer);

#endif
