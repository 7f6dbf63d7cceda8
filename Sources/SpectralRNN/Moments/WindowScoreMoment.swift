/// `Ê[y_t ⊗ S_{t+o₁, …, t+o_m}(x[n])]`: the cross-moment of the output at time t with a mixed
/// score whose slots lie at the given offsets from t (paper Lemma 3, MATH.md §2), dense
/// (dy × dx^m), pooled over every t of every window for which all slots lie inside the window.
///
/// The general, slow path — one dense score tensor per (window, t) — for small dimensions
/// and any slot pattern, e.g. the paper's `S₄(x[n], t−1)` (offsets −1, −1, −1, −1) that
/// Theorem 5's second display uses. Its contractions with directions are streamed by
/// `estimateProjectedScoreMoment` (ProjectedScoreMoment.swift); the fast estimators of the
/// quadratic IO-RNN are in WindowMoments.swift. Needs segments holding whole windows (as `TensorWindowSource` gives
/// for windows up to its `stepsPerBatch`).
public func estimateWindowScoreMoment(_ source: WindowSource, process: AR1Process, offsets: [Int]) throws -> StreamingMean {
    let dx = source.inputDimension, dy = source.outputDimension
    guard !offsets.isEmpty else { throw ModelError("window score moment: give at least one slot offset") }
    var moment = StreamingMean(shape: [dy] + Array(repeating: dx, count: offsets.count))
    var precisions: [Int: WindowPrecision] = [:]
    try source.forEachBatch { segments in
        for segment in segments {
            let n = segment.windowLength, windows = max(1, segment.windowCount)
            guard segment.firstTime == 0, segment.x.count == windows * n * dx else {
                throw ModelError("window score moment: needs whole windows in each segment (got times \(segment.firstTime)… of a window of length \(n))")
            }
            let precision = precisions[n] ?? process.windowPrecision(length: n)
            precisions[n] = precision
            // Stacked windows one after the other.
            for w in 0..<windows {
                let window = Tensor(shape: [n, dx], storage: Array(segment.x[(w * n * dx)..<((w + 1) * n * dx)]))
                let yOffset = w * n * dy
                let u = precision.u(window)
                for t in segment.accumulate {
                    let times = offsets.map { t + $0 }
                    guard times.allSatisfy({ $0 >= 0 && $0 < n }) else { continue }
                    let score = GaussianScore.mixed(u: { u.row($0) }, times: times, precision: precision)
                    var sample = [Double](repeating: 0, count: dy * score.count)
                    for i in 0..<dy {
                        let yi = segment.y[yOffset + t * dy + i]
                        for e in 0..<score.count { sample[i * score.count + e] = yi * score.storage[e] }
                    }
                    moment.add(sample)
                }
            }
        }
    }
    return moment
}
