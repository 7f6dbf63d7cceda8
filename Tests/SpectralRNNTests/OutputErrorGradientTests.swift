import Foundation
import Testing
@testable import SpectralRNN

/// A number with a derivative along one direction (forward-mode differentiation): an
/// implementation of the derivative independent of the backward pass under test.
private struct Dual {
    var value: Double
    var slope: Double
    init(_ value: Double, _ slope: Double = 0) {
        self.value = value
        self.slope = slope
    }
    static func + (a: Dual, b: Dual) -> Dual { Dual(a.value + b.value, a.slope + b.slope) }
    static func - (a: Dual, b: Dual) -> Dual { Dual(a.value - b.value, a.slope - b.slope) }
    static func * (a: Dual, b: Dual) -> Dual { Dual(a.value * b.value, a.slope * b.value + a.value * b.slope) }
}

/// The model's parameters moved by s along (dA1, dU, dA2), as dual numbers at s = 0.
private struct Direction {
    let a1: Tensor, u: Tensor, a2: Tensor

    init(_ model: IORNN, seed: UInt64) {
        var rng = RandomStream(seed: seed, purpose: "gradient test direction")
        a1 = rng.gaussianTensor(model.a1.shape)
        u = rng.gaussianTensor(model.u.shape)
        a2 = rng.gaussianTensor(model.a2.shape)
    }

    /// ⟨gradient, direction⟩.
    func dot(_ g: OutputErrorGradient) -> Double {
        zip(g.a1!.storage, a1.storage).reduce(0) { $0 + $1.0 * $1.1 }
            + zip(g.u!.storage, u.storage).reduce(0) { $0 + $1.0 * $1.1 }
            + zip(g.a2!.storage, a2.storage).reduce(0) { $0 + $1.0 * $1.1 }
    }

    func moved(_ model: IORNN, by s: Double) throws -> IORNN {
        try IORNN(a1: model.a1 + a1 * s, u: model.u + u * s, a2: model.a2 + a2 * s, coefficients: model.coefficients)
    }
}

/// d/ds of the mean squared output error at s = 0 along `direction`, by dual numbers (forward mode).
private func directionalDerivative(_ model: IORNN, _ direction: Direction, x: Tensor, y: Tensor) -> (loss: Double, slope: Double) {
    let (windows, n) = (x.shape[0], x.shape[1]), dy = model.outputDimension
    var total = Dual(0)
    for w in 0..<windows {
        let outputs = dualOutputs(model, direction, x: x, window: w, reversed: false)
        for t in 0..<n {
            for o in 0..<dy {
                let e = outputs[t][o] - Dual(y[w, t, o])
                total = total + e * e
            }
        }
    }
    let pairs = Double(windows * n)
    return (total.value / pairs, total.slope / pairs)
}

/// One side's outputs ŷ_t (n × dy, in the window's time order) as dual numbers along `direction`,
/// run forward in time, or backward from the window's end.
private func dualOutputs(_ model: IORNN, _ direction: Direction, x: Tensor, window w: Int, reversed: Bool) -> [[Dual]] {
    let n = x.shape[1], dx = x.shape[2], dh = model.hiddenDimension, dy = model.outputDimension
    func dual(_ t: Tensor, _ d: Tensor) -> [Dual] { zip(t.storage, d.storage).map { Dual($0, $1) } }
    let a1 = dual(model.a1, direction.a1), u = dual(model.u, direction.u), a2 = dual(model.a2, direction.a2)
    let c = model.coefficients.map { Dual($0) }
    var h = [Dual](repeating: Dual(0), count: dh)
    var out = [[Dual]](repeating: [Dual](repeating: Dual(0), count: dy), count: n)
    for step in 0..<n {
        let t = reversed ? n - 1 - step : step
        var z = [Dual](repeating: Dual(0), count: dh)
        for j in 0..<dh {
            var s = Dual(0)
            for i in 0..<dx { s = s + a1[j * dx + i] * Dual(x[w, t, i]) }
            for k in 0..<dh { s = s + u[j * dh + k] * h[k] }
            z[j] = s
        }
        h = z.map { zj in c.reversed().reduce(Dual(0)) { $0 * zj + $1 } }
        for o in 0..<dy {
            var s = Dual(0)
            for j in 0..<dh { s = s + a2[j * dy + o] * h[j] }
            out[t][o] = s
        }
    }
    return out
}

/// Random windows of an AR(1) input and noisy outputs of a slightly different model (so the error is not zero).
private func data(_ model: IORNN, windows: Int, length: Int, seed: UInt64) throws -> (x: Tensor, y: Tensor) {
    let dx = model.inputDimension
    let process = try AR1Process(phi: Tensor.identity(dx) * 0.5, sigma: Tensor.identity(dx))
    let truth = try IORNN(a1: model.a1 * 1.1, u: model.u * 0.8, a2: model.a2, noise: 0.1, coefficients: model.coefficients)
    return try truth.simulate(process: process, windows: windows, length: length, seed: seed, purpose: "gradient test")
}

private let quadraticModel = { () -> IORNN in
    try! IORNN.random(inputDimension: 4, hidden: 3, outputDimension: 5, noise: 0, spectralNormU: 0.3, rowNormA1: 0.5, seed: 7)
}()

/// σ(z) = 0.1 + 0.3 z + z³ with a scalar output.
private let cubicScalarModel = { () -> IORNN in
    try! IORNN(a1: Tensor(rows: [[0.3, -0.2, 0.1], [0.1, 0.25, -0.3]]), u: Tensor(rows: [[0.2, -0.1], [0.05, 0.25]]),
               a2: Tensor(rows: [[0.7], [-0.4]]), coefficients: [0.1, 0.3, 0, 1])
}()

@Suite struct OutputErrorGradientTests {
    /// The bidirectional RNN's gradient (each side backpropagated against y minus the other
    /// side's output) against forward-mode differentiation of the whole model, to rounding, with
    /// both sides and with the backward side alone; with no backward units it is the IO-RNN's.
    @Test func bidirectionalGradientEqualsForwardModeDerivative() throws {
        let forwardSide = quadraticModel
        var rng = RandomStream(seed: 41, purpose: "gradient test backward side")
        let b1 = rng.gaussianTensor([2, 4], scale: 0.25), v = rng.gaussianTensor([2, 2], scale: 0.1)
        let a2 = Tensor(shape: [5, 5], storage: forwardSide.a2.storage + rng.gaussianTensor([2, 5], scale: 0.5).storage)
        let both = try BidirectionalIORNN(a1: forwardSide.a1, u: forwardSide.u, b1: b1, v: v, a2: a2)
        let backwardOnly = try BidirectionalIORNN(a1: nil, u: nil, b1: b1, v: v, a2: Tensor(shape: [2, 5], storage: Array(a2.storage[15...])))
        let (x, _) = try data(forwardSide, windows: 11, length: 6, seed: 43)
        var noise = RandomStream(seed: 44, purpose: "gradient test targets")
        let y = try both.outputs(forWindows: x) + noise.gaussianTensor([11, 6, 5], scale: 0.2)
        for model in [both, backwardOnly] {
            let g = try outputErrorGradient(model, on: TensorWindowSource(x: x, y: y, windowsPerBatch: 4, stacksWindows: true))
            #expect(g.pairs == 66 && g.windows == 11)
            for seed: UInt64 in [1, 2] {
                let forwardDirection = model.forward.map { Direction($0, seed: seed) }
                let backwardDirection = model.backward.map { Direction($0, seed: seed + 10) }
                var total = Dual(0)
                for w in 0..<11 {
                    let ahead = model.forward.map { dualOutputs($0, forwardDirection!, x: x, window: w, reversed: false) }
                    let behind = model.backward.map { dualOutputs($0, backwardDirection!, x: x, window: w, reversed: true) }
                    for t in 0..<6 {
                        for o in 0..<5 {
                            let e = (ahead?[t][o] ?? Dual(0)) + (behind?[t][o] ?? Dual(0)) - Dual(y[w, t, o])
                            total = total + e * e
                        }
                    }
                }
                let slope = total.slope / 66
                let dot = (forwardDirection.map { $0.dot(g.forward!) } ?? 0) + (backwardDirection.map { $0.dot(g.backward!) } ?? 0)
                #expect(abs(g.loss - total.value / 66) <= 1e-14 * g.loss)
                #expect(abs(dot - slope) <= 1e-12 * abs(slope))
            }
            for threads in [1, 3] {
                let other = try outputErrorGradient(model, on: TensorWindowSource(x: x, y: y, windowsPerBatch: 4, stacksWindows: true),
                                                    threads: threads)
                #expect(other.loss == g.loss && other.forward?.a1 == g.forward?.a1 && other.backward?.a1 == g.backward?.a1)
            }
        }
        // No backward units: the IO-RNN's gradient.
        let forwardOnly = try BidirectionalIORNN(a1: forwardSide.a1, u: forwardSide.u, b1: nil, v: nil, a2: forwardSide.a2)
        let source = TensorWindowSource(x: x, y: y, windowsPerBatch: 4, stacksWindows: true)
        let g = try outputErrorGradient(forwardOnly, on: source), plain = try outputErrorGradient(forwardSide, on: source)
        #expect(g.loss == plain.loss && g.forward?.a1 == plain.a1 && g.forward?.u == plain.u && g.forward?.a2 == plain.a2)
    }

    /// The backward pass against forward-mode differentiation, to rounding: σ = z² with vector
    /// output and a cubic with a constant term and scalar output, windows of 1 to 9 steps, three
    /// random directions each. Truncated BPTT (no carry through U) is rejected by the same check.
    @Test(arguments: [(0, 1), (0, 9), (1, 1), (1, 6)])
    func gradientEqualsForwardModeDerivative(modelIndex: Int, length: Int) throws {
        let model = modelIndex == 0 ? quadraticModel : cubicScalarModel
        let (x, y) = try data(model, windows: 13, length: length, seed: UInt64(3 + length))
        // Stacked segments of 5 windows: four go through the vector lanes (run4, backward4), one alone.
        let g = try outputErrorGradient(model, on: TensorWindowSource(x: x, y: y, windowsPerBatch: 5, stacksWindows: true))
        let single = try outputErrorGradient(model, on: TensorWindowSource(x: x, y: y, windowsPerBatch: 5))
        #expect(g.pairs == 13 * length && g.windows == 13)
        for seed: UInt64 in [1, 2, 3] {
            let direction = Direction(model, seed: seed)
            let exact = directionalDerivative(model, direction, x: x, y: y)
            #expect(abs(g.loss - exact.loss) <= 1e-14 * exact.loss)
            #expect(abs(direction.dot(g) - exact.slope) <= 1e-12 * abs(exact.slope))
            #expect(abs(direction.dot(single) - exact.slope) <= 1e-12 * abs(exact.slope))
            if length > 1 {
                let truncated = direction.dot(try truncatedOutputErrorGradient(model, x: x, y: y))
                #expect(abs(truncated - exact.slope) > 1e-6 * abs(exact.slope))
            }
        }
    }

    /// Every entry of the gradient against a fourth-order central difference of the loss
    /// (step 1e-4: truncation about h⁴ = 1e-16 times the fifth derivative, rounding about 1e-16 / h), to 1e-9 of the
    /// gradient's size; the gradient of a model moved by 1e-4 along one entry is rejected.
    @Test func gradientEqualsFiniteDifferences() throws {
        for model in [quadraticModel, cubicScalarModel] {
            let (x, y) = try data(model, windows: 9, length: 5, seed: 11)
            let source = TensorWindowSource(x: x, y: y, stacksWindows: true)
            let g = try outputErrorGradient(model, on: source)
            let analytic = g.a1!.storage + g.u!.storage + g.a2!.storage
            let scale = analytic.map(abs).max()!
            let sizes = [model.a1.count, model.u.count, model.a2.count]
            var numeric: [Double] = []
            for (block, size) in sizes.enumerated() {
                for entry in 0..<size {
                    func loss(_ s: Double) throws -> Double {
                        var a1 = model.a1, u = model.u, a2 = model.a2
                        switch block {
                        case 0: a1.storage[entry] += s
                        case 1: u.storage[entry] += s
                        default: a2.storage[entry] += s
                        }
                        return try outputError(try IORNN(a1: a1, u: u, a2: a2, coefficients: model.coefficients), on: source).loss
                    }
                    let h = 1e-4
                    numeric.append((8 * (try loss(h) - loss(-h)) - (try loss(2 * h) - loss(-2 * h))) / (12 * h))
                }
            }
            let gap = zip(analytic, numeric).map { abs($0 - $1) }.max()!
            #expect(gap <= 1e-9 * scale, "σ coefficients \(model.coefficients): largest gap \(gap) against a gradient of size \(scale)")
            // A wrong gradient (of the model moved along one entry of U) is told apart.
            var moved = model.u
            moved.storage[0] += 1e-4
            let other = try outputErrorGradient(try IORNN(a1: model.a1, u: moved, a2: model.a2, coefficients: model.coefficients), on: source)
            let otherAnalytic = other.a1!.storage + other.u!.storage + other.a2!.storage
            #expect(zip(otherAnalytic, numeric).map { abs($0 - $1) }.max()! > 100 * gap)
        }
    }

    /// The loss is the mean over (window, t) pairs of ‖ŷ_t − y_t‖² with ŷ from `outputs(forWindows:)`;
    /// the same bits for any thread count, with one segment per window and with stacked segments
    /// (whose windows go four at a time through vector lanes: the same sums in another order).
    @Test func lossMatchesTheModelAndIsThreadIndependent() throws {
        let model = quadraticModel
        // 300 windows in batches of 256 and 44: four parts of 64 windows, then one.
        let (x, y) = try data(model, windows: 300, length: 7, seed: 21)
        let yHat = try model.outputs(forWindows: x)
        let direct = zip(yHat.storage, y.storage).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(300 * 7)
        let source = TensorWindowSource(x: x, y: y, windowsPerBatch: 256)
        let reference = try outputErrorGradient(model, on: source, threads: 2)
        #expect(abs(reference.loss - direct) <= 1e-13 * direct)
        #expect(try outputError(model, on: source).loss == reference.loss)
        for threads in [1, 3, 7, 40] {
            let other = try outputErrorGradient(model, on: source, threads: threads)
            #expect(other.loss == reference.loss && other.a1 == reference.a1 && other.u == reference.u && other.a2 == reference.a2)
        }
        let stackedSource = TensorWindowSource(x: x, y: y, windowsPerBatch: 256, stacksWindows: true)
        let stacked = try outputErrorGradient(model, on: stackedSource)
        #expect(abs(stacked.loss - reference.loss) <= 1e-14 * reference.loss)
        #expect((stacked.a1! - reference.a1!).maxAbs <= 1e-13 * reference.a1!.maxAbs)
        #expect((stacked.u! - reference.u!).maxAbs <= 1e-13 * reference.u!.maxAbs)
        #expect((stacked.a2! - reference.a2!).maxAbs <= 1e-13 * reference.a2!.maxAbs)
        for threads in [1, 3] {
            let other = try outputErrorGradient(model, on: stackedSource, threads: threads)
            #expect(other.loss == stacked.loss && other.a1 == stacked.a1 && other.u == stacked.u && other.a2 == stacked.a2)
        }
    }

    /// Refusals, one line each: time-chunked windows, mismatched dimensions, a diverging window (numbered).
    @Test func badInputsThrowOneLine() throws {
        let model = quadraticModel
        let (x, y) = try data(model, windows: 2, length: 40, seed: 31)
        let chunked = TensorWindowSource(x: x, y: y, stepsPerBatch: 16)
        #expect { try outputErrorGradient(model, on: chunked) } throws: { error in
            "\(error)".hasPrefix("backpropagation through time needs whole windows") && !"\(error)".contains("\n")
        }
        let wrong = try IORNN.random(inputDimension: 3, hidden: 2, outputDimension: 5, noise: 0, seed: 1)
        #expect { try outputErrorGradient(wrong, on: TensorWindowSource(x: x, y: y)) } throws: { error in
            "\(error)".contains("the windows have dx = 4") && !"\(error)".contains("\n")
        }
        let exploding = try IORNN(a1: Tensor(rows: [[1, 0, 0, 0], [0, 1, 0, 0]]), u: Tensor(rows: [[5, 0], [0, 5]]),
                                  a2: Tensor(rows: [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]]))
        var big = Tensor(shape: [20, 20, 4], repeating: 0.01)
        for t in 0..<20 { big[11, t, 0] = 0.3; big[11, t, 1] = 0.3 }
        for stacked in [false, true] {   // one window per segment, and four at a time in vector lanes
            #expect { try outputErrorGradient(exploding, on: TensorWindowSource(x: big, y: Tensor(shape: [20, 20, 5], repeating: 0),
                                                                                windowsPerBatch: 8, stacksWindows: stacked)) }
                throws: { error in "\(error)".hasPrefix("IO-RNN diverged in window 11 at t = ") }
        }
    }
}
