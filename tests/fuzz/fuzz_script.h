/* SPDX-License-Identifier: MIT */
/*
 * fuzz_script.h - what every harness of tests/fuzz/ shares: reading its
 * input as a script of bytes (0 once it ends), and failing an invariant
 * loudly enough for libFuzzer to keep the input.
 */
#ifndef L3L2Q_FUZZ_SCRIPT_H
#define L3L2Q_FUZZ_SCRIPT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct fz_in {
	const uint8_t *p;
	size_t n, i;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
	return in->i < in->n ? in->p[in->i++] : 0;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	return (uint16_t)(fz_u8(in) | fz_u8(in) << 8);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	return (uint32_t)fz_u16(in) | (uint32_t)fz_u16(in) << 16;
}

__attribute__((noreturn, format(printf, 1, 2)))
static inline void fz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

#endif /* L3L2Q_FUZZ_SCRIPT_H */
