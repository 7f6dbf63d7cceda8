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
}
