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
        var phrase = innermost.description
        if phrase.isEmpty { phrase = innermost.minor }
        else if !innermost.minor.isEmpty,
                !phrase.lowercased().contains(innermost.minor.lowercased()) {
            phrase += " (\(innermost.minor.lowercased()))"
        }
        return HDF5Error.oneLine(phrase)
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
            return dims.map { Int($0) }
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
