/*
 * sbc_public — what HTTPS on 443 answers itself, for no phone system: a
 * short landing page at "/" that names the product and nothing else (no
 * list of phone systems, no version), and the server's certificate — the
 * one this very TLS context presents — at /certificate.pem and
 * /certificate.crt (DER), for phones and softphones that are to trust it.
 * Neither path can be a phone system's: names never contain a dot, and
 * the empty name is none.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/core_cert.h"
#include "sbc.h"

static const char landing[] =
	"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>Zentrale</title></head>\n<body>\n<h1>Zentrale</h1>\n"
	"<p>A phone system server. Each phone system has its own address here, "
	"<code>/&lt;name&gt;/</code>; ask its administrator for yours.</p>\n"
	"<p lang=\"de\">Ein Server f\xc3\xbcr Telefonanlagen. Jede Telefonanlage hat hier ihre "
	"eigene Adresse, <code>/&lt;Name&gt;/</code>; ihr Administrator nennt Ihnen Ihre.</p>\n"
	"<p>This server's certificate, to install on a phone as trusted: "
	"<a href=\"/certificate.pem\">certificate.pem</a>, "
	"<a href=\"/certificate.crt\">certificate.crt</a> (DER).</p>\n"
	"</body></html>\n";

/* path: the request target without its query; len: up to '?' or '#'. */
bool sbc_public_find(struct sbc *sbc, const char *path, size_t len, struct sbc_public_answer *a)
{
	memset(a, 0, sizeof(*a));
	a->status = 200;
	if (len == 1 && path[0] == '/') {
		a->type = "text/html; charset=utf-8";
		a->headers = "Content-Security-Policy: default-src 'none'; frame-ancestors "
			     "'none'\r\nX-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n";
		a->body = (unsigned char *)landing;
		a->len = sizeof(landing) - 1;
		return true;
	}
	bool pem = len == 16 && memcmp(path, "/certificate.pem", 16) == 0;
	bool der = len == 16 && memcmp(path, "/certificate.crt", 16) == 0;
	if (!pem && !der)
		return false;
	X509 *crt = sbc->tls ? SSL_CTX_get0_certificate(sbc->tls) : NULL;
	if (core_cert_encode(crt, pem, &a->body, &a->len) < 0) {
		a->status = 500;
		a->type = "text/plain; charset=utf-8";
		a->body = (unsigned char *)"the certificate cannot be encoded\n";
		a->len = strlen((char *)a->body);
		return true;
	}
	a->owned = true;
	a->type = pem ? "application/x-pem-file" : "application/pkix-cert";
	a->headers = pem ? "Content-Disposition: attachment; filename=\"certificate.pem\"\r\n"
			 : "Content-Disposition: attachment; filename=\"certificate.crt\"\r\n";
	return true;
}
