/* Unit tests of src/vpn: subnets and names as the admin gives them, the
 * PKI (a client certificate verifies against the CA until the CRL names
 * it), and openvpn's status answer read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "../../src/core/core_fs.h"
#include "../../src/vpn/vpn.h"

static void test_subnets(void **state)
{
	(void)state;
	struct vpn_net n;
	char err[200], a[16];
	assert_int_equal(vpn_subnet_parse("10.88.0.0/24", &n, err, sizeof(err)), 0);
	vpn_addr_str(n.server, a, sizeof(a));
	assert_string_equal(a, "10.88.0.1");
	vpn_addr_str(n.mask, a, sizeof(a));
	assert_string_equal(a, "255.255.255.0");
	assert_int_equal(n.prefix, 24);
	assert_int_equal(vpn_subnet_parse("172.20.0.0/16", &n, err, sizeof(err)), 0);
	assert_int_equal(vpn_subnet_parse("192.168.7.248/29", &n, err, sizeof(err)), 0);

	static const char *const bad[] = {
		"",	      "10.88.0.0",    "10.88.0.0/",   "10.88.0.0/24x",	"10.88.0/24",
		"8.8.8.0/24", "10.88.0.1/24", "10.0.0.0/8",   "10.88.0.0/30",	"172.32.0.0/16",
		"/24",	      "10.88.0.0/-1", "999.1.1.0/24", "192.169.0.0/24", "10.88.0.0/24/24",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(vpn_subnet_parse(bad[i], &n, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(vpn_subnet_parse(NULL, &n, err, sizeof(err)), -1);
	/* host bits: the message names the network meant */
	vpn_subnet_parse("10.88.0.9/24", &n, err, sizeof(err));
	assert_non_null(strstr(err, "10.88.0.0/24"));
}

static void test_names(void **state)
{
	(void)state;
	assert_true(vpn_client_name_ok("desk-phone-12"));
	assert_true(vpn_client_name_ok("Yealink_T54W.3"));
	assert_false(vpn_client_name_ok(""));
	assert_false(vpn_client_name_ok(NULL));
	assert_false(vpn_client_name_ok("../etc"));
	assert_false(vpn_client_name_ok("-x"));
	assert_false(vpn_client_name_ok("a b"));
	assert_false(vpn_client_name_ok("a/b"));
	assert_false(vpn_client_name_ok("a\nb"));
	char longname[70];
	memset(longname, 'a', 65);
	longname[65] = '\0';
	assert_false(vpn_client_name_ok(longname));
	longname[64] = '\0';
	assert_true(vpn_client_name_ok(longname));
}

static X509 *load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(c);
	return c;
}

/* Verifies dir/clients/name.crt against the CA and the CRL as openvpn does. */
static int verify(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/ca.crt", dir);
	X509 *ca = load_cert(p);
	snprintf(p, sizeof(p), "%s/clients/%s.crt", dir, name);
	X509 *crt = load_cert(p);
	snprintf(p, sizeof(p), "%s/crl.pem", dir);
	FILE *f = fopen(p, "r");
	X509_CRL *crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(crl);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_add_cert(st, ca);
	X509_STORE_add_crl(st, crl);
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_STORE_CTX_init(ctx, st, crt, NULL);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	int ok = X509_verify_cert(ctx);
	int err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_CRL_free(crl);
	X509_free(crt);
	X509_free(ca);
	return ok == 1 ? 0 : err;
}

static void test_pki(void **state)
{
	(void)state;
	char dir[64] = "/tmp/zt-vpn-XXXXXX", vdir[80], s1[80], s2[80];
	assert_non_null(mkdtemp(dir));
	snprintf(vdir, sizeof(vdir), "%s/vpn", dir);
	assert_int_equal(vpn_pki_ensure(vdir), 0);
	assert_int_equal(vpn_pki_issue(vdir, "desk-1", s1, sizeof(s1)), 0);
	assert_int_equal(vpn_pki_issue(vdir, "desk-2", s2, sizeof(s2)), 0);
	assert_string_not_equal(s1, s2);
	assert_int_equal(vpn_pki_issue(vdir, "../x", s2, sizeof(s2)), -1);
	assert_int_equal(verify(vdir, "desk-1"), 0);

	const char *revoked[] = {s1};
	assert_int_equal(vpn_pki_write_crl(vdir, revoked, 1), 0);
	assert_int_equal(verify(vdir, "desk-1"), X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify(vdir, "desk-2"), 0);
	/* a second ensure keeps the CA: desk-2 stays valid */
	assert_int_equal(vpn_pki_ensure(vdir), 0);
	assert_int_equal(verify(vdir, "desk-2"), 0);

	char *p = vpn_profile(vdir, "desk-2", "pbx.example.org", 8885);
	assert_non_null(p);
	assert_non_null(strstr(p, "\nremote pbx.example.org 8885\n"));
	assert_non_null(strstr(p, "<key>\n-----BEGIN PRIVATE KEY-----"));
	assert_non_null(strstr(p, "<ca>\n-----BEGIN CERTIFICATE-----"));
	free(p);
	assert_null(vpn_profile(vdir, "nobody", "h", 1));
	core_fs_rm_tree(dir);
}

static void test_server_config(void **state)
{
	(void)state;
	struct vpn_net n;
	char err[200], path[] = "/tmp/zt-vpn-conf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vpn_subnet_parse("10.66.0.0/24", &n, err, sizeof(err)), 0);
	assert_int_equal(vpn_server_config(path, "certs/vpn", "zvpn7", "run/net-tun", &n,
					   "198.18.7.1", 8892, "run/vpn.mgmt"),
			 0);
	FILE *f = fopen(path, "r");
	char text[4096];
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	unlink(path);
	text[len] = '\0';
	static const char *const want[] = {
		"\nproto tcp4-server\n",
		"\nlocal 198.18.7.1\n",
		"\nport 8892\n",
		"\ndev zvpn7\n",
		"\ndev-node run/net-tun\n",
		"\nifconfig-noexec\n",
		"\nifconfig 10.66.0.1 255.255.255.0\n",
		"\nifconfig-pool 10.66.0.2 10.66.0.254 255.255.255.0\n",
		"\ntcp-nodelay\n",
		"\ncrl-verify certs/vpn/crl.pem\n",
		"\nremote-cert-tls client\n",
		"\nmanagement run/vpn.mgmt unix\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(text, want[i]))
			fail_msg("server config lacks %s", want[i]);
	/* every address, IPv6 or IPv4 */
	assert_int_equal(vpn_server_config(path, "d", "z", "n", &n, NULL, 8885, "m"), 0);
	f = fopen(path, "r");
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	unlink(path);
	text[len] = '\0';
	assert_non_null(strstr(text, "\nproto tcp6-server\n"));
	assert_null(strstr(text, "\nlocal "));
}

static void test_status(void **state)
{
	(void)state;
	const char *text =
		">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r\n"
		"TITLE,OpenVPN 2.6.14 x86_64-pc-linux-gnu\r\n"
		"HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 "
		"Address,Bytes Received,Bytes Sent,Connected Since,Connected Since (time_t),"
		"Username,Client ID,Peer ID,Data Channel Cipher\r\n"
		"CLIENT_LIST,desk-1,198.18.7.2:37302,10.77.0.2,,3000,2000,2026-11-26 "
		"09:30:51,1795685451,UNDEF,0,0,AES-256-GCM\r\n"
		"CLIENT_LIST,bad name,1.2.3.4:5,10.77.0.3,,1,1,x,1,UNDEF,1,1,x\r\n"
		"CLIENT_LIST,short,1.2.3.4:5\r\n"
		"CLIENT_LIST,desk-2,[AF_INET6]2001:db8::7:40000,10.77.0.4,,1,2,x,1795685452\r\n"
		"ROUTING_TABLE,10.77.0.2,desk-1,198.18.7.2:37302,x,1\r\n"
		"END\r\n";
	json_t *st = vpn_status_parse(text, strlen(text));
	assert_int_equal(json_object_size(st), 2);
	json_t *d1 = json_object_get(st, "desk-1");
	assert_string_equal(json_string_value(json_object_get(d1, "vpn_address")), "10.77.0.2");
	assert_string_equal(json_string_value(json_object_get(d1, "address")), "198.18.7.2:37302");
	assert_int_equal(json_integer_value(json_object_get(d1, "since")), 1795685451);
	assert_int_equal(json_integer_value(json_object_get(d1, "bytes_in")), 3000);
	assert_non_null(json_object_get(st, "desk-2"));
	json_decref(st);
	/* not text at all, and a line longer than any real one */
	char junk[3000];
	memset(junk, 'C', sizeof(junk));
	memcpy(junk, "CLIENT_LIST,", 12);
	st = vpn_status_parse(junk, sizeof(junk));
	assert_int_equal(json_object_size(st), 0);
	json_decref(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subnets), cmocka_unit_test(test_names),
		cmocka_unit_test(test_pki),	cmocka_unit_test(test_server_config),
		cmocka_unit_test(test_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
