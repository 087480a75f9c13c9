// The CUDA implementation of the ops table: memory on the device's stream and the element-wise kernels.
#include <stdio.h>

#include "../device/elementwise.h"
#include "cuda_check.h"
#include "cuda_device.h"
#include "prepare_input.h"
#include "nn_cuda.h"

static pgs_status
gpu_alloc(void *ctx, size_t bytes, void **out, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	pgs_cuda_device *dev = (pgs_cuda_device *) ctx;

	*out = NULL;
	PGS_CUDA_TRY(cudaSetDevice(dev->ordinal), err);
	PGS_CUDA_TRY(cudaMallocAsync(out, bytes ? bytes : 1, dev->stream), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

static void
gpu_free(void *ctx, void *ptr)
{
	pgs_cuda_device *dev = (pgs_cuda_device *) ctx;

	if (ptr != NULL && cudaSetDevice(dev->ordinal) == cudaSuccess)
		(void) cudaFreeAsync(ptr, dev->stream);
}

static pgs_status
gpu_upload(void *ctx, void *dst, const void *src, size_t bytes, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	pgs_cuda_device *dev = (pgs_cuda_device *) ctx;

	PGS_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, dev->stream), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

static pgs_status
gpu_download(void *ctx, void *dst, const void *src, size_t bytes, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	pgs_cuda_device *dev = (pgs_cuda_device *) ctx;

	/* Synchronous from the caller's view: the host buffer is ready when this returns. */
	PGS_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, dev->stream), err);
	PGS_CUDA_TRY(cudaStreamSynchronize(dev->stream), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

static pgs_status
gpu_synchronize(void *ctx, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	pgs_cuda_device *dev = (pgs_cuda_device *) ctx;

	PGS_CUDA_TRY(cudaStreamSynchronize(dev->stream), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

__global__ static void
axpy_kernel(size_t n, float a, const float *x, float *y)
{
	for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n; i += (size_t) gridDim.x * blockDim.x)
		y[i] = pgs_axpy_element(a, x[i], y[i]);
}

/* Enough blocks to fill the GPU with a grid-stride loop, never more than the data needs. */
static unsigned
grid_for(size_t n, unsigned block)
{
	size_t		blocks = (n + block - 1) / block;

	return (unsigned) (blocks < 65535 ? (blocks ? blocks : 1) : 65535);
}

static pgs_status
gpu_axpy(void *ctx, size_t n, float a, const float *x, float *y, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	pgs_cuda_device *dev = (pgs_cuda_device *) ctx;

	axpy_kernel<<<grid_for(n, 256), 256, 0, dev->stream>>>(n, a, x, y);
	PGS_CUDA_CHECK_LAUNCH("axpy_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_cuda_device_init(pgs_cuda_device *dev, int ordinal, pgs_error *err)
{
	dev->ordinal = ordinal;
	snprintf(dev->name, sizeof(dev->name), "cuda:%d", ordinal);
	PGS_CUDA_TRY(cudaSetDevice(ordinal), err);
	PGS_CUDA_TRY(cudaStreamCreateWithFlags(&dev->stream, cudaStreamNonBlocking), err);
	PGS_CUBLAS_TRY(cublasCreate(&dev->cublas), err);
	PGS_CUBLAS_TRY(cublasSetStream(dev->cublas, dev->stream), err);
	PGS_CUDNN_TRY(cudnnCreate(&dev->cudnn), err);
	PGS_CUDNN_TRY(cudnnSetStream(dev->cudnn, dev->stream), err);

	dev->ops.version = PGS_OPS_VERSION;
	dev->ops.kind = PGS_DEVICE_CUDA;
	dev->ops.ordinal = ordinal;
	dev->ops.name = dev->name;
	dev->ops.ctx = dev;
	dev->ops.alloc = gpu_alloc;
	dev->ops.free = gpu_free;
	dev->ops.upload = gpu_upload;
	dev->ops.download = gpu_download;
	dev->ops.synchronize = gpu_synchronize;
	dev->ops.axpy = gpu_axpy;
	dev->ops.prepare_input = pgs_cuda_prepare_input;
	/* the network engine's ops (nn_*.cu) */
	dev->ops.configure = pgs_gpu_configure;
	dev->ops.zero = pgs_gpu_zero;
	dev->ops.fill = pgs_gpu_fill;
	dev->ops.copy = pgs_gpu_copy;
	dev->ops.sum_squares = pgs_gpu_sum_squares;
	dev->ops.conv_workspace = pgs_gpu_conv_workspace;
	dev->ops.conv_forward = pgs_gpu_conv_forward;
	dev->ops.conv_backward = pgs_gpu_conv_backward;
	dev->ops.bn_forward_train = pgs_gpu_bn_forward_train;
	dev->ops.bn_forward_infer = pgs_gpu_bn_forward_infer;
	dev->ops.bn_backward = pgs_gpu_bn_backward;
	dev->ops.relu_forward = pgs_gpu_relu_forward;
	dev->ops.relu_backward = pgs_gpu_relu_backward;
	dev->ops.pool_forward = pgs_gpu_pool_forward;
	dev->ops.pool_backward = pgs_gpu_pool_backward;
	dev->ops.concat_forward = pgs_gpu_concat_forward;
	dev->ops.concat_backward = pgs_gpu_concat_backward;
	dev->ops.dropout_forward = pgs_gpu_dropout_forward;
	dev->ops.dropout_backward = pgs_gpu_dropout_backward;
	dev->ops.fc_forward = pgs_gpu_fc_forward;
	dev->ops.fc_backward = pgs_gpu_fc_backward;
	dev->ops.sigmoid_bce = pgs_gpu_sigmoid_bce;
	dev->ops.softmax_ce = pgs_gpu_softmax_ce;
	dev->ops.optimizer_update = pgs_gpu_optimizer_update;
	dev->ops.bn_sums = pgs_gpu_bn_sums;
	dev->ops.bn_forward_sums = pgs_gpu_bn_forward_sums;
	dev->ops.bn_backward_sums = pgs_gpu_bn_backward_sums;
	dev->ops.bn_backward_data = pgs_gpu_bn_backward_data;
	return PGS_OK;
}
