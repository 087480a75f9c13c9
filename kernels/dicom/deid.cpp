/* De-identification entry points: load, quarantine, de-identify, mark, write; the dry-run report; pseudonyms. */
#include "deid_engine.h"
#include "hmac_sha256.h"

#include <array>
#include <cstring>

using deid::Deidentifier;
using deid::upper_trim;

namespace
{

/* CID 7050 codes for De-identification Method Code Sequence. */
struct MethodCode
{
	const char *value;
	const char *meaning;
};

const MethodCode CODE_BASIC = {"113100", "Basic Application Confidentiality Profile"};
const MethodCode CODE_CLEAN_PIXELS = {"113101", "Clean Pixel Data Option"};
const MethodCode CODE_CLEAN_GRAPHICS = {"113103", "Clean Graphics Option"};
const MethodCode CODE_CLEAN_STRUCTURED = {"113104", "Clean Structured Content Option"};
const MethodCode CODE_CLEAN_DESCRIPTORS = {"113105", "Clean Descriptors Option"};
const MethodCode CODE_FULL_DATES = {"113106", "Retain Longitudinal Temporal Information Full Dates Option"};
const MethodCode CODE_MODIFIED_DATES = {"113107", "Retain Longitudinal Temporal Information Modified Dates Option"};
const MethodCode CODE_PATIENT_CHARS = {"113108", "Retain Patient Characteristics Option"};
const MethodCode CODE_DEVICE = {"113109", "Retain Device Identity Option"};
const MethodCode CODE_UIDS = {"113110", "Retain UIDs Option"};
const MethodCode CODE_SAFE_PRIVATE = {"113111", "Retain Safe Private Option"};
const MethodCode CODE_INSTITUTION = {"113112", "Retain Institution Identity Option"};

void
add_code(DcmSequenceOfItems *seq, const MethodCode &code)
{
	DcmItem    *item = new DcmItem();

	item->putAndInsertString(DCM_CodeValue, code.value);
	item->putAndInsertString(DCM_CodingSchemeDesignator, "DCM");
	item->putAndInsertString(DCM_CodeMeaning, code.meaning);
	seq->append(item);
}

pgs_status
mark_deidentified(DcmDataset *ds, const pgs_deid_options &opts, bool pixels_cleaned, pgs_error *err)
{
	char		method[1024];
	DcmSequenceOfItems *codes = new DcmSequenceOfItems(DCM_DeidentificationMethodCodeSequence);

	pgs_deid_method_text(&opts, method, sizeof(method));
	add_code(codes, CODE_BASIC);
	if (pixels_cleaned)
		add_code(codes, CODE_CLEAN_PIXELS);
	if (opts.clean_graphics)
		add_code(codes, CODE_CLEAN_GRAPHICS);
	if (opts.clean_structured_content)
		add_code(codes, CODE_CLEAN_STRUCTURED);
	if (opts.clean_descriptors)
		add_code(codes, CODE_CLEAN_DESCRIPTORS);
	if (opts.longitudinal == PGS_DEID_DATES_FULL)
		add_code(codes, CODE_FULL_DATES);
	if (opts.longitudinal == PGS_DEID_DATES_MODIFIED)
		add_code(codes, CODE_MODIFIED_DATES);
	if (opts.retain_patient_characteristics)
		add_code(codes, CODE_PATIENT_CHARS);
	if (opts.retain_device_identity)
		add_code(codes, CODE_DEVICE);
	if (opts.retain_uids)
		add_code(codes, CODE_UIDS);
	if (opts.retain_safe_private)
		add_code(codes, CODE_SAFE_PRIVATE);
	if (opts.retain_institution_identity)
		add_code(codes, CODE_INSTITUTION);

	OFCondition cond = ds->putAndInsertString(DCM_PatientIdentityRemoved, "YES");

	if (cond.good())
		cond = ds->putAndInsertString(DCM_DeidentificationMethod, method);
	if (cond.good())
		cond = ds->insert(codes, OFTrue);
	else
		delete codes;
	if (cond.good())
		cond = ds->putAndInsertString(DCM_LongitudinalTemporalInformationModified,
									  opts.longitudinal == PGS_DEID_DATES_FULL ? "UNMODIFIED"
									  : opts.longitudinal == PGS_DEID_DATES_MODIFIED ? "MODIFIED" : "REMOVED");
	if (cond.good() && pixels_cleaned)
		cond = ds->putAndInsertString(DCM_BurnedInAnnotation, "NO");
	if (cond.bad())
		return pgs_fail(err, PGS_ERR_INTERNAL, "could not mark the data set as de-identified: %s", cond.text());
	return PGS_OK;
}

/* Replace the pixel data of an MG image by frames blanked outside the breast, uncompressed. */
pgs_status
clean_mammogram_pixels(DcmDataset *ds, const DicomLayout &layout, pgs_error *err)
{
	pgs_dicom_pixel_info info;
	pgs_status	st = dicom_pixel_info_from(ds, layout, &pgs_malloc_allocator, &info, err);

	if (st != PGS_OK)
		return st;
	free(info.voi_lut);
	free(info.palette);
	if (info.samples_per_pixel != 1 || info.is_signed || info.bits_allocated > 16)
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "only unsigned monochrome images up to 16 bits can be cleaned");

	size_t		frame_pixels = size_t(info.rows) * size_t(info.columns);
	size_t		bytes_per = info.bits_allocated <= 8 ? 1 : 2;
	std::vector<uint8_t> all(frame_pixels * bytes_per * size_t(info.frames));

	for (int f = 0; f < info.frames; f++)
	{
		pgs_image	frame;
		size_t		blanked;

		st = dicom_decode_loaded(ds, layout, f, INT64_MAX, &pgs_malloc_allocator, &frame, NULL, err);
		if (st != PGS_OK)
			return st;
		st = dicom_blank_outside_breast(&frame, strcmp(info.photometric, "MONOCHROME1") == 0, &blanked, err);
		if (st == PGS_OK)
			memcpy(all.data() + size_t(f) * frame_pixels * bytes_per, frame.data, frame_pixels * bytes_per);
		free(frame.data);
		if (st != PGS_OK)
			return st;
	}

	OFCondition cond;

	ds->findAndDeleteElement(DCM_PixelData);
	if (bytes_per == 1)
		cond = ds->putAndInsertUint8Array(DCM_PixelData, all.data(), all.size());
	else
		cond = ds->putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16 *>(all.data()),
										   all.size() / 2);
	if (cond.good())
		cond = ds->putAndInsertString(DCM_PhotometricInterpretation, info.photometric);
	if (cond.good() && ds->tagExists(DCM_PlanarConfiguration))
		ds->findAndDeleteElement(DCM_PlanarConfiguration);
	if (cond.bad())
		return pgs_fail(err, PGS_ERR_INTERNAL, "could not store the cleaned pixels: %s", cond.text());
	return PGS_OK;
}

/* Everything the three entry points share: load, quarantine check, walk. */
struct Session
{
	std::unique_ptr<DcmFileFormat> file;
	DicomLayout layout;
	bool		pixels_loaded = false;	/* false: parsing stopped at Pixel Data, the last element */
	std::vector<uint8_t> filtered;	/* the header without elements dropped before parsing */
	std::string meta_class;
	std::string meta_instance;
	std::string reason;
	bool		reject = false;
	size_t		trailing_padding = 0;	/* zero bytes after the last element, left out of the output */
};

/*
 * Parse up to Pixel Data. When Pixel Data is the last element (nearly always), that is the whole header and
 * the pixels can travel from input to output as raw bytes: no copy through dcmtk, and compressed frames stay
 * byte-identical by construction. Otherwise (elements after Pixel Data, deflated data, a data set whose VR
 * encoding contradicts its meta, or when with_pixels asks) everything is parsed.
 */
pgs_status
open_session(const uint8_t *data, size_t len, const pgs_deid_options &opts, Session &s, pgs_error *err,
			 bool with_pixels = false, bool prefilter = false)
{
	DicomLayout scanned;
	pgs_status	st = dicom_scan(data, len, &scanned, err);

	if (st != PGS_OK)
		return st;
	s.trailing_padding = scanned.trailing_padding;
	len -= scanned.trailing_padding;
	bool		header_is_all = scanned.pixel_start > 0 && scanned.pixel_end == len && !scanned.deflated &&
		!scanned.xfer_overridden;

	/*
	 * What follows Pixel Data may be only what de-identification drops anyway (Data Set Trailing Padding,
	 * private groups such as 7FE1): then, for de-identification, the header still is all that matters.
	 */
	if (prefilter && !header_is_all && scanned.pixel_start > 0 && !scanned.deflated && !scanned.xfer_overridden)
	{
		bool		only_dropped_after = true;

		for (const auto &element : scanned.top_level)
			if (element.first > scanned.pixel_start)
			{
				uint16_t	g = uint16_t(element.second >> 16);

				only_dropped_after = only_dropped_after &&
					(element.second == 0xFFFCFFFCu || ((g & 1) && !opts.retain_safe_private));
			}
		header_is_all = only_dropped_after;
	}

	/*
	 * For de-identification proper, top-level elements that go whatever the options (private ones unless
	 * safe ones are retained, overlays, curves, group lengths) are dropped as bytes before dcmtk parses:
	 * vendor blocks are often most of a header, and dcmtk looks each private tag up by its creator.
	 */
	if (prefilter && header_is_all && !with_pixels)
	{
		std::vector<uint8_t> &kept = s.filtered;

		kept.assign(data, data + scanned.dataset_offset);
		for (size_t k = 0; k < scanned.top_level.size(); k++)
		{
			size_t		start = scanned.top_level[k].first;
			uint32_t	tag = scanned.top_level[k].second;
			uint16_t	g = uint16_t(tag >> 16);
			size_t		end = k + 1 < scanned.top_level.size() ? scanned.top_level[k + 1].first : len;

			if (start >= scanned.pixel_start)
				break;
			/* overlay attributes stay for the quarantine check; only their (large) data goes here */
			bool		drop = ((g & 1) && !opts.retain_safe_private) || (g & 0xFF01) == 0x5000 ||
				((g & 0xFF01) == 0x6000 && (tag & 0xFFFF) == 0x3000) || (g != 0x0002 && (tag & 0xFFFF) == 0);

			if (!drop)
				kept.insert(kept.end(), data + start, data + end);
		}
		if ((st = dicom_load(kept.data(), kept.size(), true, s.file, &s.layout, err)) != PGS_OK)
			return st;
		s.layout.pixel_start = scanned.pixel_start;	/* the tail still comes from the original bytes */
		s.layout.pixel_end = scanned.pixel_end;
		s.layout.overlay_data_groups = scanned.overlay_data_groups;
	}
	else if ((st = dicom_load(data, len, true, s.file, &s.layout, err)) != PGS_OK)
		return st;

	if (with_pixels || !header_is_all)
	{
		if ((st = dicom_load(data, len, false, s.file, &s.layout, err)) != PGS_OK)
			return st;
		s.pixels_loaded = true;
	}
	s.meta_class = dicom_string(s.file->getMetaInfo(), DCM_MediaStorageSOPClassUID);
	s.meta_instance = dicom_string(s.file->getMetaInfo(), DCM_MediaStorageSOPInstanceUID);
	s.reason = deid::quarantine_reason(s.file->getDataset(), s.layout, opts, s.meta_class, &s.reject);
	return PGS_OK;
}

/* A per-object fallback identity when there is no SOP Instance UID: a digest of the bytes. */
std::string
content_basis(const uint8_t *data, size_t len)
{
	uint8_t		digest[PGS_SHA256_BYTES];
	pgs_sha256	sha;
	char		hex[2 * PGS_SHA256_BYTES + 1];

	pgs_sha256_init(&sha);
	pgs_sha256_update(&sha, data, len);
	pgs_sha256_final(&sha, digest);
	for (int i = 0; i < PGS_SHA256_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return hex;
}

/*
 * What cannot be read back in full is no de-identified object: refuse it rather than return it. When the
 * last tail_len bytes are the input's Pixel Data element copied as it was, dcmtk parses the header only and
 * the structural scan of the whole output walks that element (its length, or every fragment item and the
 * sequence delimiter), which is all a full dcmtk read of an OB/OW element checks: the pixels are not copied
 * into dcmtk a second time.
 */
pgs_status
check_reads_back(const uint8_t *out, size_t out_len, size_t tail_len, pgs_error *err)
{
	std::unique_ptr<DcmFileFormat> reread;
	DicomLayout layout;
	pgs_error	reread_err;
	pgs_status	st = dicom_load(out, out_len, tail_len > 0, reread, &layout, &reread_err);

	if (st == PGS_OK && tail_len > 0 &&
		(layout.pixel_start != out_len - tail_len || layout.pixel_end != out_len || layout.trailing_padding != 0))
	{
		st = PGS_ERR_BAD_DATA;
		snprintf(reread_err.message, sizeof(reread_err.message), "Pixel Data is not the last element");
	}
	if (st != PGS_OK)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM object cannot be de-identified: the result would not read back (%s)",
						reread_err.message);
	return PGS_OK;
}

pgs_status
check_options(const pgs_deid_options &opts, pgs_error *err)
{
	if (opts.key_len == 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "a de-identification key is required");
	return PGS_OK;
}

}								/* namespace */

extern "C" void
pgs_deid_options_init(pgs_deid_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->burned_in = PGS_DEID_BURNED_IN_QUARANTINE;
	opts->quarantine_patient_protocol = true;
}

/* De-identification Method is LO (64 characters a value, VM 1-n): one value per fact. */
extern "C" void
pgs_deid_method_text(const pgs_deid_options *opts, char *buf, size_t size)
{
	std::vector<std::string> values = {"pgscreen 0.1.0", "DICOM PS3.15 2023b Annex E",
	"Basic Application Level Confidentiality Profile"};

	if (opts->retain_safe_private) values.push_back("Retain Safe Private Option");
	if (opts->retain_uids) values.push_back("Retain UIDs Option");
	if (opts->retain_device_identity) values.push_back("Retain Device Identity Option");
	if (opts->retain_institution_identity) values.push_back("Retain Institution Identity Option");
	if (opts->retain_patient_characteristics) values.push_back("Retain Patient Characteristics Option");
	if (opts->longitudinal == PGS_DEID_DATES_FULL) values.push_back("Retain Longitudinal Full Dates Option");
	if (opts->longitudinal == PGS_DEID_DATES_MODIFIED) values.push_back("Retain Longitudinal Modified Dates Option");
	if (opts->clean_descriptors) values.push_back("Clean Descriptors Option");
	if (opts->clean_structured_content) values.push_back("Clean Structured Content Option");
	if (opts->clean_graphics) values.push_back("Clean Graphics Option");
	if (opts->clean_pixels || opts->burned_in == PGS_DEID_BURNED_IN_CLEAN) values.push_back("Clean Pixel Data Option (MG)");
	values.push_back("Keyed HMAC-SHA256 pseudonyms and UIDs");
	std::string text;

	for (size_t i = 0; i < values.size(); i++)
		text += (i ? "\\" : "") + values[i];
	snprintf(buf, size, "%s", text.c_str());
}

extern "C" pgs_status
pgs_dicom_quarantine_reason(const uint8_t *data, size_t len, const pgs_deid_options *opts, char *reason,
							size_t reason_size, pgs_error *err)
{
	return dicom_fenced(err, [&]() -> pgs_status {
		Session		s;
		pgs_status	st = open_session(data, len, *opts, s, err);

		if (st != PGS_OK)
			return st;
		snprintf(reason, reason_size, "%s", s.reason.c_str());
		return PGS_OK;
	});
}

extern "C" pgs_status
pgs_dicom_anonymize(const uint8_t *data, size_t len, const pgs_deid_options *opts, const pgs_allocator *allocator,
					uint8_t **out, size_t *out_len, char *reason, size_t reason_size, pgs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (reason_size > 0)
		reason[0] = '\0';
	return dicom_fenced(err, [&]() -> pgs_status {
		pgs_status	st = check_options(*opts, err);
		Session		s;

		if (st != PGS_OK || (st = open_session(data, len, *opts, s, err, false, true)) != PGS_OK)
			return st;
		if (s.reject)
			return pgs_fail(err, PGS_ERR_UNSUPPORTED, "DICOM object was rejected: %s", s.reason.c_str());
		if (!s.reason.empty())
		{
			snprintf(reason, reason_size, "%s", s.reason.c_str());
			return PGS_OK;
		}

		DcmDataset *ds = s.file->getDataset();
		std::string sop_class = dicom_string(ds, DCM_SOPClassUID);
		std::string sop_instance = dicom_string(ds, DCM_SOPInstanceUID);
		std::string burned = upper_trim(dicom_string(ds, DCM_BurnedInAnnotation));
		std::string modality = upper_trim(dicom_string(ds, DCM_Modality));
		bool		clean_pixels = modality == "MG" &&
			(opts->clean_pixels || (opts->burned_in == PGS_DEID_BURNED_IN_CLEAN && burned == "YES"));
		Deidentifier deid(*opts, err);
		E_TransferSyntax xfer = s.layout.xfer;

		if (sop_class.empty())
			sop_class = s.meta_class;
		if (sop_instance.empty())
			sop_instance = s.meta_instance;
		if (sop_class.empty())
			return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM object has no SOP Class UID");
		if ((st = deid.prepare(ds, sop_instance.empty() ? content_basis(data, len) : sop_instance)) != PGS_OK)
			return st;
		if (clean_pixels)
		{
			if (!s.pixels_loaded)
			{
				if ((st = open_session(data, len, *opts, s, err, true)) != PGS_OK)
					return st;
				ds = s.file->getDataset();
			}
			if ((st = clean_mammogram_pixels(ds, s.layout, err)) != PGS_OK)
				return st;
			xfer = EXS_LittleEndianExplicit;
		}
		if ((st = deid.process_item(ds, "", 0)) != PGS_OK)
			return st;
		if ((st = mark_deidentified(ds, *opts, clean_pixels, err)) != PGS_OK)
			return st;

		std::string new_instance = dicom_string(ds, DCM_SOPInstanceUID);

		if (new_instance.empty())
			new_instance = opts->retain_uids ? sop_instance
				: deid.map_uid(sop_instance.empty() ? "content:" + content_basis(data, len) : sop_instance);
		size_t		tail_len = s.pixels_loaded ? 0 : s.layout.pixel_end - s.layout.pixel_start;

		st = dicom_write_part10(ds, xfer, sop_class, new_instance, NULL, allocator, out, out_len, err,
								tail_len > 0 ? data + s.layout.pixel_start : NULL, tail_len);
		if (st != PGS_OK)
			return st;
		if ((st = check_reads_back(*out, *out_len, tail_len, err)) != PGS_OK)
		{
			pgs_free(allocator, *out);
			*out = NULL;
			*out_len = 0;
		}
		return st;
	});
}

extern "C" pgs_status
pgs_dicom_phi_report(const uint8_t *data, size_t len, const pgs_deid_options *opts, const pgs_allocator *allocator,
					 pgs_deid_change **changes, int *n_changes, pgs_error *err)
{
	*changes = NULL;
	*n_changes = 0;
	return dicom_fenced(err, [&]() -> pgs_status {
		/* A dry run shows no pseudonym, so it needs no key: a fixed one stands in when none is given. */
		pgs_deid_options report_opts = *opts;
		Session		s;
		std::vector<deid::Change> report;
		pgs_status	st;

		if (report_opts.key_len == 0)
		{
			memcpy(report_opts.key, "phi report", 10);
			report_opts.key_len = 10;
		}
		if ((st = open_session(data, len, report_opts, s, err)) != PGS_OK)
			return st;

		DcmDataset *ds = s.file->getDataset();
		Deidentifier deid(report_opts, err);

		deid.report = &report;
		if ((st = deid.prepare(ds, dicom_string(ds, DCM_SOPInstanceUID))) != PGS_OK)
			return st;
		if ((st = deid.process_item(ds, "", 0)) != PGS_OK)
			return st;
		if (s.trailing_padding > 0)
			report.push_back(deid::Change{0xFFFCFFFCu, "DataSetTrailingPadding", "OB", "(FFFC,FFFC)", "X",
					std::to_string(s.trailing_padding) + " zero bytes after the last element"});
		if (report.empty())
			return PGS_OK;
		pgs_deid_change *rows = static_cast<pgs_deid_change *>(pgs_alloc(allocator, sizeof(pgs_deid_change) * report.size()));

		if (rows == NULL)
			return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the report");
		for (size_t i = 0; i < report.size(); i++)
		{
			const deid::Change &c = report[i];

			rows[i].tag = c.tag;
			rows[i].keyword = dicom_strdup(allocator, c.keyword);
			rows[i].path = dicom_strdup(allocator, c.path);
			rows[i].preview = dicom_strdup(allocator, c.preview);
			snprintf(rows[i].vr, sizeof(rows[i].vr), "%s", c.vr.c_str());
			snprintf(rows[i].action, sizeof(rows[i].action), "%s", c.action.c_str());
			if (rows[i].keyword == NULL || rows[i].path == NULL || rows[i].preview == NULL)
				return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the report");
		}
		*changes = rows;
		*n_changes = int(report.size());
		return PGS_OK;
	});
}

extern "C" pgs_status
pgs_dicom_pseudonyms(const uint8_t *data, size_t len, const pgs_deid_options *opts, const pgs_allocator *allocator,
					 pgs_deid_pseudonym **rows_out, int *n_rows, pgs_error *err)
{
	*rows_out = NULL;
	*n_rows = 0;
	return dicom_fenced(err, [&]() -> pgs_status {
		pgs_status	st = check_options(*opts, err);
		Session		s;

		if (st != PGS_OK || (st = open_session(data, len, *opts, s, err)) != PGS_OK)
			return st;

		DcmDataset *ds = s.file->getDataset();
		Deidentifier deid(*opts, err);
		std::string sop_instance = dicom_string(ds, DCM_SOPInstanceUID);

		if ((st = deid.prepare(ds, sop_instance)) != PGS_OK || (st = deid.process_item(ds, "", 0)) != PGS_OK)
			return st;
		if (!s.meta_instance.empty() && !opts->retain_uids)
			deid.map_uid(s.meta_instance);

		std::vector<std::array<std::string, 3>> rows;

		rows.push_back({"patient", deid.patient_basis, deid.patient_pseudonym});
		if (opts->longitudinal == PGS_DEID_DATES_MODIFIED)
			rows.push_back({"date_offset_days", deid.patient_basis, std::to_string(-deid.date_offset_days)});
		for (const auto &kv : deid.uid_map)
			rows.push_back({"uid", kv.first, kv.second});

		pgs_deid_pseudonym *out = static_cast<pgs_deid_pseudonym *>(pgs_alloc(allocator, sizeof(pgs_deid_pseudonym) * rows.size()));

		if (out == NULL)
			return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the pseudonyms");
		for (size_t i = 0; i < rows.size(); i++)
		{
			out[i].kind = dicom_strdup(allocator, rows[i][0]);
			out[i].original = dicom_strdup(allocator, dicom_valid_utf8(rows[i][1]));
			out[i].pseudonym = dicom_strdup(allocator, rows[i][2]);
			if (out[i].kind == NULL || out[i].original == NULL || out[i].pseudonym == NULL)
				return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the pseudonyms");
		}
		*rows_out = out;
		*n_rows = int(rows.size());
		return PGS_OK;
	});
}

extern "C" pgs_status
pgs_dicom_parse_tag(const char *text, uint32_t *tag, pgs_error *err)
{
	return dicom_fenced(err, [&]() -> pgs_status {
		std::string t = text;

		if (t.size() == 11 && t[0] == '(' && t[10] == ')')
			t = t.substr(1, 9);
		if (t.size() == 9 && t[4] == ',' &&
			std::all_of(t.begin(), t.end(), [](char c) { return c == ',' || isxdigit(static_cast<unsigned char>(c)); }))
		{
			*tag = uint32_t(std::stoul(t.substr(0, 4), nullptr, 16)) << 16 | uint32_t(std::stoul(t.substr(5, 4), nullptr, 16));
			return PGS_OK;
		}
		dicom_global_init();
		DcmTag		found;

		if (DcmTag::findTagFromName(text, found).good() && !found.isPrivate())
		{
			*tag = uint32_t(found.getGroup()) << 16 | found.getElement();
			return PGS_OK;
		}
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"\"%s\" is not a DICOM keyword or a tag written as (gggg,eeee)", text);
	});
}
