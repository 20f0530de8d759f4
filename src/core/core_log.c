/* core_log — see core_log.h. */
#include "core_log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char log_prefix[96] = "zentrale";
static int log_min_level = CORE_LOG_INFO;
static void (*log_sink)(const char *line, size_t len);

void core_log_set_sink(void (*sink)(const char *line, size_t len))
{
	log_sink = sink;
}

void core_log_init(const char *role, const char *name)
{
	if (name)
		snprintf(log_prefix, sizeof(log_prefix), "%s %s", role, name);
	else
		snprintf(log_prefix, sizeof(log_prefix), "%s", role);
	const char *dbg = getenv("ZENTRALE_DEBUG");
	log_min_level = dbg && *dbg == '1' ? CORE_LOG_DEBUG : CORE_LOG_INFO;
}

size_t core_log_escape(const char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = (const unsigned char *)in;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		bool c1 = b[i] == 0xc2 && i + 1 < n && b[i + 1] >= 0x80 && b[i + 1] <= 0x9f;
		if (b[i] >= 0x20 && b[i] != 0x7f && !c1) {
			out[o++] = (char)b[i];
			continue;
		}
		for (int k = 0; k < (c1 ? 2 : 1); k++) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[b[i + (size_t)k] >> 4];
			out[o++] = hex[b[i + (size_t)k] & 15];
		}
		i += c1;
	}
	out[o] = '\0';
	return o;
}

static void log_write(enum core_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char line[2048], esc[4 * sizeof(line) + 2];
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, sizeof(line),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ [%d] %s: %s: ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(tv.tv_usec / 1000), (int)getpid(), log_prefix, names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	size_t len = m < 0 ? (size_t)n : (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	/* One write per line so lines of several processes never interleave;
	 * what the message holds is escaped, so it stays one harmless line. */
	memcpy(esc, line, (size_t)n);
	len = (size_t)n + core_log_escape(line + n, len - (size_t)n, esc + n);
	esc[len++] = '\n';
	if (log_sink) {
		log_sink(esc, len);
		return;
	}
	ssize_t w = write(STDERR_FILENO, esc, len);
	(void)w;
}

void core_log(enum core_log_level level, const char *fmt, ...)
{
	if ((int)level < log_min_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_write(level, fmt, ap);
	va_end(ap);
}

void core_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_write(CORE_LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
