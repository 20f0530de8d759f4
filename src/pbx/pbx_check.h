/*
 * pbx_check — the checks of what the API names things with, one place for
 * each rule, shared by the users' and the ring groups' API (pbx_users.c,
 * pbx_groups_api.c): an extension, a name shown to people, the keys a JSON
 * object may have. Each returns NULL, or why the value is refused (a
 * message for a 400).
 */
#ifndef PBX_CHECK_H
#define PBX_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* 1 to 15 digits. */
const char *pbx_check_extension(const char *s);
/* 1 to 100 characters, no control characters; field names it in the
 * message (valid until the next call). */
const char *pbx_check_name(const char *s, const char *field);
/* Are all of o's keys among keys[0..n)? */
bool pbx_check_keys(json_t *o, const char *const *keys, size_t n);

#endif
