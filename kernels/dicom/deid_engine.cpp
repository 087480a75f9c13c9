/* The de-identification engine: Table E.1-1 actions and the options, applied at every depth of a data set. */
#include "deid_engine.h"
#include "hmac_sha256.h"
#include "pseudonym.h"
#include "../common/cancel.h"

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

namespace deid
{

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

}								/* namespace */

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

static bool
is_text_vr(DcmEVR vr)
{
	return vr == EVR_LT || vr == EVR_ST || vr == EVR_UT || vr == EVR_UC;
}

static bool
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

static bool
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

static Action
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

pgs_status
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
	std::sort(tokens_.begin(), tokens_.end());
	tokens_.erase(std::unique(tokens_.begin(), tokens_.end()), tokens_.end());
	return token_matcher_.build(tokens_, err_);
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

/* Every occurrence of an identifying token, in any letter case, becomes asterisks. */
pgs_status
Deidentifier::clean_text(std::string &text) const
{
	std::string upper = text;

	for (char &c : upper)
		c = char(toupper(static_cast<unsigned char>(c)));
	return token_matcher_.mask(upper, text, '*', err_);
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
				{
					pgs_status	st = clean_text(v);

					if (st != PGS_OK)
						return st;
				}
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

		if ((st = pgs_cancel_point(err_)) != PGS_OK)
			return st;
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

}								/* namespace deid */
