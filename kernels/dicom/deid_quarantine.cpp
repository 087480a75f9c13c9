/* Quarantine: why an object would not be de-identified (modality, burned-in content, DICOMDIR, ...). */
#include "deid_engine.h"

#include <cstdio>

namespace deid
{

std::string
quarantine_reason(DcmDataset *ds, const DicomLayout &layout, const pgs_deid_options &opts,
				  const std::string &meta_class, bool *reject)
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

}								/* namespace deid */
