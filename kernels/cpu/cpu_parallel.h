/* The CPU ops' thread pool: parallel loops over tasks, threads that spin briefly and then sleep. */
#ifndef PGS_CPU_PARALLEL_H
#define PGS_CPU_PARALLEL_H

#include <stddef.h>

/*
 * One pool for the process, created lazily by the first parallel loop (never at load time, so a postmaster
 * that preloads pgscreen starts no threads) with every signal blocked, so PostgreSQL's signals keep going to
 * the backend's own thread. Idle workers spin for a few tens of microseconds, then sleep on a condition
 * variable: back-to-back layers stay fast, and a pool on a busy database server gives its cores back
 * instead of spinning against the backends (what OpenMP's default wait policy does, and why this pool
 * exists). Loops must not nest; a loop started inside a task runs serially.
 */

/* Threads the next loop may use (at least 1), including the calling thread. */
int			pgs_cpu_thread_count(void);

/* Set the count: 0 = one per online core. Workers are started on the next loop that needs them. */
void		pgs_cpu_set_thread_count(int threads);

/* fn(arg, task, worker) for task = 0 … tasks − 1; worker ∈ [0, workers) identifies per-thread scratch. */
typedef void (*pgs_task_fn) (void *arg, int task, int worker);

/* Run the tasks on up to max_workers threads (0 = the thread count), the caller being one of them. */
void		pgs_parallel_for(int tasks, int max_workers, pgs_task_fn fn, void *arg);

/* fn(arg, begin, end) over consecutive ranges covering [0, n), each at least `grain` long (but the last). */
typedef void (*pgs_range_fn) (void *arg, size_t begin, size_t end);
void		pgs_parallel_range(size_t n, size_t grain, pgs_range_fn fn, void *arg);

/* Stop and join the worker threads (tests and tools call this before exiting, for leak checkers). */
void		pgs_cpu_shutdown(void);

#endif
