/*
 * sdp_hold — hold and resume in offers (RFC 6337 §5.3, RFC 3264 §8.4):
 * whether an offer puts the call on hold (the audio stream's direction
 * sendonly or inactive, or the old c=0.0.0.0), and the answer to it made
 * from another description by setting the direction its audio streams
 * answer with. Pure: no I/O, no allocation beyond the caller's buffers.
 */
#ifndef SDP_HOLD_H
#define SDP_HOLD_H

#include <stddef.h>

enum sdp_dir { SDP_SENDRECV, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

/* The direction of an offer's first active audio stream (its own a=, else
 * the session's, else sendrecv; c=0.0.0.0 counts as sendonly), or -1 if
 * buf is not a description with audio. */
int sdp_audio_dir(const char *buf, size_t len);
/* An offer with that direction holds the call: sendonly or inactive. */
int sdp_dir_is_hold(int dir);
/* The direction that answers dir (RFC 3264 §6.1: sendonly → recvonly). */
enum sdp_dir sdp_dir_answer(enum sdp_dir dir);
/* desc rewritten with every audio stream's direction dir (the session's
 * direction dropped): its length in out, or -1 (not a description, or cap
 * too small). */
int sdp_with_dir(const char *desc, size_t len, enum sdp_dir dir, char *out, size_t cap);

#endif
