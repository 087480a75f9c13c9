#!/usr/bin/python3
"""Independent checks of stored instances with pydicom (Debian's /usr/bin/python3).

Usage:
  check.py same ORIGINALS_DIR STORED_DIR    every stored file parses completely and its data set equals the
                                            original with the same SOP Instance UID (file meta aside)
  check.py leaks MANIFEST STORED_DIR        no identifying value of the originals occurs in any stored byte
Prints "checked: N" and one line per problem, and exits non-zero if there is one.
"""
import json
import os
import sys

import pydicom

# Data Set Trailing Padding (FFFC,FFFC) carries no content; a PACS may drop or change it in transit.
PADDING = pydicom.tag.Tag(0xFFFC, 0xFFFC)


def load(path):
    ds = pydicom.dcmread(path)
    _ = ds.PixelData if 'PixelData' in ds else None   # force the whole file to be read
    return ds


def same(originals_dir, stored_dir):
    originals = {}
    for name in os.listdir(originals_dir):
        ds = load(os.path.join(originals_dir, name))
        originals[ds.SOPInstanceUID] = ds
    problems = []
    names = sorted(os.listdir(stored_dir))
    for name in names:
        stored = load(os.path.join(stored_dir, name))
        original = originals.get(stored.SOPInstanceUID)
        if original is None:
            problems.append('%s: no original with SOP Instance UID %s' % (name, stored.SOPInstanceUID))
            continue
        if stored.file_meta.TransferSyntaxUID != original.file_meta.TransferSyntaxUID:
            problems.append('%s: transfer syntax %s, original %s' % (name, stored.file_meta.TransferSyntaxUID,
                                                                      original.file_meta.TransferSyntaxUID))
        for elem in original:
            if elem.tag == PADDING:
                continue
            if elem.tag not in stored or stored[elem.tag].value != elem.value:
                problems.append('%s: %s differs from the original' % (name, elem.keyword or elem.tag))
        for elem in stored:
            if elem.tag not in original and elem.tag != PADDING:
                problems.append('%s: %s is not in the original' % (name, elem.keyword or elem.tag))
    return len(names), problems


def leaks(manifest_path, stored_dir):
    manifest = json.load(open(manifest_path))
    needles = set(manifest['planted'])
    for study in manifest['studies'].values():
        needles.add(study['study_instance_uid'])
        needles.update(study['instances'])
        needles.add(study['date'])
    problems = []
    names = sorted(os.listdir(stored_dir))
    for name in names:
        data = open(os.path.join(stored_dir, name), 'rb').read()
        load(os.path.join(stored_dir, name))
        for needle in sorted(needles):
            if needle.encode() in data:
                problems.append('%s: contains "%s"' % (name, needle))
    return len(names), problems


def main():
    mode = sys.argv[1]
    checked, problems = (same if mode == 'same' else leaks)(sys.argv[2], sys.argv[3])
    print('checked: %d' % checked)
    for problem in problems:
        print('problem: ' + problem)
    sys.exit(1 if problems or checked == 0 else 0)


if __name__ == '__main__':
    main()
