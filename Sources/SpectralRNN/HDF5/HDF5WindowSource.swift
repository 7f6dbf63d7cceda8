import CHDF5
import Foundation

/// The windows of an input file of `spectral-rnn fit` (CONVENTIONS §5): `/x` (`N×n×dx`) and
/// `/y` (`N×n×dy`), float, read in batches so memory does not grow with the file.
///
/// Many short windows are read as whole windows, about `batchBytes` of `/x` and `/y`
/// together per batch, as one stacked `WindowSegment` per batch. Long windows (one window, or a
/// window larger than half a batch) are read in time chunks: each batch covers about
/// `batchBytes` of time steps of one window, split into segments that carry the margins
/// the estimators need (`t−2 … t+2` around every accumulated step t: one after would do,
/// two let a `TimeReversedSource` read the chunk backwards).
///
/// Everything that can be checked without reading the values is checked by `init`, each
/// failure one `HDF5Error` naming the file, the dataset and what was expected. The values
/// are checked as they are read: a NaN or infinite entry stops `forEachBatch` with an
/// error naming its index, before the batch holding it is handed to the estimator.
public final class HDF5WindowSource: WindowSource, @unchecked Sendable {
    /// The default batch size: about 4 MB of `/x` and `/y` together.
    public static let defaultBatchBytes = 4 << 20
    /// The fewest accumulated steps of a time-chunk segment (all of them when the window is shorter).
    static let minimumSegmentSteps = 256
    /// The most segments one time-chunk batch is split into.
    static let segmentsPerTimeBatch = 8

    /// The file on disk.
    public let path: String
    /// The open file (shared: `readProcess(from:dimension:)` can use it too).
    public let reader: HDF5Reader
    /// N, the number of windows.
    public let windows: Int
    /// n, the number of time steps of every window.
    public let length: Int
    /// dx, the dimension of one input vector x_t.
    public let inputDimension: Int
    /// dy, the dimension of one output vector y_t (1 for a scalar output).
    public let outputDimension: Int
    /// True when `/y` is N×n, a scalar output (App. C.2), read as dy = 1.
    public let scalarOutput: Bool
    /// The target size of one batch of `/x` and `/y` values, in bytes.
    public let batchBytes: Int

    /// How `forEachBatch` cuts the file.
    public enum Layout: Equatable, Sendable {
        /// Whole windows, this many per batch (the last batch may hold fewer).
        case windows(perBatch: Int)
        /// Each window in time chunks of `stepsPerBatch` accumulated steps, each chunk split
        /// into segments of `stepsPerSegment` accumulated steps.
        case timeChunks(stepsPerBatch: Int, stepsPerSegment: Int)
    }

    /// How this file is cut into batches.
    public let layout: Layout

    /// Whether a reader thread reads the next batch while the current one is processed.
    public let prefetch: Bool

    /// The number of (window, t) pairs, `N·n`.
    public var pairs: Int { windows * length }

    /// Opens `path` and validates `/x` and `/y` (existence, rank 3, float type, the same N
    /// and n, `n ≥ 3`, no empty mode). The values are checked later, as they are read.
    /// `prefetch` reads the next batch on a second thread while the current one is processed.
    public convenience init(path: String, batchBytes: Int = HDF5WindowSource.defaultBatchBytes,
                            prefetch: Bool = true) throws {
        try self.init(reader: HDF5Reader(path: path), batchBytes: batchBytes, prefetch: prefetch)
    }

    /// Validates `/x` and `/y` of an open file, as `init(path:batchBytes:prefetch:)`.
    public init(reader: HDF5Reader, batchBytes: Int = HDF5WindowSource.defaultBatchBytes,
                prefetch: Bool = true) throws {
        precondition(batchBytes > 0, "HDF5WindowSource: batchBytes must be positive")
        self.reader = reader
        self.prefetch = prefetch
        self.path = reader.path
        self.batchBytes = batchBytes
        let xShape = try HDF5WindowSource.validatedShape(reader, "/x", dimension: "dx")
        var yShape = try HDF5WindowSource.validatedShape(reader, "/y", dimension: "dy", allowMatrix: true)
        scalarOutput = yShape.count == 2
        if scalarOutput { yShape.append(1) }
        guard xShape[0] == yShape[0], xShape[1] == yShape[1] else {
            throw HDF5Error(file: reader.path, object: "/y",
                            message: "has N = \(yShape[0]) windows of n = \(yShape[1]) steps (shape \(hdf5ShapeText(yShape))) "
                                + "but /x has N = \(xShape[0]) windows of n = \(xShape[1]) steps (shape \(hdf5ShapeText(xShape))); "
                                + "/x and /y must have the same N and n")
        }
        guard xShape[1] >= 3 else {
            throw HDF5Error(file: reader.path, object: "/x",
                            message: "windows of n = \(xShape[1]) step\(xShape[1] == 1 ? "" : "s") are too short: fit needs n ≥ 3, "
                                + "since the U estimate pairs y_t with the mixed score S_{t,t−1,t−1}, whose u_{t−1} involves "
                                + "x_{t−2}, x_{t−1} and x_t")
        }
        windows = xShape[0]
        length = xShape[1]
        inputDimension = xShape[2]
        outputDimension = yShape[2]
        layout = HDF5WindowSource.layout(windows: windows, length: length,
                                         bytesPerStep: 8 * (inputDimension + outputDimension), batchBytes: batchBytes)
    }

    /// The shape of `/x` or `/y` after checking it exists, is a float dataset of rank 3 and
    /// has no empty mode.
    private static func validatedShape(_ reader: HDF5Reader, _ object: String, dimension: String,
                                       allowMatrix: Bool = false) throws -> [Int] {
        let expected = "an input file for fit needs /x (N×n×dx) and /y (N×n×dy, or N×n for a scalar output), float64"
        func failure(_ message: String) -> HDF5Error { HDF5Error(file: reader.path, object: object, message: message) }
        guard let kind = try reader.kindIfPresent(object) else { throw failure("no such dataset (\(expected))") }
        guard kind == .dataset else { throw failure("is a group, expected a dataset (\(expected))") }
        let description = try reader.datasetDescription(object)
        guard description.type.hasPrefix("float") else {
            throw failure("expected float64 values, found \(description.type)")
        }
        let shape = description.shape
        guard shape.count == 3 || (allowMatrix && shape.count == 2) else {
            throw failure("expected rank 3 (N windows × n steps × \(dimension))\(allowMatrix ? " or rank 2 (N × n, a scalar output)" : ""), "
                          + "found rank \(shape.count) (shape \(hdf5ShapeText(shape)))")
        }
        // Filters this HDF5 lacks, or a virtual dataset with a missing source (values are read later, in batches).
        try reader.checkReadable(object, shape: [])
        let names = ["N (windows)", "n (steps)", dimension]
        if let empty = shape.firstIndex(of: 0) {
            throw failure("has \(names[empty]) = 0 (shape \(hdf5ShapeText(shape))); every mode must be at least 1")
        }
        return shape
    }

    /// Whole windows when a window fits in half a batch and there are several; time chunks otherwise.
    static func layout(windows: Int, length: Int, bytesPerStep: Int, batchBytes: Int) -> Layout {
        let windowBytes = length * bytesPerStep
        if windows > 1, windowBytes <= batchBytes / 2 {
            return .windows(perBatch: max(1, batchBytes / windowBytes))
        }
        let stepsPerBatch = max(minimumSegmentSteps, batchBytes / bytesPerStep)
        let perSegment = (stepsPerBatch + segmentsPerTimeBatch - 1) / segmentsPerTimeBatch
        return .timeChunks(stepsPerBatch: stepsPerBatch, stepsPerSegment: max(minimumSegmentSteps, perSegment))
    }

    /// Hands the estimator every (window, t) pair exactly once, in batches, in file order.
    /// Each call starts again from the beginning of the file.
    ///
    /// With `prefetch`, a reader thread reads (and checks) batch k+1 while `body` works on
    /// batch k, so reading overlaps computing; at most three batches of segments are in memory
    /// (the one processed, the one waiting, the one being read), about 12 MB by default. An error
    /// of batch k+1 (a NaN, an unreadable slab) is thrown after batch k, in file order.
    public func forEachBatch(_ body: ([WindowSegment]) throws -> Void) throws {
        try batches(inputsOnly: false, body)
    }

    /// `forEachBatch` reading /x alone: the segments' y are empty (for the AR(1) fit, which
    /// reads nothing else; /y is then read and checked by the passes that use it).
    public func forEachInputBatch(_ body: ([WindowSegment]) throws -> Void) throws {
        try batches(inputsOnly: true, body)
    }

    /// The batches of the windows `range` alone: only those windows are read (whole windows;
    /// a file cut into time chunks goes through the default, which refuses them).
    public func forEachBatch(windows range: Range<Int>, _ body: ([WindowSegment]) throws -> Void) throws {
        guard case .windows = layout else {
            return try forEachBatchFilteringWindows(range, body)
        }
        let clamped = max(0, min(range.lowerBound, windows))..<max(0, min(range.upperBound, windows))
        try batches(inputsOnly: false, windows: clamped, body)
    }

    private func batches(inputsOnly: Bool, windows range: Range<Int>? = nil, _ body: ([WindowSegment]) throws -> Void) throws {
        guard prefetch else {
            try produce(inputsOnly: inputsOnly, windows: range) { segments in
                try body(segments)
                if case .windows = layout { spareBatches.giveBack(segments) }
                return true
            }
            return
        }
        let channel = BatchChannel()
        let finished = DispatchSemaphore(value: 0)
        let reader = Thread { [self] in
            defer {
                channel.finish()
                finished.signal()
            }
            do {
                try produce(inputsOnly: inputsOnly, windows: range) { segments in channel.put(.success(segments)) }
            } catch {
                _ = channel.put(.failure(error))
            }
        }
        reader.name = "HDF5WindowSource reader"
        reader.start()
        defer {
            channel.cancel()
            finished.wait()
        }
        while let segments = try channel.take()?.get() {
            try body(segments)
            if case .windows = layout { spareBatches.giveBack(segments) }
        }
    }

    /// A start or count of /y: without the last mode when /y is N×n.
    private func yIndex(_ index: [Int]) -> [Int] { scalarOutput ? Array(index.prefix(2)) : index }

    /// The arrays of a stacked batch the consumer has finished with, to be read into again:
    /// the pages of a fresh 4 MB array are faulted in and zeroed by the kernel at every batch,
    /// which cost fit a third of its page faults. The batch itself is released on return, so
    /// the arrays are unshared unless the consumer kept the batch; then writing into them
    /// copies them first (copy on write), and what the consumer kept is unchanged.
    private static func arrays(of batch: [WindowSegment]?) -> (x: [Double], y: [Double]) {
        guard let batch, batch.count == 1 else { return ([], []) }
        return (batch[0].x, batch[0].y)
    }

    /// Reads `count` values of a slab into `array`, reusing its storage when it has room for
    /// them (a recycled batch; a shorter last batch keeps the room), into a new array otherwise.
    private func read(_ dataset: hid_t, _ object: String, start: [Int], count: [Int], reusing array: inout [Double]) throws {
        let total = count.reduce(1, *)
        if array.capacity >= total {
            if array.count > total {
                array.removeLast(array.count - total)
            } else if array.count < total {
                array.append(contentsOf: repeatElement(0, count: total - array.count))
            }
            try read(dataset, object, start: start, count: count, into: &array)
        } else {
            array = try Array<Double>(unsafeUninitializedCapacity: total) { buffer, initialized in
                try read(dataset, object, start: start, count: count, into: buffer)
                initialized = total
            }
        }
    }

    /// Reads the batches in file order and hands each to `emit`, which returns false to stop.
    /// With `inputsOnly`, /y is not read and the segments' y are empty. Whole-window batches
    /// are read into the arrays of batches the consumer has finished with, when there are any.
    private func produce(inputsOnly: Bool, windows range: Range<Int>?, _ emit: ([WindowSegment]) throws -> Bool) throws {
        let data = try OpenData(path: path)
        defer { data.close() }
        let dx = inputDimension, dy = outputDimension, n = length
        switch layout {
        case .windows(let perBatch):
            // One stacked segment per batch: two arrays per batch, read into directly (no
            // per-window copies). The estimators see the same pairs in the same order as with
            // one segment per window, so the results are the same bits.
            var first = range?.lowerBound ?? 0
            let end = range?.upperBound ?? windows
            while first < end {
                let count = min(perBatch, end - first)
                var (xs, ys) = Self.arrays(of: spareBatches.take())
                try read(data.x, "/x", start: [first, 0, 0], count: [count, n, dx], reusing: &xs)
                if inputsOnly {
                    ys = []
                } else {
                    try read(data.y, "/y", start: yIndex([first, 0, 0]), count: yIndex([count, n, dy]), reusing: &ys)
                }
                guard try emit([WindowSegment(windows: count, windowLength: n, x: xs, y: ys)]) else { return }
                first += count
            }
        case .timeChunks(let stepsPerBatch, let stepsPerSegment):
            let most = min(n, stepsPerBatch + 4)
            var xs = [Double](repeating: 0, count: most * dx)
            var ys = [Double](repeating: 0, count: most * dy)
            for window in 0..<windows {
                var start = 0
                while start < n {
                    let end = min(n, start + stepsPerBatch)
                    // The batch's steps with the margins its first and last segments need.
                    let low = max(0, start - 2), high = min(n, end + 2)
                    try read(data.x, "/x", start: [window, low, 0], count: [1, high - low, dx], into: &xs)
                    if !inputsOnly {
                        try read(data.y, "/y", start: yIndex([window, low, 0]), count: yIndex([1, high - low, dy]), into: &ys)
                    }
                    var segments: [WindowSegment] = []
                    var from = start
                    while from < end {
                        let to = min(end, from + stepsPerSegment)
                        let first = max(0, from - 2), last = min(n, to + 2)
                        segments.append(WindowSegment(windowLength: n, firstTime: first,
                                                      x: Array(xs[((first - low) * dx)..<((last - low) * dx)]),
                                                      y: inputsOnly ? [] : Array(ys[((first - low) * dy)..<((last - low) * dy)]),
                                                      accumulate: from..<to))
                        from = to
                    }
                    guard try emit(segments) else { return }
                    start = end
                }
            }
        }
    }

    /// Batches the consumer of a pass has finished with, whose arrays later batches (of this
    /// pass or the next) are read into. At most `capacity` wait, so memory stays bounded.
    private final class SpareBatches: @unchecked Sendable {
        static let capacity = 3
        private let lock = NSLock()
        private var batches: [[WindowSegment]] = []

        func giveBack(_ batch: [WindowSegment]) {
            lock.lock()
            defer { lock.unlock() }
            if batches.count < Self.capacity { batches.append(batch) }
        }

        /// The oldest batch given back, or nil.
        func take() -> [WindowSegment]? {
            lock.lock()
            defer { lock.unlock() }
            return batches.isEmpty ? nil : batches.removeFirst()
        }
    }

    private let spareBatches = SpareBatches()

    /// A one-slot queue between the reader thread and `forEachBatch`'s caller.
    private final class BatchChannel: @unchecked Sendable {
        private let condition = NSCondition()
        private var slot: Result<[WindowSegment], any Error>?
        private var finished = false
        private var cancelled = false

        /// Waits for the slot to be free; false (and nothing stored) once the consumer has stopped.
        func put(_ batch: Result<[WindowSegment], any Error>) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            while slot != nil && !cancelled { condition.wait() }
            guard !cancelled else { return false }
            slot = batch
            condition.broadcast()
            return true
        }

        /// The next batch, or nil when the reader has finished and everything was taken.
        func take() -> Result<[WindowSegment], any Error>? {
            condition.lock()
            defer { condition.unlock() }
            while slot == nil && !finished { condition.wait() }
            let batch = slot
            slot = nil
            condition.broadcast()
            return batch
        }

        /// Called by the reader when it has nothing more to put.
        func finish() {
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }

        /// Called by the consumer when it stops (done, or `body` threw): the reader stops too.
        func cancel() {
            condition.lock()
            cancelled = true
            slot = nil
            condition.broadcast()
            condition.unlock()
        }
    }

    /// `/x` and `/y` opened for one pass (a second handle on the file, closed at the end of the pass).
    private final class OpenData {
        let file: hid_t, x: hid_t, y: hid_t

        init(path: String) throws {
            (file, x, y) = try HDF5Library.withLock {
                let access = H5Pcreate(shim_H5P_FILE_ACCESS())
                try HDF5Library.check(access, "cannot create a property list", file: path, object: nil)
                defer { _ = H5Pclose(access) }
                // The same close degree as HDF5Reader's handle on the same file (HDF5 requires it).
                _ = H5Pset_fclose_degree(access, H5F_CLOSE_STRONG)
                let file = try HDF5Library.check(H5Fopen(path, shim_H5F_ACC_RDONLY(), access), "cannot open HDF5 file",
                                                 file: path, object: nil)
                let x = H5Dopen2(file, "/x", HDF5Library.defaultList)
                let y = x < 0 ? -1 : H5Dopen2(file, "/y", HDF5Library.defaultList)
                guard x >= 0, y >= 0 else {
                    let error = HDF5Library.failure("cannot open the dataset", file: path, object: x < 0 ? "/x" : "/y")
                    HDF5Library.close(x)
                    _ = H5Fclose(file)
                    throw error
                }
                return (file, x, y)
            }
        }

        func close() {
            HDF5Library.withLock {
                HDF5Library.close(x)
                HDF5Library.close(y)
                _ = H5Fclose(file)
            }
        }
    }

    /// Reads the slab `start`, `count` of an open `/x` or `/y` into the front of `buffer`
    /// (converted to float64), refusing NaN and infinite values.
    private func read(_ dataset: hid_t, _ object: String, start: [Int], count: [Int], into buffer: inout [Double]) throws {
        try buffer.withUnsafeMutableBufferPointer { try read(dataset, object, start: start, count: count, into: $0) }
    }

    /// The same into raw memory (the front `count.reduce(1, *)` values of `buffer`, which may be uninitialized).
    private func read(_ dataset: hid_t, _ object: String, start: [Int], count: [Int],
                      into buffer: UnsafeMutableBufferPointer<Double>) throws {
        let total = count.reduce(1, *)
        precondition(total <= buffer.count, "HDF5WindowSource: a slab of \(total) values for a buffer of \(buffer.count)")
        try HDF5Library.withLock {
            let fileSpace = H5Dget_space(dataset)
            try HDF5Library.check(fileSpace, "cannot read the dataspace", file: path, object: object)
            defer { _ = H5Sclose(fileSpace) }
            let offsets = start.map { hsize_t($0) }, sizes = count.map { hsize_t($0) }
            try HDF5Library.check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, offsets, nil, sizes, nil),
                                  "cannot select slab start \(start) count \(count)", file: path, object: object)
            let memorySpace = HDF5Library.createSpace(count)
            try HDF5Library.check(memorySpace, "cannot create a dataspace", file: path, object: object)
            defer { _ = H5Sclose(memorySpace) }
            let status = H5Dread(dataset, shim_H5T_NATIVE_DOUBLE(), memorySpace, fileSpace, HDF5Library.defaultList,
                                 buffer.baseAddress)
            try HDF5Library.check(status, "cannot read windows \(start[0])…\(start[0] + count[0] - 1)", file: path, object: object)
        }
        let firstBad: Int? = { (values: UnsafeMutableBufferPointer<Double>) -> Int? in
            // NaN or ±∞ times 0 is NaN, a finite value times 0 is 0: one cheap pass, then a search if needed.
            // Two four-wide sums so the loop is bound neither by one chain of adds nor by scalar loads.
            guard let base = values.baseAddress else { return nil }
            let raw = UnsafeRawPointer(base)
            var p0 = SIMD4<Double>(), p1 = SIMD4<Double>()
            var k = 0
            while k + 8 <= total {
                p0 += raw.loadUnaligned(fromByteOffset: k &* 8, as: SIMD4<Double>.self) * 0
                p1 += raw.loadUnaligned(fromByteOffset: (k &+ 4) &* 8, as: SIMD4<Double>.self) * 0
                k &+= 8
            }
            var tail = 0.0
            while k < total { tail += base[k] * 0; k += 1 }
            guard (p0.sum() + p1.sum() + tail).isNaN else { return nil }
            return values[0..<total].firstIndex { !$0.isFinite }
        }(buffer)
        guard let firstBad else { return }
        let value = buffer[firstBad]
        let what = value.isNaN ? "NaN" : (value > 0 ? "+infinity" : "-infinity")
        let bad = buffer[0..<total].lazy.filter { !$0.isFinite }.count
        var local = [Int](repeating: 0, count: 3), rest = firstBad
        for mode in stride(from: 2, through: 0, by: -1) {
            local[mode] = rest % count[mode]
            rest /= count[mode]
        }
        let index = zip(start, local).map { String($0 + $1) }.joined(separator: ", ")
        var message = "contains \(what) at index [\(index)]; every value must be finite"
        if bad > 1 {
            let windows = count[0] == 1 ? "window \(start[0])" : "windows \(start[0])…\(start[0] + count[0] - 1)"
            message += " (\(bad) non-finite values among those read from \(windows))"
        }
        throw HDF5Error(file: path, object: object, message: message)
    }
}

/// The input process stored in an input file: `/process/Phi` and `/process/Sigma` (both
/// dx×dx), or nil when the file has neither. One without the other, a wrong shape, a
/// non-finite value, an unstable Φ or a Σ that is not symmetric positive definite throws
/// an `HDF5Error` naming the file and the dataset.
public func readProcess(from reader: HDF5Reader, dimension: Int? = nil) throws -> AR1Process? {
    let hasPhi = reader.exists("/process/Phi"), hasSigma = reader.exists("/process/Sigma")
    guard hasPhi || hasSigma else { return nil }
    guard hasPhi && hasSigma else {
        throw HDF5Error(file: reader.path, object: hasPhi ? "/process/Sigma" : "/process/Phi",
                        message: "no such dataset, but \(hasPhi ? "/process/Phi" : "/process/Sigma") is there: give both "
                            + "/process/Phi and /process/Sigma (dx×dx), or neither to estimate the AR(1) process from /x")
    }
    // Shapes first, from the metadata: a file may declare a huge /process/Phi.
    let phiShape = try reader.shape(of: "/process/Phi")
    for object in ["/process/Phi", "/process/Sigma"] {
        let shape = object == "/process/Phi" ? phiShape : try reader.shape(of: object)
        let d = dimension ?? (phiShape.first ?? 0)
        guard shape.count == 2 else {
            throw HDF5Error(file: reader.path, object: object,
                            message: "expected rank 2, found rank \(shape.count) (shape \(hdf5ShapeText(shape)))")
        }
        guard shape == [d, d] else {
            let because = dimension == nil ? "square like /process/Phi" : "dx×dx with dx = \(d) from /x"
            throw HDF5Error(file: reader.path, object: object,
                            message: "expected shape \(d)×\(d) (\(because)), found \(hdf5ShapeText(shape))")
        }
    }
    let phi = try reader.readTensor("/process/Phi", rank: 2, requireFinite: true)
    let sigma = try reader.readTensor("/process/Sigma", rank: 2, requireFinite: true)
    do {
        return try AR1Process(phi: phi, sigma: sigma)
    } catch {
        let message = (error as? ModelError)?.message ?? "\(error)"
        throw HDF5Error(file: reader.path, object: "/process", message: message)
    }
}
