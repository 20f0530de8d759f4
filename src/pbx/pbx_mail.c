/* pbx_mail — see pbx_mail.h. */
#include "pbx_mail.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../core/core_work.h"
#include "pbx.h"
#include "pbx_vm.h"

/* ---- sending (a worker thread) ---- */

struct mail_job {
	char url[300], from[256], to[256], username[256], password[256];
	bool starttls, verify;
	char *msg; /* the whole message */
	size_t len, off;
	long long id;
	/* the outcome, for the loop thread */
	CURLcode rc;
	long response;
	char error[CURL_ERROR_SIZE];
};

static struct core_work *mail_pool;
/* set at the process's end: a transfer under way gives up within a second
 * (libcurl asks its progress callback that often), so stopping a phone
 * system never waits for a slow relay's timeout */
static atomic_bool mail_stopping;

static int progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load(&mail_stopping) ? 1 : 0;
}

static size_t read_cb(char *out, size_t size, size_t nmemb, void *arg)
{
	struct mail_job *j = arg;
	size_t room = size * nmemb, left = j->len - j->off;
	size_t k = left < room ? left : room;
	memcpy(out, j->msg + j->off, k);
	j->off += k;
	return k;
}

static void mail_run(void *arg)
{
	struct mail_job *j = arg;
	CURL *c = curl_easy_init();
	if (!c) {
		j->rc = CURLE_OUT_OF_MEMORY;
		return;
	}
	struct curl_slist *rcpt = curl_slist_append(NULL, j->to);
	curl_easy_setopt(c, CURLOPT_URL, j->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, j->error);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, j->from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, j);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->len);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	if (j->starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, j->verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, j->verify ? 2L : 0L);
	if (j->username[0]) {
		curl_easy_setopt(c, CURLOPT_USERNAME, j->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, j->password);
	}
	j->rc = rcpt ? curl_easy_perform(c) : CURLE_OUT_OF_MEMORY;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &j->response);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
}

static void mail_done(void *arg, bool cancelled)
{
	struct mail_job *j = arg;
	if (cancelled || j->rc == CURLE_ABORTED_BY_CALLBACK)
		log_warn("voicemail: the email of message %lld to %s was not sent (shutting down)",
			 j->id, j->to);
	else if (j->rc != CURLE_OK)
		log_error("voicemail: the email of message %lld to %s failed: %s (%s; the relay "
			  "answered %ld)",
			  j->id, j->to, curl_easy_strerror(j->rc), j->error[0] ? j->error : "-",
			  j->response);
	else
		log_info("voicemail: message %lld emailed to %s", j->id, j->to);
	sodium_memzero(j->password, sizeof(j->password));
	free(j->msg);
	free(j);
}

static void setting(struct pbx *p, const char *key, char *out, size_t cap, const char *dflt)
{
	if (core_db_setting_get(p->db, key, out, cap) < 0 || !out[0])
		snprintf(out, cap, "%s", dflt);
}

void pbx_mail_voicemail(struct pbx *p, const struct pbx_vm_msg *msg, const void *wav,
			size_t wav_len)
{
	struct pbx_mailbox mb;
	char host[256], port[8], security[16], verify[8], lang[8];
	if (pbx_vm_mailbox(p, msg->user_id, &mb) < 0 || !mb.email[0])
		return;
	setting(p, "smtp_host", host, sizeof(host), "");
	if (!host[0])
		return; /* no relay: nothing to mail through */
	if (!p->child.base) {
		log_warn("voicemail: no event loop to mail message %lld with", msg->id);
		return;
	}
	if (!mail_pool) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		mail_pool = core_work_new(p->child.base, 1, PBX_MAIL_QUEUE);
		if (!mail_pool) {
			log_error("voicemail: no mail worker; message %lld is not emailed",
				  msg->id);
			return;
		}
	}
	struct mail_job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	setting(p, "smtp_security", security, sizeof(security), "starttls");
	setting(p, "smtp_port", port, sizeof(port), strcmp(security, "tls") == 0 ? "465" : "587");
	setting(p, "smtp_verify", verify, sizeof(verify), "1");
	setting(p, "smtp_from", j->from, sizeof(j->from), "");
	setting(p, "smtp_username", j->username, sizeof(j->username), "");
	setting(p, "smtp_password", j->password, sizeof(j->password), "");
	setting(p, "language", lang, sizeof(lang), "en");
	if (!j->from[0])
		snprintf(j->from, sizeof(j->from), "zentrale@%s", p->name);
	snprintf(j->to, sizeof(j->to), "%s", mb.email);
	bool v6 = strchr(host, ':') != NULL;
	snprintf(j->url, sizeof(j->url), "%s://%s%s%s:%s",
		 strcmp(security, "tls") == 0 ? "smtps" : "smtp", v6 ? "[" : "", host,
		 v6 ? "]" : "", port);
	j->starttls = strcmp(security, "starttls") == 0;
	j->verify = strcmp(verify, "0") != 0;
	j->id = msg->id;

	char boundary[48], mid[160], hex[33];
	unsigned char r[16];
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(boundary, sizeof(boundary), "zentrale-%s", hex);
	snprintf(mid, sizeof(mid), "%s.%lld@%s", hex, msg->id, p->name);
	struct pbx_mail_msg m = {.from = j->from,
				 .to = j->to,
				 .lang = lang,
				 .caller = msg->caller,
				 .caller_name = msg->caller_name,
				 .extension = mb.extension,
				 .system = p->name,
				 .received = msg->received,
				 .duration_ms = msg->duration_ms,
				 .wav = mb.email_attach && wav_len <= PBX_MAIL_ATTACH_MAX ? wav
											  : NULL,
				 .wav_len = wav_len,
				 .id = msg->id,
				 .boundary = boundary,
				 .message_id = mid};
	j->msg = pbx_mail_build(&m, &j->len);
	if (!j->msg || core_work_submit(mail_pool, mail_run, mail_done, j) < 0) {
		log_error("voicemail: message %lld is not emailed to %s: %s", msg->id, j->to,
			  j->msg ? "too many emails waiting" : "out of memory");
		free(j->msg);
		sodium_memzero(j->password, sizeof(j->password));
		free(j);
	}
}

void pbx_mail_free(void)
{
	if (mail_pool) {
		atomic_store(&mail_stopping, true);
		core_work_free(mail_pool);
		mail_pool = NULL;
		curl_global_cleanup();
		atomic_store(&mail_stopping, false);
	}
}
