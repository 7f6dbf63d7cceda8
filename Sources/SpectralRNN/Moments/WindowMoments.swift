// Streaming estimators of the quadratic IO-RNN's cross-moments (MATH.md §4, paper §3.2,
// Theorem 5): the second-order moment `Ê[y_t ⊗ S₂(x[n], t)]` of §4(a) and the corrected
// mixed moment `Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])]` of §4(c), dense or contracted with the dual
// directions. Every admissible (window, t) pair is one sample.
//
// Data come from a `WindowSource` as batches of `WindowSegment`s (whole windows, or time
// chunks of one long window); memory is one batch plus a fixed workspace, whatever the
// number of windows. The arithmetic lives in WindowMomentsEngine.swift, the accumulators in
// WindowMomentsAccumulation.swift.
//
// Every result is a `StreamingMean` with per-entry standard errors (pairs taken as
// independent) and 32 to 64 batch means of consecutive pairs, whose `batchStandardError`
// also accounts for the correlation of the pairs of one window. Two runs with the same
// batches give the same bits for any `threads`; other batch sizes change only the rounding
// (and the batch boundaries).

import Foundation

/// A stretch of one window: inputs x for times `firstTime..<firstTime+steps` (0-based,
/// row-major steps×dx) and outputs y (steps×dy) for the same times, plus which of those
/// times to accumulate.
///
/// The score at time t needs `u_τ = (P x)_τ` at τ = t (and τ = t−1 for the mixed moment),
/// and `u_τ` needs `x_{τ−1}, x_τ, x_{τ+1}` (MATH.md §2, paper Lemma 4); so the segment
/// must contain the times `t−2 … t+1` that lie inside the window, for every accumulated t.
/// The second-order moment alone needs only `t−1 … t+1`.
///
/// A segment may also hold `windowCount` windows of the same length, one after another,
/// each with the same layout (x is windowCount×steps×dx, y windowCount×steps×dy): a source
/// of many short windows can then hand a whole batch as one segment, with no per-window
/// arrays. Consumers that read segments themselves must honour `windowCount`.
public struct WindowSegment: Sendable {
    /// n, the length of the whole window this segment belongs to (it fixes the precision
    /// blocks at the window's ends).
    public let windowLength: Int
    /// The global (0-based, within the window) time of x row 0.
    public let firstTime: Int
    /// Inputs, steps×dx, row-major.
    public let x: [Double]
    /// Outputs, steps×dy, row-major (only the rows of accumulated times are read); may be empty
    /// in the segments of `WindowSource.forEachInputBatch`.
    public let y: [Double]
    /// The GLOBAL times t whose terms are added.
    public let accumulate: Range<Int>
    /// The number of windows stacked in x and y (1 unless built with `init(windows:…)`).
    public let windowCount: Int

    /// A stretch of one window.
    public init(windowLength: Int, firstTime: Int, x: [Double], y: [Double], accumulate: Range<Int>) {
        self.init(windows: 1, windowLength: windowLength, firstTime: firstTime, x: x, y: y, accumulate: accumulate)
    }

    /// The same stretch of `windows` windows of length `windowLength`, stacked: x holds
    /// windows×steps×dx, y windows×steps×dy (by default whole windows, every time accumulated).
    public init(windows: Int, windowLength: Int, firstTime: Int = 0, x: [Double], y: [Double], accumulate: Range<Int>? = nil) {
        self.windowLength = windowLength
        self.firstTime = firstTime
        self.x = x
        self.y = y
        self.accumulate = accumulate ?? 0..<windowLength
        self.windowCount = windows
    }

    /// The number of (window, t) pairs the segment contributes.
    public var pairCount: Int { windowCount * accumulate.count }
}

/// Anything that yields the data as segments: whole windows for many short windows,
/// overlapping time chunks for one long window. Sequential and restartable: estimators may
/// make several passes (A1, A2 first, then U with their duals).
public protocol WindowSource {
    /// dx, the dimension of one input x_t.
    var inputDimension: Int { get }
    /// dy, the dimension of one output y_t.
    var outputDimension: Int { get }
    /// Calls body with consecutive batches of segments covering every (window, t) exactly
    /// once; batches are sized so memory stays bounded (a few MB).
    func forEachBatch(_ body: ([WindowSegment]) throws -> Void) throws
    /// `forEachBatch` for consumers that read x alone (the AR(1) fit): a source may leave y
    /// empty in these segments, and skip reading it.
    func forEachInputBatch(_ body: ([WindowSegment]) throws -> Void) throws
    /// `forEachBatch` for the windows `range` alone (numbered from 0 in the source's order), as
    /// whole windows; `WindowRangeSource` uses it. The default goes through every batch and
    /// leaves the other windows out; a source that can seek reads only the range.
    func forEachBatch(windows range: Range<Int>, _ body: ([WindowSegment]) throws -> Void) throws
}

extension WindowSource {
    /// By default the segments of `forEachBatch`, y included.
    public func forEachInputBatch(_ body: ([WindowSegment]) throws -> Void) throws {
        try forEachBatch(body)
    }

    /// By default `forEachBatchFilteringWindows`.
    public func forEachBatch(windows range: Range<Int>, _ body: ([WindowSegment]) throws -> Void) throws {
        try forEachBatchFilteringWindows(range, body)
    }

    /// Every batch, with the windows outside `range` left out (a segment that straddles a bound
    /// is cut into a copy of its part inside); segments must hold whole windows.
    public func forEachBatchFilteringWindows(_ range: Range<Int>, _ body: ([WindowSegment]) throws -> Void) throws {
        let dx = inputDimension, dy = outputDimension
        var first = 0   // the number of the first window of the next segment
        try forEachBatch { batch in
            var kept: [WindowSegment] = []
            for segment in batch {
                let n = segment.windowLength, count = segment.windowCount
                guard segment.firstTime == 0, segment.accumulate == 0..<n else {
                    throw ModelError("a range of windows needs whole windows: the source splits windows of \(n) steps into time chunks "
                                     + "(too long for one batch); cut the sequence into shorter windows")
                }
                guard segment.x.count == count * n * dx, segment.y.count == count * n * dy else {
                    throw ModelError("a range of windows: a segment of \(count) window(s) of \(n) steps holds \(segment.x.count) x and "
                                     + "\(segment.y.count) y values, not \(count * n * dx) and \(count * n * dy)")
                }
                let low = max(first, range.lowerBound), high = min(first + count, range.upperBound)
                defer { first += count }
                guard low < high else { continue }
                if high - low == count {
                    kept.append(segment)
                } else {
                    let a = low - first, b = high - first
                    kept.append(WindowSegment(windows: b - a, windowLength: n, x: Array(segment.x[(a * n * dx)..<(b * n * dx)]),
                                              y: Array(segment.y[(a * n * dy)..<(b * n * dy)])))
                }
            }
            if !kept.isEmpty { try body(kept) }
        }
    }
}

/// An in-memory source over N×n×dx inputs and N×n×dy outputs (tests, walkthroughs).
///
/// Windows no longer than `stepsPerBatch` go whole, at most `windowsPerBatch` of them and
/// (when more than one) at most `stepsPerBatch` time steps per batch. A longer window (the
/// case N = 1, large n) is cut into time chunks of `stepsPerBatch` accumulated times, one
/// chunk per batch, each carrying the two steps before it and the two after it (the scores
/// need one after; two let a `TimeReversedSource` read the chunk backwards, see `WindowSegment`). With `stacksWindows`, each batch of whole windows is
/// one stacked segment (`WindowSegment.windowCount` > 1): no per-window arrays, faster, but
/// only for consumers that honour `windowCount` (the estimators of this file do).
public struct TensorWindowSource: WindowSource, Sendable {
    /// Inputs, N×n×dx.
    public let x: Tensor
    /// Outputs, N×n×dy.
    public let y: Tensor
    /// The most whole windows in one batch.
    public let windowsPerBatch: Int
    /// The most time steps in one batch, and the length of a time chunk of a long window.
    public let stepsPerBatch: Int
    /// Whether a batch of whole windows is handed as one stacked segment.
    public let stacksWindows: Bool

    /// A source over `x` (N×n×dx) and `y` (N×n×dy); shapes must agree (a programming error
    /// otherwise: a file reader validates a user's data before building windows).
    public init(x: Tensor, y: Tensor, windowsPerBatch: Int = 1024, stepsPerBatch: Int = 65536, stacksWindows: Bool = false) {
        precondition(x.order == 3 && y.order == 3, "TensorWindowSource: x and y must be N×n×d, got shapes \(x.shape) and \(y.shape)")
        precondition(x.shape[0] == y.shape[0] && x.shape[1] == y.shape[1],
                     "TensorWindowSource: x \(x.shape) and y \(y.shape) must have the same N and n")
        precondition(windowsPerBatch >= 1 && stepsPerBatch >= 1, "TensorWindowSource: batch sizes must be positive")
        self.x = x
        self.y = y
        self.windowsPerBatch = windowsPerBatch
        self.stepsPerBatch = stepsPerBatch
        self.stacksWindows = stacksWindows
    }

    /// N, the number of windows.
    public var windowCount: Int { x.shape[0] }
    /// n, the length of every window.
    public var windowLength: Int { x.shape[1] }
    public var inputDimension: Int { x.shape[2] }
    public var outputDimension: Int { y.shape[2] }

    public func forEachBatch(_ body: ([WindowSegment]) throws -> Void) throws {
        let count = windowCount, n = windowLength, dx = inputDimension, dy = outputDimension
        guard count > 0, n > 0 else { return }
        if n <= stepsPerBatch {
            let perBatch = max(1, min(windowsPerBatch, stepsPerBatch / n))
            if stacksWindows {
                for first in stride(from: 0, to: count, by: perBatch) {
                    let last = min(first + perBatch, count)
                    // All windows in one batch share the tensors' storage (no copy).
                    let xs = last - first == count ? x.storage : Array(x.storage[(first * n * dx)..<(last * n * dx)])
                    let ys = last - first == count ? y.storage : Array(y.storage[(first * n * dy)..<(last * n * dy)])
                    try body([WindowSegment(windows: last - first, windowLength: n, x: xs, y: ys)])
                }
                return
            }
            var segments: [WindowSegment] = []
            segments.reserveCapacity(min(perBatch, count))
            for first in stride(from: 0, to: count, by: perBatch) {
                segments.removeAll(keepingCapacity: true)
                for w in first..<min(first + perBatch, count) {
                    segments.append(WindowSegment(
                        windowLength: n, firstTime: 0,
                        x: Array(x.storage[(w * n * dx)..<((w + 1) * n * dx)]),
                        y: Array(y.storage[(w * n * dy)..<((w + 1) * n * dy)]),
                        accumulate: 0..<n))
                }
                try body(segments)
            }
        } else {
            for w in 0..<count {
                for start in stride(from: 0, to: n, by: stepsPerBatch) {
                    let end = min(start + stepsPerBatch, n)
                    let low = max(0, start - 2), high = min(n, end + 2)
                    try body([WindowSegment(
                        windowLength: n, firstTime: low,
                        x: Array(x.storage[((w * n + low) * dx)..<((w * n + high) * dx)]),
                        y: Array(y.storage[((w * n + low) * dy)..<((w * n + high) * dy)]),
                        accumulate: start..<end)])
                }
            }
        }
    }
}

/// Windows that cannot be used as given (inconsistent sizes, missing margins, dimensions
/// that do not match the process or the directions): one line naming what was wrong.
public struct WindowMomentsError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `Ê[y_t ⊗ S₂(x[n], t)]` pooled over every t of every window (MATH.md §4(a), paper
/// Theorem 5 first display, eq. 14): dense dy×dx×dx with per-entry standard errors (the
/// sample is one (window, t) pair). `S₂(x[n], t) = u_t u_tᵀ − P_tt` (paper eq. 9). For the
/// quadratic IO-RNN its expectation is `2 Σ_j b_j ⊗ a_j ⊗ a_j`.
///
/// `standardError` treats the pairs as independent; pairs of one window are correlated
/// through the input's Markov dependence, which `batchStandardError` accounts for.
public func estimateSecondOrderMoment(_ source: WindowSource, process: AR1Process, threads: Int = 2,
                                      progress: Progress? = nil) throws -> StreamingMean {
    let engine = try WindowMomentKernels.Engine(source: source, process: process, secondOrder: true, mixed: false,
                                        projection: nil, threads: threads)
    try engine.run(source, progress: progress)
    return engine.secondOrderResult()
}

/// `Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])]` pooled over every t ≥ 1 (0-based; t−1 must exist) — the
/// corrected estimator of MATH.md §4(c): dense dy×dx×dx×dx, for small dimensions (printing,
/// saving, checks). With `u = P x`, the score is (MATH.md §2, matchings of three slots)
/// `S_{t,t−1,t−1}[a,b,c] = u_t[a] u_{t−1}[b] u_{t−1}[c] − P_{t,t−1}[a,b] u_{t−1}[c]
///  − P_{t,t−1}[a,c] u_{t−1}[b] − P_{t−1,t−1}[b,c] u_t[a]`; for the quadratic IO-RNN the
/// moment is `4 Σ_j b_j ⊗ a_j ⊗ M_j`, `M_j = Σ_k U_jk a_k a_kᵀ`.
public func estimateMixedMoment(_ source: WindowSource, process: AR1Process, threads: Int = 2,
                                progress: Progress? = nil) throws -> StreamingMean {
    let engine = try WindowMomentKernels.Engine(source: source, process: process, secondOrder: false, mixed: true,
                                        projection: nil, threads: threads)
    try engine.run(source, progress: progress)
    return engine.mixedResult()
}

/// Both dense moments in one pass over the data: `Ê[y_t ⊗ S₂(x[n], t)]` (every t, as
/// `estimateSecondOrderMoment`) and `Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])]` (t ≥ 1, as
/// `estimateMixedMoment`); the same numbers as the two separate calls.
public func estimateSecondOrderAndMixedMoments(_ source: WindowSource, process: AR1Process, threads: Int = 2,
                                               progress: Progress? = nil) throws
    -> (secondOrder: StreamingMean, mixed: StreamingMean) {
    let engine = try WindowMomentKernels.Engine(source: source, process: process, secondOrder: true, mixed: true,
                                        projection: nil, threads: threads)
    try engine.run(source, progress: progress)
    return (engine.secondOrderResult(), engine.mixedResult())
}

/// The mixed moment of `estimateMixedMoment` contracted with β_j on mode 1, α_j on mode 2
/// and α_k on modes 3 and 4, for all j, k: a dh×dh `StreamingMean` whose (j, k) entry
/// estimates `T(β_j, α_j, α_k, α_k) = 4 U_jk` when α, β are the exact duals (MATH.md §4(c)).
/// `alpha` is dx×dh (columns α_j), `beta` is dy×dh (columns β_j).
///
/// It never builds the dy×dx³ tensor (CONVENTIONS §6): per pair it needs `p_j = α_j·u_t`,
/// `q_k = α_k·u_{t−1}`, `r_j = β_j·y_t` and the constants `C_k = α_kᵀ P_{t−1,t−1} α_k`,
/// `D_jk = α_jᵀ P_{t,t−1} α_k` (which depend on t only at the window's start), and adds
/// `r_j (p_j q_k² − p_j C_k − 2 D_jk q_k)`.
public func estimateProjectedMixedMoment(_ source: WindowSource, process: AR1Process, alpha: Tensor, beta: Tensor,
                                         threads: Int = 2, progress: Progress? = nil) throws -> StreamingMean {
    let engine = try WindowMomentKernels.Engine(source: source, process: process, secondOrder: false, mixed: false,
                                        projection: (alpha, beta), threads: threads)
    try engine.run(source, progress: progress)
    return engine.projectedResult()
}
