/// The cross-moment `E[y ⊗ S_m(x)]` of an output with the m-th order score of a Gaussian
/// input `x ~ N(0, P⁻¹)` (paper Theorem 2: it equals `E[∇^m_x y]`). This type computes one
/// sample `y ⊗ S_m(x)`; `estimateCrossMoments` streams many into a `StreamingMean`.
public struct ScoreCrossMoment: Sendable {
    public let order: Int
    public let inputDimension: Int
    public let outputDimension: Int
    private let precision: WindowPrecision

    /// The m-th order cross-moment for inputs of precision P (identity by default).
    public init(order: Int, inputDimension: Int, outputDimension: Int, precision: Tensor? = nil) {
        precondition(order >= 1, "ScoreCrossMoment: order must be at least 1")
        self.order = order
        self.inputDimension = inputDimension
        self.outputDimension = outputDimension
        self.precision = WindowPrecision(diagonal: [precision ?? Tensor.identity(inputDimension)], subdiagonal: [])
    }

    /// The shape dy×dx×…×dx (m input modes).
    public var shape: [Int] { [outputDimension] + Array(repeating: inputDimension, count: order) }

    /// The entries of `y ⊗ S_m(x)` in row-major order.
    public func sample(x: [Double], y: [Double]) -> [Double] {
        let u = matvec(precision.diagonal[0], x)
        let score = GaussianScore.mixed(u: { _ in u }, times: Array(repeating: 0, count: order), precision: precision)
        var entries = [Double](repeating: 0, count: y.count * score.count)
        for i in 0..<y.count {
            for e in 0..<score.count { entries[i * score.count + e] = y[i] * score.storage[e] }
        }
        return entries
    }
}

/// Streams `Ê[y ⊗ S_m(x)]` for several orders at once over `samples` pairs drawn in batches
/// by `draw(&rng, batchSize)`: `chunks` independent streams (RandomStream purpose `purpose`,
/// index = chunk) run in parallel and merge in chunk order, so the result is the same on any
/// number of cores. Memory is one accumulator per moment, flat in the number of samples.
public func estimateCrossMoments(_ moments: [ScoreCrossMoment], samples: Int, seed: UInt64, purpose: String,
                                 chunks: Int = 8, batchSize: Int = 4096, progress: Progress? = nil,
                                 draw: @Sendable @escaping (inout RandomStream, Int) -> (x: Tensor, y: Tensor)) -> [StreamingMean] {
    let sizes = moments.map { $0.shape.reduce(1, *) }
    let perChunk = samples / chunks, remainder = samples % chunks
    let all = StreamingMean.inChunks(chunks, shape: [sizes.reduce(0, +)]) { chunk, accumulator in
        var rng = RandomStream(seed: seed, purpose: purpose, index: UInt64(chunk))
        let count = perChunk + (chunk < remainder ? 1 : 0)
        var done = 0
        var flat = [Double]()
        flat.reserveCapacity(sizes.reduce(0, +))
        while done < count {
            let batch = min(batchSize, count - done)
            let (x, y) = draw(&rng, batch)
            for n in 0..<batch {
                let xn = x.row(n), yn = y.row(n)
                flat.removeAll(keepingCapacity: true)
                for moment in moments { flat += moment.sample(x: xn, y: yn) }
                accumulator.add(flat)
            }
            done += batch
            progress?.advance(batch)
        }
    }
    var offset = 0
    return zip(moments, sizes).map { moment, size in
        defer { offset += size }
        return all.entries(offset..<(offset + size), shape: moment.shape)
    }
}

extension GLM {
    /// `Ê[y ⊗ S_1(x)]` (dy×dx) and `Ê[y ⊗ S_2(x)]` (dy×dx×dx) from `samples` fresh draws of the
    /// model, streamed (see `estimateCrossMoments`).
    public func estimateCrossMoments(samples: Int, seed: UInt64, purpose: String = "glm samples",
                                     progress: Progress? = nil) -> (first: StreamingMean, second: StreamingMean) {
        let model = self
        let moments = [1, 2].map { ScoreCrossMoment(order: $0, inputDimension: inputDimension, outputDimension: outputDimension) }
        let result = SpectralRNN.estimateCrossMoments(moments, samples: samples, seed: seed, purpose: purpose, progress: progress) { rng, count in
            model.sample(count: count, using: &rng)
        }
        return (result[0], result[1])
    }
}
