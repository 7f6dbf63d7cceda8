// What `spectral-rnn fit` stands on, at library level: HDF5WindowSource (batches and time
// chunks of an input file, validation and its messages), readProcess, and the AR(1)
// least-squares estimate used when a file has no /process.

import Foundation
import Testing
@testable import SpectralRNN

/// A fresh folder under the system temporary directory, removed by `remove()`.
private struct Scratch {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fit-tests-\(UUID().uuidString)")
    init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    func file(_ name: String) -> String { url.appendingPathComponent(name).path }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// N windows of an AR(1) input (N×n×dx) and outputs depending on the whole neighbourhood of t
/// (N×n×dy), so that any misplaced time or margin changes the records below.
private func windows(_ process: AR1Process, count: Int, length n: Int, outputs dy: Int,
                     seed: UInt64) -> (x: Tensor, y: Tensor) {
    let dx = process.dimension
    var x: [Double] = [], y: [Double] = []
    x.reserveCapacity(count * n * dx)
    for w in 0..<count {
        var rng = RandomStream(seed: seed, purpose: "fit tests windows", index: UInt64(w))
        x += process.sampleWindow(length: n, using: &rng).storage
        y += rng.gaussians(n * dy)
    }
    return (Tensor(shape: [count, n, dx], storage: x), Tensor(shape: [count, n, dy], storage: y))
}

/// Writes /x and /y (and whatever `extra` adds) to `path`.
private func writeInput(_ path: String, x: Tensor, y: Tensor, extra: (inout HDF5Tree) -> Void = { _ in }) throws {
    var tree = HDF5Tree()
    tree.addDataset("/x", x)
    tree.addDataset("/y", y)
    extra(&tree)
    try tree.write(to: path)
}

/// One record per accumulated (window, t): t, then x_{t−2} … x_{t+1} where they exist in the
/// window (the margins the estimators need, MATH.md §2), then y_t. Sorted, so two sources
/// that hand out the same pairs with the same neighbourhoods give equal lists.
private func records(_ source: WindowSource) throws -> [[Double]] {
    let dx = source.inputDimension, dy = source.outputDimension
    var result: [[Double]] = []
    var problems: [String] = []
    try source.forEachBatch { segments in
        for segment in segments {
            let n = segment.windowLength, windows = segment.windowCount
            let steps = segment.x.count / (windows * dx)
            if segment.y.count != windows * steps * dy { problems.append("x and y of a segment differ in steps") }
            // Stacked windows (one segment per batch of whole windows) one after the other.
            for w in 0..<windows {
                let xBase = w * steps * dx, yBase = w * steps * dy
                for t in segment.accumulate {
                    let low = max(0, t - 2), high = min(n, t + 2)
                    guard low >= segment.firstTime, high <= segment.firstTime + steps else {
                        problems.append("t = \(t) lacks its margins in a segment of times \(segment.firstTime)..<\(segment.firstTime + steps)")
                        continue
                    }
                    var record = [Double(t), Double(n)]
                    for tau in low..<high {
                        record.append(Double(tau - t))
                        record += segment.x[(xBase + (tau - segment.firstTime) * dx)..<(xBase + (tau - segment.firstTime + 1) * dx)]
                    }
                    record += segment.y[(yBase + (t - segment.firstTime) * dy)..<(yBase + (t - segment.firstTime + 1) * dy)]
                    result.append(record)
                }
            }
        }
    }
    #expect(problems.isEmpty, "\(problems.prefix(3))")
    return result.sorted { $0.lexicographicallyPrecedes($1) }
}

/// The records straight from the tensors: every (window, t) once.
private func expectedRecords(x: Tensor, y: Tensor) -> [[Double]] {
    let count = x.shape[0], n = x.shape[1], dx = x.shape[2], dy = y.shape[2]
    var result: [[Double]] = []
    for w in 0..<count {
        for t in 0..<n {
            var record = [Double(t), Double(n)]
            for tau in max(0, t - 2)..<min(n, t + 2) {
                record.append(Double(tau - t))
                record += x.storage[((w * n + tau) * dx)..<((w * n + tau + 1) * dx)]
            }
            record += y.storage[((w * n + t) * dy)..<((w * n + t + 1) * dy)]
            result.append(record)
        }
    }
    return result.sorted { $0.lexicographicallyPrecedes($1) }
}

/// The message of the HDF5Error (or other error) thrown by `body`; nil when nothing is thrown.
private func message(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return "\(error)"
    }
}

/// A file-level input error: `HDF5WindowSource(path:)` plus one full pass (the values are
/// checked as they are read).
private func inputError(_ path: String) -> String? {
    message {
        let source = try HDF5WindowSource(path: path)
        try source.forEachBatch { _ in }
    }
}

@Suite(.serialized)
struct FitCommandTests {

    // MARK: Batches and time chunks

    /// Many short windows in several batches, one long window in time chunks (several
    /// segments per batch), and a few long windows: every (window, t) once, with its margins,
    /// the same records as the tensors and as TensorWindowSource.
    @Test(arguments: [(23, 9, 2_000, "windows"), (1, 3_000, 40_000, "time"), (3, 700, 4_000, "time"),
                      (6, 5, HDF5WindowSource.defaultBatchBytes, "windows")])
    func sourceHandsOutEveryPairOnceWithItsMargins(count: Int, length n: Int, batchBytes: Int, layout: String) throws {
        let folder = try Scratch()
        defer { folder.remove() }
        let process = try fixedProcess()
        let data = windows(process, count: count, length: n, outputs: 3, seed: 11)
        let path = folder.file("input.h5")
        try writeInput(path, x: data.x, y: data.y)

        let source = try HDF5WindowSource(path: path, batchBytes: batchBytes)
        #expect(source.windows == count && source.length == n)
        #expect(source.inputDimension == 2 && source.outputDimension == 3)
        switch source.layout {
        case .windows(let perBatch):
            #expect(layout == "windows")
            #expect(perBatch == max(1, batchBytes / (n * 5 * 8)))
        case .timeChunks(let stepsPerBatch, let stepsPerSegment):
            #expect(layout == "time")
            #expect(stepsPerSegment <= stepsPerBatch || stepsPerSegment == HDF5WindowSource.minimumSegmentSteps)
        }
        var batches = 0, mostSegments = 0
        try source.forEachBatch { segments in
            batches += 1
            mostSegments = max(mostSegments, segments.count)
        }
        if batchBytes < count * n * 40 { #expect(batches > 1) }
        if case .timeChunks(let stepsPerBatch, let stepsPerSegment) = source.layout, stepsPerBatch > stepsPerSegment, n > stepsPerSegment {
            #expect(mostSegments > 1)
        }

        let expected = expectedRecords(x: data.x, y: data.y)
        #expect(try records(source) == expected)
        // Restartable: a second pass hands out the same; so does reading without the reader thread.
        #expect(try records(source) == expected)
        #expect(try records(HDF5WindowSource(path: path, batchBytes: batchBytes, prefetch: false)) == expected)
        #expect(try records(TensorWindowSource(x: data.x, y: data.y, stepsPerBatch: 64)) == expected)

        // The inputs-only pass (the AR(1) fit's): the same segments' x, in the same order, and no y.
        var full: [(x: [Double], accumulate: Range<Int>)] = [], inputsOnly: [(x: [Double], accumulate: Range<Int>)] = []
        var emptyY = true
        try source.forEachBatch { segments in full += segments.map { ($0.x, $0.accumulate) } }
        try source.forEachInputBatch { segments in
            inputsOnly += segments.map { ($0.x, $0.accumulate) }
            emptyY = emptyY && segments.allSatisfy(\.y.isEmpty)
        }
        #expect(emptyY)
        #expect(full.count == inputsOnly.count)
        #expect(zip(full, inputsOnly).allSatisfy { $0.x == $1.x && $0.accumulate == $1.accumulate })
    }

    /// Whole-window batches are read into the arrays of batches the consumer has finished
    /// with. A consumer that keeps its batches must still see them unchanged after later
    /// passes (copy on write), with or without the reader thread, and a consumer that does not
    /// keep them gets the same values from the recycled arrays (three passes, short last batch).
    @Test(arguments: [true, false])
    func batchesKeptByTheConsumerStayUnchanged(prefetch: Bool) throws {
        let folder = try Scratch()
        defer { folder.remove() }
        let data = windows(try fixedProcess(), count: 23, length: 9, outputs: 3, seed: 12)
        let path = folder.file("input.h5")
        try writeInput(path, x: data.x, y: data.y)
        let source = try HDF5WindowSource(path: path, batchBytes: 2_000, prefetch: prefetch)
        // 5 windows a batch: 4 full batches and a short one.
        #expect(source.layout == .windows(perBatch: 5))
        var kept: [[WindowSegment]] = []
        try source.forEachBatch { kept.append($0) }
        let copies = kept.map { batch in batch.map { (x: $0.x.map { $0 }, y: $0.y.map { $0 }) } }
        var passes: [[[Double]]] = []
        for _ in 0..<3 {
            var values: [[Double]] = []
            try source.forEachBatch { segments in values += segments.map { $0.x + $0.y } }
            passes.append(values)
        }
        try source.forEachInputBatch { _ in }
        #expect(kept.count == 5)
        #expect(zip(kept, copies).allSatisfy { batch, copy in
            zip(batch, copy).allSatisfy { $0.x == $1.x && $0.y == $1.y }
        })
        let firstPass = copies.flatMap { $0.map { $0.x + $0.y } }
        #expect(passes.allSatisfy { $0 == firstPass })
        // And the values are the file's: window-major x, then y, batch by batch.
        let perBatch = 5, n = 9
        let expected = stride(from: 0, to: 23, by: perBatch).map { first -> [Double] in
            let last = min(23, first + perBatch)
            return Array(data.x.storage[(first * n * 2)..<(last * n * 2)]) + Array(data.y.storage[(first * n * 3)..<(last * n * 3)])
        }
        #expect(firstPass == expected)
    }

    /// A range of a file's windows reads only those windows and gives what the same range of the
    /// windows in memory gives (the loss of a model on each part, to rounding); a file cut into
    /// time chunks is refused with the reason.
    @Test func windowRangesOfAFileEqualThoseInMemory() throws {
        let folder = try Scratch()
        defer { folder.remove() }
        let process = try fixedProcess()
        let data = windows(process, count: 300, length: 6, outputs: 3, seed: 14)
        let path = folder.file("input.h5")
        try writeInput(path, x: data.x, y: data.y)
        let file = try HDF5WindowSource(path: path, batchBytes: 20_000)   // 46 windows a batch: ranges start inside batches
        let memory = TensorWindowSource(x: data.x, y: data.y, windowsPerBatch: 64, stacksWindows: true)
        let model = try IORNN.random(inputDimension: process.dimension, hidden: 2, outputDimension: 3, noise: 0, seed: 3)
        for range in [0..<270, 270..<300, 31..<32, 100..<100] {
            var fromFile: [Double] = []
            try WindowRangeSource(file, windows: range).forEachBatch { batch in for s in batch { fromFile += s.x } }
            var fromMemory: [Double] = []
            try WindowRangeSource(memory, windows: range).forEachBatch { batch in for s in batch { fromMemory += s.x } }
            #expect(fromFile == fromMemory && fromFile.count == range.count * 6 * process.dimension)
            guard !range.isEmpty else { continue }
            let a = try outputError(model, on: WindowRangeSource(file, windows: range))
            let b = try outputError(model, on: WindowRangeSource(memory, windows: range))
            #expect(a.windows == range.count && b.windows == range.count && abs(a.loss - b.loss) <= 1e-13 * b.loss)
        }
        let long = folder.file("long.h5")
        let one = windows(process, count: 1, length: 900, outputs: 3, seed: 15)
        try writeInput(long, x: one.x, y: one.y)
        let chunked = try HDF5WindowSource(path: long, batchBytes: 3_000)
        #expect { try outputError(model, on: WindowRangeSource(chunked, windows: 0..<1)) } throws: { error in
            "\(error)".hasPrefix("a range of windows needs whole windows")
        }
    }

    /// The moments of the fit computed over the file equal those over the same tensors in memory.
    @Test(arguments: [(40, 12, 3_000), (1, 900, 3_000)])
    func momentsOverTheFileEqualMomentsInMemory(count: Int, length n: Int, batchBytes: Int) throws {
        let folder = try Scratch()
        defer { folder.remove() }
        let process = try fixedProcess()
        let data = windows(process, count: count, length: n, outputs: 3, seed: 12)
        let path = folder.file("input.h5")
        try writeInput(path, x: data.x, y: data.y)
        let file = try HDF5WindowSource(path: path, batchBytes: batchBytes)
        let memory = TensorWindowSource(x: data.x, y: data.y)

        let fromFile = try estimateSecondOrderAndMixedMoments(file, process: process)
        let fromMemory = try estimateSecondOrderAndMixedMoments(memory, process: process)
        #expect(fromFile.secondOrder.count == fromMemory.secondOrder.count)
        #expect(fromFile.mixed.count == fromMemory.mixed.count)
        // Only the grouping of the sums differs: relative gaps at rounding level.
        #expect(fromFile.secondOrder.mean.relativeError(to: fromMemory.secondOrder.mean) < 1e-12)
        #expect(fromFile.mixed.mean.relativeError(to: fromMemory.mixed.mean) < 1e-12)
        #expect(fromFile.secondOrder.standardError.relativeError(to: fromMemory.secondOrder.standardError) < 1e-10)

        let arFile = try fitAR1Process(file), arMemory = try fitAR1Process(memory)
        #expect(arFile.pairs == count * (n - 1) && arMemory.pairs == arFile.pairs)
        #expect(arFile.process.phi.relativeError(to: arMemory.process.phi) < 1e-12)
        #expect(arFile.process.sigma.relativeError(to: arMemory.process.sigma) < 1e-12)
    }

    /// An error thrown by the estimator stops the pass (and the reader thread) at once; the
    /// source can be used again afterwards.
    @Test func anErrorInTheEstimatorStopsThePass() throws {
        let folder = try Scratch()
        defer { folder.remove() }
        let data = windows(try fixedProcess(), count: 50, length: 8, outputs: 1, seed: 17)
        let path = folder.file("input.h5")
        try writeInput(path, x: data.x, y: data.y)
        let source = try HDF5WindowSource(path: path, batchBytes: 500)
        struct Stop: Error {}
        var seen = 0
        #expect(throws: Stop.self) {
            try source.forEachBatch { _ in
                seen += 1
                if seen == 2 { throw Stop() }
            }
        }
        #expect(seen == 2)
        var batches = 0
        try source.forEachBatch { _ in batches += 1 }
        #expect(batches == 50 / (500 / (8 * 3 * 8)))
    }

    /// float32 inputs are accepted and converted.
    @Test func float32InputsAreConverted() throws {
        let folder = try Scratch()
        defer { folder.remove() }
        let path = folder.file("f32.h5")
        var tree = HDF5Tree()
        let values: [Float] = (0..<(2 * 4 * 2)).map { Float($0) / 4 }
        tree.addPayload("/x", .float32(shape: [2, 4, 2], values: values))
        tree.addDataset("/y", Tensor(shape: [2, 4, 1], repeating: 1))
        try tree.write(to: path)
        let source = try HDF5WindowSource(path: path)
        var seen: [Double] = []
        try source.forEachBatch { segments in for s in segments { seen += s.x } }
        #expect(seen == values.map(Double.init))
    }

    // MARK: Bad inputs, one line each

    @Test func everyBadInputGetsOneLineNamingFilePathAndExpectation() throws {
        let folder = try Scratch()
        defer { folder.remove() }
        let good = windows(try fixedProcess(), count: 4, length: 6, outputs: 3, seed: 13)
        func file(_ name: String, _ build: (inout HDF5Tree) -> Void) throws -> String {
            let path = folder.file(name)
            var tree = HDF5Tree()
            build(&tree)
            try tree.write(to: path)
            return path
        }
        let missing = folder.file("missing.h5")
        let text = folder.file("text.h5")
        try "not HDF5\n".write(toFile: text, atomically: true, encoding: .utf8)
        let noY = try file("noY.h5") { $0.addDataset("/x", good.x) }
        let noX = try file("noX.h5") { $0.addDataset("/y", good.y) }
        let xGroup = try file("xGroup.h5") { $0.addGroup("/x"); $0.addDataset("/y", good.y) }
        let rank2 = try file("rank2.h5") { $0.addDataset("/x", good.x.reshaped([24, 2])); $0.addDataset("/y", good.y) }
        let integers = try file("int.h5") {
            $0.addPayload("/x", .int64(shape: [4, 6, 2], values: Array(repeating: 1, count: 48)))
            $0.addDataset("/y", good.y)
        }
        let otherN = try file("otherN.h5") {
            $0.addDataset("/x", good.x)
            $0.addDataset("/y", Tensor(shape: [3, 6, 3], storage: Array(good.y.storage.prefix(54))))
        }
        let otherLength = try file("otherLength.h5") {
            $0.addDataset("/x", good.x)
            $0.addDataset("/y", Tensor(shape: [4, 5, 3], repeating: 0))
        }
        let short = try file("short.h5") {
            $0.addDataset("/x", Tensor(shape: [4, 2, 2], repeating: 0))
            $0.addDataset("/y", Tensor(shape: [4, 2, 3], repeating: 0))
        }
        let empty = try file("empty.h5") {
            $0.addDataset("/x", Tensor(shape: [4, 6, 0], repeating: 0))
            $0.addDataset("/y", good.y)
        }
        var withNaN = good.x
        withNaN[2, 4, 1] = .nan
        let nanX = try file("nan.h5") { $0.addDataset("/x", withNaN); $0.addDataset("/y", good.y) }
        var withInfinity = good.y
        withInfinity[3, 0, 2] = -.infinity
        withInfinity[3, 1, 2] = .infinity
        let infY = try file("inf.h5") { $0.addDataset("/x", good.x); $0.addDataset("/y", withInfinity) }

        #expect(inputError(missing) == "\(missing): no such file")
        #expect(inputError(text) == "\(text): not an HDF5 file")
        #expect(inputError(noY) == "\(noY): /y: no such dataset (an input file for fit needs /x (N×n×dx) and /y (N×n×dy, or N×n for a scalar output), float64)")
        #expect(inputError(noX) == "\(noX): /x: no such dataset (an input file for fit needs /x (N×n×dx) and /y (N×n×dy, or N×n for a scalar output), float64)")
        #expect(inputError(xGroup)?.hasPrefix("\(xGroup): /x: is a group, expected a dataset") == true)
        #expect(inputError(rank2) == "\(rank2): /x: expected rank 3 (N windows × n steps × dx), found rank 2 (shape 24×2)")
        #expect(inputError(integers) == "\(integers): /x: expected float64 values, found int64")
        #expect(inputError(otherN) == "\(otherN): /y: has N = 3 windows of n = 6 steps (shape 3×6×3) but /x has N = 4 windows "
                + "of n = 6 steps (shape 4×6×2); /x and /y must have the same N and n")
        #expect(inputError(otherLength)?.contains("/y: has N = 4 windows of n = 5 steps") == true)
        #expect(inputError(short)?.hasPrefix("\(short): /x: windows of n = 2 steps are too short: fit needs n ≥ 3") == true)
        #expect(inputError(empty) == "\(empty): /x: has dx = 0 (shape 4×6×0); every mode must be at least 1")
        #expect(inputError(nanX) == "\(nanX): /x: contains NaN at index [2, 4, 1]; every value must be finite")
        #expect(inputError(infY) == "\(infY): /y: contains -infinity at index [3, 0, 2]; every value must be finite "
                + "(2 non-finite values among those read from windows 0…3)")
        // In time chunks too, with the global index.
        let longNaN = try file("longNaN.h5") {
            var x = Tensor(shape: [1, 900, 2], repeating: 0.5)
            x[0, 777, 0] = .nan
            $0.addDataset("/x", x)
            $0.addDataset("/y", Tensor(shape: [1, 900, 1], repeating: 0))
        }
        #expect(message { try HDF5WindowSource(path: longNaN, batchBytes: 1_000).forEachBatch { _ in } }
                == "\(longNaN): /x: contains NaN at index [0, 777, 0]; every value must be finite")
        // The AR(1) estimate stops on the same line.
        #expect(message { _ = try fitAR1Process(HDF5WindowSource(path: nanX)) }
                == "\(nanX): /x: contains NaN at index [2, 4, 1]; every value must be finite")
        // Every message is one line.
        for path in [missing, text, noY, rank2, integers, otherN, short, nanX, infY] {
            #expect(inputError(path)?.contains("\n") == false)
        }
    }

    // MARK: The stored process

    @Test func processIsReadAndValidated() throws {
        let folder = try Scratch()
        defer { folder.remove() }
        let good = windows(try fixedProcess(), count: 2, length: 5, outputs: 1, seed: 14)
        func process(_ name: String, phi: Tensor?, sigma: Tensor?) throws -> String? {
            let path = folder.file(name)
            try writeInput(path, x: good.x, y: good.y) { tree in
                if let phi { tree.addDataset("/process/Phi", phi) }
                if let sigma { tree.addDataset("/process/Sigma", sigma) }
            }
            return message {
                let source = try HDF5WindowSource(path: path)
                _ = try readProcess(from: source.reader, dimension: source.inputDimension)
            }.map { $0.replacingOccurrences(of: path, with: "FILE") }
        }
        let fixed = try fixedProcess()
        let path = folder.file("good.h5")
        try writeInput(path, x: good.x, y: good.y) { tree in
            tree.addDataset("/process/Phi", fixed.phi)
            tree.addDataset("/process/Sigma", fixed.sigma)
        }
        let read = try #require(try readProcess(from: HDF5Reader(path: path), dimension: 2))
        #expect(read.phi == fixed.phi && read.sigma == fixed.sigma)
        #expect(try process("none.h5", phi: nil, sigma: nil) == nil)
        #expect(try readProcess(from: HDF5Reader(path: folder.file("none.h5"))) == nil)

        #expect(try process("onlyPhi.h5", phi: fixed.phi, sigma: nil)
                == "FILE: /process/Sigma: no such dataset, but /process/Phi is there: give both /process/Phi and "
                + "/process/Sigma (dx×dx), or neither to estimate the AR(1) process from /x")
        #expect(try process("shape.h5", phi: Tensor.identity(3) * 0.5, sigma: Tensor.identity(3))
                == "FILE: /process/Phi: expected shape 2×2 (dx×dx with dx = 2 from /x), found 3×3")
        #expect(try process("rank.h5", phi: Tensor(vector: [0.5, 0.5]), sigma: Tensor.identity(2))
                == "FILE: /process/Phi: expected rank 2, found rank 1 (shape 2)")
        #expect(try process("unstable.h5", phi: Tensor.identity(2) * 1.2, sigma: Tensor.identity(2))?
                    .hasPrefix("FILE: /process: AR(1) process: spectral radius of Φ is 1.2") == true)
        #expect(try process("notSPD.h5", phi: Tensor.identity(2) * 0.5, sigma: Tensor(rows: [[1, 2], [2, 1]]))
                == "FILE: /process: AR(1) process: Σ must be positive definite")
        var nan = fixed.phi
        nan[0, 1] = .nan
        #expect(try process("nan.h5", phi: nan, sigma: fixed.sigma) == "FILE: /process/Phi: contains NaN at index [0, 1]")
    }

    // MARK: The AR(1) estimate

    /// On a tiny fixed data set the streamed sums give the least-squares solution of the
    /// stacked regression X₁ ≈ X₀ Φᵀ (LAPACK), and Σ̂ its mean squared residual.
    @Test func ar1EstimateIsTheLeastSquaresSolution() throws {
        let data = windows(try fixedProcess(), count: 5, length: 8, outputs: 1, seed: 15)
        let estimate = try fitAR1Process(TensorWindowSource(x: data.x, y: data.y, windowsPerBatch: 2))
        var before: [Double] = [], after: [Double] = []
        for w in 0..<5 {
            for t in 1..<8 {
                for i in 0..<2 { before.append(data.x[w, t - 1, i]); after.append(data.x[w, t, i]) }
            }
        }
        let x0 = Tensor(shape: [35, 2], storage: before), x1 = Tensor(shape: [35, 2], storage: after)
        let phiT = try leastSquares(x0, x1)
        let residual = x1 - matmul(x0, phiT)
        let sigma = matmul(residual, residual, transposeA: true) / 35
        #expect(estimate.pairs == 35)
        #expect(estimate.process.phi.relativeError(to: phiT.transposed()) < 1e-12)
        #expect(estimate.process.sigma.relativeError(to: sigma) < 1e-12)
    }

    /// Recovery from samples: 4 000 windows × 30 steps of the fixed non-diagonal AR(1)
    /// (116 000 pairs). Tolerance from the sample itself: each entry within 5 of its
    /// asymptotic standard errors — `se(Φ̂_ij) = √(Σ̂_ii [C₀₀⁻¹]_jj)` with `C₀₀ = Σ x_{t−1}x_{t−1}ᵀ`
    /// (least squares with i.i.d. innovations), `se(Σ̂_ij) = √((Σ̂_ii Σ̂_jj + Σ̂_ij²)/M)` (Gaussian).
    /// A wrong claim (Φ off by 0.05 in one entry, about 13 standard errors) must fail the same check.
    @Test func ar1EstimateRecoversPhiAndSigma() throws {
        let truth = try fixedProcess()
        let data = windows(truth, count: 4_000, length: 30, outputs: 1, seed: 16)
        let source = TensorWindowSource(x: data.x, y: data.y)
        let estimate = try fitAR1Process(source)
        let m = estimate.pairs
        #expect(m == 4_000 * 29)
        var c00 = Tensor.zeros([2, 2])
        for w in 0..<4_000 {
            for t in 0..<29 {
                for i in 0..<2 { for j in 0..<2 { c00[i, j] += data.x[w, t, i] * data.x[w, t, j] } }
            }
        }
        let c00Inverse = try inverse(c00)
        let phi = estimate.process.phi, sigma = estimate.process.sigma
        func phiWithin(_ claim: Tensor) -> Bool {
            (0..<2).allSatisfy { i in
                (0..<2).allSatisfy { j in
                    abs(phi[i, j] - claim[i, j]) <= 5 * (sigma[i, i] * c00Inverse[j, j]).squareRoot()
                }
            }
        }
        let sigmaWithin = (0..<2).allSatisfy { i in
            (0..<2).allSatisfy { j in
                abs(sigma[i, j] - truth.sigma[i, j])
                    <= 5 * ((sigma[i, i] * sigma[j, j] + sigma[i, j] * sigma[i, j]) / Double(m)).squareRoot()
            }
        }
        #expect(phiWithin(truth.phi))
        #expect(sigmaWithin)
        var wrong = truth.phi
        wrong[0, 1] += 0.05
        #expect(!phiWithin(wrong))
    }

    @Test func ar1EstimateRefusesDegenerateInput() throws {
        // Too few pairs for a 2×2 Φ.
        let tiny = Tensor(shape: [1, 2, 2], storage: [1, 2, 3, 4])
        #expect(message { _ = try fitAR1Process(TensorWindowSource(x: tiny, y: Tensor.zeros([1, 2, 1]))) }
                == "cannot estimate the AR(1) process from /x: 1 pair (x_{t−1}, x_t) for a 2×2 Φ; at least 3 are needed")
        // Inputs on a line: the lagged inputs do not span R².
        let line = Tensor(shape: [1, 6, 2]) { i in Double(i[1] + 1) * (i[2] == 0 ? 1 : 2) }
        #expect(message { _ = try fitAR1Process(TensorWindowSource(x: line, y: Tensor.zeros([1, 6, 1]))) }?
                    .hasPrefix("cannot estimate the AR(1) process from /x: the lagged inputs x_{t−1} do not span R^2") == true)
        // An explosive sequence: Φ̂ is not stable.
        let explosive = Tensor(shape: [1, 8, 1]) { i in pow(1.5, Double(i[1])) * (i[1] % 2 == 0 ? 1 : 1.01) }
        #expect(message { _ = try fitAR1Process(TensorWindowSource(x: explosive, y: Tensor.zeros([1, 8, 1]))) }?
                    .contains("cannot be used (AR(1) process: spectral radius of Φ is") == true)
    }
}
