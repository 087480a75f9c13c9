/* libFuzzer target: fundus and mammogram preprocessing and network input, on any bytes. */
#include "../../kernels/device/augment.h"
#include "../../kernels/dicom/dicom.h"
#include "../../kernels/dicom/mammo_dicom.h"
#include "../../kernels/image/fundus.h"

#include <stdlib.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* A DICOM object through the mammogram pipeline, at a small output size. */
static void
mammogram(const uint8_t *data, size_t len, uint8_t options)
{
	pgs_mammo_options opts;
	pgs_mammo_report report;
	pgs_image	out;
	pgs_error	err;

	pgs_mammo_options_init(&opts);
	opts.height = 64 + (options & 3) * 40;
	opts.width = 52 + (options & 3) * 30;
	opts.dtype = (options >> 2) & 1 ? PGS_DTYPE_U16 : PGS_DTYPE_U8;
	if (pgs_mammo_from_dicom(data, len, &opts, 4 << 20, &pgs_malloc_allocator, &out, &report, &err) == PGS_OK)
		free(out.data);
}

/*
 * The first byte picks the pipeline (bit 5: mammogram) and its options (diameter, method, a forced scale),
 * the rest is the image, so the corpus explores both. Gradable fundus results are then fed to prepare_input
 * with a drawn augmentation.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const int diameters[4] = {8, 64, 299, 512};
	static const int scales[4] = {0, 1, 2, 8};
	pgs_fundus_options opts;
	pgs_fundus_circle circle;
	pgs_image	out;
	pgs_error	err;

	if (len < 1)
		return 0;
	pgs_dicom_register_codec();
	if (data[0] & 0x20)
	{
		mammogram(data + 1, len - 1, data[0]);
		return 0;
	}
	pgs_fundus_options_init(&opts);
	opts.diameter = diameters[data[0] & 3];
	opts.scale_denom = scales[(data[0] >> 2) & 3];
	opts.method = (data[0] >> 4) & 1 ? PGS_FUNDUS_GRAHAM : PGS_FUNDUS_VOETS2018;
	/* small enough that a hostile header cannot make one run allocate gigabytes */
	opts.max_pixels = 4 << 20;
	if (pgs_fundus_preprocess(data + 1, len - 1, &opts, &pgs_malloc_allocator, &out, &circle, &err) == PGS_OK &&
		out.data != NULL)
	{
		pgs_augment_recipe recipe;
		pgs_augment_params params;
		float	   *input = malloc(sizeof(float) * (size_t) out.width * out.height * 3);

		pgs_augment_recipe_published(&recipe);
		pgs_augment_draw(&recipe, data[0], len, &params);
		if (input != NULL)
			pgs_cpu_prepare_input(NULL, 1, out.height, out.width, 3, out.data, &params, data[0] % 3, input, &err);
		free(input);
		free(out.data);
	}
	return 0;
}
