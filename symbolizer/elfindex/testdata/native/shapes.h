/* Helpers that gcc -O2 inlines into their callers, so that inline chains
   cross files: the call sites are in the .c files, the code here. */
#ifndef SHAPES_H
#define SHAPES_H

#include <stddef.h>

struct point {
	double x, y;
};

static inline double sq(double v) { return v * v; }

static inline double dist2(struct point a, struct point b)
{
	return sq(a.x - b.x) + sq(a.y - b.y);
}

static inline int clamp(int v, int lo, int hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

static inline unsigned mix(unsigned h, unsigned v)
{
	h ^= v + 0x9e3779b9u + (h << 6) + (h >> 2);
	return h;
}

double polygon_area(const struct point *p, size_t n);
unsigned checksum(const char *s);
int classify(int code);
void sort_ints(int *v, size_t n);

#endif
