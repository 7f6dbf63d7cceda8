import ArgumentParser
import SpectralRNN

/// `spectral-rnn inspect FILE [PATH]`: the tree of an HDF5 file, or one group or dataset.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the groups, datasets (with shapes) and attributes of an HDF5 file.",
        discussion: """
            Without PATH, prints the whole tree. With the path of a group, prints that \
            subtree; with the path of a dataset, prints its attributes, summary statistics \
            and, when it has at most 64 entries, its values.
            """
    )

    @Argument(help: "The HDF5 file to inspect.")
    var file: String

    @Argument(help: "A group or dataset inside the file, e.g. /model/A1.")
    var path: String?

    func run() throws {
        do {
            print(try HDF5Inspector.describe(file: file, path: path))
        } catch {
            printFailure("\(error)")
            throw ExitCode(1)
        }
    }
}
