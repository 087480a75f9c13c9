/* The roc binary form: reading its header, walking its groups with full bounds checks, encoding groups. */
#include "roc.h"

#include <math.h>

#include "encoding.h"

static pgs_status
corrupt(pgs_error *err, const char *what)
{
	return pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt roc value: %s", what);
}

pgs_status
pgs_roc_open(const uint8_t *data, size_t len, pgs_roc_view *view, pgs_error *err)
{
	const uint8_t *p = data + PGS_ROC_MAGIC_LEN;
	const uint8_t *end = data + len;
	uint64_t	fields[6];

	if (len < PGS_ROC_MAGIC_LEN || memcmp(data, PGS_ROC_MAGIC, PGS_ROC_MAGIC_LEN) != 0)
		return corrupt(err, "bad magic number or format version");
	if (len > PGS_ROC_MAX_BYTES)
		return corrupt(err, "too large");
	for (int i = 0; i < 6; i++)
	{
		p = pgs_varint_get(p, end, &fields[i]);
		if (p == NULL)
			return corrupt(err, "truncated header");
		if (fields[i] > (uint64_t) INT64_MAX)
			return corrupt(err, "count out of range");
	}
	view->distinct = (int64_t) fields[0];
	view->positives = (int64_t) fields[1];
	view->negatives = (int64_t) fields[2];
	view->skipped = (int64_t) fields[3];
	if (fields[4] > 63 || fields[5] > (uint64_t) (end - p))
		return corrupt(err, "bad key stream");
	view->shift = (int) fields[4];
	view->keys = p;
	view->counts = p + fields[5];
	view->end = end;
	view->bytes = len;
	if (view->positives > INT64_MAX - view->negatives)
		return corrupt(err, "count out of range");
	/* Every group holds at least one case and takes at least one byte in each stream. */
	if (view->distinct > view->positives + view->negatives ||
		(view->distinct == 0) != (view->positives + view->negatives == 0) ||
		(view->distinct == 0 && view->shift != 0) ||
		(uint64_t) view->distinct > (uint64_t) (view->counts - view->keys) ||
		(uint64_t) view->distinct > (uint64_t) (end - view->counts))
		return corrupt(err, "group count does not match the data");
	return PGS_OK;
}

void
pgs_roc_cursor_init(pgs_roc_cursor *cursor, const pgs_roc_view *view)
{
	cursor->view = view;
	cursor->key_p = view->keys;
	cursor->count_p = view->counts;
	cursor->key = 0;
	cursor->read = 0;
	cursor->positives = 0;
	cursor->negatives = 0;
	cursor->keys_or = 0;
}

int
pgs_roc_cursor_next(pgs_roc_cursor *cursor, pgs_roc_group *group)
{
	return pgs_roc_cursor_step(cursor, group);
}

pgs_status
pgs_roc_validate(const uint8_t *data, size_t len, pgs_error *err)
{
	pgs_roc_view view;
	pgs_roc_cursor cursor;
	pgs_roc_group group;
	int			r;
	pgs_status	st = pgs_roc_open(data, len, &view, err);

	if (st != PGS_OK)
		return st;
	pgs_roc_cursor_init(&cursor, &view);
	while ((r = pgs_roc_cursor_next(&cursor, &group)) == 1)
		;
	return r == 0 ? PGS_OK : corrupt(err, "malformed groups");
}

pgs_status
pgs_roc_encode(const pgs_roc_group *groups, int64_t ngroups, int64_t skipped,
			   const pgs_allocator *allocator, uint8_t **data, size_t *len, pgs_error *err)
{
	int64_t		positives = 0,
				negatives = 0;
	uint64_t	keys_or = 0,
				prev = 0;
	size_t		key_bytes = 0,
				count_bytes = 0,
				size;
	int			shift;
	uint8_t    *out,
			   *kp,
			   *cp;

	for (int64_t i = 0; i < ngroups; i++)
	{
		const pgs_roc_group *g = &groups[i];

		if (!isfinite(g->score))
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "score %g is not finite", g->score);
		if (g->positives < 0 || g->negatives < 0 || g->positives + g->negatives == 0 ||
			g->positives >= PGS_ROC_MAX_GROUP_COUNT || g->negatives >= PGS_ROC_MAX_GROUP_COUNT)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "group %lld has invalid counts", (long long) i);
		if (i > 0 && !(g->score < groups[i - 1].score))
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "scores must be distinct and in descending order");
		if (positives > INT64_MAX - g->positives - negatives - g->negatives)
			return pgs_fail(err, PGS_ERR_LIMIT, "too many cases");
		positives += g->positives;
		negatives += g->negatives;
		keys_or |= pgs_score_key(g->score);
		count_bytes += pgs_roc_count_size(g->positives, g->negatives);
	}
	shift = pgs_roc_key_shift(keys_or);
	for (int64_t i = 0; i < ngroups; i++)
	{
		uint64_t	key = pgs_score_key(groups[i].score) >> shift;

		key_bytes += pgs_varint_size(i == 0 ? key : prev - key);
		prev = key;
	}
	size = pgs_roc_header_size(ngroups, positives, negatives, skipped, shift, key_bytes) + key_bytes + count_bytes;
	if (size > PGS_ROC_MAX_BYTES)
		return pgs_fail(err, PGS_ERR_LIMIT, "roc value would take %zu bytes, more than 1 GB", size);
	out = pgs_alloc(allocator, size);
	if (out == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory for a roc value of %zu bytes", size);
	kp = pgs_roc_put_header(out, ngroups, positives, negatives, skipped, shift, key_bytes);
	cp = kp + key_bytes;
	for (int64_t i = 0; i < ngroups; i++)
	{
		uint64_t	key = pgs_score_key(groups[i].score) >> shift;

		kp = pgs_varint_put(kp, i == 0 ? key : prev - key);
		cp = pgs_roc_put_count(cp, groups[i].positives, groups[i].negatives);
		prev = key;
	}
	*data = out;
	*len = size;
	return PGS_OK;
}
