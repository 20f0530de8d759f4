/* pbx_main — a phone system's process: open pbx.db, serve HTTP on its Unix
 * socket; its prompts (pbx_prompts) live in the data directory's prompts/,
 * shared by every phone system and release. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../core/core_names.h"
#include "../core/core_net.h"
#include "../store/store.h"
#include "pbx.h"
#include "pbx_mail.h"
#include "pbx_media.h"
#include "pbx_prompts.h"
#include "pbx_sip.h"
#include "pbx_users.h"
#include "pbx_vm.h"

static void pbx_on_ipc(struct core_ipc *ipc, struct core_ipc_msg *msg, void *arg)
{
	(void)ipc;
	(void)arg;
	core_ipc_close_fds(msg);
}

/* Larger bodies for a logged-in administrator's uploads (prompts, greetings). */
static void pbx_allow(const struct http_msg *head, size_t *max_body, int *timeout, void *arg)
{
	pbx_prompts_allow(head, max_body, timeout, arg);
	pbx_vm_api_allow(head, max_body, timeout, arg);
}

int pbx_main(const char *name)
{
	struct pbx p = {.name = name, .started = time(NULL)};
	char path[256];

	if (!name || core_name_problem(name))
		core_fatal("pbx: invalid phone-system name");
	core_child_init(&p.child, "pbx", name, pbx_on_ipc, &p);

	snprintf(path, sizeof(path), "phone-systems/%s/pbx.db", name);
	if (store_pbx_open(path, &p.db) < 0)
		core_fatal("cannot open %s", path);
	char realm[96], cookie_path[80];
	snprintf(realm, sizeof(realm), "phone system %s", name);
	/* The UI's cookie goes to this phone system's path only, never to another's. */
	snprintf(cookie_path, sizeof(cookie_path), "/%s/", name);
	p.work = core_work_new(p.child.base, PBX_WORK_THREADS, PBX_WORK_QUEUE);
	if (!p.work || core_login_init(&p.login, p.db, p.work, realm, cookie_path) < 0 ||
	    pbx_registrar_init(&p.registrar, p.db, name) < 0 ||
	    !(p.registrar.state = pbx_regstate_new(p.child.base, p.db, name)) ||
	    !(p.prompts = pbx_prompts_new(&p, "prompts")))
		core_fatal("out of memory");
	pbx_users_accounts(&p); /* users log in with their own password too */

	/* The engine's internal address: loopback unless the environment names one. */
	const char *media_addr = getenv("ZENTRALE_MEDIA_ADDR");
	if (!(p.media = pbx_media_new(p.child.base,
				      media_addr && *media_addr ? media_addr : "127.0.0.1")))
		core_fatal("cannot start the media engine");

	snprintf(path, sizeof(path), "run/%s", name);
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		core_fatal("cannot create %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "run/%s/http.sock", name);
	int fd = core_net_listen_unix(path, 0660);
	if (fd < 0)
		core_fatal("cannot listen on %s: %s", path, strerror(-fd));

	struct core_httpd_limits lim = {.max_body = 1 << 20,
					.request_timeout = 30,
					.idle_timeout = 75,
					.max_connections = 1024,
					.local = true,
					.allow = pbx_allow};
	p.http = core_httpd_new(p.child.base, NULL, &lim, pbx_http_handle, &p);
	if (!p.http || core_httpd_listen(p.http, fd) < 0)
		core_fatal("cannot serve HTTP");
	snprintf(path, sizeof(path), "run/%s/sip.sock", name);
	fd = core_net_listen_unix(path, 0660);
	struct pbx_sip *sip = fd >= 0 ? pbx_sip_new(&p, fd) : NULL;
	if (!sip)
		core_fatal("cannot listen on %s", path);
	core_child_ready(&p.child);
	pbx_trunk_ipc_announce_db(&p);
	core_child_stats(&p.child, pbx_stats_collect, &p);
	log_info("serving HTTP and SIP in run/%s", name);
	core_child_run(&p.child);

	core_work_free(p.work); /* first: its jobs point to the login and the server */
	pbx_mail_free();	/* an email being sent gives up */
	pbx_sip_free(sip);
	p.calls = NULL;
	pbx_media_free(p.media); /* after pbx_sip: calls hold sessions */
	json_decref(p.stats.ended);
	json_decref(p.stats.trunks);
	core_httpd_free(p.http);
	pbx_prompts_free(p.prompts); /* after the server: no request asks it any more */
	core_login_free(&p.login);
	pbx_registrar_free(&p.registrar);
	pbx_regstate_free(p.registrar.state);
	core_db_close(p.db);
	core_child_free(&p.child);
	return 0;
}
