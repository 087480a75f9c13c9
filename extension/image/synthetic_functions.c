/* SQL functions for synthetic screening data: synthetic_fundus, synthetic_fundus_info, synthetic_fundus_set. */
#include "../pgscreen.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "../../kernels/image/synthetic.h"

PG_FUNCTION_INFO_V1(pgscreen_synthetic_fundus);
PG_FUNCTION_INFO_V1(pgscreen_synthetic_fundus_info);
PG_FUNCTION_INFO_V1(pgscreen_synthetic_fundus_set);

static bytea *
synthetic_jpeg(int64 seed, int grade, int size, pgs_synthetic_fundus_truth *truth)
{
	PgscreenAllocator file;
	uint8_t    *jpeg;
	size_t		len;
	pgs_error	err;

	pgscreen_allocator_init(&file, true);
	pgs_error_clear(&err);
	pgscreen_check(pgs_synthetic_fundus(seed, grade, size, &file.base, &jpeg, &len, truth, &err),
				   &err, "could not make a synthetic fundus photograph");
	return pgscreen_bytea_result(&file, jpeg, len);
}

/* synthetic_fundus(seed, grade, size): a JPEG fundus photograph of a synthetic eye. */
Datum
pgscreen_synthetic_fundus(PG_FUNCTION_ARGS)
{
	pgs_synthetic_fundus_truth truth;

	PG_RETURN_BYTEA_P(synthetic_jpeg(PG_GETARG_INT64(0), PG_GETARG_INT32(1), PG_GETARG_INT32(2), &truth));
}

/* synthetic_fundus_info(seed, grade, size): what synthetic_fundus draws, without the pixels. */
Datum
pgscreen_synthetic_fundus_info(PG_FUNCTION_ARGS)
{
	pgs_synthetic_fundus_truth t;
	PgscreenAllocator pixels;
	pgs_image	image;
	pgs_error	err;
	TupleDesc	tupdesc;
	Datum		values[13];
	bool		nulls[13] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "synthetic_fundus_info must return a composite type");
	pgscreen_allocator_init(&pixels, false);
	pgs_error_clear(&err);
	pgscreen_check(pgs_synthetic_fundus_render(PG_GETARG_INT64(0), PG_GETARG_INT32(1), PG_GETARG_INT32(2),
											   &pixels.base, &image, &t, &err),
				   &err, "could not make a synthetic fundus photograph");
	pgs_image_free(&pixels.base, &image);
	values[0] = Int32GetDatum(t.width);
	values[1] = Int32GetDatum(t.height);
	values[2] = Float8GetDatum(t.cx);
	values[3] = Float8GetDatum(t.cy);
	values[4] = Float8GetDatum(t.radius);
	values[5] = CStringGetTextDatum(t.right_eye ? "right" : "left");
	values[6] = Int32GetDatum(t.jpeg_quality);
	values[7] = Int32GetDatum(t.microaneurysms);
	values[8] = Int32GetDatum(t.haemorrhages);
	values[9] = Int32GetDatum(t.exudates);
	values[10] = Int32GetDatum(t.cotton_wool_spots);
	values[11] = Int32GetDatum(t.neovascularisation);
	values[12] = Int32GetDatum(t.laser_scars);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

typedef struct SetState
{
	int64		seed;
	int			size;
	double		mix[PGS_DR_GRADES];
} SetState;

static void
read_grade_mix(ArrayType *array, double *mix)
{
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;
	pgs_error	err;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grade_mix must be a one-dimensional array")));
	deconstruct_array(array, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &elem_nulls, &n);
	if (n != PGS_DR_GRADES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grade_mix must have %d weights, one per DR grade 0–4, not %d", PGS_DR_GRADES, n)));
	for (int g = 0; g < PGS_DR_GRADES; g++)
	{
		if (elem_nulls[g])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("grade_mix must not contain NULL")));
		mix[g] = DatumGetFloat8(elems[g]);
	}
	pgs_error_clear(&err);
	pgscreen_check(pgs_grade_mix_check(mix, &err), &err, "invalid grade_mix");
}

/*
 * synthetic_fundus_set(n, seed, size, grade_mix): n photographs of different synthetic eyes, each with a
 * grade drawn from the mix. One row at a time, so large sets stream instead of piling up in memory; row i
 * depends on (seed, i) only.
 */
Datum
pgscreen_synthetic_fundus_set(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	SetState   *state;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		TupleDesc	tupdesc;
		int32		n = PG_GETARG_INT32(0);

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		if (n < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("number of photographs must not be negative")));
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "synthetic_fundus_set must return a composite type");
		funcctx->tuple_desc = BlessTupleDesc(tupdesc);
		funcctx->max_calls = (uint64) n;
		state = palloc(sizeof(SetState));
		state->seed = PG_GETARG_INT64(1);
		state->size = PG_GETARG_INT32(2);
		read_grade_mix(PG_GETARG_ARRAYTYPE_P(3), state->mix);
		if (state->size < PGS_SYNTHETIC_MIN_SIZE || state->size > PGS_SYNTHETIC_MAX_SIZE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("size must be between %d and %d pixels, not %d", PGS_SYNTHETIC_MIN_SIZE,
							PGS_SYNTHETIC_MAX_SIZE, state->size)));
		funcctx->user_fctx = state;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	state = funcctx->user_fctx;
	if (funcctx->call_cntr < funcctx->max_calls)
	{
		int64		index = (int64) funcctx->call_cntr + 1;
		int			grade = pgs_synthetic_set_grade(state->seed, index, state->mix);
		pgs_synthetic_fundus_truth truth;
		Datum		values[3];
		bool		nulls[3] = {false};

		CHECK_FOR_INTERRUPTS();
		values[0] = Int32GetDatum((int32) index);
		values[1] = PointerGetDatum(synthetic_jpeg(pgs_synthetic_set_member_seed(state->seed, index), grade,
												   state->size, &truth));
		values[2] = Int32GetDatum(grade);
		SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
	}
	SRF_RETURN_DONE(funcctx);
}
