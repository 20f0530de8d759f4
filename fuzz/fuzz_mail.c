/*
 * libFuzzer target for the email of a voicemail message (pbx_mail_msg.c):
 * a caller's name and number come from the wire, an address from the API.
 * Whatever they hold, the head of the email is only our header lines (an
 * encoded subject folded on " =?UTF-8?B?"), the attachment decodes back to
 * the very bytes, and an address the check takes has no byte that could
 * leave its header or SMTP command.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../src/pbx/pbx_mail.h"

static const char *const heads[] = {"From: ", "To: ",	      "Subject: ",	" =?UTF-8?B?",
				    "Date: ", "Message-ID: ", "MIME-Version: ", "Content-Type: "};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[512];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = '\0';
	char *split = strchr(text, '|');
	const char *number = "";
	if (split) {
		*split = '\0';
		number = split + 1;
	}
	struct pbx_mail_msg m = {.from = "pbx@example.com",
				 .to = "user@example.com",
				 .lang = size && data[0] & 1 ? "de" : "en",
				 .caller = number,
				 .caller_name = text,
				 .extension = "100",
				 .system = "acme",
				 .received = (time_t)(size * 7919),
				 .duration_ms = (int)size,
				 .wav = data,
				 .wav_len = size,
				 .id = 1,
				 .boundary = "zentrale-boundary",
				 .message_id = "x@acme"};
	size_t len;
	char *msg = pbx_mail_build(&m, &len);
	if (!msg)
		return 0;
	if (strlen(msg) != len)
		abort();
	/* the head: our lines only */
	char *end = strstr(msg, "\r\n\r\n");
	if (!end)
		abort();
	for (char *l = msg; l < end;) {
		bool ok = false;
		for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
			ok = ok || strncmp(l, heads[i], strlen(heads[i])) == 0;
		if (!ok)
			abort();
		char *e = strstr(l, "\r\n");
		if (e - l > 998)
			abort();
		l = e + 2;
	}
	/* the attachment: back to the bytes */
	char *att = strstr(msg, "Content-Type: audio/wav");
	char *b64 = att ? strstr(att, "\r\n\r\n") : NULL;
	char *stop = b64 ? strstr(b64 + 4, "\r\n--zentrale-boundary") : NULL;
	if (!stop)
		abort();
	b64 += 4;
	unsigned char *back = malloc(size + 1);
	size_t blen = 0;
	if (sodium_base642bin(back, size + 1, b64, (size_t)(stop - b64), "\r\n", &blen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    blen != size || (size && memcmp(back, data, size) != 0))
		abort();
	free(back);
	free(msg);

	if (pbx_mail_address_ok(text))
		for (const char *c = text; *c; c++)
			if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f ||
			    strchr("<>\"\\", *c))
				abort();
	return 0;
}
