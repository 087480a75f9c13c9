/* The model file: a network's configuration, its preprocessing recipe and its tensors, checked on load. */
#ifndef PGS_MODEL_FILE_H
#define PGS_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "net.h"
#include "optimizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Layout (all integers little-endian):
 *
 *   0   8  magic "\x89PGSNET\n" (a high bit and a newline catch text-mode mangling, as PNG's does)
 *   8   4  format version (PGS_MODEL_FORMAT_VERSION)
 *  12   4  reserved, 0
 *  16   8  total file length in bytes
 *  24   4  metadata length M
 *  28   4  tensor count T
 *  32   M  metadata: UTF-8 lines "key=value\n"
 *   …      tensor table, T entries: u16 name length, name, u8 dtype (1 = float32), u8 ndim,
 *          ndim × i64 dimensions, u64 data offset (from the file start, a multiple of 64), u64 byte length
 *   …      zero padding to a multiple of 64, then the tensors' raw little-endian data, each 64-aligned
 *  end−4 4 CRC-32 (IEEE, as zlib's crc32) of every byte before it
 *
 * Metadata holds the network configuration (architecture, head, outputs, aux_logits, input_channels,
 * input_height, input_width, bn_eps, bn_momentum, dropout), its state (batches_tracked, and dropout_seed and
 * train_steps so a resumed run draws the same dropout masks), the recipe (keys chosen by the
 * caller: how inputs are preprocessed and normalised, so scoring applies exactly what training used) and,
 * in checkpoints, optimizer.* keys. Tensors are the network's, in state_dict order, plus optimizer.state1/2
 * in checkpoints. The loader checks every field and refuses anything it does not understand.
 */
#define PGS_MODEL_FORMAT_VERSION 1
#define PGS_MODEL_MAX_RECIPE 64

typedef struct pgs_model_kv
{
	char		key[64];		/* [a-z0-9_.]+ */
	char		value[256];		/* printable, no newline */
} pgs_model_kv;

typedef struct pgs_model_recipe
{
	int			n;
	pgs_model_kv items[PGS_MODEL_MAX_RECIPE];
} pgs_model_recipe;

/* Set (add or replace) a recipe entry; fails on a malformed key or value or a full recipe. */
pgs_status	pgs_model_recipe_set(pgs_model_recipe *recipe, const char *key, const char *value, pgs_error *err);
const char *pgs_model_recipe_get(const pgs_model_recipe *recipe, const char *key);

/* What a model file holds, read from its header and metadata without building the network. */
typedef struct pgs_model_info
{
	int			format_version;
	pgs_net_config config;
	int64_t		batches_tracked;
	uint64_t	dropout_seed;	/* with train_steps: where the dropout masks continue from */
	int64_t		train_steps;
	pgs_model_recipe recipe;
	int			tensors;
	size_t		parameters;		/* trainable floats */
	bool		has_optimizer;
	pgs_optimizer_kind optimizer;
	int64_t		optimizer_steps;
} pgs_model_info;

/*
 * Serialise a network (parameters and running statistics), its recipe and, for a checkpoint, an optimiser
 * (NULL for none) into a buffer from `allocator`.
 */
pgs_status	pgs_model_write(pgs_net *net, const pgs_model_recipe *recipe, pgs_optimizer *opt,
							const pgs_allocator *allocator, uint8_t **out, size_t *out_len, pgs_error *err);

/* Check everything (structure, checksum, metadata, tensor table) and describe the model. */
pgs_status	pgs_model_read_info(const uint8_t *data, size_t len, pgs_model_info *info, pgs_error *err);

/* Check everything, build the network on `ops` and load its tensors. */
pgs_status	pgs_model_load(const pgs_ops *ops, const uint8_t *data, size_t len, pgs_net **net,
						   pgs_model_info *info, pgs_error *err);

/* Restore a checkpoint's optimiser state into `opt` (same kind, same network), and its step count. */
pgs_status	pgs_model_load_optimizer(pgs_optimizer *opt, const uint8_t *data, size_t len, pgs_error *err);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32), continuing from `crc` (0 to start). */
uint32_t	pgs_crc32(uint32_t crc, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif
