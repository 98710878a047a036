import RillFormat

/// Which leader epoch wrote which offsets: a list of (epoch, start offset) pairs, kept in the
/// partition directory as `leader-epoch-checkpoint` (Kafka's LeaderEpochFileCache).
///
/// Replication uses it to answer OffsetForLeaderEpoch (KIP-279) and to truncate a divergent
/// follower; the single broker keeps it so that phase adds and does not rewrite.
public struct LeaderEpochCache: Sendable, Equatable {
    public struct Entry: Hashable, Sendable {
        public var epoch: LeaderEpoch
        public var startOffset: Offset
        public init(epoch: LeaderEpoch, startOffset: Offset) {
            self.epoch = epoch
            self.startOffset = startOffset
        }
    }

    public static let fileName = "leader-epoch-checkpoint"
    public private(set) var entries: [Entry] = []

    public init(entries: [Entry] = []) { self.entries = entries }

    public var latestEpoch: LeaderEpoch? { entries.last?.epoch }

    /// Records that `epoch` starts writing at `startOffset`. Entries that the new one makes
    /// non-monotonic (an equal or later epoch, or an equal or later start) are dropped.
    /// Returns whether anything changed.
    @discardableResult
    public mutating func assign(epoch: LeaderEpoch, startOffset: Offset) -> Bool {
        if let last = entries.last, last.epoch == epoch { return false }
        if let last = entries.last, last.epoch > epoch { return false }
        entries.removeAll { $0.epoch >= epoch || $0.startOffset >= startOffset }
        entries.append(Entry(epoch: epoch, startOffset: startOffset))
        return true
    }

    /// KIP-279, as Kafka's LeaderEpochFileCache answers it: for the latest epoch, the log end;
    /// for an epoch newer than any known, nothing; for an older one, the largest known epoch at
    /// or below it and where the next one starts — or, when `requested` precedes every known
    /// epoch, `requested` itself and the start of the first known epoch.
    public func endOffset(for requested: LeaderEpoch, logEndOffset: Offset) -> (epoch: LeaderEpoch, endOffset: Offset)? {
        guard requested != .none, let latest = entries.last else { return nil }
        if requested == latest.epoch { return (latest.epoch, logEndOffset) }
        guard let higher = entries.firstIndex(where: { $0.epoch > requested }) else { return nil }
        guard higher > 0 else { return (requested, entries[higher].startOffset) }
        return (entries[higher - 1].epoch, entries[higher].startOffset)
    }

    /// Drops entries that start at or after `endOffset` (the log was truncated there).
    public mutating func truncateFromEnd(_ endOffset: Offset) {
        entries.removeAll { $0.startOffset >= endOffset }
    }

    /// Drops entries wholly before `startOffset` and moves the first kept entry's start up to it.
    public mutating func truncateFromStart(_ startOffset: Offset) {
        guard let firstKept = entries.lastIndex(where: { $0.startOffset <= startOffset }) else { return }
        entries.removeFirst(firstKept)
        entries[0].startOffset = startOffset
    }

    public func write(to directory: String, fileSystem: any FileSystem) throws {
        let lines = entries.map { ["\($0.epoch.rawValue)", "\($0.startOffset.rawValue)"] }
        try CheckpointFile.write(lines, to: FilePath.join(directory, Self.fileName), fileSystem: fileSystem)
    }

    public static func read(from directory: String, fileSystem: any FileSystem) throws -> LeaderEpochCache {
        let path = FilePath.join(directory, fileName)
        guard let lines = try CheckpointFile.read(from: path, fieldsPerEntry: 2, fileSystem: fileSystem) else {
            return LeaderEpochCache()
        }
        var cache = LeaderEpochCache()
        for line in lines {
            guard let epoch = Int32(line[0]), let offset = Int64(line[1]) else {
                throw StorageError(.invalidCheckpoint, "bad leader epoch entry \(line)", path: path)
            }
            cache.entries.append(Entry(epoch: LeaderEpoch(epoch), startOffset: Offset(offset)))
        }
        return cache
    }
}
