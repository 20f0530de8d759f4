/*
 * pbx_stats — what a phone system tells the supervisor for /metrics every
 * few seconds: devices registered now, calls in progress, calls ended
 * since the process started (all, failed, and by cause), and the media
 * engine's sessions and packets (pbx_media_stats), and each trunk's
 * registration and keep-alive round trip (pbx_trunk_reg). Counters start at
 * zero with the process, as Prometheus counters may.
 */
#include <string.h>
#include <time.h>

#include "pbx.h"
#include "pbx_call.h"
#include "pbx_media.h"
#include "pbx_trunk_reg.h"

/* Causes that are a normal end of an unanswered call, not a failure. */
static bool stats_normal(const char *cause)
{
	static const char *const normal[] = {"caller_hangup", "callee_hangup", "busy",
					     "declined",      "cancelled",     "no_answer"};
	for (size_t i = 0; i < sizeof(normal) / sizeof(normal[0]); i++)
		if (strcmp(cause, normal[i]) == 0)
			return true;
	return false;
}

void pbx_stats_call_ended(struct pbx *p, const char *cause, bool answered)
{
	p->stats.attempts++;
	if (!answered && !stats_normal(cause))
		p->stats.failures++;
	if (!p->stats.ended)
		p->stats.ended = json_object();
	json_t *n = json_object_get(p->stats.ended, cause);
	json_object_set_new(p->stats.ended, cause, json_integer(n ? json_integer_value(n) + 1 : 1));
}

void pbx_stats_trunk_call(struct pbx *p, long long trunk_id, const char *direction, bool answered,
			  long long seconds)
{
	sqlite3_stmt *st;
	char name[128] = "";
	if (sqlite3_prepare_v2(p->db, "SELECT name FROM trunks WHERE id=?", -1, &st, NULL) !=
	    SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, trunk_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (!name[0])
		return; /* deleted meanwhile: its figures went with it */
	if (!p->stats.trunks)
		p->stats.trunks = json_object();
	json_t *t = json_object_get(p->stats.trunks, name);
	if (!t)
		json_object_set_new(p->stats.trunks, name, t = json_object());
	json_t *d = json_object_get(t, direction);
	if (!d)
		json_object_set_new(t, direction,
				    d = json_pack("{s:I, s:I, s:I}", "calls", (json_int_t)0,
						  "answered", (json_int_t)0, "seconds",
						  (json_int_t)0));
	static const char *const keys[] = {"calls", "answered", "seconds"};
	json_int_t add[] = {1, answered, answered && seconds > 0 ? seconds : 0};
	for (int i = 0; i < 3; i++)
		json_object_set_new(
			d, keys[i],
			json_integer(json_integer_value(json_object_get(d, keys[i])) + add[i]));
}

static json_int_t stats_registrations(sqlite3 *db)
{
	sqlite3_stmt *st;
	json_int_t n = 0;
	if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM bindings WHERE expires>?", -1, &st,
			       NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

json_t *pbx_stats_collect(void *arg)
{
	struct pbx *p = arg;
	json_t *ended = p->stats.ended ? json_copy(p->stats.ended) : json_object();
	struct pbx_media_stats ms = {0};
	if (p->media)
		pbx_media_stats(p->media, &ms);
	json_t *trunk_calls = p->stats.trunks ? json_deep_copy(p->stats.trunks) : json_object();
	return json_pack("{s:I, s:i, s:I, s:I, s:o, s:i, s:I, s:I, s:I, s:I, s:o, s:o}",
			 "registrations", stats_registrations(p->db), "calls_active",
			 p->calls ? pbx_calls_active(p->calls) : 0, "call_attempts",
			 (json_int_t)p->stats.attempts, "call_failures",
			 (json_int_t)p->stats.failures, "calls_ended", ended, "media_sessions",
			 ms.sessions, "media_sent", (json_int_t)ms.sent, "media_received",
			 (json_int_t)ms.received, "media_lost", (json_int_t)ms.lost, "media_late",
			 (json_int_t)ms.late, "trunks", pbx_trunk_reg_stats(p), "trunk_calls",
			 trunk_calls);
}
