// The result type of every decomposer: a third-order CP decomposition
// `T = Σ_j λ_j u_j ⊗ v_j ⊗ w_j` with its components stored as rows (MATH.md §1, §7).

/// Which third-order CP form a decomposition has (MATH.md §7).
public enum CPForm: String, Sendable, Equatable {
    /// `Σ_j λ_j a_j ⊗ a_j ⊗ a_j` (a `d×d×d` symmetric tensor).
    case symmetric
    /// `Σ_j λ_j b_j ⊗ a_j ⊗ a_j` (a `dy×dx×dx` tensor, asymmetric first mode), e.g. `E[y ⊗ S_2(x)]` (eq. 13–14).
    case partiallySymmetric
    /// `Σ_j λ_j u_j ⊗ v_j ⊗ w_j` with three unrelated factors (what CP-ALS fits).
    case general
}

/// A rank-k third-order CP decomposition `Σ_j λ_j f1_j ⊗ f2_j ⊗ f3_j`, components as rows.
///
/// `factors` always holds three `k × d_m` matrices, one per mode; row j of `factors[m]` is
/// the j-th component's vector in mode m. The symmetric form stores `[a, a, a]`, the
/// partially symmetric form `[b, a, a]`. Components are only determined up to
/// permutation, and up to the scalings and sign flips that leave each rank-one term
/// unchanged; compare decompositions with `factorMatch`.
public struct CPDecomposition: Sendable, Equatable {
    /// The weights λ_j, one per component.
    public var weights: [Double]
    /// Three `k × d_m` factor matrices, components as rows.
    public var factors: [Tensor]
    /// The form: which modes share a factor.
    public let form: CPForm

    /// The partially symmetric decomposition `Σ_j λ_j b_j ⊗ a_j ⊗ a_j`; `b` is `k × dy`, `a` is `k × dx`.
    public init(weights: [Double], b: Tensor, a: Tensor) {
        precondition(b.order == 2 && a.order == 2 && b.shape[0] == weights.count && a.shape[0] == weights.count,
                     "CPDecomposition: b \(b.shape) and a \(a.shape) must have \(weights.count) rows")
        self.weights = weights
        self.factors = [b, a, a]
        self.form = .partiallySymmetric
    }

    /// The symmetric decomposition `Σ_j λ_j a_j^{⊗3}`; `a` is `k × d`.
    public init(weights: [Double], symmetric a: Tensor) {
        precondition(a.order == 2 && a.shape[0] == weights.count,
                     "CPDecomposition: a \(a.shape) must have \(weights.count) rows")
        self.weights = weights
        self.factors = [a, a, a]
        self.form = .symmetric
    }

    /// The general decomposition `Σ_j λ_j f1_j ⊗ f2_j ⊗ f3_j` from three `k × d_m` matrices.
    public init(weights: [Double], factors: [Tensor]) {
        precondition(factors.count == 3 && factors.allSatisfy { $0.order == 2 && $0.shape[0] == weights.count },
                     "CPDecomposition: needs three factor matrices with \(weights.count) rows, got \(factors.map(\.shape))")
        self.weights = weights
        self.factors = factors
        self.form = .general
    }

    /// The number of components k.
    public var rank: Int { weights.count }

    /// The shape `[d1, d2, d3]` of the tensor the decomposition represents.
    public var shape: [Int] { factors.map { $0.shape[1] } }

    /// The mode-1 factor (`b_j` as rows, `k × dy`) — for the partially symmetric form, rows of A2.
    public var b: Tensor { factors[0] }

    /// The mode-2 factor (`a_j` as rows, `k × dx`) — for the (partially) symmetric forms, rows of A1.
    public var a: Tensor { factors[1] }

    /// The tensor `Σ_j λ_j f1_j ⊗ f2_j ⊗ f3_j`, computed as `F1ᵀ diag(λ) (F2 ⊙ F3)` reshaped (paper eq. 1, Definition 1).
    public func reconstruct() -> Tensor {
        var scaled = factors[0]
        let d1 = scaled.shape[1]
        for j in 0..<rank {
            for i in 0..<d1 { scaled.storage[j * d1 + i] *= weights[j] }
        }
        let khatriRao = Tensor.khatriRaoRows(factors[1], factors[2])
        return matmul(scaled, khatriRao, transposeA: true).reshaped(shape)
    }

    /// The same tensor with unit-norm factor rows, a fixed sign convention and components sorted by |λ_j|, largest first.
    ///
    /// Norms move into λ. Signs: every distinct factor row is flipped so that its entry of
    /// largest modulus is positive (the first such entry on ties); a flip that changes the
    /// rank-one term (an odd number of flipped modes) flips λ_j instead. So λ_j may be
    /// negative, e.g. `μ″_j` of eq. 13.
    public func normalized() -> CPDecomposition {
        let k = rank
        var newWeights = weights
        var newFactors = factors
        // Distinct factors and how many modes each fills.
        let groups: [(mode: Int, multiplicity: Int)]
        switch form {
        case .symmetric: groups = [(0, 3)]
        case .partiallySymmetric: groups = [(0, 1), (1, 2)]
        case .general: groups = [(0, 1), (1, 1), (2, 1)]
        }
        var distinct: [Int: Tensor] = [:]
        for (mode, multiplicity) in groups {
            var m = factors[mode]
            let d = m.shape[1]
            for j in 0..<k {
                let row = m.row(j)
                let n = DecompositionSupport.norm(row)
                guard n > 0 else { continue }
                var pivot = 0
                for i in 1..<Swift.max(1, d) where Swift.abs(row[i]) > Swift.abs(row[pivot]) { pivot = i }
                let sign: Double = row[pivot] < 0 ? -1 : 1
                for i in 0..<d { m.storage[j * d + i] = sign * row[i] / n }
                var scale = 1.0
                for _ in 0..<multiplicity { scale *= n }
                newWeights[j] *= scale
                if sign < 0 && multiplicity % 2 == 1 { newWeights[j] = -newWeights[j] }
            }
            distinct[mode] = m
        }
        for mode in 0..<3 {
            switch form {
            case .symmetric: newFactors[mode] = distinct[0]!
            case .partiallySymmetric: newFactors[mode] = distinct[mode == 0 ? 0 : 1]!
            case .general: newFactors[mode] = distinct[mode]!
            }
        }
        let order = (0..<k).sorted { (Swift.abs(newWeights[$0]), -$0) > (Swift.abs(newWeights[$1]), -$1) }
        let sortedWeights = order.map { newWeights[$0] }
        let sortedFactors = newFactors.map { m in
            Tensor(shape: m.shape) { i in m[order[i[0]], i[1]] }
        }
        var result = self
        result.weights = sortedWeights
        result.factors = sortedFactors
        return result
    }

    /// The relative error `‖T − reconstruct()‖_F / ‖T‖_F` of the decomposition against a tensor.
    public func relativeError(to tensor: Tensor) -> Double {
        precondition(tensor.shape == shape,
                     "CPDecomposition.relativeError: tensor shape \(tensor.shape) differs from \(shape)")
        return reconstruct().relativeError(to: tensor)
    }
}
