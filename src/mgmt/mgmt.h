/*
 * mgmt — the management process: the HTTPS API on 8443 and its web UI. It
 * keeps the admin accounts and sessions in system.db; anything that changes
 * processes, phone systems or sockets it asks the supervisor for, and it
 * answers reads from the state table the supervisor sends.
 */
#ifndef MGMT_H
#define MGMT_H

#include <stdbool.h>

#include <sqlite3.h>

#include "../core/core_child.h"
#include "../core/core_httpd.h"
#include "../core/core_login.h"
#include "../core/core_ops.h"
#include "../core/core_state.h"
#include "../core/core_work.h"

/* Worker threads for password checks, and the jobs they may have
 * outstanding (beyond: 503); backups get one thread of their own. */
#define MGMT_WORK_THREADS 2
#define MGMT_WORK_QUEUE	  64
#define MGMT_SLOW_QUEUE	  4

struct mgmt {
	sqlite3 *db;
	struct core_child child;
	struct core_httpd *http;
	struct core_httpd *local; /* CLI_SOCKET (run/mgmt.sock): trusted as the admin (SSH, ctl) */
	struct core_login login;
	struct core_work *work; /* password checks (core_login) */
	struct core_work *slow; /* backups: seconds each, one at a time */
	json_t *busy;		/* phone system → "backup" or "restore" running now */
	json_t *pending;	/* request id → {extra, audit}: for its reply (mgmt_admins.c) */
	json_t *state;		/* last IPC_STATE from the supervisor */
	struct core_state st;	/* the same, decoded (core_state.h) */
	json_t *sip_blocks;	/* address → until: the SBC's blocks (IPC_BLOCKS) */
	json_t *stats;		/* "role/name" → last IPC_STATS of that process */
	struct log_waiter *log_waiters; /* GET /logs?wait=… held for new lines */
	int nlog_waiters;
	struct event *log_timer;
	struct event *schedule_timer; /* daily backups */
	SSL_CTX *tls;
};

int mgmt_main(void);
/* mgmt_api.c */
void mgmt_api_handle(struct core_httpd_req *req, void *arg);
/* mgmt_request.c: shared by the request handlers. */
/* The request's method is method (GET also matches HEAD). */
bool mgmt_method_is(const struct core_httpd_req *req, const char *method);
/* Splits "/ID[/ACTION]" (what follows a collection's path): ID into id ("" if
 * it does not fit), and returns ACTION ("" if none). */
const char *mgmt_path_id(const char *rest, char *id, size_t idlen);
/* Answers with body as a download named filename, never cached. */
void mgmt_respond_download(struct core_httpd_req *req, const char *type, const char *filename,
			   const void *body, size_t len);
/* The same with the whole file at path: 404 with `missing` if it is not
 * there or larger than max bytes. */
void mgmt_respond_file(struct core_httpd_req *req, const char *path, long long max,
		       const char *type, const char *filename, const char *missing);
/* Sends an operation to the supervisor; its reply answers req. op is stolen. */
void mgmt_api_ask(struct mgmt *m, struct core_httpd_req *req, json_t *op);
/* Answers a request held for the supervisor's IPC_REPLY. */
void mgmt_api_reply(struct mgmt *m, struct core_ipc_msg *msg);
/* mgmt_admins.c: the server's administrators (/api/v1/admins[/{name}[/password]];
 * rest follows "/admins"), a phone system's admin-password reset; who is the
 * administrator asking, for the log. */
void mgmt_admins(struct mgmt *m, struct core_httpd_req *req, const char *rest, const char *who);
void mgmt_ps_admin_password(struct mgmt *m, struct core_httpd_req *req, const char *name,
			    const char *who);
bool mgmt_admin_exists(struct mgmt *m, const char *name);
/* mgmt_api_ask, and a successful reply gets the fields of extra (stolen;
 * NULL: none) and logs audit ("who did what"). */
void mgmt_api_ask_with(struct mgmt *m, struct core_httpd_req *req, json_t *op, json_t *extra,
		       const char *audit);
/* A reply came for id: its extra fields go into answer (NULL if the client has gone). */
void mgmt_admins_replied(struct mgmt *m, uint32_t id, int status, json_t *answer);
/* mgmt_access.c: blocked addresses, SSH keys. */
void mgmt_access_blocked(struct mgmt *m, struct core_httpd_req *req, const char *addr);
/* IPC_BLOCKS: changes to the SBC's blocks, or all of them. */
void mgmt_access_sip_blocks(struct mgmt *m, const struct core_ipc_msg *msg);
/* SBC blocks in force now. */
size_t mgmt_access_sip_blocked_count(struct mgmt *m, time_t now);
void mgmt_access_ssh(struct mgmt *m, struct core_httpd_req *req, const char *rest);
/* mgmt_logs.c: GET /api/v1/logs, held while following (?wait=). */
#define MGMT_MAX_LOG_WAITERS 64
void mgmt_logs_get(struct mgmt *m, struct core_httpd_req *req);
void mgmt_logs_free(struct mgmt *m);
/* mgmt_system.c: host and process figures for GET /api/v1/system. */
json_t *mgmt_system_info(struct mgmt *m);
/* A JSON array of items (stolen), sorted by the Unix time at key, newest first. */
json_t *mgmt_newest_first(json_t **items, size_t n, const char *key);
/* GET /api/v1/health, and the disk threshold it uses (setting health_min_disk_free). */
void mgmt_health(struct mgmt *m, struct core_httpd_req *req);
double mgmt_health_min_free_percent(struct mgmt *m);
/* mgmt_metrics.c: GET /metrics, the scrapers' token, and the figures
 * the SBC and the phone systems send. */
void mgmt_metrics_get(struct mgmt *m, struct core_httpd_req *req);
void mgmt_metrics_token(struct mgmt *m, struct core_httpd_req *req);
void mgmt_metrics_store(struct mgmt *m, const struct core_ipc_msg *msg);
/* mgmt_traces.c: /api/v1/traces[/{id}[/stop|/pcap]]; rest is what follows "/traces". */
void mgmt_traces(struct mgmt *m, struct core_httpd_req *req, const char *rest);
/* mgmt_backups.c: /api/v1/backups[...]; rest is what follows "/backups". */
void mgmt_backups(struct mgmt *m, struct core_httpd_req *req, const char *rest);
/* Starts a backup of phone system ps (NULL: the whole server), written by
 * the backup worker; req is answered when it is done (201 with its view),
 * or at once with 409 (a restore of it is running), 503 (queue full) or 500.
 * req NULL: a scheduled one, after which only the newest `keep` scheduled
 * ones are kept. */
void mgmt_backup_start(struct mgmt *m, struct core_httpd_req *req, const char *ps,
		       const char *passphrase, bool media, int keep);
/* The supervisor answered request id (a restore's end). */
void mgmt_backups_replied(struct mgmt *m, uint64_t id);
json_t *mgmt_backup_list(void);
void mgmt_backups_cleanup(void);
void mgmt_backups_retain(int keep);
/* For core_httpd_limits.allow: a larger body for authenticated uploads. */
#define MGMT_MAX_UPLOAD (256 * 1024 * 1024)
void mgmt_upload_allow(const struct http_msg *head, size_t *max_body, int *timeout, void *arg);
void mgmt_upload_allow_local(const struct http_msg *head, size_t *max_body, int *timeout,
			     void *arg);
/* mgmt_vpn.c: /api/v1/vpn[/clients[/{name}[/profile]]]; rest follows "/vpn". */
void mgmt_vpn(struct mgmt *m, struct core_httpd_req *req, const char *rest);
/* mgmt_update.c: /api/v1/update[/check|/settings]: signed system updates. */
void mgmt_update(struct mgmt *m, struct core_httpd_req *req, const char *rest);
/* mgmt_fetch.c: an HTTPS download into the file at path, at most max
 * bytes; cb gets NULL when it is whole, else why not. */
typedef void (*mgmt_fetch_cb)(void *arg, const char *err);
int mgmt_fetch_https(struct mgmt *m, const char *url, const char *ca_file, const char *path,
		     size_t max, mgmt_fetch_cb cb, void *arg, char *err, size_t errlen);
/* mgmt_schedule.c: daily backups. */
void mgmt_schedule_start(struct mgmt *m);
void mgmt_backup_schedule_api(struct mgmt *m, struct core_httpd_req *req);
/* mgmt_cert.c: /api/v1/certificate[/pem|/der]; rest follows "/certificate". */
void mgmt_cert(struct mgmt *m, struct core_httpd_req *req, const char *rest);
/* The interfaces, each with the services listening on it. */
json_t *mgmt_interfaces(struct mgmt *m);

#endif
