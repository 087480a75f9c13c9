/* Command-line face of the kernels' decoder for oracles and benchmarks: decode files to NPY, or time decoding. */
#include "tool_io.h"
#include "../../kernels/image/image.h"
#include "../../kernels/image/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
decode_to_npy(const char *in, const char *out, const pgs_decode_options *opts)
{
	size_t		len,
				npy_len;
	uint8_t    *data = tool_read_file(in, &len);
	uint8_t    *npy;
	pgs_image	image;
	pgs_tensor	tensor;
	pgs_error	err;
	FILE	   *f;

	pgs_error_clear(&err);
	if (pgs_image_decode(data, len, opts, &pgs_malloc_allocator, &image, &err) != PGS_OK)
	{
		fprintf(stderr, "%s: %s: %s\n", in, pgs_strerror(err.code), err.message);
		return 1;
	}
	pgs_image_as_tensor(&image, &tensor);
	if (pgs_npy_write(&tensor, &pgs_malloc_allocator, &npy, &npy_len, &err) != PGS_OK ||
		(f = fopen(out, "wb")) == NULL || fwrite(npy, 1, npy_len, f) != npy_len || fclose(f) != 0)
	{
		fprintf(stderr, "%s: could not write\n", out);
		return 1;
	}
	free(npy);
	free(image.data);
	free(data);
	return 0;
}

/* Decode every file `rounds` times from memory; print decoded images per second. */
static int
bench(int rounds, int nfiles, char **paths, const pgs_decode_options *opts)
{
	uint8_t   **datas = malloc(sizeof(uint8_t *) * nfiles);
	size_t	   *lens = malloc(sizeof(size_t) * nfiles);
	struct timespec t0,
				t1;
	double		seconds;

	for (int i = 0; i < nfiles; i++)
		datas[i] = tool_read_file(paths[i], &lens[i]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < nfiles; i++)
		{
			pgs_image	image;
			pgs_error	err;

			if (pgs_image_decode(datas[i], lens[i], opts, &pgs_malloc_allocator, &image, &err) != PGS_OK)
			{
				fprintf(stderr, "%s: %s\n", paths[i], err.message);
				return 1;
			}
			free(image.data);
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%d images in %.3f s: %.1f images/s\n", rounds * nfiles, seconds, rounds * nfiles / seconds);
	return 0;
}

int
main(int argc, char **argv)
{
	pgs_decode_options opts;
	int			i = 1;

	pgs_decode_options_init(&opts);
	for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2)
	{
		if (strcmp(argv[i], "--scale") == 0)
			opts.scale_denom = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--frame") == 0)
			opts.frame = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--bench") == 0)
			return bench(atoi(argv[i + 1]), argc - i - 2, argv + i + 2, &opts);
		else
			break;
	}
	if (argc - i != 2)
	{
		fprintf(stderr, "usage: pgs_decode [--scale 1|2|4|8] [--frame N] IN OUT.npy\n"
				"       pgs_decode [--scale N] --bench ROUNDS FILE...\n");
		return 2;
	}
	return decode_to_npy(argv[i], argv[i + 1], &opts);
}
