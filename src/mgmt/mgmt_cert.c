/*
 * mgmt_cert — /api/v1/certificate: the TLS certificate management presents
 * (the one of its own TLS context, read from certs/server.crt at start, as
 * the SBC's is), described for a person (core_cert), and as downloads — PEM
 * (/certificate/pem) and DER (/certificate/der, a .crt) — to install on a
 * phone or softphone as trusted. The SBC serves the same certificate
 * publicly at https://<server>/certificate.pem and .crt (sbc_public.c).
 */
#include <stdlib.h>
#include <string.h>

#include "../core/core_cert.h"
#include "mgmt.h"

static void cert_download(struct core_httpd_req *req, X509 *crt, bool pem)
{
	unsigned char *body;
	size_t len;
	if (core_cert_encode(crt, pem, &body, &len) < 0) {
		core_httpd_respond_error(req, 500, "the certificate cannot be encoded");
		return;
	}
	mgmt_respond_download(req, pem ? "application/x-pem-file" : "application/pkix-cert",
			      pem ? "zentrale-certificate.pem" : "zentrale-certificate.crt", body,
			      len);
	free(body);
}

void mgmt_cert(struct mgmt *m, struct core_httpd_req *req, const char *rest)
{
	X509 *crt = m->tls ? SSL_CTX_get0_certificate(m->tls) : NULL;
	bool pem = strcmp(rest, "/pem") == 0, der = strcmp(rest, "/der") == 0;
	if (*rest && !pem && !der) {
		core_httpd_respond_error(req, 404, "no such endpoint");
	} else if (!mgmt_method_is(req, "GET")) {
		core_httpd_respond_error(req, 405, "method not allowed");
	} else if (!crt) {
		core_httpd_respond_error(req, 503, "no certificate is in use");
	} else if (pem || der) {
		cert_download(req, crt, pem);
	} else {
		json_t *j = core_cert_describe(crt);
		if (j)
			core_httpd_respond_json(req, 200, j);
		else
			core_httpd_respond_error(req, 500, "the certificate cannot be read");
	}
}
