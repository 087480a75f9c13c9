/* Structural scan of DICOM bytes before dcmtk parses them: lengths, delimiters, VRs and nesting depth. */
#include "dicom_internal.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include <zlib.h>

namespace
{

/* Deflated data sets may not inflate past this (a decompression bomb guard). */
const size_t MAX_INFLATED_BYTES = size_t(1) << 30;
const uint32_t UNDEFINED_LENGTH = 0xFFFFFFFFu;

struct Container
{
	uint32_t	tag;			/* of the sequence, or of its item */
	size_t		start;
	size_t		end;			/* SIZE_MAX: undefined length */
	bool		is_item;
	bool		implicit;		/* contents are implicit VR (inside UN of undefined length, or an implicit data set) */
	bool		fragments;		/* encapsulated pixel data: items are opaque fragments */
};

struct Walker
{
	const uint8_t *buf;
	size_t		len;
	bool		big_endian;
	bool		implicit;
	size_t		base;			/* offset of buf in the original data (for messages) */
	pgs_error  *err;
	int			max_depth = 0;
	size_t		pixel_start = 0;	/* top-level Pixel Data: where its header starts and its value ends */
	size_t		pixel_end = 0;
	std::vector<std::pair<size_t, uint32_t>> *top_level = nullptr;	/* start and tag of each top-level element */
	bool		prefix_mode = false;	/* stop at top-level Pixel Data; running out of data is not an error */
	bool		reached_pixels = false;
	size_t		trailing_padding = 0;	/* zero bytes after the last top-level element */

	uint16_t	u16(size_t at) const
	{
		return big_endian ? uint16_t(buf[at] << 8 | buf[at + 1]) : uint16_t(buf[at] | buf[at + 1] << 8);
	}
	uint32_t	u32(size_t at) const
	{
		return big_endian ? uint32_t(buf[at]) << 24 | uint32_t(buf[at + 1]) << 16 | uint32_t(buf[at + 2]) << 8 | buf[at + 3]
			: uint32_t(buf[at]) | uint32_t(buf[at + 1]) << 8 | uint32_t(buf[at + 2]) << 16 | uint32_t(buf[at + 3]) << 24;
	}
	pgs_status	walk(size_t pos);
};

bool
is_long_vr(const char *vr)
{
	static const char *const long_vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"};

	for (const char *v : long_vrs)
		if (vr[0] == v[0] && vr[1] == v[1])
			return true;
	return false;
}

bool
is_known_vr(const char *vr)
{
	static const char *const vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN",
		"SH", "SL", "SS", "ST", "TM", "UI", "UL", "US", "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR",
	"UT", "SV", "UV"};

	for (const char *v : vrs)
		if (vr[0] == v[0] && vr[1] == v[1])
			return true;
	return false;
}

/* The dictionary VR of a public tag (private tags have no creator here, so they count as unknown). */
bool
dictionary_says_sequence(uint16_t group, uint16_t element)
{
	if (group & 1)
		return false;
	const DcmDataDictionary &dict = dcmDataDict.rdlock();
	const DcmDictEntry *entry = dict.findEntry(DcmTagKey(group, element), NULL);
	bool		sq = entry != NULL && entry->getEVR() == EVR_SQ;

	dcmDataDict.rdunlock();
	return sq;
}

#define TAGFMT "(%04X,%04X)"

pgs_status
Walker::walk(size_t pos)
{
	std::vector<Container> stack;
	int			depth = 0;

	for (;;)
	{
		Container  *top = stack.empty() ? NULL : &stack.back();
		size_t		limit = top && top->end != SIZE_MAX ? top->end : len;
		bool		implicit_here = top ? top->implicit : implicit;

		if (top != NULL && top->end != SIZE_MAX && pos == top->end)
		{
			if (!top->is_item)
				depth--;
			stack.pop_back();
			continue;
		}
		if (pos == len)
			break;
		if (pos + 8 > limit)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM data is truncated: %zu bytes at offset %zu cannot hold an element header",
							limit - pos, base + pos);

		uint16_t	group = u16(pos),
					element = u16(pos + 2);
		uint32_t	tag = uint32_t(group) << 16 | element;

		/*
		 * Some writers pad a file with zero bytes after its last element; dcmtk, pydicom and GDCM read such
		 * files, so the padding ends the data set here. Anything else after the last element stays an error.
		 */
		if (top == NULL && tag == 0 && std::all_of(buf + pos, buf + len, [](uint8_t b) { return b == 0; }))
		{
			trailing_padding = len - pos;
			break;
		}

		if (group == 0xFFFE)
		{
			uint32_t	item_len = u32(pos + 4);

			pos += 8;
			if (element == 0xE000)
			{
				if (top == NULL || top->is_item)
					return pgs_fail(err, PGS_ERR_BAD_DATA, "item tag (FFFE,E000) outside a sequence at offset %zu", base + pos - 8);
				if (top->fragments)
				{
					if (item_len == UNDEFINED_LENGTH || item_len > limit - pos)
						return pgs_fail(err, PGS_ERR_BAD_DATA, "pixel data fragment at offset %zu has length %u but %zu bytes remain",
										base + pos - 8, item_len, limit - pos);
					pos += item_len;
					continue;
				}
				if (item_len != UNDEFINED_LENGTH && item_len > limit - pos)
					return pgs_fail(err, PGS_ERR_BAD_DATA, "item of sequence " TAGFMT " at offset %zu has length %u but only %zu bytes remain",
									top->tag >> 16, top->tag & 0xFFFF, base + pos - 8, item_len, limit - pos);
				stack.push_back(Container{top->tag, pos, item_len == UNDEFINED_LENGTH ? SIZE_MAX : pos + item_len,
						true, top->implicit, false});
				continue;
			}
			if (element == 0xE00D)
			{
				if (top == NULL || !top->is_item || top->end != SIZE_MAX)
					return pgs_fail(err, PGS_ERR_BAD_DATA, "unexpected item delimitation item at offset %zu", base + pos - 8);
				stack.pop_back();
				continue;
			}
			if (element == 0xE0DD)
			{
				if (top == NULL || top->is_item || top->end != SIZE_MAX)
					return pgs_fail(err, PGS_ERR_BAD_DATA, "unexpected sequence delimitation item at offset %zu", base + pos - 8);
				if (top->fragments && stack.size() == 1)
					pixel_end = pos;
				stack.pop_back();
				depth--;
				continue;
			}
			return pgs_fail(err, PGS_ERR_BAD_DATA, "unexpected delimiter tag (FFFE,%04X) at offset %zu", element, base + pos - 8);
		}
		if (top != NULL && !top->is_item)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "sequence " TAGFMT " holds element " TAGFMT " outside an item at offset %zu",
							top->tag >> 16, top->tag & 0xFFFF, group, element, base + pos);
		if (top == NULL && top_level != nullptr)
			top_level->emplace_back(pos, tag);
		if (prefix_mode && top == NULL && tag == 0x7FE00010u)
		{
			pixel_start = pos;
			reached_pixels = true;
			return PGS_OK;
		}

		char		vr[3] = "";
		uint32_t	value_len;
		size_t		header;

		if (implicit_here)
		{
			value_len = u32(pos + 4);
			header = 8;
		}
		else
		{
			vr[0] = char(buf[pos + 4]);
			vr[1] = char(buf[pos + 5]);
			if (!is_known_vr(vr))
				return pgs_fail(err, PGS_ERR_BAD_DATA, "element " TAGFMT " at offset %zu has an invalid VR (bytes %02x %02x)",
								group, element, base + pos, buf[pos + 4], buf[pos + 5]);
			if (is_long_vr(vr))
			{
				if (pos + 12 > limit)
					return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM data is truncated in the header of element " TAGFMT " at offset %zu",
									group, element, base + pos);
				value_len = u32(pos + 8);
				header = 12;
			}
			else
			{
				value_len = u16(pos + 6);
				header = 8;
			}
		}

		bool		sequence_vr = implicit_here ? dictionary_says_sequence(group, element) : strcmp(vr, "SQ") == 0;
		bool		un_vr = !implicit_here && strcmp(vr, "UN") == 0;

		if (value_len == UNDEFINED_LENGTH)
		{
			/* Encapsulated Pixel Data is OB (OW in old files); other VRs of undefined length do not write back. */
			bool		pixel = tag == 0x7FE00010u && (implicit_here || strcmp(vr, "OB") == 0 || strcmp(vr, "OW") == 0);

			if (!pixel && !sequence_vr && !un_vr && !implicit_here)
				return pgs_fail(err, PGS_ERR_BAD_DATA, "element " TAGFMT " (VR %s) at offset %zu has undefined length but is not a sequence",
								group, element, vr, base + pos);
			if (pixel && stack.empty())
				pixel_start = pos;
			pos += header;
			if (!pixel && ++depth > PGS_DICOM_MAX_DEPTH)
				return pgs_fail(err, PGS_ERR_LIMIT, "DICOM sequences are nested deeper than %d levels at offset %zu",
								PGS_DICOM_MAX_DEPTH, base + pos);
			max_depth = depth > max_depth ? depth : max_depth;
			stack.push_back(Container{tag, pos, SIZE_MAX, false, implicit_here || un_vr, pixel});
			continue;
		}
		if (value_len > limit - pos - header)
			return pgs_fail(err, PGS_ERR_BAD_DATA,
							"DICOM data is truncated: element " TAGFMT " at offset %zu has length %u but only %zu bytes remain",
							group, element, base + pos, value_len, limit - pos - header);
		if (tag == 0x7FE00010u && stack.empty())
		{
			pixel_start = pos;
			pixel_end = pos + header + value_len;
		}
		pos += header;
		/* A defined-length UN that the dictionary knows as a sequence may be parsed as one: check it too. */
		if (sequence_vr || (un_vr && dictionary_says_sequence(group, element)))
		{
			if (++depth > PGS_DICOM_MAX_DEPTH)
				return pgs_fail(err, PGS_ERR_LIMIT, "DICOM sequences are nested deeper than %d levels at offset %zu",
								PGS_DICOM_MAX_DEPTH, base + pos);
			max_depth = depth > max_depth ? depth : max_depth;
			stack.push_back(Container{tag, pos, pos + value_len, false, implicit_here || un_vr, false});
			continue;
		}
		pos += value_len;
	}
	if (!stack.empty())
	{
		const Container &open = stack.front();

		return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM data is truncated: sequence " TAGFMT " starting at offset %zu is never closed",
						open.tag >> 16, open.tag & 0xFFFF, base + open.start);
	}
	return PGS_OK;
}

pgs_status
inflate_dataset(const uint8_t *data, size_t len, std::vector<uint8_t> &out, pgs_error *err)
{
	z_stream	z;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not start zlib");
	z.next_in = const_cast<Bytef *>(data);
	z.avail_in = uInt(len > UINT32_MAX ? UINT32_MAX : len);
	out.resize(len * 4 + 4096);
	int			rc;

	do
	{
		if (z.total_out == out.size())
		{
			if (out.size() >= MAX_INFLATED_BYTES)
			{
				inflateEnd(&z);
				return pgs_fail(err, PGS_ERR_LIMIT, "deflated DICOM data set inflates to more than %zu bytes", MAX_INFLATED_BYTES);
			}
			out.resize(std::min(out.size() * 2, MAX_INFLATED_BYTES));
		}
		z.next_out = out.data() + z.total_out;
		z.avail_out = uInt(out.size() - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
	} while (rc == Z_OK);
	size_t		produced = z.total_out;

	inflateEnd(&z);
	if (rc != Z_STREAM_END)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "deflated DICOM data set is corrupt or truncated (zlib: %s)",
						z.msg ? z.msg : "stream ended early");
	out.resize(produced);
	return PGS_OK;
}

bool
upper(uint8_t c)
{
	return c >= 'A' && c <= 'Z';
}

}								/* namespace */

pgs_status
dicom_scan_prefix(const uint8_t *data, size_t len, size_t *pixel_offset)
{
	DicomLayout layout;
	pgs_error	err;

	*pixel_offset = 0;
	/* The meta must be complete and the data set not deflated; then walk the prefix up to Pixel Data. */
	if (len < 132 || memcmp(data + 128, "DICM", 4) != 0)
		return PGS_OK;
	size_t		pos = 132;

	while (pos + 12 <= len && data[pos] == 0x02 && data[pos + 1] == 0x00)
	{
		bool		long_vr = is_long_vr(reinterpret_cast<const char *>(data + pos + 4));
		uint32_t	value_len = long_vr ? uint32_t(data[pos + 8]) | uint32_t(data[pos + 9]) << 8 |
			uint32_t(data[pos + 10]) << 16 | uint32_t(data[pos + 11]) << 24 : uint32_t(data[pos + 6] | data[pos + 7] << 8);

		pos += (long_vr ? 12 : 8) + size_t(value_len);
	}
	if (pos + 8 > len || dicom_scan(data, pos, &layout, &err) != PGS_OK || layout.deflated || layout.xfer_overridden)
		return PGS_OK;

	DcmXfer		xfer(layout.xfer);
	Walker		walker;

	walker.big_endian = xfer.isBigEndian();
	walker.implicit = xfer.isImplicitVR();
	walker.err = &err;
	walker.buf = data;
	walker.len = len;
	walker.base = 0;
	walker.prefix_mode = true;
	walker.walk(pos);
	if (walker.reached_pixels)
		*pixel_offset = walker.pixel_start;
	return PGS_OK;
}

pgs_status
dicom_scan(const uint8_t *data, size_t len, DicomLayout *layout, pgs_error *err)
{
	size_t		pos = 0;

	*layout = DicomLayout();
	if (len == 0)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM data is empty");
	if (len >= 132 && memcmp(data + 128, "DICM", 4) == 0)
	{
		bool		have_syntax = false;

		layout->part10 = true;
		pos = 132;
		while (pos + 8 <= len && data[pos] == 0x02 && data[pos + 1] == 0x00)
		{
			uint16_t	element = uint16_t(data[pos + 2] | data[pos + 3] << 8);
			char		vr[3] = {char(data[pos + 4]), char(data[pos + 5]), 0};
			size_t		header = 8;
			uint32_t	value_len;

			if (!is_known_vr(vr))
				return pgs_fail(err, PGS_ERR_BAD_DATA, "file meta element (0002,%04X) at offset %zu has an invalid VR (bytes %02x %02x)",
								element, pos, data[pos + 4], data[pos + 5]);
			if (is_long_vr(vr))
			{
				if (pos + 12 > len)
					return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM file meta information is truncated at offset %zu", pos);
				value_len = uint32_t(data[pos + 8]) | uint32_t(data[pos + 9]) << 8 | uint32_t(data[pos + 10]) << 16 |
					uint32_t(data[pos + 11]) << 24;
				header = 12;
			}
			else
				value_len = uint32_t(data[pos + 6] | data[pos + 7] << 8);
			if (value_len > len - pos - header)
				return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM file meta element (0002,%04X) at offset %zu has length %u but only %zu bytes remain",
								element, pos, value_len, len - pos - header);
			if (element == 0x0010)
			{
				std::string uid(reinterpret_cast<const char *>(data + pos + header), value_len);

				while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' '))
					uid.pop_back();
				layout->transfer_syntax = uid;
				have_syntax = true;
			}
			pos += header + value_len;
		}
		if (pos == 132)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM file has no file meta information after its \"DICM\" prefix");
		if (!have_syntax)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM file meta information has no Transfer Syntax UID (0002,0010)");
	}
	else
	{
		if (len < 8)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "data is too short to be DICOM (%zu bytes)", len);
		if (data[0] == 0x00 && data[1] != 0x00 && upper(data[4]) && upper(data[5]))
			layout->transfer_syntax = UID_BigEndianExplicitTransferSyntax;
		else if (data[1] == 0x00 && data[0] != 0x00 && upper(data[4]) && upper(data[5]))
			layout->transfer_syntax = UID_LittleEndianExplicitTransferSyntax;
		else if (data[1] == 0x00 && data[0] != 0x00)
			layout->transfer_syntax = UID_LittleEndianImplicitTransferSyntax;
		else
			return pgs_fail(err, PGS_ERR_BAD_DATA,
							"data is not DICOM: no \"DICM\" prefix at offset 128 and no data set at the start (bytes %02x %02x %02x %02x)",
							data[0], data[1], data[2], data[3]);
	}
	layout->dataset_offset = pos;

	DcmXfer		xfer(layout->transfer_syntax.c_str());

	layout->xfer = xfer.getXfer();
	if (layout->xfer == EXS_Unknown)
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "unknown transfer syntax \"%s\"", layout->transfer_syntax.c_str());
	layout->deflated = xfer.getStreamCompression() != ESC_none;
	layout->encapsulated = xfer.isEncapsulated();

	/*
	 * Some writers declare explicit VR little endian and write implicit VR (or the reverse). Like pydicom,
	 * believe the data: the first element's VR bytes tell, and the data set is parsed as what it is.
	 */
	if (layout->part10 && !layout->deflated && !xfer.isBigEndian() && pos + 8 <= len)
	{
		bool		looks_explicit = upper(data[pos + 4]) && upper(data[pos + 5]);

		if (xfer.isExplicitVR() && !looks_explicit && !layout->encapsulated)
		{
			layout->xfer = EXS_LittleEndianImplicit;
			layout->xfer_overridden = true;
		}
		else if (xfer.isImplicitVR() && looks_explicit)
		{
			char		vr[3] = {char(data[pos + 4]), char(data[pos + 5]), 0};

			if (is_known_vr(vr))
			{
				layout->xfer = EXS_LittleEndianExplicit;
				layout->xfer_overridden = true;
			}
		}
		if (layout->xfer_overridden)
			xfer = DcmXfer(layout->xfer);
	}
	layout->encapsulated = xfer.isEncapsulated();

	Walker		walker;

	walker.big_endian = xfer.isBigEndian();
	walker.implicit = xfer.isImplicitVR();
	walker.err = err;
	if (layout->deflated)
	{
		std::vector<uint8_t> inflated;
		pgs_status	st = inflate_dataset(data + pos, len - pos, inflated, err);

		if (st != PGS_OK)
			return st;
		walker.buf = inflated.data();
		walker.len = inflated.size();
		walker.base = 0;
		st = walker.walk(0);
		if (st == PGS_OK)
			layout->max_depth = walker.max_depth;
		if (st != PGS_OK && err != NULL)
		{
			std::string msg = std::string(err->message) + " (offsets in the inflated data set)";

			snprintf(err->message, sizeof(err->message), "%s", msg.c_str());
		}
		return st;
	}
	walker.buf = data;
	walker.len = len;
	walker.base = 0;
	walker.top_level = &layout->top_level;
	pgs_status	st = walker.walk(pos);

	layout->max_depth = walker.max_depth;
	layout->trailing_padding = walker.trailing_padding;
	for (const auto &element : layout->top_level)
		if ((element.second & 0xFF01FFFFu) == 0x60003000u)
			layout->overlay_data_groups |= uint16_t(1u << (((element.second >> 16) & 0xFF) / 2));
	if (walker.pixel_end > walker.pixel_start)
	{
		layout->pixel_start = walker.pixel_start;
		layout->pixel_end = walker.pixel_end;
	}
	return st;
}
