import Synchronization

/// A file system that keeps every write in process memory until the file is synced, on top of
/// a real one: a `kill -9` of the process then loses exactly the writes a power cut would
/// (everything after the last `sync()` of each file), which a plain kill does not, because the
/// kernel still holds them. The broker uses it in fault tests (`rill.simulate.power.loss`) so
/// the flush policy's promises are tested for real.
///
/// Readers see their writes (the pending ones overlay the file). Creations, renames and
/// removals are passed through at once and count as durable. Like a kernel's write-back, a
/// file's pending writes beyond `writeBackBytes` are written (not synced) to the file, oldest
/// first, so memory stays bounded; those survive a kill. Files report no descriptor, so the
/// broker reads them through the overlay instead of with sendfile.
public final class VolatileWriteFileSystem: FileSystem, Sendable {
    private let base: any FileSystem & Sendable
    let writeBackBytes: Int
    /// Pending writes per path, shared by every open handle of that path.
    private let pending = Mutex<[String: PendingWrites]>([:])

    public init(base: any FileSystem & Sendable, writeBackBytes: Int = 64 << 20) {
        self.base = base
        self.writeBackBytes = writeBackBytes
    }

    public func createDirectory(at path: String) throws { try base.createDirectory(at: path) }
    public func contentsOfDirectory(at path: String) throws -> [String] { try base.contentsOfDirectory(at: path) }
    public func fileExists(at path: String) -> Bool { base.fileExists(at: path) }

    public func openFile(at path: String, create: Bool) throws -> any StorageFile {
        let file = try base.openFile(at: path, create: create)
        let state = pending.withLock { table in
            if let existing = table[path] { return existing }
            let created = PendingWrites()
            table[path] = created
            return created
        }
        return VolatileFile(base: file, pending: state, writeBackBytes: writeBackBytes)
    }

    public func removeFile(at path: String) throws {
        try base.removeFile(at: path)
        pending.withLock { $0[path] = nil }
    }

    public func removeDirectory(at path: String) throws {
        try base.removeDirectory(at: path)
        let prefix = path.hasSuffix("/") ? path : path + "/"
        pending.withLock { table in
            for key in table.keys where key.hasPrefix(prefix) { table[key] = nil }
        }
    }

    public func rename(from source: String, to destination: String) throws {
        try base.rename(from: source, to: destination)
        pending.withLock { table in
            table[destination] = table.removeValue(forKey: source)
        }
    }

    public func syncDirectory(at path: String) throws { try base.syncDirectory(at: path) }
}

/// The writes to one file since its last sync, in order.
final class PendingWrites: Sendable {
    enum Operation {
        case write(offset: Int64, bytes: [UInt8])
        case truncate(size: Int64)
    }

    struct State {
        var operations: [Operation] = []
        var bytes = 0
    }

    let state = Mutex(State())
}

final class VolatileFile: StorageFile {
    let base: any StorageFile
    let pending: PendingWrites
    let writeBackBytes: Int

    init(base: any StorageFile, pending: PendingWrites, writeBackBytes: Int) {
        self.base = base
        self.pending = pending
        self.writeBackBytes = writeBackBytes
    }

    var path: String { base.path }
    var descriptor: Int32? { nil }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try pending.state.withLock { state in
            let logicalSize = try size(applying: state.operations)
            let count = Int(max(0, min(Int64(buffer.count), logicalSize - offset)))
            guard count > 0 else { return 0 }
            let window = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            let fromBase = try base.read(into: window, at: offset)
            if fromBase < count { window[fromBase...].initializeMemory(as: UInt8.self, repeating: 0) }
            let end = offset + Int64(count)
            for operation in state.operations {
                switch operation {
                case .write(let at, let bytes):
                    let start = max(at, offset), stop = min(at + Int64(bytes.count), end)
                    guard start < stop else { continue }
                    bytes.withUnsafeBytes { source in
                        let slice = UnsafeRawBufferPointer(rebasing: source[Int(start - at)..<Int(stop - at)])
                        UnsafeMutableRawBufferPointer(rebasing: window[Int(start - offset)..<Int(stop - offset)]).copyMemory(from: slice)
                    }
                case .truncate(let size):
                    if size < end { window[Int(max(size, offset) - offset)...].initializeMemory(as: UInt8.self, repeating: 0) }
                }
            }
            return count
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try append(.write(offset: offset, bytes: Array(bytes)), count: bytes.count)
    }

    func write(_ parts: [UnsafeRawBufferPointer], at offset: Int64) throws {
        var joined: [UInt8] = []
        joined.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts { joined.append(contentsOf: part) }
        try append(.write(offset: offset, bytes: joined), count: joined.count)
    }

    func size() throws -> Int64 {
        try pending.state.withLock { try size(applying: $0.operations) }
    }

    func truncate(to size: Int64) throws {
        try append(.truncate(size: size), count: 0)
    }

    /// Applies every pending write to the file and syncs it: now they survive a kill.
    func sync() throws {
        try pending.state.withLock { state in
            try apply(state.operations[...])
            state.operations.removeAll()
            state.bytes = 0
            try base.sync()
        }
    }

    private func append(_ operation: PendingWrites.Operation, count: Int) throws {
        try pending.state.withLock { state in
            state.operations.append(operation)
            state.bytes += count
            guard state.bytes > writeBackBytes || state.operations.count > 100_000 else { return }
            // Write-back: the oldest half goes to the file (unsynced), as a kernel would.
            let half = state.operations.count / 2
            try apply(state.operations[..<half])
            state.operations.removeFirst(half)
            state.bytes = state.operations.reduce(0) { total, operation in
                if case .write(_, let bytes) = operation { return total + bytes.count }
                return total
            }
        }
    }

    private func apply(_ operations: ArraySlice<PendingWrites.Operation>) throws {
        for operation in operations {
            switch operation {
            case .write(let offset, let bytes): try bytes.withUnsafeBytes { try base.write($0, at: offset) }
            case .truncate(let size): try base.truncate(to: size)
            }
        }
    }

    private func size(applying operations: [PendingWrites.Operation]) throws -> Int64 {
        var size = try base.size()
        for operation in operations {
            switch operation {
            case .write(let offset, let bytes): size = max(size, offset + Int64(bytes.count))
            case .truncate(let newSize): size = newSize
            }
        }
        return size
    }
}
