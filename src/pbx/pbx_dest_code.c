/* pbx_dest_code — the feature codes that change a setting of the caller
 * (README, "Feature codes"): forwarding *21*<n># / #21# always, *67 on
 * busy, *61 on no answer, *62 when unavailable; do-not-disturb *78 on, *79
 * off; call waiting *70 on, *71 off. <n> is an extension or a ring group's
 * number; "*" alone is the caller's own voicemail, "*<ext>" that user's
 * voicemail (*21**# forwards everything to one's own mailbox). Phones send
 * '#' as %23 in the Request-URI: it is unescaped (sip_dialled) before matching. Each
 * code answers, says "activated" or "de-activated" ("vm-invalid" for a
 * target that cannot be forwarded to) and hangs up — pbx_dest_say, the
 * small "answer, say, hang up" application other codes reuse. */
#include <stdio.h>
#include <string.h>

#include "../core/core_log.h"
#include "../sip/sip_dialled.h"
#include "pbx_forward.h"
#include "pbx_route.h"

#define CODE_MAX 40 /* the longest code: *21*<15 digits>#, with room */

static const struct {
	const char *digits;
	enum pbx_fwd_kind kind;
} fwd_codes[] = {
	{"21", PBX_FWD_ALWAYS},
	{"67", PBX_FWD_BUSY},
	{"61", PBX_FWD_NOANSWER},
	{"62", PBX_FWD_UNAVAILABLE},
};

static const struct {
	const char *code;
	bool dnd; /* else call waiting */
	bool on;
} flag_codes[] = {
	{"*78", true, true},
	{"*79", true, false},
	{"*70", false, true},
	{"*71", false, false},
};

enum code_op { OP_FWD_SET, OP_FWD_CLEAR, OP_FLAG };
struct code {
	enum code_op op;
	enum pbx_fwd_kind kind;
	char target[CODE_MAX];
	int flag; /* OP_FLAG: index into flag_codes */
};

/* A code (unescaped) → what it does: 0, or -1 if it is none of ours. */
static int code_parse(const char *s, struct code *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(flag_codes) / sizeof(flag_codes[0]); i++)
		if (strcmp(s, flag_codes[i].code) == 0) {
			out->op = OP_FLAG;
			out->flag = (int)i;
			return 0;
		}
	size_t n = strlen(s);
	for (size_t i = 0; i < sizeof(fwd_codes) / sizeof(fwd_codes[0]); i++) {
		const char *d = fwd_codes[i].digits;
		out->kind = fwd_codes[i].kind;
		/* #NN#: off */
		if (n == 4 && s[0] == '#' && strncmp(s + 1, d, 2) == 0 && s[3] == '#') {
			out->op = OP_FWD_CLEAR;
			return 0;
		}
		/* *NN*<target>#: on, to target */
		if (n >= 6 && s[0] == '*' && strncmp(s + 1, d, 2) == 0 && s[3] == '*' &&
		    s[n - 1] == '#') {
			size_t tl = n - 5;
			if (memchr(s + 4, '#', tl) || (tl > 1 && memchr(s + 5, '*', tl - 1)))
				return -1;
			out->op = OP_FWD_SET;
			snprintf(out->target, sizeof(out->target), "%.*s", (int)tl, s + 4);
			return 0;
		}
	}
	return -1;
}

/* Carries out a code for user_id: the prompt to say. */
static const char *code_run(struct pbx *p, long long user_id, const struct code *k)
{
	char err[160] = "";
	int rc = -1;
	switch (k->op) {
	case OP_FLAG:
		rc = flag_codes[k->flag].dnd
			     ? pbx_forward_set_dnd(p, user_id, flag_codes[k->flag].on)
			     : pbx_forward_set_call_waiting(p, user_id, flag_codes[k->flag].on);
		return rc < 0			? "vm-invalid"
		       : flag_codes[k->flag].on ? "activated"
						: "de-activated";
	case OP_FWD_CLEAR:
		return pbx_forward_clear(p, user_id, k->kind) < 0 ? "vm-invalid" : "de-activated";
	case OP_FWD_SET:
		if (k->target[0] == '*') /* voicemail: own, or the extension's */
			rc = pbx_forward_set(p, user_id, k->kind, PBX_FWD_TO_VOICEMAIL,
					     k->target + 1, err, sizeof(err));
		else if ((rc = pbx_forward_set(p, user_id, k->kind, PBX_FWD_TO_EXTENSION, k->target,
					       err, sizeof(err))) == 400)
			rc = pbx_forward_set(p, user_id, k->kind, PBX_FWD_TO_GROUP, k->target, err,
					     sizeof(err));
		if (rc)
			log_info("forward: user %lld: %s refused (%s)", user_id, k->target, err);
		return rc ? "vm-invalid" : "activated";
	}
	return "vm-invalid";
}

static struct pbx_vm_app *say_start(struct pbx_call *c, struct pbx_msess *s,
				    const struct pbx_dest *d, const struct pbx_vm_app_cb *cb)
{
	return pbx_vm_say(pbx_call_pbx(c), s, d->prompt ? d->prompt : "beep", cb);
}

int pbx_dest_say(struct pbx_call *c, const char *prompt, const char *cause,
		 struct pbx_route_fail *fail)
{
	pbx_call_route(c)->cur.prompt = prompt;
	return pbx_call_app(c, say_start, cause, fail);
}

static int code_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail)
{
	struct code k;
	pbx_call_set_callee(c, d->extension, "");
	if (code_parse(d->extension, &k) < 0 || d->user_id < 0) {
		*fail = (struct pbx_route_fail){404, NULL, "not_found"};
		return -1;
	}
	const char *prompt = code_run(pbx_call_pbx(c), d->user_id, &k);
	log_info("feature code %s by user %lld: %s", d->extension, d->user_id, prompt);
	return pbx_dest_say(c, prompt, "feature_code", fail);
}

const struct pbx_dest_kind pbx_dest_code = {"code", code_enter, NULL};

int pbx_dest_code_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			  struct pbx_dest *out)
{
	(void)p;
	char s[CODE_MAX];
	struct code k;
	if (dialled.l == 0 || (dialled.p[0] != '*' && dialled.p[0] != '#' && dialled.p[0] != '%') ||
	    sip_dialled_keys(dialled, s, sizeof(s)) < 0 || code_parse(s, &k) < 0)
		return -1;
	out->kind = &pbx_dest_code;
	out->user_id = caller_id;
	snprintf(out->extension, sizeof(out->extension), "%s", s);
	return 0;
}
