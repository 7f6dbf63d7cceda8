// Elementwise arithmetic, norms and matrix helpers on `Tensor`.
//
// Operands of a binary operation must have the same shape: a mismatch is a programming
// error inside the project (never something a user's file can cause after validation),
// so it is checked with `precondition`.

extension Tensor {
    /// Applies `f` to corresponding entries of two tensors of equal shape.
    private static func zipEntries(_ lhs: Tensor, _ rhs: Tensor, _ name: String,
                           _ f: (Double, Double) -> Double) -> Tensor {
        precondition(lhs.shape == rhs.shape,
                     "Tensor \(name): shapes \(lhs.shape) and \(rhs.shape) differ")
        var out = lhs
        out.storage.withUnsafeMutableBufferPointer { o in
            rhs.storage.withUnsafeBufferPointer { r in
                for k in 0..<o.count { o[k] = f(o[k], r[k]) }
            }
        }
        return out
    }

    /// Applies `f` to every entry.
    private func mapEntries(_ f: (Double) -> Double) -> Tensor {
        var out = self
        out.storage.withUnsafeMutableBufferPointer { o in
            for k in 0..<o.count { o[k] = f(o[k]) }
        }
        return out
    }

    /// Elementwise sum of two tensors of equal shape.
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
        zipEntries(lhs, rhs, "+") { $0 + $1 }
    }

    /// Elementwise difference of two tensors of equal shape.
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
        zipEntries(lhs, rhs, "-") { $0 - $1 }
    }

    /// Elementwise negation.
    public static prefix func - (operand: Tensor) -> Tensor {
        operand.mapEntries { -$0 }
    }

    /// Every entry multiplied by a scalar.
    public static func * (lhs: Tensor, rhs: Double) -> Tensor {
        lhs.mapEntries { $0 * rhs }
    }

    /// Every entry multiplied by a scalar.
    public static func * (lhs: Double, rhs: Tensor) -> Tensor {
        rhs.mapEntries { lhs * $0 }
    }

    /// Every entry divided by a scalar.
    public static func / (lhs: Tensor, rhs: Double) -> Tensor {
        lhs.mapEntries { $0 / rhs }
    }

    /// Adds a tensor of equal shape in place.
    public static func += (lhs: inout Tensor, rhs: Tensor) {
        precondition(lhs.shape == rhs.shape,
                     "Tensor +=: shapes \(lhs.shape) and \(rhs.shape) differ")
        lhs.storage.withUnsafeMutableBufferPointer { o in
            rhs.storage.withUnsafeBufferPointer { r in
                for k in 0..<o.count { o[k] += r[k] }
            }
        }
    }

    /// Subtracts a tensor of equal shape in place.
    public static func -= (lhs: inout Tensor, rhs: Tensor) {
        precondition(lhs.shape == rhs.shape,
                     "Tensor -=: shapes \(lhs.shape) and \(rhs.shape) differ")
        lhs.storage.withUnsafeMutableBufferPointer { o in
            rhs.storage.withUnsafeBufferPointer { r in
                for k in 0..<o.count { o[k] -= r[k] }
            }
        }
    }

    /// Multiplies every entry by a scalar in place.
    public static func *= (lhs: inout Tensor, rhs: Double) {
        lhs.storage.withUnsafeMutableBufferPointer { o in
            for k in 0..<o.count { o[k] *= rhs }
        }
    }

    /// Divides every entry by a scalar in place.
    public static func /= (lhs: inout Tensor, rhs: Double) {
        lhs.storage.withUnsafeMutableBufferPointer { o in
            for k in 0..<o.count { o[k] /= rhs }
        }
    }

    /// The Frobenius norm `sqrt(Σ T_i²)`, computed with scaling so it neither overflows nor underflows.
    public var frobeniusNorm: Double {
        storage.withUnsafeBufferPointer { s in Tensor.scaledNorm(s.count) { s[$0] } }
    }

    /// `sqrt(Σ_k v(k)²)` for k < count, scaled by `max_k |v(k)|` (NaN if any v(k) is NaN; 0, +∞
    /// and NaN scales propagate). Two passes over v, no storage.
    @inline(__always)
    private static func scaledNorm(_ count: Int, _ v: (Int) -> Double) -> Double {
        var scale = 0.0
        for k in 0..<count {
            let x = v(k)
            if x.isNaN { return .nan }
            scale = Swift.max(scale, Swift.abs(x))
        }
        guard scale > 0, scale.isFinite else { return scale }
        var sum = 0.0
        for k in 0..<count {
            let r = v(k) / scale
            sum += r * r
        }
        return scale * sum.squareRoot()
    }

    /// `(Σ (a_k − b_k)², Σ b_k²)` in four interleaved running sums each (NaN in, NaN out).
    private static func sumsOfSquares(_ a: UnsafeBufferPointer<Double>, _ b: UnsafeBufferPointer<Double>) -> (Double, Double) {
        var d = SIMD4<Double>(), s = SIMD4<Double>()
        let count = a.count
        var k = 0
        while k + 4 <= count {
            let x = SIMD4(a[k], a[k + 1], a[k + 2], a[k + 3]), y = SIMD4(b[k], b[k + 1], b[k + 2], b[k + 3])
            let e = x - y
            d += e * e
            s += y * y
            k += 4
        }
        var dTail = 0.0, sTail = 0.0
        while k < count {
            let e = a[k] - b[k]
            dTail += e * e
            sTail += b[k] * b[k]
            k += 1
        }
        return (d.sum() + dTail, s.sum() + sTail)
    }

    /// The largest absolute entry (0 for an empty tensor; NaN if any entry is NaN).
    public var maxAbs: Double {
        var m = 0.0
        for x in storage {
            if x.isNaN { return .nan }
            m = Swift.max(m, Swift.abs(x))
        }
        return m
    }

    /// The relative error `‖self − reference‖_F / ‖reference‖_F` (0 when both are zero, +∞ when only the reference is).
    ///
    /// `(self − reference).frobeniusNorm / reference.frobeniusNorm` to rounding (plain sums of
    /// squares when they stay in the normal range, the scaled norms otherwise), without storing
    /// the difference.
    public func relativeError(to reference: Tensor) -> Double {
        precondition(shape == reference.shape, "Tensor -: shapes \(shape) and \(reference.shape) differ")
        // Plain sums of squares (four running sums) when they neither overflow nor leave the
        // normal range — the same quotient up to rounding; the scaled norms otherwise.
        let (plainDifference, plainSize) = storage.withUnsafeBufferPointer { a in
            reference.storage.withUnsafeBufferPointer { b in Tensor.sumsOfSquares(a, b) }
        }
        let normal = 1e-280...1e280
        if normal.contains(plainDifference), normal.contains(plainSize) {
            return (plainDifference / plainSize).squareRoot()
        }
        let (difference, size) = storage.withUnsafeBufferPointer { a in
            reference.storage.withUnsafeBufferPointer { b in
                (Tensor.scaledNorm(a.count) { a[$0] - b[$0] }, Tensor.scaledNorm(b.count) { b[$0] })
            }
        }
        if size == 0 { return difference == 0 ? 0 : .infinity }
        return difference / size
    }

    /// The transpose of a matrix.
    public func transposed() -> Tensor {
        precondition(order == 2, "Tensor.transposed: needs a matrix, got shape \(shape)")
        let rows = shape[0], columns = shape[1]
        var out = Tensor.zeros([columns, rows])
        storage.withUnsafeBufferPointer { s in
            out.storage.withUnsafeMutableBufferPointer { o in
                for i in 0..<rows {
                    for j in 0..<columns { o[j * rows + i] = s[i * columns + j] }
                }
            }
        }
        return out
    }

    /// Row `i` of a matrix.
    public func row(_ i: Int) -> [Double] {
        precondition(order == 2, "Tensor.row: needs a matrix, got shape \(shape)")
        precondition(i >= 0 && i < shape[0], "Tensor.row: row \(i) out of \(shape[0])")
        let columns = shape[1]
        return Array(storage[(i * columns)..<((i + 1) * columns)])
    }

    /// Column `j` of a matrix.
    public func column(_ j: Int) -> [Double] {
        precondition(order == 2, "Tensor.column: needs a matrix, got shape \(shape)")
        precondition(j >= 0 && j < shape[1], "Tensor.column: column \(j) out of \(shape[1])")
        let columns = shape[1]
        return (0..<shape[0]).map { storage[$0 * columns + j] }
    }

    /// The square matrix with `v` on its diagonal and zeros elsewhere.
    public static func diagonal(_ v: [Double]) -> Tensor {
        let d = v.count
        var out = Tensor.zeros([d, d])
        for i in 0..<d { out.storage[i * d + i] = v[i] }
        return out
    }
}
