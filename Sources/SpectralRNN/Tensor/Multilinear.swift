// Multilinear algebra on `Tensor`: outer products, the multilinear form of paper eq. 4–5,
// mode permutations (Lemma 1), reshaping by mode groups (§2.1), matricization (eq. 1),
// the row-wise Khatri–Rao product (Definition 1) and symmetrization.
//
// Mode numbers are 0-based in code; the paper counts from 1. Mismatched operand shapes
// are programming errors inside the project and are checked with `precondition`.

/// One argument of the multilinear form `T(M1, …, Mk)` (paper eq. 4–5), one per mode.
public enum MultilinearArgument: Sendable, Equatable {
    /// Leave the mode as it is (`Mi = I`).
    case identity
    /// Contract the mode with the columns of a `shape[mode] × d′` matrix; the mode gets length `d′`.
    case matrix(Tensor)
    /// Contract the mode with a vector of length `shape[mode]`; the mode disappears.
    case vector([Double])
}

extension Tensor {
    // MARK: Outer products

    /// The outer product `a ⊗ b`, of shape `a.shape + b.shape`: `(a⊗b)[i, j] = a[i] · b[j]`.
    public static func outer(_ a: Tensor, _ b: Tensor) -> Tensor {
        let nb = b.count
        var out = Tensor.zeros(a.shape + b.shape)
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                out.storage.withUnsafeMutableBufferPointer { po in
                    for i in 0..<pa.count {
                        let ai = pa[i], base = i * nb
                        for j in 0..<nb { po[base + j] = ai * pb[j] }
                    }
                }
            }
        }
        return out
    }

    /// The outer product `v1 ⊗ v2 ⊗ ⋯ ⊗ vk` of vectors (the scalar 1 for an empty list).
    public static func outer(_ vectors: [[Double]]) -> Tensor {
        vectors.reduce(Tensor(scalar: 1)) { outer($0, Tensor(vector: $1)) }
    }

    /// The outer power `v^{⊗m}` (paper §2.1); `m = 0` gives the scalar 1.
    public static func outerPower(_ v: [Double], _ m: Int) -> Tensor {
        precondition(m >= 0, "Tensor.outerPower: negative power \(m)")
        return outer([[Double]](repeating: v, count: m))
    }

    // MARK: Multilinear form

    /// Contracts mode `mode` with the columns of a `shape[mode] × columns` row-major matrix.
    ///
    /// Viewing the tensor as `L × n × R` (modes before, the mode, modes after), the result is
    /// `L × columns × R` with `out[l, i, r] = Σ_j T[l, j, r] M[j, i]`: one dgemm when `R = 1`,
    /// otherwise one dgemm `Mᵀ · T_l` per slice `l`.
    func contractingMode(_ mode: Int, matrix: [Double], columns: Int) -> Tensor {
        let n = shape[mode]
        precondition(matrix.count == n * columns,
                     "Tensor.multilinear: matrix for mode \(mode) must have \(n) rows")
        let left = shape[..<mode].reduce(1, *)
        let right = shape[(mode + 1)...].reduce(1, *)
        var newShape = shape
        newShape[mode] = columns
        var out = Tensor.zeros(newShape)
        guard out.count > 0, n > 0 else { return out }
        storage.withUnsafeBufferPointer { pt in
            matrix.withUnsafeBufferPointer { pm in
                out.storage.withUnsafeMutableBufferPointer { po in
                    let t = pt.baseAddress!, mat = pm.baseAddress!, o = po.baseAddress!
                    if right == 1 {
                        gemm(transposeA: false, transposeB: false, m: left, n: columns, k: n,
                             t, lda: n, mat, ldb: columns, o, ldc: columns)
                    } else {
                        for l in 0..<left {
                            gemm(transposeA: true, transposeB: false, m: columns, n: right, k: n,
                                 mat, lda: columns, t + l * n * right, ldb: right,
                                 o + l * columns * right, ldc: right)
                        }
                    }
                }
            }
        }
        return out
    }

    /// The multilinear form `T(M1, …, Mk)_{i1…ik} = Σ_j T_{j1…jk} M1(j1,i1) ⋯ Mk(jk,ik)` (paper eq. 4–5).
    ///
    /// One argument per mode. Vector arguments contract their mode away, so `T(I, v, w)` is a
    /// vector. Computed as a sequence of single-mode contractions (BLAS dgemm), the ones that
    /// shrink the tensor most first.
    public func multilinear(_ args: [MultilinearArgument]) -> Tensor {
        precondition(args.count == order,
                     "Tensor.multilinear: \(args.count) arguments for a tensor of order \(order)")
        struct Step { let mode: Int; let matrix: [Double]; let columns: Int }
        var steps: [Step] = []
        var dropped: [Bool] = Array(repeating: false, count: order)
        for (mode, arg) in args.enumerated() {
            switch arg {
            case .identity:
                continue
            case .matrix(let m):
                precondition(m.order == 2 && m.shape[0] == shape[mode],
                             "Tensor.multilinear: mode \(mode) has length \(shape[mode]), matrix has shape \(m.shape)")
                steps.append(Step(mode: mode, matrix: m.storage, columns: m.shape[1]))
            case .vector(let v):
                precondition(v.count == shape[mode],
                             "Tensor.multilinear: mode \(mode) has length \(shape[mode]), vector has \(v.count)")
                steps.append(Step(mode: mode, matrix: v, columns: 1))
                dropped[mode] = true
            }
        }
        // Contract the modes that shrink the tensor most first (ties: lower mode first).
        func ratio(_ s: Step) -> Double {
            shape[s.mode] == 0 ? 0 : Double(s.columns) / Double(shape[s.mode])
        }
        steps.sort { (ratio($0), $0.mode) < (ratio($1), $1.mode) }
        var result = self
        for s in steps {
            result = result.contractingMode(s.mode, matrix: s.matrix, columns: s.columns)
        }
        let finalShape = result.shape.indices.filter { !dropped[$0] }.map { result.shape[$0] }
        return result.reshaped(finalShape)
    }

    /// The full contraction `T(v1, …, vk)` with one vector per mode (paper eq. 4–5).
    public func contracted(withVectors vectors: [[Double]]) -> Double {
        multilinear(vectors.map { .vector($0) }).storage[0]
    }

    // MARK: Permutations and reshapes

    /// The modes rearranged, numpy `transpose` convention: new mode `k` is old mode `perm[k]`.
    public func permuted(_ perm: [Int]) -> Tensor {
        precondition(perm.count == order && perm.sorted() == Array(0..<order),
                     "Tensor.permuted: \(perm) is not a permutation of 0..<\(order)")
        if perm == Array(0..<order) { return self }
        let newShape = perm.map { shape[$0] }
        let oldStrides = strides
        let source = perm.map { oldStrides[$0] }   // step in storage per step of new mode k
        var out = Tensor.zeros(newShape)
        let total = count
        guard total > 0 else { return out }
        let last = order - 1
        let innerLength = newShape[last], innerStride = source[last]
        storage.withUnsafeBufferPointer { s in
            out.storage.withUnsafeMutableBufferPointer { o in
                var index = [Int](repeating: 0, count: order)
                var base = 0
                var position = 0
                while position < total {
                    var offset = base
                    for _ in 0..<innerLength {
                        o[position] = s[offset]
                        offset += innerStride
                        position += 1
                    }
                    // Odometer over the outer modes 0..<last.
                    var m = last - 1
                    while m >= 0 {
                        index[m] += 1
                        base += source[m]
                        if index[m] < newShape[m] { break }
                        base -= source[m] * newShape[m]
                        index[m] = 0
                        m -= 1
                    }
                }
            }
        }
        return out
    }

    /// Lemma 1's mode permutation ⟨π⟩ for `∇(F ⊗ G) = (∇F ⊗ G)^{⟨π⟩} + F ⊗ ∇G`, 0-based, for `permuted(_:)`.
    ///
    /// `∇F ⊗ G` has modes (F's p1 modes, the derivative mode, G's p2 modes); the paper's
    /// 1-based `π = [1, …, p1, p1+2, …, p1+p2+1, p1+1]` moves mode `p1+1` (the derivative)
    /// to the last place. Read as "new mode k is old mode π_k", this is exactly the numpy
    /// convention of `permuted`, so the result is `π − 1`:
    /// `[0, …, p1−1, p1+1, …, p1+p2, p1]`.
    public static func productRulePermutation(p1: Int, p2: Int) -> [Int] {
        precondition(p1 >= 0 && p2 >= 0, "Tensor.productRulePermutation: negative order")
        return Array(0..<p1) + Array((p1 + 1)..<(p1 + p2 + 1)) + [p1]
    }

    /// The paper's `Reshape(T, v1, …, vl)` (§2.1): mode `i` of the result flattens, row-major, the modes in `groups[i]`.
    ///
    /// The groups partition `0..<order`; a group may list any modes in any order (the tensor
    /// is permuted to the concatenated group order, then reshaped).
    public func reshapedByModeGroups(_ groups: [[Int]]) -> Tensor {
        let perm = groups.flatMap { $0 }
        precondition(perm.sorted() == Array(0..<order),
                     "Tensor.reshapedByModeGroups: \(groups) do not partition the modes 0..<\(order)")
        let newShape = groups.map { group in group.reduce(1) { $0 * shape[$1] } }
        return permuted(perm).reshaped(newShape)
    }

    /// Matricization (paper eq. 1): mode 1 as rows, the other modes flattened row-major, `T(i,j,l) = M(i, l + (j−1)d)`.
    public func matricized() -> Tensor {
        precondition(order >= 1, "Tensor.matricized: needs order ≥ 1")
        return reshaped([shape[0], shape[1...].reduce(1, *)])
    }

    /// The row-wise Khatri–Rao product (paper Definition 1): row `i` of `A ⊙ B` is `a_i ⊗ b_i`.
    public static func khatriRaoRows(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.order == 2 && b.order == 2 && a.shape[0] == b.shape[0],
                     "Tensor.khatriRaoRows: needs matrices with equal row counts, got \(a.shape), \(b.shape)")
        let rows = a.shape[0], p = a.shape[1], q = b.shape[1]
        var out = Tensor.zeros([rows, p * q])
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                out.storage.withUnsafeMutableBufferPointer { po in
                    for i in 0..<rows {
                        for j in 0..<p {
                            let aij = pa[i * p + j], base = i * p * q + j * q
                            for k in 0..<q { po[base + k] = aij * pb[i * q + k] }
                        }
                    }
                }
            }
        }
        return out
    }

    // MARK: Symmetry

    /// The average of the tensor over all permutations of its modes (all modes of equal length).
    public func symmetrized() -> Tensor {
        symmetrized(modes: Array(0..<order))
    }

    /// The average over all permutations of the listed modes, the other modes held in place.
    ///
    /// Uses the coset decomposition `S_{k+1} = S_k · {id, (0 k), …, (k−1 k)}`: symmetrizing the
    /// first k listed modes and then averaging over the k+1 transpositions with the next one
    /// takes O(k²) permutations instead of k!.
    public func symmetrized(modes: [Int]) -> Tensor {
        precondition(Set(modes).count == modes.count && modes.allSatisfy { $0 >= 0 && $0 < order },
                     "Tensor.symmetrized: \(modes) are not distinct modes of an order-\(order) tensor")
        guard let first = modes.first else { return self }
        precondition(modes.allSatisfy { shape[$0] == shape[first] },
                     "Tensor.symmetrized: modes \(modes) of shape \(shape) differ in length")
        var result = self
        for k in 1..<Swift.max(1, modes.count) {
            var sum = result
            for i in 0..<k {
                var perm = Array(0..<order)
                perm.swapAt(modes[i], modes[k])
                sum += result.permuted(perm)
            }
            result = sum / Double(k + 1)
        }
        return result
    }

    /// True when all modes have equal length and every transposition of modes changes no
    /// entry by more than `tolerance · maxAbs`.
    public func isSymmetric(tolerance: Double = 1e-12) -> Bool {
        guard order >= 2 else { return true }
        guard shape.allSatisfy({ $0 == shape[0] }) else { return false }
        let bound = tolerance * maxAbs
        // Adjacent transpositions generate all permutations.
        for k in 0..<(order - 1) {
            var perm = Array(0..<order)
            perm.swapAt(k, k + 1)
            let swapped = permuted(perm)
            for (x, y) in zip(storage, swapped.storage) where !(Swift.abs(x - y) <= bound) {
                return false
            }
        }
        return true
    }
}
