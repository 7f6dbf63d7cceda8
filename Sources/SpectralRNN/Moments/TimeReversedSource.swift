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
        let dx = inputDimension, dy = outputDimension
        try base.forEachBatch { batch in try body(batch.map { reversedInTime($0, dx: dx, dy: dy) }) }
    }
}

/// Flat windows×steps×d values with each window's time order reversed (step k ↔ steps−1−k):
/// the one loop behind `Tensor.reversedInTime` and `TimeReversedSource`.
func reversingTime(_ values: [Double], windows: Int, steps: Int, width d: Int) -> [Double] {
    var out = [Double](repeating: 0, count: values.count)
    let perWindow = steps * d
    values.withUnsafeBufferPointer { from in
        out.withUnsafeMutableBufferPointer { to in
            for w in 0..<windows {
                let base = w * perWindow
                for k in 0..<steps {
                    let source = base + (steps - 1 - k) * d, target = base + k * d
                    for i in 0..<d { to[target + i] = from[source + i] }
                }
            }
        }
    }
    return out
}

extension Tensor {
    /// An N×n×d tensor with each window's time order reversed (row t ↔ row n−1−t).
    public func reversedInTime() -> Tensor {
        precondition(order == 3, "reversedInTime: expected N×n×d, got \(shape)")
        return Tensor(shape: shape, storage: reversingTime(storage, windows: shape[0], steps: shape[1], width: shape[2]))
    }
}

/// One segment read backwards (see `TimeReversedSource`).
func reversedInTime(_ s: WindowSegment, dx: Int, dy: Int) -> WindowSegment {
    let windows = max(1, s.windowCount)
    let steps = s.x.count / (windows * dx)
    let n = s.windowLength
    guard s.x.count == windows * steps * dx, s.y.count == windows * steps * dy else { return s }  // left to the estimator's validation
    return WindowSegment(windows: windows, windowLength: n, firstTime: n - s.firstTime - steps,
                         x: reversingTime(s.x, windows: windows, steps: steps, width: dx),
                         y: reversingTime(s.y, windows: windows, steps: steps, width: dy),
                         accumulate: (n - s.accumulate.upperBound)..<(n - s.accumulate.lowerBound))
}
