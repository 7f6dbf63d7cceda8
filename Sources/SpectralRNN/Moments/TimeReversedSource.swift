// Reading windows backwards. A backward unit of the bidirectional RNN (paper eq. 18,
// MATH.md §6) is a forward unit of the time-reversed window, and the reversed stationary
// AR(1) input is again an AR(1) (`AR1Process.timeReversed`), so every estimator written for
// "t and t−1" serves "t and t+1" unchanged on the reversed view: the t+1 moment of a window
// is the t−1 moment of its reversal, pooled over the same pairs.

/// The windows of `base` with time reversed: window time τ of the view is time n−1−τ of the
/// original (0-based), for inputs and outputs alike. Pair with `process.timeReversed()`.
///
/// A time chunk `first..<first+steps` accumulating `a..<b` becomes the chunk
/// `n−first−steps..<n−first` accumulating `n−b..<n−a`; the margins a chunk carries swap
/// ends, so the sources of this module carry two steps on each side (`WindowSegment`).
public struct TimeReversedSource: WindowSource {
    public let base: WindowSource
    public init(_ base: WindowSource) { self.base = base }
    public var inputDimension: Int { base.inputDimension }
    public var outputDimension: Int { base.outputDimension }
    public func forEachBatch(_ body: ([WindowSegment]) throws -> Void) throws {
        var reversal = BatchReversal(dx: inputDimension, dy: outputDimension)
        try base.forEachBatch { batch in try body(reversal.reversed(batch)) }
    }
}

/// Batches read backwards, one after another. The reversed copies of a batch go into the
/// arrays of the batch before, which are unique again once its consumer has let go of it (if
/// it kept a segment, copy-on-write leaves that intact): no fresh pages to fault in per batch.
struct BatchReversal {
    let dx: Int, dy: Int
    private var spare: [(x: [Double], y: [Double])] = []

    init(dx: Int, dy: Int) {
        self.dx = dx
        self.dy = dy
    }

    /// The batch with every segment's time reversed (see `TimeReversedSource`).
    mutating func reversed(_ batch: [WindowSegment]) -> [WindowSegment] {
        while spare.count < batch.count { spare.append(([], [])) }
        var segments: [WindowSegment] = []
        segments.reserveCapacity(batch.count)
        for (i, segment) in batch.enumerated() {
            segments.append(reversedInTime(segment, dx: dx, dy: dy, reusing: &spare[i]))
        }
        return segments
    }
}

/// Flat windows×steps×d values with each window's time order reversed (step k ↔ steps−1−k):
/// the one loop behind `Tensor.reversedInTime` and `TimeReversedSource`.
func reversingTime(_ values: [Double], windows: Int, steps: Int, width d: Int) -> [Double] {
    var out: [Double] = []
    reversingTime(values, windows: windows, steps: steps, width: d, into: &out)
    return out
}

/// The same into `out`, reusing its storage when it has the size (and is not shared).
func reversingTime(_ values: [Double], windows: Int, steps: Int, width d: Int, into out: inout [Double]) {
    if out.count != values.count {
        out = [Double](unsafeUninitializedCapacity: values.count) { _, initialized in initialized = values.count }
    }
    let perWindow = steps * d
    values.withUnsafeBufferPointer { from in
        out.withUnsafeMutableBufferPointer { to in
            guard let source = from.baseAddress, let target = to.baseAddress else { return }
            for w in 0..<windows {
                let base = w * perWindow
                for k in 0..<steps {
                    (target + base + k * d).update(from: source + base + (steps - 1 - k) * d, count: d)
                }
            }
        }
    }
}

extension Tensor {
    /// An N×n×d tensor with each window's time order reversed (row t ↔ row n−1−t).
    public func reversedInTime() -> Tensor {
        precondition(order == 3, "reversedInTime: expected N×n×d, got \(shape)")
        return Tensor(shape: shape, storage: reversingTime(storage, windows: shape[0], steps: shape[1], width: shape[2]))
    }
}

/// One segment read backwards (see `TimeReversedSource`), its values written into `spare`'s arrays.
func reversedInTime(_ s: WindowSegment, dx: Int, dy: Int, reusing spare: inout (x: [Double], y: [Double])) -> WindowSegment {
    let windows = max(1, s.windowCount)
    let steps = s.x.count / (windows * dx)
    let n = s.windowLength
    guard s.x.count == windows * steps * dx, s.y.count == windows * steps * dy else { return s }  // left to the estimator's validation
    reversingTime(s.x, windows: windows, steps: steps, width: dx, into: &spare.x)
    reversingTime(s.y, windows: windows, steps: steps, width: dy, into: &spare.y)
    return WindowSegment(windows: windows, windowLength: n, firstTime: n - s.firstTime - steps,
                         x: spare.x, y: spare.y,
                         accumulate: (n - s.accumulate.upperBound)..<(n - s.accumulate.lowerBound))
}
