/*
 * sshd_session — one SSH connection, in its own process: key exchange,
 * authentication of a server administrator (any of management's accounts,
 * by password; authorized keys log in as `admin`), one session channel, and the CLI run in a child
 * process on a pty (interactive) or on pipes (a command), whose exit status
 * goes back to the client. Everything else a client may ask for (port or
 * agent forwarding, X11, subsystems such as SFTP) is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utmp.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "../cli/cli.h"
#include "../core/core_log.h"
#include "../core/core_proc.h"
#include "../sshkeys/sshkeys.h"
#include "sshd.h"

#define CLI_MAX_WORDS 64

struct sess {
	ssh_session s;
	ssh_channel ch;
	ssh_event ev;
	const char *peer;
	struct cli api; /* for authentication through the management API */
	int authed;
	char admin[64]; /* the account logged in: its CLI names it to management */
	int failures;
	pid_t pid;
	bool have_pty;
	struct winsize ws;
	int pty_master, pty_slave;
	int in, out, err; /* child's stdin, stdout, stderr (our ends) */
	bool fds_added;
};

/* ---- authentication ---- */

static int sess_auth_password(ssh_session s, const char *user, const char *pw, void *arg)
{
	struct sess *x = arg;
	json_t *a = NULL;
	(void)s;
	/* The management API decides, and counts failures per address. */
	int st = cli_api(&x->api, "POST", "/login",
			 json_pack("{s:s, s:s}", "username", user, "password", pw), &a);
	json_decref(a);
	/* 200: an administrator's account (whose names are short and of a-z,
	 * 0-9, '.', '_', '-': nothing to escape in a header). */
	if (st == 200 && strlen(user) < sizeof(x->admin) && !strpbrk(user, "\r\n:")) {
		x->authed = 1;
		snprintf(x->admin, sizeof(x->admin), "%s", user);
		log_info("%s logged in from %s with a password", user, x->peer);
		return SSH_AUTH_SUCCESS;
	}
	x->failures++;
	log_info("failed SSH login as '%s' from %s%s", user, x->peer,
		 st == 429 ? " (throttled: address or account)" : "");
	if (st == 429)
		x->failures = SSHD_MAX_AUTH;
	return SSH_AUTH_DENIED;
}

/* Whether management lists a block of this address (its own, its prefix's). */
static bool sess_blocked(struct sess *x)
{
	json_t *a = NULL;
	char path[128];
	int n = snprintf(path, sizeof(path), "/blocked/%s", x->peer);
	if (n < 0 || (size_t)n >= sizeof(path) || strpbrk(x->peer, "/?#%"))
		return true; /* not an address: refuse */
	int st = cli_api(&x->api, "GET", path, NULL, &a);
	json_decref(a);
	return st != 404; /* 200 blocked; anything else, cannot tell: refuse */
}

static bool sess_key_authorized(struct sess *x, ssh_key key)
{
	json_t *a = NULL, *it;
	size_t i;
	bool ok = false;
	if (cli_api(&x->api, "GET", "/ssh/keys", NULL, &a) != 200) {
		json_decref(a);
		return false;
	}
	json_array_foreach(json_object_get(a, "authorized_keys"), i, it)
	{
		ssh_key k = NULL;
		const char *type = json_string_value(json_object_get(it, "type"));
		const char *b64 = json_string_value(json_object_get(it, "key"));
		if (ssh_pki_import_pubkey_base64(b64, ssh_key_type_from_name(type), &k) == SSH_OK &&
		    ssh_key_cmp(k, key, SSH_KEY_CMP_PUBLIC) == 0)
			ok = true;
		ssh_key_free(k);
		if (ok)
			break;
	}
	json_decref(a);
	return ok;
}

/* Keys log in as `admin`: only while that account exists. */
static bool sess_admin_exists(struct sess *x)
{
	json_t *a = NULL;
	int st = cli_api(&x->api, "GET", "/admins/admin", NULL, &a);
	json_decref(a);
	return st == 200;
}

static int sess_auth_pubkey(ssh_session s, const char *user, struct ssh_key_struct *key, char state,
			    void *arg)
{
	struct sess *x = arg;
	(void)s;
	if (strcmp(user, "admin") != 0 || sess_blocked(x) || !sess_admin_exists(x) ||
	    !sess_key_authorized(x, key))
		return SSH_AUTH_DENIED; /* clients try several keys: not a failure */
	if (state == SSH_PUBLICKEY_STATE_NONE)
		return SSH_AUTH_SUCCESS; /* "this key would do": the client now signs */
	if (state != SSH_PUBLICKEY_STATE_VALID) {
		x->failures++;
		return SSH_AUTH_DENIED;
	}
	x->authed = 1;
	snprintf(x->admin, sizeof(x->admin), "admin");
	log_info("admin logged in from %s with a public key", x->peer);
	return SSH_AUTH_SUCCESS;
}

static ssh_channel sess_channel_open(ssh_session s, void *arg)
{
	struct sess *x = arg;
	if (x->ch)
		return NULL; /* one session channel per connection */
	x->ch = ssh_channel_new(s);
	return x->ch;
}

/* ---- the channel ---- */

static int sess_pty(ssh_session s, ssh_channel ch, const char *term, int cols, int rows, int px,
		    int py, void *arg)
{
	struct sess *x = arg;
	(void)s;
	(void)ch;
	(void)term;
	if (x->have_pty || x->pid)
		return SSH_ERROR;
	x->ws = (struct winsize){.ws_row = (unsigned short)rows,
				 .ws_col = (unsigned short)cols,
				 .ws_xpixel = (unsigned short)px,
				 .ws_ypixel = (unsigned short)py};
	if (openpty(&x->pty_master, &x->pty_slave, NULL, NULL, &x->ws) != 0)
		return SSH_ERROR;
	fcntl(x->pty_master, F_SETFD, FD_CLOEXEC);
	x->have_pty = true;
	return SSH_OK;
}

static int sess_resize(ssh_session s, ssh_channel ch, int cols, int rows, int px, int py, void *arg)
{
	struct sess *x = arg;
	(void)s;
	(void)ch;
	x->ws = (struct winsize){.ws_row = (unsigned short)rows,
				 .ws_col = (unsigned short)cols,
				 .ws_xpixel = (unsigned short)px,
				 .ws_ypixel = (unsigned short)py};
	return x->have_pty ? ioctl(x->pty_master, TIOCSWINSZ, &x->ws) : SSH_ERROR;
}

/* In the child: the CLI on the pty or pipes; never returns. */
static void sess_child(struct sess *x, const char *command, int pin[2], int pout[2], int perr[2])
{
	close(ssh_get_fd(x->s));
	if (x->have_pty) {
		close(x->pty_master);
		if (login_tty(x->pty_slave) != 0)
			_exit(1);
	} else {
		setsid();
		dup2(pin[0], STDIN_FILENO);
		dup2(pout[1], STDOUT_FILENO);
		dup2(perr[1], STDERR_FILENO);
		for (int i = 0; i < 2; i++) {
			close(pin[i]);
			close(pout[i]);
			close(perr[i]);
		}
	}
	signal(SIGPIPE, SIG_DFL);
	struct cli c = {.socket = CLI_SOCKET,
			.client = x->peer,
			.admin = x->admin,
			.interactive = isatty(STDIN_FILENO) != 0};
	int rc;
	if (!command) {
		rc = cli_shell(&c);
	} else {
		char *words[CLI_MAX_WORDS];
		int n = cli_split(command, CLI_MAX_WORDS, words);
		if (n < 0) {
			fprintf(stderr, "error: unbalanced quotes\n");
			rc = CLI_USAGE;
		} else {
			rc = cli_exec(&c, n, words);
			cli_free_words(n, words);
		}
	}
	fflush(stdout);
	fflush(stderr);
	_exit(rc);
}

static int sess_start(struct sess *x, const char *command)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	if (x->pid)
		return SSH_ERROR;
	if (!x->have_pty &&
	    (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0))
		return SSH_ERROR;
	x->pid = fork();
	if (x->pid < 0) {
		x->pid = 0;
		return SSH_ERROR;
	}
	if (x->pid == 0)
		sess_child(x, command, pin, pout, perr);
	if (x->have_pty) {
		close(x->pty_slave);
		x->in = x->out = x->pty_master;
		x->err = -1;
	} else {
		close(pin[0]);
		close(pout[1]);
		close(perr[1]);
		x->in = pin[1];
		x->out = pout[0];
		x->err = perr[0];
	}
	log_info("%s of %s from %s: %s", command ? "command" : "interactive session", x->admin,
		 x->peer, command ? command : "CLI");
	return SSH_OK;
}

static int sess_shell(ssh_session s, ssh_channel ch, void *arg)
{
	(void)s;
	(void)ch;
	return sess_start(arg, NULL);
}

static int sess_exec(ssh_session s, ssh_channel ch, const char *command, void *arg)
{
	(void)s;
	(void)ch;
	return sess_start(arg, command);
}

static int sess_subsystem(ssh_session s, ssh_channel ch, const char *name, void *arg)
{
	struct sess *x = arg;
	(void)s;
	(void)ch;
	log_info("refused subsystem '%s' from %s", name, x->peer);
	return SSH_ERROR;
}

static int sess_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr,
		     void *arg)
{
	struct sess *x = arg;
	(void)s;
	(void)ch;
	(void)is_stderr;
	if (!x->pid || x->in < 0)
		return (int)len; /* nobody to read it: drop */
	ssize_t w = write(x->in, data, len);
	return w < 0 ? 0 : (int)w;
}

static void sess_eof(ssh_session s, ssh_channel ch, void *arg)
{
	struct sess *x = arg;
	(void)s;
	(void)ch;
	if (!x->have_pty && x->in >= 0) {
		close(x->in);
		x->in = -1;
	}
}

static int sess_copy(struct sess *x, int fd, bool to_stderr)
{
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		if (to_stderr)
			ssh_channel_write_stderr(x->ch, buf, (uint32_t)n);
		else
			ssh_channel_write(x->ch, buf, (uint32_t)n);
	}
	return (int)n;
}

static int sess_on_out(socket_t fd, int revents, void *arg)
{
	return revents & (POLLIN | POLLHUP) ? sess_copy(arg, fd, false) : 0;
}

static int sess_on_err(socket_t fd, int revents, void *arg)
{
	return revents & (POLLIN | POLLHUP) ? sess_copy(arg, fd, true) : 0;
}

/* After the child has gone: what it wrote last, then its exit status. */
static void sess_finish(struct sess *x, int status)
{
	int fds[2] = {x->out, x->err};
	for (int i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
		while (sess_copy(x, fds[i], i == 1) > 0)
			;
	}
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
	ssh_channel_request_send_exit_status(x->ch, rc);
	ssh_channel_send_eof(x->ch);
	ssh_channel_close(x->ch);
}

static void sess_close_fds(struct sess *x)
{
	int fds[] = {x->in, x->out, x->err};
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 && (i == 0 || fds[i] != fds[0]))
			close(fds[i]);
}

int sshd_session_run(int fd, const char *peer)
{
	struct sess x = {
		.peer = peer, .pty_master = -1, .pty_slave = -1, .in = -1, .out = -1, .err = -1};
	core_log_init("ssh-session", peer);
	core_proc_set_title("ssh-session", peer);
	x.api = (struct cli){.socket = CLI_SOCKET, .client = peer};
	alarm(SSHD_LOGIN_GRACE); /* the default action ends a connection that dawdles */

	ssh_bind b = ssh_bind_new();
	x.s = ssh_new();
	if (!b || !x.s ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY, SSHKEYS_HOSTKEY_ED25519) < 0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY, SSHKEYS_HOSTKEY_ECDSA) < 0 ||
	    ssh_bind_accept_fd(b, x.s, fd) != SSH_OK) {
		log_error("cannot set up an SSH session for %s", peer);
		close(fd);
		return 1;
	}
	struct ssh_server_callbacks_struct scb = {
		.userdata = &x,
		.auth_password_function = sess_auth_password,
		.auth_pubkey_function = sess_auth_pubkey,
		.channel_open_request_session_function = sess_channel_open,
	};
	struct ssh_channel_callbacks_struct ccb = {
		.userdata = &x,
		.channel_pty_request_function = sess_pty,
		.channel_pty_window_change_function = sess_resize,
		.channel_shell_request_function = sess_shell,
		.channel_exec_request_function = sess_exec,
		.channel_subsystem_request_function = sess_subsystem,
		.channel_data_function = sess_data,
		.channel_eof_function = sess_eof,
	};
	ssh_callbacks_init(&scb);
	ssh_callbacks_init(&ccb);
	ssh_set_server_callbacks(x.s, &scb);
	ssh_set_auth_methods(x.s, SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_PUBLICKEY);

	int rc = 1;
	if (ssh_handle_key_exchange(x.s) != SSH_OK) {
		log_info("key exchange with %s failed: %s", peer, ssh_get_error(x.s));
		goto out;
	}
	x.ev = ssh_event_new();
	ssh_event_add_session(x.ev, x.s);
	while (!(x.authed && x.ch)) {
		if (x.failures >= SSHD_MAX_AUTH || ssh_event_dopoll(x.ev, 1000) == SSH_ERROR)
			goto out;
		if (ssh_get_status(x.s) & (SSH_CLOSED | SSH_CLOSED_ERROR))
			goto out;
	}
	alarm(0);
	ssh_set_channel_callbacks(x.ch, &ccb);

	int status = 0;
	for (;;) {
		if (ssh_event_dopoll(x.ev, 250) == SSH_ERROR)
			break;
		if (x.pid && !x.fds_added) {
			ssh_event_add_fd(x.ev, x.out, POLLIN, sess_on_out, &x);
			if (x.err >= 0)
				ssh_event_add_fd(x.ev, x.err, POLLIN, sess_on_err, &x);
			x.fds_added = true;
		}
		if (x.pid && waitpid(x.pid, &status, WNOHANG) == x.pid) {
			if (x.fds_added) {
				ssh_event_remove_fd(x.ev, x.out);
				if (x.err >= 0)
					ssh_event_remove_fd(x.ev, x.err);
				x.fds_added = false;
			}
			sess_finish(&x, status);
			x.pid = 0;
			rc = 0;
			break;
		}
		if (!ssh_channel_is_open(x.ch) ||
		    (ssh_get_status(x.s) & (SSH_CLOSED | SSH_CLOSED_ERROR)))
			break;
	}
	if (x.pid) { /* the client went away first */
		kill(x.pid, SIGHUP);
		kill(x.pid, SIGKILL);
		waitpid(x.pid, NULL, 0);
		if (x.fds_added) {
			ssh_event_remove_fd(x.ev, x.out);
			if (x.err >= 0)
				ssh_event_remove_fd(x.ev, x.err);
		}
	}
	/* Let the client read the end before we hang up. */
	for (int i = 0; i < 20 && !(ssh_get_status(x.s) & (SSH_CLOSED | SSH_CLOSED_ERROR)); i++)
		if (ssh_event_dopoll(x.ev, 100) == SSH_ERROR)
			break;
	log_info("session from %s ended", peer);
out:
	sess_close_fds(&x);
	if (x.ev)
		ssh_event_free(x.ev);
	ssh_disconnect(x.s);
	ssh_free(x.s);
	ssh_bind_free(b);
	return rc;
}
