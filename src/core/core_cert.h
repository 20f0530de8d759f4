/*
 * core_cert — a certificate as an administrator checks it: its subject,
 * names, validity, SHA-256 fingerprint, issuer and whether it signed
 * itself, as JSON (docs/api.md, "GET /certificate"); and its PEM and DER
 * encodings, for a phone or softphone that is to be told to trust it.
 * Pure: no I/O, no logging. Used by mgmt (the API) and the SBC (the public
 * download on 443), each for the certificate its own TLS context presents.
 */
#ifndef CORE_CERT_H
#define CORE_CERT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/x509.h>

/* {"subject", "subject_cn", "issuer", "names": ["DNS:…", "IP:…"],
 *  "not_before", "not_after" (Unix times), "sha256" (AB:CD:… as openssl x509
 *  -fingerprint prints it), "serial" (hex), "self_signed", "key"}, or NULL
 * when the certificate cannot be read (a new reference, the caller's). */
json_t *core_cert_describe(X509 *crt);

/* The certificate as PEM text (pem) or DER bytes, malloc'd into *out
 * (the caller frees it); 0, or -1 when it cannot be encoded. */
int core_cert_encode(X509 *crt, bool pem, unsigned char **out, size_t *len);

#endif
