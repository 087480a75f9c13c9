/* Command-line face of the preprocessing kernels for the oracles, the benchmark and people looking at images. */
#include "tool_io.h"
#include "../../kernels/device/augment.h"
#include "../../kernels/dicom/dicom.h"
#include "../../kernels/dicom/mammo_dicom.h"
#include "../../kernels/image/fundus.h"
#include "../../kernels/image/geometry.h"
#include "../../kernels/image/imgproc.h"
#include "../../kernels/image/jpeg_encode.h"
#include "../../kernels/image/npy.h"
#include "../../kernels/image/synthetic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *usage =
	"usage: pgs_preprocess fundus [--diameter N] [--method voets2018|graham] [--scale 0|1|2|4|8] IN OUT.npy\n"
	"       pgs_preprocess circle [--scale 0|1|2|4|8] IN          (prints the circle as JSON)\n"
	"       pgs_preprocess contour MASK.npy                        (largest outer contour, one x y per line)\n"
	"       pgs_preprocess resize IN.npy FX FY OUT_W OUT_H OUT.npy\n"
	"       pgs_preprocess blur IN.npy SIGMA OUT.npy\n"
	"       pgs_preprocess otsu IN.npy                             (threshold of a uint8 image)\n"
	"       pgs_preprocess augment SEED IN OUT.npy                 (the published recipe, as uint8)\n"
	"       pgs_preprocess synthetic SEED GRADE SIZE OUT.jpg      (prints the ground truth as JSON)\n"
	"       pgs_preprocess mammo [--size HxW] [--dtype uint8|uint16|float32] IN.dcm OUT.npy (prints what was found)\n"
	"       pgs_preprocess bench-fundus ROUNDS FILE...            (photographs/s of the whole pipeline)\n"
	"       pgs_preprocess bench-decode ROUNDS FILE...            (photographs/s of a full-size decode)\n"
	"       pgs_preprocess bench-decode-scaled ROUNDS FILE...     (... of a decode at the scale fundus uses)\n";

static pgs_error err;

static void
die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", what, pgs_strerror(err.code), err.message);
	exit(1);
}

static pgs_image
load_image(const char *path)
{
	size_t		len;
	uint8_t    *data = tool_read_file(path, &len);
	pgs_decode_options opts;
	pgs_image	image;

	pgs_decode_options_init(&opts);
	if (pgs_image_decode(data, len, &opts, &pgs_malloc_allocator, &image, &err) != PGS_OK)
		die(path);
	free(data);
	return image;
}

static void
save_npy(const char *path, const pgs_image *image)
{
	pgs_tensor	tensor;
	uint8_t    *npy;
	size_t		len;

	pgs_image_as_tensor(image, &tensor);
	if (pgs_npy_write(&tensor, &pgs_malloc_allocator, &npy, &len, &err) != PGS_OK)
		die(path);
	tool_write_file(path, npy, len);
	free(npy);
}

static void
print_circle(const pgs_fundus_circle *c)
{
	char		verdict[256];

	pgs_fundus_describe_verdict(c, verdict, sizeof(verdict));
	printf("{\"found\": %s, \"gradable\": %s, \"cx\": %.6f, \"cy\": %.6f, \"radius\": %.6f, "
		   "\"rim_fraction\": %.4f, \"width\": %d, \"height\": %d, \"scale_denom\": %d, \"verdict\": \"%s\"}\n",
		   c->found ? "true" : "false", c->gradable ? "true" : "false", c->cx, c->cy, c->radius,
		   c->rim_fraction, c->width, c->height, c->scale_denom, verdict);
}

static int
run_fundus(int argc, char **argv, bool write_output)
{
	pgs_fundus_options opts;
	pgs_fundus_circle circle;
	pgs_image	out;
	int			i = 0;
	size_t		len;
	uint8_t    *data;

	pgs_fundus_options_init(&opts);
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2)
	{
		if (strcmp(argv[i], "--diameter") == 0)
			opts.diameter = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--scale") == 0)
			opts.scale_denom = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--method") == 0)
		{
			if (pgs_fundus_method_parse(argv[i + 1], &opts.method, &err) != PGS_OK)
				die("--method");
		}
		else
			break;
	}
	if (argc - i != (write_output ? 2 : 1))
	{
		fputs(usage, stderr);
		return 2;
	}
	data = tool_read_file(argv[i], &len);
	if (pgs_fundus_preprocess(data, len, &opts, &pgs_malloc_allocator, write_output ? &out : NULL, &circle,
							  &err) != PGS_OK)
		die(argv[i]);
	print_circle(&circle);
	if (write_output && circle.gradable)
	{
		save_npy(argv[i + 1], &out);
		free(out.data);
	}
	free(data);
	return 0;
}

static int
run_contour(const char *path)
{
	pgs_image	mask = load_image(path);
	pgs_contour contour;
	double		area;

	if (mask.channels != 1 || mask.dtype != PGS_DTYPE_U8)
	{
		fprintf(stderr, "%s: a mask must be a 2-D uint8 array\n", path);
		return 1;
	}
	if (pgs_largest_outer_contour(mask.data, mask.width, mask.height, &contour, &area, &err) != PGS_OK)
		die(path);
	printf("area %.1f\n", area);
	for (size_t k = 0; k < contour.count; k++)
		printf("%d %d\n", contour.points[k].x, contour.points[k].y);
	pgs_contour_free(&contour);
	free(mask.data);
	return 0;
}

static int
run_resize(char **argv)
{
	pgs_image	in = load_image(argv[0]);
	pgs_image	out = in;

	out.width = atoi(argv[3]);
	out.height = atoi(argv[4]);
	out.data = malloc((size_t) out.width * out.height * in.channels);
	if (in.dtype != PGS_DTYPE_U8 || out.data == NULL)
		return 1;
	if (pgs_resize_bilinear_u8(in.data, in.width, in.height, (size_t) in.width * in.channels, in.channels,
							   out.data, out.width, out.height, (size_t) out.width * in.channels,
							   atof(argv[1]), atof(argv[2]), &err) != PGS_OK)
		die("resize");
	save_npy(argv[5], &out);
	return 0;
}

static int
run_blur(char **argv)
{
	pgs_image	in = load_image(argv[0]);
	pgs_image	out = in;

	out.data = malloc((size_t) in.width * in.height * in.channels);
	if (in.dtype != PGS_DTYPE_U8 || out.data == NULL)
		return 1;
	if (pgs_gaussian_blur_u8(in.data, out.data, in.width, in.height, in.channels, atof(argv[1]), &err) != PGS_OK)
		die("blur");
	save_npy(argv[2], &out);
	return 0;
}

static int
run_otsu(const char *path)
{
	pgs_image	in = load_image(path);
	uint64_t	histogram[256] = {0};
	size_t		n = (size_t) in.width * in.height * in.channels;

	if (in.dtype != PGS_DTYPE_U8)
		return 1;
	for (size_t k = 0; k < n; k++)
		histogram[((uint8_t *) in.data)[k]]++;
	printf("%d\n", pgs_otsu_threshold(histogram));
	return 0;
}

static int
run_synthetic(char **argv)
{
	pgs_synthetic_fundus_truth truth;
	uint8_t    *jpeg;
	size_t		len;

	if (pgs_synthetic_fundus(strtoll(argv[0], NULL, 10), atoi(argv[1]), atoi(argv[2]), &pgs_malloc_allocator,
							 &jpeg, &len, &truth, &err) != PGS_OK)
		die("synthetic");
	tool_write_file(argv[3], jpeg, len);
	printf("{\"width\": %d, \"height\": %d, \"cx\": %.4f, \"cy\": %.4f, \"radius\": %.4f, \"eye\": \"%s\", "
		   "\"quality\": %d, \"microaneurysms\": %d, \"haemorrhages\": %d, \"exudates\": %d, "
		   "\"cotton_wool_spots\": %d, \"neovascularisation\": %d}\n",
		   truth.width, truth.height, truth.cx, truth.cy, truth.radius, truth.right_eye ? "right" : "left",
		   truth.jpeg_quality, truth.microaneurysms, truth.haemorrhages, truth.exudates,
		   truth.cotton_wool_spots, truth.neovascularisation);
	free(jpeg);
	return 0;
}

/* Augment an 8-bit RGB image with the published recipe drawn for SEED (index 0), as screen.augment does. */
static int
run_augment(char **argv)
{
	pgs_image	in = load_image(argv[1]);
	size_t		plane = (size_t) in.width * in.height;
	float	   *chw = malloc(sizeof(float) * plane * in.channels);
	pgs_augment_recipe recipe;
	pgs_augment_params params;

	pgs_augment_recipe_published(&recipe);
	pgs_augment_draw(&recipe, strtoull(argv[0], NULL, 10), 0, &params);
	if (in.dtype != PGS_DTYPE_U8 || chw == NULL ||
		pgs_cpu_prepare_input(NULL, 1, in.height, in.width, in.channels, in.data, &params, PGS_NORM_UNIT, chw,
							  &err) != PGS_OK)
		die(argv[1]);
	for (size_t i = 0; i < plane; i++)
		for (int c = 0; c < in.channels; c++)
			((uint8_t *) in.data)[i * in.channels + c] = (uint8_t) (chw[c * plane + i] * 255.0f + 0.5f);
	save_npy(argv[2], &in);
	free(chw);
	return 0;
}

static int
run_mammo(int argc, char **argv)
{
	pgs_mammo_options opts;
	pgs_mammo_report report;
	pgs_image	out;
	size_t		len;
	uint8_t    *data;
	int			i = 0;

	pgs_mammo_options_init(&opts);
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2)
	{
		if (strcmp(argv[i], "--size") == 0 && sscanf(argv[i + 1], "%dx%d", &opts.height, &opts.width) == 2)
			continue;
		if (strcmp(argv[i], "--dtype") == 0)
		{
			opts.dtype = strcmp(argv[i + 1], "uint16") == 0 ? PGS_DTYPE_U16
				: strcmp(argv[i + 1], "float32") == 0 ? PGS_DTYPE_F32 : PGS_DTYPE_U8;
			continue;
		}
		break;
	}
	if (argc - i != 2)
	{
		fputs(usage, stderr);
		return 2;
	}
	data = tool_read_file(argv[i], &len);
	if (pgs_mammo_from_dicom(data, len, &opts, INT64_C(1) << 31, &pgs_malloc_allocator, &out, &report, &err) != PGS_OK)
		die(argv[i]);
	printf("{\"threshold\": %d, \"x\": %d, \"y\": %d, \"width\": %d, \"height\": %d, \"pixels\": %lld, "
		   "\"flipped\": %s, \"oriented_by\": \"%s\"}\n", report.threshold, report.x, report.y, report.width,
		   report.height, (long long) report.pixels, report.flipped ? "true" : "false",
		   pgs_orientation_source_name(report.oriented_by));
	save_npy(argv[i + 1], &out);
	free(out.data);
	free(data);
	return 0;
}

static double
now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

typedef enum bench_kind
{
	BENCH_FUNDUS,
	BENCH_DECODE,
	BENCH_DECODE_SCALED
} bench_kind;

/* Run the pipeline, or a bare decode (full size or at the pipeline's scale), over every file from memory. */
static int
run_bench(int rounds, int nfiles, char **paths, bench_kind kind)
{
	uint8_t   **datas = malloc(sizeof(uint8_t *) * nfiles);
	size_t	   *lens = malloc(sizeof(size_t) * nfiles);
	int		   *denoms = malloc(sizeof(int) * nfiles);
	pgs_fundus_options opts;
	pgs_decode_options decode;
	double		t0;

	pgs_fundus_options_init(&opts);
	pgs_decode_options_init(&decode);
	for (int i = 0; i < nfiles; i++)
	{
		pgs_fundus_circle circle;

		datas[i] = tool_read_file(paths[i], &lens[i]);
		if (pgs_fundus_preprocess(datas[i], lens[i], &opts, &pgs_malloc_allocator, NULL, &circle, &err) != PGS_OK)
			die(paths[i]);
		denoms[i] = kind == BENCH_DECODE_SCALED ? circle.scale_denom : 1;
	}
	t0 = now_seconds();
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < nfiles; i++)
		{
			pgs_image	out;
			pgs_fundus_circle circle;
			pgs_status	st;

			decode.scale_denom = denoms[i];
			st = kind == BENCH_FUNDUS
				? pgs_fundus_preprocess(datas[i], lens[i], &opts, &pgs_malloc_allocator, &out, &circle, &err)
				: pgs_image_decode(datas[i], lens[i], &decode, &pgs_malloc_allocator, &out, &err);

			if (st != PGS_OK)
				die(paths[i]);
			free(out.data);
		}
	printf("%d photographs in %.3f s\n", rounds * nfiles, now_seconds() - t0);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	pgs_dicom_register_codec();

	if (strcmp(cmd, "fundus") == 0)
		return run_fundus(argc - 2, argv + 2, true);
	if (strcmp(cmd, "circle") == 0)
		return run_fundus(argc - 2, argv + 2, false);
	if (strcmp(cmd, "contour") == 0 && argc == 3)
		return run_contour(argv[2]);
	if (strcmp(cmd, "resize") == 0 && argc == 8)
		return run_resize(argv + 2);
	if (strcmp(cmd, "blur") == 0 && argc == 5)
		return run_blur(argv + 2);
	if (strcmp(cmd, "otsu") == 0 && argc == 3)
		return run_otsu(argv[2]);
	if (strcmp(cmd, "mammo") == 0)
		return run_mammo(argc - 2, argv + 2);
	if (strcmp(cmd, "augment") == 0 && argc == 5)
		return run_augment(argv + 2);
	if (strcmp(cmd, "synthetic") == 0 && argc == 6)
		return run_synthetic(argv + 2);
	if (strcmp(cmd, "bench-fundus") == 0 && argc > 3)
		return run_bench(atoi(argv[2]), argc - 3, argv + 3, BENCH_FUNDUS);
	if (strcmp(cmd, "bench-decode") == 0 && argc > 3)
		return run_bench(atoi(argv[2]), argc - 3, argv + 3, BENCH_DECODE);
	if (strcmp(cmd, "bench-decode-scaled") == 0 && argc > 3)
		return run_bench(atoi(argv[2]), argc - 3, argv + 3, BENCH_DECODE_SCALED);
	fputs(usage, stderr);
	return 2;
}
