/*
 * sip_dialled — what a phone dialled, from the user part of a Request-URI:
 * %-escapes undone (RFC 3261 19.1.2: phones send '#' as %23, some '*' as
 * %2A), and only what a keypad sends kept. Pure: no I/O.
 */
#ifndef SIP_DIALLED_H
#define SIP_DIALLED_H

#include <stddef.h>

#include "sip_msg.h"

/* user unescaped into out (NUL-terminated): its length, or -1 if it is
 * empty, has a bad escape, or holds anything but 0-9, '*' and '#' once
 * unescaped, or does not fit in cap (never cut). */
int sip_dialled_keys(struct sip_pl user, char *out, size_t cap);

#endif
