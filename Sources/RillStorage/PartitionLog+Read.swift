import NIOCore
import RillFormat

extension PartitionLog {
    /// Index of the last segment whose base offset is at or below `offset` (0 if none is).
    func segmentIndex(containing offset: Offset) -> Int {
        var low = 0
        var high = segments.count
        while low < high {
            let middle = (low + high) / 2
            if segments[middle].baseOffset <= offset { low = middle + 1 } else { high = middle }
        }
        return max(low - 1, 0)
    }

    /// The bytes to serve from `offset`: whole batches from the one holding `offset`, up to
    /// `maximumBytes` (the last batch may be cut short, as Kafka's fetch allows), stopping before
    /// `upperBound` (the high watermark for consumers; the log end by default).
    /// With `includeFirstBatchWhole`, the first batch is returned whole even if larger than
    /// `maximumBytes` (KIP-74), so a consumer can always make progress.
    ///
    /// Batches below the recovery point are CRC-checked the first time they are served; a
    /// corrupt one is never served: the read stops before it, or throws `.corruptSegment` when
    /// it is the first batch asked for. Batches after it (when its header still parses) are
    /// served to readers that ask for their offsets.
    public func read(from offset: Offset, maximumBytes: Int, upperBound: Offset? = nil, includeFirstBatchWhole: Bool = true) throws -> LogReadResult {
        if isClosed { throw StorageError(.logUnavailable, "the log is closed", path: directory) }
        var result = LogReadResult(slice: nil, firstBatchOffset: nil, logStartOffset: logStartOffset, logEndOffset: logEndOffset, highWatermark: highWatermark)
        guard offset >= logStartOffset, offset <= logEndOffset else {
            throw StorageError(.offsetOutOfRange, "offset \(offset) is outside [\(logStartOffset), \(logEndOffset)]", path: directory)
        }
        let end = min(upperBound ?? logEndOffset, logEndOffset)
        guard offset < end, maximumBytes > 0 || includeFirstBatchWhole else { return result }
        var index = segmentIndex(containing: offset)
        while index < segments.count {
            let segment = segments[index]
            index += 1
            guard let (startPosition, firstHeader) = try segment.locate(offset) else { continue }
            guard firstHeader.baseOffset < end else { return result }
            var endPosition = segment.size
            if end < segment.nextOffset, let (boundPosition, _) = try segment.locate(end) { endPosition = boundPosition }
            let available = endPosition - startPosition
            var length = min(available, Int64(max(maximumBytes, 0)))
            if includeFirstBatchWhole { length = max(length, min(Int64(firstHeader.totalSize), available)) }
            guard length > 0 else { return result }
            let validEnd: Int64
            do {
                validEnd = try segment.servableEnd(from: startPosition, upTo: startPosition + length)
            } catch let error as StorageError where error.code == .corruptSegment {
                report(error)
                throw error
            }
            for corruption in segment.corruptions { report(corruption) }
            length = min(length, validEnd - startPosition)
            result.slice = FileSlice(file: segment.logFile, position: startPosition, length: Int(length))
            result.firstBatchOffset = firstHeader.baseOffset
            return result
        }
        return result
    }

    func report(_ corruption: StorageError) {
        if !corruptionReports.contains(corruption) { corruptionReports.append(corruption) }
    }

    /// Whole batches from `offset` (not split by a byte limit), read into memory: for tools,
    /// tests and compaction. Returns at most `maximumBytes` worth (at least one batch).
    public func readBatches(from offset: Offset, maximumBytes: Int = 1 << 20, upperBound: Offset? = nil) throws -> [RecordBatch] {
        let result = try read(from: offset, maximumBytes: maximumBytes, upperBound: upperBound)
        guard let slice = result.slice else { return [] }
        var bytes = try slice.read()
        var batches: [RecordBatch] = []
        while bytes.readableBytes >= RecordBatchHeader.size {
            guard let batch = try? RecordBatch(validating: bytes) else { break }
            batches.append(batch)
            bytes.moveReaderIndex(forwardBy: batch.header.totalSize)
        }
        return batches
    }

    /// The earliest record whose timestamp is at or after `target` (Kafka's ListOffsets by
    /// time): its offset and timestamp, or nil when every record is older.
    /// Decodes (and decompresses) the batches it inspects, because a batch's records are not
    /// ordered by time.
    public func offset(forTimestamp target: Timestamp) throws -> (offset: Offset, timestamp: Timestamp)? {
        for segment in segments where segment.largestTimestamp >= target && segment.nextOffset > logStartOffset {
            let start = try segment.timeIndexStart(for: target)
            var scanner = BatchScanner(file: segment.logFile, from: start, to: segment.size, verifyChecksums: false)
            while case .batch(let header, let position) = try scanner.next() {
                guard header.maxTimestamp >= target, header.lastOffset >= logStartOffset else { continue }
                // A corrupt batch is never read, here either.
                let batchEnd = position + Int64(header.totalSize)
                guard (try? segment.servableEnd(from: position, upTo: batchEnd)) == batchEnd else { continue }
                let batch = try RecordBatch(validating: try segment.logFile.readBatch(at: position, size: header.totalSize))
                for record in try batch.records() {
                    let offset = batch.offset(of: record)
                    let timestamp = batch.timestamp(of: record)
                    if timestamp >= target && offset >= logStartOffset { return (offset, timestamp) }
                }
            }
        }
        return nil
    }
}
