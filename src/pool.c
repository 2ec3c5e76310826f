/*
 * pool.c - a minimal thread pool: workers take the next job index under a
 * mutex until none is left.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "pool.h"
#include "util.h"

struct pool {
	pthread_mutex_t lock;
	size_t next;
	size_t n;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
};

/* Worker: run jobs until every index has been taken. */
static void *
pool_worker(void *arg)
{
	struct pool *pl = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&pl->lock);
		i = pl->next++;
		pthread_mutex_unlock(&pl->lock);
		if (i >= pl->n)
			return NULL;
		pl->fn(pl->ctx, i);
	}
}

void
pool_run(size_t n, unsigned max_threads, void (*fn)(void *ctx, size_t i),
         void *ctx)
{
	struct pool pl;
	pthread_t *tids;
	size_t want, started = 0, i;

	pl.next = 0;
	pl.n = n;
	pl.fn = fn;
	pl.ctx = ctx;
	pthread_mutex_init(&pl.lock, NULL);
	want = max_threads > 0 ? max_threads : 1;
	if (want > n)
		want = n;
	tids = xcalloc(want ? want : 1, sizeof(*tids));
	for (i = 0; i + 1 < want; i++)
		if (pthread_create(&tids[started], NULL, pool_worker, &pl) == 0)
			started++;
	pool_worker(&pl); /* the calling thread works too */
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	pthread_mutex_destroy(&pl.lock);
}
