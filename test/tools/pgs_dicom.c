/* Command-line face of kernels/dicom for oracles, benchmarks and corpus tests (no server needed). */
#include "tool_io.h"
#include "../../kernels/dicom/dicom.h"
#include "../../kernels/image/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
fail(const char *what, const pgs_error *err)
{
	fprintf(stderr, "%s: %s: %s\n", what, pgs_strerror(err->code), err->message);
	return 1;
}

/* Options as flags: --key TEXT --retain-uids --dates full|modified --keep KEYWORD --burned-in POLICY ... */
static int
parse_options(int argc, char **argv, int *i, pgs_deid_options *opts)
{
	pgs_error	err;
	const char *key = "pgscreen test key";

	pgs_deid_options_init(opts);
	for (; *i < argc && strncmp(argv[*i], "--", 2) == 0; (*i)++)
	{
		const char *a = argv[*i];
		const char *next = *i + 1 < argc ? argv[*i + 1] : "";

		if (strcmp(a, "--key") == 0)
			key = next, (*i)++;
		else if (strcmp(a, "--retain-uids") == 0)
			opts->retain_uids = true;
		else if (strcmp(a, "--retain-safe-private") == 0)
			opts->retain_safe_private = true;
		else if (strcmp(a, "--retain-device") == 0)
			opts->retain_device_identity = true;
		else if (strcmp(a, "--retain-institution") == 0)
			opts->retain_institution_identity = true;
		else if (strcmp(a, "--retain-patient-characteristics") == 0)
			opts->retain_patient_characteristics = true;
		else if (strcmp(a, "--clean-descriptors") == 0)
			opts->clean_descriptors = true;
		else if (strcmp(a, "--clean-structured-content") == 0)
			opts->clean_structured_content = true;
		else if (strcmp(a, "--clean-graphics") == 0)
			opts->clean_graphics = true;
		else if (strcmp(a, "--dates") == 0)
		{
			opts->longitudinal = strcmp(next, "full") == 0 ? PGS_DEID_DATES_FULL
				: strcmp(next, "modified") == 0 ? PGS_DEID_DATES_MODIFIED : PGS_DEID_DATES_REMOVE;
			(*i)++;
		}
		else if (strcmp(a, "--burned-in") == 0)
		{
			opts->burned_in = strcmp(next, "reject") == 0 ? PGS_DEID_BURNED_IN_REJECT
				: strcmp(next, "allow") == 0 ? PGS_DEID_BURNED_IN_ALLOW
				: strcmp(next, "clean") == 0 ? PGS_DEID_BURNED_IN_CLEAN : PGS_DEID_BURNED_IN_QUARANTINE;
			(*i)++;
		}
		else if (strcmp(a, "--keep") == 0)
		{
			if (opts->n_keep >= PGS_DEID_MAX_KEEP || pgs_dicom_parse_tag(next, &opts->keep[opts->n_keep], &err) != PGS_OK)
				return fail(next, &err);
			opts->n_keep++;
			(*i)++;
		}
		else if (strcmp(a, "--modality") == 0)
		{
			snprintf(opts->modalities[opts->n_modalities++], 17, "%s", next);
			(*i)++;
		}
		else
		{
			fprintf(stderr, "unknown option %s\n", a);
			return 1;
		}
	}
	opts->key_len = strlen(key) < PGS_DEID_KEY_MAX ? strlen(key) : PGS_DEID_KEY_MAX;
	memcpy(opts->key, key, opts->key_len);
	return 0;
}

static int
cmd_anonymize(int argc, char **argv, int i)
{
	pgs_deid_options opts;
	size_t		len,
				out_len;
	uint8_t    *data,
			   *out;
	char		reason[512];
	pgs_error	err;

	if (parse_options(argc, argv, &i, &opts) != 0 || argc - i != 2)
		return 2;
	data = tool_read_file(argv[i], &len);
	pgs_error_clear(&err);
	if (pgs_dicom_anonymize(data, len, &opts, &pgs_malloc_allocator, &out, &out_len, reason, sizeof(reason), &err) != PGS_OK)
		return fail(argv[i], &err);
	if (out == NULL)
	{
		printf("quarantined: %s\n", reason);
		return 3;
	}
	tool_write_file(argv[i + 1], out, out_len);
	return 0;
}

/* Files/s of anonymize over many files held in memory. */
static int
cmd_bench(int argc, char **argv, int i)
{
	pgs_deid_options opts;
	int			rounds,
				n,
				done = 0;
	uint8_t   **datas;
	size_t	   *lens;
	struct timespec t0,
				t1;

	if (parse_options(argc, argv, &i, &opts) != 0 || argc - i < 2)
		return 2;
	rounds = atoi(argv[i++]);
	n = argc - i;
	datas = malloc(sizeof(*datas) * n);
	lens = malloc(sizeof(*lens) * n);
	for (int k = 0; k < n; k++)
		datas[k] = tool_read_file(argv[i + k], &lens[k]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < n; k++)
		{
			uint8_t    *out;
			size_t		out_len;
			char		reason[256];
			pgs_error	err;

			if (pgs_dicom_anonymize(datas[k], lens[k], &opts, &pgs_malloc_allocator, &out, &out_len, reason,
									sizeof(reason), &err) == PGS_OK && out != NULL)
			{
				free(out);
				done++;
			}
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double		seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	printf("%d files in %.3f s: %.1f files/s\n", done, seconds, done / seconds);
	return 0;
}

static int
cmd_pixels(int argc, char **argv, int i)
{
	size_t		len,
				npy_len;
	uint8_t    *data,
			   *npy;
	pgs_image	image;
	pgs_tensor	tensor;
	pgs_error	err;
	int			frame = argc - i >= 3 ? atoi(argv[i + 2]) : 0;

	if (argc - i < 2)
		return 2;
	data = tool_read_file(argv[i], &len);
	pgs_error_clear(&err);
	if (pgs_dicom_decode_frame(data, len, frame, INT64_C(1) << 40, &pgs_malloc_allocator, &image, NULL, &err) != PGS_OK)
		return fail(argv[i], &err);
	pgs_image_as_tensor(&image, &tensor);
	if (pgs_npy_write(&tensor, &pgs_malloc_allocator, &npy, &npy_len, &err) != PGS_OK)
		return fail("npy", &err);
	tool_write_file(argv[i + 1], npy, npy_len);
	return 0;
}

/* What to_png shows: the image decoder in display mode (VOI window, MONOCHROME1 inverted, palette applied). */
static int
cmd_display(int argc, char **argv, int i)
{
	size_t		len,
				npy_len;
	uint8_t    *data,
			   *npy;
	pgs_image	image;
	pgs_tensor	tensor;
	pgs_decode_options opts;
	pgs_error	err;

	if (argc - i < 2)
		return 2;
	data = tool_read_file(argv[i], &len);
	pgs_decode_options_init(&opts);
	opts.display = true;
	opts.frame = argc - i >= 3 ? atoi(argv[i + 2]) : 0;
	if (pgs_image_decode(data, len, &opts, &pgs_malloc_allocator, &image, &err) != PGS_OK)
		return fail(argv[i], &err);
	pgs_image_as_tensor(&image, &tensor);
	if (pgs_npy_write(&tensor, &pgs_malloc_allocator, &npy, &npy_len, &err) != PGS_OK)
		return fail("npy", &err);
	tool_write_file(argv[i + 1], npy, npy_len);
	return 0;
}

static int
cmd_json(int argc, char **argv, int i)
{
	size_t		len,
				json_len;
	uint8_t    *data;
	char	   *json;
	pgs_error	err;

	if (argc - i != 1)
		return 2;
	data = tool_read_file(argv[i], &len);
	if (pgs_dicom_json(data, len, false, &pgs_malloc_allocator, &json, &json_len, &err) != PGS_OK)
		return fail(argv[i], &err);
	printf("%s\n", json);
	return 0;
}

static int
cmd_value(int argc, char **argv, int i)
{
	size_t		len;
	uint8_t    *data;
	char	   *value;
	bool		found;
	pgs_error	err;

	if (argc - i != 2)
		return 2;
	data = tool_read_file(argv[i], &len);
	if (pgs_dicom_value(data, len, argv[i + 1], &pgs_malloc_allocator, &value, &found, &err) != PGS_OK)
		return fail(argv[i], &err);
	if (!found)
		return 4;
	printf("%s\n", value);
	return 0;
}

static int
cmd_report(int argc, char **argv, int i)
{
	pgs_deid_options opts;
	size_t		len;
	uint8_t    *data;
	pgs_deid_change *changes;
	int			n;
	pgs_error	err;

	if (parse_options(argc, argv, &i, &opts) != 0 || argc - i != 1)
		return 2;
	data = tool_read_file(argv[i], &len);
	if (pgs_dicom_phi_report(data, len, &opts, &pgs_malloc_allocator, &changes, &n, &err) != PGS_OK)
		return fail(argv[i], &err);
	for (int k = 0; k < n; k++)
		printf("%s\t%s\t%s\t%s\t%s\n", changes[k].path, changes[k].keyword, changes[k].vr, changes[k].action,
			   changes[k].preview);
	return 0;
}

static int
cmd_synth(int argc, char **argv, int i)
{
	pgs_synthetic_mg_options opts;
	uint8_t    *out;
	size_t		out_len;
	pgs_error	err;

	pgs_synthetic_mg_options_init(&opts);
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++)
	{
		const char *a = argv[i],
				   *next = i + 1 < argc ? argv[i + 1] : "";

		if (strcmp(a, "--monochrome1") == 0)
			opts.monochrome1 = true;
		else if (strcmp(a, "--label") == 0)
			opts.burned_in_label = true;
		else if (strcmp(a, "--no-phi") == 0)
			opts.phi = false;
		else if (strcmp(a, "--laterality") == 0)
			opts.laterality = next[0], i++;
		else if (strcmp(a, "--view") == 0)
			snprintf(opts.view, sizeof(opts.view), "%s", next), i++;
		else if (strcmp(a, "--size") == 0)
			sscanf(next, "%dx%d", &opts.columns, &opts.rows), i++;
		else if (strcmp(a, "--patient-id") == 0)
			opts.patient_id = next, i++;
		else if (strcmp(a, "--study-uid") == 0)
			opts.study_instance_uid = next, i++;
		else if (strcmp(a, "--series-uid") == 0)
			opts.series_instance_uid = next, i++;
		else if (strcmp(a, "--instance") == 0)
			opts.instance_number = atoi(next), i++;
		else
		{
			fprintf(stderr, "unknown option %s\n", a);
			return 2;
		}
	}
	if (argc - i != 2)
		return 2;
	opts.seed = atoll(argv[i]);
	if (pgs_dicom_synthetic_mammogram(&opts, &pgs_malloc_allocator, &out, &out_len, &err) != PGS_OK)
		return fail("synthetic mammogram", &err);
	tool_write_file(argv[i + 1], out, out_len);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	pgs_dicom_register_codec();
	if (strcmp(cmd, "anonymize") == 0)
		return cmd_anonymize(argc, argv, 2);
	if (strcmp(cmd, "bench") == 0)
		return cmd_bench(argc, argv, 2);
	if (strcmp(cmd, "pixels") == 0)
		return cmd_pixels(argc, argv, 2);
	if (strcmp(cmd, "display") == 0)
		return cmd_display(argc, argv, 2);
	if (strcmp(cmd, "json") == 0)
		return cmd_json(argc, argv, 2);
	if (strcmp(cmd, "value") == 0)
		return cmd_value(argc, argv, 2);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc, argv, 2);
	if (strcmp(cmd, "synth") == 0)
		return cmd_synth(argc, argv, 2);
	fprintf(stderr, "usage: pgs_dicom anonymize [options] IN OUT | bench [options] ROUNDS FILE... |\n"
			"       pixels IN OUT.npy [FRAME] | display IN OUT.npy [FRAME] | json IN | value IN TAG | report [options] IN |\n"
			"       synth [--monochrome1] [--label] [--no-phi] [--laterality L|R] [--view CC|MLO] [--size WxH] SEED OUT\n"
			"options: --key TEXT --retain-uids --retain-safe-private --retain-device --retain-institution\n"
			"         --retain-patient-characteristics --clean-descriptors --clean-structured-content --clean-graphics\n"
			"         --dates full|modified --burned-in quarantine|reject|allow|clean --keep TAG --modality MOD\n");
	return 2;
}
