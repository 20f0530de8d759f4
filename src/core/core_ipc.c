/* core_ipc — see core_ipc.h. */
#include "core_ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core_log.h"

struct ipc_hdr {
	uint32_t type;
	uint32_t id;
};

/* A message that could not be sent at once; fds are dup'ed and owned here. */
struct ipc_pending {
	struct ipc_pending *next;
	size_t len;
	int fds[CORE_IPC_MAX_FDS];
	int nfds;
	unsigned char buf[];
};

struct core_ipc {
	int fd;
	struct event *rd, *wr;
	struct ipc_pending *head, *tail;
	core_ipc_msg_cb on_msg;
	core_ipc_close_cb on_close;
	void *arg;
	int closed;
};

static void ipc_fail(struct core_ipc *ipc)
{
	if (ipc->closed)
		return;
	ipc->closed = 1;
	event_del(ipc->rd);
	event_del(ipc->wr);
	if (ipc->on_close)
		ipc->on_close(ipc, ipc->arg);
}

static int ipc_sendmsg(int fd, const void *buf, size_t len, const int *fds, int nfds)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	union {
		struct cmsghdr hdr;
		char space[CMSG_SPACE(sizeof(int) * CORE_IPC_MAX_FDS)];
	} cm;

	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.space;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

static void ipc_pending_free(struct ipc_pending *p)
{
	for (int i = 0; i < p->nfds; i++)
		close(p->fds[i]);
	free(p);
}

static void ipc_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct core_ipc *ipc = arg;
	(void)what;
	while (ipc->head) {
		struct ipc_pending *p = ipc->head;
		int r = ipc_sendmsg(fd, p->buf, p->len, p->fds, p->nfds);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			ipc_fail(ipc);
			return;
		}
		ipc->head = p->next;
		if (!ipc->head)
			ipc->tail = NULL;
		ipc_pending_free(p);
	}
	event_del(ipc->wr);
}

static void ipc_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct core_ipc *ipc = arg;
	static unsigned char buf[sizeof(struct ipc_hdr) + CORE_IPC_MAX_PAYLOAD + 1];
	union {
		struct cmsghdr hdr;
		char space[CMSG_SPACE(sizeof(int) * CORE_IPC_MAX_FDS)];
	} cm;
	(void)what;

	for (int rounds = 0; rounds < 64 && !ipc->closed; rounds++) {
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cm.space,
				    .msg_controllen = sizeof(cm.space)};
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			ipc_fail(ipc);
			return;
		}
		struct core_ipc_msg msg = {.nfds = 0};
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < k; i++) {
				int f;
				memcpy(&f, CMSG_DATA(c) + sizeof(int) * (size_t)i, sizeof(int));
				if (msg.nfds < CORE_IPC_MAX_FDS)
					msg.fds[msg.nfds++] = f;
				else
					close(f);
			}
		}
		if ((size_t)n < sizeof(struct ipc_hdr) ||
		    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
			log_error("ipc: malformed message (%zd bytes), dropped", n);
			core_ipc_close_fds(&msg);
			continue;
		}
		struct ipc_hdr h;
		memcpy(&h, buf, sizeof(h));
		buf[n] = '\0';
		msg.type = h.type;
		msg.id = h.id;
		msg.data = (const char *)buf + sizeof(h);
		msg.len = (size_t)n - sizeof(h);
		ipc->on_msg(ipc, &msg, ipc->arg);
	}
}

struct core_ipc *core_ipc_new(struct event_base *base, int fd, core_ipc_msg_cb on_msg,
			      core_ipc_close_cb on_close, void *arg)
{
	struct core_ipc *ipc = calloc(1, sizeof(*ipc));
	if (!ipc)
		return NULL;
	evutil_make_socket_nonblocking(fd);
	ipc->fd = fd;
	ipc->on_msg = on_msg;
	ipc->on_close = on_close;
	ipc->arg = arg;
	ipc->rd = event_new(base, fd, EV_READ | EV_PERSIST, ipc_on_read, ipc);
	ipc->wr = event_new(base, fd, EV_WRITE | EV_PERSIST, ipc_on_write, ipc);
	if (!ipc->rd || !ipc->wr) {
		core_ipc_free(ipc);
		return NULL;
	}
	event_add(ipc->rd, NULL);
	return ipc;
}

void core_ipc_free(struct core_ipc *ipc)
{
	if (!ipc)
		return;
	if (ipc->rd)
		event_free(ipc->rd);
	if (ipc->wr)
		event_free(ipc->wr);
	while (ipc->head) {
		struct ipc_pending *p = ipc->head;
		ipc->head = p->next;
		ipc_pending_free(p);
	}
	close(ipc->fd);
	free(ipc);
}

int core_ipc_send(struct core_ipc *ipc, uint32_t type, uint32_t id, const void *data, size_t len,
		  const int *fds, int nfds)
{
	if (ipc->closed)
		return -EPIPE;
	if (len > CORE_IPC_MAX_PAYLOAD || nfds > CORE_IPC_MAX_FDS || nfds < 0)
		return -EMSGSIZE;
	struct ipc_pending *p = malloc(sizeof(*p) + sizeof(struct ipc_hdr) + len);
	if (!p)
		return -ENOMEM;
	struct ipc_hdr h = {.type = type, .id = id};
	memcpy(p->buf, &h, sizeof(h));
	if (len)
		memcpy(p->buf + sizeof(h), data, len);
	p->len = sizeof(h) + len;
	p->next = NULL;
	p->nfds = 0;

	if (!ipc->head) {
		int r = ipc_sendmsg(ipc->fd, p->buf, p->len, fds, nfds);
		if (r != -EAGAIN) {
			free(p);
			return r;
		}
	}
	/* Queue behind earlier messages, keeping our own copies of the fds. */
	for (int i = 0; i < nfds; i++) {
		p->fds[i] = dup(fds[i]);
		if (p->fds[i] < 0) {
			ipc_pending_free(p);
			return -errno;
		}
		p->nfds++;
	}
	if (ipc->tail)
		ipc->tail->next = p;
	else
		ipc->head = p;
	ipc->tail = p;
	event_add(ipc->wr, NULL);
	return 0;
}

int core_ipc_send_json(struct core_ipc *ipc, uint32_t type, uint32_t id, const json_t *obj,
		       const int *fds, int nfds)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	if (!s)
		return -ENOMEM;
	int r = core_ipc_send(ipc, type, id, s, strlen(s), fds, nfds);
	free(s);
	return r;
}

json_t *core_ipc_json(const struct core_ipc_msg *msg)
{
	json_t *o = json_loadb(msg->data, msg->len, 0, NULL);
	if (o && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void core_ipc_close_fds(struct core_ipc_msg *msg)
{
	for (int i = 0; i < msg->nfds; i++)
		close(msg->fds[i]);
	msg->nfds = 0;
}
