/* sip_dialoginfo — see sip_dialoginfo.h. RFC 4235 §4 (the XML schema). */
#include "sip_dialoginfo.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct buf {
	char *p;
	size_t cap, len;
	int bad;
};

static void put(struct buf *b, const char *s, size_t l)
{
	if (b->bad || l >= b->cap - b->len) {
		b->bad = 1;
		return;
	}
	memcpy(b->p + b->len, s, l);
	b->len += l;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void esc(struct buf *b, const char *s)
{
	for (; *s && !b->bad; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&':
			puts_(b, "&amp;");
			break;
		case '<':
			puts_(b, "&lt;");
			break;
		case '>':
			puts_(b, "&gt;");
			break;
		case '"':
			puts_(b, "&quot;");
			break;
		case '\'':
			puts_(b, "&apos;");
			break;
		default:
			/* XML 1.0 forbids most control characters, even escaped */
			if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
				break;
			if (c == 0x7f)
				break;
			put(b, (const char *)&c, 1);
		}
	}
}

int sip_xml_escape(char *out, size_t cap, const char *s)
{
	if (!cap)
		return -1;
	struct buf b = {out, cap, 0, 0};
	out[0] = '\0';
	esc(&b, s);
	return b.bad ? -1 : (int)b.len;
}

/* <name attr="value"> with value escaped */
static void attr(struct buf *b, const char *name, const char *value)
{
	puts_(b, " ");
	puts_(b, name);
	puts_(b, "=\"");
	esc(b, value);
	puts_(b, "\"");
}

static int set(const char *s)
{
	return s && *s;
}

const char *sip_dinfo_state_name(enum sip_dinfo_state s)
{
	switch (s) {
	case SIP_DINFO_TRYING:
		return "trying";
	case SIP_DINFO_PROCEEDING:
		return "proceeding";
	case SIP_DINFO_EARLY:
		return "early";
	case SIP_DINFO_CONFIRMED:
		return "confirmed";
	case SIP_DINFO_TERMINATED:
		return "terminated";
	}
	return "terminated";
}

static void party(struct buf *b, const char *el, const struct sip_dinfo_party *p)
{
	if (!set(p->identity) && !set(p->target))
		return;
	puts_(b, "<");
	puts_(b, el);
	puts_(b, ">");
	if (set(p->identity)) {
		puts_(b, "<identity");
		if (set(p->display))
			attr(b, "display", p->display);
		puts_(b, ">");
		esc(b, p->identity);
		puts_(b, "</identity>");
	}
	if (set(p->target)) {
		puts_(b, "<target");
		attr(b, "uri", p->target);
		puts_(b, "/>");
	}
	puts_(b, "</");
	puts_(b, el);
	puts_(b, ">");
}

int sip_dialoginfo_build(char *out, size_t cap, unsigned long version, int full, const char *entity,
			 const struct sip_dinfo_dialog *d, size_t n)
{
	if (!cap || !set(entity))
		return -1;
	struct buf b = {out, cap, 0, 0};
	char v[32];
	out[0] = '\0';
	snprintf(v, sizeof(v), "%lu", version);
	puts_(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		  "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\"");
	attr(&b, "version", v);
	attr(&b, "state", full ? "full" : "partial");
	attr(&b, "entity", entity);
	puts_(&b, ">\r\n");
	for (size_t i = 0; i < n; i++) {
		if (!set(d[i].id))
			return -1;
		puts_(&b, "<dialog");
		attr(&b, "id", d[i].id);
		/* RFC 4235 4.1.1: call-id with both tags, or none of them */
		if (set(d[i].call_id) && set(d[i].local_tag) && set(d[i].remote_tag)) {
			attr(&b, "call-id", d[i].call_id);
			attr(&b, "local-tag", d[i].local_tag);
			attr(&b, "remote-tag", d[i].remote_tag);
		} else if (set(d[i].call_id)) {
			attr(&b, "call-id", d[i].call_id);
			if (set(d[i].local_tag))
				attr(&b, "local-tag", d[i].local_tag);
		}
		if (d[i].direction != SIP_DINFO_NONE)
			attr(&b, "direction",
			     d[i].direction == SIP_DINFO_INITIATOR ? "initiator" : "recipient");
		puts_(&b, "><state>");
		puts_(&b, sip_dinfo_state_name(d[i].state));
		puts_(&b, "</state>");
		party(&b, "local", &d[i].local);
		party(&b, "remote", &d[i].remote);
		puts_(&b, "</dialog>\r\n");
	}
	puts_(&b, "</dialog-info>\r\n");
	return b.bad ? -1 : (int)b.len;
}
