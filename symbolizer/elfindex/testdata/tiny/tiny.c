/* A freestanding program small enough to fuzz: two functions, an inlined
   helper, a loop and a call, no C library. See README.md. */
static inline int sq(int x) { return x * x; }

__attribute__((noinline)) int sum_squares(int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += sq(i);
	return s;
}

__attribute__((noinline)) int twice(int v) { return 2 * sum_squares(v) + 1; }

void _start(void)
{
	volatile int r = twice(7);
	(void)r;
	for (;;)
		;
}
