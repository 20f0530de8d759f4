/*
 * pbx_prompt_cat — the prompt catalogue: every prompt name the phone system
 * plays, with where its built-in clip comes from in each language, in this
 * one table (README.md, "Prompts and music", says the same for people).
 * Also which names say a number. Pure: no I/O.
 *
 * A source is "f:<files>" (Asterisk's English recordings from Debian's
 * asterisk-core-sounds-en-wav, relative to its sound directory without
 * ".wav", space-separated and played one after another), "s:<text>" (spoken
 * by espeak-ng in the language's voice), "-" (a moment of silence) or "moh"
 * (the tracks of Debian's asterisk-moh-opsound-wav). Texts are written for
 * espeak-ng: "Pin", not "PIN", which it would spell; "Raute-Taste".
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pbx_prompts.h"

static const struct pbx_prompt_def defs[] = {
	/* voicemail: a caller reaching a mailbox */
	{"vm-greeting-default", "f:vm-theperson", "s:Der Teilnehmer mit der Durchwahl"},
	{"vm-unavailable", "f:vm-isunavail", "s:ist nicht erreichbar."},
	{"vm-busy", "f:vm-isonphone", "s:telefoniert gerade."},
	{"vm-leave-message", "f:vm-intro",
	 "s:Bitte hinterlassen Sie Ihre Nachricht nach dem Signalton. Wenn Sie fertig sind, "
	 "legen Sie auf oder drücken Sie die Raute-Taste."},
	{"vm-mailbox-full", "f:vm-mailboxfull vm-goodbye",
	 "s:Dieses Postfach ist voll. Auf Wiederhören."},
	{"vm-no-mailbox", "s:This extension has no voicemail. Goodbye.",
	 "s:Diese Durchwahl hat keine Mailbox. Auf Wiederhören."},
	{"vm-goodbye", "f:vm-goodbye", "s:Auf Wiederhören."},
	/* voicemail: the owner listening */
	{"vm-enter-pin", "f:agent-pass",
	 "s:Bitte geben Sie Ihre Pin ein, gefolgt von der Raute-Taste."},
	{"vm-enter-mailbox", "s:Please enter your mailbox number, followed by the pound key.",
	 "s:Bitte geben Sie Ihre Postfachnummer ein, gefolgt von der Raute-Taste."},
	{"vm-wrong-pin", "f:vm-incorrect", "s:Die Pin ist falsch."},
	{"vm-you-have", "f:vm-youhave", "s:Sie haben"},
	{"vm-new", "f:vm-INBOX", "s:neue"},
	{"vm-old", "f:vm-Old", "s:alte"},
	{"vm-message", "f:vm-message", "s:Nachricht"},
	{"vm-messages", "f:vm-messages", "s:Nachrichten"},
	{"vm-and", "f:vm-and", "s:und"},
	/* "You have one new message": German counts it "eine", not "eins" */
	{"vm-one", "f:digits/1", "s:eine"},
	{"vm-no-messages", "f:vm-no vm-messages", "s:keine Nachrichten"},
	{"vm-no-more", "f:vm-nomore", "s:Keine weiteren Nachrichten."},
	{"vm-menu-main",
	 "s:Press 1 to listen to your messages, 0 for mailbox options, star to end.",
	 "s:Drücken Sie die 1, um Ihre Nachrichten abzuhören, die 0 für die Postfach-Optionen, "
	 "die Sterntaste zum Beenden."},
	{"vm-menu-message",
	 "s:Press 4 for the previous message, 5 to repeat, 6 for the next, 7 to delete, 9 to "
	 "save.",
	 "s:Drücken Sie die 4 für die vorige Nachricht, die 5 zum Wiederholen, die 6 für die "
	 "nächste, die 7 zum Löschen, die 9 zum Speichern."},
	{"vm-deleted", "f:vm-deleted", "s:Nachricht gelöscht."},
	{"vm-saved", "f:vm-message vm-saved", "s:Nachricht gespeichert."},
	{"vm-menu-options",
	 "s:Press 1 to record your greeting, 4 to change your pin, star to return.",
	 "s:Drücken Sie die 1, um Ihre Ansage aufzunehmen, die 4, um Ihre Pin zu ändern, die "
	 "Sterntaste, um zurückzukehren."},
	{"vm-record-greeting", "s:Record your greeting after the tone, then press the pound key.",
	 "s:Sprechen Sie Ihre Ansage nach dem Signalton und drücken Sie dann die Raute-Taste."},
	{"vm-greeting-saved", "s:Your greeting is saved.", "s:Ihre Ansage wurde gespeichert."},
	{"vm-new-pin", "f:vm-newpassword",
	 "s:Geben Sie Ihre neue Pin ein, gefolgt von der Raute-Taste."},
	{"vm-pin-changed", "f:vm-passchanged", "s:Ihre Pin wurde geändert."},
	{"vm-invalid", "f:pm-invalid-option", "s:Ungültige Auswahl."},
	{"vm-received", "f:vm-received", "s:Empfangen"},
	/* feature codes that change a setting (forwarding, do-not-disturb, ...) */
	{"activated", "f:activated", "s:aktiviert."},
	{"de-activated", "f:de-activated", "s:deaktiviert."},
	/* the tone after "leave your message": the same in every language */
	{"beep", "f:beep", "f:beep"},
	/* digits, and numbers 0-999 as whole words (German says 21 as one word,
	 * "einundzwanzig", ones before tens) */
	{"digit-0", "f:digits/0", "s:null"},
	{"digit-1", "f:digits/1", "s:eins"},
	{"digit-2", "f:digits/2", "s:zwei"},
	{"digit-3", "f:digits/3", "s:drei"},
	{"digit-4", "f:digits/4", "s:vier"},
	{"digit-5", "f:digits/5", "s:fünf"},
	{"digit-6", "f:digits/6", "s:sechs"},
	{"digit-7", "f:digits/7", "s:sieben"},
	{"digit-8", "f:digits/8", "s:acht"},
	{"digit-9", "f:digits/9", "s:neun"},
	{"number-0", "f:digits/0", "s:null"},
	{"number-1", "f:digits/1", "s:eins"},
	{"number-2", "f:digits/2", "s:zwei"},
	{"number-3", "f:digits/3", "s:drei"},
	{"number-4", "f:digits/4", "s:vier"},
	{"number-5", "f:digits/5", "s:fünf"},
	{"number-6", "f:digits/6", "s:sechs"},
	{"number-7", "f:digits/7", "s:sieben"},
	{"number-8", "f:digits/8", "s:acht"},
	{"number-9", "f:digits/9", "s:neun"},
	{"number-10", "f:digits/10", "s:zehn"},
	{"number-11", "f:digits/11", "s:elf"},
	{"number-12", "f:digits/12", "s:zwölf"},
	{"number-13", "f:digits/13", "s:dreizehn"},
	{"number-14", "f:digits/14", "s:vierzehn"},
	{"number-15", "f:digits/15", "s:fünfzehn"},
	{"number-16", "f:digits/16", "s:sechzehn"},
	{"number-17", "f:digits/17", "s:siebzehn"},
	{"number-18", "f:digits/18", "s:achtzehn"},
	{"number-19", "f:digits/19", "s:neunzehn"},
	{"number-20", "f:digits/20", "s:zwanzig"},
	{"number-21", "f:digits/20 digits/1", "s:einundzwanzig"},
	{"number-22", "f:digits/20 digits/2", "s:zweiundzwanzig"},
	{"number-23", "f:digits/20 digits/3", "s:dreiundzwanzig"},
	{"number-24", "f:digits/20 digits/4", "s:vierundzwanzig"},
	{"number-25", "f:digits/20 digits/5", "s:fünfundzwanzig"},
	{"number-26", "f:digits/20 digits/6", "s:sechsundzwanzig"},
	{"number-27", "f:digits/20 digits/7", "s:siebenundzwanzig"},
	{"number-28", "f:digits/20 digits/8", "s:achtundzwanzig"},
	{"number-29", "f:digits/20 digits/9", "s:neunundzwanzig"},
	{"number-30", "f:digits/30", "s:dreißig"},
	{"number-31", "f:digits/30 digits/1", "s:einunddreißig"},
	{"number-32", "f:digits/30 digits/2", "s:zweiunddreißig"},
	{"number-33", "f:digits/30 digits/3", "s:dreiunddreißig"},
	{"number-34", "f:digits/30 digits/4", "s:vierunddreißig"},
	{"number-35", "f:digits/30 digits/5", "s:fünfunddreißig"},
	{"number-36", "f:digits/30 digits/6", "s:sechsunddreißig"},
	{"number-37", "f:digits/30 digits/7", "s:siebenunddreißig"},
	{"number-38", "f:digits/30 digits/8", "s:achtunddreißig"},
	{"number-39", "f:digits/30 digits/9", "s:neununddreißig"},
	{"number-40", "f:digits/40", "s:vierzig"},
	{"number-41", "f:digits/40 digits/1", "s:einundvierzig"},
	{"number-42", "f:digits/40 digits/2", "s:zweiundvierzig"},
	{"number-43", "f:digits/40 digits/3", "s:dreiundvierzig"},
	{"number-44", "f:digits/40 digits/4", "s:vierundvierzig"},
	{"number-45", "f:digits/40 digits/5", "s:fünfundvierzig"},
	{"number-46", "f:digits/40 digits/6", "s:sechsundvierzig"},
	{"number-47", "f:digits/40 digits/7", "s:siebenundvierzig"},
	{"number-48", "f:digits/40 digits/8", "s:achtundvierzig"},
	{"number-49", "f:digits/40 digits/9", "s:neunundvierzig"},
	{"number-50", "f:digits/50", "s:fünfzig"},
	{"number-51", "f:digits/50 digits/1", "s:einundfünfzig"},
	{"number-52", "f:digits/50 digits/2", "s:zweiundfünfzig"},
	{"number-53", "f:digits/50 digits/3", "s:dreiundfünfzig"},
	{"number-54", "f:digits/50 digits/4", "s:vierundfünfzig"},
	{"number-55", "f:digits/50 digits/5", "s:fünfundfünfzig"},
	{"number-56", "f:digits/50 digits/6", "s:sechsundfünfzig"},
	{"number-57", "f:digits/50 digits/7", "s:siebenundfünfzig"},
	{"number-58", "f:digits/50 digits/8", "s:achtundfünfzig"},
	{"number-59", "f:digits/50 digits/9", "s:neunundfünfzig"},
	{"number-60", "f:digits/60", "s:sechzig"},
	{"number-61", "f:digits/60 digits/1", "s:einundsechzig"},
	{"number-62", "f:digits/60 digits/2", "s:zweiundsechzig"},
	{"number-63", "f:digits/60 digits/3", "s:dreiundsechzig"},
	{"number-64", "f:digits/60 digits/4", "s:vierundsechzig"},
	{"number-65", "f:digits/60 digits/5", "s:fünfundsechzig"},
	{"number-66", "f:digits/60 digits/6", "s:sechsundsechzig"},
	{"number-67", "f:digits/60 digits/7", "s:siebenundsechzig"},
	{"number-68", "f:digits/60 digits/8", "s:achtundsechzig"},
	{"number-69", "f:digits/60 digits/9", "s:neunundsechzig"},
	{"number-70", "f:digits/70", "s:siebzig"},
	{"number-71", "f:digits/70 digits/1", "s:einundsiebzig"},
	{"number-72", "f:digits/70 digits/2", "s:zweiundsiebzig"},
	{"number-73", "f:digits/70 digits/3", "s:dreiundsiebzig"},
	{"number-74", "f:digits/70 digits/4", "s:vierundsiebzig"},
	{"number-75", "f:digits/70 digits/5", "s:fünfundsiebzig"},
	{"number-76", "f:digits/70 digits/6", "s:sechsundsiebzig"},
	{"number-77", "f:digits/70 digits/7", "s:siebenundsiebzig"},
	{"number-78", "f:digits/70 digits/8", "s:achtundsiebzig"},
	{"number-79", "f:digits/70 digits/9", "s:neunundsiebzig"},
	{"number-80", "f:digits/80", "s:achtzig"},
	{"number-81", "f:digits/80 digits/1", "s:einundachtzig"},
	{"number-82", "f:digits/80 digits/2", "s:zweiundachtzig"},
	{"number-83", "f:digits/80 digits/3", "s:dreiundachtzig"},
	{"number-84", "f:digits/80 digits/4", "s:vierundachtzig"},
	{"number-85", "f:digits/80 digits/5", "s:fünfundachtzig"},
	{"number-86", "f:digits/80 digits/6", "s:sechsundachtzig"},
	{"number-87", "f:digits/80 digits/7", "s:siebenundachtzig"},
	{"number-88", "f:digits/80 digits/8", "s:achtundachtzig"},
	{"number-89", "f:digits/80 digits/9", "s:neunundachtzig"},
	{"number-90", "f:digits/90", "s:neunzig"},
	{"number-91", "f:digits/90 digits/1", "s:einundneunzig"},
	{"number-92", "f:digits/90 digits/2", "s:zweiundneunzig"},
	{"number-93", "f:digits/90 digits/3", "s:dreiundneunzig"},
	{"number-94", "f:digits/90 digits/4", "s:vierundneunzig"},
	{"number-95", "f:digits/90 digits/5", "s:fünfundneunzig"},
	{"number-96", "f:digits/90 digits/6", "s:sechsundneunzig"},
	{"number-97", "f:digits/90 digits/7", "s:siebenundneunzig"},
	{"number-98", "f:digits/90 digits/8", "s:achtundneunzig"},
	{"number-99", "f:digits/90 digits/9", "s:neunundneunzig"},
	{"number-100", "f:digits/1 digits/hundred", "s:einhundert"},
	{"number-200", "f:digits/2 digits/hundred", "s:zweihundert"},
	{"number-300", "f:digits/3 digits/hundred", "s:dreihundert"},
	{"number-400", "f:digits/4 digits/hundred", "s:vierhundert"},
	{"number-500", "f:digits/5 digits/hundred", "s:fünfhundert"},
	{"number-600", "f:digits/6 digits/hundred", "s:sechshundert"},
	{"number-700", "f:digits/7 digits/hundred", "s:siebenhundert"},
	{"number-800", "f:digits/8 digits/hundred", "s:achthundert"},
	{"number-900", "f:digits/9 digits/hundred", "s:neunhundert"},
	/* call park (pbx_dest_park.c), followed by the slot's digits */
	{"park-parked-at", "s:The call is parked at", "s:Das Gespräch ist geparkt auf"},
	/* the phone system's own: an upload replaces them */
	{"company-greeting", "-", "-"},
	{"moh", "moh", "moh"},
};

#define N_DEFS (sizeof(defs) / sizeof(defs[0]))

const struct pbx_prompt_def *pbx_prompt_defs(size_t *n)
{
	*n = N_DEFS;
	return defs;
}

const struct pbx_prompt_def *pbx_prompt_def(const char *name)
{
	for (size_t i = 0; name && i < N_DEFS; i++)
		if (strcmp(defs[i].name, name) == 0)
			return &defs[i];
	return NULL;
}

int pbx_prompt_max_seconds(const struct pbx_prompt_def *d)
{
	return strcmp(d->en, "moh") == 0 ? PBX_PROMPT_MUSIC_SECONDS : PBX_PROMPT_SPEECH_SECONDS;
}

/* FNV-1a over every row: a changed catalogue gets a directory of its own. */
const char *pbx_prompt_catalogue_id(void)
{
	static char id[24];
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < N_DEFS; i++) {
		const char *cols[3] = {defs[i].name, defs[i].en, defs[i].de};
		for (int c = 0; c < 3; c++)
			for (const char *s = cols[c];; s++) {
				h = (h ^ (unsigned char)*s) * 1099511628211ULL;
				if (!*s)
					break;
			}
	}
	snprintf(id, sizeof(id), "v%d-%016llx", PBX_PROMPT_FORMAT, (unsigned long long)h);
	return id;
}

int pbx_prompt_number_names(int n, const char **names, int cap)
{
	char name[16];
	int k = 0;
	if (n < 0 || n > 999 || cap < 2)
		return -1;
	if (n >= 100) {
		snprintf(name, sizeof(name), "number-%d", n / 100 * 100);
		names[k++] = pbx_prompt_def(name)->name;
		n %= 100;
		if (n == 0)
			return k;
	}
	snprintf(name, sizeof(name), "number-%d", n);
	names[k++] = pbx_prompt_def(name)->name;
	return k;
}
