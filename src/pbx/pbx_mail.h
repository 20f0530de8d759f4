/*
 * pbx_mail — email of new voicemail (pbx_mail_voicemail, pbx_vm.h): the
 * phone system's SMTP relay settings (settings table: smtp_host,
 * smtp_port, smtp_security starttls|tls|none, smtp_username,
 * smtp_password, smtp_from, smtp_verify) and the message itself, built by
 * a pure function (pbx_mail_build, in pbx_mail_msg.c) and sent with libcurl on a worker
 * thread of our own (one, with a bounded queue), so neither a slow relay
 * nor a dead one ever holds up calls. STARTTLS and TLS verify the relay's
 * certificate unless smtp_verify is "0" (a relay with a self-signed one).
 */
#ifndef PBX_MAIL_H
#define PBX_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define PBX_MAIL_QUEUE 16 /* messages waiting to be sent; beyond: dropped, logged */
/* A larger recording is not attached (relays refuse such mail; the queue's
 * memory stays bounded): the email says where to listen to it. */
#define PBX_MAIL_ATTACH_MAX (8u << 20)

struct pbx;

struct pbx_mail_msg {
	const char *from, *to; /* addresses, checked by the API */
	const char *lang;      /* "en" or "de" */
	const char *caller, *caller_name, *extension, *system;
	time_t received;
	int duration_ms;
	const void *wav; /* NULL: no attachment */
	size_t wav_len;
	long long id;
	const char *boundary, *message_id; /* random in use; fixed by tests */
};

/* The whole message (RFC 5322 headers, MIME multipart/mixed: the text and
 * the WAV, both base64) in a malloc'd NUL-terminated buffer; NULL if out
 * of memory. Pure. */
char *pbx_mail_build(const struct pbx_mail_msg *m, size_t *len);
/* RFC 4648 base64 of in, lines of 76 characters (line_len 0: one line). */
char *pbx_mail_base64(const void *in, size_t n, size_t line_len, size_t *len);
/* An address as the API accepts it: local@domain, printable ASCII, no
 * spaces, quotes or angle brackets, at most 254 characters. */
bool pbx_mail_address_ok(const char *s);
/* Ends a message being sent (within a second), drops the queue (each
 * logged as not sent); at the process's end. */
void pbx_mail_free(void);

#endif
