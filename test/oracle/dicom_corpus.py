"""The DICOM test corpus: every DICOM file shipped by the Debian packages below (test data, not dependencies).

Imported by the DICOM oracles and the corpus TAP test. `corpus(workdir)` lists (name, path) pairs; gzip'd
files are inflated into workdir. A file counts as DICOM when it has the Part 10 "DICM" prefix or starts
like a bare data set (group 0002 or 0008), as pgscreen itself recognises them.
"""
import gzip
import os
import subprocess

PACKAGES = ["python3-pydicom", "python3-nibabel", "heudiconv", "octave-dicom", "dicom3tools"]


def looks_like_dicom(head):
    if len(head) >= 132 and head[128:132] == b"DICM":
        return True
    if len(head) >= 8 and head[1:2] == b"\x00" and head[0:1] in (b"\x02", b"\x08"):
        return True
    if len(head) >= 8 and head[0:1] == b"\x00" and head[1:2] in (b"\x02", b"\x08") and head[4:6].isalpha():
        return True
    return False


def package_files(package):
    out = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    if out.returncode != 0:
        return []
    return sorted(p for p in out.stdout.splitlines() if os.path.isfile(p) and not os.path.islink(p))


def corpus(workdir):
    files = []
    seen = set()
    for package in PACKAGES:
        for path in package_files(package):
            real = os.path.realpath(path)
            if real in seen or path.endswith((".py", ".pyc", ".json", ".txt", ".md", ".nii", ".dump")):
                continue
            seen.add(real)
            if path.endswith(".gz"):
                try:
                    with gzip.open(path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                if not looks_like_dicom(data[:200]):
                    continue
                target = os.path.join(workdir, package + "__" + os.path.basename(path)[:-3])
                with open(target, "wb") as f:
                    f.write(data)
                files.append((package + ":" + os.path.basename(path), target))
                continue
            with open(path, "rb") as f:
                head = f.read(200)
            if looks_like_dicom(head):
                files.append((package + ":" + os.path.relpath(path, "/usr"), path))
    return files


if __name__ == "__main__":
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in corpus(tmp):
            print(name)
