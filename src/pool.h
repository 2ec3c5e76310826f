/*
 * pool.h - run independent jobs on a bounded number of threads.
 */
#ifndef MTA_STS_SYNC_POOL_H
#define MTA_STS_SYNC_POOL_H

#include <stddef.h>

/*
 * Call fn(ctx, i) once for every i in 0..n-1, on at most max_threads
 * threads at a time (the calling thread is one of them; 0 counts as 1).
 * Jobs are taken in index order; pool_run returns when all are done. If
 * threads cannot be created, the calling thread does all the work.
 */
void pool_run(size_t n, unsigned max_threads, void (*fn)(void *ctx, size_t i),
              void *ctx);

#endif
