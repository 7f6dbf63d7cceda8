// Tests of the project's random generator (Random/RandomStream.swift) and of the streaming
// moment accumulator (Moments/StreamingMean.swift): reproducibility, independence of streams,
// distributions within sample-derived standard errors, and exact agreement of the streaming
// formulas with two-pass ones, merges and chunked accumulation.

import Foundation
import Testing
@testable import SpectralRNN


/// The mean of `values` and the standard error of that mean, `sd/√N` with the unbiased sd,
/// by two passes.
private func meanAndStandardError(_ values: [Double]) -> (mean: Double, standardError: Double) {
    let n = Double(values.count)
    let mean = values.reduce(0, +) / n
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
    return (mean, (variance / n).squareRoot())
}

/// A fixed data set of 37 samples of shape [2, 3], with an offset so that a one-pass
/// sum-of-squares formula would lose digits (Welford must not).
private let fixedData: [[Double]] = (0..<37).map { (k: Int) -> [Double] in
    (0..<6).map { (i: Int) -> Double in
        let angle: Double = 1.3 * Double(k) + 0.7 * Double(i)
        return 1000 + Double(i + 1) * sin(angle)
    }
}

@Suite struct RandomAndMomentsTests {

    // MARK: RandomStream

    /// Same seed, purpose and index: the same sequence, for bits, uniforms and Gaussians.
    @Test func sameSeedPurposeAndIndexGiveTheSameSequence() {
        var a = RandomStream(seed: 42, purpose: "windows", index: 3)
        var b = RandomStream(seed: 42, purpose: "windows", index: 3)
        for _ in 0..<1000 { #expect(a.next() == b.next()) }
        for _ in 0..<100 { #expect(a.uniform().bitPattern == b.uniform().bitPattern) }
        // An odd number of Gaussians leaves a spare Box–Muller value in both streams alike.
        for _ in 0..<101 { #expect(a.gaussian().bitPattern == b.gaussian().bitPattern) }
        #expect(a.gaussians(5) == b.gaussians(5))
        // The default purpose and index are "" and 0.
        var c = RandomStream(seed: 42), d = RandomStream(seed: 42, purpose: "", index: 0)
        for _ in 0..<100 { #expect(c.next() == d.next()) }
    }

    /// Changing the seed, the purpose or the index changes the whole sequence: no position of
    /// the first 64 draws coincides (a coincidence has probability 2⁻⁶⁴ per position).
    @Test func differentSeedPurposeOrIndexGiveDifferentSequences() {
        func first(_ stream: RandomStream) -> [UInt64] {
            var s = stream
            return (0..<64).map { _ in s.next() }
        }
        let reference = first(RandomStream(seed: 42, purpose: "windows", index: 3))
        let variants = [
            RandomStream(seed: 43, purpose: "windows", index: 3),
            RandomStream(seed: 42, purpose: "window", index: 3),
            RandomStream(seed: 42, purpose: "parameters", index: 3),
            RandomStream(seed: 42, purpose: "", index: 3),
            RandomStream(seed: 42, purpose: "windows", index: 4),
            RandomStream(seed: 42, purpose: "windows", index: 0),
        ]
        for (k, variant) in variants.enumerated() {
            let other = first(variant)
            #expect(zip(reference, other).allSatisfy { $0 != $1 }, "variant \(k)")
        }
    }

    /// Uniform draws lie in the open interval (0, 1); over 10⁵ draws (fixed seed) the mean is ½
    /// and the variance 1/12 within 4 standard errors, each from the sample (the sd of u, resp.
    /// of (u − ½)², over √N).
    @Test func uniformDrawsAreInTheOpenUnitInterval() {
        var rng = RandomStream(seed: 20160303, purpose: "random tests: uniform")
        let draws = (0..<100_000).map { _ in rng.uniform() }
        #expect(draws.allSatisfy { $0 > 0 && $0 < 1 })
        let mean = meanAndStandardError(draws)
        #expect(abs(mean.mean - 0.5) <= 4 * mean.standardError, "mean \(mean.mean) ± \(mean.standardError)")
        let variance = meanAndStandardError(draws.map { ($0 - 0.5) * ($0 - 0.5) })
        #expect(abs(variance.mean - 1.0 / 12) <= 4 * variance.standardError,
                "variance \(variance.mean) ± \(variance.standardError)")
    }

    /// Over 10⁵ standard Gaussian draws (fixed seed) the mean is 0 and the variance E[z²] is 1,
    /// each within 4 standard errors computed from the sample (sd of z, resp. of z², over √N).
    @Test func gaussianMeanAndVarianceWithinFourStandardErrors() {
        var rng = RandomStream(seed: 20160303, purpose: "random tests: gaussian")
        let draws = rng.gaussians(100_000)
        #expect(draws.allSatisfy { $0.isFinite })
        let mean = meanAndStandardError(draws)
        #expect(abs(mean.mean) <= 4 * mean.standardError, "mean \(mean.mean) ± \(mean.standardError)")
        let second = meanAndStandardError(draws.map { $0 * $0 })
        #expect(abs(second.mean - 1) <= 4 * second.standardError, "E[z²] = \(second.mean) ± \(second.standardError)")
    }

    /// `gaussians(n)` is n calls of `gaussian()`, and `gaussianTensor` scales the same draws.
    @Test func gaussianTensorScalesTheSameDraws() {
        var a = RandomStream(seed: 5, purpose: "tensor"), b = RandomStream(seed: 5, purpose: "tensor")
        let tensor = a.gaussianTensor([2, 3, 2], scale: 0.5)
        #expect(tensor.shape == [2, 3, 2])
        let draws = (0..<12).map { _ in b.gaussian() }
        #expect(tensor.storage == draws.map { $0 * 0.5 })
        #expect(a.gaussians(3) == (0..<3).map { _ in b.gaussian() })
    }

    // MARK: StreamingMean

    /// Mean and standard error equal the two-pass formulas on a fixed data set: the mean to
    /// 10⁻¹² of max|x|, the standard error to 10⁻¹² relative (Welford's update carries O(N) roundings).
    @Test func streamingMeanEqualsTwoPassFormulas() {
        var accumulator = StreamingMean(shape: [2, 3])
        for sample in fixedData { accumulator.add(Tensor(shape: [2, 3], storage: sample)) }
        #expect(accumulator.count == fixedData.count)
        #expect(accumulator.mean.shape == [2, 3] && accumulator.standardError.shape == [2, 3])
        for i in 0..<6 {
            let column = fixedData.map { $0[i] }
            let twoPass = meanAndStandardError(column)
            let scale = column.map(abs).max()!
            #expect(abs(accumulator.mean.storage[i] - twoPass.mean) <= 1e-12 * scale)
            #expect(abs(accumulator.standardError.storage[i] - twoPass.standardError) <= 1e-12 * twoPass.standardError)
        }
    }

    /// Fewer than two samples: the standard error is infinite (no spread to estimate).
    @Test func standardErrorNeedsTwoSamples() {
        var accumulator = StreamingMean(shape: [2])
        #expect(accumulator.count == 0)
        #expect(accumulator.mean == Tensor.zeros([2]))
        #expect(accumulator.standardError.storage.allSatisfy { $0 == .infinity })
        accumulator.add([1, 2])
        #expect(accumulator.mean == Tensor(vector: [1, 2]))
        #expect(accumulator.standardError.storage.allSatisfy { $0 == .infinity })
        accumulator.add([3, 2])
        #expect(accumulator.standardError.storage == [1, 0])
    }

    /// Merging accumulators of parts equals adding everything to one accumulator (to 10⁻¹²,
    /// as above); merging an empty accumulator either way changes nothing (bit for bit).
    @Test func mergeEqualsOneAccumulator() {
        var whole = StreamingMean(shape: [6])
        for sample in fixedData { whole.add(sample) }
        var parts = [StreamingMean(shape: [6]), StreamingMean(shape: [6]), StreamingMean(shape: [6])]
        for (k, sample) in fixedData.enumerated() { parts[k < 10 ? 0 : (k < 11 ? 1 : 2)].add(sample) }
        var merged = parts[0]
        merged.merge(parts[1])
        merged.merge(parts[2])
        #expect(merged.count == whole.count)
        let scale = fixedData.flatMap { $0 }.map(abs).max()!
        for i in 0..<6 {
            #expect(abs(merged.mean.storage[i] - whole.mean.storage[i]) <= 1e-12 * scale)
            #expect(abs(merged.standardError.storage[i] - whole.standardError.storage[i]) <= 1e-12 * whole.standardError.storage[i])
        }

        let empty = StreamingMean(shape: [6])
        var withEmpty = whole
        withEmpty.merge(empty)
        #expect(withEmpty.count == whole.count && bits(withEmpty.mean) == bits(whole.mean)
                && bits(withEmpty.standardError) == bits(whole.standardError))
        var fromEmpty = empty
        fromEmpty.merge(whole)
        #expect(fromEmpty.count == whole.count && bits(fromEmpty.mean) == bits(whole.mean)
                && bits(fromEmpty.standardError) == bits(whole.standardError))
    }

    /// `inChunks` gives the same numbers bit for bit on every run, and the same as merging the
    /// chunks serially in chunk order (so the number of threads does not matter).
    @Test func inChunksIsReproducibleBitForBit() {
        let body: @Sendable (Int, inout StreamingMean) -> Void = { k, accumulator in
            var rng = RandomStream(seed: 20160303, purpose: "moments tests: chunks", index: UInt64(k))
            for _ in 0..<500 { accumulator.add(rng.gaussians(3).map { $0 + Double(k) }) }
        }
        let first = StreamingMean.inChunks(16, shape: [3], body)
        let second = StreamingMean.inChunks(16, shape: [3], body)
        #expect(first.count == 16 * 500 && second.count == first.count)
        #expect(bits(first.mean) == bits(second.mean))
        #expect(bits(first.standardError) == bits(second.standardError))

        var serial = StreamingMean(shape: [3])
        for k in 0..<16 {
            var chunk = StreamingMean(shape: [3])
            body(k, &chunk)
            serial.merge(chunk)
        }
        #expect(bits(serial.mean) == bits(first.mean))
        #expect(bits(serial.standardError) == bits(first.standardError))
    }

    /// `entries(_:shape:)` of an accumulator of concatenated samples is, bit for bit, the
    /// accumulator of the corresponding part alone (Welford's update is entry-wise).
    @Test func entriesSliceConsistently() {
        var flat = StreamingMean(shape: [8])
        var vectorPart = StreamingMean(shape: [2])
        var matrixPart = StreamingMean(shape: [2, 3])
        var rng = RandomStream(seed: 20160303, purpose: "moments tests: entries")
        for _ in 0..<200 {
            let v = rng.gaussians(2), m = rng.gaussians(6)
            flat.add(v + m)
            vectorPart.add(v)
            matrixPart.add(Tensor(shape: [2, 3], storage: m))
        }
        let slices = [(flat.entries(0..<2, shape: [2]), vectorPart), (flat.entries(2..<8, shape: [2, 3]), matrixPart)]
        for (slice, part) in slices {
            #expect(slice.shape == part.shape)
            #expect(slice.count == part.count)
            #expect(bits(slice.mean) == bits(part.mean))
            #expect(bits(slice.standardError) == bits(part.standardError))
        }
        // A slice is a full accumulator: adding to it continues the same statistics.
        var continued = flat.entries(0..<2, shape: [2])
        var reference = vectorPart
        continued.add([0.5, -0.25])
        reference.add([0.5, -0.25])
        #expect(bits(continued.mean) == bits(reference.mean) && bits(continued.standardError) == bits(reference.standardError))
    }

    // MARK: Batch means

    /// With at least as many chunks as batches, each chunk is one batch: the batch standard
    /// error is √(Σ_b n_b (m_b − M)² / ((B − 1) N)) over the chunk means, computed here from
    /// the chunks run one by one; bit-for-bit the same on every run.
    @Test func inChunksKeepsOneBatchPerChunk() {
        let body: @Sendable (Int, Int, inout StreamingMean) -> Void = { k, count, accumulator in
            var rng = RandomStream(seed: 20160303, purpose: "moments tests: batch means", index: UInt64(k))
            for _ in 0..<count { accumulator.add(rng.gaussians(2).map { $0 * $0 * $0 }) }
        }
        let samples = 32 * 100 + 5  // the remainder goes to the first 5 chunks
        let estimate = StreamingMean.inChunks(32, samples: samples, shape: [2], body)
        #expect(estimate.count == samples && estimate.batchCount == 32)
        var chunks: [StreamingMean] = []
        for k in 0..<32 {
            var chunk = StreamingMean(shape: [2])
            body(k, 100 + (k < 5 ? 1 : 0), &chunk)
            chunks.append(chunk)
        }
        #expect(chunks.map(\.count) == (0..<32).map { 100 + ($0 < 5 ? 1 : 0) })
        let overall = estimate.mean.storage
        let batchError = estimate.batchStandardError!
        for i in 0..<2 {
            let spread = chunks.reduce(0.0) { $0 + Double($1.count) * pow($1.mean.storage[i] - overall[i], 2) }
            let expected = (spread / (31 * Double(samples))).squareRoot()
            #expect(abs(batchError.storage[i] - expected) <= 1e-12 * expected)
            // Both estimate the same standard error: within a factor 2 here (31 degrees of freedom).
            let perSample = estimate.standardError.storage[i]
            #expect(batchError.storage[i] > perSample / 2 && batchError.storage[i] < perSample * 2)
        }
        let again = StreamingMean.inChunks(32, samples: samples, shape: [2], body)
        #expect(bits(again.batchStandardError!) == bits(batchError) && bits(again.mean) == bits(estimate.mean))
    }

    /// Fewer chunks than batches: each chunk records batches of its own consecutive samples,
    /// ⌈32/8⌉ = 4 to 8 per chunk; the batch means are those of the runs of samples they cover.
    @Test func fewChunksRecordBatchesOfConsecutiveSamples() {
        let body: @Sendable (Int, Int, inout StreamingMean) -> Void = { k, count, accumulator in
            var rng = RandomStream(seed: 20160303, purpose: "moments tests: recorded batches", index: UInt64(k))
            for _ in 0..<count { accumulator.add([rng.gaussian()]) }
        }
        for samples in [8 * 37, 8 * 1000 + 3, 8 * 4096] {
            let estimate = StreamingMean.inChunks(8, samples: samples, shape: [1], body)
            #expect(estimate.batchCount >= 32 && estimate.batchCount < 64, "N = \(samples): \(estimate.batchCount) batches")
            #expect(estimate.batchStandardError != nil)
        }
        // A recording accumulator on its own: 100 samples, target 4 ⇒ length 16 batches
        // (the doubling stops at 4…7 batches), the last 4 samples folded into the 6th batch.
        var recorder = StreamingMean(shape: [1], recordingBatches: 4)
        let values = (0..<100).map { Double($0 % 7) - 3 + Double($0) / 50 }
        for v in values { recorder.add([v]) }
        #expect(recorder.batchCount == 6)
        let means = (0..<6).map { b -> Double in
            let run = values[(b * 16)..<(b == 5 ? 100 : (b + 1) * 16)]
            return run.reduce(0, +) / Double(run.count)
        }
        let counts = (0..<6).map { $0 == 5 ? 20.0 : 16.0 }
        let overall = values.reduce(0, +) / 100
        let spread = zip(means, counts).reduce(0.0) { $0 + $1.1 * pow($1.0 - overall, 2) }
        let expected = (spread / (5 * 100)).squareRoot()
        #expect(abs(recorder.batchStandardError!.storage[0] - expected) <= 1e-12 * expected)
    }

    /// Adding a sample to a merged accumulator drops its batch means (the sample is in no batch);
    /// merging two batched accumulators keeps both sets; slicing entries slices the batch means.
    @Test func batchMeansFollowMergesAddsAndSlices() {
        let body: @Sendable (Int, Int, inout StreamingMean) -> Void = { k, count, accumulator in
            var rng = RandomStream(seed: 20160303, purpose: "moments tests: batch bookkeeping", index: UInt64(k))
            for _ in 0..<count { accumulator.add(rng.gaussians(3)) }
        }
        let first = StreamingMean.inChunks(32, samples: 640, shape: [3], body)
        let second = StreamingMean.inChunks(32, samples: 320, shape: [3], body)
        var merged = first
        merged.merge(second)
        #expect(merged.batchCount == 64 && merged.count == 960)
        var plain = StreamingMean(shape: [3])
        plain.add([1, 2, 3])
        var mixed = first
        mixed.merge(plain)
        #expect(mixed.batchCount == 0 && mixed.batchStandardError == nil)
        var added = first
        added.add([0, 0, 0])
        #expect(added.batchCount == 0 && added.count == 641)
        let slice = first.entries(1..<3, shape: [2])
        #expect(slice.batchCount == 32)
        #expect(bits(slice.batchStandardError!) == Array(bits(first.batchStandardError!)[1..<3]))
        #expect(StreamingMean(shape: [3]).batchStandardError == nil)
    }

    /// Fewer samples than chunks: the remainder is spread, no chunk gets more than one, and
    /// empty chunks add no batch.
    @Test func fewSamplesAreSpreadAcrossChunks() {
        let estimate = StreamingMean.inChunks(32, samples: 7, shape: [1]) { k, count, accumulator in
            for _ in 0..<count { accumulator.add([Double(k)]) }
        }
        #expect(estimate.count == 7 && estimate.batchCount == 7)
        #expect(estimate.mean.storage[0] == 3)
    }

    // MARK: Student's t

    /// Closed forms (ν = 1, 2) and table values of two-sided quantiles; the normal tail beyond
    /// 10⁴ degrees of freedom.
    @Test func studentTTailsAndQuantiles() {
        for k in [0.5, 1.0, 2.0, 4.0, 10.0] {
            #expect(abs(StudentT.twoSidedTail(k, degreesOfFreedom: 1) - (1 - 2 / Double.pi * atan(k))) <= 1e-15)
            #expect(abs(StudentT.twoSidedTail(k, degreesOfFreedom: 2) - (1 - k / (2 + k * k).squareRoot())) <= 1e-15)
        }
        // Quantiles t_{1−α/2, ν} from standard tables.
        for (alpha, nu, quantile) in [(0.05, 10, 2.228138852), (0.01, 30, 2.749995652), (0.001, 5, 6.868826626),
                                      (0.05, 1, 12.70620474), (0.05, 3, 3.182446305)] {
            let k = StudentT.criticalValue(twoSidedTail: alpha, degreesOfFreedom: nu)
            #expect(abs(k - quantile) <= 1e-7 * quantile, "α = \(alpha), ν = \(nu): \(k)")
        }
        #expect(abs(StudentT.twoSidedTail(4, degreesOfFreedom: 20_000) - 6.334248366623996e-05) <= 1e-15)
        // The t tail is heavier than the normal one and approaches it.
        let normal = erfc(4 / 2.squareRoot())
        #expect(StudentT.twoSidedTail(4, degreesOfFreedom: 31) > StudentT.twoSidedTail(4, degreesOfFreedom: 1000))
        #expect(abs(StudentT.twoSidedTail(4, degreesOfFreedom: 9_999) - normal) <= 2e-2 * normal)
        #expect(StudentT.twoSidedTail(0, degreesOfFreedom: 5) == 1)
    }
}
