import Foundation

/// An AR(1) input process estimated from data, with what it was estimated from.
public struct AR1Estimate: Sendable {
    /// The estimated process (Φ̂, Σ̂ and the stationary covariance they imply).
    public let process: AR1Process
    /// The number of pairs `(x_{t−1}, x_t)` inside windows that entered the least squares.
    public let pairs: Int
}

/// Least squares for the vector AR(1) `x_t = Φ x_{t−1} + ε_t` (MATH.md §2), pooled over
/// every pair `(x_{t−1}, x_t)` inside every window of `source` (pairs never cross windows):
///
/// `Φ̂ = C₁₀ C₀₀⁻¹`,  `Σ̂ = (C₁₁ − Φ̂ C₁₀ᵀ) / M`,
///
/// with `C₀₀ = Σ x_{t−1} x_{t−1}ᵀ`, `C₁₀ = Σ x_t x_{t−1}ᵀ`, `C₁₁ = Σ x_t x_tᵀ` over the M pairs
/// (`Σ̂` is the mean squared residual, the conditional maximum-likelihood estimate). One
/// pass over the source; memory is three dx×dx sums whatever the number of windows.
/// Throws a `ModelError` when the lagged inputs do not span R^dx or the estimate is not a
/// stationary process (spectral radius of Φ̂ at least 1, or Σ̂ not positive definite).
public func fitAR1Process(_ source: WindowSource) throws -> AR1Estimate {
    let d = source.inputDimension
    var c00 = [Double](repeating: 0, count: d * d)
    var c10 = [Double](repeating: 0, count: d * d)
    var c11 = [Double](repeating: 0, count: d * d)
    var pairs = 0
    // Each batch is summed on its own, then added to the totals: the rounding error grows
    // with the number of batches, not with the number of pairs.
    var b00 = c00, b10 = c10, b11 = c11
    var product = [Double](repeating: 0, count: d * d)
    try source.forEachInputBatch { segments in
        for k in 0..<(d * d) { b00[k] = 0; b10[k] = 0; b11[k] = 0 }
        for segment in segments {
            let first = segment.firstTime
            let windows = max(1, segment.windowCount)
            let steps = segment.x.count / (windows * d)
            let n = segment.windowLength
            segment.x.withUnsafeBufferPointer { xBuffer in
                guard let x = xBuffer.baseAddress, steps >= 1 else { return }
                if first == 0, steps == n, segment.accumulate == 0..<n, n >= 2 {
                    // Whole windows stacked: the R − 1 consecutive row pairs of the segment by three
                    // dgemms, less the windows − 1 pairs that straddle two windows.
                    let rows = windows * n
                    for (target, nowRows, beforeRows) in [(0, x, x), (1, x + d, x), (2, x + d, x + d)] {
                        let left = target == 0 ? beforeRows : nowRows
                        gemm(transposeA: true, transposeB: false, m: d, n: d, k: rows - 1, left, lda: d,
                             beforeRows, ldb: d, &product, ldc: d)
                        for k in 0..<(d * d) {
                            switch target {
                            case 0: b00[k] += product[k]
                            case 1: b10[k] += product[k]
                            default: b11[k] += product[k]
                            }
                        }
                    }
                    // Through raw pointers: indexing the captured arrays checked bounds and
                    // uniqueness at every one of the 3·d² updates per window (3% of a fit's CPU).
                    b00.withUnsafeMutableBufferPointer { s00 in
                        b10.withUnsafeMutableBufferPointer { s10 in
                            b11.withUnsafeMutableBufferPointer { s11 in
                                guard let p00 = s00.baseAddress, let p10 = s10.baseAddress, let p11 = s11.baseAddress else { return }
                                for window in 1..<max(1, windows) {
                                    let now = x + window * n * d, before = now - d
                                    for i in 0..<d {
                                        for j in 0..<d {
                                            p00[i * d + j] -= before[i] * before[j]
                                            p10[i * d + j] -= now[i] * before[j]
                                            p11[i * d + j] -= now[i] * now[j]
                                        }
                                    }
                                }
                            }
                        }
                    }
                    pairs += windows * (n - 1)
                    return
                }
                for window in 0..<windows {
                    let base = window * steps * d
                    // Pair (t−1, t) belongs to the step t that accumulates it; t = 0 has no pair.
                    for t in segment.accumulate where t >= 1 {
                        let now = x + base + (t - first) * d, before = now - d
                        for i in 0..<d {
                            let xi = now[i], pi = before[i]
                            for j in 0..<d {
                                b00[i * d + j] += pi * before[j]
                                b10[i * d + j] += xi * before[j]
                                b11[i * d + j] += xi * now[j]
                            }
                        }
                        pairs += 1
                    }
                }
            }
        }
        for k in 0..<(d * d) { c00[k] += b00[k]; c10[k] += b10[k]; c11[k] += b11[k] }
    }
    let origin = "the AR(1) process estimated from /x by least squares over \(pairs) pairs (x_{t−1}, x_t)"
    guard pairs > d else {
        throw ModelError("cannot estimate the AR(1) process from /x: \(pairs) pair\(pairs == 1 ? "" : "s") (x_{t−1}, x_t) for a \(d)×\(d) Φ; "
                         + "at least \(d + 1) are needed")
    }
    guard (c00 + c10 + c11).allSatisfy({ $0.isFinite }) else {
        throw ModelError("cannot estimate the AR(1) process from /x: the sums of x_{t−1} x_{t−1}ᵀ, x_t x_{t−1}ᵀ, x_t x_tᵀ over \(pairs) "
                         + "pairs overflow float64 (entries of /x near 10¹⁵⁴ or above, or a few huge ones); rescale /x")
    }
    let sum00 = Tensor(shape: [d, d], storage: c00)
    let sum10 = Tensor(shape: [d, d], storage: c10)
    let sum11 = Tensor(shape: [d, d], storage: c11)
    // Φ̂ᵀ = C₀₀⁻¹ C₁₀ᵀ (C₀₀ is symmetric), refused when C₀₀ is singular to working precision.
    let phiTransposed: Tensor
    do {
        let condition = try conditionNumber(sum00)
        guard condition < 1e12 else { throw ModelError("singular") }
        phiTransposed = try solve(sum00, sum10.transposed())
    } catch {
        throw ModelError("cannot estimate the AR(1) process from /x: the lagged inputs x_{t−1} do not span R^\(d) "
                         + "(Σ x_{t−1} x_{t−1}ᵀ over \(pairs) pairs is singular); give /process/Phi and /process/Sigma")
    }
    let phi = phiTransposed.transposed()
    var sigma = (sum11 - matmul(phi, sum10, transposeB: true)) / Double(pairs)
    sigma = (sigma + sigma.transposed()) * 0.5
    guard phi.isFinite, sigma.isFinite else {
        throw ModelError("\(origin) is not finite; give /process/Phi and /process/Sigma")
    }
    do {
        return AR1Estimate(process: try AR1Process(phi: phi, sigma: sigma), pairs: pairs)
    } catch {
        let reason = (error as? ModelError)?.message ?? "\(error)"
        throw ModelError("\(origin) cannot be used (\(reason)); give /process/Phi and /process/Sigma")
    }
}

/// The AR(1) input process estimated from `source` by least squares (see `fitAR1Process`).
public func estimateAR1Process(_ source: WindowSource) throws -> AR1Process {
    try fitAR1Process(source).process
}
