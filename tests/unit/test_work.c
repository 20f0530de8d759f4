/* The worker pool (core_work): jobs run off the loop, results come back to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>
#include <pthread.h>

#include "../../src/core/core_work.h"

struct job {
	pthread_t ran_in; /* worker */
	int ms;		  /* sleeps this long */
	int done;	  /* 1: done, 2: cancelled */
	int *ndone;
	struct event_base *base;
};

static void job_run(void *arg)
{
	struct job *j = arg;
	j->ran_in = pthread_self();
	struct timespec ts = {0, j->ms * 1000000L};
	nanosleep(&ts, NULL);
}

static void job_done(void *arg, bool cancelled)
{
	struct job *j = arg;
	j->done = cancelled ? 2 : 1;
	if (j->ndone && ++*j->ndone == 4)
		event_base_loopbreak(j->base);
}

static void test_jobs_run_in_workers_and_finish_in_the_loop(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct core_work *w = core_work_new(base, 2, 8);
	assert_non_null(w);
	int ndone = 0;
	struct job jobs[4];
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){.ms = 20, .ndone = &ndone, .base = base};
		assert_int_equal(core_work_submit(w, job_run, job_done, &jobs[i]), 0);
	}
	assert_int_equal(core_work_outstanding(w), 4);
	event_base_dispatch(base);
	assert_int_equal(ndone, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(jobs[i].done, 1);
		assert_false(pthread_equal(jobs[i].ran_in, pthread_self()));
	}
	assert_int_equal(core_work_outstanding(w), 0);
	core_work_free(w);
	event_base_free(base);
}

static void test_a_full_queue_refuses(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct core_work *w = core_work_new(base, 1, 3);
	struct job jobs[4] = {{.ms = 50}, {.ms = 1}, {.ms = 1}, {.ms = 1}};
	for (int i = 0; i < 3; i++)
		assert_int_equal(core_work_submit(w, job_run, job_done, &jobs[i]), 0);
	assert_int_equal(core_work_submit(w, job_run, job_done, &jobs[3]), -1);
	assert_int_equal(jobs[3].done, 0);
	/* freed with jobs outstanding: each is handed back once, cancelled */
	core_work_free(w);
	for (int i = 0; i < 3; i++)
		assert_int_equal(jobs[i].done, 2);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_run_in_workers_and_finish_in_the_loop),
		cmocka_unit_test(test_a_full_queue_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
