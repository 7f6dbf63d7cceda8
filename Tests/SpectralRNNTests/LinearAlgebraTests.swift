// Tests of the BLAS/LAPACK layer (LinearAlgebra/): products against index loops,
// decompositions against their defining identities, solvers against known answers.

import Foundation
import Testing
@testable import SpectralRNN


/// The plain triple loop `op(A) op(B)`.
fileprivate func bruteForceProduct(_ a: Tensor, _ b: Tensor, _ ta: Bool, _ tb: Bool) -> Tensor {
    let opA = ta ? transposeByLoop(a) : a, opB = tb ? transposeByLoop(b) : b
    return Tensor(shape: [opA.shape[0], opB.shape[1]]) { i in
        var sum = 0.0
        for k in 0..<opA.shape[1] { sum += opA[i[0], k] * opB[k, i[1]] }
        return sum
    }
}

fileprivate func transposeByLoop(_ a: Tensor) -> Tensor {
    Tensor(shape: [a.shape[1], a.shape[0]]) { i in a[i[1], i[0]] }
}

/// Orthonormal columns by modified Gram–Schmidt on a random square matrix.
fileprivate func randomOrthogonal(_ n: Int, _ g: inout LCG) -> Tensor {
    var columns: [[Double]] = []
    while columns.count < n {
        var v = g.vector(n)
        for q in columns {
            let projection = zip(v, q).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<n { v[i] -= projection * q[i] }
        }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > 0.1 { columns.append(v.map { $0 / norm }) }
    }
    return Tensor(shape: [n, n]) { i in columns[i[1]][i[0]] }
}

/// `‖QᵀQ − I‖_max` for a matrix with orthonormal columns.
fileprivate func orthonormalityDefect(_ q: Tensor) -> Double {
    (matmul(q, q, transposeA: true) - Tensor.identity(q.shape[1])).maxAbs
}

/// Runs `body`, which must throw a `LinearAlgebraError`, and returns that error.
fileprivate func expectLinearAlgebraError(_ body: () throws -> Void) -> LinearAlgebraError? {
    do {
        try body()
    } catch let error as LinearAlgebraError {
        return error
    } catch {
        return nil
    }
    return nil
}

@Suite("LinearAlgebraTests")
struct LinearAlgebraTests {
    // MARK: BLAS products

    @Test func matmulMatchesTripleLoopForAllTranspositions() {
        var g = LCG(seed: 1)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = ta ? g.matrix(4, 3) : g.matrix(3, 4)
            let b = tb ? g.matrix(5, 4) : g.matrix(4, 5)
            let product = matmul(a, b, transposeA: ta, transposeB: tb)
            #expect(product.shape == [3, 5])
            #expect(product.relativeError(to: bruteForceProduct(a, b, ta, tb)) <= 1e-15)
        }
        #expect(matmul(Tensor.zeros([2, 0]), Tensor.zeros([0, 3])) == Tensor.zeros([2, 3]))
    }

    @Test func matvecAndDotMatchLoops() {
        var g = LCG(seed: 2)
        let a = g.matrix(3, 4)
        let x = g.vector(4), y = g.vector(3)
        let ax = matvec(a, x), aty = matvec(a, y, transpose: true)
        for i in 0..<3 {
            let expected = (0..<4).reduce(0.0) { $0 + a[i, $1] * x[$1] }
            #expect(abs(ax[i] - expected) <= 1e-15 * 4)
        }
        for j in 0..<4 {
            let expected = (0..<3).reduce(0.0) { $0 + a[$1, j] * y[$1] }
            #expect(abs(aty[j] - expected) <= 1e-15 * 3)
        }
        let expectedDot = zip(x, x).reduce(0.0) { $0 + $1.0 * $1.1 }
        #expect(abs(dot(x, x) - expectedDot) <= 1e-15 * expectedDot)
        #expect(dot([], []) == 0)
    }

    // MARK: SVD

    @Test(arguments: [(5, 3), (3, 5), (4, 4)])
    func svdReconstructsWithOrthonormalFactors(rows: Int, columns: Int) throws {
        var g = LCG(seed: UInt64(10 * rows + columns))
        let a = g.matrix(rows, columns)
        let k = min(rows, columns)
        let f = try svd(a)
        #expect(f.u.shape == [rows, k] && f.vt.shape == [k, columns] && f.singularValues.count == k)
        #expect(zip(f.singularValues, f.singularValues.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(f.singularValues.allSatisfy { $0 >= 0 })
        let reconstruction = matmul(matmul(f.u, Tensor.diagonal(f.singularValues)), f.vt)
        #expect(reconstruction.relativeError(to: a) <= 1e-14)
        #expect(orthonormalityDefect(f.u) <= 1e-14)
        #expect(orthonormalityDefect(f.vt.transposed()) <= 1e-14)

        let full = try svd(a, full: true)
        #expect(full.u.shape == [rows, rows] && full.vt.shape == [columns, columns])
        #expect(orthonormalityDefect(full.u) <= 1e-14)
        #expect(orthonormalityDefect(full.vt) <= 1e-14)
        var sigma = Tensor.zeros([rows, columns])
        for i in 0..<k { sigma[i, i] = full.singularValues[i] }
        #expect(matmul(matmul(full.u, sigma), full.vt).relativeError(to: a) <= 1e-14)

        let values = try singularValues(a)
        for i in 0..<k { #expect(abs(values[i] - f.singularValues[i]) <= 1e-14 * f.singularValues[0]) }
    }

    @Test func svdOfKnownMatrix() throws {
        // Q diag(4, 2, 0.5) Pᵀ with orthogonal Q, P has exactly these singular values.
        var g = LCG(seed: 3)
        let q = randomOrthogonal(3, &g), p = randomOrthogonal(3, &g)
        let a = matmul(matmul(q, Tensor.diagonal([2, 0.5, 4])), p, transposeB: true)
        let f = try svd(a)
        for (computed, known) in zip(f.singularValues, [4.0, 2, 0.5]) {
            #expect(abs(computed - known) <= 1e-14 * 4)
        }
        #expect(abs(try spectralNorm(a) - 4) <= 1e-14 * 4)   // values-only driver: same up to rounding
        #expect(abs(try conditionNumber(a) - 8) <= 1e-13 * 8)
        #expect(try conditionNumber(Tensor(rows: [[1, 2], [2, 4]])) > 1e15)
    }

    // MARK: Symmetric eigendecomposition

    @Test func symmetricEigenRecoversKnownEigenpairs() throws {
        var g = LCG(seed: 4)
        let q = randomOrthogonal(4, &g)
        let known = [2.0, -1, 5, 0.5]
        let a = matmul(matmul(q, Tensor.diagonal(known)), q, transposeB: true)
        let e = try symmetricEigen(a)
        #expect(e.values.count == 4 && e.vectors.shape == [4, 4])
        let order = [2, 0, 3, 1]   // known values sorted descending: 5, 2, 0.5, −1
        for (k, j) in order.enumerated() {
            #expect(abs(e.values[k] - known[j]) <= 1e-14 * 5)
            // Eigenvectors agree up to sign.
            let overlap = dot(e.vectors.column(k), q.column(j))
            #expect(abs(abs(overlap) - 1) <= 1e-13)
        }
        #expect(orthonormalityDefect(e.vectors) <= 1e-14)
        let residual = matmul(a, e.vectors) - matmul(e.vectors, Tensor.diagonal(e.values))
        #expect(residual.maxAbs <= 1e-14 * 5)
    }

    @Test func symmetricEigenRejectsBadInput() {
        let nonSquare = expectLinearAlgebraError { _ = try symmetricEigen(Tensor.zeros([2, 3])) }
        #expect(nonSquare?.kind == .wrongShape)
        #expect(nonSquare?.description.hasPrefix("symmetricEigen:") == true)
        let nonSymmetric = expectLinearAlgebraError { _ = try symmetricEigen(Tensor(rows: [[1, 2], [0, 1]])) }
        #expect(nonSymmetric?.kind == .notSymmetric)
        let notFinite = expectLinearAlgebraError { _ = try symmetricEigen(Tensor(rows: [[1, .nan], [.nan, 1]])) }
        #expect(notFinite?.kind == .nonFiniteInput)
    }

    // MARK: Solves

    @Test func solveRecoversKnownSolution() throws {
        var g = LCG(seed: 5)
        let a = g.wellConditioned(5)
        let x = g.matrix(5, 3)
        let b = matmul(a, x)
        #expect(try solve(a, b).relativeError(to: x) <= 1e-14)
        let v = g.vector(5)
        let solved = try solve(a, matvec(a, v))
        #expect(Tensor(vector: solved).relativeError(to: Tensor(vector: v)) <= 1e-14)
        #expect(try solve(a, Tensor(vector: matvec(a, v))).shape == [5])
        // A 2×2 by hand: [[2, 1], [1, 3]] x = [3, 5] has x = [0.8, 1.4].
        let small = try solve(Tensor(rows: [[2, 1], [1, 3]]), [3, 5])
        #expect(abs(small[0] - 0.8) <= 1e-15 && abs(small[1] - 1.4) <= 2e-15)
    }

    @Test func singularSolveThrowsNamedError() throws {
        let exactlySingular = Tensor(rows: [[1, 2], [2, 4]])
        let error = try #require(expectLinearAlgebraError { _ = try solve(exactlySingular, [1, 1]) })
        #expect(error.kind == .singular)
        #expect(error.routine == "solve")
        #expect(error.description.hasPrefix("solve: matrix is singular"))

        // Singular only up to rounding: rank 2 in decimal, its binary entries make LU with partial
        // pivoting end on a pivot of order 1e-16 instead of 0; the condition estimate catches it.
        let numericallySingular = Tensor(rows: [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]])
        let rounding = try #require(expectLinearAlgebraError { _ = try solve(numericallySingular, [1, 2, 3]) })
        #expect(rounding.kind == .singular)
        #expect(rounding.description.contains("working precision"))

        let inverseError = try #require(expectLinearAlgebraError { _ = try inverse(exactlySingular) })
        #expect(inverseError.description.hasPrefix("inverse: matrix is singular"))

        let shape = try #require(expectLinearAlgebraError { _ = try solve(Tensor.zeros([2, 3]), [1, 1]) })
        #expect(shape.kind == .wrongShape)
        let rhs = try #require(expectLinearAlgebraError { _ = try solve(Tensor.identity(2), [1, 1, 1]) })
        #expect(rhs.kind == .wrongShape)
        let nan = try #require(expectLinearAlgebraError { _ = try solve(Tensor.identity(2), [1, .nan]) })
        #expect(nan.kind == .nonFiniteInput)
    }

    @Test func inverseIsTwoSided() throws {
        var g = LCG(seed: 6)
        let a = g.wellConditioned(4)
        let inv = try inverse(a)
        #expect((matmul(a, inv) - Tensor.identity(4)).maxAbs <= 1e-14)
        #expect((matmul(inv, a) - Tensor.identity(4)).maxAbs <= 1e-14)
    }

    @Test func leastSquaresSatisfiesNormalEquationsAndMinimumNorm() throws {
        var g = LCG(seed: 7)
        // Overdetermined, full column rank: the residual is orthogonal to range(A).
        let a = g.matrix(7, 3)
        let b = g.vector(7)
        let x = try leastSquares(a, b)
        #expect(x.count == 3)
        let residual = zip(matvec(a, x), b).map { $0 - $1 }
        let normal = matvec(a, residual, transpose: true)
        #expect(Tensor(vector: normal).maxAbs <= 1e-14 * a.frobeniusNorm * Tensor(vector: b).frobeniusNorm)
        // Consistent system: exact recovery.
        let xTrue = g.matrix(3, 2)
        #expect(try leastSquares(a, matmul(a, xTrue)).relativeError(to: xTrue) <= 1e-14)

        // Underdetermined, full row rank: the minimum-norm solution is Aᵀ (A Aᵀ)⁻¹ b.
        let wide = g.matrix(2, 5)
        let c = g.vector(2)
        let minimumNorm = matvec(wide, try solve(matmul(wide, wide, transposeB: true), c), transpose: true)
        let xWide = try leastSquares(wide, c)
        #expect(Tensor(vector: xWide).relativeError(to: Tensor(vector: minimumNorm)) <= 1e-14)

        // Rank-deficient by hand: [[1, 0], [0, 0]] x ≈ [3, 4] has minimum-norm solution [3, 0].
        let deficient = try leastSquares(Tensor(rows: [[1, 0], [0, 0]]), [3, 4])
        #expect(deficient == [3, 0])
    }

    @Test func pseudoInverseSatisfiesPenroseIdentities() throws {
        var g = LCG(seed: 8)
        let a = matmul(g.matrix(5, 2), g.matrix(2, 4))   // 5×4 of rank 2
        let p = try pseudoInverse(a)
        #expect(p.shape == [4, 5])
        let ap = matmul(a, p), pa = matmul(p, a)
        #expect(matmul(ap, a).relativeError(to: a) <= 1e-14)          // A A⁺ A = A
        #expect(matmul(pa, p).relativeError(to: p) <= 1e-14)          // A⁺ A A⁺ = A⁺
        #expect(ap.transposed().relativeError(to: ap) <= 1e-14)       // (A A⁺)ᵀ = A A⁺
        #expect(pa.transposed().relativeError(to: pa) <= 1e-14)       // (A⁺ A)ᵀ = A⁺ A

        // Known answers: a rank-one A = σ u vᵀ has A⁺ = Aᵀ/σ², and A⁺ = A⁻¹ for invertible A.
        let rankOne = Tensor(rows: [[1, 2], [2, 4]])
        #expect(try pseudoInverse(rankOne).relativeError(to: rankOne.transposed() / 25) <= 1e-15)
        let square = g.wellConditioned(3)
        #expect(try pseudoInverse(square).relativeError(to: try inverse(square)) <= 1e-14)
        #expect(try pseudoInverse(Tensor.zeros([2, 3])) == Tensor.zeros([3, 2]))
    }

    // MARK: Determinants, Cholesky, spectra

    @Test func determinantsOfKnownMatrices() throws {
        let tridiagonal = Tensor(rows: [[2, -1, 0], [-1, 2, -1], [0, -1, 2]])   // det = n + 1 = 4
        #expect(abs(try determinant(tridiagonal) - 4) <= 4e-15 * 4)
        let (sign, logAbs) = try logDeterminant(tridiagonal)
        #expect(sign == 1 && abs(logAbs - log(4.0)) <= 1e-15 * 4)
        let swap = Tensor(rows: [[0, 1], [1, 0]])
        #expect(try determinant(swap) == -1)
        #expect(try logDeterminant(swap) == (-1, 0))
        let negative = Tensor(rows: [[-3, 0], [0, 2]])
        #expect(try determinant(negative) == -6)
        #expect(try logDeterminant(negative).sign == -1)
        #expect(try determinant(Tensor(rows: [[1, 2], [2, 4]])) == 0)
        #expect(try logDeterminant(Tensor(rows: [[1, 2], [2, 4]])) == (0, -.infinity))
        // Multiplicativity on random matrices.
        var g = LCG(seed: 9)
        let a = g.wellConditioned(4), b = g.wellConditioned(4)
        let product = try determinant(a) * determinant(b)
        #expect(abs(try determinant(matmul(a, b)) - product) <= 1e-13 * abs(product))
        let error = try #require(expectLinearAlgebraError { _ = try determinant(Tensor.zeros([2, 3])) })
        #expect(error.kind == .wrongShape && error.routine == "determinant")
    }

    @Test func choleskyRecoversKnownFactor() throws {
        let l = Tensor(rows: [[2, 0, 0], [-1, 3, 0], [0.5, 1, 1.5]])
        let a = matmul(l, l, transposeB: true)
        let factor = try cholesky(a)
        #expect(factor.relativeError(to: l) <= 1e-15)
        for i in 0..<3 {
            for j in (i + 1)..<3 { #expect(factor[i, j] == 0) }
        }
        let indefinite = try #require(expectLinearAlgebraError { _ = try cholesky(Tensor(rows: [[1, 2], [2, 1]])) })
        #expect(indefinite.kind == .notPositiveDefinite)
        #expect(indefinite.description.hasPrefix("cholesky: matrix is not positive definite"))
    }

    @Test func spectralRadiusOfKnownMatrices() throws {
        // Rotation by 90° scaled by 2: eigenvalues ±2i.
        #expect(abs(try spectralRadius(Tensor(rows: [[0, 2], [-2, 0]])) - 2) <= 1e-15 * 2)
        // Triangular: eigenvalues on the diagonal; the spectral norm is much larger.
        let triangular = Tensor(rows: [[0.5, 10], [0, -0.25]])
        #expect(abs(try spectralRadius(triangular) - 0.5) <= 1e-15)
        #expect(try spectralNorm(triangular) > 10)
        // Similarity preserves the spectrum.
        var g = LCG(seed: 10)
        let s = g.wellConditioned(3)
        let similar = matmul(matmul(s, Tensor.diagonal([0.9, -0.3, 0.1])), try inverse(s))
        #expect(abs(try spectralRadius(similar) - 0.9) <= 1e-14)
        let error = try #require(expectLinearAlgebraError { _ = try spectralRadius(Tensor.zeros([3])) })
        #expect(error.kind == .wrongShape)
    }

    @Test func emptyMatricesAreHandled() throws {
        let empty = Tensor.zeros([0, 0])
        #expect(try determinant(empty) == 1)
        #expect(try svd(Tensor.zeros([3, 0])).singularValues.isEmpty)
        #expect(try symmetricEigen(empty).values.isEmpty)
        #expect(try spectralNorm(Tensor.zeros([0, 2])) == 0)
    }
}
