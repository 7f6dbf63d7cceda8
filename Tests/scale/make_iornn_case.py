#!/usr/bin/env python3
"""Writes a quadratic IO-RNN data set with h5py alone (no SpectralRNN code), for issue 13's cases.

    h_0 = 0,  h_t = (A1 x_t + U h_{t-1})^2,  y_t = A2^T h_t + eta_t,  eta_t ~ N(0, noise^2 I),

inputs from the stationary AR(1) process x_t = phi x_{t-1} + eps_t, eps_t ~ N(0, I) (so
Gamma = I / (1 - phi^2)), the first step drawn from N(0, Gamma). The model is drawn with
numpy's generator: rows of A1 uniformly random directions of norm --row-norm, U a random
matrix rescaled to spectral norm --spectral-norm-u, rows of A2 uniformly random unit
directions (redrawn until the row condition numbers of A1 and A2 are below 10).

Layout as `spectral-rnn fit` reads it (CONVENTIONS §5): /x (N x n x dx), /y (N x n x dy),
/process/Phi, /process/Sigma, /model/{A1, U, A2}, with --no-process to leave /process out
(fit then estimates the AR(1) by least squares).

Usage: make_iornn_case.py OUT.h5 --dx 16 --hidden 12 --dy 16 [--windows 60000] [--length 32]
       [--phi 0.5] [--noise 0.1] [--seed 1] [--no-process]
"""
import argparse
import sys

import h5py
import numpy as np


def row_condition(m):
    s = np.linalg.svd(m, compute_uv=False)
    return s[0] / s[-1]


def unit_rows(rng, rows, columns):
    m = rng.standard_normal((rows, columns))
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output")
    parser.add_argument("--dx", type=int, required=True)
    parser.add_argument("--hidden", type=int, required=True)
    parser.add_argument("--dy", type=int, required=True)
    parser.add_argument("--windows", type=int, default=60000)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--phi", type=float, default=0.5)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--row-norm", type=float, default=0.5)
    parser.add_argument("--spectral-norm-u", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-process", action="store_true")
    args = parser.parse_args()
    dx, dh, dy, n_windows, n = args.dx, args.hidden, args.dy, args.windows, args.length
    if not (1 <= dh <= min(dx, dy)) or n_windows < 1 or n < 2 or not abs(args.phi) < 1:
        sys.exit("make_iornn_case.py: needs 1 <= hidden <= min(dx, dy), windows >= 1, length >= 2, |phi| < 1")

    rng = np.random.default_rng([13, args.seed])
    while True:
        a1 = args.row_norm * unit_rows(rng, dh, dx)
        a2 = unit_rows(rng, dh, dy)
        if row_condition(a1) < 10 and row_condition(a2) < 10:
            break
    u = rng.standard_normal((dh, dh))
    u *= args.spectral_norm_u / np.linalg.norm(u, 2)

    # Windows in blocks, so memory stays at one block of states.
    phi = args.phi
    gamma_sd = 1 / np.sqrt(1 - phi * phi)
    with h5py.File(args.output, "w", libver=("earliest", "v110")) as f:
        xs = f.create_dataset("x", (n_windows, n, dx), dtype="<f8")
        ys = f.create_dataset("y", (n_windows, n, dy), dtype="<f8")
        block = 4096
        for start in range(0, n_windows, block):
            m = min(block, n_windows - start)
            x = np.empty((m, n, dx))
            x[:, 0] = gamma_sd * rng.standard_normal((m, dx))
            for t in range(1, n):
                x[:, t] = phi * x[:, t - 1] + rng.standard_normal((m, dx))
            h = np.zeros((m, dh))
            y = np.empty((m, n, dy))
            for t in range(n):
                h = (x[:, t] @ a1.T + h @ u.T) ** 2
                y[:, t] = h @ a2 + args.noise * rng.standard_normal((m, dy))
            if not (np.isfinite(y).all()):
                sys.exit("make_iornn_case.py: the simulation diverged; lower --row-norm or --spectral-norm-u")
            xs[start:start + m] = x
            ys[start:start + m] = y
        if not args.no_process:
            f["process/Phi"] = phi * np.eye(dx)
            f["process/Sigma"] = np.eye(dx)
        f["model/A1"] = a1
        f["model/U"] = u
        f["model/A2"] = a2
        f.attrs["written_by"] = "Tests/scale/make_iornn_case.py (h5py)"
        f.attrs["noise"] = args.noise


if __name__ == "__main__":
    main()
