/* sbc_load — when the SBC sheds load (see sbc_load.h for what and why). */
#include "sbc_load.h"

const struct sbc_load_limits sbc_load_default_limits = {
	.wait_high_ms = 200,
	.wait_low_ms = 50,
	.pending_high = 400,
	.pending_low = 100,
	.hold_ms = 250,
	.retry_min = 1,
	.retry_max = 4,
};

void sbc_load_init(struct sbc_load *l, const struct sbc_load_limits *lim, int64_t now)
{
	*l = (struct sbc_load){.lim = *lim, .win_start = now, .win_min = -1};
}

/* The end of a window: its smallest wait and the pending count decide. */
static void window_end(struct sbc_load *l, int pending, int64_t now)
{
	int64_t wait = l->win_min < 0 ? 0 : l->win_min; /* nothing came: no queue */
	l->last_wait = wait;
	bool over = wait > l->lim.wait_high_ms || pending > l->lim.pending_high;
	bool under = wait < l->lim.wait_low_ms && pending < l->lim.pending_low;
	if (!l->shedding && over) {
		l->shedding = true;
		l->since = now;
		l->episodes++;
	} else if (l->shedding && under && now - l->since >= l->lim.hold_ms) {
		l->shedding = false;
	}
	l->win_start = now;
	l->win_min = -1;
}

bool sbc_load_sample(struct sbc_load *l, int64_t wait_ms, int pending, int64_t now)
{
	if (wait_ms >= 0 && (l->win_min < 0 || wait_ms < l->win_min))
		l->win_min = wait_ms;
	/* the phone systems' backlog starts shedding at once, not a window later */
	if (!l->shedding && pending > l->lim.pending_high)
		window_end(l, pending, now);
	else if (now - l->win_start >= SBC_LOAD_WINDOW_MS)
		window_end(l, pending, now);
	return l->shedding;
}

bool sbc_load_sheds(const struct sbc_load *l, struct sip_pl method, bool in_dialog)
{
	/* ACK and CANCEL end work; what is within a dialog finishes it */
	return l->shedding && !in_dialog && !sip_pl_eq(method, "ACK") &&
	       !sip_pl_eq(method, "CANCEL");
}

int sbc_load_shed(struct sbc_load *l, uint32_t rnd)
{
	int span = l->lim.retry_max - l->lim.retry_min + 1;
	l->shed++;
	return l->lim.retry_min + (span > 1 ? (int)(rnd % (uint32_t)span) : 0);
}
