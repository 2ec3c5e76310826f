/*
 * heap.h - the heap in use, for the tests that check what a structure
 * keeps (the unit tests and tests/tools/dns-tool).
 */
#ifndef MTA_STS_SYNC_HEAP_H
#define MTA_STS_SYNC_HEAP_H

#include <malloc.h>
#include <stddef.h>

/* The bytes in use on the heap, or 0 where that is not known (not
 * glibc; under a sanitizer, whose allocator glibc does not see). */
static inline size_t
heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
	return mallinfo2().uordblks;
#else
	return 0;
#endif
}

#endif
