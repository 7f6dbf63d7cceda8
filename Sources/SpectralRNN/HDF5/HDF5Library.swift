// The C plumbing shared by HDF5Tree, HDF5Reader and HDF5Inspector: one process-wide lock
// around every HDF5 call, silenced automatic error printing, and the HDF5 error stack
// turned into a one-line HDF5Error (TOOLCHAIN.md, "HDF5 from Swift").
import CHDF5
import Foundation

/// Serializes the project's HDF5 calls and converts HDF5 failures into `HDF5Error`.
enum HDF5Library {
    /// The one lock every HDF5 call of the project goes through. Recursive, so that an
    /// entry point may call another (the inspector uses the reader's methods).
    private static let lock = NSRecursiveLock()

    /// `H5P_DEFAULT` (and `H5E_DEFAULT`) as a `hid_t`.
    static let defaultList = hid_t(H5P_DEFAULT)

    /// Runs `body` holding the HDF5 lock, with HDF5's automatic error printing silenced
    /// and the error stack cleared. Every public entry point of the HDF5 layer goes
    /// through here.
    static func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        _ = H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)
        _ = H5Eclear2(hid_t(H5E_DEFAULT))
        return try body()
    }

    /// Whether the linked HDF5 library was built thread-safe (it is serialized anyway).
    static var libraryIsThreadSafe: Bool {
        withLock {
            var flag: hbool_t = false
            return H5is_library_threadsafe(&flag) >= 0 && flag
        }
    }

    /// The current thread's HDF5 error stack as one short phrase (the innermost error,
    /// which names the actual cause), then clears the stack. Nil when the stack is empty.
    static func takeErrorStack() -> String? {
        final class Collector {
            var entries: [(function: String, description: String, minor: String)] = []
        }
        let collector = Collector()
        let walker: H5E_walk2_t = { _, errorDescription, clientData in
            guard let errorDescription, let clientData else { return 0 }
            let collector = Unmanaged<Collector>.fromOpaque(clientData).takeUnretainedValue()
            let entry = errorDescription.pointee
            let function = entry.func_name.map { String(cString: $0) } ?? ""
            let description = entry.desc.map { String(cString: $0) } ?? ""
            var buffer = [CChar](repeating: 0, count: 256)
            let length = H5Eget_msg(entry.min_num, nil, &buffer, buffer.count)
            let minor = length > 0 ? String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) },
                                            as: UTF8.self) : ""
            collector.entries.append((function, description, minor))
            return 0
        }
        let client = Unmanaged.passUnretained(collector).toOpaque()
        _ = H5Ewalk2(hid_t(H5E_DEFAULT), H5E_WALK_DOWNWARD, walker, client)
        _ = H5Eclear2(hid_t(H5E_DEFAULT))
        withExtendedLifetime(collector) {}
        // Downward: from the API call to the innermost cause. The innermost says why.
        guard let innermost = collector.entries.last else { return nil }
        var phrase = cleanedDescription(innermost.description)
        if phrase.isEmpty { phrase = innermost.minor }
        else if !innermost.minor.isEmpty,
                !phrase.lowercased().contains(innermost.minor.lowercased()) {
            phrase += " (\(innermost.minor.lowercased()))"
        }
        return HDF5Error.oneLine(phrase)
    }

    /// Removes the bookkeeping HDF5 puts in its error descriptions (file descriptors, buffer
    /// addresses, `flags = 15, o_flags = c2`, times): keeps the description up to its first
    /// `key = value` field and, when there is one, the system's `error message = '…'`.
    static func cleanedDescription(_ text: String) -> String {
        guard let fieldStart = text.range(of: #"[:,]?\s*[A-Za-z_ ]+ = "#, options: .regularExpression) else { return text }
        var head = String(text[..<fieldStart.lowerBound]).trimmingCharacters(in: .whitespaces)
        if let quoted = text.range(of: #"error message = '[^']*'"#, options: .regularExpression) {
            let message = text[quoted].dropFirst("error message = '".count).dropLast()
            head += head.isEmpty ? String(message) : ": " + message
        }
        return head.isEmpty ? text : head
    }

    /// Whether `name` in `file` is a soft or external link (a dangling one makes
    /// H5Oexists_by_name fail; that is "nothing there", not an unreadable object).
    static func isSoftOrExternalLink(_ file: hid_t, _ name: String) -> Bool {
        var info = H5L_info_t()
        guard H5Lget_info(file, name, &info, defaultList) >= 0 else { return false }
        return info.type == H5L_TYPE_SOFT || info.type == H5L_TYPE_EXTERNAL
    }

    /// For an object whose header this HDF5 cannot decode.
    static var unreadableObjectMessage: String {
        "cannot open the object: written in a format newer than \(versionText) reads? (h5py writes a format it reads with "
            + "libver=('earliest', 'v110'))"
    }

    /// `HDF5 1.10.8`: the version of the linked library.
    static var versionText: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        _ = H5get_libversion(&major, &minor, &release)
        return "HDF5 \(major).\(minor).\(release)"
    }

    /// Why the dataset cannot be read faithfully, or nil: a filter in its pipeline that this
    /// HDF5 does not have (lzf, blosc, … would fail with a plugin-folder error), data that
    /// were never written (all or some chunks), or a virtual dataset whose source file or
    /// dataset is missing (in both cases HDF5 would read fill values instead).
    static func unreadableReason(_ dataset: hid_t, file: String) -> String? {
        let creation = H5Dget_create_plist(dataset)
        guard creation >= 0 else { return nil }
        defer { _ = H5Pclose(creation) }
        let filters = H5Pget_nfilters(creation)
        if filters > 0 {
            for index in 0..<UInt32(filters) {
                var flags: UInt32 = 0, count = 0, config: UInt32 = 0
                var values = [UInt32](repeating: 0, count: 16)
                var name = [CChar](repeating: 0, count: 128)
                count = values.count
                let id = H5Pget_filter2(creation, index, &flags, &count, &values, name.count, &name, &config)
                guard id >= 0 else { continue }
                if H5Zfilter_avail(id) <= 0 {
                    _ = H5Eclear2(hid_t(H5E_DEFAULT))
                    let text = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    let known = [32000: "lzf", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32015: "zstd", 307: "bzip2"]
                    let label = known[Int(id)] ?? (text.isEmpty ? "unknown" : text)
                    return "is compressed with the \(label) filter (HDF5 filter \(id)), which \(versionText) here does not have; "
                        + "write an uncompressed copy with: h5repack -f NONE \(file) COPY.h5 (or h5py without compression=, or with compression='gzip')"
                }
            }
        }
        // Data never written (a tiny file may declare any shape): HDF5 would read the fill
        // value in its place, for as long as the shape says.
        let layout = H5Pget_layout(creation)
        if layout != H5D_VIRTUAL {
            let space = H5Dget_space(dataset)
            let shape = space >= 0 ? dimensions(space) : nil
            let empty = shape?.contains(0) ?? true
            defer { if space >= 0 { _ = H5Sclose(space) } }
            // Chunked: every chunk the shape needs must be stored (counted without overflow).
            if !empty, layout == H5D_CHUNKED, let shape {
                var chunk = [hsize_t](repeating: 0, count: shape.count)
                var stored: hsize_t = 0
                if H5Pget_chunk(creation, Int32(shape.count), &chunk) == Int32(shape.count), !chunk.contains(0),
                   H5Dget_num_chunks(dataset, space, &stored) >= 0 {
                    var needed: UInt64 = 1
                    for (extent, size) in zip(shape, chunk) {
                        let count = (UInt64(extent) + UInt64(size) - 1) / UInt64(size)
                        let (product, overflow) = needed.multipliedReportingOverflow(by: count)
                        needed = overflow ? UInt64.max : product
                    }
                    if stored == 0 {
                        return "holds no data: it was created but never written, and HDF5 would read its fill value everywhere"
                    }
                    if UInt64(stored) < needed {
                        return "holds only part of its data: \(stored) of its \(needed == UInt64.max ? "more than 10¹⁹" : "\(needed)") chunks "
                            + "were written, and HDF5 would read its fill value in place of the rest"
                    }
                }
                _ = H5Eclear2(hid_t(H5E_DEFAULT))
            }
            var status = H5D_SPACE_STATUS_ERROR
            // The status is computed from the element count, which can overflow for a crafted
            // shape; no bytes stored at all says the same without arithmetic.
            if !empty, H5Dget_storage_size(dataset) == 0 {
                _ = H5Eclear2(hid_t(H5E_DEFAULT))
                return "holds no data: it was created but never written, and HDF5 would read its fill value everywhere"
            }
            if !empty, H5Dget_space_status(dataset, &status) >= 0 {
                if status == H5D_SPACE_STATUS_NOT_ALLOCATED {
                    return "holds no data: it was created but never written, and HDF5 would read its fill value everywhere"
                }
                if status == H5D_SPACE_STATUS_PART_ALLOCATED {
                    return "holds only part of its data: some chunks were never written, and HDF5 would read its fill value in their place"
                }
            }
            _ = H5Eclear2(hid_t(H5E_DEFAULT))
            return nil
        }
        var mappings = 0
        guard H5Pget_virtual_count(creation, &mappings) >= 0 else { return nil }
        let folder = (file as NSString).deletingLastPathComponent
        for index in 0..<mappings {
            func text(_ get: (UnsafeMutablePointer<CChar>?, Int) -> Int) -> String {
                let length = get(nil, 0)
                guard length > 0 else { return "" }
                var buffer = [CChar](repeating: 0, count: length + 1)
                _ = get(&buffer, buffer.count)
                return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            let sourceFile = text { H5Pget_virtual_filename(creation, index, $0, $1) }
            let sourceDataset = text { H5Pget_virtual_dsetname(creation, index, $0, $1) }
            // Printf-style names (%b) map many files; they are not checked one by one.
            guard !sourceFile.isEmpty, !sourceFile.contains("%") else { continue }
            if sourceFile == "." { continue }
            let candidates = sourceFile.hasPrefix("/") ? [sourceFile]
                : [(folder.isEmpty ? sourceFile : (folder as NSString).appendingPathComponent(sourceFile)), sourceFile]
            var status = stat()
            guard let found = candidates.first(where: { stat($0, &status) == 0 }) else {
                return "is a virtual dataset whose source file \(sourceFile) (mapping \(index + 1) of \(mappings), dataset \(sourceDataset)) "
                    + "does not exist; HDF5 would read fill values in its place"
            }
            // A FIFO or a device would block the open below: only regular files are sources.
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                return "is a virtual dataset whose source file \(sourceFile) (mapping \(index + 1) of \(mappings)) is "
                    + "\(OutputFile.fileKindName(status.st_mode & S_IFMT)), not a regular file"
            }
            let access = H5Pcreate(shim_H5P_FILE_ACCESS())
            defer { if access >= 0 { _ = H5Pclose(access) } }
            _ = H5Pset_fclose_degree(access, H5F_CLOSE_STRONG)
            let source = H5Fis_hdf5(found) > 0 ? H5Fopen(found, shim_H5F_ACC_RDONLY(), access) : -1
            defer { if source >= 0 { _ = H5Fclose(source) } }
            let present = source >= 0 && H5Lexists(source, sourceDataset, defaultList) > 0
                && H5Oexists_by_name(source, sourceDataset, defaultList) > 0
            _ = H5Eclear2(hid_t(H5E_DEFAULT))
            guard present else {
                return "is a virtual dataset whose source \(sourceDataset) in \(sourceFile) (mapping \(index + 1) of \(mappings)) "
                    + "cannot be opened; HDF5 would read fill values in its place"
            }
        }
        return nil
    }

    /// The error for a failed HDF5 call: `what`, followed by HDF5's own reason if any.
    static func failure(_ what: String, file: String, object: String?) -> HDF5Error {
        if let reason = takeErrorStack(), !reason.isEmpty {
            return HDF5Error(file: file, object: object, message: "\(what) (HDF5: \(reason))")
        }
        return HDF5Error(file: file, object: object, message: what)
    }

    /// Returns `result` when the call succeeded (non-negative), throws otherwise.
    @discardableResult
    static func check<R: BinaryInteger>(_ result: R, _ what: @autoclosure () -> String,
                                        file: String, object: String?) throws -> R {
        if result < 0 { throw failure(what(), file: file, object: object) }
        return result
    }

    // MARK: Identifiers that must be closed

    /// Closes an identifier of any kind (file, group, dataset, attribute, dataspace,
    /// datatype, property list); ignores invalid ones.
    static func close(_ id: hid_t) {
        guard id >= 0, H5Iis_valid(id) > 0 else { return }
        switch H5Iget_type(id) {
        case H5I_FILE: _ = H5Fclose(id)
        case H5I_GROUP: _ = H5Gclose(id)
        case H5I_DATASET: _ = H5Dclose(id)
        case H5I_ATTR: _ = H5Aclose(id)
        case H5I_DATASPACE: _ = H5Sclose(id)
        case H5I_DATATYPE: _ = H5Tclose(id)
        case H5I_GENPROP_LST: _ = H5Pclose(id)
        default: _ = H5Idec_ref(id)
        }
    }

    // MARK: Datatypes and dataspaces

    /// A short name for a datatype: `float64`, `int32`, `uint8`, `string`, `compound`, ….
    static func typeName(_ type: hid_t) -> String {
        let size = H5Tget_size(type) * 8
        switch H5Tget_class(type) {
        case H5T_FLOAT: return "float\(size)"
        case H5T_INTEGER: return H5Tget_sign(type) == H5T_SGN_NONE ? "uint\(size)" : "int\(size)"
        case H5T_STRING: return "string"
        case H5T_COMPOUND: return "compound"
        case H5T_ENUM: return "enum"
        case H5T_ARRAY: return "array"
        case H5T_VLEN: return "variable-length"
        case H5T_OPAQUE: return "opaque"
        case H5T_BITFIELD: return "bitfield"
        case H5T_REFERENCE: return "reference"
        case H5T_TIME: return "time"
        default: return "unknown type"
        }
    }

    /// A copy of an integer datatype with the sign removed (uint64 from int64); -1 on failure.
    /// The caller closes it.
    static func unsignedCopy(of type: hid_t) -> hid_t {
        let copy = H5Tcopy(type)
        guard copy >= 0 else { return -1 }
        guard H5Tset_sign(copy, H5T_SGN_NONE) >= 0 else {
            _ = H5Tclose(copy)
            return -1
        }
        return copy
    }

    /// The dimensions of a dataspace: `[]` for a scalar, nil for a null dataspace.
    static func dimensions(_ space: hid_t) -> [Int]? {
        switch H5Sget_simple_extent_type(space) {
        case H5S_SCALAR: return []
        case H5S_SIMPLE:
            let rank = Int(H5Sget_simple_extent_ndims(space))
            guard rank >= 0 else { return nil }
            var dims = [hsize_t](repeating: 0, count: rank)
            guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else { return nil }
            // Clamped: a crafted file may declare extents past Int.max; the size checks refuse them.
            return dims.map { Int(clamping: $0) }
        default: return nil
        }
    }

    /// A dataspace for `shape`: scalar for rank 0, simple otherwise.
    static func createSpace(_ shape: [Int]) -> hid_t {
        if shape.isEmpty { return H5Screate(H5S_SCALAR) }
        let dims = shape.map { hsize_t($0) }
        return H5Screate_simple(Int32(dims.count), dims, nil)
    }

    /// A variable-length UTF-8 string datatype (h5py reads it as `str`).
    static func createVariableStringType() -> hid_t {
        let type = H5Tcopy(shim_H5T_C_S1())
        guard type >= 0 else { return type }
        if H5Tset_size(type, shim_H5T_VARIABLE()) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0 {
            _ = H5Tclose(type)
            return -1
        }
        return type
    }
}

/// `1.5 GB`, `320 kB`, `12 B` (decimal units).
func formatBytes(_ bytes: Double) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
    var value = bytes, unit = 0
    while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(Int(value)) B" : String(format: "%.3g", value) + " " + units[unit]
}

/// `2×3×4`, or `scalar` for an empty shape.
func hdf5ShapeText(_ shape: [Int]) -> String {
    shape.isEmpty ? "scalar" : shape.map(String.init).joined(separator: "×")
}

/// Splits an absolute HDF5 path into its link names; nil when it is not one.
/// `"/"` gives `[]`. Empty components (`//`, a trailing `/`), `.` and `..` are refused.
func hdf5PathComponents(_ path: String) -> [String]? {
    guard path.hasPrefix("/"), !path.contains("\0") else { return nil }
    if path == "/" { return [] }
    let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    guard parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else { return nil }
    return parts
}

/// The message for a path that `hdf5PathComponents` refuses.
let hdf5InvalidPathMessage =
    "invalid path: must start with \"/\" and have no empty, \".\" or \"..\" parts"
