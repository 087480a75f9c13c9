/* The de-identification engine shared by kernels/dicom's de-identification files (C++ internal header). */
#ifndef PGS_DEID_ENGINE_H
#define PGS_DEID_ENGINE_H

#include "dicom_internal.h"
#include "token_matcher.h"

#include <map>
#include <string>
#include <vector>

namespace deid
{

/* What happens to one element: the action codes of Table E.1-1, resolved. */
enum class Action
{
	Keep, Remove, Empty, Dummy, Uid, Clean
};

const char *action_code(Action a);

/* Upper case, trailing spaces and NULs gone. */
std::string upper_trim(std::string s);

/* A registered DICOM UID (SOP class, transfer syntax, ...): all of them live under 1.2.840.10008. */
bool		well_known_uid(const std::string &uid);

struct Change
{
	uint32_t	tag;
	std::string keyword;
	std::string vr;
	std::string path;
	std::string action;
	std::string preview;
};

/* Applies the profile to a data set in place, recursively; with report set, records every change. */
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
	pgs_status	prepare(DcmDataset *ds, const std::string &fallback_basis);

	pgs_status	process_item(DcmItem *item, const std::string &path, int depth);

	std::string map_uid(const std::string &uid);

private:
	const pgs_deid_options &opts_;
	pgs_error  *err_;
	bool		enabled_[10] = {false};
	std::vector<std::string> tokens_;
	TokenMatcher token_matcher_;

	Action		decide(DcmElement *elem, const DcmTag &tag, const pgs_deid_rule **rule_out) const;
	pgs_status	apply(DcmItem *item, DcmElement *elem, Action action, const std::string &path, int depth,
					  bool *removed);
	void		record(DcmElement *elem, const std::string &path, const std::string &action);
	std::string dummy_for(DcmElement *elem) const;
	pgs_status	clean_text(std::string &text) const;
	std::string shift_dates(const std::string &value, DcmEVR vr) const;
	void		collect_tokens(DcmItem *item, int depth);
	bool		kept_by_option(const DcmTag &tag) const;
};

/* Why the object would be quarantined ("" when it would not); *reject when the policy is to fail instead. */
std::string quarantine_reason(DcmDataset *ds, const DicomLayout &layout, const pgs_deid_options &opts,
							  const std::string &meta_class, bool *reject);

}								/* namespace deid */

#endif
