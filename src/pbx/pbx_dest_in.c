/*
 * pbx_dest_in — a call a carrier sends on one of the phone system's
 * trunks (the SBC marks it X-Zentrale-Trunk: it came from that trunk's
 * carrier; nobody else writes to our socket): who calls and where it goes.
 * The caller is the number the carrier asserts (P-Asserted-Identity, else
 * From), normalised to E.164 by the numbering plan (pbx_number.h), named by
 * the phonebook if it knows the number, else by the carrier's display
 * name. The number called is P-Called-Party-ID's (RFC 3455), else the
 * Request-URI's user — unless that is our trunk's key (a registered
 * trunk: the carrier sends to our Contact), then To's; its destination is
 * the trunk's inbound number or block that holds it, else the trunk's
 * default (pbx_inbound.h), else none (404).
 */
#include <stdio.h>
#include <string.h>

#include "../core/core_log.h"
#include "../sip/sip_hdr.h"
#include "pbx_inbound.h"
#include "pbx_number.h"
#include "pbx_route.h"

/* The user part of a name-addr or addr-spec, into out: 0, or -1. */
static int user_of(struct sip_pl v, char *out, size_t cap)
{
	struct sip_addr a;
	struct sip_pl rest;
	if (sip_addr_parse(&a, v, &rest) < 0 || !a.uri.user.l || a.uri.user.l >= cap)
		return -1;
	snprintf(out, cap, "%.*s", (int)a.uri.user.l, a.uri.user.p);
	/* "+4930…;npdi" and the like: user parameters are not the number */
	char *semi = strchr(out, ';');
	if (semi)
		*semi = '\0';
	return out[0] ? 0 : -1;
}

/* "z" and 16 hex digits: the key the SBC gives a trunk's Contact. */
static bool is_trunk_key(const char *u)
{
	if (strlen(u) != 17 || u[0] != 'z')
		return false;
	for (int i = 1; i < 17; i++)
		if (!strchr("0123456789abcdef", u[i]))
			return false;
	return true;
}

void pbx_inbound_caller(struct pbx *p, const struct sip_msg *m, char *number, size_t ncap,
			char *name, size_t namecap)
{
	char raw[64] = "";
	const struct sip_hdr *pai = sip_msg_hdr_named(m, "P-Asserted-Identity");
	const struct sip_hdr *from = sip_msg_hdr(m, SIP_HDR_FROM);
	if (!(pai && user_of(pai->value, raw, sizeof(raw)) == 0) &&
	    user_of(from->value, raw, sizeof(raw)) < 0)
		snprintf(raw, sizeof(raw), "anonymous");
	struct pbx_numbering n;
	pbx_numbering_load(p, &n);
	if (pbx_number_e164(&n, raw, number, ncap) < 0)
		snprintf(number, ncap, "%s", raw);
	name[0] = '\0';
	if (pbx_phonebook_name(p, number, name, namecap) == 0)
		return;
	struct sip_addr a;
	struct sip_pl rest;
	const struct sip_hdr *h = pai ? pai : from;
	if (sip_addr_parse(&a, h->value, &rest) == 0 && a.display.l) {
		struct sip_pl d = a.display;
		if (d.l >= 2 && d.p[0] == '"' && d.p[d.l - 1] == '"') {
			d.p++;
			d.l -= 2;
		}
		size_t o = 0;
		for (size_t i = 0; i < d.l && o + 1 < namecap; i++)
			if ((unsigned char)d.p[i] >= 0x20 && d.p[i] != '\\' && d.p[i] != 0x7f)
				name[o++] = d.p[i];
		name[o] = '\0';
	}
}

int pbx_inbound_dest(struct pbx *p, long long trunk_id, const struct sip_msg *m, struct pbx_dest *d,
		     struct pbx_route_fail *fail, char *called, size_t cap)
{
	const struct sip_hdr *cp = sip_msg_hdr_named(m, "P-Called-Party-ID");
	struct sip_uri u;
	called[0] = '\0';
	if (!(cp && user_of(cp->value, called, cap) == 0)) {
		if (sip_uri_parse(&u, m->ruri) == 0 && u.user.l && u.user.l < cap)
			snprintf(called, cap, "%.*s", (int)u.user.l, u.user.p);
		if (!called[0] || is_trunk_key(called))
			user_of(sip_msg_hdr(m, SIP_HDR_TO)->value, called, cap);
	}
	*fail = (struct pbx_route_fail){404, NULL, "not_found"};
	struct pbx_inbound_target t;
	if (!called[0] || pbx_inbound_find(p, trunk_id, called, &t) < 0) {
		log_info("inbound: trunk %lld, number %s: no such inbound number", trunk_id,
			 called[0] ? called : "(none)");
		return -1;
	}
	struct sip_pl target = {t.target, strlen(t.target)};
	memset(d, 0, sizeof(*d));
	d->user_id = -1;
	int rc = -1;
	if (strcmp(t.type, "extension") == 0) {
		rc = pbx_dest_ext_resolve(p, target, 0, d);
	} else if (strcmp(t.type, "group") == 0) {
		rc = pbx_dest_group_resolve(p, target, 0, d);
	} else if (strcmp(t.type, "voicemail") == 0) {
		struct pbx_dest ext;
		memset(&ext, 0, sizeof(ext));
		ext.user_id = -1;
		if ((rc = pbx_dest_ext_resolve(p, target, 0, &ext)) == 0)
			pbx_dest_vm_of(d, ext.user_id, ext.extension, ext.name, PBX_VM_UNAVAILABLE);
	}
	if (rc < 0)
		log_warn("inbound: trunk %lld, number %s: its %s %s does not exist", trunk_id,
			 called, t.type, t.target);
	else
		log_info("inbound: trunk %lld, number %s → %s %s%s", trunk_id, called, t.type,
			 t.target, t.is_default ? " (the trunk's default)" : "");
	return rc;
}
