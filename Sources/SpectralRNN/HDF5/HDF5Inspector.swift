import Foundation

/// A human-readable view of an HDF5 file: its tree of groups and datasets with shapes and
/// attributes, or one dataset with summary statistics and (when small) its values.
public enum HDF5Inspector {
    /// Datasets with at most this many entries have their values printed.
    public static let valueLimit = 64
    /// Strings longer than this many characters are shortened in attribute listings.
    public static let stringLimit = 100

    /// Describes `file`: with no `path`, the whole tree; with a group, that subtree; with a
    /// dataset, its shape, attributes, statistics (min, max, mean, Frobenius norm, count of
    /// non-finite entries) and values when there are at most `valueLimit` of them.
    public static func describe(file: String, path: String? = nil) throws -> String {
        let reader = try HDF5Reader(path: file)
        defer { reader.close() }
        let target = path ?? "/"
        var lines: [String] = []
        switch try reader.kind(of: target) {
        case .group:
            try describeGroup(target, title: target, depth: 0, reader: reader, into: &lines)
        case .dataset:
            try describeDatasetInDetail(target, reader: reader, into: &lines)
        }
        return lines.joined(separator: "\n")
    }

    // MARK: Tree

    private static func describeGroup(_ groupPath: String, title: String, depth: Int,
                                      reader: HDF5Reader, into lines: inout [String]) throws {
        let indent = String(repeating: "  ", count: depth)
        lines.append(indent + title)
        try describeAttributes(of: groupPath, indent: indent + "  ", reader: reader, into: &lines)
        for name in try reader.children(of: groupPath) {
            let childPath = groupPath == "/" ? "/" + name : groupPath + "/" + name
            let kind: HDF5ObjectKind
            do {
                guard reader.exists(childPath) else {
                    lines.append(indent + "  \(name)  (dangling link)")
                    continue
                }
                kind = try reader.kind(of: childPath)
            } catch {
                lines.append(indent + "  \(name)  (neither a group nor a dataset)")
                continue
            }
            switch kind {
            case .group:
                try describeGroup(childPath, title: name + "/", depth: depth + 1, reader: reader, into: &lines)
            case .dataset:
                let info = try reader.datasetSummary(childPath)
                lines.append(indent + "  \(name)  \(shapeText(info.shape)) \(info.type)")
                try describeAttributes(of: childPath, indent: indent + "    ", reader: reader, into: &lines)
            }
        }
    }

    private static func describeAttributes(of objectPath: String, indent: String,
                                           reader: HDF5Reader, into lines: inout [String]) throws {
        let readings = try reader.attributeReadings(of: objectPath)
        for name in readings.keys.sorted() {
            lines.append(indent + "@\(name) = " + attributeText(readings[name]!))
        }
    }

    // MARK: One dataset

    private static func describeDatasetInDetail(_ datasetPath: String, reader: HDF5Reader,
                                                into lines: inout [String]) throws {
        let info = try reader.datasetSummary(datasetPath)
        lines.append("\(datasetPath)  \(shapeText(info.shape)) \(info.type)")
        try describeAttributes(of: datasetPath, indent: "  ", reader: reader, into: &lines)
        guard info.isNumber, info.shape != nil else { return }
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

    /// `"text"` with quotes, backslashes and control characters escaped; strings longer
    /// than `stringLimit` characters are cut with `…` and their length.
    static func quote(_ text: String) -> String {
        var shown = text
        var suffix = ""
        if text.count > stringLimit {
            shown = String(text.prefix(stringLimit - 20))
            suffix = " (\(text.count) characters)"
        }
        var escaped = ""
        for character in shown {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n", "\r\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            default: escaped.append(character)
            }
        }
        return "\"" + escaped + (suffix.isEmpty ? "\"" : "…\"" + suffix)
    }
}
