/* Mammogram preprocessing from a DICOM object (the glue between kernels/dicom and kernels/image/mammo). */
#ifndef PGS_MAMMO_DICOM_H
#define PGS_MAMMO_DICOM_H

#include "../image/mammo.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Decode frame 0, map it to presentation values (Modality LUT or Rescale Slope/Intercept, then the VOI LUT
 * or the first Window Center/Width, MONOCHROME1 inverted), then pgs_mammo_preprocess. The header's side of
 * the chest wall comes from Patient Orientation (its row direction: A = the chest wall is at the first
 * column, P = at the last), else from Image Laterality / Laterality (R at the first column, L at the last,
 * the usual layout of For Presentation images). A colour or palette image is PGS_ERR_UNSUPPORTED.
 */
pgs_status	pgs_mammo_from_dicom(const uint8_t *data, size_t len, const pgs_mammo_options *opts, int64_t max_pixels,
								 const pgs_allocator *allocator, pgs_image *out, pgs_mammo_report *report,
								 pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
