// Shared helpers of the test suites: a deterministic generator for test entries, rounding
// bounds, comparison helpers and the AR(1) processes several suites use.

import Foundation
import Testing
@testable import SpectralRNN

/// A tiny deterministic generator (64-bit LCG, Knuth's MMIX constants) for test entries,
/// independent of the library's RandomStream.
struct LCG {
    private var state: UInt64

    init(seed: UInt64) { state = seed ^ 0x9E37_79B9_7F4A_7C15 }

    /// A uniform value in [0, 1) from the top 53 bits.
    mutating func uniform() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) * 0x1p-53
    }

    /// A uniform value in [−1, 1).
    mutating func entry() -> Double { 2 * uniform() - 1 }

    mutating func vector(_ n: Int) -> [Double] { (0..<n).map { _ in entry() } }

    mutating func tensor(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, storage: vector(shape.reduce(1, *)))
    }

    mutating func matrix(_ rows: Int, _ columns: Int) -> Tensor { tensor([rows, columns]) }

    /// A well-conditioned square matrix: random entries plus `n · I`.
    mutating func wellConditioned(_ n: Int) -> Tensor {
        matrix(n, n) + Double(n) * Tensor.identity(n)
    }
}

/// γ_k = k u / (1 − k u), u = 2⁻⁵³: the relative rounding bound of k floating-point operations
/// (the library's `Rounding.gamma`).
func gamma(_ k: Int) -> Double { Rounding.gamma(k) }

/// The largest `|a − b| / scale` over the entries (0/0 counts as 0).
func worstRatio(_ a: Tensor, _ b: Tensor, scale: Tensor) -> Double {
    precondition(a.shape == b.shape && b.shape == scale.shape)
    var worst = 0.0
    for k in 0..<a.count where a.storage[k] != b.storage[k] {
        worst = max(worst, abs(a.storage[k] - b.storage[k]) / scale.storage[k])
    }
    return worst
}

/// The bit patterns of a tensor's entries, for bit-for-bit comparisons.
func bits(_ tensor: Tensor) -> [UInt64] { tensor.storage.map(\.bitPattern) }

/// The fixed vector AR(1) of several suites: dx = 2, non-diagonal Φ with eigenvalues
/// 0.45 ± 0.24i (spectral radius √0.26 ≈ 0.51), non-diagonal SPD Σ.
func fixedProcess() throws -> AR1Process {
    try AR1Process(phi: Tensor(rows: [[0.5, 0.3], [-0.2, 0.4]]),
                   sigma: Tensor(rows: [[1.0, 0.3], [0.3, 0.5]]))
}

/// A random stable AR(1) of dimension d: Φ a Gaussian matrix rescaled to the given spectral
/// radius, Σ = AAᵀ + ½I.
func randomProcess(dimension d: Int, radius: Double, using rng: inout RandomStream) throws -> AR1Process {
    let g = rng.gaussianTensor([d, d])
    let phi = try g * (radius / spectralRadius(g))
    let a = rng.gaussianTensor([d, d])
    let sigma = matmul(a, a, transposeB: true) + Tensor.identity(d) * 0.5
    return try AR1Process(phi: phi, sigma: (sigma + sigma.transposed()) * 0.5)
}
