/* Host tensors: a dtype, a shape and row-major (C order) data, the in-memory twin of an NPY file. */
#ifndef PGS_TENSOR_H
#define PGS_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pgs_dtype
{
	PGS_DTYPE_U8 = 1,
	PGS_DTYPE_U16,
	PGS_DTYPE_F32
} pgs_dtype;

#define PGS_TENSOR_MAX_DIMS 8

typedef struct pgs_tensor
{
	pgs_dtype	dtype;
	int			ndim;
	int64_t		shape[PGS_TENSOR_MAX_DIMS];
	void	   *data;			/* C order, native byte order */
} pgs_tensor;

/* Bytes per element (1, 2 or 4), or 0 for an unknown dtype. */
size_t		pgs_dtype_size(pgs_dtype dtype);

/* NumPy's name for the dtype: "uint8", "uint16", "float32". */
const char *pgs_dtype_name(pgs_dtype dtype);

/* Number of elements, or -1 if the product overflows int64. */
int64_t		pgs_tensor_numel(const pgs_tensor *t);

#ifdef __cplusplus
}
#endif

#endif
