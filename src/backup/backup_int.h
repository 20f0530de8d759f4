/* backup_int — what the files of src/backup share, and nobody else. */
#ifndef BACKUP_INT_H
#define BACKUP_INT_H

#include <stdarg.h>
#include <stdio.h>

/* Writes why into err; -1. */
__attribute__((format(printf, 3, 4))) static inline int berr(char *err, size_t errlen,
							     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

#endif
