/// A model that simulates windows of its own outputs on a stationary AR(1) input (`IORNN`,
/// `BidirectionalIORNN`): window w of `simulate(process:windowRange:length:seed:purpose:)`
/// has its own random streams, so any range gives the same windows as the whole set.
public protocol WindowSimulator: Sendable {
    var inputDimension: Int { get }
    var outputDimension: Int { get }
    func simulate(process: AR1Process, windowRange: Range<Int>, length: Int, seed: UInt64,
                  purpose: String) throws -> (x: Tensor, y: Tensor)
}

extension IORNN: WindowSimulator {}

/// A `WindowSource` that simulates its windows batch by batch instead of holding them: the
/// windows `0..<windows` of a model's `simulate(process:windowRange:length:seed:purpose:)`
/// (window w has its own random streams, so the same windows in the same order), handed as
/// stacked segments of `windowsPerBatch` windows. Memory is one batch, whatever the number of
/// windows, so a walkthrough can size a Monte Carlo check for power rather than for memory.
/// Every pass simulates the windows again (restartable, deterministic).
public struct SimulatedWindowSource: WindowSource, Sendable {
    public let model: any WindowSimulator
    public let process: AR1Process
    /// N, the number of windows.
    public let windows: Int
    /// n, the length of every window.
    public let length: Int
    public let seed: UInt64
    public let purpose: String
    public let windowsPerBatch: Int

    public init(model: any WindowSimulator, process: AR1Process, windows: Int, length: Int, seed: UInt64,
                purpose: String, windowsPerBatch: Int = 8192) throws {
        guard windows >= 1, length >= 1, windowsPerBatch >= 1 else {
            throw ModelError("simulated windows: need at least one window of length ≥ 1 and a positive batch, got \(windows) × \(length), batch \(windowsPerBatch)")
        }
        guard process.dimension == model.inputDimension else {
            throw ModelError("simulated windows: the input process has dimension \(process.dimension), the model dx = \(model.inputDimension)")
        }
        self.model = model
        self.process = process
        self.windows = windows
        self.length = length
        self.seed = seed
        self.purpose = purpose
        self.windowsPerBatch = windowsPerBatch
    }

    public var inputDimension: Int { model.inputDimension }
    public var outputDimension: Int { model.outputDimension }

    public func forEachBatch(_ body: ([WindowSegment]) throws -> Void) throws {
        for first in stride(from: 0, to: windows, by: windowsPerBatch) {
            let range = first..<Swift.min(first + windowsPerBatch, windows)
            let batch = try model.simulate(process: process, windowRange: range, length: length, seed: seed, purpose: purpose)
            try body([WindowSegment(windows: range.count, windowLength: length, x: batch.x.storage, y: batch.y.storage)])
        }
    }
}
