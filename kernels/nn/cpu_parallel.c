/* The CPU ops' thread count and the OpenMP pool, grown only with all signals blocked. */
#include "cpu_parallel.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

static int	thread_count = 0;		/* 0 until first use */
static int	pool_size = 1;			/* threads the pool is known to hold */

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
	if (threads > 1024)
		threads = 1024;
	thread_count = threads;
#ifdef _OPENMP
	if (threads > pool_size)
	{
		sigset_t	all,
					old;

		/* New pool threads inherit this mask: only the calling thread ever runs a signal handler. */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
#pragma omp parallel num_threads(threads)
		{
			(void) 0;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pool_size = threads;
	}
#endif
}

int
pgs_cpu_thread_count(void)
{
	if (thread_count == 0)
		pgs_cpu_set_thread_count(0);
	return thread_count;
}

int
pgs_cpu_has_openmp(void)
{
#ifdef _OPENMP
	return 1;
#else
	return 0;
#endif
}
