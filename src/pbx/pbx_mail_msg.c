/* pbx_mail_msg — the pure half of pbx_mail.h: the email of a voicemail
 * message (MIME, RFC 2047 subject, base64) and the address check. No I/O. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "pbx_mail.h"

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->failed = true; /* never cut: every caller's values are bounded */
	else
		put(b, tmp, (size_t)n);
}

char *pbx_mail_base64(const void *in, size_t n, size_t line_len, size_t *len)
{
	size_t raw = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(raw);
	if (!b64)
		return NULL;
	sodium_bin2base64(b64, raw, in, n, sodium_base64_VARIANT_ORIGINAL);
	size_t l = strlen(b64);
	if (!line_len) {
		*len = l;
		return b64;
	}
	char *out = malloc(l + (l / line_len + 1) * 2 + 1);
	if (!out) {
		free(b64);
		return NULL;
	}
	size_t o = 0;
	for (size_t i = 0; i < l; i += line_len) {
		size_t k = l - i < line_len ? l - i : line_len;
		memcpy(out + o, b64 + i, k);
		o += k;
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o] = '\0';
	free(b64);
	*len = o;
	return out;
}

/* An unstructured header's value as RFC 2047 encoded words (UTF-8, B),
 * each under 76 characters, folded: safe for any bytes of a caller's name
 * (no CR or LF reaches the header). */
static void put_encoded(struct buf *b, const char *s)
{
	size_t n = strlen(s), i = 0;
	if (!n)
		return;
	while (i < n) {
		size_t k = n - i < 45 ? n - i : 45;
		/* never split a UTF-8 sequence: back off continuation bytes */
		while (k > 1 && i + k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80)
			k--;
		size_t l;
		char *w = pbx_mail_base64(s + i, k, 0, &l);
		if (!w) {
			b->failed = true;
			return;
		}
		if (i)
			puts_(b, "\r\n ");
		puts_(b, "=?UTF-8?B?");
		put(b, w, l);
		puts_(b, "?=");
		free(w);
		i += k;
	}
}

/* The text part's strings per language. */
struct mail_text {
	const char *subject, *intro, *from, *unknown, *received, *length, *attached, *none;
};
static const struct mail_text text_en = {
	"New voicemail from %s",
	"You have a new voicemail message for extension %s.",
	"From",
	"unknown caller",
	"Received",
	"Length",
	"The recording is attached.",
	"Listen to it on your phone (*97) or in the web interface.",
};
static const struct mail_text text_de = {
	"Neue Sprachnachricht von %s",
	"Sie haben eine neue Sprachnachricht für die Nebenstelle %s.",
	"Von",
	"unbekannter Anrufer",
	"Empfangen",
	"Länge",
	"Die Aufnahme ist angehängt.",
	"Hören Sie sie am Telefon (*97) oder in der Weboberfläche an.",
};

/* "Name (100)", "100", or the word for an unknown caller; control
 * characters left out (a display name comes from the wire). */
static void who(const struct pbx_mail_msg *m, const struct mail_text *t, char *out, size_t cap)
{
	char name[160] = "";
	size_t o = 0;
	for (const char *c = m->caller_name ? m->caller_name : ""; *c && o + 1 < sizeof(name); c++)
		if ((unsigned char)*c >= 0x20 && *c != 0x7f)
			name[o++] = *c;
	name[o] = '\0';
	const char *num = m->caller && m->caller[0] ? m->caller : "";
	if (name[0] && num[0])
		snprintf(out, cap, "%s (%s)", name, num);
	else if (name[0] || num[0])
		snprintf(out, cap, "%s", name[0] ? name : num);
	else
		snprintf(out, cap, "%s", t->unknown);
}

char *pbx_mail_build(const struct pbx_mail_msg *m, size_t *len)
{
	const struct mail_text *t = m->lang && strcmp(m->lang, "de") == 0 ? &text_de : &text_en;
	struct buf b = {0};
	char caller[256], subject[320], date[64], when[64];
	struct tm tm;
	who(m, t, caller, sizeof(caller));
	snprintf(subject, sizeof(subject), t->subject, caller);
	gmtime_r(&m->received, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	localtime_r(&m->received, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);

	putf(&b, "From: %s\r\nTo: %s\r\nSubject: ", m->from, m->to);
	put_encoded(&b, subject);
	putf(&b,
	     "\r\nDate: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n"
	     "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
	     "This is a message in MIME format.\r\n",
	     date, m->message_id, m->boundary);

	struct buf txt = {0};
	putf(&txt, t->intro, m->extension);
	putf(&txt, "\r\n\r\n%s: %s\r\n%s: %s\r\n%s: %d:%02d\r\n\r\n%s\r\n", t->from, caller,
	     t->received, when, t->length, m->duration_ms / 60000, m->duration_ms / 1000 % 60,
	     m->wav ? t->attached : t->none);
	size_t l;
	char *enc = txt.failed ? NULL : pbx_mail_base64(txt.p, txt.len, 76, &l);
	free(txt.p);
	if (!enc)
		b.failed = true;
	putf(&b,
	     "\r\n--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
	     "Content-Transfer-Encoding: base64\r\n\r\n",
	     m->boundary);
	if (enc)
		put(&b, enc, l);
	free(enc);
	if (m->wav) {
		putf(&b,
		     "\r\n--%s\r\nContent-Type: audio/wav; name=\"voicemail-%lld.wav\"\r\n"
		     "Content-Disposition: attachment; filename=\"voicemail-%lld.wav\"\r\n"
		     "Content-Transfer-Encoding: base64\r\n\r\n",
		     m->boundary, m->id, m->id);
		enc = pbx_mail_base64(m->wav, m->wav_len, 76, &l);
		if (enc)
			put(&b, enc, l);
		else
			b.failed = true;
		free(enc);
	}
	putf(&b, "\r\n--%s--\r\n", m->boundary);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

bool pbx_mail_address_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	const char *at = s ? strrchr(s, '@') : NULL;
	if (n < 3 || n > 254 || !at || at == s || !at[1] || strchr(s, '@') != at)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr("\"<>()[]\\,;:", c))
			return false;
	}
	/* a domain of labels: no empty one, no leading or trailing dot */
	const char *d = at + 1;
	return d[0] != '.' && d[strlen(d) - 1] != '.' && !strstr(d, "..") && at[-1] != '.' &&
	       s[0] != '.';
}
