/// An in-memory file system that models a crash: writes that were not synced are lost, wholly
/// or torn (a prefix of them survives), as after a power cut.
///
/// Model: each file has a durable image (its content at the last `sync`) and the list of writes
/// and truncations since then. `crash(using:)` replaces every file's content with its durable
/// image plus a random prefix of those pending operations, the last of which may be torn.
/// Creations, renames and removals are atomic and immediately durable — the ordered-metadata
/// behaviour of journaling file systems such as ext4 — so the engine must still sync data before
/// renaming a file into place. Handles opened before a crash fail afterwards, like a restarted
/// process would find them gone.
///
/// Not thread-safe: drive it from one thread (tests and the simulator do).
public final class SimulatedFileSystem: FileSystem {
    enum PendingOperation {
        case write(offset: Int64, bytes: [UInt8])
        case truncate(size: Int64)
    }

    final class Node {
        var content: [UInt8] = []
        var durable: [UInt8] = []
        var pending: [PendingOperation] = []
    }

    /// What a crash does to unsynced writes.
    public enum CrashMode: Sendable {
        /// Every unsynced operation is lost.
        case loseAllUnsynced
        /// A random prefix of the unsynced operations survives; the last kept write may be torn.
        case keepRandomPrefix
    }

    private var files: [String: Node] = [:]
    private var directories: Set<String> = ["/", "."]
    /// Incremented by every crash; handles from an older generation are dead.
    private(set) var generation = 0
    /// Called before each write and sync; returning an error makes that operation fail, to test
    /// how the engine handles a full or failing disk.
    public var faultInjector: ((_ operation: String, _ path: String) -> StorageError?)?

    public init() {}

    public func createDirectory(at path: String) throws {
        var current = ""
        for component in normalize(path).split(separator: "/") {
            current += "/" + component
            directories.insert(current)
        }
    }

    public func contentsOfDirectory(at path: String) throws -> [String] {
        let directory = normalize(path)
        guard directories.contains(directory) else { throw StorageError(.notFound, "no such directory", path: path) }
        let prefix = directory == "/" ? "/" : directory + "/"
        var names = Set<String>()
        for candidate in files.keys where candidate.hasPrefix(prefix) {
            names.insert(String(candidate.dropFirst(prefix.count).split(separator: "/")[0]))
        }
        for candidate in directories where candidate.hasPrefix(prefix) && candidate != directory {
            names.insert(String(candidate.dropFirst(prefix.count).split(separator: "/")[0]))
        }
        return names.sorted()
    }

    public func fileExists(at path: String) -> Bool {
        let key = normalize(path)
        return files[key] != nil || directories.contains(key)
    }

    public func openFile(at path: String, create: Bool) throws -> any StorageFile {
        let key = normalize(path)
        guard directories.contains(FilePath.parent(key)) else {
            throw StorageError(.notFound, "parent directory does not exist", path: path)
        }
        if let node = files[key] { return SimulatedFile(fileSystem: self, path: key, node: node) }
        guard create else { throw StorageError(.notFound, "no such file", path: path) }
        let node = Node()
        files[key] = node
        return SimulatedFile(fileSystem: self, path: key, node: node)
    }

    public func removeFile(at path: String) throws {
        files[normalize(path)] = nil
    }

    public func removeDirectory(at path: String) throws {
        let directory = normalize(path)
        let prefix = directory + "/"
        for key in files.keys where key.hasPrefix(prefix) { files[key] = nil }
        directories = directories.filter { $0 != directory && !$0.hasPrefix(prefix) }
    }

    public func rename(from source: String, to destination: String) throws {
        let from = normalize(source)
        guard let node = files[from] else { throw StorageError(.notFound, "no such file to rename", path: source) }
        files[from] = nil
        files[normalize(destination)] = node
    }

    public func syncDirectory(at path: String) throws {}

    /// Simulates a power cut: every file keeps its synced content plus, depending on `mode`,
    /// some of its unsynced operations. All open handles become unusable.
    public func crash<Generator: RandomNumberGenerator>(mode: CrashMode = .keepRandomPrefix, using generator: inout Generator) {
        generation += 1
        // Sorted, so that a seed decides the same outcome for the same files in every process
        // (dictionary order is seeded per process).
        for path in files.keys.sorted() {
            let node = files[path]!
            var image = node.durable
            if mode == .keepRandomPrefix && !node.pending.isEmpty {
                let kept = Int.random(in: 0...node.pending.count, using: &generator)
                for (index, operation) in node.pending.prefix(kept).enumerated() {
                    let isLast = index == kept - 1
                    if isLast, case .write(let offset, let bytes) = operation, Bool.random(using: &generator) {
                        // A torn write: only a prefix of it reached the disk.
                        let tornLength = Int.random(in: 0...bytes.count, using: &generator)
                        Self.apply(.write(offset: offset, bytes: Array(bytes.prefix(tornLength))), to: &image)
                    } else {
                        Self.apply(operation, to: &image)
                    }
                }
            }
            node.content = image
            node.durable = image
            node.pending = []
        }
    }

    /// Flips bits in a file's durable content, as silent disk corruption would.
    public func corrupt(path: String, at offset: Int64, mask: UInt8 = 0xFF) {
        guard let node = files[normalize(path)], offset < node.content.count else { return }
        node.content[Int(offset)] ^= mask
        if offset < node.durable.count { node.durable[Int(offset)] ^= mask }
    }

    /// The current (not necessarily durable) content of a file, for tests.
    public func contents(of path: String) -> [UInt8]? { files[normalize(path)]?.content }

    /// Unsynced bytes written across all files (for tests of the flush policy).
    public var unsyncedOperationCount: Int { files.values.reduce(0) { $0 + $1.pending.count } }

    static func apply(_ operation: PendingOperation, to image: inout [UInt8]) {
        switch operation {
        case .write(let offset, let bytes):
            let end = Int(offset) + bytes.count
            if image.count < end { image.append(contentsOf: repeatElement(0, count: end - image.count)) }
            image.replaceSubrange(Int(offset)..<end, with: bytes)
        case .truncate(let size):
            if image.count > Int(size) {
                image.removeSubrange(Int(size)...)
            } else {
                image.append(contentsOf: repeatElement(0, count: Int(size) - image.count))
            }
        }
    }

    private func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." && !part.isEmpty { parts.append(part) }
        return "/" + parts.joined(separator: "/")
    }

    fileprivate func checkFault(_ operation: String, _ path: String) throws {
        if let error = faultInjector?(operation, path) { throw error }
    }
}

final class SimulatedFile: StorageFile {
    let path: String
    private unowned let fileSystem: SimulatedFileSystem
    private let node: SimulatedFileSystem.Node
    private let generation: Int

    init(fileSystem: SimulatedFileSystem, path: String, node: SimulatedFileSystem.Node) {
        self.fileSystem = fileSystem
        self.path = path
        self.node = node
        self.generation = fileSystem.generation
    }

    var descriptor: Int32? { nil }

    private func checkAlive() throws {
        guard generation == fileSystem.generation else {
            throw StorageError(.io, "file handle opened before a simulated crash", path: path)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try checkAlive()
        guard offset < node.content.count else { return 0 }
        let count = min(buffer.count, node.content.count - Int(offset))
        node.content.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + Int(offset), byteCount: count)
        }
        return count
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try checkAlive()
        try fileSystem.checkFault("write", path)
        let operation = SimulatedFileSystem.PendingOperation.write(offset: offset, bytes: Array(bytes))
        SimulatedFileSystem.apply(operation, to: &node.content)
        node.pending.append(operation)
    }

    func write(_ parts: [UnsafeRawBufferPointer], at offset: Int64) throws {
        // One pending operation, so a crash tears it like any single write.
        var joined: [UInt8] = []
        for part in parts { joined.append(contentsOf: part) }
        try joined.withUnsafeBytes { try write($0, at: offset) }
    }

    func size() throws -> Int64 {
        try checkAlive()
        return Int64(node.content.count)
    }

    func truncate(to size: Int64) throws {
        try checkAlive()
        try fileSystem.checkFault("truncate", path)
        SimulatedFileSystem.apply(.truncate(size: size), to: &node.content)
        node.pending.append(.truncate(size: size))
    }

    func sync() throws {
        try checkAlive()
        try fileSystem.checkFault("sync", path)
        node.durable = node.content
        node.pending = []
    }
}
