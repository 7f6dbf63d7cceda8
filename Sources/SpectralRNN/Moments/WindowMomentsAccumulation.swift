// Accumulators behind the window-moment estimators (WindowMoments.swift): column blocks
// reduced four columns at a time, the per-thread workspace, running totals merged by Chan's
// formula, and their conversion to `StreamingMean`.

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

    /// One moment's column block and its sums over a part (one thread's share of a batch).
    ///
    /// With `outputs > 0` the samples are `y_i · w_r` for i < outputs and r < rows (entry
    /// `i·rows + r`), the block holding columns of y and of w; with `outputs == 0` the samples
    /// are the `rows` values of w themselves. The block's sums are
    /// `Σ_col Y[i,col] W[r,col]` and `Σ_col (Y[i,col] W[r,col])²`.
    final class Block {
        let rows: Int
        let outputs: Int
        /// The number of entries of one sample.
        let entries: Int
        /// w, rows × rowStride (one row per factor, one column per pair).
        let w: UnsafeMutablePointer<Double>
        /// y, outputs × rowStride.
        let y: UnsafeMutablePointer<Double>
        /// Σ sample and Σ sample² over the part, per entry.
        let sum: UnsafeMutablePointer<Double>
        let sumOfSquares: UnsafeMutablePointer<Double>
        /// Columns written since the last flush, and samples flushed into the sums. A block
        /// belongs to one thread's workspace: no dynamic exclusivity checks in the hot loop.
        @exclusivity(unchecked) var filled = 0
        @exclusivity(unchecked) private(set) var count = 0
        private let storage: Scratch

        init(rows: Int, outputs: Int) {
            self.rows = rows
            self.outputs = outputs
            entries = outputs > 0 ? outputs * rows : rows
            storage = Scratch((rows + outputs) * rowStride + 2 * entries)
            w = storage.base
            y = w + rows * rowStride
            sum = y + outputs * rowStride
            sumOfSquares = sum + entries
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
            if outputs > 0 {
                for i in 0..<outputs {
                    let yRow = y + i * rowStride
                    for r in 0..<rows {
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
        }

        /// Forgets the part's samples.
        func reset() {
            filled = 0
            count = 0
            sum.update(repeating: 0, count: entries)
            sumOfSquares.update(repeating: 0, count: entries)
        }
    }

    /// The per-thread workspace: time-major scratch rows for one chunk of times (x, y, u, αᵀu,
    /// βᵀy, the mixed score's pair products), vectors for the columns recomputed at the
    /// window's ends, and one column block per moment.
    final class Workspace {
        let xRows, yRows, uRows, projectionRows, outputProjectionRows, pairRows: UnsafeMutablePointer<Double>
        let u, previousU, projection, previousProjection, yt, pairProducts: UnsafeMutablePointer<Double>
        let secondOrder: Block
        let mixed: Block
        let projected: Block
        private let storage: Scratch

        init(dx: Int, dy: Int, dh: Int, secondOrder: Bool, mixed: Bool, projected: Bool) {
            let pairs = dx * (dx + 1) / 2
            let rows = 2 * dx + dy + 2 * dh + pairs
            let vectors = 4 * max(dx, dh) + dy + pairs
            storage = Scratch(rows * rowStride + vectors)
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
            let width = max(dx, dh)
            u = take(width)
            previousU = take(width)
            projection = take(width)
            previousProjection = take(width)
            yt = take(dy)
            pairProducts = take(pairs)
            self.secondOrder = Block(rows: secondOrder ? pairs : 0, outputs: secondOrder ? dy : 0)
            self.mixed = Block(rows: mixed ? dx * pairs : 0, outputs: mixed ? dy : 0)
            self.projected = Block(rows: projected ? dh * dh : 0, outputs: 0)
        }
    }

    /// The running totals of one moment (packed entries): the number of samples, their mean
    /// and the sum of squared deviations about it.
    struct Totals {
        private(set) var count = 0
        private(set) var mean: [Double]
        private(set) var sumOfSquares: [Double]

        init(size: Int) {
            mean = [Double](repeating: 0, count: size)
            sumOfSquares = [Double](repeating: 0, count: size)
        }

        /// Folds in a part's sums by Chan's merge (exact up to rounding). The part's own sum of
        /// squared deviations is `Σv² − (Σv)²/N`: it loses about log₁₀(1 + mean²/variance) digits,
        /// harmless for these moments (products of a centred score with an output).
        mutating func merge(_ part: Block) {
            part.flush()
            guard part.count > 0 else { return }
            let n1 = Double(count), n2 = Double(part.count), n = n1 + n2
            for e in 0..<mean.count {
                let s = part.sum[e]
                let partMean = s / n2
                let partSquares = max(0, part.sumOfSquares[e] - s * partMean)
                if count == 0 {
                    mean[e] = partMean
                    sumOfSquares[e] = partSquares
                } else {
                    let delta = partMean - mean[e]
                    mean[e] += delta * (n2 / n)
                    sumOfSquares[e] += partSquares + delta * delta * (n1 * n2 / n)
                }
            }
            count += part.count
        }

        /// The totals as a `StreamingMean` of the given shape, entry k taken from packed entry `packed[k]`.
        func streamingMean(shape: [Int], packed: [Int]) -> StreamingMean {
            StreamingMean.assembling(shape: shape, count: count,
                                     mean: packed.map { mean[$0] },
                                     sumOfSquares: packed.map { sumOfSquares[$0] })
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
