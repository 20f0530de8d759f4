/*
 * stun — RFC 5389 Binding requests built and their answers parsed (see
 * stun.h). Every length read from the wire is checked against what is left
 * before it is used.
 */
#include "stun.h"

#include <netinet/in.h>
#include <string.h>

enum {
	STUN_BINDING_REQUEST = 0x0001,
	STUN_BINDING_SUCCESS_TYPE = 0x0101,
	STUN_BINDING_ERROR_TYPE = 0x0111,
};

enum {
	STUN_A_MAPPED_ADDRESS = 0x0001,
	STUN_A_USERNAME = 0x0006,
	STUN_A_MESSAGE_INTEGRITY = 0x0008,
	STUN_A_ERROR_CODE = 0x0009,
	STUN_A_UNKNOWN_ATTRIBUTES = 0x000A,
	STUN_A_REALM = 0x0014,
	STUN_A_NONCE = 0x0015,
	STUN_A_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_A_SOFTWARE = 0x8022,
	STUN_A_FINGERPRINT = 0x8028,
};

/* Comprehension-required attributes this codec knows (and may skip). */
static const uint16_t stun_known_required[] = {
	STUN_A_MAPPED_ADDRESS, STUN_A_USERNAME,		  STUN_A_MESSAGE_INTEGRITY,
	STUN_A_ERROR_CODE,     STUN_A_UNKNOWN_ATTRIBUTES, STUN_A_REALM,
	STUN_A_NONCE,	       STUN_A_XOR_MAPPED_ADDRESS,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

int stun_binding_request(uint8_t *buf, size_t cap, const uint8_t tid[STUN_TID_LEN],
			 const char *software, const char **why)
{
	size_t slen = software ? strlen(software) : 0;
	size_t total = STUN_HDR_LEN + (software ? 4 + pad4(slen) : 0);

	if (slen > STUN_SOFTWARE_MAX) {
		*why = "SOFTWARE too long";
		return -1;
	}
	if (total > cap) {
		*why = "buffer too small";
		return -1;
	}
	put16(buf, STUN_BINDING_REQUEST);
	put16(buf + 2, (uint16_t)(total - STUN_HDR_LEN));
	put32(buf + 4, STUN_MAGIC);
	memcpy(buf + 8, tid, STUN_TID_LEN);
	if (software) {
		uint8_t *a = buf + STUN_HDR_LEN;
		put16(a, STUN_A_SOFTWARE);
		put16(a + 2, (uint16_t)slen);
		memcpy(a + 4, software, slen);
		memset(a + 4 + slen, 0, pad4(slen) - slen);
	}
	return (int)total;
}

int stun_is_message(const uint8_t *buf, size_t len)
{
	return len >= STUN_HDR_LEN && (buf[0] & 0xC0) == 0 && get32(buf + 4) == STUN_MAGIC &&
	       get16(buf + 2) % 4 == 0 && (size_t)get16(buf + 2) == len - STUN_HDR_LEN;
}

/* (XOR-)MAPPED-ADDRESS (§15.1, §15.2) into *ss; -1 if malformed. The xor
 * pad is the magic cookie followed by the transaction id. */
static int stun_address(const uint8_t *v, size_t len, const uint8_t *xor_pad,
			struct sockaddr_storage *ss)
{
	uint8_t pad[16] = {0};
	uint16_t port;

	if (len < 4)
		return -1;
	if (xor_pad)
		memcpy(pad, xor_pad, sizeof(pad));
	port = get16(v + 2) ^ get16(pad);
	memset(ss, 0, sizeof(*ss));
	if (v[1] == 0x01 && len == 8) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		for (int i = 0; i < 4; i++)
			((uint8_t *)&sin->sin_addr)[i] = v[4 + i] ^ pad[i];
		return 0;
	}
	if (v[1] == 0x02 && len == 20) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		for (int i = 0; i < 16; i++)
			sin6->sin6_addr.s6_addr[i] = v[4 + i] ^ pad[i];
		return 0;
	}
	return -1;
}

/* ERROR-CODE (§15.6): class 3..6, number 0..99, then the reason. */
static int stun_error_code(const uint8_t *v, size_t len, struct stun_answer *out)
{
	int cls, num;

	if (len < 4)
		return -1;
	cls = v[2] & 0x07;
	num = v[3];
	if (cls < 3 || cls > 6 || num > 99 || len - 4 > STUN_SOFTWARE_MAX)
		return -1;
	out->error_code = cls * 100 + num;
	out->reason.p = (const char *)v + 4;
	out->reason.len = len - 4;
	return 0;
}

static int stun_is_known_required(uint16_t type)
{
	for (size_t i = 0; i < sizeof(stun_known_required) / sizeof(stun_known_required[0]); i++)
		if (stun_known_required[i] == type)
			return 1;
	return 0;
}

/* What the attribute walk found: the first of each kind counts (§15). */
struct stun_found {
	const uint8_t *xor_mapped, *mapped, *error;
	size_t xor_mapped_len, mapped_len, error_len;
};

static void stun_note(struct stun_found *f, uint16_t type, const uint8_t *v, size_t len)
{
	if (type == STUN_A_XOR_MAPPED_ADDRESS && !f->xor_mapped) {
		f->xor_mapped = v;
		f->xor_mapped_len = len;
	} else if (type == STUN_A_MAPPED_ADDRESS && !f->mapped) {
		f->mapped = v;
		f->mapped_len = len;
	} else if (type == STUN_A_ERROR_CODE && !f->error) {
		f->error = v;
		f->error_len = len;
	}
}

/* Walks the attributes of body[0..len): each padded to 4 and inside the
 * body. Unknown comprehension-required ones go to out->unknown; after
 * MESSAGE-INTEGRITY only FINGERPRINT is looked at, after FINGERPRINT
 * nothing may follow. */
static int stun_walk(const uint8_t *body, size_t len, struct stun_found *f, struct stun_answer *out,
		     const char **why)
{
	size_t off = 0;
	int integrity = 0;

	while (off < len) {
		uint16_t type, alen;
		if (len - off < 4) {
			*why = "truncated attribute header";
			return -1;
		}
		type = get16(body + off);
		alen = get16(body + off + 2);
		if (pad4(alen) > len - off - 4) {
			*why = "attribute longer than the message";
			return -1;
		}
		if (type == STUN_A_FINGERPRINT && off + 4 + pad4(alen) != len) {
			*why = "FINGERPRINT is not last";
			return -1;
		}
		if (type == STUN_A_MESSAGE_INTEGRITY)
			integrity = 1;
		else if (!integrity)
			stun_note(f, type, body + off + 4, alen);
		if (!integrity && type < 0x8000 && !stun_is_known_required(type)) {
			if (out->n_unknown < STUN_MAX_UNKNOWN)
				out->unknown[out->n_unknown] = type;
			out->n_unknown++;
		}
		off += 4 + pad4(alen);
	}
	return 0;
}

/* The header (§6): type, length, cookie and transaction id checked. */
static int stun_header(const uint8_t *buf, size_t len, const uint8_t *tid, const char **why)
{
	if (len < STUN_HDR_LEN) {
		*why = "shorter than a STUN header";
		return -1;
	}
	if ((buf[0] & 0xC0) != 0 || get32(buf + 4) != STUN_MAGIC) {
		*why = "not a STUN message";
		return -1;
	}
	if (get16(buf + 2) % 4 != 0 || (size_t)get16(buf + 2) != len - STUN_HDR_LEN) {
		*why = "message length does not match";
		return -1;
	}
	if (memcmp(buf + 8, tid, STUN_TID_LEN) != 0) {
		*why = "another transaction";
		return -1;
	}
	return 0;
}

static int stun_answer_fill(const uint8_t *buf, const struct stun_found *f, struct stun_answer *out,
			    const char **why)
{
	if (out->kind == STUN_BINDING_ERROR) {
		if (!f->error || stun_error_code(f->error, f->error_len, out) < 0) {
			*why = f->error ? "malformed ERROR-CODE"
					: "error response without ERROR-CODE";
			return -1;
		}
		return 0;
	}
	if (f->xor_mapped) {
		if (stun_address(f->xor_mapped, f->xor_mapped_len, buf + 4, &out->mapped) < 0) {
			*why = "malformed XOR-MAPPED-ADDRESS";
			return -1;
		}
		return 0;
	}
	if (f->mapped) {
		if (stun_address(f->mapped, f->mapped_len, NULL, &out->mapped) < 0) {
			*why = "malformed MAPPED-ADDRESS";
			return -1;
		}
		return 0;
	}
	*why = "success response without a mapped address";
	return -1;
}

int stun_parse_answer(const uint8_t *buf, size_t len, const uint8_t tid[STUN_TID_LEN],
		      struct stun_answer *out, const char **why)
{
	struct stun_found f = {0};
	uint16_t type;

	memset(out, 0, sizeof(*out));
	if (stun_header(buf, len, tid, why) < 0)
		return -1;
	type = get16(buf);
	if (type == STUN_BINDING_SUCCESS_TYPE)
		out->kind = STUN_BINDING_SUCCESS;
	else if (type == STUN_BINDING_ERROR_TYPE)
		out->kind = STUN_BINDING_ERROR;
	else {
		*why = "not a Binding response";
		return -1;
	}
	if (stun_walk(buf + STUN_HDR_LEN, len - STUN_HDR_LEN, &f, out, why) < 0)
		return -1;
	if (out->n_unknown > 0) {
		*why = "unknown comprehension-required attribute";
		return -1;
	}
	return stun_answer_fill(buf, &f, out, why);
}
