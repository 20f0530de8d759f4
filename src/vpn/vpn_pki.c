/* vpn_pki — the VPN's own certificate authority (see vpn.h). It is apart
 * from the server's TLS certificate: a phone holding a VPN certificate may
 * open the tunnel, nothing more, and revoking it touches nothing else. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../core/core_log.h"
#include "../core/core_tls.h"
#include "vpn.h"

#define VPN_CA_CN     "Zentrale VPN CA"
#define VPN_SERVER_CN "zentrale-vpn-server"
#define VPN_YEARS     20L

static void pki_path(char *buf, size_t len, const char *dir, const char *file)
{
	snprintf(buf, len, "%s/%s", dir, file);
}

static EVP_PKEY *pki_load_key(const char *path)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return k;
}

static X509 *pki_load_cert(const char *path)
{
	FILE *f = fopen(path, "re");
	X509 *c = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return c;
}

/* A certificate for key named cn, valid VPN_YEARS, with a random serial;
 * signed by ca/ca_key, or by itself when ca is NULL. */
static X509 *pki_make_cert(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *ca_key,
			   const char *const exts[][2], int next)
{
	X509 *crt = core_tls_cert_new(key, cn, VPN_YEARS);
	if (!crt || (ca && !X509_set_issuer_name(crt, X509_get_subject_name(ca))))
		goto fail;
	for (int i = 0; i < next; i++)
		if (core_tls_add_ext(crt, ca, OBJ_sn2nid(exts[i][0]), exts[i][1]) < 0)
			goto fail;
	if (!X509_sign(crt, ca ? ca_key : key, EVP_sha256()))
		goto fail;
	return crt;
fail:
	X509_free(crt);
	return NULL;
}

/* Makes key and certificate at dir/<base>.key/.crt. */
static int pki_write_pair(const char *dir, const char *base, EVP_PKEY *key, X509 *crt)
{
	char kp[512], cp[512];
	snprintf(kp, sizeof(kp), "%s/%s.key", dir, base);
	snprintf(cp, sizeof(cp), "%s/%s.crt", dir, base);
	return core_tls_write_pem(kp, 0600, key, NULL) < 0 ||
			       core_tls_write_pem(cp, 0644, NULL, crt) < 0
		       ? -1
		       : 0;
}

static int pki_mkdir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int vpn_pki_ensure(const char *dir)
{
	char ca_crt[512], srv_crt[512], clients[512], crl[512];
	pki_path(ca_crt, sizeof(ca_crt), dir, "ca.crt");
	pki_path(srv_crt, sizeof(srv_crt), dir, "server.crt");
	pki_path(clients, sizeof(clients), dir, "clients");
	pki_path(crl, sizeof(crl), dir, "crl.pem");
	if (pki_mkdir(dir) < 0 || pki_mkdir(clients) < 0)
		return -1;
	if (access(ca_crt, R_OK) == 0 && access(srv_crt, R_OK) == 0 && access(crl, R_OK) == 0)
		return 0;

	static const char *const ca_ext[][2] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
	};
	static const char *const srv_ext[][2] = {
		{"basicConstraints", "critical,CA:FALSE"},
		{"keyUsage", "critical,digitalSignature"},
		{"extendedKeyUsage", "serverAuth"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid"},
	};
	int r = -1;
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256");
	X509 *ca = NULL, *srv = NULL;
	if (!ca_key || !srv_key)
		goto out;
	ca = pki_make_cert(ca_key, VPN_CA_CN, NULL, NULL, ca_ext, 3);
	srv = ca ? pki_make_cert(srv_key, VPN_SERVER_CN, ca, ca_key, srv_ext, 5) : NULL;
	if (!srv || pki_write_pair(dir, "ca", ca_key, ca) < 0 ||
	    pki_write_pair(dir, "server", srv_key, srv) < 0 || vpn_pki_write_crl(dir, NULL, 0) < 0)
		goto out;
	log_info("created the VPN's certificate authority in %s", dir);
	r = 0;
out:
	if (r < 0)
		log_error("cannot create the VPN's certificates in %s", dir);
	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	return r;
}

/* The CA's certificate and key, or -1. */
static int pki_load_ca(const char *dir, X509 **ca, EVP_PKEY **key)
{
	char cp[512], kp[512];
	pki_path(cp, sizeof(cp), dir, "ca.crt");
	pki_path(kp, sizeof(kp), dir, "ca.key");
	*ca = pki_load_cert(cp);
	*key = pki_load_key(kp);
	if (*ca && *key)
		return 0;
	log_error("the VPN's certificate authority in %s is missing or unreadable", dir);
	X509_free(*ca);
	EVP_PKEY_free(*key);
	return -1;
}

int vpn_pki_issue(const char *dir, const char *name, char *serial, size_t len)
{
	static const char *const cl_ext[][2] = {
		{"basicConstraints", "critical,CA:FALSE"},
		{"keyUsage", "critical,digitalSignature"},
		{"extendedKeyUsage", "clientAuth"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid"},
	};
	X509 *ca, *crt = NULL;
	EVP_PKEY *ca_key, *key = NULL;
	int r = -1;
	if (!vpn_client_name_ok(name) || pki_load_ca(dir, &ca, &ca_key) < 0)
		return -1;
	key = EVP_EC_gen("P-256");
	crt = key ? pki_make_cert(key, name, ca, ca_key, cl_ext, 5) : NULL;
	char base[128];
	snprintf(base, sizeof(base), "clients/%s", name);
	if (crt && pki_write_pair(dir, base, key, crt) == 0) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(crt), NULL);
		char *hex = bn ? BN_bn2hex(bn) : NULL;
		if (hex && strlen(hex) < len) {
			memcpy(serial, hex, strlen(hex) + 1);
			r = 0;
		}
		OPENSSL_free(hex);
		BN_free(bn);
	}
	X509_free(crt);
	EVP_PKEY_free(key);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return r;
}

int vpn_pki_write_crl(const char *dir, const char *const *serials, int n)
{
	X509 *ca;
	EVP_PKEY *ca_key;
	if (pki_load_ca(dir, &ca, &ca_key) < 0)
		return -1;
	int r = -1;
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *now = ASN1_TIME_adj(NULL, time(NULL), 0, 0);
	/* openvpn refuses every client once the list is past its next update:
	 * it is written anew at every change and every start of the VPN. */
	ASN1_TIME *next = ASN1_TIME_adj(NULL, time(NULL), 3650, 0);
	if (!crl || !now || !next || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) ||
	    !X509_CRL_set1_lastUpdate(crl, now) || !X509_CRL_set1_nextUpdate(crl, next))
		goto out;
	for (int i = 0; i < n; i++) {
		BIGNUM *bn = NULL;
		X509_REVOKED *rv = X509_REVOKED_new();
		ASN1_INTEGER *sn = NULL;
		int ok = rv && BN_hex2bn(&bn, serials[i]) > 0 &&
			 (sn = BN_to_ASN1_INTEGER(bn, NULL)) &&
			 X509_REVOKED_set_serialNumber(rv, sn) &&
			 X509_REVOKED_set_revocationDate(rv, now) && X509_CRL_add0_revoked(crl, rv);
		ASN1_INTEGER_free(sn);
		BN_free(bn);
		if (!ok) {
			X509_REVOKED_free(rv);
			goto out;
		}
	}
	X509_CRL_sort(crl);
	if (!X509_CRL_sign(crl, ca_key, EVP_sha256()))
		goto out;
	char path[512], tmp[520];
	pki_path(path, sizeof(path), dir, "crl.pem");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	int ok = f && PEM_write_X509_CRL(f, crl) && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (f)
		fclose(f);
	if (ok && rename(tmp, path) == 0)
		r = 0;
	else
		unlink(tmp);
out:
	if (r < 0)
		log_error("cannot write the VPN's revocation list");
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return r;
}

/* The whole of a small file, or NULL. */
static char *pki_slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = malloc(16384);
	size_t n = buf ? fread(buf, 1, 16383, f) : 0;
	fclose(f);
	if (!buf || n == 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

char *vpn_profile(const char *dir, const char *name, const char *host, int port)
{
	char p[512];
	if (!vpn_client_name_ok(name))
		return NULL;
	pki_path(p, sizeof(p), dir, "ca.crt");
	char *ca = pki_slurp(p);
	snprintf(p, sizeof(p), "%s/clients/%s.crt", dir, name);
	char *crt = pki_slurp(p);
	snprintf(p, sizeof(p), "%s/clients/%s.key", dir, name);
	char *key = pki_slurp(p);
	char *out = NULL;
	if (ca && crt && key) {
		if (asprintf(
			    &out,
			    "# Zentrale VPN profile for '%s'. It holds this client's private key:\n"
			    "# keep it like a password. Revoked in the management UI, it stops "
			    "working.\n"
			    "client\n"
			    "dev tun\n"
			    "proto tcp-client\n"
			    "remote %s %d\n"
			    "nobind\n"
			    "persist-key\n"
			    "persist-tun\n"
			    "remote-cert-tls server\n"
			    "verify-x509-name " VPN_SERVER_CN " name\n"
			    "tls-version-min 1.2\n"
			    "data-ciphers AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\n"
			    "verb 3\n"
			    "<ca>\n%s</ca>\n<cert>\n%s</cert>\n<key>\n%s</key>\n",
			    name, host, port, ca, crt, key) < 0)
			out = NULL;
	}
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	free(ca);
	free(crt);
	free(key);
	return out;
}
