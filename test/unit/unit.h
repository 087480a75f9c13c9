/* A tiny TAP unit-test harness for kernels/: one TAP test point per test function, failures as diagnostics. */
#ifndef PGS_UNIT_H
#define PGS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	unit_test_number = 0;
static int	unit_failed_tests = 0;
static int	unit_current_failures = 0;

/* Record a failed check with its location; the test function carries on so one run shows every failure. */
#define CHECK(cond) \
	do { if (!(cond)) { unit_current_failures++; \
		printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)

#define CHECKF(cond, ...) \
	do { if (!(cond)) { unit_current_failures++; \
		printf("# %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); printf(__VA_ARGS__); \
		printf("\n"); } } while (0)

/* A call returning pgs_status must succeed; prints the kernel's message when it does not. */
#define CHECK_OK(call, err) \
	do { pgs_status st_ = (call); if (st_ != PGS_OK) { unit_current_failures++; \
		printf("# %s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #call, pgs_strerror(st_), (err)->message); } } while (0)

/* A call must fail with the given status. */
#define CHECK_FAILS(call, expected, err) \
	do { pgs_status st_ = (call); if (st_ != (expected)) { unit_current_failures++; \
		printf("# %s:%d: %s returned \"%s\" (%s), expected \"%s\"\n", __FILE__, __LINE__, #call, \
			   pgs_strerror(st_), (err)->message, pgs_strerror(expected)); } } while (0)

static inline void
unit_run(const char *name, void (*test) (void))
{
	unit_current_failures = 0;
	test();
	unit_test_number++;
	if (unit_current_failures)
		unit_failed_tests++;
	printf("%s %d - %s\n", unit_current_failures ? "not ok" : "ok", unit_test_number, name);
	fflush(stdout);
}

#define RUN(test) unit_run(#test, test)

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_test_number);
	return unit_failed_tests ? 1 : 0;
}

/* Deterministic pseudo-random numbers for test data (xorshift64*). */
static inline unsigned long long
unit_random(unsigned long long *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

#endif
