/// Kafka's text checkpoint layout: a version line ("0"), a count line, then one entry per line
/// with space-separated fields. Written atomically: temporary file, sync, rename, sync directory.
public enum CheckpointFile {
    public static let version = 0

    public static func write(_ entries: [[String]], to path: String, fileSystem: any FileSystem) throws {
        var text = "\(version)\n\(entries.count)\n"
        for entry in entries { text += entry.joined(separator: " ") + "\n" }
        try AtomicFile.write(Array(text.utf8), to: path, fileSystem: fileSystem)
    }

    /// The entries of the checkpoint at `path`, or nil when there is none.
    /// Throws `.invalidCheckpoint` when the file exists but does not parse.
    public static func read(from path: String, fieldsPerEntry: Int, fileSystem: any FileSystem) throws -> [[String]]? {
        guard let bytes = try AtomicFile.read(path, fileSystem: fileSystem) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 2, Int(lines[0]) == version, let count = Int(lines[1]), count >= 0, lines.count >= 2 + count else {
            throw StorageError(.invalidCheckpoint, "malformed checkpoint header", path: path)
        }
        var entries: [[String]] = []
        for line in lines[2..<(2 + count)] {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == fieldsPerEntry else {
                throw StorageError(.invalidCheckpoint, "expected \(fieldsPerEntry) fields in '\(line)'", path: path)
            }
            entries.append(fields)
        }
        return entries
    }
}
