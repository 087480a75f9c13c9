/* dtype sizes and names, and element counts of host tensors. */
#include "tensor.h"

size_t
pgs_dtype_size(pgs_dtype dtype)
{
	switch (dtype)
	{
		case PGS_DTYPE_U8:
			return 1;
		case PGS_DTYPE_U16:
			return 2;
		case PGS_DTYPE_F32:
			return 4;
	}
	return 0;
}

const char *
pgs_dtype_name(pgs_dtype dtype)
{
	switch (dtype)
	{
		case PGS_DTYPE_U8:
			return "uint8";
		case PGS_DTYPE_U16:
			return "uint16";
		case PGS_DTYPE_F32:
			return "float32";
	}
	return "unknown";
}

int64_t
pgs_tensor_numel(const pgs_tensor *t)
{
	int64_t		n = 1;

	for (int i = 0; i < t->ndim; i++)
	{
		if (t->shape[i] < 0)
			return -1;
		if (t->shape[i] != 0 && n > INT64_MAX / t->shape[i])
			return -1;
		n *= t->shape[i];
	}
	return n;
}
