"""Draws the figures of docs/figures/ from the walkthroughs' HDF5 files, and nothing else.

    Scripts/plot                         every walkthrough: data/NN-name.h5 -> docs/figures/NN-name-*.svg
    Scripts/plot 03                      one walkthrough (its number or its full name)
    Scripts/plot --data-dir D --out O    read D/NN-name.h5, write O/NN-name-*.svg
    Scripts/plot --format png            PNG instead of SVG (a quick look; the docs use SVG)

Each figure is drawn from the file alone (h5py reads it, matplotlib draws), so each one is
also an example of reading the files. The walkthroughs save what the figures need and emit
the image links in their --markdown pages; Scripts/run-walkthroughs --docs runs this script
after the walkthroughs. Figures are deterministic for the same data and the same matplotlib:
fixed fonts (DejaVu Sans, drawn as paths), a fixed id salt, no date in the metadata.

A missing, corrupt or incomplete file gets one line naming what was wrong and exit status 1;
no figure is replaced unless every requested figure was drawn (they are written to temporary
files, then renamed into place together). Ctrl-C or a kill stops it with one line, exit
128 + signal, and no figure replaced. Run it as Scripts/plot, which starts Python with
Ctrl-C ignored until the handlers below are installed (no traceback from Python's start-up).
"""
import os
import signal
import sys

PROGRAM = "Scripts/plot"
# Temporary figure files not yet renamed into place: removed on any failure or signal.
PENDING = []
# Set once every figure has been renamed into place.
COMMITTED = False


def remove_pending():
    for partial, _ in PENDING:
        try:
            os.remove(partial)
        except OSError:
            pass
    PENDING.clear()


def fail(message, status=1):
    remove_pending()
    print(f"{PROGRAM}: {message}", file=sys.stderr)
    sys.exit(status)


def on_signal(number, frame):
    """Ctrl-C or a kill: one line, no figure replaced (or all of them, when the signal came
    during the final renames), no temporary file left; then the default action of the signal,
    so that a calling script sees the program killed by it (exit 128 + signal in a shell)."""
    remove_pending()
    outcome = "after every figure was written" if COMMITTED else "no figure was replaced"
    os.write(2, f"{PROGRAM}: stopped by signal {signal.Signals(number).name}; {outcome}\n".encode())
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)
    os._exit(128 + number)


# SIGINT always (Scripts/plot starts Python with it ignored, to be handled from here on);
# SIGTERM and SIGHUP unless they are ignored (nohup).
signal.signal(signal.SIGINT, on_signal)
for _number in (signal.SIGTERM, signal.SIGHUP):
    if signal.getsignal(_number) != signal.SIG_IGN:
        signal.signal(_number, on_signal)
HELD = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}

import argparse  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402


try:
    import numpy as np
    import h5py
    import matplotlib
except ImportError as error:  # one line, not a traceback
    fail(f"needs the Python package {error.name} for {sys.executable}: run Scripts/install-dependencies --python")

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.lines  # noqa: E402
import matplotlib.patches  # noqa: E402

# The inputs are validated before drawing; what numpy or matplotlib would still say is not a
# problem of the file, and the one-line contract of this script leaves no room for it.
warnings.simplefilter("ignore")
np.seterr(all="ignore")

plt.rcParams.update({
    "svg.fonttype": "path",          # glyphs as paths: the figure looks the same in every viewer
    "svg.hashsalt": "SpectralRNN",   # fixed ids for clip paths and glyphs: no diff without a change
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # shipped with matplotlib itself
    "mathtext.fontset": "dejavusans",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100,
    "savefig.bbox": "tight",
})
# A regression band needs a few residual degrees of freedom: with 1 or 2 (--quick has three
# fits) the t quantile at the walkthrough's rate is in the hundreds or thousands.
MINIMUM_BAND_DF = 5
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


class DataError(Exception):
    """A problem with an input file, reported as one line."""


class Data:
    """A walkthrough's file, read through h5py, with errors that name the file and the path."""

    def __init__(self, path, walkthrough):
        self.path = path
        self.walkthrough = walkthrough
        folder = os.path.dirname(path) or "."
        if os.path.islink(folder) and not os.path.exists(folder):
            raise DataError(f"--data-dir {folder}: a symbolic link to nothing (or a loop of links)")
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise DataError(f"--data-dir {folder}: not a folder")
        if not os.path.isdir(folder):
            raise DataError(f"--data-dir {folder}: no such folder (it names the folder of the walkthroughs' files)")
        if os.path.islink(path) and not os.path.exists(path):
            raise DataError(f"{path}: a symbolic link to nothing (or a loop of links)")
        if not os.path.exists(path):
            raise DataError(f"{path}: no such file (write it with Scripts/run-walkthroughs, or swift run -c release {walkthrough})")
        if not os.path.isfile(path):
            raise DataError(f"{path}: not a regular file")
        if not os.access(path, os.R_OK):
            raise DataError(f"{path}: not readable (permission denied)")
        try:
            self.file = h5py.File(path, "r")
        except OSError as error:
            raise DataError(f"{path}: not a readable HDF5 file ({first_line(error)})") from None

    def close(self):
        self.file.close()

    def dataset(self, name, ndim=None, shape=None, allow_nan=False):
        """The float64 array at `name`, checked for rank, shape, size and finite values (NaN
        allowed where the walkthrough writes it on purpose, never ±Inf)."""
        try:
            obj = self.file.get(name)
        except (OSError, KeyError, RuntimeError, ValueError) as error:
            raise DataError(f"{self.path}: cannot read {name} ({first_line(error)})") from None
        if obj is None:
            raise DataError(f"{self.path}: no dataset {name} (a file from an older walkthrough? run {self.walkthrough} again)")
        if not isinstance(obj, h5py.Dataset):
            raise DataError(f"{self.path}: {name} is not a dataset")
        if obj.dtype.kind not in "fiu":
            raise DataError(f"{self.path}: {name} holds {obj.dtype}, not numbers")
        if ndim is not None and obj.ndim != ndim:
            raise DataError(f"{self.path}: {name} has shape {'×'.join(map(str, obj.shape)) or 'scalar'}, expected {ndim} dimensions")
        if shape is not None and (obj.ndim != len(shape) or any(want is not None and want != got for want, got in zip(shape, obj.shape))):
            expected = "×".join("n" if s is None else str(s) for s in shape)
            raise DataError(f"{self.path}: {name} has shape {'×'.join(map(str, obj.shape))}, expected {expected} (a file from an older walkthrough? run {self.walkthrough} again)")
        if obj.size == 0:
            raise DataError(f"{self.path}: {name} is empty (shape {'×'.join(map(str, obj.shape))})")
        if obj.size > 1_000_000:
            raise DataError(f"{self.path}: {name} declares {obj.size} entries, far more than any walkthrough writes for a figure")
        try:
            values = np.asarray(obj[()], dtype=np.float64)
        except (OSError, RuntimeError, ValueError, TypeError) as error:
            raise DataError(f"{self.path}: cannot read {name} ({first_line(error)})") from None
        if np.isinf(values).any():
            raise DataError(f"{self.path}: {name} holds an infinite value")
        if not allow_nan and np.isnan(values).any():
            raise DataError(f"{self.path}: {name} holds NaN")
        if allow_nan and np.isnan(values).all():
            raise DataError(f"{self.path}: {name} holds nothing but NaN")
        return values

    def real(self, name, key):
        """A finite real attribute (NaN: the verdict could not be measured)."""
        value = self.attribute(name, key)
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise DataError(f"{self.path}: attribute {key} of {name} is not a number") from None
        if not np.isfinite(value):
            raise DataError(f"{self.path}: attribute {key} of {name} is {value}, not a finite number (a verdict that could not be measured: the walkthrough did not come out as expected)")
        return value

    def positive(self, name, key):
        """A positive finite real attribute (a band k, say)."""
        value = self.real(name, key)
        if not value > 0:
            raise DataError(f"{self.path}: attribute {key} of {name} is {value}, expected a positive number")
        return value

    def attribute(self, name, key, default=None):
        try:
            obj = self.file.get(name)
        except (OSError, KeyError, RuntimeError, ValueError, TypeError) as error:
            raise DataError(f"{self.path}: cannot read {name} ({first_line(error)})") from None
        if obj is None:
            raise DataError(f"{self.path}: no object {name} (named by an attribute, or needed by a figure)")
        if key not in obj.attrs:
            if default is not None:
                return default
            raise DataError(f"{self.path}: {name} has no attribute {key} (run {self.walkthrough} again)")
        value = obj.attrs[key]
        return value.decode() if isinstance(value, bytes) else value

    def reals(self, name, key, count=None):
        """A real array attribute, with `count` entries when given."""
        try:
            values = np.asarray(self.attribute(name, key), dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise DataError(f"{self.path}: attribute {key} of {name} is not an array of numbers") from None
        if count is not None and values.size != count:
            raise DataError(f"{self.path}: attribute {key} of {name} has {values.size} entries, expected {count}")
        if not np.isfinite(values).all():
            raise DataError(f"{self.path}: attribute {key} of {name} holds a value that is not finite")
        return values

    def integer(self, name, key):
        value = self.attribute(name, key)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise DataError(f"{self.path}: attribute {key} of {name} is not an integer") from None

    def checks(self):
        """Every statistical verdict of /checks: (number, kind, claim distance, band, alternatives)."""
        group = self.file.get("/checks")
        if not isinstance(group, h5py.Group):
            raise DataError(f"{self.path}: no group /checks")
        rows = []
        for key in sorted(group.keys()):
            entry = group[key]
            if not isinstance(entry, h5py.Group):
                raise DataError(f"{self.path}: /checks/{key} is not a group")
            attrs = entry.attrs
            if "band_sigmas" not in attrs:
                continue
            where = f"/checks/{key}"
            band = self.positive(where, "band_sigmas")
            if "sigmas" in attrs:                      # an error norm: its distance in σ
                distance = self.real(where, "sigmas")
            else:                                      # a one-sided check: the excess in σ
                distance = self.real(where, "measured") / self.positive(where, "tolerance") * band
            # Distances in σ: for an error norm ≥ 0; for a one-sided check signed (alternative −
            # estimate), ≤ 0 meaning the alternative is not beyond the estimate at all.
            alternatives = {k[len("alternative_"):]: self.real(where, k) for k in attrs.keys()
                            if k.startswith("alternative_") and k != "alternatives"}
            kind = attrs.get("kind", "")
            kind = kind.decode() if isinstance(kind, bytes) else str(kind)
            if kind not in ("check", "refutation", "counterexample"):
                raise DataError(f"{self.path}: /checks/{key} has kind {kind!r}")
            if not key.isdigit():
                raise DataError(f"{self.path}: /checks/{key} is not named by its number")
            rows.append((int(key), kind, distance, band, alternatives))
        return rows


def first_line(error):
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def finite(a):
    return a[np.isfinite(a)]


# MARK: - Figures shared by every walkthrough

def checks_figure(data, title):
    """Every statistical verdict: its distance from the claim and from the alternatives, in σ."""
    rows = data.checks()
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(9, 3.4))
    floor = 1e-2
    x = np.arange(1, len(rows) + 1)
    for i, (number, kind, distance, band, alternatives) in enumerate(rows):
        ax.plot([x[i] - 0.4, x[i] + 0.4], [band, band], color="black", lw=1.2,
                label="band k (claim held within it; an alternative is rejected beyond it)" if i == 0 else None)
        if kind == "check":
            ax.plot(x[i], max(distance, floor), "o", color=COLORS[0], ms=5)
            if alternatives:
                nearest = min(alternatives.values())
                ax.plot(x[i], max(nearest, floor), "x", color=COLORS[1], ms=6, mew=1.5)
        elif kind == "refutation":
            ax.plot(x[i], max(distance, floor), "s", color=COLORS[4], ms=5)
            for value in alternatives.values():
                ax.plot(x[i], max(value, floor), "D", color=COLORS[2], ms=4)
        else:
            ax.plot(x[i], max(distance, floor), "^", color=COLORS[3], ms=5)
    kinds = {r[1] for r in rows}
    # Legend entries, for the kinds of verdict this file has.
    if "check" in kinds:
        ax.plot([], [], "o", color=COLORS[0], ms=5, label="check: distance of the estimate from the claim")
        ax.plot([], [], "x", color=COLORS[1], ms=6, mew=1.5, label="check: its nearest alternative (E = 0, 2E, ½E, the printed form …)")
    if "refutation" in kinds:
        ax.plot([], [], "s", color=COLORS[4], ms=5, label="refutation: distance from the paper's printed claim")
        if any(r[4] for r in rows if r[1] == "refutation"):
            ax.plot([], [], "D", color=COLORS[2], ms=4, label="refutation: distance from the corrected claim")
    if "counterexample" in kinds:
        ax.plot([], [], "^", color=COLORS[3], ms=5, label="counterexample: distance from the claim set up to fail")
    ax.set_yscale("log")
    ax.set_xlabel("statistical verdict, by its number in /checks (the exact checks between them are not shown)")
    ax.set_ylabel("distance from the estimate, in standard errors σ")
    ax.set_xticks(x)
    ax.set_xticklabels([str(r[0]) for r in rows], fontsize=7, rotation=90)
    ax.set_xlim(0.3, len(rows) + 0.7)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


# MARK: - 01 score functions

def figures_01(data):
    figures = {}

    # Stein's identity per order: every entry with its band, against the closed form.
    scores = [("S1", r"S_1(x[n], t)"), ("S2", r"S_2(x[n], t)"), ("S3", r"S_3(x[n], t)"), ("S4", r"S_4(x[n], t)"),
              ("S_t_tm1_tm1", r"S_{t,t-1,t-1}(x[n])")]
    functions = [("sin", "G = sin(z)"), ("poly", "G = polynomial")]
    fig, axes = plt.subplots(2, len(scores), figsize=(11, 4.6), squeeze=False)
    bands = set()
    for r, (g, g_label) in enumerate(functions):
        for c, (key, label) in enumerate(scores):
            name = f"stein_{g}_{key}"
            estimate = data.dataset(f"/moments/{name}").ravel()
            se = data.dataset(f"/moments/{name}_se").ravel()
            theory = data.dataset(f"/theory/{name}").ravel()
            if not (estimate.shape == se.shape == theory.shape):
                raise DataError(f"{data.path}: /moments/{name}, its _se and /theory/{name} differ in shape")
            check = str(data.attribute(f"/moments/{name}", "check"))
            band = data.positive(check, "band_sigmas")
            ax = axes[r][c]
            index = np.arange(1, estimate.size + 1)
            ax.errorbar(index, estimate, yerr=band * se, fmt="o", ms=3, color=COLORS[0], elinewidth=1, capsize=2,
                        label="estimate ± k·se" if (r, c) == (0, 0) else None)
            ax.plot(index, theory, "_", color=COLORS[1], ms=12, mew=2,
                    label=r"closed form $E[\nabla^m G]$ (Stein's identity)" if (r, c) == (0, 0) else None)
            ax.axhline(0, color="grey", lw=0.6)
            if r == 0:
                ax.set_title(rf"$\hat E[G \otimes {label}]$")
            if r == len(functions) - 1:
                ax.set_xlabel("entry (row-major)")
            if c == 0:
                ax.set_ylabel(f"{g_label}\nentry of the moment")
            ax.set_xticks(index if estimate.size <= 8 else index[::3])
            bands.add(round(band, 2))
    fig.legend(loc="upper center", ncol=3, bbox_to_anchor=(0.5, 1.03), frameon=False)
    fig.text(0.99, 1.0, "k, the band of each moment's check: " + ", ".join(f"{b:.2f}" for b in sorted(bands)),
             ha="right", va="top", fontsize=7)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    figures["stein"] = fig

    # Lemma 4's locality: relative change of S_m against the distance of the moved inputs.
    change = data.dataset("/theory/locality_relative_change", ndim=2)
    bound = data.dataset("/theory/locality_rounding_bound", shape=change.shape)
    distances = data.reals("/theory/locality_relative_change", "distances", count=change.shape[1])
    n = data.integer("/theory/locality_relative_change", "window_length")
    t = data.integer("/theory/locality_relative_change", "t")
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for m in range(change.shape[0]):
        ax.plot(distances + 0.04 * (m - 1.5), change[m], "o-", color=COLORS[m], ms=4, label=f"$S_{m + 1}$: relative change")
        ax.plot(distances, bound[m], "--", color=COLORS[m], lw=0.9, alpha=0.8)
    ax.plot([], [], "--", color="grey", lw=0.9, label="its rounding bound")
    ax.axhline(np.finfo(float).eps / 2, color="black", lw=0.6, ls=":")
    ax.text(distances[0] - 0.25, np.finfo(float).eps / 2 * 1.5, "unit roundoff u", ha="left", va="bottom", fontsize=7)
    ax.axvspan(1.5, distances[-1] + 0.3, color="grey", alpha=0.08)
    ax.text(1.55, 3, "Lemma 4: no dependence here", fontsize=7, va="top")
    ax.set_yscale("log")
    ax.set_xticks(distances)
    ax.set_xlim(distances[0] - 0.3, distances[-1] + 0.3)
    ax.set_xlabel(f"distance $d = |s - t|$ of the moved inputs $x_s$ (window n = {n}, t = {t})")
    ax.set_ylabel("relative change of $S_m(x[n], t)$")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    figures["locality"] = fig
    return figures


# MARK: - 02 GLM

DECOMPOSER_KEYS = ["simultaneous", "whitened", "cp_als", "refined"]


def figures_02(data):
    figures = {}

    # The sign condition of whitening.
    weights = data.dataset("/theory/whitening_weights", ndim=2)
    if weights.shape[0] != 2:
        raise DataError(f"{data.path}: /theory/whitening_weights has {weights.shape[0]} rows, expected 2 (the valid and the mixed θ)")
    defects = data.reals("/theory/whitening_weights", "defects", count=2)
    dh = weights.shape[1]
    draws = data.dataset("/theory/whitening_draws", shape=(None, dh + 1))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 1.6]})
    j = np.arange(1, dh + 1)
    for row, (label, offset) in enumerate([("θ chosen by the library", -0.18), ("θ with mixed signs", 0.18)]):
        left.bar(j + offset, weights[row], width=0.34, color=COLORS[2 if row == 0 else 1],
                 label=f"{label} (defect {defects[row]:.1e})")
    left.axhline(0, color="black", lw=0.8)
    left.set_xticks(j)
    left.set_xlabel("component j")
    left.set_ylabel(r"weight $w_j = \lambda_j\,(\theta \cdot b_j)$ of $M_2 = T(\theta, I, I)$")
    left.legend(loc="lower left", frameon=False)
    w = draws[:, :dh]
    defect = draws[:, dh]
    if (np.abs(w).sum(axis=1) == 0).any():
        raise DataError(f"{data.path}: /theory/whitening_draws has a draw whose weights are all 0")
    balance = w.sum(axis=1) / np.abs(w).sum(axis=1)
    mixed = (w > 0).any(axis=1) & (w < 0).any(axis=1)
    floor = 1e-17
    right.semilogy(balance[~mixed], np.maximum(defect[~mixed], floor), "o", ms=2.5, color=COLORS[2], alpha=0.6,
                   label=f"all weights of one sign ({int((~mixed).sum())} draws)")
    right.semilogy(balance[mixed], np.maximum(defect[mixed], floor), "o", ms=2.5, color=COLORS[1], alpha=0.4,
                   label=f"mixed signs ({int(mixed.sum())} draws)")
    right.axhline(1e-8, color="black", lw=0.8, ls="--", label="1e−8: counted as failed above")
    right.set_xlabel(r"sign balance $\sum_j w_j / \sum_j |w_j|$ of a draw $\theta \sim N(0, I)$")
    right.set_ylabel(r"orthonormality defect $\|VV^\top - I\|_F$")
    right.legend(loc="center", frameon=True, framealpha=0.9)
    fig.tight_layout()
    figures["whitening"] = fig

    # Recovered against true directions.
    table = data.dataset("/estimate/factor_match_against_N", shape=(None, 5), allow_nan=True)
    names = str(data.attribute("/estimate/factor_match_against_N", "decomposers")).split("; ")
    if np.isnan(table[:, :3]).any() or (table[:, 0] <= 0).any():
        raise DataError(f"{data.path}: /estimate/factor_match_against_N needs a positive N, a decomposer and a unit in every row")
    if not set(table[:, 1].astype(int)) <= set(range(len(names))):
        raise DataError(f"{data.path}: /estimate/factor_match_against_N names a decomposer beyond its attribute decomposers")
    truth = data.dataset("/model/A1", ndim=2)
    if (np.linalg.norm(truth, axis=1) == 0).any():
        raise DataError(f"{data.path}: /model/A1 has a zero row (no direction to compare with)")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    sizes = np.unique(table[:, 0])
    for d, name in enumerate(names):
        rows = table[table[:, 1] == d]
        if not rows.size:
            continue
        offset = 1 + 0.05 * (d - 1)
        left.loglog(rows[:, 0] * offset, rows[:, 4], ".", color=COLORS[d], alpha=0.5, ms=4)
        means = [np.mean(finite(rows[rows[:, 0] == n, 4])) if finite(rows[rows[:, 0] == n, 4]).size else np.nan for n in sizes]
        left.loglog(sizes * offset, means, "o-", color=COLORS[d], ms=4, label=f"{name} (mean over units)")
    first = finite(table[table[:, 0] == sizes[0], 4])
    start = np.mean(first) if first.size else np.nanmean(table[:, 4])
    guide = start * np.sqrt(sizes[0] / sizes)
    left.loglog(sizes, guide, "k--", lw=1, label=r"$N^{-1/2}$ guide")
    left.set_xlabel("samples N")
    left.set_ylabel(r"$\sin\angle(a_j, \hat a_j)$, per unit $j$")
    left.legend(loc="lower left", frameon=False)
    unit = truth / np.linalg.norm(truth, axis=1, keepdims=True)
    markers = ["o", "s", "^", "D"]
    lim = 0
    for d, key in enumerate(DECOMPOSER_KEYS):
        name = f"/estimate/directions_{key}"
        if name not in data.file:
            continue  # that decomposer failed at the largest N: the walkthrough says so
        found = data.dataset(name, shape=truth.shape)
        if (np.linalg.norm(found, axis=1) == 0).any():
            raise DataError(f"{data.path}: {name} has a zero row")
        found = found / np.linalg.norm(found, axis=1, keepdims=True)
        matched = match_rows(found, unit)
        right.plot(unit.ravel(), matched.ravel(), markers[d], mfc="none", color=COLORS[d], ms=5 + d, label=names[d])
        lim = max(lim, np.abs(unit).max(), np.abs(matched).max())
    right.plot([-lim, lim], [-lim, lim], color="grey", lw=0.8, label="recovered = true")
    right.set_xlabel(r"entry of the true unit direction $a_j/\|a_j\|$")
    right.set_ylabel(rf"entry of the recovered $\hat a_j$ (N = {int(sizes[-1])})")
    right.legend(loc="upper left", frameon=False)
    right.set_aspect("equal")
    fig.tight_layout()
    figures["directions"] = fig

    # The decomposers at dx = 16 and 32 on one sampled tensor each.
    scale = data.dataset("/estimate/decomposers_at_scale", shape=(None, 5), allow_nan=True)
    scale_names = str(data.attribute("/estimate/decomposers_at_scale", "decomposers")).split("; ")
    cases = str(data.attribute("/estimate/decomposers_at_scale", "cases")).split("; ")
    if np.isnan(scale[:, :2]).any() or not set(scale[:, 0].astype(int)) <= set(range(len(cases))) \
            or not set(scale[:, 1].astype(int)) <= set(range(len(scale_names))):
        raise DataError(f"{data.path}: /estimate/decomposers_at_scale has a row without a valid case or decomposer index")
    if (finite(scale[:, 4]) <= 0).any():
        raise DataError(f"{data.path}: /estimate/decomposers_at_scale has a non-positive sampling error")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    width = 0.8 / len(scale_names)
    positions = np.arange(len(cases))
    for d, name in enumerate(scale_names):
        rows = scale[scale[:, 1] == d]
        x = positions[rows[:, 0].astype(int)] + (d - (len(scale_names) - 1) / 2) * width
        failed = np.isnan(rows[:, 2])
        left.bar(x[~failed], np.maximum(1 - rows[~failed, 2], 1e-16), width=width, color=COLORS[d], label=name)
        right.bar(x[~failed], rows[~failed, 3] / rows[~failed, 4], width=width, color=COLORS[d], label=name)
        for axis in (left, right):
            for xf in x[failed]:
                axis.text(xf, 0.02, "failed", rotation=90, ha="center", va="bottom", fontsize=7,
                          transform=axis.get_xaxis_transform())
    left.set_yscale("log")
    left.set_ylabel("1 − factor match score of A1")
    right.axhline(1, color="black", lw=0.8, ls="--", label="sampling error (noise floor)")
    right.set_yscale("log")
    right.set_ylabel("residual / sampling error")
    for axis in (left, right):
        axis.set_xticks(positions)
        axis.set_xticklabels([c.split(", N")[0] for c in cases])
    # Proxies, so that a decomposer that failed everywhere still shows its colour.
    handles = [matplotlib.patches.Patch(color=COLORS[d], label=name) for d, name in enumerate(scale_names)]
    left.legend(handles=handles, loc="upper right", frameon=True, framealpha=0.9, fontsize=8)
    right.legend(handles=handles + [matplotlib.lines.Line2D([], [], color="black", lw=0.8, ls="--",
                                                             label="sampling error (noise floor)")],
                 loc="upper right", frameon=True, framealpha=0.9, fontsize=8)
    fig.tight_layout()
    figures["scale"] = fig
    return figures


def match_rows(found, truth):
    """The rows of `found` permuted and signed to match the rows of `truth`: the permutation of
    largest Σ|cos| by enumeration up to 8 rows (the walkthroughs have 3), greedily beyond."""
    from itertools import permutations
    k = truth.shape[0]
    cos = truth @ found.T
    if k <= 8:
        best = max(permutations(range(k)), key=lambda p: sum(abs(cos[i, p[i]]) for i in range(k)))
    else:
        best = [0] * k
        order = sorted(((abs(cos[i, j]), i, j) for i in range(k) for j in range(k)), reverse=True)
        rows_done, cols_done = set(), set()
        for _, i, j in order:
            if i not in rows_done and j not in cols_done:
                best[i] = j
                rows_done.add(i)
                cols_done.add(j)
    return np.array([np.sign(cos[i, best[i]]) * found[best[i]] for i in range(k)])


# MARK: - 03 quadratic IO-RNN

LATEX_NAMES = {"A1": "$A_1$", "U": "$U$", "A2": "$A_2$", "B1": "$B_1$", "V": "$V$", "UV": "$U$ and $V$",
               "prediction": r"prediction $\|\hat y - y^*\|/\|y^*\|$"}


def errors_against_n_figure(data):
    """GLOREE's errors against N (walkthroughs 03–05): /estimate/errors_against_N (N, set, one column per
    error, the prediction last; attribute `errors` names them, default A1; U; A2; prediction) and
    /estimate/error_slopes (one row per error)."""
    names = str(data.attribute("/estimate/errors_against_N", "errors", "A1; U; A2; prediction")).split("; ")
    if len(names) < 2 or names[-1] != "prediction":
        raise DataError(f"{data.path}: attribute errors of /estimate/errors_against_N must name the errors, the prediction last")
    k = len(names)
    table = data.dataset("/estimate/errors_against_N", shape=(None, 2 + k), allow_nan=True)
    if np.isnan(table[:, :1 + k]).any() or (table[:, [0] + list(range(2, 1 + k))] <= 0).any():
        raise DataError(f"{data.path}: /estimate/errors_against_N needs a positive N and positive parameter errors in every row (only the prediction may be NaN)")
    slopes = data.dataset("/estimate/error_slopes", shape=(k, 7), allow_nan=True)
    labels = [LATEX_NAMES.get(name, name) for name in names]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    n_all = table[:, 0]
    grid = np.geomspace(n_all.min() / 1.3, n_all.max() * 1.3, 50)
    drawn_bands = set()
    parameters = k - 1
    offsets = [1 + 0.06 * (i - (parameters - 1) / 2) for i in range(parameters)]
    panels = [(2 + i, left, COLORS[i % len(COLORS)], offsets[i]) for i in range(parameters)] + [(1 + k, right, COLORS[3] if parameters <= 3 else "#444444", 1.0)]
    for column, ax, color, offset in panels:
        y = table[:, column]
        ok = np.isfinite(y)
        slope, se, centre_x, centre_y, residual, fits, band = slopes[column - 2]
        ax.loglog(n_all[ok] * offset, y[ok], "o", ms=3, alpha=0.45, color=color)
        if np.isfinite(slopes[column - 2]).all() and fits >= 3:
            x = np.log(grid) - centre_x
            line = np.exp(centre_y + slope * x)
            note = ""
            if fits - 2 >= MINIMUM_BAND_DF:
                half = band * np.sqrt(residual ** 2 / fits + (se * x) ** 2)
                ax.fill_between(grid, line * np.exp(-half), line * np.exp(half), color=color, alpha=0.15, lw=0)
                drawn_bands.add(round(float(band), 2))
            else:
                note = f"; no band with {int(fits) - 2} df"
            ax.loglog(grid, line, "-", color=color, lw=1.5,
                      label=f"{labels[column - 2]}: slope {slope:.3f} ± {se:.3f} ({int(fits)} fits{note})".replace("-", "−"))
        else:
            ax.plot([], [], "o", color=color, label=f"{labels[column - 2]} (too few sizes for a slope)")
        diverged = int((~ok).sum())
        if diverged and column == 1 + k:
            ax.text(0.98, 0.98, f"{diverged} fit{'s' if diverged > 1 else ''} diverged on a test window (not drawn)",
                    transform=ax.transAxes, fontsize=7, ha="right", va="top")
    guide_column = 2 + names.index("U") if "U" in names else 2
    for ax, (column, name) in [(left, (guide_column, names[guide_column - 2])), (right, (1 + k, "prediction"))]:
        slope, se, centre_x, centre_y, residual, fits, band = slopes[column - 2]
        if np.isfinite(centre_y):
            ax.loglog(grid, np.exp(centre_y - 0.5 * (np.log(grid) - centre_x)), "k--", lw=1,
                      label=rf"$N^{{-1/2}}$ guide (through the {name} centre)")
        ax.set_xlabel("training windows N")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())   # less than two decades: no crowded minor labels
        ax.legend(loc="lower left", frameon=False)
    left.set_ylabel(r"relative error after alignment $\|\hat\theta - \theta\|/\|\theta\|$")
    right.set_ylabel("prediction error on fresh windows")
    ks = sorted(drawn_bands)
    left.set_title("parameters (band of each line: ±k times its standard error, k = " + ", ".join(f"{k:.2f}" for k in ks) + ")"
                   if ks else "parameters")
    right.set_title("predictions")
    fig.tight_layout()
    return fig


def figures_03(data):
    figures = {}

    # Errors against N.
    fig = errors_against_n_figure(data)
    figures["errors-against-N"] = fig

    # The printed against the true fourth-order form.
    estimate = data.dataset("/moments/fourth_order").ravel()
    true_form = data.dataset("/theory/fourth_order").ravel()
    printed = data.dataset("/theory/fourth_order_printed").ravel()
    if not (estimate.shape == true_form.shape == printed.shape):
        raise DataError(f"{data.path}: /moments/fourth_order and its two forms differ in shape")
    projected = data.dataset("/moments/fourth_order_projected", ndim=1)
    projected_se = data.dataset("/moments/fourth_order_projected_se", shape=projected.shape)
    projected_true = data.dataset("/theory/fourth_order_projected", shape=projected.shape)
    check = str(data.attribute("/moments/fourth_order_projected", "check"))
    k = data.positive(check, "band_sigmas")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [1.3, 1]})
    left.plot(true_form, estimate, "o", ms=3, color=COLORS[0], alpha=0.7, label=r"against the true form $8 \sum_j b_j \otimes \mathrm{Sym}(M_j \otimes M_j)$")
    left.plot(printed, estimate, "x", ms=4, color=COLORS[1], alpha=0.7, label=r"against the printed form $c \sum_j b_j \otimes \mathrm{vec}\,M_j \otimes \mathrm{vec}\,M_j$ (best c)")
    lim = max(np.abs(true_form).max(), np.abs(printed).max(), np.abs(estimate).max()) * 1.05
    left.plot([-lim, lim], [-lim, lim], color="grey", lw=0.8)
    left.set_xlabel("entry of the form")
    left.set_ylabel(r"entry of $\hat E[y_t \otimes S_4(x[n], t-1)]$")
    left.legend(loc="upper left", frameon=False, fontsize=7)
    left.set_title(f"the dense moment ({estimate.size} entries)")
    index = np.arange(1, projected.size + 1)
    right.errorbar(index, projected, yerr=k * projected_se, fmt="o", color=COLORS[0], capsize=3, label=f"estimate ± {k:.2f}·se")
    right.plot(index, projected_true, "_", ms=18, mew=2, color=COLORS[2], label="true form")
    right.plot(index, np.zeros_like(projected), "_", ms=18, mew=2, color=COLORS[1], label="printed form (0 for every c)")
    right.set_xticks(index)
    right.set_xticklabels(["(p₁,q₁,p₁,q₁)", "(p₁,q₁,θ,θ)", "(p₂,q₂,p₂,q₂)", "(p₂,q₂,θ,θ)"][:projected.size], fontsize=7)
    right.set_xlabel(r"projection $T(\beta_j, \cdot, \cdot, \cdot, \cdot)$ of the moment")
    right.set_ylabel("projection ÷ its pilot se")
    right.legend(loc="best", frameon=False)
    right.set_title("projections that separate the forms")
    fig.tight_layout()
    figures["fourth-order"] = fig
    return figures


def figures_04(data):
    figures = {"errors-against-N": errors_against_n_figure(data)}
    table = data.dataset("/theory/u_moment_standard_error", shape=(None, 4), allow_nan=True)
    if np.isnan(table[:, :2]).any() or (table[:, 1] <= 0).any():
        raise DataError(f"{data.path}: /theory/u_moment_standard_error needs a degree and a positive row norm in every row")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for index, degree in enumerate(sorted(set(table[:, 0].astype(int)))):
        rows = table[table[:, 0] == degree]
        ok = np.isfinite(rows[:, 2]) & (rows[:, 2] > 0)
        name = {2: "quadratic", 3: "cubic"}.get(degree, f"degree {degree}")
        left.semilogy(rows[ok, 1], rows[ok, 2], "o-", color=COLORS[index], label=f"$l = {degree}$ ({name}, order-{2 * degree - 1} score)")
        right.semilogy(rows[ok, 1], rows[ok, 3], "o-", color=COLORS[index], label=f"$l = {degree}$")
        for x in rows[~ok, 1]:
            left.axvline(x, color=COLORS[index], ls=":", lw=1)
    left.set_xlabel("row norm of $A_1$")
    left.set_ylabel(r"relative standard error of $\hat U$ × $\sqrt{N}$ (per window)")
    left.legend(loc="best", frameon=False)
    left.set_title("the U moment's noise per window")
    right.set_xlabel("row norm of $A_1$")
    right.set_ylabel("windows N for a 10% U error")
    right.legend(loc="best", frameon=False)
    right.set_title("the sample the U error needs")
    fig.tight_layout()
    figures["sample-complexity"] = fig
    return figures


def figures_05(data):
    figures = {"errors-against-N": errors_against_n_figure(data)}
    scores = data.dataset("/assignment/scores", ndim=2)
    if scores.shape[0] != 2:
        raise DataError(f"{data.path}: /assignment/scores must have 2 rows (z⁻, z⁺), got shape {scores.shape}")
    d = scores.shape[1]
    magnitudes = data.dataset("/assignment/magnitudes", shape=(4, d))
    truth = data.dataset("/assignment/truth", shape=(d,))
    counts = data.dataset("/assignment/against_N", shape=(None, 4))
    threshold = data.positive("/assignment/scores", "significant")
    windows = int(data.positive("/assignment/scores", "windows"))
    sets = int(data.positive("/assignment/against_N", "sets"))
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(11.5, 3.8), gridspec_kw={"width_ratios": [1.2, 1, 1.1]})
    index = np.arange(1, d + 1)
    names = [f"{j}\n({'fwd' if truth[j - 1] > 0 else 'bwd'})" for j in index]
    width = 0.35
    left.bar(index - width / 2, magnitudes[0], width, color=COLORS[0], label="t−1 moment (forward units)")
    left.bar(index + width / 2, magnitudes[2], width, color=COLORS[1], label="t+1 moment (backward units)")
    for offset, noise in [(-width / 2, magnitudes[1]), (width / 2, magnitudes[3])]:
        for x, level in zip(index + offset, noise):
            left.plot([x - width / 2, x + width / 2], [level, level], color="black", lw=1)
    left.plot([], [], color="black", lw=1, label="noise level of each (norm of its standard errors)")
    left.set_xticks(index)
    left.set_xticklabels(names)
    left.set_xlabel("recovered component (true side)")
    left.set_ylabel(r"$\|$(row $j$, column $j$) of $P\|/4$")
    left.set_ylim(0, 1.45 * max(magnitudes[0].max(), magnitudes[2].max()))
    left.legend(loc="upper left", frameon=False, fontsize=7)
    left.set_title(f"projected magnitudes ({windows} windows)")
    middle.plot(index - 0.08, scores[0], "o", color=COLORS[0], label="z⁻ (t−1)")
    middle.plot(index + 0.08, scores[1], "s", color=COLORS[1], label="z⁺ (t+1)")
    middle.axhline(threshold, color="black", ls="--", lw=1, label=f"a side counts at z ≥ {threshold:g}")
    middle.set_xticks(index)
    middle.set_xticklabels(names)
    middle.set_xlabel("recovered component (true side)")
    middle.set_ylabel("normal score z")
    middle.set_ylim(min(-2, np.nanmin(scores) - 1), 1.4 * max(np.nanmax(scores), threshold))
    middle.legend(loc="upper center", frameon=False, fontsize=7, ncol=2)
    middle.set_title("scores against the threshold")
    n = counts[:, 0]
    if (n <= 0).any() or (counts[:, 1:] < 0).any():
        raise DataError(f"{data.path}: /assignment/against_N needs positive N and non-negative counts")
    for column, name, color, marker in [(1, "correct", COLORS[2], "o"), (2, "refused", COLORS[4], "s"), (3, "wrong", COLORS[1], "x")]:
        right.semilogx(n, counts[:, column] / sets, marker + "-", color=color, label=name)
    right.set_ylim(-0.05, 1.05)
    right.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    right.set_xticks(n)
    right.set_xticklabels([f"{int(v):,}".replace(",", " ") for v in n], fontsize=7)
    right.set_xlabel("training windows N")
    right.set_ylabel(f"fraction of {sets} independent sets")
    right.legend(loc="center right", frameon=False)
    right.set_title("the assignment against N")
    fig.tight_layout()
    figures["assignment"] = fig
    return figures


def figures_06(data):
    figures = {}
    bounds = data.dataset("/theory/chain_bounds", shape=(None, 7))
    n = bounds[:, 0]
    deviations = data.dataset("/moments/chain_deviations", shape=(len(n), None))
    slopes = data.dataset("/theory/slopes", shape=(5,), allow_nan=True)
    moment = data.dataset("/theory/moment", ndim=2)
    delta = data.positive("/model", "delta")
    if (n <= 0).any() or (deviations <= 0).any() or (bounds[:, 1:5] <= 0).any():
        raise DataError(f"{data.path}: /theory/chain_bounds and /moments/chain_deviations need positive n, deviations and bounds")
    exact = np.linalg.norm(moment, 2)
    fig, ax = plt.subplots(figsize=(11, 5))
    replications = deviations.shape[1]
    for row, value in zip(deviations, n):
        ax.loglog(np.full(replications, value), row, ".", color=COLORS[0], alpha=0.12, ms=3)
    ax.loglog([], [], ".", color=COLORS[0], label=f"one replication (R = {replications} per n)")
    start = data.integer("/theory/slopes", "from")
    slope_text = "" if np.isnan(slopes[0]) else f", mean slope {slopes[0]:.3f} ± {slopes[1]:.3f} (n ≥ {start})"
    ax.loglog(n, bounds[:, 1], "o-", color=COLORS[0], label=f"measured median{slope_text}")
    ax.loglog(n, bounds[:, 2], "s--", color=COLORS[0], label=f"measured {1 - delta:g} quantile")
    ax.loglog(n, bounds[:, 3], "^-", color=COLORS[1], label=f"printed bound (eq. 19's c), slope {slopes[3]:.3f}")
    ax.loglog(n, bounds[:, 4], "v-", color=COLORS[2], label=f"corrected bound (both terms of c over n), slope {slopes[4]:.3f}")
    ax.axhline(exact, color="black", ls=":", lw=1, label=r"$\|E\,z\|_2$ (a bound above it says nothing)")
    ax.set_xlabel("steps n of the chain")
    ax.set_ylabel(r"$\|z - E\,z\|_2$, $z = \mathrm{Mat}(\hat E[y_i \otimes S_2(x[n], i)])$")
    ax.set_title("Theorem 9 against the measured deviation")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    fig.tight_layout()
    figures["deviation-against-n"] = fig

    lipschitz = data.dataset("/moments/lipschitz", shape=(None, 8))
    if (lipschitz[:, :6] <= 0).any():
        raise DataError(f"{data.path}: /moments/lipschitz needs positive lengths, constants and bounds")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    m = lipschitz[:, 0]
    left.loglog(m, lipschitz[:, 1], "o-", color=COLORS[0], label="measured (largest ratio found)")
    left.loglog(m, lipschitz[:, 2], "^-", color=COLORS[1], label="eq. 19 with the domain's suprema")
    left.loglog(m, lipschitz[:, 3], "v--", color=COLORS[1], label="the remark's form (20, 16)")
    left.set_xlabel("steps n of the window")
    left.set_ylabel("Lipschitz constant")
    left.set_title("Euclidean metric (Definition 2)")
    left.legend(loc="best", frameon=False, fontsize=8)
    right.loglog(m, lipschitz[:, 4], "o-", color=COLORS[0], label="measured (largest one-step change)")
    right.loglog(m, lipschitz[:, 5], "v-", color=COLORS[2], label="$c_H$: both terms over n")
    right.set_xlabel("steps n of the window")
    right.set_ylabel("Lipschitz constant")
    right.set_title("Hamming metric (one step changed)")
    right.legend(loc="best", frameon=False, fontsize=8)
    for axis in (left, right):
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xticks(m)
        axis.set_xticklabels([f"{int(v)}" for v in m])
    fig.tight_layout()
    figures["lipschitz"] = fig

    mixing = data.dataset("/moments/mixing", shape=(None, 5))
    if (mixing[:, 1:] <= 0).any() or mixing[0, 0] != 0:
        raise DataError(f"{data.path}: /moments/mixing needs θ = 0 first and positive deviations and factors")
    fig, ax = plt.subplots(figsize=(6, 4))
    theta = np.abs(mixing[:, 0])
    ax.semilogy(theta, mixing[:, 1] / mixing[0, 1], "o-", color=COLORS[0], label="measured median deviation")
    ax.semilogy(theta, mixing[:, 4] / mixing[0, 4], "^--", color=COLORS[1], label=r"the bound's factor $G/(1-\theta)$")
    ax.set_xlabel(r"$\theta = |\phi|$ (marginal held at $N(0, I)$)")
    ax.set_ylabel(r"relative to $\theta = 0$")
    ax.set_title("mixing: measured growth and the bound's")
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    figures["mixing"] = fig

    ratios = data.dataset("/moments/lemma10_ratios", shape=(None, 5))
    if (ratios[:, 1:] <= 0).any():
        raise DataError(f"{data.path}: /moments/lemma10_ratios needs positive ratios")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    lag = ratios[:, 0]
    ax.semilogy(lag, ratios[:, 1], "o-", color=COLORS[2], label="max, assumptions hold")
    ax.semilogy(lag, ratios[:, 2], "o:", color=COLORS[2], label="median, assumptions hold")
    ax.semilogy(lag, ratios[:, 3], "s-", color=COLORS[1], label="max, Gaussian input")
    ax.semilogy(lag, ratios[:, 4], "s:", color=COLORS[1], label="median, Gaussian input")
    ax.axhline(1, color="black", ls="--", lw=1, label="the bound")
    ax.set_xlabel("lag t − i")
    ax.set_ylabel(r"$\|\nabla_{x_i} y_t\|$ / Lemma 10's bound")
    ax.set_title("Lemma 10 on sampled inputs")
    ax.legend(loc="lower left", frameon=False, fontsize=8)
    fig.tight_layout()
    figures["lemma10"] = fig
    return figures


# MARK: - 07 spectral against gradient

def figures_07(data):
    """Prediction error against wall time: every BPTT run from a random start, the spectral
    estimate, its two refinements, and refinement from the truth (/paths)."""
    target = data.positive("/paths", "spectral_error")
    fig, ax = plt.subplots(figsize=(10, 5))
    for name, color, label in [("plain", COLORS[1], "plain BPTT from a random start"),
                               ("safeguarded", COLORS[0], "safeguarded BPTT (clipped, divergent minibatches skipped)")]:
        runs = data.integer(f"/paths/{name}", "runs")
        diverged = unstable = 0
        for k in range(1, runs + 1):
            run = f"/paths/{name}/run_{k:02d}"
            path = data.dataset(run, shape=(None, 3), allow_nan=True)
            ax.semilogy(path[:, 1], path[:, 2], "-", color=color, lw=0.8, alpha=0.6, label=label if k == 1 else None)
            # A NaN error: the model reached there diverges on a fresh window; marked at the last finite error before it.
            last = np.nan
            for seconds, error in path[:, 1:]:
                if np.isnan(error):
                    if not np.isnan(last):
                        ax.plot(seconds, last, "x", color=color, ms=6, mew=1.2)
                    unstable += 1
                else:
                    last = error
            if data.integer(run, "diverged") == 1:
                finite = path[~np.isnan(path[:, 2])]
                ax.plot(finite[-1, 1], finite[-1, 2], "o", mfc="none", color=color, ms=8, mew=1.5)
                diverged += 1
        if diverged:
            ax.plot([], [], "o", mfc="none", color=color, ms=8, mew=1.5, label=f"{name}: stopped by a divergent minibatch ({diverged} of {runs})")
        if unstable:
            ax.plot([], [], "x", color=color, ms=6, mew=1.2, label=f"{name}: a model on the way diverges on a fresh window ({unstable} observations)")
    for name, style, color, label in [("spectral_adam", "o-", COLORS[2], "spectral + Adam (fit --refine)"),
                                      ("spectral_lbfgs", "s-", COLORS[3], "spectral + L-BFGS (full batch)"),
                                      ("truth_adam", "--", "black", "Adam from the truth (Adam's reference)"),
                                      ("truth_lbfgs", ":", "black", "L-BFGS from the truth (L-BFGS's reference)")]:
        path = data.dataset(f"/paths/{name}", shape=(None, 3), allow_nan=True)
        path = path[path[:, 2] > 0] if name.startswith("truth") else path   # the truth itself scores 0
        ax.semilogy(path[:, 1], path[:, 2], style, color=color, lw=1.6, ms=3, label=label)
    spectral = data.dataset("/paths/spectral", shape=(1, 3))
    ax.semilogy(spectral[0, 1], spectral[0, 2], "*", color=COLORS[4], ms=16, zorder=5, label="the spectral estimate (GLOREE, one run)")
    ax.axhline(target, color=COLORS[4], ls=":", lw=1, label="the spectral estimate's error (the target of the timings)")
    ax.set_xlabel("wall time (s), observations excluded")
    ax.set_ylabel(r"prediction error $\|\hat y - y^*\| / \|y^*\|$ on fresh windows")
    ax.set_title("the spectral estimate against backpropagation through time")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    fig.tight_layout()
    return {"error-against-time": fig}


WALKTHROUGHS = {
    "01-score-functions": figures_01,
    "02-glm": figures_02,
    "03-quadratic-iornn": figures_03,
    "04-polynomial": figures_04,
    "05-bidirectional": figures_05,
    "06-concentration": figures_06,
    "07-spectral-vs-gradient": figures_07,
}


def resolve(name):
    if name in WALKTHROUGHS:
        return name
    matches = [w for w in WALKTHROUGHS if w.split("-")[0] == name.zfill(2)]
    if not matches:
        fail(f"no figures for a walkthrough '{name}' (known: {', '.join(WALKTHROUGHS)})", status=2)
    return matches[0]


def stage(fig, path, fmt, title):
    """Writes the figure to a temporary file beside `path`, renamed into place by `commit`."""
    folder = os.path.dirname(path) or "."
    if os.path.isdir(path) or (os.path.exists(path) and not os.path.isfile(path)):
        fail(f"{path} exists and is not a regular file; no figure was replaced")
    signal.pthread_sigmask(signal.SIG_BLOCK, HELD)   # no signal between creating and listing it
    try:
        handle, partial = tempfile.mkstemp(prefix=".plot-", suffix="." + fmt, dir=folder)
        os.close(handle)
        PENDING.append((partial, path))
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)
    try:
        metadata = {"Date": None, "Title": title} if fmt == "svg" else {"Software": None}
        fig.savefig(partial, format=fmt, metadata=metadata)
        os.chmod(partial, 0o644)
    finally:
        plt.close(fig)


def commit():
    """Renames every staged figure into place, with the signals held off: all or none."""
    global COMMITTED
    signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
    try:
        for partial, path in PENDING:
            os.replace(partial, path)
        PENDING.clear()
        COMMITTED = True
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)


class OneLineParser(argparse.ArgumentParser):
    """Reports a malformed command line in one line (not argparse's usage block)."""

    def error(self, message):
        fail(f"{message} (see Scripts/plot --help)", status=2)


def main():
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = OneLineParser(prog=PROGRAM, description="Draws docs/figures/ from the walkthroughs' HDF5 files.")
    parser.add_argument("walkthroughs", nargs="*", help="walkthrough names or numbers (default: every one with figures)")
    parser.add_argument("--data-dir", default=os.path.join(repository, "data"),
                        help="folder of the NN-name.h5 files (default: the repository's data/)")
    parser.add_argument("--out", default=os.path.join(repository, "docs", "figures"),
                        help="folder for the figures (default: the repository's docs/figures/)")
    parser.add_argument("--format", choices=["svg", "png"], default="svg", help="svg (default, what the docs embed) or png")
    args = parser.parse_args()
    names = [resolve(n) for n in args.walkthroughs] or list(WALKTHROUGHS)

    # 1. Draw every figure from the files, in memory: a bad file stops here, before any output.
    drawn = []
    for name in names:
        path = os.path.join(args.data_dir, f"{name}.h5")
        data = None
        try:
            data = Data(path, name)
            figures = WALKTHROUGHS[name](data)
            checks = checks_figure(data, f"{name}: every statistical verdict and its alternatives")
            if checks is not None:
                figures["checks"] = checks
            drawn += [(f"{name}-{figure_name}", fig) for figure_name, fig in figures.items()]
        except DataError as error:
            fail(f"{error}; no figure was replaced")
        except Exception as error:  # a bug here, or a file whose contents make no sense: still one line
            fail(f"drawing the figures of {name} from {path} failed ({type(error).__name__}: {first_line(error)}); no figure was replaced")
        finally:
            if data is not None:
                data.close()

    # 2. Write them to temporary files beside their targets, then rename them all into place.
    if os.path.islink(args.out) and not os.path.exists(args.out):
        fail(f"--out {args.out} is a symbolic link to nothing (or a loop of links)")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        fail(f"--out {args.out} exists and is not a folder")
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as error:
        fail(f"cannot create the figure folder {args.out} ({error.strerror})")
    written = []
    try:
        for title, fig in drawn:
            target = os.path.join(args.out, f"{title}.{args.format}")
            stage(fig, target, args.format, title)
            written.append(target)
        commit()
    except OSError as error:
        fail(f"writing the figures to {args.out} failed ({error.strerror or first_line(error)}); no figure was replaced")
    except Exception as error:
        fail(f"writing the figures to {args.out} failed ({type(error).__name__}: {first_line(error)}); no figure was replaced")

    # 3. Say what was written (a closed or full standard output is one line on stderr, too).
    try:
        sys.stdout.write("".join(target + "\n" for target in written))
        sys.stdout.flush()
    except OSError as error:
        os.write(2, f"{PROGRAM}: the figures were written, but listing them on standard output failed ({error.strerror or first_line(error)})\n".encode())
        os._exit(1)
    print(f"{PROGRAM}: {len(written)} figures in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
