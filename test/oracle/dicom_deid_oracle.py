#!/usr/bin/python3
"""De-identification oracle: pgscreen's dicom_anonymize checked independently with pydicom, dcmdump and dciodvfy.

Run with Debian's Python (/usr/bin/python3). Over every corpus file (dicom_corpus.py) and synthetic mammograms
with planted PHI (MONOCHROME1/2, CC/MLO, with and without a burned-in label), through build/test/tools/pgs_dicom:
 1. the output parses (dcmdump, pydicom, pgscreen's full parse) and is marked: Patient Identity Removed YES, the 2023b edition in
    De-identification Method, CID 7050 codes, Longitudinal Temporal Information Modified, a new file meta
    (pgscreen's implementation UID, no Source AE Title) and a zeroed preamble;
 2. no identifying value of the input occurs anywhere in the output bytes: values of every attribute the
    profile changes (at any depth), every private value, every person name, instance UIDs, the file meta's
    AE titles, and for synthetic objects every planted value;
 3. Table E.1-1, read here from the TSV on its own, row by row for top-level attributes: X gone, Z empty
    (or the keyed pseudonym for Patient ID/Name), D a dummy, U a new 2.25 UID, K unchanged, combined codes one
    of their outcomes; no private attribute, overlay or curve left;
 4. dciodvfy reports no error on the output that it did not report on the input;
 5. same key, same bytes; another key, other pseudonyms; a 20-image series keeps one study/series mapping;
    retain_longitudinal "modified" shifts every date of a patient by one offset, "full" keeps them.
"""
import csv
import os
import re
import subprocess
import sys
import tempfile

import pydicom
from pydicom.uid import UID

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dicom_corpus import corpus  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "build/test/tools/pgs_dicom")
TSV = os.path.join(REPO, "kernels/dicom/data/table_e1_1_2023b.tsv")
passed = failed = 0
failures = []


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        failures.append(what)
        print(f"FAILED - {what}")


def load_table():
    rules, masked = {}, []
    with open(TSV, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            tag = row["Tag"]
            m = re.fullmatch(r"\(([0-9A-Fa-fx]{4}),([0-9A-Fa-fx]{4})\)", tag)
            if not m:
                continue
            g, e = m.group(1).upper(), m.group(2).upper()
            if "X" in g or "X" in e:
                masked.append((g, e, row))
            else:
                rules[int(g + e, 16)] = row
    return rules, masked


RULES, MASKED = load_table()


def load_safe_private():
    """(group, element low byte, creator) of Table E.3.10-1, read from its TSV."""
    rows = set()
    with open(os.path.join(os.path.dirname(TSV), "table_e3_10_1_2023b.tsv"), newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            m = re.fullmatch(r"\(([0-9A-Fa-f]{4}),xx([0-9A-Fa-f]{2})\)", row["Data Element"])
            if m:
                rows.add((int(m.group(1), 16), int(m.group(2), 16), row["Private Creator"]))
    return rows
DUMMIES = {"19000101", "ANONYMIZED", "ANONYMOUS"}


def rule_for(tag):
    if tag in RULES:
        return RULES[tag]
    g, e = "%04X" % (tag >> 16), "%04X" % (tag & 0xFFFF)
    for mg, me, row in MASKED:
        if all(a == "X" or a == b for a, b in zip(mg, g)) and all(a == "X" or a == b for a, b in zip(me, e)):
            return row
    return None


def anonymize(path, out, *options):
    return subprocess.run([TOOL, "anonymize", *options, path, out], capture_output=True, text=True)


def well_known(uid):
    return UID(uid).name != uid


def identifying_values(ds, found, depth=0):
    """Values an output must not contain: everything the profile changes or removes, at any depth."""
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value or []:
                identifying_values(item, found, depth + 1)
            continue
        rule = rule_for(elem.tag)
        private = elem.tag.is_private
        changed = private or elem.VR == "PN" or (rule is not None and rule["Basic Prof."] != "K")
        if not changed or elem.VR in ("OB", "OW", "OF", "UN", "SQ", "US", "SS", "UL", "SL", "FL", "FD", "AT"):
            continue
        if elem.tag.element == 0x0010 and private:
            continue  # private creator names are vendor strings, not identifiers
        values = elem.value if isinstance(elem.value, (list, pydicom.multival.MultiValue)) else [elem.value]
        for v in values:
            text = str(v).strip()
            if elem.VR == "UI" and (len(text) < 10 or well_known(text)):
                continue
            if elem.VR == "PN":
                parts = [p for p in re.split(r"[\^=]", text) if len(p.strip()) >= 4]
                found.update((p.strip(), f"{elem.keyword or elem.tag} (name part)") for p in parts)
                continue
            if elem.VR in ("DA", "DT") and len(text) >= 8:
                found.add((text[:8], elem.keyword or str(elem.tag)))
            elif len(text) >= 6 and not re.fullmatch(r"[0-9. +-]*", text[:6]) or (elem.VR == "UI" and len(text) >= 10):
                found.add((text, elem.keyword or str(elem.tag)))
            elif len(text) >= 6 and elem.VR in ("LO", "SH") and rule is not None:
                found.add((text, elem.keyword or str(elem.tag)))
    return found


def kept_texts(ds, out):
    """Strings of attributes the profile keeps (K or not in the table), to tell shared values from leaks."""
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value or []:
                kept_texts(item, out)
            continue
        rule = rule_for(elem.tag)
        if elem.tag.is_private or (rule is not None and rule["Basic Prof."] != "K") or elem.VR == "PN":
            continue
        try:
            out.add(str(elem.value).strip())
        except Exception:
            pass
    return out


def dciodvfy_errors(path):
    r = subprocess.run(["dciodvfy", path], capture_output=True)
    lines = (r.stdout + r.stderr).decode("latin-1").splitlines()
    # The signature of an error without the values it quotes, so the same fault before and after matches.
    return {re.sub(r"<[^>]*>|\[[^\]]*\]|=.*$|[0-9][0-9.]*", "", l).strip() for l in lines if l.startswith("Error")}


def top_level_actions(original, output, name, pseudonym_ok=True):
    for elem in original:
        if elem.tag.group == 0x0002 or elem.tag.is_private or elem.tag.element == 0:
            continue
        rule = rule_for(elem.tag)
        if rule is None:
            continue
        action = rule["Basic Prof."]
        present = elem.tag in output
        out = output[elem.tag] if present else None
        empty = present and (out.value in (None, "", b"") or (out.VR == "SQ" and len(out.value) == 0))
        orig_empty = elem.value in (None, "", b"") or (elem.VR == "SQ" and len(elem.value) == 0)
        same = present and out.value == elem.value
        what = f"{name}: {elem.keyword or elem.tag} ({action})"
        group = elem.tag.group
        if (group & 0xFF00) in (0x5000, 0x6000):
            check(not present, f"{what}: overlay/curve group removed")
            continue
        if action == "X":
            check(not present, f"{what}: removed")
        elif action == "Z":
            pseudo = elem.keyword in ("PatientID", "PatientName") and present and str(out.value).startswith("PGS")
            check(present and (empty or pseudo), f"{what}: present and empty (or the keyed pseudonym)")
        elif action == "D":
            check(present and (orig_empty or elem.VR == "SQ" or not same), f"{what}: replaced by a dummy")
        elif action == "U":
            values = out.value if present and isinstance(out.value, (list, pydicom.multival.MultiValue)) else [out.value if present else ""]
            check(present and all(str(v).startswith("2.25.") or well_known(str(v)) for v in values if str(v)),
                  f"{what}: replaced by 2.25 UIDs")
        elif action == "K":
            check(present and (same or elem.VR == "SQ"), f"{what}: kept")
        else:
            allowed = action.replace("*", "").split("/")
            outcome = ("X" if not present else "Z" if empty else
                       "U" if elem.VR in ("UI", "SQ") and "U" in allowed else "D")
            check(outcome in allowed or (outcome == "D" and elem.VR == "SQ"),
                  f"{what}: outcome {outcome} is one of {allowed}")
    for elem in output:
        check(not elem.tag.is_private, f"{name}: private {elem.tag} removed")
        check((elem.tag.group & 0xFF00) not in (0x5000, 0x6000), f"{name}: overlay/curve {elem.tag} removed")


def marked(output, raw, name, dates="REMOVED"):
    check(raw[:128] == b"\0" * 128 and raw[128:132] == b"DICM", f"{name}: zeroed preamble and DICM")
    check(output.get("PatientIdentityRemoved") == "YES", f"{name}: Patient Identity Removed YES")
    method = output.get("DeidentificationMethod", "")
    check("2023b" in str(method), f"{name}: De-identification Method names the 2023b edition")
    codes = [c.CodeValue for c in output.get("DeidentificationMethodCodeSequence", [])]
    check("113100" in codes, f"{name}: CID 7050 code 113100")
    check(output.get("LongitudinalTemporalInformationModified") == dates, f"{name}: Longitudinal Temporal ... {dates}")
    meta = output.file_meta
    check(str(meta.ImplementationClassUID) == "2.25.95818404958924574592651040187394620451",
          f"{name}: file meta names pgscreen")
    check("SourceApplicationEntityTitle" not in meta, f"{name}: no Source AE Title in the file meta")
    check(meta.MediaStorageSOPInstanceUID == output.get("SOPInstanceUID", meta.MediaStorageSOPInstanceUID),
          f"{name}: Media Storage SOP Instance UID is the new SOP Instance UID")


def run_file(name, path, tmp, expect_synthetic_phi=()):
    out = os.path.join(tmp, "out.dcm")
    r = anonymize(path, out)
    if r.returncode == 3:
        print(f"quarantined - {name}: {r.stdout.strip()}")
        return "quarantined"
    if r.returncode != 0:
        check(re.search(r": (bad data|unsupported|limit exceeded): ", r.stderr) is not None,
              f"{name}: refused with a clear error ({r.stderr.strip()[-90:]})")
        print(f"refused - {name}: {r.stderr.strip()[-100:]}")
        return "refused"
    check(subprocess.run(["dcmdump", "-q", out], capture_output=True).returncode == 0, f"{name}: dcmdump parses it")
    # dicom_anonymize checks the copied Pixel Data with its own scan; pgscreen's full parse must agree.
    check(subprocess.run([TOOL, "json", out], capture_output=True).returncode == 0,
          f"{name}: pgscreen parses it in full, Pixel Data included")
    raw = open(out, "rb").read()
    try:
        output = pydicom.dcmread(out)
    except Exception as e:
        check(False, f"{name}: pydicom reads it ({e})")
        return "bad"
    original = pydicom.dcmread(path, force=True)
    marked(output, raw, name)
    top_level_actions(original, output, name)

    values = identifying_values(original, set())
    meta = getattr(original, "file_meta", None)
    if meta is not None:
        for kw in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle", "MediaStorageSOPInstanceUID"):
            if kw in meta and len(str(meta[kw].value).strip()) >= 4 and not well_known(str(meta[kw].value).strip()):
                values.add((str(meta[kw].value).strip(), "file meta " + kw))
    values.update((v, "planted") for v in expect_synthetic_phi)
    shared = kept_texts(original, set())
    leaks = []
    for value, where in sorted(values):
        encoded = value.encode("latin-1", "ignore") if value.isascii() else value.encode("utf-8", "ignore")
        if value in DUMMIES or any(value in kept for kept in shared):
            continue  # our own dummy, or also the value of an attribute the profile keeps (e.g. Manufacturer)
        if len(encoded) >= 4 and encoded in raw:
            leaks.append(f"{where}={value!r}")
    check(not leaks, f"{name}: no identifying value in the output ({len(values)} checked)" +
          (f"; LEAKS: {', '.join(leaks[:6])}" if leaks else ""))

    before, after = dciodvfy_errors(path), dciodvfy_errors(out)
    new = sorted(after - before)
    check(not new, f"{name}: dciodvfy reports no new error" + (f": {new[:3]}" if new else ""))
    return "ok"


def synthetic(tmp, seed, *flags):
    path = os.path.join(tmp, f"mg-{seed}-{'-'.join(f.strip('-') for f in flags) or 'plain'}.dcm")
    subprocess.run([TOOL, "synth", *flags, str(seed), path], check=True)
    ds = pydicom.dcmread(path)
    planted = {str(ds.PatientID), str(ds.AccessionNumber), str(ds.PatientBirthDate), str(ds.StudyDate),
               "NORDLAND", "MAMMO-ROOM-3", "NORDMAMMO3", "BERG", "LUND", "TOVE", str(ds.StudyInstanceUID),
               str(ds.SOPInstanceUID), str(ds.SeriesInstanceUID), "Storgata", "Sykehusveien"}
    planted.update(p for p in str(ds.PatientName).split("^") if len(p) >= 4)
    return path, planted


def main():
    stats = {}
    with tempfile.TemporaryDirectory(prefix="pgs-deid-oracle-") as tmp:
        files = corpus(tmp)
        for name, path in files:
            outcome = run_file(name, path, tmp)
            stats[outcome] = stats.get(outcome, 0) + 1

        # Synthetic mammograms with planted PHI in every place a de-identifier can miss.
        for seed, flags in [(11, []), (12, ["--monochrome1"]), (13, ["--view", "MLO", "--laterality", "L"]),
                            (14, ["--label"]), (15, ["--monochrome1", "--label", "--view", "MLO"])]:
            path, planted = synthetic(tmp, seed, *flags)
            name = f"synthetic MG seed {seed} {' '.join(flags)}".strip()
            if "--label" in flags:
                r = anonymize(path, os.path.join(tmp, "q.dcm"))
                check(r.returncode == 3 and "Burned In Annotation" in r.stdout, f"{name}: quarantined by default")
                out = os.path.join(tmp, "clean.dcm")
                r = anonymize(path, out, "--burned-in", "clean")
                check(r.returncode == 0, f"{name}: burned_in_annotation clean succeeds ({r.stderr.strip()})")
                cleaned = pydicom.dcmread(out)
                check(cleaned.BurnedInAnnotation == "NO" and "113101" in
                      [c.CodeValue for c in cleaned.DeidentificationMethodCodeSequence], f"{name}: cleaned and coded 113101")
                check(str(cleaned.file_meta.TransferSyntaxUID) == "1.2.840.10008.1.2.1", f"{name}: re-encoded uncompressed")
                original = pydicom.dcmread(path).pixel_array
                mono1 = "--monochrome1" in flags
                label = (original == (0 if mono1 else 4095))
                check(label.sum() > 100 and not (cleaned.pixel_array[label] == (0 if mono1 else 4095)).any(),
                      f"{name}: the label block is blanked ({int(label.sum())} label pixels)")
                continue
            run_file(name, path, tmp, planted)

        # Determinism and keys.
        path, _ = synthetic(tmp, 21)
        a, b, c = (os.path.join(tmp, x) for x in ("a.dcm", "b.dcm", "c.dcm"))
        anonymize(path, a)
        anonymize(path, b)
        anonymize(path, c, "--key", "another key entirely")
        check(open(a, "rb").read() == open(b, "rb").read(), "same key: byte-identical output")
        da, dc = pydicom.dcmread(a), pydicom.dcmread(c)
        check(da.PatientID != dc.PatientID and da.StudyInstanceUID != dc.StudyInstanceUID,
              "another key: other patient pseudonym and UIDs")

        # A 20-image series: one study and one series mapping, distinct instances.
        study, series = "1.2.826.0.1.3680043.2.1125.77.1", "1.2.826.0.1.3680043.2.1125.77.2"
        outs = []
        for i in range(1, 21):
            src = os.path.join(tmp, f"series-{i}.dcm")
            subprocess.run([TOOL, "synth", "--size", "128x128", "--patient-id", "SER-PATIENT-7", "--study-uid", study,
                            "--series-uid", series, "--instance", str(i), "--laterality", "L", "--view", "CC",
                            "31", src], check=True)
            dst = os.path.join(tmp, f"series-{i}-anon.dcm")
            anonymize(src, dst, "--dates", "modified")
            outs.append(pydicom.dcmread(dst))
        check(len({o.StudyInstanceUID for o in outs}) == 1 and len({o.SeriesInstanceUID for o in outs}) == 1,
              "20-image series: one Study and one Series Instance UID after de-identification")
        check(len({o.SOPInstanceUID for o in outs}) == 20, "20-image series: 20 distinct SOP Instance UIDs")
        check(len({o.PatientID for o in outs}) == 1 and study not in {o.StudyInstanceUID for o in outs},
              "20-image series: one patient pseudonym, new study UID")

        # Longitudinal options: one offset per patient across files; full dates untouched.
        src_a, _ = synthetic(tmp, 41, "--laterality", "L")
        src_b = os.path.join(tmp, "mg-41-b.dcm")
        subprocess.run([TOOL, "synth", "--patient-id", str(pydicom.dcmread(src_a).PatientID), "--laterality", "R",
                        "42", src_b], check=True)
        shifted = []
        for src in (src_a, src_b):
            dst = src + ".mod.dcm"
            anonymize(src, dst, "--dates", "modified")
            o, s = pydicom.dcmread(src), pydicom.dcmread(dst)
            from datetime import date
            d = lambda v: date(int(v[:4]), int(v[4:6]), int(v[6:8]))
            shifted.append((d(o.StudyDate) - d(s.StudyDate)).days)
            check(s.LongitudinalTemporalInformationModified == "MODIFIED", "modified dates: marked MODIFIED")
            check(o.PatientBirthDate not in open(dst, "rb").read().decode("latin-1"), "modified dates: birth date not kept")
        check(shifted[0] == shifted[1] and 1 <= shifted[0] <= 3650,
              f"modified dates: the same patient's files shift by one offset ({shifted})")
        dst = src_a + ".full.dcm"
        anonymize(src_a, dst, "--dates", "full")
        check(pydicom.dcmread(dst).StudyDate == pydicom.dcmread(src_a).StudyDate, "full dates: Study Date kept")
        dst = src_a + ".uids.dcm"
        anonymize(src_a, dst, "--retain-uids", "--keep", "ImageLaterality", "--keep", "ViewPosition")
        o, s = pydicom.dcmread(src_a), pydicom.dcmread(dst)
        check(s.StudyInstanceUID == o.StudyInstanceUID and s.ImageLaterality == o.ImageLaterality,
              "retain_uids and keep: UIDs and laterality kept")

        # Retain Safe Private: only Table E.3.10-1 elements (and their creators) survive, and some do.
        ct = next(path for name, path in files if name.endswith("test_files/CT_small.dcm"))
        dst = os.path.join(tmp, "safe.dcm")
        anonymize(ct, dst, "--retain-safe-private")
        safe = load_safe_private()
        out = pydicom.dcmread(dst)
        kept = [e for e in out if e.tag.is_private and e.tag.element >= 0x1000]
        creators = {(e.tag.group, e.tag.element): str(e.value).strip() for e in out
                    if e.tag.is_private and 0x10 <= e.tag.element <= 0xFF}
        unsafe = [e.tag for e in kept
                  if (e.tag.group, e.tag.element & 0xFF, creators.get((e.tag.group, e.tag.element >> 8))) not in safe]
        check(len(kept) > 0 and not unsafe,
              f"retain_safe_private: {len(kept)} private elements kept, all in Table E.3.10-1 ({unsafe[:3]})")

        # Clean Descriptors: descriptions stay, with every identifying value of the object blanked.
        src, planted = synthetic(tmp, 51)
        dst = os.path.join(tmp, "clean-desc.dcm")
        anonymize(src, dst, "--clean-descriptors")
        o, c = pydicom.dcmread(src), pydicom.dcmread(dst)
        names = [p for p in str(o.PatientName).split("^") if p]
        raw = open(dst, "rb").read()
        check(str(c.StudyDescription).startswith("Screening mammography") and
              not any(n in str(c.StudyDescription) for n in names) and not any(n.encode() in raw for n in names)
              and str(o.StudyDate).encode() not in raw and "AdditionalPatientHistory" in c,
              f"clean_descriptors: descriptions kept, names and dates blanked ({c.StudyDescription!r})")

        # An overlay in the unused high bits of Pixel Data cannot be removed with its 60xx group: quarantine.
        src, _ = synthetic(tmp, 61, "--no-phi", "--size", "128x128")
        subprocess.run(["dcmodify", "-q", "-nb", "-i", "(6002,0010)=128", "-i", "(6002,0011)=128", "-i", "(6002,0040)=G",
                        "-i", "(6002,0050)=1\\1", "-i", "(6002,0100)=16", "-i", "(6002,0102)=15", src], check=True)
        r = anonymize(src, os.path.join(tmp, "embedded.dcm"))
        check(r.returncode == 3 and "embedded in the unused bits" in r.stdout,
              f"an overlay embedded in Pixel Data is quarantined ({r.stdout.strip()})")

    print(f"corpus: {stats}")
    print(f"oracles: dicom_deid {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
