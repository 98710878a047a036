import NIOCore
import RillFormat

/// Walks the batches of a segment file from a position, through a read buffer.
///
/// With `verifyChecksums`, every batch is read whole and its CRC-32C checked (recovery,
/// verification before serving); without, only headers are read and large batches are skipped
/// by position (offset lookups, producer-state replay).
struct BatchScanner {
    enum Step {
        /// A batch that passed validation, at `position` in the file.
        case batch(RecordBatchHeader, position: Int64)
        /// Bytes at `position` are not a valid batch; nothing from here on can be trusted.
        case invalid(FormatError, position: Int64)
        /// Only when verifying checksums: the batch at `position` has a valid header and lies
        /// within the range, but its body fails validation (a bad CRC, say). The scanner has
        /// stepped over its `size` bytes, so a caller that can skip it may go on calling `next()`.
        case corruptBatch(FormatError, position: Int64, size: Int)
        /// `position` reached the end of the scanned range.
        case end
    }

    let file: any StorageFile
    private(set) var position: Int64
    let end: Int64
    let verifyChecksums: Bool
    private var buffer: [UInt8]
    private var bufferStart: Int64 = 0
    private var bufferCount = 0

    init(file: any StorageFile, from position: Int64, to end: Int64, verifyChecksums: Bool) {
        self.file = file
        self.position = position
        self.end = end
        self.verifyChecksums = verifyChecksums
        buffer = [UInt8](repeating: 0, count: verifyChecksums ? 8 << 20 : 16 << 10)
    }

    /// The next batch, an invalid region, a corrupt batch that can be stepped over, or the end.
    /// Throws only for I/O failures.
    mutating func next() throws -> Step {
        guard position < end else { return .end }
        let available = end - position
        // Enough for magic and lengths first; then, if verifying, the whole batch.
        let headerBytes = Int(min(Int64(RecordBatchHeader.size), available))
        try ensureBuffered(headerBytes)
        let headerResult = withBuffered(headerBytes) { bytes in
            Result { () throws(FormatError) in
                try RecordBatch.validate(bytes, verifyChecksum: false, position: position, headerOnly: true)
            }
        }
        let header: RecordBatchHeader
        switch headerResult {
        case .failure(let error): return .invalid(error, position: position)
        case .success(let value): header = value
        }
        guard Int64(header.totalSize) <= available else {
            let error = FormatError(.truncated, "batch of \(header.totalSize) bytes has only \(available) before the end", position: position)
            return .invalid(error, position: position)
        }
        if verifyChecksums {
            try ensureBuffered(header.totalSize)
            let checked = withBuffered(header.totalSize) { bytes in
                Result { () throws(FormatError) in try RecordBatch.validate(bytes, verifyChecksum: true, position: position) }
            }
            if case .failure(let error) = checked {
                let batchPosition = position
                position += Int64(header.totalSize)
                return .corruptBatch(error, position: batchPosition, size: header.totalSize)
            }
        }
        let batchPosition = position
        position += Int64(header.totalSize)
        return .batch(header, position: batchPosition)
    }

    /// Makes sure bytes [position, position + count) are in the buffer.
    private mutating func ensureBuffered(_ count: Int) throws {
        if position >= bufferStart && position + Int64(count) <= bufferStart + Int64(bufferCount) { return }
        if count > buffer.count { buffer = [UInt8](repeating: 0, count: count) }
        let wanted = Int(min(Int64(buffer.count), end - position))
        let start = position
        let got = try buffer.withUnsafeMutableBytes { raw in
            try file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<wanted]), at: start)
        }
        bufferStart = start
        bufferCount = got
    }

    private func withBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let offset = Int(position - bufferStart)
        let usable = min(count, bufferCount - offset)
        return buffer.withUnsafeBytes { raw in body(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + max(usable, 0))])) }
    }
}

extension StorageFile {
    /// Reads the whole batch at `position` (of `size` bytes) into a buffer.
    func readBatch(at position: Int64, size: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        let got = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<size]), at: position)
        }
        guard got == size else {
            throw StorageError(.corruptSegment, "batch of \(size) bytes is cut short at \(got)", path: path, position: position)
        }
        return buffer
    }
}
