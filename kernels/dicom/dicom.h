/* DICOM for pgscreen: parse, inspect, decode pixels, de-identify (PS3.15 Annex E) and synthesise MG objects. */
#ifndef PGS_DICOM_H
#define PGS_DICOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "../common/status.h"
#include "../image/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every function takes the bytes of a DICOM object: a Part 10 file (128-byte preamble, "DICM", file meta
 * information) or a bare data set in implicit/explicit VR little endian or explicit big endian. Before dcmtk
 * sees the bytes, a structural scan checks every element length against the data, every sequence for its
 * end and the nesting depth (PGS_DICOM_MAX_DEPTH), so hostile input fails with a message naming the element
 * and offset instead of reaching the parser. Results are allocated with the caller's allocator; C++
 * exceptions never leave these functions.
 */
#define PGS_DICOM_MAX_DEPTH 32

/* Hook the DICOM codec into the image decoder (image_info, to_npy, to_png). Sets a pointer, parses nothing. */
void		pgs_dicom_register_codec(void);

/* ---- inspection -------------------------------------------------------------------------------------- */

/*
 * The data set in the DICOM JSON model (PS3.18 Annex F) as UTF-8 text: bulk data (OB, OW, OF, OD, OL, OV, UN
 * and Pixel Data) is reported with its VR only, person names as Alphabetic components, sequences nested.
 * The file meta information is included when include_meta is true.
 */
pgs_status	pgs_dicom_json(const uint8_t *data, size_t len, bool include_meta, const pgs_allocator *allocator,
						   char **json, size_t *json_len, pgs_error *err);

/*
 * The value of one attribute as UTF-8 text (multiple values joined by backslashes), or *found = false.
 * tag is a keyword ("PatientID"), "(gggg,eeee)" or "gggg,eeee", optionally a path through sequence items
 * such as "ReferencedImageSequence[0].ReferencedSOPInstanceUID". Parsing stops before Pixel Data unless the
 * tag asks for something after it.
 */
pgs_status	pgs_dicom_value(const uint8_t *data, size_t len, const char *tag, const pgs_allocator *allocator,
							char **value, bool *found, pgs_error *err);

/*
 * For reading only the header of a large object (e.g. a slice of a TOASTed bytea): given the first len bytes,
 * where the top-level Pixel Data element starts, or 0 when the prefix does not reach it (or the data set is
 * deflated, or not Part 10). The bytes before that offset are a complete object without pixels.
 */
size_t		pgs_dicom_header_length(const uint8_t *prefix, size_t len);

/* ---- pixels ------------------------------------------------------------------------------------------ */

/* What a consumer of pixels (display, mammogram preprocessing) needs to know about an image. */
typedef struct pgs_dicom_pixel_info
{
	int			rows;
	int			columns;
	int			frames;
	int			samples_per_pixel;
	int			bits_allocated;
	int			bits_stored;
	int			high_bit;
	bool		is_signed;		/* Pixel Representation 1 */
	char		photometric[20];	/* of the decoded frame: MONOCHROME1, MONOCHROME2, RGB, PALETTE COLOR */
	char		transfer_syntax[68];
	char		modality[20];
	char		sop_class_uid[68];
	/* Modality LUT: output = slope × stored + intercept (1 and 0 when absent) */
	double		rescale_slope;
	double		rescale_intercept;
	/* VOI: the first window (Window Center/Width), or the first VOI LUT Sequence item */
	bool		has_window;
	double		window_center;
	double		window_width;
	char		voi_lut_function[20];	/* LINEAR (default), LINEAR_EXACT or SIGMOID */
	int			voi_lut_entries;		/* 0 when there is no VOI LUT */
	int			voi_lut_first_mapped;	/* first stored value the LUT maps (signed when is_signed) */
	int			voi_lut_bits;
	uint16_t   *voi_lut;		/* voi_lut_entries values, allocated with the caller's allocator */
	/* PALETTE COLOR: red, green, blue tables (one allocation of 3 × palette_entries values) */
	int			palette_entries;	/* 0 when there is no (unsegmented) palette */
	int			palette_first_mapped;
	int			palette_bits;	/* 8 or 16 */
	uint16_t   *palette;		/* red[entries], green[entries], blue[entries] */
	/* Mammography and positioning */
	char		image_laterality[4];	/* Image Laterality, else Laterality: "L", "R", "B", "U" or "" */
	char		view_position[20];		/* View Position: "CC", "MLO", ... or "" */
	char		presentation_intent[20];	/* FOR PRESENTATION, FOR PROCESSING or "" */
	bool		burned_in_annotation;	/* Burned In Annotation = YES */
} pgs_dicom_pixel_info;

/* Header facts only (stops before Pixel Data). voi_lut and palette are allocated with allocator when present. */
pgs_status	pgs_dicom_pixel_info_read(const uint8_t *data, size_t len, const pgs_allocator *allocator,
									  pgs_dicom_pixel_info *info, pgs_error *err);

/*
 * Decode one frame (0-based) to stored values: U8 for 8-bit data, U16 for unsigned 9–16-bit data, F32 for
 * signed data and for 32-bit data (pgscreen tensors have no signed or 32-bit integer dtype; F32 holds every
 * 16-bit value exactly). Colour comes out interleaved RGB (YBR converted, planar configuration undone);
 * PALETTE COLOR stays palette indices. Every transfer syntax of the Debian test files is handled:
 * uncompressed (implicit/explicit, little/big endian, deflated), RLE, JPEG baseline/extended/lossless and
 * JPEG-LS (dcmtk codecs), JPEG 2000 and HTJ2K (OpenJPEG). info, when not NULL, receives the header facts.
 */
pgs_status	pgs_dicom_decode_frame(const uint8_t *data, size_t len, int frame, int64_t max_pixels,
								   const pgs_allocator *allocator, pgs_image *out, pgs_dicom_pixel_info *info,
								   pgs_error *err);

/*
 * Map a decoded frame to presentation values in [0, 1] (F32): Modality LUT (rescale), then the VOI LUT or
 * the first window (LINEAR, LINEAR_EXACT or SIGMOID) or, with neither, the frame's own min–max range, then
 * MONOCHROME1 inverted so that 1 is always white. PALETTE COLOR becomes RGB through its palette; other colour
 * images are scaled by their largest possible sample value.
 */
pgs_status	pgs_dicom_presentation(const pgs_image *stored, const pgs_dicom_pixel_info *info,
								   const pgs_allocator *allocator, pgs_image *out, pgs_error *err);

/* The codec entry points registered with the image decoder (exposed for tools and tests). */
pgs_status	pgs_dicom_probe(const uint8_t *data, size_t len, pgs_image_info *info, pgs_error *err);
pgs_status	pgs_dicom_decode(const uint8_t *data, size_t len, const pgs_decode_options *opts,
							 const pgs_allocator *allocator, pgs_image *out, pgs_error *err);

/* ---- de-identification ------------------------------------------------------------------------------- */

typedef enum pgs_deid_longitudinal
{
	PGS_DEID_DATES_REMOVE = 0,	/* Basic Profile: dates removed or replaced by dummies */
	PGS_DEID_DATES_FULL,		/* Retain Longitudinal Temporal Information with Full Dates */
	PGS_DEID_DATES_MODIFIED		/* ... with Modified Dates: shifted by a per-patient offset from the key */
} pgs_deid_longitudinal;

typedef enum pgs_deid_burned_in
{
	PGS_DEID_BURNED_IN_QUARANTINE = 0,	/* no output; the reason is reported */
	PGS_DEID_BURNED_IN_REJECT,	/* an error */
	PGS_DEID_BURNED_IN_ALLOW,	/* pass the pixels through as they are */
	PGS_DEID_BURNED_IN_CLEAN	/* MG only: blank everything outside the breast, Burned In Annotation = NO */
} pgs_deid_burned_in;

#define PGS_DEID_KEY_MAX 64
#define PGS_DEID_MAX_KEEP 64
#define PGS_DEID_MAX_MODALITIES 32

typedef struct pgs_deid_options
{
	bool		retain_safe_private;
	bool		retain_uids;
	bool		retain_device_identity;
	bool		retain_institution_identity;
	bool		retain_patient_characteristics;
	pgs_deid_longitudinal longitudinal;
	bool		clean_descriptors;
	bool		clean_structured_content;
	bool		clean_graphics;
	bool		clean_pixels;	/* also blank outside the breast when there is no burned-in flag (MG only) */
	pgs_deid_burned_in burned_in;
	bool		quarantine_patient_protocol;	/* Series Description "Patient Protocol" (dose screens) */
	int			n_keep;
	uint32_t	keep[PGS_DEID_MAX_KEEP];	/* (group << 16 | element) kept as they are */
	int			n_modalities;	/* 0: any modality is accepted */
	char		modalities[PGS_DEID_MAX_MODALITIES][17];
	/* The secret for HMAC-SHA256 pseudonyms, UIDs and date offsets. Never logged or returned. */
	uint8_t		key[PGS_DEID_KEY_MAX];
	size_t		key_len;
} pgs_deid_options;

void		pgs_deid_options_init(pgs_deid_options *opts);

/* Parse a keyword or "(gggg,eeee)" into a tag (group << 16 | element). */
pgs_status	pgs_dicom_parse_tag(const char *text, uint32_t *tag, pgs_error *err);

/* Why the object would be quarantined under opts (into reason, "" when it would not). */
pgs_status	pgs_dicom_quarantine_reason(const uint8_t *data, size_t len, const pgs_deid_options *opts,
										char *reason, size_t reason_size, pgs_error *err);

/*
 * De-identify: returns a new Part 10 object in *out, or *out = NULL with the reason in `reason` when the
 * object is quarantined. Fails (never passes a file through) when any part cannot be processed.
 */
pgs_status	pgs_dicom_anonymize(const uint8_t *data, size_t len, const pgs_deid_options *opts,
								const pgs_allocator *allocator, uint8_t **out, size_t *out_len,
								char *reason, size_t reason_size, pgs_error *err);

/* One attribute the profile changes, for dicom_phi_report. Strings are allocated with the allocator. */
typedef struct pgs_deid_change
{
	uint32_t	tag;
	char	   *keyword;
	char		vr[3];
	char	   *path;			/* e.g. "(0008,1115)[0]/(0008,1140)[1]/(0008,1155)" */
	char		action[4];		/* X, Z, D, U, C, or K for an element kept only through an option */
	char	   *preview;		/* the first characters of the original value */
} pgs_deid_change;

pgs_status	pgs_dicom_phi_report(const uint8_t *data, size_t len, const pgs_deid_options *opts,
								 const pgs_allocator *allocator, pgs_deid_change **changes, int *n_changes,
								 pgs_error *err);

/* The pseudonyms the key gives this object (for an authorised mapping table). */
typedef struct pgs_deid_pseudonym
{
	char	   *kind;			/* "patient", "uid", "date_offset_days" */
	char	   *original;
	char	   *pseudonym;
} pgs_deid_pseudonym;

pgs_status	pgs_dicom_pseudonyms(const uint8_t *data, size_t len, const pgs_deid_options *opts,
								 const pgs_allocator *allocator, pgs_deid_pseudonym **rows, int *n_rows,
								 pgs_error *err);

/* Text describing the profile and options, as written to De-identification Method (0012,0063). */
void		pgs_deid_method_text(const pgs_deid_options *opts, char *buf, size_t size);

/* ---- synthetic mammograms ---------------------------------------------------------------------------- */

typedef struct pgs_synthetic_mg_options
{
	int64_t		seed;
	int			rows;			/* default 1024 */
	int			columns;		/* default 768 */
	char		laterality;		/* 'L', 'R', or 0 to choose from the seed */
	char		view[4];		/* "CC", "MLO", or "" to choose from the seed */
	bool		monochrome1;	/* MONOCHROME1 (inverted) instead of MONOCHROME2 */
	bool		burned_in_label;	/* a bright label block with text beside the breast, flagged YES */
	bool		phi;			/* plant identifying values in the header, sequences, privates, overlay */
	const char *patient_id;		/* NULL: derived from the seed */
	const char *patient_name;	/* NULL: derived from the seed */
	const char *study_instance_uid;	/* NULL: derived from the seed (so series can share a study) */
	const char *series_instance_uid;
	int			instance_number;
} pgs_synthetic_mg_options;

void		pgs_synthetic_mg_options_init(pgs_synthetic_mg_options *opts);

/* A Digital Mammography X-Ray Image "For Presentation" object, 16-bit (12 bits stored), explicit VR LE. */
pgs_status	pgs_dicom_synthetic_mammogram(const pgs_synthetic_mg_options *opts, const pgs_allocator *allocator,
										  uint8_t **out, size_t *out_len, pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
