/// The generalized linear model of paper §3.1 (MATH.md §3): i.i.d. `x ~ N(0, I_dx)`,
/// `y = A2ᵀ σ(A1 x + c) + η`, `η ~ N(0, noise² I_dy)`; `A1` is dh×dx, `A2` is dh×dy.
public struct GLM: Sendable {
    public let a1: Tensor
    public let bias: [Double]
    public let a2: Tensor
    public let activation: Activation
    public let noise: Double

    public var inputDimension: Int { a1.shape[1] }
    public var hiddenDimension: Int { a1.shape[0] }
    public var outputDimension: Int { a2.shape[1] }

    /// A GLM; throws on inconsistent shapes, non-finite parameters or a negative noise level.
    public init(a1: Tensor, bias: [Double]? = nil, a2: Tensor, activation: Activation, noise: Double) throws {
        guard a1.order == 2, a2.order == 2, a1.shape[0] == a2.shape[0], a1.shape[0] > 0 else {
            throw ModelError("GLM: A1 (dh×dx) and A2 (dh×dy) must be matrices with the same number of rows, got \(a1.shape) and \(a2.shape)")
        }
        let bias = bias ?? [Double](repeating: 0, count: a1.shape[0])
        guard bias.count == a1.shape[0] else {
            throw ModelError("GLM: the bias c must have dh = \(a1.shape[0]) entries, got \(bias.count)")
        }
        guard a1.isFinite, a2.isFinite, bias.allSatisfy(\.isFinite) else { throw ModelError("GLM: parameters must be finite (found NaN or ∞)") }
        guard noise >= 0, noise.isFinite else { throw ModelError("GLM: the noise level must be finite and non-negative, got \(noise)") }
        self.a1 = a1
        self.bias = bias
        self.a2 = a2
        self.activation = activation
        self.noise = noise
    }

    /// `E[y | x] = A2ᵀ σ(A1 x + c)`.
    public func mean(_ x: [Double]) -> [Double] {
        let preActivation = matvec(a1, x)
        let hidden = zip(preActivation, bias).map { activation($0 + $1) }
        return matvec(a2, hidden, transpose: true)
    }

    /// `count` i.i.d. pairs: x (count×dx) and y (count×dy).
    public func sample(count: Int, using rng: inout RandomStream) -> (x: Tensor, y: Tensor) {
        var xs = [Double](), ys = [Double]()
        xs.reserveCapacity(count * inputDimension)
        ys.reserveCapacity(count * outputDimension)
        for _ in 0..<count {
            let x = rng.gaussians(inputDimension)
            xs += x
            ys += mean(x).map { $0 + noise * rng.gaussian() }
        }
        return (Tensor(shape: [count, inputDimension], storage: xs), Tensor(shape: [count, outputDimension], storage: ys))
    }

    /// `μ⁽ᵏ⁾_j = E[σ⁽ᵏ⁾(a_j·x + c_j)]`, exactly by quadrature since `a_j·x + c_j ~ N(c_j, ‖a_j‖²)`.
    public func activationMoments(derivative k: Int, quadrature: GaussHermite) -> [Double] {
        (0..<hiddenDimension).map { j in
            let row = a1.row(j)
            return quadrature.expectation(mean: bias[j], variance: dot(row, row)) { activation.derivative(k, at: $0) }
        }
    }

    /// Eq. 12: `E[y ⊗ S_1(x)] = A2ᵀ diag(μ′) A1` (dy×dx).
    public func firstOrderMoment(quadrature: GaussHermite) -> Tensor {
        let mu = activationMoments(derivative: 1, quadrature: quadrature)
        return matmul(a2, matmul(Tensor.diagonal(mu), a1), transposeA: true)
    }

    /// Eq. 13: `E[y ⊗ S_2(x)] = Σ_j μ″_j b_j ⊗ a_j ⊗ a_j` (dy×dx×dx).
    public func secondOrderMoment(quadrature: GaussHermite) -> Tensor {
        let mu = activationMoments(derivative: 2, quadrature: quadrature)
        var total = Tensor.zeros([outputDimension, inputDimension, inputDimension])
        for j in 0..<hiddenDimension {
            total += Tensor.outer([a2.row(j), a1.row(j), a1.row(j)]) * mu[j]
        }
        return total
    }
}
