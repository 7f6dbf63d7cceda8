// The check that a release build compiled for x86-64-v3 makes of the CPU it runs on
// (Sources/SpectralRNN/LinearAlgebra/InstructionSet.swift).

import Foundation
import Testing
@testable import SpectralRNN

@Suite struct InstructionSetTests {
    /// The missing flags of a flags line, as the programs' check computes them.
    private func missing(_ line: String) -> String {
        line.withCString { missingInstructionSetFlags(flags: $0) }
    }

    /// A CPU with every x86-64-v3 feature passes; an x86-64-v2 CPU (Sandy Bridge: AVX but no
    /// AVX2, FMA, BMI) is refused with exactly the features it lacks; flags are whole words
    /// (avx512f is not avx, sse4_1x not sse4_1), the last flag counts without a trailing space.
    @Test func flagsAreMatchedAsWholeWords() {
        let zen4 = "flags\t\t: fpu vme sse sse2 pni ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt xsave avx f16c lahf_lm abm bmi1 avx2 bmi2 avx512f\n"
        #expect(missing(zen4) == "")
        let sandyBridge = "flags\t\t: fpu sse sse2 pni ssse3 cx16 sse4_1 sse4_2 popcnt xsave avx lahf_lm\n"
        #expect(missing(sandyBridge) == "avx2, bmi1, bmi2, f16c, fma, abm, movbe")
        let lookalikes = "flags : avx512f avx2x avx2 bmi1 bmi2 f16c fma abm movbe xsave cx16 lahf_lm popcnt sse4_1x sse4_2 ssse3 pni"
        #expect(missing(lookalikes) == "avx, sse4_1")
        #expect(missing("flags : avx avx2 bmi1 bmi2 f16c fma abm movbe xsave cx16 lahf_lm popcnt sse4_1 sse4_2 ssse3") == "pni")
        #expect(missing("flags :").split(separator: ",").count == 16)
    }

    /// This machine runs the tests, so it has what a build made here uses.
    @Test func thisMachineHasTheCompiledInstructionSet() throws {
        guard compiledForX86_64V3 else { return }
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let line = try #require(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        #expect(missing(String(line)) == "")
    }
}
