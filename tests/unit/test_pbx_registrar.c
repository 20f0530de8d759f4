/* The registrar (pbx_registrar) driven with SIP messages, as a phone would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/pbx/pbx_registrar.h"
#include "../../src/sip/sip_hdr.h"
#include "../../src/store/store.h"

struct fix {
	sqlite3 *db;
	struct pbx_registrar r;
	char resp[8192];
	struct sip_msg m;
	int cseq;
	char nonce[128]; /* of the last challenge */
};

static const struct pbx_reg_source src = {.source = "udp 192.0.2.7:5060",
					  .path = "<sip:flow1@sbc.invalid;lr>",
					  .src_addr = "192.0.2.7",
					  .src_port = 5060};

static void add_user(sqlite3 *db, const char *user, const char *ext, const char *pw, int enabled)
{
	char md5[SIP_AUTH_HEX_MAX], sha[SIP_AUTH_HEX_MAX], sql[1024];
	sip_auth_ha1(0, user, "acme", pw, md5);
	sip_auth_ha1(1, user, "acme", pw, sha);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO users(display_name,extension,sip_username,ha1_md5,ha1_sha256,enabled,"
		 "created,updated) VALUES('%s','%s','%s','%s','%s',%d,0,0)",
		 user, ext, user, md5, sha, enabled);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static int setup(void **state)
{
	static struct fix f;
	memset(&f, 0, sizeof(f));
	assert_int_equal(store_pbx_open(":memory:", &f.db), 0);
	assert_int_equal(pbx_registrar_init(&f.r, f.db, "acme"), 0);
	add_user(f.db, "alice", "100", "alice-password-1", 1);
	add_user(f.db, "bob", "101", "bob-password-12", 1);
	add_user(f.db, "carl", "102", "carl-password-1", 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	pbx_registrar_free(&f->r);
	sqlite3_close(f->db);
	return 0;
}

/* Sends one REGISTER; returns the response status. */
static int send_register(struct fix *f, const char *to_user, const char *contacts, const char *auth,
			 time_t now)
{
	char req[4096];
	int cseq = ++f->cseq;
	int n = snprintf(req, sizeof(req),
			 "REGISTER sip:acme SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK%d;rport\r\n"
			 "To: <sip:%s@acme>\r\nFrom: <sip:%s@acme>;tag=f\r\n"
			 "Call-ID: reg-1@192.0.2.7\r\nCSeq: %d REGISTER\r\n%s%s"
			 "User-Agent: test-phone/1.0\r\nContent-Length: 0\r\n\r\n",
			 cseq, to_user, to_user, cseq, contacts, auth ? auth : "");
	struct sip_msg m;
	assert_int_equal(sip_msg_parse(&m, req, (size_t)n, false), 0);
	int len = pbx_registrar_register(&f->r, &m, &src, now, f->resp, sizeof(f->resp));
	assert_true(len > 0);
	assert_int_equal(sip_msg_parse(&f->m, f->resp, (size_t)len, true), 0);
	const struct sip_hdr *h = sip_msg_hdr(&f->m, SIP_HDR_WWW_AUTHENTICATE);
	if (h) {
		/* both challenges carry the same nonce */
		const struct sip_hdr *h2 = sip_msg_hdr_next(&f->m, h);
		assert_non_null(h2);
		assert_non_null(strstr(h->value.p, "algorithm=MD5"));
		assert_non_null(strstr(h2->value.p, "algorithm=SHA-256"));
		const char *np = strstr(h->value.p, "nonce=\"") + 7;
		snprintf(f->nonce, sizeof(f->nonce), "%.*s", (int)(strchr(np, '"') - np), np);
	}
	return f->m.status;
}

/* The Authorization a phone computes from the last 401. */
static void answer(struct fix *f, const char *user, const char *pw, int alg, const char *nc,
		   char *out, size_t cap)
{
	const char *nonce = f->nonce;
	char ha1[SIP_AUTH_HEX_MAX], resp[SIP_AUTH_HEX_MAX], hdr[1024];
	sip_auth_ha1(alg, user, "acme", pw, ha1);
	snprintf(hdr, sizeof(hdr),
		 "Digest username=\"%s\", realm=\"acme\", nonce=\"%s\", uri=\"sip:acme\", "
		 "response=\"0\", algorithm=%s, qop=auth, nc=%s, cnonce=\"abc\"",
		 user, nonce, alg ? "SHA-256" : "MD5", nc);
	struct sip_auth_creds c;
	assert_int_equal(sip_auth_parse((struct sip_pl){hdr, strlen(hdr)}, &c), 0);
	assert_int_equal(sip_auth_response(alg, ha1, (struct sip_pl){"REGISTER", 8}, &c, resp), 0);
	snprintf(hdr, sizeof(hdr),
		 "Authorization: Digest username=\"%s\", realm=\"acme\", nonce=\"%s\", "
		 "uri=\"sip:acme\", response=\"%s\", algorithm=%s, qop=auth, nc=%s, "
		 "cnonce=\"abc\"\r\n",
		 user, nonce, resp, alg ? "SHA-256" : "MD5", nc);
	snprintf(out, cap, "%s", hdr);
}

static void test_register_with_sha256_and_md5(void **state)
{
	struct fix *f = *state;
	char auth[1024];
	const char *ct = "Contact: <sip:alice@192.0.2.7:5060>;expires=600\r\n";
	assert_int_equal(send_register(f, "alice", ct, NULL, 1000), 401);
	assert_int_equal(sip_msg_hdr_count(&f->m, SIP_HDR_WWW_AUTHENTICATE), 2);
	answer(f, "alice", "alice-password-1", 1, "00000001", auth, sizeof(auth));
	assert_int_equal(send_register(f, "alice", ct, auth, 1001), 200);
	const struct sip_hdr *c = sip_msg_hdr(&f->m, SIP_HDR_CONTACT);
	assert_non_null(c);
	assert_true(sip_pl_eq(c->value, "<sip:alice@192.0.2.7:5060>;expires=600"));
	/* the same nonce with a higher count works; the same count again is a replay */
	answer(f, "alice", "alice-password-1", 1, "00000002", auth, sizeof(auth));
	assert_int_equal(send_register(f, "alice", ct, auth, 1002), 200);
	assert_int_equal(send_register(f, "alice", ct, auth, 1003), 401);
	assert_non_null(strstr(f->resp, "stale=true"));
	/* a second device with MD5; both are listed */
	assert_int_equal(send_register(f, "alice", "", NULL, 1004), 401);
	answer(f, "alice", "alice-password-1", 0, "00000001", auth, sizeof(auth));
	assert_int_equal(
		send_register(f, "alice", "Contact: <sip:alice@192.0.2.8:5062>\r\n", auth, 1005),
		200);
	assert_int_equal(sip_msg_hdr_count(&f->m, SIP_HDR_CONTACT), 2);
	json_t *list = pbx_registrar_list(&f->r, 1006);
	assert_int_equal(json_array_size(list), 2);
	json_t *b = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(b, "source")), "udp 192.0.2.7:5060");
	assert_string_equal(json_string_value(json_object_get(b, "user_agent")), "test-phone/1.0");
	assert_string_equal(json_string_value(json_object_get(b, "extension")), "100");
	json_decref(list);
	/* the path back to the phone is kept for calls */
	sqlite3_stmt *st;
	sqlite3_prepare_v2(f->db, "SELECT path FROM bindings LIMIT 1", -1, &st, NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), src.path);
	sqlite3_finalize(st);
	/* expiry: gone after its time */
	list = pbx_registrar_list(&f->r, 1001 + 600 + 1);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	assert_int_equal(pbx_registrar_purge(&f->r, 1005 + 3600), 2);
}

static void test_unknown_disabled_and_wrong_look_the_same(void **state)
{
	struct fix *f = *state;
	char auth[1024], first[512] = "";
	const char *users[][2] = {{"alice", "wrong-password-1"},
				  {"mallory", "alice-password-1"},
				  {"carl", "carl-password-1"}};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(send_register(f, users[i][0], "", NULL, 2000), 401);
		answer(f, users[i][0], users[i][1], 1, "00000001", auth, sizeof(auth));
		assert_int_equal(send_register(f, users[i][0], "", auth, 2001), 403);
		/* identical status line and headers apart from tags and Via */
		char *line_end = strstr(f->resp, "\r\n");
		if (!first[0])
			snprintf(first, sizeof(first), "%.*s", (int)(line_end - f->resp), f->resp);
		assert_memory_equal(f->resp, first, strlen(first));
		assert_null(sip_msg_hdr(&f->m, SIP_HDR_WWW_AUTHENTICATE));
	}
	/* bob may not register alice's address */
	assert_int_equal(send_register(f, "alice", "", NULL, 2002), 401);
	answer(f, "bob", "bob-password-12", 1, "00000001", auth, sizeof(auth));
	assert_int_equal(send_register(f, "alice", "Contact: <sip:x@192.0.2.9>\r\n", auth, 2003),
			 403);
	/* a nonce from long ago is stale, a made-up one gets a fresh challenge */
	assert_int_equal(send_register(f, "bob", "", NULL, 3000), 401);
	answer(f, "bob", "bob-password-12", 1, "00000001", auth, sizeof(auth));
	assert_int_equal(send_register(f, "bob", "", auth, 3000 + PBX_REG_NONCE_LIFETIME + 1), 401);
	assert_non_null(strstr(f->resp, "stale=true"));
}

static void test_expiry_rules_and_removal(void **state)
{
	struct fix *f = *state;
	char auth[1024];
	char nc[9];
	int k = 0;
#define AUTHED(to, contacts, now)                                                                  \
	(snprintf(nc, sizeof(nc), "%08x", ++k),                                                    \
	 answer(f, "bob", "bob-password-12", 1, nc, auth, sizeof(auth)),                           \
	 send_register(f, to, contacts, auth, now))
	assert_int_equal(send_register(f, "bob", "", NULL, 5000), 401);
	/* too brief: 423 with Min-Expires */
	assert_int_equal(AUTHED("bob", "Contact: <sip:bob@192.0.2.9>;expires=30\r\n", 5001), 423);
	assert_non_null(sip_msg_hdr_named(&f->m, "Min-Expires"));
	/* too long is cut to the maximum */
	assert_int_equal(AUTHED("101", "Contact: <sip:bob@192.0.2.9>\r\nExpires: 99999\r\n", 5002),
			 200);
	assert_true(sip_pl_eq(sip_msg_hdr(&f->m, SIP_HDR_CONTACT)->value,
			      "<sip:bob@192.0.2.9>;expires=3600"));
	/* a query lists without changing */
	assert_int_equal(AUTHED("bob", "", 5003), 200);
	assert_int_equal(sip_msg_hdr_count(&f->m, SIP_HDR_CONTACT), 1);
	/* "*" needs Expires: 0 */
	assert_int_equal(AUTHED("bob", "Contact: *\r\n", 5004), 400);
	assert_int_equal(AUTHED("bob", "Contact: *\r\nExpires: 0\r\n", 5005), 200);
	assert_null(sip_msg_hdr(&f->m, SIP_HDR_CONTACT));
	/* more devices than allowed */
	char many[2048] = "";
	for (int i = 0; i <= PBX_REG_MAX_BINDINGS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "Contact: <sip:bob@192.0.2.%d>\r\n", 20 + i);
	assert_int_equal(AUTHED("bob", many, 5006), 403);
	assert_int_equal(AUTHED("bob", "", 5007), 200);
	assert_null(sip_msg_hdr(&f->m, SIP_HDR_CONTACT)); /* nothing was kept */
	/* bad expires values */
	assert_int_equal(AUTHED("bob", "Contact: <sip:bob@h>;expires=soon\r\n", 5008), 400);
	assert_int_equal(AUTHED("bob", "Contact: <sip:bob@h>\r\nExpires: -1\r\n", 5009), 400);
#undef AUTHED
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_with_sha256_and_md5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_disabled_and_wrong_look_the_same,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_rules_and_removal, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
