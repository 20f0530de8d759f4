/* pbx_trunk_reg's pure part: what an answer to a REGISTER means, when a
 * binding is refreshed, how long a failed trunk waits, what a 200 granted;
 * and the client on a real pbx.db (pbx_fix.h), with the time passed in
 * (pbx_trunk_reg_run) and the carrier's answers written here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <event2/event.h>

#include "../../src/pbx/pbx_trunk_reg.h"
#include "../../src/sbc/sbc_trunk.h"
#include "../../src/sip/sip_auth.h"
#include "../../src/sip/sip_build.h"
#include "pbx_fix.h"

static void answers_decide_the_next_step(void **state)
{
	(void)state;
	assert_int_equal(pbx_trunk_reg_verdict(100, false, false, -1, 600), PBX_TRUNK_WAIT);
	assert_int_equal(pbx_trunk_reg_verdict(183, true, false, -1, 600), PBX_TRUNK_WAIT);
	assert_int_equal(pbx_trunk_reg_verdict(200, false, false, -1, 600), PBX_TRUNK_OK);
	assert_int_equal(pbx_trunk_reg_verdict(202, true, false, -1, 600), PBX_TRUNK_OK);
	/* a challenge is answered once; the second is a wrong password ... */
	assert_int_equal(pbx_trunk_reg_verdict(401, false, false, -1, 600), PBX_TRUNK_AUTH);
	assert_int_equal(pbx_trunk_reg_verdict(407, false, false, -1, 600), PBX_TRUNK_AUTH);
	assert_int_equal(pbx_trunk_reg_verdict(401, true, false, -1, 600), PBX_TRUNK_FAIL);
	assert_int_equal(pbx_trunk_reg_verdict(407, true, false, -1, 600), PBX_TRUNK_FAIL);
	/* ... unless the nonce had only expired */
	assert_int_equal(pbx_trunk_reg_verdict(401, true, true, -1, 600), PBX_TRUNK_AUTH);
	/* 423: a longer interval, if the carrier names a sane one */
	assert_int_equal(pbx_trunk_reg_verdict(423, false, false, 900, 600), PBX_TRUNK_MIN_EXPIRES);
	assert_int_equal(pbx_trunk_reg_verdict(423, false, false, 600, 600), PBX_TRUNK_FAIL);
	assert_int_equal(pbx_trunk_reg_verdict(423, false, false, -1, 600), PBX_TRUNK_FAIL);
	assert_int_equal(pbx_trunk_reg_verdict(423, false, false, 86400, 600), PBX_TRUNK_FAIL);
	int fails[] = {403, 404, 408, 480, 500, 503, 603};
	for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++)
		assert_int_equal(pbx_trunk_reg_verdict(fails[i], false, false, -1, 600),
				 PBX_TRUNK_FAIL);
}

static void refresh_before_the_binding_ends(void **state)
{
	(void)state;
	assert_int_equal(pbx_trunk_reg_refresh(3600), 2880); /* 80 % */
	assert_int_equal(pbx_trunk_reg_refresh(600), 480);
	assert_int_equal(pbx_trunk_reg_refresh(120), 90); /* 30 s before its end */
	assert_int_equal(pbx_trunk_reg_refresh(60), 30);
	assert_int_equal(pbx_trunk_reg_refresh(40), 20); /* never sooner than half */
	assert_int_equal(pbx_trunk_reg_refresh(1), 1);
	assert_int_equal(pbx_trunk_reg_refresh(0), 1);
	for (int g = 1; g <= 7200; g++) {
		int r = pbx_trunk_reg_refresh(g);
		assert_true(r >= 1 && (r < g || g == 1));
	}
}

static void failures_back_off_to_five_minutes(void **state)
{
	(void)state;
	assert_int_equal(pbx_trunk_reg_backoff(1), 30);
	assert_int_equal(pbx_trunk_reg_backoff(2), 60);
	assert_int_equal(pbx_trunk_reg_backoff(3), 120);
	assert_int_equal(pbx_trunk_reg_backoff(4), 240);
	assert_int_equal(pbx_trunk_reg_backoff(5), 300);
	assert_int_equal(pbx_trunk_reg_backoff(1000000), 300);
}

static int granted(const char *headers, const char *user, int asked)
{
	char buf[2048];
	struct sip_msg m;
	snprintf(buf, sizeof(buf),
		 "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP pbx.invalid;branch=z9hG4bKtrkr1\r\n"
		 "From: <sip:u@c>;tag=1\r\nTo: <sip:u@c>;tag=2\r\nCall-ID: x\r\n"
		 "CSeq: 2 REGISTER\r\n%sContent-Length: 0\r\n\r\n",
		 headers);
	assert_int_equal(sip_msg_parse(&m, buf, strlen(buf), true), 0);
	return pbx_trunk_reg_granted(&m, user, asked);
}

static void the_granted_lifetime_is_read_from_our_contact(void **state)
{
	(void)state;
	const char *key = "z0123456789abcdef";
	/* ours among others' */
	assert_int_equal(granted("Contact: <sip:zffffffffffffffff@198.51.100.1:5062>;expires=900, "
				 "<sip:z0123456789abcdef@198.51.100.2:5062>;expires=120\r\n"
				 "Expires: 3600\r\n",
				 key, 600),
			 120);
	assert_int_equal(granted("Contact: <sip:a@h>;expires=900\r\n"
				 "Contact: <sip:z0123456789abcdef@h>;q=0.5;expires=300\r\n",
				 key, 600),
			 300);
	/* the only contact, whatever its user */
	assert_int_equal(granted("Contact: <sip:other@h>;expires=240\r\n", key, 600), 240);
	/* several, none ours: the Expires header */
	assert_int_equal(granted("Contact: <sip:a@h>;expires=1, <sip:b@h>;expires=2\r\n"
				 "Expires: 180\r\n",
				 key, 600),
			 180);
	/* nothing said: what was asked */
	assert_int_equal(granted("", key, 600), 600);
	assert_int_equal(granted("Contact: <sip:a@h>, <sip:b@h>\r\n", key, 600), 600);
	/* nonsense is not taken */
	assert_int_equal(granted("Contact: <sip:z0123456789abcdef@h>;expires=abc\r\n"
				 "Expires: -5\r\n",
				 key, 600),
			 600);
	assert_int_equal(granted("Expires: 99999999999999999999\r\n", key, 600), 600);
}

static void the_key_is_the_sbcs(void **state)
{
	(void)state;
	char k[18];
	pbx_trunk_reg_key("acme", 1, k);
	assert_int_equal(strlen(k), 17);
	assert_int_equal(k[0], 'z');
	char k2[18];
	pbx_trunk_reg_key("acme", 2, k2);
	assert_string_not_equal(k, k2);
	/* "z" and the first 8 bytes of SHA-256("zentrale-trunk:acme/1") in hex */
	assert_string_equal(k, "zdfad1c4286b30bcd");
	/* and what the SBC computes, so its Contact is found in our 200 */
	char sbc[SBC_TRUNK_KEY_LEN + 1];
	sbc_trunk_key("acme", 1, sbc);
	assert_string_equal(k, sbc);
}

/* ---- the client ---- */

#define SENT_MAX 32
static char *sent[SENT_MAX];
static int nsent;

static void capture(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	assert_true(nsent < SENT_MAX);
	sent[nsent] = malloc(len + 1);
	memcpy(sent[nsent], buf, len);
	sent[nsent++][len] = '\0';
}

static void sent_clear(void)
{
	for (int i = 0; i < nsent; i++)
		free(sent[i]);
	nsent = 0;
}

/* The last request sent whose first line starts with method, or NULL. */
static const char *last(const char *method)
{
	for (int i = nsent - 1; i >= 0; i--)
		if (strncmp(sent[i], method, strlen(method)) == 0)
			return sent[i];
	return NULL;
}

static int count(const char *method)
{
	int n = 0;
	for (int i = 0; i < nsent; i++)
		n += strncmp(sent[i], method, strlen(method)) == 0;
	return n;
}

/* The carrier's answer to req: status, with extra headers. */
static void answer(struct pbx_trunk_reg *r, const char *req, int status, const char *extra)
{
	struct sip_msg m, a;
	char out[4096];
	assert_int_equal(sip_msg_parse(&m, req, strlen(req), true), 0);
	struct sip_response_opts o = {.to_tag = "carrier1", .extra_headers = extra};
	int n = sip_build_response(&m, status, &o, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(sip_msg_parse(&a, out, (size_t)n, true), 0);
	pbx_trunk_reg_response(r, &a);
}

static const char *state_of(struct pbx *p, long long id)
{
	static char st[32];
	json_t *j = pbx_trunk_reg_status(p, id);
	snprintf(st, sizeof(st), "%s",
		 json_is_null(j) ? "null" : json_string_value(json_object_get(j, "state")));
	json_decref(j);
	return st;
}

static json_int_t status_int(struct pbx *p, long long id, const char *key)
{
	json_t *j = pbx_trunk_reg_status(p, id);
	json_int_t v = json_integer_value(json_object_get(j, key));
	json_decref(j);
	return v;
}

/* The response in an Authorization of req is right for user/password. */
static void check_digest(const char *req, const char *user, const char *pw)
{
	struct sip_msg m;
	struct sip_auth_creds c;
	char ha1[SIP_AUTH_HEX_MAX], want[SIP_AUTH_HEX_MAX];
	assert_int_equal(sip_msg_parse(&m, req, strlen(req), true), 0);
	const struct sip_hdr *h = sip_msg_hdr(&m, SIP_HDR_AUTHORIZATION);
	assert_non_null(h);
	assert_int_equal(sip_auth_parse(h->value, &c), 0);
	assert_true(sip_pl_eq(c.username, user));
	assert_true(sip_pl_eq(c.uri, "sip:198.51.100.1:5060"));
	char realm[64];
	snprintf(realm, sizeof(realm), "%.*s", (int)c.realm.l, c.realm.p);
	sip_auth_ha1(0, user, realm, pw, ha1);
	assert_int_equal(sip_auth_response(0, ha1, (struct sip_pl){"REGISTER", 8}, &c, want), 0);
	assert_true(sip_auth_response_ok(&c, want));
}

#define CHAL "WWW-Authenticate: Digest realm=\"carrier.test\", nonce=\"%s\", qop=\"auth\"%s\r\n"

static void chal(char *out, size_t cap, const char *nonce, bool stale)
{
	snprintf(out, cap, CHAL, nonce, stale ? ", stale=true" : "");
}

static void the_client_registers_answers_challenges_and_backs_off(void **state)
{
	struct fix *f = *state;
	struct pbx *p = &f->p;
	assert_int_equal(
		sqlite3_exec(
			p->db,
			"INSERT INTO trunks(id, name, domain, username, auth_username, password,"
			" register_interval, created, updated) VALUES(1, 'c', "
			"'198.51.100.1:5060', 'u1', 'a1', 'pw1', 120, 0, 0)",
			NULL, NULL, NULL),
		SQLITE_OK);
	struct event_base *base = event_base_new();
	struct pbx_trunk_reg *r = pbx_trunk_reg_new(p, base, capture, NULL);
	p->trunk_reg = r;
	time_t now = time(NULL);
	char ch[256], key[18], contact[128];
	pbx_trunk_reg_key("acme", 1, key);

	/* nothing before the SBC connects */
	pbx_trunk_reg_run(r, now + 10);
	assert_int_equal(nsent, 0);
	assert_string_equal(state_of(p, 1), "registering");
	pbx_trunk_reg_link(r, true);
	pbx_trunk_reg_run(r, now + 3);
	const char *reg = last("REGISTER");
	assert_non_null(reg);
	assert_non_null(strstr(reg, "REGISTER sip:198.51.100.1:5060 SIP/2.0\r\n"));
	assert_non_null(strstr(reg, "Route: <sip:trunk.1@sbc.invalid;lr>\r\n"));
	assert_non_null(strstr(reg, "Via: SIP/2.0/TCP pbx.invalid;branch=" PBX_TRUNK_BRANCH));
	assert_non_null(strstr(reg, "To: <sip:u1@198.51.100.1:5060>\r\n"));
	assert_non_null(strstr(reg, "Contact: <sip:pbx@acme>\r\n"));
	assert_non_null(strstr(reg, "Expires: 120\r\n"));
	assert_null(strstr(reg, "Authorization"));
	assert_non_null(last("OPTIONS sip:198.51.100.1:5060 SIP/2.0"));

	/* a challenge is answered with the auth user name */
	chal(ch, sizeof(ch), "n1", false);
	answer(r, reg, 401, ch);
	assert_int_equal(count("REGISTER"), 2);
	reg = last("REGISTER");
	check_digest(reg, "a1", "pw1");
	assert_non_null(strstr(reg, "CSeq: 2 REGISTER"));
	/* a second challenge: the password is wrong; no third REGISTER */
	answer(r, reg, 401, ch);
	assert_int_equal(count("REGISTER"), 2);
	assert_string_equal(state_of(p, 1), "failed");
	assert_int_equal(status_int(p, 1, "code"), 401);
	/* a late or repeated answer changes nothing */
	answer(r, reg, 200, NULL);
	assert_string_equal(state_of(p, 1), "failed");
	pbx_trunk_reg_run(r, time(NULL) + 29);
	assert_int_equal(count("REGISTER"), 2);

	/* after 30 s, anew, without the old credentials */
	pbx_trunk_reg_run(r, time(NULL) + 31);
	assert_int_equal(count("REGISTER"), 3);
	reg = last("REGISTER");
	assert_null(strstr(reg, "Authorization"));
	answer(r, reg, 401, ch);
	reg = last("REGISTER");
	check_digest(reg, "a1", "pw1");
	/* stale: answered again, with the new nonce */
	chal(ch, sizeof(ch), "n2", true);
	answer(r, reg, 401, ch);
	assert_int_equal(count("REGISTER"), 5);
	reg = last("REGISTER");
	assert_non_null(strstr(reg, "nonce=\"n2\""));
	check_digest(reg, "a1", "pw1");
	/* 200: our Contact's expires is the binding's */
	snprintf(contact, sizeof(contact), "Contact: <sip:%s@192.0.2.1:5062>;expires=100\r\n", key);
	answer(r, reg, 200, contact);
	assert_string_equal(state_of(p, 1), "registered");
	json_int_t exp = status_int(p, 1, "expires");
	assert_true(exp >= now + 100 && exp <= time(NULL) + 100);

	/* the refresh, 30 s before the end, with the same nonce counted on */
	pbx_trunk_reg_run(r, time(NULL) + 60);
	assert_int_equal(count("REGISTER"), 5);
	pbx_trunk_reg_run(r, time(NULL) + 71);
	assert_int_equal(count("REGISTER"), 6);
	reg = last("REGISTER");
	assert_non_null(strstr(reg, "nc=00000002"));
	check_digest(reg, "a1", "pw1");
	/* 423: asked again for Min-Expires */
	answer(r, reg, 423, "Min-Expires: 300\r\n");
	reg = last("REGISTER");
	assert_non_null(strstr(reg, "Expires: 300\r\n"));
	answer(r, reg, 200, "Expires: 300\r\n");
	assert_string_equal(state_of(p, 1), "registered");

	/* OPTIONS: the round trip */
	const char *opt = last("OPTIONS");
	answer(r, opt, 200, NULL);
	json_t *j = pbx_trunk_reg_status(p, 1);
	assert_true(json_is_integer(json_object_get(j, "options_rtt_ms")));
	json_decref(j);

	/* deleted: un-REGISTERed at once, gone from the status */
	assert_int_equal(sqlite3_exec(p->db, "DELETE FROM trunks", NULL, NULL, NULL), SQLITE_OK);
	int before = count("REGISTER");
	pbx_trunk_reg_reload(p);
	assert_int_equal(count("REGISTER"), before + 1);
	reg = last("REGISTER");
	assert_non_null(strstr(reg, "Expires: 0\r\n"));
	assert_string_equal(state_of(p, 1), "null");
	answer(r, reg, 200, NULL);
	pbx_trunk_reg_run(r, time(NULL) + 1000);
	assert_int_equal(count("REGISTER"), before + 1); /* nothing more of it */

	p->trunk_reg = NULL;
	pbx_trunk_reg_free(r);
	event_base_free(base);
	sent_clear();
}

static void a_changed_trunk_leaves_and_registers_anew(void **state)
{
	struct fix *f = *state;
	struct pbx *p = &f->p;
	assert_int_equal(
		sqlite3_exec(p->db,
			     "INSERT INTO trunks(id, name, domain, username, password, created,"
			     " updated) VALUES(2, 'd', '198.51.100.1:5060', 'u2', 'pw2', 0, 0)",
			     NULL, NULL, NULL),
		SQLITE_OK);
	struct event_base *base = event_base_new();
	struct pbx_trunk_reg *r = pbx_trunk_reg_new(p, base, capture, NULL);
	p->trunk_reg = r;
	pbx_trunk_reg_link(r, true);
	pbx_trunk_reg_run(r, time(NULL) + 3);
	const char *reg = last("REGISTER");
	answer(r, reg, 200, NULL); /* no Contact, no Expires: what was asked */
	assert_string_equal(state_of(p, 2), "registered");
	assert_true(status_int(p, 2, "expires") >= time(NULL) + 599);
	char old_cid[64];
	sscanf(strstr(reg, "Call-ID: "), "Call-ID: %63s", old_cid);

	/* an unchanged reload sends nothing */
	pbx_trunk_reg_reload(p);
	assert_int_equal(count("REGISTER"), 1);
	/* a new user name: the old binding goes, a new one comes under a new Call-ID */
	assert_int_equal(sqlite3_exec(p->db, "UPDATE trunks SET username='u3'", NULL, NULL, NULL),
			 SQLITE_OK);
	pbx_trunk_reg_reload(p);
	assert_int_equal(count("REGISTER"), 2);
	reg = last("REGISTER");
	assert_non_null(strstr(reg, "To: <sip:u2@"));
	assert_non_null(strstr(reg, "Expires: 0\r\n"));
	assert_string_equal(state_of(p, 2), "registering");
	answer(r, reg, 200, NULL);
	pbx_trunk_reg_run(r, time(NULL) + 3);
	reg = last("REGISTER");
	assert_non_null(strstr(reg, "To: <sip:u3@"));
	assert_non_null(strstr(reg, "Expires: 600\r\n"));
	assert_null(strstr(reg, old_cid));
	/* a proxy's challenge is answered in Proxy-Authorization */
	answer(r, reg, 407, "Proxy-Authenticate: Digest realm=\"p\", nonce=\"p1\"\r\n");
	reg = last("REGISTER");
	assert_non_null(
		strstr(reg, "\r\nProxy-Authorization: Digest username=\"u3\", realm=\"p\""));
	assert_null(strstr(reg, "\r\nAuthorization:"));
	/* no answer within 32 s: failed, 408 */
	pbx_trunk_reg_run(r, time(NULL) + 40);
	assert_string_equal(state_of(p, 2), "failed");
	assert_int_equal(status_int(p, 2, "code"), 408);
	/* disabled: not registered, no keep-alive */
	assert_int_equal(sqlite3_exec(p->db, "UPDATE trunks SET enabled=0", NULL, NULL, NULL),
			 SQLITE_OK);
	pbx_trunk_reg_reload(p);
	assert_string_equal(state_of(p, 2), "unregistered");
	int n = nsent;
	pbx_trunk_reg_run(r, time(NULL) + 1000);
	assert_int_equal(nsent, n);

	p->trunk_reg = NULL;
	pbx_trunk_reg_free(r);
	event_base_free(base);
	sent_clear();
}

static int setup(void **state)
{
	*state = fix_open("test_trunk_reg");
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(answers_decide_the_next_step),
		cmocka_unit_test(refresh_before_the_binding_ends),
		cmocka_unit_test(failures_back_off_to_five_minutes),
		cmocka_unit_test(the_granted_lifetime_is_read_from_our_contact),
		cmocka_unit_test(the_key_is_the_sbcs),
		cmocka_unit_test_setup_teardown(
			the_client_registers_answers_challenges_and_backs_off, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(a_changed_trunk_leaves_and_registers_anew, setup,
						fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
