/* SQL functions over image bytea: image_info, to_npy, to_png and tensor_info. */
#include "../pgscreen.h"

#include <limits.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "../../kernels/image/image.h"
#include "../../kernels/image/npy.h"

int			pgscreen_max_image_pixels = (int) PGS_DEFAULT_MAX_PIXELS;

static int	server_max_image_pixels = (int) PGS_DEFAULT_MAX_PIXELS;
static int	session_max_image_pixels = 0;

static void
apply_pixel_limits(int server_limit, int session_limit)
{
	pgscreen_max_image_pixels = session_limit > 0 ? Min(server_limit, session_limit) : server_limit;
}

/* Assign hooks run before the variable changes: each passes its new value and the other's current one. */
static void
assign_server_max_image_pixels(int newval, void *extra)
{
	apply_pixel_limits(newval, session_max_image_pixels);
}

static void
assign_session_max_image_pixels(int newval, void *extra)
{
	apply_pixel_limits(server_max_image_pixels, newval);
}

void
pgscreen_image_init(void)
{
	/* A guard that protects the server: only a superuser may raise it; any session may lower its own. */
	DefineCustomIntVariable("pgscreen.max_image_pixels",
							"Largest image, in pixels (width × height), that pgscreen decodes.",
							"Checked before any pixel memory is allocated; guards against decompression bombs. Superusers only; sessions lower it with pgscreen.session_max_image_pixels.",
							&server_max_image_pixels,
							(int) PGS_DEFAULT_MAX_PIXELS,
							1, INT_MAX,
							PGC_SUSET,
							0,
							NULL, assign_server_max_image_pixels, NULL);

	DefineCustomIntVariable("pgscreen.session_max_image_pixels",
							"A lower pixel limit this session chooses for itself; 0 means pgscreen.max_image_pixels.",
							"Never raises the limit: the lower of the two applies.",
							&session_max_image_pixels,
							0,
							0, INT_MAX,
							PGC_USERSET,
							0,
							NULL, assign_session_max_image_pixels, NULL);

	/* Memory for decoded images is reserved against a server-wide budget (extension/image_budget.c). */
	pgscreen_image_budget_init();
}

PG_FUNCTION_INFO_V1(pgscreen_image_info);
PG_FUNCTION_INFO_V1(pgscreen_to_npy);
PG_FUNCTION_INFO_V1(pgscreen_to_png);
PG_FUNCTION_INFO_V1(pgscreen_tensor_info);

/*
 * Every format keeps its header at the start, so for a value stored out of line (a mammogram, a large
 * photograph) image_info first reads a slice: scanning a table for sizes then fetches kilobytes per row,
 * not megabytes. Only when the slice is not enough (a JPEG with huge metadata before its frame header) is
 * the whole value read.
 */
#define IMAGE_HEADER_SLICE (256 * 1024)

static pgs_status
probe_datum(bytea *img, pgs_image_info *info, pgs_error *err)
{
	pgs_error_clear(err);
	return pgs_image_probe((const uint8_t *) VARDATA_ANY(img), VARSIZE_ANY_EXHDR(img), info, err);
}

Datum
pgscreen_image_info(PG_FUNCTION_ARGS)
{
	Datum		raw = PG_GETARG_DATUM(0);
	pgs_image_info info;
	pgs_error	err;
	pgs_status	st;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "image_info must return a composite type");
	if (VARATT_IS_EXTENDED(DatumGetPointer(raw)) && toast_raw_datum_size(raw) > VARHDRSZ + IMAGE_HEADER_SLICE)
	{
		st = probe_datum(DatumGetByteaPSlice(raw, 0, IMAGE_HEADER_SLICE), &info, &err);
		if (st != PGS_OK)
			st = probe_datum(PG_GETARG_BYTEA_PP(0), &info, &err);
	}
	else
		st = probe_datum(PG_GETARG_BYTEA_PP(0), &info, &err);
	pgscreen_check(st, &err, "could not read image header");
	values[0] = CStringGetTextDatum(pgs_image_format_name(info.format));
	values[1] = Int32GetDatum(info.width);
	values[2] = Int32GetDatum(info.height);
	values[3] = Int32GetDatum(info.channels);
	values[4] = Int32GetDatum(info.bits);
	values[5] = Int32GetDatum(info.frames);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * Decode argument 0 with the frame (arg 1) and scale denominator (arg 2) options into palloc'd memory;
 * display asks for what a viewer shows (DICOM: windowed to 8 bits) rather than the stored values.
 */
static void
decode_arguments(FunctionCallInfo fcinfo, PgscreenAllocator *allocator, bool display, pgs_image *image)
{
	bytea	   *img = PG_GETARG_BYTEA_PP(0);
	pgs_decode_options opts;
	pgs_error	err;
	pgs_status	st;

	pgs_decode_options_init(&opts);
	opts.frame = PG_GETARG_INT32(1);
	opts.scale_denom = PG_GETARG_INT32(2);
	opts.max_pixels = pgscreen_max_image_pixels;
	opts.display = display;
	pgs_error_clear(&err);
	st = pgs_image_decode((const uint8_t *) VARDATA_ANY(img), VARSIZE_ANY_EXHDR(img), &opts, &allocator->base,
						  image, &err);
	pgscreen_check_result(allocator, st, &err, "could not decode image");
	PG_FREE_IF_COPY(img, 0);
}

/*
 * Pixels are decoded straight into the result: the allocator leaves room for the NPY prefix in front of
 * them, so a 30 MB photograph needs one buffer, not two and a copy (which also kept glibc returning and
 * re-faulting the memory on every row).
 */
Datum
pgscreen_to_npy(PG_FUNCTION_ARGS)
{
	PgscreenAllocator pixels,
				file;
	pgs_image	image;
	pgs_tensor	tensor;
	uint8_t    *npy;
	size_t		npy_len;
	pgs_error	err;
	pgs_status	st;

	pgscreen_allocator_init(&pixels, true);
	pixels.headroom = PGS_NPY_IMAGE_PREFIX_BYTES;
	decode_arguments(fcinfo, &pixels, false, &image);
	pgs_image_as_tensor(&image, &tensor);
	if (pgs_npy_header_bytes(&tensor, (uint8_t *) image.data - PGS_NPY_IMAGE_PREFIX_BYTES,
							 PGS_NPY_IMAGE_PREFIX_BYTES) == PGS_NPY_IMAGE_PREFIX_BYTES)
		PG_RETURN_BYTEA_P(pgscreen_bytea_result(&pixels, image.data, pgs_image_bytes(&image)));

	/* A prefix of another length (absurd shapes) cannot happen for images, but is handled by a copy. */
	pgscreen_allocator_init(&file, true);
	pgs_error_clear(&err);
	st = pgs_npy_write(&tensor, &file.base, &npy, &npy_len, &err);
	pgscreen_check_result(&file, st, &err, "could not write NPY tensor");
	pgs_image_free(&pixels.base, &image);
	PG_RETURN_BYTEA_P(pgscreen_bytea_result(&file, npy, npy_len));
}

Datum
pgscreen_to_png(PG_FUNCTION_ARGS)
{
	PgscreenAllocator pixels,
				file;
	pgs_image	image;
	uint8_t    *png;
	size_t		png_len;
	pgs_error	err;
	pgs_status	st;

	pgscreen_allocator_init(&pixels, false);
	pgscreen_allocator_init(&file, true);
	decode_arguments(fcinfo, &pixels, true, &image);
	pgs_error_clear(&err);
	/* Float tensors (normalised network inputs) are shown stretched from their own range to 0–255. */
	if (image.dtype == PGS_DTYPE_F32)
	{
		pgs_image	u8;

		pgscreen_check(pgs_image_f32_to_u8(&image, &pixels.base, &u8, &err), &err, "could not convert image");
		pgs_image_free(&pixels.base, &image);
		image = u8;
	}
	st = pgs_png_encode(&image, &file.base, &png, &png_len, &err);
	pgscreen_check_result(&file, st, &err, "could not encode PNG");
	pgs_image_free(&pixels.base, &image);
	PG_RETURN_BYTEA_P(pgscreen_bytea_result(&file, png, png_len));
}

Datum
pgscreen_tensor_info(PG_FUNCTION_ARGS)
{
	bytea	   *npy = PG_GETARG_BYTEA_PP(0);
	pgs_npy_header hdr;
	pgs_error	err;
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false};
	Datum		dims[PGS_TENSOR_MAX_DIMS];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "tensor_info must return a composite type");
	pgs_error_clear(&err);
	pgscreen_check(pgs_npy_parse_header((const uint8_t *) VARDATA_ANY(npy), VARSIZE_ANY_EXHDR(npy), &hdr, &err),
				   &err, "invalid NPY tensor");
	for (int d = 0; d < hdr.ndim; d++)
		dims[d] = Int64GetDatum(hdr.shape[d]);
	values[0] = CStringGetTextDatum(pgs_dtype_name(hdr.dtype));
	values[1] = PointerGetDatum(construct_array(dims, hdr.ndim, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	values[2] = Int32GetDatum(hdr.ndim);
	values[3] = Int64GetDatum((int64) hdr.data_bytes);
	values[4] = BoolGetDatum(hdr.fortran_order);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
