/* DICOM pixel data: frames decoded by dcmtk (uncompressed, RLE, JPEG, JPEG-LS) or OpenJPEG (JPEG 2000). */
#include "dicom_internal.h"
#include "../common/cancel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <openjpeg.h>

#include <dcmtk/dcmdata/dcpxitem.h>

namespace
{

/* Copy a string attribute into a fixed buffer. */
void
copy_attr(DcmItem *ds, const DcmTagKey &key, char *buf, size_t size)
{
	std::string v = dicom_string(ds, key);

	while (!v.empty() && (v.back() == ' ' || v.back() == '\0'))
		v.pop_back();
	size_t		start = v.find_first_not_of(' ');

	snprintf(buf, size, "%s", start == std::string::npos ? "" : v.c_str() + start);
}

double
first_double(DcmItem *ds, const DcmTagKey &key, double fallback, bool *found = nullptr)
{
	Float64		v;

	if (ds->findAndGetFloat64(key, v, 0).good() && std::isfinite(v))
	{
		if (found)
			*found = true;
		return v;
	}
	if (found)
		*found = false;
	return fallback;
}

bool
is_jpeg2000(E_TransferSyntax xfer, const std::string &uid)
{
	return xfer == EXS_JPEG2000LosslessOnly || xfer == EXS_JPEG2000 ||
		xfer == EXS_JPEG2000MulticomponentLosslessOnly || xfer == EXS_JPEG2000Multicomponent ||
		uid.rfind("1.2.840.10008.1.2.4.20", 0) == 0;	/* HTJ2K 201-203 */
}

/* ---- OpenJPEG from memory ---------------------------------------------------------------------------- */

struct MemoryStream
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
};

OPJ_SIZE_T
stream_read(void *buffer, OPJ_SIZE_T n, void *user)
{
	MemoryStream *m = static_cast<MemoryStream *>(user);
	size_t		left = m->len - m->pos;

	if (left == 0)
		return OPJ_SIZE_T(-1);
	n = n < left ? n : left;
	memcpy(buffer, m->data + m->pos, n);
	m->pos += n;
	return n;
}

OPJ_OFF_T
stream_skip(OPJ_OFF_T n, void *user)
{
	MemoryStream *m = static_cast<MemoryStream *>(user);

	if (n < 0)
		n = -OPJ_OFF_T(m->pos) > n ? -OPJ_OFF_T(m->pos) : n;
	else if (OPJ_SIZE_T(n) > m->len - m->pos)
		n = OPJ_OFF_T(m->len - m->pos);
	m->pos += n;
	return n;
}

OPJ_BOOL
stream_seek(OPJ_OFF_T n, void *user)
{
	MemoryStream *m = static_cast<MemoryStream *>(user);

	if (n < 0 || OPJ_SIZE_T(n) > m->len)
		return OPJ_FALSE;
	m->pos = size_t(n);
	return OPJ_TRUE;
}

void
opj_error_to_string(const char *msg, void *user)
{
	std::string *s = static_cast<std::string *>(user);

	if (s->empty())
	{
		*s = msg;
		while (!s->empty() && (s->back() == '\n' || s->back() == ' '))
			s->pop_back();
	}
}

void
opj_quiet(const char *, void *)
{
}

/* Decode one JPEG 2000 codestream (or JP2 file) into interleaved samples. */
pgs_status
decode_j2k(const uint8_t *code, size_t len, const pgs_dicom_pixel_info &info, int64_t max_pixels,
		   std::vector<int32_t> &samples, int *components, pgs_error *err)
{
	bool		jp2 = len >= 12 && memcmp(code, "\x00\x00\x00\x0C\x6A\x50\x20\x20", 8) == 0;
	opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
	opj_stream_t *stream = opj_stream_default_create(OPJ_TRUE);
	opj_image_t *image = NULL;
	opj_dparameters_t params;
	MemoryStream mem = {code, len, 0};
	std::string message;
	pgs_status	st = PGS_OK;

	if (codec == NULL || stream == NULL)
	{
		if (codec)
			opj_destroy_codec(codec);
		if (stream)
			opj_stream_destroy(stream);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not start the JPEG 2000 decoder");
	}
	opj_set_error_handler(codec, opj_error_to_string, &message);
	opj_set_warning_handler(codec, opj_quiet, NULL);
	opj_set_info_handler(codec, opj_quiet, NULL);
	opj_stream_set_user_data(stream, &mem, NULL);
	opj_stream_set_user_data_length(stream, len);
	opj_stream_set_read_function(stream, stream_read);
	opj_stream_set_skip_function(stream, stream_skip);
	opj_stream_set_seek_function(stream, stream_seek);
	opj_set_default_decoder_parameters(&params);

	if (!opj_setup_decoder(codec, &params) || !opj_codec_set_threads(codec, 1) ||
		!opj_read_header(stream, codec, &image))
		st = pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt JPEG 2000 pixel data: %s",
					  message.empty() ? "could not read the codestream header" : message.c_str());
	else if (int64_t(image->x1 - image->x0) * int64_t(image->y1 - image->y0) > max_pixels)
		st = pgs_fail(err, PGS_ERR_LIMIT, "image of %u×%u pixels exceeds the limit of %lld pixels",
					  image->x1 - image->x0, image->y1 - image->y0, (long long) max_pixels);
	else if (!opj_decode(codec, stream, image) || !opj_end_decompress(codec, stream))
		st = pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt JPEG 2000 pixel data: %s",
					  message.empty() ? "decoding failed" : message.c_str());
	else if (image->numcomps != OPJ_UINT32(info.samples_per_pixel))
		st = pgs_fail(err, PGS_ERR_BAD_DATA, "JPEG 2000 codestream has %u components but Samples per Pixel is %d",
					  image->numcomps, info.samples_per_pixel);
	else
	{
		size_t		n = size_t(info.rows) * size_t(info.columns);

		/* OpenJPEG decodes in one call that cannot stop part-way; the copy after it need not start */
		st = pgs_cancel_point(err);
		for (OPJ_UINT32 c = 0; c < image->numcomps && st == PGS_OK; c++)
			if (image->comps[c].w != OPJ_UINT32(info.columns) || image->comps[c].h != OPJ_UINT32(info.rows) ||
				image->comps[c].data == NULL)
				st = pgs_fail(err, PGS_ERR_BAD_DATA,
							  "JPEG 2000 component %u is %u×%u but the image is %d×%d", c, image->comps[c].w,
							  image->comps[c].h, info.columns, info.rows);
		if (st == PGS_OK)
		{
			samples.resize(n * image->numcomps);
			for (size_t p = 0; p < n; p++)
				for (OPJ_UINT32 c = 0; c < image->numcomps; c++)
					samples[p * image->numcomps + c] = image->comps[c].data[p];
			*components = int(image->numcomps);
		}
	}
	if (image)
		opj_image_destroy(image);
	opj_stream_destroy(stream);
	opj_destroy_codec(codec);
	return st;
}

/* The compressed bytes of one frame of encapsulated pixel data. */
pgs_status
frame_fragments(DcmDataset *ds, int frame, int frames, std::vector<uint8_t> &code, pgs_error *err)
{
	DcmElement *elem = NULL;
	DcmPixelSequence *seq = NULL;

	if (ds->findAndGetElement(DCM_PixelData, elem).bad() || elem == NULL)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM object has no Pixel Data");
	DcmPixelData *pixels = static_cast<DcmPixelData *>(elem);

	if (pixels->getEncapsulatedRepresentation(ds->getOriginalXfer(), NULL, seq).bad() || seq == NULL)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "Pixel Data is not encapsulated although the transfer syntax says so");

	unsigned long count = seq->card();

	if (count < 2)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "encapsulated Pixel Data has no fragments");

	/* Item 0 is the Basic Offset Table. One fragment per frame is the common case. */
	std::vector<std::pair<const uint8_t *, size_t>> fragments;

	for (unsigned long i = 1; i < count; i++)
	{
		DcmPixelItem *item = NULL;
		Uint8	   *bytes = NULL;

		if (seq->getItem(item, i).bad() || item == NULL)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "could not read pixel data fragment %lu", i);
		if (item->getLength() > 0 && (item->getUint8Array(bytes).bad() || bytes == NULL))
			return pgs_fail(err, PGS_ERR_BAD_DATA, "could not read pixel data fragment %lu", i);
		fragments.emplace_back(bytes, size_t(item->getLength()));
	}

	size_t		first = 0,
				last = fragments.size();	/* [first, last) */

	if (frames == 1)
		;
	else if (int(fragments.size()) == frames)
		first = size_t(frame), last = size_t(frame) + 1;
	else
	{
		/* Several fragments per frame: a new frame starts where a fragment begins with SOC + SIZ. */
		std::vector<size_t> starts;

		for (size_t i = 0; i < fragments.size(); i++)
			if (fragments[i].second >= 4 && memcmp(fragments[i].first, "\xFF\x4F\xFF\x51", 4) == 0)
				starts.push_back(i);
		if (int(starts.size()) != frames)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "cannot tell which of %zu fragments belong to frame %d of %d",
							fragments.size(), frame, frames);
		first = starts[size_t(frame)];
		last = size_t(frame) + 1 < starts.size() ? starts[size_t(frame) + 1] : fragments.size();
	}
	code.clear();
	for (size_t i = first; i < last; i++)
		code.insert(code.end(), fragments[i].first, fragments[i].first + fragments[i].second);
	return PGS_OK;
}

/* Samples of one frame from bytes in native order: interleaved or by plane, masked to the stored bits. */
pgs_status
unpack_samples(const uint8_t *raw, size_t raw_len, const pgs_dicom_pixel_info &info, bool planar,
			   std::vector<int64_t> &values, pgs_error *err)
{
	size_t		pixels = size_t(info.rows) * size_t(info.columns);
	int			spp = info.samples_per_pixel;
	size_t		n = pixels * size_t(spp);
	size_t		bytes = size_t(info.bits_allocated / 8);

	if (n * bytes > raw_len)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "frame holds %zu bytes, fewer than %zu×%d samples of %zu bytes",
						raw_len, pixels, spp, bytes);
	for (size_t p = 0; p < pixels; p++)
		for (int c = 0; c < spp; c++)
		{
			size_t		src = planar ? size_t(c) * pixels + p : p * size_t(spp) + size_t(c);
			const uint8_t *b = raw + src * bytes;
			uint64_t	v;

			if (bytes == 1)
				v = b[0];
			else if (bytes == 2)
			{
				uint16_t	u;

				memcpy(&u, b, 2);
				v = u;
			}
			else
			{
				uint32_t	u;

				memcpy(&u, b, 4);
				v = u;
			}
			values[p * size_t(spp) + size_t(c)] = int64_t(v);
		}
	/* Keep only the stored bits, sign-extended for signed data. */
	int			shift = info.high_bit + 1 - info.bits_stored;
	uint64_t	mask = (uint64_t(1) << info.bits_stored) - 1;

	for (size_t i = 0; i < n; i++)
	{
		uint64_t	v = (uint64_t(values[i]) >> shift) & mask;

		if (info.is_signed && (v >> (info.bits_stored - 1)) & 1)
			values[i] = int64_t(v) - (int64_t(1) << info.bits_stored);
		else
			values[i] = int64_t(v);
	}
	return PGS_OK;
}

/*
 * A frame of native (uncompressed) pixel data, read straight from the element: dcmtk keeps OW data as
 * 16-bit words in host order, so 8-bit samples in OW from big endian files and 32-bit samples need their
 * words put back in order. 1-bit data (segmentations) unpacks to 0/1; YBR_FULL_422 stores Y Y Cb Cr per pair.
 */
pgs_status
native_frame(DcmDataset *ds, const DicomLayout &layout, const pgs_dicom_pixel_info &info, int frame,
			 std::vector<int64_t> &values, std::string &photometric, pgs_error *err)
{
	DcmElement *elem = NULL;
	Uint8	   *bytes = NULL;

	if (ds->findAndGetElement(DCM_PixelData, elem).bad() || elem == NULL)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM object has no Pixel Data");
	bool		ow = elem->getVR() == EVR_OW || (elem->getVR() != EVR_OB && info.bits_allocated > 8);

	if (elem->getUint8Array(bytes).bad() || bytes == NULL)
	{
		Uint16	   *words = NULL;

		if (elem->getUint16Array(words).bad() || words == NULL)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "could not read Pixel Data");
		bytes = reinterpret_cast<Uint8 *>(words);
		ow = true;
	}
	size_t		total = elem->getLength();
	size_t		pixels = size_t(info.rows) * size_t(info.columns);
	int			spp = info.samples_per_pixel;
	bool		ybr422 = photometric == "YBR_FULL_422" && spp == 3 && info.bits_allocated == 8;
	size_t		frame_bits = ybr422 ? pixels * 2 * 8 : pixels * size_t(spp) * size_t(info.bits_allocated);
	size_t		frame_bytes = (frame_bits + 7) / 8;
	size_t		offset_bits = frame_bits * size_t(frame);

	if (info.bits_allocated == 1 ? (offset_bits + frame_bits + 7) / 8 > total : (offset_bits / 8) + frame_bytes > total)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "Pixel Data holds %zu bytes, too few for frame %d of %zu bytes", total,
						frame, frame_bytes);
	std::vector<uint8_t> raw(bytes + offset_bits / 8, bytes + (offset_bits + frame_bits + 7) / 8);
	bool		big_endian_words = ow && layout.xfer == EXS_BigEndianExplicit;

	if (info.bits_allocated == 8 && big_endian_words)
		for (size_t i = 0; i < raw.size(); i++)
		{
			size_t		src = (offset_bits / 8 + i) ^ 1;

			raw[i] = src < total ? bytes[src] : 0;
		}
	if (info.bits_allocated == 32 && ow)
		for (size_t i = 0; i + 3 < raw.size(); i += 4)
		{
			uint16_t	lo, hi;

			memcpy(&lo, &raw[i], 2);
			memcpy(&hi, &raw[i + 2], 2);
			if (layout.xfer == EXS_BigEndianExplicit)
				std::swap(lo, hi);
			uint32_t	v = uint32_t(hi) << 16 | lo;

			memcpy(&raw[i], &v, 4);
		}
	if (info.bits_allocated == 1)
	{
		size_t		n = pixels * size_t(spp);

		for (size_t i = 0; i < n; i++)
		{
			size_t		bit = offset_bits + i;

			values[i] = (bytes[bit / 8] >> (bit % 8)) & 1;
		}
		return PGS_OK;
	}
	if (ybr422)
	{
		for (size_t p = 0; p + 1 < pixels + 1 && p < pixels; p += 2)
		{
			const uint8_t *q = raw.data() + p * 2;

			values[p * 3] = q[0];
			values[p * 3 + 1] = q[2];
			values[p * 3 + 2] = q[3];
			if (p + 1 < pixels)
			{
				values[(p + 1) * 3] = q[1];
				values[(p + 1) * 3 + 1] = q[2];
				values[(p + 1) * 3 + 2] = q[3];
			}
		}
		photometric = "YBR_FULL";
		return PGS_OK;
	}
	Uint16		planar = 0;

	if (spp > 1)
		ds->findAndGetUint16(DCM_PlanarConfiguration, planar);
	return unpack_samples(raw.data(), raw.size(), info, planar == 1, values, err);
}

double
clamp01(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

}								/* namespace */

pgs_status
dicom_pixel_info_from(DcmDataset *ds, const DicomLayout &layout, const pgs_allocator *allocator,
					  pgs_dicom_pixel_info *info, pgs_error *err)
{
	Uint16		u16;
	Sint32		frames = 1;

	memset(info, 0, sizeof(*info));
	if (!ds->tagExists(DCM_PixelData) && !ds->tagExists(DCM_Rows))
		return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM object has no image (no Pixel Data)");
	info->rows = ds->findAndGetUint16(DCM_Rows, u16).good() ? u16 : 0;
	info->columns = ds->findAndGetUint16(DCM_Columns, u16).good() ? u16 : 0;
	info->samples_per_pixel = ds->findAndGetUint16(DCM_SamplesPerPixel, u16).good() ? u16 : 1;
	info->bits_allocated = ds->findAndGetUint16(DCM_BitsAllocated, u16).good() ? u16 : 0;
	info->bits_stored = ds->findAndGetUint16(DCM_BitsStored, u16).good() ? u16 : info->bits_allocated;
	info->high_bit = ds->findAndGetUint16(DCM_HighBit, u16).good() ? u16 : info->bits_stored - 1;
	info->is_signed = ds->findAndGetUint16(DCM_PixelRepresentation, u16).good() && u16 == 1;
	if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1)
		frames = 1;
	info->frames = frames;
	copy_attr(ds, DCM_PhotometricInterpretation, info->photometric, sizeof(info->photometric));
	snprintf(info->transfer_syntax, sizeof(info->transfer_syntax), "%s", layout.transfer_syntax.c_str());
	copy_attr(ds, DCM_Modality, info->modality, sizeof(info->modality));
	copy_attr(ds, DCM_SOPClassUID, info->sop_class_uid, sizeof(info->sop_class_uid));
	info->rescale_slope = first_double(ds, DCM_RescaleSlope, 1.0);
	info->rescale_intercept = first_double(ds, DCM_RescaleIntercept, 0.0);
	if (info->rescale_slope == 0)
		info->rescale_slope = 1.0;
	bool		has_center,
				has_width;

	info->window_center = first_double(ds, DCM_WindowCenter, 0, &has_center);
	info->window_width = first_double(ds, DCM_WindowWidth, 0, &has_width);
	info->has_window = has_center && has_width && info->window_width > 0;
	copy_attr(ds, DCM_VOILUTFunction, info->voi_lut_function, sizeof(info->voi_lut_function));
	if (info->voi_lut_function[0] == '\0')
		snprintf(info->voi_lut_function, sizeof(info->voi_lut_function), "LINEAR");
	copy_attr(ds, DCM_ImageLaterality, info->image_laterality, sizeof(info->image_laterality));
	if (info->image_laterality[0] == '\0')
		copy_attr(ds, DCM_Laterality, info->image_laterality, sizeof(info->image_laterality));
	copy_attr(ds, DCM_ViewPosition, info->view_position, sizeof(info->view_position));
	copy_attr(ds, DCM_PresentationIntentType, info->presentation_intent, sizeof(info->presentation_intent));
	char		burned[8];

	copy_attr(ds, DCM_BurnedInAnnotation, burned, sizeof(burned));
	info->burned_in_annotation = strcmp(burned, "YES") == 0;

	/* VOI LUT Sequence, first item: descriptor (entries, first mapped, bits) and data. */
	DcmItem    *voi = NULL;

	if (ds->findAndGetSequenceItem(DCM_VOILUTSequence, voi, 0).good() && voi != NULL)
	{
		const Uint16 *desc = NULL;
		unsigned long ndesc = 0;
		DcmElement *lut = NULL;

		if (voi->findAndGetUint16Array(DCM_LUTDescriptor, desc, &ndesc).good() && ndesc == 3 &&
			voi->findAndGetElement(DCM_LUTData, lut).good() && lut != NULL)
		{
			int			entries = desc[0] == 0 ? 65536 : desc[0];
			Uint16	   *data16 = NULL;

			if (lut->getUint16Array(data16).good() && data16 != NULL && lut->getLength() / 2 >= Uint32(entries))
			{
				info->voi_lut = static_cast<uint16_t *>(pgs_alloc(allocator, sizeof(uint16_t) * size_t(entries)));
				if (info->voi_lut == NULL)
					return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the VOI LUT");
				memcpy(info->voi_lut, data16, sizeof(uint16_t) * size_t(entries));
				info->voi_lut_entries = entries;
				info->voi_lut_first_mapped = info->is_signed ? int(Sint16(desc[1])) : int(desc[1]);
				info->voi_lut_bits = desc[2];
			}
		}
	}
	/* An unsegmented palette: three descriptors that agree, three tables of 8- or 16-bit entries. */
	const Uint16 *desc[3] = {NULL, NULL, NULL};
	const DcmTagKey descriptors[3] = {DCM_RedPaletteColorLookupTableDescriptor,
	DCM_GreenPaletteColorLookupTableDescriptor, DCM_BluePaletteColorLookupTableDescriptor};
	const DcmTagKey tables[3] = {DCM_RedPaletteColorLookupTableData, DCM_GreenPaletteColorLookupTableData,
	DCM_BluePaletteColorLookupTableData};
	bool		palette_ok = strcmp(info->photometric, "PALETTE COLOR") == 0;

	for (int c = 0; c < 3 && palette_ok; c++)
	{
		unsigned long n = 0;

		palette_ok = ds->findAndGetUint16Array(descriptors[c], desc[c], &n).good() && n == 3 &&
			(c == 0 || (desc[c][0] == desc[0][0] && desc[c][2] == desc[0][2]));
	}
	if (palette_ok)
	{
		int			entries = desc[0][0] == 0 ? 65536 : desc[0][0];
		int			bits = desc[0][2] == 16 ? 16 : 8;
		uint16_t   *lut = static_cast<uint16_t *>(pgs_alloc(allocator, sizeof(uint16_t) * 3 * size_t(entries)));

		if (lut == NULL)
			return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the palette");
		for (int c = 0; c < 3 && palette_ok; c++)
		{
			DcmElement *table = NULL;
			Uint16	   *words = NULL;

			palette_ok = ds->findAndGetElement(tables[c], table).good() && table != NULL &&
				table->getUint16Array(words).good() && words != NULL;
			if (!palette_ok)
				break;
			size_t		have = table->getLength();
			bool		one_per_word = have >= size_t(entries) * 2;
			uint16_t	largest = 0;

			for (size_t i = 0; one_per_word && i < size_t(entries); i++)
				largest = std::max(largest, words[i]);

			for (int i = 0; i < entries; i++)
			{
				/* 8-bit entries come two to a 16-bit word (PS3.3 C.7.6.3.1.6); 16-bit ones one each. */
				uint16_t	v = 0;

				if (bits == 16 && size_t(i) * 2 + 1 < have)
					v = words[i];
				else if (bits == 8 && size_t(i) < have)
					v = one_per_word ? uint16_t(largest > 255 ? words[i] >> 8 : words[i])
						: uint16_t((words[i / 2] >> (8 * (i % 2))) & 0xFF);
				lut[size_t(c) * size_t(entries) + size_t(i)] = v;
			}
		}
		if (palette_ok)
		{
			info->palette = lut;
			info->palette_entries = entries;
			info->palette_first_mapped = desc[0][1];
			info->palette_bits = bits;
		}
		else
			pgs_free(allocator, lut);
	}
	return PGS_OK;
}


/*
 * dcmtk's RLE decoder trusts the segment table of the RLE header (PS3.5 G.3.1) and reads wherever its offsets
 * point: a forged table crashes it. The header is 16 little-endian 32-bit words: the number of segments (one per
 * byte of each sample, so samples × bytes per sample), then each segment's offset from the frame's start, the
 * first 64, each after the one before and inside the frame.
 */
static pgs_status
check_rle_frame(DcmDataset *ds, int frame, const pgs_dicom_pixel_info &info, pgs_error *err)
{
	std::vector<uint8_t> code;
	pgs_status	st;

	if ((st = frame_fragments(ds, frame, info.frames, code, err)) != PGS_OK)
		return st;
	auto word = [&](size_t k) -> uint32_t {
		return uint32_t(code[4 * k]) | uint32_t(code[4 * k + 1]) << 8 | uint32_t(code[4 * k + 2]) << 16 |
			uint32_t(code[4 * k + 3]) << 24;
	};
	if (code.size() < 64)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "RLE frame %d is shorter than its 64-byte header", frame);
	uint32_t	segments = word(0);
	uint32_t	expected = uint32_t(info.samples_per_pixel) * uint32_t((info.bits_allocated + 7) / 8);

	if (segments < 1 || segments > 15 || segments != expected)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "RLE frame %d has %u segments where its pixels need %u", frame,
						segments, expected);
	for (uint32_t i = 0; i < segments; i++)
	{
		uint32_t	offset = word(1 + i);

		if ((i == 0 && offset != 64) || (i > 0 && offset <= word(i)) || offset >= code.size())
			return pgs_fail(err, PGS_ERR_BAD_DATA, "RLE frame %d has an invalid offset for segment %u", frame, i + 1);
	}
	return PGS_OK;
}

pgs_status
dicom_decode_loaded(DcmDataset *ds, const DicomLayout &layout, int frame, int64_t max_pixels,
					const pgs_allocator *allocator, pgs_image *out, pgs_dicom_pixel_info *info_out,
					pgs_error *err)
{
	pgs_dicom_pixel_info info;
	pgs_status	st = dicom_pixel_info_from(ds, layout, &pgs_malloc_allocator, &info, err);

	memset(out, 0, sizeof(*out));
	if (st != PGS_OK)
		return st;
	free(info.voi_lut);
	free(info.palette);
	info.voi_lut = NULL;
	info.voi_lut_entries = 0;
	info.palette = NULL;
	info.palette_entries = 0;
	if ((st = pgs_image_check_dimensions(info.columns, info.rows, max_pixels, err)) != PGS_OK)
		return st;
	if (frame < 0 || frame >= info.frames)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "frame %d does not exist: the image has %d frame%s", frame,
						info.frames, info.frames == 1 ? "" : "s");
	if (info.samples_per_pixel != 1 && info.samples_per_pixel != 3)
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "images with %d samples per pixel are not supported",
						info.samples_per_pixel);
	if (info.bits_allocated != 1 && info.bits_allocated != 8 && info.bits_allocated != 16 && info.bits_allocated != 32)
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "images with %d bits allocated are not supported", info.bits_allocated);
	if (info.bits_stored < 1 || info.bits_stored > info.bits_allocated || info.high_bit < info.bits_stored - 1 ||
		info.high_bit >= info.bits_allocated)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "inconsistent Bits Stored (%d), High Bit (%d) and Bits Allocated (%d)",
						info.bits_stored, info.high_bit, info.bits_allocated);

	size_t		pixels = size_t(info.rows) * size_t(info.columns);
	int			spp = info.samples_per_pixel;
	size_t		n = pixels * size_t(spp);
	std::vector<int64_t> values(n);	/* stored values, interleaved */
	std::string photometric = info.photometric;

	if (is_jpeg2000(layout.xfer, layout.transfer_syntax))
	{
		std::vector<uint8_t> code;
		std::vector<int32_t> samples;
		int			components = 0;

		if ((st = frame_fragments(ds, frame, info.frames, code, err)) != PGS_OK)
			return st;
		if ((st = decode_j2k(code.data(), code.size(), info, max_pixels, samples, &components, err)) != PGS_OK)
			return st;
		for (size_t i = 0; i < n; i++)
			values[i] = samples[i];
		/* The codestream's colour transform (RCT/ICT) is undone by OpenJPEG: YBR_RCT/ICT come out as RGB. */
		if (photometric == "YBR_RCT" || photometric == "YBR_ICT")
			photometric = "RGB";
	}
	else if (!layout.encapsulated)
	{
		if ((st = native_frame(ds, layout, info, frame, values, photometric, err)) != PGS_OK)
			return st;
	}
	else
	{
		DcmElement *elem = NULL;

		if (layout.xfer == EXS_RLELossless && (st = check_rle_frame(ds, frame, info, err)) != PGS_OK)
			return st;
		if (ds->findAndGetElement(DCM_PixelData, elem).bad() || elem == NULL)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM object has no Pixel Data");
		Uint32		frame_size = 0;

		if (elem->getUncompressedFrameSize(ds, frame_size).bad() || frame_size == 0)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "could not determine the size of a frame");
		/* dcmtk wants an even buffer size even for an odd-sized frame (a 3×3 RGB image has 27 bytes). */
		Uint32		buffer_size = frame_size + (frame_size & 1);
		std::vector<uint8_t> raw(buffer_size);
		Uint32		start_fragment = 0;
		OFString	color_model;
		OFCondition cond = elem->getUncompressedFrame(ds, Uint32(frame), start_fragment, raw.data(), buffer_size,
													  color_model);

		if (cond.bad())
			return pgs_fail(err, PGS_ERR_BAD_DATA, "could not decode frame %d: %s", frame, cond.text());
		if (!color_model.empty())
			photometric = color_model.c_str();
		/* dcmtk's RLE and JPEG decoders both hand colour back interleaved (planar configuration 0). */
		if ((st = unpack_samples(raw.data(), frame_size, info, false, values, err)) != PGS_OK)
			return st;
	}

	/* Uncompressed YBR is shown as RGB (ITU-R BT.601 full range, as PS3.3 C.7.6.3.1.2 defines it). */
	if (spp == 3 && (photometric == "YBR_FULL" || photometric == "YBR_FULL_422"))
	{
		double		maxv = double((int64_t(1) << info.bits_stored) - 1),
					half = (maxv + 1) / 2;

		for (size_t p = 0; p < pixels; p++)
		{
			double		y = double(values[p * 3]),
						cb = double(values[p * 3 + 1]) - half,
						cr = double(values[p * 3 + 2]) - half;
			double		rgb[3] = {y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb};

			for (int c = 0; c < 3; c++)
				values[p * 3 + size_t(c)] = int64_t(std::lround(rgb[c] < 0 ? 0 : rgb[c] > maxv ? maxv : rgb[c]));
		}
		photometric = "RGB";
	}

	out->width = info.columns;
	out->height = info.rows;
	out->channels = spp;
	out->bits = info.bits_stored;
	bool		as_float = info.is_signed || info.bits_allocated == 32;

	out->dtype = as_float ? PGS_DTYPE_F32 : info.bits_allocated <= 8 ? PGS_DTYPE_U8 : PGS_DTYPE_U16;
	out->data = pgs_alloc(allocator, pgs_image_bytes(out));
	if (out->data == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", out->width, out->height);
	for (size_t i = 0; i < n; i++)
	{
		if (out->dtype == PGS_DTYPE_F32)
			static_cast<float *>(out->data)[i] = float(values[i]);
		else if (out->dtype == PGS_DTYPE_U16)
			static_cast<uint16_t *>(out->data)[i] = uint16_t(values[i]);
		else
			static_cast<uint8_t *>(out->data)[i] = uint8_t(values[i]);
	}
	if (info_out != NULL)
	{
		*info_out = info;
		snprintf(info_out->photometric, sizeof(info_out->photometric), "%s", photometric.c_str());
	}
	return PGS_OK;
}

extern "C" pgs_status
pgs_dicom_pixel_info_read(const uint8_t *data, size_t len, const pgs_allocator *allocator,
						  pgs_dicom_pixel_info *info, pgs_error *err)
{
	return dicom_fenced(err, [&]() -> pgs_status {
		std::unique_ptr<DcmFileFormat> file;
		DicomLayout layout;
		pgs_status	st = dicom_load(data, len, true, file, &layout, err);

		if (st != PGS_OK)
			return st;
		return dicom_pixel_info_from(file->getDataset(), layout, allocator, info, err);
	});
}

extern "C" pgs_status
pgs_dicom_decode_frame(const uint8_t *data, size_t len, int frame, int64_t max_pixels,
					   const pgs_allocator *allocator, pgs_image *out, pgs_dicom_pixel_info *info, pgs_error *err)
{
	memset(out, 0, sizeof(*out));
	return dicom_fenced(err, [&]() -> pgs_status {
		std::unique_ptr<DcmFileFormat> file;
		DicomLayout layout;
		pgs_status	st = dicom_load(data, len, false, file, &layout, err);

		if (st != PGS_OK)
			return st;
		st = dicom_decode_loaded(file->getDataset(), layout, frame, max_pixels, allocator, out, info, err);
		if (st == PGS_OK && info != NULL)
		{
			/* The VOI LUT is header data: read it into caller memory now that the frame decoded. */
			pgs_dicom_pixel_info full;

			if (dicom_pixel_info_from(file->getDataset(), layout, allocator, &full, err) == PGS_OK)
			{
				info->voi_lut = full.voi_lut;
				info->voi_lut_entries = full.voi_lut_entries;
				info->voi_lut_first_mapped = full.voi_lut_first_mapped;
				info->voi_lut_bits = full.voi_lut_bits;
				info->palette = full.palette;
				info->palette_entries = full.palette_entries;
				info->palette_first_mapped = full.palette_first_mapped;
				info->palette_bits = full.palette_bits;
			}
		}
		return st;
	});
}

extern "C" pgs_status
pgs_dicom_presentation(const pgs_image *stored, const pgs_dicom_pixel_info *info, const pgs_allocator *allocator,
					   pgs_image *out, pgs_error *err)
{
	size_t		n = size_t(stored->width) * size_t(stored->height) * size_t(stored->channels);
	std::vector<double> v(n);

	for (size_t i = 0; i < n; i++)
		v[i] = stored->dtype == PGS_DTYPE_U8 ? static_cast<const uint8_t *>(stored->data)[i]
			: stored->dtype == PGS_DTYPE_U16 ? static_cast<const uint16_t *>(stored->data)[i]
			: static_cast<const float *>(stored->data)[i];

	*out = *stored;
	out->dtype = PGS_DTYPE_F32;
	out->bits = 32;
	out->data = pgs_alloc(allocator, n * sizeof(float));
	if (out->data == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", stored->width, stored->height);
	float	   *dst = static_cast<float *>(out->data);
	bool		mono = stored->channels == 1 && strncmp(info->photometric, "MONOCHROME", 10) == 0;

	if (info->palette_entries > 0 && info->palette != NULL && stored->channels == 1)
	{
		size_t		pixels = size_t(stored->width) * size_t(stored->height);
		float	   *rgb = static_cast<float *>(pgs_alloc(allocator, pixels * 3 * sizeof(float)));
		double		scale = info->palette_bits == 16 ? 65535.0 : 255.0;

		pgs_free(allocator, out->data);
		if (rgb == NULL)
			return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", stored->width, stored->height);
		for (size_t p = 0; p < pixels; p++)
		{
			long		index = std::lround(v[p]) - info->palette_first_mapped;

			index = index < 0 ? 0 : index >= info->palette_entries ? info->palette_entries - 1 : index;
			for (int c = 0; c < 3; c++)
				rgb[p * 3 + size_t(c)] = float(info->palette[size_t(c) * size_t(info->palette_entries) + size_t(index)] / scale);
		}
		out->data = rgb;
		out->channels = 3;
		return PGS_OK;
	}
	if (!mono)
	{
		double		maxv = info->bits_stored > 0 && info->bits_stored < 32 ? double((int64_t(1) << info->bits_stored) - 1) : 255.0;

		if (strcmp(info->photometric, "PALETTE COLOR") == 0 || maxv <= 0)
			maxv = *std::max_element(v.begin(), v.end());
		for (size_t i = 0; i < n; i++)
			dst[i] = float(maxv > 0 ? clamp01(v[i] / maxv) : 0);
		return PGS_OK;
	}

	if (info->voi_lut_entries > 0 && info->voi_lut != NULL)
	{
		/* A VOI LUT applies to stored values directly here (the Modality LUT is linear or absent). */
		double		lut_max = info->voi_lut_bits > 0 && info->voi_lut_bits <= 16 ? double((1 << info->voi_lut_bits) - 1) : 65535.0;

		for (size_t i = 0; i < n; i++)
		{
			double		mv = v[i] * info->rescale_slope + info->rescale_intercept;
			long		index = std::lround(mv) - info->voi_lut_first_mapped;

			index = index < 0 ? 0 : index >= info->voi_lut_entries ? info->voi_lut_entries - 1 : index;
			dst[i] = float(clamp01(info->voi_lut[index] / lut_max));
		}
	}
	else if (info->has_window)
	{
		double		c = info->window_center,
					w = info->window_width;
		bool		exact = strcmp(info->voi_lut_function, "LINEAR_EXACT") == 0;
		bool		sigmoid = strcmp(info->voi_lut_function, "SIGMOID") == 0;

		for (size_t i = 0; i < n; i++)
		{
			double		x = v[i] * info->rescale_slope + info->rescale_intercept;
			double		y;

			if (sigmoid)
				y = 1.0 / (1.0 + std::exp(-4.0 * (x - c) / w));
			else if (exact)
				y = (x - c) / w + 0.5;
			else
				y = w <= 1 ? (x <= c - 0.5 ? 0 : 1) : ((x - (c - 0.5)) / (w - 1) + 0.5);
			dst[i] = float(clamp01(y));
		}
	}
	else
	{
		double		lo = *std::min_element(v.begin(), v.end()),
					hi = *std::max_element(v.begin(), v.end());

		for (size_t i = 0; i < n; i++)
			dst[i] = float(hi > lo ? (v[i] - lo) / (hi - lo) : 0.0);
	}
	if (strcmp(info->photometric, "MONOCHROME1") == 0)
		for (size_t i = 0; i < n; i++)
			dst[i] = 1.0f - dst[i];
	return PGS_OK;
}

/* ---- the codec the image decoder calls ---------------------------------------------------------------- */

extern "C" pgs_status
pgs_dicom_probe(const uint8_t *data, size_t len, pgs_image_info *info, pgs_error *err)
{
	memset(info, 0, sizeof(*info));
	return dicom_fenced(err, [&]() -> pgs_status {
		std::unique_ptr<DcmFileFormat> file;
		DicomLayout layout;
		pgs_dicom_pixel_info px;
		pgs_status	st = dicom_load(data, len, true, file, &layout, err);

		if (st != PGS_OK || (st = dicom_pixel_info_from(file->getDataset(), layout, &pgs_malloc_allocator, &px, err)) != PGS_OK)
			return st;
		free(px.voi_lut);
		free(px.palette);
		info->format = PGS_FORMAT_DICOM;
		info->width = px.columns;
		info->height = px.rows;
		info->channels = px.samples_per_pixel;
		info->bits = px.bits_stored;
		info->frames = px.frames;
		return PGS_OK;
	});
}

extern "C" pgs_status
pgs_dicom_decode(const uint8_t *data, size_t len, const pgs_decode_options *opts, const pgs_allocator *allocator,
				 pgs_image *out, pgs_error *err)
{
	pgs_dicom_pixel_info info;
	pgs_status	st = pgs_dicom_decode_frame(data, len, opts->frame, opts->max_pixels, allocator, out, &info, err);

	if (st != PGS_OK || !opts->display)
	{
		if (st == PGS_OK)
		{
			pgs_free(allocator, info.voi_lut);
			pgs_free(allocator, info.palette);
		}
		return st;
	}

	/* For display: the presentation pipeline, as 8 bits per sample (README: "what to_png shows"). */
	pgs_image	shown;

	st = pgs_dicom_presentation(out, &info, allocator, &shown, err);
	pgs_free(allocator, info.voi_lut);
	pgs_free(allocator, info.palette);
	pgs_image_free(allocator, out);
	if (st != PGS_OK)
		return st;
	size_t		n = size_t(shown.width) * size_t(shown.height) * size_t(shown.channels);
	uint8_t    *u8 = static_cast<uint8_t *>(pgs_alloc(allocator, n));

	if (u8 == NULL)
	{
		pgs_image_free(allocator, &shown);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", shown.width, shown.height);
	}
	for (size_t i = 0; i < n; i++)
		u8[i] = uint8_t(std::lround(static_cast<float *>(shown.data)[i] * 255.0f));
	pgs_image_free(allocator, &shown);
	*out = shown;
	out->data = u8;
	out->dtype = PGS_DTYPE_U8;
	out->bits = 8;
	return PGS_OK;
}

extern "C" void
pgs_dicom_register_codec(void)
{
	static const pgs_image_codec codec = {pgs_dicom_probe, pgs_dicom_decode};

	pgs_image_register_dicom_codec(&codec);
}
