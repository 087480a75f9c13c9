/* De-identification to DICOM PS3.15 2023b Annex E: the Basic Profile and its options, applied recursively. */
#include "dicom_internal.h"
#include "hmac_sha256.h"
#include "pseudonym.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include <dcmtk/dcmdata/dcostrmb.h>

/*
 * Decisions the standard leaves to the de-identifier (documented in README "De-identification"):
 *  - Combined codes (X/Z, X/D, X/Z/D, Z/D) use the attribute's type where a small built-in list knows it
 *    for every IOD that has it (Type 3 -> X, Type 2 -> Z) and otherwise the last code: one attribute can be
 *    Type 3 in one IOD and Type 1 in another (Device Serial Number, Referenced Performed Procedure Step
 *    Sequence), and the last code never leaves a required attribute missing nor keeps an identifying value.
 *    X/Z/U* keeps the sequence with every UID inside replaced consistently (references stay valid).
 *  - Options: an enabled option's K beats its C, which beats the Basic Profile action.
 *  - Attributes the table does not list: person names get a dummy, free text (LT, ST, UT, UC) a dummy or,
 *    with a clean option, is scrubbed of the identifying values found in the object; dates get a dummy
 *    unless dates are retained or shifted; UIDs that are not well-known DICOM UIDs are replaced like U;
 *    everything else is kept. Group lengths are dropped. Overlay (60xx) and curve (50xx) groups are removed
 *    whole, since an overlay whose data is gone is not a valid overlay.
 *  - Private attributes are removed; with retain_safe_private only those of Table E.3.10-1 stay, with their
 *    private creator. Private sequences are always removed: binary private blobs are never edited inside.
 *  - Patient ID and Patient's Name (Z) get the keyed patient pseudonym, a dummy the Z code allows.
 */

namespace
{

const char *const DUMMY_TEXT = "ANONYMIZED";
const char *const DUMMY_DATE = "19000101";

/* Built-in IOD types for combined codes: enough for the common image IODs (General/DX/MG/CT/MR/SC). */
struct TypeHint
{
	uint32_t	tag;
	int			type;
};

const TypeHint type_hints[] = {
	{0x00080012, 3}, {0x00080013, 3},	/* Instance Creation Date/Time: SOP Common */
	{0x00080021, 3}, {0x00080031, 3},	/* Series Date/Time: General Series */
	{0x00080022, 3}, {0x00080032, 3},	/* Acquisition Date/Time: General Image, General Acquisition */
	{0x00180010, 2},			/* Contrast/Bolus Agent: Contrast/Bolus */
	{0x00102203, 2},			/* Patient's Sex Neutered: Patient (2C) */
};

int
known_type(uint32_t tag)
{
	for (const TypeHint &hint : type_hints)
		if (hint.tag == tag)
			return hint.type;
	return 0;
}

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

std::string
upper_trim(std::string s)
{
	while (!s.empty() && (s.back() == ' ' || s.back() == '\0'))
		s.pop_back();
	size_t		start = s.find_first_not_of(' ');

	s = start == std::string::npos ? "" : s.substr(start);
	for (char &c : s)
		c = char(toupper(static_cast<unsigned char>(c)));
	return s;
}

bool
is_text_vr(DcmEVR vr)
{
	return vr == EVR_LT || vr == EVR_ST || vr == EVR_UT || vr == EVR_UC;
}

bool
is_string_vr(DcmEVR vr)
{
	switch (vr)
	{
		case EVR_AE: case EVR_AS: case EVR_CS: case EVR_DA: case EVR_DS: case EVR_DT: case EVR_IS:
		case EVR_LO: case EVR_LT: case EVR_PN: case EVR_SH: case EVR_ST: case EVR_TM: case EVR_UI:
		case EVR_UT: case EVR_UC: case EVR_UR:
			return true;
		default:
			return false;
	}
}

/* A registered DICOM UID (SOP class, transfer syntax, ...): all of them live under 1.2.840.10008. */
bool
well_known_uid(const std::string &uid)
{
	return uid.compare(0, 14, "1.2.840.10008.") == 0 && dcmFindNameOfUID(uid.c_str(), NULL) != NULL;
}

bool
only_well_known_uids(DcmElement *elem)
{
	OFString	value;

	if (elem->getOFStringArray(value).bad())
		return false;
	std::string v(value.c_str(), value.length());
	size_t		start = 0;

	for (;;)
	{
		size_t		end = v.find('\\', start);
		std::string uid = v.substr(start, end == std::string::npos ? std::string::npos : end - start);

		while (!uid.empty() && (uid.back() == ' ' || uid.back() == '\0'))
			uid.pop_back();
		if (!uid.empty() && !well_known_uid(uid))
			return false;
		if (end == std::string::npos)
			return true;
		start = end + 1;
	}
}

/* What happens to one element. */
enum class Action
{
	Keep, Remove, Empty, Dummy, Uid, Clean
};

const char *
action_code(Action a)
{
	switch (a)
	{
		case Action::Keep: return "K";
		case Action::Remove: return "X";
		case Action::Empty: return "Z";
		case Action::Dummy: return "D";
		case Action::Uid: return "U";
		case Action::Clean: return "C";
	}
	return "?";
}

Action
from_code(char code)
{
	switch (code)
	{
		case 'X': return Action::Remove;
		case 'Z': return Action::Empty;
		case 'D': return Action::Dummy;
		case 'U': return Action::Uid;
		case 'C': return Action::Clean;
		default: return Action::Keep;
	}
}

struct Change
{
	uint32_t	tag;
	std::string keyword;
	std::string vr;
	std::string path;
	std::string action;
	std::string preview;
};

class Deidentifier
{
public:
	Deidentifier(const pgs_deid_options &opts, pgs_error *err) : opts_(opts), err_(err)
	{
		enabled_[COL_SAFE_PRIVATE] = opts.retain_safe_private;
		enabled_[COL_UIDS] = opts.retain_uids;
		enabled_[COL_DEVICE] = opts.retain_device_identity;
		enabled_[COL_INSTITUTION] = opts.retain_institution_identity;
		enabled_[COL_PATIENT_CHARACTERISTICS] = opts.retain_patient_characteristics;
		enabled_[COL_FULL_DATES] = opts.longitudinal == PGS_DEID_DATES_FULL;
		enabled_[COL_MODIFIED_DATES] = opts.longitudinal == PGS_DEID_DATES_MODIFIED;
		enabled_[COL_CLEAN_DESCRIPTORS] = opts.clean_descriptors;
		enabled_[COL_CLEAN_STRUCTURED] = opts.clean_structured_content;
		enabled_[COL_CLEAN_GRAPHICS] = opts.clean_graphics;
	}

	std::vector<Change> *report = nullptr;
	std::map<std::string, std::string> uid_map;	/* original -> new, filled as UIDs are replaced */
	std::string patient_basis;
	std::string patient_pseudonym;
	int			date_offset_days = 0;

	/* Identity of the patient, pseudonym and date offset; identifying tokens for scrubbing free text. */
	void		prepare(DcmDataset *ds, const std::string &fallback_basis);

	pgs_status	process_item(DcmItem *item, const std::string &path, int depth);

	std::string map_uid(const std::string &uid);

private:
	const pgs_deid_options &opts_;
	pgs_error  *err_;
	bool		enabled_[10] = {false};
	std::vector<std::string> tokens_;

	Action		decide(DcmElement *elem, const DcmTag &tag, const pgs_deid_rule **rule_out) const;
	pgs_status	apply(DcmItem *item, DcmElement *elem, Action action, const std::string &path, int depth,
					  bool *removed);
	void		record(DcmElement *elem, const std::string &path, const std::string &action);
	std::string dummy_for(DcmElement *elem) const;
	std::string clean_text(const std::string &text) const;
	std::string shift_dates(const std::string &value, DcmEVR vr) const;
	void		collect_tokens(DcmItem *item, int depth);
	bool		kept_by_option(const DcmTag &tag) const;
};

bool
Deidentifier::kept_by_option(const DcmTag &tag) const
{
	uint32_t	t = uint32_t(tag.getGroup()) << 16 | tag.getElement();

	for (int i = 0; i < opts_.n_keep; i++)
		if (opts_.keep[i] == t)
			return true;
	return false;
}

void
Deidentifier::collect_tokens(DcmItem *item, int depth)
{
	static const DcmTagKey identifying[] = {
		DCM_PatientID, DCM_RETIRED_OtherPatientIDs, DCM_IssuerOfPatientID, DCM_PatientBirthDate, DCM_AccessionNumber,
		DCM_InstitutionName, DCM_InstitutionAddress, DCM_StudyID, DCM_PatientAddress, DCM_PatientTelephoneNumbers,
		DCM_RETIRED_MedicalRecordLocator, DCM_StationName, DCM_DeviceSerialNumber, DCM_InstitutionalDepartmentName
	};

	if (depth > PGS_DICOM_MAX_DEPTH)
		return;
	for (DcmObject *o = item->nextInContainer(NULL); o != NULL; o = item->nextInContainer(o))
	{
		DcmElement *elem = static_cast<DcmElement *>(o);
		DcmEVR		vr = elem->ident();

		if (vr == EVR_SQ)
		{
			DcmSequenceOfItems *sq = static_cast<DcmSequenceOfItems *>(elem);

			for (DcmObject *it = sq->nextInContainer(NULL); it != NULL; it = sq->nextInContainer(it))
				collect_tokens(static_cast<DcmItem *>(it), depth + 1);
			continue;
		}
		if ((vr == EVR_DA || vr == EVR_DT) && opts_.longitudinal != PGS_DEID_DATES_FULL && !elem->getTag().isPrivate())
		{
			/* Dates are identifying unless kept: blank them in free text too, in the usual spellings. */
			OFString	value;

			if (elem->getOFStringArray(value).good())
				for (size_t at = 0; at + 8 <= value.length(); at += 9)
				{
					std::string d(value.c_str() + at, 8);

					if (d.find_first_not_of("0123456789") != std::string::npos)
						break;
					std::string y = d.substr(0, 4), m = d.substr(4, 2), dd = d.substr(6, 2);

					for (const std::string &spelling : {d, y + "-" + m + "-" + dd, dd + "." + m + "." + y,
							dd + "/" + m + "/" + y, m + "/" + dd + "/" + y, y + "/" + m + "/" + dd})
						tokens_.push_back(spelling);
					if (vr == EVR_DT)
						break;
				}
			continue;
		}
		bool		wanted = vr == EVR_PN;

		for (const DcmTagKey &key : identifying)
			wanted = wanted || elem->getTag() == key;
		if (!wanted || elem->getTag().isPrivate())
			continue;
		OFString	value;

		if (elem->getOFStringArray(value).bad())
			continue;
		std::string v(value.c_str(), value.length());

		/* Names split into their components; every value split at backslashes. */
		for (char &c : v)
			if (c == '^' || c == '=' || c == '\\')
				c = '\n';
		size_t		start = 0;

		while (start <= v.size())
		{
			size_t		end = v.find('\n', start);
			std::string part = upper_trim(v.substr(start, end == std::string::npos ? std::string::npos : end - start));

			if (part.size() >= 3)
				tokens_.push_back(part);
			if (end == std::string::npos)
				break;
			start = end + 1;
		}
	}
}

void
Deidentifier::prepare(DcmDataset *ds, const std::string &fallback_basis)
{
	std::string id = upper_trim(dicom_string(ds, DCM_PatientID));
	std::string issuer = upper_trim(dicom_string(ds, DCM_IssuerOfPatientID));
	std::string name = upper_trim(dicom_string(ds, DCM_PatientName));
	std::string birth = upper_trim(dicom_string(ds, DCM_PatientBirthDate));

	if (!id.empty())
		patient_basis = "id:" + issuer + "|" + id;
	else if (!name.empty())
		patient_basis = "name:" + name + "|" + birth;
	else
		patient_basis = "instance:" + fallback_basis;
	patient_pseudonym = pgs_pseudonym_patient(opts_.key, opts_.key_len, patient_basis);
	date_offset_days = pgs_pseudonym_date_offset(opts_.key, opts_.key_len, patient_basis);
	collect_tokens(ds, 0);
	std::sort(tokens_.begin(), tokens_.end(), [](const std::string &a, const std::string &b) { return a.size() > b.size(); });
	tokens_.erase(std::unique(tokens_.begin(), tokens_.end()), tokens_.end());
}

std::string
Deidentifier::map_uid(const std::string &raw)
{
	std::string uid = raw;

	while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' '))
		uid.pop_back();
	if (uid.empty() || well_known_uid(uid))
		return uid;				/* well-known DICOM UIDs (SOP classes, transfer syntaxes, ...) identify nobody */
	auto		it = uid_map.find(uid);

	if (it != uid_map.end())
		return it->second;
	std::string mapped = pgs_pseudonym_uid(opts_.key, opts_.key_len, uid);

	uid_map.emplace(uid, mapped);
	return mapped;
}

Action
Deidentifier::decide(DcmElement *elem, const DcmTag &tag, const pgs_deid_rule **rule_out) const
{
	uint16_t	group = tag.getGroup(),
				element = tag.getElement();
	uint32_t	t = uint32_t(group) << 16 | element;
	DcmEVR		vr = elem->ident();

	*rule_out = NULL;
	if (element == 0x0000)
		return Action::Remove;	/* group lengths: stale once values change, retired outside the meta */
	if ((group & 0xFF01) == 0x6000 || (group & 0xFF01) == 0x5000)
	{
		*rule_out = deid_find_rule(group, element);
		return Action::Remove;	/* overlays and curves go whole */
	}
	if (kept_by_option(tag))
		return Action::Keep;

	const pgs_deid_rule *rule = deid_find_rule(group, element);

	*rule_out = rule;
	if (rule == NULL)
	{
		bool		clean = opts_.clean_descriptors || opts_.clean_structured_content;

		if (vr == EVR_PN)
			return Action::Dummy;
		if (is_text_vr(vr))
			return clean ? Action::Clean : Action::Dummy;
		if (vr == EVR_DA || vr == EVR_DT)
			return opts_.longitudinal == PGS_DEID_DATES_FULL ? Action::Keep
				: opts_.longitudinal == PGS_DEID_DATES_MODIFIED ? Action::Clean : Action::Dummy;
		if (vr == EVR_UI)
			return opts_.retain_uids ? Action::Keep : Action::Uid;
		return Action::Keep;
	}

	bool		any_keep = false,
				any_clean = false;

	for (int c = 0; c < 10; c++)
		if (enabled_[c] && rule->option[c][0] != '\0')
		{
			any_keep = any_keep || rule->option[c][0] == 'K';
			any_clean = any_clean || rule->option[c][0] == 'C';
		}
	if (any_keep)
		return Action::Keep;
	if (any_clean)
		return Action::Clean;

	std::string basic = rule->basic;

	if (basic.size() == 1)
		return from_code(basic[0]);
	if (basic == "X/Z/U*")
		return Action::Uid;		/* keep the sequence, replace the UIDs inside (processed recursively) */

	int			type = known_type(t);

	if (type == 3 && basic[0] == 'X')
		return Action::Remove;
	if (type == 2 && basic.find('Z') != std::string::npos)
		return Action::Empty;
	if (type == 1 && basic.find('D') != std::string::npos)
		return Action::Dummy;
	return from_code(basic.back());
}

std::string
Deidentifier::dummy_for(DcmElement *elem) const
{
	const DcmTagKey &key = elem->getTag();

	if (key == DCM_PatientID || key == DCM_PatientName)
		return patient_pseudonym;
	switch (elem->ident())
	{
		case EVR_PN:
			return "ANONYMOUS";
		case EVR_DA:
			return DUMMY_DATE;
		case EVR_TM:
			return "000000";
		case EVR_DT:
			return std::string(DUMMY_DATE) + "000000";
		case EVR_AS:
			return "000Y";
		case EVR_DS:
		case EVR_IS:
			return "0";
		case EVR_UR:
			return "";
		default:
			return DUMMY_TEXT;
	}
}

std::string
Deidentifier::clean_text(const std::string &text) const
{
	std::string upper = text;

	for (char &c : upper)
		c = char(toupper(static_cast<unsigned char>(c)));
	std::string out = text;

	for (const std::string &token : tokens_)
	{
		size_t		at = 0;

		while ((at = upper.find(token, at)) != std::string::npos)
		{
			for (size_t k = 0; k < token.size(); k++)
				out[at + k] = upper[at + k] = '*';
			at += token.size();
		}
	}
	return out;
}

std::string
Deidentifier::shift_dates(const std::string &value, DcmEVR vr) const
{
	std::string out;
	size_t		start = 0;

	/* Values are separated by backslashes; DA ranges by hyphens (a DT hyphen is a time zone). */
	while (true)
	{
		size_t		end = value.find('\\', start);
		std::string v = value.substr(start, end == std::string::npos ? std::string::npos : end - start);
		std::string shifted;

		if (vr == EVR_DA)
		{
			size_t		dash = v.find('-');

			if (dash == std::string::npos)
				shifted = pgs_pseudonym_shift_date(v, date_offset_days);
			else
				shifted = pgs_pseudonym_shift_date(v.substr(0, dash), date_offset_days) + "-" +
					pgs_pseudonym_shift_date(v.substr(dash + 1), date_offset_days);
		}
		else
			shifted = v.size() >= 8 ? pgs_pseudonym_shift_date(v.substr(0, 8), date_offset_days) + v.substr(8) : v;
		out += shifted;
		if (end == std::string::npos)
			break;
		out += '\\';
		start = end + 1;
	}
	return out;
}

void
Deidentifier::record(DcmElement *elem, const std::string &path, const std::string &action)
{
	if (report == nullptr)
		return;
	Change		c;
	const DcmTag &tag = elem->getTag();

	c.tag = uint32_t(tag.getGroup()) << 16 | tag.getElement();
	c.keyword = dicom_keyword(tag);
	c.vr = DcmVR(elem->ident()).getValidVRName();
	c.path = path;
	c.action = action;
	if (is_string_vr(elem->ident()))
	{
		OFString	value;

		if (elem->getOFStringArray(value).good())
		{
			std::string v(value.c_str(), value.length());

			c.preview = dicom_valid_utf8(v.size() > 24 ? v.substr(0, 24) + "..." : v);
		}
	}
	else if (elem->ident() == EVR_SQ)
		c.preview = std::to_string(static_cast<DcmSequenceOfItems *>(elem)->card()) + " item(s)";
	else
		c.preview = std::to_string(elem->getLength()) + " bytes";
	report->push_back(c);
}

pgs_status
Deidentifier::apply(DcmItem *item, DcmElement *elem, Action action, const std::string &path, int depth,
					bool *removed)
{
	DcmEVR		vr = elem->ident();

	*removed = false;
	if (vr == EVR_SQ)
	{
		DcmSequenceOfItems *sq = static_cast<DcmSequenceOfItems *>(elem);

		if (action == Action::Remove)
		{
			delete DcmItemList::of(item)->remove();
			*removed = true;
			return PGS_OK;
		}
		if (action == Action::Empty)
		{
			while (sq->card() > 0)
				delete sq->remove(0UL);
			return PGS_OK;
		}
		/* K, D, U, C: keep the structure, de-identify every item recursively. */
		unsigned long k = 0;

		for (DcmObject *it = sq->nextInContainer(NULL); it != NULL; it = sq->nextInContainer(it), k++)
		{
			pgs_status	st = process_item(static_cast<DcmItem *>(it),
										  report != nullptr ? path + "[" + std::to_string(k) + "]/" : path, depth + 1);

			if (st != PGS_OK)
				return st;
		}
		return PGS_OK;
	}

	OFCondition cond = EC_Normal;

	switch (action)
	{
		case Action::Keep:
			return PGS_OK;
		case Action::Remove:
			delete DcmItemList::of(item)->remove();	/* the cursor is on elem (process_item) */
			*removed = true;
			return PGS_OK;
		case Action::Empty:
			if (elem->getTag() == DCM_PatientID || elem->getTag() == DCM_PatientName)
				cond = elem->putString(patient_pseudonym.c_str());
			else
				cond = elem->putString(NULL);
			if (cond.bad())
				cond = elem->clear();
			break;
		case Action::Dummy:
			if (is_string_vr(vr))
				cond = elem->putString(dummy_for(elem).c_str());
			else
				cond = elem->clear();
			break;
		case Action::Uid:
			{
				if (vr != EVR_UI)
				{
					cond = elem->clear();
					break;
				}
				OFString	value;
				std::string out;

				elem->getOFStringArray(value);
				std::string v(value.c_str(), value.length());
				size_t		start = 0;

				while (true)
				{
					size_t		end = v.find('\\', start);

					out += map_uid(v.substr(start, end == std::string::npos ? std::string::npos : end - start));
					if (end == std::string::npos)
						break;
					out += '\\';
					start = end + 1;
				}
				cond = elem->putString(out.c_str());
				break;
			}
		case Action::Clean:
			{
				if (!is_string_vr(vr))
				{
					cond = elem->clear();
					break;
				}
				OFString	value;

				elem->getOFStringArray(value);
				std::string v(value.c_str(), value.length());

				if (vr == EVR_DA || vr == EVR_DT)
					v = opts_.longitudinal == PGS_DEID_DATES_MODIFIED ? shift_dates(v, vr) : DUMMY_DATE;
				else if (vr == EVR_TM)
					break;		/* times of day stay: only dates carry the patient's calendar */
				else if (vr == EVR_UI)
					break;		/* no option column cleans a UID: C never reaches one */
				else if (vr == EVR_PN)
					v = dummy_for(elem);
				else
					v = clean_text(v);
				cond = elem->putString(v.c_str());
				break;
			}
	}
	if (cond.bad())
		return pgs_fail(err_, PGS_ERR_INTERNAL, "could not change element %s: %s",
						dicom_tag_text(elem->getTag()).c_str(), cond.text());
	return PGS_OK;
}

pgs_status
Deidentifier::process_item(DcmItem *item, const std::string &path, int depth)
{
	if (depth > PGS_DICOM_MAX_DEPTH)
		return pgs_fail(err_, PGS_ERR_LIMIT, "DICOM sequences are nested deeper than %d levels", PGS_DICOM_MAX_DEPTH);

	/*
	 * dcmtk keeps elements in a linked list, where getElement(i) walks from the start: take a snapshot of
	 * the pointers once (and the private creators with it), so one item costs O(n), not O(n²).
	 */
	std::vector<DcmElement *> elements;
	std::map<uint32_t, std::string> creators;	/* (group << 16 | block) -> private creator */

	elements.reserve(item->card());
	for (DcmObject *o = item->nextInContainer(NULL); o != NULL; o = item->nextInContainer(o))
	{
		DcmElement *elem = static_cast<DcmElement *>(o);
		const DcmTag &tag = elem->getTag();

		elements.push_back(elem);
		if (opts_.retain_safe_private && tag.isPrivateReservation())
		{
			OFString	creator;

			elem->getOFString(creator, 0);
			std::string c(creator.c_str());

			while (!c.empty() && c.back() == ' ')
				c.pop_back();
			creators[uint32_t(tag.getGroup()) << 16 | tag.getElement()] = c;
		}
	}

	/* Private blocks that keep at least one element keep their creator. */
	std::set<uint32_t> creators_in_use;
	auto		safe_private = [&](DcmElement *elem) {
		const DcmTag &tag = elem->getTag();
		uint16_t	g = tag.getGroup(),
					e = tag.getElement();

		if (!tag.isPrivate() || e < 0x1000 || elem->ident() == EVR_SQ)
			return false;
		auto		it = creators.find(uint32_t(g) << 16 | (e >> 8));

		return it != creators.end() && deid_is_safe_private(g, uint8_t(e & 0xFF), it->second);
	};

	if (opts_.retain_safe_private)
		for (DcmElement *elem : elements)
			if (safe_private(elem))
				creators_in_use.insert(uint32_t(elem->getTag().getGroup()) << 16 | (elem->getTag().getElement() >> 8));

	/* The list's cursor follows the snapshot, so a removal unlinks the current node in O(1). */
	DcmList    *list = DcmItemList::of(item);

	list->seek(ELP_first);
	for (DcmElement *elem : elements)
	{
		const DcmTag &tag = elem->getTag();
		uint16_t	g = tag.getGroup(),
					e = tag.getElement();
		bool		removed = false;
		pgs_status	st;

		if (list->get() != elem)
		{
			/* Something moved the cursor: find the element again (never expected, kept correct anyway). */
			list->seek(ELP_first);
			while (list->get() != NULL && list->get() != elem)
				list->seek(ELP_next);
		}

		if (g == 0x0002 && depth == 0)
		{
			list->seek(ELP_next);
			continue;			/* file meta in a data set is dropped when the new meta is written */
		}
		/* Paths are text only a report or a sequence needs. */
		std::string here = report != nullptr || elem->ident() == EVR_SQ ? path + dicom_tag_text(tag) : std::string();

		if (tag.isPrivate() || g == 0x0001 || g == 0x0003 || g == 0x0005 || g == 0x0007 || g == 0xFFFF)
		{
			bool		keep = false;

			if (opts_.retain_safe_private && tag.isPrivate())
				keep = tag.isPrivateReservation() ? creators_in_use.count(uint32_t(g) << 16 | e) > 0 : safe_private(elem);
			if (keep)
			{
				record(elem, here, "K");
				list->seek(ELP_next);
				continue;
			}
			record(elem, here, "X");
			delete list->remove();
			continue;
		}

		const pgs_deid_rule *rule = NULL;
		Action		action = decide(elem, tag, &rule);

		if (action == Action::Uid && elem->ident() == EVR_UI && only_well_known_uids(elem))
			action = Action::Keep;	/* SOP classes, transfer syntaxes, coding schemes: nothing to hide */

		if (action != Action::Keep || (rule != NULL && rule->basic[0] != 'K' && elem->ident() != EVR_SQ))
			record(elem, here, action_code(action));
		st = apply(item, elem, action, here, depth, &removed);
		if (st != PGS_OK)
			return st;
		if (!removed)
			list->seek(ELP_next);
	}
	return PGS_OK;
}

/* ---------------------------------------------------------------------------------------------------- */

std::string
reason_for(DcmDataset *ds, const DicomLayout &layout, const pgs_deid_options &opts, const std::string &meta_class,
		   bool *reject)
{
	std::string modality = upper_trim(dicom_string(ds, DCM_Modality));
	std::string series = upper_trim(dicom_string(ds, DCM_SeriesDescription));
	std::string protocol = upper_trim(dicom_string(ds, DCM_ProtocolName));
	std::string burned = upper_trim(dicom_string(ds, DCM_BurnedInAnnotation));
	std::string sop_class = dicom_string(ds, DCM_SOPClassUID);

	*reject = false;
	if (meta_class == UID_MediaStorageDirectoryStorage || sop_class == UID_MediaStorageDirectoryStorage)
		return "a DICOMDIR (Media Storage Directory) is an index, not an instance: de-identify the files it lists";
	if (opts.n_modalities > 0)
	{
		bool		allowed = false;
		std::string list;

		for (int k = 0; k < opts.n_modalities; k++)
		{
			allowed = allowed || modality == opts.modalities[k];
			list += std::string(k ? ", " : "") + opts.modalities[k];
		}
		if (!allowed)
			return "modality \"" + modality + "\" is not in the allowed modalities (" + list + ")";
	}
	if (opts.quarantine_patient_protocol &&
		(series.find("PATIENT PROTOCOL") != std::string::npos || protocol.find("PATIENT PROTOCOL") != std::string::npos))
		return "series \"Patient Protocol\": a protocol or dose screen that shows identity in its pixels";
	/*
	 * A (retired) overlay kept in the unused high bits of Pixel Data survives when the 60xx group is
	 * removed, and the pixels are never edited: such objects are quarantined unless burned-in content is
	 * explicitly allowed.
	 */
	for (Uint16 group = 0x6000; group <= 0x601E && opts.burned_in != PGS_DEID_BURNED_IN_ALLOW; group += 2)
	{
		Uint16		overlay_bits = 0;

		if (ds->findAndGetUint16(DcmTagKey(group, 0x0100), overlay_bits).good() && overlay_bits > 1 &&
			!(layout.overlay_data_groups & (1u << ((group & 0xFF) / 2))))
		{
			char		text[96];

			snprintf(text, sizeof(text), "overlay %04X is embedded in the unused bits of Pixel Data", group);
			return text;
		}
	}
	if (burned == "YES")
	{
		switch (opts.burned_in)
		{
			case PGS_DEID_BURNED_IN_ALLOW:
				break;
			case PGS_DEID_BURNED_IN_CLEAN:
				if (modality != "MG")
					return "Burned In Annotation is YES and pixels can be cleaned only in mammograms (modality is \"" +
						modality + "\")";
				break;
			case PGS_DEID_BURNED_IN_REJECT:
				*reject = true;
				/* fall through */
			case PGS_DEID_BURNED_IN_QUARANTINE:
				return "Burned In Annotation is YES";
		}
	}
	if (opts.clean_pixels && modality != "MG")
		return "pixels can be cleaned only in mammograms (modality is \"" + modality + "\")";
	return "";
}

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
	s.reason = reason_for(s.file->getDataset(), s.layout, opts, s.meta_class, &s.reject);
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
		deid.prepare(ds, sop_instance.empty() ? content_basis(data, len) : sop_instance);
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
		if (s.pixels_loaded)
			return dicom_write_part10(ds, xfer, sop_class, new_instance, NULL, allocator, out, out_len, err);
		return dicom_write_part10(ds, xfer, sop_class, new_instance, NULL, allocator, out, out_len, err,
								  data + s.layout.pixel_start, s.layout.pixel_end - s.layout.pixel_start);
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
		std::vector<Change> report;
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
		deid.prepare(ds, dicom_string(ds, DCM_SOPInstanceUID));
		if ((st = deid.process_item(ds, "", 0)) != PGS_OK)
			return st;
		if (report.empty())
			return PGS_OK;
		pgs_deid_change *rows = static_cast<pgs_deid_change *>(pgs_alloc(allocator, sizeof(pgs_deid_change) * report.size()));

		if (rows == NULL)
			return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the report");
		for (size_t i = 0; i < report.size(); i++)
		{
			const Change &c = report[i];

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

		deid.prepare(ds, sop_instance);
		if ((st = deid.process_item(ds, "", 0)) != PGS_OK)
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
