// SPDX-License-Identifier: GPL-2.0
/*
 * copy_bench: how fast this CPU (or emulator) runs the copy loops the
 * kernel picks between: "rep movsb" (copy_mc_to_kernel() with ERMS, and
 * memcpy() with FSRM), "rep movsq" and a plain word loop (memcpy()'s
 * fallback, exchange's in-place swap). 2 MiB copies, in MiB/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void movsb(void *d, const void *s, size_t n)
{
	asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

static void movsq(void *d, const void *s, size_t n)
{
	n /= 8;
	asm volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

static void words(void *d, const void *s, size_t n)
{
	volatile unsigned long *a = d;
	const unsigned long *b = s;
	size_t i;

	for (i = 0; i < n / 8; i++)
		a[i] = b[i];
}

int main(void)
{
	static void (*const copy[])(void *, const void *, size_t) = {
		movsb, movsq, words,
	};
	static const char * const name[] = {
		"rep movsb", "rep movsq", "word loop",
	};
	size_t len = 2UL << 20, i;
	char *a = malloc(len), *b = malloc(len);
	int rounds = 200, r;

	if (!a || !b)
		return 1;
	memset(a, 1, len);
	memset(b, 2, len);
	for (i = 0; i < sizeof(copy) / sizeof(copy[0]); i++) {
		double t = now();

		for (r = 0; r < rounds; r++)
			copy[i](a, b, len);
		t = now() - t;
		printf("%-10s %9.1f MiB/s\n", name[i], rounds * 2.0 / t);
	}
	return 0;
}
