/*
 * sup_update — the switch to a new release. Management has verified the
 * signed bundle and staged it whole under releases/<version>; here the
 * supervisor records the update as pending, points `current` at the new
 * release (one atomic rename), answers, stops every process and ends with
 * SUP_EXIT_UPDATE, for the launcher to start the new release on trial and
 * roll back if it does not become healthy (sup_launch.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/core_log.h"
#include "../core/core_version.h"
#include "supervisor.h"

static void update_go(evutil_socket_t fd, short what, void *arg)
{
	struct sup *s = arg;
	(void)fd;
	(void)what;
	log_info("restarting on the new release");
	sup_stop_all(s, SUP_EXIT_UPDATE);
}

void sup_update(struct sup *s, uint32_t id, json_t *r)
{
	const char *v = json_string_value(json_object_get(r, "version"));
	char rel[300], bin[320], prev[300] = "";
	if (!v || !*v || strlen(v) > 64 ||
	    strspn(v, "0123456789.-+abcdefghijklmnopqrstuvwxyz") != strlen(v) || strstr(v, "..")) {
		sup_reply(s, id, 400, "bad version");
		return;
	}
	snprintf(rel, sizeof(rel), "releases/%s", v);
	snprintf(bin, sizeof(bin), "%s/zentrale", rel);
	if (access(bin, X_OK) < 0) {
		sup_reply(s, id, 404, "that release is not staged");
		return;
	}
	if (s->stopping) {
		sup_reply(s, id, 409, "the server is stopping");
		return;
	}
	ssize_t n = readlink("current", prev, sizeof(prev) - 1);
	prev[n > 0 ? n : 0] = '\0';
	json_int_t limit = json_integer_value(json_object_get(r, "health_timeout"));
	json_t *p = json_pack("{s:s, s:s, s:s, s:I, s:I}", "from", ZENTRALE_VERSION, "to", v,
			      "previous", prev, "started", (json_int_t)time(NULL), "health_timeout",
			      limit >= 5 && limit <= 600 ? limit : (json_int_t)SUP_UPDATE_TRIAL);
	/* pending first: a power cut after the switch finds it and checks the new release */
	int ok = json_dump_file(p, "update-pending.json.tmp", JSON_COMPACT) == 0 &&
		 rename("update-pending.json.tmp", "update-pending.json") == 0;
	json_decref(p);
	if (!ok || sup_switch_current(".", rel) < 0) {
		unlink("update-pending.json");
		sup_reply(s, id, 500, "cannot switch to the new release");
		return;
	}
	log_info("switched to release %s (from %s); restarting", v, ZENTRALE_VERSION);
	sup_reply_json(
		s, id,
		json_pack("{s:i, s:s, s:s}", "status", 202, "from", ZENTRALE_VERSION, "to", v));
	/* a moment for the answer to leave before everything stops */
	struct timeval tv = {0, 300000};
	event_base_once(s->base, -1, EV_TIMEOUT, update_go, s, &tv);
}
