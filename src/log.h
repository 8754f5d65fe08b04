/* log: one line per event on stderr, with level and pid.
 *
 * Secrets (passwords, tokens, keys) are never passed to these functions.
 * Strings that come from clients go through log_quote() first. */
#ifndef AGENTAUTH_LOG_H
#define AGENTAUTH_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sets the threshold; messages above it are dropped. */
void log_set_level(enum log_level level);

/* Sends messages to syslog (facility daemon) instead of stderr when
 * use_syslog is non-zero. */
void log_set_syslog(int use_syslog);

/* Parses "error", "warn", "info" or "debug". Returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *level_r);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Copies untrusted text into buf (size bufsize, always terminated) with
 * control characters, quotes, backslashes and bytes >= 0x7f written as \xHH,
 * cut to fit.  Returns buf. */
const char *log_quote(char *buf, size_t bufsize, const char *s, size_t len);

#endif
