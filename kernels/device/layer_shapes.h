/* Validation of layer shapes and descriptors, shared by every device before it touches memory. */
#ifndef PGS_LAYER_SHAPES_H
#define PGS_LAYER_SHAPES_H

#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest dimension accepted anywhere: keeps every element count and offset inside int64/size_t. */
#define PGS_MAX_DIM (1 << 20)

pgs_status	pgs_check_shape4(const pgs_shape4 *s, const char *what, pgs_error *err);
/* Also checks that the output is at least 1×1 and that every index fits an int. */
pgs_status	pgs_check_conv_desc(const pgs_conv_desc *d, pgs_error *err);
pgs_status	pgs_check_pool_desc(const pgs_pool_desc *d, pgs_error *err);
pgs_status	pgs_check_bn_desc(const pgs_bn_desc *d, pgs_error *err);
pgs_status	pgs_check_concat(int n_parts, const pgs_shape4 *parts, pgs_error *err);

/* Output shapes (valid only after the matching check succeeded). */
pgs_shape4	pgs_conv_output_shape(const pgs_conv_desc *d);
pgs_shape4	pgs_pool_output_shape(const pgs_pool_desc *d);

#ifdef __cplusplus
}
#endif

#endif
