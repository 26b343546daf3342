/* Second translation unit: a second compile unit, a static function that is
   inlined, a switch, and an unlikely path gcc moves to a .cold part. */
#include <stdio.h>
#include <stdlib.h>
#include "shapes.h"

static double cross(struct point a, struct point b)
{
	return a.x * b.y - a.y * b.x;
}

double polygon_area(const struct point *p, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++) {
		struct point a = p[i], b = p[(i + 1) % n];
		s += cross(a, b);
		if (dist2(a, b) > 1e12) {
			fprintf(stderr, "edge %zu is too long\n", i);
			abort();
		}
	}
	return s < 0 ? -s / 2 : s / 2;
}

unsigned checksum(const char *s)
{
	unsigned h = 0;
	while (*s)
		h = mix(h, (unsigned char)*s++);
	return h;
}

int classify(int code)
{
	switch (clamp(code, 0, 9)) {
	case 0:
		return 100;
	case 1:
	case 2:
		return 200 + code;
	case 3:
		return checksum("three") & 0xff;
	case 7:
		return (int)polygon_area((struct point[]){{0, 0}, {code, 0}, {0, code}}, 3);
	default:
		return -code;
	}
}

static void swap(int *a, int *b)
{
	int t = *a;
	*a = *b;
	*b = t;
}

static size_t partition(int *v, size_t n)
{
	int pivot = v[n / 2];
	size_t i = 0, j = n - 1;
	for (;;) {
		while (v[i] < pivot)
			i++;
		while (v[j] > pivot)
			j--;
		if (i >= j)
			return j;
		swap(&v[i++], &v[j--]);
	}
}

void sort_ints(int *v, size_t n)
{
	if (n < 2)
		return;
	size_t p = partition(v, n);
	sort_ints(v, p + 1);
	sort_ints(v + p + 1, n - p - 1);
}
