// Linear solves, least squares, inverses and determinants through LAPACK (row-major).

import CLapack
import Foundation

/// The LU factorization `P A = L U` of a square matrix as LAPACK dgetrf leaves it.
private struct LUFactors {
    /// L (unit lower, implicit diagonal) and U packed in one row-major `n × n` array.
    var packed: [Double]
    /// 1-based row interchanges.
    var pivots: [Int32]
    /// 0 if U is invertible, else the 1-based index of the first zero diagonal entry of U.
    var zeroPivot: Int32
}

/// Factors a square matrix already checked by `requireSquare` (n > 0).
private func luFactor(_ a: Tensor, _ n: Int, _ routine: String) throws -> LUFactors {
    ensureBLASConfigured()
    var packed = a.storage
    var pivots = [Int32](repeating: 0, count: n)
    let info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, Int32(n), Int32(n), &packed, Int32(n), &pivots)
    if info < 0 { throw lapackArgumentError(routine, "dgetrf", info) }
    return LUFactors(packed: packed, pivots: pivots, zeroPivot: info)
}

/// Throws unless `b` is a finite vector or matrix with `rows` rows; returns its column count.
private func requireRightHandSide(_ b: Tensor, rows: Int, _ routine: String) throws -> Int {
    guard (b.order == 1 || b.order == 2), b.shape[0] == rows else {
        throw LinearAlgebraError(routine: routine, kind: .wrongShape,
                                 message: "right-hand side must be a vector or matrix with \(rows) rows, got shape \(b.shape)")
    }
    guard b.isFinite else {
        throw LinearAlgebraError(routine: routine, kind: .nonFiniteInput,
                                 message: "right-hand side of shape \(b.shape) has NaN or infinite entries")
    }
    return b.order == 1 ? 1 : b.shape[1]
}

/// Solves `A X = B` for square `A` (n > 0) by LU (dgetrf + dgecon + dgetrs); `rhs` is row-major `n × nrhs`.
///
/// Throws `.singular` when U has a zero pivot, or when LAPACK's estimate of the reciprocal
/// 1-norm condition number is below machine epsilon (the answer would have no correct digit).
private func luSolve(_ a: Tensor, _ n: Int, rhs: [Double], nrhs: Int, _ routine: String) throws -> [Double] {
    ensureBLASConfigured()
    let anorm = a.storage.withUnsafeBufferPointer { pa in
        LAPACKE_dlange(LAPACK_ROW_MAJOR, lapackChar("1"), Int32(n), Int32(n), pa.baseAddress, Int32(n))
    }
    let lu = try luFactor(a, n, routine)
    if lu.zeroPivot > 0 {
        throw LinearAlgebraError(routine: routine, kind: .singular,
                                 message: "matrix is singular (zero pivot in row \(lu.zeroPivot - 1) of its LU factorization)")
    }
    var rcond = 0.0
    var info = LAPACKE_dgecon(LAPACK_ROW_MAJOR, lapackChar("1"), Int32(n), lu.packed, Int32(n), anorm, &rcond)
    if info < 0 { throw lapackArgumentError(routine, "dgecon", info) }
    if rcond < Double.ulpOfOne {
        throw LinearAlgebraError(routine: routine, kind: .singular,
                                 message: "matrix is singular to working precision (reciprocal condition number \(rcond))")
    }
    var x = rhs
    guard nrhs > 0 else { return x }
    info = LAPACKE_dgetrs(LAPACK_ROW_MAJOR, lapackChar("N"), Int32(n), Int32(nrhs), lu.packed, Int32(n),
                          lu.pivots, &x, Int32(nrhs))
    if info < 0 { throw lapackArgumentError(routine, "dgetrs", info) }
    return x
}

/// The solution `X` of `A X = B` for a square invertible `A`; `B` a vector or a matrix (LAPACK dgetrf/dgetrs).
public func solve(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let routine = "solve"
    let n = try requireSquare(a, routine)
    let nrhs = try requireRightHandSide(b, rows: n, routine)
    if n == 0 { return b }
    return Tensor(shape: b.shape, storage: try luSolve(a, n, rhs: b.storage, nrhs: nrhs, routine))
}

/// The solution `x` of `A x = b` for a square invertible `A` (LAPACK dgetrf/dgetrs).
public func solve(_ a: Tensor, _ b: [Double]) throws -> [Double] {
    try solve(a, Tensor(vector: b)).storage
}

/// The inverse of a square invertible matrix (LAPACK dgetrf/dgetrs on the identity).
public func inverse(_ a: Tensor) throws -> Tensor {
    let routine = "inverse"
    let n = try requireSquare(a, routine)
    if n == 0 { return a }
    return Tensor(shape: [n, n], storage: try luSolve(a, n, rhs: Tensor.identity(n).storage, nrhs: n, routine))
}

/// The minimum-norm least-squares solution of `A X ≈ B` (LAPACK dgelsd); `B` a vector or a matrix.
///
/// Singular values below `relativeTolerance · σ_max` count as zero; the default is
/// `max(m, n) · ε`, as for `pseudoInverse`.
public func leastSquares(_ a: Tensor, _ b: Tensor, relativeTolerance: Double? = nil) throws -> Tensor {
    let routine = "leastSquares"
    let (m, n) = try requireMatrix(a, routine)
    let nrhs = try requireRightHandSide(b, rows: m, routine)
    let resultShape = b.order == 1 ? [n] : [n, nrhs]
    if m == 0 || n == 0 || nrhs == 0 { return .zeros(resultShape) }
    ensureBLASConfigured()
    var work = a.storage
    // dgelsd needs room for max(m, n) rows in B; the solution comes back in the first n.
    var x = [Double](repeating: 0, count: Swift.max(m, n) * nrhs)
    for k in 0..<(m * nrhs) { x[k] = b.storage[k] }
    var s = [Double](repeating: 0, count: Swift.min(m, n))
    var rank: Int32 = 0
    let rcond = relativeTolerance ?? Double(Swift.max(m, n)) * Double.ulpOfOne
    let info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(nrhs), &work, Int32(n),
                              &x, Int32(nrhs), &s, rcond, &rank)
    if info > 0 {
        throw LinearAlgebraError(routine: routine, kind: .noConvergence,
                                 message: "dgelsd's SVD did not converge on a \(m)×\(n) matrix (info = \(info))")
    }
    if info < 0 { throw lapackArgumentError(routine, "dgelsd", info) }
    return Tensor(shape: resultShape, storage: Array(x[0..<(n * nrhs)]))
}

/// The minimum-norm least-squares solution of `A x ≈ b` (LAPACK dgelsd).
public func leastSquares(_ a: Tensor, _ b: [Double], relativeTolerance: Double? = nil) throws -> [Double] {
    try leastSquares(a, Tensor(vector: b), relativeTolerance: relativeTolerance).storage
}

/// The Moore–Penrose pseudo-inverse `V Σ⁺ Uᵀ` from the SVD.
///
/// Singular values below `relativeTolerance · σ_max` are treated as zero; the default is
/// `max(m, n) · ε`.
public func pseudoInverse(_ a: Tensor, relativeTolerance: Double? = nil) throws -> Tensor {
    let (m, n) = try requireMatrix(a, "pseudoInverse")
    let f = try svd(a)
    guard let largest = f.singularValues.first else { return .zeros([n, m]) }
    let cutoff = (relativeTolerance ?? Double(Swift.max(m, n)) * Double.ulpOfOne) * largest
    // Scale row i of Vᵀ by 1/σ_i (or zero it), then pinv = (Σ⁺Vᵀ)ᵀ Uᵀ.
    var scaledVt = f.vt
    for i in 0..<f.singularValues.count {
        let sigma = f.singularValues[i]
        let factor = sigma > cutoff ? 1 / sigma : 0
        for j in 0..<n { scaledVt.storage[i * n + j] *= factor }
    }
    return matmul(scaledVt, f.u, transposeA: true, transposeB: true)
}

/// The sign and the log of the absolute value of the determinant (LAPACK dgetrf); `(0, −∞)` for a singular matrix.
public func logDeterminant(_ a: Tensor) throws -> (sign: Double, logAbs: Double) {
    let routine = "logDeterminant"
    let n = try requireSquare(a, routine)
    if n == 0 { return (1, 0) }
    let lu = try luFactor(a, n, routine)
    if lu.zeroPivot > 0 { return (0, -Double.infinity) }
    var sign = 1.0
    var logAbs = 0.0
    for i in 0..<n {
        let u = lu.packed[i * n + i]
        if u < 0 { sign = -sign }
        if lu.pivots[i] != Int32(i + 1) { sign = -sign }
        logAbs += log(Swift.abs(u))
    }
    return (sign, logAbs)
}

/// The determinant, as the signed product of U's diagonal (LAPACK dgetrf).
public func determinant(_ a: Tensor) throws -> Double {
    let routine = "determinant"
    let n = try requireSquare(a, routine)
    if n == 0 { return 1 }
    let lu = try luFactor(a, n, routine)
    if lu.zeroPivot > 0 { return 0 }
    var product = 1.0
    for i in 0..<n {
        product *= lu.packed[i * n + i]
        if lu.pivots[i] != Int32(i + 1) { product = -product }
    }
    return product
}
