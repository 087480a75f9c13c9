/* Command-line face of kernels/metrics for the ROC oracle and benchmark, plus the bare sort-and-rank-sum floor. */
#include "../../kernels/metrics/distributions.h"
#include "../../kernels/metrics/encoding.h"
#include "../../kernels/metrics/radix_sort.h"
#include "../../kernels/metrics/roc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *usage =
"usage: pgs_roc COMMAND ...\n"
"  DATA files: uint64 n, n float64 scores, n uint8 labels (0/1), little-endian; PAIRS: n, n a, n b, n labels\n"
"  summary DATA [LEVEL]            n, positives, negatives, distinct, auc, variance, se, lower, upper\n"
"  curve DATA                      threshold tp fp tn fn, one line per point\n"
"  point DATA sensitivity|specificity VALUE    threshold tp fp tn fn\n"
"  confusion DATA THRESHOLD        threshold tp fp tn fn\n"
"  bootstrap DATA RESAMPLES SEED LEVEL         auc lower upper se\n"
"  compare PAIRS                   auc_a auc_b variance_a variance_b covariance\n"
"  encode DATA OUT                 the binary roc form\n"
"  svg DATA [TITLE [THRESHOLD...]] an SVG plot on stdout\n"
"  cp | betainc | betainv | normq  read 'k n level' | 'a b x' | 'a b p' | 'p' lines from stdin\n"
"  bench DATA RUNS                 seconds: kernel builder (add + encode), AUC + DeLong CI from the form\n"
"  floor DATA RUNS                 seconds: bare sort-and-rank-sum AUC with qsort and with a radix sort\n";

typedef struct dataset
{
	uint64_t	n;
	double	   *a;
	double	   *b;				/* second model's scores (PAIRS only) */
	uint8_t    *labels;
} dataset;

static void
die(const char *what)
{
	fprintf(stderr, "pgs_roc: %s\n", what);
	exit(2);
}

static void
check(pgs_status st, const pgs_error *err)
{
	if (st != PGS_OK)
	{
		fprintf(stderr, "pgs_roc: %s: %s\n", pgs_strerror(st), err->message);
		exit(1);
	}
}

static dataset
read_data(const char *path, bool pairs)
{
	FILE	   *f = fopen(path, "rb");
	dataset		d = {0, NULL, NULL, NULL};

	if (f == NULL || fread(&d.n, sizeof d.n, 1, f) != 1)
		die("cannot read data file");
	d.a = malloc(d.n * sizeof(double) + 1);
	d.b = pairs ? malloc(d.n * sizeof(double) + 1) : NULL;
	d.labels = malloc(d.n + 1);
	if (d.a == NULL || d.labels == NULL || (pairs && d.b == NULL) ||
		fread(d.a, sizeof(double), d.n, f) != d.n ||
		(pairs && fread(d.b, sizeof(double), d.n, f) != d.n) ||
		fread(d.labels, 1, d.n, f) != d.n)
		die("truncated data file");
	fclose(f);
	return d;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

/* Build the binary roc form of a dataset through the aggregate's builder. */
static uint8_t *
encode(const dataset *d, size_t *len)
{
	pgs_roc_builder *b;
	pgs_error	err;
	uint8_t    *data;

	check(pgs_roc_builder_create(&pgs_malloc_allocator, &b, &err), &err);
	for (uint64_t i = 0; i < d->n; i++)
		check(pgs_roc_builder_add(b, d->a[i], d->labels[i] != 0, &err), &err);
	check(pgs_roc_builder_encode(b, &pgs_malloc_allocator, &data, len, &err), &err);
	pgs_roc_builder_free(b);
	return data;
}

static void
print_point(const pgs_confusion *p)
{
	printf("%.17g %lld %lld %lld %lld\n", p->threshold, (long long) p->tp, (long long) p->fp,
		   (long long) p->tn, (long long) p->fn);
}

static int
cmd_summary(const dataset *d, double level)
{
	size_t		len;
	uint8_t    *data = encode(d, &len);
	pgs_roc_view v;
	pgs_roc_auc auc;
	pgs_error	err;
	double		lower = NAN,
				upper = NAN;

	check(pgs_roc_open(data, len, &v, &err), &err);
	check(pgs_roc_delong(&v, true, &auc, &err), &err);
	if (!isnan(auc.variance))
		pgs_wald_interval(auc.auc, sqrt(auc.variance), level, 0.0, 1.0, &lower, &upper);
	printf("n %lld\npositives %lld\nnegatives %lld\ndistinct %lld\nbytes %zu\n",
		   (long long) (v.positives + v.negatives), (long long) v.positives, (long long) v.negatives,
		   (long long) v.distinct, len);
	printf("auc %.17g\nvariance %.17g\nse %.17g\nlower %.17g\nupper %.17g\n", auc.auc, auc.variance,
		   sqrt(auc.variance), lower, upper);
	free(data);
	return 0;
}

static int
cmd_curve(const dataset *d)
{
	size_t		len;
	uint8_t    *data = encode(d, &len);
	pgs_roc_view v;
	pgs_roc_curve curve;
	pgs_confusion p;
	pgs_error	err;
	int			r;

	check(pgs_roc_open(data, len, &v, &err), &err);
	pgs_roc_curve_begin(&curve, &v);
	while ((r = pgs_roc_curve_next(&curve, &p)) == 1)
		print_point(&p);
	free(data);
	return r == 0 ? 0 : 1;
}

static int
cmd_point(const dataset *d, const char *target, const char *value, bool confusion)
{
	size_t		len;
	uint8_t    *data = encode(d, &len);
	pgs_roc_view v;
	pgs_confusion p;
	pgs_error	err;

	check(pgs_roc_open(data, len, &v, &err), &err);
	if (confusion)
		check(pgs_roc_confusion(&v, strtod(value, NULL), &p, &err), &err);
	else
		check(pgs_roc_operating_point(&v, strcmp(target, "sensitivity") == 0 ? PGS_TARGET_SENSITIVITY :
									  PGS_TARGET_SPECIFICITY, strtod(value, NULL), &p, &err), &err);
	print_point(&p);
	free(data);
	return 0;
}

static int
cmd_bootstrap(const dataset *d, int resamples, uint64_t seed, double level)
{
	size_t		len;
	uint8_t    *data = encode(d, &len);
	pgs_roc_view v;
	pgs_roc_auc auc;
	pgs_roc_bootstrap *boot;
	pgs_error	err;
	double	   *aucs = malloc((size_t) resamples * sizeof(double));
	double		lower,
				upper,
				se;

	check(pgs_roc_open(data, len, &v, &err), &err);
	check(pgs_roc_delong(&v, false, &auc, &err), &err);
	check(pgs_roc_bootstrap_create(&v, seed, &pgs_malloc_allocator, &boot, &err), &err);
	check(pgs_roc_bootstrap_run(boot, resamples, aucs, &err), &err);
	pgs_bootstrap_summary(aucs, resamples, level, &lower, &upper, &se);
	printf("%.17g %.17g %.17g %.17g\n", auc.auc, lower, upper, se);
	pgs_roc_bootstrap_free(boot);
	free(aucs);
	free(data);
	return 0;
}

static int
cmd_compare(const dataset *d)
{
	pgs_roc_pairs *pairs;
	pgs_roc_comparison c;
	pgs_error	err;

	check(pgs_roc_pairs_create(&pgs_malloc_allocator, &pairs, &err), &err);
	for (uint64_t i = 0; i < d->n; i++)
		check(pgs_roc_pairs_add(pairs, d->a[i], d->b[i], d->labels[i] != 0, &err), &err);
	check(pgs_roc_pairs_compare(pairs, &c, &err), &err);
	printf("%.17g %.17g %.17g %.17g %.17g\n", c.auc_a, c.auc_b, c.variance_a, c.variance_b, c.covariance);
	pgs_roc_pairs_free(pairs);
	return 0;
}

static int
cmd_svg(const dataset *d, int argc, char **argv)
{
	size_t		len,
				svg_len;
	uint8_t    *data = encode(d, &len);
	double		thresholds[PGS_ROC_PLOT_MAX_MARKS];
	int			n = 0;
	pgs_roc_plot_curve curve;
	pgs_roc_plot_options o = {560, 560, 0.95, argc > 0 ? argv[0] : NULL};
	pgs_error	err;
	char	   *svg;

	for (int i = 1; i < argc && n < PGS_ROC_PLOT_MAX_MARKS; i++)
		thresholds[n++] = strtod(argv[i], NULL);
	curve = (pgs_roc_plot_curve) {data, len, "model", thresholds, n};
	check(pgs_roc_svg(&curve, 1, &o, &pgs_malloc_allocator, &svg, &svg_len, &err), &err);
	fwrite(svg, 1, svg_len, stdout);
	free(svg);
	free(data);
	return 0;
}

/* Line-oriented numeric commands for the distribution oracles. */
static int
cmd_lines(const char *which)
{
	char		line[256];
	pgs_error	err;

	while (fgets(line, sizeof line, stdin))
	{
		double		x,
					y,
					z;

		if (strcmp(which, "cp") == 0)
		{
			long long	k,
						n;
			double		lower,
						upper;

			if (sscanf(line, "%lld %lld %lf", &k, &n, &x) != 3)
				die("bad cp line");
			if (pgs_clopper_pearson(k, n, x, &lower, &upper, &err) != PGS_OK)
				printf("error %s\n", err.message);
			else
				printf("%.17g %.17g\n", lower, upper);
		}
		else if (strcmp(which, "normq") == 0)
		{
			if (sscanf(line, "%lf", &x) != 1)
				die("bad normq line");
			printf("%.17g\n", pgs_normal_quantile(x));
		}
		else
		{
			if (sscanf(line, "%lf %lf %lf", &x, &y, &z) != 3)
				die("bad beta line");
			printf("%.17g\n", strcmp(which, "betainc") == 0 ? pgs_beta_inc(x, y, z) : pgs_beta_inc_inv(x, y, z));
		}
	}
	return 0;
}

static int
cmd_bench(const dataset *d, int runs)
{
	double		best_build = INFINITY,
				best_stats = INFINITY;

	for (int r = 0; r < runs; r++)
	{
		double		t0 = now(),
					t1,
					t2,
					lower,
					upper;
		size_t		len;
		uint8_t    *data = encode(d, &len);
		pgs_roc_view v;
		pgs_roc_auc auc;
		pgs_error	err;

		t1 = now();
		check(pgs_roc_open(data, len, &v, &err), &err);
		check(pgs_roc_delong(&v, true, &auc, &err), &err);
		pgs_wald_interval(auc.auc, sqrt(auc.variance), 0.95, 0.0, 1.0, &lower, &upper);
		t2 = now();
		best_build = fmin(best_build, t1 - t0);
		best_stats = fmin(best_stats, t2 - t1);
		if (r == 0)
			fprintf(stderr, "kernel: auc %.12f (%.6f-%.6f), %lld distinct, %zu bytes\n", auc.auc, lower, upper,
					(long long) v.distinct, len);
		free(data);
	}
	printf("%.4f %.4f\n", best_build, best_stats);
	return 0;
}

/* The floor: what a bare C program does for an AUC, sort (score, label) and sum the midranks of positives. */
typedef struct scored
{
	double		score;
	int			label;
} scored;

static int
compare_scored(const void *x, const void *y)
{
	double		a = ((const scored *) x)->score,
				b = ((const scored *) y)->score;

	return (a > b) - (a < b);
}

/* Mann-Whitney from ascending scores: ranks 1..N, ties share their mean rank. */
static double
rank_sum_auc(const double *scores, const uint8_t *labels, uint64_t n)
{
	double		rank_sum = 0.0,
				m = 0.0;

	for (uint64_t i = 0; i < n;)
	{
		uint64_t	j = i;
		double		pos = 0.0;

		while (j < n && scores[j] == scores[i])
			pos += labels[j++];
		rank_sum += pos * (0.5 * (double) (i + 1 + j));
		m += pos;
		i = j;
	}
	return (rank_sum - m * (m + 1) / 2) / (m * ((double) n - m));
}

static int
cmd_floor(const dataset *d, int runs)
{
	double		best_qsort = INFINITY,
				best_radix = INFINITY,
				auc_q = 0,
				auc_r = 0;
	scored	   *items = malloc(d->n * sizeof *items);
	pgs_keyed  *keyed = malloc(d->n * sizeof *keyed);
	pgs_keyed  *scratch = malloc(d->n * sizeof *scratch);
	double	   *scores = malloc(d->n * sizeof *scores);
	uint8_t    *labels = malloc(d->n);

	if (!items || !keyed || !scratch || !scores || !labels)
		die("out of memory");
	for (int r = 0; r < runs; r++)
	{
		double		t0 = now();

		for (uint64_t i = 0; i < d->n; i++)
			items[i] = (scored) {d->a[i], d->labels[i] != 0};
		qsort(items, d->n, sizeof *items, compare_scored);
		for (uint64_t i = 0; i < d->n; i++)
		{
			scores[i] = items[i].score;
			labels[i] = (uint8_t) items[i].label;
		}
		auc_q = rank_sum_auc(scores, labels, d->n);
		best_qsort = fmin(best_qsort, now() - t0);

		t0 = now();
		for (uint64_t i = 0; i < d->n; i++)
			keyed[i] = (pgs_keyed) {pgs_score_key(d->a[i]), d->labels[i]};
		pgs_radix_sort_keyed(keyed, scratch, d->n);
		for (uint64_t i = 0; i < d->n; i++)
		{
			scores[i] = pgs_key_score(keyed[i].key);
			labels[i] = (uint8_t) keyed[i].payload;
		}
		auc_r = rank_sum_auc(scores, labels, d->n);
		best_radix = fmin(best_radix, now() - t0);
	}
	fprintf(stderr, "floor: auc %.12f (qsort) %.12f (radix)\n", auc_q, auc_r);
	printf("%.4f %.4f\n", best_qsort, best_radix);
	free(items);
	free(keyed);
	free(scratch);
	free(scores);
	free(labels);
	return 0;
}

static void
free_data(dataset *d)
{
	free(d->a);
	free(d->b);
	free(d->labels);
}

/* Commands over a DATA file; -1 for an unknown command or wrong arguments. */
static int
run_on_data(const char *cmd, dataset *d, int argc, char **argv)
{
	if (strcmp(cmd, "summary") == 0)
		return cmd_summary(d, argc > 3 ? strtod(argv[3], NULL) : 0.95);
	if (strcmp(cmd, "curve") == 0)
		return cmd_curve(d);
	if (strcmp(cmd, "point") == 0 && argc == 5)
		return cmd_point(d, argv[3], argv[4], false);
	if (strcmp(cmd, "confusion") == 0 && argc == 4)
		return cmd_point(d, NULL, argv[3], true);
	if (strcmp(cmd, "bootstrap") == 0 && argc == 6)
		return cmd_bootstrap(d, atoi(argv[3]), strtoull(argv[4], NULL, 10), strtod(argv[5], NULL));
	if (strcmp(cmd, "svg") == 0)
		return cmd_svg(d, argc - 3, argv + 3);
	if (strcmp(cmd, "bench") == 0 && argc == 4)
		return cmd_bench(d, atoi(argv[3]));
	if (strcmp(cmd, "floor") == 0 && argc == 4)
		return cmd_floor(d, atoi(argv[3]));
	if (strcmp(cmd, "encode") == 0 && argc == 4)
	{
		size_t		len;
		uint8_t    *data = encode(d, &len);
		FILE	   *f = fopen(argv[3], "wb");

		if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
			die("cannot write output");
		free(data);
		return 0;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	dataset		d;
	int			rc;

	if (strcmp(cmd, "cp") == 0 || strcmp(cmd, "betainc") == 0 || strcmp(cmd, "betainv") == 0 ||
		strcmp(cmd, "normq") == 0)
		return cmd_lines(cmd);
	if (argc < 3)
	{
		fputs(usage, stderr);
		return 2;
	}
	d = read_data(argv[2], strcmp(cmd, "compare") == 0);
	rc = strcmp(cmd, "compare") == 0 ? cmd_compare(&d) : run_on_data(cmd, &d, argc, argv);
	free_data(&d);
	if (rc < 0)
	{
		fputs(usage, stderr);
		return 2;
	}
	return rc;
}
