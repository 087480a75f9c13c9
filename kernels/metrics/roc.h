/* ROC analysis from grouped counts: the screen.roc binary form, its builder, AUC, DeLong, operating points. */
#ifndef PGS_ROC_H
#define PGS_ROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The binary form of a roc value (also the aggregate's serial form). Byte-oriented, so it needs no
 * alignment, and canonical: one set of counts has exactly one form, so equal values are equal bytes.
 *
 *   "ROC" 0x01                  magic and format version
 *   varint distinct             number of distinct scores (groups)
 *   varint positives, negatives, skipped   totals; skipped counts rows whose score or label was NULL
 *   varint shift                number of low bits that are zero in every group's key, dropped below
 *   varint key_bytes            length of the key stream
 *   key stream, one varint per group in DESCENDING order of score: the first group's order-preserving key
 *     (encoding.h) shifted right by `shift`, then each group's (positive) difference from the previous key,
 *     shifted likewise
 *   count stream, one entry per group in the same order: varint count << 2 | tag, where tag 0 means count
 *     positives only, 1 count negatives only, 2 count positives followed by a varint of negatives (both >= 1)
 *
 * Varints are unsigned LEB128 in their shortest form; shift is the largest possible (the stored keys are not
 * all even) and 0 when there are no groups. Scores are finite and -0.0 is stored as 0.0. The two streams
 * decode independently, which lets the processor overlap them. Scores that were float4 before becoming
 * float8 (network outputs) have 29 zero bits, so an entry usually takes 2 to 3 bytes; full-precision
 * doubles take about 6.
 */
#define PGS_ROC_MAGIC "ROC\x01"
#define PGS_ROC_MAGIC_LEN 4
/* A roc value must fit a PostgreSQL varlena (1 GB less its header). */
#define PGS_ROC_MAX_BYTES ((size_t) 0x3FFFFFFF - 4)

/* The header of a roc value, read by pgs_roc_open. */
typedef struct pgs_roc_view
{
	int64_t		distinct;
	int64_t		positives;
	int64_t		negatives;
	int64_t		skipped;
	int			shift;
	const uint8_t *keys;		/* key stream */
	const uint8_t *counts;		/* count stream, which ends the form */
	const uint8_t *end;
	size_t		bytes;			/* size of the whole binary form */
} pgs_roc_view;

/* One group: a distinct score with its numbers of positive and negative cases. */
typedef struct pgs_roc_group
{
	double		score;
	int64_t		positives;
	int64_t		negatives;
} pgs_roc_group;

/* Walks the groups of a view from the highest score down. */
typedef struct pgs_roc_cursor
{
	const pgs_roc_view *view;
	const uint8_t *key_p;
	const uint8_t *count_p;
	uint64_t	key;			/* shifted */
	int64_t		read;			/* groups read so far */
	int64_t		positives;		/* running totals, checked against the header at the end */
	int64_t		negatives;
	uint64_t	keys_or;		/* of the stored keys: odd unless the shift could have been larger */
} pgs_roc_cursor;

/* Read and check the header of a binary form; the streams are checked as a cursor walks them. */
pgs_status	pgs_roc_open(const uint8_t *data, size_t len, pgs_roc_view *view, pgs_error *err);

/* Check a whole binary form (header, every entry, totals), e.g. one received from a client. */
pgs_status	pgs_roc_validate(const uint8_t *data, size_t len, pgs_error *err);

void		pgs_roc_cursor_init(pgs_roc_cursor *cursor, const pgs_roc_view *view);

/*
 * The next group: returns 1 and fills *group, 0 after the last group (when the totals match the header), or
 * -1 when the bytes are corrupt. Never reads outside the form.
 */
int			pgs_roc_cursor_next(pgs_roc_cursor *cursor, pgs_roc_group *group);

/* Encode groups given in descending order of score (distinct, finite) into a binary form. */
pgs_status	pgs_roc_encode(const pgs_roc_group *groups, int64_t ngroups, int64_t skipped,
						   const pgs_allocator *allocator, uint8_t **data, size_t *len, pgs_error *err);

/*
 * The builder behind the screen.roc aggregate. Rows are appended to a per-class buffer of keys; a full buffer
 * is radix-sorted into a run (the sorted keys, or (key, count) pairs when ties halve them), and encoding merges
 * all runs in one streaming pass, so memory stays near 8 bytes per case (less with ties) and every row is
 * sorted once and merged once. All memory comes from the allocator given at creation (the aggregate's context).
 */
typedef struct pgs_roc_builder pgs_roc_builder;

pgs_status	pgs_roc_builder_create(const pgs_allocator *allocator, pgs_roc_builder **builder, pgs_error *err);
void		pgs_roc_builder_free(pgs_roc_builder *builder);

/* Add one case; a NaN or infinite score is an invalid-argument error. */
pgs_status	pgs_roc_builder_add(pgs_roc_builder *builder, double score, bool positive, pgs_error *err);

/* Count a row that was skipped because its score or label was NULL. */
void		pgs_roc_builder_skip(pgs_roc_builder *builder, int64_t rows);

/* Add the cases of a binary form (a partial aggregate from a parallel worker, or a stored roc). */
pgs_status	pgs_roc_builder_add_encoded(pgs_roc_builder *builder, const uint8_t *data, size_t len,
										pgs_error *err);

/* Add every case of another builder (which is left unchanged in content). */
pgs_status	pgs_roc_builder_absorb(pgs_roc_builder *builder, pgs_roc_builder *other, pgs_error *err);

/* Encode what the builder holds; the builder stays usable. The result comes from result_allocator. */
pgs_status	pgs_roc_builder_encode(pgs_roc_builder *builder, const pgs_allocator *result_allocator,
								   uint8_t **data, size_t *len, pgs_error *err);

/* Cases added so far, NULL rows excluded. */
int64_t		pgs_roc_builder_cases(const pgs_roc_builder *builder);

/*
 * AUC and its DeLong variance. auc is NaN when there are no positives or no negatives; variance is NaN
 * when either class has fewer than two cases (the DeLong estimate divides by m - 1 and n - 1).
 */
typedef struct pgs_roc_auc
{
	double		auc;
	double		variance;
} pgs_roc_auc;

/* Exact Mann-Whitney AUC (ties count 1/2) and, with variance wanted, DeLong's variance (Sun & Xu 2014). */
pgs_status	pgs_roc_delong(const pgs_roc_view *view, bool want_variance, pgs_roc_auc *result, pgs_error *err);

/* estimate ± z·se with z the normal quantile at (1 + level)/2, clipped to [min, max]. */
void		pgs_wald_interval(double estimate, double se, double level, double min, double max,
							  double *lower, double *upper);

/* level must be a finite number strictly between 0 and 1. */
pgs_status	pgs_check_level(double level, pgs_error *err);

/*
 * Stratified bootstrap of the AUC: each replicate resamples the positives and the negatives with
 * replacement, keeping their numbers, from a seeded generator, so a seed always gives the same replicates.
 */
typedef struct pgs_roc_bootstrap pgs_roc_bootstrap;

pgs_status	pgs_roc_bootstrap_create(const pgs_roc_view *view, uint64_t seed, const pgs_allocator *allocator,
									 pgs_roc_bootstrap **bootstrap, pgs_error *err);
/*
 * Compute the next count replicates into aucs[0..count); a replicate costs O(n), so each one is a cancel
 * point (PGS_ERR_CANCELLED, the replicates done so far in aucs).
 */
pgs_status	pgs_roc_bootstrap_run(pgs_roc_bootstrap *bootstrap, int count, double *aucs, pgs_error *err);
void		pgs_roc_bootstrap_free(pgs_roc_bootstrap *bootstrap);

/* Percentile interval (quantiles as R's type 7) and standard deviation of replicates; sorts aucs. */
void		pgs_bootstrap_summary(double *aucs, int count, double level, double *lower, double *upper, double *se);

/*
 * Confusion counts at a threshold: a case is called positive when its score >= threshold. +Infinity calls
 * nothing positive, -Infinity everything.
 */
typedef struct pgs_confusion
{
	double		threshold;
	int64_t		tp;
	int64_t		fp;
	int64_t		tn;
	int64_t		fn;
} pgs_confusion;

pgs_status	pgs_roc_confusion(const pgs_roc_view *view, double threshold, pgs_confusion *result, pgs_error *err);

typedef enum pgs_roc_target
{
	PGS_TARGET_SENSITIVITY,
	PGS_TARGET_SPECIFICITY
} pgs_roc_target;

/*
 * The operating point for a target: for sensitivity, the highest threshold whose sensitivity is at least the
 * target (the best specificity that keeps it); for specificity, the lowest threshold whose specificity is at
 * least the target. Thresholds are distinct scores, or +Infinity (nothing called positive). The class the
 * target is about must have cases.
 */
pgs_status	pgs_roc_operating_point(const pgs_roc_view *view, pgs_roc_target target, double value,
									pgs_confusion *result, pgs_error *err);

/* The points of the ROC curve, from threshold +Infinity (0, 0) down to the lowest score (1, 1). */
typedef struct pgs_roc_curve
{
	pgs_roc_cursor cursor;
	int64_t		tp;
	int64_t		fp;
	bool		started;
} pgs_roc_curve;

void		pgs_roc_curve_begin(pgs_roc_curve *curve, const pgs_roc_view *view);
/* 1 and the next point, 0 at the end, -1 on corrupt data. */
int			pgs_roc_curve_next(pgs_roc_curve *curve, pgs_confusion *point);

/*
 * The paired DeLong test of two models scored on the same cases (DeLong, DeLong & Clarke-Pearson 1988), with
 * the structural components computed by sorting (Sun & Xu 2014). The builder keeps every case (16 bytes).
 */
typedef struct pgs_roc_pairs pgs_roc_pairs;

typedef struct pgs_roc_comparison
{
	double		auc_a;
	double		auc_b;
	double		variance_a;		/* DeLong variances and covariance of the two AUCs */
	double		variance_b;
	double		covariance;
	int64_t		positives;
	int64_t		negatives;
	int64_t		skipped;
} pgs_roc_comparison;

pgs_status	pgs_roc_pairs_create(const pgs_allocator *allocator, pgs_roc_pairs **pairs, pgs_error *err);
void		pgs_roc_pairs_free(pgs_roc_pairs *pairs);
pgs_status	pgs_roc_pairs_add(pgs_roc_pairs *pairs, double score_a, double score_b, bool positive, pgs_error *err);
void		pgs_roc_pairs_skip(pgs_roc_pairs *pairs, int64_t rows);
pgs_status	pgs_roc_pairs_absorb(pgs_roc_pairs *pairs, const pgs_roc_pairs *other, pgs_error *err);
/*
 * Serial form for parallel aggregation: "RPC" 0x01, counts, then the key pairs in host byte order. The first
 * `prefix` bytes of the block are left for the caller's own use (len includes them).
 */
pgs_status	pgs_roc_pairs_serialize(const pgs_roc_pairs *pairs, size_t prefix, const pgs_allocator *allocator,
									uint8_t **data, size_t *len, pgs_error *err);
pgs_status	pgs_roc_pairs_add_serialized(pgs_roc_pairs *pairs, const uint8_t *data, size_t len, pgs_error *err);
/* AUCs are NaN when a class is empty; variances NaN when a class has fewer than two cases. */
pgs_status	pgs_roc_pairs_compare(pgs_roc_pairs *pairs, pgs_roc_comparison *result, pgs_error *err);

/*
 * An SVG picture of one or more ROC curves: axes with a grid, the chance diagonal, each curve (thinned to
 * half-pixel steps), the AUC with its DeLong interval in the legend, and operating points marked at given
 * thresholds. Labels and title are UTF-8 text, escaped here.
 */
typedef struct pgs_roc_plot_curve
{
	const uint8_t *data;		/* binary form */
	size_t		len;
	const char *label;			/* NULL for none */
	const double *thresholds;	/* operating points to mark, may be NULL */
	int			nthresholds;
} pgs_roc_plot_curve;

typedef struct pgs_roc_plot_options
{
	int			width;			/* pixels, 200 to 4000 */
	int			height;
	double		level;			/* of the AUC intervals in the legend */
	const char *title;			/* NULL for none */
} pgs_roc_plot_options;

#define PGS_ROC_PLOT_MAX_CURVES 64
#define PGS_ROC_PLOT_MAX_MARKS 64

/* The SVG document, NUL-terminated (len excludes the NUL), allocated from allocator. */
pgs_status	pgs_roc_svg(const pgs_roc_plot_curve *curves, int ncurves, const pgs_roc_plot_options *options,
						const pgs_allocator *allocator, char **svg, size_t *len, pgs_error *err);

/* A finite score, or an invalid-argument error naming it. */
pgs_status	pgs_check_score(double score, pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
