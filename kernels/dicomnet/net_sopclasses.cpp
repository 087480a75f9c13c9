// The storage SOP classes of images pgscreen negotiates by default, and the transfer syntaxes it stores.
#include "net_internal.h"

#include "dcmtk/dcmdata/dcuid.h"

#include <cstring>

// Screening modalities first (MG, DX, CR, ophthalmic photography), then what a PACS commonly holds beside
// them. 28 classes: a C-GET association proposes three contexts each, within the limit of 128.
const char *const pgs_net_image_sop_classes[] = {
	UID_DigitalMammographyXRayImageStorageForPresentation,
	UID_DigitalMammographyXRayImageStorageForProcessing,
	UID_BreastTomosynthesisImageStorage,
	UID_BreastProjectionXRayImageStorageForPresentation,
	UID_BreastProjectionXRayImageStorageForProcessing,
	UID_DigitalXRayImageStorageForPresentation,
	UID_DigitalXRayImageStorageForProcessing,
	UID_DigitalIntraOralXRayImageStorageForPresentation,
	UID_ComputedRadiographyImageStorage,
	UID_OphthalmicPhotography8BitImageStorage,
	UID_OphthalmicPhotography16BitImageStorage,
	UID_OphthalmicTomographyImageStorage,
	UID_WideFieldOphthalmicPhotographyStereographicProjectionImageStorage,
	UID_VLPhotographicImageStorage,
	UID_CTImageStorage,
	UID_EnhancedCTImageStorage,
	UID_MRImageStorage,
	UID_EnhancedMRImageStorage,
	UID_UltrasoundImageStorage,
	UID_UltrasoundMultiframeImageStorage,
	UID_SecondaryCaptureImageStorage,
	UID_MultiframeGrayscaleByteSecondaryCaptureImageStorage,
	UID_MultiframeGrayscaleWordSecondaryCaptureImageStorage,
	UID_MultiframeTrueColorSecondaryCaptureImageStorage,
	UID_XRayAngiographicImageStorage,
	UID_XRayRadiofluoroscopicImageStorage,
	UID_NuclearMedicineImageStorage,
	UID_PositronEmissionTomographyImageStorage,
};
const int	pgs_net_image_sop_class_count = sizeof(pgs_net_image_sop_classes) / sizeof(pgs_net_image_sop_classes[0]);

// Compressed syntaxes first: when a peer offers an image as it was encoded we take it that way, so pixels
// are stored bit for bit and never recompressed. Uncompressed ones last.
const char *const pgs_net_stored_transfer_syntaxes[] = {
	UID_JPEG2000LosslessOnlyTransferSyntax,
	UID_JPEG2000TransferSyntax,
	UID_JPEGLSLosslessTransferSyntax,
	UID_JPEGLSLossyTransferSyntax,
	UID_JPEGProcess14SV1TransferSyntax,
	UID_JPEGProcess14TransferSyntax,
	UID_JPEGProcess1TransferSyntax,
	UID_JPEGProcess2_4TransferSyntax,
	UID_RLELosslessTransferSyntax,
	UID_DeflatedExplicitVRLittleEndianTransferSyntax,
	UID_LittleEndianExplicitTransferSyntax,
	UID_BigEndianExplicitTransferSyntax,
	UID_LittleEndianImplicitTransferSyntax,
};
const int	pgs_net_stored_transfer_syntax_count =
	sizeof(pgs_net_stored_transfer_syntaxes) / sizeof(pgs_net_stored_transfer_syntaxes[0]);

extern "C" int
pgs_net_is_image_sop_class(const char *sop_class_uid)
{
	if (sop_class_uid == NULL)
		return 0;
	for (int i = 0; i < pgs_net_image_sop_class_count; i++)
		if (std::strcmp(pgs_net_image_sop_classes[i], sop_class_uid) == 0)
			return 1;
	return 0;
}
