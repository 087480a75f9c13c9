/* Unit tests of model inputs: NPY tensors, raw images of the input size, fundus preprocessing, errors. */
#include "unit.h"

#include <stdint.h>

#include "../../kernels/common/alloc.h"
#include "../../kernels/image/image.h"
#include "../../kernels/image/npy.h"
#include "../../kernels/image/synthetic.h"
#include "../../kernels/train/input.h"

static pgs_input_spec
spec_of(int side, pgs_recipe_preprocess preprocess)
{
	pgs_input_spec spec = {side, side, 3, preprocess, 0, PGS_DEFAULT_MAX_PIXELS};

	return spec;
}

static void
make_npy(int h, int w, int c, uint8_t **out, size_t *len)
{
	uint8_t    *pixels = malloc((size_t) h * w * c);
	pgs_tensor	t = {PGS_DTYPE_U8, 3, {h, w, c}, pixels};
	pgs_error	err;

	for (int i = 0; i < h * w * c; i++)
		pixels[i] = (uint8_t) (i * 31);
	CHECK_OK(pgs_npy_write(&t, &pgs_malloc_allocator, out, len, &err), &err);
	free(pixels);
}

static void
test_npy_of_the_input_size(void)
{
	pgs_input_spec spec = spec_of(8, PGS_RECIPE_PREPROCESS_VOETS2018);
	uint8_t    *npy,
				dst[8 * 8 * 3];
	size_t		len;
	pgs_error	err;

	/* An NPY tensor is taken as already preprocessed, even when the model preprocesses raw images. */
	make_npy(8, 8, 3, &npy, &len);
	CHECK_OK(pgs_input_prepare(npy, len, &spec, dst, &err), &err);
	CHECK(dst[0] == 0 && dst[1] == 31 && dst[191] == (uint8_t) (191 * 31));
	free(npy);
}

static void
test_wrong_sizes(void)
{
	pgs_input_spec spec = spec_of(8, PGS_RECIPE_PREPROCESS_NONE);
	uint8_t    *npy,
				dst[8 * 8 * 3];
	size_t		len;
	pgs_error	err;

	make_npy(8, 9, 3, &npy, &len);
	CHECK_FAILS(pgs_input_prepare(npy, len, &spec, dst, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strcmp(err.message, "input is 8×9×3 but the model takes 8×8×3 (height×width×channels)") == 0,
		   "%s", err.message);
	free(npy);
	make_npy(8, 8, 1, &npy, &len);
	CHECK_FAILS(pgs_input_prepare(npy, len, &spec, dst, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	free(npy);
	CHECK_FAILS(pgs_input_prepare((const uint8_t *) "not an image", 12, &spec, dst, &err), PGS_ERR_BAD_DATA, &err);
}

static void
test_raw_photograph(void)
{
	pgs_input_spec spec = spec_of(64, PGS_RECIPE_PREPROCESS_NONE);
	uint8_t    *jpeg,
				dst[64 * 64 * 3];
	size_t		len;
	pgs_synthetic_fundus_truth truth;
	pgs_error	err;
	long		sum = 0;

	CHECK_OK(pgs_synthetic_fundus(7, 2, 400, &pgs_malloc_allocator, &jpeg, &len, &truth, &err), &err);
	/* Without preprocessing a 400-pixel photograph is not a 64-pixel input. */
	CHECK_FAILS(pgs_input_prepare(jpeg, len, &spec, dst, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "no preprocessing") != NULL);
	/* With it, the fundus is found, cropped and scaled to 64×64. */
	spec.preprocess = PGS_RECIPE_PREPROCESS_VOETS2018;
	CHECK_OK(pgs_input_prepare(jpeg, len, &spec, dst, &err), &err);
	for (int i = 0; i < 64 * 64 * 3; i++)
		sum += dst[i];
	CHECK(sum > 64 * 64 * 3 * 20);	/* an orange disc, not a black square */
	CHECK(dst[0] == 0 && dst[1] == 0 && dst[2] == 0);	/* the corner is outside the circle */
	free(jpeg);
}

int
main(void)
{
	RUN(test_npy_of_the_input_size);
	RUN(test_wrong_sizes);
	RUN(test_raw_photograph);
	return unit_done();
}
