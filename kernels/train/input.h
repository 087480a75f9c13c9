/* A network's input from stored bytes: decode, preprocess when the model says so, check the size. */
#ifndef PGS_INPUT_H
#define PGS_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/status.h"
#include "recipe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a model takes: size and channels of its uint8 HWC input and how raw images are preprocessed. */
typedef struct pgs_input_spec
{
	int			height;
	int			width;
	int			channels;
	pgs_recipe_preprocess preprocess;	/* applied to JPEG/PNG/DICOM; NPY tensors are taken as preprocessed */
	int			preprocess_diameter;
	int64_t		max_pixels;		/* decode limit for raw images */
} pgs_input_spec;

/*
 * Turn one stored input (an NPY uint8 tensor, or a JPEG/PNG/DICOM image) into height × width × channels
 * uint8 HWC at dst. Images of the wrong size or type are errors that say what was expected, never resized
 * silently: a model must see exactly what it was trained on.
 */
pgs_status	pgs_input_prepare(const uint8_t *data, size_t len, const pgs_input_spec *spec, uint8_t *dst,
							  pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
