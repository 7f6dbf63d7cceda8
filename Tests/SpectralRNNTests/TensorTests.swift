// Tests of the multilinear algebra on `Tensor` (TensorAlgebra.swift, Multilinear.swift):
// every operation against a brute-force loop over multi-indices on small random tensors.

import Testing
@testable import SpectralRNN


/// All multi-indices of a shape in row-major order (written independently of `Tensor.advance`).
fileprivate func allIndices(_ shape: [Int]) -> [[Int]] {
    var result: [[Int]] = [[]]
    for length in shape {
        result = result.flatMap { prefix in (0..<length).map { prefix + [$0] } }
    }
    return result
}

/// All permutations of 0..<k.
fileprivate func allPermutations(_ k: Int) -> [[Int]] {
    if k == 0 { return [[]] }
    return allPermutations(k - 1).flatMap { p in
        (0...p.count).map { position -> [Int] in
            var q = p
            q.insert(k - 1, at: position)
            return q
        }
    }
}

/// Brute-force permutation in the numpy convention: `out[i] = T[j]` with `j[perm[k]] = i[k]`.
fileprivate func bruteForcePermute(_ t: Tensor, _ perm: [Int]) -> Tensor {
    Tensor(shape: perm.map { t.shape[$0] }) { i in
        var j = [Int](repeating: 0, count: i.count)
        for k in 0..<i.count { j[perm[k]] = i[k] }
        return t[j]
    }
}

@Suite("TensorTests")
struct TensorTests {
    // MARK: Elementwise algebra

    @Test func elementwiseArithmeticMatchesEntrywiseLoop() {
        var g = LCG(seed: 1)
        let a = g.tensor([2, 3, 4]), b = g.tensor([2, 3, 4])
        let c = 1.75
        let sum = a + b, difference = a - b, negation = -a
        let left = c * a, right = a * c, quotient = a / c
        var accumulated = a
        accumulated += b
        var reduced = a
        reduced -= b
        for i in allIndices(a.shape) {
            #expect(sum[i] == a[i] + b[i])
            #expect(difference[i] == a[i] - b[i])
            #expect(negation[i] == -a[i])
            #expect(left[i] == c * a[i])
            #expect(right[i] == a[i] * c)
            #expect(quotient[i] == a[i] / c)
            #expect(accumulated[i] == a[i] + b[i])
            #expect(reduced[i] == a[i] - b[i])
        }
        #expect(sum.shape == a.shape)
    }

    @Test func normsMatchDefinitions() {
        var g = LCG(seed: 2)
        let a = g.tensor([3, 4, 2])
        let sumOfSquares = a.storage.reduce(0) { $0 + $1 * $1 }
        #expect(abs(a.frobeniusNorm - sumOfSquares.squareRoot()) <= 1e-15 * sumOfSquares.squareRoot())
        #expect(a.maxAbs == a.storage.map { abs($0) }.max()!)
        // Scaling keeps huge and tiny entries from overflowing or underflowing.
        let huge = Tensor(vector: [3e200, 4e200])
        #expect(abs(huge.frobeniusNorm - 5e200) <= 1e-15 * 5e200)
        let tiny = Tensor(vector: [3e-200, 4e-200])
        #expect(abs(tiny.frobeniusNorm - 5e-200) <= 1e-15 * 5e-200)
        #expect(Tensor.zeros([2, 2]).frobeniusNorm == 0)

        let b = g.tensor([3, 4, 2])
        let expected = (a - b).frobeniusNorm / b.frobeniusNorm
        #expect(abs(a.relativeError(to: b) - expected) <= 1e-15 * expected)
        #expect(a.relativeError(to: a) == 0)
        #expect(Tensor.zeros([2]).relativeError(to: .zeros([2])) == 0)
        #expect(Tensor(vector: [1, 0]).relativeError(to: .zeros([2])) == .infinity)
        // The plain sums (a length that leaves a tail after the four-wide loop) agree with the
        // scaled norms; sums outside the normal range take the scaled path and stay exact.
        let long = g.tensor([1001]), other = g.tensor([1001])
        let scaled = (long - other).frobeniusNorm / other.frobeniusNorm
        #expect(abs(long.relativeError(to: other) - scaled) <= 1e-15 * scaled)
        #expect(abs(Tensor(vector: [3e200, 4e200]).relativeError(to: Tensor(vector: [0, 4e200])) - 0.75) <= 1e-15)
        #expect(abs(Tensor(vector: [3e-200, 4e-200]).relativeError(to: Tensor(vector: [0, 4e-200])) - 0.75) <= 1e-15)
        #expect(Tensor(vector: [.nan, 1]).relativeError(to: Tensor(vector: [1, 1])).isNaN)
    }

    @Test func matrixHelpersMatchIndexLoops() {
        var g = LCG(seed: 3)
        let m = g.tensor([3, 5])
        let t = m.transposed()
        #expect(t.shape == [5, 3])
        for i in 0..<3 {
            for j in 0..<5 { #expect(t[j, i] == m[i, j]) }
            #expect(m.row(i) == (0..<5).map { m[i, $0] })
        }
        for j in 0..<5 { #expect(m.column(j) == (0..<3).map { m[$0, j] }) }
        let v = g.vector(4)
        let d = Tensor.diagonal(v)
        for i in allIndices([4, 4]) { #expect(d[i] == (i[0] == i[1] ? v[i[0]] : 0)) }
    }

    // MARK: Outer products

    @Test func outerProductsMatchIndexLoops() {
        var g = LCG(seed: 4)
        let a = g.tensor([2, 3]), b = g.tensor([4])
        let ab = Tensor.outer(a, b)
        #expect(ab.shape == [2, 3, 4])
        for i in allIndices(ab.shape) { #expect(ab[i] == a[i[0], i[1]] * b[i[2]]) }

        let u = g.vector(2), v = g.vector(3), w = g.vector(2)
        let uvw = Tensor.outer([u, v, w])
        #expect(uvw.shape == [2, 3, 2])
        for i in allIndices(uvw.shape) { #expect(uvw[i] == u[i[0]] * v[i[1]] * w[i[2]]) }

        let cube = Tensor.outerPower(u, 3)
        #expect(cube.shape == [2, 2, 2])
        for i in allIndices(cube.shape) { #expect(cube[i] == u[i[0]] * u[i[1]] * u[i[2]]) }
        let one = Tensor.outerPower(u, 0)
        #expect(one.shape == [] && one.storage == [1])
        #expect(Tensor.outer([]) == Tensor(scalar: 1))
    }

    // MARK: Multilinear form (paper eq. 4–5)

    @Test func multilinearWithMatricesMatchesBruteForceSum() {
        var g = LCG(seed: 5)
        let t = g.tensor([3, 4, 2])
        let m1 = g.tensor([3, 2]), m2 = g.tensor([4, 5]), m3 = g.tensor([2, 3])
        let result = t.multilinear([.matrix(m1), .matrix(m2), .matrix(m3)])
        let expected = Tensor(shape: [2, 5, 3]) { i in
            var sum = 0.0
            for j in allIndices(t.shape) {
                sum += t[j] * m1[j[0], i[0]] * m2[j[1], i[1]] * m3[j[2], i[2]]
            }
            return sum
        }
        #expect(result.shape == [2, 5, 3])
        #expect(result.relativeError(to: expected) <= 1e-14)
    }

    @Test func multilinearMixedArgumentsMatchBruteForceSum() {
        var g = LCG(seed: 6)
        let t = g.tensor([3, 2, 4, 3])
        let v = g.vector(2), m = g.tensor([4, 2]), w = g.vector(3)
        // T(I, v, M, w) has shape [3, 2]: modes 1 and 3 are contracted away.
        let result = t.multilinear([.identity, .vector(v), .matrix(m), .vector(w)])
        let expected = Tensor(shape: [3, 2]) { i in
            var sum = 0.0
            for j1 in 0..<2 {
                for j2 in 0..<4 {
                    for j3 in 0..<3 { sum += t[i[0], j1, j2, j3] * v[j1] * m[j2, i[1]] * w[j3] }
                }
            }
            return sum
        }
        #expect(result.shape == [3, 2])
        #expect(result.relativeError(to: expected) <= 1e-14)

        // Full contraction to a scalar.
        let x = g.vector(3), y = g.vector(2), z = g.vector(4)
        var direct = 0.0
        for j in allIndices(t.shape) { direct += t[j] * x[j[0]] * y[j[1]] * z[j[2]] * w[j[3]] }
        let value = t.contracted(withVectors: [x, y, z, w])
        #expect(abs(value - direct) <= 1e-14 * t.storage.map { abs($0) }.reduce(0, +))
        #expect(t.multilinear([.vector(x), .vector(y), .vector(z), .vector(w)]).shape == [])
    }

    @Test func multilinearWithIdentityReturnsTheTensor() {
        var g = LCG(seed: 7)
        let t = g.tensor([3, 2, 4])
        #expect(t.multilinear([.identity, .identity, .identity]) == t)
        let viaMatrices = t.multilinear([.matrix(.identity(3)), .matrix(.identity(2)), .matrix(.identity(4))])
        #expect(viaMatrices.shape == t.shape)
        #expect(viaMatrices.relativeError(to: t) <= 1e-15)
    }

    @Test func vectorContractionEqualsOneColumnMatrixContraction() {
        var g = LCG(seed: 8)
        let t = g.tensor([3, 4, 2])
        let v = g.vector(4), m = g.tensor([2, 3])
        let byVector = t.multilinear([.identity, .vector(v), .matrix(m)])
        let column = Tensor(shape: [4, 1], storage: v)
        let byMatrix = t.multilinear([.identity, .matrix(column), .matrix(m)])
        #expect(byVector.shape == [3, 3])
        #expect(byMatrix.shape == [3, 1, 3])
        #expect(byVector.relativeError(to: byMatrix.reshaped([3, 3])) <= 1e-15)
    }

    @Test func multilinearContractsColumnsNotRows() {
        // A deliberately non-square, non-symmetric case where the row/column reading matters:
        // for a matrix T, T(M1, M2) = M1ᵀ T M2.
        var g = LCG(seed: 9)
        let t = g.tensor([3, 4]), m1 = g.tensor([3, 2]), m2 = g.tensor([4, 5])
        let expected = matmul(matmul(m1, t, transposeA: true), m2)
        #expect(t.multilinear([.matrix(m1), .matrix(m2)]).relativeError(to: expected) <= 1e-14)
    }

    // MARK: Permutations (Lemma 1)

    @Test func permutationMatchesNumpyConventionAndRoundTrips() {
        var g = LCG(seed: 10)
        let t = g.tensor([2, 3, 4, 5])
        for perm in allPermutations(4) {
            let p = t.permuted(perm)
            #expect(p.shape == perm.map { t.shape[$0] })
            #expect(p == bruteForcePermute(t, perm))
            var inversePerm = [Int](repeating: 0, count: 4)
            for k in 0..<4 { inversePerm[perm[k]] = k }
            #expect(p.permuted(inversePerm) == t)
        }
        let scalar = Tensor(scalar: 2.5)
        #expect(scalar.permuted([]) == scalar)
    }

    @Test func productRulePermutationIsLemmaOne() {
        #expect(Tensor.productRulePermutation(p1: 2, p2: 3) == [0, 1, 3, 4, 5, 2])
        #expect(Tensor.productRulePermutation(p1: 0, p2: 2) == [1, 2, 0])
        #expect(Tensor.productRulePermutation(p1: 1, p2: 0) == [0, 1])

        // Lemma 1 on F(x) = A x (p1 = 1) and G(x) = (B x) ⊗ (C x) (p2 = 2), derivative mode last:
        // ∇(F ⊗ G)[i, j, k, d] = A[i, d] G[j, k] + F[i] (B[j, d] (Cx)_k + (Bx)_j C[k, d]).
        var g = LCG(seed: 11)
        let a = g.tensor([2, 3]), b = g.tensor([3, 3]), c = g.tensor([2, 3])
        let x = g.vector(3)
        let f = matvec(a, x), bx = matvec(b, x), cx = matvec(c, x)
        let gValue = Tensor.outer([bx, cx])
        let gradientG = Tensor(shape: [3, 2, 3]) { i in b[i[0], i[2]] * cx[i[1]] + bx[i[0]] * c[i[1], i[2]] }
        let bruteForce = Tensor(shape: [2, 3, 2, 3]) { i in
            a[i[0], i[3]] * gValue[i[1], i[2]] + f[i[0]] * gradientG[i[1], i[2], i[3]]
        }
        let perm = Tensor.productRulePermutation(p1: 1, p2: 2)
        let lemma = Tensor.outer(a, gValue).permuted(perm) + Tensor.outer(Tensor(vector: f), gradientG)
        #expect(lemma.relativeError(to: bruteForce) <= 1e-15)
    }

    // MARK: Reshape (§2.1), matricization (eq. 1)

    @Test func reshapeByModeGroupsMatchesBruteForce() {
        var g = LCG(seed: 12)
        let t = g.tensor([2, 3, 4, 2])
        let groups = [[2, 0], [3, 1]]
        let r = t.reshapedByModeGroups(groups)
        #expect(r.shape == [8, 6])
        for i in allIndices(t.shape) {
            let row = i[2] * 2 + i[0]      // row-major flattening of (mode 2, mode 0)
            let column = i[3] * 3 + i[1]   // row-major flattening of (mode 3, mode 1)
            #expect(r[row, column] == t[i])
        }
        // The paper's Reshape(T, [1 2], [3 4]) keeps the storage order.
        #expect(t.reshapedByModeGroups([[0, 1], [2, 3]]) == t.reshaped([6, 8]))
        // Single-mode groups are a plain permutation.
        #expect(t.reshapedByModeGroups([[1], [3], [0], [2]]) == bruteForcePermute(t, [1, 3, 0, 2]))
    }

    @Test func matricizationFollowsEquationOne() {
        var g = LCG(seed: 13)
        let (d1, d2, d3) = (3, 4, 2)
        let t = g.tensor([d1, d2, d3])
        let m = t.matricized()
        #expect(m.shape == [d1, d2 * d3])
        // Eq. 1, 1-based T(i,j,l) = M(i, l + (j−1)d) with d = d3; 0-based column j·d3 + l.
        for i in allIndices(t.shape) { #expect(m[i[0], i[2] + i[1] * d3] == t[i]) }
        let four = g.tensor([2, 3, 2, 2])
        let m4 = four.matricized()
        #expect(m4.shape == [2, 12])
        for i in allIndices(four.shape) { #expect(m4[i[0], (i[1] * 2 + i[2]) * 2 + i[3]] == four[i]) }
    }

    @Test func wrongMatricizationFormulaIsDetected() {
        // The check above can fail: reading eq. 1 with the roles of j and l swapped
        // (column j + l·d2, column-major flattening) disagrees with the matricization.
        var g = LCG(seed: 14)
        let (d1, d2, d3) = (3, 4, 2)
        let t = g.tensor([d1, d2, d3])
        let m = t.matricized()
        let mismatches = allIndices(t.shape).filter { m[$0[0], $0[1] + $0[2] * d2] != t[$0] }
        #expect(mismatches.count > 0)
        // Likewise the inverse-permutation convention (new mode perm[k] is old mode k) differs
        // from numpy's for a 3-cycle, even on a cube where the shapes agree.
        let cube = g.tensor([3, 3, 3])
        #expect(cube.permuted([1, 2, 0]) != bruteForcePermute(cube, [2, 0, 1]))
        #expect(cube.permuted([1, 2, 0]) == bruteForcePermute(cube, [1, 2, 0]))
    }

    // MARK: Khatri–Rao (Definition 1)

    @Test func khatriRaoRowsMatchesDefinitionOne() {
        var g = LCG(seed: 15)
        let a = g.tensor([3, 2]), b = g.tensor([3, 4])
        let k = Tensor.khatriRaoRows(a, b)
        #expect(k.shape == [3, 8])
        for i in 0..<3 {
            for j in 0..<2 {
                for l in 0..<4 { #expect(k[i, j * 4 + l] == a[i, j] * b[i, l]) }
            }
            // Row i is a_i ⊗ b_i.
            #expect(k.row(i) == Tensor.outer([a.row(i), b.row(i)]).storage)
        }
    }

    // MARK: Symmetry

    @Test func symmetrizationMatchesAverageOverAllPermutations() {
        var g = LCG(seed: 16)
        let t = g.tensor([3, 3, 3, 3])
        var sum = Tensor.zeros(t.shape)
        let perms = allPermutations(4)
        for p in perms { sum += bruteForcePermute(t, p) }
        let expected = sum / Double(perms.count)
        let s = t.symmetrized()
        #expect(s.relativeError(to: expected) <= 1e-14)
        #expect(s.isSymmetric())
        #expect(!t.isSymmetric())
        #expect(s.symmetrized().relativeError(to: s) <= 1e-15)   // idempotent
    }

    @Test func partialSymmetrizationMatchesBruteForce() {
        var g = LCG(seed: 17)
        let t = g.tensor([3, 2, 3, 3])
        let modes = [0, 2, 3]
        var sum = Tensor.zeros(t.shape)
        for p in allPermutations(3) {
            var full = Array(0..<4)
            for k in 0..<3 { full[modes[k]] = modes[p[k]] }
            sum += bruteForcePermute(t, full)
        }
        let expected = sum / 6
        let s = t.symmetrized(modes: modes)
        #expect(s.relativeError(to: expected) <= 1e-14)
        #expect(s.symmetrized(modes: [3, 0]).relativeError(to: s) <= 1e-15)
        let pair = t.symmetrized(modes: [2, 3])
        #expect(pair.relativeError(to: (t + bruteForcePermute(t, [0, 1, 3, 2])) / 2) <= 1e-15)
        #expect(t.symmetrized(modes: [1]) == t)
    }

    @Test func symmetricConstructionsAreRecognized() {
        var g = LCG(seed: 18)
        var t = Tensor.zeros([3, 3, 3])
        for lambda in [1.5, -0.7] { t += lambda * Tensor.outerPower(g.vector(3), 3) }
        #expect(t.isSymmetric())
        #expect(t.symmetrized().relativeError(to: t) <= 1e-15)
        #expect(!Tensor.outer([g.vector(3), g.vector(3)]).isSymmetric())
        #expect(!g.tensor([2, 3]).isSymmetric())   // unequal mode lengths
        #expect(g.tensor([4]).isSymmetric())
    }
}
