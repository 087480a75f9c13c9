/* Weights in and out as .npz (a zip of .npy files, numpy.savez's format) with torchvision's tensor names. */
#ifndef PGS_NPZ_H
#define PGS_NPZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pgs_npz_match
{
	/* Every tensor of the network present with its exact shape, nothing unknown (load_state_dict strict). */
	PGS_NPZ_EXACT = 0,
	/*
	 * For starting from ImageNet weights: classifier tensors (fc.*, AuxLogits.fc.*) whose shape differs
	 * from this network's head keep their initial values, and AuxLogits.* is ignored when this network has
	 * no auxiliary head. Everything else must still match exactly.
	 */
	PGS_NPZ_PRETRAINED
} pgs_npz_match;

typedef struct pgs_npz_report
{
	int			loaded;			/* tensors written into the network */
	int			skipped;		/* tensors of the file left unused (PRETRAINED only) */
	char		first_skipped[96];
} pgs_npz_report;

/*
 * Load weights from .npz bytes (entries stored or deflated; float32 .npy, either byte order, C or Fortran
 * order). num_batches_tracked entries are accepted and ignored. Nothing is written to the network unless
 * every check passes.
 */
pgs_status	pgs_npz_import(pgs_net *net, const uint8_t *data, size_t len, pgs_npz_match match,
						   pgs_npz_report *report, pgs_error *err);

/*
 * Write every tensor as "<name>.npy" (float32, little-endian) plus "<bn>.num_batches_tracked.npy"
 * (int64 scalars) in state_dict order, so torch.load_state_dict({k: torch.from_numpy(v) ...}) accepts it.
 * Entries are stored, as numpy.savez does, or deflated (numpy.savez_compressed) when `deflate`.
 */
pgs_status	pgs_npz_export(pgs_net *net, bool deflate, const pgs_allocator *allocator, uint8_t **out,
						   size_t *out_len, pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
