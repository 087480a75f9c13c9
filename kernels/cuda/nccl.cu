// NCCL for the replicas of one job: libnccl.so.2 loaded with dlopen on first use, collectives on the stream.
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "../device/cuda_module.h"
#include "cuda_check.h"
#include "cuda_device.h"
#include "nccl_module.h"

/*
 * NCCL's ABI, declared here so the module builds where nccl.h is absent (a GPU machine whose NCCL came
 * with PyTorch's wheels): the id is 128 bytes, the communicator opaque, and these enum values are fixed
 * across NCCL 2.x.
 */
typedef struct nccl_comm *nccl_comm_t;
typedef struct
{
	char		internal[PGS_NCCL_ID_BYTES];
} nccl_unique_id;
typedef int nccl_result_t;		/* ncclSuccess = 0 */

enum
{
	NCCL_SUM = 0,
	NCCL_AVG = 4,
	NCCL_FLOAT32 = 7,
	NCCL_FLOAT64 = 8
};

static struct
{
	bool		tried;
	char		reason[256];
	nccl_result_t (*get_unique_id) (nccl_unique_id *id);
	nccl_result_t (*comm_init_rank) (nccl_comm_t *comm, int nranks, nccl_unique_id id, int rank);
	nccl_result_t (*all_reduce) (const void *send, void *recv, size_t count, int type, int op, nccl_comm_t comm,
								 cudaStream_t stream);
	nccl_result_t (*broadcast) (const void *send, void *recv, size_t count, int type, int root, nccl_comm_t comm,
								cudaStream_t stream);
	nccl_result_t (*comm_destroy) (nccl_comm_t comm);
	const char *(*error_string) (nccl_result_t result);
} nccl;

typedef struct pgs_nccl_comm
{
	nccl_comm_t comm;
	pgs_cuda_device *dev;
	int			size;
} pgs_nccl_comm;

static pgs_status
nccl_load(pgs_error *err)
{
	static const char *const names[] = {"libnccl.so.2", PGS_NCCL_LIBRARY_FALLBACK};

	if (!nccl.tried)
	{
		void	   *handle = NULL;

		nccl.tried = true;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && handle == NULL; i++)
			if (names[i][0] != '\0')
				handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (handle == NULL)
		{
			snprintf(nccl.reason, sizeof(nccl.reason), "NCCL (libnccl.so.2) could not be loaded: %s", dlerror());
			return pgs_fail(err, PGS_ERR_DEVICE, "%s", nccl.reason);
		}
		*(void **) &nccl.get_unique_id = dlsym(handle, "ncclGetUniqueId");
		*(void **) &nccl.comm_init_rank = dlsym(handle, "ncclCommInitRank");
		*(void **) &nccl.all_reduce = dlsym(handle, "ncclAllReduce");
		*(void **) &nccl.broadcast = dlsym(handle, "ncclBroadcast");
		*(void **) &nccl.comm_destroy = dlsym(handle, "ncclCommDestroy");
		*(void **) &nccl.error_string = dlsym(handle, "ncclGetErrorString");
		if (!nccl.get_unique_id || !nccl.comm_init_rank || !nccl.all_reduce || !nccl.broadcast ||
			!nccl.comm_destroy || !nccl.error_string)
		{
			nccl.get_unique_id = nullptr;
			snprintf(nccl.reason, sizeof(nccl.reason), "libnccl.so.2 lacks the functions pgscreen needs");
		}
	}
	if (nccl.get_unique_id == nullptr)
		return pgs_fail(err, PGS_ERR_DEVICE, "%s", nccl.reason);
	return PGS_OK;
}

static pgs_status
nccl_fail(pgs_error *err, nccl_result_t r, const char *call)
{
	return pgs_fail(err, PGS_ERR_DEVICE, "%s failed: %s", call, nccl.error_string(r));
}

#define PGS_NCCL_TRY(call, err) \
	do { nccl_result_t r_ = (call); if (r_ != 0) return nccl_fail((err), r_, #call); } while (0)

pgs_status
pgs_nccl_unique_id(unsigned char id[PGS_NCCL_ID_BYTES], pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	nccl_unique_id unique;
	pgs_status	st;

	if ((st = nccl_load(err)) != PGS_OK)
		return st;
	PGS_NCCL_TRY(nccl.get_unique_id(&unique), err);
	memcpy(id, unique.internal, PGS_NCCL_ID_BYTES);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_nccl_open(const pgs_ops *device, const unsigned char id[PGS_NCCL_ID_BYTES], int rank, int size, void **out,
				 pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	pgs_cuda_device *dev = (pgs_cuda_device *) device->ctx;
	nccl_unique_id unique;
	pgs_nccl_comm *c;
	pgs_status	st;

	*out = nullptr;
	if (device->kind != PGS_DEVICE_CUDA)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "NCCL needs a GPU, not %s", device->name);
	if ((st = nccl_load(err)) != PGS_OK)
		return st;
	memcpy(unique.internal, id, PGS_NCCL_ID_BYTES);
	c = new pgs_nccl_comm();
	c->dev = dev;
	c->size = size;
	PGS_CUDA_TRY(cudaSetDevice(dev->ordinal), err);
	{
		nccl_result_t r = nccl.comm_init_rank(&c->comm, size, unique, rank);

		if (r != 0)
		{
			delete c;
			return nccl_fail(err, r, "ncclCommInitRank");
		}
	}
	*out = c;
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_nccl_all_reduce(void *comm, void *data, size_t n, bool doubles, bool average, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	pgs_nccl_comm *c = (pgs_nccl_comm *) comm;

	if (n == 0)
		return PGS_OK;
	PGS_CUDA_TRY(cudaSetDevice(c->dev->ordinal), err);
	PGS_NCCL_TRY(nccl.all_reduce(data, data, n, doubles ? NCCL_FLOAT64 : NCCL_FLOAT32, average ? NCCL_AVG : NCCL_SUM,
								 c->comm, c->dev->stream), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_nccl_broadcast(void *comm, float *data, size_t n, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	pgs_nccl_comm *c = (pgs_nccl_comm *) comm;

	if (n == 0)
		return PGS_OK;
	PGS_CUDA_TRY(cudaSetDevice(c->dev->ordinal), err);
	PGS_NCCL_TRY(nccl.broadcast(data, data, n, NCCL_FLOAT32, 0, c->comm, c->dev->stream), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

void
pgs_nccl_close(void *comm)
{
	pgs_nccl_comm *c = (pgs_nccl_comm *) comm;

	if (c == nullptr)
		return;
	try
	{
		(void) nccl.comm_destroy(c->comm);
		delete c;
	}
	catch (...)
	{
	}
}
