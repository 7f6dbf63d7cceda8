// The arithmetic behind the window-moment estimators of WindowMoments.swift.
//
// One pass streams batches of segments. Each batch is split into `partsPerBatch` contiguous
// stretches of (window, t) pairs ("parts"), whatever the number of threads; each part is
// accumulated on its own into plain sums and sums of squares, closed into records of
// consecutive pairs (WindowMomentsAccumulation.swift), and the parts' records are appended
// in part order and pooled by Chan's exact merge. The `threads` workers (at most 16) take
// the next part not yet taken, each in its own workspace, handing over each part's records
// before the next. So results depend on neither scheduling nor the thread count (any `threads`
// gives the same bits), and memory is one batch plus a fixed workspace per worker.
//
// Within a part, times are processed in chunks of up to `blockColumns` consecutive times of
// one window, time-major: each quantity is a row over the chunk's times, computed four
// times at a time with SIMD4.
//
// - `u_τ = (P x)_τ = P_{τ,τ−1} x_{τ−1} + P_ττ x_τ + P_{τ,τ+1} x_{τ+1}` (MATH.md §2, paper
//   Lemma 4) for τ = c0−1 … c1−1, with x = 0 outside the window (so the missing neighbour
//   terms vanish) and the interior `P_ττ`; the end times 0 and n−1 are then corrected by
//   `(P_ττ − P_interior) x_τ`.
// - Every entry of `y_t ⊗ S` is a product `y_t[i] · S[e]`: the chunk writes the rows of S
//   (pairs b ≤ c once for symmetric modes) and of y as columns of the moment's block.
// - The projected moment needs only `αᵀu_τ`, computed directly with the blocks `αᵀP_{τ,·}`.

import Foundation
import Synchronization

extension WindowMomentKernels {
    /// One estimation: the constant blocks of P, the directions, one workspace per thread and
    /// the totals. Shared read-only by the workers of a batch except for each worker's own
    /// workspace, which is why it is `@unchecked Sendable`.
    final class Engine: @unchecked Sendable {
        let dx: Int, dy: Int, dh: Int
        let threads: Int
        let wantsSecondOrder: Bool, wantsMixed: Bool, wantsProjected: Bool
        /// dx(dx+1)/2, the number of index pairs a ≤ b.
        let pairs: Int

        /// Storage of every constant below.
        private let constants: Scratch
        /// `P_ττ` inside the window (dx×dx), and `P_ττ − P_interior` at the first time, the last
        /// time, and when n = 1.
        private let interiorBlock, firstDifference, lastDifference, singleDifference: UnsafeMutablePointer<Double>
        /// `P_{τ,τ−1} = −QΦ` and `P_{τ,τ+1} = −ΦᵀQ` (dx×dx).
        private let lowerBlock, upperBlock: UnsafeMutablePointer<Double>
        /// `αᵀ` times each of the six blocks above (dh×dx each).
        private let alphaInterior, alphaFirstDifference, alphaLastDifference, alphaSingleDifference: UnsafeMutablePointer<Double>
        private let alphaLower, alphaUpper: UnsafeMutablePointer<Double>
        /// βᵀ (dh×dy).
        private let betaT: UnsafeMutablePointer<Double>
        /// `C_k = α_kᵀ P_{t−1,t−1} α_k` with t−1 inside, and `C_k(first) − C_k(inside)` (dh each).
        private let interiorC, firstCDifference: UnsafeMutablePointer<Double>
        /// `2 D_jk = 2 α_jᵀ P_{t,t−1} α_k` (dh×dh).
        private let twiceD: UnsafeMutablePointer<Double>

        /// How many parts each batch is split into, independent of `threads` so that the
        /// order of every sum is fixed (more threads than parts would idle).
        static let partsPerBatch = 16

        /// One per worker (min(threads, partsPerBatch)).
        private let workspaces: [Workspace]
        private(set) var secondOrderTotals = Totals()
        private(set) var mixedTotals = Totals()
        private(set) var projectedTotals = Totals()

        init(source: WindowSource, process: AR1Process, secondOrder: Bool, mixed: Bool,
             projection: (alpha: Tensor, beta: Tensor)?, threads: Int, flush: Flush = .automatic) throws {
            let dx = source.inputDimension, dy = source.outputDimension
            guard dx >= 1, dy >= 1 else {
                throw WindowMomentsError("window moments: input and output dimensions must be positive, got dx = \(dx), dy = \(dy)")
            }
            guard process.dimension == dx else {
                throw WindowMomentsError("window moments: the AR(1) process has dimension \(process.dimension), the inputs have dx = \(dx)")
            }
            var dh = 0
            if let (alpha, beta) = projection {
                guard alpha.order == 2, alpha.shape[0] == dx, alpha.shape[1] >= 1 else {
                    throw WindowMomentsError("projected mixed moment: alpha must be dx×dh = \(dx)×dh, got shape \(alpha.shape)")
                }
                dh = alpha.shape[1]
                guard beta.shape == [dy, dh] else {
                    throw WindowMomentsError("projected mixed moment: beta must be dy×dh = \(dy)×\(dh), got shape \(beta.shape)")
                }
                guard alpha.isFinite, beta.isFinite else {
                    throw WindowMomentsError("projected mixed moment: alpha and beta must be finite (found NaN or ∞)")
                }
            }
            self.dx = dx
            self.dy = dy
            self.dh = dh
            self.threads = max(1, threads)
            wantsSecondOrder = secondOrder
            wantsMixed = mixed
            wantsProjected = projection != nil
            pairs = dx * (dx + 1) / 2

            let square = dx * dx, rectangle = dh * dx
            let storage = Scratch(6 * square + 6 * rectangle + dh * dy + 2 * dh + dh * dh)
            var next = storage.base
            func take(_ count: Int) -> UnsafeMutablePointer<Double> {
                defer { next += count }
                return next
            }
            let blocks = (0..<6).map { _ in take(square) }
            let alphaBlocks = (0..<6).map { _ in take(rectangle) }
            let bT = take(dh * dy)
            let cInterior = take(dh), cFirstDifference = take(dh), dTwice = take(dh * dh)
            // The blocks of a window of length 3 are the first, interior and last cases (MATH.md §2);
            // n = 1 has P = Γ⁻¹; P_{t,t−1} and P_{t−1,t} do not depend on t.
            let interior = process.precisionBlock(row: 1, column: 1, length: 3)
            let values = [interior,
                          process.precisionBlock(row: 0, column: 0, length: 3) - interior,
                          process.precisionBlock(row: 2, column: 2, length: 3) - interior,
                          process.precisionBlock(row: 0, column: 0, length: 1) - interior,
                          process.precisionBlock(row: 1, column: 0, length: 2),
                          process.precisionBlock(row: 0, column: 1, length: 2)]
            for (target, block) in zip(blocks, values) { target.update(from: block.storage, count: square) }
            if let (alpha, beta) = projection {
                let a = alpha.storage, b = beta.storage
                for (target, block) in zip(alphaBlocks, blocks) {
                    for j in 0..<dh {
                        for c in 0..<dx {
                            var value = 0.0
                            for r in 0..<dx { value += a[r * dh + j] * block[r * dx + c] }
                            target[j * dx + c] = value
                        }
                    }
                }
                for j in 0..<dh { for i in 0..<dy { bT[j * dy + i] = b[i * dh + j] } }
                // α_jᵀ M α_k from the rows of αᵀM.
                func form(_ alphaM: UnsafeMutablePointer<Double>, _ j: Int, _ k: Int) -> Double {
                    var total = 0.0
                    for c in 0..<dx { total += alphaM[j * dx + c] * a[c * dh + k] }
                    return total
                }
                for k in 0..<dh {
                    cInterior[k] = form(alphaBlocks[0], k, k)
                    cFirstDifference[k] = form(alphaBlocks[1], k, k)
                    for j in 0..<dh { dTwice[j * dh + k] = 2 * form(alphaBlocks[4], j, k) }
                }
            }
            constants = storage
            (interiorBlock, firstDifference, lastDifference, singleDifference, lowerBlock, upperBlock) =
                (blocks[0], blocks[1], blocks[2], blocks[3], blocks[4], blocks[5])
            (alphaInterior, alphaFirstDifference, alphaLastDifference, alphaSingleDifference, alphaLower, alphaUpper) =
                (alphaBlocks[0], alphaBlocks[1], alphaBlocks[2], alphaBlocks[3], alphaBlocks[4], alphaBlocks[5])
            betaT = bT
            interiorC = cInterior
            firstCDifference = cFirstDifference
            twiceD = dTwice
            let wantsProjected = projection != nil
            workspaces = (0..<min(self.threads, Self.partsPerBatch)).map { _ in
                Workspace(dx: dx, dy: dy, dh: dh, secondOrder: secondOrder, mixed: mixed, projected: wantsProjected, flush: flush)
            }
        }

        // MARK: Passes and batches

        /// Streams every batch of the source into the totals.
        func run(_ source: WindowSource, progress: Progress?) throws {
            try source.forEachBatch { batch in
                let pairsInBatch = try accumulate(batch)
                progress?.advance(pairsInBatch)
            }
        }

        /// Accumulates one batch; returns the number of (window, t) pairs it held.
        @discardableResult
        func accumulate(_ batch: [WindowSegment]) throws -> Int {
            var prefix = [Int](repeating: 0, count: batch.count + 1)
            for (index, segment) in batch.enumerated() {
                try validate(segment, index)
                prefix[index + 1] = prefix[index] + segment.pairCount
            }
            let total = prefix[batch.count]
            guard total > 0 else { return 0 }
            let parts = Self.partsPerBatch
            for workspace in workspaces {
                workspace.secondOrder.recordLength = secondOrderTotals.recordLength
                workspace.mixed.recordLength = mixedTotals.recordLength
                workspace.projected.recordLength = projectedTotals.recordLength
            }
            let workers = workspaces.count
            let frozenPrefix = prefix
            // Each part's records (second order, mixed, projected), written by the one worker
            // that owns the part, read after all workers are done.
            let handed = UnsafeMutablePointer<[Record]>.allocate(capacity: 3 * parts)
            handed.initialize(repeating: [], count: 3 * parts)
            defer {
                handed.deinitialize(count: 3 * parts)
                handed.deallocate()
            }
            nonisolated(unsafe) let slots = handed
            // Parts go to whichever worker is free (a part's records depend on the part alone:
            // each starts on an empty block), so a worker that the reader thread or the system
            // holds up does not keep the other waiting at the end of the batch.
            let nextPart = PartCounter()
            let work: @Sendable (Int) -> Void = { worker in
                let workspace = self.workspaces[worker]
                while true {
                    let part = nextPart.take()
                    guard part < parts else { break }
                    let range = (total * part / parts)..<(total * (part + 1) / parts)
                    self.accumulate(batch, prefix: frozenPrefix, pairs: range, into: workspace)
                    slots[3 * part] = self.wantsSecondOrder ? workspace.secondOrder.takeRecords() : []
                    slots[3 * part + 1] = self.wantsMixed ? workspace.mixed.takeRecords() : []
                    slots[3 * part + 2] = self.wantsProjected ? workspace.projected.takeRecords() : []
                }
            }
            if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
            for part in 0..<parts {
                if wantsSecondOrder { secondOrderTotals.append(records: handed[3 * part]) }
                if wantsMixed { mixedTotals.append(records: handed[3 * part + 1]) }
                if wantsProjected { projectedTotals.append(records: handed[3 * part + 2]) }
            }
            return total
        }

        /// Throws unless a segment is consistent and carries the margins its times need.
        private func validate(_ segment: WindowSegment, _ index: Int) throws {
            let n = segment.windowLength, first = segment.firstTime, windows = segment.windowCount
            let what = "window segment \(index) of a batch"
            guard n >= 1 else { throw WindowMomentsError("\(what): window length \(n) must be positive") }
            guard windows >= 1 else { throw WindowMomentsError("\(what): window count \(windows) must be positive") }
            guard segment.x.count % (windows * dx) == 0 else {
                throw WindowMomentsError("\(what): x holds \(segment.x.count) values, not \(windows) window\(windows == 1 ? "" : "s") of whole rows of dx = \(dx)")
            }
            let steps = segment.x.count / (windows * dx)
            guard segment.y.count == windows * steps * dy else {
                throw WindowMomentsError("\(what): y holds \(segment.y.count) values, expected \(windows)×\(steps)×\(dy) like x")
            }
            guard first >= 0, first + steps <= n else {
                throw WindowMomentsError("\(what): times \(first)..<\(first + steps) lie outside the window 0..<\(n)")
            }
            let times = segment.accumulate
            guard !times.isEmpty else { return }
            guard times.lowerBound >= first, times.upperBound <= first + steps else {
                throw WindowMomentsError("\(what): accumulated times \(times) are not among its times \(first)..<\(first + steps)")
            }
            let back = (wantsMixed || wantsProjected) ? 2 : 1
            guard first <= max(0, times.lowerBound - back), first + steps >= min(n, times.upperBound + 1) else {
                throw WindowMomentsError("\(what): times \(times) need x at \(max(0, times.lowerBound - back))..<\(min(n, times.upperBound + 1)), the segment holds \(first)..<\(first + steps)")
            }
        }

        /// Accumulates the pairs with positions `range` (in batch order: segment, window, time) into a workspace.
        private func accumulate(_ batch: [WindowSegment], prefix: [Int], pairs range: Range<Int>, into workspace: Workspace) {
            guard !range.isEmpty else { return }
            var index = 0
            var position = range.lowerBound
            while position < range.upperBound {
                while prefix[index + 1] <= position { index += 1 }
                let segment = batch[index]
                let perWindow = segment.accumulate.count
                let steps = segment.x.count / (segment.windowCount * dx)
                let end = min(range.upperBound, prefix[index + 1])
                segment.x.withUnsafeBufferPointer { xBuffer in
                    segment.y.withUnsafeBufferPointer { yBuffer in
                        while position < end {
                            let offset = position - prefix[index]
                            let window = offset / perWindow
                            var start = segment.accumulate.lowerBound + offset % perWindow
                            let stop = start + min(end - position, segment.accumulate.upperBound - start)
                            position += stop - start
                            let x = xBuffer.baseAddress! + window * steps * dx, y = yBuffer.baseAddress! + window * steps * dy
                            while start < stop {
                                let chunkEnd = min(start + blockColumns, stop)
                                accumulateChunk(x: x, y: y, windowLength: segment.windowLength, firstTime: segment.firstTime,
                                                steps: steps, times: start..<chunkEnd, workspace: workspace)
                                start = chunkEnd
                            }
                        }
                    }
                }
            }
        }

        // MARK: Kernels

        /// `P_ττ − P_interior` at time τ of a window of length n, or nil inside.
        @inline(__always)
        private func diagonalDifference(_ tau: Int, _ n: Int, alpha: Bool) -> UnsafeMutablePointer<Double>? {
            if n == 1 { return alpha ? alphaSingleDifference : singleDifference }
            if tau == 0 { return alpha ? alphaFirstDifference : firstDifference }
            if tau == n - 1 { return alpha ? alphaLastDifference : lastDifference }
            return nil
        }

        /// The window's end times (0 and n−1, once when n = 1) that lie in `range`, without allocating.
        @inline(__always)
        private func endTimes(_ n: Int, in range: Range<Int>) -> EndTimes {
            EndTimes(first: range.contains(0) ? 0 : nil, last: n > 1 && range.contains(n - 1) ? n - 1 : nil)
        }

        /// Rows `out[a][j] = Σ_b L[a,b] x[b][j] + M[a,b] x[b][j+1] + U[a,b] x[b][j+2]` for j < count
        /// (rounded up to a multiple of 4), from the time-major x rows. Two rows a at a time share
        /// the x loads and give two independent sums (each sum in the order of one row alone);
        /// their accumulators and operands fit the sixteen SSE registers of baseline x86-64.
        @inline(__always)
        private func tridiagonalRows(_ xRows: UnsafeMutablePointer<Double>, count: Int, rows: Int,
                                     lower: UnsafeMutablePointer<Double>, middle: UnsafeMutablePointer<Double>,
                                     upper: UnsafeMutablePointer<Double>, into out: UnsafeMutablePointer<Double>) {
            let d = dx
            var a = 0
            while a + 2 <= rows {
                let l0 = lower + a * d, m0 = middle + a * d, u0 = upper + a * d
                let l1 = l0 + d, m1 = m0 + d, u1 = u0 + d
                var j = 0
                while j < count {
                    var acc0 = SIMD4<Double>(), acc1 = SIMD4<Double>()
                    for b in 0..<d {
                        let row = xRows + b * rowStride + j
                        let x0 = load4(row), x1 = load4(row + 1), x2 = load4(row + 2)
                        acc0 += l0[b] * x0 + m0[b] * x1 + u0[b] * x2
                        acc1 += l1[b] * x0 + m1[b] * x1 + u1[b] * x2
                    }
                    let target = out + a * rowStride + j
                    store4(acc0, target)
                    store4(acc1, target + rowStride)
                    j += 4
                }
                a += 2
            }
            if a < rows {
                let target = out + a * rowStride
                var j = 0
                while j < count {
                    var acc = SIMD4<Double>()
                    for b in 0..<d {
                        let row = xRows + b * rowStride + j
                        acc += lower[a * d + b] * load4(row) + middle[a * d + b] * load4(row + 1) + upper[a * d + b] * load4(row + 2)
                    }
                    store4(acc, target + j)
                    j += 4
                }
            }
        }

        /// Adds `(P_ττ − M) x_τ` to the rows at the window's end times (row index j = τ − first).
        @inline(__always)
        private func correctEnds(_ out: UnsafeMutablePointer<Double>, rows: Int, xRows: UnsafeMutablePointer<Double>,
                                 windowLength n: Int, times: Range<Int>, alpha: Bool) {
            for tau in endTimes(n, in: times) {
                guard let difference = diagonalDifference(tau, n, alpha: alpha) else { continue }
                let j = tau - times.lowerBound
                for a in 0..<rows {
                    var value = 0.0
                    for b in 0..<dx { value += difference[a * dx + b] * xRows[b * rowStride + j + 1] }
                    out[a * rowStride + j] += value
                }
            }
        }

        /// `out[r][j] = source[(j − columns.lowerBound)·rows + r]` for j in `columns` (time-major
        /// steps into row-major rows of stride `rowStride`), and 0 in the other columns below `width`.
        /// Four rows and four times at a time: the four times' rows are four contiguous vector
        /// loads, transposed in registers into four stores (the rows left over, and the times
        /// left over, one value at a time). Only data moves, so the values are exactly the source's.
        @inline(__always)
        private func transpose(_ source: UnsafePointer<Double>, rows: Int, columns: Range<Int>,
                               into out: UnsafeMutablePointer<Double>, zeroingUpTo width: Int) {
            let first = columns.lowerBound, end = columns.upperBound
            for r in 0..<rows {
                let target = out + r &* rowStride
                var j = 0
                while j < first { target[j] = 0; j &+= 1 }
                j = end
                while j < width { target[j] = 0; j &+= 1 }
            }
            var r = 0
            while r &+ 4 <= rows {
                let t0 = out + r &* rowStride, t1 = t0 + rowStride, t2 = t1 + rowStride, t3 = t2 + rowStride
                var from = source + r
                var j = first
                while j &+ 4 <= end {
                    let a = load4(from), b = load4(from + rows), c = load4(from + 2 &* rows), d = load4(from + 3 &* rows)
                    store4(SIMD4(a[0], b[0], c[0], d[0]), t0 + j)
                    store4(SIMD4(a[1], b[1], c[1], d[1]), t1 + j)
                    store4(SIMD4(a[2], b[2], c[2], d[2]), t2 + j)
                    store4(SIMD4(a[3], b[3], c[3], d[3]), t3 + j)
                    from += 4 &* rows
                    j &+= 4
                }
                while j < end {
                    t0[j] = from[0]; t1[j] = from[1]; t2[j] = from[2]; t3[j] = from[3]
                    from += rows
                    j &+= 1
                }
                r &+= 4
            }
            while r < rows {
                let target = out + r &* rowStride
                var from = source + r
                var j = first
                // Four times at a time: four strided loads, one four-wide store.
                while j &+ 4 <= end {
                    store4(SIMD4(from[0], from[rows], from[2 &* rows], from[3 &* rows]), target + j)
                    from += 4 &* rows
                    j &+= 4
                }
                while j < end {
                    target[j] = from.pointee
                    from += rows
                    j &+= 1
                }
                r &+= 1
            }
        }

        /// Accumulates times `c0..<c1` (at most `blockColumns`) of one window; x and y point at
        /// the window's time `firstTime`, which holds `steps` times.
        private func accumulateChunk(x: UnsafePointer<Double>, y: UnsafePointer<Double>, windowLength n: Int, firstTime: Int,
                                     steps: Int, times: Range<Int>, workspace ws: Workspace) {
            let c0 = times.lowerBound, c1 = times.upperBound, length = c1 - c0
            let d = dx
            // x rows for times c0−2 … c1 (zero outside the segment: outside the window that drops
            // the missing neighbour terms; inside it, only times no accumulated term uses).
            // Columns j ↔ time c0 − 2 + j; those of times firstTime ..< firstTime + steps are copied.
            let xRows = ws.xRows
            let columns = length + 3
            let heldFirst = min(columns, max(0, firstTime - (c0 - 2)))
            let held = heldFirst..<max(heldFirst, min(columns, firstTime + steps - (c0 - 2)))
            transpose(x + (c0 - 2 + held.lowerBound - firstTime) * d, rows: d, columns: held, into: xRows, zeroingUpTo: columns)
            // y rows for times c0 … c1−1.
            transpose(y + (c0 - firstTime) * dy, rows: dy, columns: 0..<length, into: ws.yRows, zeroingUpTo: length)
            // u (or αᵀu) rows for times c0−1 … c1−1: row index j ↔ time c0−1+j.
            let uTimes = (c0 - 1)..<c1
            if wantsSecondOrder || wantsMixed {
                tridiagonalRows(xRows, count: length + 1, rows: d, lower: lowerBlock, middle: interiorBlock, upper: upperBlock, into: ws.uRows)
                correctEnds(ws.uRows, rows: d, xRows: xRows, windowLength: n, times: uTimes, alpha: false)
            }
            if wantsProjected {
                tridiagonalRows(xRows, count: length + 1, rows: dh, lower: alphaLower, middle: alphaInterior, upper: alphaUpper,
                                into: ws.projectionRows)
                correctEnds(ws.projectionRows, rows: dh, xRows: xRows, windowLength: n, times: uTimes, alpha: true)
            }
            if wantsSecondOrder { secondOrderColumns(ws, windowLength: n, times: times) }
            // The mixed moments start at t = 1.
            let skip = c0 == 0 ? 1 : 0
            guard length > skip else { return }
            if wantsMixed { mixedColumns(ws, times: times, skip: skip) }
            if wantsProjected { projectedColumns(ws, times: times, skip: skip) }
        }

        /// Copies y rows (times k ≥ skip of the chunk) into a block's columns from `column`.
        @inline(__always)
        private func copyOutputs(_ ws: Workspace, skip: Int, length: Int, into block: Block, column: Int) {
            for i in 0..<dy {
                let source = ws.yRows + i * rowStride, target = block.y + i * rowStride + column - skip
                var k = skip
                while k < length {
                    store4(load4(source + k), target + k)
                    k += 4
                }
            }
        }

        /// Columns of `y_t ⊗ S₂(x[n], t)`: `w_(a,b) = u_t[a] u_t[b] − P_tt[a,b]` (a ≤ b) and y_t.
        private func secondOrderColumns(_ ws: Workspace, windowLength n: Int, times: Range<Int>) {
            let block = ws.secondOrder, length = times.count, d = dx
            block.makeRoom(length)
            let column = block.filled
            let u = ws.uRows + 1  // time c0 + k at index k
            var e = 0
            for a in 0..<d {
                let ua = u + a * rowStride
                for b in a..<d {
                    let ub = u + b * rowStride, p = interiorBlock[a * d + b]
                    let target = block.w + e * rowStride + column
                    var k = 0
                    while k < length {
                        store4(load4(ua + k) * load4(ub + k) - p, target + k)
                        k += 4
                    }
                    e += 1
                }
            }
            for tau in endTimes(n, in: times) {
                guard let difference = diagonalDifference(tau, n, alpha: false) else { continue }
                let k = column + tau - times.lowerBound
                e = 0
                for a in 0..<d {
                    for b in a..<d {
                        block.w[e * rowStride + k] -= difference[a * d + b]
                        e += 1
                    }
                }
            }
            copyOutputs(ws, skip: 0, length: length, into: block, column: column)
            block.filled += length
        }

        /// Columns of `y_t ⊗ S_{t,t−1,t−1}(x[n])` for t ≥ 1 (b ≤ c):
        /// `S[a,(b,c)] = u_t[a] (u'_b u'_c − P'_bc) − (L_ab u'_c + L_ac u'_b)`, u' = u_{t−1},
        /// P' = P_{t−1,t−1}, L = P_{t,t−1}.
        private func mixedColumns(_ ws: Workspace, times: Range<Int>, skip: Int) {
            let block = ws.mixed, length = times.count, d = dx
            block.makeRoom(length - skip)
            let column = block.filled
            let previous = ws.uRows, current = ws.uRows + 1  // time c0 + k at index k
            // m_(b,c) = u'_b u'_c − P'_bc.
            var e = 0
            for b in 0..<d {
                for c in b..<d {
                    let ub = previous + b * rowStride, uc = previous + c * rowStride, p = interiorBlock[b * d + c]
                    let target = ws.pairRows + e * rowStride
                    var k = skip
                    while k < length {
                        store4(load4(ub + k) * load4(uc + k) - p, target + k)
                        k += 4
                    }
                    e += 1
                }
            }
            if times.contains(1) {  // t − 1 = 0: P' is the first block
                let k = 1 - times.lowerBound
                e = 0
                for b in 0..<d {
                    for c in b..<d {
                        ws.pairRows[e * rowStride + k] -= firstDifference[b * d + c]
                        e += 1
                    }
                }
            }
            var row = 0
            for a in 0..<d {
                let ua = current + a * rowStride
                e = 0
                for b in 0..<d {
                    let ub = previous + b * rowStride, lab = lowerBlock[a * d + b]
                    for c in b..<d {
                        let uc = previous + c * rowStride, lac = lowerBlock[a * d + c]
                        let m = ws.pairRows + e * rowStride
                        let target = block.w + row * rowStride + column - skip
                        var k = skip
                        while k < length {
                            store4(load4(ua + k) * load4(m + k) - (lab * load4(uc + k) + lac * load4(ub + k)), target + k)
                            k += 4
                        }
                        e += 1
                        row += 1
                    }
                }
            }
            copyOutputs(ws, skip: skip, length: length, into: block, column: column)
            block.filled += length - skip
        }

        /// Columns of the projected mixed moment for t ≥ 1: `r_j (p_j (q_k² − C_k) − 2 D_jk q_k)`,
        /// with p = αᵀu_t, q = αᵀu_{t−1}, r = βᵀy_t.
        private func projectedColumns(_ ws: Workspace, times: Range<Int>, skip: Int) {
            let block = ws.projected, length = times.count, h = dh
            block.makeRoom(length - skip)
            let column = block.filled
            let q = ws.projectionRows, p = ws.projectionRows + 1  // time c0 + k at index k
            let r = ws.outputProjectionRows
            for j in 0..<h {
                let target = r + j * rowStride
                var k = skip
                while k < length {
                    var acc = SIMD4<Double>()
                    for i in 0..<dy { acc += betaT[j * dy + i] * load4(ws.yRows + i * rowStride + k) }
                    store4(acc, target + k)
                    k += 4
                }
            }
            let correctedTime = times.contains(1) ? 1 - times.lowerBound : -1  // t − 1 = 0: C is the first one
            for j in 0..<h {
                let rj = r + j * rowStride, pj = p + j * rowStride
                for l in 0..<h {
                    let ql = q + l * rowStride, c = interiorC[l], twiceDjl = twiceD[j * h + l]
                    let target = block.w + (j * h + l) * rowStride + column - skip
                    var k = skip
                    while k < length {
                        let qv = load4(ql + k)
                        store4(load4(rj + k) * (load4(pj + k) * (qv * qv - c) - twiceDjl * qv), target + k)
                        k += 4
                    }
                    if correctedTime >= skip {
                        target[correctedTime] -= rj[correctedTime] * pj[correctedTime] * firstCDifference[l]
                    }
                }
            }
            block.filled += length - skip
        }

        // MARK: Results

        /// The packed position of the pair (a, b) of dx indices, either order.
        private func pairIndex(_ a: Int, _ b: Int) -> Int {
            let (low, high) = a <= b ? (a, b) : (b, a)
            return low * dx - low * (low - 1) / 2 + (high - low)
        }

        /// `Ê[y_t ⊗ S₂(x[n], t)]`, dy×dx×dx.
        func secondOrderResult() -> StreamingMean {
            var packed: [Int] = []
            packed.reserveCapacity(dy * dx * dx)
            for i in 0..<dy { for a in 0..<dx { for b in 0..<dx { packed.append(i * pairs + pairIndex(a, b)) } } }
            return secondOrderTotals.streamingMean(shape: [dy, dx, dx], packed: packed)
        }

        /// `Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])]`, dy×dx×dx×dx.
        func mixedResult() -> StreamingMean {
            var packed: [Int] = []
            packed.reserveCapacity(dy * dx * dx * dx)
            for i in 0..<dy { for a in 0..<dx { for b in 0..<dx { for c in 0..<dx {
                packed.append((i * dx + a) * pairs + pairIndex(b, c))
            } } } }
            return mixedTotals.streamingMean(shape: [dy, dx, dx, dx], packed: packed)
        }

        /// The projected mixed moment, dh×dh.
        func projectedResult() -> StreamingMean {
            projectedTotals.streamingMean(shape: [dh, dh], packed: Array(0..<(dh * dh)))
        }
    }

    /// The next part of a batch to accumulate, handed out once each.
    final class PartCounter: Sendable {
        private let next = Atomic<Int>(0)

        /// A part index no other caller has been given (≥ partsPerBatch when all are taken).
        func take() -> Int { next.wrappingAdd(1, ordering: .relaxed).oldValue }
    }

    /// At most two end times of a window, iterated without an array.
    struct EndTimes: Sequence, IteratorProtocol {
        var first: Int?
        var last: Int?

        mutating func next() -> Int? {
            if let value = first {
                first = nil
                return value
            }
            defer { last = nil }
            return last
        }
    }
}
