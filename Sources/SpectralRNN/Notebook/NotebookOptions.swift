import ArgumentParser
import Foundation

/// The flags every walkthrough shares (CONVENTIONS §4).
public struct NotebookOptions: ParsableArguments, Sendable {
    @Flag(help: "Small samples, for tests: runs in seconds.")
    public var quick = false

    // `.unconditional`: the next argument is the value even when it starts with a dash, so
    // `--samples -3` is refused by `validate` with the minimum rather than read as a flag.
    @Option(parsing: .unconditional,
            help: "Number of Monte Carlo samples (overrides the walkthrough's default; at least \(NotebookOptions.minimumSamples)).")
    public var samples: Int?

    @Option(parsing: .unconditional, help: "Seed of the project's random generator.")
    public var seed: UInt64 = 20160303

    @Option(name: .customLong("data-dir"), parsing: .unconditional, help: "Folder the HDF5 file is written to.")
    public var dataDirectory = "data"

    @Flag(help: "Print the same content as Markdown (for docs/).")
    public var markdown = false

    /// Required by ArgumentParser; an instance made this way cannot be read (ArgumentParser
    /// stops the program). Use `NotebookOptions.defaults` or `parse(_:)` in code.
    public init() {}

    /// The default options, as parsed from an empty command line.
    public static var defaults: NotebookOptions {
        do { return try parse([]) } catch { preconditionFailure("NotebookOptions: the defaults do not parse: \(error)") }
    }

    /// The number of samples to use: `--samples` if given, else the quick or full default.
    public func sampleCount(full: Int, quick quickCount: Int) -> Int {
        samples ?? (quick ? quickCount : full)
    }

    /// A walkthrough's own floor on `--samples`, above `minimumSamples`: below `minimum`, one line
    /// `PROGRAM: --samples MEANING and must be at least MINIMUM, got N` and exit status 64.
    public func requireSamples(atLeast minimum: Int, program: String, meaning: String) {
        guard let samples, samples < minimum else { return }
        FileHandle.standardError.write("\(program): --samples \(meaning) and must be at least \(minimum), got \(samples)\n".data(using: .utf8)!)
        Foundation.exit(64)
    }

    /// Parses the walkthrough's command line, after checking that this CPU has the instruction
    /// set the library was compiled for (`requireCompiledInstructionSet`, inlined into the
    /// walkthrough, as this function is (`@_transparent`): it is the first call each one makes). `--help` prints the help; a bad
    /// flag prints one line, `PROGRAM: what was wrong`, and exits with status 64.
    @_transparent
    public static func parseCommandLine(program: String) -> NotebookOptions {
        requireCompiledInstructionSet(program: program)
        return parsedCommandLine(program: program)
    }

    /// `parseCommandLine` after the instruction-set check.
    @usableFromInline
    static func parsedCommandLine(program: String) -> NotebookOptions {
        do {
            return try parse()
        } catch {
            if exitCode(for: error) == .success {
                // ParsableArguments has no command name; show the walkthrough's own.
                print(fullMessage(for: error).replacingOccurrences(of: "USAGE: notebook", with: "USAGE: \(program)"))
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            FileHandle.standardError.write("\(program): \(message)\n".data(using: .utf8)!)
            Foundation.exit(64)
        }
    }

    /// The smallest `--samples`: 32 batch means of at least 2 samples each (the standard
    /// errors of the Monte Carlo checks come from the spread of the batch means).
    public static let minimumSamples = 2 * StreamingMean.defaultBatches

    public mutating func validate() throws {
        if let samples, samples < Self.minimumSamples {
            throw ValidationError("--samples must be at least \(Self.minimumSamples) (\(StreamingMean.defaultBatches) batches of at least 2 samples for the standard errors), got \(samples)")
        }
        if let problem = Self.dataDirectoryProblem(dataDirectory) {
            throw ValidationError(problem)
        }
    }

    /// Why `folder` cannot receive the walkthrough's file, or nil when it can: it must be a
    /// writable folder, or be creatable (it is created here, with its missing parents, so a
    /// bad path is reported before the run rather than when saving at the end).
    static func dataDirectoryProblem(_ folder: String) -> String? {
        guard !folder.isEmpty else { return "--data-dir must name a folder, got an empty string" }
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        if manager.fileExists(atPath: folder, isDirectory: &isFolder) {
            guard isFolder.boolValue else { return "--data-dir \(folder) names a file, not a folder" }
            guard access(folder, W_OK | X_OK) == 0 else { return "--data-dir \(folder) is not writable (\(String(cString: strerror(errno))))" }
            // access(2) passes for root on a read-only mount's folders: probe with a real file.
            // The name is random as well as per process: threads of one process (parallel
            // tests, a library caller) probe the same folder at once.
            let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            let probe = (folder as NSString).appendingPathComponent(".spectral-rnn-probe-\(getpid())-\(random)")
            let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { return "--data-dir \(folder): cannot create a file there (\(String(cString: strerror(errno))))" }
            _ = close(descriptor)
            _ = unlink(probe)
            return nil
        }
        // Walk up to the nearest existing parent, which must be a folder, then create the
        // missing folders downwards (mkdir, so a failure says why).
        var missing: [String] = []
        var path = folder
        while !manager.fileExists(atPath: path) {
            missing.append(path)
            let parent = (path as NSString).deletingLastPathComponent
            if parent.isEmpty || parent == path { break }
            path = parent
        }
        if manager.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
            return "--data-dir \(folder): \(path) is a file, not a folder"
        }
        for created in missing.reversed() where mkdir(created, 0o777) != 0 && errno != EEXIST {
            return "--data-dir \(folder): cannot create \(created) (\(String(cString: strerror(errno))))"
        }
        return nil
    }
}
