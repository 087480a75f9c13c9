/* The screen.roc aggregate's state: per-class key buffers radix-sorted into runs, all merged in one pass when encoded. */
#include "roc.h"

#include <math.h>
#include <stdlib.h>

#include "encoding.h"
#include "radix_sort.h"

/*
 * Rows go to a buffer of keys per class. A full buffer (2 Mi keys, 16 MiB) is radix-sorted into a run: the
 * sorted keys themselves, or (key, count) pairs when ties at least halve them. Runs are not merged as they
 * come: encoding merges them all in one streaming pass, so memory stays near 8 bytes per case (less with ties)
 * plus one buffer, and no merge ever holds two copies of the data. A buffer starts small, so a GROUP BY with
 * many small groups does not reserve megabytes per group.
 */
#define CHUNK_KEYS ((size_t) 1 << 21)
#define FIRST_BUFFER_KEYS 64
/* Beyond this many runs in a class (over 100 million cases, or many absorbed states) the two shortest merge. */
#define MAX_RUNS 64

/*
 * Keys in ascending order. With counts: distinct keys and how many cases have each. Without: one key per
 * case, repeats side by side.
 */
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
	roc_run		runs[MAX_RUNS];
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

/* The group at position *i of a run, ascending: its key and number of cases; *i moves past it. */
static inline void
next_group_up(const roc_run *run, int64_t *i, uint64_t *key, int64_t *count)
{
	int64_t		j = *i;

	*key = run->keys[j];
	if (run->counts)
	{
		*count = run->counts[j];
		*i = j + 1;
		return;
	}
	while (j < run->len && run->keys[j] == *key)
		j++;
	*count = j - *i;
	*i = j;
}

/* Merge two runs into a new one: plain keys when both are, else counted with equal keys combined. */
static pgs_status
merge_runs(pgs_roc_builder *b, const roc_run *x, const roc_run *y, roc_run *out, pgs_error *err)
{
	int64_t		cap = x->len + y->len,
				i = 0,
				j = 0,
				n = 0;
	bool		counted = x->counts || y->counts;

	out->keys = pgs_alloc(&b->allocator, (size_t) cap * sizeof *out->keys);
	out->counts = counted ? pgs_alloc(&b->allocator, (size_t) cap * sizeof *out->counts) : NULL;
	if (out->keys == NULL || (counted && out->counts == NULL))
	{
		free_run(b, out);
		return out_of_memory(err);
	}
	if (!counted)
	{
		while (i < x->len && j < y->len)
		{
			/* branch-free choice: the comparison of random scores is unpredictable */
			bool		take_x = x->keys[i] <= y->keys[j];

			out->keys[n++] = take_x ? x->keys[i] : y->keys[j];
			i += take_x;
			j += !take_x;
		}
		memcpy(out->keys + n, x->keys + i, (size_t) (x->len - i) * sizeof *out->keys);
		n += x->len - i;
		memcpy(out->keys + n, y->keys + j, (size_t) (y->len - j) * sizeof *out->keys);
		out->len = n + y->len - j;
		return PGS_OK;
	}
	while (i < x->len || j < y->len)
	{
		uint64_t	kx = 0,
					ky = 0;
		int64_t		cx = 0,
					cy = 0,
					i_next = i,
					j_next = j;

		if (i < x->len)
			next_group_up(x, &i_next, &kx, &cx);
		if (j < y->len)
			next_group_up(y, &j_next, &ky, &cy);
		if (j >= y->len || (i < x->len && kx < ky))
		{
			out->keys[n] = kx;
			out->counts[n++] = cx;
			i = i_next;
		}
		else if (i >= x->len || ky < kx)
		{
			out->keys[n] = ky;
			out->counts[n++] = cy;
			j = j_next;
		}
		else
		{
			out->keys[n] = kx;
			out->counts[n++] = cx + cy;
			i = i_next;
			j = j_next;
		}
	}
	out->len = n;
	return PGS_OK;
}

/* Take a run (now owned by the builder); with MAX_RUNS already held, first merge the two shortest. */
static pgs_status
push_run(pgs_roc_builder *b, roc_class *cls, roc_run *run, pgs_error *err)
{
	if (run->len == 0)
	{
		free_run(b, run);
		return PGS_OK;
	}
	if (cls->nruns == MAX_RUNS)
	{
		int			s1 = 0,
					s2 = 1;
		roc_run		merged;
		pgs_status	st;

		for (int r = 1; r < cls->nruns; r++)
		{
			if (cls->runs[r].len < cls->runs[s1].len)
			{
				s2 = s1;
				s1 = r;
			}
			else if (r != s1 && cls->runs[r].len < cls->runs[s2].len)
				s2 = r;
		}
		if ((st = merge_runs(b, &cls->runs[s1], &cls->runs[s2], &merged, err)) != PGS_OK)
		{
			free_run(b, run);
			return st;
		}
		free_run(b, &cls->runs[s1]);
		free_run(b, &cls->runs[s2]);
		cls->runs[s1] = merged;
		cls->runs[s2] = cls->runs[--cls->nruns];
	}
	cls->runs[cls->nruns++] = *run;
	return PGS_OK;
}

/*
 * Sort the pending keys of a class into a run. With few ties the sorted buffer itself becomes the run (no
 * copy); when ties at least halve the keys, (key, count) pairs take less room.
 */
static pgs_status
flush_pending(pgs_roc_builder *b, roc_class *cls, pgs_error *err)
{
	size_t		n = cls->pending_len;
	uint64_t   *keys = cls->pending;
	uint64_t   *scratch;
	size_t		distinct = 0;
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
	if (2 * distinct <= n)
	{
		run.keys = pgs_alloc(&b->allocator, distinct * sizeof *run.keys);
		run.counts = pgs_alloc(&b->allocator, distinct * sizeof *run.counts);
		if (run.keys == NULL || run.counts == NULL)
		{
			free_run(b, &run);
			return out_of_memory(err);
		}
		for (size_t i = 0; i < n; i++)
		{
			if (i == 0 || keys[i] != keys[i - 1])
			{
				run.keys[run.len] = keys[i];
				run.counts[run.len++] = 0;
			}
			run.counts[run.len - 1]++;
		}
		cls->pending_len = 0;
	}
	else
	{
		uint64_t   *trimmed = n < cls->pending_cap / 2 ? pgs_realloc(&b->allocator, keys, n * sizeof *keys) : NULL;

		run.keys = trimmed ? trimmed : keys;
		run.len = (int64_t) n;
		cls->pending = NULL;
		cls->pending_len = 0;
		cls->pending_cap = 0;
	}
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
		if (cls->pending_len == cls->pending_cap)
		{
			/* a class that filled a buffer before gets a full one at once */
			size_t		cap = cls->pending_cap ? 2 * cls->pending_cap :
				cls->nruns > 0 ? CHUNK_KEYS : FIRST_BUFFER_KEYS;
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

/* Copy a run into the builder's memory and take it. */
static pgs_status
push_copy(pgs_roc_builder *b, roc_class *cls, const roc_run *src, pgs_error *err)
{
	roc_run		run = {src->len, NULL, NULL};

	run.keys = pgs_alloc(&b->allocator, (size_t) src->len * sizeof *run.keys);
	if (src->counts)
		run.counts = pgs_alloc(&b->allocator, (size_t) src->len * sizeof *run.counts);
	if (run.keys == NULL || (src->counts && run.counts == NULL))
	{
		free_run(b, &run);
		return out_of_memory(err);
	}
	memcpy(run.keys, src->keys, (size_t) src->len * sizeof *run.keys);
	if (src->counts)
		memcpy(run.counts, src->counts, (size_t) src->len * sizeof *run.counts);
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

/*
 * One class's runs merged on the fly, from the highest key down: a max-heap of run heads, each at the next
 * position to read (counting down). Yields each distinct key with its number of cases.
 */
typedef struct run_head
{
	const roc_run *run;
	int64_t		i;
} run_head;

typedef struct class_stream
{
	run_head	heap[MAX_RUNS];
	int			n;
} class_stream;

static inline uint64_t
head_key(const run_head *h)
{
	return h->run->keys[h->i];
}

static void
sift_down(class_stream *s, int at)
{
	for (;;)
	{
		int			largest = at,
					left = 2 * at + 1,
					right = left + 1;
		run_head	swap;

		if (left < s->n && head_key(&s->heap[left]) > head_key(&s->heap[largest]))
			largest = left;
		if (right < s->n && head_key(&s->heap[right]) > head_key(&s->heap[largest]))
			largest = right;
		if (largest == at)
			return;
		swap = s->heap[at];
		s->heap[at] = s->heap[largest];
		s->heap[largest] = swap;
		at = largest;
	}
}

static void
stream_init(class_stream *s, const roc_class *cls)
{
	s->n = 0;
	for (int r = 0; r < cls->nruns; r++)
		if (cls->runs[r].len > 0)
			s->heap[s->n++] = (run_head) {&cls->runs[r], cls->runs[r].len - 1};
	for (int at = s->n / 2 - 1; at >= 0; at--)
		sift_down(s, at);
}

static bool
stream_next(class_stream *s, uint64_t *key, int64_t *count)
{
	uint64_t	k;
	int64_t		total = 0;

	if (s->n == 0)
		return false;
	k = head_key(&s->heap[0]);
	do
	{
		run_head   *h = &s->heap[0];

		if (h->run->counts)
			total += h->run->counts[h->i--];
		else
			while (h->i >= 0 && h->run->keys[h->i] == k)
			{
				total++;
				h->i--;
			}
		if (h->i < 0)
			s->heap[0] = s->heap[--s->n];
		if (s->n > 0)
			sift_down(s, 0);
	} while (s->n > 0 && head_key(&s->heap[0]) == k);
	*key = k;
	*count = total;
	return true;
}

/* Both classes' streams side by side: each distinct key from the highest down with (positives, negatives). */
typedef struct group_walk
{
	class_stream streams[2];
	bool		has[2];
	uint64_t	key[2];
	int64_t		count[2];
} group_walk;

static void
walk_init(group_walk *w, const pgs_roc_builder *b)
{
	for (int c = 0; c < 2; c++)
	{
		stream_init(&w->streams[c], &b->classes[c]);
		w->has[c] = stream_next(&w->streams[c], &w->key[c], &w->count[c]);
	}
}

static bool
walk_next(group_walk *w, uint64_t *key, int64_t *positives, int64_t *negatives)
{
	int64_t    *counts[2] = {negatives, positives};

	if (!w->has[0] && !w->has[1])
		return false;
	*key = !w->has[0] ? w->key[1] : !w->has[1] ? w->key[0] : w->key[0] > w->key[1] ? w->key[0] : w->key[1];
	for (int c = 0; c < 2; c++)
	{
		*counts[c] = 0;
		if (w->has[c] && w->key[c] == *key)
		{
			*counts[c] = w->count[c];
			w->has[c] = stream_next(&w->streams[c], &w->key[c], &w->count[c]);
		}
	}
	return true;
}

/*
 * Upper bounds of the two streams, so encoding writes straight into the result in one pass. Counts: a group's
 * entry is no longer than the entries of the run items it combines (varint sizes are subadditive), and a run
 * item takes the size of its count with the tag. Keys: a step s takes 1 + log2(s)/7 bytes at most and the d
 * steps sum to the key range R, so by concavity they take at most d(1 + log2(R/d)/7), which grows with d, so
 * the number of run items stands in for the unknown number of groups. Both are within about 15 % for
 * continuous scores.
 */
static void
stream_bounds(const pgs_roc_builder *b, int shift, size_t *key_bound, size_t *count_bound)
{
	uint64_t	lowest = UINT64_MAX,
				highest = 0;
	double		items = 0;

	*count_bound = 0;
	for (int c = 0; c < 2; c++)
		for (int r = 0; r < b->classes[c].nruns; r++)
		{
			const roc_run *run = &b->classes[c].runs[r];

			items += (double) run->len;
			lowest = run->keys[0] < lowest ? run->keys[0] : lowest;
			highest = run->keys[run->len - 1] > highest ? run->keys[run->len - 1] : highest;
			if (run->counts == NULL)
				*count_bound += (size_t) run->len;
			else
				for (int64_t i = 0; i < run->len; i++)
					*count_bound += pgs_varint_size((uint64_t) run->counts[i] << 2 | 2);
		}
	*key_bound = 0;
	if (items > 0)
	{
		double		range = (double) ((highest - lowest) >> shift) + 1.0;
		double		per_step = 1.0 + log2(fmax(range / items, 1.0)) / 7.0;

		*key_bound = 10 + (size_t) ceil(items * per_step);
	}
}

/* The header is at most the magic and six 10-byte varints. */
#define MAX_HEADER_BYTES (4 + 6 * 10)

pgs_status
pgs_roc_builder_encode(pgs_roc_builder *b, const pgs_allocator *result_allocator,
					   uint8_t **data, size_t *len, pgs_error *err)
{
	group_walk	walk;
	uint64_t	key,
				prev = 0,
				keys_or = 0;
	int64_t		p,
				n,
				distinct = 0;
	size_t		key_bound,
				count_bound,
				bound,
				key_bytes,
				count_bytes,
				header;
	int			shift;
	uint8_t    *out,
			   *kp,
			   *cp,
			   *counts_start;
	pgs_status	st;

	for (int c = 0; c < 2; c++)
	{
		if ((st = flush_pending(b, &b->classes[c], err)) != PGS_OK)
			return st;
		for (int r = 0; r < b->classes[c].nruns; r++)
			for (int64_t i = 0; i < b->classes[c].runs[r].len; i++)
				keys_or |= b->classes[c].runs[r].keys[i];
	}
	shift = pgs_roc_key_shift(keys_or);
	stream_bounds(b, shift, &key_bound, &count_bound);
	bound = MAX_HEADER_BYTES + key_bound + count_bound;
	if (bound > PGS_ROC_MAX_BYTES)
		return pgs_fail(err, PGS_ERR_LIMIT, "a roc value of %lld cases would take more than 1 GB",
						(long long) pgs_roc_builder_cases(b));
	out = pgs_alloc(result_allocator, bound);
	if (out == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory for a roc value of %zu bytes", bound);

	/* Keys from behind the largest header, counts from behind the key bound; closed up afterwards. */
	kp = out + MAX_HEADER_BYTES;
	counts_start = cp = kp + key_bound;
	walk_init(&walk, b);
	while (walk_next(&walk, &key, &p, &n))
	{
		if (p >= PGS_ROC_MAX_GROUP_COUNT || n >= PGS_ROC_MAX_GROUP_COUNT)
		{
			pgs_free(result_allocator, out);
			return pgs_fail(err, PGS_ERR_LIMIT, "more than 2^61 cases share one score");
		}
		key >>= shift;
		kp = pgs_varint_put(kp, distinct == 0 ? key : prev - key);
		cp = pgs_roc_put_count(cp, p, n);
		prev = key;
		distinct++;
	}
	key_bytes = (size_t) (kp - (out + MAX_HEADER_BYTES));
	count_bytes = (size_t) (cp - counts_start);
	header = pgs_roc_header_size(distinct, b->classes[1].cases, b->classes[0].cases, b->skipped, shift, key_bytes);
	if (header + key_bytes + count_bytes > PGS_ROC_MAX_BYTES)
	{
		pgs_free(result_allocator, out);
		return pgs_fail(err, PGS_ERR_LIMIT, "roc value of %lld distinct scores would take %zu bytes, more than 1 GB",
						(long long) distinct, header + key_bytes + count_bytes);
	}
	memmove(out + header, out + MAX_HEADER_BYTES, key_bytes);
	memmove(out + header + key_bytes, counts_start, count_bytes);
	pgs_roc_put_header(out, distinct, b->classes[1].cases, b->classes[0].cases, b->skipped, shift, key_bytes);
	*data = out;
	*len = header + key_bytes + count_bytes;
	return PGS_OK;
}
