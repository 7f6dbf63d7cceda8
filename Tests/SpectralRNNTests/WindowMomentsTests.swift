// Tests of the streaming window-moment estimators (Moments/WindowMoments*.swift), MATH.md §4:
// the second-order moment `Ê[y_t ⊗ S₂(x[n], t)]` (§4(a), paper Theorem 5 first display),
// the corrected mixed moment `Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])]` (§4(c)) dense and projected.
//
// Exact comparisons (against a direct loop over GaussianScore.mixed and the dense precision,
// projected against dense, chunked against whole, batch sizes, threads) measure differences
// against the moment's own scale, `max |mean| + max sd` over the entries, since a mean can be
// much smaller than the samples it averages. The Monte Carlo check compares with the exact
// expectation within 4σ, σ = √Σ se², and shows that a wrong claim fails.

import Foundation
import Testing
@testable import SpectralRNN

// MARK: - Helpers

/// N stationary AR(1) windows of length n (N×n×dx) and unrelated Gaussian outputs (N×n×dy).
private func randomData(process: AR1Process, windows: Int, length n: Int, outputs dy: Int,
                        seed: UInt64) -> (x: Tensor, y: Tensor) {
    var rng = RandomStream(seed: seed, purpose: "window moments test data")
    var x: [Double] = []
    for _ in 0..<windows { x += process.sampleWindow(length: n, using: &rng).storage }
    let y = rng.gaussianTensor([windows, n, dy])
    return (Tensor(shape: [windows, n, process.dimension], storage: x), y)
}

/// The direct, slow estimate: per window the dense precision P, `u = P x`, and per t the
/// library's `GaussianScore.mixed` scores `S_{t,t}` and `S_{t,t−1,t−1}`, times y_t, added one
/// sample at a time.
private func directMoments(x: Tensor, y: Tensor, process: AR1Process) -> (second: StreamingMean, mixed: StreamingMean) {
    let windows = x.shape[0], n = x.shape[1], dx = x.shape[2], dy = y.shape[2]
    var second = StreamingMean(shape: [dy, dx, dx])
    var mixed = StreamingMean(shape: [dy, dx, dx, dx])
    let dense = process.precision(length: n)
    let blocks = process.windowPrecision(length: n)
    for w in 0..<windows {
        let window = Array(x.storage[(w * n * dx)..<((w + 1) * n * dx)])
        let u = matvec(dense, window)
        let uAt = { (tau: Int) in Array(u[(tau * dx)..<((tau + 1) * dx)]) }
        for t in 0..<n {
            let yt = Tensor(vector: Array(y.storage[((w * n + t) * dy)..<((w * n + t + 1) * dy)]))
            let s2 = GaussianScore.mixed(u: uAt, times: [t, t], precision: blocks)
            second.add(Tensor.outer(yt, s2))
            if t >= 1 {
                let s3 = GaussianScore.mixed(u: uAt, times: [t, t - 1, t - 1], precision: blocks)
                mixed.add(Tensor.outer(yt, s3))
            }
        }
    }
    return (second, mixed)
}

/// The scale differences of a moment are measured against: max |mean| + max sd.
private func momentScale(_ m: StreamingMean) -> Double {
    m.mean.maxAbs + m.standardError.maxAbs * Double(m.count).squareRoot()
}

/// The largest difference of the means, relative to the first moment's scale.
private func meanGap(_ a: StreamingMean, _ b: StreamingMean) -> Double {
    (a.mean - b.mean).maxAbs / momentScale(a)
}

/// The largest difference of the standard errors, relative to the first's largest.
private func errorGap(_ a: StreamingMean, _ b: StreamingMean) -> Double {
    (a.standardError - b.standardError).maxAbs / a.standardError.maxAbs
}

/// `T(β_j, α_j, α_k, α_k)` of a dense dy×dx×dx×dx tensor, for all j, k.
private func contract(_ t: Tensor, alpha: Tensor, beta: Tensor) -> Tensor {
    let dh = alpha.shape[1]
    return Tensor(shape: [dh, dh]) { index in
        let j = index[0], k = index[1]
        return t.contracted(withVectors: [beta.column(j), alpha.column(j), alpha.column(k), alpha.column(k)])
    }
}

private func testProcess(dimension: Int, seed: UInt64) throws -> AR1Process {
    var rng = RandomStream(seed: seed, purpose: "window moments test process")
    return try randomProcess(dimension: dimension, radius: 0.6, using: &rng)
}

// MARK: - Tests

@Suite struct WindowMomentsTests {

    /// (1) Both dense moments equal the direct loop (mean and standard errors, counts) for
    /// windows of length 6, 2 and 1, so every end case of P is exercised, and at the `fit`
    /// benchmark's dimensions dx = 4, dy = 5.
    @Test(arguments: [(5, 6, 3, 2), (4, 2, 3, 2), (3, 1, 3, 2), (3, 7, 4, 5)])
    func denseMomentsMatchTheDirectLoop(windows: Int, length n: Int, dx: Int, dy: Int) throws {
        let process = try testProcess(dimension: dx, seed: 1)
        let data = randomData(process: process, windows: windows, length: n, outputs: dy, seed: 2)
        let direct = directMoments(x: data.x, y: data.y, process: process)
        let source = TensorWindowSource(x: data.x, y: data.y)
        let second = try estimateSecondOrderMoment(source, process: process)
        let mixed = try estimateMixedMoment(source, process: process)
        let both = try estimateSecondOrderAndMixedMoments(source, process: process)

        #expect(second.shape == [dy, dx, dx] && mixed.shape == [dy, dx, dx, dx])
        #expect(second.count == windows * n && mixed.count == windows * (n - 1))
        #expect(meanGap(direct.second, second) < 1e-13)
        #expect(errorGap(direct.second, second) < 1e-12)
        if n > 1 {
            #expect(meanGap(direct.mixed, mixed) < 1e-13)
            #expect(errorGap(direct.mixed, mixed) < 1e-12)
        }
        // The combined pass gives the same numbers as the separate ones.
        #expect(bits(both.secondOrder.mean) == bits(second.mean))
        #expect(bits(both.mixed.mean) == bits(mixed.mean))
        #expect(bits(both.secondOrder.standardError) == bits(second.standardError))
        // Stacked segments (one per batch) give the same numbers as one segment per window.
        let stacked = try estimateSecondOrderAndMixedMoments(TensorWindowSource(x: data.x, y: data.y, stacksWindows: true),
                                                             process: process)
        #expect(bits(stacked.secondOrder.mean) == bits(second.mean))
        #expect(bits(stacked.mixed.mean) == bits(mixed.mean))
    }

    /// (2) The projected moment is the dense mixed moment contracted with (β_j, α_j, α_k, α_k).
    @Test func projectedEqualsContractedDense() throws {
        let process = try testProcess(dimension: 3, seed: 3)
        let data = randomData(process: process, windows: 7, length: 9, outputs: 4, seed: 4)
        var rng = RandomStream(seed: 5, purpose: "window moments test directions")
        let alpha = rng.gaussianTensor([3, 2]), beta = rng.gaussianTensor([4, 2])
        let source = TensorWindowSource(x: data.x, y: data.y)
        let dense = try estimateMixedMoment(source, process: process)
        let projected = try estimateProjectedMixedMoment(source, process: process, alpha: alpha, beta: beta)
        let expected = contract(dense.mean, alpha: alpha, beta: beta)
        #expect(projected.shape == [2, 2] && projected.count == dense.count)
        let scale = momentScale(projected)
        #expect((projected.mean - expected).maxAbs / scale < 1e-13)
    }

    /// (3) One long window fed as time chunks of 7 steps (with margins) equals the same data
    /// as one whole window, and both equal the direct loop.
    @Test func timeChunksEqualTheWholeWindow() throws {
        let process = try testProcess(dimension: 2, seed: 6)
        // n = 300 also spans several column blocks of the whole-window pass.
        let data = randomData(process: process, windows: 1, length: 300, outputs: 3, seed: 7)
        var rng = RandomStream(seed: 8, purpose: "window moments test directions")
        let alpha = rng.gaussianTensor([2, 2]), beta = rng.gaussianTensor([3, 2])
        let whole = TensorWindowSource(x: data.x, y: data.y)
        let chunked = TensorWindowSource(x: data.x, y: data.y, stepsPerBatch: 7)
        var batches = 0
        try chunked.forEachBatch { segments in
            batches += 1
            #expect(segments.count == 1 && segments[0].accumulate.count <= 7)
        }
        #expect(batches == 43)
        let a = try estimateSecondOrderAndMixedMoments(whole, process: process)
        let b = try estimateSecondOrderAndMixedMoments(chunked, process: process)
        let pa = try estimateProjectedMixedMoment(whole, process: process, alpha: alpha, beta: beta)
        let pb = try estimateProjectedMixedMoment(chunked, process: process, alpha: alpha, beta: beta)
        for (x, y) in [(a.secondOrder, b.secondOrder), (a.mixed, b.mixed), (pa, pb)] {
            #expect(x.count == y.count)
            #expect(meanGap(x, y) < 1e-14)
            #expect(errorGap(x, y) < 1e-13)
        }
        // And both equal the direct loop.
        let direct = directMoments(x: data.x, y: data.y, process: process)
        #expect(meanGap(direct.second, b.secondOrder) < 1e-13)
        #expect(meanGap(direct.mixed, b.mixed) < 1e-13)
    }

    /// (4) Many windows in batches of different sizes give the same moments.
    @Test func batchSizesDoNotMatter() throws {
        let process = try testProcess(dimension: 2, seed: 9)
        let data = randomData(process: process, windows: 40, length: 9, outputs: 2, seed: 10)
        let reference = try estimateSecondOrderAndMixedMoments(TensorWindowSource(x: data.x, y: data.y), process: process)
        for (perBatch, stacked) in [(1, false), (3, false), (7, false), (40, false), (3, true), (16, true), (40, true)] {
            let source = TensorWindowSource(x: data.x, y: data.y, windowsPerBatch: perBatch, stacksWindows: stacked)
            let result = try estimateSecondOrderAndMixedMoments(source, process: process)
            for (x, y) in [(reference.secondOrder, result.secondOrder), (reference.mixed, result.mixed)] {
                #expect(x.count == y.count)
                #expect(meanGap(x, y) < 1e-13)
                #expect(errorGap(x, y) < 1e-12)
            }
        }
    }

    /// (5) Two runs give bit-identical results, and so do 1, 2, 3, 7 and 40 threads.
    @Test func deterministicAcrossRunsAndThreads() throws {
        let process = try testProcess(dimension: 3, seed: 11)
        let data = randomData(process: process, windows: 30, length: 12, outputs: 2, seed: 12)
        var rng = RandomStream(seed: 13, purpose: "window moments test directions")
        let alpha = rng.gaussianTensor([3, 2]), beta = rng.gaussianTensor([2, 2])
        let source = TensorWindowSource(x: data.x, y: data.y, windowsPerBatch: 8)
        func run(_ threads: Int) throws -> [StreamingMean] {
            let both = try estimateSecondOrderAndMixedMoments(source, process: process, threads: threads)
            let projected = try estimateProjectedMixedMoment(source, process: process, alpha: alpha, beta: beta, threads: threads)
            return [both.secondOrder, both.mixed, projected]
        }
        let first = try run(2), second = try run(2)
        for (a, b) in zip(first, second) {
            #expect(bits(a.mean) == bits(b.mean))
            #expect(bits(a.standardError) == bits(b.standardError))
            #expect(a.batchCount == b.batchCount && a.batchStandardError.map(bits) == b.batchStandardError.map(bits))
        }
        // The parts of a batch do not depend on the thread count: the same bits for any.
        for threads in [1, 3, 7, 40] {
            for (a, b) in zip(first, try run(threads)) {
                #expect(a.count == b.count)
                #expect(bits(a.mean) == bits(b.mean))
                #expect(bits(a.standardError) == bits(b.standardError))
                #expect(a.batchCount == b.batchCount && a.batchStandardError.map(bits) == b.batchStandardError.map(bits))
            }
        }
        // And bits do tell orders of summation apart: the same windows in other batches
        // give other bits (so the comparison above is not vacuous).
        let rebatched = try estimateSecondOrderAndMixedMoments(TensorWindowSource(x: data.x, y: data.y, windowsPerBatch: 5),
                                                               process: process, threads: 2)
        #expect(bits(rebatched.secondOrder.mean) != bits(first[0].mean))
        #expect(meanGap(rebatched.secondOrder, first[0]) < 1e-14)
    }

    /// (5b) The BLAS flush (two products per block, used from `Block.gemmEntries` entries per
    /// sample on) gives the vector loops' numbers to rounding: the dense second-order moment at
    /// dx = 16, dy = 8 (1 088 entries, where `.automatic` takes it) and the mixed moment forced
    /// through it at dx = 4 against the direct loop; the same bits for any thread count.
    @Test func gemmFlushMatchesTheVectorLoops() throws {
        func dense(_ source: WindowSource, _ process: AR1Process, flush: WindowMomentKernels.Flush, threads: Int = 2,
                   mixed: Bool = false) throws -> (second: StreamingMean, mixed: StreamingMean?) {
            let engine = try WindowMomentKernels.Engine(source: source, process: process, secondOrder: true, mixed: mixed,
                                                        projection: nil, threads: threads, flush: flush)
            try engine.run(source, progress: nil)
            return (engine.secondOrderResult(), mixed ? engine.mixedResult() : nil)
        }
        #expect(WindowMomentKernels.Block(rows: 136, outputs: 8).flushesByGEMM)
        #expect(!WindowMomentKernels.Block(rows: 10, outputs: 5).flushesByGEMM)   // fit's benchmark, dx = 4, dy = 5
        #expect(!WindowMomentKernels.Block(rows: 9, outputs: 0, flush: .gemm).flushesByGEMM)   // no outputs: plain sums

        let process = try testProcess(dimension: 16, seed: 21)
        let data = randomData(process: process, windows: 40, length: 9, outputs: 8, seed: 22)
        let source = TensorWindowSource(x: data.x, y: data.y, windowsPerBatch: 16)
        let loops = try dense(source, process, flush: .vectorLoops).second
        let byGEMM = try dense(source, process, flush: .gemm).second
        let automatic = try estimateSecondOrderMoment(source, process: process)
        #expect(byGEMM.count == loops.count && byGEMM.batchCount == loops.batchCount)
        #expect(meanGap(loops, byGEMM) < 1e-13)
        #expect(errorGap(loops, byGEMM) < 1e-12)
        let loopsBatch = try #require(loops.batchStandardError), gemmBatch = try #require(byGEMM.batchStandardError)
        #expect((loopsBatch - gemmBatch).maxAbs / loopsBatch.maxAbs < 1e-12)
        #expect(bits(automatic.mean) == bits(byGEMM.mean))
        // The two flushes sum in different orders: not the same bits (the gaps above are not vacuous).
        #expect(bits(loops.mean) != bits(byGEMM.mean))
        for threads in [1, 3] {
            let other = try dense(source, process, flush: .gemm, threads: threads).second
            #expect(bits(other.mean) == bits(byGEMM.mean) && bits(other.standardError) == bits(byGEMM.standardError))
        }

        let small = try testProcess(dimension: 4, seed: 23)
        let smallData = randomData(process: small, windows: 6, length: 7, outputs: 3, seed: 24)
        let direct = directMoments(x: smallData.x, y: smallData.y, process: small)
        let forced = try dense(TensorWindowSource(x: smallData.x, y: smallData.y), small, flush: .gemm, mixed: true)
        let forcedMixed = try #require(forced.mixed)
        #expect(meanGap(direct.second, forced.second) < 1e-13 && errorGap(direct.second, forced.second) < 1e-12)
        #expect(meanGap(direct.mixed, forcedMixed) < 1e-13 && errorGap(direct.mixed, forcedMixed) < 1e-12)
    }

    /// (6) For `y_t = A2ᵀ (A1 x_t)^{∘2} + η_t` (U = 0) on AR(1) windows, `E[y_t ⊗ S₂(x[n], t)]`
    /// is `2 Σ_j b_j ⊗ a_j ⊗ a_j` (MATH.md §4(a)) and the mixed moment is 0 (y_t does not
    /// depend on x_{t−1}); both within 4σ. The wrong claim `3 Σ_j b_j ⊗ a_j ⊗ a_j` fails.
    @Test func momentsMatchTheirExpectations() throws {
        let dx = 3, dh = 2, dy = 3, windows = 5000, n = 8
        let process = try testProcess(dimension: dx, seed: 14)
        var rng = RandomStream(seed: 15, purpose: "window moments test model")
        let a1 = rng.gaussianTensor([dh, dx], scale: 0.7), a2 = rng.gaussianTensor([dh, dy])
        var x: [Double] = [], y: [Double] = []
        for _ in 0..<windows {
            let window = process.sampleWindow(length: n, using: &rng)
            x += window.storage
            for t in 0..<n {
                let h = matvec(a1, window.row(t)).map { $0 * $0 }
                let noise = rng.gaussians(dy)
                y += zip(matvec(a2, h, transpose: true), noise).map { $0 + 0.1 * $1 }
            }
        }
        let source = TensorWindowSource(x: Tensor(shape: [windows, n, dx], storage: x),
                                        y: Tensor(shape: [windows, n, dy], storage: y), windowsPerBatch: 256)
        let moments = try estimateSecondOrderAndMixedMoments(source, process: process)
        let claim = Tensor(shape: [dy, dx, dx]) { i in
            (0..<dh).reduce(0.0) { $0 + 2 * a2[$1, i[0]] * a1[$1, i[1]] * a1[$1, i[2]] }
        }
        let sigma = moments.secondOrder.standardError.frobeniusNorm
        let gap = (moments.secondOrder.mean - claim).frobeniusNorm
        #expect(gap <= 4 * sigma, "‖Ê − 2Σ b⊗a⊗a‖ = \(gap), 4σ = \(4 * sigma)")
        let wrongGap = (moments.secondOrder.mean - 1.5 * claim).frobeniusNorm
        #expect(wrongGap > 4 * sigma, "the wrong claim 3Σ b⊗a⊗a must fail: gap \(wrongGap), 4σ = \(4 * sigma)")
        let mixedSigma = moments.mixed.standardError.frobeniusNorm
        let mixedGap = moments.mixed.mean.frobeniusNorm
        #expect(mixedGap <= 4 * mixedSigma, "‖Ê_mixed‖ = \(mixedGap), 4σ = \(4 * mixedSigma)")
        // The results carry 32 to 64 batch means of consecutive pairs, whose spread gives a
        // standard error that accounts for the correlation of pairs within a window: of the
        // same size as the per-sample one here (weak dependence), never wildly different.
        for moment in [moments.secondOrder, moments.mixed] {
            #expect(moment.batchCount >= 32 && moment.batchCount < 64, "\(moment.batchCount) batch means")
            let batchSigma = try #require(moment.batchStandardError).frobeniusNorm
            let ratio = batchSigma / moment.standardError.frobeniusNorm
            #expect(ratio > 0.7 && ratio < 1.6, "batch-means σ / per-sample σ = \(ratio)")
        }
    }

    /// Inconsistent inputs are thrown as one-line errors, not trapped.
    @Test func badInputsThrow() throws {
        let process = try testProcess(dimension: 2, seed: 16)
        let data = randomData(process: process, windows: 2, length: 5, outputs: 2, seed: 17)
        let source = TensorWindowSource(x: data.x, y: data.y)
        let other = try testProcess(dimension: 3, seed: 18)
        #expect(throws: WindowMomentsError.self) { try estimateSecondOrderMoment(source, process: other) }
        #expect(throws: WindowMomentsError.self) {
            try estimateProjectedMixedMoment(source, process: process, alpha: Tensor.zeros([3, 2]), beta: Tensor.zeros([2, 2]))
        }
        #expect(throws: WindowMomentsError.self) {
            try estimateProjectedMixedMoment(source, process: process, alpha: Tensor.zeros([2, 2]), beta: Tensor.zeros([2, 3]))
        }
        // A chunk without the margin x_{t−2} that the mixed score at t needs.
        struct ShortMargin: WindowSource {
            var inputDimension: Int { 1 }
            var outputDimension: Int { 1 }
            func forEachBatch(_ body: ([WindowSegment]) throws -> Void) throws {
                try body([WindowSegment(windowLength: 10, firstTime: 3, x: [1, 2, 3, 4], y: [1, 2, 3, 4], accumulate: 4..<6)])
            }
        }
        let scalar = try AR1Process.scalar(phi: 0.5)
        #expect(throws: WindowMomentsError.self) { try estimateMixedMoment(ShortMargin(), process: scalar) }
        // The second-order moment needs only x_{t−1}: the same chunk is fine for it.
        #expect(try estimateSecondOrderMoment(ShortMargin(), process: scalar).count == 2)
        // A stacked segment whose y does not hold as many windows as x.
        struct Ragged: WindowSource {
            var inputDimension: Int { 1 }
            var outputDimension: Int { 1 }
            func forEachBatch(_ body: ([WindowSegment]) throws -> Void) throws {
                try body([WindowSegment(windows: 2, windowLength: 3, x: [1, 2, 3, 4, 5, 6], y: [1, 2, 3])])
            }
        }
        #expect(throws: WindowMomentsError.self) { try estimateSecondOrderMoment(Ragged(), process: scalar) }
    }
}

/// The simulated window source and the projected score moment.
@Suite struct SimulatedAndProjectedMomentTests {
    private func smallModel() throws -> (IORNN, AR1Process) {
        let process = try fixedProcess()
        let model = try IORNN.random(inputDimension: 2, hidden: 2, outputDimension: 3, noise: 0.1,
                                              spectralNormU: 0.3, rowNormA1: 0.6, seed: 11)
        return (model, process)
    }

    /// The windows a SimulatedWindowSource hands out, batch by batch, are bit for bit those of
    /// one `simulate` call, so its moments equal those of the in-memory source.
    @Test func simulatedSourceEqualsOneSimulation() throws {
        let (model, process) = try smallModel()
        let whole = try model.simulate(process: process, windows: 1_000, length: 5, seed: 3, purpose: "windows")
        let source = try SimulatedWindowSource(model: model, process: process, windows: 1_000, length: 5, seed: 3,
                                               purpose: "windows", windowsPerBatch: 300)
        var x: [Double] = [], y: [Double] = []
        try source.forEachBatch { segments in
            for segment in segments { x += segment.x; y += segment.y }
        }
        #expect(bits(Tensor(vector: x)) == bits(Tensor(vector: whole.x.storage)))
        #expect(bits(Tensor(vector: y)) == bits(Tensor(vector: whole.y.storage)))
        let fromMemory = try estimateSecondOrderMoment(TensorWindowSource(x: whole.x, y: whole.y, windowsPerBatch: 300, stacksWindows: true), process: process)
        let simulated = try estimateSecondOrderMoment(source, process: process)
        #expect(bits(fromMemory.mean) == bits(simulated.mean))
        #expect(throws: ModelError.self) { try SimulatedWindowSource(model: model, process: process, windows: 0, length: 5, seed: 3, purpose: "x") }
    }

    /// The projected score moment equals the dense `estimateWindowScoreMoment` contracted with
    /// the same vectors, on the same windows, to rounding; a wrong direction gives another value.
    @Test func projectedScoreMomentEqualsTheContractedDenseMoment() throws {
        let (model, process) = try smallModel()
        let data = try model.simulate(process: process, windows: 400, length: 4, seed: 5, purpose: "windows")
        let source = TensorWindowSource(x: data.x, y: data.y)
        let beta = [0.3, -1.0, 0.5], p = [1.0, 0.2], q = [-0.4, 0.7]
        let projections = [
            ScoreProjection(output: beta, slots: [(offset: -1, vector: p), (offset: -1, vector: q), (offset: -1, vector: p), (offset: -1, vector: q)]),
            ScoreProjection(output: beta, slots: [(offset: 0, vector: p), (offset: -1, vector: q), (offset: -1, vector: q)]),
        ]
        let projected = try estimateProjectedScoreMoment(source, process: process, projections: projections)
        // Both projections need t ≥ 1: the same pairs as the dense moments with those offsets.
        let dense4 = try estimateWindowScoreMoment(source, process: process, offsets: [-1, -1, -1, -1])
        let dense3 = try estimateWindowScoreMoment(source, process: process, offsets: [0, -1, -1])
        #expect(projected.count == dense4.count && projected.count == dense3.count && projected.count == 400 * 3)
        let reference = [dense4.mean.contracted(withVectors: [beta, p, q, p, q]), dense3.mean.contracted(withVectors: [beta, p, q, q])]
        for k in 0..<2 {
            #expect(abs(projected.mean.storage[k] - reference[k]) <= 1e-10 * max(1, abs(reference[k])), "projection \(k)")
        }
        #expect(projected.batchCount >= 32)
        let other = try estimateProjectedScoreMoment(source, process: process, projections: [
            ScoreProjection(output: beta, slots: [(offset: -1, vector: p), (offset: -1, vector: p), (offset: -1, vector: p), (offset: -1, vector: q)]),
        ])
        #expect(abs(other.mean.storage[0] - reference[0]) > 1e-6)
        #expect(throws: ModelError.self) {
            try estimateProjectedScoreMoment(source, process: process, projections: [ScoreProjection(output: [1], slots: [(offset: 0, vector: p)])])
        }
    }
}
