#!/usr/bin/python3
"""Writes the PACS test corpus: DICOM studies with planted identifying values, derived from Debian's pydicom test files.

Usage:
  corpus.py OUTDIR                      the studies of the query/retrieve tests (prints a manifest as JSON)
  corpus.py OUTDIR --bulk N --series S  N instances in series S (for load tests), UIDs unique per series
  corpus.py OUTDIR --large N            N instances of 8 MB each (16-bit 2048 x 2048, a small mammogram)

Every UID is derived from a fixed seed, so a run produces the same files. Identifying values are planted in
names, IDs, dates, institution, physicians and descriptions, so a test can look for them after
de-identification. Run with Debian's /usr/bin/python3 (pydicom, numpy).
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import pydicom

TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files'
MG_FOR_PRESENTATION = '1.2.840.10008.5.1.4.1.1.1.2'

# (patient name, patient ID, birth date, sex, study key, study date, modality, source file, series, instances,
#  SOP class to relabel with or None)
STUDIES = [
    ('PHI^ALICE', 'PHI-PAT-001', '19600312', 'F', 'mg2018a', '20180314', 'MG', 'CT_small.dcm', 2, 2,
     MG_FOR_PRESENTATION),
    ('PHI^ALICE', 'PHI-PAT-001', '19600312', 'F', 'cr2019', '20190102', 'CR',
     'dicomdirtests/77654033/CR1/6154', 1, 1, None),
    ('PHI^BEATRICE', 'PHI-PAT-002', '19551120', 'F', 'mg2018b', '20181120', 'MG', 'JPEG2000.dcm', 1, 4,
     MG_FOR_PRESENTATION),
    ('PHI^BEATRICE', 'PHI-PAT-002', '19551120', 'F', 'mg2017', '20170601', 'MG', 'CT_small.dcm', 1, 2,
     MG_FOR_PRESENTATION),
    ('PHI^CARL', 'PHI-PAT-003', '19700505', 'M', 'ct2018', '20180505', 'CT', 'CT_small.dcm', 1, 3, None),
    ('PHI^CARL', 'PHI-PAT-003', '19700505', 'M', 'mr2018', '20180506', 'MR', 'MR_small.dcm', 1, 2, None),
]
# A non-image object in Carl's CT study: the receiver and C-GET do not negotiate it by default.
NON_IMAGE = ('test-SR.dcm', 'ct2018')

PLANTED = {
    'InstitutionName': 'PHI General Hospital',
    'ReferringPhysicianName': 'PHI^REFERRER',
    'OperatorsName': 'PHI^OPERATOR',
}


def uid(*parts):
    """A 2.25 UID (PS3.5 B.2) from 128 bits of a hash of the parts: the same on every run."""
    digest = hashlib.sha256('|'.join(['pgscreen pacs corpus'] + [str(p) for p in parts]).encode()).digest()
    return '2.25.%d' % int.from_bytes(digest[:16], 'big')


def plant(ds, patient, study_key, study_date, modality, series_no, instance_no, sop_class):
    name, pid, birth, sex = patient
    ds.PatientName = name
    ds.PatientID = pid
    ds.PatientBirthDate = birth
    ds.PatientSex = sex
    for keyword, value in PLANTED.items():
        setattr(ds, keyword, value)
    ds.AccessionNumber = 'PHIACC%s' % study_key.upper()
    ds.StudyID = study_key
    ds.StudyDescription = 'Screening of %s' % name
    ds.SeriesDescription = '%s series %d' % (modality, series_no)
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = '083000'
    ds.Modality = modality
    ds.StudyInstanceUID = uid('study', study_key)
    ds.SeriesInstanceUID = uid('series', study_key, series_no)
    ds.SOPInstanceUID = uid('instance', study_key, series_no, instance_no)
    ds.SeriesNumber = series_no
    ds.InstanceNumber = instance_no
    if sop_class:
        ds.SOPClassUID = sop_class
    if modality == 'MG':
        ds.ImageLaterality = 'L' if instance_no % 2 else 'R'
        ds.ViewPosition = 'CC' if series_no % 2 else 'MLO'
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID


def write_studies(out):
    manifest = {'studies': {}, 'files': [], 'planted': sorted(set(
        list(PLANTED.values()) + [s[0] for s in STUDIES] + [s[1] for s in STUDIES] + [s[2] for s in STUDIES]))}
    for name, pid, birth, sex, key, date, modality, source, nseries, ninstances, sop_class in STUDIES:
        study = {'patient_id': pid, 'date': date, 'modality': modality,
                 'study_instance_uid': uid('study', key), 'instances': []}
        for series_no in range(1, nseries + 1):
            for instance_no in range(1, ninstances + 1):
                ds = pydicom.dcmread(os.path.join(TEST_FILES, source))
                plant(ds, (name, pid, birth, sex), key, date, modality, series_no, instance_no, sop_class)
                path = os.path.join(out, '%s_s%d_i%d.dcm' % (key, series_no, instance_no))
                ds.save_as(path, write_like_original=False)
                study['instances'].append(ds.SOPInstanceUID)
                manifest['files'].append(path)
        manifest['studies'][key] = study
    source, key = NON_IMAGE
    name, pid, birth, sex, _, date = next(s[:6] for s in STUDIES if s[4] == key)
    ds = pydicom.dcmread(os.path.join(TEST_FILES, source))
    plant(ds, (name, pid, birth, sex), key, date, 'SR', 9, 1, None)
    path = os.path.join(out, '%s_sr.dcm' % key)
    ds.save_as(path, write_like_original=False)
    manifest['non_image'] = {'file': path, 'sop_instance_uid': ds.SOPInstanceUID, 'study': key}
    manifest['files'].append(path)
    return manifest


def write_bulk(out, count, series):
    template = pydicom.dcmread(os.path.join(TEST_FILES, 'CT_small.dcm'))
    patient = ('PHI^LOAD%s' % series, 'PHI-LOAD-%s' % series, '19800101', 'F')
    paths = []
    uids = []
    for i in range(1, count + 1):
        ds = template.copy()
        ds.file_meta = template.file_meta.copy()
        plant(ds, patient, 'load' + series, '20200101', 'CT', 1, i, None)
        path = os.path.join(out, 'load_%s_%05d.dcm' % (series, i))
        ds.save_as(path, write_like_original=False)
        paths.append(path)
        uids.append(ds.SOPInstanceUID)
    return {'files': paths, 'uids': uids}


def write_large(out, count):
    """8 MB each: 16-bit 2048 x 2048 pixels of noise (incompressible), as big as a small mammogram."""
    template = pydicom.dcmread(os.path.join(TEST_FILES, 'CT_small.dcm'))
    rng = np.random.default_rng(5)
    patient = ('PHI^LARGE', 'PHI-LARGE-1', '19650101', 'F')
    paths = []
    for i in range(1, count + 1):
        ds = template.copy()
        ds.file_meta = template.file_meta.copy()
        plant(ds, patient, 'large', '20210101', 'MG', 1, i, MG_FOR_PRESENTATION)
        pixels = rng.integers(0, 4096, size=(2048, 2048), dtype=np.uint16)
        ds.Rows, ds.Columns = pixels.shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = pixels.tobytes()
        path = os.path.join(out, 'large_%03d.dcm' % i)
        ds.save_as(path, write_like_original=False)
        paths.append(path)
    return {'files': paths}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out')
    parser.add_argument('--bulk', type=int)
    parser.add_argument('--series', default='1')
    parser.add_argument('--large', type=int)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.bulk:
        manifest = write_bulk(args.out, args.bulk, args.series)
    elif args.large:
        manifest = write_large(args.out, args.large)
    else:
        manifest = write_studies(args.out)
    json.dump(manifest, sys.stdout, indent=1)
    print()


if __name__ == '__main__':
    main()
