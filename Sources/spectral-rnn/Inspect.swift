import ArgumentParser
import SpectralRNN

/// `spectral-rnn inspect FILE [PATH]`: the tree of an HDF5 file, or one group or dataset.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the groups, datasets (with shapes) and attributes of an HDF5 file.",
        discussion: """
            Without PATH, prints the whole tree. With the path of a group, prints that \
            subtree; with the path of a dataset, prints its attributes, summary statistics \
            and, when it has at most 64 entries, its values. Each group lists at most \
            --members members (the rest are counted); an object reached by a second link \
            or a cycle is named, not shown again; external links are not followed; names \
            with control characters are quoted and escaped.
            """
    )

    @Argument(help: "The HDF5 file to inspect.")
    var file: String

    @Argument(help: "A group or dataset inside the file, e.g. /model/A1.")
    var path: String?

    @Option(parsing: .unconditional, help: "List at most this many members of each group.")
    var members: Int = HDF5Inspector.defaultMemberLimit

    func validate() throws {
        guard members >= 1 else { throw ValidationError("--members must be at least 1, got \(members)") }
    }

    func run() throws {
        do {
            print(try HDF5Inspector.describe(file: file, path: path, memberLimit: members))
        } catch {
            printFailure("\(error)")
            throw ExitCode(1)
        }
    }
}
