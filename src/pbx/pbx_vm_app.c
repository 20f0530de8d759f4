/*
 * pbx_vm_app — the voicemail applications on a call's media-engine session
 * (pbx_vm.h): leaving a message, the mailbox menu, and saying one prompt
 * before hanging up (pbx_vm_say, for feature codes), holding a line with a
 * prompt and music or silence (pbx_vm_hold, park). Each is a small
 * state machine driven by the session's callbacks: a prompt queue ran
 * empty (played), a digit came (which always interrupts what plays), a
 * recording reached its maximum. Clips the app plays that are not cached
 * prompts (the user's greeting, a message) are owned here and freed only
 * after pbx_msess_stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_log.h"
#include "pbx_media.h"
#include "pbx_prompts.h"
#include "pbx_vm.h"

#define VM_APP_MSGS	   256	  /* messages the menu walks through */
#define VM_MIN_MESSAGE_MS  1000	  /* shorter: a hang-up after the beep, not kept */
#define VM_GREETING_MAX_MS 120000 /* a greeting recorded from the menu */
#define VM_PIN_TRIES	   3
#define VM_INPUT_MAX	   16
#define VM_BEEP_MS	   400

enum vm_state {
	ST_GREETING,	/* greeting and "leave a message", then the beep */
	ST_RECORDING,	/* the message */
	ST_BYE,		/* a last prompt, then done */
	ST_DONE,	/* done was called: nothing more */
	ST_ASK_MAILBOX, /* *98: the mailbox number, until '#' */
	ST_ASK_PIN,	/* the PIN, until '#' */
	ST_MAIN,	/* the main menu */
	ST_MSG_PLAYING, /* a message plays: heard once it has played */
	ST_MSG,		/* the message menu */
	ST_OPTIONS,	/* mailbox options */
	ST_GREET_BEEP,	/* "record your greeting", beep */
	ST_GREET_REC,	/* the greeting, until '#' */
	ST_NEW_PIN,	/* a new PIN, until '#' */
};

struct pbx_vm_app {
	struct pbx *p;
	struct pbx_msess *s;
	struct pbx_vm_app_cb cb;
	enum vm_state st;
	int rate;
	long long user_id;
	struct pbx_mailbox mb;
	/* leaving a message */
	enum pbx_vm_reason reason;
	char caller[72], caller_name[128], call_id[256];
	struct media_pcm greeting; /* the user's own, owned */
	/* the menu */
	bool ask_mailbox; /* *98: the mailbox is asked for, then its PIN */
	char input[VM_INPUT_MAX + 1];
	int ninput, tries;
	struct pbx_vm_msg *msgs;
	int nmsgs, cur;
	struct media_pcm audio; /* the message playing, owned */
};

static void say(struct pbx_vm_app *a, const char *name)
{
	const struct media_pcm *clip = pbx_prompt(a->p->prompts, name, a->rate);
	if (clip)
		pbx_msess_play(a->s, clip, false);
	else
		log_warn("vm: no prompt %s", name);
}

static void say_number(struct pbx_vm_app *a, int n)
{
	const struct media_pcm *clips[8];
	int k = pbx_prompt_number(a->p->prompts, n, a->rate, clips, 8);
	for (int i = 0; i < k; i++)
		pbx_msess_play(a->s, clips[i], false);
}

static void say_digits(struct pbx_vm_app *a, const char *s)
{
	const struct media_pcm *clips[80];
	int k = pbx_prompt_digits(a->p->prompts, s, a->rate, clips, 80);
	for (int i = 0; i < k; i++)
		pbx_msess_play(a->s, clips[i], false);
}

/* A last prompt, then done. */
static void bye(struct pbx_vm_app *a, const char *prompt)
{
	pbx_msess_stop(a->s);
	if (prompt)
		say(a, prompt);
	say(a, "vm-goodbye");
	a->st = ST_BYE;
}

static void finish(struct pbx_vm_app *a)
{
	if (a->st == ST_DONE)
		return;
	a->st = ST_DONE;
	if (a->cb.done)
		a->cb.done(a->cb.arg, a);
}

/* ---- leaving a message ---- */

/* The recording so far is stored if it is long enough to be a message:
 * true if it was. */
static bool store_message(struct pbx_vm_app *a)
{
	struct media_pcm pcm = {0};
	bool stored = false;
	if (pbx_msess_record_take(a->s, &pcm) < 0)
		return false;
	if (pcm.rate > 0 && pcm.n * 1000 >= (size_t)pcm.rate * VM_MIN_MESSAGE_MS) {
		stored = pbx_vm_store(a->p, a->user_id, a->caller, a->caller_name, time(NULL), &pcm,
				      a->reason, a->call_id) >= 0;
		if (!stored)
			log_error("vm: a message for user %lld could not be stored", a->user_id);
	}
	media_pcm_free(&pcm);
	return stored;
}

static void leave_begin(struct pbx_vm_app *a)
{
	int new_msgs = 0, old_msgs = 0;
	if (pbx_vm_mailbox(a->p, a->user_id, &a->mb) < 0 || !a->mb.enabled) {
		bye(a, "vm-no-mailbox");
		return;
	}
	if (pbx_vm_count(a->p, a->user_id, &new_msgs, &old_msgs) < 0 ||
	    new_msgs + old_msgs >= a->mb.max_messages) {
		bye(a, "vm-mailbox-full");
		return;
	}
	if (pbx_vm_greeting(a->p, a->user_id, a->rate, &a->greeting) == 0) {
		pbx_msess_play(a->s, &a->greeting, false);
	} else {
		say(a, "vm-greeting-default");
		say_digits(a, a->mb.extension);
		say(a, a->reason == PBX_VM_BUSY ? "vm-busy" : "vm-unavailable");
	}
	say(a, "vm-leave-message");
	pbx_msess_beep(a->s, VM_BEEP_MS);
	a->st = ST_GREETING;
}

/* ---- the menu ---- */

static void main_menu(struct pbx_vm_app *a)
{
	say(a, "vm-menu-main");
	a->st = ST_MAIN;
}

static void say_count(struct pbx_vm_app *a, int n, const char *kind)
{
	if (n == 1)
		say(a, "vm-one"); /* German counts "eine Nachricht", not "eins" */
	else
		say_number(a, n);
	say(a, kind);
	say(a, n == 1 ? "vm-message" : "vm-messages");
}

/* "You have 2 new messages and 1 old message", then the main menu. */
static void menu_intro(struct pbx_vm_app *a)
{
	int new_msgs = 0;
	if (pbx_vm_mailbox(a->p, a->user_id, &a->mb) < 0) {
		bye(a, "vm-no-mailbox");
		return;
	}
	a->nmsgs = pbx_vm_messages(a->p, a->user_id, a->msgs, VM_APP_MSGS);
	if (a->nmsgs < 0)
		a->nmsgs = 0;
	for (int i = 0; i < a->nmsgs; i++)
		new_msgs += !a->msgs[i].heard;
	int old_msgs = a->nmsgs - new_msgs;
	say(a, "vm-you-have");
	if (!a->nmsgs)
		say(a, "vm-no-messages");
	if (new_msgs)
		say_count(a, new_msgs, "vm-new");
	if (new_msgs && old_msgs)
		say(a, "vm-and");
	if (old_msgs)
		say_count(a, old_msgs, "vm-old");
	main_menu(a);
}

/* Plays message a->cur (after the prompt pre, if any). */
static void play_message(struct pbx_vm_app *a, const char *pre)
{
	pbx_msess_stop(a->s);
	media_pcm_free(&a->audio);
	if (pre)
		say(a, pre);
	if (a->cur < 0)
		a->cur = 0;
	if (a->cur >= a->nmsgs) {
		say(a, "vm-no-more");
		main_menu(a);
		return;
	}
	if (pbx_vm_audio(a->p, a->msgs[a->cur].id, a->rate, &a->audio) < 0) {
		a->audio = (struct media_pcm){0};
		say(a, "vm-invalid");
		main_menu(a);
		return;
	}
	pbx_msess_play(a->s, &a->audio, false);
	a->st = ST_MSG_PLAYING;
}

static void heard(struct pbx_vm_app *a)
{
	if (a->cur < a->nmsgs && !a->msgs[a->cur].heard &&
	    pbx_vm_mark_heard(a->p, a->msgs[a->cur].id, true) == 0)
		a->msgs[a->cur].heard = true;
}

static void msg_digit(struct pbx_vm_app *a, char d)
{
	switch (d) {
	case '4':
		a->cur--;
		play_message(a, NULL);
		break;
	case '5':
		play_message(a, NULL);
		break;
	case '6':
		a->cur++;
		play_message(a, NULL);
		break;
	case '7':
		if (a->cur < a->nmsgs && pbx_vm_delete(a->p, a->msgs[a->cur].id) == 0) {
			memmove(&a->msgs[a->cur], &a->msgs[a->cur + 1],
				sizeof(a->msgs[0]) * (size_t)(a->nmsgs - a->cur - 1));
			a->nmsgs--;
		}
		play_message(a, "vm-deleted");
		break;
	case '9':
		heard(a);
		a->cur++;
		play_message(a, "vm-saved");
		break;
	case '0':
		say(a, "vm-menu-options");
		a->st = ST_OPTIONS;
		break;
	case '*':
		main_menu(a);
		break;
	default:
		say(a, "vm-invalid");
		say(a, "vm-menu-message");
		a->st = ST_MSG;
	}
}

static void options_digit(struct pbx_vm_app *a, char d)
{
	a->ninput = 0;
	if (d == '1') {
		say(a, "vm-record-greeting");
		pbx_msess_beep(a->s, VM_BEEP_MS);
		a->st = ST_GREET_BEEP;
	} else if (d == '4') {
		say(a, "vm-new-pin");
		a->st = ST_NEW_PIN;
	} else if (d == '*') {
		main_menu(a);
	} else {
		say(a, "vm-invalid");
		say(a, "vm-menu-options");
	}
}

/* Digits until '#': 1 once it came (the input in a->input), else 0. */
static int collect(struct pbx_vm_app *a, char d)
{
	if (d == '#') {
		a->input[a->ninput] = '\0';
		a->ninput = 0;
		return 1;
	}
	if (a->ninput < VM_INPUT_MAX && d >= '0' && d <= '9')
		a->input[a->ninput++] = d;
	return 0;
}

static void pin_prompt(struct pbx_vm_app *a)
{
	say(a, "vm-enter-pin");
	a->st = ST_ASK_PIN;
}

static void pin_entered(struct pbx_vm_app *a)
{
	if (a->user_id >= 0 && pbx_vm_pin_check(a->p, a->user_id, a->input) == 1) {
		menu_intro(a);
		return;
	}
	if (++a->tries >= VM_PIN_TRIES) {
		bye(a, "vm-wrong-pin");
		return;
	}
	say(a, "vm-wrong-pin");
	if (!a->ask_mailbox) {
		pin_prompt(a);
		return;
	}
	/* *98: the mailbox again, as it may be the wrong one (never told apart
	 * from a wrong PIN) */
	say(a, "vm-enter-mailbox");
	a->st = ST_ASK_MAILBOX;
}

static void new_pin_entered(struct pbx_vm_app *a)
{
	size_t n = strlen(a->input);
	if (n >= PBX_VM_PIN_MIN && n <= PBX_VM_PIN_MAX &&
	    pbx_vm_pin_set(a->p, a->user_id, a->input) == 0)
		say(a, "vm-pin-changed");
	else
		say(a, "vm-invalid");
	say(a, "vm-menu-options");
	a->st = ST_OPTIONS;
}

static void greeting_recorded(struct pbx_vm_app *a)
{
	struct media_pcm pcm = {0};
	bool ok = pbx_msess_record_take(a->s, &pcm) == 0 && pcm.rate > 0 &&
		  pcm.n * 1000 >= (size_t)pcm.rate * VM_MIN_MESSAGE_MS &&
		  pbx_vm_greeting_set(a->p, a->user_id, &pcm) == 0;
	media_pcm_free(&pcm);
	say(a, ok ? "vm-greeting-saved" : "vm-invalid");
	say(a, "vm-menu-options");
	a->st = ST_OPTIONS;
}

/* ---- the session's callbacks ---- */

static void on_digit(void *arg, struct pbx_msess *s, char d)
{
	struct pbx_vm_app *a = arg;
	(void)s;
	if (a->st == ST_DONE || a->st == ST_BYE)
		return;
	if (a->st != ST_RECORDING && a->st != ST_GREET_REC)
		pbx_msess_stop(a->s); /* a digit interrupts the prompt */
	switch (a->st) {
	case ST_GREETING: /* skip the greeting: straight to the beep */
	case ST_GREET_BEEP:
		pbx_msess_beep(a->s, VM_BEEP_MS);
		break;
	case ST_RECORDING:
		if (d == '#')
			bye(a, store_message(a) ? "vm-saved" : NULL);
		break;
	case ST_ASK_MAILBOX:
		if (collect(a, d)) {
			struct pbx_mailbox mb;
			a->user_id = pbx_vm_mailbox_by_extension(a->p, a->input, strlen(a->input),
								 &mb) == 0
					     ? mb.user_id
					     : -1;
			pin_prompt(a);
		}
		break;
	case ST_ASK_PIN:
		if (collect(a, d))
			pin_entered(a);
		break;
	case ST_MAIN:
		if (d == '1') {
			a->cur = 0;
			play_message(a, NULL);
		} else if (d == '0') {
			say(a, "vm-menu-options");
			a->st = ST_OPTIONS;
		} else if (d == '*') {
			bye(a, NULL);
		} else {
			say(a, "vm-invalid");
			main_menu(a);
		}
		break;
	case ST_MSG_PLAYING:
	case ST_MSG:
		msg_digit(a, d);
		break;
	case ST_OPTIONS:
		options_digit(a, d);
		break;
	case ST_GREET_REC:
		if (d == '#')
			greeting_recorded(a);
		break;
	case ST_NEW_PIN:
		if (collect(a, d))
			new_pin_entered(a);
		break;
	default:
		break;
	}
}

static void on_played(void *arg, struct pbx_msess *s)
{
	struct pbx_vm_app *a = arg;
	(void)s;
	switch (a->st) {
	case ST_GREETING:
		if (pbx_msess_record(a->s, a->mb.max_seconds * 1000) == 0) {
			a->st = ST_RECORDING;
			log_info("vm: recording a message for %s", a->mb.extension);
		} else
			bye(a, NULL);
		break;
	case ST_GREET_BEEP:
		if (pbx_msess_record(a->s, VM_GREETING_MAX_MS) == 0)
			a->st = ST_GREET_REC;
		else
			options_digit(a, '?');
		break;
	case ST_MSG_PLAYING: /* played to its end: heard */
		heard(a);
		say(a, "vm-menu-message");
		a->st = ST_MSG;
		break;
	case ST_BYE:
		finish(a);
		break;
	default:
		break;
	}
}

static void on_recorded(void *arg, struct pbx_msess *s)
{
	struct pbx_vm_app *a = arg;
	(void)s;
	if (a->st == ST_RECORDING) {
		bye(a, store_message(a) ? "vm-saved" : NULL);
	} else if (a->st == ST_GREET_REC) {
		greeting_recorded(a);
	}
}

static struct pbx_vm_app *app_new(struct pbx *p, struct pbx_msess *s, long long user_id,
				  const struct pbx_vm_app_cb *cb)
{
	struct pbx_vm_app *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->p = p;
	a->s = s;
	a->cb = *cb;
	a->user_id = user_id;
	a->mb.user_id = -1;
	a->rate = pbx_msess_rate(s);
	struct pbx_msess_cb mcb = {on_digit, on_played, on_recorded, a};
	pbx_msess_set_cb(s, &mcb);
	return a;
}

struct pbx_vm_app *pbx_vm_leave(struct pbx *p, struct pbx_msess *s, long long user_id,
				enum pbx_vm_reason reason, const char *caller,
				const char *caller_name, const char *call_id,
				const struct pbx_vm_app_cb *cb)
{
	struct pbx_vm_app *a = app_new(p, s, user_id, cb);
	if (!a)
		return NULL;
	a->reason = reason;
	snprintf(a->caller, sizeof(a->caller), "%s", caller ? caller : "");
	snprintf(a->caller_name, sizeof(a->caller_name), "%s", caller_name ? caller_name : "");
	snprintf(a->call_id, sizeof(a->call_id), "%s", call_id ? call_id : "");
	leave_begin(a);
	return a;
}

struct pbx_vm_app *pbx_vm_menu(struct pbx *p, struct pbx_msess *s, long long user_id, bool ask_pin,
			       const struct pbx_vm_app_cb *cb)
{
	struct pbx_vm_app *a = app_new(p, s, user_id, cb);
	if (!a)
		return NULL;
	a->msgs = calloc(VM_APP_MSGS, sizeof(*a->msgs));
	if (!a->msgs) {
		pbx_vm_app_free(a);
		return NULL;
	}
	if (!ask_pin) {
		menu_intro(a);
	} else if (user_id >= 0) {
		a->mb.user_id = user_id;
		pin_prompt(a);
	} else {
		a->ask_mailbox = true;
		say(a, "vm-enter-mailbox");
		a->st = ST_ASK_MAILBOX;
	}
	return a;
}

struct pbx_vm_app *pbx_vm_say(struct pbx *p, struct pbx_msess *s, const char *prompt,
			      const struct pbx_vm_app_cb *cb)
{
	struct pbx_vm_app *a = app_new(p, s, -1, cb);
	if (!a)
		return NULL;
	const struct media_pcm *clip = pbx_prompt(p->prompts, prompt, a->rate);
	if (clip)
		pbx_msess_play(s, clip, false);
	else /* something to end on all the same */
		pbx_msess_beep(s, VM_BEEP_MS);
	a->st = ST_BYE; /* played: done */
	return a;
}

struct pbx_vm_app *pbx_vm_hold(struct pbx *p, struct pbx_msess *s, const struct media_pcm *first,
			       bool music, const struct pbx_vm_app_cb *cb)
{
	struct pbx_vm_app *a = app_new(p, s, -1, cb);
	if (!a)
		return NULL;
	const struct media_pcm *moh = music ? pbx_prompt(p->prompts, "moh", a->rate) : NULL;
	if (first)
		pbx_msess_play(s, first, false);
	if (moh)
		pbx_msess_play(s, moh, true);
	a->st = ST_DONE; /* digits and the end of the clips change nothing */
	return a;
}

void pbx_vm_app_free(struct pbx_vm_app *a)
{
	if (!a)
		return;
	if (a->st == ST_RECORDING)
		store_message(a); /* the caller hung up: what was said is the message */
	pbx_msess_stop(a->s);	  /* nothing of ours queued any more: the clips may go */
	pbx_msess_set_cb(a->s, &(struct pbx_msess_cb){0});
	media_pcm_free(&a->greeting);
	media_pcm_free(&a->audio);
	free(a->msgs);
	free(a);
}
