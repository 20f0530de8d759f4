/* core_cert — see core_cert.h. */
#include "core_cert.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* A name in RFC 2253 form ("CN=pbx,O=Zentrale"), as `openssl x509 -nameopt
 * RFC2253` prints it; NULL on error. */
static json_t *cert_name(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	json_t *out = NULL;
	char *text;
	if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
		long n = BIO_get_mem_data(b, &text);
		out = json_stringn(text, (size_t)(n > 0 ? n : 0));
	}
	BIO_free(b);
	return out;
}

static json_t *cert_cn(const X509_NAME *name)
{
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	ASN1_STRING *s = i < 0 ? NULL : X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	unsigned char *utf8 = NULL;
	int n = s ? ASN1_STRING_to_UTF8(&utf8, s) : -1;
	json_t *out = n >= 0 ? json_stringn((const char *)utf8, (size_t)n) : json_null();
	OPENSSL_free(utf8);
	return out ? out : json_null();
}

/* The subject alternative names: "DNS:name" and "IP:address" (others are
 * left out: a phone matches only these). */
static json_t *cert_names(X509 *crt)
{
	json_t *out = json_array();
	GENERAL_NAMES *gens = X509_get_ext_d2i(crt, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char addr[INET6_ADDRSTRLEN];
		if (g->type == GEN_DNS) {
			const ASN1_IA5STRING *s = g->d.dNSName;
			json_t *v = json_sprintf("DNS:%.*s", ASN1_STRING_length(s),
						 (const char *)ASN1_STRING_get0_data(s));
			if (v)
				json_array_append_new(out, v);
		} else if (g->type == GEN_IPADD) {
			const ASN1_OCTET_STRING *s = g->d.iPAddress;
			int n = ASN1_STRING_length(s);
			int af = n == 4 ? AF_INET : n == 16 ? AF_INET6 : 0;
			if (af && inet_ntop(af, ASN1_STRING_get0_data(s), addr, sizeof(addr)))
				json_array_append_new(out, json_sprintf("IP:%s", addr));
		}
	}
	GENERAL_NAMES_free(gens);
	return out;
}

static json_t *cert_time(const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return json_null();
	return json_integer((json_int_t)timegm(&tm));
}

static json_t *cert_sha256(X509 *crt)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[EVP_MAX_MD_SIZE * 3 + 1];
	if (X509_digest(crt, EVP_sha256(), md, &n) != 1 || n == 0)
		return NULL;
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
	return json_string(hex);
}

static json_t *cert_serial(X509 *crt)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(crt), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	json_t *out = hex ? json_string(hex) : json_null();
	OPENSSL_free(hex);
	BN_free(bn);
	return out ? out : json_null();
}

/* "EC P-256", "RSA 2048 bits", "ED25519" … */
static json_t *cert_key(X509 *crt)
{
	EVP_PKEY *k = X509_get0_pubkey(crt);
	char group[64];
	size_t glen = 0;
	if (!k)
		return json_null();
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &glen) == 1) {
		const char *nist = EC_curve_nid2nist(OBJ_sn2nid(group));
		return json_sprintf("EC %s", nist ? nist : group);
	}
	const char *type = EVP_PKEY_get0_type_name(k);
	return json_sprintf("%s %d bits", type ? type : "unknown", EVP_PKEY_get_bits(k));
}

json_t *core_cert_describe(X509 *crt)
{
	if (!crt)
		return NULL;
	json_t *subject = cert_name(X509_get_subject_name(crt));
	json_t *issuer = cert_name(X509_get_issuer_name(crt));
	json_t *sha = cert_sha256(crt);
	if (!subject || !issuer || !sha) {
		json_decref(subject);
		json_decref(issuer);
		json_decref(sha);
		return NULL;
	}
	return json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o}", "subject", subject,
		"subject_cn", cert_cn(X509_get_subject_name(crt)), "issuer", issuer, "names",
		cert_names(crt), "not_before", cert_time(X509_get0_notBefore(crt)), "not_after",
		cert_time(X509_get0_notAfter(crt)), "sha256", sha, "serial", cert_serial(crt),
		"self_signed", X509_self_signed(crt, 1) == 1, "key", cert_key(crt));
}

int core_cert_encode(X509 *crt, bool pem, unsigned char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (!crt)
		return -1;
	if (!pem) {
		unsigned char *der = NULL;
		int n = i2d_X509(crt, &der);
		if (n <= 0)
			return -1;
		*out = malloc((size_t)n);
		if (*out) {
			memcpy(*out, der, (size_t)n);
			*len = (size_t)n;
		}
		OPENSSL_free(der);
		return *out ? 0 : -1;
	}
	BIO *b = BIO_new(BIO_s_mem());
	char *text;
	long n;
	if (!b || PEM_write_bio_X509(b, crt) != 1 || (n = BIO_get_mem_data(b, &text)) <= 0 ||
	    !(*out = malloc((size_t)n))) {
		BIO_free(b);
		return -1;
	}
	memcpy(*out, text, (size_t)n);
	*len = (size_t)n;
	BIO_free(b);
	return 0;
}
