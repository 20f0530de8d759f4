/*
 * pbx_prompts — see pbx_prompts.h. Owns the built-in prompt set on disk
 * (made once per catalogue, in a thread, from Debian's Asterisk sounds and
 * espeak-ng), the cache of decoded clips, the phone system's uploads in
 * pbx.db's prompts table and the API under /api/v1/prompts.
 */
#include "pbx_prompts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/core_auth.h"
#include "../core/core_db.h"
#include "../core/core_fs.h"
#include "../core/core_log.h"

extern char **environ;

/* What the built-in set is made from (Debian's packages, scripts/deps.sh). */
static const char *const asterisk_en_dirs[] = {"/usr/share/asterisk/sounds/en_US_f_Allison",
					       "/usr/share/asterisk/sounds/en"};
#define MOH_DIR	   "/usr/share/asterisk/moh"
#define SET_RATE   16000
#define FILE_MAX   (64u << 20) /* a source or built-in file read whole */
#define SILENCE_MS 250

struct clip {
	const struct pbx_prompt_def *def;
	char lang[3]; /* "en", "de"; "" for an upload (every language) */
	int rate;
	struct media_pcm pcm;
	struct clip *next;
};

struct pbx_prompts {
	struct pbx *p;
	char root[256], set[320]; /* prompts/, prompts/<catalogue id> */
	pthread_t gen;
	bool gen_started, gen_joined;
	atomic_bool stop;
	bool *uploaded; /* per catalogue row */
	struct clip *clips, *retired;
};

/* ---- files ---- */

static int read_file(const char *path, void **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	struct stat st;
	void *buf = NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size >= 0 && (size_t)st.st_size <= FILE_MAX &&
	    (buf = malloc((size_t)st.st_size + 1)) &&
	    fread(buf, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
		fclose(f);
		*out = buf;
		*len = (size_t)st.st_size;
		return 0;
	}
	free(buf);
	fclose(f);
	return -1;
}

static int decode_file(const char *path, int rate, struct media_pcm *out, const char **why)
{
	void *buf;
	size_t len;
	if (read_file(path, &buf, &len) < 0) {
		*why = strerror(errno ? errno : EIO);
		return -1;
	}
	int r = media_audio_decode(buf, len, rate, out, why);
	free(buf);
	return r;
}

static int pcm_append(struct media_pcm *dst, const struct media_pcm *src)
{
	int16_t *s = realloc(dst->samples, (dst->n + src->n + 1) * sizeof(int16_t));
	if (!s)
		return -1;
	memcpy(s + dst->n, src->samples, src->n * sizeof(int16_t));
	dst->samples = s;
	dst->n += src->n;
	return 0;
}

static int write_wav(const char *path, const struct media_pcm *pcm)
{
	void *buf;
	size_t len;
	if (media_audio_wav(pcm->samples, pcm->n, pcm->rate, &buf, &len) < 0)
		return -1;
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(buf, 1, len, f) == len;
	ok = f && fclose(f) == 0 && ok;
	free(buf);
	return ok ? 0 : -1;
}

/* The tracks of a moh directory, sorted; *n of them (free each and the list). */
static char **moh_tracks(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	char **list = NULL;
	*n = 0;
	if (!d)
		return NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".wav") != 0 || e->d_name[0] == '.')
			continue;
		char **nl = realloc(list, (*n + 1) * sizeof(*list));
		if (!nl)
			break;
		list = nl;
		if (!(list[*n] = strdup(e->d_name)))
			break;
		(*n)++;
	}
	closedir(d);
	for (size_t i = 1; i < *n; i++) /* insertion sort: a handful of names */
		for (size_t j = i; j > 0 && strcmp(list[j - 1], list[j]) > 0; j--) {
			char *t = list[j];
			list[j] = list[j - 1];
			list[j - 1] = t;
		}
	return list;
}

static void moh_tracks_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* ---- making the built-in set (the generator thread) ---- */

struct gen_ctx {
	struct pbx_prompts *pr;
	const char *en_dir;
	char tmp[400];
	char err[2048];
};

/* espeak-ng, run without a shell, writes text in voice to path. */
static int gen_say(struct gen_ctx *g, const char *voice, const char *text, struct media_pcm *out)
{
	char path[460];
	snprintf(path, sizeof(path), "%s/say.wav", g->tmp);
	char *argv[] = {"espeak-ng", "-v", (char *)voice, "-s", "150",
			"-w",	     path, (char *)text,  NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int r = posix_spawnp(&pid, "espeak-ng", &fa, NULL, argv, environ);
	if (r != 0)
		r = posix_spawn(&pid, "/usr/bin/espeak-ng", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		snprintf(g->err, sizeof(g->err),
			 "cannot run espeak-ng (%s): install it (scripts/deps.sh)", strerror(r));
		return -1;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	const char *why = "";
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    decode_file(path, SET_RATE, out, &why) < 0) {
		snprintf(g->err, sizeof(g->err), "espeak-ng -v %s failed on \"%s\" %s", voice, text,
			 why);
		unlink(path);
		return -1;
	}
	unlink(path);
	return 0;
}

static int gen_files(struct gen_ctx *g, const char *list, struct media_pcm *out)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", list);
	char *save = NULL;
	for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char path[600];
		struct media_pcm part = {0};
		const char *why = "";
		snprintf(path, sizeof(path), "%s/%s.wav", g->en_dir, tok);
		if (decode_file(path, SET_RATE, &part, &why) < 0) {
			snprintf(g->err, sizeof(g->err), "%s: %s", path, why);
			return -1;
		}
		int r = pcm_append(out, &part);
		media_pcm_free(&part);
		if (r < 0) {
			snprintf(g->err, sizeof(g->err), "out of memory");
			return -1;
		}
	}
	return 0;
}

static int gen_one(struct gen_ctx *g, const char *name, const char *lang, const char *src)
{
	struct media_pcm pcm = {.rate = SET_RATE};
	int r;
	if (strcmp(src, "-") == 0) {
		pcm.n = SET_RATE * SILENCE_MS / 1000;
		r = (pcm.samples = calloc(pcm.n, sizeof(int16_t))) ? 0 : -1;
	} else if (strncmp(src, "f:", 2) == 0) {
		r = gen_files(g, src + 2, &pcm);
	} else if (strncmp(src, "s:", 2) == 0) {
		r = gen_say(g, strcmp(lang, "de") == 0 ? "de" : "en-us", src + 2, &pcm);
	} else {
		snprintf(g->err, sizeof(g->err), "%s: unknown source %s", name, src);
		return -1;
	}
	char path[520];
	snprintf(path, sizeof(path), "%s/%s/%s.wav", g->tmp, lang, name);
	pcm.rate = SET_RATE;
	if (r == 0 && write_wav(path, &pcm) < 0) {
		snprintf(g->err, sizeof(g->err), "cannot write %s", path);
		r = -1;
	}
	media_pcm_free(&pcm);
	return r;
}

static int gen_moh(struct gen_ctx *g)
{
	size_t n;
	char **tracks = moh_tracks(MOH_DIR, &n);
	if (!n) {
		snprintf(g->err, sizeof(g->err),
			 "no music in " MOH_DIR ": install asterisk-moh-opsound-wav "
			 "(scripts/deps.sh)");
		moh_tracks_free(tracks, n);
		return -1;
	}
	int r = 0;
	for (size_t i = 0; i < n && r == 0 && !atomic_load(&g->pr->stop); i++) {
		char in[600], out[800];
		struct media_pcm pcm = {0};
		const char *why = "";
		snprintf(in, sizeof(in), MOH_DIR "/%s", tracks[i]);
		snprintf(out, sizeof(out), "%s/moh/%s", g->tmp, tracks[i]);
		if (decode_file(in, SET_RATE, &pcm, &why) < 0) {
			snprintf(g->err, sizeof(g->err), "%s: %s", in, why);
			r = -1;
		} else if (write_wav(out, &pcm) < 0) {
			snprintf(g->err, sizeof(g->err), "cannot write %s", out);
			r = -1;
		}
		media_pcm_free(&pcm);
	}
	moh_tracks_free(tracks, n);
	return r;
}

static int gen_make(struct gen_ctx *g)
{
	struct pbx_prompts *pr = g->pr;
	g->en_dir = NULL;
	for (size_t i = 0; i < sizeof(asterisk_en_dirs) / sizeof(*asterisk_en_dirs); i++) {
		char probe[300];
		snprintf(probe, sizeof(probe), "%s/vm-intro.wav", asterisk_en_dirs[i]);
		if (access(probe, R_OK) == 0) {
			g->en_dir = asterisk_en_dirs[i];
			break;
		}
	}
	if (!g->en_dir) {
		snprintf(g->err, sizeof(g->err),
			 "no English recordings in /usr/share/asterisk/sounds: install "
			 "asterisk-core-sounds-en-wav (scripts/deps.sh)");
		return -1;
	}
	snprintf(g->tmp, sizeof(g->tmp), "%s.tmp-%ld", pr->set, (long)getpid());
	core_fs_rm_tree(g->tmp);
	char sub[460];
	if (mkdir(g->tmp, 0750) < 0) {
		snprintf(g->err, sizeof(g->err), "cannot create %s: %s", g->tmp, strerror(errno));
		return -1;
	}
	static const char *const subs[] = {"en", "de", "moh"};
	for (int i = 0; i < 3; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", g->tmp, subs[i]);
		if (mkdir(sub, 0750) < 0) {
			snprintf(g->err, sizeof(g->err), "cannot create %s", sub);
			return -1;
		}
	}
	size_t n;
	const struct pbx_prompt_def *defs = pbx_prompt_defs(&n);
	for (size_t i = 0; i < n; i++) {
		if (atomic_load(&pr->stop)) {
			snprintf(g->err, sizeof(g->err), "stopped");
			return -1;
		}
		if (strcmp(defs[i].en, "moh") == 0)
			continue;
		if (gen_one(g, defs[i].name, "en", defs[i].en) < 0 ||
		    gen_one(g, defs[i].name, "de", defs[i].de) < 0)
			return -1;
	}
	if (gen_moh(g) < 0)
		return -1;
	if (atomic_load(&pr->stop)) {
		snprintf(g->err, sizeof(g->err), "stopped");
		return -1;
	}
	if (rename(g->tmp, pr->set) < 0) {
		snprintf(g->err, sizeof(g->err), "cannot rename %s to %s: %s", g->tmp, pr->set,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Under the lock nobody else makes a set: a tmp-* of this catalogue is left
 * over from a process that died while making it. */
static void remove_stale(struct pbx_prompts *pr)
{
	char prefix[400], path[800];
	const char *id = strrchr(pr->set, '/') ? strrchr(pr->set, '/') + 1 : pr->set;
	snprintf(prefix, sizeof(prefix), "%s.tmp-", id);
	DIR *d = opendir(pr->root);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
			snprintf(path, sizeof(path), "%s/%s", pr->root, e->d_name);
			core_fs_rm_tree(path);
		}
	if (d)
		closedir(d);
}

static void *gen_main(void *arg)
{
	struct pbx_prompts *pr = arg;
	struct gen_ctx g = {.pr = pr};
	/* behind the phone system's own work: this thread and its espeak-ng runs */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10) < 0)
		log_warn("prompts: cannot lower the priority of making the set: %s",
			 strerror(errno));
	char lock[400];
	struct stat st;
	snprintf(lock, sizeof(lock), "%s.lock", pr->set);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		log_error("prompts: cannot open %s: %s", lock, strerror(errno));
		return NULL;
	}
	/* Phone systems start together: one makes the set, the others wait. */
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (atomic_load(&pr->stop) || (errno != EWOULDBLOCK && errno != EINTR)) {
			close(fd);
			return NULL;
		}
		struct timespec ts = {0, 100000000};
		nanosleep(&ts, NULL);
	}
	if (stat(pr->set, &st) < 0) {
		struct timespec t0, t1;
		remove_stale(pr);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (gen_make(&g) < 0) {
			if (!atomic_load(&pr->stop))
				log_error("prompts: cannot make the built-in set: %s", g.err);
			if (g.tmp[0])
				core_fs_rm_tree(g.tmp);
		} else {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			log_info("prompts: made the built-in set in %s (%.1f s)", pr->set,
				 (double)(t1.tv_sec - t0.tv_sec) +
					 (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		}
	}
	close(fd); /* releases the lock */
	return NULL;
}

static void gen_wait(struct pbx_prompts *pr)
{
	if (pr->gen_started && !pr->gen_joined) {
		pthread_join(pr->gen, NULL);
		pr->gen_joined = true;
	}
}

/* ---- the cache ---- */

static size_t def_index(const struct pbx_prompt_def *d)
{
	size_t n;
	return (size_t)(d - pbx_prompt_defs(&n));
}

static void language(struct pbx_prompts *pr, char out[3])
{
	char v[16];
	if (core_db_setting_get(pr->p->db, "language", v, sizeof(v)) == 0 && strcmp(v, "de") == 0)
		memcpy(out, "de", 3);
	else
		memcpy(out, "en", 3);
}

/* Every cached clip of d moves to the retired list: a session may play it still. */
static void retire(struct pbx_prompts *pr, const struct pbx_prompt_def *d)
{
	for (struct clip **c = &pr->clips; *c;) {
		if ((*c)->def == d) {
			struct clip *x = *c;
			*c = x->next;
			x->next = pr->retired;
			pr->retired = x;
		} else {
			c = &(*c)->next;
		}
	}
}

static int load_upload(struct pbx_prompts *pr, const struct pbx_prompt_def *d, int rate,
		       struct media_pcm *out)
{
	sqlite3_stmt *st = core_db_stmt(pr->p->db, "SELECT wav FROM prompts WHERE name=?");
	int r = -1;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *why;
		r = media_audio_decode(sqlite3_column_blob(st, 0),
				       (size_t)sqlite3_column_bytes(st, 0), rate, out, &why);
		if (r < 0)
			log_error("prompts: the upload of %s does not decode: %s", d->name, why);
	}
	sqlite3_reset(st);
	return r;
}

/* Music: the tracks in name order, whole, as many as fit the music limit. */
static int load_moh(struct pbx_prompts *pr, int rate, struct media_pcm *out)
{
	char dir[400];
	size_t n;
	snprintf(dir, sizeof(dir), "%s/moh", pr->set);
	char **tracks = moh_tracks(dir, &n);
	size_t limit = (size_t)PBX_PROMPT_MUSIC_SECONDS * (size_t)rate;
	*out = (struct media_pcm){.rate = rate};
	for (size_t i = 0; i < n; i++) {
		char path[700];
		struct media_pcm t = {0};
		const char *why;
		snprintf(path, sizeof(path), "%s/%s", dir, tracks[i]);
		if (decode_file(path, rate, &t, &why) < 0) {
			log_error("prompts: %s: %s", path, why);
			continue;
		}
		if (out->n == 0 || out->n + t.n <= limit)
			if (pcm_append(out, &t) < 0)
				log_error("prompts: out of memory for the music");
		media_pcm_free(&t);
	}
	moh_tracks_free(tracks, n);
	return out->n ? 0 : -1;
}

static int load_builtin(struct pbx_prompts *pr, const struct pbx_prompt_def *d, const char *lang,
			int rate, struct media_pcm *out)
{
	gen_wait(pr);
	if (strcmp(d->en, "moh") == 0)
		return load_moh(pr, rate, out);
	char path[500];
	const char *why;
	snprintf(path, sizeof(path), "%s/%s/%s.wav", pr->set, lang, d->name);
	if (decode_file(path, rate, out, &why) < 0) {
		log_error("prompts: %s: %s", path, why);
		return -1;
	}
	return 0;
}

static const struct media_pcm *prompt_in(struct pbx_prompts *pr, const struct pbx_prompt_def *d,
					 const char *lang, int rate)
{
	bool up = pr->uploaded[def_index(d)];
	const char *key = up ? "" : lang;
	for (struct clip *c = pr->clips; c; c = c->next)
		if (c->def == d && c->rate == rate && strcmp(c->lang, key) == 0)
			return &c->pcm;
	struct clip *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	int r = up ? load_upload(pr, d, rate, &c->pcm) : load_builtin(pr, d, lang, rate, &c->pcm);
	if (r < 0) {
		free(c);
		return NULL;
	}
	c->def = d;
	snprintf(c->lang, sizeof(c->lang), "%s", key);
	c->rate = rate;
	c->next = pr->clips;
	pr->clips = c;
	return &c->pcm;
}

const struct media_pcm *pbx_prompt(struct pbx_prompts *pr, const char *name, int rate)
{
	const struct pbx_prompt_def *d = pbx_prompt_def(name);
	if (!pr || !d || rate < 8000 || rate > 48000)
		return NULL;
	char lang[3];
	language(pr, lang);
	return prompt_in(pr, d, lang, rate);
}

int pbx_prompt_number(struct pbx_prompts *pr, int n, int rate, const struct media_pcm **out,
		      int cap)
{
	const char *names[2];
	int k = pbx_prompt_number_names(n, names, 2);
	if (k < 0 || k > cap)
		return -1;
	for (int i = 0; i < k; i++)
		if (!(out[i] = pbx_prompt(pr, names[i], rate)))
			return -1;
	return k;
}

int pbx_prompt_digits(struct pbx_prompts *pr, const char *s, int rate, const struct media_pcm **out,
		      int cap)
{
	int k = 0;
	for (; s && *s; s++) {
		if (*s < '0' || *s > '9')
			continue;
		char name[16];
		snprintf(name, sizeof(name), "digit-%c", *s);
		if (k >= cap || !(out[k] = pbx_prompt(pr, name, rate)))
			return -1;
		k++;
	}
	return k;
}

/* ---- life ---- */

struct pbx_prompts *pbx_prompts_new(struct pbx *p, const char *dir)
{
	struct pbx_prompts *pr = calloc(1, sizeof(*pr));
	size_t n;
	pbx_prompt_defs(&n);
	if (!pr || !(pr->uploaded = calloc(n, sizeof(bool)))) {
		free(pr);
		return NULL;
	}
	pr->p = p;
	atomic_init(&pr->stop, false);
	snprintf(pr->root, sizeof(pr->root), "%s", dir);
	snprintf(pr->set, sizeof(pr->set), "%s/%s", dir, pbx_prompt_catalogue_id());
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		log_error("prompts: cannot create %s: %s", dir, strerror(errno));

	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "SELECT name FROM prompts", -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const struct pbx_prompt_def *d =
				pbx_prompt_def((const char *)sqlite3_column_text(st, 0));
			if (d)
				pr->uploaded[def_index(d)] = true;
		}
		sqlite3_finalize(st);
	}

	struct stat sb;
	if (stat(pr->set, &sb) < 0) {
		if (pthread_create(&pr->gen, NULL, gen_main, pr) == 0)
			pr->gen_started = true;
		else
			log_error("prompts: cannot start the thread that makes the built-in set");
	}
	return pr;
}

static void clips_free(struct clip *c)
{
	while (c) {
		struct clip *next = c->next;
		media_pcm_free(&c->pcm);
		free(c);
		c = next;
	}
}

void pbx_prompts_free(struct pbx_prompts *pr)
{
	if (!pr)
		return;
	atomic_store(&pr->stop, true);
	gen_wait(pr);
	clips_free(pr->clips);
	clips_free(pr->retired);
	free(pr->uploaded);
	free(pr);
}

/* ---- the API ---- */

static json_t *entry_json(struct pbx_prompts *pr, const struct pbx_prompt_def *d)
{
	bool music = strcmp(d->en, "moh") == 0;
	json_t *o = json_pack("{s:s, s:s, s:s, s:i}", "name", d->name, "kind",
			      music ? "music" : "speech", "source", "built-in", "max_seconds",
			      pbx_prompt_max_seconds(d));
	if (!o || !pr->uploaded[def_index(d)])
		return o;
	sqlite3_stmt *st = core_db_stmt(
		pr->p->db, "SELECT original, updated, length(wav) FROM prompts WHERE name=?");
	if (!st)
		return o;
	sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_object_set_new(o, "source", json_string("uploaded"));
		json_object_set_new(o, "original",
				    json_string((const char *)sqlite3_column_text(st, 0)));
		json_object_set_new(o, "updated", json_integer(sqlite3_column_int64(st, 1)));
		/* the stored WAV is 16-bit mono at 16 kHz behind a 44-byte header */
		long long bytes = sqlite3_column_int64(st, 2);
		json_object_set_new(o, "seconds",
				    json_real((double)(bytes > 44 ? bytes - 44 : 0) / 32000.0));
	}
	sqlite3_reset(st);
	return o;
}

static void prompts_list(struct pbx_prompts *pr, struct core_httpd_req *req)
{
	size_t n;
	const struct pbx_prompt_def *defs = pbx_prompt_defs(&n);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, entry_json(pr, &defs[i]));
	char lang[3];
	language(pr, lang);
	core_httpd_respond_json(req, 200,
				json_pack("{s:s, s:o}", "language", lang, "prompts", list));
}

/* Whether the query names key at all (core_httpd_query fails alike for an
 * absent, a malformed and a too long value). */
static bool query_has(const struct core_httpd_req *req, const char *key)
{
	size_t k = strlen(key);
	for (const char *q = req->query; q && *q;) {
		if (strncmp(q, key, k) == 0 && (q[k] == '=' || q[k] == '&' || q[k] == '\0'))
			return true;
		q = strchr(q, '&');
		q = q ? q + 1 : NULL;
	}
	return false;
}

/* The WAV that is played: the upload, else the built-in one in the
 * language asked for (?language=) or the phone system's. */
static void prompt_get(struct pbx_prompts *pr, struct core_httpd_req *req,
		       const struct pbx_prompt_def *d)
{
	char lang[16];
	if (query_has(req, "language")) {
		if (core_httpd_query(req, "language", lang, sizeof(lang)) < 0 ||
		    (strcmp(lang, "en") != 0 && strcmp(lang, "de") != 0)) {
			core_httpd_respond_error(req, 400, "language: \"en\" or \"de\"");
			return;
		}
	} else {
		language(pr, lang);
	}
	const struct media_pcm *pcm = prompt_in(pr, d, lang, SET_RATE);
	void *wav;
	size_t len;
	if (!pcm) {
		core_httpd_respond_error(req, 503, "this prompt is not available (see the log)");
		return;
	}
	if (media_audio_wav(pcm->samples, pcm->n, pcm->rate, &wav, &len) < 0) {
		core_httpd_respond_error(req, 500, "out of memory");
		return;
	}
	core_httpd_respond(req, 200, "audio/wav", "Cache-Control: no-store\r\n", wav, len);
	free(wav);
}

/* What the upload was, for the list: ?filename= (printable, at most 200
 * bytes) or "upload", and its size. */
static int upload_original(struct core_httpd_req *req, char *out, size_t outlen, size_t bytes)
{
	char fn[256] = "upload";
	if (query_has(req, "filename")) {
		if (core_httpd_query(req, "filename", fn, sizeof(fn)) < 0)
			return -1; /* malformed or too long: refused, never cut */
		size_t l = strlen(fn);
		if (l == 0 || l > 200)
			return -1;
		for (size_t i = 0; i < l; i++)
			if ((unsigned char)fn[i] < 0x20 || fn[i] == 0x7f)
				return -1;
	}
	snprintf(out, outlen, "%s (%zu bytes)", fn, bytes);
	return 0;
}

static void prompt_put(struct pbx_prompts *pr, struct core_httpd_req *req,
		       const struct pbx_prompt_def *d, const char *user)
{
	size_t len = evbuffer_get_length(req->body);
	char original[300], msg[160];
	if (len == 0) {
		core_httpd_respond_error(req, 400,
					 "the body is empty: send a WAV, MP3 or OGG file");
		return;
	}
	if (upload_original(req, original, sizeof(original), len) < 0) {
		core_httpd_respond_error(req, 400,
					 "filename: 1 to 200 characters, no control characters");
		return;
	}
	const void *data = evbuffer_pullup(req->body, -1);
	struct media_pcm pcm = {0};
	const char *why = "unknown";
	if (!data || media_audio_decode(data, len, SET_RATE, &pcm, &why) < 0) {
		snprintf(msg, sizeof(msg), "not usable as audio (a WAV, MP3 or OGG file): %s", why);
		core_httpd_respond_error(req, 400, msg);
		return;
	}
	int max = pbx_prompt_max_seconds(d);
	if (pcm.n == 0 || pcm.n > (size_t)max * SET_RATE) {
		if (pcm.n == 0)
			snprintf(msg, sizeof(msg), "the file has no sound in it");
		else
			snprintf(msg, sizeof(msg),
				 "too long: %.0f s; %s may be at most %d s (%d min)",
				 (double)pcm.n / SET_RATE, d->name, max, max / 60);
		media_pcm_free(&pcm);
		core_httpd_respond_error(req, 400, msg);
		return;
	}
	void *wav;
	size_t wlen;
	int r = media_audio_wav(pcm.samples, pcm.n, SET_RATE, &wav, &wlen);
	double secs = (double)pcm.n / SET_RATE;
	media_pcm_free(&pcm);
	if (r < 0) {
		core_httpd_respond_error(req, 500, "out of memory");
		return;
	}
	sqlite3_stmt *st =
		core_db_stmt(pr->p->db, "INSERT OR REPLACE INTO prompts(name, wav, original, "
					"updated) VALUES(?, ?, ?, ?)");
	bool ok = st && sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC) == SQLITE_OK &&
		  sqlite3_bind_blob64(st, 2, wav, wlen, SQLITE_STATIC) == SQLITE_OK &&
		  sqlite3_bind_text(st, 3, original, -1, SQLITE_STATIC) == SQLITE_OK &&
		  sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL)) == SQLITE_OK &&
		  sqlite3_step(st) == SQLITE_DONE;
	if (st)
		sqlite3_reset(st);
	free(wav);
	if (!ok) {
		core_httpd_respond_error(req, 500, "could not save the prompt");
		return;
	}
	retire(pr, d);
	pr->uploaded[def_index(d)] = true;
	log_info("%s uploaded the prompt %s (%.1f s)", user, d->name, secs);
	core_httpd_respond_json(req, 200, entry_json(pr, d));
}

static void prompt_delete(struct pbx_prompts *pr, struct core_httpd_req *req,
			  const struct pbx_prompt_def *d, const char *user)
{
	sqlite3_stmt *st = core_db_stmt(pr->p->db, "DELETE FROM prompts WHERE name=?");
	bool ok = st && sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC) == SQLITE_OK &&
		  sqlite3_step(st) == SQLITE_DONE;
	if (st)
		sqlite3_reset(st);
	if (!ok) {
		core_httpd_respond_error(req, 500, "could not remove the upload");
		return;
	}
	if (pr->uploaded[def_index(d)]) {
		retire(pr, d);
		pr->uploaded[def_index(d)] = false;
		log_info("%s reverted the prompt %s to the built-in one", user, d->name);
	}
	core_httpd_respond_json(req, 200, entry_json(pr, d));
}

void pbx_prompts_handle(struct pbx_prompts *pr, struct core_httpd_req *req, const char *rest)
{
	char user[128];
	if (core_login_require(&pr->p->login, req, user, sizeof(user)) < 0)
		return;
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (get)
			prompts_list(pr, req);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	const struct pbx_prompt_def *d = pbx_prompt_def(rest + 1);
	if (!d) {
		core_httpd_respond_error(req, 404,
					 "no prompt of that name (GET /api/v1/prompts "
					 "lists them)");
		return;
	}
	if (get)
		prompt_get(pr, req, d);
	else if (strcmp(req->method, "PUT") == 0)
		prompt_put(pr, req, d, user);
	else if (strcmp(req->method, "DELETE") == 0)
		prompt_delete(pr, req, d, user);
	else
		core_httpd_respond_error(req, 405, "method not allowed");
}

void pbx_prompts_allow(const struct http_msg *head, size_t *max_body, int *timeout, void *arg)
{
	struct pbx *p = arg;
	const char *method = http_msg_method(head), *url = head->url;
	char prefix[96];
	snprintf(prefix, sizeof(prefix), "/%s/api/v1/prompts/", p->name);
	if (!method || !url || strcmp(method, "PUT") != 0 ||
	    strncmp(url, prefix, strlen(prefix)) != 0)
		return;
	if (core_login_head_valid(p->db, head)) {
		*max_body = PBX_PROMPT_MAX_BODY;
		*timeout = 300;
	}
}
