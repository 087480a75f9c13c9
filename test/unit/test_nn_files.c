/* Model files and .npz weights: round trips, checkpoints that resume exactly, and every kind of bad file. */
#include "../../kernels/device/ops.h"
#include "../../kernels/nn/model_file.h"
#include "../../kernels/nn/net.h"
#include "../../kernels/nn/npz.h"
#include "../../kernels/nn/optimizer.h"
#include "../../kernels/train/stored_model.h"
#include "nn_testing.h"

#include <zip.h>

static const pgs_ops *ops;
static pgs_error err;

#define H 40
#define W 36

static pgs_net *
make_net(bool aux, int outputs, uint64_t seed)
{
	pgs_net_config c;
	pgs_net    *net = NULL;

	pgs_net_config_defaults(&c, PGS_ARCH_SMALL_CNN);
	c.in_height = H;
	c.in_width = W;
	c.aux_logits = aux;
	c.outputs = outputs;
	CHECK_OK(pgs_net_create(ops, &c, &net, &err), &err);
	if (net)
		CHECK_OK(pgs_net_init_weights(net, seed, &err), &err);
	return net;
}

static float *
all_tensors(pgs_net *net)
{
	size_t		total = pgs_net_param_count(net) + pgs_net_buffer_count(net);
	float	   *x = malloc(total * sizeof(float));

	CHECK_OK(ops->download(ops->ctx, x, pgs_net_params(net), pgs_net_param_count(net) * sizeof(float), &err), &err);
	CHECK_OK(ops->download(ops->ctx, x + pgs_net_param_count(net), pgs_net_buffers(net),
						   pgs_net_buffer_count(net) * sizeof(float), &err), &err);
	return x;
}

static bool
same_tensors(pgs_net *a, pgs_net *b)
{
	size_t		total = pgs_net_param_count(a) + pgs_net_buffer_count(a);
	float	   *x = all_tensors(a),
			   *y = all_tensors(b);
	bool		same = total == pgs_net_param_count(b) + pgs_net_buffer_count(b) &&
		memcmp(x, y, total * sizeof(float)) == 0;

	free(x);
	free(y);
	return same;
}

/* A few training steps so the running statistics and the batch counter are not at their initial values. */
static double
train_steps(pgs_net *net, pgs_optimizer *opt, int steps, uint64_t seed)
{
	float	   *images = nn_random((size_t) 4 * 3 * H * W, -1, 1, seed);
	float		targets[4] = {1, 0, 1, 0};
	pgs_net_loss loss = {0};

	for (int s = 0; s < steps; s++)
	{
		CHECK_OK(pgs_net_zero_grads(net, &err), &err);
		CHECK_OK(pgs_net_forward(net, 4, images, PGS_NET_TRAIN, &err), &err);
		CHECK_OK(pgs_net_backward(net, targets, NULL, 0.4f, &loss, &err), &err);
		CHECK_OK(pgs_optimizer_step(opt, NULL, &err), &err);
	}
	free(images);
	return loss.loss;
}

static void
test_model_round_trip(void)
{
	pgs_net    *net = make_net(true, 1, 3),
			   *back = NULL;
	pgs_optimizer *opt = NULL;
	pgs_optimizer_config oc;
	pgs_model_recipe recipe = {0};
	pgs_model_info info;
	uint8_t    *file;
	size_t		len;
	float	   *images = nn_random((size_t) 2 * 3 * H * W, -1, 1, 9);
	float		p1[2],
				p2[2];

	if (net == NULL)
		return;
	pgs_optimizer_config_defaults(&oc, PGS_OPTIMIZER_SGD);
	CHECK_OK(pgs_optimizer_create(net, &oc, &opt, &err), &err);
	train_steps(net, opt, 2, 1);
	CHECK_OK(pgs_model_recipe_set(&recipe, "preprocess", "voets2018", &err), &err);
	CHECK_OK(pgs_model_recipe_set(&recipe, "preprocess.diameter", "299", &err), &err);
	CHECK_OK(pgs_model_recipe_set(&recipe, "normalization", "symmetric", &err), &err);
	CHECK_OK(pgs_model_recipe_set(&recipe, "normalization", "standardize", &err), &err);
	CHECK_FAILS(pgs_model_recipe_set(&recipe, "architecture", "x", &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_model_recipe_set(&recipe, "Bad Key", "x", &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_model_recipe_set(&recipe, "note", "two\nlines", &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_OK(pgs_model_write(net, &recipe, NULL, &pgs_malloc_allocator, &file, &len, &err), &err);
	CHECK(len % 64 == 4);

	CHECK_OK(pgs_model_read_info(file, len, &info, &err), &err);
	CHECK(info.format_version == PGS_MODEL_FORMAT_VERSION && info.config.arch == PGS_ARCH_SMALL_CNN);
	CHECK(info.config.in_height == H && info.config.in_width == W && info.config.aux_logits);
	CHECK(info.config.bn_eps == 0.001f && info.config.dropout == 0.5f && info.batches_tracked == 2);
	CHECK(info.parameters == pgs_net_param_count(net) && !info.has_optimizer);
	CHECK(info.recipe.n == 3 && strcmp(pgs_model_recipe_get(&info.recipe, "normalization"), "standardize") == 0);

	CHECK_OK(pgs_model_load(ops, file, len, &back, &info, &err), &err);
	if (back != NULL)
	{
		CHECK(same_tensors(net, back));
		CHECK(pgs_net_batches_tracked(back) == 2);
		CHECK_OK(pgs_net_forward(net, 2, images, PGS_NET_INFER, &err), &err);
		CHECK_OK(pgs_net_probabilities(net, p1, &err), &err);
		CHECK_OK(pgs_net_forward(back, 2, images, PGS_NET_INFER, &err), &err);
		CHECK_OK(pgs_net_probabilities(back, p2, &err), &err);
		CHECK(memcmp(p1, p2, sizeof(p1)) == 0);
	}
	pgs_net_free(back);
	pgs_optimizer_free(opt);
	pgs_net_free(net);
	free(file);
	free(images);
}

/* pgscreen 0.1.0 wrote the scoring recipe's key as "normalisation": such files read with today's key. */
static void
test_old_recipe_key_reads_as_normalization(void)
{
	pgs_net    *net = make_net(false, 1, 5),
			   *back = NULL;
	pgs_model_recipe recipe = {0};
	pgs_scoring_recipe scoring;
	pgs_model_info info;
	uint8_t    *file;
	size_t		len;

	if (net == NULL)
		return;
	CHECK_OK(pgs_model_recipe_set(&recipe, "normalisation", "unit", &err), &err);
	CHECK_OK(pgs_model_recipe_set(&recipe, "preprocess", "none", &err), &err);
	CHECK_OK(pgs_model_recipe_set(&recipe, "preprocess_diameter", "0", &err), &err);
	CHECK_OK(pgs_model_write(net, &recipe, NULL, &pgs_malloc_allocator, &file, &len, &err), &err);
	CHECK_OK(pgs_model_read_info(file, len, &info, &err), &err);
	CHECK(pgs_model_recipe_get(&info.recipe, "normalisation") == NULL);
	CHECK(strcmp(pgs_model_recipe_get(&info.recipe, "normalization"), "unit") == 0);
	CHECK_OK(pgs_stored_model_load(ops, file, len, &back, &scoring, &err), &err);
	CHECK(scoring.normalization == PGS_NORM_UNIT && scoring.preprocess == PGS_RECIPE_PREPROCESS_NONE);

	/* The scoring keys are checked: an unknown normalization is refused on write and on read. */
	memset(&recipe, 0, sizeof(recipe));
	CHECK_OK(pgs_model_recipe_set(&recipe, "normalization", "bogus", &err), &err);
	CHECK_FAILS(pgs_scoring_recipe_check(&recipe, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	free(file);
	CHECK_OK(pgs_model_write(net, &recipe, NULL, &pgs_malloc_allocator, &file, &len, &err), &err);
	pgs_net_free(back);
	back = NULL;
	CHECK_FAILS(pgs_stored_model_load(ops, file, len, &back, &scoring, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(back == NULL);
	pgs_net_free(net);
	free(file);
}

/* A checkpoint taken mid-run resumes to exactly the losses of the uninterrupted run. */
static void
test_checkpoint_resumes_exactly(void)
{
	pgs_optimizer_config oc;
	pgs_net    *a = make_net(false, 1, 5),
			   *b = NULL;
	pgs_optimizer *opt_a = NULL,
			   *opt_b = NULL;
	uint8_t    *file;
	size_t		len;
	double		straight,
				resumed;
	pgs_model_info info;

	if (a == NULL)
		return;
	pgs_optimizer_config_defaults(&oc, PGS_OPTIMIZER_RMSPROP);
	oc.lr = 0.01f;
	CHECK_OK(pgs_optimizer_create(a, &oc, &opt_a, &err), &err);
	train_steps(a, opt_a, 3, 2);
	CHECK_OK(pgs_model_write(a, NULL, opt_a, &pgs_malloc_allocator, &file, &len, &err), &err);
	straight = train_steps(a, opt_a, 3, 2);

	CHECK_OK(pgs_model_read_info(file, len, &info, &err), &err);
	CHECK(info.has_optimizer && info.optimizer == PGS_OPTIMIZER_RMSPROP && info.optimizer_steps == 3);
	CHECK_OK(pgs_model_load(ops, file, len, &b, NULL, &err), &err);
	if (b != NULL)
	{
		CHECK_OK(pgs_optimizer_create(b, &oc, &opt_b, &err), &err);
		CHECK_OK(pgs_model_load_optimizer(opt_b, file, len, &err), &err);
		CHECK(pgs_optimizer_steps(opt_b) == 3);
		resumed = train_steps(b, opt_b, 3, 2);
		CHECKF(resumed == straight, "resumed %.9g, straight %.9g", resumed, straight);
		pgs_optimizer_free(opt_b);
		/* A different optimiser kind cannot take this state. */
		pgs_optimizer_config_defaults(&oc, PGS_OPTIMIZER_ADAM);
		CHECK_OK(pgs_optimizer_create(b, &oc, &opt_b, &err), &err);
		CHECK_FAILS(pgs_model_load_optimizer(opt_b, file, len, &err), PGS_ERR_INVALID_ARGUMENT, &err);
		pgs_optimizer_free(opt_b);
	}
	pgs_net_free(b);
	pgs_optimizer_free(opt_a);
	pgs_net_free(a);
	free(file);
}

static void
put_crc(uint8_t *file, size_t len)
{
	uint32_t	crc = pgs_crc32(0, file, len - 4);

	for (int i = 0; i < 4; i++)
		file[len - 4 + i] = (uint8_t) (crc >> (8 * i));
}

/* Replace a metadata line's value in place (same length) and fix the checksum: a well-formed lie. */
static bool
patch_metadata(uint8_t *file, size_t len, const char *from, const char *to)
{
	for (size_t i = 32; i + strlen(from) < len; i++)
		if (memcmp(file + i, from, strlen(from)) == 0)
		{
			memcpy(file + i, to, strlen(to));
			put_crc(file, len);
			return true;
		}
	return false;
}

static void
expect_load_error(const uint8_t *file, size_t len, pgs_status code, const char *fragment)
{
	pgs_net    *net = NULL;
	pgs_model_info info;

	CHECK_FAILS(pgs_model_load(ops, file, len, &net, &info, &err), code, &err);
	CHECKF(strstr(err.message, fragment) != NULL, "expected \"%s\" in \"%s\"", fragment, err.message);
	CHECK(net == NULL);
}

static void
test_model_loader_refuses_bad_files(void)
{
	pgs_net    *net = make_net(false, 1, 7);
	uint8_t    *file,
			   *copy;
	size_t		len;
	unsigned long long state = 99;

	if (net == NULL)
		return;
	CHECK_OK(pgs_model_write(net, NULL, NULL, &pgs_malloc_allocator, &file, &len, &err), &err);
	copy = malloc(len);

#define FRESH() memcpy(copy, file, len)
	FRESH();
	copy[0] = 'P';
	expect_load_error(copy, len, PGS_ERR_BAD_DATA, "bad magic");
	FRESH();
	expect_load_error(copy, len - 100, PGS_ERR_BAD_DATA, "truncated");
	FRESH();
	copy[len / 2] ^= 0x40;
	expect_load_error(copy, len, PGS_ERR_BAD_DATA, "checksum");
	FRESH();
	copy[8] = 2;
	put_crc(copy, len);
	expect_load_error(copy, len, PGS_ERR_UNSUPPORTED, "format version 2");
	FRESH();
	CHECK(patch_metadata(copy, len, "architecture=small_cnn", "architecture=small_rnn"));
	expect_load_error(copy, len, PGS_ERR_UNSUPPORTED, "architecture \"small_rnn\" is unknown");
	FRESH();
	CHECK(patch_metadata(copy, len, "outputs=1", "outputs=0"));
	expect_load_error(copy, len, PGS_ERR_BAD_DATA, "invalid value");
	FRESH();
	CHECK(patch_metadata(copy, len, "input_channels=3", "input_channels=1"));
	expect_load_error(copy, len, PGS_ERR_BAD_DATA, "\"conv1.conv.weight\" has the wrong shape");
	FRESH();
	CHECK(patch_metadata(copy, len, "conv2.conv.weight", "conv9.conv.weight"));
	expect_load_error(copy, len, PGS_ERR_BAD_DATA, "lacks tensor \"conv2.conv.weight\"");
	FRESH();
	CHECK(patch_metadata(copy, len, "dropout=0.5", "dropout=nan"));
	expect_load_error(copy, len, PGS_ERR_BAD_DATA, "invalid value");
	/* Non-finite weights are refused: poison conv1's weights (their offset follows the name, dtype, ndim, dims). */
	{
		size_t		first_data = len;

		FRESH();
		for (size_t i = 32; i + 8 <= len; i++)
			if (memcmp(copy + i, "conv1.conv.weight", 17) == 0)
			{
				size_t		at = i + 17 + 2 + 4 * 8;	/* dtype, ndim, 4 dims */

				first_data = (size_t) copy[at] | ((size_t) copy[at + 1] << 8) | ((size_t) copy[at + 2] << 16);
				break;
			}
		CHECK(first_data < len && first_data % 64 == 0);
		if (first_data < len)
		{
			float		inf = INFINITY;

			memcpy(copy + first_data + 8, &inf, sizeof(inf));
			put_crc(copy, len);
			expect_load_error(copy, len, PGS_ERR_BAD_DATA, "NaN or infinity");
		}
	}

	/* Every truncation and random corruptions (checksum fixed, so the parser itself is exercised). */
	for (size_t cut = 0; cut < len; cut += 1 + cut / 16)
	{
		pgs_model_info info;

		CHECK(pgs_model_read_info(file, cut, &info, &err) != PGS_OK);
	}
	for (int trial = 0; trial < 300; trial++)
	{
		pgs_net    *loaded = NULL;
		size_t		header_and_table = 2048;

		FRESH();
		for (int k = 0; k < 3; k++)
			copy[8 + unit_random(&state) % header_and_table] ^= (uint8_t) (1u << (unit_random(&state) % 8));
		put_crc(copy, len);
		if (pgs_model_load(ops, copy, len, &loaded, NULL, &err) == PGS_OK)
			pgs_net_free(loaded);
	}
#undef FRESH
	free(copy);
	free(file);
	pgs_net_free(net);
}

/* ---- npz ---- */

static void
test_npz_round_trip(void)
{
	pgs_net    *a = make_net(true, 3, 11),
			   *b = make_net(true, 3, 12);
	uint8_t    *npz;
	size_t		len;
	pgs_npz_report report;

	if (a == NULL || b == NULL)
		return;
	for (int deflate = 0; deflate <= 1; deflate++)
	{
		CHECK(!same_tensors(a, b));
		CHECK_OK(pgs_npz_export(a, deflate, &pgs_malloc_allocator, &npz, &len, &err), &err);
		CHECK(len > 4 && npz[0] == 'P' && npz[1] == 'K');
		CHECK_OK(pgs_npz_import(b, npz, len, PGS_NPZ_EXACT, &report, &err), &err);
		CHECK(report.loaded == pgs_net_tensor_count(a) && report.skipped == 0);
		CHECK(same_tensors(a, b));
		free(npz);
		CHECK_OK(pgs_net_init_weights(b, 13, &err), &err);
	}
	pgs_net_free(a);
	pgs_net_free(b);
}

static void
test_npz_refuses_mismatches(void)
{
	pgs_net    *aux3 = make_net(true, 3, 1),
			   *plain1 = make_net(false, 1, 2),
			   *aux1 = make_net(true, 1, 3);
	uint8_t    *npz;
	size_t		len;
	pgs_npz_report report;
	float	   *before;

	if (!aux3 || !plain1 || !aux1)
		return;
	CHECK_OK(pgs_npz_export(aux3, false, &pgs_malloc_allocator, &npz, &len, &err), &err);
	/* Another head and an auxiliary classifier the network does not have: refused when exact... */
	before = all_tensors(plain1);
	CHECK_FAILS(pgs_npz_import(plain1, npz, len, PGS_NPZ_EXACT, &report, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "AuxLogits") != NULL);
	CHECK_FAILS(pgs_npz_import(aux1, npz, len, PGS_NPZ_EXACT, &report, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strstr(err.message, "has shape (3, 16), the network needs (1, 16)") != NULL, "%s", err.message);
	{
		float	   *after = all_tensors(plain1);
		size_t		n = pgs_net_param_count(plain1) + pgs_net_buffer_count(plain1);

		CHECK(memcmp(before, after, n * sizeof(float)) == 0);	/* nothing was written */
		free(after);
	}
	/* ... and taken as pretrained weights: all but the classifiers. */
	CHECK_OK(pgs_npz_import(plain1, npz, len, PGS_NPZ_PRETRAINED, &report, &err), &err);
	CHECK(report.skipped == 2 + 7);	/* fc.weight and fc.bias; AuxLogits.conv0 (5 tensors) and AuxLogits.fc (2) */
	printf("# pretrained import: %d loaded, %d skipped (first %s)\n", report.loaded, report.skipped,
		   report.first_skipped);
	CHECK(report.loaded == pgs_net_tensor_count(plain1) - 2);
	free(npz);

	CHECK_FAILS(pgs_npz_import(plain1, (const uint8_t *) "not a zip at all", 16, PGS_NPZ_EXACT, &report, &err),
				PGS_ERR_BAD_DATA, &err);
	CHECK(strstr(err.message, "not an npz") != NULL);
	free(before);
	pgs_net_free(aux3);
	pgs_net_free(plain1);
	pgs_net_free(aux1);
}

/* Where the first entry's bytes lie in a zip: after its local header (30 bytes, the name, the extra field). */
static size_t
first_entry_data(const uint8_t *zip, size_t *size)
{
	*size = (size_t) zip[18] | (size_t) zip[19] << 8 | (size_t) zip[20] << 16 | (size_t) zip[21] << 24;
	return 30 + ((size_t) zip[26] | (size_t) zip[27] << 8) + ((size_t) zip[28] | (size_t) zip[29] << 8);
}

/* One flipped bit anywhere in a stored or deflated entry is refused, never loaded as other weights. */
static void
test_npz_refuses_corrupt_entries(void)
{
	pgs_net    *a = make_net(true, 3, 21),
			   *b = make_net(true, 3, 22);
	uint8_t    *npz;
	size_t		len;
	pgs_npz_report report;

	if (a == NULL || b == NULL)
		return;
	for (int deflate = 0; deflate <= 1; deflate++)
	{
		size_t		size,
					start;
		int			refused = 0,
					tried = 0;

		CHECK_OK(pgs_npz_export(a, deflate, &pgs_malloc_allocator, &npz, &len, &err), &err);
		start = first_entry_data(npz, &size);
		CHECK(start + size < len && size > 16);
		for (size_t at = start + size / 2; at < start + size; at += 1 + size / 64)
		{
			npz[at] ^= 0x10;
			tried++;
			if (pgs_npz_import(b, npz, len, PGS_NPZ_EXACT, &report, &err) == PGS_ERR_BAD_DATA)
				refused++;
			else
				printf("# %s entry: flipped bit at byte %zu was accepted\n", deflate ? "deflated" : "stored", at - start);
			npz[at] ^= 0x10;
		}
		CHECKF(refused == tried, "%s: %d of %d corruptions refused", deflate ? "deflated" : "stored", refused, tried);
		CHECK_OK(pgs_npz_import(b, npz, len, PGS_NPZ_EXACT, &report, &err), &err);
		CHECK(same_tensors(a, b));
		free(npz);
	}
	pgs_net_free(a);
	pgs_net_free(b);
}

/* A copy of an npz (stored entries) whose entry `name` carries `extra` zero bytes after its array. */
static uint8_t *
pad_entry(const uint8_t *npz, size_t len, const char *name, size_t extra, size_t *out_len)
{
	zip_error_t ze;
	zip_source_t *in_src = zip_source_buffer_create(npz, len, 0, &ze),
			   *out_src = zip_source_buffer_create(NULL, 0, 0, &ze);
	zip_t	   *in = zip_open_from_source(in_src, ZIP_RDONLY, &ze),
			   *out = zip_open_from_source(out_src, ZIP_TRUNCATE, &ze);
	uint8_t    *result = NULL;
	zip_stat_t	zs;

	zip_source_keep(out_src);
	for (zip_int64_t i = 0; i < zip_get_num_entries(in, 0); i++)
	{
		bool		padded = zip_stat_index(in, i, 0, &zs) == 0 && strcmp(zs.name, name) == 0;
		size_t		size = zs.size + (padded ? extra : 0);
		uint8_t    *data = calloc(1, size);
		zip_file_t *f = zip_fopen_index(in, i, 0);

		CHECK(f != NULL && zip_fread(f, data, zs.size) == (zip_int64_t) zs.size);
		zip_fclose(f);
		CHECK(zip_file_add(out, zs.name, zip_source_buffer(out, data, size, 1), 0) >= 0);
	}
	CHECK(zip_close(out) == 0);
	zip_discard(in);
	if (zip_source_stat(out_src, &zs) == 0 && zip_source_open(out_src) == 0)
	{
		result = malloc(zs.size);
		*out_len = (size_t) zip_source_read(out_src, result, zs.size);
		zip_source_close(out_src);
	}
	zip_source_free(out_src);
	return result;
}

/*
 * ImageNet's head (1000 classes: 128 KB for this network's fc.weight, more than the 1-output tensor plus a
 * header's slack) is left out as pretrained on the shape its header declares, whole or deflated; a tensor
 * of the right shape that claims more bytes than that shape needs is still refused.
 */
static void
test_npz_pretrained_takes_large_head(void)
{
	pgs_net    *imagenet = make_net(true, 1000, 4),
			   *plain1 = make_net(false, 1, 5);
	uint8_t    *npz;
	size_t		len;
	pgs_npz_report report;

	if (!imagenet || !plain1)
		return;
	for (int deflate = 0; deflate <= 1; deflate++)
	{
		CHECK_OK(pgs_npz_export(imagenet, deflate, &pgs_malloc_allocator, &npz, &len, &err), &err);
		CHECK_OK(pgs_npz_import(plain1, npz, len, PGS_NPZ_PRETRAINED, &report, &err), &err);
		CHECK(report.skipped == 2 + 7 && report.loaded == pgs_net_tensor_count(plain1) - 2);
		CHECK_FAILS(pgs_npz_import(plain1, npz, len, PGS_NPZ_EXACT, &report, &err), PGS_ERR_INVALID_ARGUMENT, &err);
		free(npz);
	}
	{
		/* conv1.conv.weight's entry, its header's shape kept, padded by a megabyte of extra data. */
		pgs_net    *one = make_net(false, 1, 6);
		const pgs_net_tensor *t = pgs_net_find_tensor(one, "conv1.conv.weight");
		uint8_t    *good;
		size_t		good_len;

		CHECK_OK(pgs_npz_export(one, false, &pgs_malloc_allocator, &good, &good_len, &err), &err);
		CHECK(t != NULL);
		npz = pad_entry(good, good_len, "conv1.conv.weight.npy", (size_t) 1 << 20, &len);
		if (npz != NULL)
		{
			CHECK_FAILS(pgs_npz_import(one, npz, len, PGS_NPZ_PRETRAINED, &report, &err), PGS_ERR_BAD_DATA, &err);
			CHECKF(strstr(err.message, "but its header declares") != NULL, "%s", err.message);
			free(npz);
		}
		free(good);
		pgs_net_free(one);
	}
	pgs_net_free(imagenet);
	pgs_net_free(plain1);
}

int
main(void)
{
	ops = pgs_cpu_ops();
	RUN(test_model_round_trip);
	RUN(test_old_recipe_key_reads_as_normalization);
	RUN(test_checkpoint_resumes_exactly);
	RUN(test_model_loader_refuses_bad_files);
	RUN(test_npz_round_trip);
	RUN(test_npz_refuses_mismatches);
	RUN(test_npz_refuses_corrupt_entries);
	RUN(test_npz_pretrained_takes_large_head);
	return unit_done();
}
