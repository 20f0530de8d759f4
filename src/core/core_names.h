/*
 * core_names — the one rule for phone-system names, which are also their
 * URL path segment and SIP domain: 2–63 characters of [a-z0-9-], no leading
 * or trailing '-', not a reserved word. Pure code.
 */
#ifndef CORE_NAMES_H
#define CORE_NAMES_H

/* NULL if name is acceptable, else the reason, for a person to read. */
const char *core_name_problem(const char *name);

/* NULL if d is an acceptable SIP domain alias (a lower-case DNS name), else why not. */
const char *core_domain_problem(const char *d);

#endif
