// Dense linear algebra on row-major `Tensor` matrices through BLAS (OpenBLAS's CBLAS) and
// LAPACK (LAPACKE, `LAPACK_ROW_MAJOR`). This file holds the error type, the BLAS thread
// setting and the BLAS products; decompositions and solvers are in the sibling files.
//
// Failures a user's input can cause (wrong shape, NaN or ∞ entries, a singular or
// indefinite matrix, no convergence) are thrown as `LinearAlgebraError`. Shape mismatches
// between operands of the products (`matmul`, `matvec`, `dot`) are programming errors
// inside the project and are checked with `precondition`.

import CLapack

/// A failure of a BLAS/LAPACK routine: the routine and why, in one line.
public typealias LinearAlgebraError = RoutineError<LinearAlgebraFailure>

/// What went wrong in a linear-algebra routine.
public enum LinearAlgebraFailure: String, Sendable, Equatable {
    /// The input is not a matrix, or not square, or the operands do not fit together.
    case wrongShape
    /// The input has NaN or infinite entries.
    case nonFiniteInput
    /// The matrix should be symmetric and is not.
    case notSymmetric
    /// The matrix is singular (exactly or to working precision).
    case singular
    /// The matrix is not (numerically) positive definite.
    case notPositiveDefinite
    /// An iterative LAPACK routine did not converge.
    case noConvergence
    /// LAPACK rejected an argument or could not allocate its workspace.
    case internalFailure
}

// MARK: - BLAS threads

/// OpenBLAS is held to one thread. The project parallelizes itself at a coarser grain
/// (moment accumulation over batches of windows, independent restarts); OpenBLAS's own
/// threads would compete with that for cores, and on the small matrices used here they
/// cost more in start-up and synchronization than they gain. The Debian build is the
/// pthreads variant, where the setting is process-wide. It starts its server threads when
/// the library is loaded, and each spins in `sched_yield` for its timeout (about 0.1 s) before
/// it sleeps — on two cores, a tenth of a second taken from the moment accumulation. With one
/// thread they are never used, so they are stopped (`blas_thread_shutdown_`; a threaded call
/// would start them again, and none is made). Stopping them waits for each to wake and exit
/// (about 4 ms). It is done here, on the calling thread: on a thread of its own it could still
/// be running when the program exits, and OpenBLAS's own shutdown at exit would then stop
/// the same threads a second time. A global `let` is initialized lazily and exactly once
/// (thread-safe), at the first BLAS or LAPACK call made here or at `holdBLASToOneThread()`.
private let blasSingleThreaded: Bool = {
    openblas_set_num_threads(1)
    _ = blas_thread_shutdown_()
    return true
}()

/// Makes sure OpenBLAS has been set to one thread before a BLAS or LAPACK call.
@inline(__always)
func ensureBLASConfigured() {
    _ = blasSingleThreaded
}

/// Sets OpenBLAS to one thread and stops its idle server threads now, rather than at the
/// first BLAS call: programs call it first, so that the threads do not spin while they work.
public func holdBLASToOneThread() {
    ensureBLASConfigured()
}

// MARK: - Shared helpers for LAPACK wrappers

/// LAPACK character argument.
@inline(__always)
func lapackChar(_ c: Unicode.Scalar) -> CChar {
    CChar(UInt8(ascii: c))
}

/// Throws unless `a` is a matrix with finite entries; returns (rows, columns).
func requireMatrix(_ a: Tensor, _ routine: String, _ what: String = "matrix") throws -> (Int, Int) {
    guard a.order == 2 else {
        throw LinearAlgebraError(routine: routine, kind: .wrongShape,
                                 message: "\(what) must be a matrix (order 2), got shape \(a.shape)")
    }
    guard a.shape[0] <= Int(Int32.max), a.shape[1] <= Int(Int32.max),
          a.count <= Int(Int32.max) else {
        throw LinearAlgebraError(routine: routine, kind: .wrongShape,
                                 message: "\(what) of shape \(a.shape) is too large for 32-bit LAPACK")
    }
    guard a.isFinite else {
        throw LinearAlgebraError(routine: routine, kind: .nonFiniteInput,
                                 message: "\(what) of shape \(a.shape) has NaN or infinite entries")
    }
    return (a.shape[0], a.shape[1])
}

/// Throws unless `a` is a square matrix with finite entries; returns its size.
func requireSquare(_ a: Tensor, _ routine: String, _ what: String = "matrix") throws -> Int {
    let (m, n) = try requireMatrix(a, routine, what)
    guard m == n else {
        throw LinearAlgebraError(routine: routine, kind: .wrongShape,
                                 message: "\(what) must be square, got shape \(a.shape)")
    }
    return n
}

/// The error for a negative LAPACK `info` (an illegal argument or a workspace allocation failure).
func lapackArgumentError(_ routine: String, _ lapackName: String, _ info: Int32) -> LinearAlgebraError {
    if info == Int32(LAPACK_WORK_MEMORY_ERROR) || info == Int32(LAPACK_TRANSPOSE_MEMORY_ERROR) {
        return LinearAlgebraError(routine: routine, kind: .internalFailure,
                                  message: "\(lapackName) could not allocate its workspace")
    }
    return LinearAlgebraError(routine: routine, kind: .internalFailure,
                              message: "\(lapackName) rejected argument \(-info) (info = \(info))")
}

// MARK: - BLAS products

/// `C = op(A) · op(B)` on raw row-major buffers (`op` = transpose or not); C is overwritten,
/// or with `accumulate` the product is added to it.
///
/// `m × k` times `k × n`; `lda`, `ldb`, `ldc` are the row lengths of the stored arrays.
@inline(__always)
func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
          _ a: UnsafePointer<Double>, lda: Int,
          _ b: UnsafePointer<Double>, ldb: Int,
          _ c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool = false) {
    ensureBLASConfigured()
    cblas_dgemm(CblasRowMajor,
                transposeA ? CblasTrans : CblasNoTrans,
                transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k),
                1.0, a, Int32(Swift.max(1, lda)),
                b, Int32(Swift.max(1, ldb)),
                accumulate ? 1.0 : 0.0, c, Int32(Swift.max(1, ldc)))
}

/// The matrix product `op(a) · op(b)`, `op` transposing when asked (BLAS dgemm).
public func matmul(_ a: Tensor, _ b: Tensor,
                   transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.order == 2 && b.order == 2,
                 "matmul: needs two matrices, got shapes \(a.shape) and \(b.shape)")
    let (m, ka) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let (kb, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    precondition(ka == kb, "matmul: inner sizes differ, \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
    var c = Tensor.zeros([m, n])
    guard m > 0, n > 0, ka > 0 else { return c }
    a.storage.withUnsafeBufferPointer { pa in
        b.storage.withUnsafeBufferPointer { pb in
            c.storage.withUnsafeMutableBufferPointer { pc in
                gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: ka,
                     pa.baseAddress!, lda: a.shape[1], pb.baseAddress!, ldb: b.shape[1],
                     pc.baseAddress!, ldc: n)
            }
        }
    }
    return c
}

/// The matrix–vector product `op(a) · x` (BLAS dgemv).
public func matvec(_ a: Tensor, _ x: [Double], transpose: Bool = false) -> [Double] {
    precondition(a.order == 2, "matvec: needs a matrix, got shape \(a.shape)")
    let rows = a.shape[0], columns = a.shape[1]
    let (outCount, inCount) = transpose ? (columns, rows) : (rows, columns)
    precondition(x.count == inCount,
                 "matvec: vector of length \(x.count) for matrix \(a.shape)\(transpose ? "ᵀ" : "")")
    var y = [Double](repeating: 0, count: outCount)
    guard rows > 0, columns > 0 else { return y }
    ensureBLASConfigured()
    a.storage.withUnsafeBufferPointer { pa in
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                cblas_dgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans,
                            Int32(rows), Int32(columns), 1.0, pa.baseAddress, Int32(columns),
                            px.baseAddress, 1, 0.0, py.baseAddress, 1)
            }
        }
    }
    return y
}

/// The inner product `Σ a_i b_i` of two vectors of equal length (BLAS ddot).
public func dot(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "dot: lengths \(a.count) and \(b.count) differ")
    guard !a.isEmpty else { return 0 }
    ensureBLASConfigured()
    return a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            cblas_ddot(Int32(a.count), pa.baseAddress, 1, pb.baseAddress, 1)
        }
    }
}
