/*
 * sup_requests — the operations mgmt asks the supervisor for, since only
 * the supervisor changes the phone-system table, processes and sockets:
 * create, delete, start, stop a phone system; choose listening interfaces.
 * Each request gets exactly one IPC_REPLY, possibly after the phone
 * system's process has become ready or has gone.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/core_db.h"
#include "../core/core_fs.h"
#include "../core/core_log.h"
#include "../core/core_names.h"
#include "../core/core_net.h"
#include "../core/core_ops.h"
#include "../store/store.h"
#include "supervisor.h"

static int req_db_set_enabled(struct sup *s, const char *name, int enabled)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "UPDATE phone_systems SET enabled=? WHERE name=?", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int(st, 1, enabled);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return r;
}

static void req_finish_delete(struct sup *s, struct sup_child *c)
{
	char path[256];
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM phone_systems WHERE name=?", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	snprintf(path, sizeof(path), "phone-systems/%s", c->name);
	core_fs_rm_tree(path);
	snprintf(path, sizeof(path), "run/%s", c->name);
	core_fs_rm_tree(path);
	log_info("deleted phone system %s", c->name);
	if (c->reply_id)
		sup_reply(s, c->reply_id, 200, NULL);
	sup_child_remove(s, c);
}

/* The phone system's process is gone: its data is swapped for the restored
 * copy (the old one kept until the swap is done), then it starts again. */
static void restore_dirs(const char *name, char *dir, size_t dl, char *old, size_t ol)
{
	snprintf(dir, dl, "phone-systems/%s", name);
	snprintf(old, ol, "phone-systems/.old-%s", name);
}

static void req_finish_restore(struct sup *s, struct sup_child *c)
{
	char dir[256], old[300];
	restore_dirs(c->name, dir, sizeof(dir), old, sizeof(old));
	core_fs_rm_tree(old);
	bool ok = rename(dir, old) == 0;
	if (ok && rename(c->restore_from, dir) < 0) {
		rename(old, dir); /* put back what was there: nothing changes */
		ok = false;
	}
	if (!ok)
		log_error("restore of %s failed: %s", c->name, strerror(errno));
	else
		log_info("phone system %s: restored data in place, starting it", c->name);
	core_fs_rm_tree(c->restore_from);
	free(c->restore_from);
	c->restore_from = NULL;
	/* the data from before stays until the restored one serves */
	c->restore_trial = ok;
	c->enabled = true;
	req_db_set_enabled(s, c->name, 1);
	c->ncrash = 0;
	c->reply_ok = ok ? 200 : 500;
	if (sup_child_spawn(s, c) < 0) {
		sup_reply(s, c->reply_id, 500, "restored, but its process could not be started");
		c->reply_id = 0;
	}
}

/* The restored phone system served (the data from before goes), or ended
 * before it did (its data from before comes back and starts again). */
static void req_restore_settled(struct sup *s, struct sup_child *c)
{
	char dir[256], old[300], failed[300];
	restore_dirs(c->name, dir, sizeof(dir), old, sizeof(old));
	c->restore_trial = false;
	if (c->pid > 0) {
		core_fs_rm_tree(old);
		log_info("phone system %s restored from a backup", c->name);
		return;
	}
	snprintf(failed, sizeof(failed), "phone-systems/.failed-%s", c->name);
	core_fs_rm_tree(failed);
	if (rename(dir, failed) < 0 || rename(old, dir) < 0)
		log_error("phone system %s: cannot put its data back: %s", c->name,
			  strerror(errno));
	core_fs_rm_tree(failed);
	log_warn("phone system %s did not start with the restored data; it has its data from "
		 "before the restore again",
		 c->name);
	if (c->reply_id)
		sup_reply(
			s, c->reply_id, 500,
			"the restored phone system did not start; it has its data from before the "
			"restore again");
	c->reply_id = 0;
	c->ncrash = 0;
	if (c->enabled && !s->stopping)
		sup_child_spawn(s, c);
}

/* At start: a restore cut off by a power cut. If the swap happened, the
 * restored data (verified whole before) stays; if not, the data from
 * before goes back in place. */
void sup_requests_recover(void)
{
	DIR *d = opendir("phone-systems");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char old[300], dir[300];
		if (strncmp(e->d_name, ".old-", 5) != 0 && strncmp(e->d_name, ".failed-", 8) != 0)
			continue;
		snprintf(old, sizeof(old), "phone-systems/%s", e->d_name);
		if (e->d_name[1] == 'o') {
			snprintf(dir, sizeof(dir), "phone-systems/%s", e->d_name + 5);
			if (access(dir, F_OK) < 0 && rename(old, dir) == 0)
				continue;
		}
		core_fs_rm_tree(old);
	}
	if (d)
		closedir(d);
}

void sup_requests_child_settled(struct sup *s, struct sup_child *c)
{
	if (c->restore_trial && (c->pid == 0 || c->state == ST_RUNNING)) {
		req_restore_settled(s, c);
		if (c->pid == 0)
			return;
	}
	if (c->restore_from) {
		if (c->pid == 0)
			req_finish_restore(s, c);
		return;
	}
	if (c->deleting) {
		if (c->pid == 0)
			req_finish_delete(s, c);
		return;
	}
	if (!c->reply_id || (c->pid > 0 && c->state != ST_RUNNING))
		return;
	sup_reply_json(s, c->reply_id,
		       json_pack("{s:i, s:s, s:s}", "status", c->reply_ok, "name", c->name, "state",
				 sup_state_name(c->state)));
	c->reply_id = 0;
}

/* The phone system in system.db's list, enabled. */
static bool req_db_add(struct sup *s, const char *name)
{
	sqlite3_stmt *st;
	bool ok = sqlite3_prepare_v2(s->db,
				     "INSERT INTO phone_systems(name,created,enabled) "
				     "VALUES(?,strftime('%s','now'),1)",
				     -1, &st, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	return ok;
}

static int check_create(struct sup *s, json_t *r, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	const char *why = name ? core_name_problem(name) : "name is required";
	if (why || !json_is_string(json_object_get(r, "admin_hash")))
		return snprintf(err, errlen, "%s", why ? why : "admin password is required"), 400;
	if (sup_child_find(s, name))
		return snprintf(err, errlen, "a phone system with this name already exists"), 409;
	return 0;
}

static void req_create(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	const char *hash = json_string_value(json_object_get(r, "admin_hash"));
	char dir[256], db[300];
	(void)unused;
	snprintf(dir, sizeof(dir), "phone-systems/%s", name);
	snprintf(db, sizeof(db), "%s/pbx.db", dir);
	core_fs_rm_tree(dir); /* leftovers of an interrupted create or delete */
	if (mkdir(dir, 0750) < 0 || store_pbx_create(db, hash) < 0) {
		log_error("cannot create %s: %s", dir, strerror(errno));
		core_fs_rm_tree(dir);
		sup_reply(s, id, 500, "could not create the phone system's data");
		return;
	}
	struct sup_child *c = req_db_add(s, name) ? sup_child_add(s, ROLE_PBX, name) : NULL;
	if (!c) {
		core_fs_rm_tree(dir);
		sup_reply(s, id, 500, "could not record the phone system");
		return;
	}
	log_info("created phone system %s", name);
	c->reply_id = id;
	c->reply_ok = 201;
	if (sup_child_spawn(s, c) < 0) {
		c->reply_id = 0;
		sup_reply(s, id, 500, "created, but its process could not be started");
	}
}

/* The phone system a request names ("name"), unless it is going. */
static struct sup_child *req_find(struct sup *s, json_t *r)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	struct sup_child *c = name ? sup_child_find(s, name) : NULL;
	return c && !c->deleting ? c : NULL;
}

static void req_delete(struct sup *s, uint32_t id, json_t *r, struct sup_child *c)
{
	(void)r;
	c->deleting = true;
	c->enabled = false;
	c->reply_id = id;
	sup_broadcast_state(s);
	if (c->pid > 0)
		sup_child_stop(s, c);
	else
		req_finish_delete(s, c);
}

static void req_start(struct sup *s, uint32_t id, json_t *r, struct sup_child *c)
{
	(void)r;
	if (c->reply_id) {
		sup_reply(s, id, 409, "the phone system is busy with another operation");
		return;
	}
	c->enabled = true;
	req_db_set_enabled(s, c->name, 1);
	if (c->pid > 0 || c->state == ST_STARTING) {
		sup_reply(s, id, 200, NULL);
		return;
	}
	c->ncrash = 0;
	memset(c->crashes, 0, sizeof(c->crashes));
	c->reply_id = id;
	c->reply_ok = 200;
	if (sup_child_spawn(s, c) < 0) {
		c->reply_id = 0;
		sup_reply(s, id, 500, "the process could not be started");
	}
}

static void req_stop(struct sup *s, uint32_t id, json_t *r, struct sup_child *c)
{
	(void)r;
	if (c->reply_id) {
		sup_reply(s, id, 409, "the phone system is busy with another operation");
		return;
	}
	c->enabled = false;
	req_db_set_enabled(s, c->name, 0);
	if (c->pid > 0) {
		c->reply_id = id;
		c->reply_ok = 200;
		sup_child_stop(s, c);
		return;
	}
	if (c->restart_timer)
		event_del(c->restart_timer);
	c->state = ST_STOPPED;
	sup_broadcast_state(s);
	sup_reply(s, id, 200, NULL);
}

/* Interfaces given must exist; returns the list to use (new ref) or NULL. */
static json_t *req_ifaces(struct sup *s, uint32_t id, json_t *r, const char *key)
{
	json_t *v = json_object_get(r, key), *it;
	size_t i;
	char msg[160];
	if (!v)
		return sup_listen_config(s, key);
	if (!json_is_array(v)) {
		snprintf(msg, sizeof(msg), "'%s' must be a list of interface names", key);
		sup_reply(s, id, 400, msg);
		return NULL;
	}
	json_array_foreach(v, i, it)
	{
		json_t *addrs = json_is_string(it)
					? core_net_interface_addresses(json_string_value(it))
					: NULL;
		if (!addrs || !json_array_size(addrs)) {
			snprintf(msg, sizeof(msg), "interface '%s' %s",
				 json_is_string(it) ? json_string_value(it) : "?",
				 addrs ? "has no IP address" : "does not exist");
			json_decref(addrs);
			sup_reply(s, id, 400, msg);
			return NULL;
		}
		json_decref(addrs);
	}
	return json_incref(v);
}

static void req_set_interfaces(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	(void)unused;
	if (s->opt.nlisten) {
		sup_reply(s, id, 409,
			  "the server was started with --listen; restart it without to choose "
			  "interfaces");
		return;
	}
	json_t *mg = req_ifaces(s, id, r, "management");
	json_t *sb = mg ? req_ifaces(s, id, r, "sbc") : NULL;
	struct sup_socket fresh[SUP_MAX_SOCKETS];
	int n = 0;
	char err[512];
	if (!mg || !sb)
		goto out;
	if (sup_listen_bind(s, mg, sb, fresh, &n, err, sizeof(err)) < 0) {
		sup_reply(s, id, 409, err);
		goto out;
	}
	char *a = json_dumps(mg, JSON_COMPACT), *b = json_dumps(sb, JSON_COMPACT);
	int ok = core_db_exec(s->db, "BEGIN IMMEDIATE") == 0 &&
		 core_db_setting_set(s->db, "listen.management", a) == 0 &&
		 core_db_setting_set(s->db, "listen.sbc", b) == 0 &&
		 core_db_exec(s->db, "COMMIT") == 0;
	free(a);
	free(b);
	if (!ok) {
		core_db_exec(s->db, "ROLLBACK");
		for (int i = 0; i < n; i++)
			close(fresh[i].fd);
		sup_reply(s, id, 500, "could not save the interface choice");
		goto out;
	}
	sup_listen_replace(s, fresh, n);
	sup_vpn_relisten(s);
	log_info("listening interfaces changed");
	sup_broadcast_state(s);
	sup_reply(s, id, 200, NULL);
out:
	json_decref(mg);
	json_decref(sb);
}

/* What PUT /sbc takes, one row per field: where it is in the body ("" at
 * the top), its range (booleans 0-1) and its system.db setting, NULL for a
 * field that is shown but read-only. The body is checked whole against this
 * table before any of it is kept. */
static const struct sbc_setting {
	const char *group, *name;
	bool boolean;
	int min, max;
	const char *key;
} sbc_settings[] = {
	{"", "plain_sip", true, 0, 1, "sbc.plain_sip"},
	{"block", "failures", false, 1, 1000, "sbc.block_failures"},
	{"block", "window", false, 1, 86400, "sbc.block_window"},
	{"block", "seconds", false, 1, 7 * 86400, "sbc.block_seconds"},
	{"media", "timeout", false, 5, 3600, "sbc.media_timeout"},
	{"media", "srtp_required", true, 0, 1, "sbc.srtp_required"},
	{"media", "port_min", false, 1024, 65535, "sbc.media_port_min"},
	{"media", "port_max", false, 1024, 65535, "sbc.media_port_max"},
	{"connections", "https_per_address", false, 1, 4096, "sbc.https_per_address"},
	{"connections", "sip_per_address", false, 1, 8192, "sbc.sip_per_address"},
};
#define NSBC_SETTINGS (int)(sizeof(sbc_settings) / sizeof(sbc_settings[0]))

static int sbc_setting_find(const char *group, const char *name)
{
	for (int i = 0; i < NSBC_SETTINGS; i++)
		if (strcmp(sbc_settings[i].group, group) == 0 &&
		    strcmp(sbc_settings[i].name, name) == 0)
			return i;
	return -1;
}

static bool sbc_setting_is_group(const char *name)
{
	for (int i = 0; i < NSBC_SETTINGS; i++)
		if (strcmp(sbc_settings[i].group, name) == 0)
			return true;
	return false;
}

/* One field of the body: its value into vals[row]; -1 and why if it is not taken. */
static int sbc_setting_take(const char *group, const char *name, json_t *v, int vals[], char *err,
			    size_t errlen)
{
	int i = sbc_setting_find(group, name);
	const char *dot = *group ? "." : "";
	if (i < 0)
		return snprintf(err, errlen, "%s%s%s: no such setting", group, dot, name), -1;
	const struct sbc_setting *st = &sbc_settings[i];
	if (!st->key)
		return snprintf(err, errlen, "%s%s%s: read-only", group, dot, name), -1;
	if (st->boolean ? !json_is_boolean(v)
			: !json_is_integer(v) || json_integer_value(v) < st->min ||
				  json_integer_value(v) > st->max) {
		if (st->boolean)
			snprintf(err, errlen, "%s%s%s: true or false", group, dot, name);
		else
			snprintf(err, errlen, "%s%s%s: an integer %d-%d", group, dot, name, st->min,
				 st->max);
		return -1;
	}
	vals[i] = st->boolean ? json_is_true(v) : (int)json_integer_value(v);
	return 0;
}

/* Checks every field of body; vals[row] is what was given, -1 where nothing. */
static int sbc_settings_check(json_t *body, int vals[], char *err, size_t errlen)
{
	const char *k, *sk;
	json_t *v, *sv;
	for (int i = 0; i < NSBC_SETTINGS; i++)
		vals[i] = -1;
	if (!json_is_object(body) || json_object_size(body) == 0)
		return snprintf(err, errlen,
				"give plain_sip, block {failures, window, seconds}, media "
				"{timeout, srtp_required, port_min, port_max} and/or connections "
				"{https_per_address, sip_per_address}"),
		       -1;
	json_object_foreach(body, k, v)
	{
		if (!sbc_setting_is_group(k)) {
			if (sbc_setting_take("", k, v, vals, err, errlen) < 0)
				return -1;
			continue;
		}
		if (!json_is_object(v))
			return snprintf(err, errlen, "%s: an object", k), -1;
		json_object_foreach(v, sk, sv)
		{
			if (sbc_setting_take(k, sk, sv, vals, err, errlen) < 0)
				return -1;
		}
	}
	return 0;
}

/* The relay's range as it would be, the one given over the one now: at
 * least one call's ports (4), RTP on even ports. Both are kept, so that a
 * range once set no longer moves with the port offset. Calls in progress
 * keep their ports when it changes (sbc_media_configure). */
static int sbc_media_range_check(struct sup *s, int vals[], char *err, size_t errlen)
{
	int lo_i = sbc_setting_find("media", "port_min"),
	    hi_i = sbc_setting_find("media", "port_max");
	if (vals[lo_i] < 0 && vals[hi_i] < 0)
		return 0;
	int lo, hi;
	sup_media_range(s, &lo, &hi);
	lo = vals[lo_i] >= 0 ? vals[lo_i] : lo;
	hi = vals[hi_i] >= 0 ? vals[hi_i] : hi;
	if (hi - (lo + (lo & 1)) + 1 < 4)
		return snprintf(err, errlen,
				"media.port_min-port_max: at least 4 ports (one call), RTP on "
				"even ports"),
		       -1;
	vals[lo_i] = lo;
	vals[hi_i] = hi;
	return 0;
}

/* Plain SIP on or off: listeners are bound anew, and kept only if that
 * worked. Returns 0, or the status answered (the setting as before). */
static int sbc_set_plain_sip(struct sup *s, bool on, char *err, size_t errlen)
{
	char old[8] = "0";
	core_db_setting_get(s->db, "sbc.plain_sip", old, sizeof(old));
	if (core_db_setting_set(s->db, "sbc.plain_sip", on ? "1" : "0") < 0)
		return snprintf(err, errlen, "could not save the setting"), 500;
	json_t *mg = sup_listen_config(s, "management"), *sb = sup_listen_config(s, "sbc");
	struct sup_socket fresh[SUP_MAX_SOCKETS];
	int n = 0;
	int rc = sup_listen_bind(s, mg, sb, fresh, &n, err, errlen);
	json_decref(mg);
	json_decref(sb);
	if (rc < 0) {
		core_db_setting_set(s->db, "sbc.plain_sip", old);
		return 409;
	}
	sup_listen_replace(s, fresh, n);
	log_info("plain SIP on 5060 switched %s", on ? "on" : "off");
	return 0;
}

/* PUT /sbc: every field checked first; then plain SIP (which may fail to
 * bind: then nothing is kept), then the rest in one transaction. */
static void req_set_sbc(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	(void)unused;
	int vals[NSBC_SETTINGS];
	char err[512];
	if (sbc_settings_check(json_object_get(r, "settings"), vals, err, sizeof(err)) < 0 ||
	    sbc_media_range_check(s, vals, err, sizeof(err)) < 0) {
		sup_reply(s, id, 400, err);
		return;
	}
	int plain = sbc_setting_find("", "plain_sip"), st;
	if (vals[plain] >= 0 && (st = sbc_set_plain_sip(s, vals[plain], err, sizeof(err)))) {
		sup_reply(s, id, st, err);
		return;
	}
	bool ok = core_db_begin(s->db) == 0;
	for (int i = 0; ok && i < NSBC_SETTINGS; i++) {
		char val[32];
		snprintf(val, sizeof(val), "%d", vals[i]);
		if (i != plain && vals[i] >= 0)
			ok = core_db_setting_set(s->db, sbc_settings[i].key, val) == 0;
	}
	if (core_db_end(s->db, ok) < 0) {
		sup_broadcast_state(s); /* plain SIP may have changed */
		sup_reply(s, id, 500, "could not save the settings");
		return;
	}
	sup_broadcast_state(s);
	sup_reply(s, id, 200, NULL);
}

/* Every alias a domain that is no phone system's name. */
static int check_aliases(struct sup *s, json_t *r, char *err, size_t errlen)
{
	json_t *list = json_object_get(r, "aliases"), *it;
	size_t i;
	if (!json_is_array(list) || json_array_size(list) > 32)
		return snprintf(err, errlen, "aliases must be a list of at most 32 domains"), 400;
	json_array_foreach(list, i, it)
	{
		const char *d = json_string_value(it);
		const char *why = d ? core_domain_problem(d) : "aliases are strings";
		if (!why && sup_child_find(s, d))
			why = "that is the name of a phone system";
		if (why)
			return snprintf(err, errlen, "%s: %s", d ? d : "?", why), 400;
	}
	return 0;
}

/* Replaces the SIP domain aliases of a phone system, all or none. */
static void req_set_aliases(struct sup *s, uint32_t id, json_t *r, struct sup_child *c)
{
	json_t *list = json_object_get(r, "aliases"), *it;
	size_t i;
	char msg[300];
	sqlite3_stmt *del = NULL, *ins = NULL;
	int ok = core_db_begin(s->db) == 0 &&
		 sqlite3_prepare_v2(s->db, "DELETE FROM aliases WHERE name=?", -1, &del, NULL) ==
			 SQLITE_OK &&
		 sqlite3_prepare_v2(s->db, "INSERT INTO aliases(alias,name) VALUES(?,?)", -1, &ins,
				    NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(del, 1, c->name, -1, SQLITE_STATIC);
		ok = sqlite3_step(del) == SQLITE_DONE;
	}
	const char *taken = NULL;
	json_array_foreach(list, i, it)
	{
		if (!ok)
			break;
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, json_string_value(it), -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, c->name, -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			ok = 0;
			taken = json_string_value(it);
		}
	}
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	if (core_db_end(s->db, ok) < 0) {
		snprintf(msg, sizeof(msg), "%s is already an alias of a phone system",
			 taken ? taken : "a domain");
		sup_reply(s, id, taken ? 409 : 500, taken ? msg : "could not save the aliases");
		return;
	}
	log_info("phone system %s: %zu domain alias(es)", c->name, json_array_size(list));
	sup_broadcast_state(s);
	sup_reply(s, id, 200, NULL);
}

/* Lifting a block the SBC holds: forgotten here (a restarted SBC does not
 * get it back) and lifted at the SBC if it runs. */
static int check_unblock(struct sup *s, json_t *r, char *err, size_t errlen)
{
	(void)s;
	if (!json_is_string(json_object_get(r, "address")))
		return snprintf(err, errlen, "no address"), 400;
	return 0;
}

static void req_sip_unblock(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	const char *addr = json_string_value(json_object_get(r, "address"));
	(void)unused;
	bool had = sup_blocks_lift(s, addr);
	for (struct sup_child *c = s->children; c; c = c->next) {
		if (c->role == ROLE_SBC && c->ipc) {
			json_t *m = json_pack("{s:s}", "address", addr);
			int rc = sup_child_push(s, c, IPC_SBC_UNBLOCK, m);
			json_decref(m);
			if (rc < 0 && !had) {
				sup_reply(s, id, 503, "the SBC could not be told");
				return;
			}
			sup_reply(s, id, 200, NULL);
			return;
		}
	}
	if (had)
		sup_reply(s, id, 200, NULL);
	else
		sup_reply(s, id, 503, "the SBC is not running");
}

/* {"name", "from"}: the phone system `name` gets the data in `from` (a
 * directory mgmt extracted and verified under phone-systems/): an existing
 * one is stopped, swapped and started; a new name is created from it. */
static int check_restore(struct sup *s, json_t *r, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	const char *from = json_string_value(json_object_get(r, "from"));
	const char *why = name ? core_name_problem(name) : "name is required";
	char db[512];
	snprintf(db, sizeof(db), "%s/pbx.db", from ? from : "");
	if (!why && (!from || strncmp(from, "phone-systems/.restore-", 23) != 0 ||
		     strstr(from, "..") || access(db, R_OK) < 0))
		why = "nothing to restore";
	if (why)
		return snprintf(err, errlen, "%s", why), 400;
	struct sup_child *c = sup_child_find(s, name);
	if (c && (c->reply_id || c->deleting || c->restore_from))
		return snprintf(err, errlen, "the phone system is busy with another operation"),
		       409;
	return 0;
}

static void req_restore(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	const char *from = json_string_value(json_object_get(r, "from"));
	struct sup_child *c = sup_child_find(s, name);
	(void)unused;
	if (c) {
		c->restore_from = strdup(from);
		c->reply_id = id;
		sup_broadcast_state(s);
		if (c->pid > 0)
			sup_child_stop(s, c);
		else
			req_finish_restore(s, c);
		return;
	}
	char dir[256];
	snprintf(dir, sizeof(dir), "phone-systems/%s", name);
	core_fs_rm_tree(dir);
	c = rename(from, dir) == 0 && req_db_add(s, name) ? sup_child_add(s, ROLE_PBX, name) : NULL;
	if (!c) {
		core_fs_rm_tree(dir);
		core_fs_rm_tree(from);
		sup_reply(s, id, 500, "could not record the restored phone system");
		return;
	}
	log_info("phone system %s created from a backup", name);
	c->reply_id = id;
	c->reply_ok = 201;
	if (sup_child_spawn(s, c) < 0) {
		c->reply_id = 0;
		sup_reply(s, id, 500, "restored, but its process could not be started");
	}
}

static void req_update(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	(void)unused;
	sup_update(s, id, r);
}

static void req_trace_start(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	(void)unused;
	sup_trace_start(s, id, r);
}

static void req_trace_stop(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	(void)unused;
	sup_trace_stop(s, id, r, false);
}

static void req_trace_delete(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	(void)unused;
	sup_trace_stop(s, id, r, true);
}

static void req_vpn_get(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	(void)r;
	(void)unused;
	sup_vpn_get(s, id);
}

static void req_vpn_set(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	(void)unused;
	sup_vpn_set(s, id, r);
}

static void req_vpn_client_add(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	(void)unused;
	sup_vpn_client_add(s, id, r);
}

static void req_vpn_client_revoke(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	(void)unused;
	sup_vpn_client_revoke(s, id, r);
}

/* {"name", "admin_hash"}: the phone system's admin gets a new password
 * (hashed by mgmt) and its sessions end; written into pbx.db whether the
 * phone system runs or not (its process reads the hash and the sessions
 * from pbx.db at every login and request). */
static int check_admin_password(struct sup *s, json_t *r, char *err, size_t errlen)
{
	struct sup_child *c = req_find(s, r);
	const char *hash = json_string_value(json_object_get(r, "admin_hash"));
	if (!hash || strncmp(hash, "$argon2id$", 10) != 0)
		return snprintf(err, errlen, "admin password is required"), 400;
	if (c && c->restore_from)
		return snprintf(err, errlen, "the phone system is busy with another operation"),
		       409;
	return 0;
}

static void req_admin_password(struct sup *s, uint32_t id, json_t *r, struct sup_child *c)
{
	char db[300];
	snprintf(db, sizeof(db), "phone-systems/%s/pbx.db", c->name);
	if (store_pbx_set_admin(db, json_string_value(json_object_get(r, "admin_hash"))) < 0) {
		log_error("phone system %s: cannot set its admin password", c->name);
		sup_reply(s, id, 500, "could not save the new admin password");
		return;
	}
	log_info("phone system %s: admin password reset, its sessions ended", c->name);
	sup_reply_json(s, id, json_pack("{s:i, s:s}", "status", 200, "name", c->name));
}

/* One row per operation of core_ops.h, in the style of cli_cmds[]: the one
 * validator (check: 0, or the status the request is refused with and why in
 * err; without a check the handler checks the whole request before it
 * changes anything), whether the request names an
 * existing phone system ("name", else 404; found before check and run),
 * and the handler, which answers exactly once (sup_reply). */
typedef int sup_op_check(struct sup *s, json_t *r, char *err, size_t errlen);
typedef void sup_op_run(struct sup *s, uint32_t id, json_t *r, struct sup_child *c);
static const struct sup_op {
	sup_op_check *check;
	bool phone_system;
	sup_op_run *run;
} sup_ops[CORE_OP_COUNT] = {
	[CORE_OP_CREATE] = {check_create, false, req_create},
	[CORE_OP_DELETE] = {NULL, true, req_delete},
	[CORE_OP_START] = {NULL, true, req_start},
	[CORE_OP_STOP] = {NULL, true, req_stop},
	[CORE_OP_SET_INTERFACES] = {NULL, false, req_set_interfaces},
	[CORE_OP_SET_SBC] = {NULL, false, req_set_sbc},
	[CORE_OP_SET_ALIASES] = {check_aliases, true, req_set_aliases},
	[CORE_OP_SIP_UNBLOCK] = {check_unblock, false, req_sip_unblock},
	[CORE_OP_UPDATE] = {NULL, false, req_update},
	[CORE_OP_RESTORE] = {check_restore, false, req_restore},
	[CORE_OP_TRACE_START] = {sup_trace_check, false, req_trace_start},
	[CORE_OP_TRACE_STOP] = {NULL, false, req_trace_stop},
	[CORE_OP_TRACE_DELETE] = {NULL, false, req_trace_delete},
	[CORE_OP_VPN_GET] = {NULL, false, req_vpn_get},
	[CORE_OP_VPN_SET] = {NULL, false, req_vpn_set},
	[CORE_OP_VPN_CLIENT_ADD] = {NULL, false, req_vpn_client_add},
	[CORE_OP_VPN_CLIENT_REVOKE] = {NULL, false, req_vpn_client_revoke},
	[CORE_OP_ADMIN_PASSWORD] = {check_admin_password, true, req_admin_password},
	[CORE_OP_SET_NAT] = {sup_nat_check, false, sup_nat_set},
};

void sup_on_request(struct sup *s, struct sup_child *from, struct core_ipc_msg *msg)
{
	(void)from;
	core_ipc_close_fds(msg);
	json_t *r = core_ipc_json(msg);
	json_t *opv = json_object_get(r, "op");
	int op = opv ? core_op_find(json_string_value(opv)) : -1;
	const struct sup_op *row = op >= 0 ? &sup_ops[op] : NULL;
	struct sup_child *c = row && row->phone_system ? req_find(s, r) : NULL;
	char err[512];
	int status;
	if (!json_is_string(opv))
		sup_reply(s, msg->id, 400, "malformed request");
	else if (!row || !row->run)
		sup_reply(s, msg->id, 400, "unknown operation");
	else if (row->phone_system && !c)
		sup_reply(s, msg->id, 404, "no such phone system");
	else if (row->check && (status = row->check(s, r, err, sizeof(err))))
		sup_reply(s, msg->id, status, err);
	else
		row->run(s, msg->id, r, c);
	json_decref(r);
}
