/* Stored networks to and from .npz with torchvision's tensor names (import_weights, export_weights). */
#include "stored_model.h"

#include "../nn/model_file.h"
#include "../nn/npz.h"
#include "engine_names.h"

pgs_status
pgs_stored_model_from_npz(pgs_recipe_arch arch, int input_size, const pgs_scoring_recipe *scoring,
						  const uint8_t *npz, size_t npz_len, uint64_t seed, const pgs_allocator *allocator,
						  uint8_t **out, size_t *len, pgs_error *err)
{
	pgs_net    *net;
	pgs_npz_report report;
	pgs_status	st;

	if ((st = pgs_engine_net_create(pgs_cpu_ops(), arch, input_size, input_size, 3, &net, err)) != PGS_OK)
		return st;
	if ((st = pgs_net_init_weights(net, pgs_model_weights_seed(seed), err)) == PGS_OK &&
		(st = pgs_npz_import(net, npz, npz_len, PGS_NPZ_PRETRAINED, &report, err)) == PGS_OK)
		st = pgs_stored_model_write(net, scoring, allocator, out, len, err);
	pgs_net_free(net);
	return st;
}

pgs_status
pgs_stored_model_to_npz(const uint8_t *data, size_t len, const pgs_allocator *allocator, uint8_t **out,
						size_t *out_len, pgs_error *err)
{
	pgs_net    *net;
	pgs_model_info info;
	pgs_status	st;

	if ((st = pgs_model_load(pgs_cpu_ops(), data, len, &net, &info, err)) != PGS_OK)
		return st;
	st = pgs_npz_export(net, false, allocator, out, out_len, err);
	pgs_net_free(net);
	return st;
}
