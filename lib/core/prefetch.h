/* SPDX-License-Identifier: MIT */
/*
 * Prefetch for writing: ask for a line's ownership before the stores that
 * need it.  A producer's stores go to lines the consumer read last, and
 * each store waits, in program order, for the consumer's copy of its line
 * to be invalidated; a write prefetch asks for many lines at once.
 *
 * Only an instruction that asks for ownership helps: a read prefetch
 * brings the line in shared, and the store still waits (measured: slower
 * than none, docs/performance.md).  gcc's __builtin_prefetch(p, 1) is such
 * a read prefetch for the baseline x86-64 target, so x86 issues PREFETCHW
 * itself, where CPUID says the CPU has it.
 */
#ifndef L3L2Q_CORE_PREFETCH_H
#define L3L2Q_CORE_PREFETCH_H

#ifdef __KERNEL__
#include <linux/prefetch.h>

/* prefetchw() is the architecture's own (patched in where it exists). */
static inline int l3l2q__can_prefetch_write(void)
{
	return 1;
}

static inline void l3l2q__prefetch_write(const void *p)
{
	prefetchw(p);
}

#elif defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* PREFETCHW: CPUID 0x80000001, ECX bit 8 (PRFCHW / 3DNowPrefetch). */
static inline int l3l2q__can_prefetch_write(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 8));
}

static inline void l3l2q__prefetch_write(const void *p)
{
	__asm__ __volatile__("prefetchw %0" : : "m"(*(const char *)p));
}

#elif defined(__aarch64__)
/* PRFM PSTL1KEEP: every ARMv8 CPU has it. */
static inline int l3l2q__can_prefetch_write(void)
{
	return 1;
}

static inline void l3l2q__prefetch_write(const void *p)
{
	__builtin_prefetch(p, 1, 3);
}

#else
/* Elsewhere a write prefetch may be a read one: none. */
static inline int l3l2q__can_prefetch_write(void)
{
	return 0;
}

static inline void l3l2q__prefetch_write(const void *p)
{
	(void)p;
}
#endif

#endif /* L3L2Q_CORE_PREFETCH_H */
