import Foundation
import Testing
@testable import SpectralRNN

/// A fixed-seed generator (SplitMix64) so random shapes and values are reproducible.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A fresh folder under the system temporary directory, removed by `remove()`.
private struct ScratchFolder {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("hdf5-tests-\(UUID().uuidString)")
    init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    func file(_ name: String) -> String { url.appendingPathComponent(name).path }
    func remove() { try? FileManager.default.removeItem(at: url) }
    var contents: [String] { (try? FileManager.default.contentsOfDirectory(atPath: url.path))?.sorted() ?? [] }
}

/// The HDF5Error thrown by `body`, or nil (recorded as a test failure) when it does not throw one.
private func hdf5Error(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> HDF5Error? {
    do {
        try body()
        Issue.record("expected an HDF5Error, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as HDF5Error {
        return error
    } catch {
        Issue.record("expected an HDF5Error, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}


/// Values that exercise every corner of float64: signed zeros, subnormals, extremes, NaN, ±∞.
private func awkwardValues(_ count: Int, using generator: inout SeededGenerator) -> [Double] {
    let specials: [Double] = [0, -0.0, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude,
                              .infinity, -.infinity, .nan, 1e-300, -1.0 / 3, .pi]
    return (0..<count).map { k in
        k % 7 == 3 ? specials[Int.random(in: 0..<specials.count, using: &generator)]
                   : Double.random(in: -1e3...1e3, using: &generator)
    }
}

private let allKinds: [String: HDF5Attribute] = [
    "description": .string("weights of the first layer"),
    "formula": .string("A₁ ∈ ℝ^{dh×dx}, ‖A₁‖_F ≤ 1 — “Unicode”"),
    "empty": .string(""),
    "count": .integer(-9_007_199_254_740_993),
    "big": .integer(Int.max),
    "tolerance": .real(1e-12),
    "negativeZero": .real(-0.0),
    "spectrum": .reals([3.5, -2, .leastNormalMagnitude / 4, .infinity]),
    "none": .reals([]),
    "single": .reals([42]),
]

@Suite(.serialized)
struct HDF5Tests {

    // MARK: Round trips

    @Test func roundTripRanksZeroToFiveBitForBit() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var generator = SeededGenerator(state: 20_240_601)
        var tree = HDF5Tree()
        var written: [String: Tensor] = [:]
        for rank in 0...5 {
            for copy in 0..<3 {
                var shape = (0..<rank).map { _ in Int.random(in: 1...4, using: &generator) }
                if copy == 2 && rank > 0 { shape[Int.random(in: 0..<rank, using: &generator)] = 0 }
                let tensor = Tensor(shape: shape, storage: awkwardValues(shape.reduce(1, *), using: &generator))
                let path = "/rank\(rank)/t\(copy)"
                tree.addDataset(path, tensor, attributes: allKinds)
                written[path] = tensor
            }
        }
        let file = folder.file("round.h5")
        try tree.write(to: file)

        let reader = try HDF5Reader(path: file)
        for (path, tensor) in written {
            #expect(try reader.shape(of: path) == tensor.shape)
            let back = try reader.readTensor(path, rank: tensor.order)
            #expect(back.shape == tensor.shape, "\(path)")
            #expect(bits(back) == bits(tensor), "\(path)")
            let attributes = try reader.attributes(of: path)
            #expect(attributes.count == allKinds.count)
            for (name, value) in allKinds {
                if case .reals(let expected) = value, case .reals(let got)? = attributes[name] {
                    #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "\(path) @\(name)")
                } else if case .real(let expected) = value, case .real(let got)? = attributes[name] {
                    #expect(got.bitPattern == expected.bitPattern, "\(path) @\(name)")
                } else {
                    #expect(attributes[name] == value, "\(path) @\(name)")
                }
            }
        }
        #expect(folder.contents == ["round.h5"])
    }

    @Test func attributesOnRootGroupsAndDatasets() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var tree = HDF5Tree()
        tree.setAttribute("walkthrough", .string("01-score-functions"))
        tree.setAttribute("seed", .integer(7))
        tree.addGroup("/model/input", attributes: ["description": .string("AR(1) input process")])
        tree.setAttribute("rho", .real(0.5), at: "/model/input")
        tree.addDataset("/model/A1", Tensor(rows: [[1, 2], [3, 4]]), attributes: ["paper": .string("eq. (3)")])
        tree.setAttribute("paper", .string("eq. (4)"), at: "/model/A1")      // replaces
        tree.setAttribute("norms", .reals([1, 2]), at: "/model/A1")
        tree.setStoredAttribute("legacy", .fixedLengthString("fixed text"), at: "/model")
        let file = folder.file("attributes.h5")
        try tree.write(to: file)

        let reader = try HDF5Reader(path: file)
        #expect(try reader.attributes(of: "/") == ["walkthrough": .string("01-score-functions"), "seed": .integer(7)])
        #expect(try reader.attributes(of: "/model/input") == ["description": .string("AR(1) input process"),
                                                               "rho": .real(0.5)])
        #expect(try reader.attributes(of: "/model/A1") == ["paper": .string("eq. (4)"), "norms": .reals([1, 2])])
        #expect(try reader.attributes(of: "/model") == ["legacy": .string("fixed text")])
        #expect(try reader.readAttribute("seed") == .integer(7))
        #expect(try reader.readAttribute("missing", of: "/model") == nil)
    }

    @Test func kindsChildrenAndExistence() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var tree = HDF5Tree()
        for name in ["zeta", "alpha", "Mid", "beta"] { tree.addDataset("/g/\(name)", Tensor(scalar: 1)) }
        tree.addGroup("/g/sub/deeper")
        tree.addGroup("/empty")
        let file = folder.file("children.h5")
        try tree.write(to: file)

        let reader = try HDF5Reader(path: file)
        #expect(try reader.children(of: "/") == ["empty", "g"])
        #expect(try reader.children(of: "/g") == ["Mid", "alpha", "beta", "sub", "zeta"])
        #expect(try reader.children(of: "/empty") == [])
        #expect(try reader.kind(of: "/") == .group)
        #expect(try reader.kind(of: "/g/sub/deeper") == .group)
        #expect(try reader.kind(of: "/g/alpha") == .dataset)
        #expect(try reader.shape(of: "/g/alpha") == [])
        #expect(reader.exists("/g/sub/deeper"))
        #expect(reader.exists("/"))
        #expect(!reader.exists("/g/nothing"))
        #expect(!reader.exists("/nothing/at/all"))
        #expect(!reader.exists("/g/alpha/inside"))
        #expect(!reader.exists("relative"))
    }

    @Test func slabsMatchSlicesOfTheFullTensor() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var generator = SeededGenerator(state: 99)
        let shape = [5, 4, 3]
        let tensor = Tensor(shape: shape, storage: (0..<60).map { _ in Double.random(in: -1...1, using: &generator) })
        var tree = HDF5Tree()
        tree.addDataset("/x", tensor)
        tree.addDataset("/s", Tensor(scalar: 2.5))
        let file = folder.file("slab.h5")
        try tree.write(to: file)

        let reader = try HDF5Reader(path: file)
        for _ in 0..<25 {
            let start = shape.map { Int.random(in: 0..<$0, using: &generator) }
            let count = zip(shape, start).map { Int.random(in: 0...($0 - $1), using: &generator) }
            let slab = try reader.readSlab("/x", start: start, count: count)
            let expected = Tensor(shape: count) { index in tensor[zip(index, start).map { $0 + $1 }] }
            #expect(slab.shape == count)
            #expect(bits(slab) == bits(expected), "start \(start) count \(count)")
        }
        #expect(try reader.readSlab("/x", start: [0, 0, 0], count: shape) == tensor)
        #expect(try reader.readSlab("/s", start: [], count: []) == Tensor(scalar: 2.5))
        let outside = hdf5Error { _ = try reader.readSlab("/x", start: [4, 0, 0], count: [2, 1, 1]) }
        #expect(outside?.message == "slab start [4, 0, 0] count [2, 1, 1] does not fit shape 5×4×3")
        let wrongLength = hdf5Error { _ = try reader.readSlab("/x", start: [0, 0], count: [1, 1]) }
        #expect(wrongLength?.message == "a slab of a rank-3 dataset needs 3 start and count values, got 2 and 2")
    }

    @Test func float32IsConvertedToFloat64() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var tree = HDF5Tree()
        tree.addPayload("/f32", .float32(shape: [2, 2], values: [1.5, -0.25, 3, .infinity]))
        let file = folder.file("f32.h5")
        try tree.write(to: file)
        let reader = try HDF5Reader(path: file)
        #expect(try reader.readTensor("/f32", rank: 2) == Tensor(rows: [[1.5, -0.25], [3, .infinity]]))
    }

    @Test func sameTreeGivesSameBytes() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var tree = HDF5Tree()
        tree.setAttribute("b", .integer(2))
        tree.setAttribute("a", .string("first"))
        tree.addDataset("/m/y", Tensor(vector: [1, 2, 3]), attributes: ["z": .real(1), "c": .reals([2])])
        tree.addDataset("/m/x", Tensor.identity(3))
        try tree.write(to: folder.file("one.h5"))
        Thread.sleep(forTimeInterval: 1.1)   // object headers carry no modification times
        try tree.write(to: folder.file("two.h5"))
        let one = try Data(contentsOf: URL(fileURLWithPath: folder.file("one.h5")))
        let two = try Data(contentsOf: URL(fileURLWithPath: folder.file("two.h5")))
        #expect(one == two)
    }

    // MARK: Bad input: one clear line each

    @Test func missingFileAndNonHDF5File() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let missing = folder.file("absent.h5")
        let error = hdf5Error { _ = try HDF5Reader(path: missing) }
        #expect(error == HDF5Error(file: missing, object: nil, message: "no such file"))
        #expect(error?.description == "\(missing): no such file")

        let text = folder.file("notes.h5")
        try "these are not the bytes of an HDF5 file\n".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(hdf5Error { _ = try HDF5Reader(path: text) }?.description == "\(text): not an HDF5 file")

        let empty = folder.file("empty.h5")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(hdf5Error { _ = try HDF5Reader(path: empty) }?.message == "not an HDF5 file")

        #expect(hdf5Error { _ = try HDF5Reader(path: folder.url.path) }?.message == "is a folder, not an HDF5 file")
    }

    @Test func badObjectsTypesRanksAndValues() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var tree = HDF5Tree()
        tree.addDataset("/model/A1", Tensor(rows: [[1, 2, 3], [4, 5, 6]]))
        tree.addDataset("/moments/M3", Tensor(shape: [2, 2, 2], repeating: 1))
        tree.addPayload("/counts", .int64(shape: [3], values: [1, 2, 3]))
        tree.addPayload("/label", .string("not numbers"))
        var withNaN = Tensor.zeros([3, 4])
        withNaN[1, 2] = .nan
        tree.addDataset("/bad/nan", withNaN)
        var withInfinities = Tensor.zeros([2, 2])
        withInfinities[0, 1] = -.infinity
        withInfinities[1, 1] = .nan
        tree.addDataset("/bad/inf", withInfinities)
        tree.addDataset("/bad/scalar", Tensor(scalar: .infinity))
        let file = folder.file("bad.h5")
        try tree.write(to: file)
        let reader = try HDF5Reader(path: file)

        func message(_ body: () throws -> Void) -> String? { hdf5Error(body)?.description }
        #expect(message { _ = try reader.readTensor("/model/A2") } == "\(file): /model/A2: no such dataset")
        #expect(message { _ = try reader.readTensor("/nowhere/A2") } == "\(file): /nowhere/A2: no such dataset")
        #expect(message { _ = try reader.readTensor("/model/A1/x") } == "\(file): /model/A1/x: no such dataset")
        #expect(message { _ = try reader.readTensor("/model") } == "\(file): /model: is a group, expected a dataset")
        #expect(message { _ = try reader.children(of: "/model/A1") }
                == "\(file): /model/A1: is a dataset, expected a group")
        #expect(message { _ = try reader.kind(of: "/model/B") } == "\(file): /model/B: no such group or dataset")
        #expect(message { _ = try reader.attributes(of: "/x") } == "\(file): /x: no such group or dataset")
        #expect(message { _ = try reader.readTensor("/model/A1", rank: 3) }
                == "\(file): /model/A1: expected rank 3, found rank 2 (shape 2×3)")
        #expect(message { _ = try reader.readTensor("/moments/M3", rank: 2) }
                == "\(file): /moments/M3: expected rank 2, found rank 3 (shape 2×2×2)")
        #expect(message { _ = try reader.readTensor("/counts") } == "\(file): /counts: expected float64, found int64")
        #expect(message { _ = try reader.readSlab("/counts", start: [0], count: [1]) }
                == "\(file): /counts: expected float64, found int64")
        #expect(message { _ = try reader.readTensor("/label") } == "\(file): /label: expected float64, found string")
        #expect(message { _ = try reader.readTensor("/bad/nan", requireFinite: true) }
                == "\(file): /bad/nan: contains NaN at index [1, 2]")
        #expect(message { _ = try reader.readTensor("/bad/inf", requireFinite: true) }
                == "\(file): /bad/inf: contains -infinity at index [0, 1] (2 of 4 entries are not finite)")
        #expect(message { _ = try reader.readTensor("/bad/scalar", requireFinite: true) }
                == "\(file): /bad/scalar: is +infinity")
        #expect(message { _ = try reader.readTensor("model/A1") }?.hasSuffix("model/A1: " + hdf5InvalidPathMessage) == true)
        #expect(message { _ = try reader.shape(of: "/model//A1") }?.contains("invalid path") == true)
        // Without requireFinite the NaN is returned as it is.
        #expect(try reader.readTensor("/bad/nan").storage[6].isNaN)

        reader.close()
        reader.close()
        #expect(message { _ = try reader.readTensor("/model/A1") } == "\(file): the file has been closed")
        #expect(!reader.exists("/model"))
    }

    @Test func assemblyMistakesAreReportedBeforeWriting() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let file = folder.file("never.h5")
        func problem(_ build: (inout HDF5Tree) -> Void) -> String? {
            var tree = HDF5Tree()
            build(&tree)
            return hdf5Error { try tree.write(to: file) }?.description
        }
        #expect(problem { $0.addDataset("x", Tensor(scalar: 1)) } == "\(file): x: \(hdf5InvalidPathMessage)")
        #expect(problem { $0.addGroup("/a/../b") } == "\(file): /a/../b: \(hdf5InvalidPathMessage)")
        #expect(problem { $0.addDataset("/", Tensor(scalar: 1)) }
                == "\(file): /: the root is a group, it cannot be a dataset")
        #expect(problem { $0.addDataset("/a", Tensor(scalar: 1)); $0.addGroup("/a") }
                == "\(file): /a: /a is a dataset, it cannot also be a group")
        #expect(problem { $0.addDataset("/a", Tensor(scalar: 1)); $0.addDataset("/a/b", Tensor(scalar: 1)) }
                == "\(file): /a/b: /a is a dataset, it cannot also be a group")
        #expect(problem { $0.addGroup("/a/b"); $0.addDataset("/a", Tensor(scalar: 1)) }
                == "\(file): /a: is already a group, cannot add a dataset with the same name")
        #expect(problem { $0.setAttribute("seed", .integer(1), at: "/missing") }
                == "\(file): /missing: no such group or dataset for attribute \"seed\" (add it first)")
        #expect(problem { $0.setAttribute("", .integer(1)) } == "\(file): /: invalid attribute name \"\"")
        #expect(problem { $0.setAttribute("s", .string("a\0b")) }
                == "\(file): /: attribute \"s\": strings cannot contain NUL characters")
        #expect(folder.contents == [])

        let noFolder = folder.file("missing-folder/out.h5")
        #expect(hdf5Error { try HDF5Tree().write(to: noFolder) }?.message
                == "folder \(folder.file("missing-folder")) does not exist")
    }

    // MARK: Atomic writing

    /// A good file, then a failing write over it: the good file stays as it was and no
    /// temporary file is left behind.
    @Test func failedWritesLeaveTheOriginalIntact() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let file = folder.file("result.h5")
        var good = HDF5Tree()
        good.setAttribute("version", .string("good"))
        good.addDataset("/model/A1", Tensor(rows: [[1, 2], [3, 4]]))
        try good.write(to: file)
        let original = try Data(contentsOf: URL(fileURLWithPath: file))

        func expectOriginalIntact(sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(folder.contents == ["result.h5"], sourceLocation: sourceLocation)
            #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == original, sourceLocation: sourceLocation)
            let reader = try HDF5Reader(path: file)
            #expect(try reader.readAttribute("version") == .string("good"), sourceLocation: sourceLocation)
        }

        // 1. A dataset and a group with the same name: refused before touching the disk.
        var collision = HDF5Tree()
        collision.addDataset("/model", Tensor(scalar: 1))
        collision.addDataset("/model/A1", Tensor(scalar: 2))
        #expect(hdf5Error { try collision.write(to: file) } != nil)
        try expectOriginalIntact()

        // 2. A failure inside HDF5 halfway through the file: an attribute too large for an
        //    object header (64 KiB). The temporary file exists at that point and must go.
        var tooLarge = HDF5Tree()
        tooLarge.addDataset("/model/A1", Tensor(rows: [[9, 9], [9, 9]]))
        tooLarge.setAttribute("huge", .reals([Double](repeating: 1, count: 20_000)), at: "/model/A1")
        let halfway = hdf5Error { try tooLarge.write(to: file) }
        #expect(halfway?.file == file)
        #expect(halfway?.object == "/model/A1")
        #expect(halfway?.message.hasPrefix("cannot write attribute \"huge\"") == true)
        #expect(halfway.map { !$0.description.contains("\n") } == true)
        try expectOriginalIntact()

        // 3. A folder as the target is refused before anything is built; if the target turns
        //    into a folder after the check (so the rename itself fails), the temporary goes.
        let blocked = folder.url.appendingPathComponent("blocked.h5")
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent("inside"),
                                                withIntermediateDirectories: true)
        let refused = hdf5Error { try good.write(to: blocked.path) }
        #expect(refused?.message == "is a folder; give a file name")
        #expect(folder.contents == ["blocked.h5", "result.h5"])
        try FileManager.default.removeItem(at: blocked)
        let checked = try OutputFile.check(blocked.path)
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent("inside"),
                                                withIntermediateDirectories: true)
        let renameFailure = hdf5Error { try [UInt8](repeating: 7, count: 64).withUnsafeBytes { try checked.replace(with: $0) } }
        #expect(renameFailure?.message.hasPrefix("cannot move the finished file into place") == true)
        #expect(folder.contents == ["blocked.h5", "result.h5"])
        try FileManager.default.removeItem(at: blocked)

        // 4. A successful write replaces the file in one step.
        var replacement = HDF5Tree()
        replacement.setAttribute("version", .string("new"))
        try replacement.write(to: file)
        #expect(folder.contents == ["result.h5"])
        #expect(try HDF5Reader(path: file).readAttribute("version") == .string("new"))
    }

    @Test func concurrentReadersAndWritersAreSerialized() async throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<16 {
                group.addTask {
                    let file = folder.file("task\(task).h5")
                    let tensor = Tensor(shape: [8, 8]) { Double($0[0] * 8 + $0[1] + task) }
                    var tree = HDF5Tree()
                    tree.addDataset("/t", tensor, attributes: ["task": .integer(task)])
                    for _ in 0..<5 {
                        try tree.write(to: file)
                        let reader = try HDF5Reader(path: file)
                        guard try reader.readTensor("/t") == tensor,
                              try reader.readAttribute("task", of: "/t") == .integer(task) else { return false }
                    }
                    return true
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 16 && results.allSatisfy { $0 })
    }

    // MARK: Inspector

    @Test func inspectorShowsTreeShapesAndAttributes() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var tree = HDF5Tree()
        tree.setAttribute("walkthrough", .string("01-score-functions"))
        tree.setAttribute("seed", .integer(42))
        tree.setAttribute("essay", .string(String(repeating: "long text ", count: 30)))
        tree.addDataset("/moments/M3", Tensor(shape: [3, 4, 4], repeating: 0.5),
                        attributes: ["formula": .string("M₃ = E[y ⊗ S₂(x)]"), "tolerance": .real(0.25)])
        tree.addDataset("/model/A1", Tensor(rows: [[1, -2], [3.5, .nan]]),
                        attributes: ["description": .string("say \"hi\""), "spectrum": .reals([1, 2])])
        tree.addPayload("/model/counts", .int64(shape: [3], values: [1, 2, 3]))
        tree.addGroup("/checks")
        let file = folder.file("inspect.h5")
        try tree.write(to: file)

        let whole = try HDF5Inspector.describe(file: file)
        let expectedLines = [
            "/",
            "  @seed = 42",
            "  @walkthrough = \"01-score-functions\"",
            "  checks/",
            "  model/",
            "    A1  2×2 float64",
            "      @description = \"say \\\"hi\\\"\"",
            "      @spectrum = [1.0, 2.0]",
            "    counts  3 int64",
            "  moments/",
            "    M3  3×4×4 float64",
            "      @formula = \"M₃ = E[y ⊗ S₂(x)]\"",
            "      @tolerance = 0.25",
        ]
        let lines = whole.split(separator: "\n").map(String.init)
        #expect(lines.filter { !$0.contains("@essay") } == expectedLines)
        let essay = try #require(lines.first { $0.hasPrefix("  @essay = ") })
        #expect(essay.hasSuffix("…\" (300 characters)"))
        #expect(essay.count < 120)

        let detail = try HDF5Inspector.describe(file: file, path: "/model/A1")
        #expect(detail.hasPrefix("/model/A1  2×2 float64\n"))
        #expect(detail.contains("min (finite entries)             -2.0"))
        #expect(detail.contains("max (finite entries)             3.5"))
        #expect(detail.contains("mean (finite entries)            0.8333333333333334"))
        #expect(detail.contains("Frobenius norm (finite entries)  " + "\((1.0 + 4 + 12.25).squareRoot())"))
        #expect(detail.contains("non-finite                       1 (NaN or ±infinity)"))
        #expect(detail.hasSuffix("  values:\n      1   -2\n    3.5  nan"))

        let cube = try HDF5Inspector.describe(file: file, path: "/moments/M3")
        #expect(cube.contains("  values:\n    [0, :, :]\n      0.5  0.5  0.5  0.5\n"))
        #expect(cube.contains("    [2, :, :]\n"))
        #expect(cube.contains("Frobenius norm  \(12.0.squareRoot())"))

        let group = try HDF5Inspector.describe(file: file, path: "/model")
        #expect(group.split(separator: "\n").first == "/model")
        #expect(group.contains("  A1  2×2 float64"))
        #expect(!group.contains("M3"))

        #expect(try HDF5Inspector.describe(file: file, path: "/model/counts").contains("mean            2.0"))

        #expect(hdf5Error { _ = try HDF5Inspector.describe(file: file, path: "/model/A9") }?.description
                == "\(file): /model/A9: no such group or dataset")
        #expect(hdf5Error { _ = try HDF5Inspector.describe(file: folder.file("none.h5")) }?.description
                == "\(folder.file("none.h5")): no such file")
        let text = folder.file("text.h5")
        try "plain text".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(hdf5Error { _ = try HDF5Inspector.describe(file: text) }?.description == "\(text): not an HDF5 file")
    }

    /// A dataset with a null dataspace (h5py.Empty) is listed as "(null dataspace)", shown on its
    /// own without statistics, and refused by readTensor with one line; an unsigned 64-bit
    /// attribute keeps every value up to UInt64.max, in the reader and in the inspector.
    @Test func inspectorShowsNullDataspacesAndLargeUnsignedAttributes() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var tree = HDF5Tree()
        tree.setAttribute("seed", .unsigned(UInt64.max))
        tree.setAttribute("small", .unsigned(7))
        tree.addPayload("/empty", .null, attributes: ["description": .string("nothing")])
        tree.addDataset("/x", Tensor(vector: [1, 2]))
        let file = folder.file("null.h5")
        try tree.write(to: file)

        let reader = try HDF5Reader(path: file)
        #expect(try reader.attributes(of: "/") == ["seed": .unsigned(UInt64.max), "small": .unsigned(7)])
        #expect(hdf5Error { _ = try reader.readTensor("/empty") }?.description == "\(file): /empty: has no data (null dataspace)")
        reader.close()

        let whole = try HDF5Inspector.describe(file: file)
        #expect(whole.split(separator: "\n").map(String.init) == [
            "/",
            "  @seed = 18446744073709551615",
            "  @small = 7",
            "  empty  (null dataspace) float64",
            "    @description = \"nothing\"",
            "  x  2 float64",
        ])
        let detail = try HDF5Inspector.describe(file: file, path: "/empty")
        #expect(detail == "/empty  (null dataspace) float64\n  @description = \"nothing\"")
    }

    /// HDF5's bookkeeping fields are dropped; the system's own message is kept. The raw
    /// text a user saw before (issue 12) is the input.
    @Test func hdf5FieldsAreCleanedFromDescriptions() {
        let raw = "unable to open file: name = 'x.h5', errno = 2, error message = 'No such file or directory', flags = 0, o_flags = 0"
        #expect(HDF5Library.cleanedDescription(raw) == "unable to open file: No such file or directory")
        #expect(HDF5Library.cleanedDescription("unable to truncate a file: flags = 15, o_flags = c2") == "unable to truncate a file")
        #expect(HDF5Library.cleanedDescription("plain words") == "plain words")
        // The check can fail: the raw text is not its own cleaned form.
        #expect(HDF5Library.cleanedDescription(raw) != raw)
    }

    /// Names are printed as they are unless they hold control characters (or bidirectional
    /// overrides), which are quoted and escaped as in Python; long names are not cut.
    @Test func inspectorEscapesNamesOnlyWhenNeeded() {
        #expect(HDF5Inspector.displayName("A1") == "A1")
        #expect(HDF5Inspector.displayName("M₃ (ü)") == "M₃ (ü)")
        #expect(HDF5Inspector.displayName("line\nbreak") == #""line\nbreak""#)
        #expect(HDF5Inspector.displayName("\u{1B}[31mred") == #""\x1b[31mred""#)
        #expect(HDF5Inspector.displayName("a\u{202E}b") == #""a\u202eb""#)
        #expect(HDF5Inspector.displayName("tab\there\u{7F}") == #""tab\there\x7f""#)
        let long = String(repeating: "\u{1}", count: 200)
        #expect(HDF5Inspector.displayName(long).count == 2 + 4 * 200)
        #expect(HDF5Inspector.quote("\u{1B}") == #""\x1b""#)
    }

    /// The output checks: a FIFO and a folder are refused before any work and stay as they
    /// were; a symbolic link is written through to its target; a loop of links and a long
    /// name are refused; stale temporaries of dead processes go, a live process's stay.
    @Test func outputPathsAreCheckedBeforeAnyWork() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var tree = HDF5Tree()
        tree.setAttribute("version", .string("new"))

        let fifo = folder.file("pipe.h5")
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(hdf5Error { try tree.write(to: fifo) }?.message.hasPrefix("exists and is a FIFO (named pipe), not a regular file") == true)
        var status = stat()
        #expect(lstat(fifo, &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO)

        let target = folder.file("target.h5"), link = folder.file("link.h5")
        try tree.write(to: target)
        #expect(symlink("target.h5", link) == 0)
        var newer = HDF5Tree()
        newer.setAttribute("version", .string("newer"))
        try newer.write(to: link)
        #expect(lstat(link, &status) == 0 && (status.st_mode & S_IFMT) == S_IFLNK)
        #expect(try HDF5Reader(path: target).readAttribute("version") == .string("newer"))

        #expect(symlink("loop-b", folder.file("loop-a")) == 0 && symlink("loop-a", folder.file("loop-b")) == 0)
        #expect(hdf5Error { try tree.write(to: folder.file("loop-a")) }?.message == "is a loop of symbolic links; give the path of a regular file")
        #expect(hdf5Error { try tree.write(to: folder.file(String(repeating: "n", count: 253) + ".h5")) } != nil)
        let longest = folder.file(String(repeating: "n", count: 252) + ".h5")
        try tree.write(to: longest)
        #expect(FileManager.default.fileExists(atPath: longest))

        let dead = ".target.h5.tmp-99999999-0123456789abcdef", alive = ".target.h5.tmp-\(getppid())-0123456789abcdef"
        for name in [dead, alive] { #expect(FileManager.default.createFile(atPath: folder.file(name), contents: Data())) }
        try tree.write(to: target)
        #expect(!folder.contents.contains(dead))
        #expect(folder.contents.contains(alive))
    }

    @Test func createdTimestampIsISO8601InUTC() throws {
        let before = Date()
        let stamp = utcTimestamp()
        let after = Date()
        // The format of ISO8601DateFormatter with its defaults, and the time it was made (to the second).
        #expect(stamp.count == 20 && stamp.hasSuffix("Z"))
        let parsed = try #require(ISO8601DateFormatter().date(from: stamp))
        #expect(parsed.timeIntervalSince(before) >= -1 && parsed.timeIntervalSince(after) <= 0)
        #expect(ISO8601DateFormatter().string(from: parsed) == stamp)
    }

    @Test func errorDescriptionIsOneLine() {
        #expect(HDF5Error(file: "f.h5", object: "/a", message: "bad").description == "f.h5: /a: bad")
        #expect(HDF5Error(file: "f.h5", object: nil, message: "bad").description == "f.h5: bad")
        #expect(HDF5Error(file: "f.h5", message: "two\nlines  here").description == "f.h5: two lines here")
    }
}
