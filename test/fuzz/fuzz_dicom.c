/* libFuzzer target: the DICOM structural scan and parser, inspection, pixel decoding and de-identification. */
#include "../../kernels/dicom/dicom.h"

#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	pgs_error	err;
	pgs_image_info info;
	pgs_image	image;
	pgs_deid_options opts;
	char	   *text;
	size_t		text_len;
	bool		found;
	uint8_t    *out;
	size_t		out_len;
	char		reason[256];
	pgs_deid_change *changes;
	int			n;

	pgs_dicom_probe(data, len, &info, &err);
	if (pgs_dicom_json(data, len, true, &pgs_malloc_allocator, &text, &text_len, &err) == PGS_OK)
		free(text);
	if (pgs_dicom_value(data, len, "ReferencedImageSequence[0].ReferencedSOPInstanceUID", &pgs_malloc_allocator,
						&text, &found, &err) == PGS_OK && found)
		free(text);
	/* Small enough that a hostile header cannot make one run allocate gigabytes. */
	if (pgs_dicom_decode_frame(data, len, 0, 1 << 20, &pgs_malloc_allocator, &image, NULL, &err) == PGS_OK)
		free(image.data);

	pgs_deid_options_init(&opts);
	memcpy(opts.key, "fuzzing key 0123", 16);
	opts.key_len = 16;
	opts.retain_safe_private = len % 2 == 0;
	opts.longitudinal = (pgs_deid_longitudinal) (len % 3);
	opts.burned_in = len % 5 == 0 ? PGS_DEID_BURNED_IN_CLEAN : PGS_DEID_BURNED_IN_ALLOW;
	opts.clean_descriptors = len % 7 == 0;
	if (pgs_dicom_anonymize(data, len, &opts, &pgs_malloc_allocator, &out, &out_len, reason, sizeof(reason), &err) == PGS_OK &&
		out != NULL)
	{
		/* Whatever we write must read back in full. */
		if (pgs_dicom_json(out, out_len, true, &pgs_malloc_allocator, &text, &text_len, &err) != PGS_OK)
			abort();
		free(text);
		free(out);
	}
	if (pgs_dicom_phi_report(data, len, &opts, &pgs_malloc_allocator, &changes, &n, &err) == PGS_OK)
	{
		for (int i = 0; i < n; i++)
		{
			free(changes[i].keyword);
			free(changes[i].path);
			free(changes[i].preview);
		}
		free(changes);
	}
	pgs_dicom_quarantine_reason(data, len, &opts, reason, sizeof(reason), &err);
	return 0;
}
