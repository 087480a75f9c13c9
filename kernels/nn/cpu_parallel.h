/* How many threads the CPU ops use, and the OpenMP pool they share (started with signals blocked). */
#ifndef PGS_CPU_PARALLEL_H
#define PGS_CPU_PARALLEL_H

/*
 * The CPU ops parallelise with OpenMP, one pool for the whole process, created lazily by the first op
 * (never at load time, so a postmaster that preloads pgscreen starts no threads) and with every signal
 * blocked, so PostgreSQL's signals keep going to the backend's own thread. Builds without OpenMP run
 * serially.
 */

/* Threads the next op may use (at least 1). */
int			pgs_cpu_thread_count(void);

/* Set the count: 0 = one per online core. Creates the pool threads now if it grows. */
void		pgs_cpu_set_thread_count(int threads);

/* Index of the calling thread inside a parallel region (0 outside, or without OpenMP). */
#ifdef _OPENMP
#include <omp.h>
#define pgs_thread_index() omp_get_thread_num()
#else
#define pgs_thread_index() 0
#endif

/* Whether this build parallelises at all (compiled with OpenMP). */
int			pgs_cpu_has_openmp(void);

#endif
