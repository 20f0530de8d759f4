/*
 * mgmt_logs — GET /api/v1/logs: recent lines of the server's log file
 * (written by the supervisor), filtered by process, phone system and
 * level, and followed by asking again with the offset of the last answer:
 * with `wait`, such a request is held until a wanted line is written or the
 * seconds have passed (long polling, as `journalctl -f` over HTTP), checked
 * every LOG_POLL_MS for every held request.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mgmt.h"

#define LOG_PATH      "log/zentrale.log"
#define LOG_MAX_LINES 5000
#define LOG_MAX_READ  (2 * 1024 * 1024)
#define LOG_MAX_WAIT  60  /* seconds a follower may be held */
#define LOG_POLL_MS   250 /* how often held requests look for new lines */

static int level_rank(const char *l)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++)
		if (strcmp(l, names[i]) == 0)
			return i;
	return -1;
}

/* "TIME [PID] ROLE[ NAME]: LEVEL: MESSAGE" into JSON; other lines (a
 * sanitizer report, say) are kept whole as an error of the supervisor. */
static json_t *log_parse(char *line)
{
	char *sp = strchr(line, ' ');
	char *rb = sp && sp[1] == '[' ? strchr(sp, ']') : NULL;
	char *who = rb && rb[1] == ' ' ? rb + 2 : NULL;
	char *c1 = who ? strstr(who, ": ") : NULL;
	char *c2 = c1 ? strstr(c1 + 2, ": ") : NULL;
	if (!c2 || level_rank((*c2 = '\0', c1 + 2)) < 0) {
		if (c2)
			*c2 = ':';
		return json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "time", "", "pid", 0, "process",
				 "", "phone_system", "", "level", "error", "message", line);
	}
	*sp = *c1 = '\0';
	char *name = strchr(who, ' ');
	if (name)
		*name++ = '\0';
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "time", line, "pid", atoi(sp + 2),
			 "process", who, "phone_system", name ? name : "", "level", c1 + 2,
			 "message", c2 + 2);
}

static bool log_wanted(json_t *l, const char *proc, const char *ps, int min_level)
{
	if (*proc && strcmp(json_string_value(json_object_get(l, "process")), proc) != 0)
		return false;
	if (*ps && strcmp(json_string_value(json_object_get(l, "phone_system")), ps) != 0)
		return false;
	return level_rank(json_string_value(json_object_get(l, "level"))) >= min_level;
}

/* Reads the wanted lines of req's query; false with the request answered
 * if the query is bad or the log unreadable. */
static bool logs_read(struct core_httpd_req *req, json_t **lines_out, long long *offset)
{
	char v[128], proc[32] = "", ps[64] = "", level[16] = "debug";
	int lines = core_httpd_query(req, "lines", v, sizeof(v)) == 0 ? atoi(v) : 100;
	long long after = core_httpd_query(req, "after", v, sizeof(v)) == 0 ? atoll(v) : -1;
	core_httpd_query(req, "process", proc, sizeof(proc));
	core_httpd_query(req, "phone_system", ps, sizeof(ps));
	core_httpd_query(req, "level", level, sizeof(level));
	if (lines < 1 || lines > LOG_MAX_LINES || level_rank(level) < 0) {
		core_httpd_respond_error(req, 400,
					 "lines must be 1 to 5000 and level one of debug, info, "
					 "warn, error");
		return false;
	}
	*lines_out = json_array();
	*offset = 0;
	int fd = open(LOG_PATH, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return true;
	}
	/* Following: from the given offset (from the start after a rotation). */
	off_t from = after >= 0 ? (after <= st.st_size ? after : 0) : st.st_size - LOG_MAX_READ;
	if (from < 0)
		from = 0;
	if (st.st_size - from > LOG_MAX_READ)
		from = st.st_size - LOG_MAX_READ;
	size_t n = (size_t)(st.st_size - from);
	char *buf = malloc(n + 1);
	ssize_t got = buf ? pread(fd, buf, n, from) : -1;
	close(fd);
	if (got < 0) {
		free(buf);
		json_decref(*lines_out);
		core_httpd_respond_error(req, 500, "could not read the log");
		return false;
	}
	buf[got] = '\0';
	/* Only whole lines; a partial last line is left for the next call. */
	char *end = strrchr(buf, '\n');
	size_t used = end ? (size_t)(end - buf) + 1 : 0;
	buf[used] = '\0';
	char *start = buf;
	if (after < 0 && from > 0) { /* started mid-line */
		char *nl = strchr(buf, '\n');
		start = nl ? nl + 1 : buf + used;
	}
	json_t *out = *lines_out;
	for (char *save = NULL, *l = strtok_r(start, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		json_t *j = log_parse(l);
		if (j && log_wanted(j, proc, ps, level_rank(level)))
			json_array_append_new(out, j);
		else
			json_decref(j);
		if (json_array_size(out) > (size_t)lines)
			json_array_remove(out, 0);
	}
	free(buf);
	*offset = (long long)(from + (off_t)used);
	return true;
}

struct log_waiter {
	struct log_waiter *next;
	uint64_t id;	 /* the held request */
	bool local;	 /* on the control socket rather than HTTPS */
	double deadline; /* answer, even with nothing, at this time (monotonic s) */
};

/* Whole seconds would end a wait of 2 s after anything from 1 to 2 s. */
static double logs_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct core_httpd_req *waiter_req(struct mgmt *m, const struct log_waiter *w)
{
	return core_httpd_find(w->local ? m->local : m->http, w->id);
}

/* Answers the held requests that have lines now or have waited enough. */
static void logs_poll(evutil_socket_t fd, short what, void *arg)
{
	struct mgmt *m = arg;
	(void)fd;
	(void)what;
	double now = logs_now();
	for (struct log_waiter **pw = &m->log_waiters; *pw;) {
		struct log_waiter *w = *pw;
		struct core_httpd_req *req = waiter_req(m, w);
		json_t *lines = NULL;
		long long off;
		bool done = !req;
		if (req) {
			if (!logs_read(req, &lines, &off)) {
				done = true;
			} else if (json_array_size(lines) > 0 || now >= w->deadline) {
				core_httpd_respond_json(
					req, 200,
					json_pack("{s:o, s:I}", "lines", lines, "offset", off));
				lines = NULL;
				done = true;
			}
		}
		json_decref(lines);
		if (done) {
			*pw = w->next;
			free(w);
			m->nlog_waiters--;
		} else {
			pw = &w->next;
		}
	}
	if (!m->log_waiters)
		evtimer_del(m->log_timer);
}

void mgmt_logs_get(struct mgmt *m, struct core_httpd_req *req)
{
	char v[32];
	json_t *lines;
	long long off;
	int wait = core_httpd_query(req, "wait", v, sizeof(v)) == 0 ? atoi(v) : 0;
	if (wait < 0 || wait > LOG_MAX_WAIT) {
		core_httpd_respond_error(req, 400, "wait must be 0 to 60 seconds");
		return;
	}
	if (!logs_read(req, &lines, &off))
		return;
	bool following = core_httpd_query(req, "after", v, sizeof(v)) == 0;
	if (json_array_size(lines) > 0 || !wait || !following ||
	    m->nlog_waiters >= MGMT_MAX_LOG_WAITERS) {
		core_httpd_respond_json(req, 200,
					json_pack("{s:o, s:I}", "lines", lines, "offset", off));
		return;
	}
	json_decref(lines);
	struct log_waiter *w = calloc(1, sizeof(*w));
	if (!m->log_timer)
		m->log_timer = event_new(m->child.base, -1, EV_PERSIST, logs_poll, m);
	if (!w || !m->log_timer) {
		free(w);
		core_httpd_respond_error(req, 503, "out of memory");
		return;
	}
	*w = (struct log_waiter){m->log_waiters, req->id, req->local, logs_now() + wait};
	m->log_waiters = w;
	m->nlog_waiters++;
	if (!evtimer_pending(m->log_timer, NULL)) {
		struct timeval tv = {0, LOG_POLL_MS * 1000};
		evtimer_add(m->log_timer, &tv);
	}
}

void mgmt_logs_free(struct mgmt *m)
{
	while (m->log_waiters) {
		struct log_waiter *w = m->log_waiters;
		m->log_waiters = w->next;
		free(w);
	}
	if (m->log_timer)
		event_free(m->log_timer);
}
