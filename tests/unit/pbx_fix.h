/* The fixture of the pbx unit tests on a real pbx.db: a fresh one in a
 * temporary folder (store_pbx_open migrates it) for phone system "acme",
 * with users alice (100) and bob (101); removed again at the teardown. */
#ifndef PBX_FIX_H
#define PBX_FIX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/core/core_db.h"
#include "../../src/pbx/pbx.h"
#include "../../src/store/store.h"

struct fix {
	char dir[64], path[128];
	struct pbx p;
	long long alice, bob;
};

static inline long long fix_add_user(sqlite3 *db, const char *name, const char *ext)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO users(display_name,extension,sip_username,ha1_md5,ha1_sha256,"
		 "created,updated) VALUES('%s','%s','%s','x','x',0,0)",
		 name, ext, name);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	return sqlite3_last_insert_rowid(db);
}

/* The fixture (one at a time) in /tmp/<prefix>.XXXXXX. */
static inline struct fix *fix_open(const char *prefix)
{
	static struct fix f;
	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/%s.XXXXXX", prefix);
	assert_non_null(mkdtemp(f.dir));
	snprintf(f.path, sizeof(f.path), "%s/pbx.db", f.dir);
	assert_int_equal(store_pbx_open(f.path, &f.p.db), 0);
	f.p.name = "acme";
	f.alice = fix_add_user(f.p.db, "alice", "100");
	f.bob = fix_add_user(f.p.db, "bob", "101");
	return &f;
}

static inline int fix_teardown(void **state)
{
	struct fix *f = *state;
	core_db_close(f->p.db);
	char sql[256];
	snprintf(sql, sizeof(sql), "rm -rf '%s'", f->dir);
	assert_int_equal(system(sql), 0);
	return 0;
}

#endif
