/*
 * mgmt_request — what every mgmt request handler shares: the method test,
 * splitting "/ID/ACTION" paths, answering with a download or a file, and
 * handing an operation to the supervisor (IPC_REQUEST), whose IPC_REPLY
 * answers the request found again by its id (the HTTP request id doubles
 * as the IPC request id).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mgmt.h"

bool mgmt_method_is(const struct core_httpd_req *req, const char *method)
{
	return strcmp(req->method, method) == 0 ||
	       (strcmp(method, "GET") == 0 && strcmp(req->method, "HEAD") == 0);
}

/* Sends an operation to the supervisor; the reply answers req. */
void mgmt_api_ask(struct mgmt *m, struct core_httpd_req *req, json_t *op)
{
	if (core_ipc_send_json(m->child.ipc, IPC_REQUEST, (uint32_t)req->id, op, NULL, 0) < 0)
		core_httpd_respond_error(req, 503, "the supervisor is not reachable");
	json_decref(op);
}

const char *mgmt_path_id(const char *rest, char *id, size_t idlen)
{
	const char *slash = strchr(rest + 1, '/');
	size_t n = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
	snprintf(id, idlen, "%.*s", (int)(n < idlen ? n : 0), rest + 1);
	return slash ? slash + 1 : "";
}

void mgmt_respond_download(struct core_httpd_req *req, const char *type, const char *filename,
			   const void *body, size_t len)
{
	char hdr[300];
	snprintf(hdr, sizeof(hdr),
		 "Content-Disposition: attachment; filename=\"%s\"\r\nCache-Control: no-store\r\n",
		 filename);
	core_httpd_respond(req, 200, type, hdr, body, len);
}

void mgmt_respond_file(struct core_httpd_req *req, const char *path, long long max,
		       const char *type, const char *filename, const char *missing)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > max) {
		if (fd >= 0)
			close(fd);
		core_httpd_respond_error(req, 404, missing);
		return;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size)
		core_httpd_respond_error(req, 500, "cannot read the file");
	else
		mgmt_respond_download(req, type, filename, buf, (size_t)n);
	free(buf);
}

void mgmt_api_reply(struct mgmt *m, struct core_ipc_msg *msg)
{
	struct core_httpd_req *req = core_httpd_find(m->http, msg->id);
	if (!req)
		req = core_httpd_find(m->local, msg->id);
	mgmt_backups_replied(m, msg->id);
	json_t *r = core_ipc_json(msg);
	int status = (int)json_integer_value(json_object_get(r, "status"));
	mgmt_admins_replied(m, msg->id, status, req ? r : NULL);
	if (!req || !r) {
		json_decref(r);
		return; /* the client has gone */
	}
	json_object_del(r, "status");
	if (status < 200 || status > 599)
		status = 500;
	core_httpd_respond_json(req, status, r);
}
