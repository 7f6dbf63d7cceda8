import Foundation

/// A human-readable view of an HDF5 file: its tree of groups and datasets with shapes and
/// attributes, or one dataset with summary statistics and (when small) its values.
public enum HDF5Inspector {
    /// Datasets with at most this many entries have their values printed.
    public static let valueLimit = 64
    /// Strings longer than this many characters are shortened in attribute listings.
    public static let stringLimit = 100

    /// Groups list at most this many members unless told otherwise; the rest are counted.
    public static let defaultMemberLimit = 100

    /// Describes `file`: with no `path`, the whole tree; with a group, that subtree (at most
    /// `memberLimit` members of each group, the rest counted); with a dataset, its shape,
    /// attributes, statistics (min, max, mean, Frobenius norm, count of non-finite entries)
    /// and values when there are at most `valueLimit` of them.
    public static func describe(file: String, path: String? = nil, memberLimit: Int = defaultMemberLimit) throws -> String {
        let reader = try HDF5Reader(path: file)
        defer { reader.close() }
        let target = path ?? "/"
        var lines: [String] = []
        switch try reader.kind(of: target) {
        case .group:
            try describeTree(target, memberLimit: memberLimit, reader: reader, into: &lines)
        case .dataset:
            try describeDatasetInDetail(target, reader: reader, into: &lines)
        }
        return lines.joined(separator: "\n")
    }

    // MARK: Tree

    /// One line per link (attributes below their object), indented by depth; objects met
    /// again are named, not repeated, so cycles end.
    private static func describeTree(_ groupPath: String, memberLimit: Int, reader: HDF5Reader,
                                     into lines: inout [String]) throws {
        try reader.walk(from: groupPath, memberLimit: memberLimit) { entry in
            let indent = String(repeating: "  ", count: entry.depth)
            let name = displayName(entry.name)
            switch entry.target {
            case .group(let attributes):
                lines.append(indent + (entry.depth == 0 ? name : name + "/"))
                appendAttributes(attributes, indent: indent + "  ", into: &lines)
            case .dataset(let shape, let type, let attributes):
                lines.append(indent + "\(name)  \(shapeText(shape)) \(type)")
                appendAttributes(attributes, indent: indent + "  ", into: &lines)
            case .shownAbove(let first):
                lines.append(indent + "\(name)  (the object at \(displayName(first)), shown above)")
            case .dangling:
                lines.append(indent + "\(name)  (dangling link)")
            case .external(let file, let object):
                lines.append(indent + "\(name)  (external link to \(displayName(object)) in \(displayName(file)), not followed)")
            case .other:
                lines.append(indent + "\(name)  (neither a group nor a dataset)")
            case .unreadable(let why):
                lines.append(indent + "\(name)  (\(why))")
            case .moreMembers(let count):
                lines.append(indent + "… and \(count) more member\(count == 1 ? "" : "s") (inspect --members N shows more)")
            case .tooDeep:
                lines.append(indent + "… (more than \(HDF5Reader.depthLimit) levels deep: inspect the group itself)")
            }
        }
    }

    private static func appendAttributes(_ readings: [String: HDF5Reader.AttributeReading], indent: String,
                                         into lines: inout [String]) {
        for name in readings.keys.sorted() {
            lines.append(indent + "@\(displayName(name)) = " + attributeText(readings[name]!))
        }
    }

    /// A name as printed: as it is, unless it holds control characters (a newline would
    /// break the tree, an escape sequence would reach the terminal), then quoted and escaped.
    static func displayName(_ name: String) -> String {
        name.unicodeScalars.contains(where: needsEscape) ? quote(name, limit: Int.max) : name
    }

    /// Control characters (C0, DEL, C1) and the bidirectional overrides that reorder text.
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
            || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }

    // MARK: One dataset

    private static func describeDatasetInDetail(_ datasetPath: String, reader: HDF5Reader,
                                                into lines: inout [String]) throws {
        let info = try reader.datasetSummary(datasetPath)
        lines.append("\(displayName(datasetPath))  \(shapeText(info.shape)) \(info.type)")
        appendAttributes(try reader.attributeReadings(of: datasetPath), indent: "  ", into: &lines)
        guard info.isNumber, info.shape != nil else { return }
        if let problem = try reader.readProblem(datasetPath) {
            lines.append("  statistics: not read: the dataset " + problem)
            return
        }
        let tensor = try reader.readNumbers(datasetPath)
        lines.append("  statistics:")
        lines.append(contentsOf: statistics(tensor).map { "    " + $0 })
        if tensor.count <= valueLimit && tensor.count > 0 {
            lines.append("  values:")
            lines.append(contentsOf: valueLines(tensor).map { "    " + $0 })
        }
    }

    /// `2×3`, `scalar`, or `(null dataspace)` for a dataset that holds no data (h5py.Empty).
    static func shapeText(_ shape: [Int]?) -> String {
        shape.map(hdf5ShapeText) ?? "(null dataspace)"
    }

    /// min, max, mean and Frobenius norm of the finite entries, and the non-finite count.
    static func statistics(_ tensor: Tensor) -> [String] {
        let finite = tensor.storage.filter { $0.isFinite }
        let nonFinite = tensor.count - finite.count
        var rows: [(String, String)] = [("entries", "\(tensor.count)")]
        if finite.isEmpty {
            rows.append(("finite entries", "none"))
        } else {
            let label = nonFinite > 0 ? " (finite entries)" : ""
            rows.append(("min" + label, "\(finite.min()!)"))
            rows.append(("max" + label, "\(finite.max()!)"))
            rows.append(("mean" + label, "\(finite.reduce(0, +) / Double(finite.count))"))
            // Scaled so that huge entries do not overflow the sum of squares.
            let scale = finite.map { abs($0) }.max()!
            let norm = scale == 0 ? 0 : scale * finite.map { ($0 / scale) * ($0 / scale) }.reduce(0, +).squareRoot()
            rows.append(("Frobenius norm" + label, "\(norm)"))
        }
        rows.append(("non-finite", nonFinite == 0 ? "0" : "\(nonFinite) (NaN or ±infinity)"))
        let width = rows.map { $0.0.count }.max()!
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
    }

    /// The values as aligned rows: one row for a vector, the rows of a matrix, and for
    /// higher orders each matrix slice `[i, j, :, :]` under its own heading.
    static func valueLines(_ tensor: Tensor) -> [String] {
        let texts = tensor.storage.map(valueText)
        let width = texts.map { $0.count }.max() ?? 0
        let padded = texts.map { String(repeating: " ", count: width - $0.count) + $0 }
        switch tensor.order {
        case 0: return [texts[0]]
        case 1: return [padded.joined(separator: "  ")]
        default:
            let columns = tensor.shape[tensor.order - 1]
            let rows = tensor.shape[tensor.order - 2]
            let sliceSize = rows * columns
            var lines: [String] = []
            guard sliceSize > 0 else { return lines }
            let leading = Array(tensor.shape.dropLast(2))
            for slice in 0..<(tensor.count / sliceSize) {
                if tensor.order > 2 {
                    let index = hdf5MultiIndex(slice, in: leading).dropLast()
                    lines.append(index + ", :, :]")
                }
                for row in 0..<rows {
                    let start = slice * sliceSize + row * columns
                    lines.append((tensor.order > 2 ? "  " : "") + padded[start..<(start + columns)].joined(separator: "  "))
                }
            }
            return lines
        }
    }

    /// A number for the values table: six significant digits, `nan`, `inf`, `-inf`.
    static func valueText(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return String(format: "%.6g", value)
    }

    /// An attribute value: strings quoted (long ones shortened), numbers in full precision.
    static func attributeText(_ reading: HDF5Reader.AttributeReading) -> String {
        switch reading {
        case .unsupported(let what): return "<\(what)>"
        case .value(.string(let text)): return quote(text)
        case .value(.integer(let number)): return "\(number)"
        case .value(.unsigned(let number)): return "\(number)"
        case .value(.real(let number)): return "\(number)"
        case .value(.reals(let values)):
            if values.count <= 10 { return "[" + values.map { "\($0)" }.joined(separator: ", ") + "]" }
            return "[" + values.prefix(8).map { "\($0)" }.joined(separator: ", ") + ", … (\(values.count) values)]"
        }
    }

    /// `"text"` with quotes, backslashes and control characters escaped (`\\n`, `\\t`, `\\r`,
    /// else `\\x1b` or `\\u202e` as in Python); strings longer than `limit` characters are
    /// cut with `…` and their length.
    static func quote(_ text: String, limit: Int = stringLimit) -> String {
        var shown = text
        var suffix = ""
        if text.count > limit {
            shown = String(text.prefix(limit - 20))
            suffix = " (\(text.count) characters)"
        }
        var escaped = ""
        for scalar in shown.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            case _ where needsEscape(scalar):
                escaped += scalar.value < 0x100 ? String(format: "\\x%02x", scalar.value) : String(format: "\\u%04x", scalar.value)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "\"" + escaped + (suffix.isEmpty ? "\"" : "…\"" + suffix)
    }
}
