/* The screen.roc aggregate's state: per-class key buffers, radix-sorted into runs that merge like a binary counter. */
#include "roc.h"

#include <math.h>
#include <stdlib.h>

#include "encoding.h"
#include "radix_sort.h"

/*
 * A buffer of 64 Ki keys (512 KiB) fits in L2 cache, where its radix sort runs fast; larger buffers sort
 * slower per key than the merges they save. Buffers start small so that a GROUP BY with many small groups
 * does not reserve half a megabyte per group.
 */
#ifndef CHUNK_KEYS
#define CHUNK_KEYS ((size_t) 1 << 22)
#endif
#define FIRST_BUFFER_KEYS 64
/* Adjacent runs differ at least twofold in length, so 64 runs cover any 64-bit number of keys. */
#define MAX_RUNS 64

/* Distinct keys in ascending order with their counts; counts is NULL when every count is 1. */
typedef struct roc_run
{
	int64_t		len;
	uint64_t   *keys;
	int64_t    *counts;
} roc_run;

/* The cases of one class (index 1: positives, 0: negatives). */
typedef struct roc_class
{
	uint64_t   *pending;		/* keys not yet sorted */
	size_t		pending_len;
	size_t		pending_cap;
	roc_run		runs[MAX_RUNS]; /* a stack; lengths more than halve from bottom to top */
	int			nruns;
	int64_t		cases;
} roc_class;

struct pgs_roc_builder
{
	pgs_allocator allocator;
	roc_class	classes[2];
	int64_t		skipped;
};

static pgs_status
out_of_memory(pgs_error *err)
{
	return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory while building a roc value");
}

static inline int64_t
run_count(const roc_run *run, int64_t i)
{
	return run->counts ? run->counts[i] : 1;
}

static void
free_run(pgs_roc_builder *b, roc_run *run)
{
	pgs_free(&b->allocator, run->keys);
	pgs_free(&b->allocator, run->counts);
	run->keys = NULL;
	run->counts = NULL;
	run->len = 0;
}

pgs_status
pgs_roc_builder_create(const pgs_allocator *allocator, pgs_roc_builder **builder, pgs_error *err)
{
	pgs_roc_builder *b = pgs_alloc(allocator, sizeof *b);

	if (b == NULL)
		return out_of_memory(err);
	memset(b, 0, sizeof *b);
	b->allocator = *allocator;
	*builder = b;
	return PGS_OK;
}

void
pgs_roc_builder_free(pgs_roc_builder *b)
{
	if (b == NULL)
		return;
	for (int c = 0; c < 2; c++)
	{
		pgs_free(&b->allocator, b->classes[c].pending);
		for (int r = 0; r < b->classes[c].nruns; r++)
			free_run(b, &b->classes[c].runs[r]);
	}
	pgs_free(&b->allocator, b);
}

/* Merge two runs into a new one, adding the counts of keys present in both. */
static pgs_status
merge_runs(pgs_roc_builder *b, const roc_run *x, const roc_run *y, roc_run *out, pgs_error *err)
{
	int64_t		cap = x->len + y->len;
	int64_t		i = 0,
				j = 0,
				n = 0;
	uint64_t   *keys = pgs_alloc(&b->allocator, (size_t) cap * sizeof *keys);
	int64_t    *counts = NULL;

	if (keys == NULL)
		return out_of_memory(err);
	if (x->counts || y->counts)
	{
		counts = pgs_alloc(&b->allocator, (size_t) cap * sizeof *counts);
		if (counts == NULL)
		{
			pgs_free(&b->allocator, keys);
			return out_of_memory(err);
		}
	}
	while (i < x->len && j < y->len)
	{
		uint64_t	kx = x->keys[i],
					ky = y->keys[j];

		if (kx == ky)
		{
			if (counts == NULL)
			{
				/* First tie between all-ones runs: from here on counts are needed. */
				counts = pgs_alloc(&b->allocator, (size_t) cap * sizeof *counts);
				if (counts == NULL)
				{
					pgs_free(&b->allocator, keys);
					return out_of_memory(err);
				}
				for (int64_t k = 0; k < n; k++)
					counts[k] = 1;
			}
			keys[n] = kx;
			counts[n++] = run_count(x, i++) + run_count(y, j++);
			continue;
		}
		/* Branch-free choice: the comparison of random scores is unpredictable. */
		bool		take_x = kx < ky;

		keys[n] = take_x ? kx : ky;
		if (counts)
			counts[n] = take_x ? run_count(x, i) : run_count(y, j);
		n++;
		i += take_x;
		j += !take_x;
	}
	for (; i < x->len; i++, n++)
	{
		keys[n] = x->keys[i];
		if (counts)
			counts[n] = run_count(x, i);
	}
	for (; j < y->len; j++, n++)
	{
		keys[n] = y->keys[j];
		if (counts)
			counts[n] = run_count(y, j);
	}
	/* Ties shrank the result a lot: give the slack back. */
	if (n < cap - cap / 4)
	{
		uint64_t   *k2 = pgs_realloc(&b->allocator, keys, (size_t) n * sizeof *keys);
		int64_t    *c2 = counts ? pgs_realloc(&b->allocator, counts, (size_t) n * sizeof *counts) : NULL;

		if (k2 != NULL)
			keys = k2;
		if (c2 != NULL)
			counts = c2;
	}
	out->len = n;
	out->keys = keys;
	out->counts = counts;
	return PGS_OK;
}

/* Push a run (now owned by the builder) and merge while the run below is at most twice as long. */
static pgs_status
push_run(pgs_roc_builder *b, roc_class *cls, roc_run *run, pgs_error *err)
{
	if (run->len == 0)
	{
		free_run(b, run);
		return PGS_OK;
	}
	cls->runs[cls->nruns++] = *run;
	while (cls->nruns >= 2 && cls->runs[cls->nruns - 2].len <= 2 * cls->runs[cls->nruns - 1].len)
	{
		roc_run		merged;
		roc_run    *below = &cls->runs[cls->nruns - 2];
		roc_run    *top = &cls->runs[cls->nruns - 1];
		pgs_status	st = merge_runs(b, below, top, &merged, err);

		if (st != PGS_OK)
			return st;
		free_run(b, below);
		free_run(b, top);
		cls->nruns--;
		cls->runs[cls->nruns - 1] = merged;
	}
	return PGS_OK;
}

/* Sort the pending keys of a class into a run and push it. */
static pgs_status
flush_pending(pgs_roc_builder *b, roc_class *cls, pgs_error *err)
{
	size_t		n = cls->pending_len;
	uint64_t   *keys = cls->pending;
	uint64_t   *scratch;
	int64_t		distinct = 0;
	roc_run		run = {0, NULL, NULL};

	if (n == 0)
		return PGS_OK;
	scratch = malloc(n * sizeof *scratch);
	if (scratch == NULL)
		return out_of_memory(err);
	pgs_radix_sort_keys(keys, scratch, n);
	free(scratch);
	for (size_t i = 0; i < n; i++)
		distinct += (i == 0 || keys[i] != keys[i - 1]);
	run.keys = pgs_alloc(&b->allocator, (size_t) distinct * sizeof *run.keys);
	if (run.keys == NULL)
		return out_of_memory(err);
	if ((size_t) distinct < n)
	{
		run.counts = pgs_alloc(&b->allocator, (size_t) distinct * sizeof *run.counts);
		if (run.counts == NULL)
		{
			free_run(b, &run);
			return out_of_memory(err);
		}
	}
	for (size_t i = 0; i < n; i++)
	{
		if (i == 0 || keys[i] != keys[i - 1])
		{
			run.keys[run.len] = keys[i];
			if (run.counts)
				run.counts[run.len] = 0;
			run.len++;
		}
		if (run.counts)
			run.counts[run.len - 1]++;
	}
	cls->pending_len = 0;
	return push_run(b, cls, &run, err);
}

pgs_status
pgs_check_score(double score, pgs_error *err)
{
	if (isfinite(score))
		return PGS_OK;
	return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "score %s is not a finite number",
					isnan(score) ? "NaN" : score > 0 ? "Infinity" : "-Infinity");
}

pgs_status
pgs_roc_builder_add(pgs_roc_builder *b, double score, bool positive, pgs_error *err)
{
	roc_class  *cls = &b->classes[positive ? 1 : 0];

	if (!isfinite(score))
		return pgs_check_score(score, err);
	if (cls->pending_len == cls->pending_cap)
	{
		if (cls->pending_cap == CHUNK_KEYS)
		{
			pgs_status	st = flush_pending(b, cls, err);

			if (st != PGS_OK)
				return st;
		}
		else
		{
			size_t		cap = cls->pending_cap ? 2 * cls->pending_cap : FIRST_BUFFER_KEYS;
			uint64_t   *grown = pgs_realloc(&b->allocator, cls->pending, cap * sizeof *grown);

			if (grown == NULL)
				return out_of_memory(err);
			cls->pending = grown;
			cls->pending_cap = cap;
		}
	}
	cls->pending[cls->pending_len++] = pgs_score_key(score);
	cls->cases++;
	return PGS_OK;
}

void
pgs_roc_builder_skip(pgs_roc_builder *b, int64_t rows)
{
	b->skipped += rows;
}

int64_t
pgs_roc_builder_cases(const pgs_roc_builder *b)
{
	return b->classes[0].cases + b->classes[1].cases;
}

/* Copy a run into the builder's memory and push it. */
static pgs_status
push_copy(pgs_roc_builder *b, roc_class *cls, const roc_run *src, pgs_error *err)
{
	roc_run		run = {src->len, NULL, NULL};

	run.keys = pgs_alloc(&b->allocator, (size_t) src->len * sizeof *run.keys);
	if (run.keys == NULL)
		return out_of_memory(err);
	memcpy(run.keys, src->keys, (size_t) src->len * sizeof *run.keys);
	if (src->counts)
	{
		run.counts = pgs_alloc(&b->allocator, (size_t) src->len * sizeof *run.counts);
		if (run.counts == NULL)
		{
			free_run(b, &run);
			return out_of_memory(err);
		}
		memcpy(run.counts, src->counts, (size_t) src->len * sizeof *run.counts);
	}
	return push_run(b, cls, &run, err);
}

pgs_status
pgs_roc_builder_absorb(pgs_roc_builder *b, pgs_roc_builder *other, pgs_error *err)
{
	for (int c = 0; c < 2; c++)
	{
		roc_class  *from = &other->classes[c];
		pgs_status	st = flush_pending(other, from, err);

		if (st != PGS_OK)
			return st;
		for (int r = 0; r < from->nruns; r++)
		{
			st = push_copy(b, &b->classes[c], &from->runs[r], err);
			if (st != PGS_OK)
				return st;
		}
		b->classes[c].cases += from->cases;
	}
	b->skipped += other->skipped;
	return PGS_OK;
}

pgs_status
pgs_roc_builder_add_encoded(pgs_roc_builder *b, const uint8_t *data, size_t len, pgs_error *err)
{
	pgs_roc_view view;
	pgs_roc_cursor cursor;
	pgs_roc_group g;
	roc_run		runs[2] = {{0, NULL, NULL}, {0, NULL, NULL}};
	int64_t		groups[2] = {0, 0};
	bool		tied[2] = {false, false};
	int			r;
	pgs_status	st = pgs_roc_open(data, len, &view, err);

	if (st != PGS_OK)
		return st;
	/* First pass: sizes, and whether any count exceeds one; also checks the whole form. */
	pgs_roc_cursor_init(&cursor, &view);
	while ((r = pgs_roc_cursor_step(&cursor, &g)) == 1)
	{
		groups[1] += g.positives > 0;
		groups[0] += g.negatives > 0;
		tied[1] |= g.positives > 1;
		tied[0] |= g.negatives > 1;
	}
	if (r < 0)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt roc value: malformed groups");
	for (int c = 0; c < 2; c++)
	{
		if (groups[c] == 0)
			continue;
		runs[c].keys = pgs_alloc(&b->allocator, (size_t) groups[c] * sizeof(uint64_t));
		if (runs[c].keys != NULL && tied[c])
			runs[c].counts = pgs_alloc(&b->allocator, (size_t) groups[c] * sizeof(int64_t));
		if (runs[c].keys == NULL || (tied[c] && runs[c].counts == NULL))
		{
			free_run(b, &runs[0]);
			free_run(b, &runs[1]);
			return out_of_memory(err);
		}
		runs[c].len = groups[c];
	}
	/* Second pass: groups come in descending order, runs are ascending, so fill from the end. */
	pgs_roc_cursor_init(&cursor, &view);
	while (pgs_roc_cursor_step(&cursor, &g) == 1)
	{
		int64_t		counts[2] = {g.negatives, g.positives};

		for (int c = 0; c < 2; c++)
		{
			if (counts[c] == 0)
				continue;
			groups[c]--;
			runs[c].keys[groups[c]] = pgs_score_key(g.score);
			if (runs[c].counts)
				runs[c].counts[groups[c]] = counts[c];
		}
	}
	st = push_run(b, &b->classes[0], &runs[0], err);
	if (st != PGS_OK)
	{
		free_run(b, &runs[1]);
		return st;
	}
	if ((st = push_run(b, &b->classes[1], &runs[1], err)) != PGS_OK)
		return st;
	b->classes[1].cases += view.positives;
	b->classes[0].cases += view.negatives;
	b->skipped += view.skipped;
	return PGS_OK;
}

/* Flush the pending keys and merge every run of a class into one. */
static pgs_status
collapse_class(pgs_roc_builder *b, roc_class *cls, pgs_error *err)
{
	pgs_status	st = flush_pending(b, cls, err);

	while (st == PGS_OK && cls->nruns >= 2)
	{
		roc_run		merged;
		roc_run    *below = &cls->runs[cls->nruns - 2];
		roc_run    *top = &cls->runs[cls->nruns - 1];

		st = merge_runs(b, below, top, &merged, err);
		if (st != PGS_OK)
			break;
		free_run(b, below);
		free_run(b, top);
		cls->nruns--;
		cls->runs[cls->nruns - 1] = merged;
	}
	return st;
}

/*
 * Walk the union of the two classes' keys from the highest down, calling emit for each group. Used twice by
 * encode: once to size the result, once to write it.
 */
typedef struct encode_walk
{
	const roc_run *neg;
	const roc_run *pos;
	int64_t		i;				/* next negative, counting down */
	int64_t		j;				/* next positive, counting down */
} encode_walk;

static inline bool
walk_next(encode_walk *w, uint64_t *key, int64_t *positives, int64_t *negatives)
{
	bool		has_neg = w->i >= 0,
				has_pos = w->j >= 0;
	uint64_t	kn,
				kp;

	if (!has_neg && !has_pos)
		return false;
	kn = has_neg ? w->neg->keys[w->i] : 0;
	kp = has_pos ? w->pos->keys[w->j] : 0;
	*positives = 0;
	*negatives = 0;
	if (has_neg && (!has_pos || kn >= kp))
	{
		*key = kn;
		*negatives = run_count(w->neg, w->i--);
	}
	if (has_pos && (!has_neg || kp >= kn))
	{
		*key = kp;
		*positives = run_count(w->pos, w->j--);
	}
	return true;
}

pgs_status
pgs_roc_builder_encode(pgs_roc_builder *b, const pgs_allocator *result_allocator,
					   uint8_t **data, size_t *len, pgs_error *err)
{
	static const roc_run empty = {0, NULL, NULL};
	const roc_run *neg,
			   *pos;
	encode_walk walk;
	uint64_t	key = 0,
				prev = 0,
				keys_or = 0;
	int64_t		p,
				n,
				distinct = 0;
	size_t		key_bytes = 0,
				count_bytes = 0,
				size;
	int			shift;
	uint8_t    *out,
			   *kp,
			   *cp;
	pgs_status	st;

	for (int c = 0; c < 2; c++)
		if ((st = collapse_class(b, &b->classes[c], err)) != PGS_OK)
			return st;
	neg = b->classes[0].nruns ? &b->classes[0].runs[0] : &empty;
	pos = b->classes[1].nruns ? &b->classes[1].runs[0] : &empty;
	for (int64_t i = 0; i < neg->len; i++)
		keys_or |= neg->keys[i];
	for (int64_t i = 0; i < pos->len; i++)
		keys_or |= pos->keys[i];
	shift = pgs_roc_key_shift(keys_or);

	/* First walk: the size of each stream. */
	walk = (encode_walk) {neg, pos, neg->len - 1, pos->len - 1};
	while (walk_next(&walk, &key, &p, &n))
	{
		if (p >= PGS_ROC_MAX_GROUP_COUNT || n >= PGS_ROC_MAX_GROUP_COUNT)
			return pgs_fail(err, PGS_ERR_LIMIT, "more than 2^61 cases share one score");
		key >>= shift;
		key_bytes += pgs_varint_size(distinct == 0 ? key : prev - key);
		count_bytes += pgs_roc_count_size(p, n);
		prev = key;
		distinct++;
	}
	size = pgs_roc_header_size(distinct, b->classes[1].cases, b->classes[0].cases, b->skipped, shift, key_bytes) +
		key_bytes + count_bytes;
	if (size > PGS_ROC_MAX_BYTES)
		return pgs_fail(err, PGS_ERR_LIMIT,
						"roc value of %lld distinct scores would take %zu bytes, more than 1 GB",
						(long long) distinct, size);
	out = pgs_alloc(result_allocator, size);
	if (out == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory for a roc value of %zu bytes", size);

	/* Second walk: write them. */
	kp = pgs_roc_put_header(out, distinct, b->classes[1].cases, b->classes[0].cases, b->skipped, shift, key_bytes);
	cp = kp + key_bytes;
	walk = (encode_walk) {neg, pos, neg->len - 1, pos->len - 1};
	for (int64_t g = 0; walk_next(&walk, &key, &p, &n); g++)
	{
		key >>= shift;
		kp = pgs_varint_put(kp, g == 0 ? key : prev - key);
		cp = pgs_roc_put_count(cp, p, n);
		prev = key;
	}
	*data = out;
	*len = size;
	return PGS_OK;
}
