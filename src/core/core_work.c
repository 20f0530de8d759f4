/* core_work — see core_work.h. */
#include "core_work.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#define WORK_MAX_THREADS 16

struct work_job {
	TAILQ_ENTRY(work_job) link;
	core_work_run_fn run;
	core_work_done_fn done;
	void *arg;
};
TAILQ_HEAD(work_list, work_job);

struct core_work {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct work_list todo; /* under lock */
	struct work_list done; /* under lock */
	bool stopping;	       /* under lock */
	int outstanding;       /* loop thread only */
	int max_jobs;
	int nthreads;
	pthread_t threads[WORK_MAX_THREADS];
	int efd;
	struct event *ev;
};

static void *work_thread(void *arg)
{
	struct core_work *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stopping && TAILQ_EMPTY(&w->todo))
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stopping)
			break;
		struct work_job *j = TAILQ_FIRST(&w->todo);
		TAILQ_REMOVE(&w->todo, j, link);
		pthread_mutex_unlock(&w->lock);
		j->run(j->arg);
		pthread_mutex_lock(&w->lock);
		TAILQ_INSERT_TAIL(&w->done, j, link);
		uint64_t one = 1;
		ssize_t n = write(w->efd, &one, sizeof(one));
		(void)n; /* a full counter still wakes the loop */
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* In the loop thread: every finished job's done(). */
static void work_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct core_work *w = arg;
	(void)what;
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));
	(void)n;
	struct work_list ready = TAILQ_HEAD_INITIALIZER(ready);
	pthread_mutex_lock(&w->lock);
	TAILQ_CONCAT(&ready, &w->done, link);
	pthread_mutex_unlock(&w->lock);
	struct work_job *j;
	while ((j = TAILQ_FIRST(&ready))) {
		TAILQ_REMOVE(&ready, j, link);
		w->outstanding--;
		j->done(j->arg, false);
		free(j);
	}
}

struct core_work *core_work_new(struct event_base *base, int threads, int max_jobs)
{
	if (threads < 1 || threads > WORK_MAX_THREADS || max_jobs < 1)
		return NULL;
	struct core_work *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	TAILQ_INIT(&w->todo);
	TAILQ_INIT(&w->done);
	w->max_jobs = max_jobs;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->ev = w->efd >= 0 ? event_new(base, w->efd, EV_READ | EV_PERSIST, work_on_wake, w) : NULL;
	if (!w->ev || event_add(w->ev, NULL) < 0 || pthread_mutex_init(&w->lock, NULL) != 0) {
		if (w->ev)
			event_free(w->ev);
		if (w->efd >= 0)
			close(w->efd);
		free(w);
		return NULL;
	}
	pthread_cond_init(&w->wake, NULL);
	/* Signals stay with the loop thread (libevent's handlers). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&w->threads[w->nthreads], NULL, work_thread, w) == 0)
			w->nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (w->nthreads == 0) {
		core_work_free(w);
		return NULL;
	}
	return w;
}

int core_work_submit(struct core_work *w, core_work_run_fn run, core_work_done_fn done, void *arg)
{
	if (w->outstanding >= w->max_jobs)
		return -1;
	struct work_job *j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	j->run = run;
	j->done = done;
	j->arg = arg;
	w->outstanding++;
	pthread_mutex_lock(&w->lock);
	TAILQ_INSERT_TAIL(&w->todo, j, link);
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int core_work_outstanding(const struct core_work *w)
{
	return w->outstanding;
}

static void work_cancel(struct work_list *l)
{
	struct work_job *j;
	while ((j = TAILQ_FIRST(l))) {
		TAILQ_REMOVE(l, j, link);
		j->done(j->arg, true);
		free(j);
	}
}

void core_work_free(struct core_work *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	work_cancel(&w->todo);
	work_cancel(&w->done);
	event_free(w->ev);
	close(w->efd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
