/* Synthetic screening data: fundus photographs with diabetic-retinopathy lesions, clearly labelled synthetic. */
#ifndef PGS_SYNTHETIC_H
#define PGS_SYNTHETIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "../common/status.h"
#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PGS_SYNTHETIC_MIN_SIZE 32
#define PGS_SYNTHETIC_MAX_SIZE 4096
#define PGS_DR_GRADES 5

/* What was drawn: the fundus circle (pixel centres at integer coordinates) and the lesions, by kind. */
typedef struct pgs_synthetic_fundus_truth
{
	int			grade;
	int			width;
	int			height;
	double		cx;
	double		cy;
	double		radius;
	bool		right_eye;
	int			jpeg_quality;
	int			microaneurysms;
	int			haemorrhages;		/* dot-blot, flame and preretinal */
	int			exudates;			/* hard exudate dots */
	int			cotton_wool_spots;
	int			neovascularisation; /* patches of new vessels (disc or elsewhere) */
	int			laser_scars;
} pgs_synthetic_fundus_truth;

/*
 * A macula-centred 45° fundus photograph of a synthetic eye, `size` pixels wide, as 8-bit RGB pixels from
 * `allocator`. The seed alone fixes the eye and the camera (so one seed at grades 0–4 shows the same eye
 * with more and more disease); the seed and the grade fix the lesions. Grades follow the International
 * Clinical DR scale: 0 none, 1 mild (microaneurysms only), 2 moderate, 3 severe NPDR, 4 proliferative.
 */
pgs_status	pgs_synthetic_fundus_render(int64_t seed, int grade, int size, const pgs_allocator *allocator,
										pgs_image *out, pgs_synthetic_fundus_truth *truth, pgs_error *err);

/* The same photograph as the camera would store it: a JPEG at the camera's quality. Same seed, same bytes. */
pgs_status	pgs_synthetic_fundus(int64_t seed, int grade, int size, const pgs_allocator *allocator,
								 uint8_t **jpeg, size_t *jpeg_len, pgs_synthetic_fundus_truth *truth,
								 pgs_error *err);

/*
 * Grade mix of EyePACS (Kaggle DR training set, 35,126 photographs): 73.5 % grade 0, 7.0 % 1, 15.1 % 2,
 * 2.5 % 3, 2.0 % 4 — 19.6 % referable.
 */
extern const double pgs_eyepacs_grade_mix[PGS_DR_GRADES];

/* Check a grade mix: five non-negative finite weights with a positive sum. */
pgs_status	pgs_grade_mix_check(const double mix[PGS_DR_GRADES], pgs_error *err);

/* Member `index` of the synthetic set `seed`: its grade drawn from `mix`, and the seed of its photograph. */
int			pgs_synthetic_set_grade(int64_t seed, int64_t index, const double mix[PGS_DR_GRADES]);
int64_t		pgs_synthetic_set_member_seed(int64_t seed, int64_t index);

#ifdef __cplusplus
}
#endif

#endif
