/*
 * sdp_hold — hold and resume in offers (RFC 6337 §5.3, RFC 3264 §8.4):
 * whether an offer puts the call on hold (the audio stream's direction
 * sendonly or inactive, or the old c=0.0.0.0). Pure: no I/O.
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
#endif
