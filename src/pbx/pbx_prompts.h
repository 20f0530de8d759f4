/*
 * pbx_prompts — what the phone system says and plays: the built-in prompt
 * sets (English from Debian's asterisk-core-sounds-en-wav, German generated
 * with espeak-ng at build time; README says which), music on hold (Debian's
 * asterisk-moh-opsound-wav), and the phone system's own uploads (a company
 * greeting, its music) that replace a built-in one. Prompts are named
 * (below); each exists in every language. Decoded clips are cached at the
 * rates asked for and live as long as the pbx process (an upload replaces
 * its cache entry only when no session plays it: the old clip is kept
 * until pbx_prompts_free).
 *
 * API: GET /api/v1/prompts (names, built-in or uploaded), PUT
 * /api/v1/prompts/<name> (a WAV, MP3 or OGG body; converted; 400 with a
 * reason if it is not audio libsndfile reads, too long or too big),
 * DELETE /api/v1/prompts/<name> (back to the built-in),
 * GET /api/v1/prompts/<name> (the WAV played, for listening in the UI).
 */
#ifndef PBX_PROMPTS_H
#define PBX_PROMPTS_H

#include <stddef.h>

#include "../media/media_audio.h"
#include "pbx.h"

/* The names of prompts the code plays (every one exists in en and de):
 *   "vm-greeting-default"  (followed by the extension's digits) "The person at extension"
 *   "vm-unavailable"       "is not available."
 *   "vm-busy"              "is on the phone."
 *   "vm-leave-message"     "Please leave your message after the tone. When done, hang up or press
 * the pound key." "vm-mailbox-full"      "This mailbox is full. Goodbye." "vm-no-mailbox" "This
 * extension has no voicemail. Goodbye." "vm-goodbye"           "Goodbye." "vm-enter-pin" "Please
 * enter your PIN, followed by the pound key." "vm-enter-mailbox"     "Please enter your mailbox
 * number, followed by the pound key." "vm-wrong-pin"         "The PIN is incorrect." "vm-you-have"
 * "You have" "vm-new"               "new" "vm-old"               "old" "vm-message" "message"
 *   "vm-messages"          "messages"
 *   "vm-and"               "and"
 *   "vm-no-messages"       "no messages"
 *   "vm-no-more"           "No more messages."
 *   "vm-menu-main"         "Press 1 to listen to your messages, 0 for mailbox options, star to
 * end." "vm-menu-message"      "Press 4 for the previous message, 5 to repeat, 6 for the next, 7 to
 * delete, 9 to save." "vm-deleted"           "Message deleted." "vm-saved"             "Message
 * saved." "vm-menu-options"      "Press 1 to record your greeting, 4 to change your PIN, star to
 * return." "vm-record-greeting"   "Record your greeting after the tone, then press the pound key."
 *   "vm-greeting-saved"    "Your greeting is saved."
 *   "vm-new-pin"           "Enter your new PIN, followed by the pound key."
 *   "vm-pin-changed"       "Your PIN is changed."
 *   "vm-invalid"           "Invalid choice."
 *   "vm-received"          "Received" (before a message's time; optional to use)
 *   "digit-0" … "digit-9"  the digits
 *   "number-0" … "number-20", "number-30" … "number-90" (tens), "number-100"
 *   "park-parked-at"       (followed by the slot's digits) "The call is parked at"
 *   "company-greeting"     (none built in: silence until uploaded)
 *   "moh"                  music on hold
 */

/* The catalogue (pbx_prompt_cat.c, pure): every name above plus "beep",
 * "vm-one" (counting one message: "one", German "eine" where number-1 says
 * "eins": "Sie haben eine neue Nachricht"),
 * "number-21" … "number-99" and "number-200" … "number-900", each with the
 * source of its built-in clip per language ("f:<Asterisk files>",
 * "s:<text for espeak-ng>", "-" for silence, "moh" for the music tracks). */
struct pbx_prompt_def {
	const char *name, *en, *de;
};
const struct pbx_prompt_def *pbx_prompt_defs(size_t *n);
const struct pbx_prompt_def *pbx_prompt_def(const char *name); /* NULL: not in it */
/* The longest upload accepted for a prompt: music 10 min, speech 2 min. */
#define PBX_PROMPT_MUSIC_SECONDS  600
#define PBX_PROMPT_SPEECH_SECONDS 120
int pbx_prompt_max_seconds(const struct pbx_prompt_def *d);
/* The largest upload body (a 10-minute WAV at 16 kHz is 19 MB). */
#define PBX_PROMPT_MAX_BODY (24u << 20)
/* The built-in set's directory name under the prompts directory: the
 * generator's format and a hash of the catalogue, so that a release with
 * another catalogue makes a set of its own and a rollback still finds its. */
#define PBX_PROMPT_FORMAT 1
const char *pbx_prompt_catalogue_id(void);
/* The names saying n (0-999) in any language, into names (cap >= 2): the
 * count, or -1. 0-99 are one word each ("number-21": "twenty-one",
 * "einundzwanzig"); hundreds come first ("number-300", "number-47"). */
int pbx_prompt_number_names(int n, const char **names, int cap);

struct pbx_prompts;

/* dir: where the built-in sets are kept: <dir>/<catalogue id>/<language>/<name>.wav
 * and <dir>/<catalogue id>/moh/<track>.wav, 16 kHz mono. A missing set is
 * made there (in a thread, once per machine and catalogue: the first
 * pbx_prompt waits for it) from Debian's Asterisk sounds and espeak-ng. */
struct pbx_prompts *pbx_prompts_new(struct pbx *p, const char *dir);
void pbx_prompts_free(struct pbx_prompts *pr);
/* The clip for name in the phone system's language (setting "language",
 * "en" or "de"; default "en") at rate: the upload if there is one, else the
 * built-in one. NULL if there is no such prompt. Owned by the cache. */
const struct media_pcm *pbx_prompt(struct pbx_prompts *pr, const char *name, int rate);
/* Clips saying a number n (0-999) into out (at most cap): the count. */
int pbx_prompt_number(struct pbx_prompts *pr, int n, int rate, const struct media_pcm **out,
		      int cap);
/* Clips saying each digit of s. */
int pbx_prompt_digits(struct pbx_prompts *pr, const char *s, int rate, const struct media_pcm **out,
		      int cap);

/* rest: what follows "/api/v1/prompts" in the path. */
void pbx_prompts_handle(struct pbx_prompts *pr, struct core_httpd_req *req, const char *rest);
/* core_httpd_limits.allow for the phone system's server (arg: the struct
 * pbx): a logged-in PUT /<name>/api/v1/prompts/<name> may send
 * PBX_PROMPT_MAX_BODY in 5 minutes; everybody else keeps the small limit. */
void pbx_prompts_allow(const struct http_msg *head, size_t *max_body, int *timeout, void *arg);

#endif
