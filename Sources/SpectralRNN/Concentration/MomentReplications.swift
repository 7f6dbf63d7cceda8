// The replication engine of walkthrough 06 (paper Theorem 9, MATH.md §8): R independent
// replications of the matricized empirical moment `Mat(Ê[y_t ⊗ S₂(x[n], t)])` (dy × dx²) and
// the spectral norm of each one's deviation from the exact moment `2 Σ_j b_j ⊗ a_j ⊗ a_j`.

import Foundation

/// The deviations `‖Mat(Ẑ_r) − Mat(E Z)‖₂` of R independent replications of one design (N
/// windows of n steps), in replication order.
public struct MomentReplications: Sendable {
    /// N, the windows per replication (1: one chain of n steps, as Theorem 9 states it).
    public let windows: Int
    /// n, the steps of every window.
    public let steps: Int
    /// One deviation per replication.
    public let deviations: [Double]

    public init(windows: Int, steps: Int, deviations: [Double]) {
        self.windows = windows
        self.steps = steps
        self.deviations = deviations
    }

    /// The empirical p-quantile of the deviations (linear interpolation between order
    /// statistics, the "type 7" rule: p = 0 the smallest, p = 1 the largest).
    public func quantile(_ p: Double) -> Double { empiricalQuantile(deviations, p) }

    /// The median deviation.
    public var median: Double { quantile(0.5) }

    /// The fraction of replications whose deviation exceeds `bound`.
    public func fractionAbove(_ bound: Double) -> Double {
        Double(deviations.filter { $0 > bound }.count) / Double(deviations.count)
    }
}

/// The empirical p-quantile of `values` (type 7: `x_(⌊h⌋) + (h − ⌊h⌋)(x_(⌊h⌋+1) − x_(⌊h⌋))`, h = (R − 1)p).
public func empiricalQuantile(_ values: [Double], _ p: Double) -> Double {
    precondition(!values.isEmpty && p >= 0 && p <= 1, "empiricalQuantile: need values and p in [0, 1]")
    let sorted = values.sorted()
    let h = Double(sorted.count - 1) * p
    let lo = Int(h.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
    return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
}

/// The matricization `Mat(T)` (paper eq. 1) of a dy×dx×dx moment as a dy × dx² matrix.
public func matricizedSecondOrder(_ t: Tensor) -> Tensor {
    Tensor(shape: [t.shape[0], t.shape[1] * t.shape[2]], storage: t.storage)
}

/// R independent replications of `Ê[y_t ⊗ S₂(x[n], t)]` pooled over every t of `windows`
/// windows of `length` steps simulated from `model` on `process`, each replication r from its
/// own random streams (`purpose + " replication r"`), and the spectral norm of the deviation of
/// each one's dy × dx² matricization from that of `exact` (for the quadratic IO-RNN,
/// `model.populationSecondOrderMoment()`).
///
/// Each replication runs the streaming estimator of walkthrough 03
/// (`estimateSecondOrderMoment`, one thread); the replications are spread over `threads`
/// workers and returned in replication order, so the result is the same bits for every
/// thread count. Memory: one batch of windows per worker (for N = 1, the one chain).
public func replicateSecondOrderMoment(model: any WindowSimulator, process: AR1Process, exact: Tensor,
                                       windows: Int, length: Int, replications: Int, seed: UInt64,
                                       purpose: String, threads: Int = 2, progress: Progress? = nil) throws -> MomentReplications {
    guard replications >= 1 else {
        throw WindowMomentsError("replications: need at least one replication, got \(replications)")
    }
    guard exact.shape == [model.outputDimension, model.inputDimension, model.inputDimension] else {
        throw WindowMomentsError("replications: the exact moment must be dy×dx×dx = \([model.outputDimension, model.inputDimension, model.inputDimension]), got \(exact.shape)")
    }
    let target = matricizedSecondOrder(exact)
    let workers = max(1, min(threads, replications))
    let slots = ChunkSlots<Double>(count: replications)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        for r in stride(from: worker, to: replications, by: workers) {
            do {
                let source = try SimulatedWindowSource(model: model, process: process, windows: windows, length: length,
                                                       seed: seed, purpose: "\(purpose) replication \(r)")
                let moment = try estimateSecondOrderMoment(source, process: process, threads: 1)
                slots.store(.success(try spectralNorm(matricizedSecondOrder(moment.mean) - target)), at: r)
            } catch {
                slots.store(.failure(error), at: r)
            }
            progress?.advance(windows * length)
        }
    }
    return MomentReplications(windows: windows, steps: length, deviations: try slots.all().map { try $0.get() })
}

/// `Φ(x[n]) = Mat(Ê[y_t ⊗ S₂(x[n], t)])`, the dy × dx² matricized moment of ONE window x
/// (n×dx) averaged over its n steps, with the model's noiseless outputs: the function of the
/// input sequence that Lemma 8 is about (the same estimator as `estimateSecondOrderMoment`).
public func windowSecondOrderMoment(model: IORNN, process: AR1Process, window x: Tensor) throws -> Tensor {
    let n = x.shape[0]
    let y = try model.outputs(for: x)
    let source = TensorWindowSource(x: x.reshaped([1, n, model.inputDimension]), y: y.reshaped([1, n, model.outputDimension]))
    return matricizedSecondOrder(try estimateSecondOrderMoment(source, process: process, threads: 1).mean)
}
