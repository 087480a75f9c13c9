/* A batch of network input on the device: uint8 images uploaded, then augmented and normalised there. */
#ifndef PGS_DEVICE_BATCH_H
#define PGS_DEVICE_BATCH_H

#include <stdint.h>

#include "../common/status.h"
#include "../device/augment.h"
#include "../device/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Only the uint8 images (and each image's drawn augmentation) cross to the device; the ops table's
 * prepare_input turns them into normalised NCHW floats there (on a GPU, in one kernel), which the network
 * reads in place (pgs_net_forward_device). On the CPU the same code runs with the CPU ops.
 */
typedef struct pgs_device_batch
{
	const pgs_ops *ops;
	int			height;
	int			width;
	int			channels;
	int			capacity;		/* images the buffers hold */
	unsigned char *images;		/* device: capacity × H × W × C uint8 */
	pgs_augment_params *params; /* device: capacity entries */
	float	   *input;			/* device: capacity × C × H × W float32 */
} pgs_device_batch;

void		pgs_device_batch_init(pgs_device_batch *batch, const pgs_ops *ops, int height, int width, int channels);

/*
 * Upload n images (and their augmentation, or NULL for none) and prepare them with the normalization
 * (pgs_normalization) into batch->input, growing the buffers when n exceeds their capacity.
 */
pgs_status	pgs_device_batch_prepare(pgs_device_batch *batch, int n, const uint8_t *images,
									 const pgs_augment_params *params, int normalization, pgs_error *err);

void		pgs_device_batch_free(pgs_device_batch *batch);

#ifdef __cplusplus
}
#endif

#endif
