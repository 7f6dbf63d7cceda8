// Matrix decompositions through LAPACK (row-major): SVD, symmetric eigendecomposition,
// Cholesky, and the norms and spectra derived from them.

import CLapack

/// A singular value decomposition `A = U · diag(σ) · Vᵀ`.
public struct SVD: Sendable, Equatable {
    /// Left singular vectors as columns: `m × k` (thin) or `m × m` (full).
    public let u: Tensor
    /// The singular values, descending, `k = min(m, n)` of them.
    public let singularValues: [Double]
    /// Right singular vectors as rows: `k × n` (thin) or `n × n` (full).
    public let vt: Tensor

    public init(u: Tensor, singularValues: [Double], vt: Tensor) {
        self.u = u
        self.singularValues = singularValues
        self.vt = vt
    }
}

/// An eigendecomposition `A = V · diag(λ) · Vᵀ` of a symmetric matrix.
public struct SymmetricEigen: Sendable, Equatable {
    /// The eigenvalues, descending.
    public let values: [Double]
    /// The orthonormal eigenvectors as columns, in the order of `values` (signs arbitrary).
    public let vectors: Tensor

    public init(values: [Double], vectors: Tensor) {
        self.values = values
        self.vectors = vectors
    }
}

/// Throws unless the square matrix `a` is symmetric to `tolerance · maxAbs`.
private func requireSymmetric(_ a: Tensor, _ n: Int, _ routine: String, tolerance: Double) throws {
    let bound = tolerance * a.maxAbs
    var worst = 0.0
    for i in 0..<n {
        for j in (i + 1)..<Swift.max(i + 1, n) {
            worst = Swift.max(worst, Swift.abs(a.storage[i * n + j] - a.storage[j * n + i]))
        }
    }
    guard worst <= bound else {
        throw LinearAlgebraError(routine: routine, kind: .notSymmetric,
                                 message: "matrix is not symmetric (largest |A_ij − A_ji| = \(worst), largest entry \(a.maxAbs))")
    }
}

/// The singular value decomposition `A = U diag(σ) Vᵀ`, thin unless `full` (LAPACK dgesdd, falling back to dgesvd).
public func svd(_ a: Tensor, full: Bool = false) throws -> SVD {
    let routine = "svd"
    let (m, n) = try requireMatrix(a, routine)
    let k = Swift.min(m, n)
    let uColumns = full ? m : k
    let vtRows = full ? n : k
    if k == 0 {
        return SVD(u: full ? .identity(m) : .zeros([m, 0]), singularValues: [],
                   vt: full ? .identity(n) : .zeros([0, n]))
    }
    ensureBLASConfigured()
    var s = [Double](repeating: 0, count: k)
    var u = Tensor.zeros([m, uColumns])
    var vt = Tensor.zeros([vtRows, n])
    var work = a.storage
    let job = lapackChar(full ? "A" : "S")
    var info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, job, Int32(m), Int32(n), &work, Int32(n), &s,
                              &u.storage, Int32(uColumns), &vt.storage, Int32(n))
    if info > 0 {
        // The divide-and-conquer driver occasionally fails to converge; the QR driver is slower but sturdier.
        work = a.storage
        var superb = [Double](repeating: 0, count: Swift.max(1, k - 1))
        info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, job, job, Int32(m), Int32(n), &work, Int32(n), &s,
                              &u.storage, Int32(uColumns), &vt.storage, Int32(n), &superb)
        if info > 0 {
            throw LinearAlgebraError(routine: routine, kind: .noConvergence,
                                     message: "dgesdd and dgesvd did not converge (\(info) superdiagonals left) on a \(m)×\(n) matrix")
        }
    }
    if info < 0 { throw lapackArgumentError(routine, "dgesdd/dgesvd", info) }
    return SVD(u: u, singularValues: s, vt: vt)
}

/// The singular values of a matrix, descending (LAPACK dgesdd without vectors).
public func singularValues(_ a: Tensor) throws -> [Double] {
    let routine = "singularValues"
    let (m, n) = try requireMatrix(a, routine)
    let k = Swift.min(m, n)
    if k == 0 { return [] }
    ensureBLASConfigured()
    var s = [Double](repeating: 0, count: k)
    var work = a.storage
    // U and Vᵀ are not referenced with job "N", but LAPACKE's row-major wrapper still insists
    // on ldvt ≥ n, so pass buffers that would fit one row.
    var dummyU = [Double](repeating: 0, count: Swift.max(1, m))
    var dummyVt = [Double](repeating: 0, count: Swift.max(1, n))
    var info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, lapackChar("N"), Int32(m), Int32(n), &work, Int32(n), &s,
                              &dummyU, 1, &dummyVt, Int32(n))
    if info > 0 {
        work = a.storage
        var superb = [Double](repeating: 0, count: Swift.max(1, k - 1))
        info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, lapackChar("N"), lapackChar("N"), Int32(m), Int32(n),
                              &work, Int32(n), &s, &dummyU, 1, &dummyVt, Int32(n), &superb)
        if info > 0 {
            throw LinearAlgebraError(routine: routine, kind: .noConvergence,
                                     message: "dgesdd and dgesvd did not converge on a \(m)×\(n) matrix")
        }
    }
    if info < 0 { throw lapackArgumentError(routine, "dgesdd/dgesvd", info) }
    return s
}

/// Eigenvalues (descending) and orthonormal eigenvectors (columns) of a symmetric matrix (LAPACK dsyevd).
///
/// Throws if the matrix is not square, or not symmetric to `symmetryTolerance` relative to
/// its largest entry; the symmetric part `(A + Aᵀ)/2` is decomposed.
public func symmetricEigen(_ a: Tensor, symmetryTolerance: Double = 1e-10) throws -> SymmetricEigen {
    let routine = "symmetricEigen"
    let n = try requireSquare(a, routine)
    if n == 0 { return SymmetricEigen(values: [], vectors: .zeros([0, 0])) }
    try requireSymmetric(a, n, routine, tolerance: symmetryTolerance)
    ensureBLASConfigured()
    var work = a.storage
    for i in 0..<n {
        for j in (i + 1)..<Swift.max(i + 1, n) {
            let mean = 0.5 * (work[i * n + j] + work[j * n + i])
            work[i * n + j] = mean
            work[j * n + i] = mean
        }
    }
    var w = [Double](repeating: 0, count: n)
    let info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, lapackChar("V"), lapackChar("L"), Int32(n), &work, Int32(n), &w)
    if info > 0 {
        throw LinearAlgebraError(routine: routine, kind: .noConvergence,
                                 message: "dsyevd did not converge on a \(n)×\(n) matrix (info = \(info))")
    }
    if info < 0 { throw lapackArgumentError(routine, "dsyevd", info) }
    // LAPACK returns ascending eigenvalues; reverse values and eigenvector columns.
    var vectors = Tensor.zeros([n, n])
    for i in 0..<n {
        for j in 0..<n { vectors.storage[i * n + j] = work[i * n + (n - 1 - j)] }
    }
    return SymmetricEigen(values: Array(w.reversed()), vectors: vectors)
}

/// The lower-triangular Cholesky factor `L` with `A = L Lᵀ` of a symmetric positive-definite matrix (LAPACK dpotrf).
///
/// Throws if the matrix is not square, not symmetric to `symmetryTolerance` relative to its
/// largest entry, or not positive definite.
public func cholesky(_ a: Tensor, symmetryTolerance: Double = 1e-10) throws -> Tensor {
    let routine = "cholesky"
    let n = try requireSquare(a, routine)
    if n == 0 { return .zeros([0, 0]) }
    try requireSymmetric(a, n, routine, tolerance: symmetryTolerance)
    ensureBLASConfigured()
    var l = a
    let info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, lapackChar("L"), Int32(n), &l.storage, Int32(n))
    if info > 0 {
        throw LinearAlgebraError(routine: routine, kind: .notPositiveDefinite,
                                 message: "matrix is not positive definite (leading minor of order \(info) is not positive)")
    }
    if info < 0 { throw lapackArgumentError(routine, "dpotrf", info) }
    for i in 0..<n {
        for j in (i + 1)..<Swift.max(i + 1, n) { l.storage[i * n + j] = 0 }
    }
    return l
}

/// The spectral norm `‖A‖₂ = σ_max` (0 for an empty matrix).
public func spectralNorm(_ a: Tensor) throws -> Double {
    try singularValues(a).first ?? 0
}

/// The 2-norm condition number `σ_max / σ_min` over the `min(m, n)` singular values (+∞ if rank-deficient).
public func conditionNumber(_ a: Tensor) throws -> Double {
    let s = try singularValues(a)
    guard let largest = s.first, let smallest = s.last else {
        throw LinearAlgebraError(routine: "conditionNumber", kind: .wrongShape,
                                 message: "matrix of shape \(a.shape) is empty")
    }
    return smallest == 0 ? .infinity : largest / smallest
}

/// The spectral radius `max |λ_i|` of a general square matrix (LAPACK dgeev eigenvalues).
public func spectralRadius(_ a: Tensor) throws -> Double {
    let routine = "spectralRadius"
    let n = try requireSquare(a, routine)
    if n == 0 { return 0 }
    ensureBLASConfigured()
    var work = a.storage
    var wr = [Double](repeating: 0, count: n)
    var wi = [Double](repeating: 0, count: n)
    var dummyL = [Double](repeating: 0, count: 1)
    var dummyR = [Double](repeating: 0, count: 1)
    let info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, lapackChar("N"), lapackChar("N"), Int32(n), &work, Int32(n),
                             &wr, &wi, &dummyL, 1, &dummyR, 1)
    if info > 0 {
        throw LinearAlgebraError(routine: routine, kind: .noConvergence,
                                 message: "dgeev did not converge on a \(n)×\(n) matrix (info = \(info))")
    }
    if info < 0 { throw lapackArgumentError(routine, "dgeev", info) }
    var radius = 0.0
    for i in 0..<n {
        // |λ| scaled so that it cannot overflow.
        let big = Swift.max(Swift.abs(wr[i]), Swift.abs(wi[i]))
        guard big > 0 else { continue }
        let re = wr[i] / big, im = wi[i] / big
        radius = Swift.max(radius, big * (re * re + im * im).squareRoot())
    }
    return radius
}
