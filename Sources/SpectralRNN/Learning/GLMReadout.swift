/// The last step of learning a GLM (paper §3.1) once the tensor decomposition has given the
/// directions of A1's rows: the decomposition identifies each row `a_j` only up to scale
/// (and sign), so the per-unit scale `s_j`, the bias `c_j` and the readout A2 are fitted to the
/// samples by least squares, `min Σ ‖y − A2ᵀ σ(s ⊙ Âx + c)‖²`. A2 enters linearly and is
/// eliminated (variable projection); the 2·dh parameters (s, c) start from a grid search,
/// unit by unit, and are refined by Levenberg–Marquardt with a finite-difference Jacobian.
public enum GLMReadout {
    /// A GLM with rows `s_j â_j`, biases `c_j` and the least-squares A2, fitted to (x, y).
    /// `directions` is dh×dx (rows â_j); x is N×dx, y is N×dy.
    public static func fit(directions: Tensor, activation: Activation, x: Tensor, y: Tensor,
                           maxIterations: Int = 100) throws -> GLM {
        let dh = directions.shape[0], n = x.shape[0], dy = y.shape[1]
        guard x.shape[1] == directions.shape[1], y.shape[0] == n, n > 2 * dh else {
            throw ModelError("GLM readout: need x (N×dx) and y (N×dy) with N > 2·dh and dx = \(directions.shape[1]); got \(x.shape), \(y.shape)")
        }
        let projections = matmul(x, directions, transposeB: true)  // N×dh: â_j·x
        func features(_ theta: [Double]) -> Tensor {
            Tensor(shape: [n, dh]) { i in activation(theta[i[1]] * projections[i[0], i[1]] + theta[dh + i[1]]) }
        }
        func readout(_ h: Tensor) throws -> Tensor { try leastSquares(h, y) }
        func residual(_ theta: [Double]) throws -> [Double] {
            let h = features(theta)
            return (y - matmul(h, try readout(h))).storage
        }
        /// Levenberg–Marquardt from `start`; returns the parameters and the cost.
        func levenbergMarquardt(from start: [Double]) throws -> (theta: [Double], cost: Double) {
            var theta = start
            var r = try residual(theta)
            var cost = dot(r, r)
            var damping = 1e-3
            for _ in 0..<maxIterations {
                // Central-difference Jacobian of the projected residual (N·dy × 2dh).
                var jacobian = Tensor.zeros([n * dy, 2 * dh])
                for p in 0..<(2 * dh) {
                    let step = 1e-6 * max(1, abs(theta[p]))
                    var plus = theta, minus = theta
                    plus[p] += step
                    minus[p] -= step
                    let rp = try residual(plus), rm = try residual(minus)
                    for k in 0..<(n * dy) { jacobian[k, p] = (rp[k] - rm[k]) / (2 * step) }
                }
                let jtj = matmul(jacobian, jacobian, transposeA: true)
                let gradient = matvec(jacobian, r, transpose: true)
                var improved = false
                for _ in 0..<20 {
                    var system = jtj
                    for p in 0..<(2 * dh) { system[p, p] += damping * max(jtj[p, p], 1e-12) }
                    guard let delta = try? solve(system, gradient.map { -$0 }) else { damping *= 10; continue }
                    let candidate = zip(theta, delta).map { $0 + $1 }
                    if let rc = try? residual(candidate), dot(rc, rc) < cost {
                        let decrease = cost - dot(rc, rc)
                        theta = candidate
                        r = rc
                        cost = dot(rc, rc)
                        damping = max(damping / 3, 1e-12)
                        improved = decrease > 1e-12 * cost
                        break
                    }
                    damping *= 4
                }
                if !improved { break }
            }
            return (theta, cost)
        }
        // The decomposition fixes neither the sign nor the scale of â_j, and least squares has
        // poor local minima (a unit saturating into a constant), so LM starts from a coarse grid
        // search over each unit's (s_j, c_j) in turn (z_j = â_j·x has unit scale when ‖â_j‖ = 1).
        var start = [Double](repeating: 1, count: dh) + [Double](repeating: 0, count: dh)
        let scales = stride(from: -4.0, through: 4.0, by: 0.5).filter { $0 != 0 }
        let biases = stride(from: -3.0, through: 3.0, by: 0.5).map { $0 }
        for _ in 0..<2 {
            for j in 0..<dh {
                var bestCost = Double.infinity
                var bestUnit = (start[j], start[dh + j])
                for scale in scales {
                    for bias in biases {
                        var candidate = start
                        candidate[j] = scale
                        candidate[dh + j] = bias
                        guard let r = try? residual(candidate) else { continue }
                        let cost = dot(r, r)
                        if cost < bestCost { bestCost = cost; bestUnit = (scale, bias) }
                    }
                }
                start[j] = bestUnit.0
                start[dh + j] = bestUnit.1
            }
        }
        let best = try levenbergMarquardt(from: start)
        let (theta, cost) = best
        let a1 = Tensor(shape: [dh, directions.shape[1]]) { i in theta[i[0]] * directions[i[0], i[1]] }
        let h = features(theta)
        let a2 = try readout(h)
        let residualVariance = cost / Double(n * dy)
        return try GLM(a1: a1, bias: Array(theta[dh...]), a2: a2, activation: activation, noise: residualVariance.squareRoot())
    }
}
