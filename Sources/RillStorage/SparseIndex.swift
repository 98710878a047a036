import RillFormat

/// A sparse, append-only index file of fixed-size entries, loaded lazily.
///
/// Both of Kafka's per-segment indexes have this shape: `.index` maps (relative offset → byte
/// position) in 8-byte entries, `.timeindex` maps (timestamp → relative offset) in 12-byte
/// entries, big-endian. Entries are kept in memory while the segment is active and written out
/// on `persist()`; a closed segment drops them and reloads on the next lookup, so memory stays
/// bounded however long the log grows. Index files are a cache: recovery rebuilds any that do not
/// pass `load`'s checks.
final class SparseIndex<Entry: IndexEntry> {
    let path: String
    private let fileSystem: any FileSystem
    private var entries: [Entry]?
    /// Entries already written to the file.
    private var persistedCount = 0
    /// Entry count when unloaded (so `count` does not force a load).
    private var unloadedCount: Int

    /// An index over an existing file (entries loaded on first use), or a new empty one.
    init(path: String, fileSystem: any FileSystem, isNew: Bool) throws {
        self.path = path
        self.fileSystem = fileSystem
        if isNew {
            let file = try fileSystem.openFile(at: path, create: true)
            try file.truncate(to: 0)
            entries = []
            unloadedCount = 0
        } else {
            entries = nil
            unloadedCount = -1
        }
    }

    /// Loads the entries from disk, checking size and order. Throws `.corruptSegment` when the
    /// file is not a well-formed index (the caller rebuilds it).
    private func loaded() throws -> [Entry] {
        if let entries { return entries }
        guard fileSystem.fileExists(at: path) else {
            throw StorageError(.corruptSegment, "index file is missing", path: path)
        }
        let bytes = try fileSystem.openFile(at: path, create: false).readAll()
        guard bytes.count % Entry.size == 0 else {
            throw StorageError(.corruptSegment, "index size \(bytes.count) is not a multiple of \(Entry.size)", path: path)
        }
        var result: [Entry] = []
        result.reserveCapacity(bytes.count / Entry.size)
        try bytes.withUnsafeBytes { raw in
            for index in 0..<(raw.count / Entry.size) {
                let entry = Entry(decoding: UnsafeRawBufferPointer(rebasing: raw[(index * Entry.size)..<((index + 1) * Entry.size)]))
                if let previous = result.last, !entry.follows(previous) {
                    throw StorageError(.corruptSegment, "index entry \(index) is out of order", path: path, position: Int64(index * Entry.size))
                }
                result.append(entry)
            }
        }
        entries = result
        persistedCount = result.count
        return result
    }

    var count: Int {
        get throws {
            if let entries { return entries.count }
            if unloadedCount >= 0 { return unloadedCount }
            return try loaded().count
        }
    }

    var last: Entry? { get throws { try loaded().last } }

    func append(_ entry: Entry) throws {
        var current = try loaded()
        entries = nil  // keep the array uniquely referenced while appending
        if let previous = current.last { precondition(entry.follows(previous), "index entries must be appended in order") }
        current.append(entry)
        entries = current
    }

    /// The last entry for which `isAtOrBefore` holds (entries are sorted), or nil.
    func floor(_ isAtOrBefore: (Entry) -> Bool) throws -> Entry? {
        let all = try loaded()
        var low = 0
        var high = all.count
        while low < high {
            let middle = (low + high) / 2
            if isAtOrBefore(all[middle]) { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : all[low - 1]
    }

    /// Keeps only the entries for which `keep` holds (a prefix), rewriting the file's tail.
    func truncate(keepingWhile keep: (Entry) -> Bool) throws {
        var current = try loaded()
        let kept = current.firstIndex { !keep($0) } ?? current.count
        guard kept < current.count else { return }
        current.removeSubrange(kept...)
        entries = current
        if persistedCount > kept {
            persistedCount = kept
            try fileSystem.openFile(at: path, create: true).truncate(to: Int64(kept * Entry.size))
        }
    }

    /// Writes entries not yet in the file; with `sync`, also makes the file durable.
    func persist(sync: Bool) throws {
        guard let entries else { return }
        let file = try fileSystem.openFile(at: path, create: true)
        if persistedCount < entries.count {
            var bytes = [UInt8](repeating: 0, count: (entries.count - persistedCount) * Entry.size)
            bytes.withUnsafeMutableBytes { raw in
                for index in persistedCount..<entries.count {
                    let start = (index - persistedCount) * Entry.size
                    entries[index].encode(into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + Entry.size)]))
                }
            }
            try file.truncate(to: Int64(persistedCount * Entry.size))
            try bytes.withUnsafeBytes { try file.write($0, at: Int64(persistedCount * Entry.size)) }
            persistedCount = entries.count
        }
        if sync { try file.sync() }
    }

    /// Writes everything out and frees the in-memory entries.
    func unload() throws {
        guard let entries else { return }
        try persist(sync: true)
        unloadedCount = entries.count
        self.entries = nil
    }

    /// Replaces the contents with `newEntries` (after a rebuild).
    func reset(to newEntries: [Entry]) throws {
        let file = try fileSystem.openFile(at: path, create: true)
        try file.truncate(to: 0)
        entries = newEntries
        persistedCount = 0
        try persist(sync: false)
    }

    func remove() throws {
        entries = []
        persistedCount = 0
        try fileSystem.removeFile(at: path)
    }

    /// Renames the file to `path + SegmentFiles.deletedSuffix` and forgets the entries; the new
    /// path, or nil when there was no file.
    func renameForDeletion() throws -> String? {
        entries = []
        persistedCount = 0
        guard fileSystem.fileExists(at: path) else { return nil }
        let renamed = path + SegmentFiles.deletedSuffix
        try fileSystem.rename(from: path, to: renamed)
        return renamed
    }
}

protocol IndexEntry {
    static var size: Int { get }
    init(decoding bytes: UnsafeRawBufferPointer)
    func encode(into bytes: UnsafeMutableRawBufferPointer)
    /// Whether `self` may come after `previous` in a well-formed index.
    func follows(_ previous: Self) -> Bool
}

/// `.index` entry: the last offset of a batch (relative to the segment's base offset) and the
/// byte position where that batch starts. A lookup for offset `o` takes the last entry with
/// relative offset ≤ `o` and scans forward from its position.
struct OffsetIndexEntry: IndexEntry, Hashable {
    static let size = 8
    var relativeOffset: UInt32
    var position: UInt32

    init(relativeOffset: UInt32, position: UInt32) {
        self.relativeOffset = relativeOffset
        self.position = position
    }

    init(decoding bytes: UnsafeRawBufferPointer) {
        relativeOffset = bytes.loadBigEndian(at: 0, as: UInt32.self)
        position = bytes.loadBigEndian(at: 4, as: UInt32.self)
    }

    func encode(into bytes: UnsafeMutableRawBufferPointer) {
        bytes.storeBigEndian(relativeOffset, at: 0)
        bytes.storeBigEndian(position, at: 4)
    }

    func follows(_ previous: OffsetIndexEntry) -> Bool {
        relativeOffset > previous.relativeOffset && position > previous.position
    }
}

/// `.timeindex` entry: the largest timestamp seen up to a batch, and that batch's last offset
/// (relative). Timestamps in the index never decrease.
struct TimeIndexEntry: IndexEntry, Hashable {
    static let size = 12
    var timestamp: Int64
    var relativeOffset: UInt32

    init(timestamp: Int64, relativeOffset: UInt32) {
        self.timestamp = timestamp
        self.relativeOffset = relativeOffset
    }

    init(decoding bytes: UnsafeRawBufferPointer) {
        timestamp = bytes.loadBigEndian(at: 0, as: Int64.self)
        relativeOffset = bytes.loadBigEndian(at: 8, as: UInt32.self)
    }

    func encode(into bytes: UnsafeMutableRawBufferPointer) {
        bytes.storeBigEndian(timestamp, at: 0)
        bytes.storeBigEndian(relativeOffset, at: 8)
    }

    func follows(_ previous: TimeIndexEntry) -> Bool {
        timestamp > previous.timestamp && relativeOffset > previous.relativeOffset
    }
}
