// Accumulators behind the window-moment estimators (WindowMoments.swift): column blocks
// reduced four columns at a time, the per-thread workspace, batch records merged by Chan's
// formula, and their conversion to `StreamingMean` (with batch means).
//
// Batch means. Pairs of one window are correlated (the input is Markov), so the per-sample
// standard error understates the spread of the mean somewhat. The estimators therefore also
// keep the means of disjoint runs of consecutive pairs ("records", whole blocks of
// columns, between 32 and 64 of them in the end, like `StreamingMean(recordingBatches:)`),
// handed over as the result's batch means: `batchStandardError` then accounts for the
// correlation, and Notebook's Monte Carlo checks use it.

/// The internals of the window-moment estimators (a namespace: nothing here is public).
enum WindowMomentKernels {
    /// The number of (window, t) pairs per column block (a multiple of 4).
    static let blockColumns = 128
    /// The distance between rows of a column block or scratch array: room for a block plus the
    /// overrun of four-wide loops and the margins of the time-shifted loads.
    static let rowStride = blockColumns + 16

    /// Four doubles from any address.
    @inline(__always)
    static func load4(_ p: UnsafePointer<Double>) -> SIMD4<Double> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self)
    }

    /// Four doubles to any address.
    @inline(__always)
    static func store4(_ v: SIMD4<Double>, _ p: UnsafeMutablePointer<Double>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Double>.self)
    }

    /// The count, mean and sum of squared deviations of a run of consecutive samples (packed entries).
    struct Record: Sendable {
        var count: Int
        var mean: [Double]
        var sumOfSquares: [Double]

        /// The record of two runs' samples (Chan's merge, exact up to rounding).
        static func pooled(_ a: Record, _ b: Record) -> Record {
            guard a.count > 0 else { return b }
            guard b.count > 0 else { return a }
            let n1 = Double(a.count), n2 = Double(b.count), n = n1 + n2
            var result = a
            for e in 0..<a.mean.count {
                let delta = b.mean[e] - a.mean[e]
                result.mean[e] = a.mean[e] + delta * (n2 / n)
                result.sumOfSquares[e] = a.sumOfSquares[e] + b.sumOfSquares[e] + delta * delta * (n1 * n2 / n)
            }
            result.count = a.count + b.count
            return result
        }
    }

    /// Zero-initialized doubles that live as long as their owner.
    final class Scratch {
        let base: UnsafeMutablePointer<Double>
        private let count: Int

        init(_ count: Int) {
            self.count = max(1, count)
            base = .allocate(capacity: self.count)
            base.initialize(repeating: 0, count: self.count)
        }

        deinit { base.deallocate() }
    }

    /// How a block adds its columns to the sums.
    enum Flush: Sendable {
        /// `vectorLoops` for small blocks, `gemm` from `Block.gemmEntries` entries per sample on.
        case automatic
        /// Four-wide loops, two rows at a time (each entry summed in four lanes).
        case vectorLoops
        /// Two BLAS products per flush, `Y Wᵀ` and `(Y∘Y)(W∘W)ᵀ` (entries with outputs only).
        case gemm
    }

    /// One moment's column block and its records over a part (one of a batch's fixed parts).
    ///
    /// With `outputs > 0` the samples are `y_i · w_r` for i < outputs and r < rows (entry
    /// `i·rows + r`), the block holding columns of y and of w; with `outputs == 0` the samples
    /// are the `rows` values of w themselves. The block's sums are
    /// `Σ_col Y[i,col] W[r,col]` and `Σ_col (Y[i,col] W[r,col])²`; they are added to the open
    /// record, which is closed once it holds `recordLength` samples.
    final class Block {
        let rows: Int
        let outputs: Int
        /// The number of entries of one sample.
        let entries: Int
        /// w, rows × rowStride (one row per factor, one column per pair).
        let w: UnsafeMutablePointer<Double>
        /// y, outputs × rowStride.
        let y: UnsafeMutablePointer<Double>
        /// Σ sample and Σ sample² over the open record, per entry.
        let sum: UnsafeMutablePointer<Double>
        let sumOfSquares: UnsafeMutablePointer<Double>
        /// Columns written since the last flush, and samples flushed into the open record. A
        /// block belongs to one thread's workspace: no dynamic exclusivity checks in the hot loop.
        @exclusivity(unchecked) var filled = 0
        @exclusivity(unchecked) private(set) var count = 0
        /// The samples after which the open record is closed (set by the engine before a batch).
        @exclusivity(unchecked) var recordLength = blockColumns
        /// The closed records of the part, in order.
        @exclusivity(unchecked) private var records: [Record] = []
        /// Whether `flush` multiplies by BLAS; then `wSquared`, `ySquared` hold the squares of w and y.
        let flushesByGEMM: Bool
        private let wSquared, ySquared: UnsafeMutablePointer<Double>
        private let storage: Scratch

        /// The entries per sample from which `.automatic` flushes by BLAS: below, the call's
        /// fixed cost outweighs the faster product (measured with `benchmark-moments passes`
        /// on the dx = 4, 8, 16 scaling files; dx = 8, dy = 8 has 288 entries, dx = 16 has 2 176).
        static let gemmEntries = 256

        init(rows: Int, outputs: Int, flush: Flush = .automatic) {
            self.rows = rows
            self.outputs = outputs
            entries = outputs > 0 ? outputs * rows : rows
            switch flush {
            case .automatic: flushesByGEMM = outputs > 0 && entries >= Self.gemmEntries
            case .vectorLoops: flushesByGEMM = false
            case .gemm: flushesByGEMM = outputs > 0
            }
            let squares = flushesByGEMM ? (rows + outputs) * rowStride : 0
            storage = Scratch((rows + outputs) * rowStride + 2 * entries + squares)
            w = storage.base
            y = w + rows * rowStride
            sum = y + outputs * rowStride
            sumOfSquares = sum + entries
            wSquared = sumOfSquares + entries
            ySquared = wSquared + rows * rowStride
        }

        /// Flushes the block first if `columns` more would not fit.
        @inline(__always)
        func makeRoom(_ columns: Int) {
            if filled + columns > blockColumns { flush() }
        }

        /// Adds the written columns to the sums (zero-padded to a multiple of 4 columns).
        func flush() {
            guard filled > 0 else { return }
            let width = (filled + 3) & ~3
            for column in filled..<width {
                for r in 0..<rows { w[r * rowStride + column] = 0 }
                for i in 0..<outputs { y[i * rowStride + column] = 0 }
            }
            if flushesByGEMM {
                // Σ_col Y[i,col] W[r,col] and Σ_col Y[i,col]² W[r,col]², as `outputs × rows` products.
                for (from, to, count) in [(w, wSquared, rows), (y, ySquared, outputs)] {
                    for row in 0..<count {
                        let source = from + row * rowStride, target = to + row * rowStride
                        var column = 0
                        while column < width {
                            let v = load4(source + column)
                            store4(v * v, target + column)
                            column += 4
                        }
                    }
                }
                gemm(transposeA: false, transposeB: true, m: outputs, n: rows, k: width, y, lda: rowStride,
                     w, ldb: rowStride, sum, ldc: rows, accumulate: true)
                gemm(transposeA: false, transposeB: true, m: outputs, n: rows, k: width, ySquared, lda: rowStride,
                     wSquared, ldb: rowStride, sumOfSquares, ldc: rows, accumulate: true)
            } else if outputs > 0 {
                // Two rows r at a time share the y loads and give four independent sums (each in
                // the order of one row alone), rather than one chain of additions; four SIMD4
                // accumulators and their operands fit the sixteen SSE registers of baseline
                // x86-64 (four rows at a time spilled them to the stack).
                for i in 0..<outputs {
                    let yRow = y + i * rowStride
                    var r = 0
                    while r + 2 <= rows {
                        let w0 = w + r * rowStride, w1 = w0 + rowStride
                        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
                        var q0 = SIMD4<Double>(), q1 = SIMD4<Double>()
                        var column = 0
                        while column < width {
                            let yv = load4(yRow + column)
                            let v0 = yv * load4(w0 + column), v1 = yv * load4(w1 + column)
                            s0 += v0; q0 += v0 * v0
                            s1 += v1; q1 += v1 * v1
                            column += 4
                        }
                        let e = i * rows + r
                        sum[e] += s0.sum(); sumOfSquares[e] += q0.sum()
                        sum[e + 1] += s1.sum(); sumOfSquares[e + 1] += q1.sum()
                        r += 2
                    }
                    while r < rows {
                        let wRow = w + r * rowStride
                        var s = SIMD4<Double>(), q = SIMD4<Double>()
                        var column = 0
                        while column < width {
                            let v = load4(yRow + column) * load4(wRow + column)
                            s += v
                            q += v * v
                            column += 4
                        }
                        sum[i * rows + r] += s.sum()
                        sumOfSquares[i * rows + r] += q.sum()
                        r += 1
                    }
                }
            } else {
                for r in 0..<rows {
                    let wRow = w + r * rowStride
                    var s = SIMD4<Double>(), q = SIMD4<Double>()
                    var column = 0
                    while column < width {
                        let v = load4(wRow + column)
                        s += v
                        q += v * v
                        column += 4
                    }
                    sum[r] += s.sum()
                    sumOfSquares[r] += q.sum()
                }
            }
            count += filled
            filled = 0
            if count >= recordLength { closeRecord() }
        }

        /// Turns the open record's sums into a record: mean `Σv/N` and sum of squared
        /// deviations `Σv² − (Σv)²/N`, which loses about log₁₀(1 + mean²/variance) digits —
        /// harmless for these moments (products of a centred score with an output).
        private func closeRecord() {
            guard count > 0 else { return }
            let n = Double(count)
            var record = Record(count: count, mean: [Double](repeating: 0, count: entries),
                                sumOfSquares: [Double](repeating: 0, count: entries))
            for e in 0..<entries {
                let mean = sum[e] / n
                record.mean[e] = mean
                record.sumOfSquares[e] = max(0, sumOfSquares[e] - sum[e] * mean)
            }
            records.append(record)
            count = 0
            sum.update(repeating: 0, count: entries)
            sumOfSquares.update(repeating: 0, count: entries)
        }

        /// The part's records, in order (the last one possibly short); the block is then empty.
        func takeRecords() -> [Record] {
            flush()
            closeRecord()
            defer { records.removeAll(keepingCapacity: true) }
            return records
        }
    }

    /// The per-thread workspace: time-major scratch rows for one chunk of times (x, y, u, αᵀu,
    /// βᵀy, the mixed score's pair products) and one column block per moment.
    final class Workspace {
        let xRows, yRows, uRows, projectionRows, outputProjectionRows, pairRows: UnsafeMutablePointer<Double>
        let secondOrder: Block
        let mixed: Block
        let projected: Block
        private let storage: Scratch

        init(dx: Int, dy: Int, dh: Int, secondOrder: Bool, mixed: Bool, projected: Bool, flush: Flush = .automatic) {
            let pairs = dx * (dx + 1) / 2
            let rows = 2 * dx + dy + 2 * dh + pairs
            storage = Scratch(rows * rowStride)
            var next = storage.base
            func take(_ count: Int) -> UnsafeMutablePointer<Double> {
                defer { next += count }
                return next
            }
            xRows = take(dx * rowStride)
            yRows = take(dy * rowStride)
            uRows = take(dx * rowStride)
            projectionRows = take(dh * rowStride)
            outputProjectionRows = take(dh * rowStride)
            pairRows = take(pairs * rowStride)
            self.secondOrder = Block(rows: secondOrder ? pairs : 0, outputs: secondOrder ? dy : 0, flush: flush)
            self.mixed = Block(rows: mixed ? dx * pairs : 0, outputs: mixed ? dy : 0, flush: flush)
            self.projected = Block(rows: projected ? dh * dh : 0, outputs: 0)
        }
    }

    /// The records of one moment over everything accumulated so far, in order: between
    /// `target` and 2·`target` of them once there are enough samples, neighbours being pooled
    /// (and the record length doubled) whenever there are 2·`target`.
    struct Totals {
        /// The number of batch means kept at least (once there are enough samples).
        static let target = StreamingMean.defaultBatches
        private(set) var records: [Record] = []
        /// The length at which the parts close their records.
        private(set) var recordLength: Int

        /// Empty totals whose records start at `recordLength` samples (a column block by default).
        init(recordLength: Int = blockColumns) { self.recordLength = recordLength }

        /// The number of samples.
        var count: Int { records.reduce(0) { $0 + $1.count } }

        /// Appends records that follow the ones already held. A part ends with a short record
        /// (its share of a batch rarely ends on a record boundary); a short record is pooled
        /// with the one that follows, so every record but the last holds at least
        /// `recordLength` samples however many parts a batch has.
        mutating func append(records more: [Record]) {
            for record in more {
                if let last = records.last, last.count < recordLength {
                    records[records.count - 1] = .pooled(last, record)
                } else {
                    records.append(record)
                }
            }
            while records.count >= 2 * Self.target {
                records = stride(from: 0, to: records.count, by: 2).map { k in
                    k + 1 < records.count ? .pooled(records[k], records[k + 1]) : records[k]
                }
                recordLength *= 2
            }
        }

        /// The totals as a `StreamingMean` of the given shape (entry k from packed entry
        /// `packed[k]`) whose batch means are the records' means (a short last record is pooled
        /// into the one before it). Means and squares are merged in record order by Chan's formula.
        func streamingMean(shape: [Int], packed: [Int]) -> StreamingMean {
            var final = records
            if final.count >= 2, let last = final.last, 2 * last.count < recordLength {
                final.removeLast()
                final[final.count - 1] = .pooled(final[final.count - 1], last)
            }
            let pieces = final.map { record in
                StreamingMean.assembling(shape: shape, count: record.count,
                                         mean: packed.map { record.mean[$0] },
                                         sumOfSquares: packed.map { record.sumOfSquares[$0] })
            }
            guard pieces.count >= 2 else { return pieces.first ?? StreamingMean(shape: shape) }
            // One chunk per record: inChunks keeps each chunk's mean as a batch mean and merges
            // the chunks in order.
            return StreamingMean.inChunks(pieces.count, shape: shape, batches: pieces.count) { k, accumulator in
                accumulator = pieces[k]
            }
        }
    }
}

extension StreamingMean {
    /// The accumulator that holds `count` samples with the given per-entry mean and sum of
    /// squared deviations about the mean.
    ///
    /// Built from the public API alone (StreamingMean's storage is private): a two-sample
    /// accumulator `{m + s, m − s}` with `s² = S / (2⌊N/2⌋)` is doubled by self-merges (equal
    /// means: the mean is kept bit for bit and the squares add exactly) into pieces whose
    /// counts are the binary digits of ⌊N/2⌋, plus one sample at that mean when N is odd.
    /// Count and sum of squares come out exact up to rounding; the mean differs from `mean`
    /// by the rounding of `(m + s) + ((m − s) − (m + s))/2`, a few ulps of `|m| + s`.
    /// An initializer of StreamingMean from (count, mean, sum of squares) would make this exact.
    static func assembling(shape: [Int], count: Int, mean: [Double], sumOfSquares: [Double]) -> StreamingMean {
        var result = StreamingMean(shape: shape)
        guard count > 0 else { return result }
        if count == 1 {
            result.add(mean)
            return result
        }
        let half = count / 2
        let spread = sumOfSquares.map { (max(0, $0) / Double(2 * half)).squareRoot() }
        var piece = StreamingMean(shape: shape)
        piece.add(zip(mean, spread).map { $0 + $1 })
        piece.add(zip(mean, spread).map { $0 - $1 })
        let pairMean = piece.mean.storage
        var digits = half
        while digits > 0 {
            if digits & 1 == 1 { result.merge(piece) }
            digits >>= 1
            if digits > 0 {
                let copy = piece
                piece.merge(copy)
            }
        }
        if count % 2 == 1 {
            var single = StreamingMean(shape: shape)
            single.add(pairMean)
            result.merge(single)
        }
        return result
    }
}
