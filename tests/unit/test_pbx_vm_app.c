/*
 * The voicemail applications (pbx_vm_app) as state machines: the media
 * session, the prompts and the mailbox store are the test's own (defined
 * here, linked instead of the engine's, prompts' and store's), each call
 * written to a log of what the app did; the session's callbacks (digit,
 * played, recorded) are driven by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/pbx/pbx_media.h"
#include "../../src/pbx/pbx_prompts.h"
#include "../../src/pbx/pbx_vm.h"

/* ---- what the app did ---- */
static char actions[8192];
static void act(const char *fmt, ...)
{
	size_t l = strlen(actions);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(actions + l, sizeof(actions) - l, fmt, ap);
	va_end(ap);
	l = strlen(actions);
	snprintf(actions + l, sizeof(actions) - l, ";");
}

static bool did(const char *what)
{
	return strstr(actions, what) != NULL;
}

/* ---- the session ---- */
struct pbx_msess {
	struct pbx_msess_cb cb;
	bool recording;
	size_t recorded; /* samples the fake recording holds when taken */
};
static struct pbx_msess sess;
static const struct media_pcm clip = {NULL, 160, 8000};

void pbx_msess_set_cb(struct pbx_msess *s, const struct pbx_msess_cb *cb)
{
	s->cb = *cb;
}
int pbx_msess_rate(const struct pbx_msess *s)
{
	(void)s;
	return 8000;
}
int pbx_msess_play(struct pbx_msess *s, const struct media_pcm *c, bool loop)
{
	(void)s;
	(void)loop;
	if (c == &clip)
		act("play");
	else
		act("play:%zu", c->n);
	return 0;
}
int pbx_msess_beep(struct pbx_msess *s, int ms)
{
	(void)s;
	(void)ms;
	act("beep");
	return 0;
}
void pbx_msess_stop(struct pbx_msess *s)
{
	(void)s;
	act("stop");
}
int pbx_msess_record(struct pbx_msess *s, int max_ms)
{
	s->recording = true;
	act("record:%d", max_ms);
	return 0;
}
int pbx_msess_record_take(struct pbx_msess *s, struct media_pcm *out)
{
	if (!s->recording)
		return -1;
	s->recording = false;
	out->samples = calloc(s->recorded ? s->recorded : 1, sizeof(int16_t));
	out->n = s->recorded;
	out->rate = 8000;
	act("take");
	return 0;
}

/* ---- the prompts: each named in the log ---- */
const struct media_pcm *pbx_prompt(struct pbx_prompts *pr, const char *name, int rate)
{
	(void)pr;
	(void)rate;
	act("say:%s", name);
	return &clip;
}
int pbx_prompt_number(struct pbx_prompts *pr, int n, int rate, const struct media_pcm **out,
		      int cap)
{
	(void)pr;
	(void)rate;
	(void)cap;
	act("number:%d", n);
	out[0] = &clip;
	return 1;
}
int pbx_prompt_digits(struct pbx_prompts *pr, const char *s, int rate, const struct media_pcm **out,
		      int cap)
{
	(void)pr;
	(void)rate;
	(void)cap;
	act("digits:%s", s);
	out[0] = &clip;
	return 1;
}

/* ---- the mailbox store ---- */
static struct pbx_mailbox box;
static bool box_exists;
static struct pbx_vm_msg msgs[8];
static int nmsgs;
static bool has_greeting;
static int stored;

static int mailbox_of(struct pbx_mailbox *out)
{
	if (!box_exists)
		return -1;
	*out = box;
	return 0;
}
int pbx_vm_mailbox(struct pbx *p, long long user_id, struct pbx_mailbox *out)
{
	(void)p;
	return user_id == box.user_id ? mailbox_of(out) : -1;
}
int pbx_vm_mailbox_by_extension(struct pbx *p, const char *ext, size_t len, struct pbx_mailbox *out)
{
	(void)p;
	return strlen(box.extension) == len && memcmp(ext, box.extension, len) == 0
		       ? mailbox_of(out)
		       : -1;
}
int pbx_vm_count(struct pbx *p, long long user_id, int *new_msgs, int *old_msgs)
{
	(void)p;
	(void)user_id;
	*new_msgs = *old_msgs = 0;
	for (int i = 0; i < nmsgs; i++)
		*(msgs[i].heard ? old_msgs : new_msgs) += 1;
	return 0;
}
long long pbx_vm_store(struct pbx *p, long long user_id, const char *caller,
		       const char *caller_name, time_t when, const struct media_pcm *pcm,
		       enum pbx_vm_reason reason, const char *call_id)
{
	(void)p;
	(void)caller_name;
	(void)when;
	(void)call_id;
	act("store:%lld:%s:%zu:%d", user_id, caller, pcm->n, (int)reason);
	return ++stored;
}
int pbx_vm_messages(struct pbx *p, long long user_id, struct pbx_vm_msg *out, int cap)
{
	(void)p;
	(void)user_id;
	int n = 0;
	for (int pass = 0; pass < 2; pass++) /* new ones first */
		for (int i = 0; i < nmsgs && n < cap; i++)
			if (msgs[i].heard == (pass == 1))
				out[n++] = msgs[i];
	return n;
}
int pbx_vm_audio(struct pbx *p, long long msg_id, int rate, struct media_pcm *out)
{
	(void)p;
	out->samples = calloc(1, sizeof(int16_t));
	out->n = (size_t)(1000 + msg_id); /* "play:<1000+id>" in the log */
	out->rate = rate;
	return 0;
}
int pbx_vm_mark_heard(struct pbx *p, long long msg_id, bool heard)
{
	(void)p;
	act("heard:%lld:%d", msg_id, heard);
	for (int i = 0; i < nmsgs; i++)
		if (msgs[i].id == msg_id)
			msgs[i].heard = heard;
	return 0;
}
int pbx_vm_delete(struct pbx *p, long long msg_id)
{
	(void)p;
	act("delete:%lld", msg_id);
	return 0;
}
int pbx_vm_pin_check(struct pbx *p, long long user_id, const char *pin)
{
	(void)p;
	return user_id == box.user_id && strcmp(pin, "2468") == 0;
}
int pbx_vm_pin_set(struct pbx *p, long long user_id, const char *pin)
{
	(void)p;
	act("pin:%lld:%s", user_id, pin);
	return 0;
}
int pbx_vm_greeting(struct pbx *p, long long user_id, int rate, struct media_pcm *out)
{
	(void)p;
	(void)user_id;
	if (!has_greeting)
		return -1;
	out->samples = calloc(1, sizeof(int16_t));
	out->n = 777;
	out->rate = rate;
	return 0;
}
int pbx_vm_greeting_set(struct pbx *p, long long user_id, const struct media_pcm *pcm)
{
	(void)p;
	act("greeting:%lld:%zu", user_id, pcm->n);
	return 0;
}

/* ---- driving it ---- */
static struct pbx px;
static int done;
static void on_done(void *arg, struct pbx_vm_app *a)
{
	(void)arg;
	(void)a;
	done++;
}
static const struct pbx_vm_app_cb cb = {on_done, NULL};

static int setup(void **state)
{
	(void)state;
	actions[0] = '\0';
	memset(&sess, 0, sizeof(sess));
	box = (struct pbx_mailbox){.user_id = 7,
				   .extension = "101",
				   .enabled = true,
				   .max_seconds = 60,
				   .max_messages = 3};
	box_exists = true;
	nmsgs = 0;
	has_greeting = false;
	stored = 0;
	done = 0;
	return 0;
}

static void digit(char d)
{
	sess.cb.digit(sess.cb.arg, &sess, d);
}
static void played(void)
{
	sess.cb.played(sess.cb.arg, &sess);
}
static void clear(void)
{
	actions[0] = '\0';
}

static struct pbx_vm_app *leave(enum pbx_vm_reason why)
{
	return pbx_vm_leave(&px, &sess, 7, why, "100", "Desk 100", "cid", &cb);
}

static void test_leave_default_greeting_beep_record_hash_stores(void **state)
{
	(void)state;
	struct pbx_vm_app *a = leave(PBX_VM_BUSY);
	assert_true(did("say:vm-greeting-default;play;digits:101;play;say:vm-busy;play;"
			"say:vm-leave-message;play;beep;"));
	played();
	assert_true(did("record:60000"));
	sess.recorded = 8000 * 3; /* 3 s said */
	clear();
	digit('#');
	assert_true(did("take;store:7:100:24000:1;"));
	assert_true(did("say:vm-saved") && did("say:vm-goodbye"));
	assert_int_equal(done, 0);
	played();
	assert_int_equal(done, 1);
	pbx_vm_app_free(a);
	assert_int_equal(stored, 1);
}

static void test_leave_own_greeting_and_unavailable(void **state)
{
	(void)state;
	has_greeting = true;
	struct pbx_vm_app *a = leave(PBX_VM_NOANSWER);
	assert_true(did("play:777;say:vm-leave-message;play;beep;"));
	assert_false(did("vm-greeting-default"));
	pbx_vm_app_free(a);
	setup(NULL);
	a = leave(PBX_VM_UNAVAILABLE);
	assert_true(did("say:vm-unavailable"));
	pbx_vm_app_free(a);
}

static void test_a_digit_skips_the_greeting(void **state)
{
	(void)state;
	struct pbx_vm_app *a = leave(PBX_VM_NOANSWER);
	clear();
	digit('5');
	assert_string_equal(actions, "stop;beep;");
	played();
	assert_true(did("record:60000"));
	pbx_vm_app_free(a);
}

static void test_hang_up_while_recording_stores_unless_too_short(void **state)
{
	(void)state;
	struct pbx_vm_app *a = leave(PBX_VM_NOANSWER);
	played();
	sess.recorded = 8000 * 2;
	pbx_vm_app_free(a); /* the caller hung up */
	assert_int_equal(stored, 1);
	setup(NULL);
	a = leave(PBX_VM_NOANSWER);
	played();
	sess.recorded = 4000; /* half a second: a hang-up after the beep */
	pbx_vm_app_free(a);
	assert_int_equal(stored, 0);
	assert_true(did("take"));
}

static void test_maximum_length_stores_and_ends(void **state)
{
	(void)state;
	struct pbx_vm_app *a = leave(PBX_VM_NOANSWER);
	played();
	sess.recorded = 8000 * 60;
	sess.cb.recorded(sess.cb.arg, &sess);
	assert_int_equal(stored, 1);
	played();
	assert_int_equal(done, 1);
	pbx_vm_app_free(a);
	assert_int_equal(stored, 1); /* not twice */
}

static void test_full_and_switched_off_mailboxes_are_announced(void **state)
{
	(void)state;
	nmsgs = 3; /* max_messages */
	struct pbx_vm_app *a = leave(PBX_VM_NOANSWER);
	assert_true(did("say:vm-mailbox-full;play;say:vm-goodbye;"));
	assert_false(did("beep"));
	played();
	assert_int_equal(done, 1);
	pbx_vm_app_free(a);
	setup(NULL);
	box.enabled = false;
	a = leave(PBX_VM_NOANSWER);
	assert_true(did("say:vm-no-mailbox"));
	played();
	assert_int_equal(done, 1);
	pbx_vm_app_free(a);
}

static void add_msg(long long id, bool heard)
{
	msgs[nmsgs++] = (struct pbx_vm_msg){.id = id, .user_id = 7, .heard = heard};
}

static void test_menu_counts_then_plays_marks_deletes_saves(void **state)
{
	(void)state;
	add_msg(1, false);
	add_msg(2, false);
	add_msg(3, true);
	struct pbx_vm_app *a = pbx_vm_menu(&px, &sess, 7, false, &cb);
	assert_true(did("say:vm-you-have;play;number:2;play;say:vm-new;play;say:vm-messages;play;"
			"say:vm-and;play;say:vm-one;play;say:vm-old;play;say:vm-message;play;"
			"say:vm-menu-main;"));
	clear();
	digit('1');
	assert_true(strncmp(actions, "stop;", 5) == 0 && did("play:1001;")); /* the menu cut */
	assert_false(did("heard"));
	played(); /* played to its end: heard */
	assert_true(did("heard:1:1;say:vm-menu-message"));
	clear();
	digit('6');
	assert_true(did("play:1002"));
	clear();
	digit('7');
	assert_true(did("delete:2;") && did("say:vm-deleted;play;play:1003"));
	clear();
	digit('4'); /* back to the first */
	assert_true(did("play:1001"));
	clear();
	digit('9');
	assert_true(did("say:vm-saved;play;play:1003"));
	clear();
	digit('6');
	assert_true(did("say:vm-no-more;play;say:vm-menu-main"));
	clear();
	digit('*');
	assert_true(did("say:vm-goodbye"));
	played();
	assert_int_equal(done, 1);
	pbx_vm_app_free(a);
}

static void test_menu_without_messages(void **state)
{
	(void)state;
	struct pbx_vm_app *a = pbx_vm_menu(&px, &sess, 7, false, &cb);
	assert_true(did("say:vm-you-have;play;say:vm-no-messages;play;say:vm-menu-main;"));
	clear();
	digit('8');
	assert_true(did("say:vm-invalid;play;say:vm-menu-main"));
	pbx_vm_app_free(a);
}

static void keys(const char *s)
{
	for (; *s; s++)
		digit(*s);
}

static void test_star98_asks_mailbox_and_pin_three_tries(void **state)
{
	(void)state;
	struct pbx_vm_app *a = pbx_vm_menu(&px, &sess, -1, true, &cb);
	assert_true(did("say:vm-enter-mailbox"));
	keys("101#");
	assert_true(did("say:vm-enter-pin"));
	keys("1111#");
	assert_true(did("say:vm-wrong-pin;play;say:vm-enter-mailbox"));
	keys("101#2468#");
	assert_true(did("say:vm-you-have"));
	pbx_vm_app_free(a);
	setup(NULL);
	a = pbx_vm_menu(&px, &sess, -1, true, &cb);
	keys("999#0000#101#0000#101#0000#"); /* no such mailbox: as a wrong PIN */
	assert_false(did("vm-you-have"));
	assert_true(did("say:vm-wrong-pin;play;say:vm-goodbye"));
	played();
	assert_int_equal(done, 1);
	pbx_vm_app_free(a);
}

static void test_options_greeting_and_pin(void **state)
{
	(void)state;
	struct pbx_vm_app *a = pbx_vm_menu(&px, &sess, 7, false, &cb);
	keys("01");
	assert_true(did("say:vm-menu-options") && did("say:vm-record-greeting;play;beep"));
	played();
	assert_true(did("record:120000"));
	sess.recorded = 8000 * 4;
	clear();
	digit('#');
	assert_true(did("take;greeting:7:32000;say:vm-greeting-saved"));
	keys("412#"); /* too short a PIN */
	assert_true(did("say:vm-invalid"));
	assert_false(did("pin:"));
	keys("4135790#");
	assert_true(did("pin:7:135790;say:vm-pin-changed"));
	clear();
	digit('*');
	assert_true(did("say:vm-menu-main"));
	pbx_vm_app_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_leave_default_greeting_beep_record_hash_stores, setup),
		cmocka_unit_test_setup(test_leave_own_greeting_and_unavailable, setup),
		cmocka_unit_test_setup(test_a_digit_skips_the_greeting, setup),
		cmocka_unit_test_setup(test_hang_up_while_recording_stores_unless_too_short, setup),
		cmocka_unit_test_setup(test_maximum_length_stores_and_ends, setup),
		cmocka_unit_test_setup(test_full_and_switched_off_mailboxes_are_announced, setup),
		cmocka_unit_test_setup(test_menu_counts_then_plays_marks_deletes_saves, setup),
		cmocka_unit_test_setup(test_menu_without_messages, setup),
		cmocka_unit_test_setup(test_star98_asks_mailbox_and_pin_three_tries, setup),
		cmocka_unit_test_setup(test_options_greeting_and_pin, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
