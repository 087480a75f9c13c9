#!/usr/bin/python3
"""What each de-identifier leaves behind: pgscreen, Orthanc's /anonymize and gdcmanon on the same files.

Run by test/bench/deidentify/run.sh (not a timed test). Inputs: every corpus file pgscreen accepts and
synthetic mammograms with PHI planted in nested sequences, private elements, an overlay and the file meta.
Each output is checked with the DICOM oracle's own leak test (test/oracle/dicom_deid_oracle.py) plus counts of
private attributes, overlay data, original dates and repeatability (the same input de-identified twice).
Orthanc runs on a free loopback port with its DICOM server off; gdcmanon gets a throwaway RSA key.
Usage: compare_peers.py WORKDIR
"""
import json
import os
import warnings
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "test/oracle"))
from dicom_corpus import corpus  # noqa: E402
import dicom_deid_oracle as oracle  # noqa: E402

TOOL = os.path.join(REPO, "build/test/tools/pgs_dicom")
DATES = ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate", "InstanceCreationDate", "PatientBirthDate")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Orthanc:
    def __init__(self, workdir):
        self.port = free_port()
        storage = os.path.join(workdir, "orthanc-db")
        config = os.path.join(workdir, "orthanc.json")
        with open(config, "w") as f:
            json.dump({"Name": "pgscreen-bench", "StorageDirectory": storage, "IndexDirectory": storage,
                       "HttpPort": self.port, "DicomServerEnabled": False, "RemoteAccessAllowed": False,
                       "AuthenticationEnabled": False, "Plugins": [], "HttpCompressionEnabled": False}, f)
        self.proc = subprocess.Popen(["Orthanc", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/system", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Orthanc did not start")

    def anonymize(self, path, out):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/instances", data=open(path, "rb").read(),
                                     method="POST")
        ident = json.load(urllib.request.urlopen(req))["ID"]
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/instances/{ident}/anonymize", data=b"{}",
                                     method="POST")
        data = urllib.request.urlopen(req).read()
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{self.port}/instances/{ident}",
                                                      method="DELETE"))
        with open(out, "wb") as f:
            f.write(data)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def gdcm_keys(workdir):
    key, cert = os.path.join(workdir, "key.pem"), os.path.join(workdir, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=pgscreen-bench"], check=True, capture_output=True)
    return key, cert


def leaks_of(original_path, out_path, planted):
    raw = open(out_path, "rb").read()
    original = pydicom.dcmread(original_path, force=True)
    values = oracle.identifying_values(original, set())
    meta = getattr(original, "file_meta", None)
    if meta is not None and "SourceApplicationEntityTitle" in meta:
        values.add((str(meta.SourceApplicationEntityTitle).strip(), "file meta Source AE Title"))
    values.update((v, "planted") for v in planted)
    shared = oracle.kept_texts(original, set())
    found = []
    for value, where in sorted(values):
        if value in oracle.DUMMIES or any(value in kept for kept in shared):
            continue
        encoded = value.encode("latin-1", "ignore") if value.isascii() else value.encode("utf-8", "ignore")
        if len(encoded) >= 4 and encoded in raw:
            found.append(where)
    out = pydicom.dcmread(out_path, force=True)
    privates = sum(1 for e in out.iterall() if e.tag.is_private)
    overlay = any((e.tag.group & 0xFF00) == 0x6000 and e.tag.element == 0x3000 for e in out)
    dates = any(kw in original and str(original[kw].value) not in ("", *oracle.DUMMIES) and kw in out
                and out[kw].value == original[kw].value for kw in DATES)
    return found, privates, overlay, dates


def main():
    warnings.simplefilter("ignore")  # pydicom's notes on odd values in the corpus are not our findings
    workdir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="pgs-peers-")
    os.makedirs(workdir, exist_ok=True)
    inputs = []
    for name, path in corpus(workdir):
        probe = subprocess.run([TOOL, "anonymize", path, os.path.join(workdir, "probe.dcm")], capture_output=True)
        if probe.returncode == 0:
            inputs.append((name, path, set()))
    for seed, flags in [(101, []), (102, ["--monochrome1", "--view", "MLO"]), (103, ["--laterality", "L"])]:
        path, planted = oracle.synthetic(workdir, seed, "--size", "256x320", *flags)
        inputs.append((f"synthetic MG {seed}", path, planted))

    key, cert = gdcm_keys(workdir)
    orthanc = Orthanc(workdir)
    tools = {
        "pgscreen dicom_anonymize": lambda i, o: subprocess.run([TOOL, "anonymize", i, o], check=True,
                                                                capture_output=True),
        "Orthanc 1.10 /anonymize": orthanc.anonymize,
        "gdcmanon -e (GDCM 3.0)": lambda i, o: subprocess.run(["gdcmanon", "-e", "-k", key, "-c", cert, "-i", i,
                                                               "-o", o], check=True, capture_output=True),
    }
    rows = []
    examples = {}
    try:
        for tool, run in tools.items():
            done = failed = leaking = leaked = private_files = overlay_files = date_files = 0
            categories = {}
            for name, path, planted in inputs:
                out = os.path.join(workdir, "peer-out.dcm")
                try:
                    run(path, out)
                    found, privates, overlay, dates = leaks_of(path, out, planted)
                except Exception:
                    failed += 1
                    continue
                done += 1
                leaking += bool(found)
                leaked += len(found)
                private_files += privates > 0
                overlay_files += overlay
                date_files += dates
                for where in found:
                    categories[where] = categories.get(where, 0) + 1
            # Repeatability: the same instance de-identified twice must keep its UIDs (longitudinal linkage).
            path = inputs[-1][1]
            a, b = os.path.join(workdir, "rep-a.dcm"), os.path.join(workdir, "rep-b.dcm")
            run(path, a)
            run(path, b)
            repeatable = pydicom.dcmread(a).SOPInstanceUID == pydicom.dcmread(b).SOPInstanceUID
            rows.append((tool, done, failed, leaking, leaked, private_files, overlay_files, date_files, repeatable))
            examples[tool] = sorted(categories.items(), key=lambda kv: -kv[1])[:8]
    finally:
        orthanc.stop()

    print(f"De-identifiers on {len(inputs)} files ({len(inputs) - 3} Debian corpus files pgscreen accepts, "
          f"3 synthetic MG with planted PHI)")
    header = ("tool", "done", "failed", "files leaking", "values leaked", "files w/ private",
              "files w/ overlay", "files w/ orig. dates", "same UIDs twice")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(str(x) if not isinstance(x, bool) else ("yes" if x else "no") for x in r) + " |")
    for tool, cats in examples.items():
        if cats:
            print(f"{tool} leaks most often: " + ", ".join(f"{w} ({n})" for w, n in cats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
