/* sbc_block — see sbc_block.h. */
#include "sbc_block.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "../core/core_auth.h"
#include "../core/core_authlog.h"
#include "../core/core_hash.h"
#include "../core/core_log.h"
#include "sbc.h"

struct sbc_block {
	struct sbc *sbc;
	struct core_throttle *t;
	int cfg[3];		  /* failures, window, seconds */
	json_t *added;		  /* [{"address","until"}] not yet reported */
	json_t *removed;	  /* ["address"] not yet reported */
	bool resend_all;	  /* a report failed: send every block again */
	struct event *flush;	  /* reports go out together, soon after */
	struct core_authlog *log; /* failed authentications' log lines, once per burst */
	struct event *log_sweep;  /* the counts of bursts that have ended */
};

static void block_on_log_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct sbc_block *b = arg;
	(void)fd;
	(void)what;
	core_authlog_sweep(b->log, core_now_ms());
}

struct core_authlog *sbc_block_authlog(struct sbc_block *b)
{
	return b->log;
}

static struct core_throttle *block_table(const int cfg[3])
{
	/* ZENTRALE_TEST_BLOCK_CAPACITY: a smaller table, so a test can fill it. */
	const char *cap = getenv("ZENTRALE_TEST_BLOCK_CAPACITY");
	size_t n = cap && atoi(cap) >= 16 ? (size_t)atoi(cap) : CORE_THROTTLE_CAPACITY;
	/* 64 failures at most are tracked per address by the throttle */
	return core_throttle_new_capacity(cfg[0] > 64 ? 64 : cfg[0], cfg[1], cfg[2], n);
}

static void block_flush_soon(struct sbc_block *b, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	if (!evtimer_pending(b->flush, NULL))
		evtimer_add(b->flush, &tv);
}

static int block_send(struct sbc_block *b, json_t *added, json_t *removed)
{
	json_t *m = json_pack("{s:O, s:O}", "added", added, "removed", removed);
	int r = core_ipc_send_json(b->sbc->child.ipc, IPC_SBC_BLOCKS, 0, m, NULL, 0);
	json_decref(m);
	if (r < 0)
		log_error("sip: the block list could not be reported to the supervisor (%s); "
			  "sent again in 1 s",
			  strerror(-r));
	return r;
}

/* Reports in chunks that fit a message; after a failure, every block. */
static void block_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct sbc_block *b = arg;
	(void)fd;
	(void)what;
	time_t now = time(NULL);
	if (b->resend_all) {
		json_decref(b->added);
		b->added = json_array();
		json_t *list = core_throttle_list(b->t, now), *it;
		size_t i;
		json_array_foreach(list, i, it) json_array_append_new(
			b->added,
			json_pack("{s:O, s:I}", "address", json_object_get(it, "address"), "until",
				  (json_int_t)now +
					  json_integer_value(json_object_get(it, "seconds_left"))));
		json_decref(list);
		b->resend_all = false;
	}
	size_t na = json_array_size(b->added), nr = json_array_size(b->removed);
	bool failed = false;
	for (size_t a = 0, r = 0; a < na || r < nr;) {
		json_t *ca = json_array(), *cr = json_array();
		for (; a < na && json_array_size(ca) < CORE_IPC_BLOCKS_CHUNK; a++)
			json_array_append(ca, json_array_get(b->added, a));
		for (; r < nr && json_array_size(ca) + json_array_size(cr) < CORE_IPC_BLOCKS_CHUNK;
		     r++)
			json_array_append(cr, json_array_get(b->removed, r));
		int rc = block_send(b, ca, cr);
		json_decref(ca);
		json_decref(cr);
		if (rc < 0) {
			failed = true;
			break;
		}
	}
	json_array_clear(b->added);
	if (failed) { /* every block again, and the lifts (twice does no harm) */
		b->resend_all = true;
		block_flush_soon(b, 1000);
	} else {
		json_array_clear(b->removed);
	}
}

struct sbc_block *sbc_block_new(struct sbc *sbc)
{
	struct sbc_block *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->sbc = sbc;
	b->cfg[0] = 20, b->cfg[1] = 60, b->cfg[2] = 600;
	b->t = block_table(b->cfg);
	b->added = json_array();
	b->removed = json_array();
	b->flush = evtimer_new(sbc->child.base, block_on_flush, b);
	b->log = core_authlog_new();
	b->log_sweep = event_new(sbc->child.base, -1, EV_PERSIST, block_on_log_sweep, b);
	if (!b->t || !b->added || !b->removed || !b->flush || !b->log || !b->log_sweep) {
		sbc_block_free(b);
		return NULL;
	}
	struct timeval tv = {5, 0};
	event_add(b->log_sweep, &tv);
	return b;
}

void sbc_block_free(struct sbc_block *b)
{
	if (!b)
		return;
	core_throttle_free(b->t);
	json_decref(b->added);
	json_decref(b->removed);
	if (b->flush)
		event_free(b->flush);
	if (b->log_sweep)
		event_free(b->log_sweep);
	core_authlog_free(b->log);
	free(b);
}

bool sbc_block_is_blocked(struct sbc_block *b, const char *addr)
{
	return core_throttle_blocked(b->t, addr, time(NULL)) > 0;
}

void sbc_block_failed(struct sbc_block *b, const char *addr)
{
	char key[CORE_THROTTLE_KEY_LEN];
	time_t now = time(NULL);
	if (!core_throttle_fail_key(b->t, addr, now, key))
		return;
	if (strcmp(key, addr) == 0)
		log_warn("sip: %s blocked for %d s after %d failed authentications within %d s",
			 addr, b->cfg[2], b->cfg[0], b->cfg[1]);
	else
		log_warn("sip: %s blocked for %d s after %d failed authentications within %d s "
			 "(from %s and others: more sources than the table holds)",
			 key, b->cfg[2], b->cfg[0], b->cfg[1], addr);
	json_array_append_new(b->added, json_pack("{s:s, s:I}", "address", key, "until",
						  (json_int_t)(now + b->cfg[2])));
	block_flush_soon(b, 50);
}

void sbc_block_configure(struct sbc_block *b, const struct core_state_block *block)
{
	int cfg[3] = {block->failures, block->window, block->seconds};
	for (int i = 0; i < 3; i++)
		if (cfg[i] <= 0)
			return;
	if (memcmp(cfg, b->cfg, sizeof(cfg)) == 0)
		return;
	struct core_throttle *t = block_table(cfg);
	if (!t)
		return;
	/* the blocks in place stay; counts start again */
	time_t now = time(NULL);
	json_t *list = core_throttle_list(b->t, now), *it;
	size_t i;
	json_array_foreach(list, i, it) core_throttle_block(
		t, json_string_value(json_object_get(it, "address")),
		now + json_integer_value(json_object_get(it, "seconds_left")), now);
	json_decref(list);
	core_throttle_free(b->t);
	b->t = t;
	memcpy(b->cfg, cfg, sizeof(cfg));
	log_info("sip: blocking after %d failed authentications within %d s, for %d s", cfg[0],
		 cfg[1], cfg[2]);
}

void sbc_block_unblock(struct sbc_block *b, const char *addr)
{
	if (core_throttle_unblock(b->t, addr, time(NULL)) == 0) {
		log_info("sip: %s unblocked by an administrator", addr);
		json_array_append_new(b->removed, json_string(addr));
		block_flush_soon(b, 0);
	}
}

void sbc_block_restore(struct sbc_block *b, const struct core_ipc_msg *msg)
{
	json_t *j = core_ipc_json(msg), *it;
	size_t i, n = 0, lost = 0;
	time_t now = time(NULL);
	json_array_foreach(json_object_get(j, "added"), i, it)
	{
		const char *a = json_string_value(json_object_get(it, "address"));
		json_int_t until = json_integer_value(json_object_get(it, "until"));
		if (!a)
			continue;
		if (core_throttle_block(b->t, a, (time_t)until, now) == 0)
			n++;
		else
			lost++;
	}
	json_array_foreach(json_object_get(j, "removed"), i, it) if (json_is_string(it))
		core_throttle_unblock(b->t, json_string_value(it), now);
	if (lost)
		log_error("sip: %zu block(s) handed back found no room in the table", lost);
	else if (n && json_is_true(json_object_get(j, "reset")))
		log_info("sip: blocks handed back by the supervisor");
	json_decref(j);
}
