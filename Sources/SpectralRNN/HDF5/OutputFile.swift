// Where a finished HDF5 image goes on disk, and how it gets there: the checks an output path
// must pass before any work (OutputFile.check), the hidden temporary file in the same folder,
// its removal on SIGINT, SIGTERM and SIGHUP, the removal of stale temporaries left by dead
// processes, and the atomic rename. HDF5 itself never writes to disk: HDF5Tree builds the
// file in memory (the core driver), so a full disk or a signal meets only this code.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An output path that has been checked, with the file it will really replace.
public struct OutputFile: Sendable {
    /// The path as the user gave it (used in messages).
    public let path: String
    /// The regular file written: `path` itself, or the file a symbolic link at `path` points to.
    public let target: String
    /// The folder of `target`.
    public let folder: String
    /// The name of `target` in its folder.
    public let name: String

    /// The longest file name most file systems accept, in bytes.
    static let nameMax = 255

    /// Checks, without writing anything that stays, that `path` can receive a file:
    /// it names a file (not empty, no trailing `/`, at most 255 bytes); if something exists
    /// there it is a regular file or a symbolic link to one (a folder, device, FIFO or socket
    /// is refused, so that no rename can ever replace it); its folder exists; and a file can
    /// be created in that folder (probed by creating and removing one). Throws an `HDF5Error`
    /// naming what is wrong.
    public static func check(_ path: String) throws -> OutputFile {
        func refuse(_ message: String) -> HDF5Error { HDF5Error(file: path, message: message) }
        guard !path.isEmpty, !path.hasSuffix("/"), !path.contains("\0") else { throw refuse("not a file name") }
        var target = path
        var status = stat()
        if lstat(path, &status) == 0 {
            if (status.st_mode & S_IFMT) == S_IFLNK {
                guard stat(path, &status) == 0 else {
                    let reason = errno == ELOOP ? "a loop of symbolic links" : "a symbolic link to a missing file"
                    throw refuse("is \(reason); give the path of a regular file")
                }
                guard let resolved = realpath(path, nil) else {
                    throw refuse("cannot resolve the symbolic link: \(String(cString: strerror(errno)))")
                }
                target = String(cString: resolved)
                free(resolved)
            }
            let kind = status.st_mode & S_IFMT
            if kind == S_IFDIR { throw refuse("is a folder; give a file name") }
            guard kind == S_IFREG else {
                throw refuse("exists and is \(fileKindName(kind)), not a regular file; it will not be replaced "
                             + "(write to a regular file, then copy it there)")
            }
        } else if errno == ELOOP {
            throw refuse("is a loop of symbolic links")
        } else if errno != ENOENT {
            let reason = errno == ENOTDIR ? "a part of the path is not a folder" : String(cString: strerror(errno))
            throw refuse("cannot use this path: \(reason)")
        }
        let url = URL(fileURLWithPath: target)
        let name = url.lastPathComponent
        let folder = url.deletingLastPathComponent().path
        guard !name.isEmpty, name != ".", name != ".." else { throw refuse("not a file name") }
        guard name.utf8.count <= nameMax else {
            throw refuse("the file name is \(name.utf8.count) bytes long; file systems accept at most \(nameMax)")
        }
        var folderStatus = stat()
        guard stat(folder, &folderStatus) == 0, (folderStatus.st_mode & S_IFMT) == S_IFDIR else {
            throw refuse("folder \(folder) does not exist")
        }
        let output = OutputFile(path: path, target: target, folder: folder, name: name)
        // access(2) is not enough (root passes it on read-only mounts' folders it can chmod):
        // create and remove a probe, which fails exactly when the real write would.
        let probe = output.temporaryPath(kind: "probe")
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw refuse("cannot create a file in folder \(folder): \(String(cString: strerror(errno)))")
        }
        _ = close(descriptor)
        _ = unlink(probe)
        return output
    }

    /// "a character device", "a FIFO", … for the messages.
    static func fileKindName(_ kind: mode_t) -> String {
        switch kind {
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        case S_IFDIR: return "a folder"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }

    /// `.<name>.` shortened so that `.<name>.<kind>-<pid>-<16 hex>` fits in 255 bytes; the
    /// same for every process, so stale temporaries of a name can be found.
    var temporaryPrefix: String {
        let room = OutputFile.nameMax - ".".utf8.count - ".tmp-".utf8.count - 10 - 1 - 16
        var shortened = ""
        for character in name {
            if shortened.utf8.count + String(character).utf8.count > room { break }
            shortened.append(character)
        }
        return "." + shortened + "."
    }

    /// A fresh hidden path in the target's folder.
    func temporaryPath(kind: String) -> String {
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let leaf = temporaryPrefix + "\(kind)-\(getpid())-" + random
        return (folder as NSString).appendingPathComponent(leaf)
    }

    /// Removes temporaries of this name whose process no longer exists (a process killed by
    /// SIGKILL or a power cut cannot remove its own); returns how many were removed.
    @discardableResult
    func removeStaleTemporaries() -> Int {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var removed = 0
        let prefix = temporaryPrefix
        for entry in entries where entry.hasPrefix(prefix) {
            let rest = entry.dropFirst(prefix.count)
            let fields = rest.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
            // Exactly the names temporaryPath makes: kind, decimal pid, 1–16 lowercase hex digits.
            guard fields.count == 3, fields[0] == "tmp" || fields[0] == "probe",
                  let pid = Int32(fields[1]), pid > 0, pid != getpid(),
                  (1...16).contains(fields[2].count), fields[2].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { continue }
            guard kill(pid, 0) == -1, errno == ESRCH else { continue }
            let full = (folder as NSString).appendingPathComponent(entry)
            var status = stat()
            guard lstat(full, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { continue }
            // A writer holds a lock on its temporary: a process id that looks dead here may be
            // alive in another PID namespace or on another host sharing the folder.
            let descriptor = open(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            defer { _ = close(descriptor) }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }
            if unlink(full) == 0 { removed += 1 }
        }
        return removed
    }

    /// Writes `bytes` to a hidden temporary in the target's folder, flushes it to disk and
    /// renames it over the target. On any failure (a full disk, an I/O error) the temporary is
    /// removed and an existing target is left untouched; SIGINT, SIGTERM or SIGHUP while the
    /// temporary exists remove it before the process ends as the signal says.
    func replace(with bytes: UnsafeRawBufferPointer) throws {
        func failure(_ what: String) -> HDF5Error {
            HDF5Error(file: path, message: "\(what): \(String(cString: strerror(errno)))")
        }
        removeStaleTemporaries()
        let temporary = temporaryPath(kind: "tmp")
        let slot = SignalCleanup.register(temporary)
        defer { SignalCleanup.unregister(slot) }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw failure("cannot create a file in folder \(folder)") }
        // Held until the descriptor closes: other writers' stale-temporary cleanup skips it.
        _ = flock(descriptor, LOCK_EX | LOCK_NB)
        var succeeded = false
        defer {
            if !succeeded { _ = unlink(temporary) }
        }
        do {
            defer { _ = close(descriptor) }
            var written = 0
            while written < bytes.count {
                let result = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    if errno == EFBIG {
                        throw HDF5Error(file: path, message: "cannot write the file: its \(bytes.count) bytes exceed this process's "
                                            + "file size limit (ulimit -f; \(written) bytes fit)")
                    }
                    throw failure("cannot write the file (\(written) of \(bytes.count) bytes written)")
                }
                written += result
            }
            // The bytes reach the disk before the name does: a crash after the rename cannot
            // leave an empty or partial file under the final name.
            guard fsync(descriptor) == 0 else { throw failure("cannot flush the file to disk") }
        }
        guard rename(temporary, target) == 0 else { throw failure("cannot move the finished file into place") }
        succeeded = true
        // Make the rename itself durable (best effort: some file systems refuse fsync on folders).
        let folderDescriptor = open(folder, O_RDONLY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            _ = fsync(folderDescriptor)
            _ = close(folderDescriptor)
        }
    }
}

/// The temporaries that exist right now, removed by a handler for SIGINT, SIGTERM and SIGHUP
/// which then ends the process as the signal would have (or ignores it, if it was ignored).
/// While a temporary exists SIGXFSZ is ignored, so that a file size limit (`ulimit -f`)
/// makes `write` fail with EFBIG, which is reported, instead of killing the process.
/// The handler only calls `unlink`, `sigaction` and `raise`, which are async-signal-safe; the
/// paths live in fixed C buffers so that it allocates nothing.
enum SignalCleanup {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    static let slotCount = 16
    static let slotBytes = 4096

    /// One C string per slot (empty = free); written under `lock`, read by the handler.
    nonisolated(unsafe) static let paths: UnsafeMutablePointer<CChar> = {
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * slotBytes)
        buffer.initialize(repeating: 0, count: slotCount * slotBytes)
        return buffer
    }()
    /// The dispositions in place before the first registration, per signal.
    nonisolated(unsafe) static let previous: UnsafeMutablePointer<sigaction> = {
        let buffer = UnsafeMutablePointer<sigaction>.allocate(capacity: 3)
        buffer.initialize(repeating: sigaction(), count: 3)
        return buffer
    }()
    /// SIGXFSZ's disposition before the first registration.
    nonisolated(unsafe) static let previousFileSize: UnsafeMutablePointer<sigaction> = {
        let buffer = UnsafeMutablePointer<sigaction>.allocate(capacity: 1)
        buffer.initialize(to: sigaction())
        return buffer
    }()
    nonisolated(unsafe) static var active = 0
    static let lock = NSLock()

    static let handler: @convention(c) (Int32) -> Void = { signal in
        // Constants and raw pointers only (no arrays: no retain or release in a handler);
        // 16 and 4096 are slotCount and slotBytes, written out so no lazy global is touched.
        let paths = SignalCleanup.paths
        var slot = 0
        while slot < 16 {
            let path = paths + slot * 4096
            if path.pointee != 0 { _ = unlink(path) }
            slot += 1
        }
        let index = signal == SIGINT ? 0 : (signal == SIGTERM ? 1 : 2)
        _ = sigaction(signal, SignalCleanup.previous + index, nil)
        _ = raise(signal)
    }

    /// Runs `body` with the three signals blocked on this thread, so the handler never runs
    /// here while the slots or the dispositions are half changed.
    private static func withSignalsBlocked<T>(_ body: () -> T) -> T {
        var blocked = sigset_t(), old = sigset_t()
        sigemptyset(&blocked)
        for signal in signals { sigaddset(&blocked, signal) }
        pthread_sigmask(SIG_BLOCK, &blocked, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        return body()
    }

    /// Records `path` for removal on a signal; returns its slot (nil when all are taken, or
    /// the path is too long: the file is then still removed on every failure but a signal).
    static func register(_ path: String) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        _ = paths  // initialised here, never first in the handler
        let bytes = Array(path.utf8)
        guard bytes.count < slotBytes else { return nil }
        guard let slot = (0..<slotCount).first(where: { paths[$0 * slotBytes] == 0 }) else { return nil }
        return withSignalsBlocked { () -> Int in
            if active == 0 {
                for (index, signal) in signals.enumerated() {
                    _ = sigaction(signal, nil, previous + index)
                    // A signal the process ignored stays ignored.
                    let before = previous[index].__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: Int.self) }
                    if before == unsafeBitCast(SIG_IGN, to: Int.self) { continue }
                    var action = sigaction()
                    action.__sigaction_handler.sa_handler = handler
                    sigemptyset(&action.sa_mask)
                    action.sa_flags = 0
                    _ = sigaction(signal, &action, nil)
                }
                var ignore = sigaction()
                ignore.__sigaction_handler.sa_handler = SIG_IGN
                sigemptyset(&ignore.sa_mask)
                _ = sigaction(SIGXFSZ, &ignore, previousFileSize)
            }
            active += 1
            let base = paths + slot * slotBytes
            // The rest first, the first byte last: the handler never sees a half-written path
            // (a handler on another thread sees at worst an old empty slot: the first byte is a
            // single store, and the paths are written before the temporary is created).
            for offset in 1..<bytes.count { base[offset] = CChar(bitPattern: bytes[offset]) }
            base[bytes.count] = 0
            base[0] = CChar(bitPattern: bytes[0])
            return slot
        }
    }

    static func unregister(_ slot: Int?) {
        guard let slot else { return }
        lock.lock()
        defer { lock.unlock() }
        withSignalsBlocked {
            paths[slot * slotBytes] = 0
            active -= 1
            if active == 0 {
                for (index, signal) in signals.enumerated() { _ = sigaction(signal, previous + index, nil) }
                _ = sigaction(SIGXFSZ, previousFileSize, nil)
            }
        }
    }
}

/// The current time as an ISO 8601 UTC timestamp, `2026-12-04T21:50:00Z` (the `created`
/// attribute of every output file): the format of Foundation's `ISO8601DateFormatter` with its
/// defaults, from the C library (the formatter loads time-zone data, a few milliseconds).
public func utcTimestamp() -> String {
    var now = time(nil)
    var parts = tm()
    guard gmtime_r(&now, &parts) != nil else { return "unknown" }
    var text = [CChar](repeating: 0, count: 32)
    let length = strftime(&text, text.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
    guard length > 0 else { return "unknown" }
    return String(decoding: text[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
