import CHDF5
import Foundation

/// A read-only handle on an HDF5 file. Every read validates before returning data: a
/// missing object, a group where a dataset is expected, a non-float type, a wrong rank or
/// non-finite values each throw one `HDF5Error` naming the file and the object.
///
/// All calls go through the project's HDF5 lock, so a reader may be shared across threads.
/// The file is closed by `close()` or when the reader is deallocated.
public final class HDF5Reader: @unchecked Sendable {
    /// The file on disk, as given.
    public let path: String
    /// The open file, or -1 once closed. Only touched holding the HDF5 lock.
    private var fileID: hid_t

    /// Opens `path` read-only. A missing or unreadable file, a folder or a file that is
    /// not HDF5 throws an `HDF5Error`.
    public init(path: String) throws {
        self.path = path
        self.fileID = try HDF5Library.withLock { try HDF5Reader.openFile(path) }
    }

    deinit { close() }

    /// Closes the file; later reads throw. Closing twice is harmless.
    public func close() {
        HDF5Library.withLock {
            if fileID >= 0 { _ = H5Fclose(fileID) }
            fileID = -1
        }
    }

    private static func openFile(_ path: String) throws -> hid_t {
        var status = stat()
        guard stat(path, &status) == 0 else {
            switch errno {
            case ENOENT:
                var link = stat()
                throw HDF5Error(file: path, message: lstat(path, &link) == 0 ? "is a symbolic link to a missing file" : "no such file")
            case ELOOP: throw HDF5Error(file: path, message: "is a loop of symbolic links")
            case ENOTDIR: throw HDF5Error(file: path, message: "no such file (a part of the path is not a folder)")
            default: throw HDF5Error(file: path, message: "cannot open: \(String(cString: strerror(errno)))")
            }
        }
        let kind = status.st_mode & S_IFMT
        guard kind != S_IFDIR else {
            throw HDF5Error(file: path, message: "is a folder, not an HDF5 file")
        }
        // A FIFO or a device would block or never end: only regular files are read.
        guard kind == S_IFREG else {
            throw HDF5Error(file: path, message: "is \(OutputFile.fileKindName(kind)), not a regular file")
        }
        guard access(path, R_OK) == 0 else {
            throw HDF5Error(file: path, message: "cannot read file (permission denied)")
        }
        guard H5Fis_hdf5(path) > 0 else {
            _ = H5Eclear2(hid_t(H5E_DEFAULT))
            throw HDF5Error(file: path, message: "not an HDF5 file")
        }
        let access = H5Pcreate(shim_H5P_FILE_ACCESS())
        try HDF5Library.check(access, "cannot create a property list", file: path, object: nil)
        defer { _ = H5Pclose(access) }
        // Closing the file closes everything in it, so close() really releases it.
        _ = H5Pset_fclose_degree(access, H5F_CLOSE_STRONG)
        let id = H5Fopen(path, shim_H5F_ACC_RDONLY(), access)
        return try HDF5Library.check(id, "cannot open HDF5 file", file: path, object: nil)
    }

    // MARK: Objects

    /// Whether `objectPath` names a group or dataset in the file (false for invalid paths).
    public func exists(_ objectPath: String) -> Bool {
        HDF5Library.withLock { ((try? lookup(objectPath)) ?? nil) != nil }
    }

    /// What `objectPath` is, nil when nothing is there; an object that is there but cannot be
    /// read (a newer format, say) throws, where `exists` would say false.
    public func kindIfPresent(_ objectPath: String) throws -> HDF5ObjectKind? {
        try HDF5Library.withLock { try lookup(objectPath) }
    }

    /// Whether `objectPath` is a group or a dataset.
    public func kind(of objectPath: String) throws -> HDF5ObjectKind {
        try HDF5Library.withLock {
            guard let kind = try lookup(objectPath) else {
                throw error(objectPath, "no such group or dataset")
            }
            return kind
        }
    }

    /// The names of the links in the group at `groupPath`, sorted.
    public func children(of groupPath: String) throws -> [String] {
        try HDF5Library.withLock {
            let group = try openObject(groupPath, expecting: .group)
            defer { HDF5Library.close(group) }
            var info = H5G_info_t()
            try check(H5Gget_info(group, &info), "cannot list the group", groupPath)
            var names: [String] = []
            for index in 0..<info.nlinks {
                let length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0,
                                                HDF5Library.defaultList)
                try check(length, "cannot read a link name", groupPath)
                var buffer = [CChar](repeating: 0, count: Int(length) + 1)
                try check(H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer,
                                             buffer.count, HDF5Library.defaultList),
                          "cannot read a link name", groupPath)
                names.append(decodeCString(buffer))
            }
            return names.sorted()
        }
    }

    /// The shape of the dataset at `datasetPath` (`[]` for a scalar).
    public func shape(of datasetPath: String) throws -> [Int] {
        try HDF5Library.withLock {
            let dataset = try openObject(datasetPath, expecting: .dataset)
            defer { HDF5Library.close(dataset) }
            return try datasetShape(dataset, datasetPath)
        }
    }

    // MARK: Attributes

    /// What reading one attribute gave: a supported value, or a description of the
    /// unsupported type (for the inspector).
    enum AttributeReading: Equatable {
        case value(HDF5Attribute)
        case unsupported(String)
    }

    /// Every attribute of the group or dataset at `objectPath`: strings (fixed or variable
    /// length), signed integers (`.integer`), unsigned integers (`.unsigned`), float64 (or
    /// float32) scalars and 1-d arrays. Any other kind throws.
    public func attributes(of objectPath: String) throws -> [String: HDF5Attribute] {
        try HDF5Library.withLock {
            var result: [String: HDF5Attribute] = [:]
            for (name, reading) in try attributeReadings(of: objectPath) {
                switch reading {
                case .value(let value): result[name] = value
                case .unsupported(let what):
                    throw error(objectPath, "attribute \"\(name)\" has an unsupported type (\(what))")
                }
            }
            return result
        }
    }

    /// One attribute of the group or dataset at `objectPath`, nil when it has none by that name.
    public func readAttribute(_ name: String, of objectPath: String = "/") throws -> HDF5Attribute? {
        try attributes(of: objectPath)[name]
    }

    /// Every attribute, unsupported kinds described rather than refused.
    func attributeReadings(of objectPath: String) throws -> [String: AttributeReading] {
        try HDF5Library.withLock {
            let object = try openObject(objectPath, expecting: nil)
            defer { HDF5Library.close(object) }
            return try attributeReadings(ofOpen: object, objectPath)
        }
    }

    /// The attributes of an open object (holding the lock).
    private func attributeReadings(ofOpen object: hid_t, _ objectPath: String) throws -> [String: AttributeReading] {
        var info = H5O_info_t()
        try check(H5Oget_info2(object, &info, UInt32(H5O_INFO_NUM_ATTRS)), "cannot read object information",
                  objectPath)
        var result: [String: AttributeReading] = [:]
        for index in 0..<info.num_attrs {
            let attribute = H5Aopen_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, index,
                                           HDF5Library.defaultList, HDF5Library.defaultList)
            try check(attribute, "cannot open attribute number \(index)", objectPath)
            defer { _ = H5Aclose(attribute) }
            let length = H5Aget_name(attribute, 0, nil)
            try check(length, "cannot read an attribute name", objectPath)
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            try check(H5Aget_name(attribute, buffer.count, &buffer), "cannot read an attribute name", objectPath)
            let name = decodeCString(buffer)
            result[name] = try readAttribute(attribute, named: name, objectPath)
        }
        return result
    }

    private func readAttribute(_ attribute: hid_t, named name: String, _ objectPath: String) throws -> AttributeReading {
        let what = "cannot read attribute \"\(name)\""
        let type = H5Aget_type(attribute)
        try check(type, what, objectPath)
        defer { _ = H5Tclose(type) }
        let space = H5Aget_space(attribute)
        try check(space, what, objectPath)
        defer { _ = H5Sclose(space) }
        let typeName = HDF5Library.typeName(type)
        guard let dims = HDF5Library.dimensions(space) else { return .unsupported("\(typeName), empty dataspace") }
        let count = dims.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let described = dims.isEmpty ? typeName : "\(typeName) array of shape \(hdf5ShapeText(dims))"

        switch H5Tget_class(type) {
        case H5T_STRING:
            guard count == 1 else { return .unsupported(described) }
            if H5Tis_variable_str(type) > 0 {
                let memoryType = HDF5Library.createVariableStringType()
                try check(memoryType, what, objectPath)
                defer { _ = H5Tclose(memoryType) }
                _ = H5Tset_cset(memoryType, H5Tget_cset(type))
                var pointer: UnsafeMutablePointer<CChar>? = nil
                try check(H5Aread(attribute, memoryType, &pointer), what, objectPath)
                defer { if let pointer { _ = H5free_memory(pointer) } }
                return .value(.string(pointer.map { String(cString: $0) } ?? ""))
            } else {
                let size = H5Tget_size(type)
                var bytes = [UInt8](repeating: 0, count: size + 1)
                try check(H5Aread(attribute, type, &bytes), what, objectPath)
                var text = bytes.prefix { $0 != 0 }
                if H5Tget_strpad(type) == H5T_STR_SPACEPAD {
                    while text.last == UInt8(ascii: " ") { text = text.dropLast() }
                }
                return .value(.string(String(decoding: text, as: UTF8.self)))
            }
        case H5T_INTEGER:
            guard dims.isEmpty else { return .unsupported(described) }
            if H5Tget_sign(type) == H5T_SGN_NONE {
                // Unsigned: read as uint64, so values above Int64.max are not clamped.
                let memoryType = HDF5Library.unsignedCopy(of: shim_H5T_NATIVE_INT64())
                try check(memoryType, what, objectPath)
                defer { _ = H5Tclose(memoryType) }
                var value: UInt64 = 0
                try check(H5Aread(attribute, memoryType, &value), what, objectPath)
                return .value(.unsigned(value))
            }
            var value: Int64 = 0
            try check(H5Aread(attribute, shim_H5T_NATIVE_INT64(), &value), what, objectPath)
            return .value(.integer(Int(value)))
        case H5T_FLOAT:
            // An attribute lives in an object header (64 KiB) or dense storage: a declared
            // count beyond 2²⁴ values is a crafted file, not data.
            guard dims.count <= 1, count <= 1 << 24 else { return .unsupported(described) }
            var values = [Double](repeating: 0, count: count)
            if count > 0 {
                try check(H5Aread(attribute, shim_H5T_NATIVE_DOUBLE(), &values), what, objectPath)
            }
            return dims.isEmpty ? .value(.real(values[0])) : .value(.reals(values))
        default:
            return .unsupported(described)
        }
    }

    // MARK: Data

    /// The float dataset at `datasetPath` as a float64 tensor (float32 is converted;
    /// integers and strings are refused). `rank`, when given, must match; with
    /// `requireFinite`, a NaN or infinite entry is an error naming its index. A dataset of more
    /// than `maximumEntries` entries (or more than `readLimitBytes`) is refused before reading.
    public func readTensor(_ datasetPath: String, rank: Int? = nil, requireFinite: Bool = false,
                           maximumEntries: Int? = nil) throws -> Tensor {
        try HDF5Library.withLock {
            let dataset = try openObject(datasetPath, expecting: .dataset)
            defer { HDF5Library.close(dataset) }
            try requireFloat(dataset, datasetPath)
            let shape = try datasetShape(dataset, datasetPath)
            if let rank, shape.count != rank {
                throw error(datasetPath, "expected rank \(rank), found rank \(shape.count) (shape \(hdf5ShapeText(shape)))")
            }
            if let maximumEntries {
                let entries = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
                guard entries <= maximumEntries else {
                    throw error(datasetPath, "declares shape \(hdf5ShapeText(shape)), more than the \(maximumEntries) entries expected here")
                }
            }
            let tensor = try readValues(dataset, shape: shape, datasetPath)
            if requireFinite { try checkFinite(tensor, datasetPath) }
            return tensor
        }
    }

    /// The block of the float dataset at `datasetPath` starting at multi-index `start`
    /// with `count` entries along each mode (an HDF5 hyperslab), as a tensor of shape `count`.
    public func readSlab(_ datasetPath: String, start: [Int], count: [Int]) throws -> Tensor {
        try HDF5Library.withLock {
            let dataset = try openObject(datasetPath, expecting: .dataset)
            defer { HDF5Library.close(dataset) }
            try requireFloat(dataset, datasetPath)
            let shape = try datasetShape(dataset, datasetPath)
            guard start.count == shape.count, count.count == shape.count else {
                throw error(datasetPath, "a slab of a rank-\(shape.count) dataset needs \(shape.count) start and "
                            + "count values, got \(start.count) and \(count.count)")
            }
            for mode in 0..<shape.count where start[mode] < 0 || count[mode] < 0 || start[mode] + count[mode] > shape[mode] {
                throw error(datasetPath, "slab start \(start) count \(count) does not fit shape \(hdf5ShapeText(shape))")
            }
            if shape.isEmpty { return try readValues(dataset, shape: [], datasetPath) }
            try checkReadable(dataset, shape: count, datasetPath)
            var values = [Double](repeating: 0, count: count.reduce(1, *))
            if values.isEmpty { return Tensor(shape: count, storage: values) }
            let fileSpace = H5Dget_space(dataset)
            try check(fileSpace, "cannot read the dataspace", datasetPath)
            defer { _ = H5Sclose(fileSpace) }
            let offsets = start.map { hsize_t($0) }, sizes = count.map { hsize_t($0) }
            try check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, offsets, nil, sizes, nil),
                      "cannot select slab start \(start) count \(count)", datasetPath)
            let memorySpace = HDF5Library.createSpace(count)
            try check(memorySpace, "cannot create a dataspace", datasetPath)
            defer { _ = H5Sclose(memorySpace) }
            try check(H5Dread(dataset, shim_H5T_NATIVE_DOUBLE(), memorySpace, fileSpace, HDF5Library.defaultList,
                              &values), "cannot read the slab", datasetPath)
            return Tensor(shape: count, storage: values)
        }
    }

    /// Shape and type name of the dataset at `datasetPath`; a null dataspace throws.
    func datasetDescription(_ datasetPath: String) throws -> (shape: [Int], type: String, isNumber: Bool) {
        try HDF5Library.withLock {
            let summary = try datasetSummary(datasetPath)
            guard let shape = summary.shape else { throw error(datasetPath, "has no data (null dataspace)") }
            return (shape, summary.type, summary.isNumber)
        }
    }

    /// Shape (nil for a null dataspace, which holds no data, like h5py.Empty) and type name of
    /// the dataset at `datasetPath` (for the inspector).
    func datasetSummary(_ datasetPath: String) throws -> (shape: [Int]?, type: String, isNumber: Bool) {
        try HDF5Library.withLock {
            let dataset = try openObject(datasetPath, expecting: .dataset)
            defer { HDF5Library.close(dataset) }
            return try datasetSummary(ofOpen: dataset, datasetPath)
        }
    }

    /// Shape and type of an open dataset (holding the lock).
    private func datasetSummary(ofOpen dataset: hid_t, _ datasetPath: String) throws -> (shape: [Int]?, type: String, isNumber: Bool) {
        let type = H5Dget_type(dataset)
        try check(type, "cannot read the datatype", datasetPath)
        defer { _ = H5Tclose(type) }
        let typeClass = H5Tget_class(type)
        let space = H5Dget_space(dataset)
        try check(space, "cannot read the dataspace", datasetPath)
        defer { _ = H5Sclose(space) }
        return (HDF5Library.dimensions(space), HDF5Library.typeName(type),
                typeClass == H5T_FLOAT || typeClass == H5T_INTEGER)
    }

    /// Any numeric (float or integer) dataset converted to float64 (for the inspector).
    func readNumbers(_ datasetPath: String) throws -> Tensor {
        try HDF5Library.withLock {
            let dataset = try openObject(datasetPath, expecting: .dataset)
            defer { HDF5Library.close(dataset) }
            return try readValues(dataset, shape: try datasetShape(dataset, datasetPath), datasetPath)
        }
    }

    // MARK: Walking the tree

    /// One link met by `walk`: its name, its depth below the starting group (which is
    /// itself the first entry, at depth 0, named by its path), and what it leads to.
    struct TreeEntry {
        enum Target: Equatable {
            case group(attributes: [String: AttributeReading])
            case dataset(shape: [Int]?, type: String, attributes: [String: AttributeReading])
            /// An object listed earlier at this path (a second hard link, or a cycle).
            case shownAbove(String)
            /// A soft link to nothing.
            case dangling
            /// An external link, not followed: the file and the path in it.
            case external(file: String, object: String)
            /// A named datatype or another object that is neither a group nor a dataset.
            case other
            /// An object HDF5 cannot open, and why.
            case unreadable(String)
            /// This many members of the group above were not listed (past `memberLimit`).
            case moreMembers(Int)
            /// The group's members were not listed: it is `depthLimit` levels down.
            case tooDeep
        }
        let name: String
        let depth: Int
        let target: Target
    }

    /// Groups nested deeper than this below the starting group are not opened by `walk`.
    static let depthLimit = 1_000

    /// Walks the tree below the group at `groupPath`, depth first with members in name
    /// order, calling `visit` for each link. Each group is listed once with one link
    /// iteration (linear in the number of links) and each object is opened relative to its
    /// parent, so the walk is linear in the size of the tree; an object reached again (by
    /// a second hard link or a cycle) is reported as `shownAbove` and not entered again.
    /// At most `memberLimit` members of a group are visited; the rest are counted.
    func walk(from groupPath: String, memberLimit: Int, visit: (TreeEntry) -> Void) throws {
        try HDF5Library.withLock {
            struct Frame { let group: hid_t; let path: String; let links: [LinkCollector.Link]; var next: Int; let total: Int }
            // Every open group is on the stack, and closed when popped or when the walk throws.
            var stack: [Frame] = []
            defer { for frame in stack { HDF5Library.close(frame.group) } }
            func push(_ group: hid_t, _ path: String) throws {
                do {
                    let (links, total) = try listLinks(group, path, limit: memberLimit)
                    stack.append(Frame(group: group, path: path, links: links, next: 0, total: total))
                } catch {
                    HDF5Library.close(group)
                    throw error
                }
            }
            let root = try openObject(groupPath, expecting: .group)
            var shown: [ObjectKey: String] = [:]
            if let key = objectKey(root) { shown[key] = groupPath }
            let rootAttributes: [String: AttributeReading]
            do { rootAttributes = try attributeReadings(ofOpen: root, groupPath) } catch {
                HDF5Library.close(root)
                throw error
            }
            visit(TreeEntry(name: groupPath, depth: 0, target: .group(attributes: rootAttributes)))
            try push(root, groupPath)
            while var frame = stack.last {
                let depth = stack.count
                guard frame.next < frame.links.count else {
                    if frame.total > frame.links.count {
                        visit(TreeEntry(name: "", depth: depth, target: .moreMembers(frame.total - frame.links.count)))
                    }
                    HDF5Library.close(frame.group)
                    stack.removeLast()
                    continue
                }
                let link = frame.links[frame.next]
                frame.next += 1
                stack[stack.count - 1] = frame
                let path = (frame.path == "/" ? "" : frame.path) + "/" + link.name
                func entry(_ target: TreeEntry.Target) { visit(TreeEntry(name: link.name, depth: depth, target: target)) }
                if link.type == H5L_TYPE_EXTERNAL {
                    entry(externalTarget(frame.group, link.name))
                    continue
                }
                if link.type == H5L_TYPE_SOFT, H5Oexists_by_name(frame.group, link.name, HDF5Library.defaultList) <= 0 {
                    _ = H5Eclear2(hid_t(H5E_DEFAULT))
                    entry(.dangling)
                    continue
                }
                let object = H5Oopen(frame.group, link.name, HDF5Library.defaultList)
                guard object >= 0 else {
                    entry(.unreadable(HDF5Library.failure(HDF5Library.unreadableObjectMessage, file: self.path, object: path).message))
                    continue
                }
                if let key = objectKey(object) {
                    if let first = shown[key] {
                        HDF5Library.close(object)
                        entry(.shownAbove(first))
                        continue
                    }
                    shown[key] = path
                }
                switch H5Iget_type(object) {
                case H5I_GROUP:
                    let attributes: [String: AttributeReading]
                    do { attributes = try attributeReadings(ofOpen: object, path) } catch {
                        HDF5Library.close(object)
                        throw error
                    }
                    entry(.group(attributes: attributes))
                    if depth >= Self.depthLimit {
                        HDF5Library.close(object)
                        visit(TreeEntry(name: "", depth: depth + 1, target: .tooDeep))
                    } else {
                        try push(object, path)
                    }
                case H5I_DATASET:
                    defer { HDF5Library.close(object) }
                    let summary = try datasetSummary(ofOpen: object, path)
                    entry(.dataset(shape: summary.shape, type: summary.type, attributes: try attributeReadings(ofOpen: object, path)))
                default:
                    HDF5Library.close(object)
                    entry(.other)
                }
            }
        }
    }

    /// Identifies an object across links: file number and address (H5Oget_info2).
    private struct ObjectKey: Hashable { let file: UInt; let address: UInt64 }

    private func objectKey(_ object: hid_t) -> ObjectKey? {
        var info = H5O_info_t()
        guard H5Oget_info2(object, &info, UInt32(H5O_INFO_BASIC)) >= 0 else {
            _ = H5Eclear2(hid_t(H5E_DEFAULT))
            return nil
        }
        return ObjectKey(file: UInt(info.fileno), address: UInt64(info.addr))
    }

    /// Collects links during H5Literate, stopping at `limit`.
    private final class LinkCollector {
        struct Link { let name: String; let type: H5L_type_t }
        var links: [Link] = []
        let limit: Int
        init(limit: Int) { self.limit = limit }
    }

    /// The first `limit` links of an open group in name order, and how many it has.
    private func listLinks(_ group: hid_t, _ groupPath: String, limit: Int) throws -> ([LinkCollector.Link], Int) {
        var info = H5G_info_t()
        try check(H5Gget_info(group, &info), "cannot list the group", groupPath)
        guard info.nlinks > 0, limit > 0 else { return ([], Int(info.nlinks)) }
        let collector = LinkCollector(limit: limit)
        var index: hsize_t = 0
        let status = withExtendedLifetime(collector) {
            H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, linkInfo, data in
                guard let name, let linkInfo, let data else { return -1 }
                let collector = Unmanaged<LinkCollector>.fromOpaque(data).takeUnretainedValue()
                collector.links.append(LinkCollector.Link(name: String(cString: name), type: linkInfo.pointee.type))
                return collector.links.count >= collector.limit ? 1 : 0
            }, Unmanaged.passUnretained(collector).toOpaque())
        }
        try check(status, "cannot list the group", groupPath)
        return (collector.links, Int(info.nlinks))
    }

    /// Why the file an external link names must not be opened (it is a FIFO, a device or a
    /// folder), or nil; candidates as HDF5 resolves them: beside this file, then as given.
    private func externalFileProblem(_ target: String) -> String? {
        let folder = (path as NSString).deletingLastPathComponent
        let candidates = target.hasPrefix("/") ? [target]
            : [(folder.isEmpty ? target : (folder as NSString).appendingPathComponent(target)), target]
        for candidate in candidates {
            var status = stat()
            guard stat(candidate, &status) == 0 else { continue }
            let kind = status.st_mode & S_IFMT
            return kind == S_IFREG ? nil : "is \(OutputFile.fileKindName(kind)), not a regular file"
        }
        return nil
    }

    /// Where an external link points, without opening its file.
    private func externalTarget(_ group: hid_t, _ name: String) -> TreeEntry.Target {
        var info = H5L_info_t()
        guard H5Lget_info(group, name, &info, HDF5Library.defaultList) >= 0, info.u.val_size > 0 else {
            _ = H5Eclear2(hid_t(H5E_DEFAULT))
            return .external(file: "?", object: "?")
        }
        var value = [UInt8](repeating: 0, count: info.u.val_size)
        // The unpacked names point into `value`: read them while it is pinned.
        let target: TreeEntry.Target? = value.withUnsafeMutableBytes { buffer in
            var file: UnsafePointer<CChar>? = nil, object: UnsafePointer<CChar>? = nil
            var flags: UInt32 = 0
            guard H5Lget_val(group, name, buffer.baseAddress, buffer.count, HDF5Library.defaultList) >= 0,
                  H5Lunpack_elink_val(buffer.baseAddress, buffer.count, &flags, &file, &object) >= 0,
                  let file, let object else { return nil }
            return .external(file: String(cString: file), object: String(cString: object))
        }
        if target == nil { _ = H5Eclear2(hid_t(H5E_DEFAULT)) }
        return target ?? .external(file: "?", object: "?")
    }

    // MARK: Plumbing (all called holding the HDF5 lock)

    private func error(_ object: String?, _ message: String) -> HDF5Error {
        HDF5Error(file: path, object: object, message: message)
    }

    @discardableResult
    private func check<R: BinaryInteger>(_ result: R, _ what: @autoclosure () -> String, _ object: String?) throws -> R {
        try HDF5Library.check(result, what(), file: path, object: object)
    }

    private func openedFile() throws -> hid_t {
        guard fileID >= 0 else { throw error(nil, "the file has been closed") }
        return fileID
    }

    /// What `objectPath` is, nil when nothing is there. Every step is checked, so a
    /// missing parent or a dataset used as a parent is "not there" instead of an HDF5 error.
    private func lookup(_ objectPath: String) throws -> HDF5ObjectKind? {
        let file = try openedFile()
        guard let parts = hdf5PathComponents(objectPath) else { throw error(objectPath, hdf5InvalidPathMessage) }
        var prefix = ""
        for (position, part) in parts.enumerated() {
            prefix += "/" + part
            let linked = H5Lexists(file, prefix, HDF5Library.defaultList)
            guard linked >= 0 else { throw HDF5Library.failure("cannot read the link", file: path, object: prefix) }
            guard linked > 0 else { return nil }
            // HDF5 would open an external link's file without looking: a FIFO there blocks.
            if HDF5Library.isSoftOrExternalLink(file, prefix), case .external(let target, _) = externalTarget(file, prefix), target != "?",
               let problem = externalFileProblem(target) {
                throw error(prefix, "is an external link to \(target), which \(problem)")
            }
            // Negative (an error) for an object this HDF5 cannot read, e.g. one written in a newer
            // format: say so, rather than "no such dataset". Zero for a dangling soft or external link.
            let exists = H5Oexists_by_name(file, prefix, HDF5Library.defaultList)
            if exists < 0, !HDF5Library.isSoftOrExternalLink(file, prefix) {
                throw HDF5Library.failure(HDF5Library.unreadableObjectMessage, file: path, object: prefix)
            }
            guard exists > 0 else {
                _ = H5Eclear2(hid_t(H5E_DEFAULT))
                return nil
            }
            if position < parts.count - 1, try objectKind(prefix) != .group { return nil }
        }
        return try objectKind(objectPath)
    }

    /// The kind of an existing object; named datatypes and the like are refused.
    private func objectKind(_ objectPath: String) throws -> HDF5ObjectKind {
        let object = H5Oopen(try openedFile(), objectPath, HDF5Library.defaultList)
        try check(object, HDF5Library.unreadableObjectMessage, objectPath)
        defer { HDF5Library.close(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: throw error(objectPath, "is neither a group nor a dataset")
        }
    }

    /// Opens the object at `objectPath`, checking it exists and (when given) is of `kind`.
    private func openObject(_ objectPath: String, expecting kind: HDF5ObjectKind?) throws -> hid_t {
        guard let found = try lookup(objectPath) else {
            switch kind {
            case .group: throw error(objectPath, "no such group")
            case .dataset: throw error(objectPath, "no such dataset")
            case nil: throw error(objectPath, "no such group or dataset")
            }
        }
        if let kind, kind != found {
            throw error(objectPath, kind == .dataset ? "is a group, expected a dataset" : "is a dataset, expected a group")
        }
        let object = H5Oopen(try openedFile(), objectPath, HDF5Library.defaultList)
        return try check(object, "cannot open object", objectPath)
    }

    private func datasetShape(_ dataset: hid_t, _ datasetPath: String) throws -> [Int] {
        let space = H5Dget_space(dataset)
        try check(space, "cannot read the dataspace", datasetPath)
        defer { _ = H5Sclose(space) }
        guard let shape = HDF5Library.dimensions(space) else {
            throw error(datasetPath, "has no data (null dataspace)")
        }
        return shape
    }

    private func requireFloat(_ dataset: hid_t, _ datasetPath: String) throws {
        let type = H5Dget_type(dataset)
        try check(type, "cannot read the datatype", datasetPath)
        defer { _ = H5Tclose(type) }
        guard H5Tget_class(type) == H5T_FLOAT else {
            throw error(datasetPath, "expected float64, found \(HDF5Library.typeName(type))")
        }
    }

    private func readValues(_ dataset: hid_t, shape: [Int], _ datasetPath: String) throws -> Tensor {
        try checkReadable(dataset, shape: shape, datasetPath)
        var values = [Double](repeating: 0, count: shape.reduce(1, *))
        if !values.isEmpty {
            let all = shim_H5S_ALL()
            try check(H5Dread(dataset, shim_H5T_NATIVE_DOUBLE(), all, all, HDF5Library.defaultList, &values),
                      "cannot read the values", datasetPath)
        }
        return Tensor(shape: shape, storage: values)
    }

    private func checkFinite(_ tensor: Tensor, _ datasetPath: String) throws {
        guard let first = tensor.storage.firstIndex(where: { !$0.isFinite }) else { return }
        let value = tensor.storage[first]
        let what = value.isNaN ? "NaN" : (value > 0 ? "+infinity" : "-infinity")
        let bad = tensor.storage.lazy.filter { !$0.isFinite }.count
        var message = tensor.shape.isEmpty ? "is \(what)"
            : "contains \(what) at index \(hdf5MultiIndex(first, in: tensor.shape))"
        if bad > 1 { message += " (\(bad) of \(tensor.count) entries are not finite)" }
        throw error(datasetPath, message)
    }

    /// The most bytes one read converts into memory (a quarter of this machine's memory, at
    /// most 16 GiB): a small file may declare a dataset of any size.
    public static let readLimitBytes: Int = Int(min(ProcessInfo.processInfo.physicalMemory / 4, 16 << 30))

    /// Throws, before anything is allocated or read, when reading `shape` of the dataset as
    /// float64 would exceed `readLimitBytes`, when it needs a filter this HDF5 lacks, or when
    /// it is a virtual dataset with a missing source (HDF5 would silently read fill values).
    func checkReadable(_ dataset: hid_t, shape: [Int], _ datasetPath: String) throws {
        if let problem = readProblem(dataset, shape: shape) { throw error(datasetPath, problem) }
    }

    /// Why reading `shape` of the open dataset would not be done (see `checkReadable`), or nil.
    private func readProblem(_ dataset: hid_t, shape: [Int]) -> String? {
        var entries = 1
        for extent in shape {
            let (product, overflow) = entries.multipliedReportingOverflow(by: extent)
            entries = overflow ? Int.max : product
        }
        let (bytes, overflow) = entries.multipliedReportingOverflow(by: 8)
        if overflow || bytes > Self.readLimitBytes {
            return ("declares shape \(hdf5ShapeText(shape)) (\(entries == Int.max ? "more than 9·10¹⁸" : "\(entries)") entries, "
                        + "\(formatBytes(overflow ? Double(Int.max) : Double(bytes))) as float64), more than one read may take here "
                        + "(\(formatBytes(Double(Self.readLimitBytes))), a quarter of this machine's memory)")
        }
        return HDF5Library.unreadableReason(dataset, file: path)
    }

    /// Why the whole of the dataset at `datasetPath` would not be read (too large for one
    /// read, a missing filter, a virtual dataset with a missing source), or nil; for the
    /// inspector, which then shows what it can without the values.
    func readProblem(_ datasetPath: String) throws -> String? {
        try HDF5Library.withLock {
            let dataset = try openObject(datasetPath, expecting: .dataset)
            defer { HDF5Library.close(dataset) }
            return readProblem(dataset, shape: try datasetShape(dataset, datasetPath))
        }
    }

    /// Like `checkReadable`, for the dataset at `datasetPath` and a read of `shape` (the
    /// window source checks /x and /y this way once, before its batches).
    func checkReadable(_ datasetPath: String, shape: [Int]) throws {
        try HDF5Library.withLock {
            let dataset = try openObject(datasetPath, expecting: .dataset)
            defer { HDF5Library.close(dataset) }
            try checkReadable(dataset, shape: shape, datasetPath)
        }
    }

    private func decodeCString(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `[i, j, k]`: the row-major multi-index of flat position `offset` in `shape`.
func hdf5MultiIndex(_ offset: Int, in shape: [Int]) -> String {
    var rest = offset
    var index = [Int](repeating: 0, count: shape.count)
    for mode in stride(from: shape.count - 1, through: 0, by: -1) where shape[mode] > 0 {
        index[mode] = rest % shape[mode]
        rest /= shape[mode]
    }
    return "[" + index.map(String.init).joined(separator: ", ") + "]"
}
