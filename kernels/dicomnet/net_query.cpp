// Query identifiers for C-FIND/C-GET/C-MOVE: keys by keyword or tag, values checked against what their VR allows.
#include "net_internal.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dctag.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

struct pgs_net_query
{
	DcmDataset	dataset;
	pgs_qr_level level;
};

static const char *
level_name(pgs_qr_level level)
{
	switch (level)
	{
		case PGS_QR_PATIENT:
			return "PATIENT";
		case PGS_QR_STUDY:
			return "STUDY";
		case PGS_QR_SERIES:
			return "SERIES";
		case PGS_QR_IMAGE:
			return "IMAGE";
	}
	return "STUDY";
}

DcmDataset *
pgs_net_query_dataset(const pgs_net_query *q)
{
	return const_cast<DcmDataset *>(&q->dataset);
}

extern "C" pgs_status
pgs_net_query_create(pgs_qr_level level, pgs_net_query **out, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		pgs_status	st = pgs_net_library_init(err);
		pgs_net_query *q;

		*out = NULL;
		if (st != PGS_OK)
			return st;
		q = new pgs_net_query;
		q->level = level;
		q->dataset.putAndInsertString(DCM_QueryRetrieveLevel, level_name(level));
		*out = q;
		return PGS_OK;
	})
}

extern "C" void
pgs_net_query_free(pgs_net_query *q)
{
	try
	{
		delete q;
	}
	catch (...)
	{
	}
}

static int
hex_value(const char *s, int n, unsigned *out)
{
	unsigned	v = 0;

	for (int i = 0; i < n; i++)
	{
		if (!std::isxdigit((unsigned char) s[i]))
			return 0;
		v = v * 16 + (unsigned) (std::isdigit((unsigned char) s[i]) ? s[i] - '0' : std::tolower((unsigned char) s[i]) - 'a' + 10);
	}
	*out = v;
	return 1;
}

// "(0010,0020)", "0010,0020" or "00100020" into a tag; 0 when key is not written as a tag.
static int
parse_tag_number(const char *key, DcmTagKey *tag)
{
	char		digits[9];
	int			n = 0;
	size_t		len = std::strlen(key);
	unsigned	group,
				element;

	if (len == 11 && key[0] == '(' && key[5] == ',' && key[10] == ')')
		key++, len = 9;
	if (len == 9 && key[4] == ',')
	{
		std::memcpy(digits, key, 4);
		std::memcpy(digits + 4, key + 5, 4);
		n = 8;
	}
	else if (len == 8)
	{
		std::memcpy(digits, key, 8);
		n = 8;
	}
	if (n != 8 || !hex_value(digits, 4, &group) || !hex_value(digits + 4, 4, &element))
		return 0;
	tag->set((Uint16) group, (Uint16) element);
	return 1;
}

static pgs_status
resolve_key(const char *key, DcmTag *tag, pgs_error *err)
{
	DcmTagKey	number;

	if (key == NULL || *key == '\0')
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "a query key must not be empty");
	if (parse_tag_number(key, &number))
		*tag = DcmTag(number);
	else if (DcmTag::findTagFromName(key, *tag).bad())
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "unknown DICOM attribute \"%s\" in query", key);

	if (tag->getGroup() == 0x0000 || tag->getGroup() == 0x0002 || tag->getGroup() == 0xFFFE)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "attribute \"%s\" (%04X,%04X) cannot be used in a query", key,
						tag->getGroup(), tag->getElement());
	if (*tag == DCM_QueryRetrieveLevel)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "QueryRetrieveLevel cannot be a query key: it follows the level");
	if (*tag == DCM_SpecificCharacterSet)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"SpecificCharacterSet cannot be a query key: values are sent as UTF-8 when they need it");
	if (tag->isPrivate())
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "private attribute \"%s\" cannot be used in a query", key);
	if (tag->getEVR() == EVR_UNKNOWN || tag->getEVR() == EVR_UN)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "unknown DICOM attribute \"%s\" in query", key);
	return PGS_OK;
}

static int
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!std::isdigit((unsigned char) s[i]))
			return 0;
	return 1;
}

static int
valid_date(const char *s, size_t n)
{
	int			month,
				day;

	if (n != 8 || !all_digits(s, 8))
		return 0;
	month = (s[4] - '0') * 10 + (s[5] - '0');
	day = (s[6] - '0') * 10 + (s[7] - '0');
	return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

// HH, HHMM, HHMMSS, HHMMSS.F{1,6}
static int
valid_time(const char *s, size_t n)
{
	size_t		whole = n;
	const char *dot = (const char *) std::memchr(s, '.', n);

	if (dot)
	{
		size_t		frac = n - (size_t) (dot - s) - 1;

		whole = (size_t) (dot - s);
		if (whole != 6 || frac < 1 || frac > 6 || !all_digits(dot + 1, frac))
			return 0;
	}
	if (!(whole == 2 || whole == 4 || whole == 6) || !all_digits(s, whole))
		return 0;
	if ((s[0] - '0') * 10 + (s[1] - '0') > 23)
		return 0;
	if (whole >= 4 && (s[2] - '0') * 10 + (s[3] - '0') > 59)
		return 0;
	if (whole == 6 && (s[4] - '0') * 10 + (s[5] - '0') > 60)
		return 0;
	return 1;
}

// A single value or a range: "a", "a-", "-a", "a-b", each part valid by check().
static int
valid_range(const char *value, int (*check) (const char *, size_t))
{
	const char *dash = std::strchr(value, '-');
	size_t		len = std::strlen(value);

	if (dash == NULL)
		return check(value, len);
	if (std::strchr(dash + 1, '-') != NULL || len == 1)
		return 0;
	if (dash > value && !check(value, (size_t) (dash - value)))
		return 0;
	if (dash[1] != '\0' && !check(dash + 1, std::strlen(dash + 1)))
		return 0;
	return 1;
}

static int
valid_uid_list(const char *value)
{
	const char *p = value;

	while (1)
	{
		size_t		n = std::strcspn(p, "\\");

		if (n == 0 || n > PGS_UID_MAX || p[0] == '.' || p[n - 1] == '.')
			return 0;
		for (size_t i = 0; i < n; i++)
			if (!(std::isdigit((unsigned char) p[i]) || p[i] == '.'))
				return 0;
		if (p[n] == '\0')
			return 1;
		p += n + 1;
	}
}

// Per-value length limits of the string VRs (PS3.5 6.2), in characters.
static size_t
max_value_length(DcmEVR vr)
{
	switch (vr)
	{
		case EVR_AE:
		case EVR_CS:
		case EVR_SH:
		case EVR_DS:
			return 16;
		case EVR_AS:
			return 4;
		case EVR_IS:
			return 12;
		case EVR_LO:
		case EVR_PN:
			return 64 * 3 + 2;	// up to three component groups
		case EVR_ST:
			return 1024;
		case EVR_LT:
			return 10240;
		default:
			return 65536;
	}
}

static int
wildcards_allowed(DcmEVR vr)
{
	switch (vr)
	{
		case EVR_AE:
		case EVR_CS:
		case EVR_LO:
		case EVR_LT:
		case EVR_PN:
		case EVR_SH:
		case EVR_ST:
		case EVR_UC:
		case EVR_UR:
		case EVR_UT:
			return 1;
		default:
			return 0;
	}
}

// Check each backslash-separated value of a string VR.
static pgs_status
check_string_values(const char *key, DcmEVR vr, const char *vr_name, const char *value, pgs_error *err)
{
	const char *p = value;
	size_t		limit = max_value_length(vr);

	while (1)
	{
		size_t		n = std::strcspn(p, "\\");

		if (n > limit)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "value of %s is longer than %zu characters (VR %s)", key,
							limit, vr_name);
		for (size_t i = 0; i < n; i++)
		{
			unsigned char c = (unsigned char) p[i];
			int			text_control = (vr == EVR_LT || vr == EVR_ST || vr == EVR_UT) &&
				(c == '\r' || c == '\n' || c == '\t' || c == '\f');

			if (c < 0x20 && c != 0x1b && !text_control)
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "value of %s contains a control character", key);
			if (!wildcards_allowed(vr) && (c == '*' || c == '?'))
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s (VR %s) does not allow wildcards", key, vr_name);
			if (vr == EVR_CS && !(std::isupper(c) || std::isdigit(c) || c == ' ' || c == '_' || c == '*' || c == '?'))
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
								"value \"%s\" is not valid for %s (VR CS allows upper-case letters, digits, space and underscore)",
								value, key);
			if ((vr == EVR_IS || vr == EVR_DS) && !(std::isdigit(c) || c == '+' || c == '-' || c == '.' ||
												   c == 'e' || c == 'E' || c == ' '))
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "value \"%s\" is not a number, as %s (VR %s) needs",
								value, key, vr_name);
		}
		if (p[n] == '\0')
			return PGS_OK;
		p += n + 1;
	}
}

static int
needs_utf8(const char *value)
{
	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
		if (*p >= 0x80)
			return 1;
	return 0;
}

static pgs_status
check_value(const char *key, const DcmTag &tag, const char *value, pgs_error *err)
{
	DcmEVR		vr = tag.getEVR();
	const char *vr_name = tag.getVRName();

	switch (vr)
	{
		case EVR_SQ:
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
							"sequence %s can only be asked for (null), not matched", key);
		case EVR_OB:
		case EVR_OW:
		case EVR_OF:
		case EVR_OD:
		case EVR_OL:
		case EVR_OV:
		case EVR_UN:
		case EVR_ox:
		case EVR_px:
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s holds binary data and cannot be matched", key);
		case EVR_UI:
			if (!valid_uid_list(value))
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
								"%s must be a UID or a list of UIDs separated by backslashes, without wildcards", key);
			return PGS_OK;
		case EVR_DA:
			if (!valid_range(value, valid_date))
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
								"%s must be a date YYYYMMDD or a range YYYYMMDD-YYYYMMDD, -YYYYMMDD or YYYYMMDD-, not \"%s\"",
								key, value);
			return PGS_OK;
		case EVR_TM:
			if (!valid_range(value, valid_time))
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
								"%s must be a time HHMMSS (or HH, HHMM, HHMMSS.FFFFFF) or a range of them, not \"%s\"",
								key, value);
			return PGS_OK;
		case EVR_DT:
			for (const char *p = value; *p; p++)
				if (!(std::isdigit((unsigned char) *p) || *p == '.' || *p == '+' || *p == '-'))
					return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
									"%s must be a date-time YYYYMMDDHHMMSS (or a prefix) or a range of them, not \"%s\"",
									key, value);
			return std::strlen(value) <= 53 ? PGS_OK :
				pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "value of %s is too long for a date-time range", key);
		case EVR_AE:
		case EVR_AS:
		case EVR_CS:
		case EVR_DS:
		case EVR_IS:
		case EVR_LO:
		case EVR_LT:
		case EVR_PN:
		case EVR_SH:
		case EVR_ST:
		case EVR_UC:
		case EVR_UR:
		case EVR_UT:
			return check_string_values(key, vr, vr_name, value, err);
		case EVR_US:
		case EVR_SS:
		case EVR_UL:
		case EVR_SL:
		case EVR_FL:
		case EVR_FD:
			for (const char *p = value; *p; p++)
				if (!(std::isdigit((unsigned char) *p) || *p == '-' || *p == '+' || *p == '.' || *p == 'e' ||
					  *p == 'E' || *p == '\\'))
					return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "value \"%s\" is not a number, as %s (VR %s) needs",
									value, key, vr_name);
			return PGS_OK;
		default:
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s (VR %s) cannot be matched", key, vr_name);
	}
}

extern "C" pgs_status
pgs_net_query_add(pgs_net_query *q, const char *key, const char *value, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		DcmTag		tag;
		pgs_status	st = resolve_key(key, &tag, err);
		OFCondition cond;

		if (st != PGS_OK)
			return st;
		if (q->dataset.tagExists(tag))
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "attribute \"%s\" appears twice in the query", key);
		// An empty value is universal matching, the same as asking for the attribute back.
		if (value == NULL || *value == '\0')
		{
			cond = q->dataset.insertEmptyElement(tag);
			return cond.good() ? PGS_OK : pgs_net_fail_cond(err, cond, "could not add a query key");
		}
		st = check_value(key, tag, value, err);
		if (st != PGS_OK)
			return st;
		if (needs_utf8(value))
			q->dataset.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
		cond = q->dataset.putAndInsertString(tag, value);
		if (cond.bad())
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "value \"%s\" is not valid for %s: %s", value, key,
							cond.text());
		return PGS_OK;
	})
}

extern "C" int
pgs_net_query_has(const pgs_net_query *q, const char *key)
{
	try
	{
		DcmTag		tag;

		if (resolve_key(key, &tag, NULL) != PGS_OK)
			return -1;
		return const_cast<DcmDataset &>(q->dataset).tagExists(tag) ? 1 : 0;
	}
	catch (...)
	{
		return -1;
	}
}

static void
add_if_missing(DcmDataset &ds, const DcmTagKey &tag)
{
	if (!ds.tagExists(tag))
		ds.insertEmptyElement(tag);
}

extern "C" pgs_status
pgs_net_query_add_return_keys(pgs_net_query *q, pgs_qr_model model, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		DcmDataset &ds = q->dataset;

		switch (q->level)
		{
			case PGS_QR_PATIENT:
				add_if_missing(ds, DCM_PatientName);
				add_if_missing(ds, DCM_PatientID);
				add_if_missing(ds, DCM_PatientBirthDate);
				add_if_missing(ds, DCM_PatientSex);
				add_if_missing(ds, DCM_NumberOfPatientRelatedStudies);
				break;
			case PGS_QR_STUDY:
				add_if_missing(ds, DCM_StudyInstanceUID);
				add_if_missing(ds, DCM_StudyDate);
				add_if_missing(ds, DCM_StudyTime);
				add_if_missing(ds, DCM_AccessionNumber);
				add_if_missing(ds, DCM_StudyID);
				add_if_missing(ds, DCM_StudyDescription);
				add_if_missing(ds, DCM_ModalitiesInStudy);
				add_if_missing(ds, DCM_PatientName);
				add_if_missing(ds, DCM_PatientID);
				add_if_missing(ds, DCM_PatientBirthDate);
				add_if_missing(ds, DCM_PatientSex);
				add_if_missing(ds, DCM_NumberOfStudyRelatedSeries);
				add_if_missing(ds, DCM_NumberOfStudyRelatedInstances);
				break;
			case PGS_QR_SERIES:
				add_if_missing(ds, DCM_StudyInstanceUID);
				add_if_missing(ds, DCM_SeriesInstanceUID);
				add_if_missing(ds, DCM_Modality);
				add_if_missing(ds, DCM_SeriesNumber);
				add_if_missing(ds, DCM_SeriesDescription);
				add_if_missing(ds, DCM_SeriesDate);
				add_if_missing(ds, DCM_BodyPartExamined);
				add_if_missing(ds, DCM_NumberOfSeriesRelatedInstances);
				if (model == PGS_QR_MODEL_PATIENT)
					add_if_missing(ds, DCM_PatientID);
				break;
			case PGS_QR_IMAGE:
				add_if_missing(ds, DCM_StudyInstanceUID);
				add_if_missing(ds, DCM_SeriesInstanceUID);
				add_if_missing(ds, DCM_SOPInstanceUID);
				add_if_missing(ds, DCM_SOPClassUID);
				add_if_missing(ds, DCM_InstanceNumber);
				if (model == PGS_QR_MODEL_PATIENT)
					add_if_missing(ds, DCM_PatientID);
				break;
		}
		return PGS_OK;
	})
}
