import RillFormat

/// One segment of a partition log: a `.log` file of record batches starting at `baseOffset`,
/// with its sparse offset and time indexes.
///
/// Only the last segment of a log (the active one) is appended to. Every batch in a segment has
/// passed validation once: on append, during recovery, or lazily before its bytes are first
/// served (`verifiedSize`). A batch that fails that check but whose header still parses (bit rot
/// in its records) is remembered in `corruptBatches`, never served, and skipped; a batch whose
/// header does not parse is remembered in `corruption`, and nothing at or after it is served.
final class Segment {
    let directory: String
    let baseOffset: Offset
    let logFile: any StorageFile
    let offsetIndex: SparseIndex<OffsetIndexEntry>
    let timeIndex: SparseIndex<TimeIndexEntry>
    private let fileSystem: any FileSystem

    /// Bytes of batches in the `.log` file.
    private(set) var size: Int64
    /// Whether the file may go on past `size`: a reused file holds its former segment's
    /// batches there (never read: reads stop at `size`) until `trimStaleTail` cuts them off.
    private(set) var hasStaleTail = false
    /// The offset after the segment's last batch; `baseOffset` when it has none.
    private(set) var nextOffset: Offset
    /// The largest record timestamp in the segment, `.none` when empty.
    private(set) var largestTimestamp: Timestamp = .none
    /// When the segment got its first batch (by the log's clock), for `segment.ms`.
    private(set) var rollingTimestamp: Timestamp?
    private var bytesSinceLastIndexEntry: Int64 = 0
    /// Bytes from the start known to hold valid batches.
    private(set) var verifiedSize: Int64
    /// The first invalid batch found below `size` whose header does not parse (nothing after
    /// it can be located), if any.
    private(set) var corruption: StorageError?
    /// Batches that failed verification but could be stepped over, in file order.
    private(set) var corruptBatches: [(range: Range<Int64>, error: StorageError)] = []
    /// Whether everything written has been synced.
    private(set) var isSynced = true

    var logPath: String { SegmentFiles.logPath(directory, baseOffset) }
    var isEmpty: Bool { size == 0 }

    /// Creates a new, empty segment; with `reusing`, in that file (a removed segment's log file,
    /// renamed to this segment's name), whose old bytes are overwritten by the appends and cut
    /// off past the last batch when the segment stops being active. A crash before then leaves
    /// them in the file, where recovery finds offsets below the segment's base and cuts there.
    static func create(directory: String, baseOffset: Offset, fileSystem: any FileSystem, now: Timestamp?, reusing spare: String? = nil) throws -> Segment {
        let path = SegmentFiles.logPath(directory, baseOffset)
        let logFile: any StorageFile
        if let spare {
            try fileSystem.rename(from: spare, to: path)
            logFile = try fileSystem.openFile(at: path, create: false)
        } else {
            logFile = try fileSystem.openFile(at: path, create: true)
            try logFile.truncate(to: 0)
        }
        let segment = try Segment(directory: directory, baseOffset: baseOffset, logFile: logFile, fileSystem: fileSystem, isNew: true, size: 0)
        segment.hasStaleTail = spare != nil
        segment.rollingTimestamp = now
        // Its creation is not durable until synced; `PartitionLog.sync` relies on unsynced
        // segments forming a suffix of the log.
        segment.isSynced = false
        return segment
    }

    /// Opens an existing segment. Its indexes are loaded on first use and its content is trusted
    /// up to `verifiedSize` (callers verify or recover the rest).
    static func open(directory: String, baseOffset: Offset, fileSystem: any FileSystem) throws -> Segment {
        let logFile = try fileSystem.openFile(at: SegmentFiles.logPath(directory, baseOffset), create: false)
        let size = try logFile.size()
        return try Segment(directory: directory, baseOffset: baseOffset, logFile: logFile, fileSystem: fileSystem, isNew: false, size: size)
    }

    private init(directory: String, baseOffset: Offset, logFile: any StorageFile, fileSystem: any FileSystem, isNew: Bool, size: Int64) throws {
        self.directory = directory
        self.baseOffset = baseOffset
        self.logFile = logFile
        self.fileSystem = fileSystem
        self.size = size
        self.nextOffset = baseOffset
        self.verifiedSize = 0
        let indexExists = !isNew && fileSystem.fileExists(at: SegmentFiles.offsetIndexPath(directory, baseOffset))
            && fileSystem.fileExists(at: SegmentFiles.timeIndexPath(directory, baseOffset))
        offsetIndex = try SparseIndex(path: SegmentFiles.offsetIndexPath(directory, baseOffset), fileSystem: fileSystem, isNew: !indexExists)
        timeIndex = try SparseIndex(path: SegmentFiles.timeIndexPath(directory, baseOffset), fileSystem: fileSystem, isNew: !indexExists)
    }

    // MARK: Appending

    /// Whether a batch with this last offset can be indexed relative to `baseOffset`.
    func canHold(lastOffset: Offset) -> Bool {
        lastOffset - baseOffset <= Int64(UInt32.max)
    }

    /// Whether the offset index has room for another entry under `maximumIndexBytes`.
    func isIndexFull(maximumIndexBytes: Int64) throws -> Bool {
        Int64(try offsetIndex.count + 1) * Int64(OffsetIndexEntry.size) > maximumIndexBytes
    }

    /// Writes validated batches (offsets already assigned) at the end of the file and indexes
    /// them. `batches` are the headers with positions relative to the start of `bytes`.
    func append(_ parts: [UnsafeRawBufferPointer], byteCount: Int, batches: [(header: RecordBatchHeader, position: Int)], indexIntervalBytes: Int64, now: Timestamp) throws {
        precondition(!batches.isEmpty, "append needs at least one batch")
        precondition(batches[0].header.baseOffset >= nextOffset, "appended offsets must grow")
        let startPosition = size
        try logFile.write(parts, at: startPosition)
        isSynced = false
        if rollingTimestamp == nil { rollingTimestamp = now }
        for (header, relativePosition) in batches {
            try indexBatch(header, at: startPosition + Int64(relativePosition), indexIntervalBytes: indexIntervalBytes)
        }
        size = startPosition + Int64(byteCount)
        verifiedSize = size
    }

    /// Adds one batch (at `position`) to the segment's bookkeeping and, every
    /// `indexIntervalBytes`, to its indexes.
    private func indexBatch(_ header: RecordBatchHeader, at position: Int64, indexIntervalBytes: Int64) throws {
        if header.maxTimestamp > largestTimestamp { largestTimestamp = header.maxTimestamp }
        if bytesSinceLastIndexEntry > indexIntervalBytes || position == 0 {
            let relative = UInt32(header.lastOffset - baseOffset)
            if try (offsetIndex.last.map { relative > $0.relativeOffset } ?? true) {
                try offsetIndex.append(OffsetIndexEntry(relativeOffset: relative, position: UInt32(position)))
            }
            if try largestTimestamp.milliseconds > (timeIndex.last?.timestamp ?? Int64.min),
               try (timeIndex.last.map { relative > $0.relativeOffset } ?? true) {
                try timeIndex.append(TimeIndexEntry(timestamp: largestTimestamp.milliseconds, relativeOffset: relative))
            }
            bytesSinceLastIndexEntry = 0
        }
        bytesSinceLastIndexEntry += Int64(header.totalSize)
        nextOffset = header.nextOffset
    }

    // MARK: Recovery

    /// Validates every batch and rebuilds both indexes. Batches wholly below `checksumsFrom`
    /// (data already synced) get a header check; the rest are CRC-checked too. At the first
    /// invalid byte, `cutOnInvalid` cuts the file there (a torn tail after the recovery point);
    /// otherwise the segment records the corruption and serves nothing from there on.
    /// Returns where the first invalid batch was and why, if there was one.
    func recover(indexIntervalBytes: Int64, cutOnInvalid: Bool = true, checksumsFrom: Offset = Offset(Int64.min)) throws -> (cutAt: Int64, reason: FormatError)? {
        try offsetIndex.reset(to: [])
        try timeIndex.reset(to: [])
        nextOffset = baseOffset
        largestTimestamp = .none
        bytesSinceLastIndexEntry = 0
        var verifying = checksumsFrom <= baseOffset
        var scanner = BatchScanner(file: logFile, from: 0, to: size, verifyChecksums: verifying)
        var firstChecksummedPosition: Int64 = verifying ? 0 : size
        var cut: (Int64, FormatError)?
        scanning: while true {
            switch try scanner.next() {
            case .batch(let header, let position):
                if !verifying && header.lastOffset >= checksumsFrom {
                    // From here on the data may never have been synced: check it whole.
                    verifying = true
                    firstChecksummedPosition = position
                    scanner = BatchScanner(file: logFile, from: position, to: size, verifyChecksums: true)
                    continue scanning
                }
                guard header.baseOffset >= nextOffset, canHold(lastOffset: header.lastOffset) else {
                    cut = (position, SegmentFiles.outOfOrder(header, following: nextOffset, segmentBase: baseOffset, position: position))
                    break scanning
                }
                try indexBatch(header, at: position, indexIntervalBytes: indexIntervalBytes)
            case .invalid(let error, let position), .corruptBatch(let error, let position, _):
                cut = (position, error)
                break scanning
            case .end:
                break scanning
            }
        }
        corruption = nil
        corruptBatches = []
        if let (position, reason) = cut {
            if cutOnInvalid {
                try logFile.truncate(to: position)
                size = position
                hasStaleTail = false
                isSynced = false
            } else {
                corruption = StorageError(.corruptSegment, "\(reason.code): \(reason.message)", path: logPath, position: position)
            }
        }
        // Bytes before the first checksummed batch are still to be verified before serving.
        verifiedSize = firstChecksummedPosition == 0 ? (cut.map { $0.0 } ?? size) : 0
        // Durable before the recovery point moves past this segment: after that, a later
        // recovery trusts these files instead of rebuilding them.
        try offsetIndex.persist(sync: true)
        try timeIndex.persist(sync: true)
        return cut.map { (cutAt: $0.0, reason: $0.1) }
    }

    /// For a segment opened below the recovery point: finds its next offset and largest
    /// timestamp from its indexes and last batches, checking the indexes against the log.
    /// Rebuilds the indexes (with a full validating scan) when they do not agree.
    func loadTrustedState(indexIntervalBytes: Int64) throws {
        do {
            try loadFromIndexes()
        } catch let error as StorageError where error.code == .corruptSegment {
            _ = try recover(indexIntervalBytes: indexIntervalBytes, cutOnInvalid: false)
        }
        rollingTimestamp = largestTimestamp == .none ? nil : largestTimestamp
    }

    private func loadFromIndexes() throws {
        if let last = try offsetIndex.last {
            guard Int64(last.position) < size else {
                throw StorageError(.corruptSegment, "index points past the end of the log", path: offsetIndex.path)
            }
            var scanner = BatchScanner(file: logFile, from: Int64(last.position), to: size, verifyChecksums: false)
            guard case .batch(let header, _) = try scanner.next(), header.lastOffset == baseOffset + Int64(last.relativeOffset) else {
                throw StorageError(.corruptSegment, "last index entry does not match the log", path: offsetIndex.path)
            }
        }
        // The time index may lag the offset index (it only gains entries when the largest
        // timestamp grows): scan from its last entry's batch so no later maximum is missed.
        let lastTimeEntry = try timeIndex.last
        largestTimestamp = Timestamp(milliseconds: lastTimeEntry?.timestamp ?? Timestamp.none.milliseconds)
        var scanFrom: Int64 = 0
        if let lastTimeEntry, let entry = try offsetIndex.floor({ $0.relativeOffset <= lastTimeEntry.relativeOffset }) {
            scanFrom = Int64(entry.position)
        }
        var scanner = BatchScanner(file: logFile, from: scanFrom, to: size, verifyChecksums: false)
        while case .batch(let header, let position) = try scanner.next() {
            nextOffset = header.nextOffset
            if header.maxTimestamp > largestTimestamp { largestTimestamp = header.maxTimestamp }
            bytesSinceLastIndexEntry = size - position
        }
        if scanner.position != size {
            // The tail below the recovery point does not parse: treat as corruption found.
            throw StorageError(.corruptSegment, "batch headers do not parse up to the end", path: logPath, position: scanner.position)
        }
    }

    // MARK: Reading

    /// The position of the first batch whose last offset is at or after `offset`, with its
    /// header; nil when the segment has no such batch.
    func locate(_ offset: Offset) throws -> (position: Int64, header: RecordBatchHeader)? {
        guard offset < nextOffset else { return nil }
        var start: Int64 = 0
        if offset > baseOffset {
            let relative = UInt32(clamping: offset - baseOffset)
            if let entry = try offsetIndex.floor({ $0.relativeOffset <= relative }) { start = Int64(entry.position) }
        }
        var scanner = BatchScanner(file: logFile, from: start, to: size, verifyChecksums: false)
        while true {
            switch try scanner.next() {
            case .batch(let header, let position):
                if header.lastOffset >= offset { return (position, header) }
            case .invalid(let error, let position), .corruptBatch(let error, let position, _):
                throw StorageError(.corruptSegment, "cannot read batch header: \(error.message)", path: logPath, position: position)
            case .end:
                return nil
            }
        }
    }

    /// Makes sure the batches in [0, end) were checked, checking any not yet checked. Returns
    /// the size of the valid prefix, which is less than `end` when a corrupt batch was found.
    func verify(upTo end: Int64) throws {
        if let corruption, let position = corruption.position, position <= verifiedSize { return }
        guard verifiedSize < end else { return }
        var scanner = BatchScanner(file: logFile, from: verifiedSize, to: size, verifyChecksums: true)
        while scanner.position < end {
            switch try scanner.next() {
            case .batch:
                verifiedSize = scanner.position
            case .corruptBatch(let error, let position, let batchSize):
                let found = StorageError(.corruptSegment, "\(error.code): \(error.message)", path: logPath, position: position)
                corruptBatches.append((position..<(position + Int64(batchSize)), found))
                verifiedSize = scanner.position
            case .invalid(let error, let position):
                corruption = StorageError(.corruptSegment, "\(error.code): \(error.message)", path: logPath, position: position)
                return
            case .end:
                return
            }
        }
    }

    /// Where the run of servable bytes that starts at `start` ends (at most `end`), verifying
    /// what was not yet. Throws the corruption when `start` itself is not servable.
    func servableEnd(from start: Int64, upTo end: Int64) throws -> Int64 {
        try verify(upTo: end)
        if let bad = corruptBatches.first(where: { $0.range.contains(start) }) { throw bad.error }
        if let corruption, let position = corruption.position, position <= start { throw corruption }
        var limit = min(end, verifiedSize)
        if let next = corruptBatches.first(where: { $0.range.lowerBound >= start && $0.range.lowerBound < limit }) { limit = next.range.lowerBound }
        if let corruption, let position = corruption.position, position < limit { limit = position }
        return limit
    }

    /// Every corruption found so far, in file order.
    var corruptions: [StorageError] { corruptBatches.map(\.error) + (corruption.map { [$0] } ?? []) }

    /// Marks [0, size) as already checked (used after an append or a recovery).
    func markVerified() { verifiedSize = size }

    /// The first offset of a batch whose timestamp could be ≥ `timestamp`, as a start position.
    func timeIndexStart(for timestamp: Timestamp) throws -> Int64 {
        guard let entry = try timeIndex.floor({ $0.timestamp < timestamp.milliseconds }) else { return 0 }
        let target = baseOffset + Int64(entry.relativeOffset)
        let relative = UInt32(clamping: target - baseOffset)
        return Int64(try offsetIndex.floor({ $0.relativeOffset <= relative })?.position ?? 0)
    }

    // MARK: Lifecycle

    func sync() throws {
        guard !isSynced else { return }
        try logFile.sync()
        try offsetIndex.persist(sync: false)
        try timeIndex.persist(sync: false)
        isSynced = true
    }

    /// Cuts a reused file's old bytes past the last batch (before the segment stops being
    /// active, and before a clean close's sync).
    func trimStaleTail() throws {
        guard hasStaleTail else { return }
        try logFile.truncate(to: size)
        hasStaleTail = false
        isSynced = false
    }

    /// Called when the segment stops being the active one: indexes go to disk and leave memory.
    func closeForAppends() throws {
        try offsetIndex.unload()
        try timeIndex.unload()
    }

    /// Cuts the segment so that it ends before the first batch whose last offset is at or after
    /// `offset`. Returns that batch's base offset, or nil when no batch reaches `offset`.
    @discardableResult
    func truncate(to offset: Offset) throws -> Offset? {
        guard let (position, removed) = try locate(offset) else { return nil }
        try logFile.truncate(to: position)
        size = position
        hasStaleTail = false
        verifiedSize = min(verifiedSize, size)
        if let corruption, let at = corruption.position, at >= size { self.corruption = nil }
        corruptBatches.removeAll { $0.range.lowerBound >= size }
        isSynced = false
        let cutRelative = UInt32(clamping: offset - baseOffset)
        try offsetIndex.truncate(keepingWhile: { $0.relativeOffset < cutRelative && Int64($0.position) < position })
        try timeIndex.truncate(keepingWhile: { $0.relativeOffset < cutRelative })
        // Recompute the tail state from the last remaining index entry.
        try offsetIndex.persist(sync: false)
        try timeIndex.persist(sync: false)
        nextOffset = baseOffset
        largestTimestamp = .none
        bytesSinceLastIndexEntry = 0
        try loadFromIndexes()
        verifiedSize = min(verifiedSize, size)
        return removed.baseOffset
    }

    /// Removes the segment's files. Open readers keep their handle to the log file.
    func delete() throws {
        try fileSystem.removeFile(at: logPath)
        try offsetIndex.remove()
        try timeIndex.remove()
    }

    /// Renames the segment's files to `<name>.deleted`, for the owner to unlink elsewhere;
    /// returns the renamed paths. Recovery removes `.deleted` files a crash left behind.
    func renameForDeletion() throws -> [String] {
        let renamedLog = logPath + SegmentFiles.deletedSuffix
        try fileSystem.rename(from: logPath, to: renamedLog)
        return [renamedLog] + [try offsetIndex.renameForDeletion(), try timeIndex.renameForDeletion()].compactMap { $0 }
    }
}
