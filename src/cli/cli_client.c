/* cli_client — blocking HTTP requests to the management control socket. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../http/http_msg.h"
#include "cli.h"

#define CLI_MAX_ANSWER (8 * 1024 * 1024)

struct answer {
	char *data;
	size_t len;
	bool too_big;
};

static void answer_body(void *arg, const char *d, size_t n)
{
	struct answer *a = arg;
	if (a->too_big || a->len + n > CLI_MAX_ANSWER) {
		a->too_big = true;
		return;
	}
	char *p = realloc(a->data, a->len + n + 1);
	if (!p) {
		a->too_big = true;
		return;
	}
	a->data = p;
	memcpy(a->data + a->len, d, n);
	a->len += n;
	a->data[a->len] = '\0';
}

static int client_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = 60};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int client_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int cli_api(struct cli *c, const char *method, const char *path, json_t *body, json_t **out)
{
	*out = NULL;
	int fd = client_connect(c->socket);
	if (fd < 0)
		return 0;
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char *req = NULL;
	/* An SSH session names its administrator: management logs it, and
	 * refuses it once the account is removed. */
	bool named = c->admin && *c->admin && !strpbrk(c->admin, "\r\n");
	int n = asprintf(&req,
			 "%s /api/v1%s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			 "X-Real-IP: %s\r\n%s%s%s\r\n%s",
			 method, path, b ? strlen(b) : 0, c->client ? c->client : "local",
			 named ? "X-Zentrale-Admin: " : "", named ? c->admin : "",
			 named ? "\r\n" : "", b ? b : "");
	free(b);
	if (n < 0 || client_write_all(fd, req, (size_t)n) < 0) {
		free(req);
		close(fd);
		return 0;
	}
	free(req);

	static struct http_msg m; /* large; one request at a time */
	struct answer a = {0};
	http_msg_init(&m, HTTP_RESPONSE, NULL, answer_body, &a);
	m.skip_body = strcmp(method, "HEAD") == 0;
	char buf[16384];
	ssize_t r;
	while (!m.done && (r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || http_msg_feed(&m, buf, (size_t)r) < 0)
			break;
	}
	if (!m.done)
		http_msg_finish(&m);
	close(fd);
	int status = m.done && !a.too_big ? http_msg_status(&m) : 0;
	/* Only a request naming its administrator gets 401 on the local socket:
	 * that account has been removed. */
	if (status == 401 && named)
		c->removed = true;
	if (status && a.data)
		*out = json_loads(a.data, 0, NULL);
	free(a.data);
	return status;
}

int cli_check(int status, json_t *answer)
{
	if (status == 0) {
		fprintf(stderr, "error: the server is not running or not reachable\n");
		return CLI_ERROR;
	}
	if (status >= 400) {
		const char *e = json_string_value(json_object_get(answer, "error"));
		fprintf(stderr, "error: %s\n", e ? e : "the request failed");
		return CLI_ERROR;
	}
	return CLI_OK;
}
