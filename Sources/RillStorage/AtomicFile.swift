/// Replaces a file's contents atomically and durably: write a temporary file, sync it, rename
/// it over the target, sync the directory. A crash leaves either the old or the new contents.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, fileSystem: any FileSystem) throws {
        let temporary = path + ".tmp"
        let file = try fileSystem.openFile(at: temporary, create: true)
        try file.truncate(to: 0)
        try bytes.withUnsafeBytes { try file.write($0, at: 0) }
        try file.sync()
        try fileSystem.rename(from: temporary, to: path)
        try fileSystem.syncDirectory(at: FilePath.parent(path))
    }

    /// The file's contents, or nil when it does not exist.
    public static func read(_ path: String, fileSystem: any FileSystem) throws -> [UInt8]? {
        guard fileSystem.fileExists(at: path) else { return nil }
        return try fileSystem.openFile(at: path, create: false).readAll()
    }
}
