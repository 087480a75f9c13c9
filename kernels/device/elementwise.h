/* Element-wise maths shared verbatim by the CPU ops and the CUDA kernels (see PGS_HOSTDEV). */
#ifndef PGS_ELEMENTWISE_H
#define PGS_ELEMENTWISE_H

#include "../common/hostdev.h"

PGS_HOSTDEV float
pgs_axpy_element(float a, float x, float y)
{
	return a * x + y;
}

#endif
