/* JPEG encoding (libjpeg-turbo's TurboJPEG API): used to write synthetic photographs as cameras do. */
#ifndef PGS_JPEG_ENCODE_H
#define PGS_JPEG_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Encode an 8-bit gray or RGB image as baseline JPEG at `quality` (1–100), chroma subsampled 4:2:0 like
 * most fundus cameras, into a buffer from `allocator`. The same pixels and quality give the same bytes.
 */
pgs_status	pgs_jpeg_encode(const pgs_image *image, int quality, const pgs_allocator *allocator, uint8_t **out,
							size_t *out_len, pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
