import ArgumentParser
import Foundation

/// The flags every walkthrough shares (CONVENTIONS §4).
public struct NotebookOptions: ParsableArguments, Sendable {
    @Flag(help: "Small samples, for tests: runs in seconds.")
    public var quick = false

    @Option(help: "Number of Monte Carlo samples (overrides the walkthrough's default).")
    public var samples: Int?

    @Option(help: "Seed of the project's random generator.")
    public var seed: UInt64 = 20160303

    @Option(name: .customLong("data-dir"), help: "Folder the HDF5 file is written to.")
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

    /// Parses the walkthrough's command line. `--help` prints the help; a bad flag prints one
    /// line, `PROGRAM: what was wrong`, and exits with status 64.
    public static func parseCommandLine(program: String) -> NotebookOptions {
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

    public mutating func validate() throws {
        if let samples, samples < 2 {
            throw ValidationError("--samples must be at least 2 (standard errors need two samples), got \(samples)")
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: dataDirectory, isDirectory: &isFolder), !isFolder.boolValue {
            throw ValidationError("--data-dir \(dataDirectory) names a file, not a folder")
        }
    }
}
