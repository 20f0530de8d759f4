/*
 * sup_traces — the SIP traces that run now (see src/sbc/sbc_trace.h): the
 * supervisor starts and stops them on management's request, keeps each
 * one's description in traces/<id>.json beside the pcap the SBC writes,
 * and tells the SBC which run through the state table. A trace does not
 * outlive the server: after a restart none runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../core/core_log.h"
#include "../core/core_names.h"
#include "../core/core_ops.h"
#include "supervisor.h"

#define TRACES_DIR "traces"

/* The running ones whose time is not up. */
json_t *sup_traces_active(struct sup *s)
{
	json_t *out = json_array(), *it;
	size_t i;
	time_t now = time(NULL);
	json_array_foreach(s->traces, i, it) if (json_integer_value(json_object_get(it, "until")) >
						 now) json_array_append(out, it);
	return out;
}

static int meta_write(const json_t *meta, const char *id)
{
	char path[128], tmp[136];
	snprintf(path, sizeof(path), TRACES_DIR "/%s.json", id);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(meta, tmp, JSON_COMPACT) < 0)
		return -1;
	return rename(tmp, path);
}

static json_t *meta_read(const char *id)
{
	char path[128];
	snprintf(path, sizeof(path), TRACES_DIR "/%s.json", id);
	return json_load_file(path, 0, NULL);
}

static void active_remove(struct sup *s, const char *id)
{
	json_t *it;
	size_t i;
	json_array_foreach(s->traces, i,
			   it) if (strcmp(json_string_value(json_object_get(it, "id")), id) == 0)
	{
		json_array_remove(s->traces, i);
		return;
	}
}

/* trace-start's fields: a phone system's name, a SIP user (optional),
 * seconds and max_bytes in bounds (defaults where not given). */
int sup_trace_check(struct sup *s, json_t *r, char *err, size_t errlen)
{
	const char *ps = json_string_value(json_object_get(r, "phone_system"));
	json_t *user = json_object_get(r, "user"), *secs = json_object_get(r, "seconds");
	json_t *max = json_object_get(r, "max_bytes");
	const char *u = json_string_value(user);
	json_int_t sc = secs ? json_integer_value(secs) : CORE_OP_TRACE_DEFAULT_SECONDS;
	json_int_t mb = max ? json_integer_value(max) : CORE_OP_TRACE_DEFAULT_BYTES;
	const char *why = NULL;
	(void)s;
	if (!ps || core_name_problem(ps))
		why = "phone_system: the name of a phone system";
	else if (user && !json_is_null(user) &&
		 (!u || !*u || strlen(u) > 64 ||
		  strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
			    "KLMNOPQRSTUVWXYZ0123456789._-+") != strlen(u)))
		why = "user: a SIP user name (letters, digits, ._-+)";
	else if ((secs && !json_is_integer(secs)) || sc < 1 || sc > CORE_OP_TRACE_MAX_SECONDS)
		why = "seconds: 1 to 3600";
	else if ((max && !json_is_integer(max)) || mb < CORE_OP_TRACE_MIN_BYTES ||
		 mb > CORE_OP_TRACE_MAX_BYTES)
		why = "max_bytes: 65536 to 52428800";
	return why ? (snprintf(err, errlen, "%s", why), 400) : 0;
}

/* After sup_trace_check. */
void sup_trace_start(struct sup *s, uint32_t id, json_t *r)
{
	const char *ps = json_string_value(json_object_get(r, "phone_system"));
	const char *user = json_string_value(json_object_get(r, "user"));
	json_t *sv = json_object_get(r, "seconds"), *mv = json_object_get(r, "max_bytes");
	json_int_t secs = sv ? json_integer_value(sv) : CORE_OP_TRACE_DEFAULT_SECONDS;
	json_int_t max = mv ? json_integer_value(mv) : CORE_OP_TRACE_DEFAULT_BYTES;
	if (user && !*user)
		user = NULL;
	struct sup_child *c = ps ? sup_child_find(s, ps) : NULL;
	if (!c || c->deleting) {
		sup_reply(s, id, 404, "no such phone system");
		return;
	}
	json_t *active = sup_traces_active(s);
	json_decref(s->traces);
	s->traces = active;
	if (json_array_size(s->traces) >= SUP_MAX_TRACES) {
		sup_reply(s, id, 409, "4 traces run already; stop one first");
		return;
	}
	if (mkdir(TRACES_DIR, 0750) < 0 && errno != EEXIST) {
		sup_reply(s, id, 500, "cannot create the traces directory");
		return;
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char tid[48], path[96];
	snprintf(tid, sizeof(tid), "%04d%02d%02d-%02d%02d%02d-%08x", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, randombytes_random());
	snprintf(path, sizeof(path), TRACES_DIR "/%s.pcap", tid);
	json_t *meta = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "id", tid, "phone_system",
				 ps, "user", user ? user : "", "started", (json_int_t)now, "until",
				 (json_int_t)(now + secs), "max_bytes", max, "path", path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 || meta_write(meta, tid) < 0) {
		if (fd >= 0)
			close(fd);
		json_decref(meta);
		sup_reply(s, id, 500, "cannot write the trace's files");
		return;
	}
	close(fd);
	if (s->uid && chown(path, s->uid, s->gid) < 0)
		log_warn("trace %s: chown: %s", tid, strerror(errno));
	json_array_append(s->traces, meta);
	log_info("SIP trace %s of %s%s%s started for %lld s", tid, ps, user ? " user " : "",
		 user ? user : "", (long long)secs);
	sup_broadcast_state(s);
	json_object_set_new(meta, "status", json_integer(201));
	sup_reply_json(s, id, meta);
}

void sup_trace_stop(struct sup *s, uint32_t id, json_t *r, bool delete)
{
	const char *tid = json_string_value(json_object_get(r, "id"));
	json_t *meta = core_trace_id_is_valid(tid) ? meta_read(tid) : NULL;
	if (!meta) {
		sup_reply(s, id, 404, "no such trace");
		return;
	}
	active_remove(s, tid);
	sup_broadcast_state(s);
	if (delete) {
		char path[128];
		snprintf(path, sizeof(path), TRACES_DIR "/%s.pcap", tid);
		unlink(path);
		snprintf(path, sizeof(path), TRACES_DIR "/%s.json", tid);
		unlink(path);
		log_info("SIP trace %s deleted", tid);
	} else if (!json_object_get(meta, "stopped")) {
		time_t now = time(NULL);
		if (now < json_integer_value(json_object_get(meta, "until")))
			json_object_set_new(meta, "stopped", json_integer(now));
		meta_write(meta, tid);
		log_info("SIP trace %s stopped", tid);
	}
	json_decref(meta);
	sup_reply(s, id, 200, NULL);
}
