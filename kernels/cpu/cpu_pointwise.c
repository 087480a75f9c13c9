/* CPU element-wise ops: memory helpers, ReLU, dropout, concatenation, the two losses, sums of squares. */
#include "cpu_layers.h"
#include "cpu_parallel.h"
#include "../device/layer_shapes.h"
#include "../device/nn_math.h"

#include <math.h>
#include <string.h>

/* Below this many elements a loop is not worth waking the pool for. */
#define PARALLEL_MIN 32768

pgs_status
pgs_cpu_configure(void *ctx, const pgs_device_options *options, pgs_error *err)
{
	if (options->cpu_threads < 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "cpu_threads must be 0 (all cores) or positive, not %d",
						options->cpu_threads);
	pgs_cpu_set_thread_count(options->cpu_threads);
	return PGS_OK;
}

pgs_status
pgs_cpu_zero(void *ctx, void *ptr, size_t bytes, pgs_error *err)
{
	if (bytes > 0)
		memset(ptr, 0, bytes);
	return PGS_OK;
}

pgs_status
pgs_cpu_fill(void *ctx, size_t n, float value, float *x, pgs_error *err)
{
	for (size_t i = 0; i < n; i++)
		x[i] = value;
	return PGS_OK;
}

pgs_status
pgs_cpu_copy(void *ctx, void *dst, const void *src, size_t bytes, pgs_error *err)
{
	if (bytes > 0 && dst != src)
		memmove(dst, src, bytes);
	return PGS_OK;
}

/* Arguments of the element-wise loops: each range function reads what it needs. */
typedef struct pointwise_job
{
	const float *x;
	const float *dy;
	float	   *y;
	float	   *dx;
	float		p;
	float		scale;
	uint64_t	seed;
	size_t		n;
	double	   *partials;
	size_t		chunk;
	int			n_parts;
	const pgs_shape4 *parts;
	const float *const *inputs;
	float	   *const *grads;
	size_t		image;			/* concat: floats per image of the output */
} pointwise_job;

#define SUM_CHUNKS 64

static void
sum_squares_chunk(void *arg, int c, int worker)
{
	const pointwise_job *j = arg;
	size_t		begin = (size_t) c * j->chunk;
	size_t		end = begin + j->chunk < j->n ? begin + j->chunk : j->n;
	double		s = 0.0;

	for (size_t i = begin; i < end; i++)
		s += (double) j->x[i] * j->x[i];
	j->partials[c] = s;
}

/* Fixed chunks summed in chunk order, so the result does not depend on the number of threads. */
pgs_status
pgs_cpu_sum_squares(void *ctx, size_t n, const float *x, double *result, pgs_error *err)
{
	double		partials[SUM_CHUNKS] = {0};
	pointwise_job job = {.x = x, .n = n, .partials = partials, .chunk = (n + SUM_CHUNKS - 1) / SUM_CHUNKS};

	*result = 0.0;
	if (n == 0)
		return PGS_OK;
	pgs_parallel_for(SUM_CHUNKS, n > PARALLEL_MIN ? 0 : 1, sum_squares_chunk, &job);
	for (int c = 0; c < SUM_CHUNKS; c++)
		*result += partials[c];
	return PGS_OK;
}

/* Range bodies copy their pointers into restrict locals: the stores then cannot alias the job, and loops vectorise. */
static void
relu_range(void *arg, size_t begin, size_t end)
{
	const pointwise_job *j = arg;
	const float *restrict x = j->x;
	float	   *restrict y = j->y;

	for (size_t i = begin; i < end; i++)
		y[i] = pgs_relu(x[i]);
}

pgs_status
pgs_cpu_relu_forward(void *ctx, size_t n, const float *x, float *y, pgs_error *err)
{
	pointwise_job job = {.x = x, .y = y};

	pgs_parallel_range(n, PARALLEL_MIN, relu_range, &job);
	return PGS_OK;
}

static void
relu_backward_range(void *arg, size_t begin, size_t end)
{
	const pointwise_job *j = arg;
	const float *restrict y = j->y;
	const float *restrict dy = j->dy;
	float	   *restrict dx = j->dx;

	for (size_t i = begin; i < end; i++)
	{
		float		g = dy[i];		/* loaded unconditionally, so the select needs no branch */

		dx[i] += y[i] > 0.0f ? g : 0.0f;
	}
}

pgs_status
pgs_cpu_relu_backward(void *ctx, size_t n, const float *y, const float *dy, float *dx, pgs_error *err)
{
	pointwise_job job = {.y = (float *) y, .dy = dy, .dx = dx};

	pgs_parallel_range(n, PARALLEL_MIN, relu_backward_range, &job);
	return PGS_OK;
}

static pgs_status
check_dropout(float p, pgs_error *err)
{
	if (!(p >= 0.0f && p < 1.0f))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "dropout probability %g is not in [0, 1)", (double) p);
	return PGS_OK;
}

static void
dropout_range(void *arg, size_t begin, size_t end)
{
	const pointwise_job *j = arg;
	const float *restrict x = j->x;
	float	   *restrict y = j->y;

	for (size_t i = begin; i < end; i++)
		y[i] = pgs_dropout_keep(j->seed, i, j->p) ? x[i] * j->scale : 0.0f;
}

pgs_status
pgs_cpu_dropout_forward(void *ctx, size_t n, float p, uint64_t seed, const float *x, float *y, pgs_error *err)
{
	pointwise_job job = {.x = x, .y = y, .p = p, .scale = 1.0f / (1.0f - p), .seed = seed};
	pgs_status	st;

	if ((st = check_dropout(p, err)) != PGS_OK)
		return st;
	pgs_parallel_range(n, PARALLEL_MIN, dropout_range, &job);
	return PGS_OK;
}

static void
dropout_backward_range(void *arg, size_t begin, size_t end)
{
	const pointwise_job *j = arg;
	const float *restrict dy = j->dy;
	float	   *restrict dx = j->dx;

	for (size_t i = begin; i < end; i++)
		dx[i] += pgs_dropout_keep(j->seed, i, j->p) ? dy[i] * j->scale : 0.0f;
}

pgs_status
pgs_cpu_dropout_backward(void *ctx, size_t n, float p, uint64_t seed, const float *dy, float *dx,
						 pgs_error *err)
{
	pointwise_job job = {.dy = dy, .dx = dx, .p = p, .scale = 1.0f / (1.0f - p), .seed = seed};
	pgs_status	st;

	if ((st = check_dropout(p, err)) != PGS_OK)
		return st;
	pgs_parallel_range(n, PARALLEL_MIN, dropout_backward_range, &job);
	return PGS_OK;
}

/* In NCHW each image's channels are contiguous, so part i of image n is one block of c_i·H·W floats. */
static void
concat_image(void *arg, int n, int worker)
{
	const pointwise_job *j = arg;
	size_t		plane = (size_t) j->parts[0].h * j->parts[0].w;
	float	   *out = j->y + (size_t) n * j->image;

	for (int i = 0; i < j->n_parts; i++)
	{
		size_t		block = (size_t) j->parts[i].c * plane;

		memcpy(out, j->inputs[i] + (size_t) n * block, block * sizeof(float));
		out += block;
	}
}

static size_t
concat_image_size(int n_parts, const pgs_shape4 *parts)
{
	size_t		image = 0;

	for (int i = 0; i < n_parts; i++)
		image += (size_t) parts[i].c * parts[i].h * parts[i].w;
	return image;
}

pgs_status
pgs_cpu_concat_forward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *const *x, float *y,
					   pgs_error *err)
{
	pointwise_job job = {.y = y, .n_parts = n_parts, .parts = parts, .inputs = x};
	pgs_status	st;

	if ((st = pgs_check_concat(n_parts, parts, err)) != PGS_OK)
		return st;
	job.image = concat_image_size(n_parts, parts);
	pgs_parallel_for(parts[0].n, job.image * parts[0].n > PARALLEL_MIN ? 0 : 1, concat_image, &job);
	return PGS_OK;
}

static void
concat_backward_image(void *arg, int n, int worker)
{
	const pointwise_job *j = arg;
	size_t		plane = (size_t) j->parts[0].h * j->parts[0].w;
	const float *in = j->dy + (size_t) n * j->image;

	for (int i = 0; i < j->n_parts; i++)
	{
		size_t		block = (size_t) j->parts[i].c * plane;
		float	   *out = j->grads[i] + (size_t) n * block;

		for (size_t e = 0; e < block; e++)
			out[e] += in[e];
		in += block;
	}
}

pgs_status
pgs_cpu_concat_backward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *dy, float *const *dx,
						pgs_error *err)
{
	pointwise_job job = {.dy = dy, .n_parts = n_parts, .parts = parts, .grads = dx};
	pgs_status	st;

	if ((st = pgs_check_concat(n_parts, parts, err)) != PGS_OK)
		return st;
	job.image = concat_image_size(n_parts, parts);
	pgs_parallel_for(parts[0].n, job.image * parts[0].n > PARALLEL_MIN ? 0 : 1, concat_backward_image, &job);
	return PGS_OK;
}

pgs_status
pgs_cpu_sigmoid_bce(void *ctx, size_t n, const float *logits, const float *targets, float *losses,
					float *dlogits, float grad_scale, pgs_error *err)
{
	for (size_t i = 0; i < n; i++)
	{
		losses[i] = pgs_bce_with_logit(logits[i], targets[i]);
		if (dlogits != NULL)
			dlogits[i] += grad_scale * pgs_bce_with_logit_grad(logits[i], targets[i]);
	}
	return PGS_OK;
}

/* loss = log Σ exp(z) − z[label], computed around the row maximum; ∂/∂z = softmax(z) − onehot(label). */
pgs_status
pgs_cpu_softmax_ce(void *ctx, int n, int k, const float *logits, const int32_t *labels, float *losses,
				   float *dlogits, float grad_scale, pgs_error *err)
{
	if (k < 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "softmax over %d classes", k);
	for (int i = 0; i < n; i++)
		if (labels[i] < 0 || labels[i] >= k)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "class label %d is not in [0, %d)", labels[i], k);
	for (int i = 0; i < n; i++)
	{
		const float *z = logits + (size_t) i * k;
		float		max = z[0];
		double		sum = 0.0;
		float		log_sum;

		for (int j = 1; j < k; j++)
			max = z[j] > max ? z[j] : max;
		for (int j = 0; j < k; j++)
			sum += expf(z[j] - max);
		log_sum = (float) log(sum);
		losses[i] = log_sum - (z[labels[i]] - max);
		if (dlogits != NULL)
			for (int j = 0; j < k; j++)
				dlogits[(size_t) i * k + j] += grad_scale * (expf(z[j] - max - log_sum) - (j == labels[i]));
	}
	return PGS_OK;
}
