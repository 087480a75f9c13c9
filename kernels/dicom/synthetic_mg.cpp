/* Synthetic mammograms: valid DICOM MG "For Presentation" objects with a breast, texture, labels and planted PHI. */
#include "dicom_internal.h"
#include "pseudonym.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <cstring>
#include <vector>

/*
 * Clearly synthetic (Series Description and Image Comments say so), deterministic for a seed: the same
 * options give the same bytes. The breast is a half-ellipse against the chest wall with smooth multi-scale
 * texture, brighter toward the chest wall; MLO views add a pectoral muscle. Right breasts have the chest wall
 * at column 0 (Patient Orientation A\R), left breasts at the last column (P\L). The planted PHI exercises a
 * de-identifier: names, IDs, dates, institution and device identity in the header, in nested sequences, in
 * private elements (including a private copy of the patient's name and a private sequence), in an overlay
 * and its description, in free-text descriptions and in the file meta (Source AE Title).
 */

namespace
{

const int	BITS_STORED = 12;
const int	MAX_VALUE = (1 << BITS_STORED) - 1;
const char *const SYNTHETIC_KEY = "pgscreen synthetic mammogram";

struct Rng
{
	uint64_t	state;

	explicit Rng(uint64_t seed) : state(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {}

	uint64_t	next()
	{
		/* splitmix64 */
		uint64_t	z = (state += 0x9E3779B97F4A7C15ull);

		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
		return z ^ (z >> 31);
	}
	double		uniform()
	{
		return double(next() >> 11) / double(1ull << 53);
	}
	int			below(int n)
	{
		return int(next() % uint64_t(n));
	}
};

const char *const first_names[] = {"JANE", "MARIA", "INGRID", "KARI", "ASTRID", "SOFIE", "NORA", "EMMA", "LINNEA", "HEDDA"};
const char *const last_names[] = {"HANSEN", "JOHANSEN", "OLSEN", "LARSEN", "ANDERSEN", "PEDERSEN", "NILSEN", "KRISTIANSEN", "JENSEN", "KARLSEN"};

/* A 5×7 bitmap font for the burned-in label: digits, capitals and a few signs. */
const char *
glyph(char c)
{
	static const char *const digits[10] = {
		"\x0E\x11\x13\x15\x19\x11\x0E", "\x04\x0C\x04\x04\x04\x04\x0E", "\x0E\x11\x01\x02\x04\x08\x1F",
		"\x1F\x02\x04\x02\x01\x11\x0E", "\x02\x06\x0A\x12\x1F\x02\x02", "\x1F\x10\x1E\x01\x01\x11\x0E",
		"\x06\x08\x10\x1E\x11\x11\x0E", "\x1F\x01\x02\x04\x08\x08\x08", "\x0E\x11\x11\x0E\x11\x11\x0E",
		"\x0E\x11\x11\x0F\x01\x02\x0C"};
	static const char *const letters[26] = {
		"\x0E\x11\x11\x1F\x11\x11\x11", "\x1E\x11\x11\x1E\x11\x11\x1E", "\x0E\x11\x10\x10\x10\x11\x0E",
		"\x1C\x12\x11\x11\x11\x12\x1C", "\x1F\x10\x10\x1E\x10\x10\x1F", "\x1F\x10\x10\x1E\x10\x10\x10",
		"\x0E\x11\x10\x17\x11\x11\x0F", "\x11\x11\x11\x1F\x11\x11\x11", "\x0E\x04\x04\x04\x04\x04\x0E",
		"\x07\x02\x02\x02\x02\x12\x0C", "\x11\x12\x14\x18\x14\x12\x11", "\x10\x10\x10\x10\x10\x10\x1F",
		"\x11\x1B\x15\x15\x11\x11\x11", "\x11\x11\x19\x15\x13\x11\x11", "\x0E\x11\x11\x11\x11\x11\x0E",
		"\x1E\x11\x11\x1E\x10\x10\x10", "\x0E\x11\x11\x11\x15\x12\x0D", "\x1E\x11\x11\x1E\x14\x12\x11",
		"\x0F\x10\x10\x0E\x01\x01\x1E", "\x1F\x04\x04\x04\x04\x04\x04", "\x11\x11\x11\x11\x11\x11\x0E",
		"\x11\x11\x11\x11\x11\x0A\x04", "\x11\x11\x11\x15\x15\x15\x0A", "\x11\x11\x0A\x04\x0A\x11\x11",
		"\x11\x11\x0A\x04\x04\x04\x04", "\x1F\x01\x02\x04\x08\x10\x1F"};

	if (c >= '0' && c <= '9')
		return digits[c - '0'];
	if (c >= 'A' && c <= 'Z')
		return letters[c - 'A'];
	if (c == '-')
		return "\x00\x00\x00\x1F\x00\x00\x00";
	if (c == '/')
		return "\x01\x01\x02\x04\x08\x10\x10";
	return "\x00\x00\x00\x00\x00\x00\x00";
}

/* Smooth value noise: bilinear interpolation of a random grid, summed over octaves. */
class Texture
{
public:
	Texture(Rng &rng, int cells) : cells_(cells), grid_(size_t(cells + 1) * size_t(cells + 1))
	{
		for (double &g : grid_)
			g = rng.uniform();
	}

	double		at(double u, double v) const
	{
		double		x = u * cells_,
					y = v * cells_;
		int			x0 = std::min(int(x), cells_ - 1),
					y0 = std::min(int(y), cells_ - 1);
		double		fx = x - x0,
					fy = y - y0;

		fx = fx * fx * (3 - 2 * fx);
		fy = fy * fy * (3 - 2 * fy);
		auto		g = [&](int i, int j) { return grid_[size_t(j) * size_t(cells_ + 1) + size_t(i)]; };

		return (g(x0, y0) * (1 - fx) + g(x0 + 1, y0) * fx) * (1 - fy) + (g(x0, y0 + 1) * (1 - fx) + g(x0 + 1, y0 + 1) * fx) * fy;
	}

private:
	int			cells_;
	std::vector<double> grid_;
};

std::string
synthetic_uid(const std::string &what)
{
	return pgs_pseudonym_uid(reinterpret_cast<const uint8_t *>(SYNTHETIC_KEY), strlen(SYNTHETIC_KEY), what);
}

std::string
date_from(Rng &rng, int year_lo, int year_hi)
{
	char		buf[16];

	snprintf(buf, sizeof(buf), "%04d%02d%02d", year_lo + rng.below(year_hi - year_lo + 1), 1 + rng.below(12),
			 1 + rng.below(28));
	return buf;
}

void
put(DcmItem *item, const DcmTagKey &key, const std::string &value)
{
	OFCondition cond = item->putAndInsertString(key, value.c_str());

	if (cond.bad())
		throw std::runtime_error(std::string("could not set ") + dicom_tag_text(key) + ": " + cond.text());
}

void
put_private(DcmItem *item, Uint16 group, Uint16 element, DcmEVR vr, const char *creator, const std::string &value)
{
	DcmTag		tag(group, element, vr);

	tag.setPrivateCreator(creator);
	OFCondition cond = item->putAndInsertString(tag, value.c_str());

	if (cond.bad())
		throw std::runtime_error("could not set a private element: " + std::string(cond.text()));
}

DcmItem *
code_item(const char *value, const char *scheme, const char *meaning)
{
	DcmItem    *item = new DcmItem();

	put(item, DCM_CodeValue, value);
	put(item, DCM_CodingSchemeDesignator, scheme);
	put(item, DCM_CodeMeaning, meaning);
	return item;
}

void
insert_sequence(DcmItem *parent, const DcmTagKey &key, std::vector<DcmItem *> items)
{
	DcmSequenceOfItems *seq = new DcmSequenceOfItems(key);

	for (DcmItem *it : items)
		seq->append(it);
	if (parent->insert(seq, OFTrue).bad())
	{
		delete seq;
		throw std::runtime_error("could not insert sequence " + dicom_tag_text(key));
	}
}

/* The breast image (MONOCHROME2 orientation, 12 bits), and the mask of the label block. */
void
draw_breast(Rng &rng, int rows, int cols, bool right, bool mlo, bool label, const std::string &label_text,
			std::vector<uint16_t> &pixels)
{
	/* Fibroglandular tissue: fractal noise (five octaves) plus streaks radiating from the nipple (ducts). */
	Texture		octaves[5] = {Texture(rng, 4), Texture(rng, 9), Texture(rng, 19), Texture(rng, 41), Texture(rng, 87)};
	Texture		ducts(rng, 48),
				muscle(rng, 7);
	double		semi_x = (0.62 + 0.12 * rng.uniform()) * cols,
				semi_y = (0.40 + 0.06 * rng.uniform()) * rows,
				center_y = (0.50 + 0.04 * (rng.uniform() - 0.5)) * rows;
	double		density = 0.3 + 0.5 * rng.uniform();

	pixels.assign(size_t(rows) * size_t(cols), 0);
	for (int y = 0; y < rows; y++)
		for (int x = 0; x < cols; x++)
		{
			double		depth = right ? x : cols - 1 - x;	/* distance from the chest wall */
			double		dx = depth / semi_x,
						dy = (y - center_y) / semi_y;
			double		r2 = dx * dx + dy * dy;
			double		u = double(x) / cols,
						v = double(y) / rows;
			double		value = 40 + 25 * octaves[4].at(u, v);	/* background: dark with a little noise */

			if (r2 < 1)
			{
				double		thickness = std::sqrt(1 - r2);
				double		fractal = 0,
							weight = 0.5;

				for (const Texture &t : octaves)
				{
					fractal += weight * t.at(u, v);
					weight *= 0.55;
				}
				/* ducts: noise in (angle around the nipple, distance) stretched along the distance */
				double		angle = std::atan2(y - center_y, semi_x - depth) / M_PI * 0.5 + 0.5;
				double		streak = ducts.at(angle, std::min(0.999, (semi_x - depth) / (8.0 * semi_x)));
				double		glandular = std::max(0.0, fractal * 1.6 - 0.55 + 0.35 * streak) * (0.4 + 0.6 * thickness);

				value = 700 + 1200 * thickness + 2200 * density * glandular;
				if (r2 > 0.97)
					value *= 0.85;	/* the skin line */
			}
			if (mlo)
			{
				/* The pectoral muscle: a bright band along the upper chest wall with a curved edge. */
				double		edge = 0.33 * cols * (1 - double(y) / (0.6 * rows)) + 12 * (muscle.at(u, v) - 0.5) * cols / 100.0;

				if (depth < edge)
					value = std::max(value, 2450 + 500 * muscle.at(u, v) + 150 * octaves[3].at(u, v));
			}
			pixels[size_t(y) * size_t(cols) + size_t(x)] = uint16_t(std::max(0.0, std::min(double(MAX_VALUE), value)));
		}
	if (!label)
		return;

	/* A white label block far from the chest wall, top corner, with dark 5×7 text scaled ×2. */
	int			scale = std::max(1, cols / 384);
	int			text_w = int(label_text.size()) * 6 * scale,
				block_w = text_w + 8 * scale,
				block_h = 11 * scale;
	int			x0 = right ? cols - block_w - cols / 40 : cols / 40,
				y0 = rows / 40;

	for (int y = y0; y < y0 + block_h && y < rows; y++)
		for (int x = std::max(0, x0); x < x0 + block_w && x < cols; x++)
			pixels[size_t(y) * size_t(cols) + size_t(x)] = MAX_VALUE;
	for (size_t k = 0; k < label_text.size(); k++)
	{
		const char *g = glyph(label_text[k]);

		for (int gy = 0; gy < 7; gy++)
			for (int gx = 0; gx < 5; gx++)
				if (g[gy] & (0x10 >> gx))
					for (int sy = 0; sy < scale; sy++)
						for (int sx = 0; sx < scale; sx++)
						{
							int			x = x0 + 4 * scale + int(k) * 6 * scale + gx * scale + sx,
										y = y0 + 2 * scale + gy * scale + sy;

							if (x >= 0 && x < cols && y < rows)
								pixels[size_t(y) * size_t(cols) + size_t(x)] = 200;
						}
	}
}

}								/* namespace */

extern "C" void
pgs_synthetic_mg_options_init(pgs_synthetic_mg_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->rows = 1024;
	opts->columns = 768;
	opts->phi = true;
	opts->instance_number = 1;
}

/* A UID as PS3.5 9.1 has it: at most 64 characters, components of digits without leading zeros, dots between. */
static bool
conformant_uid(const char *uid)
{
	size_t		n = strlen(uid);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		bool		component_start = i == 0 || uid[i - 1] == '.';

		if (uid[i] == '.' ? component_start || i == n - 1
			: !isdigit(static_cast<unsigned char>(uid[i])) || (component_start && uid[i] == '0' && i + 1 < n && uid[i + 1] != '.'))
			return false;
	}
	return true;
}

/* A single LO value: at most 64 characters, no backslash (the value separator), no control characters. */
static bool
conformant_lo(const char *value)
{
	size_t		n = strlen(value);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (value[i] == '\\' || static_cast<unsigned char>(value[i]) < 0x20 || value[i] == 0x7F)
			return false;
	return true;
}

/* Short String values hold at most 16 characters: a prefix and the start of a patient ID. */
static std::string
short_string(const std::string &value)
{
	return value.substr(0, 16);
}

extern "C" pgs_status
pgs_dicom_synthetic_mammogram(const pgs_synthetic_mg_options *opts, const pgs_allocator *allocator, uint8_t **out,
							  size_t *out_len, pgs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (opts->rows < 64 || opts->columns < 64 || opts->rows > 8192 || opts->columns > 8192)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "synthetic mammogram size must be 64 to 8192 pixels a side, not %d×%d",
						opts->columns, opts->rows);
	if (opts->laterality != 0 && opts->laterality != 'L' && opts->laterality != 'R')
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "laterality must be L or R");
	if (opts->view[0] != '\0' && strcmp(opts->view, "CC") != 0 && strcmp(opts->view, "MLO") != 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "view must be CC or MLO, not \"%s\"", opts->view);
	if (opts->patient_id != NULL && !conformant_lo(opts->patient_id))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"patient_id must be 1 to 64 characters without backslashes or control characters");
	if (opts->patient_name != NULL && (strlen(opts->patient_name) == 0 || strlen(opts->patient_name) > 64))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "patient name must be 1 to 64 characters");
	for (const char *uid : {opts->study_instance_uid, opts->series_instance_uid})
		if (uid != NULL && !conformant_uid(uid))
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
							"\"%.80s%s\" is not a DICOM UID (up to 64 digits and dots, no empty component, no leading zero)",
							uid, strlen(uid) > 80 ? "..." : "");
	return dicom_fenced(err, [&]() -> pgs_status {
		dicom_global_init();
		Rng			rng(uint64_t(opts->seed));
		std::string seed = std::to_string(opts->seed);
		bool		right = opts->laterality ? opts->laterality == 'R' : rng.below(2) == 1;
		bool		mlo = opts->view[0] ? strcmp(opts->view, "MLO") == 0 : rng.below(2) == 1;
		const char *lat = right ? "R" : "L";
		const char *view = mlo ? "MLO" : "CC";
		/* Identity: derived from the seed unless given, so series and studies can be built from parts. */
		Rng			who(uint64_t(opts->seed) ^ 0xA5A5A5A5ull);
		std::string first = first_names[who.below(10)],
					last = last_names[who.below(10)];
		std::string patient_name = opts->patient_name ? opts->patient_name : last + "^" + first;
		char		idbuf[32];

		snprintf(idbuf, sizeof(idbuf), "%08llu", (unsigned long long) (uint64_t(opts->seed) * 2654435761ull % 100000000ull));
		std::string patient_id = opts->patient_id ? opts->patient_id : idbuf;
		std::string birth = date_from(who, 1940, 1975),
					study_date = date_from(rng, 2012, 2018);
		std::string study_uid = opts->study_instance_uid ? opts->study_instance_uid : synthetic_uid("study:" + seed);
		std::string series_uid = opts->series_instance_uid ? opts->series_instance_uid : synthetic_uid("series:" + seed);
		std::string instance_uid = synthetic_uid("instance:" + seed + ":" + study_uid + ":" + series_uid + ":" +
												 std::to_string(opts->instance_number));
		std::string accession = "A" + std::string(idbuf).substr(2) + "7";
		int			rows = opts->rows,
					cols = opts->columns;
		std::vector<uint16_t> pixels;

		draw_breast(rng, rows, cols, right, mlo, opts->burned_in_label,
					opts->phi ? first + " " + last + " " + patient_id : std::string("SYNTHETIC ") + lat + " " + view,
					pixels);
		if (opts->monochrome1)
			for (uint16_t &p : pixels)
				p = uint16_t(MAX_VALUE - p);

		DcmDataset	ds;

		put(&ds, DCM_SpecificCharacterSet, "ISO_IR 100");
		put(&ds, DCM_SOPClassUID, UID_DigitalMammographyXRayImageStorageForPresentation);
		put(&ds, DCM_SOPInstanceUID, instance_uid);
		put(&ds, DCM_ImageType, "ORIGINAL\\PRIMARY");
		put(&ds, DCM_StudyDate, study_date);
		put(&ds, DCM_SeriesDate, study_date);
		put(&ds, DCM_AcquisitionDate, study_date);
		put(&ds, DCM_ContentDate, study_date);
		put(&ds, DCM_InstanceCreationDate, study_date);
		put(&ds, DCM_StudyTime, "093015");
		put(&ds, DCM_SeriesTime, "093015");
		put(&ds, DCM_AcquisitionTime, "093112");
		put(&ds, DCM_ContentTime, "093112");
		put(&ds, DCM_AccessionNumber, opts->phi ? accession : "");
		put(&ds, DCM_Modality, "MG");
		put(&ds, DCM_PresentationIntentType, "FOR PRESENTATION");
		put(&ds, DCM_Manufacturer, "PGSCREEN SYNTHETIC");
		put(&ds, DCM_ReferringPhysicianName, opts->phi ? "BERG^ANNE^^DR" : "");
		put(&ds, DCM_StudyDescription, opts->phi ? "Screening mammography " + first + " " + last : "Screening mammography");
		put(&ds, DCM_SeriesDescription, std::string("SYNTHETIC ") + lat + " " + view);
		put(&ds, DCM_ManufacturerModelName, "SYNTHETIC MG 1");
		put(&ds, DCM_PatientName, opts->phi ? patient_name : "");
		put(&ds, DCM_PatientID, opts->phi ? patient_id : "");
		put(&ds, DCM_PatientBirthDate, opts->phi ? birth : "");
		put(&ds, DCM_PatientSex, "F");
		put(&ds, DCM_BodyPartExamined, "BREAST");
		put(&ds, DCM_StudyInstanceUID, study_uid);
		put(&ds, DCM_SeriesInstanceUID, series_uid);
		put(&ds, DCM_StudyID, opts->phi ? "S" + patient_id.substr(0, std::min<size_t>(patient_id.size(), 8)) : "");
		put(&ds, DCM_SeriesNumber, "1");
		put(&ds, DCM_InstanceNumber, std::to_string(opts->instance_number));
		put(&ds, DCM_PatientOrientation, right ? (mlo ? "A\\FR" : "A\\R") : (mlo ? "P\\FL" : "P\\L"));
		put(&ds, DCM_ImageLaterality, lat);
		put(&ds, DCM_ViewPosition, view);
		put(&ds, DCM_BurnedInAnnotation, opts->burned_in_label ? "YES" : "NO");
		put(&ds, DCM_LossyImageCompression, "00");
		put(&ds, DCM_ImageComments, opts->phi ? "SYNTHETIC image, pgscreen seed " + seed + "; patient " + patient_name +
			" MRN " + patient_id : "SYNTHETIC image, pgscreen seed " + seed);
		put(&ds, DCM_OrganExposed, "BREAST");
		put(&ds, DCM_PositionerType, "MAMMOGRAPHIC");
		put(&ds, DCM_DetectorType, "DIRECT");
		put(&ds, DCM_ImagerPixelSpacing, "0.1\\0.1");
		put(&ds, DCM_PixelSpacing, "0.1\\0.1");
		put(&ds, DCM_KVP, "28");
		put(&ds, DCM_BreastImplantPresent, "NO");
		put(&ds, DCM_PartialView, "NO");
		put(&ds, DCM_CompressionForce, "100");
		put(&ds, DCM_BodyPartThickness, "45");
		/* Image Pixel */
		put(&ds, DCM_SamplesPerPixel, "1");
		put(&ds, DCM_PhotometricInterpretation, opts->monochrome1 ? "MONOCHROME1" : "MONOCHROME2");
		put(&ds, DCM_Rows, std::to_string(rows));
		put(&ds, DCM_Columns, std::to_string(cols));
		put(&ds, DCM_BitsAllocated, "16");
		put(&ds, DCM_BitsStored, std::to_string(BITS_STORED));
		put(&ds, DCM_HighBit, std::to_string(BITS_STORED - 1));
		put(&ds, DCM_PixelRepresentation, "0");
		put(&ds, DCM_PixelIntensityRelationship, "LOG");
		put(&ds, DCM_PixelIntensityRelationshipSign, opts->monochrome1 ? "1" : "-1");
		put(&ds, DCM_RescaleIntercept, "0");
		put(&ds, DCM_RescaleSlope, "1");
		put(&ds, DCM_RescaleType, "US");
		put(&ds, DCM_PresentationLUTShape, opts->monochrome1 ? "INVERSE" : "IDENTITY");
		put(&ds, DCM_WindowCenter, opts->monochrome1 ? std::to_string(MAX_VALUE - 1900) : "1900");
		put(&ds, DCM_WindowWidth, "2800");
		put(&ds, DCM_VOILUTFunction, "LINEAR");

		insert_sequence(&ds, DCM_AnatomicRegionSequence, {code_item("76752008", "SCT", "Breast")});
		{
			DcmItem    *view_item = mlo ? code_item("399368009", "SCT", "medio-lateral oblique")
				: code_item("399162004", "SCT", "cranio-caudal");

			insert_sequence(view_item, DCM_ViewModifierCodeSequence, {});
			insert_sequence(&ds, DCM_ViewCodeSequence, {view_item});
		}
		insert_sequence(&ds, DCM_AcquisitionContextSequence, {});

		if (opts->phi)
		{
			put(&ds, DCM_InstitutionName, "NORDLAND BREAST CENTRE");
			put(&ds, DCM_InstitutionAddress, "Sykehusveien 38, 9019 Tromsø");
			put(&ds, DCM_StationName, "MAMMO-ROOM-3");
			put(&ds, DCM_DeviceSerialNumber, "SN-48213-" + std::string(idbuf).substr(4));
			put(&ds, DCM_OperatorsName, "LUND^TOVE");
			put(&ds, DCM_PerformingPhysicianName, "VIK^ELSE");
			put(&ds, DCM_PatientAge, "0" + std::to_string(std::min(99, std::max(10, atoi(study_date.substr(0, 4).c_str()) - atoi(birth.substr(0, 4).c_str())))) + "Y");
			put(&ds, DCM_PatientAddress, "Storgata 12, 8006 Bodø");
			put(&ds, DCM_PatientTelephoneNumbers, "+47 755 01234");
			put(&ds, DCM_AdditionalPatientHistory, "Patient " + patient_name + " reports a lump found " + study_date);
			put(&ds, DCM_RequestingPhysician, "BERG^ANNE");

			/* Nested: Other Patient IDs Sequence with an issuer; Request Attributes with a nested code. */
			DcmItem    *other = new DcmItem();

			put(other, DCM_PatientID, ("NO-" + patient_id).substr(0, 64));
			put(other, DCM_IssuerOfPatientID, "NORDLAND HF");
			put(other, DCM_TypeOfPatientID, "TEXT");
			insert_sequence(&ds, DCM_OtherPatientIDsSequence, {other});

			DcmItem    *request = new DcmItem();

			put(request, DCM_RequestedProcedureID, short_string("RP" + patient_id));
			put(request, DCM_ScheduledProcedureStepID, short_string("SPS" + patient_id));
			put(request, DCM_AccessionNumber, accession);
			put(request, DCM_StudyInstanceUID, study_uid);
			DcmItem    *issuer = new DcmItem();

			put(issuer, DCM_LocalNamespaceEntityID, "NORDLAND BREAST CENTRE RIS");
			insert_sequence(request, DCM_IssuerOfAccessionNumberSequence, {issuer});
			insert_sequence(&ds, DCM_RequestAttributesSequence, {request});

			DcmItem    *operator_id = new DcmItem();

			insert_sequence(operator_id, DCM_PersonIdentificationCodeSequence, {code_item("TL123", "99NORD", "LUND^TOVE")});
			put(operator_id, DCM_PersonAddress, "Sykehusveien 38");
			put(operator_id, DCM_InstitutionName, "NORDLAND BREAST CENTRE");
			insert_sequence(&ds, DCM_OperatorIdentificationSequence, {operator_id});

			DcmItem    *ref = new DcmItem();

			put(ref, DCM_ReferencedSOPClassUID, UID_DigitalMammographyXRayImageStorageForPresentation);
			put(ref, DCM_ReferencedSOPInstanceUID, synthetic_uid("prior:" + seed));
			insert_sequence(&ds, DCM_ReferencedImageSequence, {ref});

			/* Private block with a copy of the patient's name, a note and a private sequence. */
			const char *creator = "PGSCREEN SYNTHETIC PHI";

			put(&ds, DcmTagKey(0x0029, 0x0010), creator);
			put_private(&ds, 0x0029, 0x1010, EVR_LO, creator, patient_name);
			put_private(&ds, 0x0029, 0x1011, EVR_LT, creator, "MRN " + patient_id + " born " + birth);
			DcmItem    *priv_item = new DcmItem();

			put_private(priv_item, 0x0029, 0x1010, EVR_LO, creator, patient_name);
			put(priv_item, DcmTagKey(0x0029, 0x0010), creator);
			DcmTag		priv_seq_tag(0x0029, 0x1020, EVR_SQ);

			priv_seq_tag.setPrivateCreator(creator);
			DcmSequenceOfItems *priv_seq = new DcmSequenceOfItems(priv_seq_tag);

			priv_seq->append(priv_item);
			ds.insert(priv_seq, OFTrue);

			/* An overlay with a description naming the patient; its bits outline the label area. */
			std::vector<Uint8> overlay(size_t(rows) * size_t(cols) / 8 + 1, 0);

			for (int x = 0; x < cols; x++)
				for (int y : {rows / 20, rows / 20 + 1})
				{
					size_t		bit = size_t(y) * size_t(cols) + size_t(x);

					overlay[bit / 8] |= Uint8(1 << (bit % 8));
				}
			overlay.resize((size_t(rows) * size_t(cols) + 7) / 8 + ((size_t(rows) * size_t(cols) + 7) / 8) % 2);
			put(&ds, DcmTagKey(0x6000, 0x0010), std::to_string(rows));
			put(&ds, DcmTagKey(0x6000, 0x0011), std::to_string(cols));
			put(&ds, DcmTagKey(0x6000, 0x0022), "Reading note for " + patient_name);
			put(&ds, DcmTagKey(0x6000, 0x0040), "G");
			put(&ds, DcmTagKey(0x6000, 0x0050), "1\\1");
			put(&ds, DcmTagKey(0x6000, 0x0100), "1");
			put(&ds, DcmTagKey(0x6000, 0x0102), "0");
			put(&ds, DcmTagKey(0x6000, 0x4000), "Reviewed with " + patient_name);
			if (ds.putAndInsertUint8Array(DcmTag(0x6000, 0x3000, EVR_OB), overlay.data(), overlay.size()).bad())
				throw std::runtime_error("could not set the overlay");
		}
		if (ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(), pixels.size()).bad())
			throw std::runtime_error("could not set Pixel Data");
		return dicom_write_part10(&ds, EXS_LittleEndianExplicit, UID_DigitalMammographyXRayImageStorageForPresentation,
								  instance_uid, opts->phi ? "NORDMAMMO3" : NULL, allocator, out, out_len, err);
	});
}
