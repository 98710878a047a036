import RillFormat

/// The `<offset>.snapshot` files of a partition directory.
enum ProducerStateSnapshots {
    static func offsets(directory: String, fileSystem: any FileSystem) throws -> [Offset] {
        try fileSystem.contentsOfDirectory(at: directory)
            .compactMap { SegmentFiles.offset(fromName: $0, suffix: SegmentFiles.snapshotSuffix) }
            .sorted()
    }

    /// Writes `table` as the state after every batch below `offset`: temporary file, sync, rename.
    static func write(_ table: ProducerStateTable, at offset: Offset, directory: String, fileSystem: any FileSystem) throws {
        try AtomicFile.write(table.encodeSnapshot(), to: SegmentFiles.snapshotPath(directory, offset), fileSystem: fileSystem)
    }

    /// The newest readable snapshot at or below `offset`. Unreadable snapshots are removed.
    static func loadLatest(atOrBelow offset: Offset, directory: String, fileSystem: any FileSystem) throws -> (table: ProducerStateTable, offset: Offset)? {
        for candidate in try offsets(directory: directory, fileSystem: fileSystem).reversed() where candidate <= offset {
            let path = SegmentFiles.snapshotPath(directory, candidate)
            do {
                let bytes = try fileSystem.openFile(at: path, create: false).readAll()
                return (try ProducerStateTable(decodingSnapshot: bytes, path: path), candidate)
            } catch let error as StorageError where error.code == .invalidCheckpoint {
                try fileSystem.removeFile(at: path)
            }
        }
        return nil
    }

    /// Removes snapshots above `offset` (after a truncation).
    static func removeAbove(_ offset: Offset, directory: String, fileSystem: any FileSystem) throws {
        for candidate in try offsets(directory: directory, fileSystem: fileSystem) where candidate > offset {
            try fileSystem.removeFile(at: SegmentFiles.snapshotPath(directory, candidate))
        }
    }

    /// Removes snapshots below `offset`, keeping the newest of them (retention).
    static func removeBelow(_ offset: Offset, directory: String, fileSystem: any FileSystem) throws {
        let below = try offsets(directory: directory, fileSystem: fileSystem).filter { $0 < offset }
        for candidate in below.dropLast() {
            try fileSystem.removeFile(at: SegmentFiles.snapshotPath(directory, candidate))
        }
    }
}
