// The general projected mixed-score cross-moment (MATH.md §2, §4c, §5):
//
//     Ê[(β·y_t) · S_{t+o₁, …, t+o_m}(x[n])(v₁, …, v_m)]
//
// for any list of slots (offset from t, direction) and any order m, streamed over a
// `WindowSource`. It never builds the dense dx^m score: the contraction is the sum over
// partial matchings of the slots, computed by `ContractedScore`'s Hermite recursion on the
// projections `a_g = v_g·u_{τg}` (a flattened `HermiteSchedule`, no allocation per sample),
// with the couplings `C_gh = v_gᵀ P_{τg τh} v_h` computed once per (window length, time
// class). `u_τ = (P x)_τ` needs `x_{τ−1}, x_τ, x_{τ+1}` (Lemma 4), so each projection
// `v·u_τ` is three dot products with the rows `P_{τ,σ}ᵀ v`, also computed once.
//
// Parallel with a fixed reduction order: the (window, t) pairs of the whole stream are cut
// into records of consecutive pairs at positions that depend on the stream alone (records of
// 1, 2, 4, … pairs, 32 to 64 of them, as `WindowMomentKernels.Totals` pools them), and into
// pieces at global multiples of 2048 pairs and at batch boundaries; each piece is summed in
// order by one worker, and the pieces and records are pooled in stream order by Chan's
// formula. So the result, batch means included, is the same bits for any `threads`, and
// equal to rounding for any batching of the same stream (the records are the same pairs). Memory is one batch
// plus a few numbers per projection and thread.
//
// The hand-written kernels of WindowMomentsEngine.swift (the dense second-order moment and
// the projected `t, t−1, t−1` moment of walkthrough 03) are fast paths for two instances of
// this one; the tests show they agree with it on the same windows.

import Foundation

/// One projected cross-moment `E[(β·y_t) · S_{t+o₁, …, t+o_m}(x[n])(v₁, …, v_m)]`: an output
/// direction β and one (offset from t, vector) pair per score slot (MATH.md §2); no slots
/// (order 0, `S_0 = 1`) gives the projected output mean `E[β·y_t]`.
public struct ScoreProjection: Sendable {
    public let output: [Double]
    public let slots: [(offset: Int, vector: [Double])]
    public init(output: [Double], slots: [(offset: Int, vector: [Double])]) {
        self.output = output
        self.slots = slots
    }

    /// The score order m.
    public var order: Int { slots.count }
}

/// `Ê[(β·y_t) · S_{t+o₁…t+o_m}(x[n])(v₁, …, v_m)]` for each projection, as one StreamingMean
/// (one entry per projection, with 32 to 64 batch means of consecutive pairs), pooled over
/// every t of every window at which all of the projection's slots lie inside the window — and
/// only over t where every projection's slots do, so that all entries come from the same pairs.
///
/// Segments may be whole windows or time chunks of a long window; each must hold x at the
/// times `t + min o − 1 … t + max o + 1` (inside the window) for every accumulated t that is
/// used. Deterministic and independent of `threads` (see the file's header).
public func estimateProjectedScoreMoment(_ source: WindowSource, process: AR1Process,
                                         projections: [ScoreProjection], threads: Int = 2,
                                         progress: Progress? = nil) throws -> StreamingMean {
    let engine = try ProjectedScoreEngine(source: source, process: process, projections: projections, threads: threads)
    try source.forEachBatch { batch in
        let pairs = try engine.accumulate(batch)
        progress?.advance(pairs)
    }
    return engine.result()
}

/// The arithmetic of `estimateProjectedScoreMoment`.
final class ProjectedScoreEngine: @unchecked Sendable {
    let dx: Int, dy: Int
    let threads: Int
    let process: AR1Process
    /// The lowest and highest slot offsets (with 0, the output's own time).
    let lowest: Int, highest: Int
    /// Distinct output directions and, per projection, its index among them.
    private let outputs: [[Double]]
    private let outputIndex: [Int]
    /// Distinct (offset, vector) slots; per projection, its groups as indices into them with multiplicities.
    private let slotOffsets: [Int]
    private let slotVectors: [[Double]]
    private let projectionGroups: [[Int]]
    private let projectionMultiplicities: [[Int]]
    /// The largest number of recursion states of any projection (scratch size): `Π (n_g + 1)`.
    private let largestStates: Int
    /// Plans per window length: the interior plan and the plans of times near the ends.
    private var plans: [Int: LengthPlans] = [:]
    /// The records so far (from records of one pair, doubling), and the unfinished record at
    /// the end of the last batch with its number of pairs.
    private var totals = WindowMomentKernels.Totals(recordLength: 1)
    private var open: WindowMomentKernels.Record?
    private var openCount = 0
    /// The current record length and the number of closed records, as `totals` will have them.
    private var recordLength = 1
    private var closedCount = 0
    /// Pairs accumulated so far, and the global grid of piece boundaries.
    private var streamPosition = 0
    private let pieceLength = 2048

    /// Everything a (window length, time) pair needs: per distinct slot, the rows `P_{τ,τ+σ}ᵀ v`
    /// for σ = −1, 0, 1 (zero outside the window), and every projection's Hermite recursion
    /// (`HermiteSchedule`) flattened into one program whose steps read the slot projections
    /// directly: step i of projection p computes `h[i] = a[slot_i] h[pred_i] − Σ coef · h[state]`.
    final class Plan: @unchecked Sendable {
        /// slots × 3 × dx, row-major.
        let rows: UnsafeMutablePointer<Double>
        /// Per projection p, its steps are `stepStart[p]..<stepStart[p+1]` (state i of p is step
        /// `stepStart[p] + i − 1`, state 0 being 1), and its value the last state's.
        let stepStart: UnsafeMutablePointer<Int32>
        let stepSlot: UnsafeMutablePointer<Int32>
        let stepPredecessor: UnsafeMutablePointer<Int32>
        /// Terms of step i: `termEnd[i−1]..<termEnd[i]` (from 0 for the first step).
        let termEnd: UnsafeMutablePointer<Int32>
        let termState: UnsafeMutablePointer<Int32>
        let termCoefficient: UnsafeMutablePointer<Double>

        init(rows: [Double], schedules: [HermiteSchedule], groups: [[Int]]) {
            var stepStart: [Int32] = [0], stepSlot: [Int32] = [], stepPredecessor: [Int32] = [], termEnd: [Int32] = []
            var termState: [Int32] = [], termCoefficient: [Double] = []
            for (schedule, slots) in zip(schedules, groups) {
                for state in 1..<max(1, schedule.states) {
                    stepSlot.append(Int32(slots[Int(schedule.group[state])]))
                    stepPredecessor.append(schedule.predecessor[state])
                    for term in Int(schedule.termStart[state])..<Int(schedule.termStart[state + 1]) {
                        termState.append(schedule.termState[term])
                        termCoefficient.append(schedule.termCoefficient[term])
                    }
                    termEnd.append(Int32(termState.count))
                }
                stepStart.append(Int32(stepSlot.count))
            }
            func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
                let p = UnsafeMutablePointer<T>.allocate(capacity: max(1, values.count))
                p.initialize(from: values, count: values.count)
                return p
            }
            self.rows = copy(rows)
            self.stepStart = copy(stepStart)
            self.stepSlot = copy(stepSlot)
            self.stepPredecessor = copy(stepPredecessor)
            self.termEnd = copy(termEnd)
            self.termState = copy(termState)
            self.termCoefficient = copy(termCoefficient)
        }

        deinit {
            for p in [stepStart, stepSlot, stepPredecessor, termEnd, termState] { p.deallocate() }
            rows.deallocate()
            termCoefficient.deallocate()
        }
    }

    struct LengthPlans {
        /// The plan of each time 0..<n (nil where a slot falls outside the window); interior
        /// times share one plan.
        let byTime: [Plan?]
        /// The used times: every t with all slots inside the window.
        let times: Range<Int>
    }

    init(source: WindowSource, process: AR1Process, projections: [ScoreProjection], threads: Int) throws {
        let dx = source.inputDimension, dy = source.outputDimension
        self.dx = dx
        self.dy = dy
        guard process.dimension == dx else {
            throw ModelError("projected score moment: the windows have dx = \(dx) but the input process has dimension \(process.dimension)")
        }
        guard !projections.isEmpty else { throw ModelError("projected score moment: give at least one projection") }
        guard threads >= 1 else { throw ModelError("projected score moment: threads must be at least 1, got \(threads)") }
        for (k, p) in projections.enumerated() {
            guard p.output.count == dy, p.slots.allSatisfy({ $0.vector.count == dx }) else {
                throw ModelError("projected score moment: projection \(k) needs an output direction of length dy = \(dy) and slot vectors of length dx = \(dx)")
            }
            guard p.output.allSatisfy(\.isFinite), p.slots.allSatisfy({ $0.vector.allSatisfy(\.isFinite) }) else {
                throw ModelError("projected score moment: projection \(k) has NaN or ∞ directions")
            }
        }
        self.threads = threads
        self.process = process
        let offsets = projections.flatMap { $0.slots.map(\.offset) }
        lowest = min(0, offsets.min() ?? 0)
        highest = max(0, offsets.max() ?? 0)
        var outputs: [[Double]] = [], outputIndex: [Int] = []
        var slotOffsets: [Int] = [], slotVectors: [[Double]] = []
        var groups: [[Int]] = [], multiplicities: [[Int]] = []
        for p in projections {
            if let i = outputs.firstIndex(of: p.output) { outputIndex.append(i) } else {
                outputIndex.append(outputs.count)
                outputs.append(p.output)
            }
            var g: [Int] = [], m: [Int] = []
            for slot in p.slots {
                let index: Int
                if let i = slotOffsets.indices.first(where: { slotOffsets[$0] == slot.offset && slotVectors[$0] == slot.vector }) {
                    index = i
                } else {
                    index = slotOffsets.count
                    slotOffsets.append(slot.offset)
                    slotVectors.append(slot.vector)
                }
                if let j = g.firstIndex(of: index) { m[j] += 1 } else { g.append(index); m.append(1) }
            }
            groups.append(g)
            multiplicities.append(m)
        }
        self.outputs = outputs
        self.outputIndex = outputIndex
        self.slotOffsets = slotOffsets
        self.slotVectors = slotVectors
        self.projectionGroups = groups
        self.projectionMultiplicities = multiplicities
        largestStates = multiplicities.map { $0.reduce(1) { $0 * ($1 + 1) } }.max() ?? 1
    }

    /// The plan of time t in a window of length n.
    private func makePlan(t: Int, length n: Int) -> Plan {
        var rows = [Double](repeating: 0, count: slotOffsets.count * 3 * dx)
        for (s, offset) in slotOffsets.enumerated() {
            let tau = t + offset
            for sigma in -1...1 where tau + sigma >= 0 && tau + sigma < n {
                // (P_{τ,τ+σ}ᵀ v)_i = Σ_a P_{τ,τ+σ}[a, i] v_a, so that v·u_τ = Σ_σ rows_σ · x_{τ+σ}.
                let block = process.precisionBlock(row: tau, column: tau + sigma, length: n)
                let row = matvec(block.transposed(), slotVectors[s])
                for i in 0..<dx { rows[(s * 3 + sigma + 1) * dx + i] = row[i] }
            }
        }
        let schedules = zip(projectionGroups, projectionMultiplicities).map { g, m -> HermiteSchedule in
            var c = Tensor.zeros([g.count, g.count])
            for a in 0..<g.count {
                for b in 0..<g.count {
                    let ta = t + slotOffsets[g[a]], tb = t + slotOffsets[g[b]]
                    guard abs(ta - tb) <= 1 else { continue }
                    let block = process.precisionBlock(row: ta, column: tb, length: n)
                    c[a, b] = dot(slotVectors[g[a]], matvec(block, slotVectors[g[b]]))
                }
            }
            return HermiteSchedule(multiplicities: m, coupling: c)
        }
        return Plan(rows: rows, schedules: schedules, groups: projectionGroups)
    }

    /// The plans of windows of length n (made once per length).
    private func plans(length n: Int) -> LengthPlans {
        if let existing = plans[n] { return existing }
        let times = max(0, -lowest)..<max(max(0, -lowest), n - highest)
        // A time is interior when every slot time τ avoids the two end times, whose diagonal
        // blocks differ (the neighbour blocks P_{τ,τ±1} are the same everywhere): the rows and
        // couplings are then those of any other interior time.
        var byTime = [Plan?](repeating: nil, count: n)
        var interior: Plan? = nil
        for t in times {
            if t + lowest >= 1 && t + highest <= n - 2 {
                if interior == nil { interior = makePlan(t: t, length: n) }
                byTime[t] = interior
            } else {
                byTime[t] = makePlan(t: t, length: n)
            }
        }
        let result = LengthPlans(byTime: byTime, times: times)
        plans[n] = result
        return result
    }

    /// One used pair: segment, window within it, time.
    private struct Pair { let segment: Int32; let window: Int32; let time: Int32 }

    /// Accumulates one batch; returns the number of pairs used.
    func accumulate(_ batch: [WindowSegment]) throws -> Int {
        var pairs: [Pair] = []
        var segmentPlans: [LengthPlans] = []
        for (index, segment) in batch.enumerated() {
            let n = segment.windowLength, windows = segment.windowCount
            let what = "window segment \(index) of a batch"
            guard n >= 1, windows >= 1, segment.x.count % (windows * dx) == 0 else {
                throw WindowMomentsError("\(what): \(segment.x.count) inputs are not \(windows) window(s) of whole rows of dx = \(dx)")
            }
            let steps = segment.x.count / (windows * dx)
            guard segment.y.count == windows * steps * dy else {
                throw WindowMomentsError("\(what): y holds \(segment.y.count) values, expected \(windows)×\(steps)×\(dy) like x")
            }
            let lengthPlans = plans(length: n)
            segmentPlans.append(lengthPlans)
            let used = segment.accumulate.clamped(to: lengthPlans.times)
            guard !used.isEmpty else { continue }
            let first = segment.firstTime
            let need = max(0, used.lowerBound + lowest - 1)..<min(n, used.upperBound + highest + 1)
            guard first <= need.lowerBound, first + steps >= need.upperBound else {
                throw WindowMomentsError("\(what): times \(used) need x at \(need), the segment holds \(first)..<\(first + steps)")
            }
            for w in 0..<windows {
                for t in used { pairs.append(Pair(segment: Int32(index), window: Int32(w), time: Int32(t))) }
            }
        }
        let total = pairs.count
        guard total > 0 else { return 0 }
        // Cut the batch where records close, and at global multiples of `pieceLength` (so that a
        // long record still spreads over the workers). Records hold `recordLength` consecutive
        // pairs of the whole stream; when 2·target of them are closed they are pooled in pairs
        // and the length doubles (the rule of `Totals`, followed here ahead of time). The cuts
        // depend on the stream and the batch boundaries alone, never on the number of threads.
        var cuts = [0], closes: [Bool] = []
        var filled = openCount, at = 0
        while at < total {
            let global = streamPosition + at
            let step = min(recordLength - filled, pieceLength - global % pieceLength, total - at)
            at += step
            filled += step
            if filled == recordLength {
                closes.append(true)
                filled = 0
                closedCount += 1
                if closedCount == 2 * WindowMomentKernels.Totals.target {
                    closedCount = WindowMomentKernels.Totals.target
                    recordLength *= 2
                }
            } else {
                closes.append(false)
            }
            cuts.append(at)
        }
        openCount = filled
        streamPosition += total
        let pieces = cuts.count - 1
        let results = PieceResults(count: pieces)
        let states = largestStates
        let frozenPairs = pairs, frozenPlans = segmentPlans, frozenCuts = cuts
        let workers = min(threads, pieces)
        let sizes = (projections: outputIndex.count, outputs: outputs.count, slots: slotOffsets.count)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let scratch = Scratch(outputs: sizes.outputs, slots: sizes.slots, states: states)
            var piece = worker
            while piece < pieces {
                results.store(self.record(frozenPairs[frozenCuts[piece]..<frozenCuts[piece + 1]], batch: batch,
                                          plans: frozenPlans, scratch: scratch), at: piece)
                piece += workers
            }
        }
        // Pieces of one record are pooled in order; each closed record goes to the totals on its
        // own, so that their pooling follows the cuts above exactly.
        for (k, piece) in results.all().enumerated() {
            let merged = open.map { WindowMomentKernels.Record.pooled($0, piece) } ?? piece
            if closes[k] {
                totals.append(records: [merged])
                open = nil
            } else {
                open = merged
            }
        }
        return total
    }

    /// Per-worker scratch.
    private final class Scratch {
        var outputValues: [Double], projectionValues: [Double], h: [Double]
        init(outputs: Int, slots: Int, states: Int) {
            outputValues = [Double](repeating: 0, count: outputs)
            projectionValues = [Double](repeating: 0, count: slots)
            h = [Double](repeating: 0, count: states)
        }
    }

    /// The record (count, mean, sum of squared deviations) of a run of consecutive pairs.
    private func record(_ run: ArraySlice<Pair>, batch: [WindowSegment], plans: [LengthPlans],
                        scratch: Scratch) -> WindowMomentKernels.Record {
        let k = outputIndex.count, slots = slotOffsets.count, dx = self.dx, dy = self.dy, outputCount = outputs.count
        var sum = [Double](repeating: 0, count: k), squares = [Double](repeating: 0, count: k)
        let flatOutputs = outputs.flatMap { $0 }
        var start = run.startIndex
        while start < run.endIndex {
            // A stretch of pairs of one segment.
            let segmentIndex = run[start].segment
            var end = start
            while end < run.endIndex && run[end].segment == segmentIndex { end += 1 }
            let segment = batch[Int(segmentIndex)]
            let byTime = plans[Int(segmentIndex)].byTime
            let n = segment.windowLength, first = segment.firstTime
            let steps = segment.x.count / (segment.windowCount * dx)
            segment.x.withUnsafeBufferPointer { xs in
            segment.y.withUnsafeBufferPointer { ys in
            flatOutputs.withUnsafeBufferPointer { beta in
            scratch.outputValues.withUnsafeMutableBufferPointer { out in
            scratch.projectionValues.withUnsafeMutableBufferPointer { a in
            scratch.h.withUnsafeMutableBufferPointer { h in
            outputIndex.withUnsafeBufferPointer { outputOf in
            slotOffsets.withUnsafeBufferPointer { offsets in
            sum.withUnsafeMutableBufferPointer { sum in
            squares.withUnsafeMutableBufferPointer { squares in
                for position in start..<end {
                    let pair = run[position]
                    let t = Int(pair.time)
                    let plan = byTime[t].unsafelyUnwrapped
                    let x = xs.baseAddress! + (Int(pair.window) * steps - first) * dx
                    let y = ys.baseAddress! + (Int(pair.window) * steps + t - first) * dy
                    for o in 0..<outputCount {
                        var r = 0.0
                        for i in 0..<dy { r += beta[o * dy + i] * y[i] }
                        out[o] = r
                    }
                    for s in 0..<slots {
                        let tau = t + offsets[s]
                        var v = 0.0
                        let low = tau > 0 ? -1 : 0, high = tau < n - 1 ? 1 : 0
                        for sigma in low...high {
                            let row = plan.rows + (s * 3 + sigma + 1) * dx, xt = x + (tau + sigma) * dx
                            for i in 0..<dx { v += row[i] * xt[i] }
                        }
                        a[s] = v
                    }
                    var term = 0
                    for p in 0..<k {
                        h[0] = 1
                        let firstStep = Int(plan.stepStart[p]), lastStep = Int(plan.stepStart[p + 1])
                        for step in firstStep..<lastStep {
                            var value = a[Int(plan.stepSlot[step])] * h[Int(plan.stepPredecessor[step])]
                            let stop = Int(plan.termEnd[step])
                            while term < stop {
                                value -= plan.termCoefficient[term] * h[Int(plan.termState[term])]
                                term += 1
                            }
                            h[step - firstStep + 1] = value
                        }
                        let sample = out[outputOf[p]] * h[lastStep - firstStep]
                        sum[p] += sample
                        squares[p] += sample * sample
                    }
                }
            }}}}}}}}}}
            start = end
        }
        let count = run.count
        let mean = sum.map { $0 / Double(count) }
        return WindowMomentKernels.Record(count: count, mean: mean,
                                          sumOfSquares: (0..<k).map { max(0, squares[$0] - sum[$0] * mean[$0]) })
    }

    /// The moment so far (the unfinished record included).
    func result() -> StreamingMean {
        var final = totals
        if let open { final.append(records: [open]) }
        return final.streamingMean(shape: [outputIndex.count], packed: Array(0..<outputIndex.count))
    }
}

/// One record slot per piece of a batch, written from concurrent workers under a lock.
private final class PieceResults: @unchecked Sendable {
    private var slots: [WindowMomentKernels.Record?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func store(_ value: WindowMomentKernels.Record, at index: Int) { lock.lock(); slots[index] = value; lock.unlock() }
    func all() -> [WindowMomentKernels.Record] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}
