#!/usr/bin/env python3
"""Writes the hostile-but-valid HDF5 files of issue 12 into a folder, with h5py (its own
HDF5, 2.0 here, not the project's 1.10): compressed with a filter the project's HDF5 lacks,
virtual datasets (old and new format, one with a missing source, one whose source is a
FIFO), an external link to a FIFO, tiny files that declare huge datasets or never wrote (all or part of) their data, a hard-link cycle, a wide group, a deep tree, names with control
characters, a tiny Σ and values whose sums overflow. check-commands.sh runs
spectral-rnn on each and checks for one clear line (or a correct answer).

Usage: make_hostile_files.py FOLDER
"""
import os
import sys

import h5py
import numpy as np


def windows(seed=1, n_windows=200, length=6, dx=3, dy=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_windows, length, dx))
    y = rng.standard_normal((n_windows, length, dy))
    return x, y


def main(folder):
    os.makedirs(folder, exist_ok=True)
    path = lambda name: os.path.join(folder, name)
    x, y = windows()

    # A filter HDF5 1.10 does not ship (h5py registers lzf itself).
    with h5py.File(path("lzf.h5"), "w") as f:
        f.create_dataset("x", data=x, compression="lzf")
        f.create_dataset("y", data=y, compression="lzf")

    # Virtual /x over a source file, in the 1.10 format; the source is then removed.
    with h5py.File(path("vds_source.h5"), "w") as f:
        f.create_dataset("data", data=x)
    for name, libver in (("vds_missing.h5", ("earliest", "v110")), ("vds_new.h5", "latest")):
        layout = h5py.VirtualLayout(shape=x.shape, dtype="f8")
        layout[:] = h5py.VirtualSource("vds_source.h5", "data", shape=x.shape)
        with h5py.File(path(name), "w", libver=libver) as f:
            f.create_virtual_dataset("x", layout, fillvalue=0)
            f.create_dataset("y", data=y)
    # vds_new.h5 keeps its source (only the format differs); vds_missing.h5 loses it:
    # a copy of the source is kept for vds_new under another name.
    os.replace(path("vds_source.h5"), path("vds_source_kept.h5"))
    layout = h5py.VirtualLayout(shape=x.shape, dtype="f8")
    layout[:] = h5py.VirtualSource("vds_source_kept.h5", "data", shape=x.shape)
    with h5py.File(path("vds_new.h5"), "w", libver="latest") as f:
        f.create_virtual_dataset("x", layout, fillvalue=0)
        f.create_dataset("y", data=y)

    # Tiny files that declare huge datasets (chunks never written: the file stays small).
    with h5py.File(path("huge.h5"), "w") as f:
        f.create_dataset("huge", shape=(10**5, 10**6), chunks=(100, 10**4), dtype="f8")
    with h5py.File(path("huge_phi.h5"), "w") as f:
        f["x"], f["y"] = x, y
        f.create_dataset("process/Phi", shape=(10**5, 10**6), chunks=(100, 10**4), dtype="f8")
        f["process/Sigma"] = np.eye(3)
    with h5py.File(path("huge_model.h5"), "w") as f:
        f["x"], f["y"] = x, y
        f["process/Phi"], f["process/Sigma"] = 0.5 * np.eye(3), np.eye(3)
        f.create_dataset("model/A1", shape=(10**5, 10**6), chunks=(100, 10**4), dtype="f8")
        f["model/U"], f["model/A2"] = np.eye(2) * 0.1, np.ones((2, 3))

    # /x and /y declared with 2⁶² windows, never written (a fit would stream fill values
    # for ever), and a /x of which half the chunks were written.
    with h5py.File(path("huge_x.h5"), "w") as f:
        f.create_dataset("x", shape=(2**62, 6, 3), chunks=(1, 6, 3), dtype="f8")
        f.create_dataset("y", shape=(2**62, 6, 3), chunks=(1, 6, 3), dtype="f8")
    with h5py.File(path("partial.h5"), "w") as f:
        f.create_dataset("x", shape=x.shape, chunks=(10, 6, 3), dtype="f8")
        f["x"][:100] = x[:100]
        f["y"] = y

    # A virtual /x whose source file is then replaced by a FIFO (opening it would block).
    with h5py.File(path("vds_fifo_source.h5"), "w") as f:
        f.create_dataset("data", data=x)
    layout = h5py.VirtualLayout(shape=x.shape, dtype="f8")
    layout[:] = h5py.VirtualSource("vds_fifo_source.h5", "data", shape=x.shape)
    with h5py.File(path("vds_fifo.h5"), "w", libver=("earliest", "v110")) as f:
        f.create_virtual_dataset("x", layout, fillvalue=0)
        f.create_dataset("y", data=y)
    os.remove(path("vds_fifo_source.h5"))
    os.mkfifo(path("vds_fifo_source.h5"))

    # /x as an external link to a file that is a FIFO (HDF5 would open it and block).
    os.mkfifo(path("external_fifo_target.h5"))
    with h5py.File(path("external_fifo.h5"), "w") as f:
        f["x"] = h5py.ExternalLink("external_fifo_target.h5", "/x")
        f["y"] = y

    # A hard-link cycle: /a/back is /a.
    with h5py.File(path("cycle.h5"), "w") as f:
        g = f.create_group("a")
        g["back"] = f["a"]
        g["data"] = np.arange(3.0)

    # 20 000 members in one group (dense link storage), and a tree 400 groups deep.
    with h5py.File(path("wide.h5"), "w", libver="latest") as f:
        g = f.create_group("wide")
        for k in range(20000):
            g.create_group(f"member{k:05d}")
    with h5py.File(path("deep.h5"), "w") as f:
        name = "/".join(f"level{k}" for k in range(400))
        f.create_group(name)

    # The same width in the old format (a symbol table, not a B-tree of names).
    with h5py.File(path("wide_old.h5"), "w") as f:
        g = f.create_group("wide")
        for k in range(20000):
            g[f"d{k:05d}"] = np.float64(k)

    # Names with a line break and an ANSI escape; an attribute whose value holds one; an
    # external link (inspect shows it and does not open the other file).
    with h5py.File(path("names.h5"), "w") as f:
        f.create_group("line\nbreak")
        f["\x1b[31mred"] = np.zeros(2)
        f.attrs["note"] = "\x1b[2Jcleared"
        f["elsewhere"] = h5py.ExternalLink("cycle.h5", "/a")

    # Σ = 10⁻³⁰⁰ I: positive definite, but its inverse overflows.
    with h5py.File(path("sigma_tiny.h5"), "w") as f:
        f["x"], f["y"] = x, y
        f["process/Phi"], f["process/Sigma"] = 0.5 * np.eye(3), 1e-300 * np.eye(3)

    # x·10²⁰⁰: finite values whose products overflow.
    with h5py.File(path("x_overflow.h5"), "w") as f:
        f["x"], f["y"] = x * 1e200, y


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
