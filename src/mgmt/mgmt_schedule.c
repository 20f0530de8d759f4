/*
 * mgmt_schedule — daily backups: at a set local time, a backup of the
 * whole server or of one phone system, keeping the newest `keep` of the
 * scheduled ones. Kept in system.db (setting backup_schedule). A day whose
 * time passed while the server was down gets its backup when it is up
 * again, as anacron would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../core/core_names.h"
#include "mgmt.h"

#define SCHEDULE_KEY   "backup_schedule"
#define SCHEDULE_CHECK 5 /* seconds between two looks at the clock */

static json_t *schedule_get(struct mgmt *m)
{
	char v[1024];
	json_t *j = core_db_setting_get(m->db, SCHEDULE_KEY, v, sizeof(v)) == 0
			    ? json_loads(v, 0, NULL)
			    : NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		j = json_pack("{s:b, s:s, s:i, s:n, s:b, s:I}", "enabled", 0, "time", "03:00",
			      "keep", 7, "phone_system", "media", 0, "last_run", (json_int_t)0);
	}
	return j;
}

/* Today's moment of the scheduled time, local time. */
static time_t schedule_today(const char *hhmm, time_t now)
{
	struct tm tm;
	localtime_r(&now, &tm);
	tm.tm_hour = atoi(hhmm);
	tm.tm_min = atoi(hhmm + 3);
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

static void schedule_tick(evutil_socket_t fd, short what, void *arg)
{
	struct mgmt *m = arg;
	(void)fd;
	(void)what;
	json_t *s = schedule_get(m);
	time_t now = time(NULL);
	const char *hhmm = json_string_value(json_object_get(s, "time"));
	time_t due = hhmm ? schedule_today(hhmm, now) : 0;
	if (m->state && json_is_true(json_object_get(s, "enabled")) && now >= due &&
	    json_integer_value(json_object_get(s, "last_run")) < due) {
		const char *ps = json_string_value(json_object_get(s, "phone_system"));
		json_object_set_new(s, "last_run", json_integer(now));
		char *text = json_dumps(s, JSON_COMPACT);
		core_db_setting_set(m->db, SCHEDULE_KEY, text); /* once, even if it fails */
		free(text);
		mgmt_backup_start(m, NULL, ps, NULL, json_is_true(json_object_get(s, "media")),
				  (int)json_integer_value(json_object_get(s, "keep")));
	}
	json_decref(s);
}

void mgmt_schedule_start(struct mgmt *m)
{
	m->schedule_timer = event_new(m->child.base, -1, EV_PERSIST, schedule_tick, m);
	struct timeval tv = {SCHEDULE_CHECK, 0};
	if (m->schedule_timer)
		evtimer_add(m->schedule_timer, &tv);
}

void mgmt_backup_schedule_api(struct mgmt *m, struct core_httpd_req *req)
{
	json_t *s = schedule_get(m);
	if (strcmp(req->method, "PUT") == 0) {
		json_t *b = core_httpd_json_body(req);
		if (!b) {
			json_decref(s);
			return;
		}
		json_t *en = json_object_get(b, "enabled"), *t = json_object_get(b, "time");
		json_t *keep = json_object_get(b, "keep"), *ps = json_object_get(b, "phone_system");
		json_t *media = json_object_get(b, "media");
		const char *tv = json_string_value(t), *why = NULL;
		if (en && !json_is_boolean(en))
			why = "enabled: true or false";
		else if (t && !(tv && strlen(tv) == 5 && tv[2] == ':' && atoi(tv) < 24 &&
				atoi(tv + 3) < 60 && strspn(tv, "0123456789:") == 5))
			why = "time: HH:MM (local time of the server)";
		else if (keep && (!json_is_integer(keep) || json_integer_value(keep) < 1 ||
				  json_integer_value(keep) > 365))
			why = "keep: 1 to 365";
		else if (ps && !json_is_null(ps) &&
			 (!json_is_string(ps) || core_name_problem(json_string_value(ps))))
			why = "phone_system: a name, or null for the whole server";
		else if (media && !json_is_boolean(media))
			why = "media: true or false";
		if (why) {
			json_decref(b);
			json_decref(s);
			core_httpd_respond_error(req, 400, why);
			return;
		}
		const char *keys[] = {"enabled", "time", "keep", "phone_system", "media"};
		for (int i = 0; i < 5; i++)
			if (json_object_get(b, keys[i]))
				json_object_set(s, keys[i], json_object_get(b, keys[i]));
		/* a time set now counts from now: no backup for an earlier moment
		 * today, but the minute it is now still counts (due at once) */
		if (t || en)
			json_object_set_new(s, "last_run", json_integer(time(NULL) - 60));
		char *text = json_dumps(s, JSON_COMPACT);
		int r = text ? core_db_setting_set(m->db, SCHEDULE_KEY, text) : -1;
		free(text);
		json_decref(b);
		if (r < 0) {
			json_decref(s);
			core_httpd_respond_error(req, 500, "could not save the schedule");
			return;
		}
		log_info("backup schedule: %s", json_is_true(json_object_get(s, "enabled"))
							? "daily backups on"
							: "daily backups off");
	} else if (strcmp(req->method, "GET") != 0) {
		json_decref(s);
		core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	core_httpd_respond_json(req, 200, s);
}
