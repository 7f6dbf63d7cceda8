// The robust tensor power method (paper Appendix A: Algorithm 6, with the SVD-based
// initialization of Procedure 7) and the whole pipeline of Algorithm 3 / Figure 2:
// whitening → SVD-based initialization → tensor power method with deflation → un-whitening.

/// Parameters of the robust tensor power method (Algorithm 6) and its initialization (Procedure 7).
public struct TensorPowerOptions: Sendable, Equatable {
    /// L, the number of random restarts per component (R in Algorithm 6).
    public var restarts: Int
    /// N, the number of power iterations per restart and for the final run (Algorithm 6, lines 3 and 8).
    public var iterations: Int
    /// A run stops early, converged, once `‖v_t − v_{t−1}‖ ≤ tolerance`.
    public var tolerance: Double
    /// The number of Gaussian draws θ of Procedure 7 (its `log(1/δ̂)`).
    public var initializationDraws: Int
    /// Throw `.noConvergence` when the final run of a component does not reach `tolerance` in N iterations.
    public var requireConvergence: Bool

    public init(restarts: Int = 10, iterations: Int = 100, tolerance: Double = 1e-10,
                initializationDraws: Int = 5, requireConvergence: Bool = true) {
        self.restarts = restarts
        self.iterations = iterations
        self.tolerance = tolerance
        self.initializationDraws = initializationDraws
        self.requireConvergence = requireConvergence
    }
}

/// One eigenpair `T(I, v, v) = μ v`, `‖v‖ = 1`, of a symmetric third-order tensor, as the power method found it.
public struct TensorEigenpair: Sendable, Equatable {
    /// The unit eigenvector v.
    public let vector: [Double]
    /// The eigenvalue `μ = T(v, v, v)`.
    public let value: Double
    /// Power iterations used by the final run (Algorithm 6, line 8).
    public let iterations: Int
    /// Whether the final run reached the tolerance.
    public let converged: Bool
}

/// The eigenpairs found by repeated deflation, and what is left of the tensor.
public struct RobustTensorPowerResult: Sendable, Equatable {
    /// The eigenpairs in the order they were found (normally by decreasing eigenvalue).
    public let eigenpairs: [TensorEigenpair]
    /// The deflated tensor `T − Σ_j μ_j v_j^{⊗3}`.
    public let residual: Tensor
}

/// Power-iteration helpers on a symmetric `k×k×k` tensor held as its `k × k²` matricization.
private struct PowerMap {
    let k: Int
    let unfolded: Tensor

    init(_ tensor: Tensor) {
        k = tensor.shape[0]
        unfolded = tensor.matricized()
    }

    /// `T(I, v, v)`.
    func apply(_ v: [Double]) -> [Double] {
        var outer = [Double](repeating: 0, count: k * k)
        for i in 0..<k {
            for j in 0..<k { outer[i * k + j] = v[i] * v[j] }
        }
        return matvec(unfolded, outer)
    }

    /// `T(v, v, v)`.
    func value(_ v: [Double]) -> Double { dot(v, apply(v)) }

    /// Up to `iterations` updates `v ← T(I, v, v) / ‖T(I, v, v)‖` (eq. 20), stopping once a step moves less than `tolerance`.
    func iterate(from start: [Double], iterations: Int, tolerance: Double) -> (vector: [Double], steps: Int, converged: Bool) {
        var v = start
        for step in 1...Swift.max(1, iterations) where iterations > 0 {
            let image = apply(v)
            let n = DecompositionSupport.norm(image)
            guard n > 0 else { return (v, step, true) }  // T(I, v, v) = 0: an eigenvector with μ = 0
            let next = image.map { $0 / n }
            let change = DecompositionSupport.norm(zip(next, v).map { $0 - $1 })
            v = next
            if change <= tolerance { return (v, step, true) }
        }
        return (v, iterations, false)
    }
}

/// Checks a tensor for the power method: order 3, `k×k×k`, finite; returns its symmetric part.
private func symmetricInput(_ tensor: Tensor, _ routine: String) throws -> Tensor {
    try DecompositionSupport.requireCubical(tensor, routine)
    return tensor.symmetrized()
}

/// Checks the power-method options.
private func requireValidOptions(_ options: TensorPowerOptions, _ routine: String) throws {
    guard options.restarts >= 1, options.iterations >= 1, options.initializationDraws >= 1,
          options.tolerance >= 0, options.tolerance.isFinite else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "needs restarts, iterations and initialization draws ≥ 1 and a finite tolerance ≥ 0, got \(options)")
    }
}

/// SVD-based initialization (Procedure 7): the top left singular vector of `T(I, I, θ)` for the best of several Gaussian θ.
///
/// For each of `draws` standard Gaussian θ, `T(I, I, θ)` is a `k×k` matrix whose top left
/// singular vector is, for an orthogonal tensor `Σ_j μ_j v_j^{⊗3}`, the `v_j` with the
/// largest `|μ_j θ·v_j|`. The printed selection rule ("max_τ (u_1^(τ))_min") is garbled; we
/// keep the draw whose matrix has the largest relative gap `(σ_1 − σ_2)/σ_1` between its
/// top two singular values, since that gap controls how close `u_1` is to one component.
/// Deterministic given `random`.
public func svdBasedInitialization(_ tensor: Tensor, draws: Int = 5, random: inout RandomStream) throws -> [Double] {
    let routine = "svdBasedInitialization"
    let t = try symmetricInput(tensor, routine)
    guard draws >= 1 else {
        throw DecompositionError(routine: routine, kind: .wrongShape, message: "needs at least one draw, got \(draws)")
    }
    return try initialization(t, draws: draws, random: &random)
}

/// Procedure 7 on an already checked symmetric tensor.
private func initialization(_ t: Tensor, draws: Int, random: inout RandomStream) throws -> [Double] {
    let k = t.shape[0]
    var best: [Double] = []
    var bestGap = -Double.infinity
    for _ in 0..<draws {
        let theta = random.gaussians(k)
        let slice = t.multilinear([.identity, .identity, .vector(theta)])
        let f = try svd(slice)
        let s1 = f.singularValues[0]
        let s2 = k > 1 ? f.singularValues[1] : 0
        let gap = s1 > 0 ? (s1 - s2) / s1 : 0
        let candidate = s1 > 0 ? f.u.column(0) : DecompositionSupport.normalized(random.gaussians(k))
        if gap > bestGap {
            bestGap = gap
            best = candidate
        }
    }
    return best
}

/// One eigenpair by the robust tensor power method, and the deflated tensor (Algorithm 6).
///
/// L restarts, each from Procedure 7 followed by N power iterations (eq. 20); the restart
/// with the largest `T(v, v, v)` is iterated N more times, `μ = T(v, v, v)`, and
/// `T − μ v^{⊗3}` is returned. A negative eigenvalue needs no care: the update flips v
/// so that `T(v, v, v) > 0`, and `(−μ)(−v)^{⊗3} = μ v^{⊗3}`. The tensor's symmetric part is
/// used. Deterministic given `random`. Throws `.noConvergence` if the final run misses the
/// tolerance and `options.requireConvergence` is set.
public func robustTensorPowerIteration(_ tensor: Tensor, options: TensorPowerOptions = TensorPowerOptions(),
                                       random: inout RandomStream) throws -> (eigenpair: TensorEigenpair, deflated: Tensor) {
    let routine = "robustTensorPowerIteration"
    try requireValidOptions(options, routine)
    let t = try symmetricInput(tensor, routine)
    return try powerIteration(t, options: options, random: &random, routine)
}

/// Algorithm 6 on an already checked symmetric tensor.
private func powerIteration(_ t: Tensor, options: TensorPowerOptions, random: inout RandomStream,
                            _ routine: String) throws -> (eigenpair: TensorEigenpair, deflated: Tensor) {
    let map = PowerMap(t)
    var bestVector: [Double] = []
    var bestValue = -Double.infinity
    for _ in 0..<options.restarts {
        let start = try initialization(t, draws: options.initializationDraws, random: &random)
        let run = map.iterate(from: start, iterations: options.iterations, tolerance: options.tolerance)
        let value = map.value(run.vector)
        if value > bestValue {
            bestValue = value
            bestVector = run.vector
        }
    }
    let final = map.iterate(from: bestVector, iterations: options.iterations, tolerance: options.tolerance)
    if options.requireConvergence && !final.converged {
        throw DecompositionError(routine: routine, kind: .noConvergence,
                                 message: "power iteration moved more than \(options.tolerance) after \(options.iterations) iterations; raise iterations or the tolerance, or set requireConvergence = false")
    }
    let mu = map.value(final.vector)
    let deflated = t - mu * Tensor.outerPower(final.vector, 3)
    return (TensorEigenpair(vector: final.vector, value: mu, iterations: final.steps, converged: final.converged), deflated)
}

/// The robust tensor power method with deflation: k eigenpairs of a symmetric `d×d×d` tensor (Algorithm 6, repeated k times).
///
/// Recovers `{(v_j, μ_j)}` of an orthogonally decomposable `Σ_j μ_j v_j^{⊗3}` (as whitening
/// produces). Throws `.invalidRank` unless `1 ≤ k ≤ d`.
public func robustTensorPowerMethod(_ tensor: Tensor, rank: Int, options: TensorPowerOptions = TensorPowerOptions(),
                                    random: inout RandomStream) throws -> RobustTensorPowerResult {
    let routine = "robustTensorPowerMethod"
    try requireValidOptions(options, routine)
    try DecompositionSupport.requirePositiveRank(rank, routine)
    var t = try symmetricInput(tensor, routine)
    guard rank <= t.shape[0] else {
        throw DecompositionError(routine: routine, kind: .invalidRank,
                                 message: "rank k = \(rank) exceeds the dimension \(t.shape[0]): an orthogonal decomposition has at most that many components")
    }
    var pairs: [TensorEigenpair] = []
    for _ in 0..<rank {
        let (pair, deflated) = try powerIteration(t, options: options, random: &random, routine)
        pairs.append(pair)
        t = deflated
    }
    return RobustTensorPowerResult(eigenpairs: pairs, residual: t)
}

// MARK: - The whole pipeline (Algorithm 3)

/// Options of the whitened tensor power method beyond those of the power method itself.
public struct WhitenedTensorPowerOptions: Sendable, Equatable {
    /// Restarts, iterations and tolerance of Algorithm 6 and Procedure 7.
    public var power: TensorPowerOptions
    /// θ for `M2 = T(θ, I, I)`; nil chooses it with `whiteningDirection`.
    public var theta: [Double]?
    /// A ready second-moment matrix `Σ_j w_j a_j a_jᵀ` (all w_j > 0) to whiten with; overrides θ.
    public var secondMoment: Tensor?
    /// For the partially symmetric form: the symmetrization matrix D (dy×dx), e.g. `E[y ⊗ S_1(x)]`;
    /// nil uses `T(I, I, ζ)` for the best-conditioned of `symmetrizerDraws` Gaussian ζ.
    public var symmetrizer: Tensor?
    /// How many ζ to try when D is built from the tensor.
    public var symmetrizerDraws: Int
    /// The separation `γ_k / |γ_{k+1}|` the whitening check requires.
    public var minimumSeparation: Double
    /// Relative tolerance for numerical ranks.
    public var rankTolerance: Double

    public init(power: TensorPowerOptions = TensorPowerOptions(), theta: [Double]? = nil,
                secondMoment: Tensor? = nil, symmetrizer: Tensor? = nil, symmetrizerDraws: Int = 5,
                minimumSeparation: Double = 2, rankTolerance: Double = 1e-9) {
        self.power = power
        self.theta = theta
        self.secondMoment = secondMoment
        self.symmetrizer = symmetrizer
        self.symmetrizerDraws = symmetrizerDraws
        self.minimumSeparation = minimumSeparation
        self.rankTolerance = rankTolerance
    }
}

/// The outcome of the whitened tensor power method, with its intermediate objects for inspection.
public struct WhitenedTensorPowerResult: Sendable, Equatable {
    /// The recovered decomposition, `normalized()` (unit rows, sign convention, sorted by |λ|).
    public let decomposition: CPDecomposition
    /// The whitening used (M2, its eigenvalues, W, the validity check).
    public let whitening: Whitening
    /// The θ of `M2 = T(θ, I, I)`, or nil when a second moment was supplied.
    public let theta: [Double]?
    /// The symmetrization matrix D used (partially symmetric form only).
    public let symmetrizer: Tensor?
    /// The whitened symmetric k×k×k tensor handed to the power method.
    public let whitenedTensor: Tensor
    /// The eigenpairs of the whitened tensor.
    public let eigenpairs: [TensorEigenpair]
}

/// The paper's tensor decomposition (Algorithm 3, Figure 2): whitening (Procedure 4), SVD-based initialization (Procedure 7), robust tensor power method with deflation (Algorithm 6), un-whitening (Procedure 5).
///
/// - `.symmetric`: `T = Σ_j λ_j a_j^{⊗3}` (d×d×d). Whitens to `T(W, W, W) = Σ_j μ_j v_j^{⊗3}`;
///   un-whitening gives `â_j = U diag(γ)^{1/2} v_j = √w_j a_j` and `T = Σ_j μ_j â_j^{⊗3}`, so
///   `λ_j = μ_j ‖â_j‖³` for unit-norm a_j.
/// - `.partiallySymmetric`: `T = Σ_j λ_j b_j ⊗ a_j ⊗ a_j` (dy×dx×dx, k ≤ dx, k ≤ dy). Whitens
///   modes 2–3 with W and maps mode 1 over with the symmetrization matrix D (see
///   `whiten(_:with:symmetrizer:)`), un-whitens the a_j, then solves for `λ_j b_j` by least
///   squares from the mode-1 matricization `T_(1) = Bᵀ diag(λ) (A ⊙ A)`.
///
/// M2 is `options.secondMoment` if given, else `T(θ, I, I)` with `options.theta` or the θ of
/// `whiteningDirection`. Valid only when every weight of M2 is positive: otherwise throws
/// `.whiteningInvalid`. Deterministic given `random`.
public func whitenedTensorPowerMethod(_ tensor: Tensor, rank: Int, form: CPForm,
                                      options: WhitenedTensorPowerOptions = WhitenedTensorPowerOptions(),
                                      random: inout RandomStream) throws -> WhitenedTensorPowerResult {
    let routine = "whitenedTensorPowerMethod"
    try DecompositionSupport.requirePositiveRank(rank, routine)
    try requireValidOptions(options.power, routine)
    let k = rank
    let t: Tensor
    switch form {
    case .symmetric:
        try DecompositionSupport.requireCubical(tensor, routine)
        t = tensor.symmetrized()
    case .partiallySymmetric:
        try DecompositionSupport.requirePartiallySymmetricShape(tensor, routine)
        t = DecompositionSupport.symmetrizedInLastModes(tensor)
    case .general:
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "handles the symmetric and partially symmetric forms only; use cpALS for a general tensor")
    }
    let dy = t.shape[0], dx = t.shape[1]
    guard k <= dx else {
        throw DecompositionError(routine: routine, kind: .invalidRank,
                                 message: "rank k = \(k) exceeds dx = \(dx): whitening needs k independent a_j in R^\(dx)")
    }
    guard k <= dy else {
        throw DecompositionError(routine: routine, kind: .invalidRank,
                                 message: "rank k = \(k) exceeds dy = \(dy): the symmetrization needs k independent b_j in R^\(dy)")
    }

    // Procedure 4: M2 and the whitening matrix.
    var theta: [Double]? = nil
    let secondMoment: Tensor
    if let m2 = options.secondMoment {
        guard m2.shape == [dx, dx] else {
            throw DecompositionError(routine: routine, kind: .wrongShape,
                                     message: "second moment must be \(dx)×\(dx), got shape \(m2.shape)")
        }
        secondMoment = m2
    } else {
        let direction = try options.theta ?? whiteningDirection(t, rank: k)
        theta = direction
        secondMoment = try whiteningSecondMoment(t, theta: direction)
    }
    let wh = try whitening(secondMoment: secondMoment, rank: k, minimumSeparation: options.minimumSeparation,
                           rankTolerance: options.rankTolerance)

    var symmetrizer: Tensor? = nil
    let whitened: Tensor
    switch form {
    case .symmetric:
        whitened = try whiten(t, with: wh)
    default:
        let d: Tensor
        if let given = options.symmetrizer {
            d = given
        } else {
            guard options.symmetrizerDraws >= 1 else {
                throw DecompositionError(routine: routine, kind: .wrongShape,
                                         message: "needs at least one symmetrizer draw, got \(options.symmetrizerDraws)")
            }
            // Keep the ζ whose D W is best conditioned (largest σ_k / σ_1).
            var best = Tensor.zeros([dy, dx])
            var bestRatio = -Double.infinity
            for _ in 0..<options.symmetrizerDraws {
                let candidate = try symmetrizationMatrix(t, zeta: random.gaussians(dx))
                let s = try singularValues(matmul(candidate, wh.matrix))
                let ratio = s[0] > 0 ? s[k - 1] / s[0] : 0
                if ratio > bestRatio {
                    bestRatio = ratio
                    best = candidate
                }
            }
            d = best
        }
        symmetrizer = d
        whitened = try whiten(t, with: wh, symmetrizer: d, rankTolerance: options.rankTolerance)
    }

    // Procedure 7 + Algorithm 6 with deflation.
    let power = try robustTensorPowerMethod(whitened, rank: k, options: options.power, random: &random)
    let v = Tensor(shape: [k, k]) { i in power.eigenpairs[i[0]].vector[i[1]] }

    // Procedure 5.
    let directions = try unwhiten(v, with: wh)
    let decomposition: CPDecomposition
    switch form {
    case .symmetric:
        decomposition = CPDecomposition(weights: power.eigenpairs.map(\.value), symmetric: directions).normalized()
    default:
        let (a, _) = DecompositionSupport.normalizedRows(directions)
        decomposition = try DecompositionSupport.partiallySymmetric(t, a: a)
    }
    return WhitenedTensorPowerResult(decomposition: decomposition, whitening: wh, theta: theta,
                                     symmetrizer: symmetrizer, whitenedTensor: whitened,
                                     eigenpairs: power.eigenpairs)
}

extension DecompositionSupport {
    /// Given the a_j (rows of `a`, k×dx), the `λ_j b_j` by least squares from `T_(1) = Bᵀ diag(λ) (A ⊙ A)` (paper eq. 1, Definition 1); normalized.
    static func partiallySymmetric(_ t: Tensor, a: Tensor) throws -> CPDecomposition {
        let k = a.shape[0]
        let khatriRao = Tensor.khatriRaoRows(a, a)                                          // k × dx²
        let scaledB = try leastSquares(khatriRao.transposed(), t.matricized().transposed())  // k × dy
        return CPDecomposition(weights: [Double](repeating: 1, count: k), b: scaledB, a: a).normalized()
    }
}
