import Foundation
import SpectralRNN

let args = CommandLine.arguments
let rowNorm = Double(args[1])!, phiValue = Double(args[2])!, normU = Double(args[3])!, windows = Int(args[4])!
let c: [Double] = args.count > 5 ? args[5].split(separator: ",").map { Double($0)! } : [0, 0.3, 0, 1]
let n = args.count > 6 ? Int(args[6])! : 3
let seed: UInt64 = args.count > 7 ? UInt64(args[7])! : 1
let (dx, dh, dy) = (3, 2, 3)
let process = try AR1Process(phi: Tensor.identity(dx) * phiValue, sigma: Tensor.identity(dx))
let model = try IORNN.random(inputDimension: dx, hidden: dh, outputDimension: dy, noise: 0.1, spectralNormU: normU,
                             rowNormA1: rowNorm, maximumCondition: 3, coefficients: c, seed: seed)
let source = try SimulatedWindowSource(model: model, process: process, windows: windows, length: n, seed: seed, purpose: "training")
let start = Date()
let result = try gloree(source, process: process, hidden: dh, coefficients: c, seed: 1)
let elapsed = Date().timeIntervalSince(start)
let est = try result.model()
let errors = try ParameterErrors(est, truth: model)
let fresh = try model.simulate(process: process, windows: 2000, length: n, seed: 99, purpose: "fresh")
let pe = (try? predictionError(est, model, on: fresh.x)) ?? .nan
print(String(format: "rows %.2f phi %.2f U %.2f N %d: %@ pred %.3g uRelSE %.3g leadRelSE %.3g scales %@ (%.1fs)", rowNorm, phiValue, normU, windows, errors.description, pe, result.uRelativeStandardError, result.leadingRelativeStandardError, result.fit.scales.map { String(format: "%.3f", $0) }.joined(separator: ","), elapsed))
for w in result.warnings { print("  warning: \(w)") }
