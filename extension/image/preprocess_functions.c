/* SQL functions of preprocessing: fundus_preprocess, fundus_circle, mammo_preprocess, mammo_breast, normalize, augment. */
#include "../pgscreen.h"
#include "../options.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "../../kernels/device/augment.h"
#include "../../kernels/dicom/mammo_dicom.h"
#include "../../kernels/image/fundus.h"
#include "../../kernels/image/npy.h"

PG_FUNCTION_INFO_V1(pgscreen_fundus_preprocess);
PG_FUNCTION_INFO_V1(pgscreen_fundus_circle);
PG_FUNCTION_INFO_V1(pgscreen_mammo_preprocess);
PG_FUNCTION_INFO_V1(pgscreen_mammo_breast);
PG_FUNCTION_INFO_V1(pgscreen_normalize);
PG_FUNCTION_INFO_V1(pgscreen_augment);

static bytea *
tensor_to_npy(const pgs_tensor *tensor)
{
	PgscreenAllocator file;
	uint8_t    *npy;
	size_t		len;
	pgs_error	err;
	pgs_status	st;

	pgscreen_allocator_init(&file, true);
	pgs_error_clear(&err);
	st = pgs_npy_write(tensor, &file.base, &npy, &len, &err);
	pgscreen_check_result(&file, st, &err, "could not write NPY tensor");
	return pgscreen_bytea_result(&file, npy, len);
}

/* A wrong argument: the kernel's message is the whole story. */
static void
raise_argument_error(const pgs_error *err)
{
	ereport(ERROR, (errcode(pgscreen_sqlstate(err->code)), errmsg("%s", err->message)));
}

static void
fundus_options_from_arguments(FunctionCallInfo fcinfo, pgs_fundus_options *opts)
{
	char	   *method = text_to_cstring(PG_GETARG_TEXT_PP(2));
	pgs_error	err;

	pgs_fundus_options_init(opts);
	opts->diameter = PG_GETARG_INT32(1);
	opts->max_pixels = pgscreen_max_image_pixels;
	pgs_error_clear(&err);
	if (pgs_fundus_method_parse(method, &opts->method, &err) != PGS_OK)
		raise_argument_error(&err);
}

/* A verdict fragment as an errdetail sentence: capitalised, with a full stop. */
static char *
verdict_sentence(const pgs_fundus_circle *circle)
{
	char		buf[256];

	pgs_fundus_describe_verdict(circle, buf, sizeof(buf));
	buf[0] = (char) pg_toupper((unsigned char) buf[0]);
	return psprintf("%s.", buf);
}

/*
 * fundus_preprocess(img, diameter, method, ungradable, exact): the fundus scaled to `diameter` pixels across,
 * centred in a black square, as an NPY uint8 diameter×diameter×3 tensor. An ungradable photograph is an
 * error, or NULL with ungradable => 'null' so that a whole table can be processed and such rows counted.
 * exact decodes at full resolution instead of the reduced DCT scale chosen for speed.
 */
Datum
pgscreen_fundus_preprocess(PG_FUNCTION_ARGS)
{
	bytea	   *img = PG_GETARG_BYTEA_PP(0);
	char	   *ungradable = text_to_cstring(PG_GETARG_TEXT_PP(3));
	bool		null_if_ungradable;
	pgs_fundus_options opts;
	pgs_fundus_circle circle;
	PgscreenAllocator pixels;
	pgs_image	out;
	pgs_tensor	tensor;
	pgs_error	err;
	bytea	   *result;

	if (strcmp(ungradable, "error") != 0 && strcmp(ungradable, "null") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for ungradable: \"%s\"", ungradable),
				 errhint("Use \"error\" or \"null\".")));
	null_if_ungradable = strcmp(ungradable, "null") == 0;
	fundus_options_from_arguments(fcinfo, &opts);
	if (PG_GETARG_BOOL(4))
		opts.scale_denom = 1;
	pgscreen_allocator_init(&pixels, false);
	pgs_error_clear(&err);
	pgscreen_check(pgs_fundus_preprocess((const uint8_t *) VARDATA_ANY(img), VARSIZE_ANY_EXHDR(img), &opts,
										 &pixels.base, &out, &circle, &err),
				   &err, "could not preprocess fundus photograph");
	if (!circle.gradable)
	{
		if (null_if_ungradable)
			PG_RETURN_NULL();
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no gradable fundus in the photograph"),
				 errdetail_internal("%s", verdict_sentence(&circle)),
				 errhint("Pass ungradable => 'null' to get NULL for such photographs and count them.")));
	}
	pgs_image_as_tensor(&out, &tensor);
	result = tensor_to_npy(&tensor);
	pgs_image_free(&pixels.base, &out);
	PG_FREE_IF_COPY(img, 0);
	PG_RETURN_BYTEA_P(result);
}

/*
 * fundus_circle(img, diameter): where fundus_preprocess finds the fundus, in pixel coordinates of the
 * original photograph, and why it is ungradable when it is. Columns are NULL when there is no bright region.
 */
Datum
pgscreen_fundus_circle(PG_FUNCTION_ARGS)
{
	bytea	   *img = PG_GETARG_BYTEA_PP(0);
	pgs_fundus_options opts;
	pgs_fundus_circle circle;
	pgs_error	err;
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "fundus_circle must return a composite type");
	pgs_fundus_options_init(&opts);
	opts.diameter = PG_GETARG_INT32(1);
	opts.max_pixels = pgscreen_max_image_pixels;
	pgs_error_clear(&err);
	pgscreen_check(pgs_fundus_preprocess((const uint8_t *) VARDATA_ANY(img), VARSIZE_ANY_EXHDR(img), &opts,
										 NULL, NULL, &circle, &err),
				   &err, "could not locate the fundus");
	values[0] = Float8GetDatum(circle.cx);
	values[1] = Float8GetDatum(circle.cy);
	values[2] = Float8GetDatum(circle.radius);
	nulls[0] = nulls[1] = nulls[2] = !circle.found;
	values[3] = Int32GetDatum(circle.width);
	values[4] = Int32GetDatum(circle.height);
	values[5] = Int32GetDatum(circle.scale_denom);
	values[6] = BoolGetDatum(circle.gradable);
	if (circle.gradable)
		nulls[7] = true;
	else
		values[7] = CStringGetTextDatum(verdict_sentence(&circle));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* Run the mammogram pipeline on argument 0 with the given options, raising on failure. */
static void
mammo_run(FunctionCallInfo fcinfo, const pgs_mammo_options *opts, const pgs_allocator *allocator, pgs_image *out,
		  pgs_mammo_report *report)
{
	bytea	   *dcm = PG_GETARG_BYTEA_PP(0);
	pgs_error	err;

	pgs_error_clear(&err);
	pgscreen_check(pgs_mammo_from_dicom((const uint8_t *) VARDATA_ANY(dcm), VARSIZE_ANY_EXHDR(dcm), opts,
										pgscreen_max_image_pixels, allocator, out, report, &err),
				   &err, "could not preprocess mammogram");
}

/*
 * mammo_preprocess(dcm, height, width, dtype): the breast of a DICOM mammogram, presented (Modality LUT, VOI,
 * MONOCHROME1 inverted), chest wall at the left, cropped, resized into height×width keeping its aspect ratio
 * and padded with black, as an NPY tensor of uint8, uint16 or float32 in [0, 1].
 */
Datum
pgscreen_mammo_preprocess(PG_FUNCTION_ARGS)
{
	char	   *dtype = text_to_cstring(PG_GETARG_TEXT_PP(3));
	pgs_mammo_options opts;
	pgs_mammo_report report;
	PgscreenAllocator pixels;
	pgs_image	out;
	pgs_tensor	tensor;

	pgs_mammo_options_init(&opts);
	opts.height = PG_GETARG_INT32(1);
	opts.width = PG_GETARG_INT32(2);
	if (strcmp(dtype, "uint8") == 0)
		opts.dtype = PGS_DTYPE_U8;
	else if (strcmp(dtype, "uint16") == 0)
		opts.dtype = PGS_DTYPE_U16;
	else if (strcmp(dtype, "float32") == 0)
		opts.dtype = PGS_DTYPE_F32;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid dtype: \"%s\"", dtype),
				 errhint("Use \"uint8\", \"uint16\" or \"float32\".")));
	pgscreen_allocator_init(&pixels, false);
	mammo_run(fcinfo, &opts, &pixels.base, &out, &report);
	pgs_image_as_tensor(&out, &tensor);
	PG_RETURN_BYTEA_P(tensor_to_npy(&tensor));
}

/* mammo_breast(dcm): what mammo_preprocess finds, in pixels of the stored image, for checking it. */
Datum
pgscreen_mammo_breast(PG_FUNCTION_ARGS)
{
	pgs_mammo_options opts;
	pgs_mammo_report report;
	PgscreenAllocator pixels;
	pgs_image	out;
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "mammo_breast must return a composite type");
	pgs_mammo_options_init(&opts);
	opts.height = opts.width = PGS_MAMMO_MIN_SIDE;
	pgscreen_allocator_init(&pixels, false);
	mammo_run(fcinfo, &opts, &pixels.base, &out, &report);
	values[0] = Int32GetDatum(report.x);
	values[1] = Int32GetDatum(report.y);
	values[2] = Int32GetDatum(report.width);
	values[3] = Int32GetDatum(report.height);
	values[4] = Int64GetDatum(report.pixels);
	values[5] = Int32GetDatum(report.threshold);
	values[6] = BoolGetDatum(report.flipped);
	values[7] = CStringGetTextDatum(pgs_orientation_source_name(report.oriented_by));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* Decode argument 0 into 8-bit pixels with 1 or 3 channels (other layouts become RGB). */
static pgs_image
decode_u8(FunctionCallInfo fcinfo)
{
	bytea	   *img = PG_GETARG_BYTEA_PP(0);
	PgscreenAllocator pixels;
	pgs_decode_options opts;
	pgs_image	image,
				rgb;
	pgs_error	err;

	pgscreen_allocator_init(&pixels, false);
	pgs_decode_options_init(&opts);
	opts.max_pixels = pgscreen_max_image_pixels;
	pgs_error_clear(&err);
	pgscreen_check(pgs_image_decode((const uint8_t *) VARDATA_ANY(img), VARSIZE_ANY_EXHDR(img), &opts,
									&pixels.base, &image, &err),
				   &err, "could not decode image");
	if (image.dtype == PGS_DTYPE_U8 && (image.channels == 1 || image.channels == 3))
		return image;
	pgscreen_check(pgs_image_to_rgb8(&image, &pixels.base, &rgb, &err), &err, "could not convert image");
	pgs_image_free(&pixels.base, &image);
	return rgb;
}

/* The C×H×W float32 tensor back to H×W×C (a transpose), in place through a copy. */
static void
chw_to_hwc(float *data, int channels, int height, int width)
{
	size_t		plane = (size_t) height * width;
	float	   *copy = palloc_extended(sizeof(float) * plane * channels, MCXT_ALLOC_HUGE);

	memcpy(copy, data, sizeof(float) * plane * channels);
	for (size_t i = 0; i < plane; i++)
		for (int c = 0; c < channels; c++)
			data[i * channels + c] = copy[c * plane + i];
	pfree(copy);
}

/* normalize(img, method, layout): float32 network input, C×H×W (the default) or H×W×C. */
Datum
pgscreen_normalize(PG_FUNCTION_ARGS)
{
	char	   *method = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *layout = text_to_cstring(PG_GETARG_TEXT_PP(2));
	pgs_normalization norm;
	pgs_image	image;
	pgs_tensor	tensor;
	pgs_error	err;
	float	   *out;
	size_t		count;

	pgs_error_clear(&err);
	if (pgs_normalization_parse(method, &norm, &err) != PGS_OK)
		raise_argument_error(&err);
	if (strcmp(layout, "chw") != 0 && strcmp(layout, "hwc") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid layout: \"%s\"", layout),
				 errhint("Use \"chw\" (channels first, what networks take) or \"hwc\".")));
	image = decode_u8(fcinfo);
	count = (size_t) image.width * image.height * image.channels;
	if (count > (MaxAllocHugeSize - 1024) / sizeof(float))
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("image is too large to normalize")));
	out = palloc_extended(sizeof(float) * count, MCXT_ALLOC_HUGE);
	pgscreen_check(pgs_cpu_prepare_input(NULL, 1, image.height, image.width, image.channels, image.data, NULL,
										 norm, out, &err),
				   &err, "could not normalize image");
	memset(&tensor, 0, sizeof(tensor));
	tensor.dtype = PGS_DTYPE_F32;
	tensor.ndim = 3;
	tensor.data = out;
	if (strcmp(layout, "chw") == 0)
	{
		tensor.shape[0] = image.channels;
		tensor.shape[1] = image.height;
		tensor.shape[2] = image.width;
	}
	else
	{
		chw_to_hwc(out, image.channels, image.height, image.width);
		tensor.shape[0] = image.height;
		tensor.shape[1] = image.width;
		tensor.shape[2] = image.channels;
	}
	PG_RETURN_BYTEA_P(tensor_to_npy(&tensor));
}

/* ---------- augment(img, seed, options) ---------- */

/*
 * augment(img, seed, options): the image as training would see it after augmentation (drawn from the
 * published recipe, changed by `options`, for the given seed), as an NPY uint8 H×W×C tensor to look at.
 */
Datum
pgscreen_augment(PG_FUNCTION_ARGS)
{
	int64		seed = PG_GETARG_INT64(1);
	OptionsReader reader;
	pgs_augment_recipe recipe;
	pgs_augment_params params;
	pgs_image	image;
	pgs_tensor	tensor;
	pgs_error	err;
	float	   *chw;
	uint8_t    *hwc;
	size_t		plane;

	options_begin_jsonb(&reader, PG_GETARG_JSONB_P(2), "screen.augment", options_augmentation_keys);
	pgs_augment_recipe_published(&recipe);
	options_read_augmentation(&reader, &recipe);
	pgs_augment_draw(&recipe, (uint64_t) seed, 0, &params);
	image = decode_u8(fcinfo);
	plane = (size_t) image.width * image.height;
	if (plane * image.channels > (MaxAllocHugeSize - 1024) / sizeof(float))
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("image is too large to augment")));
	chw = palloc_extended(sizeof(float) * plane * image.channels, MCXT_ALLOC_HUGE);
	pgs_error_clear(&err);
	pgscreen_check(pgs_cpu_prepare_input(NULL, 1, image.height, image.width, image.channels, image.data,
										 recipe.enabled ? &params : NULL, PGS_NORM_UNIT, chw, &err),
				   &err, "could not augment image");
	hwc = image.data;
	for (size_t i = 0; i < plane; i++)
		for (int c = 0; c < image.channels; c++)
			hwc[i * image.channels + c] = (uint8_t) (chw[c * plane + i] * 255.0f + 0.5f);
	pgs_image_as_tensor(&image, &tensor);
	PG_RETURN_BYTEA_P(tensor_to_npy(&tensor));
}
