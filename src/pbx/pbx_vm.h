/*
 * pbx_vm — voicemail: mailboxes, messages and greetings in pbx.db (tables
 * mailboxes, voicemails, voicemail_audio, greetings), the API and UI on
 * them, email of new messages (pbx_mail), and the two voicemail
 * applications that run on a media-engine session of a call: leaving a
 * message (greeting, beep, record until '#', hang-up or the maximum) and
 * the mailbox menu (*97 own mailbox, *98 any with its PIN).
 *
 * A message is acknowledged only once it is on disk: its row and WAV are
 * written in one transaction at synchronous=FULL. Every change of a
 * mailbox's messages calls pbx_mwi_changed (message waiting) at once.
 *
 * API (pbx_vm_api.c), under /<name>/api/v1:
 *   GET    /voicemail/<user-id>                  {"new","old","messages":[{id,caller,caller_name,
 *                                                 received,duration_ms,heard,reason}]}
 *   GET    /voicemail/<user-id>/<msg-id>.wav     the message (audio/wav)
 *   PATCH  /voicemail/<user-id>/<msg-id>         {"heard": true|false}
 *   DELETE /voicemail/<user-id>/<msg-id>
 *   GET/PUT /voicemail/<user-id>/settings        {"enabled","pin" (write only; "has_pin" read),
 *                                                 "max_seconds","max_messages","email",
 *                                                 "email_attach","ring_time","dnd"}
 *   GET/PUT/DELETE /voicemail/<user-id>/greeting  (WAV, MP3 or OGG; converted)
 *   the same for a user's own mailbox under /me/voicemail (pbx_me_api.c)
 *   GET/PUT /smtp {"host","port","security":"starttls"|"tls"|"none", "username","password" (write
 * only, shown masked), "from"}
 */
#ifndef PBX_VM_H
#define PBX_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "../media/media_audio.h"
#include "pbx.h"

#define PBX_VM_PIN_MIN 4
#define PBX_VM_PIN_MAX 10

/* A user's mailbox and what routing needs of the user. */
struct pbx_mailbox {
	long long user_id;
	char extension[72], display_name[128], email[256];
	bool enabled; /* the mailbox (a user without a row: enabled, defaults) */
	bool has_pin;
	int max_seconds, max_messages;
	int ring_time; /* s before a call goes to voicemail */
	bool dnd;
	bool email_attach;
};
/* 0, or -1 if there is no such (enabled) user. */
int pbx_vm_mailbox(struct pbx *p, long long user_id, struct pbx_mailbox *out);
int pbx_vm_mailbox_by_extension(struct pbx *p, const char *ext, size_t len,
				struct pbx_mailbox *out);

/* Why a call reached the mailbox: which greeting it hears. */
enum pbx_vm_reason { PBX_VM_NOANSWER, PBX_VM_BUSY, PBX_VM_UNAVAILABLE, PBX_VM_DND };

/* New (not heard) and old messages of a user. */
int pbx_vm_count(struct pbx *p, long long user_id, int *new_msgs, int *old_msgs);

struct pbx_vm_msg {
	long long id, user_id;
	char caller[72], caller_name[128];
	time_t received;
	int duration_ms;
	bool heard;
};
/* Stores a message durably, then updates message waiting and mails it
 * (if the user has an email address and the phone system a relay). The
 * message's id, or -1 (also when the mailbox is full: check first). */
long long pbx_vm_store(struct pbx *p, long long user_id, const char *caller,
		       const char *caller_name, time_t when, const struct media_pcm *pcm,
		       enum pbx_vm_reason reason, const char *call_id);
/* The messages of a user in menu order: new ones first, then old, each
 * oldest first; at most cap; the count. */
int pbx_vm_messages(struct pbx *p, long long user_id, struct pbx_vm_msg *out, int cap);
/* A message's audio at rate (owned by the caller): 0 or -1. */
int pbx_vm_audio(struct pbx *p, long long msg_id, int rate, struct media_pcm *out);
int pbx_vm_mark_heard(struct pbx *p, long long msg_id, bool heard);
int pbx_vm_delete(struct pbx *p, long long msg_id);
/* 1 the PIN is right, 0 wrong or none set. */
int pbx_vm_pin_check(struct pbx *p, long long user_id, const char *pin);
int pbx_vm_pin_set(struct pbx *p, long long user_id, const char *pin);
/* The user's own greeting at rate (owned by the caller): 0, or -1 none. */
int pbx_vm_greeting(struct pbx *p, long long user_id, int rate, struct media_pcm *out);
/* pcm NULL removes the greeting. */
int pbx_vm_greeting_set(struct pbx *p, long long user_id, const struct media_pcm *pcm);

/* rest: what follows "/api/v1/voicemail" or "/api/v1/smtp" (api "voicemail" or "smtp"). */
void pbx_vm_api_handle(struct pbx *p, struct core_httpd_req *req, const char *api,
		       const char *rest);
/* One existing user's mailbox, the caller's checks done (the admin's
 * /voicemail/<id>, the user's own /me/voicemail): end is "" (the list),
 * "/settings", "/greeting", "/<msg-id>" or "/<msg-id>.wav"; who for the log. */
void pbx_vm_api_mailbox(struct pbx *p, struct core_httpd_req *req, const char *who, long long user,
			const char *end);
/* core_httpd's allow hook: a logged-in PUT of a greeting may send
 * PBX_VM_GREETING_MAX_BODY (a WAV of 120 s at 44.1 kHz stereo is 21 MB). */
#define PBX_VM_GREETING_MAX_BODY (24u << 20)
struct http_msg;
void pbx_vm_api_allow(const struct http_msg *head, size_t *max_body, int *timeout, void *arg);

/* ---- the applications on a call's media session (pbx_vm_app.c) ---- */
struct pbx_msess;
struct pbx_vm_app;
struct pbx_vm_app_cb {
	/* the application is over: the call code hangs up (BYE) and then
	 * calls pbx_vm_app_free */
	void (*done)(void *arg, struct pbx_vm_app *a);
	void *arg;
};
/* Leaving a message for user_id: greeting (the user's, or the default
 * naming the extension, with "unavailable"/"busy"), beep, record. A full or
 * switched-off mailbox gets its announcement and then done. The session
 * stays the call code's; the app sets its callbacks on it. */
struct pbx_vm_app *pbx_vm_leave(struct pbx *p, struct pbx_msess *s, long long user_id,
				enum pbx_vm_reason reason, const char *caller,
				const char *caller_name, const char *call_id,
				const struct pbx_vm_app_cb *cb);
/* The mailbox menu: user_id the caller's own mailbox (ask_pin false: *97
 * from the user's own device), or -1 to ask for the mailbox and its PIN (*98). */
struct pbx_vm_app *pbx_vm_menu(struct pbx *p, struct pbx_msess *s, long long user_id, bool ask_pin,
			       const struct pbx_vm_app_cb *cb);
/* Says prompt (a catalogue name; a beep if there is none such), then done:
 * a feature code's "activated" before the call code hangs up. */
struct pbx_vm_app *pbx_vm_say(struct pbx *p, struct pbx_msess *s, const char *prompt,
			      const struct pbx_vm_app_cb *cb);
/* Says first (or nothing, NULL; the clip outlives the app), then music on
 * hold looped, or silence (music false), until the call code ends it:
 * never done (a consultation call to park, a call parked). */
struct pbx_vm_app *pbx_vm_hold(struct pbx *p, struct pbx_msess *s, const struct media_pcm *first,
			       bool music, const struct pbx_vm_app_cb *cb);
/* The caller hung up (or the call ends otherwise): a message being
 * recorded is stored, then the app is freed. Also after done. */
void pbx_vm_app_free(struct pbx_vm_app *a);

/* ---- email (pbx_mail.c) ---- */
/* Mails a new message to the user's address through the phone system's
 * SMTP relay (libcurl, on a worker thread so the event loop never waits):
 * WAV attached, caller and time in subject and body, in the phone
 * system's language. Failures are logged, never retried forever. */
void pbx_mail_voicemail(struct pbx *p, const struct pbx_vm_msg *msg, const void *wav,
			size_t wav_len);

/* ---- message waiting (pbx_mwi.c) ---- */
/* The messages of user_id changed: NOTIFY message-summary (RFC 3842) to
 * the user's subscribers and, unsolicited, to the user's registered devices. */
void pbx_mwi_changed(struct pbx *p, long long user_id);

#endif
