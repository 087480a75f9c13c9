/* Image decoding and encoding: one entry point that sniffs JPEG, PNG, NPY (and DICOM once its codec exists). */
#ifndef PGS_IMAGE_H
#define PGS_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "../common/status.h"
#include "../common/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pgs_image_format
{
	PGS_FORMAT_UNKNOWN = 0,
	PGS_FORMAT_JPEG,
	PGS_FORMAT_PNG,
	PGS_FORMAT_NPY,
	PGS_FORMAT_DICOM
} pgs_image_format;

/* An interleaved image: height rows of width pixels of `channels` samples, C order, native byte order. */
typedef struct pgs_image
{
	int			width;
	int			height;
	int			channels;		/* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
	pgs_dtype	dtype;			/* U8, U16 or F32 */
	int			bits;			/* significant bits per sample (e.g. 12 in a U16 image) */
	void	   *data;
} pgs_image;

typedef struct pgs_image_info
{
	pgs_image_format format;
	int			width;
	int			height;
	int			channels;
	int			bits;
	int			frames;
} pgs_image_info;

/* Largest image decoded by default: 100 megapixels (extension/ overrides it with a GUC). */
#define PGS_DEFAULT_MAX_PIXELS INT64_C(100000000)

typedef struct pgs_decode_options
{
	int			frame;			/* which frame of a multi-frame input (NPY N×H×W×C, DICOM) */
	int			scale_denom;	/* 1, 2, 4 or 8: decode at 1/scale_denom size (JPEG by DCT scaling) */
	int64_t		max_pixels;		/* refuse larger images before allocating (width × height of the output) */
	bool		display;		/* for viewing: DICOM gets its VOI window, MONOCHROME1 inverted, 8 bits */
} pgs_decode_options;

void		pgs_decode_options_init(pgs_decode_options *opts);

/* Which format the bytes are, judging by their signature only. */
pgs_image_format pgs_image_sniff(const uint8_t *data, size_t len);
const char *pgs_image_format_name(pgs_image_format format);

/* Read the header only: dimensions, channels, bits, frames. */
pgs_status	pgs_image_probe(const uint8_t *data, size_t len, pgs_image_info *info, pgs_error *err);

/* Decode one frame into out->data, allocated with `allocator`. On failure nothing stays allocated. */
pgs_status	pgs_image_decode(const uint8_t *data, size_t len, const pgs_decode_options *opts,
							 const pgs_allocator *allocator, pgs_image *out, pgs_error *err);

void		pgs_image_free(const pgs_allocator *allocator, pgs_image *image);

/* Size in bytes of the pixel data, or 0 if it overflows size_t. */
size_t		pgs_image_bytes(const pgs_image *image);

/* Check width × height against max_pixels and basic sanity, before anything is allocated. */
pgs_status	pgs_image_check_dimensions(int64_t width, int64_t height, int64_t max_pixels, pgs_error *err);

/* Shrink by an integer factor, averaging each factor×factor block (edge blocks average what they hold). */
pgs_status	pgs_image_downscale_box(const pgs_image *in, int factor, const pgs_allocator *allocator,
									pgs_image *out, pgs_error *err);

/* Map a float32 image linearly from its [min, max] to 0..255 (a constant image becomes 0). */
pgs_status	pgs_image_f32_to_u8(const pgs_image *in, const pgs_allocator *allocator, pgs_image *out,
								pgs_error *err);

/* Encode a U8 or U16 image of 1–4 channels as PNG into a buffer allocated with `allocator`. */
pgs_status	pgs_png_encode(const pgs_image *image, const pgs_allocator *allocator, uint8_t **out,
						   size_t *out_len, pgs_error *err);

/* View an image as an H×W×C tensor (or H×W when it has one channel) sharing its data. */
void		pgs_image_as_tensor(const pgs_image *image, pgs_tensor *tensor);

/*
 * Format-specific entry points, used by the dispatcher above and by tests. Each validates dimensions with
 * opts->max_pixels before allocating.
 */
pgs_status	pgs_jpeg_probe(const uint8_t *data, size_t len, pgs_image_info *info, pgs_error *err);
pgs_status	pgs_jpeg_decode(const uint8_t *data, size_t len, const pgs_decode_options *opts,
							const pgs_allocator *allocator, pgs_image *out, pgs_error *err);
/* The smallest DCT scale denominator (1, 2, 4 or 8) whose output keeps both sides ≥ the given minimum. */
int			pgs_jpeg_pick_scale_denom(int width, int height, int min_width, int min_height);

pgs_status	pgs_png_probe(const uint8_t *data, size_t len, pgs_image_info *info, pgs_error *err);
pgs_status	pgs_png_decode(const uint8_t *data, size_t len, const pgs_decode_options *opts,
						   const pgs_allocator *allocator, pgs_image *out, pgs_error *err);

pgs_status	pgs_npy_image_probe(const uint8_t *data, size_t len, pgs_image_info *info, pgs_error *err);
pgs_status	pgs_npy_image_decode(const uint8_t *data, size_t len, const pgs_decode_options *opts,
								 const pgs_allocator *allocator, pgs_image *out, pgs_error *err);

/*
 * The DICOM codec is provided by kernels/dicom. Until it registers itself, DICOM input is recognised
 * and reported as unsupported rather than as unknown bytes.
 */
typedef struct pgs_image_codec
{
	pgs_status	(*probe) (const uint8_t *data, size_t len, pgs_image_info *info, pgs_error *err);
	pgs_status	(*decode) (const uint8_t *data, size_t len, const pgs_decode_options *opts,
						   const pgs_allocator *allocator, pgs_image *out, pgs_error *err);
} pgs_image_codec;

void		pgs_image_register_dicom_codec(const pgs_image_codec *codec);

#ifdef __cplusplus
}
#endif

#endif
