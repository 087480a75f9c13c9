/* GEMM dispatch (OpenBLAS via dlopen, or plain C) and the plain blocked kernel with a register tile. */
#include "gemm.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* cblas_sgemm's ABI (Debian's libopenblas0: 32-bit integers), declared here so no BLAS header is needed. */
enum
{
	CBLAS_ROW_MAJOR = 101,
	CBLAS_NO_TRANS = 111,
	CBLAS_TRANS = 112
};
typedef void (*cblas_sgemm_fn) (int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
								const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*openblas_set_num_threads_fn) (int n);

static pgs_gemm_backend active = PGS_GEMM_AUTO;
static cblas_sgemm_fn openblas_sgemm;
static pthread_once_t openblas_once = PTHREAD_ONCE_INIT;

static void
load_openblas(void)
{
	static const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
	const char *previous = getenv("OPENBLAS_NUM_THREADS");
	char	   *saved = previous ? strdup(previous) : NULL;
	sigset_t	all,
				old;
	void	   *handle = NULL;

	/* One thread: no pool at load; signals blocked in case an already-set environment starts one anyway. */
	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && handle == NULL; i++)
		handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (handle != NULL)
	{
		openblas_set_num_threads_fn set_threads =
			(openblas_set_num_threads_fn) dlsym(handle, "openblas_set_num_threads");

		openblas_sgemm = (cblas_sgemm_fn) dlsym(handle, "cblas_sgemm");
		if (set_threads != NULL)
			set_threads(1);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (saved != NULL)
	{
		setenv("OPENBLAS_NUM_THREADS", saved, 1);
		free(saved);
	}
	else
		unsetenv("OPENBLAS_NUM_THREADS");
	/* Never dlclose: OpenBLAS keeps state (and possibly threads) for the life of the process. */
}

pgs_gemm_backend
pgs_gemm_use(pgs_gemm_backend backend)
{
	if (backend == PGS_GEMM_AUTO && active != PGS_GEMM_AUTO)
		return active;
	if (backend != PGS_GEMM_PLAIN)
	{
		pthread_once(&openblas_once, load_openblas);
		active = openblas_sgemm != NULL ? PGS_GEMM_OPENBLAS : PGS_GEMM_PLAIN;
	}
	else
		active = PGS_GEMM_PLAIN;
	return active;
}

const char *
pgs_gemm_backend_name(pgs_gemm_backend backend)
{
	switch (backend)
	{
		case PGS_GEMM_AUTO:
			return "auto";
		case PGS_GEMM_PLAIN:
			return "plain C";
		case PGS_GEMM_OPENBLAS:
			return "OpenBLAS";
	}
	return "unknown";
}

/*
 * The plain kernel, BLIS-style: C is computed in MR×NR register tiles over packed panels of A (MR rows,
 * k-major, alpha folded in) and B (NR columns, k-major), blocked so that a B block stays in L2 and an A
 * panel in L1. GCC's vector extension gives a 16-float vector; function clones for AVX-512 and AVX2+FMA
 * let one binary run fast on both, and plain SSE2 elsewhere.
 */
#define MR 6
#define NR 16
#define KC 256
#define MC 96
#define NC 256

typedef float vec16 __attribute__((vector_size(64), aligned(4)));

static _Thread_local float pack_a[MC * KC] __attribute__((aligned(64)));
static _Thread_local float pack_b[KC * NC] __attribute__((aligned(64)));

static inline float
element(const float *x, int ld, bool trans, int row, int col)
{
	return trans ? x[(size_t) col * ld + row] : x[(size_t) row * ld + col];
}

/* Pack rows [i0, i0+mb) × k-range [p0, p0+kb) of alpha·op(A) into MR-row panels, zero-padding the last. */
static void
pack_a_block(const float *a, int lda, bool trans, float alpha, int i0, int mb, int p0, int kb)
{
	for (int ip = 0; ip < mb; ip += MR)
	{
		float	   *dst = pack_a + (size_t) ip * kb;

		for (int p = 0; p < kb; p++)
			for (int r = 0; r < MR; r++)
				dst[p * MR + r] = ip + r < mb ? alpha * element(a, lda, trans, i0 + ip + r, p0 + p) : 0.0f;
	}
}

static void
pack_b_block(const float *b, int ldb, bool trans, int p0, int kb, int j0, int nb)
{
	for (int jp = 0; jp < nb; jp += NR)
	{
		float	   *dst = pack_b + (size_t) jp * kb;

		for (int p = 0; p < kb; p++)
		{
			if (!trans && jp + NR <= nb)
				memcpy(dst + p * NR, b + (size_t) (p0 + p) * ldb + j0 + jp, NR * sizeof(float));
			else
				for (int c = 0; c < NR; c++)
					dst[p * NR + c] = jp + c < nb ? element(b, ldb, trans, p0 + p, j0 + jp + c) : 0.0f;
		}
	}
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
static void
micro_kernel(int kb, const float *ap, const float *bp, float *c, int ldc, int mr, int nr)
{
	vec16		acc[MR] = {{0}};

	for (int p = 0; p < kb; p++)
	{
		vec16		bv;

		memcpy(&bv, bp + p * NR, sizeof(bv));
		for (int r = 0; r < MR; r++)
			acc[r] += ap[p * MR + r] * bv;
	}
	for (int r = 0; r < mr; r++)
	{
		float		out[NR];

		memcpy(out, &acc[r], sizeof(out));
		for (int j = 0; j < nr; j++)
			c[(size_t) r * ldc + j] += out[j];
	}
}

static void
plain_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
			const float *b, int ldb, float beta, float *c, int ldc)
{
	for (int i = 0; i < m; i++)
	{
		float	   *row = c + (size_t) i * ldc;

		if (beta == 0.0f)
			memset(row, 0, (size_t) n * sizeof(float));
		else if (beta != 1.0f)
			for (int j = 0; j < n; j++)
				row[j] *= beta;
	}
	if (alpha == 0.0f || k == 0)
		return;
	for (int j0 = 0; j0 < n; j0 += NC)
	{
		int			nb = n - j0 < NC ? n - j0 : NC;

		for (int p0 = 0; p0 < k; p0 += KC)
		{
			int			kb = k - p0 < KC ? k - p0 : KC;

			pack_b_block(b, ldb, trans_b, p0, kb, j0, nb);
			for (int i0 = 0; i0 < m; i0 += MC)
			{
				int			mb = m - i0 < MC ? m - i0 : MC;

				pack_a_block(a, lda, trans_a, alpha, i0, mb, p0, kb);
				for (int jp = 0; jp < nb; jp += NR)
					for (int ip = 0; ip < mb; ip += MR)
						micro_kernel(kb, pack_a + (size_t) ip * kb, pack_b + (size_t) jp * kb,
									 c + (size_t) (i0 + ip) * ldc + j0 + jp, ldc,
									 mb - ip < MR ? mb - ip : MR, nb - jp < NR ? nb - jp : NR);
			}
		}
	}
}

void
pgs_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
		  const float *b, int ldb, float beta, float *c, int ldc)
{
	if (m <= 0 || n <= 0)
		return;
	if (active == PGS_GEMM_AUTO)
		pgs_gemm_use(PGS_GEMM_AUTO);
	if (active == PGS_GEMM_OPENBLAS && k > 0)
	{
		openblas_sgemm(CBLAS_ROW_MAJOR, trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS,
					   trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
		return;
	}
	plain_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
