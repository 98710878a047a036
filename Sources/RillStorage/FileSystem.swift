/// Everything the storage engine does to disk goes through these two protocols, so the same code
/// runs on POSIX files and on `SimulatedFileSystem`, which can lose unsynced writes like a
/// power cut would.
///
/// Paths are plain strings with `/` separators. Metadata operations (create, rename, remove) are
/// atomic; whether they are durable before `syncDirectory` depends on the implementation.
public protocol FileSystem: AnyObject {
    /// Creates `path` and any missing parents; succeeds if it already exists.
    func createDirectory(at path: String) throws
    /// Names (not paths) of the entries in `path`, in no particular order.
    func contentsOfDirectory(at path: String) throws -> [String]
    func fileExists(at path: String) -> Bool
    /// Opens `path` for reading and writing, creating an empty file when `create` is set.
    func openFile(at path: String, create: Bool) throws -> any StorageFile
    func removeFile(at path: String) throws
    /// Removes a directory and everything in it.
    func removeDirectory(at path: String) throws
    /// Atomically renames `source` to `destination`, replacing any file there.
    func rename(from source: String, to destination: String) throws
    /// Makes creations, renames and removals in `path` durable.
    func syncDirectory(at path: String) throws
}

/// An open file. Not thread-safe for concurrent writes; reads at distinct offsets may run
/// concurrently on `POSIXFileSystem` files (pread).
public protocol StorageFile: AnyObject {
    var path: String { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
    /// Writes all of `bytes` at `offset`, extending the file as needed.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws
    /// Writes `parts` one after another from `offset`, as one write (gather I/O).
    func write(_ parts: [UnsafeRawBufferPointer], at offset: Int64) throws
    func size() throws -> Int64
    func truncate(to size: Int64) throws
    /// Makes every write so far durable: after `sync` returns, a crash cannot lose them.
    func sync() throws
    /// The POSIX descriptor, for sendfile; nil when the file is not a real file.
    var descriptor: Int32? { get }
}

extension StorageFile {
    /// Reads exactly `count` bytes at `offset`, or throws `.corruptSegment` when the file ends first.
    public func readExactly(_ count: Int, at offset: Int64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = try bytes.withUnsafeMutableBytes { buffer throws in try read(into: buffer, at: offset) }
        guard got == count else {
            throw StorageError(.corruptSegment, "expected \(count) bytes, file ends after \(got)", path: path, position: offset)
        }
        return bytes
    }

    /// The whole file's contents.
    public func readAll() throws -> [UInt8] {
        let total = try size()
        return try readExactly(Int(total), at: 0)
    }
}

/// Path helpers, so that the engine never concatenates separators by hand.
public enum FilePath {
    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    public static func lastComponent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    public static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
