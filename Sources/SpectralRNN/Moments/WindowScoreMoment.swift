/// `Ê[y_t ⊗ S_{t+o₁, …, t+o_m}(x[n])]`: the cross-moment of the output at time t with a mixed
/// score whose slots lie at the given offsets from t (paper Lemma 3, MATH.md §2), dense
/// (dy × dx^m), pooled over every t of every window for which all slots lie inside the window.
///
/// The general, slow path — one dense score tensor per (window, t) — for small dimensions
/// and any slot pattern, e.g. the paper's `S₄(x[n], t−1)` (offsets −1, −1, −1, −1) that
/// Theorem 5's second display uses. The fast estimators of the quadratic IO-RNN are in
/// WindowMoments.swift. Needs segments holding whole windows (as `TensorWindowSource` gives
/// for windows up to its `stepsPerBatch`).
public func estimateWindowScoreMoment(_ source: WindowSource, process: AR1Process, offsets: [Int]) throws -> StreamingMean {
    let dx = source.inputDimension, dy = source.outputDimension
    guard !offsets.isEmpty else { throw ModelError("window score moment: give at least one slot offset") }
    var moment = StreamingMean(shape: [dy] + Array(repeating: dx, count: offsets.count))
    var precisions: [Int: WindowPrecision] = [:]
    try source.forEachBatch { segments in
        for segment in segments {
            let n = segment.windowLength
            guard segment.firstTime == 0, segment.x.count == n * dx else {
                throw ModelError("window score moment: needs whole windows in each segment (got times \(segment.firstTime)… of a window of length \(n))")
            }
            let precision = precisions[n] ?? process.windowPrecision(length: n)
            precisions[n] = precision
            let window = Tensor(shape: [n, dx], storage: segment.x)
            let u = precision.u(window)
            for t in segment.accumulate {
                let times = offsets.map { t + $0 }
                guard times.allSatisfy({ $0 >= 0 && $0 < n }) else { continue }
                let score = GaussianScore.mixed(u: { u.row($0) }, times: times, precision: precision)
                var sample = [Double](repeating: 0, count: dy * score.count)
                for i in 0..<dy {
                    let yi = segment.y[t * dy + i]
                    for e in 0..<score.count { sample[i * score.count + e] = yi * score.storage[e] }
                }
                moment.add(sample)
            }
        }
    }
    return moment
}

/// One projected cross-moment `E[(β·y_t) · S_{t+o₁, …, t+o_m}(x[n])(v₁, …, v_m)]`: an output
/// direction β and one (offset from t, vector) pair per score slot (MATH.md §2).
public struct ScoreProjection: Sendable {
    public let output: [Double]
    public let slots: [(offset: Int, vector: [Double])]
    public init(output: [Double], slots: [(offset: Int, vector: [Double])]) {
        self.output = output
        self.slots = slots
    }
}

/// `Ê[(β·y_t) · S_{t+o₁…t+o_m}(x[n])(v₁, …, v_m)]` for each projection, as one StreamingMean
/// (one entry per projection, with batch means), pooled over every t of every window at which
/// all of the projection's slots lie inside the window — and only over t where every
/// projection's slots do, so that all entries come from the same pairs.
///
/// Never builds the dense dx^m score: each contraction is `ContractedScore`'s Hermite
/// recursion on the projections `u_τ·v` (cost polynomial in m), its couplings `vᵀP_{τσ}w`
/// computed once per (window length, t). Needs segments holding whole windows.
public func estimateProjectedScoreMoment(_ source: WindowSource, process: AR1Process,
                                         projections: [ScoreProjection]) throws -> StreamingMean {
    let dx = source.inputDimension, dy = source.outputDimension
    guard !projections.isEmpty else { throw ModelError("projected score moment: give at least one projection") }
    for p in projections {
        guard p.output.count == dy, !p.slots.isEmpty, p.slots.allSatisfy({ $0.vector.count == dx }) else {
            throw ModelError("projected score moment: each projection needs an output direction of length dy = \(dy) and at least one slot with a vector of length dx = \(dx)")
        }
    }
    let offsets = projections.flatMap { $0.slots.map(\.offset) }
    let lowest = min(0, offsets.min()!), highest = max(0, offsets.max()!)
    var moment = StreamingMean(shape: [projections.count], recordingBatches: StreamingMean.defaultBatches)
    var precisions: [Int: WindowPrecision] = [:]
    var contractions: [Int: [Int: [ContractedScore]]] = [:]
    var sample = [Double](repeating: 0, count: projections.count)
    try source.forEachBatch { segments in
        for segment in segments {
            let n = segment.windowLength
            guard segment.firstTime == 0, segment.x.count == segment.windowCount * n * dx else {
                throw ModelError("projected score moment: needs whole windows in each segment (got times \(segment.firstTime)… of a window of length \(n))")
            }
            let times = max(0, -lowest)..<max(max(0, -lowest), n - highest)
            guard !times.isEmpty else { continue }
            let precision = precisions[n] ?? process.windowPrecision(length: n)
            precisions[n] = precision
            if contractions[n] == nil {
                var byTime: [Int: [ContractedScore]] = [:]
                for t in times {
                    byTime[t] = projections.map { p in
                        ContractedScore(slots: p.slots.map { ScoreSlot(time: t + $0.offset, vector: $0.vector) }, precision: precision)
                    }
                }
                contractions[n] = byTime
            }
            let byTime = contractions[n]!
            for w in 0..<segment.windowCount {
                let window = Tensor(shape: [n, dx], storage: Array(segment.x[(w * n * dx)..<((w + 1) * n * dx)]))
                let u = precision.u(window)
                for t in times where segment.accumulate.contains(t) {
                    let yBase = (w * n + t) * dy
                    let atTime = byTime[t]!
                    for (k, p) in projections.enumerated() {
                        var r = 0.0
                        for i in 0..<dy { r += p.output[i] * segment.y[yBase + i] }
                        sample[k] = r * atTime[k].value(u: { u.row($0) })
                    }
                    moment.add(sample)
                }
            }
        }
    }
    return moment
}
