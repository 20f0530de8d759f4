/* Describing and encoding a certificate (core_cert): the fields an
 * administrator compares, for a self-signed one and one a CA issued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../../src/core/core_cert.h"
#include "../../src/core/core_tls.h"

static X509 *make(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		  const char *san)
{
	X509 *crt = core_tls_cert_new(key, cn, 1);
	assert_non_null(crt);
	if (issuer)
		X509_set_issuer_name(crt, X509_get_subject_name(issuer));
	if (san)
		assert_int_equal(core_tls_add_ext(crt, issuer, NID_subject_alt_name, san), 0);
	assert_true(X509_sign(crt, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return crt;
}

static const char *str(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

static void test_self_signed_certificate_is_described_as_openssl_prints_it(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *crt = make(key, "pbx.example.org", NULL, NULL,
			 "DNS:pbx.example.org,DNS:localhost,IP:192.0.2.10,IP:2001:db8::1");
	json_t *j = core_cert_describe(crt);
	assert_non_null(j);
	assert_string_equal(str(j, "subject"), "CN=pbx.example.org,O=Zentrale");
	assert_string_equal(str(j, "issuer"), "CN=pbx.example.org,O=Zentrale");
	assert_string_equal(str(j, "subject_cn"), "pbx.example.org");
	assert_true(json_is_true(json_object_get(j, "self_signed")));
	assert_string_equal(str(j, "key"), "EC P-256");
	json_t *names = json_object_get(j, "names");
	assert_int_equal(json_array_size(names), 4);
	assert_string_equal(json_string_value(json_array_get(names, 0)), "DNS:pbx.example.org");
	assert_string_equal(json_string_value(json_array_get(names, 2)), "IP:192.0.2.10");
	assert_string_equal(json_string_value(json_array_get(names, 3)), "IP:2001:db8::1");
	json_int_t from = json_integer_value(json_object_get(j, "not_before"));
	json_int_t until = json_integer_value(json_object_get(j, "not_after"));
	assert_int_equal(until - from, 365 * 86400 + 3600); /* an hour back, a year on */

	/* the fingerprint is the SHA-256 of the DER, AB:CD:… */
	unsigned char *der;
	size_t len;
	assert_int_equal(core_cert_encode(crt, false, &der, &len), 0);
	unsigned char md[32];
	EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL);
	char hex[3 * 32];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 3 * i, 4, "%02X%s", md[i], i < 31 ? ":" : "");
	assert_string_equal(str(j, "sha256"), hex);
	const unsigned char *p = der;
	X509 *back = d2i_X509(NULL, &p, (long)len);
	assert_non_null(back);
	assert_int_equal(X509_cmp(back, crt), 0);
	X509_free(back);
	free(der);
	json_decref(j);
	X509_free(crt);
	EVP_PKEY_free(key);
}

static void test_certificate_issued_by_a_ca_is_not_self_signed(void **state)
{
	(void)state;
	EVP_PKEY *cakey = EVP_RSA_gen(2048);
	X509 *ca = make(cakey, "Example CA", NULL, NULL, NULL);
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *crt = make(key, "pbx", ca, cakey, NULL);
	json_t *j = core_cert_describe(crt);
	assert_non_null(j);
	assert_false(json_is_true(json_object_get(j, "self_signed")));
	assert_string_equal(str(j, "issuer"), "CN=Example CA,O=Zentrale");
	assert_int_equal(json_array_size(json_object_get(j, "names")), 0);
	json_decref(j);
	/* a certificate whose issuer name is its own but whose key did not sign it */
	X509 *forged = make(key, "pbx", NULL, cakey, NULL);
	j = core_cert_describe(forged);
	assert_false(json_is_true(json_object_get(j, "self_signed")));
	json_decref(j);
	j = core_cert_describe(ca);
	assert_string_equal(str(j, "key"), "RSA 2048 bits");
	json_decref(j);
	X509_free(forged);
	X509_free(crt);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
}

static void test_pem_encoding_reads_back(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *crt = make(key, "pbx", NULL, NULL, "DNS:pbx");
	unsigned char *pem;
	size_t len;
	assert_int_equal(core_cert_encode(crt, true, &pem, &len), 0);
	assert_true(len > 100 && memcmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *back = PEM_read_bio_X509(b, NULL, NULL, NULL);
	assert_non_null(back);
	assert_int_equal(X509_cmp(back, crt), 0);
	X509_free(back);
	BIO_free(b);
	free(pem);
	assert_int_equal(core_cert_encode(NULL, true, &pem, &len), -1);
	assert_null(core_cert_describe(NULL));
	X509_free(crt);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_signed_certificate_is_described_as_openssl_prints_it),
		cmocka_unit_test(test_certificate_issued_by_a_ca_is_not_self_signed),
		cmocka_unit_test(test_pem_encoding_reads_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
