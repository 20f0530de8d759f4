/*
 * sup_log — the server's one log. Every child's stderr is a pipe to the
 * supervisor, which copies each line to its own stderr and appends it to
 * log/zentrale.log, rotating to zentrale.log.1 past SUP_LOG_MAX bytes. One
 * writer means no interleaved lines and no rotation races; the management
 * API reads the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "../core/core_log.h"
#include "supervisor.h"

#define SUP_LOG_PATH "log/zentrale.log"
#define SUP_LOG_OLD  "log/zentrale.log.1"
#define SUP_LOG_MAX  (16 * 1024 * 1024)
#define SUP_LOG_LINE 8192 /* longer lines are cut */

static int log_fd = -1;
static off_t log_size;

/* The pipes from children, so the last lines are kept at shutdown. */
#define SUP_LOG_PIPES 1024
static struct bufferevent *log_pipes[SUP_LOG_PIPES];

static void log_rotate(void)
{
	close(log_fd);
	rename(SUP_LOG_PATH, SUP_LOG_OLD);
	log_fd = open(SUP_LOG_PATH, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	log_size = 0;
}

/* Writes one finished line (ending in '\n') to stderr and the log file. */
static void log_emit(const char *line, size_t len)
{
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
	if (log_fd < 0)
		return;
	if (log_size + (off_t)len > SUP_LOG_MAX)
		log_rotate();
	if (log_fd >= 0 && write(log_fd, line, len) == (ssize_t)len)
		log_size += (off_t)len;
}

/* A child's line, n bytes without its end: control characters escaped
 * (a child's own log lines are already; what else it writes, not). */
static void log_emit_child(const char *line, size_t n)
{
	char *esc = malloc(4 * n + 2);
	if (!esc)
		return;
	size_t len = core_log_escape(line, n, esc);
	esc[len++] = '\n';
	log_emit(esc, len);
	free(esc);
}

int sup_log_open(struct sup *s)
{
	log_fd = open(SUP_LOG_PATH, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (log_fd < 0) {
		log_error("cannot open %s: %s", SUP_LOG_PATH, strerror(errno));
		return -1;
	}
	if (s->uid && fchown(log_fd, s->uid, s->gid) < 0)
		log_warn("cannot chown %s: %s", SUP_LOG_PATH, strerror(errno));
	struct stat st;
	log_size = fstat(log_fd, &st) == 0 ? st.st_size : 0;
	core_log_set_sink(log_emit);
	return 0;
}

static void pipe_on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	const char *program = arg;
	char *line;
	size_t n;
	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF))) {
		if (n > SUP_LOG_LINE)
			n = SUP_LOG_LINE;
		if (program) { /* not ours: made a line of the supervisor's */
			line[n] = '\0';
			log_info("%s: %s", program, line);
		} else {
			log_emit_child(line, n);
		}
		free(line);
	}
	/* A line without an end that is already too long is written in parts. */
	while (evbuffer_get_length(in) >= SUP_LOG_LINE) {
		char part[SUP_LOG_LINE];
		evbuffer_remove(in, part, SUP_LOG_LINE);
		log_emit_child(part, SUP_LOG_LINE);
	}
}

static void pipe_on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	/* The child is gone: keep what it wrote last, even without a newline. */
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);
	if (n > 0 && n <= SUP_LOG_LINE) {
		char part[SUP_LOG_LINE];
		evbuffer_remove(in, part, n);
		log_emit_child(part, n);
	}
	for (int i = 0; i < SUP_LOG_PIPES; i++)
		if (log_pipes[i] == bev)
			log_pipes[i] = NULL;
	bufferevent_free(bev);
}

void sup_log_watch(struct sup *s, int fd, const char *program)
{
	struct bufferevent *bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, pipe_on_read, NULL, pipe_on_event, (void *)program);
	bufferevent_enable(bev, EV_READ);
	for (int i = 0; i < SUP_LOG_PIPES; i++) {
		if (!log_pipes[i]) {
			log_pipes[i] = bev;
			break;
		}
	}
}

void sup_log_close(struct sup *s)
{
	/* Children are gone: what they wrote last is still in the pipes. */
	event_base_loop(s->base, EVLOOP_NONBLOCK);
	for (int i = 0; i < SUP_LOG_PIPES; i++) {
		if (log_pipes[i]) {
			void *program;
			bufferevent_getcb(log_pipes[i], NULL, NULL, NULL, &program);
			pipe_on_read(log_pipes[i], program);
			pipe_on_event(log_pipes[i], BEV_EVENT_EOF, NULL);
		}
	}
	core_log_set_sink(NULL);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}
