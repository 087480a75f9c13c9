/* A small thread pool for the CPU ops: an atomic task counter, bounded spinning, then a condition variable. */
#include "cpu_parallel.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#define MAX_THREADS 256
/* About 50 µs of polling before a waiting thread goes to sleep. */
#define SPIN_ROUNDS 20000

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

typedef struct pool_job
{
	pgs_task_fn fn;
	void	   *arg;
	int			tasks;
	int			workers;		/* threads that may take part, the caller included */
} pool_job;

/*
 * Tasks are claimed from one 64-bit word: the job's generation in the high half, the next task in the low
 * half. A worker that wakes late, holding a job that has already finished, sees another generation and
 * claims nothing; the caller therefore waits only for claimed tasks to finish, never for a worker to wake
 * up (on a loaded server a sleeping worker can take milliseconds to be scheduled, and waiting for it in
 * every layer made two threads slower than one).
 */
#define CLAIM(generation, task) (((uint64_t) (generation) << 32) | (uint32_t) (task))

static struct
{
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* a new job (or shutdown) for the workers */
	pthread_cond_t finished;	/* the last participant left the job */
	pthread_t	threads[MAX_THREADS];
	unsigned	first_generation[MAX_THREADS];	/* the generation each worker was started in */
	int			started;		/* worker threads running */
	pool_job	job;
	atomic_uint generation;		/* bumped for every job */
	_Atomic uint64_t claim;		/* CLAIM(generation, next task) */
	atomic_int	done;			/* tasks of the current job finished */
	bool		stop;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .finished = PTHREAD_COND_INITIALIZER};

static int	thread_count = 0;	/* 0 until first use */
static _Thread_local bool inside_task = false;

static int
online_cores(void)
{
	long		n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int) n : 1;
}

void
pgs_cpu_set_thread_count(int threads)
{
	if (threads <= 0)
		threads = online_cores();
	thread_count = threads < MAX_THREADS ? threads : MAX_THREADS;
}

int
pgs_cpu_thread_count(void)
{
	if (thread_count == 0)
		pgs_cpu_set_thread_count(0);
	return thread_count;
}

/* The next task of job `generation`, or −1 when its tasks are all claimed or another job has replaced it. */
static int
claim_task(unsigned generation, int tasks)
{
	uint64_t	current = atomic_load(&pool.claim);

	for (;;)
	{
		if ((unsigned) (current >> 32) != generation || (int) (uint32_t) current >= tasks)
			return -1;
		if (atomic_compare_exchange_weak(&pool.claim, &current, current + 1))
			return (int) (uint32_t) current;
	}
}

/* The thread finishing the last task wakes the caller if it went to sleep. */
static void
finish_task(int tasks)
{
	if (atomic_fetch_add(&pool.done, 1) + 1 == tasks)
	{
		pthread_mutex_lock(&pool.lock);
		pthread_cond_broadcast(&pool.finished);
		pthread_mutex_unlock(&pool.lock);
	}
}

static void
run_tasks(const pool_job *job, unsigned generation, int worker)
{
	int			task;

	inside_task = true;
	while ((task = claim_task(generation, job->tasks)) >= 0)
	{
		job->fn(job->arg, task, worker);
		finish_task(job->tasks);
	}
	inside_task = false;
}

static void *
worker_main(void *arg)
{
	int			worker = (int) (long) arg;

	/*
	 * Not the current generation: the job this worker was started for may already be posted by the time
	 * the thread runs, and it must take part in it.
	 */
	unsigned	seen = pool.first_generation[worker - 1];

	for (;;)
	{
		pool_job	job;
		bool		stop;

		for (int spin = 0; spin < SPIN_ROUNDS && atomic_load(&pool.generation) == seen; spin++)
			cpu_relax();
		/*
		 * The job is read under the lock the caller posts it with, so it matches the generation read with it
		 * (a worker that sits a job out could otherwise read one half-overwritten by the next).
		 */
		pthread_mutex_lock(&pool.lock);
		while (!pool.stop && atomic_load(&pool.generation) == seen)
			pthread_cond_wait(&pool.wake, &pool.lock);
		stop = pool.stop;
		seen = atomic_load(&pool.generation);
		job = pool.job;
		pthread_mutex_unlock(&pool.lock);
		if (stop)
			return NULL;
		if (worker < job.workers)
			run_tasks(&job, seen, worker);
	}
}

/* Start workers up to `count` (with every signal blocked: they inherit the mask); returns how many of them run. */
static int
ensure_workers(int count)
{
	sigset_t	all,
				old;

	if (pool.started >= count)
		return count;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	while (pool.started < count)
	{
		pool.first_generation[pool.started] = atomic_load(&pool.generation);
		if (pthread_create(&pool.threads[pool.started], NULL, worker_main, (void *) (long) (pool.started + 1)) != 0)
			break;
		pool.started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pool.started;
}

void
pgs_parallel_for(int tasks, int max_workers, pgs_task_fn fn, void *arg)
{
	int			workers = pgs_cpu_thread_count();
	unsigned	generation;

	if (max_workers > 0 && max_workers < workers)
		workers = max_workers;
	if (workers > tasks)
		workers = tasks;
	if (workers > 1 && !inside_task)
		workers = 1 + ensure_workers(workers - 1);
	if (workers <= 1 || inside_task)
	{
		for (int t = 0; t < tasks; t++)
			fn(arg, t, 0);
		return;
	}
	pthread_mutex_lock(&pool.lock);
	pool.job = (pool_job) {fn, arg, tasks, workers};
	atomic_store(&pool.done, 0);
	generation = atomic_load(&pool.generation) + 1;
	atomic_store(&pool.claim, CLAIM(generation, 0));
	atomic_store(&pool.generation, generation);
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);

	run_tasks(&pool.job, generation, 0);
	/* Every task is claimed now; wait for those still running on other threads. */
	for (int spin = 0; spin < SPIN_ROUNDS && atomic_load(&pool.done) < tasks; spin++)
		cpu_relax();
	if (atomic_load(&pool.done) < tasks)
	{
		pthread_mutex_lock(&pool.lock);
		while (atomic_load(&pool.done) < tasks)
			pthread_cond_wait(&pool.finished, &pool.lock);
		pthread_mutex_unlock(&pool.lock);
	}
}

typedef struct range_job
{
	size_t		n;
	size_t		chunk;
	pgs_range_fn fn;
	void	   *arg;
} range_job;

static void
range_task(void *arg, int task, int worker)
{
	range_job  *r = arg;
	size_t		begin = (size_t) task * r->chunk;
	size_t		end = begin + r->chunk < r->n ? begin + r->chunk : r->n;

	r->fn(r->arg, begin, end);
}

void
pgs_parallel_range(size_t n, size_t grain, pgs_range_fn fn, void *arg)
{
	/* Four chunks per thread balance uneven progress; fewer when the work is small. */
	size_t		want = (size_t) pgs_cpu_thread_count() * 4;
	range_job	r = {n, (n + want - 1) / want, fn, arg};

	if (n == 0)
		return;
	if (r.chunk < grain)
		r.chunk = grain;
	pgs_parallel_for((int) ((n + r.chunk - 1) / r.chunk), 0, range_task, &r);
}

void
pgs_cpu_shutdown(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.stop = true;
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	for (int i = 0; i < pool.started; i++)
		pthread_join(pool.threads[i], NULL);
	pool.started = 0;
	pool.stop = false;
}
