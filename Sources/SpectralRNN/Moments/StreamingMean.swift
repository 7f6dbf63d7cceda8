import Foundation

/// The running mean and per-entry variance of a stream of equally shaped samples
/// (Welford's update, Chan's merge): memory is one mean and one sum of squares, whatever
/// the number of samples. The standard errors it reports are those of the mean.
///
/// An accumulator can also keep **batch means**: the means of disjoint runs of consecutive
/// samples (or of independent chunks, see `inChunks`). Their spread gives the standard
/// error of the overall mean (`batchStandardError`) with B − 1 degrees of freedom; a batch
/// mean averages hundreds of samples, so it is close to Gaussian even when single samples
/// are heavy-tailed (products of polynomials of Gaussians), and the ratio of the error to
/// that standard error follows Student's t (see `StudentT`) where the per-sample one does not.
public struct StreamingMean: Sendable {
    /// The mean of one batch of samples.
    struct Batch: Sendable {
        var count: Int
        var mean: [Double]
    }

    /// The shape of one sample.
    public let shape: [Int]
    /// The number of samples added.
    public private(set) var count: Int = 0
    private var runningMean: [Double]
    private var sumOfSquares: [Double]
    /// Closed batches, in order.
    private var batches: [Batch] = []
    /// The batch being filled (recording accumulators only).
    private var openBatch: Batch?
    /// Samples per batch while recording (doubles whenever the batches reach 2 × target); 0 = not recording.
    private var batchLength = 0
    /// The number of batches a recording accumulator keeps at least (once it has that many samples).
    private var batchTarget = 0

    /// An empty accumulator for samples of the given shape (no batch means).
    public init(shape: [Int]) {
        self.shape = shape
        let size = shape.reduce(1, *)
        runningMean = [Double](repeating: 0, count: size)
        sumOfSquares = [Double](repeating: 0, count: size)
    }

    /// An empty accumulator that also records batch means of consecutive samples: it keeps
    /// between `target` and 2·`target` batches of equal length (a power of two; the last,
    /// partial batch is folded into the one before it), pairing neighbours whenever there are
    /// 2·`target`. Deterministic: the batches depend only on the order of the samples.
    public init(shape: [Int], recordingBatches target: Int) {
        precondition(target >= 1, "StreamingMean: a batch target must be at least 1, got \(target)")
        self.init(shape: shape)
        batchTarget = target
        batchLength = 1
    }

    /// Adds one sample, given by its entries in row-major order. On an accumulator that holds
    /// batch means but is not recording (a merge or a slice of chunks), the new sample belongs
    /// to no batch, so the batch means are dropped.
    public mutating func add(_ sample: [Double]) {
        precondition(sample.count == runningMean.count, "StreamingMean: sample of \(sample.count) entries, expected \(runningMean.count)")
        count += 1
        let n = Double(count)
        for i in 0..<sample.count {
            let delta = sample[i] - runningMean[i]
            runningMean[i] += delta / n
            sumOfSquares[i] += delta * (sample[i] - runningMean[i])
        }
        guard batchLength > 0 else {
            if !batches.isEmpty { batches = [] }
            return
        }
        // Taken out of the optional so that its mean is updated in place, not copied.
        var open: Batch
        if let existing = openBatch {
            open = existing
            openBatch = nil
        } else {
            open = Batch(count: 0, mean: [Double](repeating: 0, count: sample.count))
        }
        open.count += 1
        let k = Double(open.count)
        for i in 0..<sample.count { open.mean[i] += (sample[i] - open.mean[i]) / k }
        if open.count == batchLength {
            batches.append(open)
            openBatch = nil
            if batches.count == 2 * batchTarget {
                batches = stride(from: 0, to: batches.count, by: 2).map { Self.pooled(batches[$0], batches[$0 + 1]) }
                batchLength *= 2
            }
        } else {
            openBatch = open
        }
    }

    /// Adds one sample tensor.
    public mutating func add(_ sample: Tensor) { add(sample.storage) }

    /// Folds in another accumulator of the same shape (exact; order-dependent only in rounding).
    /// The batch means of both are kept, in order, when both have them; the result records no
    /// further batches.
    public mutating func merge(_ other: StreamingMean) {
        precondition(other.shape == shape, "StreamingMean.merge: shapes \(other.shape) and \(shape)")
        guard other.count > 0 else { return }
        guard count > 0 else {
            self = other
            closeBatches()
            return
        }
        let n1 = Double(count), n2 = Double(other.count), n = n1 + n2
        for i in 0..<runningMean.count {
            let delta = other.runningMean[i] - runningMean[i]
            runningMean[i] += delta * n2 / n
            sumOfSquares[i] += other.sumOfSquares[i] + delta * delta * n1 * n2 / n
        }
        count += other.count
        var mine = self
        mine.closeBatches()
        var theirs = other
        theirs.closeBatches()
        if mine.batches.isEmpty || theirs.batches.isEmpty {
            batches = []
        } else {
            batches = mine.batches + theirs.batches
        }
        openBatch = nil
        batchLength = 0
        batchTarget = 0
    }

    /// The accumulator of a contiguous range of entries, seen with a new shape (for several
    /// moments accumulated as one flat sample); batch means are sliced alike.
    public func entries(_ range: Range<Int>, shape newShape: [Int]) -> StreamingMean {
        precondition(range.count == newShape.reduce(1, *), "StreamingMean.entries: \(range.count) entries for shape \(newShape)")
        var part = StreamingMean(shape: newShape)
        part.count = count
        part.runningMean = Array(runningMean[range])
        part.sumOfSquares = Array(sumOfSquares[range])
        part.batches = batches.map { Batch(count: $0.count, mean: Array($0.mean[range])) }
        part.openBatch = openBatch.map { Batch(count: $0.count, mean: Array($0.mean[range])) }
        part.batchLength = batchLength
        part.batchTarget = batchTarget
        return part
    }

    /// The sample mean.
    public var mean: Tensor { Tensor(shape: shape, storage: runningMean) }

    /// The standard error of each entry of the mean, `sd/√N` (unbiased variance).
    public var standardError: Tensor {
        let n = Double(count)
        return Tensor(shape: shape, storage: sumOfSquares.map { count > 1 ? ($0 / (n - 1) / n).squareRoot() : .infinity })
    }

    /// The number of batch means held (0 when the accumulator keeps none).
    public var batchCount: Int {
        var copy = self
        copy.closeBatches()
        return copy.batches.count
    }

    /// The standard error of each entry of the mean from the spread of the B batch means
    /// m_b (sizes n_b, N = Σ n_b, overall mean M): `σ̂² = Σ_b n_b (m_b − M)² / (B − 1)`,
    /// unbiased for the per-sample variance whatever the sizes, and `se = σ̂/√N`; B − 1
    /// degrees of freedom. Nil when fewer than 2 batches are held.
    public var batchStandardError: Tensor? {
        var copy = self
        copy.closeBatches()
        let b = copy.batches
        guard b.count >= 2 else { return nil }
        let n = Double(b.reduce(0) { $0 + $1.count })
        var variance = [Double](repeating: 0, count: runningMean.count)
        for batch in b {
            let weight = Double(batch.count)
            for i in 0..<variance.count {
                let delta = batch.mean[i] - runningMean[i]
                variance[i] += weight * delta * delta
            }
        }
        let denominator = Double(b.count - 1) * n
        return Tensor(shape: shape, storage: variance.map { ($0 / denominator).squareRoot() })
    }

    /// The accumulator whose entry e is entry `index[e]` of this one (a gather, e.g. a packed
    /// symmetric moment unfolded to its dense shape); batch means are gathered alike.
    public func gathered(_ index: [Int], shape newShape: [Int]) -> StreamingMean {
        precondition(index.count == newShape.reduce(1, *) && index.allSatisfy { $0 >= 0 && $0 < runningMean.count },
                     "StreamingMean.gathered: \(index.count) indices for shape \(newShape) from \(runningMean.count) entries")
        var part = StreamingMean(shape: newShape)
        part.count = count
        part.runningMean = index.map { runningMean[$0] }
        part.sumOfSquares = index.map { sumOfSquares[$0] }
        part.batches = batches.map { b in Batch(count: b.count, mean: index.map { b.mean[$0] }) }
        part.openBatch = openBatch.map { b in Batch(count: b.count, mean: index.map { b.mean[$0] }) }
        part.batchLength = batchLength
        part.batchTarget = batchTarget
        return part
    }

    /// Stops recording: the partial batch is folded into the last closed one (or becomes a
    /// batch when it is the only one).
    private mutating func closeBatches() {
        if let open = openBatch, open.count > 0 {
            if let last = batches.popLast() {
                batches.append(Self.pooled(last, open))
            } else {
                batches.append(open)
            }
        }
        openBatch = nil
        batchLength = 0
        batchTarget = 0
    }

    /// The batch of two batches' samples.
    private static func pooled(_ a: Batch, _ b: Batch) -> Batch {
        let total = a.count + b.count
        let wa = Double(a.count) / Double(total), wb = Double(b.count) / Double(total)
        return Batch(count: total, mean: zip(a.mean, b.mean).map { wa * $0 + wb * $1 })
    }

    /// The number of batch means `inChunks` aims for by default.
    public static let defaultBatches = 32

    /// Accumulates `chunks` independent chunks on all cores and merges them in chunk order,
    /// so the result does not depend on the number of threads. `body(k, &acc)` fills chunk k.
    ///
    /// The result holds at least `batches` batch means: one per chunk when `chunks ≥ batches`,
    /// otherwise each chunk records ⌈batches/chunks⌉ to twice that many batches of its own
    /// consecutive samples.
    public static func inChunks(_ chunks: Int, shape: [Int], batches: Int = defaultBatches,
                                _ body: @Sendable (Int, inout StreamingMean) -> Void) -> StreamingMean {
        precondition(chunks >= 1, "StreamingMean.inChunks: at least one chunk, got \(chunks)")
        let perChunk = chunks >= batches ? 0 : (batches + chunks - 1) / chunks
        let results = ChunkResults(count: chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { k in
            var accumulator = perChunk > 0 ? StreamingMean(shape: shape, recordingBatches: perChunk) : StreamingMean(shape: shape)
            body(k, &accumulator)
            if perChunk == 0 {
                // The chunk is one batch.
                accumulator.batches = accumulator.count > 0 ? [Batch(count: accumulator.count, mean: accumulator.runningMean)] : []
            }
            results.store(accumulator, at: k)
        }
        var total = StreamingMean(shape: shape)
        for partial in results.all() { total.merge(partial) }
        return total
    }

    /// `inChunks` for a given total number of samples: chunk k is told how many samples to
    /// add, `samples / chunks`, plus one for the first `samples % chunks` chunks.
    public static func inChunks(_ chunks: Int, samples: Int, shape: [Int], batches: Int = defaultBatches,
                                _ body: @Sendable (_ chunk: Int, _ count: Int, inout StreamingMean) -> Void) -> StreamingMean {
        let base = samples / chunks, remainder = samples % chunks
        return inChunks(chunks, shape: shape, batches: batches) { k, accumulator in
            body(k, base + (k < remainder ? 1 : 0), &accumulator)
        }
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

/// Student's t distribution with ν degrees of freedom: the law of (mean − μ)/se when se is
/// estimated from ν + 1 Gaussian batch means.
public enum StudentT {
    /// `P(|T| > k)` for T ~ t_ν, from the finite series of Abramowitz & Stegun 26.7.3–4
    /// (exact for integer ν; θ = arctan(k/√ν)). Above 10⁴ degrees of freedom the standard
    /// normal tail `erfc(k/√2)` is used (the difference is below 10⁻³ relative for k ≤ 6).
    public static func twoSidedTail(_ k: Double, degreesOfFreedom nu: Int) -> Double {
        precondition(nu >= 1, "StudentT: degrees of freedom must be at least 1, got \(nu)")
        guard k > 0 else { return 1 }
        guard k.isFinite else { return 0 }
        if nu > 10_000 { return erfc(k / 2.squareRoot()) }
        let theta = atan(k / Double(nu).squareRoot())
        let s = sin(theta), c = cos(theta), c2 = c * c
        var inside: Double
        if nu % 2 == 0 {
            // A = sin θ · (1 + ½c² + (1·3)/(2·4)c⁴ + … + (1·3⋯(ν−3))/(2·4⋯(ν−2)) c^{ν−2})
            var term = 1.0, total = 1.0
            var j = 2
            while j <= nu - 2 {
                term *= Double(j - 1) / Double(j) * c2
                total += term
                j += 2
            }
            inside = s * total
        } else if nu == 1 {
            inside = 2 * theta / .pi
        } else {
            // A = (2/π)(θ + sin θ (c + (2/3)c³ + … + (2·4⋯(ν−3))/(1·3⋯(ν−2)) c^{ν−2}))
            var term = c, total = c
            var j = 3
            while j <= nu - 2 {
                term *= Double(j - 1) / Double(j) * c2
                total += term
                j += 2
            }
            inside = 2 / .pi * (theta + s * total)
        }
        return max(0, 1 - inside)
    }

    /// The k with `P(|T| > k) = α` for T ~ t_ν (bisection on `twoSidedTail`, to 10⁻¹⁰).
    public static func criticalValue(twoSidedTail alpha: Double, degreesOfFreedom nu: Int) -> Double {
        precondition(alpha > 0 && alpha < 1, "StudentT: a tail probability must lie in (0, 1), got \(alpha)")
        var low = 0.0, high = 1.0
        while twoSidedTail(high, degreesOfFreedom: nu) > alpha { high *= 2 }
        while high - low > 1e-10 * high {
            let middle = (low + high) / 2
            if twoSidedTail(middle, degreesOfFreedom: nu) > alpha { low = middle } else { high = middle }
        }
        return high
    }
}
