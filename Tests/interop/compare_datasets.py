"""Checks that two HDF5 files hold the same groups and datasets, bit for bit, with the
same attributes (except the root's `created` and `command`, which record when and how a
file was made, and any named with --ignore-root NAME, e.g. `threads`).
Usage: compare_datasets.py [--ignore-root NAME]... A.h5 B.h5. Last line: "N datasets
identical" or "N differences"; exit status 1 on any difference."""
import sys

import h5py
import numpy as np

SKIP_ROOT = {"created", "command"}


def main(a_path, b_path, skip_root=SKIP_ROOT):
    failures = []
    compared = 0
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        names_a, names_b = [], []
        a.visit(names_a.append)
        b.visit(names_b.append)
        if sorted(names_a) != sorted(names_b):
            failures.append(f"objects differ: {sorted(set(names_a) ^ set(names_b))}")
        for name in sorted(set(names_a) & set(names_b)):
            oa, ob = a[name], b[name]
            if isinstance(oa, h5py.Dataset):
                compared += 1
                va, vb = oa[()], ob[()]
                if va.shape != vb.shape or va.tobytes() != vb.tobytes():
                    failures.append(f"/{name}: values differ")
            if dict(oa.attrs) .keys() != dict(ob.attrs).keys():
                failures.append(f"/{name}: attribute names differ")
            else:
                for key in oa.attrs:
                    if not np.array_equal(np.asarray(oa.attrs[key]), np.asarray(ob.attrs[key])):
                        failures.append(f"/{name}: attribute {key} differs")
        for key in set(a.attrs) | set(b.attrs):
            if key in skip_root:
                continue
            if key not in a.attrs or key not in b.attrs or not np.array_equal(np.asarray(a.attrs[key]), np.asarray(b.attrs[key])):
                failures.append(f"root attribute {key} differs")
    for f in failures:
        print(f)
    print(f"{compared} datasets identical" if not failures else f"{len(failures)} differences")
    return 1 if failures else 0


if __name__ == "__main__":
    arguments = sys.argv[1:]
    skip = set(SKIP_ROOT)
    while len(arguments) >= 2 and arguments[0] == "--ignore-root":
        skip.add(arguments[1])
        arguments = arguments[2:]
    if len(arguments) != 2:
        sys.exit("usage: compare_datasets.py [--ignore-root NAME]... A.h5 B.h5")
    sys.exit(main(arguments[0], arguments[1], skip))
