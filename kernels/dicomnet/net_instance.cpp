// Instances in and out of memory: a received dataset becomes a Part 10 file byte for byte; identifiers and JSON.
#include "net_internal.h"

#include "../dicom/dicom_internal.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcjson.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcostrma.h"
#include "dcmtk/dcmdata/dcxfer.h"

#include <cstring>
#include <memory>
#include <sstream>
#include <string>

// pgscreen's implementation class UID (a UUID-derived 2.25 UID, fixed) and version, for the file meta.
#define PGS_IMPLEMENTATION_CLASS_UID "2.25.140389913289436192074211280777983931006"
#define PGS_IMPLEMENTATION_VERSION "PGSCREEN_010"

namespace
{

// Collects dataset bytes into a pgs_buffer. Past the size limit, or when memory runs out, it keeps
// accepting and dropping bytes, so the rest of the dataset is still read off the association and the
// peer gets a proper refusal instead of an abort.
class BufferConsumer : public DcmConsumer
{
  public:
	BufferConsumer(pgs_buffer *buf, uint64_t limit)
	:	buf_(buf), limit_(limit), total_(0), overflow_(false), no_memory_(false)
	{
	}

	OFBool		good() const { return OFTrue; }
	OFCondition status() const { return EC_Normal; }
	OFBool		isFlushed() const { return OFTrue; }
	offile_off_t avail() const { return (offile_off_t) 1 << 30; }
	void		flush() {}

	offile_off_t write(const void *bytes, offile_off_t n)
	{
		total_ += (uint64_t) n;
		if (overflow_ || no_memory_)
			return n;
		if (total_ > limit_)
		{
			overflow_ = true;
			pgs_buffer_release(buf_);
		}
		else if (pgs_buffer_append(buf_, bytes, (size_t) n) != 0)
		{
			no_memory_ = true;
			pgs_buffer_release(buf_);
		}
		return n;
	}

	bool		overflow() const { return overflow_; }
	bool		no_memory() const { return no_memory_; }

  private:
	pgs_buffer *buf_;
	uint64_t	limit_;
	uint64_t	total_;
	bool		overflow_;
	bool		no_memory_;
};

class BufferOutputStream : public DcmOutputStream
{
  public:
	explicit BufferOutputStream(BufferConsumer *consumer) : DcmOutputStream(consumer) {}
};

void
put_u16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char) (v & 0xff);
	p[1] = (unsigned char) (v >> 8);
}

void
put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char) (v >> (8 * i));
}

// One explicit-VR little-endian element of group 0002 with a short-form (2-byte) length; value padded to
// an even length with pad.
size_t
meta_element(unsigned char *out, unsigned element, const char *vr, const char *value, char pad)
{
	size_t		len = std::strlen(value);
	size_t		padded = len + (len & 1);

	put_u16(out, 0x0002);
	put_u16(out + 2, element);
	out[4] = (unsigned char) vr[0];
	out[5] = (unsigned char) vr[1];
	put_u16(out + 6, (unsigned) padded);
	std::memcpy(out + 8, value, len);
	if (padded != len)
		out[8 + len] = (unsigned char) pad;
	return 8 + padded;
}

// Preamble, "DICM" and the file meta group for an instance sent with the given transfer syntax.
size_t
file_meta(unsigned char *out, const char *sop_class, const char *sop_instance, const char *transfer_syntax)
{
	unsigned char group[1024];
	size_t		n = 0;

	// (0002,0001) OB: explicit VR OB has a reserved word and a 4-byte length
	put_u16(group, 0x0002);
	put_u16(group + 2, 0x0001);
	group[4] = 'O';
	group[5] = 'B';
	put_u16(group + 6, 0);
	put_u32(group + 8, 2);
	group[12] = 0x00;
	group[13] = 0x01;
	n = 14;
	n += meta_element(group + n, 0x0002, "UI", sop_class, '\0');
	n += meta_element(group + n, 0x0003, "UI", sop_instance, '\0');
	n += meta_element(group + n, 0x0010, "UI", transfer_syntax, '\0');
	n += meta_element(group + n, 0x0012, "UI", PGS_IMPLEMENTATION_CLASS_UID, '\0');
	n += meta_element(group + n, 0x0013, "SH", PGS_IMPLEMENTATION_VERSION, ' ');

	std::memset(out, 0, 128);
	std::memcpy(out + 128, "DICM", 4);
	// (0002,0000) UL group length
	put_u16(out + 132, 0x0002);
	put_u16(out + 134, 0x0000);
	out[136] = 'U';
	out[137] = 'L';
	put_u16(out + 138, 4);
	put_u32(out + 140, (uint32_t) n);
	std::memcpy(out + 144, group, n);
	return 144 + n;
}

void
copy_string(char *dst, size_t size, const OFString &src)
{
	size_t		n = src.length() < size - 1 ? src.length() : size - 1;

	std::memcpy(dst, src.c_str(), n);
	dst[n] = '\0';
}

// Length of the well-formed UTF-8 sequence at s[i] (the rules PostgreSQL applies), or 0 if there is none.
size_t
utf8_sequence_length(const std::string &s, size_t i)
{
	unsigned char c = (unsigned char) s[i];
	size_t		need;
	unsigned char lo = 0x80,
				hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 1;
	else if (c >= 0xE0 && c <= 0xEF)
	{
		need = 2;
		lo = c == 0xE0 ? 0xA0 : 0x80;
		hi = c == 0xED ? 0x9F : 0xBF;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		need = 3;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF;
	}
	else
		return 0;
	if (i + need >= s.size())
		return 0;
	for (size_t k = 1; k <= need; k++)
	{
		unsigned char b = (unsigned char) s[i + k];

		if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
			return 0;
	}
	return need + 1;
}

// Replace bytes that are not well-formed UTF-8 by '?', so the text is always valid for jsonb.
void
sanitise_utf8(std::string &s)
{
	size_t		i = 0;

	while (i < s.size())
	{
		size_t		n = utf8_sequence_length(s, i);

		if (n == 0)
		{
			s[i] = '?';
			n = 1;
		}
		i += n;
	}
}

}								// namespace

void
pgs_net_read_uids(DcmItem *dataset, pgs_net_uids *uids)
{
	OFString	value;

	std::memset(uids, 0, sizeof(*uids));
	if (dataset->findAndGetOFString(DCM_PatientID, value).good())
		copy_string(uids->patient_id, sizeof(uids->patient_id), value);
	if (dataset->findAndGetOFString(DCM_StudyInstanceUID, value).good())
		copy_string(uids->study_instance_uid, sizeof(uids->study_instance_uid), value);
	if (dataset->findAndGetOFString(DCM_SeriesInstanceUID, value).good())
		copy_string(uids->series_instance_uid, sizeof(uids->series_instance_uid), value);
	if (dataset->findAndGetOFString(DCM_SOPInstanceUID, value).good())
		copy_string(uids->sop_instance_uid, sizeof(uids->sop_instance_uid), value);
	if (dataset->findAndGetOFString(DCM_SOPClassUID, value).good())
		copy_string(uids->sop_class_uid, sizeof(uids->sop_class_uid), value);
	if (dataset->findAndGetOFString(DCM_AvailableTransferSyntaxUID, value).good())
		copy_string(uids->transfer_syntax_uid, sizeof(uids->transfer_syntax_uid), value);
}

/*
 * The structural scan of kernels/dicom walks every element of the object, Pixel Data included, without
 * copying it; dcmtk then parses the header only. A full dcmtk read would copy the pixels once more, which
 * for a large instance costs as much CPU as storing it.
 */
extern "C" pgs_status
pgs_net_instance_uids(const unsigned char *data, size_t len, pgs_net_uids *uids, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		pgs_status	st = pgs_net_library_init(err);
		std::unique_ptr<DcmFileFormat> file;
		DicomLayout layout;
		pgs_error	load_err;
		OFString	ts;

		std::memset(uids, 0, sizeof(*uids));
		if (st != PGS_OK)
			return st;
		if (len == 0)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "the instance is empty");
		pgs_error_clear(&load_err);
		if (dicom_load(data, len, true, file, &layout, &load_err) != PGS_OK)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "the instance is not a readable DICOM dataset: %s",
							load_err.message);
		pgs_net_read_uids(file->getDataset(), uids);
		if (file->getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts).good() && !ts.empty())
			copy_string(uids->transfer_syntax_uid, sizeof(uids->transfer_syntax_uid), ts);
		else
			copy_string(uids->transfer_syntax_uid, sizeof(uids->transfer_syntax_uid),
						DcmXfer(layout.xfer).getXferID());
		return PGS_OK;
	})
}

static void
refuse(pgs_net_event *ev, uint16_t status, const char *reason)
{
	ev->data = NULL;
	ev->len = 0;
	ev->refused_status = status;
	std::snprintf(ev->refused_reason, sizeof(ev->refused_reason), "%.127s", reason);
}

pgs_status
pgs_net_receive_instance(pgs_net_assoc *a, T_ASC_PresentationContextID pres_id, const T_DIMSE_C_StoreRQ *request,
						 const pgs_allocator *alloc, pgs_net_event *ev, pgs_error *err)
{
	T_ASC_PresentationContext pc;
	T_ASC_PresentationContextID data_pres_id = 0;
	unsigned char meta[1200];
	size_t		meta_len;
	pgs_buffer	buf;
	OFCondition cond;
	pgs_error	parse_err;

	ev->kind = PGS_NET_EVENT_INSTANCE;
	ev->data = NULL;
	ev->len = 0;
	ev->refused_status = 0;
	ev->refused_reason[0] = '\0';
	std::memset(&ev->uids, 0, sizeof(ev->uids));
	copy_string(ev->move_originator_aet, sizeof(ev->move_originator_aet),
				(request->opts & O_STORE_MOVEORIGINATORAETITLE) ? request->MoveOriginatorApplicationEntityTitle : "");
	ev->move_originator_id = (request->opts & O_STORE_MOVEORIGINATORID) ? request->MoveOriginatorID : -1;

	cond = ASC_findAcceptedPresentationContext(a->assoc->params, pres_id, &pc);
	if (cond.bad())
		return pgs_net_fail_cond(err, cond, "C-STORE request on an unknown presentation context");
	meta_len = file_meta(meta, request->AffectedSOPClassUID, request->AffectedSOPInstanceUID,
						 pc.acceptedTransferSyntax);

	pgs_buffer_init(&buf, alloc);
	BufferConsumer consumer(&buf, a->max_instance_bytes);
	BufferOutputStream stream(&consumer);

	consumer.write(meta, (offile_off_t) meta_len);
	cond = DIMSE_receiveDataSetInFile(a->assoc, DIMSE_NONBLOCKING, a->dimse_timeout_s, &data_pres_id, &stream,
									  NULL, NULL);
	if (cond.bad())
	{
		pgs_buffer_release(&buf);
		return pgs_net_fail_cond(err, cond, "could not receive an instance");
	}
	if (consumer.overflow())
	{
		char		reason[128];

		std::snprintf(reason, sizeof(reason), "instance is larger than the limit of %llu bytes",
					  (unsigned long long) a->max_instance_bytes);
		refuse(ev, PGS_DIMSE_OUT_OF_RESOURCES, reason);
		return PGS_OK;
	}
	if (consumer.no_memory())
	{
		refuse(ev, PGS_DIMSE_OUT_OF_RESOURCES, "out of memory while receiving the instance");
		return PGS_OK;
	}
	if (data_pres_id != pres_id)
	{
		pgs_buffer_release(&buf);
		refuse(ev, PGS_DIMSE_CANNOT_UNDERSTAND, "dataset sent on another presentation context than its command");
		return PGS_OK;
	}
	pgs_error_clear(&parse_err);
	if (pgs_net_instance_uids(buf.data, buf.len, &ev->uids, &parse_err) != PGS_OK)
	{
		pgs_buffer_release(&buf);
		refuse(ev, PGS_DIMSE_CANNOT_UNDERSTAND, parse_err.message);
		return PGS_OK;
	}
	if (std::strcmp(ev->uids.sop_instance_uid, request->AffectedSOPInstanceUID) != 0 ||
		std::strcmp(ev->uids.sop_class_uid, request->AffectedSOPClassUID) != 0)
	{
		pgs_buffer_release(&buf);
		refuse(ev, PGS_DIMSE_DATASET_MISMATCH, "the dataset's SOP class or instance UID differs from the request's");
		return PGS_OK;
	}
	ev->data = buf.data;
	ev->len = buf.len;
	return PGS_OK;
}

pgs_status
pgs_net_dataset_json(DcmDataset *dataset, const pgs_allocator *alloc, char **json, size_t *len, pgs_error *err)
{
	std::ostringstream out;
	std::string text;
	DcmJsonFormatCompact format(OFFalse);
	OFCondition cond;
	char	   *copy;

	// JSON is UTF-8; a PACS answers in the character set of its data (often Latin-1).
	if (dataset->convertToUTF8().bad())
		dataset->convertCharacterSet("ISO_IR 192", DCMTypes::CF_discardIllegal);
	// DcmDataset::writeJson writes the members only; the object's braces are the caller's.
	out << "{";
	cond = dataset->writeJson(out, format);
	out << "}";
	if (cond.bad())
		return pgs_net_fail_cond(err, cond, "could not write a match as DICOM JSON");
	text = out.str();
	sanitise_utf8(text);
	copy = (char *) pgs_alloc(alloc, text.size() + 1);
	if (copy == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory for a C-FIND match");
	std::memcpy(copy, text.data(), text.size());
	copy[text.size()] = '\0';
	*json = copy;
	*len = text.size();
	return PGS_OK;
}
