import ArgumentParser
import SpectralRNN
import Foundation

@main
struct SpectralRNNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectral-rnn",
        abstract: "Learn recurrent networks by spectral (score-function tensor) methods, "
            + "and inspect the HDF5 files they read and write.",
        subcommands: [Simulate.self, Fit.self, Inspect.self]
    )

    /// Like ArgumentParser's own `main()`, except that every failure is one line on
    /// standard error, `spectral-rnn: <message>`, and exit code 1. Help and version
    /// requests are printed as usual.
    static func main() {
        requireCompiledInstructionSet(program: "spectral-rnn")
        holdBLASToOneThread()
        if let problem = dashArgumentProblem(Array(CommandLine.arguments.dropFirst())) {
            printFailure(problem)
            Self.exit(withError: ExitCode(1))
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Self.exit(withError: exit)
        } catch {
            if exitCode(for: error) == .success { Self.exit(withError: error) }
            printFailure(message(for: error))
            Self.exit(withError: ExitCode(1))
        }
    }
}

/// The flags of the command (options without a value); every other `--name` takes one.
private let valuelessFlags: Set<String> = ["--scalar-output", "--help", "-h", "--version"]

/// Why an argument that starts with one dash would be misread, or nil. ArgumentParser reads
/// `-dash.h5` as the short flags -d -a -s -h …, and -h prints the help: a file name such a
/// token would have been is refused with the way to give it. Numbers (-1, -0.5) pass: they
/// are values, and every option takes the next argument as its value.
func dashArgumentProblem(_ arguments: [String]) -> String? {
    var previous: String?
    for argument in arguments {
        if argument == "--" { return nil }
        defer { previous = argument }
        guard argument.hasPrefix("-"), !argument.hasPrefix("--"), argument != "-h", Double(argument) == nil else { continue }
        if let previous, previous.hasPrefix("--"), !previous.contains("="), !valuelessFlags.contains(previous) { continue }
        return "'\(argument)' is not an option (the only short option is -h); to give a file whose name starts with '-', "
            + "put '--' before the file arguments (spectral-rnn inspect -- \(argument)) or write ./\(argument)"
    }
    return nil
}

/// Prints `spectral-rnn: <message>` as one line on standard error.
func printFailure(_ message: String) {
    let line = message.split(whereSeparator: \.isNewline)
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
        .joined(separator: " ")
    FileHandle.standardError.write(Data("spectral-rnn: \(line)\n".utf8))
}
