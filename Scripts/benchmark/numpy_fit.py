#!/usr/bin/env python3
"""The estimator of `spectral-rnn fit`, written straightforwardly in numpy, for the benchmark.

Reads all of /x (N×n×dx) and /y (N×n×dy) with h5py, computes the scores u_t = (P x)_t of
every window at once, the dense second-order moment Ê[y_t ⊗ S₂(x[n], t)] by einsum, A1 and
A2 from it by simultaneous diagonalization (Jennrich, numpy.linalg), and U from the mixed
moment Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])] projected on the dual directions (MATH.md §4(a), §4(c)):

    U_jk = T(β_j, α_j, α_k, α_k) / 4,   T = E[y_t ⊗ S_{t,t−1,t−1}],

with S_{t,t−1,t−1} = u_t⊗u_{t−1}⊗u_{t−1} − P_{t,t−1}⊗u_{t−1} − (P_{t,t−1}⊗u_{t−1})ᵀ − u_t⊗P_{t−1,t−1}
(the (a,c) placement of the middle term), every admissible t of every window pooled.

Usage: numpy_fit.py FILE.h5 --hidden DH [--compare FIT.h5]

With --compare FIT.h5 (a `spectral-rnn fit` output of the same file), two agreements are
printed: the dense second-order moment against /diagnostics/second_moment and U computed
here with FIT's Â1, Â2 against /estimate/U (the same computation: rounding-level gaps);
then the whole estimate against FIT's after fixing the model's equivalences (unit rows of
A1 with a positive largest entry, units matched by |cosine|) — those differ by about the
sampling error, since the two decompositions use different random contractions.
"""
import argparse
import sys
import time

import h5py
import numpy as np


def stationary_covariance(phi, sigma):
    d = phi.shape[0]
    gamma = np.linalg.solve(np.eye(d * d) - np.kron(phi, phi), sigma.reshape(-1)).reshape(d, d)
    return (gamma + gamma.T) / 2


def estimate_process(x):
    """Least squares x_t ≈ Φ x_{t−1} pooled over windows; Σ the mean squared residual."""
    d = x.shape[2]
    before = x[:, :-1, :].reshape(-1, d)
    after = x[:, 1:, :].reshape(-1, d)
    phi = np.linalg.solve(before.T @ before, before.T @ after).T
    residual = after - before @ phi.T
    sigma = residual.T @ residual / len(residual)
    return phi, (sigma + sigma.T) / 2


def scores(x, phi, sigma):
    """u_t = (P x)_t for every window (block-tridiagonal P of the AR(1), MATH.md §2)."""
    q = np.linalg.inv(sigma)
    gamma_inverse = np.linalg.inv(stationary_covariance(phi, sigma))
    innovation = x[:, 1:, :] - x[:, :-1, :] @ phi.T          # ε_t = x_t − Φ x_{t−1}, t ≥ 2
    u = np.zeros_like(x)
    u[:, 0, :] = x[:, 0, :] @ gamma_inverse.T
    u[:, 1:, :] += innovation @ q.T                          # Q ε_t
    u[:, :-1, :] -= innovation @ (phi.T @ q).T               # − Φᵀ Q ε_{t+1}
    return u


def precision_diagonal(phi, sigma, n):
    """The diagonal blocks P_tt, t = 1…n (n×dx×dx)."""
    q = np.linalg.inv(sigma)
    gamma_inverse = np.linalg.inv(stationary_covariance(phi, sigma))
    phi_q_phi = phi.T @ q @ phi
    blocks = np.empty((n, phi.shape[0], phi.shape[0]))
    blocks[0] = gamma_inverse + phi_q_phi
    blocks[1:-1] = q + phi_q_phi
    blocks[-1] = q
    return blocks


def jennrich(tensor, rank, rng):
    """T = Σ_j b_j ⊗ a_j ⊗ a_j (dy×dx×dx): unit-norm rows a_j (rank×dx), then b_j by least squares."""
    dy, dx, _ = tensor.shape
    first = np.einsum("i,ijk->jk", rng.standard_normal(dy), tensor)
    second = np.einsum("i,ijk->jk", rng.standard_normal(dy), tensor)
    first, second = (first + first.T) / 2, (second + second.T) / 2
    basis = np.linalg.svd(first)[0][:, :rank]                       # span of the a_j
    reduced_first = basis.T @ first @ basis
    reduced_second = basis.T @ second @ basis
    _, vectors = np.linalg.eig(reduced_first @ np.linalg.inv(reduced_second))
    a = (basis @ np.real(vectors)).T
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    khatri_rao = np.einsum("ja,jb->jab", a, a).reshape(rank, dx * dx)
    b = np.linalg.lstsq(khatri_rao.T, tensor.reshape(dy, dx * dx).T, rcond=None)[0]   # rank×dy
    return a, b


def fit(x, y, phi, sigma, hidden, seed, given=None):
    """A1, U, A2 and the dense second-order moment. With `given` = (A1, A2), U is computed
    with those instead of the decomposition's (to compare the mixed moment with another fit)."""
    windows, n, dx = x.shape
    u = scores(x, phi, sigma)
    # Dense Ê[y_t ⊗ S₂(x[n], t)], S₂ = u_t ⊗ u_t − P_tt, pooled over all (window, t).
    pairs = windows * n
    second = np.einsum("wti,wtj,wtk->ijk", y, u, u) / pairs
    second -= np.einsum("ti,tjk->ijk", y.mean(axis=0), precision_diagonal(phi, sigma, n)) / n
    # E[y_t ⊗ S₂] = 2 Σ_j b_j ⊗ a_j ⊗ a_j.
    if given is None:
        a1, a2 = jennrich(second, hidden, np.random.default_rng(seed))
        a2 = a2 / 2
    else:
        a1, a2 = given
    alpha = np.linalg.pinv(a1)              # dx×dh, columns α_j
    beta = np.linalg.pinv(a2)               # dy×dh, columns β_j
    # Projected mixed moment over t = 2…n: contractions of u_t, u_{t−1}, y_t with the duals.
    q = np.linalg.inv(sigma)
    cross = -q @ phi                        # P_{t,t−1}
    diagonal = precision_diagonal(phi, sigma, n)
    yb = y[:, 1:, :] @ beta                 # y_t · β_j        (N×(n−1)×dh)
    ua = u[:, 1:, :] @ alpha                # u_t · α_j
    va = u[:, :-1, :] @ alpha               # u_{t−1} · α_k
    cross_jk = alpha.T @ cross @ alpha      # α_jᵀ P_{t,t−1} α_k
    previous_kk = np.einsum("ak,tab,bk->tk", alpha, diagonal[:-1], alpha)   # α_kᵀ P_{t−1,t−1} α_k
    mixed = (np.einsum("wtj,wtj,wtk->jk", yb, ua, va * va)
             - 2 * np.einsum("wtj,jk,wtk->jk", yb, cross_jk, va)
             - np.einsum("wtj,wtj,tk->jk", yb, ua, previous_kk)) / (windows * (n - 1))
    u_matrix = mixed / 4
    return a1, u_matrix, a2, second


def canonical(a1, u, a2):
    """Fix the equivalences: unit rows a_j with a positive largest entry (scaling by s_j > 0 or
    sign s_j: a → s a, U_j· → s_j U_j·, U_·k → U_·k / s_k², b → b / s²)."""
    norms = np.linalg.norm(a1, axis=1)
    signs = np.sign(a1[np.arange(len(a1)), np.argmax(np.abs(a1), axis=1)])
    s = signs / norms
    return a1 * s[:, None], u * s[:, None] / (s ** 2)[None, :], a2 / (s ** 2)[:, None]


def compare(mine, theirs):
    a1, u, a2 = canonical(*mine)
    b1, v, b2 = canonical(*theirs)
    cosines = np.abs(a1 @ b1.T)
    order = [int(np.argmax(cosines[:, j])) for j in range(len(b1))]   # mine matched to theirs
    a1, u, a2 = a1[order], u[np.ix_(order, order)], a2[order]
    return {name: np.linalg.norm(p - q) / np.linalg.norm(q)
            for name, p, q in (("A1", a1, b1), ("U", u, v), ("A2", a2, b2))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--hidden", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare", help="a spectral-rnn fit output to compare with")
    args = parser.parse_args()
    start = time.perf_counter()
    with h5py.File(args.file, "r") as f:
        x = f["/x"][()]
        y = f["/y"][()]
        if "/process/Phi" in f and "/process/Sigma" in f:
            phi, sigma, source = f["/process/Phi"][()], f["/process/Sigma"][()], "file"
        else:
            phi, sigma = estimate_process(x)
            source = "estimated"
    read = time.perf_counter()
    a1, u, a2, second = fit(x, y, phi, sigma, args.hidden, args.seed)
    done = time.perf_counter()
    print(f"numpy fit: N = {x.shape[0]} windows × n = {x.shape[1]} steps, dx = {x.shape[2]}, dy = {y.shape[2]}, "
          f"dh = {args.hidden}, process from {source}; read {read - start:.2f} s, estimate {done - read:.2f} s")
    print("A1 =", np.round(a1, 4).tolist())
    print("U  =", np.round(u, 4).tolist())
    if args.compare:
        with h5py.File(args.compare, "r") as f:
            theirs = (f["/estimate/A1"][()], f["/estimate/U"][()], f["/estimate/A2"][()])
            their_second = f["/diagnostics/second_moment"][()]
            their_phi, their_sigma = f["/process/Phi"][()], f["/process/Sigma"][()]
        # The moments are the same computation: they agree to rounding.
        _, u_given, _, second_given = fit(x, y, their_phi, their_sigma, args.hidden, args.seed,
                                          given=(theirs[0], theirs[2]))
        moment_gap = np.linalg.norm(second_given - their_second) / np.linalg.norm(their_second)
        u_gap = np.linalg.norm(u_given - theirs[1]) / np.linalg.norm(theirs[1])
        print(f"same moments as {args.compare}: second-order moment relative difference {moment_gap:.1e}, "
              f"U from its Â1, Â2 {u_gap:.1e}")
        # The decompositions draw different random contractions: the factors differ by about
        # the sampling error of the moment.
        gaps = compare((a1, u, a2), theirs)
        print("relative difference of the whole estimate (decompositions differ in their random draws): "
              + ", ".join(f"{name} {gap:.1e}" for name, gap in gaps.items()))


if __name__ == "__main__":
    sys.exit(main())
