/*
 * core_work — a small pool of worker threads for slow work that needs no
 * event loop (argon2id hashing, writing a backup archive), so that no
 * event loop ever waits for it.
 *
 * A job's run() executes in a worker thread and touches only what its arg
 * owns: never a SQLite handle, an httpd request or an event. Its done()
 * runs afterwards in the loop thread (the pool wakes the loop through an
 * eventfd), which alone touches the rest; a request answered there is
 * found again by its id (core_httpd_find), as for any late answer.
 *
 * Bounded: at most max_jobs jobs are outstanding (queued, running, or
 * finished and not yet done); beyond that core_work_submit refuses and the
 * caller answers 503. Memory: arg belongs to the caller and is handed to
 * done() exactly once; with cancelled = true (the pool is being freed, or
 * the job never ran) done() must only free it.
 */
#ifndef CORE_WORK_H
#define CORE_WORK_H

#include <stdbool.h>

#include <event2/event.h>

struct core_work;
typedef void (*core_work_run_fn)(void *arg);
typedef void (*core_work_done_fn)(void *arg, bool cancelled);

/* threads: 1 to 16; max_jobs: at least 1. NULL on failure. */
struct core_work *core_work_new(struct event_base *base, int threads, int max_jobs);
/* 0, or -1 if the queue is full (nothing is kept: arg stays the caller's). */
int core_work_submit(struct core_work *w, core_work_run_fn run, core_work_done_fn done, void *arg);
/* Outstanding jobs now. */
int core_work_outstanding(const struct core_work *w);
/* Waits for the jobs running now, then hands every outstanding arg to its
 * done() with cancelled = true. */
void core_work_free(struct core_work *w);

#endif
