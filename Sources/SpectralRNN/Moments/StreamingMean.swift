import Foundation

/// The running mean and per-entry variance of a stream of equally shaped samples
/// (Welford's update, Chan's merge): memory is one mean and one sum of squares, whatever
/// the number of samples. The standard errors it reports are those of the mean.
public struct StreamingMean: Sendable {
    /// The shape of one sample.
    public let shape: [Int]
    /// The number of samples added.
    public private(set) var count: Int = 0
    private var runningMean: [Double]
    private var sumOfSquares: [Double]

    /// An empty accumulator for samples of the given shape.
    public init(shape: [Int]) {
        self.shape = shape
        let size = shape.reduce(1, *)
        runningMean = [Double](repeating: 0, count: size)
        sumOfSquares = [Double](repeating: 0, count: size)
    }

    /// Adds one sample, given by its entries in row-major order.
    public mutating func add(_ sample: [Double]) {
        precondition(sample.count == runningMean.count, "StreamingMean: sample of \(sample.count) entries, expected \(runningMean.count)")
        count += 1
        let n = Double(count)
        for i in 0..<sample.count {
            let delta = sample[i] - runningMean[i]
            runningMean[i] += delta / n
            sumOfSquares[i] += delta * (sample[i] - runningMean[i])
        }
    }

    /// Adds one sample tensor.
    public mutating func add(_ sample: Tensor) { add(sample.storage) }

    /// Folds in another accumulator of the same shape (exact; order-dependent only in rounding).
    public mutating func merge(_ other: StreamingMean) {
        precondition(other.shape == shape, "StreamingMean.merge: shapes \(other.shape) and \(shape)")
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        let n1 = Double(count), n2 = Double(other.count), n = n1 + n2
        for i in 0..<runningMean.count {
            let delta = other.runningMean[i] - runningMean[i]
            runningMean[i] += delta * n2 / n
            sumOfSquares[i] += other.sumOfSquares[i] + delta * delta * n1 * n2 / n
        }
        count += other.count
    }

    /// The accumulator of a contiguous range of entries, seen with a new shape (for several
    /// moments accumulated as one flat sample).
    public func entries(_ range: Range<Int>, shape newShape: [Int]) -> StreamingMean {
        precondition(range.count == newShape.reduce(1, *), "StreamingMean.entries: \(range.count) entries for shape \(newShape)")
        var part = StreamingMean(shape: newShape)
        part.count = count
        part.runningMean = Array(runningMean[range])
        part.sumOfSquares = Array(sumOfSquares[range])
        return part
    }

    /// The sample mean.
    public var mean: Tensor { Tensor(shape: shape, storage: runningMean) }

    /// The standard error of each entry of the mean, `sd/√N` (unbiased variance).
    public var standardError: Tensor {
        let n = Double(count)
        return Tensor(shape: shape, storage: sumOfSquares.map { count > 1 ? ($0 / (n - 1) / n).squareRoot() : .infinity })
    }

    /// Accumulates `chunks` independent chunks on all cores and merges them in chunk order,
    /// so the result does not depend on the number of threads. `body(k, &acc)` fills chunk k.
    public static func inChunks(_ chunks: Int, shape: [Int],
                                _ body: @Sendable (Int, inout StreamingMean) -> Void) -> StreamingMean {
        let results = ChunkResults(count: chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { k in
            var accumulator = StreamingMean(shape: shape)
            body(k, &accumulator)
            results.store(accumulator, at: k)
        }
        var total = StreamingMean(shape: shape)
        for partial in results.all() { total.merge(partial) }
        return total
    }
}

/// One slot per chunk, written from concurrent workers under a lock.
private final class ChunkResults: @unchecked Sendable {
    private var slots: [StreamingMean?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func store(_ value: StreamingMean, at index: Int) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }
    func all() -> [StreamingMean] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}
