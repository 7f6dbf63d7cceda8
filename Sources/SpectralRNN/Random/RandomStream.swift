import Foundation

/// The project's own seeded random generator: xoshiro256** seeded through SplitMix64.
///
/// Every purpose (sampling windows, drawing parameters, one Monte Carlo chunk, …) gets its
/// own stream, derived from the run's seed, a purpose name and an index, so that adding
/// a draw in one place never shifts the numbers drawn in another, and a chunked
/// computation gives the same numbers whatever the number of threads.
public struct RandomStream: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spareGaussian: Double?

    /// A stream for `purpose` (and chunk `index`) under the run's `seed`.
    public init(seed: UInt64, purpose: String = "", index: UInt64 = 0) {
        // FNV-1a of the purpose name, mixed with the seed and index by SplitMix64.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in purpose.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        var sm = seed ^ (h &* 0x9e37_79b9_7f4a_7c15) ^ (index &* 0xd1b5_4a32_d192_ed03)
        s0 = RandomStream.splitMix(&sm)
        s1 = RandomStream.splitMix(&sm)
        s2 = RandomStream.splitMix(&sm)
        s3 = RandomStream.splitMix(&sm)
        spareGaussian = nil
    }

    private static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// The next 64 random bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform draw in the open interval (0, 1): the midpoint of one of 2⁵² equal cells
    /// (52 random bits plus one half fit exactly in a Double's 53-bit significand).
    public mutating func uniform() -> Double {
        (Double(next() >> 12) + 0.5) * 0x1.0p-52
    }

    /// A standard Gaussian draw N(0, 1) (Box–Muller; the second value of each pair is kept).
    public mutating func gaussian() -> Double {
        if let spare = spareGaussian {
            spareGaussian = nil
            return spare
        }
        let radius = (-2 * log(uniform())).squareRoot()
        let angle = 2 * Double.pi * uniform()
        spareGaussian = radius * sin(angle)
        return radius * cos(angle)
    }

    /// `count` independent standard Gaussian draws.
    public mutating func gaussians(_ count: Int) -> [Double] {
        (0..<count).map { _ in gaussian() }
    }

    /// A tensor of the given shape with independent N(0, scale²) entries.
    public mutating func gaussianTensor(_ shape: [Int], scale: Double = 1) -> Tensor {
        Tensor(shape: shape, storage: gaussians(shape.reduce(1, *)).map { $0 * scale })
    }
}
