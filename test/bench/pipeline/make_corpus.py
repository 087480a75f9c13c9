#!/usr/bin/python3
"""The screening corpus of the pipeline benchmark: patients with a fundus study and a mammography study, PHI
planted in every header, written as DICOM files for the PACS.

Usage: make_corpus.py OUTDIR FUNDUS.tsv MAMMO.tsv
FUNDUS.tsv: patient, eye number, retinopathy grade, JPEG (base64) — photographs from screen.synthetic_fundus_set;
MAMMO.tsv: patient, image number, DICOM (base64) — screen.synthetic_mammogram objects made for these patients.
A fundus photograph becomes an Ophthalmic Photography 8 Bit Image holding its decoded RGB pixels, explicit VR
little endian (what a PACS sends a peer proposing uncompressed contexts, as dcmtk's getscu does: Orthanc would
transcode a stored JPEG on the way out). Writes OUTDIR/*.dcm and OUTDIR/labels.tsv: the SOP Instance UID each photograph
will have once de-identified with the test key (as a screening programme's registry would hold the grades
under its pseudonyms), and whether it is referable (grade 2 or more).
"""
import base64
import hashlib
import os
import sys

import cv2
import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "oracle"))
from deid_reference import new_uid  # noqa: E402

OPHTHALMIC_8BIT = "1.2.840.10008.5.1.4.1.1.77.1.5.1"


def uid(*parts):
    """A 2.25 UID from 128 bits of a hash of the parts: the same on every run."""
    digest = hashlib.sha256("|".join(["pgscreen pipeline corpus"] + [str(p) for p in parts]).encode()).digest()
    return "2.25.%d" % int.from_bytes(digest[:16], "big")


def patient_id(p):
    return "PHI-PIPE-%04d" % p


def study_uid(p, modality):
    return uid("study", p, modality)


def fundus_dicom(p, eye, rgb):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = OPHTHALMIC_8BIT
    meta.MediaStorageSOPInstanceUID = uid("fundus", p, eye)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID, ds.SOPInstanceUID = OPHTHALMIC_8BIT, meta.MediaStorageSOPInstanceUID
    ds.PatientName = "PHI^PATIENT%04d" % p
    ds.PatientID = patient_id(p)
    ds.PatientBirthDate = "19%02d0101" % (40 + p % 50)
    ds.PatientSex = "F" if p % 2 else "M"
    ds.InstitutionName = "PHI Eye Hospital"
    ds.ReferringPhysicianName = "PHI^REFERRER"
    ds.AccessionNumber = "PHIACC%04d" % p
    ds.StudyDescription = "Retinopathy screening of PHI^PATIENT%04d" % p
    ds.StudyDate = ds.ContentDate = "20180301"
    ds.StudyTime = ds.ContentTime = "101500"
    ds.Modality = "OP"
    ds.StudyInstanceUID = study_uid(p, "OP")
    ds.SeriesInstanceUID = uid("series", p, "OP")
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", 1, eye
    ds.ImageLaterality = "R" if eye % 2 else "L"
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.Rows, ds.Columns = rgb.shape[:2]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.LossyImageCompression = "01"
    ds.PixelData = rgb.tobytes()
    return ds


def main():
    out, fundus_tsv, mammo_tsv = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "labels.tsv"), "w") as labels:
        for line in open(fundus_tsv):
            p, eye, grade, b64 = line.rstrip("\n").split("\t")
            bgr = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)
            ds = fundus_dicom(int(p), int(eye), np.ascontiguousarray(bgr[..., ::-1]))
            ds.save_as(os.path.join(out, "op_%s_%s.dcm" % (p, eye)), write_like_original=False)
            labels.write("%s\t%d\n" % (new_uid(ds.SOPInstanceUID), int(grade) >= 2))
    for line in open(mammo_tsv):
        p, n, b64 = line.rstrip("\n").split("\t")
        with open(os.path.join(out, "mg_%s_%s.dcm" % (p, n)), "wb") as f:
            f.write(base64.b64decode(b64))


if __name__ == "__main__":
    main()
