#!/usr/bin/python3
"""A reference de-identifier in Python with pydicom: the PS3.15 2023b Basic Profile from the same TSV.

The peer in test/bench/deidentify (pgscreen's dicom_anonymize is measured against it) and a readable
statement of the profile as pgscreen applies it: every Table E.1-1 action at every depth, private attributes,
overlays and curves removed, combined codes resolved to their last code (or X for the Type 3 dates),
keyed HMAC-SHA256 UIDs (2.25) and patient pseudonym, new file meta, Patient Identity Removed.

Usage: deid_reference.py IN OUT            de-identify one file
       deid_reference.py --bench N FILE... de-identify every file N times in memory, print files/s
"""
import csv
import hashlib
import hmac
import io
import os
import re
import sys
import time

import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import UID

TSV = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   "kernels/dicom/data/table_e1_1_2023b.tsv")
TYPE3 = {0x00080012, 0x00080013, 0x00080021, 0x00080031, 0x00080022, 0x00080032}
TYPE2 = {0x00180010, 0x00102203}
DUMMY = {"PN": "ANONYMOUS", "DA": "19000101", "TM": "000000", "DT": "19000101000000", "AS": "000Y", "DS": "0",
         "IS": "0"}
KEY = b"pgscreen test key"


def load_rules():
    exact, masked = {}, []
    with open(TSV, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            m = re.fullmatch(r"\(([0-9A-Fa-fx]{4}),([0-9A-Fa-fx]{4})\)", row["Tag"])
            if not m:
                continue
            g, e = m.group(1).upper(), m.group(2).upper()
            if "X" in g + e:
                masked.append((g, e, row["Basic Prof."]))
            else:
                exact[int(g + e, 16)] = row["Basic Prof."]
    return exact, masked


EXACT, MASKED = load_rules()


def action_for(tag):
    code = EXACT.get(tag)
    if code is None:
        return None
    if "/" not in code:
        return code
    if code == "X/Z/U*":
        return "U"
    if tag in TYPE3:
        return "X"
    if tag in TYPE2 and "Z" in code:
        return "Z"
    return code.split("/")[-1]


def new_uid(uid):
    mac = bytearray(hmac.new(KEY, b"pgscreen/uid\x1f" + uid.encode(), hashlib.sha256).digest()[:16])
    mac[6] = (mac[6] & 0x0F) | 0x80
    mac[8] = (mac[8] & 0x3F) | 0x80
    return "2.25." + str(int.from_bytes(mac, "big"))


def map_uids(value):
    values = value if isinstance(value, (list, pydicom.multival.MultiValue)) else [value]
    out = [str(v) if UID(str(v)).name != str(v) else new_uid(str(v)) for v in values]
    return out if len(out) > 1 else out[0]


def deidentify(ds, pseudonym):
    for elem in list(ds):
        tag = int(elem.tag)
        group = tag >> 16
        if elem.tag.is_private or (group & 0xFF01) in (0x5000, 0x6000) or (tag & 0xFFFF) == 0:
            del ds[elem.tag]
            continue
        action = action_for(tag)
        if action is None:
            if elem.VR == "PN" or elem.VR in ("LT", "ST", "UT", "UC", "DA", "DT"):
                action = "D"
            elif elem.VR == "UI":
                action = "U"
            else:
                action = "K"
        if elem.VR == "SQ":
            if action == "X":
                del ds[elem.tag]
            elif action == "Z":
                elem.value = []
            else:
                for item in elem.value:
                    deidentify(item, pseudonym)
            continue
        if action == "X":
            del ds[elem.tag]
        elif action == "Z":
            elem.value = pseudonym if elem.keyword in ("PatientID", "PatientName") else ""
        elif action == "D":
            elem.value = pseudonym if elem.keyword in ("PatientID", "PatientName") else DUMMY.get(elem.VR, "ANONYMIZED")
        elif action == "U" and elem.VR == "UI" and elem.value:
            elem.value = map_uids(elem.value)


def anonymize_bytes(data):
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    basis = "id:" + str(ds.get("IssuerOfPatientID", "")).upper() + "|" + str(ds.get("PatientID", "")).upper()
    mac = hmac.new(KEY, b"pgscreen/patient\x1f" + basis.encode(), hashlib.sha256).digest()
    pseudonym = "PGS" + mac[:10].hex().upper()
    syntax = ds.file_meta.TransferSyntaxUID if "TransferSyntaxUID" in getattr(ds, "file_meta", {}) else \
        pydicom.uid.ImplicitVRLittleEndian
    deidentify(ds, pseudonym)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = ["DICOM PS3.15 2023b Annex E", "Basic Application Level Confidentiality Profile"]
    ds.LongitudinalTemporalInformationModified = "REMOVED"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", "")
    meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID", "")
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = "2.25.95818404958924574592651040187394620451"
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    out = io.BytesIO()
    ds.save_as(out, write_like_original=False)
    return out.getvalue()


def main(argv):
    if len(argv) >= 3 and argv[1] == "--bench":
        rounds = int(argv[2])
        datas = [open(p, "rb").read() for p in argv[3:]]
        done = 0
        t0 = time.perf_counter()
        for _ in range(rounds):
            for d in datas:
                anonymize_bytes(d)
                done += 1
        seconds = time.perf_counter() - t0
        print(f"{done} files in {seconds:.3f} s: {done / seconds:.1f} files/s")
        return 0
    if len(argv) != 3:
        print(__doc__)
        return 2
    with open(argv[2], "wb") as f:
        f.write(anonymize_bytes(open(argv[1], "rb").read()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
