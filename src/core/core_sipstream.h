/*
 * core_sipstream — SIP messages framed out of a byte stream (TCP, TLS, the
 * SBC's link to a phone system) held in a libevent buffer.
 */
#ifndef CORE_SIPSTREAM_H
#define CORE_SIPSTREAM_H

#include <event2/buffer.h>

#include "../sip/sip_msg.h"

/*
 * 1: m holds the next whole message (views into `in`, valid until the
 * caller drains m->raw.l bytes); 0: more bytes are needed; otherwise the
 * SIP status describing a fault (the stream cannot be resynchronised: answer
 * if possible, then close).
 */
int core_sipstream_next(struct evbuffer *in, struct sip_msg *m);

#endif
