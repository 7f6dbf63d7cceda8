// The real eigendecomposition of a general (non-symmetric) square matrix through LAPACK
// dgeev, as simultaneous diagonalization needs it.

import CLapack

/// The eigendecomposition `A v_j = λ_j v_j` of a general square matrix with real spectrum.
public struct GeneralEigen: Sendable, Equatable {
    /// The eigenvalues, sorted by decreasing modulus (ties: larger value first).
    public let values: [Double]
    /// The right eigenvectors as columns (`n × n`), unit Euclidean norm, in the order of `values` (signs arbitrary).
    public let vectors: Tensor

    public init(values: [Double], vectors: Tensor) {
        self.values = values
        self.vectors = vectors
    }
}

/// Real eigenvalues and right eigenvectors of a general square matrix (LAPACK dgeev), sorted by decreasing modulus.
///
/// Throws `DecompositionError` `.complexEigenvalues` if dgeev returns any complex-conjugate
/// pair (its real Schur form has a 2×2 block: the imaginary part is exactly nonzero),
/// since the eigenvectors of such a pair are complex. Non-square or non-finite input
/// throws `.wrongShape` or `.nonFiniteInput`; a dgeev failure throws `.noConvergence`.
public func eigen(_ a: Tensor) throws -> GeneralEigen {
    let routine = "eigen"
    guard a.order == 2, a.shape[0] == a.shape[1] else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "needs a square matrix, got shape \(a.shape)")
    }
    try DecompositionSupport.requireFinite(a, routine, "matrix")
    let n = a.shape[0]
    if n == 0 { return GeneralEigen(values: [], vectors: .zeros([0, 0])) }
    ensureBLASConfigured()
    var work = a.storage
    var wr = [Double](repeating: 0, count: n)
    var wi = [Double](repeating: 0, count: n)
    var dummyLeft = [Double](repeating: 0, count: n)
    var right = [Double](repeating: 0, count: n * n)
    let info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, lapackChar("N"), lapackChar("V"), Int32(n), &work, Int32(n),
                             &wr, &wi, &dummyLeft, Int32(n), &right, Int32(n))
    if info > 0 {
        throw DecompositionError(routine: routine, kind: .noConvergence,
                                 message: "dgeev did not converge on a \(n)×\(n) matrix (info = \(info))")
    }
    if info < 0 {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "dgeev rejected argument \(-info) on a \(n)×\(n) matrix")
    }
    if let i = wi.firstIndex(where: { $0 != 0 }) {
        throw DecompositionError(routine: routine, kind: .complexEigenvalues,
                                 message: "the \(n)×\(n) matrix has a complex eigenvalue pair \(wr[i]) ± \(Swift.abs(wi[i]))i; real eigenvectors do not exist")
    }
    let order = (0..<n).sorted { (Swift.abs(wr[$0]), wr[$0], -$0) > (Swift.abs(wr[$1]), wr[$1], -$1) }
    var vectors = Tensor.zeros([n, n])
    for (newColumn, oldColumn) in order.enumerated() {
        var column = (0..<n).map { right[$0 * n + oldColumn] }
        column = DecompositionSupport.normalized(column)
        for i in 0..<n { vectors.storage[i * n + newColumn] = column[i] }
    }
    return GeneralEigen(values: order.map { wr[$0] }, vectors: vectors)
}
