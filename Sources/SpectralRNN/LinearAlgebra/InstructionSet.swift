// The instruction set of a release build. Package.swift compiles the library for x86-64-v3
// (AVX2, FMA, BMI2: `-target-cpu haswell`) when the machine that builds it has those features,
// unless SPECTRAL_RNN_PORTABLE=1 is set; the moment engine's vector loops then use 256-bit
// registers instead of SSE2's 128-bit ones (docs/scale.md), and every result is the same bits
// (Swift does not fuse a·b + c into one rounding unless told to). A binary copied to a CPU
// without those features would stop on an illegal instruction, so each program checks the
// CPU it runs on first, in code inlined into the program (`@_transparent`), which is compiled
// for baseline x86-64. That code calls only the C library and non-generic standard-library
// functions, and has no local functions or closures: a call into this library, or into a
// specialization or local function the linker may take from this library's copy, could
// itself be the illegal instruction.

import Foundation

/// The flags of x86-64-v3 (the features it adds to baseline x86-64, as /proc/cpuinfo names
/// them; Package.swift tests the same list) that do not appear as whole words in `flags`, one
/// "flags : …" line of /proc/cpuinfo (a word is followed by a space, a newline or the end),
/// separated by ", " ("" when none is missing).
@_transparent
public func missingInstructionSetFlags(flags: UnsafePointer<CChar>) -> String {
    var missing = ""
    let words: StaticString = " avx\0 avx2\0 bmi1\0 bmi2\0 f16c\0 fma\0 abm\0 movbe\0 xsave\0 cx16\0 lahf_lm\0 popcnt\0 sse4_1\0 sse4_2\0 ssse3\0 pni\0"
    let end = UnsafeRawPointer(words.utf8Start).assumingMemoryBound(to: CChar.self) + words.utf8CodeUnitCount
    var word = UnsafeRawPointer(words.utf8Start).assumingMemoryBound(to: CChar.self)
    while word < end {
        let length = strlen(word)
        var found = false
        var from = flags
        while !found, let hit = strstr(from, word) {
            let after = hit[length]
            found = after == 0x20 || after == 0x0A || after == 0
            from = UnsafePointer(hit) + 1
        }
        if !found {
            if !missing.isEmpty { missing += ", " }
            missing += String(cString: word + 1)
        }
        word += length + 1
    }
    return missing
}

/// Whether this build of the library was compiled for x86-64-v3 (Package.swift).
public let compiledForX86_64V3: Bool = {
    #if SPECTRAL_RNN_X86_64_V3
    return true
    #else
    return false
    #endif
}()

/// Stops the program with one line and exit code 70 when the library was compiled for
/// x86-64-v3 and this CPU lacks one of its features (or /proc/cpuinfo has no flags line);
/// does nothing otherwise. Programs call it before anything else of the library. Reads
/// /proc/cpuinfo only in such a build (a fraction of a millisecond).
@_transparent
public func requireCompiledInstructionSet(program: String) {
    #if SPECTRAL_RNN_X86_64_V3
    var missing = "a flags line in /proc/cpuinfo"
    if let file = fopen("/proc/cpuinfo", "r") {
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        while getline(&line, &capacity, file) > 0, let text = line {
            if strncmp(text, "flags", 5) == 0 {
                missing = missingInstructionSetFlags(flags: text)
                break
            }
        }
        free(line)
        fclose(file)
    }
    if !missing.isEmpty {
        let message = program + ": this build was compiled for x86-64-v3 (AVX2, FMA) on the machine that built it, and this CPU lacks "
            + missing + "; rebuild it here, or with SPECTRAL_RNN_PORTABLE=1 for any x86-64\n"
        _ = write(2, message, message.utf8.count)
        exit(70)
    }
    #endif
}
