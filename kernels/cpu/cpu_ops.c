/* The CPU implementation of the ops table: plain, readable C that defines what every op must compute. */
#include "../device/ops.h"
#include "../device/elementwise.h"
#include "cpu_layers.h"
#include "../device/augment.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static pgs_status
cpu_alloc(void *ctx, size_t bytes, void **out, pgs_error *err)
{
	(void) ctx;
	/* 64-byte alignment keeps vectorised loops on whole cache lines. */
	size_t		rounded = (bytes + 63) & ~(size_t) 63;

	*out = aligned_alloc(64, rounded ? rounded : 64);
	if (*out == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate %zu bytes of host memory", bytes);
	return PGS_OK;
}

static void
cpu_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

static pgs_status
cpu_copy(void *ctx, void *dst, const void *src, size_t bytes, pgs_error *err)
{
	(void) ctx;
	(void) err;
	if (bytes > 0)
		memcpy(dst, src, bytes);
	return PGS_OK;
}

static pgs_status
cpu_synchronize(void *ctx, pgs_error *err)
{
	(void) ctx;
	(void) err;
	return PGS_OK;
}

static pgs_status
cpu_axpy(void *ctx, size_t n, float a, const float *x, float *y, pgs_error *err)
{
	(void) ctx;
	(void) err;
	for (size_t i = 0; i < n; i++)
		y[i] = pgs_axpy_element(a, x[i], y[i]);
	return PGS_OK;
}

static const pgs_ops cpu_ops = {
	.version = PGS_OPS_VERSION,
	.kind = PGS_DEVICE_CPU,
	.ordinal = 0,
	.name = "cpu",
	.ctx = NULL,
	.alloc = cpu_alloc,
	.free = cpu_free,
	.upload = cpu_copy,
	.download = cpu_copy,
	.synchronize = cpu_synchronize,
	.axpy = cpu_axpy,
	/* the network engine's ops: kernels/nn is their CPU reference */
	.configure = pgs_cpu_configure,
	.zero = pgs_cpu_zero,
	.fill = pgs_cpu_fill,
	.copy = pgs_cpu_copy,
	.sum_squares = pgs_cpu_sum_squares,
	.conv_workspace = pgs_cpu_conv_workspace,
	.conv_forward = pgs_cpu_conv_forward,
	.conv_backward = pgs_cpu_conv_backward,
	.bn_forward_train = pgs_cpu_bn_forward_train,
	.bn_forward_infer = pgs_cpu_bn_forward_infer,
	.bn_backward = pgs_cpu_bn_backward,
	.relu_forward = pgs_cpu_relu_forward,
	.relu_backward = pgs_cpu_relu_backward,
	.pool_forward = pgs_cpu_pool_forward,
	.pool_backward = pgs_cpu_pool_backward,
	.concat_forward = pgs_cpu_concat_forward,
	.concat_backward = pgs_cpu_concat_backward,
	.dropout_forward = pgs_cpu_dropout_forward,
	.dropout_backward = pgs_cpu_dropout_backward,
	.fc_forward = pgs_cpu_fc_forward,
	.fc_backward = pgs_cpu_fc_backward,
	.sigmoid_bce = pgs_cpu_sigmoid_bce,
	.softmax_ce = pgs_cpu_softmax_ce,
	.optimizer_update = pgs_cpu_optimizer_update,
	.prepare_input = pgs_cpu_prepare_input,
	.bn_sums = pgs_cpu_bn_sums,
	.bn_forward_sums = pgs_cpu_bn_forward_sums,
	.bn_backward_sums = pgs_cpu_bn_backward_sums,
	.bn_backward_data = pgs_cpu_bn_backward_data,
};

const pgs_ops *
pgs_cpu_ops(void)
{
	return &cpu_ops;
}
