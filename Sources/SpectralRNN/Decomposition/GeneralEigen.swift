// The real eigendecomposition of a general (non-symmetric) square matrix through LAPACK
// dgeev, as simultaneous diagonalization needs it.

import CLapack

/// The eigendecomposition `A v_j = λ_j v_j` of a general square matrix with real spectrum.
public struct GeneralEigen: Sendable, Equatable {
    /// The eigenvalues, sorted by decreasing modulus (ties: larger value first).
    public let values: [Double]
    /// The right eigenvectors as columns (`n × n`), unit Euclidean norm, in the order of `values` (signs arbitrary).
    public let vectors: Tensor
    /// Complex-conjugate pairs replaced by real parts (`eigen(_:realParts: true)` only; otherwise 0).
    public let complexPairs: Int

    public init(values: [Double], vectors: Tensor, complexPairs: Int = 0) {
        self.values = values
        self.vectors = vectors
        self.complexPairs = complexPairs
    }
}

/// Real eigenvalues and right eigenvectors of a general square matrix (LAPACK dgeev), sorted by decreasing modulus.
///
/// Throws `DecompositionError` `.complexEigenvalues` if dgeev returns any complex-conjugate
/// pair (its real Schur form has a 2×2 block: the imaginary part is exactly nonzero),
/// since the eigenvectors of such a pair are complex — unless `realParts`: then a pair
/// `α ± iβ` with eigenvectors `p ± iq` becomes two real entries, value α twice and vectors
/// p and q, which span the pair's real invariant plane (a starting point for a refinement,
/// not eigenvectors), and `complexPairs` counts them. Non-square or non-finite input
/// throws `.wrongShape` or `.nonFiniteInput`; a dgeev failure throws `.noConvergence`.
public func eigen(_ a: Tensor, realParts: Bool = false) throws -> GeneralEigen {
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
    // dgeev stores a pair's p in column i and q in column i + 1, with wi[i] > 0 > wi[i + 1].
    let complexPairs = wi.filter { $0 > 0 }.count
    if !realParts, let i = wi.firstIndex(where: { $0 != 0 }) {
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
    return GeneralEigen(values: order.map { wr[$0] }, vectors: vectors, complexPairs: complexPairs)
}
