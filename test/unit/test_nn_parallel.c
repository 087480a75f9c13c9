/* The CPU ops' thread pool: every task runs once, worker numbers stay in range, counts change, shutdown. */
#include "../../kernels/cpu/cpu_parallel.h"
#include "unit.h"

#include <stdatomic.h>

typedef struct counting
{
	atomic_int	runs[4096];
	atomic_int	bad_worker;
	int			workers;
} counting;

static void
count_task(void *arg, int task, int worker)
{
	counting   *c = arg;

	atomic_fetch_add(&c->runs[task], 1);
	if (worker < 0 || worker >= c->workers)
		atomic_fetch_add(&c->bad_worker, 1);
}

static void
test_every_task_once_with_changing_counts(void)
{
	static counting c;
	int			failures = 0;

	for (int round = 0; round < 1000; round++)
	{
		int			threads = 1 + round % 5;
		int			max_workers = round % 3;	/* 0 = all, else a cap as a workspace imposes */
		int			tasks = 1 + (round * 37) % 700;

		pgs_cpu_set_thread_count(threads);
		memset(&c, 0, sizeof(c));
		c.workers = max_workers > 0 && max_workers < threads ? max_workers : threads;
		pgs_parallel_for(tasks, max_workers, count_task, &c);
		for (int t = 0; t < tasks; t++)
			failures += atomic_load(&c.runs[t]) != 1;
		failures += atomic_load(&c.bad_worker) != 0;
	}
	CHECKF(failures == 0, "%d failures", failures);
	pgs_cpu_set_thread_count(0);
}

typedef struct nested
{
	atomic_int	inner_runs;
} nested;

static void
inner_task(void *arg, int task, int worker)
{
	atomic_fetch_add(&((nested *) arg)->inner_runs, 1);
}

/* A loop inside a task runs serially in that task (no deadlock, no oversubscription). */
static void
outer_task(void *arg, int task, int worker)
{
	pgs_parallel_for(10, 0, inner_task, arg);
}

static void
test_nested_loops_run_serially(void)
{
	nested		n = {0};

	pgs_cpu_set_thread_count(3);
	pgs_parallel_for(20, 0, outer_task, &n);
	CHECK(atomic_load(&n.inner_runs) == 200);
}

typedef struct summing
{
	const double *x;
	double		sums[64];
} summing;

static void
sum_range(void *arg, size_t begin, size_t end)
{
	summing    *s = arg;
	double		acc = 0;

	for (size_t i = begin; i < end; i++)
		acc += s->x[i];
	s->sums[begin / 1000] = acc;
}

static void
test_ranges_cover_everything(void)
{
	double		x[64000];
	summing		s = {x, {0}};
	double		total = 0;

	for (int i = 0; i < 64000; i++)
		x[i] = i;
	pgs_cpu_set_thread_count(64);	/* 4 chunks per thread would be 256 chunks of 250: the grain keeps 1000 */
	pgs_parallel_range(64000, 1000, sum_range, &s);
	for (int i = 0; i < 64; i++)
		total += s.sums[i];
	CHECK(total == 63999.0 * 64000.0 / 2.0);
}

static void
test_shutdown_and_restart(void)
{
	static counting c;

	pgs_cpu_set_thread_count(4);
	pgs_cpu_shutdown();
	memset(&c, 0, sizeof(c));
	c.workers = 4;
	pgs_parallel_for(100, 0, count_task, &c);
	for (int t = 0; t < 100; t++)
		CHECK(atomic_load(&c.runs[t]) == 1);
	pgs_cpu_shutdown();
}

int
main(void)
{
	RUN(test_every_task_once_with_changing_counts);
	RUN(test_nested_loops_run_serially);
	RUN(test_ranges_cover_everything);
	RUN(test_shutdown_and_restart);
	return unit_done();
}
