/*
 * core_names — the one rule for phone-system names, which are also their
 * URL path segment and SIP domain: 2–63 characters of [a-z0-9-], no leading
 * or trailing '-', not a reserved word; and the rule for SIP trace ids,
 * which the supervisor makes and mgmt and the supervisor take from
 * requests. Pure code.
 */
#ifndef CORE_NAMES_H
#define CORE_NAMES_H

#include <stdbool.h>

/* NULL if name is acceptable, else the reason, for a person to read. */
const char *core_name_problem(const char *name);

/* NULL if d is an acceptable SIP domain alias (a lower-case DNS name), else why not. */
const char *core_domain_problem(const char *d);

/* A SIP trace id: 8–48 characters of [a-z0-9-], so it is safe in a path. */
bool core_trace_id_is_valid(const char *id);

#endif
