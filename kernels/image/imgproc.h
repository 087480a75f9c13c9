/* Pixel operations: bilinear resize, Gaussian blur and Otsu's threshold of 8-bit images; area resize of floats. */
#ifndef PGS_IMGPROC_H
#define PGS_IMGPROC_H

#include <stddef.h>
#include <stdint.h>

#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Output size of a resize by `factor` (OpenCV's rule for cv::resize with fx/fy: round half to even), so
 * pipelines that replicate OpenCV-based code get the same shapes.
 */
int			pgs_resize_length(int length, double factor);

/*
 * Bilinear resize, bit-exact with OpenCV's cv::resize(INTER_LINEAR) on CV_8U: sample positions
 * (d + 0.5)/factor − 0.5 clamped to the image, 11-bit fixed-point weights and OpenCV's rounding. factor_x
 * and factor_y are the dst/src scale factors (OpenCV's fx, fy). Exactly halving both sides averages 2×2
 * blocks, as OpenCV does. Strides are in bytes; dst must hold dst_h rows.
 */
pgs_status	pgs_resize_bilinear_u8(const uint8_t *src, int src_w, int src_h, size_t src_stride, int channels,
								   uint8_t *dst, int dst_w, int dst_h, size_t dst_stride,
								   double factor_x, double factor_y, pgs_error *err);

/*
 * The same arithmetic for any axis-aligned mapping: output pixel d samples source position
 * (d + 0.5)·scale − 0.5 + offset (per axis), clamped to the source as above. Resizing by factor is
 * scale = 1/factor, offset = 0; a sub-pixel offset places a crop between source pixels.
 */
pgs_status	pgs_resample_bilinear_u8(const uint8_t *src, int src_w, int src_h, size_t src_stride, int channels,
									 uint8_t *dst, int dst_w, int dst_h, size_t dst_stride, double scale_x,
									 double offset_x, double scale_y, double offset_y, pgs_error *err);

/*
 * Gaussian blur with standard deviation sigma (pixels) in both directions, a sampled kernel of OpenCV's size
 * for 8-bit images (2·round(3σ) + 1 taps) and mirrored borders (BORDER_REFLECT_101), computed in float and
 * rounded to 8 bits. src and dst are width×height×channels, tightly packed, and may not overlap.
 */
pgs_status	pgs_gaussian_blur_u8(const uint8_t *src, uint8_t *dst, int width, int height, int channels,
								 double sigma, pgs_error *err);

/* Otsu's threshold of a 256-bin histogram (as OpenCV's THRESH_OTSU): foreground is value > threshold. */
int			pgs_otsu_threshold(const uint64_t histogram[256]);


/*
 * Resize one float channel: area averaging along an axis that shrinks (each output pixel the mean of the
 * source area it covers), linear interpolation along an axis that grows. Both tightly packed.
 */
pgs_status	pgs_resize_area_f32(const float *src, int src_w, int src_h, float *dst, int dst_w, int dst_h,
								pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
