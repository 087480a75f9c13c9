/* SQL functions over DICOM bytea: dicom_json, dicom_value, dicom_pixels, synthetic_mammogram; codec set-up. */
#include "../pgscreen.h"

#include "access/detoast.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "../../kernels/dicom/dicom.h"
#include "../../kernels/image/npy.h"

PG_FUNCTION_INFO_V1(pgscreen_dicom_json);
PG_FUNCTION_INFO_V1(pgscreen_dicom_value);
PG_FUNCTION_INFO_V1(pgscreen_dicom_pixels);
PG_FUNCTION_INFO_V1(pgscreen_synthetic_mammogram);

/*
 * Called from _PG_init, possibly in the postmaster: it only stores a pointer in the image decoder. dcmtk's
 * dictionary and codecs are set up by the first backend that parses DICOM.
 */
void
pgscreen_dicom_init(void)
{
	pgs_dicom_register_codec();
}

/*
 * A DICOM argument for functions that read only the header. A large object stored out of line (the
 * recommended STORAGE EXTERNAL) is fetched in growing slices until the top-level Pixel Data is in sight, and
 * only the bytes before it are used: scanning a table of mammograms for a tag reads kilobytes per row, not
 * the pixels. Small, inline or deflated objects come whole.
 */
bytea *
pgscreen_dicom_header_arg(FunctionCallInfo fcinfo, int argno)
{
	Datum		d = PG_GETARG_DATUM(argno);
	struct varlena *raw = (struct varlena *) DatumGetPointer(d);

	if (VARATT_IS_EXTENDED(raw))
	{
		Size		total = toast_raw_datum_size(d) - VARHDRSZ;

		for (Size want = 64 * 1024; want < total; want *= 4)
		{
			bytea	   *slice = DatumGetByteaPSlice(d, 0, (int32) want);
			size_t		header = pgs_dicom_header_length((const uint8_t *) VARDATA_ANY(slice),
														 VARSIZE_ANY_EXHDR(slice));

			if (header > 0)
			{
				bytea	   *result = palloc(VARHDRSZ + header);

				SET_VARSIZE(result, VARHDRSZ + header);
				memcpy(VARDATA(result), VARDATA_ANY(slice), header);
				pfree(slice);
				return result;
			}
			pfree(slice);
		}
	}
	return PG_GETARG_BYTEA_PP(argno);
}

Datum
pgscreen_dicom_json(PG_FUNCTION_ARGS)
{
	bytea	   *dcm = PG_GETARG_BYTEA_PP(0);
	PgscreenAllocator text;
	char	   *json;
	size_t		json_len;
	pgs_error	err;
	Datum		result;

	pgscreen_allocator_init(&text, false);
	pgs_error_clear(&err);
	pgscreen_check(pgs_dicom_json((const uint8_t *) VARDATA_ANY(dcm), VARSIZE_ANY_EXHDR(dcm), false, &text.base,
								  &json, &json_len, &err),
				   &err, "could not read DICOM data");
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	PG_RETURN_DATUM(result);
}

Datum
pgscreen_dicom_value(PG_FUNCTION_ARGS)
{
	char	   *tag = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *first_step = pnstrdup(tag, strcspn(tag, ".["));
	uint32_t	first;
	pgs_error	parse_err;
	/* Attributes before Pixel Data (nearly all) need only the header; bad tags are reported below. */
	bool		header = pgs_dicom_parse_tag(first_step, &first, &parse_err) == PGS_OK && first < 0x7FE00010u;
	bytea	   *dcm = header ? pgscreen_dicom_header_arg(fcinfo, 0) : PG_GETARG_BYTEA_PP(0);
	PgscreenAllocator text;
	char	   *value;
	bool		found;
	pgs_error	err;

	pgscreen_allocator_init(&text, false);
	pgs_error_clear(&err);
	pgscreen_check(pgs_dicom_value((const uint8_t *) VARDATA_ANY(dcm), VARSIZE_ANY_EXHDR(dcm), tag, &text.base,
								   &value, &found, &err),
				   &err, "could not read DICOM value");
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(value));
}

Datum
pgscreen_dicom_pixels(PG_FUNCTION_ARGS)
{
	bytea	   *dcm = PG_GETARG_BYTEA_PP(0);
	int32		frame = PG_GETARG_INT32(1);
	PgscreenAllocator pixels,
				file;
	pgs_image	image;
	pgs_tensor	tensor;
	uint8_t    *npy;
	size_t		npy_len;
	pgs_error	err;
	pgs_status	st;

	pgscreen_allocator_init(&pixels, false);
	pgscreen_allocator_init(&file, true);
	pgs_error_clear(&err);
	if (frame < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("frame number must not be negative")));
	pgscreen_check(pgs_dicom_decode_frame((const uint8_t *) VARDATA_ANY(dcm), VARSIZE_ANY_EXHDR(dcm), frame,
										  pgscreen_max_image_pixels, &pixels.base, &image, NULL, &err),
				   &err, "could not decode DICOM pixels");
	pgs_image_as_tensor(&image, &tensor);
	st = pgs_npy_write(&tensor, &file.base, &npy, &npy_len, &err);
	pgscreen_check_result(&file, st, &err, "could not write NPY tensor");
	pgs_image_free(&pixels.base, &image);
	PG_RETURN_BYTEA_P(pgscreen_bytea_result(&file, npy, npy_len));
}

/* synthetic_mammogram(seed, laterality, view, monochrome1, burned_in_label, phi, height, width,
 *                     patient_id, study_instance_uid, series_instance_uid, instance_number) */
Datum
pgscreen_synthetic_mammogram(PG_FUNCTION_ARGS)
{
	pgs_synthetic_mg_options opts;
	PgscreenAllocator file;
	uint8_t    *out;
	size_t		out_len;
	pgs_error	err;
	pgs_status	st;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	pgs_synthetic_mg_options_init(&opts);
	opts.seed = PG_GETARG_INT64(0);
	if (!PG_ARGISNULL(1))
	{
		char	   *lat = text_to_cstring(PG_GETARG_TEXT_PP(1));

		if (strcmp(lat, "L") != 0 && strcmp(lat, "R") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("laterality must be \"L\" or \"R\", not \"%s\"", lat)));
		opts.laterality = lat[0];
	}
	if (!PG_ARGISNULL(2))
	{
		char	   *view = text_to_cstring(PG_GETARG_TEXT_PP(2));

		if (strcmp(view, "CC") != 0 && strcmp(view, "MLO") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("view must be \"CC\" or \"MLO\", not \"%s\"", view)));
		strlcpy(opts.view, view, sizeof(opts.view));
	}
	opts.monochrome1 = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	opts.burned_in_label = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	opts.phi = PG_ARGISNULL(5) || PG_GETARG_BOOL(5);
	if (!PG_ARGISNULL(6))
		opts.rows = PG_GETARG_INT32(6);
	if (!PG_ARGISNULL(7))
		opts.columns = PG_GETARG_INT32(7);
	if (!PG_ARGISNULL(8))
		opts.patient_id = text_to_cstring(PG_GETARG_TEXT_PP(8));
	if (!PG_ARGISNULL(9))
		opts.study_instance_uid = text_to_cstring(PG_GETARG_TEXT_PP(9));
	if (!PG_ARGISNULL(10))
		opts.series_instance_uid = text_to_cstring(PG_GETARG_TEXT_PP(10));
	if (!PG_ARGISNULL(11))
		opts.instance_number = PG_GETARG_INT32(11);

	pgscreen_allocator_init(&file, true);
	pgs_error_clear(&err);
	st = pgs_dicom_synthetic_mammogram(&opts, &file.base, &out, &out_len, &err);
	pgscreen_check_result(&file, st, &err, "could not make a synthetic mammogram");
	PG_RETURN_BYTEA_P(pgscreen_bytea_result(&file, out, out_len));
}
