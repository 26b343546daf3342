/* The main unit: recursion, function pointers, inlined helpers from
   shapes.h, and a noinline function that keeps its own frame. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shapes.h"

struct op {
	const char *name;
	long (*fn)(long, long);
};

static long add(long a, long b) { return a + b; }
static long mul(long a, long b) { return a * b; }

static long sub(long a, long b)
{
	if (b > a)
		return -(b - a);
	return a - b;
}

static const struct op ops[] = {{"add", add}, {"mul", mul}, {"sub", sub}};

__attribute__((noinline)) static long apply(const char *name, long a, long b)
{
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(ops[i].name, name) == 0)
			return ops[i].fn(a, b);
	fprintf(stderr, "unknown op %s\n", name);
	exit(2);
}

static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static inline double nearest(const struct point *p, size_t n, struct point q)
{
	double best = -1;
	for (size_t i = 0; i < n; i++) {
		double d = dist2(p[i], q);
		if (best < 0 || d < best)
			best = d;
	}
	return best;
}

__attribute__((noinline)) double scan(int count)
{
	struct point *pts = malloc(sizeof *pts * (size_t)count);
	for (int i = 0; i < count; i++) {
		pts[i].x = i * 1.5;
		pts[i].y = clamp(i * 7 % 13, 2, 10);
	}
	double area = polygon_area(pts, (size_t)count);
	double near = nearest(pts, (size_t)count, (struct point){3, 4});
	free(pts);
	return area + near;
}

int main(int argc, char **argv)
{
	int v[64];
	for (int i = 0; i < 64; i++)
		v[i] = (i * 37 + argc) % 101;
	sort_ints(v, 64);
	long r = apply(argc > 1 ? argv[1] : "add", v[3], v[60]);
	r += fib(argc + 15);
	r += classify(argc + 2);
	printf("%ld %.2f %u\n", r, scan(40 + argc), checksum(argc > 2 ? argv[2] : "x"));
	return 0;
}
