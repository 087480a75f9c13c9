/* Mammogram preprocessing from DICOM: decode, present, read the chest-wall side from the header, preprocess. */
#include "dicom.h"
#include "mammo_dicom.h"

#include <stdlib.h>
#include <string.h>

static pgs_chest_wall
chest_wall_from_header(const uint8_t *data, size_t len, const pgs_dicom_pixel_info *info)
{
	char	   *orientation = NULL;
	bool		found = false;
	pgs_error	ignored;
	pgs_chest_wall side = PGS_CHEST_WALL_UNKNOWN;

	/* Patient Orientation "A\R": columns run towards anterior (the nipple), so the chest wall is at column 0 */
	if (pgs_dicom_value(data, len, "PatientOrientation", &pgs_malloc_allocator, &orientation, &found,
						&ignored) == PGS_OK && found && orientation != NULL)
	{
		size_t		row_direction = strcspn(orientation, "\\");

		if (memchr(orientation, 'A', row_direction) != NULL)
			side = PGS_CHEST_WALL_LEFT;
		else if (memchr(orientation, 'P', row_direction) != NULL)
			side = PGS_CHEST_WALL_RIGHT;
	}
	free(orientation);
	if (side == PGS_CHEST_WALL_UNKNOWN && strcmp(info->image_laterality, "R") == 0)
		side = PGS_CHEST_WALL_LEFT;
	else if (side == PGS_CHEST_WALL_UNKNOWN && strcmp(info->image_laterality, "L") == 0)
		side = PGS_CHEST_WALL_RIGHT;
	return side;
}

pgs_status
pgs_mammo_from_dicom(const uint8_t *data, size_t len, const pgs_mammo_options *opts, int64_t max_pixels,
					 const pgs_allocator *allocator, pgs_image *out, pgs_mammo_report *report, pgs_error *err)
{
	pgs_dicom_pixel_info info;
	pgs_image	stored,
				shown;
	pgs_status	st;

	memset(out, 0, sizeof(*out));
	memset(report, 0, sizeof(*report));
	memset(&info, 0, sizeof(info));
	st = pgs_dicom_decode_frame(data, len, 0, max_pixels, &pgs_malloc_allocator, &stored, &info, err);
	if (st != PGS_OK)
		return st;
	if (info.samples_per_pixel != 1 || strncmp(info.photometric, "MONOCHROME", 10) != 0)
		st = pgs_fail(err, PGS_ERR_UNSUPPORTED, "a mammogram must be a grey image (MONOCHROME1 or MONOCHROME2), not %s",
					  info.photometric[0] ? info.photometric : "an image without Photometric Interpretation");
	else if ((st = pgs_dicom_presentation(&stored, &info, &pgs_malloc_allocator, &shown, err)) == PGS_OK)
	{
		st = pgs_mammo_preprocess(&shown, chest_wall_from_header(data, len, &info), opts, allocator, out, report, err);
		free(shown.data);
	}
	free(stored.data);
	free(info.voi_lut);
	free(info.palette);
	return st;
}
