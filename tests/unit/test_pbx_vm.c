/* Voicemail's mailbox side on a real pbx.db (pbx_vm_store), the email it
 * builds (pbx_mail_build) and the unsolicited NOTIFY of message waiting
 * (pbx_mwi) it sends on every change. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../src/core/core_log.h"
#include "../../src/pbx/pbx.h"
#include "../../src/pbx/pbx_mail.h"
#include "../../src/pbx/pbx_mwi.h"
#include "../../src/pbx/pbx_vm.h"
#include "pbx_fix.h"

static int setup(void **state)
{
	struct fix *f = fix_open("test_pbx_vm");
	*state = f;
	return 0;
}

/* A second of a 440 Hz-ish square wave at 8 kHz, or n samples of it. */
static struct media_pcm tone(size_t n)
{
	struct media_pcm p = {.samples = calloc(n, sizeof(int16_t)), .n = n, .rate = 8000};
	for (size_t i = 0; i < n; i++)
		p.samples[i] = (int16_t)((i / 9) % 2 ? 8000 : -8000);
	return p;
}

static long long store(struct fix *f, long long user, const char *caller, time_t when, size_t n)
{
	struct media_pcm p = tone(n);
	long long id =
		pbx_vm_store(&f->p, user, caller, "Caller", when, &p, PBX_VM_NOANSWER, "cid-1");
	media_pcm_free(&p);
	return id;
}

static void test_store_list_audio(void **state)
{
	struct fix *f = *state;
	struct pbx_mailbox mb;
	assert_int_equal(pbx_vm_mailbox(&f->p, f->alice, &mb), 0);
	assert_true(mb.enabled); /* no row yet: the defaults */
	assert_false(mb.has_pin);
	assert_int_equal(mb.max_messages, 100);
	assert_int_equal(mb.ring_time, 25);
	assert_string_equal(mb.extension, "100");
	assert_int_equal(pbx_vm_mailbox_by_extension(&f->p, "101", 3, &mb), 0);
	assert_int_equal(mb.user_id, f->bob);
	assert_int_equal(pbx_vm_mailbox_by_extension(&f->p, "1011", 3, &mb), 0); /* len counts */
	assert_int_equal(pbx_vm_mailbox_by_extension(&f->p, "999", 3, &mb), -1);
	assert_int_equal(pbx_vm_mailbox(&f->p, 9999, &mb), -1);

	long long m1 = store(f, f->alice, "200", 1000, 8000);
	long long m2 = store(f, f->alice, "201", 3000, 4000);
	long long m3 = store(f, f->alice, "202", 2000, 800);
	assert_true(m1 > 0 && m2 > m1 && m3 > m2);
	int nn, no;
	assert_int_equal(pbx_vm_count(&f->p, f->alice, &nn, &no), 0);
	assert_int_equal(nn, 3);
	assert_int_equal(no, 0);
	assert_int_equal(pbx_vm_count(&f->p, f->bob, &nn, &no), 0);
	assert_int_equal(nn + no, 0);

	/* heard: old ones after the new, each oldest first */
	assert_int_equal(pbx_vm_mark_heard(&f->p, m1, true), 0);
	assert_int_equal(pbx_vm_mark_heard(&f->p, 9999, true), -1);
	struct pbx_vm_msg list[8];
	assert_int_equal(pbx_vm_messages(&f->p, f->alice, list, 8), 3);
	assert_int_equal(list[0].id, m3);
	assert_int_equal(list[1].id, m2);
	assert_int_equal(list[2].id, m1);
	assert_true(list[2].heard);
	assert_false(list[0].heard);
	assert_string_equal(list[0].caller, "202");
	assert_string_equal(list[0].caller_name, "Caller");
	assert_int_equal(list[0].received, 2000);
	assert_int_equal(list[0].duration_ms, 100);
	assert_int_equal(list[1].duration_ms, 500);
	assert_int_equal(pbx_vm_messages(&f->p, f->alice, list, 2), 2);
	assert_int_equal(pbx_vm_count(&f->p, f->alice, &nn, &no), 0);
	assert_int_equal(nn, 2);
	assert_int_equal(no, 1);

	/* the audio back, as stored and resampled */
	struct media_pcm a = {0};
	assert_int_equal(pbx_vm_audio(&f->p, m1, 8000, &a), 0);
	assert_int_equal(a.n, 8000);
	assert_int_equal(a.rate, 8000);
	struct media_pcm orig = tone(8000);
	assert_memory_equal(a.samples, orig.samples, 8000 * sizeof(int16_t));
	media_pcm_free(&orig);
	media_pcm_free(&a);
	assert_int_equal(pbx_vm_audio(&f->p, m2, 16000, &a), 0);
	assert_true(a.n >= 7900 && a.n <= 8100);
	media_pcm_free(&a);

	/* deleted: row and audio */
	assert_int_equal(pbx_vm_delete(&f->p, m2), 0);
	assert_int_equal(pbx_vm_delete(&f->p, m2), -1);
	assert_int_equal(pbx_vm_audio(&f->p, m2, 8000, &a), -1);
	assert_int_equal(pbx_vm_messages(&f->p, f->alice, list, 8), 2);
	sqlite3_stmt *st;
	assert_int_equal(
		sqlite3_prepare_v2(f->p.db, "SELECT COUNT(*) FROM voicemail_audio", -1, &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
}

static void test_full_and_off(void **state)
{
	struct fix *f = *state;
	assert_int_equal(sqlite3_exec(f->p.db,
				      "INSERT INTO mailboxes(user_id,max_messages) VALUES(1,2)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_true(store(f, f->alice, "200", 1, 80) > 0);
	assert_true(store(f, f->alice, "200", 2, 80) > 0);
	assert_int_equal(store(f, f->alice, "200", 3, 80), -1); /* full */
	int nn, no;
	pbx_vm_count(&f->p, f->alice, &nn, &no);
	assert_int_equal(nn, 2);
	/* heard ones count too; deleting one makes room */
	struct pbx_vm_msg list[4];
	assert_int_equal(pbx_vm_messages(&f->p, f->alice, list, 4), 2);
	pbx_vm_mark_heard(&f->p, list[0].id, true);
	assert_int_equal(store(f, f->alice, "200", 3, 80), -1);
	pbx_vm_delete(&f->p, list[0].id);
	assert_true(store(f, f->alice, "200", 4, 80) > 0);

	/* switched off */
	assert_int_equal(sqlite3_exec(f->p.db, "INSERT INTO mailboxes(user_id,enabled) VALUES(2,0)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(store(f, f->bob, "100", 5, 80), -1);
	pbx_vm_count(&f->p, f->bob, &nn, &no);
	assert_int_equal(nn + no, 0);
	/* a disabled user has no mailbox at all */
	sqlite3_exec(f->p.db, "UPDATE users SET enabled=0 WHERE id=1", NULL, NULL, NULL);
	struct pbx_mailbox mb;
	assert_int_equal(pbx_vm_mailbox(&f->p, f->alice, &mb), -1);
	assert_int_equal(store(f, f->alice, "200", 6, 80), -1);
	assert_int_equal(store(f, 9999, "200", 6, 80), -1);
}

static void test_pin(void **state)
{
	struct fix *f = *state;
	struct pbx_mailbox mb;
	assert_int_equal(pbx_vm_pin_check(&f->p, f->alice, "1234"), 0); /* none set */
	assert_int_equal(pbx_vm_pin_set(&f->p, f->alice, "123"), -1);	/* too short */
	assert_int_equal(pbx_vm_pin_set(&f->p, f->alice, "12345678901"), -1);
	assert_int_equal(pbx_vm_pin_set(&f->p, f->alice, "12a4"), -1);
	assert_int_equal(pbx_vm_pin_set(&f->p, 9999, "1234"), -1); /* no such user */
	assert_int_equal(pbx_vm_pin_set(&f->p, f->alice, "4711"), 0);
	assert_int_equal(pbx_vm_mailbox(&f->p, f->alice, &mb), 0);
	assert_true(mb.has_pin);
	assert_int_equal(pbx_vm_pin_check(&f->p, f->alice, "4711"), 1);
	assert_int_equal(pbx_vm_pin_check(&f->p, f->alice, "4712"), 0);
	assert_int_equal(pbx_vm_pin_check(&f->p, f->alice, ""), 0);
	assert_int_equal(pbx_vm_pin_check(&f->p, f->bob, "4711"), 0); /* another's */
	/* stored as argon2id, never in clear */
	char hash[256];
	sqlite3_stmt *st;
	sqlite3_prepare_v2(f->p.db, "SELECT pin_hash FROM mailboxes WHERE user_id=1", -1, &st,
			   NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(hash, sizeof(hash), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_memory_equal(hash, "$argon2id$", 10);
	assert_null(strstr(hash, "4711"));
	/* five wrong ones within the window: even the right one is refused */
	for (int i = 0; i < 4; i++)
		assert_int_equal(pbx_vm_pin_check(&f->p, f->alice, "0000"), 0);
	assert_int_equal(pbx_vm_pin_check(&f->p, f->alice, "4711"), 0);
	/* a new PIN starts afresh; "" removes it */
	assert_int_equal(pbx_vm_pin_set(&f->p, f->alice, "0815"), 0);
	assert_int_equal(pbx_vm_pin_check(&f->p, f->alice, "0815"), 1);
	assert_int_equal(pbx_vm_pin_set(&f->p, f->alice, ""), 0);
	assert_int_equal(pbx_vm_pin_check(&f->p, f->alice, "0815"), 0);
	assert_int_equal(pbx_vm_mailbox(&f->p, f->alice, &mb), 0);
	assert_false(mb.has_pin);
}

static void test_greeting(void **state)
{
	struct fix *f = *state;
	struct media_pcm g = {0};
	assert_int_equal(pbx_vm_greeting(&f->p, f->alice, 8000, &g), -1);
	struct media_pcm t = tone(4000);
	assert_int_equal(pbx_vm_greeting_set(&f->p, f->alice, &t), 0);
	assert_int_equal(pbx_vm_greeting_set(&f->p, 9999, &t), -1);
	assert_int_equal(pbx_vm_greeting(&f->p, f->alice, 8000, &g), 0);
	assert_int_equal(g.n, 4000);
	assert_memory_equal(g.samples, t.samples, 4000 * sizeof(int16_t));
	media_pcm_free(&g);
	assert_int_equal(pbx_vm_greeting(&f->p, f->bob, 8000, &g), -1);
	/* replaced, then removed */
	media_pcm_free(&t);
	t = tone(800);
	assert_int_equal(pbx_vm_greeting_set(&f->p, f->alice, &t), 0);
	assert_int_equal(pbx_vm_greeting(&f->p, f->alice, 8000, &g), 0);
	assert_int_equal(g.n, 800);
	media_pcm_free(&g);
	media_pcm_free(&t);
	assert_int_equal(pbx_vm_greeting_set(&f->p, f->alice, NULL), 0);
	assert_int_equal(pbx_vm_greeting(&f->p, f->alice, 8000, &g), -1);
}

static int count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void test_cascade(void **state)
{
	struct fix *f = *state;
	assert_true(store(f, f->alice, "200", 1, 80) > 0);
	assert_true(store(f, f->bob, "200", 1, 80) > 0);
	assert_int_equal(pbx_vm_pin_set(&f->p, f->alice, "1234"), 0);
	struct media_pcm t = tone(80);
	assert_int_equal(pbx_vm_greeting_set(&f->p, f->alice, &t), 0);
	media_pcm_free(&t);
	assert_int_equal(sqlite3_exec(f->p.db, "DELETE FROM users WHERE id=1", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(count(f->p.db, "SELECT COUNT(*) FROM voicemails"), 1);
	assert_int_equal(count(f->p.db, "SELECT COUNT(*) FROM voicemail_audio"), 1);
	assert_int_equal(count(f->p.db, "SELECT COUNT(*) FROM mailboxes"), 0);
	assert_int_equal(count(f->p.db, "SELECT COUNT(*) FROM greetings"), 0);
}

static void test_durable(void **state)
{
	struct fix *f = *state;
	long long id = store(f, f->alice, "200", 1, 8000);
	assert_true(id > 0);
	/* the commit's own sync level is back to NORMAL afterwards */
	assert_int_equal(count(f->p.db, "PRAGMA synchronous"), 1);
	/* a second connection (another process would see the same) finds it,
	 * and so does the reopened database */
	sqlite3 *other;
	assert_int_equal(store_pbx_open(f->path, &other), 0);
	assert_int_equal(count(other, "SELECT COUNT(*) FROM voicemails"), 1);
	core_db_close(other);
	core_db_close(f->p.db);
	assert_int_equal(store_pbx_open(f->path, &f->p.db), 0);
	assert_int_equal(count(f->p.db, "SELECT COUNT(*) FROM voicemail_audio"), 1);
	struct media_pcm a = {0};
	assert_int_equal(pbx_vm_audio(&f->p, id, 8000, &a), 0);
	assert_int_equal(a.n, 8000);
	media_pcm_free(&a);
}

/* Stored, then killed at once (SIGKILL: no close, no checkpoint): the
 * acknowledged message is there when the database is opened again. */
static void test_survives_kill(void **state)
{
	struct fix *f = *state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db;
		if (store_pbx_open(f->path, &db) < 0)
			_exit(2);
		struct pbx p = {.db = db, .name = "acme"};
		struct media_pcm t = tone(8000);
		long long id = pbx_vm_store(&p, f->alice, "200", "", 7, &t, PBX_VM_BUSY, "k");
		if (id <= 0)
			_exit(3);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	core_db_close(f->p.db);
	assert_int_equal(store_pbx_open(f->path, &f->p.db), 0);
	struct pbx_vm_msg m;
	assert_int_equal(pbx_vm_messages(&f->p, f->alice, &m, 1), 1);
	assert_int_equal(m.received, 7);
	struct media_pcm a = {0};
	assert_int_equal(pbx_vm_audio(&f->p, m.id, 8000, &a), 0);
	assert_int_equal(a.n, 8000);
	media_pcm_free(&a);
}

/* ---- message waiting: unsolicited NOTIFY to registered devices ---- */

static char sent[4][8192];
static int nsent;

static void capture(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	if (nsent < 4 && len < sizeof(sent[0])) {
		memcpy(sent[nsent], buf, len);
		sent[nsent][len] = '\0';
	}
	nsent++;
}

static void test_mwi_unsolicited(void **state)
{
	struct fix *f = *state;
	char body[256];
	assert_int_equal(pbx_mwi_body(body, sizeof(body), "100", "acme", 2, 1), 80);
	assert_string_equal(body, "Messages-Waiting: yes\r\nMessage-Account: sip:100@acme\r\n"
				  "Voice-Message: 2/1 (0/0)\r\n");
	assert_int_equal(pbx_mwi_body(body, 20, "100", "acme", 0, 0), -1);

	struct event_base *base = event_base_new();
	f->p.mwi = pbx_mwi_new(&f->p, base, capture, NULL);
	assert_non_null(f->p.mwi);
	assert_int_equal(sqlite3_exec(f->p.db,
				      "INSERT INTO bindings(user_id,contact,expires,call_id,cseq,"
				      "path,updated) VALUES(1,'sip:alice@192.0.2.7:5060',"
				      "4000000000,'c',1,'<sip:flow1@sbc.invalid;lr>',0),"
				      "(1,'sip:alice@192.0.2.8',1,'d',1,'',0)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	nsent = 0;
	pbx_mwi_registered(f->p.mwi, f->alice); /* no messages: nothing to say */
	assert_int_equal(nsent, 0);
	long long id = store(f, f->alice, "200", 1, 80);
	assert_int_equal(nsent, 1); /* the expired binding gets none */
	struct sip_msg m;
	assert_int_equal(sip_msg_parse(&m, sent[0], strlen(sent[0]), true), 0);
	assert_true(sip_pl_eq(m.method, "NOTIFY"));
	assert_true(sip_pl_eq(m.ruri, "sip:alice@192.0.2.7:5060"));
	assert_true(sip_pl_eq(sip_msg_hdr(&m, SIP_HDR_ROUTE)->value, "<sip:flow1@sbc.invalid;lr>"));
	assert_true(sip_pl_eq(sip_msg_hdr_named(&m, "Event")->value, "message-summary"));
	assert_true(sip_pl_eq(sip_msg_hdr(&m, SIP_HDR_CONTENT_TYPE)->value,
			      "application/simple-message-summary"));
	assert_non_null(strstr(sent[0], "branch=" PBX_MWI_BRANCH));
	assert_true(sip_pl_eq(m.body, "Messages-Waiting: yes\r\nMessage-Account: sip:100@acme\r\n"
				      "Voice-Message: 1/0 (0/0)\r\n"));
	/* heard: no longer waiting */
	nsent = 0;
	assert_int_equal(pbx_vm_mark_heard(&f->p, id, true), 0);
	assert_int_equal(nsent, 1);
	assert_non_null(strstr(sent[0], "Messages-Waiting: no\r\n"));
	assert_non_null(strstr(sent[0], "Voice-Message: 0/1 (0/0)\r\n"));
	/* a device registering anew hears of the old message */
	nsent = 0;
	pbx_mwi_registered(f->p.mwi, f->alice);
	assert_int_equal(nsent, 1);
	nsent = 0;
	assert_int_equal(pbx_vm_delete(&f->p, id), 0);
	assert_int_equal(nsent, 1);
	assert_non_null(strstr(sent[0], "Voice-Message: 0/0 (0/0)\r\n"));
	assert_int_equal(pbx_mwi_count(f->p.mwi), 0);
	pbx_mwi_free(f->p.mwi);
	f->p.mwi = NULL;
	event_base_free(base);
}

/* ---- the email's failure, logged once with what the relay said ---- */

static char logged[16][512];
static int nlogged;

static void log_capture(const char *line, size_t len)
{
	if (nlogged < 16) {
		snprintf(logged[nlogged], sizeof(logged[0]), "%.*s", (int)len, line);
		nlogged++;
	}
}

static int failures_logged(void)
{
	int n = 0;
	for (int i = 0; i < nlogged && i < 16; i++)
		n += strstr(logged[i], "the email of message") && strstr(logged[i], "failed");
	return n;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void test_mail_failure_logged(void **state)
{
	struct fix *f = *state;
	/* a port nobody listens on */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	char port[8];
	snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
	close(s);
	assert_int_equal(core_db_setting_set(f->p.db, "smtp_host", "127.0.0.1"), 0);
	assert_int_equal(core_db_setting_set(f->p.db, "smtp_port", port), 0);
	assert_int_equal(core_db_setting_set(f->p.db, "smtp_security", "none"), 0);
	sqlite3_exec(f->p.db, "UPDATE users SET email='alice@example.com' WHERE id=1", NULL, NULL,
		     NULL);
	struct event_base *base = event_base_new();
	f->p.child.base = base;
	nlogged = 0;
	core_log_set_sink(log_capture);
	assert_true(store(f, f->alice, "200", 1, 800) > 0); /* stored whatever the mail does */
	struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = {0, 50000};
	event_add(tick, &tv);
	for (int i = 0; i < 200 && !failures_logged(); i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(failures_logged(), 1);
	bool named = false;
	for (int i = 0; i < nlogged && i < 16; i++)
		named = named || (strstr(logged[i], "alice@example.com") &&
				  strstr(logged[i], "onnect")); /* "Couldn't connect ..." */
	assert_true(named);
	/* no retry: nothing more within a while */
	for (int i = 0; i < 10; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(failures_logged(), 1);
	core_log_set_sink(NULL);
	pbx_mail_free();
	event_free(tick);
	f->p.child.base = NULL;
	event_base_free(base);
	int nn, no;
	pbx_vm_count(&f->p, f->alice, &nn, &no);
	assert_int_equal(nn, 1);
}

/* ---- the email through a real relay: aiosmtpd with STARTTLS ---- */

static int logged_with(const char *a, const char *b)
{
	int n = 0;
	for (int i = 0; i < nlogged && i < 16; i++)
		n += strstr(logged[i], a) && (!b || strstr(logged[i], b));
	return n;
}

static int free_tcp_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	close(s);
	return ntohs(a.sin_port);
}

static bool port_open(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

static void loop_until(struct event_base *base, const char *a, const char *b)
{
	struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = {0, 50000};
	event_add(tick, &tv);
	for (int i = 0; i < 400 && !logged_with(a, b); i++) /* 20 s at most */
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
}

static void test_mail_starttls_verify(void **state)
{
	struct fix *f = *state;
	char cmd[1024], cert[160], key[160], md[160];
	snprintf(cert, sizeof(cert), "%s/cert.pem", f->dir);
	snprintf(key, sizeof(key), "%s/key.pem", f->dir);
	snprintf(md, sizeof(md), "%s/md", f->dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
		 "-subj /CN=127.0.0.1 >/dev/null 2>&1",
		 key, cert);
	assert_int_equal(system(cmd), 0);
	int port = free_tcp_port();
	char listen[32];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	pid_t sink = fork();
	assert_true(sink >= 0);
	if (sink == 0) {
		execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n", "-l", listen,
		      "--tlscert", cert, "--tlskey", key, "-c", "aiosmtpd.handlers.Mailbox", md,
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 150 && !port_open(port); i++)
		usleep(100000);
	assert_true(port_open(port));

	char pstr[8];
	snprintf(pstr, sizeof(pstr), "%d", port);
	core_db_setting_set(f->p.db, "smtp_host", "127.0.0.1");
	core_db_setting_set(f->p.db, "smtp_port", pstr);
	core_db_setting_set(f->p.db, "smtp_security", "starttls");
	core_db_setting_set(f->p.db, "smtp_from", "pbx@example.com");
	sqlite3_exec(f->p.db, "UPDATE users SET email='alice@example.com' WHERE id=1", NULL, NULL,
		     NULL);
	struct event_base *base = event_base_new();
	f->p.child.base = base;
	nlogged = 0;
	core_log_set_sink(log_capture);
	/* verified by default: a self-signed certificate fails */
	assert_true(store(f, f->alice, "200", 1, 800) > 0);
	loop_until(base, "the email of message", "failed");
	assert_int_equal(logged_with("the email of message", "failed"), 1);
	assert_true(logged_with("the email of message", "SSL") ||
		    logged_with("the email of message", "certificate"));
	/* "verify": false, for a relay with a self-signed certificate */
	core_db_setting_set(f->p.db, "smtp_verify", "0");
	long long id = store(f, f->alice, "200", 2, 8000);
	assert_true(id > 0);
	loop_until(base, "emailed to alice@example.com", NULL);
	assert_int_equal(logged_with("emailed to alice@example.com", NULL), 1);
	core_log_set_sink(NULL);
	pbx_mail_free();
	f->p.child.base = NULL;
	event_base_free(base);
	kill(sink, SIGTERM);
	waitpid(sink, NULL, 0);

	/* what the relay got (it takes mail only after STARTTLS: --tlscert) */
	char *mail = NULL;
	snprintf(cmd, sizeof(cmd), "cat %s/new/* 2>/dev/null", md);
	FILE *in = popen(cmd, "r");
	assert_non_null(in);
	size_t cap = 0;
	ssize_t got = getdelim(&mail, &cap, '\0', in);
	pclose(in);
	assert_true(got > 0);
	assert_non_null(strstr(mail, "To: alice@example.com\n"));
	assert_non_null(strstr(mail, "From: pbx@example.com\n"));
	assert_non_null(strstr(mail, "Content-Type: audio/wav; name=\"voicemail-"));
	assert_non_null(strstr(mail, "Subject: =?UTF-8?B?"));
	free(mail);
}

/* A relay that never answers: stopping does not wait for its timeout. */
static void test_mail_stops_quickly(void **state)
{
	struct fix *f = *state;
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ls, 4), 0); /* connects, never greets */
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &al), 0);
	char port[8];
	snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
	core_db_setting_set(f->p.db, "smtp_host", "127.0.0.1");
	core_db_setting_set(f->p.db, "smtp_port", port);
	core_db_setting_set(f->p.db, "smtp_security", "none");
	sqlite3_exec(f->p.db, "UPDATE users SET email='alice@example.com' WHERE id=1", NULL, NULL,
		     NULL);
	struct event_base *base = event_base_new();
	f->p.child.base = base;
	nlogged = 0;
	core_log_set_sink(log_capture);
	assert_true(store(f, f->alice, "200", 1, 800) > 0);
	usleep(500000); /* the worker is in the transfer now */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pbx_mail_free();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	core_log_set_sink(NULL);
	assert_true(t1.tv_sec - t0.tv_sec < 4);
	assert_int_equal(logged_with("was not sent (shutting down)", NULL), 1);
	f->p.child.base = NULL;
	event_base_free(base);
	close(ls);
}

/* ---- the email ---- */

static char *decode_b64(const char *s, size_t n, size_t *len)
{
	char *out = malloc(n + 1);
	const char *end;
	assert_int_equal(sodium_base642bin((unsigned char *)out, n, s, n, "\r\n", len, &end,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	return out;
}

/* The base64 of a part: from after its blank line to the next boundary. */
static char *part(const char *msg, const char *after, size_t *len)
{
	const char *p = strstr(msg, after);
	assert_non_null(p);
	p = strstr(p, "\r\n\r\n");
	assert_non_null(p);
	p += 4;
	const char *e = strstr(p, "\r\n--b0undary");
	assert_non_null(e);
	return decode_b64(p, (size_t)(e - p), len);
}

static void test_mail_build(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	unsigned char wav[1000];
	for (size_t i = 0; i < sizeof(wav); i++)
		wav[i] = (unsigned char)(i * 7);
	struct pbx_mail_msg m = {.from = "pbx@example.com",
				 .to = "alice@example.com",
				 .lang = "en",
				 .caller = "200",
				 .caller_name = "Bob \r\nBcc: evil@example.com",
				 .extension = "100",
				 .system = "acme",
				 .received = 1764633600, /* 2025-12-02 00:00:00 UTC */
				 .duration_ms = 75000,
				 .wav = wav,
				 .wav_len = sizeof(wav),
				 .id = 42,
				 .boundary = "b0undary",
				 .message_id = "x@acme"};
	size_t len;
	char *msg = pbx_mail_build(&m, &len);
	assert_non_null(msg);
	assert_int_equal(strlen(msg), len);
	assert_memory_equal(msg, "From: pbx@example.com\r\nTo: alice@example.com\r\nSubject: ", 55);
	assert_non_null(strstr(msg, "\r\nDate: Tue, 02 Dec 2025 00:00:00 +0000\r\n"));
	assert_non_null(strstr(msg, "\r\nMessage-ID: <x@acme>\r\n"));
	assert_non_null(strstr(msg, "\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(strstr(msg, "Content-Type: multipart/mixed; boundary=\"b0undary\"\r\n"));
	assert_null(strstr(msg, "\r\nBcc:")); /* the name went into an encoded word */
	assert_non_null(strstr(msg, "\r\n--b0undary--\r\n"));
	/* the subject: encoded words, decoded back */
	const char *s = strstr(msg, "Subject: ") + 9, *e = strstr(s, "\r\nDate:");
	char subject[512] = "";
	while (s < e) {
		const char *w = strstr(s, "=?UTF-8?B?");
		assert_true(w && w < e);
		w += 10;
		const char *we = strstr(w, "?=");
		size_t l;
		char *d = decode_b64(w, (size_t)(we - w), &l);
		strncat(subject, d, l);
		free(d);
		assert_true(we + 2 - s <= 80); /* each line under 78 + folding */
		s = we + 2;
		if (s < e) {
			assert_memory_equal(s, "\r\n ", 3);
			s += 3;
		}
	}
	assert_string_equal(subject, "New voicemail from Bob Bcc: evil@example.com (200)");
	/* the text */
	size_t tl;
	char *text = part(msg, "Content-Type: text/plain; charset=UTF-8", &tl);
	text = realloc(text, tl + 1);
	text[tl] = '\0';
	assert_non_null(strstr(text, "extension 100"));
	assert_non_null(strstr(text, "From: Bob Bcc: evil@example.com (200)\r\n"));
	assert_non_null(strstr(text, "Received: 2025-12-02 00:00:00 UTC\r\n"));
	assert_non_null(strstr(text, "Length: 1:15\r\n"));
	free(text);
	/* the attachment decodes back to the very bytes */
	assert_non_null(
		strstr(msg, "Content-Disposition: attachment; filename=\"voicemail-42.wav\""));
	size_t al;
	char *att = part(msg, "Content-Type: audio/wav", &al);
	assert_int_equal(al, sizeof(wav));
	assert_memory_equal(att, wav, sizeof(wav));
	free(att);
	/* lines of base64 at most 76 characters */
	for (const char *l = strstr(msg, "Content-Type: audio/wav"); (l = strstr(l, "\r\n"));) {
		l += 2;
		const char *n = strstr(l, "\r\n");
		if (!n)
			break;
		assert_true(n - l <= 78);
	}
	free(msg);

	/* German, no attachment, a long name with umlauts split on characters */
	m.lang = "de";
	m.wav = NULL;
	m.caller_name = "Jürgen Müller-Lüdenscheidt aus Großbottwar an der Murr";
	msg = pbx_mail_build(&m, &len);
	assert_non_null(msg);
	assert_null(strstr(msg, "audio/wav"));
	s = strstr(msg, "Subject: ") + 9;
	e = strstr(s, "\r\nDate:");
	subject[0] = '\0';
	while (s < e) {
		const char *w = strstr(s, "=?UTF-8?B?") + 10, *we = strstr(w, "?=");
		size_t l;
		char *d = decode_b64(w, (size_t)(we - w), &l);
		/* every word is whole UTF-8 by itself */
		assert_true(l == 0 || ((unsigned char)d[0] & 0xc0) != 0x80);
		strncat(subject, d, l);
		free(d);
		s = we + 2 + (we + 2 < e ? 3 : 0);
	}
	assert_string_equal(subject, "Neue Sprachnachricht von Jürgen Müller-Lüdenscheidt aus "
				     "Großbottwar an der Murr (200)");
	text = part(msg, "Content-Type: text/plain", &tl);
	text = realloc(text, tl + 1);
	text[tl] = '\0';
	assert_non_null(strstr(text, "Nebenstelle 100"));
	assert_non_null(strstr(text, "Länge: 1:15"));
	free(text);
	free(msg);
}

static void test_mail_address(void **state)
{
	(void)state;
	assert_true(pbx_mail_address_ok("alice@example.com"));
	assert_true(pbx_mail_address_ok("a.b+c@mail.example.org"));
	const char *bad[] = {"",
			     "alice",
			     "@example.com",
			     "alice@",
			     "a@b@c",
			     "al ice@example.com",
			     "alice@example.com\r\nBcc: x@y",
			     "<alice@example.com>",
			     "alice@.example.com",
			     "alice@example..com",
			     "alice.@example.com",
			     "\"a\"@example.com"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(pbx_mail_address_ok(bad[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_list_audio, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_full_and_off, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_pin, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_greeting, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_cascade, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_durable, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_survives_kill, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_mwi_unsolicited, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_mail_failure_logged, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_mail_starttls_verify, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_mail_stops_quickly, setup, fix_teardown),
		cmocka_unit_test(test_mail_build),
		cmocka_unit_test(test_mail_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
