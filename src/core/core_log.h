/*
 * core_log — one line per event on stderr, prefixed with time, pid, the
 * process role and (for a phone system) its name. No I/O besides stderr.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stddef.h>

enum core_log_level { CORE_LOG_DEBUG, CORE_LOG_INFO, CORE_LOG_WARN, CORE_LOG_ERROR };

/* role: "supervisor", "mgmt", "sbc", "pbx"; name: phone system or NULL. */
void core_log_init(const char *role, const char *name);
void core_log(enum core_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Where finished lines go instead of stderr (the supervisor also keeps them). */
void core_log_set_sink(void (*sink)(const char *line, size_t len));
/* Copies n bytes of in to out with every control character written as
 * \xHH (C0, DEL, and C1 as UTF-8: C2 80–C2 9F), so no line of the log can
 * steer a terminal or be split; out needs 4 * n + 1 bytes. Returns the
 * length written (out is NUL-terminated). */
size_t core_log_escape(const char *in, size_t n, char *out);
/* For start-up misconfiguration only: logs and exits with status 1. */
void core_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define log_debug(...) core_log(CORE_LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  core_log(CORE_LOG_INFO, __VA_ARGS__)
#define log_warn(...)  core_log(CORE_LOG_WARN, __VA_ARGS__)
#define log_error(...) core_log(CORE_LOG_ERROR, __VA_ARGS__)

#endif
