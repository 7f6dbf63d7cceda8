import ArgumentParser
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

/// Prints `spectral-rnn: <message>` as one line on standard error.
func printFailure(_ message: String) {
    let line = message.split(whereSeparator: \.isNewline)
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
        .joined(separator: " ")
    FileHandle.standardError.write(Data("spectral-rnn: \(line)\n".utf8))
}
