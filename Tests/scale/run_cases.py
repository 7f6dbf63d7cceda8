#!/usr/bin/env python3
"""Issue 13's acceptance cases: `spectral-rnn fit` on quadratic IO-RNN files written by h5py.

For each dimension and seed, writes the file with make_iornn_case.py (60 000 windows x 32
steps, phi = 0.5, noise 0.1 by default), fits it, reads the fit's output with h5py and prints
one row: the decomposition residual against the sampling error of the moment, the start that
won, the factor match scores of A1 and A2, U's relative standard error and error, and the
prediction error on fresh windows beside the same with the true U in U-hat's place.

A case passes when match(A1) >= 0.999 and residual <= 1.5 x sampling error. Exits 1 if any
case fails. Each input file is removed after its fit (a dx = 32 file is 1 GB).

Usage: run_cases.py BIN --work DIR [--dims 16:12,32:24] [--seeds 1..5] [--windows 60000] [--length 32]
"""
import argparse
import os
import subprocess
import sys
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def seeds(text):
    if ".." in text:
        a, b = text.split("..")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bin")
    parser.add_argument("--work", required=True)
    parser.add_argument("--dims", default="16:12,32:24", help="dx:dh pairs (dy = dx)")
    parser.add_argument("--seeds", default="1..5")
    parser.add_argument("--windows", type=int, default=60000)
    parser.add_argument("--length", type=int, default=32)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rows = []
    failures = 0
    print("| dx = dy | dh | seed | residual | sampling error | ratio | start kept | match A1 | match A2 "
          "| rel. SE of Û | error of Û | prediction error | … with true U | fit time (s) | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for pair in args.dims.split(","):
        dx, dh = (int(v) for v in pair.split(":"))
        for seed in seeds(args.seeds):
            data = os.path.join(args.work, f"case-dx{dx}-s{seed}.h5")
            fit = os.path.join(args.work, f"fit-dx{dx}-s{seed}.h5")
            subprocess.run([sys.executable, os.path.join(HERE, "make_iornn_case.py"), data, "--dx", str(dx),
                            "--hidden", str(dh), "--dy", str(dx), "--windows", str(args.windows),
                            "--length", str(args.length), "--seed", str(seed)], check=True)
            start = time.monotonic()
            run = subprocess.run([args.bin, "fit", data, "--hidden", str(dh), "--output", fit, "--seed", str(seed)],
                                 capture_output=True, text=True)
            wall = time.monotonic() - start
            os.remove(data)
            if run.returncode != 0:
                print(f"| {dx} | {dh} | {seed} | fit failed: {run.stderr.strip()} |||||||||||| fails |")
                failures += 1
                continue
            with h5py.File(fit, "r") as f:
                d = f["diagnostics"].attrs
                residual = float(d["decomposition_residual"])
                se = float(d["second_moment_relative_se"])
                kept = d["decomposition_start"]
                kept = kept.decode() if isinstance(kept, bytes) else str(kept)
                match = f["comparison/factor_match"][()]
                u_se = float(d["u_relative_se"])
                u_error = float(f["comparison/parameter_errors"][()][1])
                prediction = float(f["comparison/prediction_error"][()])
                true_u = float(f["comparison/prediction_error_true_u"][()])
            ok = match[0] >= 0.999 and residual <= 1.5 * se
            failures += 0 if ok else 1
            print(f"| {dx} | {dh} | {seed} | {residual:.4g} | {se:.4g} | {residual / se:.3f} | {kept} | {match[0]:.6f} "
                  f"| {match[1]:.6f} | {u_se:.3g} | {u_error:.3g} | {prediction:.4g} | {true_u:.4g} | {wall:.1f} "
                  f"| {'passes' if ok else 'fails'} |", flush=True)
            os.remove(fit)
    print(f"\n{failures} of the cases failed (criterion: match(A1) ≥ 0.999 and residual ≤ 1.5 × sampling error).")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
