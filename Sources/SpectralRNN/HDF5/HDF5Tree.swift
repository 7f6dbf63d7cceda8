import CHDF5
import Foundation

/// The value of an HDF5 attribute as this project writes and reads it.
public enum HDF5Attribute: Equatable, Sendable {
    /// A variable-length UTF-8 string (h5py returns `str`).
    case string(String)
    /// A signed 64-bit integer.
    case integer(Int)
    /// An unsigned 64-bit integer (h5py returns `numpy.uint64`), e.g. a seed: every UInt64 round-trips.
    case unsigned(UInt64)
    /// A float64 scalar.
    case real(Double)
    /// A one-dimensional float64 array.
    case reals([Double])
}

/// What an object inside an HDF5 file is.
public enum HDF5ObjectKind: Equatable, Sendable {
    case group, dataset
}

/// An HDF5 file assembled in memory, then written in one go.
///
/// Mistakes made while assembling (a path that does not start with `/`, a dataset where
/// a group is needed, an attribute on an object never added) are remembered and
/// reported by `write(to:)`, before anything touches the disk.
public struct HDF5Tree: Sendable {
    /// What a node holds. Besides float64 tensors, a few other dataset types exist so the
    /// tests can build the files a reader has to reject or convert.
    enum Payload: Sendable {
        case group
        case float64(Tensor)
        case float32(shape: [Int], values: [Float])
        case int64(shape: [Int], values: [Int64])
        case string(String)
        /// A float64 dataset with a null dataspace: no data at all (h5py.Empty).
        case null
    }

    /// An attribute as stored: the public kinds, or a fixed-length string (tests only).
    enum StoredAttribute: Sendable, Equatable {
        case value(HDF5Attribute)
        case fixedLengthString(String)
    }

    struct Node: Sendable {
        var payload: Payload
        var attributes: [String: StoredAttribute] = [:]
        var isGroup: Bool { if case .group = payload { return true } else { return false } }
    }

    /// Every node by absolute path; the root `/` always exists.
    private(set) var nodes: [String: Node] = ["/": Node(payload: .group)]
    /// Assembly mistakes, reported by `write(to:)` (the first one).
    private(set) var problems: [(object: String, message: String)] = []

    public init() {}

    /// Sets (or replaces) attribute `name` on the root, an added group or an added dataset.
    public mutating func setAttribute(_ name: String, _ value: HDF5Attribute, at path: String = "/") {
        setStoredAttribute(name, .value(value), at: path)
    }

    /// Adds the group at `path` and any missing parent groups; attributes are merged into
    /// those of a group that already exists.
    public mutating func addGroup(_ path: String, attributes: [String: HDF5Attribute] = [:]) {
        guard let parts = hdf5PathComponents(path) else {
            return problems.append((path, hdf5InvalidPathMessage))
        }
        guard makeGroups(parts, for: path) else { return }
        for (name, value) in attributes { setStoredAttribute(name, .value(value), at: path) }
    }

    /// Adds a float64 dataset of shape `tensor.shape` (rank 0 = scalar dataspace) at
    /// `path`, creating missing parent groups; replaces an earlier dataset at that path.
    public mutating func addDataset(_ path: String, _ tensor: Tensor,
                                    attributes: [String: HDF5Attribute] = [:]) {
        addPayload(path, .float64(tensor), attributes: attributes)
    }

    /// Adds a dataset of any supported payload (the non-float64 ones are for tests).
    mutating func addPayload(_ path: String, _ payload: Payload, attributes: [String: HDF5Attribute] = [:]) {
        guard let parts = hdf5PathComponents(path) else {
            return problems.append((path, hdf5InvalidPathMessage))
        }
        guard !parts.isEmpty else {
            return problems.append((path, "the root is a group, it cannot be a dataset"))
        }
        guard makeGroups(Array(parts.dropLast()), for: path) else { return }
        if let existing = nodes[path] {
            guard !existing.isGroup else {
                return problems.append((path, "is already a group, cannot add a dataset with the same name"))
            }
            nodes[path]!.payload = payload
        } else {
            nodes[path] = Node(payload: payload)
        }
        for (name, value) in attributes { setStoredAttribute(name, .value(value), at: path) }
    }

    /// Sets an attribute of any stored kind (fixed-length strings are for tests).
    mutating func setStoredAttribute(_ name: String, _ value: StoredAttribute, at path: String) {
        guard hdf5PathComponents(path) != nil else {
            return problems.append((path, hdf5InvalidPathMessage))
        }
        guard nodes[path] != nil else {
            return problems.append((path, "no such group or dataset for attribute \"\(name)\" (add it first)"))
        }
        guard !name.isEmpty, !name.contains("\0") else {
            return problems.append((path, "invalid attribute name \"\(name)\""))
        }
        switch value {
        case .value(.string(let text)), .fixedLengthString(let text):
            guard !text.contains("\0") else {
                return problems.append((path, "attribute \"\(name)\": strings cannot contain NUL characters"))
            }
        default: break
        }
        nodes[path]!.attributes[name] = value
    }

    /// Creates the groups along `parts` (absolute, from the root); false (with a problem
    /// recorded) when a dataset is in the way.
    private mutating func makeGroups(_ parts: [String], for requested: String) -> Bool {
        var prefix = ""
        for part in parts {
            prefix += "/" + part
            if let node = nodes[prefix] {
                guard node.isGroup else {
                    problems.append((requested, "\(prefix) is a dataset, it cannot also be a group"))
                    return false
                }
            } else {
                nodes[prefix] = Node(payload: .group)
            }
        }
        return true
    }

    /// The names of the children of the group at `path`, sorted.
    private func childNames(of path: String) -> [String] {
        let prefix = path == "/" ? "/" : path + "/"
        return nodes.keys.filter { $0 != "/" && $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
            .map { String($0.dropFirst(prefix.count)) }
            .sorted()
    }

    // MARK: Writing

    /// Writes the tree to `path` atomically. The file is built in memory (HDF5's core
    /// driver), then its bytes go to `<dir>/.<name>.tmp-<pid>-<random>` in the same folder,
    /// which is flushed and renamed over `path` (or over the regular file a symbolic link at
    /// `path` points to). A path that exists and is not a regular file is refused. On any
    /// failure — a full disk, an I/O error, SIGINT, SIGTERM or SIGHUP — the temporary file is
    /// removed and an existing file at `path` is left untouched (OutputFile.swift).
    public func write(to path: String) throws {
        if let problem = problems.first {
            throw HDF5Error(file: path, object: problem.object, message: problem.message)
        }
        let output = try OutputFile.check(path)
        let image = try HDF5Library.withLock { try fileImage(reportingAs: path) }
        try image.withUnsafeBytes { try output.replace(with: $0) }
    }

    /// The bytes of the HDF5 file holding every node, built in memory. Must be called holding
    /// the HDF5 lock.
    private func fileImage(reportingAs reportedPath: String) throws -> [UInt8] {
        var toClose: [hid_t] = []
        defer { for id in toClose.reversed() { HDF5Library.close(id) } }
        func keep(_ id: hid_t, _ what: @autoclosure () -> String, _ object: String?) throws -> hid_t {
            try HDF5Library.check(id, what(), file: reportedPath, object: object)
            toClose.append(id)
            return id
        }

        let fileAccess = try keep(H5Pcreate(shim_H5P_FILE_ACCESS()), "cannot create a property list", nil)
        try HDF5Library.check(H5Pset_fclose_degree(fileAccess, H5F_CLOSE_STRONG),
                              "cannot set the close degree", file: reportedPath, object: nil)
        // In memory only (no backing store): HDF5 never touches the disk.
        try HDF5Library.check(H5Pset_fapl_core(fileAccess, 1 << 20, false),
                              "cannot select the in-memory driver", file: reportedPath, object: nil)
        // No modification times in object headers: the same tree gives the same bytes.
        let groupCreation = try keep(H5Pcreate(shim_H5P_GROUP_CREATE()), "cannot create a property list", nil)
        try HDF5Library.check(H5Pset_obj_track_times(groupCreation, false),
                              "cannot disable time tracking", file: reportedPath, object: nil)
        let datasetCreation = try keep(H5Pcreate(shim_H5P_DATASET_CREATE()), "cannot create a property list", nil)
        try HDF5Library.check(H5Pset_obj_track_times(datasetCreation, false),
                              "cannot disable time tracking", file: reportedPath, object: nil)

        let fileID = H5Fcreate("spectral-rnn in-memory image", shim_H5F_ACC_TRUNC(), HDF5Library.defaultList, fileAccess)
        try HDF5Library.check(fileID, "cannot create the file in memory", file: reportedPath, object: nil)
        defer { _ = H5Fclose(fileID) }

        let root = try keep(H5Gopen2(fileID, "/", HDF5Library.defaultList), "cannot open the root group", "/")
        try writeAttributes(of: "/", to: root, reportingAs: reportedPath)
        try writeChildren(of: "/", into: root, groupCreation: groupCreation,
                          datasetCreation: datasetCreation, reportingAs: reportedPath)
        HDF5Library.close(root)
        toClose.removeAll { $0 == root }

        try HDF5Library.check(H5Fflush(fileID, H5F_SCOPE_GLOBAL), "cannot flush the file", file: reportedPath, object: nil)
        let size = H5Fget_file_image(fileID, nil, 0)
        try HDF5Library.check(size, "cannot take the file's image", file: reportedPath, object: nil)
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let copied = bytes.withUnsafeMutableBytes { H5Fget_file_image(fileID, $0.baseAddress, $0.count) }
        try HDF5Library.check(copied, "cannot take the file's image", file: reportedPath, object: nil)
        return bytes
    }

    private func writeChildren(of path: String, into group: hid_t, groupCreation: hid_t,
                               datasetCreation: hid_t, reportingAs file: String) throws {
        for name in childNames(of: path) {
            let childPath = path == "/" ? "/" + name : path + "/" + name
            let node = nodes[childPath]!
            if case .group = node.payload {
                let child = H5Gcreate2(group, name, HDF5Library.defaultList, groupCreation, HDF5Library.defaultList)
                try HDF5Library.check(child, "cannot create group", file: file, object: childPath)
                defer { _ = H5Gclose(child) }
                try writeAttributes(of: childPath, to: child, reportingAs: file)
                try writeChildren(of: childPath, into: child, groupCreation: groupCreation,
                                  datasetCreation: datasetCreation, reportingAs: file)
            } else {
                let dataset = try writeDataset(node.payload, named: name, in: group,
                                               creation: datasetCreation, path: childPath, reportingAs: file)
                defer { _ = H5Dclose(dataset) }
                try writeAttributes(of: childPath, to: dataset, reportingAs: file)
            }
        }
    }

    /// Creates and fills one dataset; returns its open identifier.
    private func writeDataset(_ payload: Payload, named name: String, in group: hid_t, creation: hid_t,
                              path: String, reportingAs file: String) throws -> hid_t {
        var shape: [Int] = []
        var fileType: hid_t = -1, memoryType: hid_t = -1
        var ownsTypes = false
        switch payload {
        case .group: preconditionFailure("groups are not datasets")
        case .float64(let tensor):
            shape = tensor.shape; fileType = shim_H5T_IEEE_F64LE(); memoryType = shim_H5T_NATIVE_DOUBLE()
        case .float32(let s, _):
            shape = s; fileType = shim_H5T_IEEE_F32LE(); memoryType = shim_H5T_NATIVE_FLOAT()
        case .int64(let s, _):
            shape = s; fileType = shim_H5T_STD_I64LE(); memoryType = shim_H5T_NATIVE_INT64()
        case .string:
            fileType = HDF5Library.createVariableStringType(); memoryType = fileType; ownsTypes = true
        case .null:
            fileType = shim_H5T_IEEE_F64LE(); memoryType = shim_H5T_NATIVE_DOUBLE()
        }
        defer { if ownsTypes { _ = H5Tclose(fileType) } }
        let space: hid_t
        if case .null = payload { space = H5Screate(H5S_NULL) } else { space = HDF5Library.createSpace(shape) }
        try HDF5Library.check(space, "cannot create a dataspace of shape \(hdf5ShapeText(shape))",
                              file: file, object: path)
        defer { _ = H5Sclose(space) }
        let dataset = H5Dcreate2(group, name, fileType, space, HDF5Library.defaultList, creation,
                                 HDF5Library.defaultList)
        try HDF5Library.check(dataset, "cannot create dataset", file: file, object: path)
        var status: herr_t = 0
        let all = shim_H5S_ALL(), plist = HDF5Library.defaultList
        switch payload {
        case .group: break
        case .float64(let tensor):
            if !tensor.storage.isEmpty {
                status = tensor.storage.withUnsafeBufferPointer { H5Dwrite(dataset, memoryType, all, all, plist, $0.baseAddress) }
            }
        case .float32(_, let values):
            if !values.isEmpty {
                status = values.withUnsafeBufferPointer { H5Dwrite(dataset, memoryType, all, all, plist, $0.baseAddress) }
            }
        case .int64(_, let values):
            if !values.isEmpty {
                status = values.withUnsafeBufferPointer { H5Dwrite(dataset, memoryType, all, all, plist, $0.baseAddress) }
            }
        case .string(let text):
            status = text.withCString { cString in
                var pointer: UnsafePointer<CChar>? = cString
                return H5Dwrite(dataset, memoryType, all, all, plist, &pointer)
            }
        case .null: break
        }
        if status < 0 {
            let error = HDF5Library.failure("cannot write dataset values", file: file, object: path)
            _ = H5Dclose(dataset)
            throw error
        }
        return dataset
    }

    /// Writes the attributes of the node at `path` in sorted-name order.
    private func writeAttributes(of path: String, to object: hid_t, reportingAs file: String) throws {
        let attributes = nodes[path]!.attributes
        for name in attributes.keys.sorted() {
            try writeAttribute(name, attributes[name]!, to: object, path: path, reportingAs: file)
        }
    }

    private func writeAttribute(_ name: String, _ value: StoredAttribute, to object: hid_t,
                                path: String, reportingAs file: String) throws {
        let what = "cannot write attribute \"\(name)\""
        var shape: [Int] = []
        var fileType: hid_t, memoryType: hid_t
        var ownsType = false, ownsMemoryType = false
        switch value {
        case .value(.string):
            fileType = HDF5Library.createVariableStringType(); memoryType = fileType; ownsType = true
        case .fixedLengthString(let text):
            fileType = H5Tcopy(shim_H5T_C_S1()); memoryType = fileType; ownsType = true
            if fileType >= 0 { _ = H5Tset_size(fileType, max(1, text.utf8.count)) }
        case .value(.integer):
            fileType = shim_H5T_STD_I64LE(); memoryType = shim_H5T_NATIVE_INT64()
        case .value(.unsigned):
            // uint64: the int64 types with the sign removed (no shim constant is needed).
            fileType = HDF5Library.unsignedCopy(of: shim_H5T_STD_I64LE()); ownsType = true
            memoryType = HDF5Library.unsignedCopy(of: shim_H5T_NATIVE_INT64()); ownsMemoryType = true
        case .value(.real):
            fileType = shim_H5T_IEEE_F64LE(); memoryType = shim_H5T_NATIVE_DOUBLE()
        case .value(.reals(let values)):
            shape = [values.count]; fileType = shim_H5T_IEEE_F64LE(); memoryType = shim_H5T_NATIVE_DOUBLE()
        }
        defer {
            if ownsType && fileType >= 0 { _ = H5Tclose(fileType) }
            if ownsMemoryType && memoryType >= 0 { _ = H5Tclose(memoryType) }
        }
        try HDF5Library.check(fileType, what, file: file, object: path)
        try HDF5Library.check(memoryType, what, file: file, object: path)
        let space = HDF5Library.createSpace(shape)
        try HDF5Library.check(space, what, file: file, object: path)
        defer { _ = H5Sclose(space) }
        let attribute = H5Acreate2(object, name, fileType, space, HDF5Library.defaultList, HDF5Library.defaultList)
        try HDF5Library.check(attribute, what, file: file, object: path)
        defer { _ = H5Aclose(attribute) }
        let status: herr_t
        switch value {
        case .value(.string(let text)):
            status = text.withCString { cString in
                var pointer: UnsafePointer<CChar>? = cString
                return H5Awrite(attribute, memoryType, &pointer)
            }
        case .fixedLengthString(let text):
            var bytes = Array(text.utf8)
            if bytes.isEmpty { bytes = [0] }
            status = H5Awrite(attribute, memoryType, bytes)
        case .value(.integer(let number)):
            var value = Int64(number)
            status = H5Awrite(attribute, memoryType, &value)
        case .value(.unsigned(let number)):
            var value = number
            status = H5Awrite(attribute, memoryType, &value)
        case .value(.real(let number)):
            var value = number
            status = H5Awrite(attribute, memoryType, &value)
        case .value(.reals(let values)):
            if values.isEmpty {
                status = 0
            } else {
                status = values.withUnsafeBufferPointer { H5Awrite(attribute, memoryType, $0.baseAddress) }
            }
        }
        try HDF5Library.check(status, what, file: file, object: path)
    }
}
