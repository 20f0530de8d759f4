/*
 * sup_vpn — the phones' VPN on TCP 8885 (src/vpn/vpn.h): switched on and
 * off for mgmt, clients issued and revoked, Debian's openvpn run as the
 * server's account and restarted with backoff when it dies. The tun device
 * is made here before openvpn starts (CAP_NET_ADMIN, which the launcher
 * passes to the supervisor alone), and the SBC listens on its address too,
 * so a phone in the tunnel finds every SBC service at the tunnel's first
 * address.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../core/core_proc.h"
#include "../vpn/vpn.h"
#include "supervisor.h"

#define VPN_OPENVPN "/usr/sbin/openvpn"
#define VPN_CONF    "run/vpn.conf"
#define VPN_MGMT    "run/vpn.mgmt"
#define VPN_NODE    "run/net-tun" /* the launcher's copy of /dev/net/tun, if made */

static bool vpn_enabled(struct sup *s)
{
	char v[8];
	return core_db_setting_get(s->db, "vpn.enabled", v, sizeof(v)) == 0 && v[0] == '1';
}

static void vpn_setting(struct sup *s, const char *key, const char *dflt, char *buf, size_t len)
{
	if (core_db_setting_get(s->db, key, buf, len) < 0 || !buf[0])
		snprintf(buf, len, "%s", dflt);
}

/* The CRL from every revoked client in system.db. */
static int vpn_write_crl(struct sup *s)
{
	const char *serials[VPN_MAX_CLIENTS];
	char *owned[VPN_MAX_CLIENTS];
	int n = 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT serial FROM vpn_clients WHERE revoked IS NOT NULL",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (n < VPN_MAX_CLIENTS && sqlite3_step(st) == SQLITE_ROW) {
		owned[n] = strdup((const char *)sqlite3_column_text(st, 0));
		serials[n] = owned[n];
		n += owned[n] != NULL;
	}
	sqlite3_finalize(st);
	int r = vpn_pki_write_crl(VPN_DIR, serials, n);
	for (int i = 0; i < n; i++)
		free(owned[i]);
	return r;
}

/* The tun device with its address, the PKI, the CRL: all openvpn needs. */
static int vpn_prepare(struct sup *s, char *err, size_t errlen)
{
	char subnet[64];
	struct vpn_net net;
	vpn_setting(s, "vpn.subnet", VPN_DEFAULT_SUBNET, subnet, sizeof(subnet));
	if (vpn_subnet_parse(subnet, &net, err, errlen) < 0)
		return -1;
	if (access(VPN_OPENVPN, X_OK) < 0) {
		snprintf(err, errlen, "%s is missing: install Debian's package openvpn",
			 VPN_OPENVPN);
		return -1;
	}
	if (vpn_pki_ensure(VPN_DIR) < 0 || vpn_write_crl(s) < 0) {
		snprintf(err, errlen, "cannot create the VPN's certificates (see the log)");
		return -1;
	}
	if (vpn_tun_up(s->vpn.node, s->vpn.ifname, getuid(), getgid(), &net, err, errlen) < 0)
		return -1;
	s->vpn.up = true;
	s->vpn.net = net;
	vpn_addr_str(net.server, s->vpn.address, sizeof(s->vpn.address));
	return 0;
}

/* Where openvpn listens: where SIP over TLS does, but not in the tunnel. */
static const char *vpn_local(struct sup *s)
{
	for (int i = 0; i < s->nsockets; i++) {
		const char *a = s->sockets[i].addr;
		if (strcmp(s->sockets[i].service, "sip-tls") != 0 || strcmp(a, s->vpn.address) == 0)
			continue;
		return strcmp(a, "::") == 0 || strcmp(a, "0.0.0.0") == 0 ? NULL : a;
	}
	return NULL;
}

static void vpn_spawn(struct sup *s)
{
	int port = VPN_PORT + s->opt.port_offset, out[2];
	const char *local = vpn_local(s);
	snprintf(s->vpn.local, sizeof(s->vpn.local), "%s", local ? local : "");
	unlink(VPN_MGMT);
	if (vpn_server_config(VPN_CONF, VPN_DIR, s->vpn.ifname, s->vpn.node, &s->vpn.net, local,
			      port, VPN_MGMT) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0) {
		snprintf(s->vpn.error, sizeof(s->vpn.error), "cannot write %s", VPN_CONF);
		log_error("VPN: %s", s->vpn.error);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
		    dup2(out[1], STDERR_FILENO) < 0)
			_exit(127);
		core_proc_die_with_parent();
		core_proc_clear_ambient(); /* openvpn only attaches to the device made for it */
		execl(VPN_OPENVPN, "openvpn", "--config", VPN_CONF, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	if (pid < 0) {
		close(out[0]);
		snprintf(s->vpn.error, sizeof(s->vpn.error), "cannot start openvpn: %s",
			 strerror(errno));
		return;
	}
	sup_log_watch(s, out[0], "openvpn");
	s->vpn.pid = pid;
	s->vpn.error[0] = '\0';
	log_info("VPN: started openvpn (pid %d) on TCP port %d, tunnel %s/%d", (int)pid, port,
		 s->vpn.address, s->vpn.net.prefix);
	sup_broadcast_state(s);
}

static void vpn_on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct sup *s = arg;
	(void)fd;
	(void)what;
	if (s->vpn.up && !s->vpn.pid && !s->stopping)
		vpn_spawn(s);
}

bool sup_vpn_exited(struct sup *s, pid_t pid, int status)
{
	if (!pid || pid != s->vpn.pid)
		return false;
	s->vpn.pid = 0;
	if (s->stopping || !s->vpn.up) {
		log_info("VPN: openvpn stopped");
	} else {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		snprintf(s->vpn.error, sizeof(s->vpn.error),
			 "openvpn exited with status %d; restarting (see the log)", code);
		log_warn("VPN: %s", s->vpn.error);
		double delay = 1 << (s->vpn.restarts < 5 ? s->vpn.restarts : 5);
		s->vpn.restarts++;
		struct timeval tv = {.tv_sec = (time_t)delay};
		if (!s->vpn.restart_timer)
			s->vpn.restart_timer = evtimer_new(s->base, vpn_on_restart, s);
		evtimer_add(s->vpn.restart_timer, &tv);
	}
	sup_broadcast_state(s);
	return true;
}

/* Stops openvpn now: it exits within milliseconds. */
static void vpn_stop_now(struct sup *s)
{
	if (s->vpn.restart_timer)
		evtimer_del(s->vpn.restart_timer);
	if (s->vpn.pid > 0) {
		kill(s->vpn.pid, SIGTERM);
		int status, waited = 0;
		while (waitpid(s->vpn.pid, &status, WNOHANG) == 0) {
			if (waited++ == 300) /* 3 s */
				kill(s->vpn.pid, SIGKILL);
			usleep(10000);
		}
		s->vpn.pid = 0;
		log_info("VPN: openvpn stopped");
	}
}

/* openvpn stopped, the device removed. */
static void vpn_down(struct sup *s)
{
	vpn_stop_now(s);
	if (s->vpn.up && vpn_tun_remove(s->vpn.node, s->vpn.ifname) < 0)
		log_warn("VPN: cannot remove the device %s", s->vpn.ifname);
	s->vpn.up = false;
	s->vpn.address[0] = '\0';
}

void sup_vpn_start(struct sup *s)
{
	if (s->opt.port_offset)
		snprintf(s->vpn.ifname, sizeof(s->vpn.ifname), "zvpn%d", s->opt.port_offset);
	else
		snprintf(s->vpn.ifname, sizeof(s->vpn.ifname), "zentrale-vpn");
	snprintf(s->vpn.node, sizeof(s->vpn.node), "%s",
		 access(VPN_NODE, F_OK) == 0 ? VPN_NODE : "/dev/net/tun");
	if (!vpn_enabled(s)) {
		/* left by a supervisor that was killed while the VPN ran */
		if (if_nametoindex(s->vpn.ifname) &&
		    vpn_tun_remove(s->vpn.node, s->vpn.ifname) == 0)
			log_info("VPN: removed the device %s left from before", s->vpn.ifname);
		return;
	}
	if (vpn_prepare(s, s->vpn.error, sizeof(s->vpn.error)) < 0)
		log_error("VPN: %s", s->vpn.error);
}

void sup_vpn_spawn(struct sup *s)
{
	if (s->vpn.up && !s->vpn.pid)
		vpn_spawn(s);
}

void sup_vpn_relisten(struct sup *s)
{
	const char *local = vpn_local(s);
	if (s->vpn.pid <= 0 || strcmp(local ? local : "", s->vpn.local) == 0)
		return;
	log_info("VPN: the SBC's addresses changed; openvpn restarts on them");
	vpn_stop_now(s);
	vpn_spawn(s);
}

void sup_vpn_stop(struct sup *s)
{
	if (s->vpn.pid > 0)
		kill(s->vpn.pid, SIGTERM);
}

void sup_vpn_free(struct sup *s)
{
	vpn_down(s);
	if (s->vpn.restart_timer)
		event_free(s->vpn.restart_timer);
	s->vpn.restart_timer = NULL;
}

/* One command on openvpn's management socket; the answer up to a line
 * starting with one of the ends (or 1 s). Caller frees. */
static char *vpn_mgmt_ask(const char *cmd, const char *const *ends, int nends)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", VPN_MGMT);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 1};
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	size_t cap = 256 * 1024, len = 0;
	char *buf = malloc(cap);
	if (!buf || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		free(buf);
		close(fd);
		return NULL;
	}
	bool done = false;
	while (!done && len < cap - 1) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		for (int i = 0; i < nends && !done; i++) {
			const char *p = strstr(buf, ends[i]);
			done = p && (p == buf || p[-1] == '\n');
		}
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

static json_t *vpn_connected(struct sup *s)
{
	static const char *const ends[] = {"END\r\n"};
	char *text = s->vpn.pid > 0 ? vpn_mgmt_ask("status 2\n", ends, 1) : NULL;
	json_t *st = text ? vpn_status_parse(text, strlen(text)) : json_object();
	free(text);
	return st;
}

json_t *sup_vpn_describe(struct sup *s)
{
	char subnet[64], host[256];
	vpn_setting(s, "vpn.subnet", VPN_DEFAULT_SUBNET, subnet, sizeof(subnet));
	vpn_setting(s, "vpn.host", "", host, sizeof(host));
	return json_pack("{s:b, s:b, s:i, s:s, s:s, s:s, s:s, s:s}", "enabled", vpn_enabled(s),
			 "running", s->vpn.pid > 0, "port", VPN_PORT + s->opt.port_offset, "subnet",
			 subnet, "address", s->vpn.address, "host", host, "interface",
			 s->vpn.ifname, "error", s->vpn.error);
}

void sup_vpn_get(struct sup *s, uint32_t id)
{
	json_t *o = sup_vpn_describe(s), *list = json_array(), *conn = vpn_connected(s);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT name, created FROM vpn_clients WHERE revoked IS NULL "
			       "ORDER BY name",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			json_t *c = json_object_get(conn, name);
			json_array_append_new(list,
					      json_pack("{s:s, s:I, s:O?}", "name", name, "created",
							(json_int_t)sqlite3_column_int64(st, 1),
							"connected", c));
		}
		sqlite3_finalize(st);
	}
	json_decref(conn);
	json_object_set_new(o, "clients", list);
	json_object_set_new(o, "status", json_integer(200));
	sup_reply_json(s, id, o);
}

/* A host name or address phones use to reach the server. */
static bool vpn_host_ok(const char *h)
{
	size_t n = strlen(h);
	if (n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		      (h[i] >= '0' && h[i] <= '9') || h[i] == '.' || h[i] == '-' || h[i] == ':'))
			return false;
	return true;
}

/* Binds the listeners anew (the SBC's include the tunnel address when up). */
static int vpn_rebind(struct sup *s, char *err, size_t errlen)
{
	json_t *mg = sup_listen_config(s, "management"), *sb = sup_listen_config(s, "sbc");
	struct sup_socket fresh[SUP_MAX_SOCKETS];
	int n = 0;
	int rc = sup_listen_bind(s, mg, sb, fresh, &n, err, errlen);
	json_decref(mg);
	json_decref(sb);
	if (rc == 0)
		sup_listen_replace(s, fresh, n);
	return rc;
}

/* Brings the VPN to what the settings say; -1 with err if it cannot. */
static int vpn_apply(struct sup *s, char *err, size_t errlen)
{
	vpn_down(s);
	s->vpn.error[0] = '\0';
	s->vpn.restarts = 0;
	if (vpn_enabled(s) && vpn_prepare(s, err, errlen) < 0)
		return -1;
	if (vpn_rebind(s, err, errlen) < 0) {
		vpn_down(s);
		return -1;
	}
	sup_vpn_spawn(s);
	return 0;
}

void sup_vpn_set(struct sup *s, uint32_t id, json_t *r)
{
	json_t *en = json_object_get(r, "enabled"), *sn = json_object_get(r, "subnet"),
	       *ho = json_object_get(r, "host");
	char err[512];
	struct vpn_net net;
	if ((en && !json_is_boolean(en)) || (sn && !json_is_string(sn)) ||
	    (ho && (!json_is_string(ho) || !vpn_host_ok(json_string_value(ho))))) {
		sup_reply(s, id, 400,
			  "give enabled (true or false), subnet (like 10.88.0.0/24) and/or host "
			  "(the name or address phones reach this server at)");
		return;
	}
	if (sn && vpn_subnet_parse(json_string_value(sn), &net, err, sizeof(err)) < 0) {
		sup_reply(s, id, 400, err);
		return;
	}
	char old_en[8] = "0", old_sn[64] = "";
	core_db_setting_get(s->db, "vpn.enabled", old_en, sizeof(old_en));
	core_db_setting_get(s->db, "vpn.subnet", old_sn, sizeof(old_sn));
	bool was = vpn_enabled(s);
	if (ho)
		core_db_setting_set(s->db, "vpn.host", json_string_value(ho));
	if (en)
		core_db_setting_set(s->db, "vpn.enabled", json_is_true(en) ? "1" : "0");
	if (sn)
		core_db_setting_set(s->db, "vpn.subnet", json_string_value(sn));
	bool restart = (en && json_is_true(en) != was) || (sn && vpn_enabled(s));
	if (restart && vpn_apply(s, err, sizeof(err)) < 0) {
		log_warn("VPN: %s", err);
		core_db_setting_set(s->db, "vpn.enabled", old_en);
		core_db_setting_set(s->db, "vpn.subnet", old_sn);
		char again[512];
		if (vpn_apply(s, again, sizeof(again)) < 0)
			log_error("VPN: cannot go back to how it was: %s", again);
		sup_broadcast_state(s);
		sup_reply(s, id, 409, err);
		return;
	}
	if (restart)
		log_info("VPN %s", vpn_enabled(s) ? "switched on" : "switched off");
	sup_broadcast_state(s);
	sup_vpn_get(s, id);
}

void sup_vpn_client_add(struct sup *s, uint32_t id, json_t *r)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	char serial[80];
	sqlite3_stmt *st;
	if (!vpn_client_name_ok(name)) {
		sup_reply(s, id, 400,
			  "name: 1-64 letters, digits, '.', '_' or '-' (like desk-phone-12)");
		return;
	}
	int active = 0, same = 0;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT count(*), coalesce(sum(name=?),0) FROM vpn_clients WHERE "
			       "revoked IS NULL",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			active = sqlite3_column_int(st, 0);
			same = sqlite3_column_int(st, 1);
		}
		sqlite3_finalize(st);
	}
	if (same || active >= VPN_MAX_CLIENTS) {
		sup_reply(s, id, 409,
			  same ? "a VPN client with this name exists" : "too many VPN clients");
		return;
	}
	if (vpn_pki_ensure(VPN_DIR) < 0 ||
	    vpn_pki_issue(VPN_DIR, name, serial, sizeof(serial)) < 0) {
		sup_reply(s, id, 500, "cannot make the client's certificate (see the log)");
		return;
	}
	time_t now = time(NULL);
	int ok = sqlite3_prepare_v2(s->db,
				    "INSERT INTO vpn_clients(name, serial, created) VALUES(?,?,?)",
				    -1, &st, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, serial, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	if (!ok) {
		sup_reply(s, id, 500, "cannot record the client");
		return;
	}
	log_info("VPN: client %s added", name);
	sup_reply_json(s, id,
		       json_pack("{s:i, s:s, s:I}", "status", 201, "name", name, "created",
				 (json_int_t)now));
}

void sup_vpn_client_revoke(struct sup *s, uint32_t id, json_t *r)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	sqlite3_stmt *st;
	int changed = 0;
	if (name && vpn_client_name_ok(name) &&
	    sqlite3_prepare_v2(s->db,
			       "UPDATE vpn_clients SET revoked=strftime('%s','now') WHERE name=? "
			       "AND revoked IS NULL",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_DONE)
			changed = sqlite3_changes(s->db);
		sqlite3_finalize(st);
	}
	if (!changed) {
		sup_reply(s, id, 404, "no such VPN client");
		return;
	}
	/* Revoked first, so a reconnect is refused; then the tunnel is cut. */
	int crl = vpn_write_crl(s);
	char path[256], cmd[128];
	snprintf(path, sizeof(path), "%s/clients/%s.key", VPN_DIR, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/clients/%s.crt", VPN_DIR, name);
	unlink(path);
	if (s->vpn.pid > 0) {
		static const char *const ends[] = {"SUCCESS:", "ERROR:"};
		snprintf(cmd, sizeof(cmd), "kill %s\n", name);
		free(vpn_mgmt_ask(cmd, ends, 2));
	}
	log_info("VPN: client %s revoked", name);
	sup_reply(s, id, crl < 0 ? 500 : 200,
		  crl < 0 ? "revoked, but the revocation list could not be written" : NULL);
}
