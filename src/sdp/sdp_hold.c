/* sdp_hold — see sdp_hold.h. */
#include "sdp_hold.h"

#include <stdlib.h>
#include <string.h>

#include "sdp.h"

static const char *const dir_names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};

static int dir_of(const struct sdp_section *s)
{
	for (int i = 0; i < 4; i++)
		if (sdp_attr_get(s, dir_names[i]))
			return i;
	return -1;
}

int sdp_audio_dir(const char *buf, size_t len)
{
	struct sdp_session *sdp = malloc(sizeof(*sdp)); /* large: not on the stack */
	int dir = -1;
	if (!sdp || sdp_parse(sdp, buf, len) < 0)
		goto out;
	for (int i = 0; i < sdp->nmedia; i++) {
		const struct sdp_media *m = &sdp->media[i];
		if (!sip_pl_eq(m->type, "audio") || sip_pl_eq(m->port, "0"))
			continue;
		dir = dir_of(&m->s);
		if (dir < 0)
			dir = dir_of(&sdp->s);
		if (dir < 0)
			dir = SDP_SENDRECV;
		const struct sdp_conn *c = sdp_media_conn(sdp, m);
		if (dir == SDP_SENDRECV && c && c->present && sip_pl_eq(c->addr, "0.0.0.0"))
			dir = SDP_SENDONLY; /* RFC 2543 hold */
		break;
	}
out:
	free(sdp);
	return dir;
}

int sdp_dir_is_hold(int dir)
{
	return dir == SDP_SENDONLY || dir == SDP_INACTIVE;
}
