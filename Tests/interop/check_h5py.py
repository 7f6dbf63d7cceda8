#!/usr/bin/env python3
"""Check that an HDF5 file written by SpectralRNN reads correctly in h5py.

Usage: check_h5py.py FILE [--expect PATH=SHAPE ...] [--require-as-expected]

Checks (CONVENTIONS.md §5):
  * the root has str attributes walkthrough, command, created, version and an
    integer-or-str attribute seed;
  * every dataset is float64, reads as a C-ordered numpy array of its shape, and has
    non-empty str attributes description, formula and paper;
  * if /checks exists: each entry /checks/NNN is a group with a non-empty str attribute
    `claim` and a `passed` attribute (or dataset); measured, expected and tolerance, when
    present, are real numbers; with --require-as-expected each verdict must have come out
    as the walkthrough expects (`as_expected`, else `passed`, is true);
  * every --expect PATH=SHAPE (e.g. /model/Phi=2x2, /theory/c=scalar) is a dataset of
    exactly that shape.

Prints one line per failure and a final line "N passed, M failed"; exits 1 on any failure.
"""
import argparse
import sys

import h5py
import numpy as np

ROOT_STRINGS = ("walkthrough", "command", "created", "version")
DATASET_STRINGS = ("description", "formula", "paper")


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, message):
        """Counts one check; prints `message` when it failed. Returns ok."""
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {message}")
        return ok


def describe_type(value):
    return type(value).__name__


def is_integer(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value):
    return is_integer(value) or isinstance(value, (float, np.floating))


def check_str_attribute(checker, obj, name, where):
    if not checker.check(name in obj.attrs, f"{where}: missing attribute '{name}'"):
        return
    value = obj.attrs[name]
    if checker.check(isinstance(value, str),
                     f"{where}: attribute '{name}' is {describe_type(value)}, expected str"):
        checker.check(value.strip() != "", f"{where}: attribute '{name}' is empty")


def check_root(checker, f):
    for name in ROOT_STRINGS:
        check_str_attribute(checker, f, name, "/")
    if checker.check("seed" in f.attrs, "/: missing attribute 'seed'"):
        seed = f.attrs["seed"]
        checker.check(is_integer(seed) or isinstance(seed, str),
                      f"/: attribute 'seed' is {describe_type(seed)}, expected an integer or str")


def check_dataset(checker, name, dataset):
    where = dataset.name
    checker.check(dataset.dtype == np.dtype("float64"),
                  f"{where}: dtype is {dataset.dtype}, expected float64")
    try:
        data = np.asarray(dataset[()])
    except Exception as error:  # any failure to read is a failed check, not a crash
        checker.check(False, f"{where}: cannot read: {error}")
    else:
        checker.check(data.shape == dataset.shape,
                      f"{where}: read shape {data.shape} differs from dataset shape {dataset.shape}")
        checker.check(data.flags["C_CONTIGUOUS"], f"{where}: data is not C-ordered")
    for attribute in DATASET_STRINGS:
        check_str_attribute(checker, dataset, attribute, where)


def find_value(group, name):
    """The value of `name` as an attribute of `group`, else as a dataset in it, else None."""
    if name in group.attrs:
        return group.attrs[name]
    if name in group and isinstance(group[name], h5py.Dataset):
        return group[name][()]
    return None


def truth(value):
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode()
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(np.all(value))


def check_checks(checker, f, require_as_expected):
    if "checks" not in f:
        return
    checks = f["checks"]
    if not checker.check(isinstance(checks, h5py.Group), "/checks: is not a group"):
        return
    checker.check(len(checks) > 0, "/checks: has no entries")
    for key in sorted(checks.keys()):
        entry = checks.get(key)
        where = f"/checks/{key}"
        if not checker.check(isinstance(entry, h5py.Group), f"{where}: is not a group"):
            continue
        check_str_attribute(checker, entry, "claim", where)
        passed = find_value(entry, "passed")
        checker.check(passed is not None, f"{where}: no 'passed' attribute or dataset")
        for name in ("measured", "expected", "tolerance"):
            value = find_value(entry, name)
            if value is not None:
                checker.check(is_real(value) or (isinstance(value, np.ndarray) and value.dtype.kind in "fiu"),
                              f"{where}: '{name}' is {describe_type(value)}, expected a number")
        # A Monte Carlo check (one with a sample count) names its alternatives: the names as a
        # str and one real attribute alternative_KEY each, the distance in σ.
        if "samples" in entry.attrs and "outcome" in entry.attrs and str(entry.attrs.get("kind")) == "check":
            names = entry.attrs.get("alternatives")
            checker.check(isinstance(names, str), f"{where}: a Monte Carlo check without an 'alternatives' str attribute")
            if isinstance(names, str):
                for part in names.split("; "):
                    key = part.split(":")[0]
                    checker.check(key in entry.attrs and is_real(entry.attrs[key]),
                                  f"{where}: alternative {key} named but its distance in σ is missing")
        # A statistical verdict states its band k in σ (the figures draw it).
        if "false_alarm_rate" in entry.attrs:
            band = entry.attrs.get("band_sigmas")
            checker.check(band is not None and is_real(band) and float(band) > 0,
                          f"{where}: a statistical verdict without a positive 'band_sigmas'")
        if "outcome" in entry.attrs:
            checker.check(str(entry.attrs["outcome"]) in ("confirmed", "refuted", "illustration", "inconclusive", "unexpected"),
                          f"{where}: unknown outcome {entry.attrs['outcome']!r}")
        if require_as_expected and passed is not None:
            outcome = find_value(entry, "as_expected")
            if outcome is None:
                outcome = passed
            claim = entry.attrs.get("claim", "?")
            checker.check(truth(outcome), f"{where}: verdict not as expected: {claim}")


def check_links(checker, f):
    """Every `check` attribute of a dataset names a statistical verdict in /checks."""
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and "check" in obj.attrs:
            target = str(obj.attrs["check"])
            entry = f.get(target)
            checker.check(isinstance(entry, h5py.Group) and "band_sigmas" in entry.attrs,
                          f"/{name}: attribute check names {target}, not a statistical verdict of /checks")
    f.visititems(visit)


def check_error_slopes(checker, f):
    """A second implementation of the log–log regressions of walkthroughs 03–05, from the error
    table alone, against the slopes the walkthrough saved (to rounding)."""
    if "estimate/error_slopes" not in f or "estimate/errors_against_N" not in f:
        return
    table = f["estimate/errors_against_N"][()]
    saved = f["estimate/error_slopes"][()]
    # N, set, then one column per error (the attribute `errors` names them; 03 and 04: A1, U, A2, prediction).
    names = f["estimate/errors_against_N"].attrs.get("errors", "A1; U; A2; prediction")
    errors = len((names.decode() if isinstance(names, bytes) else str(names)).split("; "))
    if not checker.check(saved.shape == (errors, 7) and table.ndim == 2 and table.shape[1] == 2 + errors,
                         f"/estimate/error_slopes {saved.shape} or errors_against_N {table.shape}: wrong shape for {errors} errors"):
        return
    for row, column in enumerate(range(2, 2 + errors)):
        x = np.log(table[:, 0])
        y = np.log(table[:, column])
        keep = np.isfinite(y)
        x, y = x[keep], y[keep]
        if len(x) < 3 or len(set(x)) < 3:
            checker.check(np.isnan(saved[row, 0]), f"/estimate/error_slopes row {row}: a slope from fewer than 3 sizes")
            continue
        slope, intercept = np.polyfit(x - x.mean(), y, 1)
        residual = y - intercept - slope * (x - x.mean())
        se = np.sqrt(residual @ residual / (len(x) - 2) / ((x - x.mean()) @ (x - x.mean())))
        s = np.sqrt(residual @ residual / (len(x) - 2))
        mine = np.array([slope, se, x.mean(), y.mean(), s, len(x)])
        theirs = saved[row, :6]
        checker.check(np.allclose(mine, theirs, rtol=1e-9, atol=1e-12),
                      f"/estimate/error_slopes row {row}: saved {theirs}, recomputed from the table {mine}")
        # k, the two-sided t quantile of the band: above the normal quantile at the same rate
        # (1e-3/plan ≤ 1e-3, so above 3.29) and finite.
        checker.check(np.isfinite(saved[row, 6]) and saved[row, 6] > 3.29,
                      f"/estimate/error_slopes row {row}: band k = {saved[row, 6]}, expected a t quantile above 3.29")


def check_concentration(checker, f):
    """A second implementation of walkthrough 06's summaries, from its replications alone: the
    median, the (1 − δ) quantile and the fractions above each bound at every n, the slopes of
    the median and of the bounds, and the mean per-replication slope (to rounding)."""
    if "moments/chain_deviations" not in f or "theory/chain_bounds" not in f or "theory/slopes" not in f:
        return
    deviations = f["moments/chain_deviations"][()]
    bounds = f["theory/chain_bounds"][()]
    slopes = f["theory/slopes"][()]
    delta = float(f["model"].attrs["delta"])
    if not checker.check(bounds.ndim == 2 and bounds.shape[1] == 7 and deviations.shape[0] == bounds.shape[0],
                         f"/theory/chain_bounds {bounds.shape} and /moments/chain_deviations {deviations.shape} do not match"):
        return
    mine = np.column_stack([np.median(deviations, axis=1), np.quantile(deviations, 1 - delta, axis=1),
                            (deviations > bounds[:, 3:4]).mean(axis=1), (deviations > bounds[:, 4:5]).mean(axis=1)])
    theirs = bounds[:, [1, 2, 5, 6]]
    checker.check(np.allclose(mine, theirs, rtol=1e-12, atol=0),
                  f"/theory/chain_bounds: saved median, quantile and fractions {theirs.tolist()}, recomputed {mine.tolist()}")
    x = np.log(bounds[:, 0])
    fitted = bounds[:, 0] >= int(f["theory/slopes"].attrs["from"])
    per_replication = [np.polyfit(x[fitted], np.log(deviations[fitted, r]), 1)[0] for r in range(deviations.shape[1])]
    recomputed = [np.mean(per_replication), np.polyfit(x[fitted], np.log(bounds[fitted, 1]), 1)[0],
                  np.polyfit(x, np.log(bounds[:, 3]), 1)[0], np.polyfit(x, np.log(bounds[:, 4]), 1)[0]]
    saved = [slopes[0], slopes[2], slopes[3], slopes[4]]
    checker.check(np.allclose(recomputed, saved, rtol=1e-9, atol=1e-12),
                  f"/theory/slopes: saved {saved}, recomputed from the replications {recomputed}")


def parse_shape(text):
    text = text.strip().lower()
    if text in ("", "scalar", "()"):
        return ()
    return tuple(int(part) for part in text.replace("×", "x").split("x"))


def check_expectations(checker, f, expectations):
    for expectation in expectations:
        path, separator, shape_text = expectation.partition("=")
        try:
            shape = parse_shape(shape_text)
        except ValueError:
            shape = None
        if not checker.check(separator == "=" and path.startswith("/") and shape is not None,
                             f"--expect {expectation}: not of the form /PATH=SHAPE (e.g. /model/Phi=2x2)"):
            continue
        obj = f.get(path)
        if not checker.check(obj is not None, f"{path}: no such dataset (expected shape {shape_text})"):
            continue
        if not checker.check(isinstance(obj, h5py.Dataset), f"{path}: is a group, expected a dataset"):
            continue
        checker.check(obj.shape == shape, f"{path}: shape {obj.shape}, expected {shape}")


def main(argv):
    parser = argparse.ArgumentParser(description="Check a SpectralRNN HDF5 file with h5py.")
    parser.add_argument("file", help="the HDF5 file, e.g. data/01-score-functions.h5")
    parser.add_argument("--expect", action="append", default=[], metavar="PATH=SHAPE",
                        help="require the dataset PATH to have SHAPE, e.g. /model/Phi=2x2 (repeatable)")
    parser.add_argument("--require-as-expected", action="store_true",
                        help="fail every /checks entry whose verdict did not come out as expected")
    args = parser.parse_args(argv)

    checker = Checker()
    try:
        f = h5py.File(args.file, "r")
    except Exception as error:
        checker.check(False, f"{args.file}: cannot open with h5py: {error}")
        print(f"{checker.passed} passed, {checker.failed} failed")
        return 1
    with f:
        check_root(checker, f)
        datasets = []
        f.visititems(lambda name, obj: datasets.append((name, obj)) if isinstance(obj, h5py.Dataset) else None)
        for name, dataset in datasets:
            check_dataset(checker, name, dataset)
        check_checks(checker, f, args.require_as_expected)
        check_links(checker, f)
        check_error_slopes(checker, f)
        check_concentration(checker, f)
        check_expectations(checker, f, args.expect)
    print(f"{checker.passed} passed, {checker.failed} failed")
    return 1 if checker.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
