/// A failure reading or writing an HDF5 file, as one line naming the file, the object
/// inside it (when there is one) and what went wrong (CONVENTIONS §5).
public struct HDF5Error: Error, CustomStringConvertible, Equatable {
    /// The file on disk.
    public let file: String
    /// The group or dataset inside the file, if the failure concerns one.
    public let object: String?
    /// What was expected or what went wrong, without the file and object.
    public let message: String

    public init(file: String, object: String? = nil, message: String) {
        self.file = file
        self.object = object
        self.message = HDF5Error.oneLine(message)
    }

    /// `"<file>: <object>: <message>"`, or `"<file>: <message>"` without an object.
    public var description: String {
        if let object { return "\(file): \(object): \(message)" }
        return "\(file): \(message)"
    }

    /// Collapses line breaks and runs of spaces so the message always fits one line.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: { $0.isNewline || $0 == " " || $0 == "\t" })
            .joined(separator: " ")
    }
}
