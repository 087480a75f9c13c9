/* Shared C++ internals of kernels/dicom: the structural scan, loading into dcmtk, and exception fencing. */
#ifndef PGS_DICOM_INTERNAL_H
#define PGS_DICOM_INTERNAL_H

#include "dicom.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

/* What the structural scan learned about the bytes. */
struct DicomLayout
{
	bool		part10 = false;		/* preamble + "DICM" + file meta information */
	size_t		dataset_offset = 0;	/* where the data set starts */
	std::string transfer_syntax;	/* from the meta, or as detected for a bare data set */
	E_TransferSyntax xfer = EXS_Unknown;
	bool		xfer_overridden = false;	/* the meta names one VR encoding, the data set uses the other */
	bool		deflated = false;
	bool		encapsulated = false;
	int			max_depth = 0;
	size_t		pixel_start = 0;	/* top-level Pixel Data element in the input (not for deflated data) */
	size_t		pixel_end = 0;
	std::vector<std::pair<size_t, uint32_t>> top_level;	/* offset and tag of each top-level element */
	uint16_t	overlay_data_groups = 0;	/* bit k: top-level (60xx,3000) present for group 0x6000 + 2k */
	size_t		trailing_padding = 0;	/* zero bytes after the last element: not part of the data set */
};

/*
 * Walk every element of the meta and the data set without dcmtk: lengths against the data and their
 * containers, sequence and item delimiters, VR spelling, nesting depth, inflating deflated data first.
 */
pgs_status	dicom_scan(const uint8_t *data, size_t len, DicomLayout *layout, pgs_error *err);

/* In a prefix of the bytes, where top-level Pixel Data starts (0: not reached, deflated, or not Part 10). */
pgs_status	dicom_scan_prefix(const uint8_t *data, size_t len, size_t *pixel_offset);

/* dcmtk settings and codecs, set up once per process on first use (never in _PG_init). */
void		dicom_global_init();

/* Scan, then parse into dcmtk. header_only stops before Pixel Data. */
pgs_status	dicom_load(const uint8_t *data, size_t len, bool header_only, std::unique_ptr<DcmFileFormat> &file,
					   DicomLayout *layout, pgs_error *err);

/*
 * Serialise a data set as a Part 10 object with a fresh file meta information header naming pgscreen as the
 * implementation (and source_ae as the Source Application Entity Title when not NULL); preamble zeroed.
 * tail, when given, is appended as it is (the original Pixel Data element, byte for byte). The data set
 * stays the caller's.
 */
pgs_status	dicom_write_part10(DcmDataset *ds, E_TransferSyntax xfer, const std::string &sop_class,
							   const std::string &sop_instance, const char *source_ae,
							   const pgs_allocator *allocator, uint8_t **out, size_t *out_len, pgs_error *err,
							   const uint8_t *tail = nullptr, size_t tail_len = 0);

/* Accessor for the element list of an item, for O(1) removal while walking it (dcmtk keeps it protected). */
class DcmItemList : public DcmItem
{
public:
	static DcmList *of(DcmItem *item)
	{
		return item->*(&DcmItemList::elementList);
	}
};

/* The value of a string-ish element as it is stored (all values, backslash-separated), "" when absent. */
std::string dicom_string(DcmItem *item, const DcmTagKey &key);

/* Keyword of a tag from dcmtk's dictionary, or "" when unknown/private. */
std::string dicom_keyword(const DcmTag &tag);

/* Text of a tag, "(gggg,eeee)". */
std::string dicom_tag_text(const DcmTagKey &key);

/* Make s valid UTF-8, replacing each invalid byte with U+FFFD. */
std::string dicom_valid_utf8(const std::string &s);

/* Copy a std::string into allocator memory (NUL-terminated). NULL when out of memory. */
char	   *dicom_strdup(const pgs_allocator *allocator, const std::string &s);

/* Run body, turning any C++ exception into PGS_ERR_INTERNAL / PGS_ERR_NO_MEMORY. */
template<typename F>
pgs_status
dicom_fenced(pgs_error *err, F body)
{
	try
	{
		return body();
	}
	catch (const std::bad_alloc &)
	{
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory while processing DICOM data");
	}
	catch (const std::exception &e)
	{
		return pgs_fail(err, PGS_ERR_INTERNAL, "DICOM processing failed: %s", e.what());
	}
	catch (...)
	{
		return pgs_fail(err, PGS_ERR_INTERNAL, "DICOM processing failed with an unknown exception");
	}
}

#endif

/* ---- de-identification internals (deid_table.cpp) ---- */

/* One row of Table E.1-1: tag value/mask (xx wildcards), Basic Profile action, one action per option column. */
struct pgs_deid_rule
{
	uint16_t	group;
	uint16_t	group_mask;
	uint16_t	element;
	uint16_t	element_mask;
	const char *name;
	int			retired;
	int			in_standard_iod;
	const char *basic;
	const char *option[10];
};

/* The option columns of Table E.1-1, in the table's order. */
enum DeidColumn
{
	COL_SAFE_PRIVATE = 0, COL_UIDS, COL_DEVICE, COL_INSTITUTION, COL_PATIENT_CHARACTERISTICS,
	COL_FULL_DATES, COL_MODIFIED_DATES, COL_CLEAN_DESCRIPTORS, COL_CLEAN_STRUCTURED, COL_CLEAN_GRAPHICS
};

struct pgs_deid_safe_private
{
	uint16_t	group;
	uint8_t		element;		/* the low byte; the block byte is the creator's */
	const char *creator;
	const char *vr;
};

/* The Table E.1-1 row for a public tag, or NULL when the table does not list it. */
const pgs_deid_rule *deid_find_rule(uint16_t group, uint16_t element);

/* Whether Table E.3.10-1 lists this private element (low byte of its element) under this creator. */
bool		deid_is_safe_private(uint16_t group, uint8_t element_low, const std::string &creator);

/* Number of rows in the generated tables (for tests). */
int			deid_rule_count();
int			deid_safe_private_count();

/* Decode one frame of an already loaded data set (pixels.cpp). */
pgs_status	dicom_decode_loaded(DcmDataset *dataset, const DicomLayout &layout, int frame, int64_t max_pixels,
								const pgs_allocator *allocator, pgs_image *out, pgs_dicom_pixel_info *info,
								pgs_error *err);

/* Header facts of a loaded data set (pixels.cpp). */
pgs_status	dicom_pixel_info_from(DcmDataset *dataset, const DicomLayout &layout, const pgs_allocator *allocator,
								  pgs_dicom_pixel_info *info, pgs_error *err);

/* Blank everything outside the breast in a monochrome frame (clean_pixels.cpp); returns pixels blanked. */
pgs_status	dicom_blank_outside_breast(pgs_image *frame, bool monochrome1, size_t *blanked, pgs_error *err);
