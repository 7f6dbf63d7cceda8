// Tests of the general projected mixed-score cross-moment (ProjectedScoreMoment.swift):
// against the dense moment contracted with the same directions, against walkthrough 03's
// hand-written kernels (which are its fast paths), across thread counts and segmentations.

import Foundation
import Testing
@testable import SpectralRNN

@Suite struct ProjectedScoreMomentTests {
    private func cubicData(windows: Int, length: Int) throws -> (IORNN, AR1Process, (x: Tensor, y: Tensor)) {
        let process = try fixedProcess()
        let model = try IORNN.random(inputDimension: 2, hidden: 2, outputDimension: 3, noise: 0.1,
                                     spectralNormU: 0.25, rowNormA1: 0.4, coefficients: [0.1, 0.3, 0, 1], seed: 4)
        return (model, process, try model.simulate(process: process, windows: windows, length: length, seed: 9, purpose: "windows"))
    }

    /// Order 5 (the cubic's U moment, slots t, t, t−1, t−1, t−1) and an order-4 pattern reaching
    /// t+1: equal to the dense moment contracted with the same vectors, to rounding, on the same pairs.
    @Test func orderFiveEqualsTheContractedDenseMoment() throws {
        let (_, process, data) = try cubicData(windows: 300, length: 5)
        let source = TensorWindowSource(x: data.x, y: data.y)
        let beta = [0.3, -1.0, 0.5], p = [1.0, 0.2], q = [-0.4, 0.7]
        let five = ScoreProjection(output: beta, slots: [(0, p), (0, p), (-1, q), (-1, q), (-1, p)])
        let ahead = ScoreProjection(output: beta, slots: [(1, q), (0, p), (-1, q), (1, p)])
        let projected = try estimateProjectedScoreMoment(source, process: process, projections: [five, ahead])
        // Pairs with t−1 and t+1 inside: t = 1, 2, 3 of 0…4.
        #expect(projected.count == 300 * 3)
        let restricted = TensorWindowSource(x: data.x, y: data.y)
        let dense5 = try estimateWindowScoreMoment(restricted, process: process, offsets: [0, 0, -1, -1, -1])
        let dense4 = try estimateWindowScoreMoment(restricted, process: process, offsets: [1, 0, -1, 1])
        // dense5 pools t = 1…4, dense4 t = 1…3: compare the projection of five alone on its own pairs.
        let alone = try estimateProjectedScoreMoment(source, process: process, projections: [five])
        #expect(alone.count == dense5.count)
        let reference5 = dense5.mean.contracted(withVectors: [beta, p, p, q, q, p])
        #expect(abs(alone.mean.storage[0] - reference5) <= 1e-10 * max(1, abs(reference5)))
        let reference4 = dense4.mean.contracted(withVectors: [beta, q, p, q, p])
        #expect(dense4.count == projected.count)
        #expect(abs(projected.mean.storage[1] - reference4) <= 1e-10 * max(1, abs(reference4)))
        // A wrong claim fails: another slot order is another contraction.
        let swapped = dense5.mean.contracted(withVectors: [beta, p, q, q, q, p])
        #expect(abs(alone.mean.storage[0] - swapped) > 1e-6)
    }

    /// Walkthrough 03's kernels are instances: the projected t, t−1, t−1 kernel equals the
    /// general engine with slots (0, α_j), (−1, α_k), (−1, α_k), and the dense second-order
    /// kernel equals it with unit vectors, on the same windows, to rounding.
    @Test func theKernelsOf03AreInstances() throws {
        let process = try fixedProcess()
        let model = try IORNN.random(inputDimension: 2, hidden: 2, outputDimension: 3, noise: 0.1,
                                     spectralNormU: 0.3, rowNormA1: 0.6, seed: 11)
        let data = try model.simulate(process: process, windows: 2_000, length: 6, seed: 2, purpose: "windows")
        let source = TensorWindowSource(x: data.x, y: data.y, windowsPerBatch: 500, stacksWindows: true)
        let alpha = try pseudoInverse(model.a1), beta = try pseudoInverse(model.a2)
        let fast = try estimateProjectedMixedMoment(source, process: process, alpha: alpha, beta: beta)
        var projections: [ScoreProjection] = []
        for j in 0..<2 {
            for k in 0..<2 {
                let aj = (0..<2).map { alpha[$0, j] }, ak = (0..<2).map { alpha[$0, k] }
                projections.append(ScoreProjection(output: (0..<3).map { beta[$0, j] }, slots: [(0, aj), (-1, ak), (-1, ak)]))
            }
        }
        let general = try estimateProjectedScoreMoment(source, process: process, projections: projections)
        #expect(general.count == fast.count)
        #expect(worstRatio(general.mean.reshaped([2, 2]), fast.mean, scale: magnitude(fast.mean, floor: 1e-3)) <= 1e-11)
        // The per-pair standard errors come from the same sums of squares (the batch means
        // differ: the kernel cuts its records at its threads' parts).
        #expect(worstRatio(general.standardError.reshaped([2, 2]), fast.standardError, scale: fast.standardError) <= 1e-9)

        let second = try estimateSecondOrderMoment(source, process: process)
        var units: [ScoreProjection] = []
        func e(_ i: Int, _ n: Int) -> [Double] { (0..<n).map { $0 == i ? 1 : 0 } }
        for i in 0..<3 { for a in 0..<2 { for b in 0..<2 { units.append(ScoreProjection(output: e(i, 3), slots: [(0, e(a, 2)), (0, e(b, 2))])) } } }
        let dense = try estimateProjectedScoreMoment(source, process: process, projections: units)
        #expect(dense.count == second.count)
        #expect(worstRatio(dense.mean.reshaped([3, 2, 2]), second.mean, scale: magnitude(second.mean, floor: 1e-3)) <= 1e-11)
    }

    /// The same bits for 1, 2 and 3 threads and for other batchings of the same windows (the
    /// records are cut at global positions); time-chunked long windows give the same pairs.
    @Test func sameResultForAnyThreadsAndSegmentation() throws {
        let (_, process, data) = try cubicData(windows: 700, length: 7)
        let p = [1.0, 0.2], q = [-0.4, 0.7]
        let projections = [ScoreProjection(output: [0.3, -1.0, 0.5], slots: [(0, p), (0, p), (-1, q), (-1, q), (-1, q)]),
                           ScoreProjection(output: [1, 0, 0], slots: [(0, q), (-1, p)])]
        let source = TensorWindowSource(x: data.x, y: data.y, windowsPerBatch: 128, stacksWindows: true)
        let one = try estimateProjectedScoreMoment(source, process: process, projections: projections, threads: 1)
        for threads in [2, 3] {
            let other = try estimateProjectedScoreMoment(source, process: process, projections: projections, threads: threads)
            #expect(bits(other.mean) == bits(one.mean))
            #expect(bits(try #require(other.batchStandardError)) == bits(try #require(one.batchStandardError)))
        }
        // Other batchings: the same records of the same pairs, so the batch means agree to rounding.
        for batch in [333, 64, 700] {
            let other = TensorWindowSource(x: data.x, y: data.y, windowsPerBatch: batch)
            let again = try estimateProjectedScoreMoment(other, process: process, projections: projections, threads: 2)
            #expect(again.count == one.count && again.batchCount == one.batchCount)
            #expect(worstRatio(again.mean, one.mean, scale: magnitude(one.mean)) <= 1e-12)
            let se = try #require(again.batchStandardError), reference = try #require(one.batchStandardError)
            #expect(worstRatio(se, reference, scale: reference) <= 1e-10, "batch of \(batch) windows")
        }
        // One long window cut into time chunks with margins, against the same window whole.
        let long = try cubicData(windows: 1, length: 3_000).2
        let chunked = TensorWindowSource(x: long.x, y: long.y, stepsPerBatch: 256)
        let wholeWindow = TensorWindowSource(x: long.x, y: long.y)
        let a = try estimateProjectedScoreMoment(chunked, process: process, projections: projections)
        let b = try estimateProjectedScoreMoment(wholeWindow, process: process, projections: projections)
        #expect(a.count == 2_999 && b.count == 2_999)
        #expect(worstRatio(a.mean, b.mean, scale: magnitude(b.mean)) <= 1e-12)
    }

    @Test func badProjectionsAreRefused() throws {
        let (_, process, data) = try cubicData(windows: 10, length: 3)
        let source = TensorWindowSource(x: data.x, y: data.y)
        #expect(throws: ModelError.self) { try estimateProjectedScoreMoment(source, process: process, projections: []) }
        #expect(throws: ModelError.self) {
            try estimateProjectedScoreMoment(source, process: process, projections: [ScoreProjection(output: [1, 0, 0], slots: [(0, [.nan, 1])])])
        }
        #expect(throws: ModelError.self) {
            try estimateProjectedScoreMoment(source, process: process, projections: [ScoreProjection(output: [1, 0, 0], slots: [(0, [1, 1])])], threads: 0)
        }
        // A segment without the margin the slots need is refused with its times.
        let segment = WindowSegment(windowLength: 10, firstTime: 4, x: Array(data.x.storage[0..<6]), y: Array(data.y.storage[0..<9]), accumulate: 4..<7)
        struct One: WindowSource {
            let segment: WindowSegment
            var inputDimension: Int { 2 }
            var outputDimension: Int { 3 }
            func forEachBatch(_ body: ([WindowSegment]) throws -> Void) throws { try body([segment]) }
        }
        #expect(throws: WindowMomentsError.self) {
            try estimateProjectedScoreMoment(One(segment: segment), process: process,
                                             projections: [ScoreProjection(output: [1, 0, 0], slots: [(-1, [1, 1])])])
        }
    }
}

/// `|t| + floor`, entrywise (a scale for `worstRatio`).
private func magnitude(_ t: Tensor, floor: Double = 0) -> Tensor {
    Tensor(shape: t.shape, storage: t.storage.map { abs($0) + floor })
}
