/* Loading DICOM bytes into dcmtk after the structural scan, once-per-process dcmtk set-up, small helpers. */
#include "dicom_internal.h"

#include <cstring>
#include <new>
#include <vector>

#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

static const char *const PGSCREEN_IMPLEMENTATION_UID = "2.25.95818404958924574592651040187394620451";
static const char *const PGSCREEN_VERSION_NAME = "PGSCREEN_0.1.0";

void
dicom_global_init()
{
	static bool done = false;

	if (done)
		return;
	/* dcmtk logs warnings to stderr, which would land in the server log for every odd file. */
	OFLog::configure(OFLogger::OFF_LOG_LEVEL);
	dcmIgnoreParsingErrors.set(OFFalse);
	dcmEnableAutomaticInputDataCorrection.set(OFTrue);
	/* A public attribute written as UN (e.g. a UID) is read with its dictionary VR, so the profile applies. */
	dcmEnableUnknownVRConversion.set(OFTrue);
	DJDecoderRegistration::registerCodecs();
	DJLSDecoderRegistration::registerCodecs();
	DcmRLEDecoderRegistration::registerCodecs();
	done = true;
}

pgs_status
dicom_load(const uint8_t *data, size_t len, bool header_only, std::unique_ptr<DcmFileFormat> &file,
		   DicomLayout *layout, pgs_error *err)
{
	pgs_status	st;

	dicom_global_init();
	if ((st = dicom_scan(data, len, layout, err)) != PGS_OK)
		return st;
	len -= layout->trailing_padding;

	DcmInputBufferStream stream;

	file.reset(new DcmFileFormat());
	if (layout->xfer_overridden)
	{
		/* The meta and the data set are read apart, the data set in the encoding the scan found. */
		DcmInputBufferStream meta_stream;

		meta_stream.setBuffer(data, offile_off_t(layout->dataset_offset));
		meta_stream.setEos();
		file->getMetaInfo()->transferInit();
		OFCondition cond = file->getMetaInfo()->read(meta_stream, EXS_LittleEndianExplicit, EGL_noChange, 0xFFFFFFFEu);

		file->getMetaInfo()->transferEnd();
		if (cond.bad())
			return pgs_fail(err, PGS_ERR_BAD_DATA, "could not parse the DICOM file meta information: %s", cond.text());
		stream.setBuffer(data + layout->dataset_offset, offile_off_t(len - layout->dataset_offset));
		stream.setEos();
		DcmDataset *ds = file->getDataset();

		ds->transferInit();
		cond = header_only
			? ds->readUntilTag(stream, layout->xfer, EGL_noChange, 0xFFFFFFFEu, DCM_PixelData)
			: ds->read(stream, layout->xfer, EGL_noChange, 0xFFFFFFFEu);
		ds->transferEnd();
		if (cond.bad())
			return pgs_fail(err, PGS_ERR_BAD_DATA, "could not parse DICOM data: %s", cond.text());
		return PGS_OK;
	}
	stream.setBuffer(data, offile_off_t(len));
	stream.setEos();
	file->transferInit();
	E_TransferSyntax xfer = layout->part10 ? EXS_Unknown : layout->xfer;
	OFCondition cond = header_only
		? file->readUntilTag(stream, xfer, EGL_noChange, 0xFFFFFFFEu, DCM_PixelData)
		: file->read(stream, xfer, EGL_noChange, 0xFFFFFFFEu);

	file->transferEnd();
	if (cond.bad())
		return pgs_fail(err, PGS_ERR_BAD_DATA, "could not parse DICOM data: %s", cond.text());
	if (file->getDataset() == NULL)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "DICOM data has no data set");
	return PGS_OK;
}

std::string
dicom_string(DcmItem *item, const DcmTagKey &key)
{
	OFString	value;
	DcmElement *elem = NULL;

	if (item->findAndGetElement(key, elem, OFFalse).bad() || elem == NULL)
		return "";
	if (elem->getOFStringArray(value, OFTrue).bad())
		return "";
	return std::string(value.c_str(), value.length());
}

std::string
dicom_keyword(const DcmTag &tag)
{
	if (tag.isPrivate())
		return "";
	const DcmDataDictionary &dict = dcmDataDict.rdlock();
	const DcmDictEntry *entry = dict.findEntry(tag, NULL);
	std::string name = entry && entry->getTagName() ? entry->getTagName() : "";

	dcmDataDict.rdunlock();
	if (name.rfind("RETIRED_", 0) == 0)
		name = name.substr(8);
	if (name == "Unknown Tag & Data")
		name = "";
	return name;
}

std::string
dicom_tag_text(const DcmTagKey &key)
{
	char		buf[16];

	snprintf(buf, sizeof(buf), "(%04X,%04X)", key.getGroup(), key.getElement());
	return buf;
}

std::string
dicom_valid_utf8(const std::string &s)
{
	std::string out;
	size_t		i = 0,
				n = s.size();

	out.reserve(n);
	while (i < n)
	{
		unsigned char c = static_cast<unsigned char>(s[i]);
		size_t		need = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : SIZE_MAX;
		bool		ok = need != SIZE_MAX && i + need < n + (need == 0 ? 1 : 0) && c != 0;

		if (ok && need > 0)
		{
			if (i + need >= n + 1)
				ok = false;
			for (size_t k = 1; ok && k <= need; k++)
				ok = i + k < n && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
			if (ok && ((need == 1 && c < 0xC2) || (need == 2 && c == 0xE0 && static_cast<unsigned char>(s[i + 1]) < 0xA0) ||
					   (need == 3 && (c > 0xF4 || (c == 0xF0 && static_cast<unsigned char>(s[i + 1]) < 0x90)))))
				ok = false;
		}
		if (ok)
		{
			out.append(s, i, need + 1);
			i += need + 1;
		}
		else
		{
			out.append("\xEF\xBF\xBD");
			i++;
		}
	}
	return out;
}

char *
dicom_strdup(const pgs_allocator *allocator, const std::string &s)
{
	char	   *p = static_cast<char *>(pgs_alloc(allocator, s.size() + 1));

	if (p != NULL)
	{
		memcpy(p, s.data(), s.size());
		p[s.size()] = '\0';
	}
	return p;
}

pgs_status
dicom_write_part10(DcmDataset *ds, E_TransferSyntax xfer, const std::string &sop_class,
				   const std::string &sop_instance, const char *source_ae, const pgs_allocator *allocator,
				   uint8_t **out, size_t *out_len, pgs_error *err, const uint8_t *tail, size_t tail_len)
{
	DcmFileFormat file(ds, OFFalse);
	DcmMetaInfo *meta = file.getMetaInfo();
	const Uint8 version[2] = {0, 1};
	OFCondition cond = meta->putAndInsertUint8Array(DCM_FileMetaInformationVersion, version, 2);

	if (cond.good())
		cond = meta->putAndInsertString(DCM_MediaStorageSOPClassUID, sop_class.c_str());
	if (cond.good())
		cond = meta->putAndInsertString(DCM_MediaStorageSOPInstanceUID, sop_instance.c_str());
	if (cond.good())
		cond = meta->putAndInsertString(DCM_TransferSyntaxUID, DcmXfer(xfer).getXferID());
	if (cond.good())
		cond = meta->putAndInsertString(DCM_ImplementationClassUID, PGSCREEN_IMPLEMENTATION_UID);
	if (cond.good())
		cond = meta->putAndInsertString(DCM_ImplementationVersionName, PGSCREEN_VERSION_NAME);
	if (cond.good() && source_ae != NULL)
		cond = meta->putAndInsertString(DCM_SourceApplicationEntityTitle, source_ae);
	if (cond.good())
		cond = meta->computeGroupLengthAndPadding(EGL_withGL, EPD_noChange, EXS_LittleEndianExplicit,
												  EET_ExplicitLength);

	if (cond.bad())
	{
		file.getAndRemoveDataset();
		return pgs_fail(err, PGS_ERR_INTERNAL, "could not build the file meta information: %s", cond.text());
	}

	/*
	 * Write straight into the caller's memory: the encoded size is known in advance (preamble, meta, data
	 * set), so one buffer and one pass do; a chunked loop takes over should the estimate fall short.
	 */
	pgs_buffer	buffer;
	size_t		estimate = 132 + size_t(meta->calcElementLength(EXS_LittleEndianExplicit, EET_ExplicitLength)) +
		size_t(ds->calcElementLength(xfer, EET_ExplicitLength)) + tail_len + 4096;

	if (DcmXfer(xfer).getStreamCompression() != ESC_none)
		estimate = estimate / 2 + 4096;
	pgs_buffer_init(&buffer, allocator);
	buffer.data = static_cast<unsigned char *>(pgs_alloc(allocator, estimate));
	if (buffer.data == NULL)
	{
		file.getAndRemoveDataset();
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate %zu bytes for the DICOM object", estimate);
	}
	buffer.cap = estimate;

	std::vector<uint8_t> chunk;
	DcmOutputBufferStream stream(buffer.data, offile_off_t(estimate));
	bool		direct = true;

	file.transferInit();
	while (cond.good())
	{
		cond = file.write(stream, xfer, EET_ExplicitLength, NULL, EGL_withoutGL, EPD_noChange, 0, 0, 0,
						  EWM_dontUpdateMeta);
		if (cond != EC_StreamNotifyClient && cond.bad())
			break;
		if (cond.good())
			stream.flush();
		void	   *bytes;
		offile_off_t n;

		stream.flushBuffer(bytes, n);
		if (direct)
			buffer.len = size_t(n);
		else if (n > 0 && pgs_buffer_append(&buffer, bytes, size_t(n)) != 0)
		{
			file.transferEnd();
			file.getAndRemoveDataset();
			pgs_buffer_release(&buffer);
			return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the DICOM object");
		}
		if (cond.good())
			break;
		/* The estimate fell short: go on through a chunk appended to the buffer. */
		if (direct)
		{
			direct = false;
			chunk.resize(1 << 20);
			stream.~DcmOutputBufferStream();
			new (&stream) DcmOutputBufferStream(chunk.data(), offile_off_t(chunk.size()));
		}
		cond = EC_Normal;
	}
	file.transferEnd();
	file.getAndRemoveDataset();	/* the caller owns the data set */
	if (cond.bad())
	{
		pgs_buffer_release(&buffer);
		return pgs_fail(err, PGS_ERR_INTERNAL, "could not write the DICOM object: %s", cond.text());
	}
	if (tail_len > 0 && pgs_buffer_append(&buffer, tail, tail_len) != 0)
	{
		pgs_buffer_release(&buffer);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the DICOM object");
	}
	*out = buffer.data;
	*out_len = buffer.len;
	return PGS_OK;
}


extern "C" size_t
pgs_dicom_header_length(const uint8_t *prefix, size_t len)
{
	size_t		offset = 0;

	try
	{
		dicom_global_init();
		dicom_scan_prefix(prefix, len, &offset);
	}
	catch (...)
	{
		offset = 0;
	}
	return offset;
}
