/* Shape and descriptor checks for the layer ops: bad shapes are errors, never out-of-bounds accesses. */
#include "layer_shapes.h"

#include <limits.h>

pgs_status
pgs_check_shape4(const pgs_shape4 *s, const char *what, pgs_error *err)
{
	if (s->layout != PGS_LAYOUT_NCHW)
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "%s: only the NCHW layout is implemented", what);
	if (s->n < 1 || s->c < 1 || s->h < 1 || s->w < 1 ||
		s->n > PGS_MAX_DIM || s->c > PGS_MAX_DIM || s->h > PGS_MAX_DIM || s->w > PGS_MAX_DIM)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s: invalid shape (%d, %d, %d, %d)", what,
						s->n, s->c, s->h, s->w);
	/* Per-image planes are indexed with int inside the ops. */
	if ((int64_t) s->c * s->h * s->w > INT_MAX)
		return pgs_fail(err, PGS_ERR_LIMIT, "%s: %d×%d×%d elements per image is too many", what, s->c, s->h,
						s->w);
	return PGS_OK;
}

static pgs_status
check_window(const char *what, int in_h, int in_w, int kh, int kw, int sh, int sw, int ph, int pw,
			 pgs_error *err)
{
	if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0 || kh > 4096 || kw > 4096 ||
		sh > 4096 || sw > 4096 || ph > 4096 || pw > 4096)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"%s: invalid window (kernel %d×%d, stride %d×%d, padding %d×%d)", what, kh, kw, sh, sw,
						ph, pw);
	if (pgs_window_output_size(in_h, kh, sh, ph) < 1 || pgs_window_output_size(in_w, kw, sw, pw) < 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s: a %d×%d window does not fit a padded %d×%d input",
						what, kh, kw, in_h + 2 * ph, in_w + 2 * pw);
	return PGS_OK;
}

pgs_status
pgs_check_conv_desc(const pgs_conv_desc *d, pgs_error *err)
{
	pgs_status	st;
	pgs_shape4	y;

	if ((st = pgs_check_shape4(&d->x, "convolution input", err)) != PGS_OK)
		return st;
	if (d->c_out < 1 || d->c_out > PGS_MAX_DIM)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "convolution: invalid number of filters %d", d->c_out);
	if ((st = check_window("convolution", d->x.h, d->x.w, d->kernel_h, d->kernel_w, d->stride_h, d->stride_w,
						   d->pad_h, d->pad_w, err)) != PGS_OK)
		return st;
	if ((int64_t) d->x.c * d->kernel_h * d->kernel_w > INT_MAX / 64)
		return pgs_fail(err, PGS_ERR_LIMIT, "convolution: filters of %d×%d×%d are too large", d->x.c,
						d->kernel_h, d->kernel_w);
	y = pgs_conv_output_shape(d);
	return pgs_check_shape4(&y, "convolution output", err);
}

pgs_status
pgs_check_pool_desc(const pgs_pool_desc *d, pgs_error *err)
{
	pgs_status	st;

	if ((st = pgs_check_shape4(&d->x, "pooling input", err)) != PGS_OK)
		return st;
	if (d->mode != PGS_POOL_MAX && d->mode != PGS_POOL_AVG_INCLUDE_PAD && d->mode != PGS_POOL_AVG_EXCLUDE_PAD)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "pooling: unknown mode %d", (int) d->mode);
	if ((st = check_window("pooling", d->x.h, d->x.w, d->kernel_h, d->kernel_w, d->stride_h, d->stride_w,
						   d->pad_h, d->pad_w, err)) != PGS_OK)
		return st;
	/* PyTorch's rule: padding at most half the window, so every window holds at least one input element. */
	if (2 * d->pad_h > d->kernel_h || 2 * d->pad_w > d->kernel_w)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "pooling: padding %d×%d exceeds half the %d×%d window",
						d->pad_h, d->pad_w, d->kernel_h, d->kernel_w);
	return PGS_OK;
}

pgs_status
pgs_check_bn_desc(const pgs_bn_desc *d, pgs_error *err)
{
	pgs_status	st;

	if ((st = pgs_check_shape4(&d->x, "batch normalization input", err)) != PGS_OK)
		return st;
	if (!(d->eps > 0.0f) || !(d->momentum >= 0.0f && d->momentum <= 1.0f))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "batch normalization: invalid eps %g or momentum %g",
						(double) d->eps, (double) d->momentum);
	return PGS_OK;
}

pgs_status
pgs_check_concat(int n_parts, const pgs_shape4 *parts, pgs_error *err)
{
	int64_t		channels = 0;
	pgs_status	st;

	if (n_parts < 1 || n_parts > PGS_CONCAT_MAX_PARTS)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "concatenation of %d tensors (1 to %d are allowed)",
						n_parts, PGS_CONCAT_MAX_PARTS);
	for (int i = 0; i < n_parts; i++)
	{
		if ((st = pgs_check_shape4(&parts[i], "concatenation input", err)) != PGS_OK)
			return st;
		if (parts[i].n != parts[0].n || parts[i].h != parts[0].h || parts[i].w != parts[0].w ||
			parts[i].layout != parts[0].layout)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
							"concatenation inputs differ in batch or spatial size ((%d, %d, %d) and (%d, %d, %d))",
							parts[0].n, parts[0].h, parts[0].w, parts[i].n, parts[i].h, parts[i].w);
		channels += parts[i].c;
	}
	if (channels > PGS_MAX_DIM)
		return pgs_fail(err, PGS_ERR_LIMIT, "concatenation has too many channels");
	return PGS_OK;
}

pgs_shape4
pgs_conv_output_shape(const pgs_conv_desc *d)
{
	pgs_shape4	y = {d->x.n, d->c_out, pgs_window_output_size(d->x.h, d->kernel_h, d->stride_h, d->pad_h),
	pgs_window_output_size(d->x.w, d->kernel_w, d->stride_w, d->pad_w), d->x.layout};

	return y;
}

pgs_shape4
pgs_pool_output_shape(const pgs_pool_desc *d)
{
	pgs_shape4	y = {d->x.n, d->x.c, pgs_window_output_size(d->x.h, d->kernel_h, d->stride_h, d->pad_h),
	pgs_window_output_size(d->x.w, d->kernel_w, d->stride_w, d->pad_w), d->x.layout};

	return y;
}
