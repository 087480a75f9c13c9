/* libFuzzer target: a roc value's binary form (the bytea cast and the aggregate's serial form) and the paired state. */
#include "../../kernels/metrics/roc.h"

#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* Everything a SQL function does with a roc value that passed validation, within bounds or failing cleanly. */
static void
use_roc(const uint8_t *data, size_t len)
{
	pgs_roc_view view;
	pgs_roc_auc auc;
	pgs_roc_curve curve;
	pgs_confusion point;
	pgs_roc_builder *b;
	pgs_roc_bootstrap *boot;
	pgs_error	err;
	uint8_t    *again;
	size_t		again_len;
	double		aucs[4];

	if (pgs_roc_open(data, len, &view, &err) != PGS_OK)
		return;
	pgs_roc_delong(&view, true, &auc, &err);
	pgs_roc_curve_begin(&curve, &view);
	while (pgs_roc_curve_next(&curve, &point) == 1)
		;
	pgs_roc_confusion(&view, 0.5, &point, &err);
	pgs_roc_operating_point(&view, PGS_TARGET_SENSITIVITY, 0.9, &point, &err);
	pgs_roc_operating_point(&view, PGS_TARGET_SPECIFICITY, 0.9, &point, &err);
	if (view.positives + view.negatives < 100000 &&
		pgs_roc_bootstrap_create(&view, 1, &pgs_malloc_allocator, &boot, &err) == PGS_OK)
	{
		pgs_roc_bootstrap_run(boot, 4, aucs, &err);
		pgs_roc_bootstrap_free(boot);
	}
	/* a validated form decodes into a builder and encodes back to the same bytes */
	if (pgs_roc_validate(data, len, &err) == PGS_OK &&
		pgs_roc_builder_create(&pgs_malloc_allocator, &b, &err) == PGS_OK)
	{
		if (pgs_roc_builder_add_encoded(b, data, len, &err) == PGS_OK &&
			pgs_roc_builder_encode(b, &pgs_malloc_allocator, &again, &again_len, &err) == PGS_OK)
		{
			if (again_len != len || memcmp(again, data, len) != 0)
				abort();
			free(again);
		}
		pgs_roc_builder_free(b);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	pgs_roc_pairs *pairs;
	pgs_roc_comparison c;
	pgs_error	err;

	use_roc(data, len);
	if (pgs_roc_pairs_create(&pgs_malloc_allocator, &pairs, &err) == PGS_OK)
	{
		if (pgs_roc_pairs_add_serialized(pairs, data, len, &err) == PGS_OK)
			pgs_roc_pairs_compare(pairs, &c, &err);
		pgs_roc_pairs_free(pairs);
	}
	return 0;
}
