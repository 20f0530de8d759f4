/*
 * pbx — one phone system's process. It owns the phone system's state and
 * logic and pbx.db, and listens only on Unix sockets in run/<name>/ that
 * the SBC reaches; nothing in it is reachable from the network directly.
 */
#ifndef PBX_H
#define PBX_H

#include <stdbool.h>

#include <sqlite3.h>
#include <time.h>

#include "../core/core_child.h"
#include "../core/core_httpd.h"
#include "../core/core_login.h"
#include "../core/core_work.h"
#include "pbx_registrar.h"

struct pbx {
	const char *name;
	time_t started;
	sqlite3 *db;
	struct core_child child;
	struct core_httpd *http;
	struct core_login login;
	struct core_work *work; /* password checks (core_login) */
	struct pbx_registrar registrar;
	struct pbx_calls *calls;     /* owned by pbx_sip */
	struct pbx_media *media;     /* the media engine (pbx_media.h) */
	struct pbx_prompts *prompts; /* prompts and music (pbx_prompts.h) */
	struct pbx_mwi *mwi;	     /* message waiting (pbx_vm.h), owned by pbx_sip */
	struct pbx_blf *blf;	     /* the dialog event package (pbx_blf.h), owned by pbx_sip */
	struct pbx_trunk_reg
		*trunk_reg; /* registrations, keep-alives (pbx_trunk_reg.h), pbx_sip's */
	struct {
		unsigned long long attempts, failures; /* calls ended since the start */
		json_t *ended;			       /* cause → count */
		/* trunk name → {"inbound"|"outbound" → {"calls", "answered", "seconds"}} */
		json_t *trunks;
	} stats;
};

/* Worker threads for password checks, and the jobs they may have outstanding. */
#define PBX_WORK_THREADS 2
#define PBX_WORK_QUEUE	 64

int pbx_main(const char *name);
/* pbx_stats.c: the figures sent for monitoring (IPC_STATS); call_ended
 * counts a call that has ended. */
json_t *pbx_stats_collect(void *pbx);
void pbx_stats_call_ended(struct pbx *p, const char *cause, bool answered);
/* A call over trunk trunk_id ended: counted per trunk and direction
 * ("inbound", "outbound"), with its talk time (seconds, 0 unanswered). */
void pbx_stats_trunk_call(struct pbx *p, long long trunk_id, const char *direction, bool answered,
			  long long seconds);
/* pbx_trunk_ipc.c: tell the supervisor (and so the SBC) the trunks
 * (IPC_TRUNKS): a prepared {"trunks":[…]}, or what pbx.db's trunks table
 * holds — at start, and after every change of it (the trunks API). */
void pbx_trunk_ipc_announce(struct pbx *p, const char *json);
int pbx_trunk_ipc_announce_db(struct pbx *p);
/* pbx_http.c: the phone system's web UI and API under /<name>/. */
void pbx_http_handle(struct core_httpd_req *req, void *arg);
/* pbx_http.c: a request that only reads (GET or HEAD)? */
bool pbx_http_is_get(const struct core_httpd_req *req);
/* pbx_http.c: ?limit=N&offset=M of a list (limit 1 to 1000, else 100;
 * offset 0 or more). */
void pbx_http_page(struct core_httpd_req *req, int *limit, int *offset);
/* pbx_me_api.c: a user's own API; rest is what follows "/api/v1/me". */
void pbx_me_handle(struct pbx *p, struct core_httpd_req *req, const char *rest);

#endif
