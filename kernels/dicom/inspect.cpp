/* Inspection: the DICOM JSON model (PS3.18 Annex F) of a data set, and single values by keyword, tag or path. */
#include "dicom_internal.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <dcmtk/dcmdata/dcspchrs.h>

namespace
{

/* Values larger than this are not returned as text by dicom_value (pixel data has its own function). */
const unsigned long MAX_VALUE_TEXT_BYTES = 1 << 20;

void
json_string(std::string &out, const std::string &raw)
{
	std::string s = dicom_valid_utf8(raw);

	out += '"';
	for (unsigned char c : s)
	{
		switch (c)
		{
			case '"': out += "\\\""; break;
			case '\\': out += "\\\\"; break;
			case '\n': out += "\\n"; break;
			case '\r': out += "\\r"; break;
			case '\t': out += "\\t"; break;
			default:
				if (c < 0x20)
				{
					char		buf[8];

					snprintf(buf, sizeof(buf), "\\u%04x", c);
					out += buf;
				}
				else
					out += char(c);
		}
	}
	out += '"';
}

std::vector<std::string>
split(const std::string &s, char sep)
{
	std::vector<std::string> parts;
	size_t		start = 0;

	for (;;)
	{
		size_t		end = s.find(sep, start);

		parts.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
		if (end == std::string::npos)
			return parts;
		start = end + 1;
	}
}

std::string
trim(const std::string &s)
{
	size_t		a = s.find_first_not_of(" \0", 0, 2),
				b = s.find_last_not_of(" \0", std::string::npos, 2);

	return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

bool
is_bulk(DcmEVR vr)
{
	switch (vr)
	{
		case EVR_OB: case EVR_OW: case EVR_OF: case EVR_OD: case EVR_OL: case EVR_OV: case EVR_UN:
		case EVR_ox: case EVR_px: case EVR_pixelSQ: case EVR_xs: case EVR_lt: case EVR_na: case EVR_up:
		case EVR_item: case EVR_metainfo: case EVR_dataset: case EVR_fileFormat: case EVR_dicomDir:
		case EVR_dirRecord: case EVR_pixelItem:
			return true;
		default:
			return false;
	}
}

void		item_json(std::string &out, DcmItem *item, int depth);

void
element_json(std::string &out, DcmElement *elem, int depth)
{
	DcmEVR		vr = elem->ident();

	/* Pixel Data and Overlay Data report their internal class: use the VR they were read as. */
	if (vr == EVR_PixelData || vr == EVR_OverlayData)
		vr = elem->getVR();
	const char *vr_name = DcmVR(vr).getValidVRName();

	out += "{\"vr\":\"";
	out += vr_name;
	out += '"';
	if (vr == EVR_SQ)
	{
		DcmSequenceOfItems *sq = static_cast<DcmSequenceOfItems *>(elem);

		if (sq->card() > 0)
		{
			out += ",\"Value\":[";
			for (unsigned long i = 0; i < sq->card(); i++)
			{
				if (i)
					out += ',';
				item_json(out, sq->getItem(i), depth + 1);
			}
			out += ']';
		}
		out += '}';
		return;
	}
	if (is_bulk(vr) || elem->getTag() == DCM_PixelData || elem->getLength() == 0)
	{
		out += '}';
		return;
	}

	OFString	value;

	if (elem->getOFStringArray(value).bad())
	{
		out += '}';
		return;
	}
	std::string v(value.c_str(), value.length());
	bool		numeric_string = vr == EVR_IS || vr == EVR_DS;
	bool		binary_number = vr == EVR_US || vr == EVR_SS || vr == EVR_UL || vr == EVR_SL || vr == EVR_FL ||
		vr == EVR_FD || vr == EVR_SV || vr == EVR_UV;
	std::vector<std::string> values = (vr == EVR_LT || vr == EVR_ST || vr == EVR_UT || vr == EVR_UR)
		? std::vector<std::string>{v} : split(v, '\\');

	out += ",\"Value\":[";
	for (size_t i = 0; i < values.size(); i++)
	{
		std::string one = numeric_string || binary_number ? trim(values[i]) : values[i];

		if (i)
			out += ',';
		if (numeric_string || binary_number)
		{
			char	   *end = NULL;
			double		d = strtod(one.c_str(), &end);

			if (one.empty())
				out += "null";
			else if (end != NULL && *end == '\0' && std::isfinite(d))
			{
				/* JSON has no leading '+' nor leading zeros: print the number, not the string. */
				char		buf[64];

				if (vr == EVR_IS || vr == EVR_US || vr == EVR_SS || vr == EVR_UL || vr == EVR_SL || vr == EVR_SV || vr == EVR_UV)
					snprintf(buf, sizeof(buf), "%.0f", d);
				else
					snprintf(buf, sizeof(buf), "%.17g", d);
				out += buf;
			}
			else if (binary_number)
				out += "null";
			else
				json_string(out, one);
		}
		else if (vr == EVR_PN)
		{
			std::vector<std::string> groups = split(one, '=');
			static const char *const names[] = {"Alphabetic", "Ideographic", "Phonetic"};

			out += '{';
			bool		first = true;

			for (size_t g = 0; g < groups.size() && g < 3; g++)
			{
				if (groups[g].empty())
					continue;
				if (!first)
					out += ',';
				first = false;
				out += '"';
				out += names[g];
				out += "\":";
				json_string(out, groups[g]);
			}
			out += '}';
		}
		else if (vr == EVR_AT)
		{
			std::string t = one;

			t.erase(std::remove_if(t.begin(), t.end(), [](char c) { return c == '(' || c == ')' || c == ','; }), t.end());
			json_string(out, t);
		}
		else
			json_string(out, values.size() == 1 && (vr == EVR_LT || vr == EVR_ST || vr == EVR_UT) ? one : trim(one));
	}
	out += "]}";
}

void
item_json(std::string &out, DcmItem *item, int depth)
{
	out += '{';
	for (unsigned long i = 0; i < item->card(); i++)
	{
		DcmElement *elem = item->getElement(i);
		char		key[16];

		if (elem->getTag().getElement() == 0x0000 && elem->getTag().getGroup() != 0x0002)
			continue;			/* group lengths are not part of the JSON model */
		snprintf(key, sizeof(key), "\"%04X%04X\":", elem->getTag().getGroup(), elem->getTag().getElement());
		if (out.back() != '{')
			out += ',';
		out += key;
		element_json(out, elem, depth);
	}
	out += '}';
}

/* Convert to UTF-8 when the character set allows; keep the bytes (repaired later) when it does not. */
void
to_utf8(DcmDataset *ds)
{
	if (ds->tagExists(DCM_SpecificCharacterSet))
		ds->convertToUTF8();
}

/* One step of a path: a tag and, for sequences, an optional item index. */
struct PathStep
{
	DcmTagKey	key;
	long		index = -1;
};

pgs_status
parse_path(const std::string &path, std::vector<PathStep> &steps, pgs_error *err)
{
	for (const std::string &raw : split(path, '.'))
	{
		std::string part = trim(raw);
		PathStep	step;
		size_t		bracket = part.find('[');

		if (bracket != std::string::npos)
		{
			char	   *end = NULL;

			step.index = strtol(part.c_str() + bracket + 1, &end, 10);
			if (end == NULL || *end != ']' || end[1] != '\0' || step.index < 0)
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "invalid item index in \"%s\"", part.c_str());
			part = part.substr(0, bracket);
		}
		uint32_t	tag;
		pgs_status	st = pgs_dicom_parse_tag(part.c_str(), &tag, err);

		if (st != PGS_OK)
			return st;
		step.key = DcmTagKey(Uint16(tag >> 16), Uint16(tag & 0xFFFF));
		steps.push_back(step);
	}
	return PGS_OK;
}

}								/* namespace */

extern "C" pgs_status
pgs_dicom_json(const uint8_t *data, size_t len, bool include_meta, const pgs_allocator *allocator, char **json,
			   size_t *json_len, pgs_error *err)
{
	*json = NULL;
	*json_len = 0;
	return dicom_fenced(err, [&]() -> pgs_status {
		std::unique_ptr<DcmFileFormat> file;
		DicomLayout layout;
		pgs_status	st = dicom_load(data, len, false, file, &layout, err);

		if (st != PGS_OK)
			return st;
		DcmDataset *ds = file->getDataset();
		std::string out;

		to_utf8(ds);
		if (include_meta && layout.part10)
		{
			item_json(out, file->getMetaInfo(), 0);
			std::string body;

			item_json(body, ds, 0);
			if (body.size() > 2)
			{
				out.pop_back();
				if (out.size() > 1)
					out += ',';
				out += body.substr(1);
			}
		}
		else
			item_json(out, ds, 0);
		*json = dicom_strdup(allocator, out);
		if (*json == NULL)
			return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate %zu bytes of JSON", out.size());
		*json_len = out.size();
		return PGS_OK;
	});
}

extern "C" pgs_status
pgs_dicom_value(const uint8_t *data, size_t len, const char *tag, const pgs_allocator *allocator, char **value,
				bool *found, pgs_error *err)
{
	*value = NULL;
	*found = false;
	return dicom_fenced(err, [&]() -> pgs_status {
		std::vector<PathStep> steps;
		pgs_status	st = parse_path(tag, steps, err);

		if (st != PGS_OK)
			return st;
		/* The fast path: a header-only parse unless the attribute sits at or after Pixel Data. */
		bool		header_only = !(steps[0].key >= DCM_PixelData);
		std::unique_ptr<DcmFileFormat> file;
		DicomLayout layout;

		if ((st = dicom_load(data, len, header_only, file, &layout, err)) != PGS_OK)
			return st;
		DcmItem    *item = steps[0].key.getGroup() == 0x0002 ? static_cast<DcmItem *>(file->getMetaInfo())
			: static_cast<DcmItem *>(file->getDataset());

		for (size_t i = 0; i < steps.size(); i++)
		{
			DcmElement *elem = NULL;

			if (item->findAndGetElement(steps[i].key, elem, OFFalse).bad() || elem == NULL)
				return PGS_OK;
			bool		last = i + 1 == steps.size();

			if (elem->ident() == EVR_SQ)
			{
				DcmSequenceOfItems *sq = static_cast<DcmSequenceOfItems *>(elem);

				if (steps[i].index < 0 && last)
				{
					std::string out;

					out += '[';
					for (unsigned long k = 0; k < sq->card(); k++)
					{
						DcmItem    *it = sq->getItem(k);

						if (k)
							out += ',';
						if (it->tagExists(DCM_SpecificCharacterSet) || file->getDataset()->tagExists(DCM_SpecificCharacterSet))
							file->getDataset()->convertToUTF8();
						item_json(out, it, 1);
					}
					out += ']';
					*value = dicom_strdup(allocator, out);
					*found = true;
					return *value ? PGS_OK : pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory");
				}
				long		index = steps[i].index < 0 ? 0 : steps[i].index;

				if (index >= long(sq->card()))
					return PGS_OK;
				if (last)
					return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "\"%s\" names a sequence item, not an attribute", tag);
				item = sq->getItem(Uint32(index));
				continue;
			}
			if (!last || steps[i].index >= 0)
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s in \"%s\" is not a sequence",
								dicom_tag_text(steps[i].key).c_str(), tag);
			if (elem->getLength() > MAX_VALUE_TEXT_BYTES)
				return pgs_fail(err, PGS_ERR_LIMIT, "%s holds %u bytes, too many to return as text",
								dicom_tag_text(steps[i].key).c_str(), elem->getLength());
			DcmSpecificCharacterSet converter;
			OFString	raw;
			std::string charset = dicom_string(file->getDataset(), DCM_SpecificCharacterSet);

			if (elem->getOFStringArray(raw).bad())
				return pgs_fail(err, PGS_ERR_BAD_DATA, "could not read %s", dicom_tag_text(steps[i].key).c_str());
			std::string text(raw.c_str(), raw.length());
			DcmEVR		vr = elem->ident();

			if (!charset.empty() && (vr == EVR_PN || vr == EVR_LO || vr == EVR_SH || vr == EVR_LT || vr == EVR_ST ||
									 vr == EVR_UT || vr == EVR_UC) &&
				converter.selectCharacterSet(charset.c_str(), "ISO_IR 192").good())
			{
				OFString	converted;

				if (converter.convertString(raw, converted, vr == EVR_PN ? "\\^=" : "\\").good())
					text.assign(converted.c_str(), converted.length());
			}
			if (vr != EVR_LT && vr != EVR_ST && vr != EVR_UT)
				text = trim(text);
			*value = dicom_strdup(allocator, dicom_valid_utf8(text));
			if (*value == NULL)
				return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory");
			*found = true;
			return PGS_OK;
		}
		return PGS_OK;
	});
}
